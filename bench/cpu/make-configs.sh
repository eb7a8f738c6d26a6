#!/usr/bin/env bash
# Compiles the CPU benchmark kernels and writes the configs that
# scripts/device-cpu-bench.sh runs on the GPU machine's host.
#
#   bench/cpu/make-configs.sh [TARGET] [OUTDIR]     (x86-64-v4, build/cpu-bench)
#
# One kernel per (pattern, heads, head dim): sequence lengths stay dynamic, so
# the same kernel serves every length. The density of each config is the
# fraction of key tiles its plan visits at that shape (attn-report), so
# GFLOP/s counts the work the kernel actually does.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${1:-x86-64-v4}
outdir=${2:-$root/build/cpu-bench}
bin=${ATTN_BIN_DIR:-$root/build/bin}
mkdir -p "$outdir"

configs=()
# kernel IR for pattern $2, heads $3, kv heads $4, head dim $5, gated $6
kernel_ir() {
  local name=$1 pattern=$2 hq=$3 hkv=$4 d=$5 gated=$6
  local q="tensor<?x${hq}x?x${d}xf32>" kv="tensor<?x${hkv}x?x${d}xf32>"
  if [[ $gated == 1 ]]; then
    local g="tensor<?x${hq}xi1>"
    echo "func.func @${name}(%q: $q, %k: $kv, %v: $kv, %g: $g) -> $q {
  %o = attn.attention %q, %k, %v gates(%g : $g) {pattern = $pattern} : $q, $kv, $kv -> $q
  return %o : $q
}"
  else
    echo "func.func @${name}(%q: $q, %k: $kv, %v: $kv) -> $q {
  %o = attn.attention %q, %k, %v {pattern = $pattern} : $q, $kv, $kv -> $q
  return %o : $q
}"
  fi
}

# The tile density of `pattern` at (B, Hq, S, D), from the cost model.
density() {
  local pattern=$1 b=$2 hq=$3 s=$4 d=$5
  local t="tensor<${b}x${hq}x${s}x${d}xf32>"
  echo "func.func @f(%q: $t) -> $t {
  %o = attn.attention %q, %q, %q {pattern = $pattern} : $t, $t, $t -> $t
  return %o : $t
}" | "$bin/attn-opt" --attn-report="target=$target format=json" -o /dev/null 2>&1 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["ops"][0]["density"])'
}

# add LABEL PATTERN B HQ HKV S D [GATED_HEADS] [CHECK]
add() {
  local label=$1 pattern=$2 b=$3 hq=$4 hkv=$5 s=$6 d=$7 gated_heads=${8:-} check=${9:-}
  local name
  name=$(echo "k_${label}_h${hq}_${hkv}_d${d}" | tr -c 'a-zA-Z0-9_\n' '_')
  local lib="$outdir/$name/kernels.so"
  if [[ ! -f $lib ]]; then
    kernel_ir "$name" "$pattern" "$hq" "$hkv" "$d" "$([[ -n $gated_heads ]] && echo 1 || echo 0)" \
      >"$outdir/$name.mlir"
    rm -rf "${outdir:?}/$name"
    "$bin/attn-compile" "$outdir/$name.mlir" --target="$target" -o "$outdir/$name"
  fi
  local dens
  dens=$(density "$pattern" "$b" "$hq" "$s" "$d")
  local entry="{\"label\": \"$label\", \"lib\": \"${lib#$root/}\", \"kernel\": \"${name}_attn0\", \"dtype\": \"f32\", \"B\": $b, \"Hq\": $hq, \"Hkv\": $hkv, \"Sq\": $s, \"Skv\": $s, \"D\": $d, \"density\": $dens"
  [[ -n $gated_heads ]] && entry+=", \"gated_heads\": [$gated_heads]"
  [[ -n $check ]] && entry+=", \"pattern\": \"$check\""
  configs+=("$entry}")
}

# The peers' shapes (ANCHORS.md, CPU): dense and causal.
add dense "#attn.dense" 1 8 8 2048 64 "" dense
add causal "#attn.causal" 1 8 8 2048 64 "" causal
add dense "#attn.dense" 1 12 12 512 32 "" dense
add causal "#attn.causal" 1 12 12 512 32 "" causal
add dense "#attn.dense" 1 16 16 4096 128 "" dense
add causal "#attn.causal" 1 16 16 4096 128 "" causal
# Structured patterns (FlexAttention's set in ANCHORS.md, at CPU scale).
for shape in "1 8 8 2048 64" "1 16 16 4096 128"; do
  set -- $shape
  add "local_512" "#attn.local<window = 512>" "$@"
  add "causal_window_1024" "#attn.local<window = 1024, causal>" "$@"
  add "global64_local256" "#attn.union<[#attn.global<tokens = 64>, #attn.local<window = 256>]>" "$@"
  add "strided_every_4th" "#attn.strided<stride = 4, block = 64>" "$@"
  add "random_0.27" "#attn.random_blocks<density = 0.25, seed = 7, block = 64>" "$@"
  add "random_0.12" "#attn.random_blocks<density = 0.1, seed = 7, block = 64>" "$@"
  add "chunked_256" "#attn.chunked<size = 256>" "$@"
done
# Time against density: symmetric windows.
for w in 64 128 256 1024 2048; do
  add "local_$w" "#attn.local<window = $w>" 1 8 8 4096 64
done
add dense "#attn.dense" 1 8 8 4096 64 "" dense
# Head gating: half and a quarter of the heads (GQA 16/4 for the quarter).
add gated_half "#attn.dense" 1 8 8 2048 64 "0,2,4,6"
add gated_quarter "#attn.dense" 1 16 4 2048 64 "0,5,10,15"
add dense_gqa "#attn.dense" 1 16 4 2048 64 "" dense

{
  echo "["
  for i in "${!configs[@]}"; do
    sep=","
    [[ $i == $(( ${#configs[@]} - 1 )) ]] && sep=""
    echo "  ${configs[$i]}$sep"
  done
  echo "]"
} >"$outdir/configs.json"
echo "wrote $outdir/configs.json (${#configs[@]} configs, kernels for $target)"
