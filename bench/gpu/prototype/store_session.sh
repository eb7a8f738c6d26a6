#!/usr/bin/env bash
# One device call for the 2026-12-08 kernels (docs/gpu-notes.md 5h), run
# from the repository root with build/device carried: checks at ragged
# shapes of the TMA-store set (-store), the persistent sets with the
# dynamic scheduler (-persist, -pstore; 3 blocks, so each walks many
# items) and the D = 64 TMA kernel (-d64), one memcheck each, then
# bench.py: h16d128 with [persist] [store] [pstore] next to the default
# and the peers, and h32d64 with [d64] (BENCH_S: each bench's limit;
# B128_ONLY, B64_ONLY: the cases, space-separated substrings).
set -uo pipefail
root=$(pwd); art=$root/build/device; rt=/tmp/attn-runtime-device
out=${OUT:-/tmp/out}; mkdir -p "$out"; t0=$(date +%s)
cmake -G Ninja -S runtime -B $rt -DCMAKE_BUILD_TYPE=Release >/dev/null &&
  cmake --build $rt -j16 >$out/rt.log 2>&1 || { tail -30 $out/rt.log; exit 2; }
check() { # check SET BLOCKS CASE SHAPE [args]
  local set=$1 blocks=$2 c=$3 shape=$4; shift 4
  ATTN_PERSISTENT_BLOCKS=$blocks timeout -k 5 30 $rt/attn-run $art/gpu-kernels-$set/$c --function $c \
    --shape $shape --device cuda --check-reference --warmup 0 --reps 2 "$@" 2>&1 | tail -1 | cut -c1-150
  echo "[$set x$blocks $c $shape] rc=${PIPESTATUS[0]}"
}
for set in 90a-store 90a-persist 90a-pstore; do
  for c in "dense_h16d128 B=2,Sq=1000,Skv=1037" "causal_h16d128 B=2,Sq=300,Skv=77" \
    "global_local_h16d128 B=2,Sq=700,Skv=900" "causal_window_h16d128 B=3,Sq=700,Skv=1500"; do
    check $set 3 $c
  done
  check $set 3 gated_h16d128 B=2,Sq=300,Skv=500 --gates 0,3,9-12
done
for c in "dense_h32d64 B=2,Sq=1000,Skv=1037" "causal_h32d64 B=2,Sq=300,Skv=77" \
  "global_local_h32d64 B=2,Sq=700,Skv=900" "sliding_window_h32d64 B=1,Sq=1024,Skv=1300" \
  "strided_h32d64 B=1,Sq=1024,Skv=1024" "gated_h32d64 B=2,Sq=300,Skv=500 --gates 0,3,9-12"; do
  check 90a-d64 1 $c
done
s=/usr/local/cuda/bin/compute-sanitizer
for c in "90a-pstore global_local_h16d128" "90a-store causal_h16d128" "90a-d64 causal_window_h32d64"; do
  set -- $c
  ATTN_PERSISTENT_BLOCKS=3 timeout -k 5 60 $s --tool memcheck --error-exitcode 9 $rt/attn-run \
    $art/gpu-kernels-$1/$2 --function $2 --shape B=2,Sq=300,Skv=500 --device cuda --check-reference \
    --warmup 0 --reps 1 >$out/san.log 2>&1
  echo "[memcheck $1 $2] rc=$? $(tail -1 $out/san.log)"
done
echo "checks $(( $(date +%s) - t0 ))s"
[[ ${BENCH_S:-200} == 0 ]] && exit 0 # (checks only)
export ATTN_RUNTIME_LIB=$rt/libattn_runtime.so
b=${BENCH_S:-200}
timeout -k 10 $((b + 30)) python3 bench/gpu/bench.py --artifacts $art/gpu-kernels-90a \
  --variant persist=$art/gpu-kernels-90a-persist --variant store=$art/gpu-kernels-90a-store \
  --variant pstore=$art/gpu-kernels-90a-pstore $(printf -- '--only %s ' ${B128_ONLY:-h16d128}) \
  --budget-s $b --skip-flex-16k \
  --out $out/b128 >$out/b128.log 2>&1
echo "bench d128 rc=$? $(( $(date +%s) - t0 ))s"
timeout -k 10 $((b / 2 + 30)) python3 bench/gpu/bench.py --artifacts $art/gpu-kernels-90a \
  --variant d64=$art/gpu-kernels-90a-d64 $(printf -- '--only %s ' ${B64_ONLY:-h32d64}) \
  --budget-s $((b / 2)) --skip-flex-16k \
  --out $out/b64 >$out/b64.log 2>&1
echo "bench d64 rc=$? $(( $(date +%s) - t0 ))s"
grep -hE "FAIL|Error|error" $out/b128.log $out/b64.log | head -10
