#!/usr/bin/env bash
# Builds a runtime artifact of the generated FA2-style bf16 causal GQA kernel
# (gen_fa.py -> mlir-opt -> PTX -> ptxas) for sm_90 and sm_80 plus PTX (sm_80)
# and a manifest per docs/artifact.md ("CUDA kernels (draft)").
#   ./make-artifact.sh [OUTDIR]      (needs mlir-opt 22 and ptxas; no GPU)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
D=${D:-64}
out=${1:?usage: make-artifact.sh OUTDIR}
work=${WORK:-$(mktemp -d)}   # intermediate MLIR, PTX and ptxas reports
MLIR_OPT=${MLIR_OPT:-/usr/lib/llvm-22/bin/mlir-opt}
PTXAS=${PTXAS:-/usr/local/cuda/bin/ptxas}
D=${D:-64} HQ=${HQ:-8} HKV=${HKV:-2} NAME=f_attn0 PATTERN=${PATTERN:-#attn.causal}
# SRC=in.mlir: take the kernel from attn-opt --attn-convert-to-gpu (the C++ back
# end) instead of gen_fa.py. in.mlir must hold func.func @f with one bf16
# attn.attention whose D, Hq, Hkv and pattern match D, HQ, HKV, PATTERN here.
SRC=${SRC:-}
ATTN_OPT=${ATTN_OPT:-attn-opt}
# D=64: static shared memory (27648 B); D=128: dynamic (3 x 64 x 136 x 2 = 52224 B > 48 KB)
DYN=$(( D > 64 ? 1 : 0 )); SMEM=$(( DYN ? 3 * 64 * (D + 8) * 2 : 0 ))
mkdir -p "$out"
if [ -n "$SRC" ]; then
  # The kernel carries #attn attributes that upstream mlir-opt cannot parse.
  "$ATTN_OPT" "$SRC" --attn-convert-to-gpu > "$work/fa_fwd_bf16_d$D.mlir"
  MLIR_OPT=$ATTN_OPT
else
  python3 "$here/gen_fa.py" --d $D --hq $HQ --hkv $HKV --name $NAME --dyn $DYN > "$work/fa_fwd_bf16_d$D.mlir"
fi
for chip in sm_90 sm_80; do
  "$MLIR_OPT" "$work/fa_fwd_bf16_d$D.mlir" --gpu-lower-to-nvvm-pipeline="cubin-chip=$chip cubin-features=+ptx80 cubin-format=isa opt-level=3 kernel-bare-ptr-calling-convention=true" -o "$work/fa_isa.d$D.$chip.mlir"
  python3 "$here/extract_ptx.py" "$work/fa_isa.d$D.$chip.mlir" "$work/$NAME.d$D.$chip.ptx"
  "$PTXAS" -arch=$chip -O3 -v "$work/$NAME.d$D.$chip.ptx" -o "$out/$NAME.$chip.cubin" 2>&1 | tee "$work/ptxas.d$D.$chip.txt"
done
cp "$work/$NAME.d$D.sm_80.ptx" "$out/$NAME.ptx"
python3 - "$out" $D $HQ $HKV $NAME $SMEM "$PATTERN" <<'PY'
import hashlib, json, os, sys
out, D, HQ, HKV, name, smem = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
pattern = sys.argv[7]
files = [f"{name}.sm_90.cubin", f"{name}.sm_80.cubin", f"{name}.ptx"]
def entry(path):
    data = open(os.path.join(out, path), "rb").read()
    return {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
params = [{"name": n, "type": "ptr", "value": r} for n, r in
          (("q", "query"), ("k", "key"), ("v", "value"), ("o", "out"))]
for t in ("query", "key", "value", "out"):
    for i in range(3):
        params.append({"name": f"{t}_stride{i}", "type": "i64", "value": f"{t}.stride[{i}]"})
params += [{"name": "sq", "type": "i32", "value": "Sq"},
           {"name": "skv", "type": "i32", "value": "Skv"},
           {"name": "scale", "type": "f32", "value": "scale"}]
manifest = {
    "format": "attn-artifact", "version": 1,
    "compiler": "gen_fa.py experiment (mlir-opt 22 gpu-lower-to-nvvm-pipeline + ptxas)",
    "target": "sm_90",
    "files": [entry(f) for f in files],
    "functions": [{
        "name": "f",
        "inputs": [
            {"role": "query", "dtype": "bf16", "shape": ["B", HQ, "Sq", D]},
            {"role": "key", "dtype": "bf16", "shape": ["B", HKV, "Skv", D]},
            {"role": "value", "dtype": "bf16", "shape": ["B", HKV, "Skv", D]},
        ],
        "outputs": [{"role": "out", "dtype": "bf16", "shape": ["B", HQ, "Sq", D]}],
        "kernels": [name],
    }],
    "kernels": [{
        "name": name, "device": "cuda", "source": "f",
        "dtype": "bf16", "head_dim": D, "value_dim": D,
        "query_heads": HQ, "key_heads": HKV, "batch": -1, "query_len": -1, "key_len": -1,
        "gated": False, "gates": "none", "operand_args": [0, 1, 2], "result_index": 0,
        "pattern": pattern, "scale": 1.0 / D ** 0.5,
        "cuda": {
            "entry": name,
            "binaries": {"sm_90": f"{name}.sm_90.cubin", "sm_80": f"{name}.sm_80.cubin"},
            "ptx": {"file": f"{name}.ptx", "target": "sm_80"},
            "block": [128, 1, 1],
            "dynamic_shared_memory": smem,
            "grid": {"rule": "query_tiles_x_pairs", "query_tile": 64},
            "params": params,
        },
    }],
}
json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"), indent=2)
print(f"wrote {out}/manifest.json")
PY
