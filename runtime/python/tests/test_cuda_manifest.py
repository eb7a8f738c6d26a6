"""Gated CUDA artifacts through the binding, without a GPU.

Each test writes its own artifact: a manifest whose CUDA kernels follow
docs/artifact.md's contract (ungated, "gates": a bool [B, Hq] mask the kernel
reads, "active": an int32 list the runtime launches over) and a stand-in
cubin that is listed with its hash but never loaded. What runs without a GPU:
opening and describing it, the manifest checks' refusals, the call checks
that come before the driver (through the C API, with device tensors whose
addresses are never dereferenced), and how torch/numpy dtypes map to the
runtime's. Needs only libattn_runtime.so (ATTN_RUNTIME_LIB, or a build
tree); numpy and torch tests skip without them.

    ATTN_RUNTIME_LIB=build-rt/libattn_runtime.so \\
        python3 -m unittest discover -s runtime/python/tests -p test_cuda_manifest.py -v
"""

import copy
import hashlib
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import attn_runtime  # noqa: E402
from attn_runtime import _capi  # noqa: E402

try:
    import numpy as np
except ImportError:
    np = None
try:
    import torch
except ImportError:
    torch = None

HQ, HKV, D = 8, 2, 64
CUBIN = "k.sm_90.cubin"


def common_params():
    """The 19 parameters every CUDA attention kernel takes."""
    params = [{"name": n, "type": "ptr", "value": t}
              for n, t in (("q", "query"), ("k", "key"), ("v", "value"), ("o", "out"))]
    for t in ("query", "key", "value", "out"):
        params += [{"name": "%s_stride%d" % (t, i), "type": "i64",
                    "value": "%s.stride[%d]" % (t, i)} for i in range(3)]
    return params + [{"name": "sq", "type": "i32", "value": "Sq"},
                     {"name": "skv", "type": "i32", "value": "Skv"},
                     {"name": "scale", "type": "f32", "value": "scale"}]


EXTRA_PARAMS = {
    "none": [],
    "gates": [{"name": "gates", "type": "ptr", "value": "gates"},
              {"name": "gates_stride0", "type": "i64", "value": "gates.stride[0]"},
              {"name": "gates_stride1", "type": "i64", "value": "gates.stride[1]"}],
    "active": [{"name": "active", "type": "ptr", "value": "active"},
               {"name": "num_active", "type": "i32", "value": "active_count"}],
}
FOURTH = {"none": [],
          "gates": [{"role": "gates", "dtype": "bool", "shape": ["B", HQ]}],
          "active": [{"role": "active", "dtype": "i32", "shape": ["pairs"]}]}
FUNCTIONS = (("plain", "none"), ("gated", "gates"), ("listed", "active"))


def manifest(files):
    functions, kernels = [], []
    for name, gates in FUNCTIONS:
        functions.append({
            "name": name,
            "inputs": [{"role": "query", "dtype": "f32", "shape": ["B", HQ, "Sq", D]},
                       {"role": "key", "dtype": "f32", "shape": ["B", HKV, "Skv", D]},
                       {"role": "value", "dtype": "f32", "shape": ["B", HKV, "Skv", D]}]
            + FOURTH[gates],
            "outputs": [{"role": "out", "dtype": "f32", "shape": ["B", HQ, "Sq", D]}],
            "kernels": [name + "_attn0"]})
        kernels.append({
            "name": name + "_attn0", "device": "cuda", "source": name, "dtype": "f32",
            "head_dim": D, "query_heads": HQ, "key_heads": HKV,
            "gated": gates != "none", "gates": gates,
            "operand_args": [0, 1, 2] + ([3] if gates != "none" else []),
            "result_index": 0, "pattern": "#attn.causal", "scale": 0.125,
            "cuda": {"entry": name + "_attn0", "binaries": {"sm_90": CUBIN},
                     "block": [128, 1, 1], "dynamic_shared_memory": 0,
                     "grid": {"rule": "query_tiles_x_active" if gates == "active"
                              else "query_tiles_x_pairs", "query_tile": 128},
                     "params": common_params() + copy.deepcopy(EXTRA_PARAMS[gates])}})
    return {"format": "attn-artifact", "version": 1, "compiler": "test_cuda_manifest.py",
            "files": files, "functions": functions, "kernels": kernels}


class CudaManifestTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="attn-cuda-manifest-")
        data = b"a stand-in cubin, never loaded here"
        with open(os.path.join(self.dir, CUBIN), "wb") as f:
            f.write(data)
        self.files = [{"path": CUBIN, "size": len(data),
                       "sha256": hashlib.sha256(data).hexdigest()}]
        self.write(manifest(self.files))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, m):
        with open(os.path.join(self.dir, "manifest.json"), "w") as f:
            json.dump(m, f)

    def kernel(self, m, name):
        return next(k for k in m["kernels"] if k["source"] == name)

    def test_opens_and_describes(self):
        with attn_runtime.Artifact(self.dir) as art:
            self.assertEqual(art.functions, ["plain", "gated", "listed"])
            gated = art.signature("gated")
            self.assertEqual(gated.device, "cuda")
            self.assertEqual(gated.inputs[3], attn_runtime.ArgSpec("gates", "bool", ("B", HQ)))
            self.assertEqual(gated.kernels[0]["gates"], "gates")
            listed = art.signature("listed")
            self.assertEqual(listed.inputs[3], attn_runtime.ArgSpec("active", "i32", ("pairs",)))
            self.assertEqual(listed.kernels[0]["cuda"]["grid"]["rule"], "query_tiles_x_active")

    def test_malformed_gated_kernels_are_refused(self):
        def broken(name, edit):
            m = manifest(self.files)
            edit(self.kernel(m, name))
            return m

        def param(k, value):
            return next(p for p in k["cuda"]["params"] if p["value"] == value)

        cases = [
            (broken("gated", lambda k: param(k, "gates.stride[1]").update(value="gates.stride[2]")),
             '"gates.stride[2]" with type "i64" is not a parameter the runtime can pass'),
            (broken("gated", lambda k: k["cuda"]["params"].append(
                {"name": "n", "type": "i32", "value": "active_count"})),
             '"active_count" needs a kernel with "gates": "active"; this one has "gates": "gates"'),
            (broken("plain", lambda k: k["cuda"]["params"].append(
                {"name": "g", "type": "ptr", "value": "gates"})),
             '"gates" needs a kernel with "gates": "gates"; this one has "gates": "none"'),
            (broken("listed", lambda k: k["cuda"]["params"].pop(19)),
             'a kernel with "gates": "active" must take the active list as a parameter'),
            (broken("gated", lambda k: k["cuda"]["grid"].update(rule="query_tiles_x_active")),
             '"query_tiles_x_active" launches one block row per entry of an active list'),
            (broken("listed", lambda k: k["cuda"]["grid"].update(rule="query_tiles_x_pairs")),
             'a kernel with "gates": "active" is launched over its list'),
        ]
        for m, expected in cases:
            with self.subTest(expected=expected):
                self.write(m)
                with self.assertRaises(attn_runtime.AttnError) as caught:
                    attn_runtime.Artifact(self.dir)
                self.assertEqual(caught.exception.status_name, "ATTN_ERROR_CORRUPT_ARTIFACT")
                self.assertIn(expected, caught.exception.message)

    def raw_call(self, art, name, fourth_shape, fourth_dtype, b=2, sq=16, skv=16):
        """attn_call with device tensors at made-up addresses (the checks
        before the driver never read them)."""
        def tensor(address, dtype, shape):
            t = _capi.Tensor()
            t.data = address
            t.dtype = dtype
            t.device = _capi.DEVICE_CUDA
            t.rank = len(shape)
            stride = 1
            for d in reversed(range(len(shape))):
                t.shape[d], t.strides[d] = shape[d], stride
                stride *= shape[d]
            return t
        ins = [tensor(0x10000000, _capi.DTYPE_F32, (b, HQ, sq, D)),
               tensor(0x20000000, _capi.DTYPE_F32, (b, HKV, skv, D)),
               tensor(0x30000000, _capi.DTYPE_F32, (b, HKV, skv, D))]
        if fourth_shape is not None:
            ins.append(tensor(0x40000000, fourth_dtype, fourth_shape))
        out = tensor(0x50000000, _capi.DTYPE_F32, (b, HQ, sq, D))
        lib = art._lib
        status = lib.attn_call(art._runtime._handle, art._handle, name.encode(),
                               (_capi.Tensor * len(ins))(*ins), len(ins),
                               (_capi.Tensor * 1)(out), 1, None)
        return _capi.STATUS_NAMES[status], (lib.attn_last_error() or b"").decode()

    def test_call_checks_before_the_driver(self):
        with attn_runtime.Artifact(self.dir) as art:
            status, message = self.raw_call(art, "gated", (2, HQ + 1), _capi.DTYPE_BOOL)
            self.assertEqual(status, "ATTN_ERROR_SHAPE_MISMATCH")
            self.assertIn("input 3 (gates) [2, 9]: dim 1 is 9, expected 8", message)
            status, message = self.raw_call(art, "gated", (2, HQ), _capi.DTYPE_I32)
            self.assertIn("input 3 (gates): expected dtype bool, found i32", message)
            status, message = self.raw_call(art, "listed", (17,), _capi.DTYPE_I32)
            self.assertEqual(status, "ATTN_ERROR_SHAPE_MISMATCH")
            self.assertIn("the active list (input 3) has 17 entries, more than the 16 "
                          "(batch, head) pairs B * Hq = 2 * 8", message)
            # Valid calls get as far as the driver: no libcuda or no GPU here;
            # the stand-in cubin on a GPU machine.
            for name, shape, dtype in (("gated", (2, HQ), _capi.DTYPE_BOOL),
                                       ("listed", (5,), _capi.DTYPE_I32),
                                       ("plain", None, None)):
                status, message = self.raw_call(art, name, shape, dtype)
                self.assertIn(status, ("ATTN_ERROR_NO_CUDA", "ATTN_ERROR_NO_DEVICE",
                                       "ATTN_ERROR_CUDA"), message)

    @unittest.skipIf(np is None, "numpy is not installed")
    def test_host_arrays_are_refused(self):
        with attn_runtime.Artifact(self.dir) as art:
            q = np.zeros((1, HQ, 4, D), np.float32)
            k = np.zeros((1, HKV, 4, D), np.float32)
            with self.assertRaises(attn_runtime.AttnError) as caught:
                art("gated", q, k, k, np.ones((1, HQ), np.uint8), out=np.zeros_like(q))
            self.assertEqual(caught.exception.status_name, "ATTN_ERROR_SHAPE_MISMATCH")
            self.assertIn("is on the CPU; function 'gated' runs on a CUDA device",
                          caught.exception.message)


class DtypeTest(unittest.TestCase):
    """Gates and active lists as the binding hands them to the runtime."""

    @unittest.skipIf(torch is None, "torch is not installed")
    def test_torch(self):
        view = attn_runtime._view  # the binding's tensor -> attn_tensor step
        for dtype, expected in ((torch.bool, _capi.DTYPE_BOOL), (torch.uint8, _capi.DTYPE_BOOL),
                                (torch.int32, _capi.DTYPE_I32)):
            t = torch.zeros(2, HQ, dtype=dtype)[:, ::2]  # a strided view, not copied
            v, device = view(t, "gates", False)
            self.assertEqual(v.dtype, expected, dtype)
            self.assertEqual(v.data, t.data_ptr())
            self.assertEqual((v.rank, v.shape[1], v.strides[0], v.strides[1]), (2, HQ // 2, HQ, 2))
        with self.assertRaises(TypeError):
            view(torch.zeros(2, HQ, dtype=torch.int64), "active", False)

    @unittest.skipIf(np is None, "numpy is not installed")
    def test_numpy(self):
        for dtype, expected in ((np.bool_, _capi.DTYPE_BOOL), (np.uint8, _capi.DTYPE_BOOL),
                                (np.int32, _capi.DTYPE_I32)):
            v, _ = attn_runtime._view(np.zeros((2, HQ), dtype), "gates", False)
            self.assertEqual(v.dtype, expected)


if __name__ == "__main__":
    unittest.main()
