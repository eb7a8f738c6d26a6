#!/usr/bin/env bash
# Builds the GPU fixture artifact: naive_attention.cu as a cubin for sm_90
# and PTX for sm_80 (JIT fallback), plus a manifest in the artifact format
# (docs/artifact.md). Needs nvcc (CUDA toolkit), not a GPU.
#
#   runtime/test/gpu_fixture/make-artifact.sh OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: make-artifact.sh OUTDIR}
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
if [[ ! -x $nvcc ]]; then
  echo "make-artifact: no nvcc (set NVCC or install the CUDA toolkit)" >&2
  exit 77
fi
mkdir -p "$out"
"$nvcc" -O3 -cubin -arch=sm_90 -o "$out/causal_gqa_attn0.sm_90.cubin" "$here/naive_attention.cu"
"$nvcc" -O3 -ptx -arch=compute_80 -o "$out/causal_gqa_attn0.ptx" "$here/naive_attention.cu"
python3 - "$out" <<'PY'
import hashlib, json, os, sys
out = sys.argv[1]
files = ["causal_gqa_attn0.sm_90.cubin", "causal_gqa_attn0.ptx"]
def entry(path):
    data = open(os.path.join(out, path), "rb").read()
    return {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
strides = []
for t in ("query", "key", "value", "out"):
    for i in range(3):
        strides.append({"name": f"{t}_stride{i}", "type": "i64", "value": f"{t}.stride[{i}]"})
manifest = {
    "format": "attn-artifact",
    "version": 1,
    "compiler": "hand-written fixture (runtime/test/gpu_fixture)",
    "target": "sm_90",
    "files": [entry(f) for f in files],
    "functions": [{
        "name": "causal_gqa",
        "inputs": [
            {"role": "query", "dtype": "f32", "shape": ["B", 8, "Sq", 64]},
            {"role": "key", "dtype": "f32", "shape": ["B", 2, "Skv", 64]},
            {"role": "value", "dtype": "f32", "shape": ["B", 2, "Skv", 64]},
        ],
        "outputs": [{"role": "out", "dtype": "f32", "shape": ["B", 8, "Sq", 64]}],
        "kernels": ["causal_gqa_attn0"],
    }],
    "kernels": [{
        "name": "causal_gqa_attn0", "device": "cuda", "source": "causal_gqa",
        "dtype": "f32", "head_dim": 64, "value_dim": 64,
        "query_heads": 8, "key_heads": 2, "batch": -1, "query_len": -1, "key_len": -1,
        "gated": False, "gates": "none", "operand_args": [0, 1, 2], "result_index": 0,
        "pattern": "#attn.causal", "scale": 0.125,
        "cuda": {
            "entry": "causal_gqa_attn0",
            "binaries": {"sm_90": "causal_gqa_attn0.sm_90.cubin"},
            "ptx": {"file": "causal_gqa_attn0.ptx", "target": "sm_80"},
            "block": [128, 1, 1],
            "dynamic_shared_memory": 0,
            "grid": {"rule": "query_tiles_x_pairs", "query_tile": 128},
            "params": [
                {"name": "q", "type": "ptr", "value": "query"},
                {"name": "k", "type": "ptr", "value": "key"},
                {"name": "v", "type": "ptr", "value": "value"},
                {"name": "o", "type": "ptr", "value": "out"},
            ] + strides + [
                {"name": "sq", "type": "i32", "value": "Sq"},
                {"name": "skv", "type": "i32", "value": "Skv"},
                {"name": "scale", "type": "f32", "value": "scale"},
            ],
        },
    }],
}
json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"), indent=2)
print(f"wrote {out}/manifest.json")
PY
