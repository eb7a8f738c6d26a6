#!/usr/bin/env bash
# Every GPU-machine test of the runtime in one call (the device tool gives
# one command at a time and only $OUT back):
#
#   1. builds runtime/ standalone (no LLVM there) and runs its ctest suite,
#      whose CUDA driver tests run for real on the GPU;
#   2. attn-run on the CPU artifact (examples/cpu_attention.mlir for
#      x86-64-v4) with its built-in reference check;
#   3. attn-run on the GPU test artifact (runtime/test/gpu_fixture:
#      hand-written CUDA kernels in the manifest's CUDA format) on the device,
#      checked against the reference, at several shapes: the ungated kernel,
#      and the gated ones (a bool mask the kernel reads; an active list the
#      runtime launches over after zero-filling the output), whose gated-off
#      heads the reference expects to be zero;
#   4. the Python binding's tests with PyTorch: CPU tensors and CUDA tensors
#      against torch.nn.functional.scaled_dot_product_attention;
#   5. compute-sanitizer memcheck and racecheck on small GPU calls of the
#      fixture (ungated and both gated kinds);
#   6. compute-sanitizer on attn's own generated kernels (attn-compile
#      --target=sm_90 artifacts from prepare-device.sh: build/device/
#      gpu-kernels and gpu-extra) through attn-run --check-reference at small
#      ragged shapes: memcheck and racecheck on causal D=64 (Q fragments in
#      registers), 64 global + local ±256 at D=128 (Q from shared memory,
#      skipped key tiles), the gated dense kernel (gates read on the device),
#      an active-list kernel, a --query-tile=64 kernel, and (without a
#      reference, which attn-run lacks for them) an explicit block layout
#      and random blocks; memcheck also at Sq > Skv (rows that see no key)
#      and decode; synccheck on the gated and union kernels (barriers
#      behind block-uniform branches);
#   7. attn's own generated kernels (bench/gpu/cases, compiled by
#      prepare-device.sh into build/device/gpu-kernels) against a float32
#      PyTorch reference at small and ragged shapes: bench/gpu/bench.py
#      --no-bench (scripts/device-gpu-bench.sh runs it with the benchmark).
#
# About 1-2 minutes in all (the sanitizer steps take seconds each).
#
# Artifacts are built on the development machine by scripts/prepare-device.sh
# into build/device/ (carry that path). Writes $OUT/device_tests.json and
# $OUT/device_tests.md; the exit status is 0 only if every step passed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/attn-device-tests}
art=${ATTN_DEVICE_ARTIFACTS:-$root/build/device}
rt=${ATTN_RUNTIME_BUILD_DIR:-/tmp/attn-runtime-device}
mkdir -p "$out"
log=$out/device_tests.log
: >"$log"
results=$out/steps.jsonl
: >"$results"

step() { # step NAME COMMAND...: runs, records status and the output's tail
  local name=$1; shift
  local start=$(date +%s.%N)
  local text
  text=$("$@" 2>&1)
  local rc=$?
  local secs=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
  printf '== %s (rc=%d, %ss)\n%s\n' "$name" "$rc" "$secs" "$text" >>"$log"
  python3 - "$name" "$rc" "$secs" "$text" >>"$results" <<'PY'
import json, sys
name, rc, secs, text = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
print(json.dumps({"step": name, "rc": rc, "seconds": secs, "output": text[-4000:]}))
PY
  echo "$name: rc=$rc (${secs}s)"
}

gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
step "build runtime" bash -c "cmake ${gen[*]} -S '$root/runtime' -B '$rt' -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build '$rt' -j $(nproc) 2>&1 | tail -3"
step "runtime ctest" ctest --test-dir "$rt" --output-on-failure -j 4
step "nvidia-smi" nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv

run=$rt/attn-run
for fn in causal_gqa global_local gated; do
  extra=()
  [[ $fn == gated ]] && extra=(--gates 0,2,5)
  step "attn-run cpu $fn" "$run" "$art/cpu" --function "$fn" --shape B=2,Sq=1000,Skv=1000 \
    --check-reference --threads 0 "${extra[@]}"
done
for shape in B=2,Sq=1024,Skv=1024 B=1,Sq=1,Skv=4096 B=3,Sq=100,Skv=300 B=1,Sq=300,Skv=100; do
  step "attn-run cuda causal_gqa $shape" "$run" "$art/gpu" --function causal_gqa \
    --shape "$shape" --device cuda --check-reference
done

# Gated kernels: a few heads on, none on (--gates none: the "gates" kernel
# writes zeros everywhere; an empty active list is refused by the runtime,
# which takes no empty tensors), all on (the default).
for shape in B=2,Sq=1024,Skv=1024 B=3,Sq=100,Skv=300; do
  step "attn-run cuda gated_causal $shape --gates 0,2,5" "$run" "$art/gpu" \
    --function gated_causal --shape "$shape" --gates 0,2,5 --device cuda --check-reference
  step "attn-run cuda listed_causal $shape --gates 1,3-4" "$run" "$art/gpu" \
    --function listed_causal --shape "$shape" --gates 1,3-4 --device cuda --check-reference
done
step "attn-run cuda gated_causal --gates none" "$run" "$art/gpu" --function gated_causal \
  --shape B=2,Sq=300,Skv=300 --gates none --device cuda --check-reference
step "attn-run cuda listed_causal (all heads)" "$run" "$art/gpu" --function listed_causal \
  --shape B=2,Sq=300,Skv=300 --device cuda --check-reference

step "python binding (numpy, torch CPU and CUDA vs SDPA)" env \
  ATTN_TEST_ARTIFACT="$art/cpu" ATTN_TEST_CUDA_ARTIFACT="$art/gpu" \
  ATTN_RUNTIME_LIB="$rt/libattn_runtime.so" \
  python3 -m unittest discover -s "$root/runtime/python/tests" -v

sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck racecheck; do
  step "compute-sanitizer $tool" "$sanitizer" --tool "$tool" --error-exitcode 9 \
    "$run" "$art/gpu" --function causal_gqa --shape B=1,Sq=200,Skv=300 --device cuda \
    --check-reference --warmup 0 --reps 1
  for fn in gated_causal listed_causal; do
    step "compute-sanitizer $tool $fn" "$sanitizer" --tool "$tool" --error-exitcode 9 \
      "$run" "$art/gpu" --function "$fn" --shape B=2,Sq=200,Skv=300 --gates 0,3 \
      --device cuda --check-reference --warmup 0 --reps 1
  done
done

# compute-sanitizer on the kernels attn-compile generates (the fixture
# above is hand-written CUDA). Small ragged shapes: partial query and key
# tiles, Sq != Skv, a few blocks per head, so each run takes seconds.
kernels=$art/gpu-kernels
extra=$art/gpu-extra
sanitize_generated() { # TOOL DIR FUNCTION SHAPE WHAT [attn-run args...]
  # With nocheck=1: no --check-reference (attn-run has no reference for
  # block patterns), only the sanitizer's verdict.
  # With persist=N: ATTN_PERSISTENT_BLOCKS=N (a persistent kernel's grid).
  local tool=$1 dir=$2 fn=$3 shape=$4 what=$5 check=(--check-reference)
  shift 5
  [[ ${nocheck:-0} == 1 ]] && check=()
  step "compute-sanitizer $tool, generated kernel $fn ($what) $shape${*:+ $*}" \
    env ${persist:+ATTN_PERSISTENT_BLOCKS=$persist} "$sanitizer" --tool "$tool" --error-exitcode 9 \
    "$run" "$dir" --function "$fn" --shape "$shape" --device cuda \
    "${check[@]}" --warmup 0 --reps 1 "$@"
}
for tool in memcheck racecheck; do
  sanitize_generated "$tool" "$kernels/causal_h32d64" causal_h32d64 B=1,Sq=200,Skv=300 "causal, D=64"
  sanitize_generated "$tool" "$kernels/global_local_h16d128" global_local_h16d128 B=1,Sq=200,Skv=300 \
    "64 global + local 256, D=128"
  sanitize_generated "$tool" "$kernels/gated_h16d128" gated_h16d128 B=2,Sq=200,Skv=300 \
    "gates read by the kernel, D=128" --gates 0,3,9-12
  sanitize_generated "$tool" "$extra/listed_h16d128" listed_h16d128 B=2,Sq=200,Skv=300 \
    "active list, causal, D=128" --gates 1,3-4,15
  sanitize_generated "$tool" "$extra/causal_h16d128_q64" causal_h16d128 B=1,Sq=200,Skv=300 \
    "--query-tile=64, causal, D=128"
  nocheck=1 sanitize_generated "$tool" "$extra/blocks_h16d128" layout_h16d128 B=1,Sq=200,Skv=300 \
    "8x8 block layout of 64-blocks, D=128, no reference"
  nocheck=1 sanitize_generated "$tool" "$extra/blocks_h16d128" random_blocks_h16d128 B=1,Sq=200,Skv=300 \
    "random 64-blocks, D=128, no reference"
done
sanitize_generated memcheck "$kernels/causal_h32d64" causal_h32d64 B=2,Sq=300,Skv=77 \
  "causal, D=64, Sq > Skv"
sanitize_generated memcheck "$kernels/causal_h16d128" causal_h16d128 B=1,Sq=1,Skv=1037 \
  "causal, D=128, decode"
sanitize_generated synccheck "$kernels/gated_h16d128" gated_h16d128 B=2,Sq=200,Skv=300 \
  "gates read by the kernel, D=128" --gates 0,3,9-12
# attn.sparse_branches (NSA's combined form): attn-run's float64 reference
# of the three branches, under the sanitizers; Sq > Skv and decode too.
branches=$art/gpu-branches
for tool in memcheck racecheck synccheck; do
  sanitize_generated "$tool" "$branches/nsa_q64_causal" nsa_q64_causal B=1,Sq=200,Skv=300 \
    "sparse_branches, causal, 64-row blocks, D=128"
  sanitize_generated "$tool" "$branches/nsa_q128_full" nsa_q128_full B=2,Sq=300,Skv=200 \
    "sparse_branches, not causal, 128-row blocks, global + local window"
done
sanitize_generated memcheck "$branches/nsa_d64_gqa4" nsa_d64_gqa4 B=1,Sq=1,Skv=1037 \
  "sparse_branches, D=64, decode"
sanitize_generated synccheck "$kernels/global_local_h16d128" global_local_h16d128 B=1,Sq=200,Skv=300 \
  "64 global + local 256, D=128"
# sm_90a's wgmma kernels (swizzled K/V tiles read by the tensor cores): the
# default (pipelined, TMA loads, ping-pong) and the alternatives (cp.async
# copies, no ping-pong, FA2's order, O stored by TMA). D = 64 is mma.sync
# there (sanitized above) but in the --tma set, whose D = 128 kernels are
# the default's: only its D = 64 kernel (one 64-column panel) is
# sanitized.
for set in "gpu-kernels-90a:sm_90a TMA + ping-pong" "gpu-kernels-90a-pipe:sm_90a pipelined, cp.async" \
  "gpu-kernels-90a-tma:sm_90a TMA, no ping-pong" "gpu-kernels-90a-fa2:sm_90a FA2 order" \
  "gpu-kernels-90a-store:sm_90a TMA stores"; do
  dir=$art/${set%%:*} label=${set#*:}
  [[ -d $dir ]] || continue
  for tool in memcheck racecheck synccheck; do
    sanitize_generated "$tool" "$dir/global_local_h16d128" global_local_h16d128 B=1,Sq=200,Skv=300 \
      "$label, 64 global + local 256, D=128"
    sanitize_generated "$tool" "$dir/causal_h16d128" causal_h16d128 B=2,Sq=300,Skv=77 \
      "$label, causal, D=128, Sq > Skv"
  done
  sanitize_generated memcheck "$dir/gated_h16d128" gated_h16d128 B=2,Sq=200,Skv=300 \
    "$label, gates read by the kernel, D=128" --gates 0,3,9-12
done
if [[ -d $art/gpu-kernels-90a-d64 ]]; then
  for tool in memcheck racecheck synccheck; do
    sanitize_generated "$tool" "$art/gpu-kernels-90a-d64/causal_window_h32d64" causal_window_h32d64 \
      B=1,Sq=300,Skv=500 "sm_90a --tma, causal window, D=64"
  done
fi
# The persistent grid (--persistent): ATTN_PERSISTENT_BLOCKS=3 makes
# each block walk many query tiles at these small shapes, carrying its
# mbarrier phases from tile to tile (gated-off pairs, tiles that see no key
# and an active list's entries in between).
for dir in $art/gpu-kernels-90a-persist $art/gpu-kernels-90a-pstore; do
  [[ -d $dir ]] || continue
  for tool in memcheck racecheck synccheck; do
    persist=3 sanitize_generated "$tool" "$dir/causal_h16d128" causal_h16d128 B=2,Sq=300,Skv=77 \
      "$(basename "$dir"), 3 blocks, causal, Sq > Skv"
    persist=3 sanitize_generated "$tool" "$dir/global_local_h16d128" global_local_h16d128 B=2,Sq=700,Skv=900 \
      "$(basename "$dir"), 3 blocks, 64 global + local 256"
    persist=3 sanitize_generated "$tool" "$dir/gated_h16d128" gated_h16d128 B=2,Sq=300,Skv=500 \
      "$(basename "$dir"), 3 blocks, gates" --gates 0,3,9-12
    [[ $dir == *-persist ]] && persist=3 sanitize_generated "$tool" "$extra/listed_h16d128_90a" listed_h16d128 B=2,Sq=300,Skv=500 \
      "$(basename "$dir"), 3 blocks, active list" --gates 1,3-4,15
  done
  for c in "dense_h16d128 B=2,Sq=1000,Skv=1000" "causal_window_h16d128 B=3,Sq=700,Skv=1500" \
    "random_blocks_0p25_h16d128 B=2,Sq=1000,Skv=1100" "strided_h16d128 B=1,Sq=1024,Skv=1300"; do
    set -- $c
    # (random blocks: attn-run has no reference and says so)
    step "persistent ($(basename "$dir")), 5 blocks: $1 $2" env ATTN_PERSISTENT_BLOCKS=5 "$run" "$dir/$1" \
      --function "$1" --shape "$2" --device cuda --check-reference --warmup 0 --reps 2
  done
done

# attn-compile's kernels: correctness only here (~30 s); the benchmark
# against SDPA and FlexAttention is scripts/device-gpu-bench.sh (~5 min).
# shellcheck source=scripts/lib/device-runtime.sh
source "$root/scripts/lib/device-runtime.sh"
py=$(attn_torch_python)
attn_sm90a_variants variant
step "generated GPU kernels: correctness (bench/gpu/bench.py --no-bench${variant:+, sm_90 and sm_90a})" env \
  ATTN_RUNTIME_LIB="$rt/libattn_runtime.so" \
  "$py" "$root/bench/gpu/bench.py" --no-bench --artifacts "$art/gpu-kernels" "${variant[@]}" \
  --out "$out/gpu-kernels"
step "sparse_branches kernels: correctness (bench/gpu/branches.py --no-bench)" env \
  ATTN_RUNTIME_LIB="$rt/libattn_runtime.so" \
  "$py" "$root/bench/gpu/branches.py" --no-bench --artifacts "$art/gpu-branches" \
  --out "$out/gpu-branches"

python3 - "$results" "$out" <<'PY'
import json, sys, datetime, subprocess
steps = [json.loads(l) for l in open(sys.argv[1])]
out = sys.argv[2]
gpu = next((s["output"].splitlines()[-1] for s in steps if s["step"] == "nvidia-smi" and s["rc"] == 0), "unknown")
summary = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "gpu": gpu, "steps": steps, "passed": all(s["rc"] == 0 for s in steps)}
json.dump(summary, open(out + "/device_tests.json", "w"), indent=1)
with open(out + "/device_tests.md", "w") as md:
    md.write(f"# attn device tests ({summary['date']})\n\nGPU: {gpu}\n\n")
    md.write("| step | result | seconds | detail |\n|---|---|---:|---|\n")
    for s in steps:
        last = [l for l in s["output"].splitlines() if l.strip()]
        detail = (last[-1] if last else "").replace("|", "\\|")[:160]
        md.write(f"| {s['step']} | {'pass' if s['rc'] == 0 else 'FAIL (rc ' + str(s['rc']) + ')'} | {s['seconds']} | {detail} |\n")
print(open(out + "/device_tests.md").read())
sys.exit(0 if summary["passed"] else 1)
PY
