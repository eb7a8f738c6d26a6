"""CPU tests of the attn_runtime binding, with numpy only.

Needs an artifact of examples/cpu_attention.mlir compiled for this machine:

    attn-compile examples/cpu_attention.mlir --target=native -o /tmp/art
    ATTN_TEST_ARTIFACT=/tmp/art ATTN_RUNTIME_LIB=build/runtime/libattn_runtime.so \
        python3 -m unittest discover -s runtime/python/tests -v

(ctest's python-binding-cpu does exactly that.) Skips, with the reason, when
numpy is missing or ATTN_TEST_ARTIFACT is unset. Runs under unittest or
pytest.

Tolerance: the kernels accumulate in f32 against a float64 reference here;
outputs must satisfy |out - ref| <= 2e-5 + 1e-4 |ref| (seen: about 2e-7).
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

try:
    import numpy as np
except ImportError:  # CI installs python3-numpy; elsewhere this file skips
    np = None

import attn_runtime  # noqa: E402  (after the path fix)

ARTIFACT = os.environ.get("ATTN_TEST_ARTIFACT")
RTOL, ATOL = 1e-4, 2e-5


def reference(q, k, v, visible, scale=None, gates=None):
    """Attention in float64: q [B, Hq, Sq, D], k/v [B, Hkv, Skv, D];
    visible(p, k) over positions p = row + Skv - Sq (attn's convention);
    rows that see nothing and gated-off heads are zero."""
    b, hq, sq, d = q.shape
    hkv, skv = k.shape[1], k.shape[2]
    scale = 1.0 / np.sqrt(d) if scale is None else scale
    kk = np.repeat(k.astype(np.float64), hq // hkv, axis=1)
    vv = np.repeat(v.astype(np.float64), hq // hkv, axis=1)
    s = (q.astype(np.float64) @ kk.transpose(0, 1, 3, 2)) * scale
    p = np.arange(sq)[:, None] + (skv - sq)
    mask = visible(p, np.arange(skv)[None, :])
    s = np.where(mask, s, -np.inf)
    m = s.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.where(mask, np.exp(s - m), 0.0)
    total = e.sum(-1, keepdims=True)
    out = (e / np.where(total > 0, total, 1.0)) @ vv
    if gates is not None:
        out = out * gates[:, :, None, None]
    return out


def causal(p, k):
    return k <= p


def dense(p, k):
    return np.broadcast_to(True, np.broadcast(p, k).shape)


def global_local(p, k):  # #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 256>]>
    return (k < 64) | ((p >= 0) & (p < 64)) | (np.abs(p - k) <= 256)


def uniform(rng, *shape):
    return rng.uniform(-1.0, 1.0, shape).astype(np.float32)


@unittest.skipIf(np is None, "numpy is not installed (apt-get install python3-numpy)")
@unittest.skipUnless(ARTIFACT, "ATTN_TEST_ARTIFACT is not set: it names an artifact "
                     "of examples/cpu_attention.mlir (ctest python-binding-cpu sets it)")
class CpuTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.art = attn_runtime.Artifact(ARTIFACT)

    @classmethod
    def tearDownClass(cls):
        cls.art.close()

    def assertClose(self, got, want):
        err = np.abs(got.astype(np.float64) - want)
        bad = ~(err <= ATOL + RTOL * np.abs(want))
        self.assertFalse(bad.any(), "%d elements off, max abs error %g"
                         % (bad.sum(), err.max()))

    def test_functions(self):
        self.assertLessEqual({"causal_gqa", "global_local", "gated"},
                             set(self.art.functions))
        spec = self.art.signature("gated")
        self.assertEqual([a.name for a in spec.inputs],
                         ["query", "key", "value", "gates"])
        self.assertEqual(spec.inputs[3], attn_runtime.ArgSpec("gates", "bool", ("B", 8)))

    def test_causal_gqa(self):
        rng = np.random.default_rng(1)
        q, k, v = uniform(rng, 2, 16, 96, 64), uniform(rng, 2, 4, 96, 64), uniform(rng, 2, 4, 96, 64)
        out = self.art("causal_gqa", q, k, v)
        self.assertIsInstance(out, np.ndarray)
        self.assertEqual((out.shape, out.dtype), ((2, 16, 96, 64), np.float32))
        self.assertClose(out, reference(q, k, v, causal))

    def test_causal_gqa_decode_rows(self):
        # Sq < Skv: the rows sit at the end of the keys (a KV cache).
        rng = np.random.default_rng(2)
        q, k, v = uniform(rng, 1, 16, 3, 64), uniform(rng, 1, 4, 77, 64), uniform(rng, 1, 4, 77, 64)
        self.assertClose(self.art("causal_gqa", q, k, v), reference(q, k, v, causal))

    def test_strided_views_and_out_are_not_copied(self):
        # [B, S, H, D] storage viewed as [B, H, S, D]: the runtime gets the
        # strides, and writes the caller's `out` in place.
        rng = np.random.default_rng(3)
        q = uniform(rng, 2, 80, 16, 64).transpose(0, 2, 1, 3)
        k = uniform(rng, 2, 80, 4, 64).transpose(0, 2, 1, 3)
        v = uniform(rng, 2, 80, 4, 64).transpose(0, 2, 1, 3)
        storage = np.full((2, 80, 16, 64), np.nan, np.float32)
        out = storage.transpose(0, 2, 1, 3)
        self.assertFalse(q.flags.c_contiguous)
        result = self.art("causal_gqa", q, k, v, out=out)
        self.assertIs(result, out)
        self.assertClose(storage.transpose(0, 2, 1, 3), reference(q, k, v, causal))
        listed = self.art.call("causal_gqa", [q, k, v], [out])
        self.assertIs(listed[0], out)

    def test_global_local(self):
        rng = np.random.default_rng(4)
        q, k, v = uniform(rng, 1, 8, 300, 64), uniform(rng, 1, 8, 300, 64), uniform(rng, 1, 8, 300, 64)
        self.assertClose(self.art("global_local", q, k, v), reference(q, k, v, global_local))

    def test_gated_heads_are_zero(self):
        rng = np.random.default_rng(5)
        q, k, v = uniform(rng, 2, 8, 70, 64), uniform(rng, 2, 8, 70, 64), uniform(rng, 2, 8, 70, 64)
        gates = np.zeros((2, 8), bool)
        gates[0, [0, 3, 7]] = True
        gates[1, [1, 2]] = True
        out = np.full((2, 8, 70, 64), np.nan, np.float32)  # the runtime zero-fills
        self.art("gated", q, k, v, gates, out=out)
        self.assertTrue((out[~gates] == 0).all())
        self.assertClose(out, reference(q, k, v, dense, gates=gates))

    def test_shape_mismatch_raises_with_message(self):
        rng = np.random.default_rng(6)
        q, k = uniform(rng, 1, 16, 64, 64), uniform(rng, 1, 5, 64, 64)  # 5 K/V heads, not 4
        with self.assertRaises(attn_runtime.AttnError) as caught:
            self.art("causal_gqa", q, k, k)
        e = caught.exception
        self.assertEqual(e.status_name, "ATTN_ERROR_SHAPE_MISMATCH")
        self.assertTrue(e.message)
        self.assertIn(e.message, str(e))

    def test_wrong_dtype(self):
        q = np.zeros((1, 16, 8, 64))  # float64
        with self.assertRaises(TypeError):
            self.art("causal_gqa", q, q, q)
        f16 = np.zeros((1, 16, 8, 64), np.float16)  # a dtype attn has, not this kernel's
        with self.assertRaises(attn_runtime.AttnError) as caught:
            self.art("causal_gqa", f16, f16[:, :4], f16[:, :4])
        self.assertEqual(caught.exception.status_name, "ATTN_ERROR_SHAPE_MISMATCH")

    def test_wrong_input_count(self):
        q = np.zeros((1, 16, 8, 64), np.float32)
        with self.assertRaises(attn_runtime.AttnError) as caught:
            self.art("causal_gqa", q, q[:, :4])
        self.assertTrue(caught.exception.message)

    def test_unknown_function_and_missing_artifact(self):
        with self.assertRaises(attn_runtime.AttnError) as caught:
            self.art("no_such_function", np.zeros(1, np.float32))
        self.assertIn("no_such_function", caught.exception.message)
        with self.assertRaises(attn_runtime.AttnError) as caught:
            attn_runtime.Artifact(os.path.join(ARTIFACT, "no-such-dir"))
        self.assertTrue(caught.exception.message)


if __name__ == "__main__":
    unittest.main()
