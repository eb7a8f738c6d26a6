#!/usr/bin/env bash
# One device call for sm_90a's kernels (issue 10, docs/gpu-notes.md 5c-5e),
# run from the repository root with build/device (scripts/prepare-device.sh)
# carried:
#   1. each of four shapes once per TMA set (the default, TMA + ping-pong,
#      and TMA alone) under a 30 s limit (a barrier deadlock hangs, and a
#      hung set is left out of the benchmark), and six shapes of the
#      persistent set (gpu-kernels-90a-persist) on 3 blocks
#      (ATTN_PERSISTENT_BLOCKS);
#   2. bench.py: the sm_90a default (gpu-kernels-90a) as the base rows and
#      [tma] (no ping-pong), [fa2] (FA2's order), [persist] (the persistent
#      grid, unless it hung), with TMA_PIPE=1 [pipe]
#      (cp.async) next to the peers (TMA_ONLY: the --only filters, default
#      h16d128; TMA_BENCH_S: limit);
#      TMA_EXTRA: more LABEL=DIR variants, space-separated; TMA_NO_BASE=1
#      leaves out [fa2] and [tma];
#   3. TMA_SANITIZE (default 6) compute-sanitizer runs.
# Everything goes to $OUT (bench/, sanitizers.txt) and the terminal.
set -uo pipefail
root=$(pwd); art=$root/build/device; rt=/tmp/attn-runtime-device
out=${OUT:-/tmp/out}; mkdir -p "$out"
t0=$(date +%s)
cmake -G Ninja -S runtime -B $rt -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build $rt -j16 >$out/rt.log 2>&1 || { tail -30 $out/rt.log; exit 2; }
echo "runtime $(( $(date +%s) - t0 ))s"
declare -A hung
extra_dirs=(); for x in ${TMA_EXTRA:-}; do extra_dirs+=("${x#*=}"); done
for c in "dense_h16d128 B=1,Sq=256,Skv=256" "causal_h16d128 B=2,Sq=300,Skv=77" "global_local_h16d128 B=1,Sq=200,Skv=300" "strided_h16d128 B=1,Sq=1024,Skv=1024" "random_blocks_0p25_h16d128 B=1,Sq=1000,Skv=1100"; do
  set -- $c
  for d in $art/gpu-kernels-90a $art/gpu-kernels-90a-tma "${extra_dirs[@]}"; do
    timeout -k 5 30 $rt/attn-run $d/$1 --function $1 --shape $2 --device cuda --check-reference --warmup 0 --reps 1 2>&1 | tail -1 | cut -c1-200
    rc=${PIPESTATUS[0]}; echo "[$(basename $d) $1 $2] rc=$rc"
    [[ $rc == 124 || $rc == 137 ]] && hung[$(basename $d)]=1
  done
done
# The persistent set (--persistent) with 3 blocks: each walks many query
# tiles.
for c in "dense_h16d128 B=2,Sq=1000,Skv=1000" "causal_h16d128 B=2,Sq=300,Skv=77" "global_local_h16d128 B=2,Sq=700,Skv=900" "gated_h16d128 B=2,Sq=300,Skv=500 --gates 0,3,9-12" "random_blocks_0p25_h16d128 B=2,Sq=1000,Skv=1100" "causal_window_h16d128 B=3,Sq=700,Skv=1500"; do
  set -- $c; f=$1 shape=$2; shift 2
  ATTN_PERSISTENT_BLOCKS=3 timeout -k 5 30 $rt/attn-run $art/gpu-kernels-90a-persist/$f --function $f --shape $shape --device cuda --check-reference --warmup 0 --reps 2 "$@" 2>&1 | tail -1 | cut -c1-200
  rc=${PIPESTATUS[0]}; echo "[persistent x3 $f $shape] rc=$rc"
  [[ $rc == 124 || $rc == 137 ]] && hung[gpu-kernels-90a-persist]=1
done
export ATTN_RUNTIME_LIB=$rt/libattn_runtime.so
if [[ -n ${hung[gpu-kernels-90a]:-} ]]; then
  echo "the default sm_90a set hung: no benchmark"; exit 3
fi
if [[ ${TMA_BENCH:-1} == 1 ]]; then
  mkdir -p $out/bench
  v=()
  if [[ ${TMA_NO_BASE:-0} != 1 ]]; then
    v+=(--variant fa2=$art/gpu-kernels-90a-fa2)
    [[ -z ${hung[gpu-kernels-90a-tma]:-} ]] && v+=(--variant tma=$art/gpu-kernels-90a-tma)
  fi
  [[ ${TMA_PIPE:-0} == 1 ]] && v+=(--variant pipe=$art/gpu-kernels-90a-pipe)
  [[ -d $art/gpu-kernels-90a-persist && -z ${hung[gpu-kernels-90a-persist]:-} ]] &&
    v+=(--variant persist=$art/gpu-kernels-90a-persist)
  for x in ${TMA_EXTRA:-}; do [[ -z ${hung[$(basename ${x#*=})]:-} ]] && v+=(--variant $x); done
  echo "bench variants: ${v[*]}"
  timeout -k 10 ${TMA_BENCH_S:-300} python3 bench/gpu/bench.py --artifacts $art/gpu-kernels-90a "${v[@]}" \
    ${TMA_ONLY:---only h16d128} --budget-s 240 --skip-flex-16k --out $out/bench > $out/bench.log 2>&1
  echo "bench rc=$? $(( $(date +%s) - t0 ))s"; cp $out/bench/gpu_bench.md $out/ 2>/dev/null
  grep -E 'FAIL|fail|error' $out/bench.log | head -20
fi
s=/usr/local/cuda/bin/compute-sanitizer
# (ATTN_PERSISTENT_BLOCKS=3: the persistent kernels' blocks walk many
# tiles even at these shapes.)
sans=("memcheck 90a-persist global_local_h16d128 B=2,Sq=700,Skv=900" "racecheck 90a-persist causal_h16d128 B=2,Sq=300,Skv=77"
      "synccheck 90a-persist global_local_h16d128 B=2,Sq=700,Skv=900" "memcheck 90a causal_window_h16d128 B=1,Sq=300,Skv=500"
      "racecheck 90a-tma causal_h16d128 B=2,Sq=300,Skv=77" "synccheck 90a-tma causal_h16d128 B=2,Sq=300,Skv=77")
for c in "${sans[@]:0:${TMA_SANITIZE:-6}}"; do
  set -- $c; tool=$1; d=$art/gpu-kernels-$2; shift 2
  ATTN_PERSISTENT_BLOCKS=3 timeout -k 5 60 $s --tool $tool --error-exitcode 9 $rt/attn-run $d/$1 --function $1 --shape $2 --device cuda --check-reference --warmup 0 --reps 1 > $out/san.log 2>&1
  echo "[$tool $d $1] rc=$? $(tail -1 $out/san.log)" | tee -a $out/sanitizers.txt
done
echo "total $(( $(date +%s) - t0 ))s"
