#!/usr/bin/env bash
# Builds the GPU fixture artifact: naive_attention.cu as a cubin for sm_90
# and PTX for sm_80 (JIT fallback), plus a manifest in the artifact format
# (docs/artifact.md) with three functions, one per gates kind: causal_gqa
# (ungated), gated_causal (a bool [B, 8] mask) and listed_causal (an int32
# active list). Needs nvcc (CUDA toolkit), not a GPU.
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
# The 19 parameters every attention kernel takes (docs/artifact.md, "CUDA
# kernels"), then what its gates kind adds.
common = [{"name": n, "type": "ptr", "value": t}
          for n, t in (("q", "query"), ("k", "key"), ("v", "value"), ("o", "out"))]
for t in ("query", "key", "value", "out"):
    for i in range(3):
        common.append({"name": f"{t}_stride{i}", "type": "i64", "value": f"{t}.stride[{i}]"})
common += [{"name": "sq", "type": "i32", "value": "Sq"},
           {"name": "skv", "type": "i32", "value": "Skv"},
           {"name": "scale", "type": "f32", "value": "scale"}]
extra = {
    "none": [],
    "gates": [{"name": "gates", "type": "ptr", "value": "gates"},
              {"name": "gates_stride0", "type": "i64", "value": "gates.stride[0]"},
              {"name": "gates_stride1", "type": "i64", "value": "gates.stride[1]"}],
    # "pairs" (B * Hq) beyond the contract's two: the fixture skips list
    # entries outside [0, B * Hq) with it.
    "active": [{"name": "active", "type": "ptr", "value": "active"},
               {"name": "num_active", "type": "i32", "value": "active_count"},
               {"name": "pairs", "type": "i32", "value": "pairs"}],
}
qkv = [{"role": "query", "dtype": "f32", "shape": ["B", 8, "Sq", 64]},
       {"role": "key", "dtype": "f32", "shape": ["B", 2, "Skv", 64]},
       {"role": "value", "dtype": "f32", "shape": ["B", 2, "Skv", 64]}]
fourth = {"none": [],
          "gates": [{"role": "gates", "dtype": "bool", "shape": ["B", 8]}],
          "active": [{"role": "active", "dtype": "i32", "shape": ["pairs"]}]}
functions, kernels = [], []
# (function, kernel entry in naive_attention.cu, gates kind)
for name, symbol, gates in (("causal_gqa", "causal_gqa_attn0", "none"),
                           ("gated_causal", "gated_causal_attn0", "gates"),
                           ("listed_causal", "listed_causal_attn0", "active")):
    functions.append({
        "name": name, "inputs": qkv + fourth[gates],
        "outputs": [{"role": "out", "dtype": "f32", "shape": ["B", 8, "Sq", 64]}],
        "kernels": [name + "_attn0"],
    })
    kernels.append({
        "name": name + "_attn0", "device": "cuda", "source": name,
        "dtype": "f32", "head_dim": 64, "value_dim": 64,
        "query_heads": 8, "key_heads": 2, "batch": -1, "query_len": -1, "key_len": -1,
        "gated": gates != "none", "gates": gates,
        "operand_args": [0, 1, 2] if gates == "none" else [0, 1, 2, 3], "result_index": 0,
        "pattern": "#attn.causal", "scale": 0.125,
        "cuda": {
            "entry": symbol,
            "binaries": {"sm_90": "causal_gqa_attn0.sm_90.cubin"},
            "ptx": {"file": "causal_gqa_attn0.ptx", "target": "sm_80"},
            "block": [128, 1, 1],
            "dynamic_shared_memory": 0,
            "grid": {"rule": "query_tiles_x_active" if gates == "active" else "query_tiles_x_pairs",
                     "query_tile": 128},
            "params": common + extra[gates],
        },
    })
manifest = {
    "format": "attn-artifact",
    "version": 1,
    "compiler": "hand-written fixture (runtime/test/gpu_fixture)",
    "target": "sm_90",
    "files": [entry(f) for f in files],
    "functions": functions,
    "kernels": kernels,
}
json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"), indent=2)
print(f"wrote {out}/manifest.json")
PY
