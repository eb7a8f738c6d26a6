"""Issue 8's functions through the binding: select_blocks, compress_kv,
attention over a blocks list and sparse_branches (docs/sparse-projection.md),
on the runtime's test artifact of fake_kernel.c (runtime/test/sparse_artifact,
written by ctest's runtime-sparse-artifact fixture; blocks of 4, windows of 4
every 2, sparse_branches' window #attn.local<window = 3, causal>).

    ATTN_SPARSE_ARTIFACT=build-rt/sparse-artifact \\
    ATTN_RUNTIME_LIB=build-rt/libattn_runtime.so \\
        python3 -m unittest discover -s runtime/python/tests -p test_sparse.py -v

What is checked: the derived sizes and roles the binding reports; outputs
allocated with the shapes the manifest gives, derived sizes resolved
(indices [B, Hkv, ceil(Sq / 4), 3], compressed [B, Hkv, (S - 4) / 2 + 1, D]);
their values against float64 references; the runtime's refusals (a blocks
list of another block count, keys shorter than a window) as AttnError. numpy
and torch (CPU) tests skip without them, and everything skips without the
artifact. The fake artifact is a CPU one: CUDA tensors are refused by it
(checked when torch has CUDA).
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import attn_runtime  # noqa: E402

try:
    import numpy as np
except ImportError:
    np = None
try:
    import torch
except ImportError:
    torch = None

ARTIFACT = os.environ.get("ATTN_SPARSE_ARTIFACT")
HQ, HKV, D, BLOCK, SLOTS = 4, 2, 8, 4, 3


def select_reference(q, k, pooled=None):
    """The fake's select_blocks (blocks of 4, top 3, not causal, nothing
    forced) in float64, as section 1 defines it; rows whose choice hangs on
    two scores within 1e-3 of each other are None (not compared)."""
    b, hq, sq, d = q.shape
    hkv, skv = k.shape[1], k.shape[2]
    nqb, nkb = -(-sq // BLOCK), -(-skv // BLOCK)
    out = np.full((b, hkv, nqb, SLOTS), -1, np.int64)
    near = np.zeros((b, hkv, nqb), bool)
    q64, k64 = q.astype(np.float64), k.astype(np.float64)
    for bi in range(b):
        for g in range(hkv):
            heads = q64[bi, g * (hq // hkv):(g + 1) * (hq // hkv)]
            if pooled is not None:
                keys = pooled[bi, g].astype(np.float64)
            else:
                keys = np.stack([k64[bi, g, j * BLOCK:(j + 1) * BLOCK].mean(0)
                                 for j in range(nkb)])
            for i in range(nqb):
                pq = heads[:, i * BLOCK:(i + 1) * BLOCK].reshape(-1, d).mean(0)
                s = keys @ pq
                order = sorted(range(nkb), key=lambda j: (-s[j], j))
                take = min(SLOTS, nkb)
                if take < nkb:
                    a, c = s[order[take - 1]], s[order[take]]
                    near[bi, g, i] = abs(a - c) <= 1e-3 * max(abs(a), abs(c))
                out[bi, g, i, :take] = sorted(order[:take])
    return out, near


def attention_reference(q, k, v, blocks):
    """Dense attention in float64 over the keys of the listed blocks (any
    order, -1 and out-of-range entries ignored); rows seeing none are 0."""
    b, hq, sq, d = q.shape
    hkv, skv = k.shape[1], k.shape[2]
    out = np.zeros(q.shape, np.float64)
    for bi in range(b):
        for h in range(hq):
            g = h // (hq // hkv)
            for r in range(sq):
                listed = set(int(x) for x in blocks[bi, g, r // BLOCK])
                keys = [t for t in range(skv) if t // BLOCK in listed]
                if not keys:
                    continue
                s = k[bi, g, keys].astype(np.float64) @ q[bi, h, r] / np.sqrt(d)
                p = np.exp(s - s.max())
                out[bi, h, r] = (p / p.sum()) @ v[bi, g, keys].astype(np.float64)
    return out


def branches_reference(q, k, v, ck, cv, blocks, w):
    """fake_branches' sparse_branches in float64 (section 1 of
    docs/sparse-projection.md): per row, softmax attention over the
    compressed slots n with n * 2 + 3 <= p, over the keys of the listed
    blocks up to p, over the keys p - 3 .. p; each zero when it sees
    nothing; combined with the row's weights as given."""
    b, hq, sq, d = q.shape
    hkv, skv, n = k.shape[1], k.shape[2], ck.shape[2]
    out = np.zeros(q.shape[:3] + (v.shape[3],), np.float64)

    def attend(qr, keys, values, visible):
        if not visible.any():
            return 0.0
        s = keys[visible].astype(np.float64) @ qr.astype(np.float64) / np.sqrt(d)
        p = np.exp(s - s.max())
        return (p / p.sum()) @ values[visible].astype(np.float64)

    t = np.arange(skv)
    for bi in range(b):
        for h in range(hq):
            g = h // (hq // hkv)
            for r in range(sq):
                p = r + skv - sq
                listed = set(int(x) for x in blocks[bi, g, r // BLOCK])
                branches = (
                    attend(q[bi, h, r], ck[bi, g], cv[bi, g], np.arange(n) * 2 + 3 <= p),
                    attend(q[bi, h, r], k[bi, g], v[bi, g],
                           (t <= p) & np.isin(t // BLOCK, list(listed))),
                    attend(q[bi, h, r], k[bi, g], v[bi, g], (t <= p) & (p - t <= 3)))
                out[bi, h, r] = sum(w[bi, h, r, i] * branches[i] for i in range(3))
    return out


def compress_reference(x, weights=None):
    b, hkv, s, d = x.shape
    n = (s - 4) // 2 + 1
    w = np.full((hkv, 4), 0.25) if weights is None else weights.astype(np.float64)
    out = np.zeros((b, hkv, n, d))
    for slot in range(n):
        window = x[:, :, slot * 2:slot * 2 + 4].astype(np.float64)
        out[:, :, slot] = np.einsum("gt,bgtd->bgd", w, window)
    return out


@unittest.skipUnless(ARTIFACT, "ATTN_SPARSE_ARTIFACT is unset (ctest's "
                               "runtime-sparse-artifact writes it)")
class Signature(unittest.TestCase):
    def test_derived_sizes_and_roles(self):
        with attn_runtime.Artifact(ARTIFACT) as art:
            spec = art.signature("compress_linear")
            self.assertEqual(spec.derived,
                             (attn_runtime.DerivedSize("Skv_slots", "Skv", "windows", 4, 2),))
            self.assertEqual([a.name for a in spec.inputs], ["key", "value", "weights"])
            self.assertEqual(spec.outputs[0].shape, ("B", HKV, "Skv_slots", D))
            spec = art.signature("selected")
            self.assertEqual(spec.inputs[3], attn_runtime.ArgSpec(
                "blocks", "i32", ("B", HKV, "Sq_blocks", SLOTS)))
            self.assertEqual(spec.derived[0].rule, "ceil_div")
            self.assertEqual(spec.kernels[0]["blocks"]["slots"], SLOTS)

    def test_sparse_branches_roles(self):
        roles = ["query", "key", "value", "compressed_key", "compressed_value",
                 "blocks", "weights"]
        with attn_runtime.Artifact(ARTIFACT) as art:
            # Declared by the manifest, and (branches_wide declares none)
            # following from the kernel's operands.
            for name in ("branches", "branches_wide"):
                spec = art.signature(name)
                self.assertEqual([a.name for a in spec.inputs], roles, name)
                self.assertEqual(spec.inputs[3].shape, ("B", HKV, "Skv_slots", D))
                self.assertEqual(spec.inputs[6], attn_runtime.ArgSpec(
                    "weights", "f32", ("B", HQ, "Sq", 3)))
                self.assertEqual(spec.kernels[0]["op"], "sparse_branches")
            self.assertEqual(
                [d.rule for d in art.signature("branches").derived],
                ["ceil_div", "windows"])


@unittest.skipUnless(ARTIFACT and np is not None,
                     "needs ATTN_SPARSE_ARTIFACT and numpy")
class Numpy(unittest.TestCase):
    def setUp(self):
        self.art = attn_runtime.Artifact(ARTIFACT)
        self.rng = np.random.default_rng(8)

    def tearDown(self):
        self.art.close()

    def normal(self, *shape):
        return self.rng.standard_normal(shape).astype(np.float32)

    def test_select_allocates_derived_shapes(self):
        q, k = self.normal(2, HQ, 37, D), self.normal(2, HKV, 53, D)
        idx = self.art("select", q, k)
        self.assertEqual(idx.shape, (2, HKV, 10, SLOTS))  # ceil(37 / 4)
        self.assertEqual(idx.dtype, np.int32)
        want, near = select_reference(q, k)
        self.assertLess(near.sum(), near.size)  # most rows compared
        np.testing.assert_array_equal(idx[~near], want[~near])

    def test_select_with_pooled_keys(self):
        q, k = self.normal(1, HQ, 16, D), self.normal(1, HKV, 30, D)
        self.assertEqual(self.art.sizes("select_pooled", [q, k]),
                         {"B": 1, "Sq": 16, "Skv": 30, "Sq_blocks": 4,
                          "Skv_blocks": 8})
        pooled = self.normal(1, HKV, 8, D)
        idx = self.art("select_pooled", q, k, pooled)
        want, near = select_reference(q, k, pooled)
        np.testing.assert_array_equal(idx[~near], want[~near])

    def test_compress(self):
        k, v = self.normal(2, HKV, 21, D), self.normal(2, HKV, 21, D)
        w = self.normal(HKV, 4)
        ck, cv = self.art("compress_linear", k, v, w)
        self.assertEqual(ck.shape, (2, HKV, 9, D))  # (21 - 4) / 2 + 1
        np.testing.assert_allclose(ck, compress_reference(k, w), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(cv, compress_reference(v, w), rtol=1e-5, atol=1e-5)
        ck, cv = self.art("compress_mean", k, v)
        np.testing.assert_allclose(cv, compress_reference(v), rtol=1e-5, atol=1e-5)

    def test_keys_shorter_than_a_window_are_refused(self):
        k = self.normal(1, HKV, 3, D)
        with self.assertRaises(attn_runtime.AttnError) as e:
            self.art("compress_mean", k, k)
        self.assertEqual(e.exception.status_name, "ATTN_ERROR_SHAPE_MISMATCH")
        self.assertIn("needs Skv >= 4; the call has Skv = 3", str(e.exception))

    def test_selected_attention(self):
        q, k, v = self.normal(2, HQ, 13, D), self.normal(2, HKV, 22, D), \
            self.normal(2, HKV, 22, D)
        blocks = self.rng.integers(-1, 6, (2, HKV, 4, SLOTS)).astype(np.int32)
        out = self.art("selected", q, k, v, blocks)
        self.assertEqual(out.shape, q.shape)
        np.testing.assert_allclose(out, attention_reference(q, k, v, blocks),
                                   rtol=1e-4, atol=2e-5)
        # A list of another query-block count: refused, output untouched.
        wrong = np.zeros((2, HKV, 5, SLOTS), np.int32)
        before = np.full(q.shape, 7, np.float32)
        with self.assertRaises(attn_runtime.AttnError) as e:
            self.art("selected", q, k, v, wrong, out=before)
        self.assertIn("dim 2 (Sq_blocks) is 5, expected Sq_blocks = ceil(Sq / 4) "
                      "= 4 (Sq = 13)", str(e.exception))
        self.assertTrue((before == 7).all())


    def test_sparse_branches(self):
        b, sq, skv = 2, 13, 22  # 4 query blocks, 6 key blocks, 10 slots
        q = self.normal(b, HQ, sq, D)
        k, v = self.normal(b, HKV, skv, D), self.normal(b, HKV, skv, D)
        ck, cv = self.normal(b, HKV, 10, D), self.normal(b, HKV, 10, D)
        # Valid, -1, repeated and out-of-range entries; weights of any sign.
        blocks = self.rng.integers(-1, 8, (b, HKV, 4, SLOTS)).astype(np.int32)
        blocks[0, 0, 1] = [2, 2, -1]
        w = self.normal(b, HQ, sq, 3)
        self.assertEqual(self.art.sizes("branches", [q, k, v, ck, cv, blocks, w]),
                         {"B": b, "Sq": sq, "Skv": skv, "Sq_blocks": 4, "Skv_slots": 10})
        out = self.art("branches", q, k, v, ck, cv, blocks, w)
        self.assertEqual(out.shape, (b, HQ, sq, D))
        np.testing.assert_allclose(out, branches_reference(q, k, v, ck, cv, blocks, w),
                                   rtol=1e-4, atol=2e-5)
        # Compressed K/V of another key length: refused, output untouched.
        before = np.full(out.shape, 7, np.float32)
        with self.assertRaises(attn_runtime.AttnError) as e:
            self.art("branches", q, k, v, ck[:, :, :9], cv[:, :, :9], blocks, w,
                     out=before)
        self.assertEqual(e.exception.status_name, "ATTN_ERROR_SHAPE_MISMATCH")
        self.assertIn("dim 2 (Skv_slots) is 9, expected Skv_slots = (Skv - 4) / 2 + 1 "
                      "= 10 (Skv = 22)", str(e.exception))
        self.assertTrue((before == 7).all())


@unittest.skipUnless(ARTIFACT and np is not None and torch is not None,
                     "needs ATTN_SPARSE_ARTIFACT, numpy and torch")
class Torch(unittest.TestCase):
    def setUp(self):
        self.art = attn_runtime.Artifact(ARTIFACT)
        torch.manual_seed(8)

    def tearDown(self):
        self.art.close()

    def test_select_and_selected_on_cpu_tensors(self):
        # [B, S, H, D] storage viewed as [B, H, S, D]: passed as it is.
        q = torch.randn(2, 21, HQ, D).transpose(1, 2)
        k = torch.randn(2, HKV, 30, D)
        v = torch.randn(2, HKV, 30, D)
        idx = self.art("select", q, k)
        self.assertIsInstance(idx, torch.Tensor)
        self.assertEqual(tuple(idx.shape), (2, HKV, 6, SLOTS))
        self.assertEqual(idx.dtype, torch.int32)
        want, near = select_reference(q.numpy(), k.numpy())
        np.testing.assert_array_equal(idx.numpy()[~near], want[~near])
        out = self.art("selected", q, k, v, idx)
        np.testing.assert_allclose(
            out.numpy(), attention_reference(q.numpy(), k.numpy(), v.numpy(), idx.numpy()),
            rtol=1e-4, atol=2e-5)

    def test_compress_on_cpu_tensors(self):
        k = torch.randn(1, HKV, 12, D)
        ck, cv = self.art("compress_mean", k, k)
        self.assertEqual(tuple(ck.shape), (1, HKV, 5, D))
        np.testing.assert_allclose(ck.numpy(), compress_reference(k.numpy()),
                                   rtol=1e-5, atol=1e-5)

    @unittest.skipUnless(torch is not None and torch.cuda.is_available(), "no CUDA device")
    def test_cuda_tensors_are_refused_by_a_cpu_artifact(self):
        q = torch.randn(1, HQ, 8, D, device="cuda")
        k = torch.randn(1, HKV, 8, D, device="cuda")
        with self.assertRaises(attn_runtime.AttnError) as e:
            self.art("select", q, k)
        self.assertIn("is on a CUDA device", str(e.exception))


if __name__ == "__main__":
    unittest.main()
