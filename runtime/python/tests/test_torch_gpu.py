"""PyTorch tests of the attn_runtime binding: against
torch.nn.functional.scaled_dot_product_attention, on CPU tensors wherever
torch is installed and on CUDA tensors on a GPU machine.

    ATTN_TEST_ARTIFACT=/tmp/art python3 -m unittest discover -s runtime/python/tests -v

ATTN_TEST_ARTIFACT names the artifact (for the CPU tests: one compiled for
this CPU, e.g. of examples/cpu_attention.mlir); ATTN_TEST_CUDA_ARTIFACT, if
set, the one for the CUDA tests (default: the same). Every function whose
kernels are one ungated #attn.dense or #attn.causal op is compared; others
are not SDPA's. Each test skips with its reason: no torch, no artifact, no
CUDA device, or no CUDA function in the artifact (GPU code generation does
not exist yet, so today the CUDA comparison always skips; the check that a
CPU artifact refuses CUDA tensors cleanly runs wherever there is a GPU).

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
