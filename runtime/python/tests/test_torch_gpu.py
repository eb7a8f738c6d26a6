"""PyTorch tests of the attn_runtime binding: against
torch.nn.functional.scaled_dot_product_attention, on CPU tensors wherever
torch is installed and on CUDA tensors on a GPU machine.

    ATTN_TEST_ARTIFACT=/tmp/art python3 -m unittest discover -s runtime/python/tests -v

ATTN_TEST_ARTIFACT names the artifact (for the CPU tests: one compiled for
this CPU, e.g. of examples/cpu_attention.mlir); ATTN_TEST_CUDA_ARTIFACT, if
set, the one for the CUDA tests (default: the same). Every function whose
kernels are one ungated #attn.dense or #attn.causal op is compared; others
are not SDPA's. Gated CUDA functions (one dense or causal kernel with
"gates": "gates", taking a [B, Hq] mask, or "gates": "active", taking an int32
list of b * Hq + h) are compared with SDPA times the head mask: gated-off
heads must be exactly zero, in outputs prefilled with NaN, allocated by the
binding, or strided views of padded buffers whose padding must keep its
NaNs (the runtime zero-fills exactly the output before an active-list
kernel). Each test skips with its reason: no torch, no artifact, no CUDA
device, or no such CUDA function in the artifact (the check that a CPU
artifact refuses CUDA tensors cleanly runs wherever there is a GPU).

Tolerances, |out - sdpa| <= atol + rtol |sdpa|: f32 5e-5 + 1e-4, f16 2e-3 +
1e-2, bf16 1.6e-2 + 2e-2 (SDPA's own rounding differs from the kernels').
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None

import attn_runtime  # noqa: E402

ARTIFACT = os.environ.get("ATTN_TEST_ARTIFACT")
CUDA_ARTIFACT = os.environ.get("ATTN_TEST_CUDA_ARTIFACT") or ARTIFACT
TOLERANCE = {"f32": (1e-4, 5e-5), "f16": (1e-2, 2e-3), "bf16": (2e-2, 1.6e-2)}


def sdpa_functions(art):
    """(name, spec, kernel) of each function SDPA can check."""
    found = []
    for name in art.functions:
        spec = art.signature(name)
        if len(spec.kernels) != 1 or len(spec.inputs) != 3 or len(spec.outputs) != 1:
            continue
        k = spec.kernels[0]
        if k.get("gates", "none") == "none" and k.get("pattern") in ("#attn.dense", "#attn.causal"):
            found.append((name, spec, k))
    return found


def gated_functions(art, kind):
    """(name, spec, kernel) of each function of one dense or causal kernel
    whose gates are `kind` ("gates" or "active"), with q, k, v, then the
    gates or the list."""
    found = []
    for name in art.functions:
        spec = art.signature(name)
        if len(spec.kernels) != 1 or len(spec.inputs) != 4 or len(spec.outputs) != 1:
            continue
        k = spec.kernels[0]
        if k.get("gates") == kind and k.get("operand_args") == [0, 1, 2, 3] and \
                k.get("pattern") in ("#attn.dense", "#attn.causal"):
            found.append((name, spec, k))
    return found


def head_mask(b, hq, seed):
    """A random [B, Hq] bool mask with at least one head on and one off."""
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(b, hq, generator=gen) < 0.5
    mask[0, 0], mask[-1, -1] = True, False
    return mask


def make_inputs(spec, device, b=2, sq=96, skv=96, seed=0, layout_bshd=False):
    """Random q, k, v for `spec` (dynamic sizes B, Sq, Skv bound here). With
    layout_bshd, stored as [B, S, H, D] and viewed as [B, H, S, D]."""
    gen = torch.Generator().manual_seed(seed)
    dtype = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
    sizes = {"B": b, "Sq": sq, "Skv": skv}
    tensors = []
    for arg in spec.inputs:
        shape = [sizes[d] if isinstance(d, str) else d for d in arg.shape]
        if layout_bshd:
            store = [shape[0], shape[2], shape[1], shape[3]]
            x = (torch.rand(store, generator=gen) * 2 - 1).to(dtype[arg.dtype])
            x = x.to(device).transpose(1, 2)
        else:
            x = (torch.rand(shape, generator=gen) * 2 - 1).to(dtype[arg.dtype]).to(device)
        tensors.append(x)
    return tensors


def sdpa(q, k, v, kernel):
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    causal = kernel["pattern"] == "#attn.causal"
    if causal and q.shape[2] != k.shape[2]:
        raise ValueError("SDPA's is_causal aligns rows to the top; attn to the end")
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal,
                                          scale=kernel.get("scale"))


class TorchCase(unittest.TestCase):
    def check(self, art, device, **shape):
        functions = sdpa_functions(art)
        if not functions:
            self.skipTest("artifact has no ungated dense or causal function to "
                          "compare with SDPA")
        for name, spec, kernel in functions:
            with self.subTest(function=name, **shape):
                q, k, v = make_inputs(spec, device, **shape)
                out = art(name, q, k, v)
                self.assertIsInstance(out, torch.Tensor)
                self.assertEqual(out.device, q.device)
                self.assertEqual(out.shape, q.shape[:3] + (spec.outputs[0].shape[3],))
                want = sdpa(q.float(), k.float(), v.float(), kernel)
                rtol, atol = TOLERANCE[spec.outputs[0].dtype]
                torch.testing.assert_close(out.float(), want, rtol=rtol, atol=atol)


@unittest.skipIf(torch is None, "torch is not installed")
@unittest.skipUnless(ARTIFACT, "ATTN_TEST_ARTIFACT is not set")
class TorchCpuTest(TorchCase):
    @classmethod
    def setUpClass(cls):
        cls.art = attn_runtime.Artifact(ARTIFACT)
        if cls.art.signature(cls.art.functions[0]).device != "cpu":
            raise unittest.SkipTest("ATTN_TEST_ARTIFACT is not a CPU artifact")

    def test_against_sdpa(self):
        self.check(self.art, "cpu", b=2, sq=96, skv=96)
        self.check(self.art, "cpu", b=1, sq=200, skv=200)

    def test_strided_tensors_and_out(self):
        # [B, S, H, D] storage seen as [B, H, S, D]: passed as strides, not
        # copied; `out` likewise, written in place.
        for name, spec, kernel in sdpa_functions(self.art):
            q, k, v = make_inputs(spec, "cpu", layout_bshd=True, seed=3)
            self.assertFalse(q.is_contiguous())
            storage = torch.full((q.shape[0], q.shape[2], q.shape[1], q.shape[3]),
                                 float("nan"), dtype=q.dtype)
            out = storage.transpose(1, 2)
            self.assertIs(self.art(name, q, k, v, out=out), out)
            want = sdpa(q.float(), k.float(), v.float(), kernel)
            rtol, atol = TOLERANCE[spec.outputs[0].dtype]
            torch.testing.assert_close(storage.transpose(1, 2).float(), want,
                                       rtol=rtol, atol=atol)
            return
        self.skipTest("no ungated dense or causal function")

    def test_shape_mismatch(self):
        for name, spec, _ in sdpa_functions(self.art):
            q, k, v = make_inputs(spec, "cpu")
            with self.assertRaises(attn_runtime.AttnError) as caught:
                self.art(name, q, k[:, :, :, :-1], v)  # D - 1
            self.assertTrue(caught.exception.message)
            return
        self.skipTest("no ungated dense or causal function")


@unittest.skipIf(torch is None, "torch is not installed")
@unittest.skipUnless(CUDA_ARTIFACT, "neither ATTN_TEST_CUDA_ARTIFACT nor ATTN_TEST_ARTIFACT is set")
class TorchCudaTest(TorchCase):
    @classmethod
    def setUpClass(cls):
        if not torch.cuda.is_available():
            raise unittest.SkipTest("no CUDA device (torch.cuda.is_available() is False)")
        cls.art = attn_runtime.Artifact(CUDA_ARTIFACT)
        cls.cuda = any(cls.art.signature(n).device == "cuda" for n in cls.art.functions)

    def test_against_sdpa(self):
        if not self.cuda:
            self.skipTest("the artifact has no CUDA function (GPU code generation "
                          "is not built yet): %s" % CUDA_ARTIFACT)
        self.check(self.art, "cuda", b=2, sq=256, skv=256)
        self.check(self.art, "cuda", b=1, sq=1000, skv=1000)

    def test_side_stream(self):
        # The runtime launches on torch's current stream: a side stream's
        # work is ordered by that stream alone.
        if not self.cuda:
            self.skipTest("the artifact has no CUDA function: %s" % CUDA_ARTIFACT)
        name, spec, kernel = sdpa_functions(self.art)[0]
        q, k, v = make_inputs(spec, "cuda", seed=7)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            out = self.art(name, q, k, v)
        side.synchronize()
        rtol, atol = TOLERANCE[spec.outputs[0].dtype]
        torch.testing.assert_close(out.float(), sdpa(q.float(), k.float(), v.float(), kernel),
                                   rtol=rtol, atol=atol)

    def check_gated(self, out, q, k, v, kernel, mask, dtype):
        """out is SDPA on the heads `mask` keeps and exactly zero elsewhere."""
        want = sdpa(q.float(), k.float(), v.float(), kernel) * \
            mask.to(q.device)[:, :, None, None].float()
        off = ~mask.to(q.device)
        self.assertTrue(bool((out[off] == 0).all()), "gated-off heads are not zero")
        rtol, atol = TOLERANCE[dtype]
        torch.testing.assert_close(out.float(), want, rtol=rtol, atol=atol)

    def test_gates_against_sdpa(self):
        # "gates": the kernel reads the [B, Hq] mask (bool or uint8, any
        # row stride) and writes the zeros of gated-off heads itself.
        functions = gated_functions(self.art, "gates")
        if not functions:
            self.skipTest("the artifact has no CUDA function with \"gates\": \"gates\": %s"
                          % CUDA_ARTIFACT)
        for name, spec, kernel in functions:
            qkv = spec._replace(inputs=spec.inputs[:3])
            for sq, seed in ((200, 1), (130, 2)):
                q, k, v = make_inputs(qkv, "cuda", b=2, sq=sq, skv=sq, seed=seed)
                mask = head_mask(2, q.shape[1], seed)
                wide = torch.zeros(2, 2 * q.shape[1], dtype=torch.uint8)
                wide[:, :q.shape[1]] = mask
                for gates in (mask.cuda(), mask.to(torch.uint8).cuda(),
                              wide.cuda()[:, :q.shape[1]]):  # row stride 2 Hq
                    with self.subTest(function=name, sq=sq, gates=gates.dtype,
                                      strides=gates.stride()):
                        out = torch.full(q.shape[:3] + (spec.outputs[0].shape[3],),
                                         float("nan"), dtype=q.dtype, device="cuda")
                        self.assertIs(self.art(name, q, k, v, gates, out=out), out)
                        self.check_gated(out, q, k, v, kernel, mask, spec.outputs[0].dtype)

    def test_active_list_against_sdpa(self):
        # "active": the kernel runs over the int32 list; the runtime zeroes
        # the output first, exactly (padding of a strided output untouched),
        # on the current stream.
        functions = gated_functions(self.art, "active")
        if not functions:
            self.skipTest("the artifact has no CUDA function with \"gates\": \"active\": %s"
                          % CUDA_ARTIFACT)
        for name, spec, kernel in functions:
            qkv = spec._replace(inputs=spec.inputs[:3])
            dv = spec.outputs[0].shape[3]
            q, k, v = make_inputs(qkv, "cuda", b=2, sq=200, skv=200, seed=4)
            b, hq, sq = q.shape[:3]
            mask = head_mask(b, hq, 4)
            active = mask.flatten().nonzero().flatten().to(torch.int32).cuda()
            with self.subTest(function=name, out="allocated"):
                out = self.art(name, q, k, v, active)
                self.check_gated(out, q, k, v, kernel, mask, spec.outputs[0].dtype)
            # [B, S, H, D] storage with D padded: one 2-D fill; S and D padded:
            # one fill per (b, h) plane. The padding keeps its NaNs.
            layouts = (("bshd, padded D", (b, sq, hq, dv + 16),
                        lambda t: t[..., :dv].transpose(1, 2)),
                       ("bhsd, padded S and D", (b, hq, sq + 5, dv + 16),
                        lambda t: t[:, :, :sq, :dv]))
            for layout, storage_shape, view in layouts:
                with self.subTest(function=name, out=layout):
                    storage = torch.full(storage_shape, float("nan"), dtype=q.dtype,
                                         device="cuda")
                    out = view(storage)
                    self.assertIs(self.art(name, q, k, v, active, out=out), out)
                    self.check_gated(out, q, k, v, kernel, mask, spec.outputs[0].dtype)
                    written = torch.zeros(storage_shape, dtype=torch.bool, device="cuda")
                    view(written).fill_(True)
                    self.assertTrue(bool(storage[~written].isnan().all()),
                                    "the zero fill touched bytes outside the output")
            with self.subTest(function=name, out="side stream"):
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    out = torch.full((b, hq, sq, dv), float("nan"), dtype=q.dtype,
                                     device="cuda")
                    self.art(name, q, k, v, active, out=out)
                side.synchronize()
                self.check_gated(out, q, k, v, kernel, mask, spec.outputs[0].dtype)

    def test_cpu_artifact_refuses_cuda_tensors(self):
        # Device pointers handed to CPU kernels would crash them: the runtime
        # must refuse with a status instead.
        names = [n for n in self.art.functions if self.art.signature(n).device == "cpu"]
        if not names:
            self.skipTest("the artifact has no CPU function")
        spec = self.art.signature(names[0])
        if len(spec.inputs) != 3:
            self.skipTest("first CPU function is not q, k, v")
        q, k, v = make_inputs(spec, "cuda")
        with self.assertRaises(attn_runtime.AttnError) as caught:
            self.art(names[0], q, k, v)
        self.assertTrue(caught.exception.message)
        torch.cuda.synchronize()


if __name__ == "__main__":
    unittest.main()
