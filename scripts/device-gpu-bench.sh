#!/usr/bin/env bash
# attn's generated GPU kernels on the GPU machine, in one call of the device
# tool: correctness against a float32 PyTorch reference and the benchmark
# against SDPA (flash, cuDNN) and FlexAttention at ANCHORS.md's shapes
# (bench/gpu/bench.py; docs/gpu-notes.md, "The GPU suite").
#
#   scripts/prepare-device.sh           # here: compiles bench/gpu/cases into build/device/gpu-kernels
#   scripts/device-gpu-bench.sh         # there, carrying build/device; writes $OUT/gpu_bench.{json,md}
#
# Builds the runtime's shared library (the runtime alone, no LLVM; reused
# from scripts/device-tests.sh's build directory when there), then runs
# bench.py under a time limit that leaves room in the device tool's 10
# minutes: past --budget-s (300 s) bench.py skips the remaining FlexAttention
# runs, and on the limit it writes a partial report. Extra arguments go to
# bench.py (--no-bench, --only NAME, --skip-flex-16k, --budget-s S).
#
# Exit status: bench.py's (0 all checks passed; 1 a check or a run failed;
# 3 the only failures are cases that did not compile; 124 stopped by the time
# limit), or 2 if the runtime does not build.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/attn-gpu-bench}
art=${ATTN_DEVICE_ARTIFACTS:-$root/build/device}
rt=${ATTN_RUNTIME_BUILD_DIR:-/tmp/attn-runtime-device}
limit=${ATTN_BENCH_TIMEOUT:-540}
mkdir -p "$out"

start=$(date +%s)
# shellcheck source=scripts/lib/device-runtime.sh
source "$root/scripts/lib/device-runtime.sh"
attn_build_runtime_shared device-gpu-bench.sh || exit 2
py=$(attn_torch_python)
attn_log_gpu
[[ -d $art/gpu-kernels ]] ||
  echo "device-gpu-bench.sh: no $art/gpu-kernels: run scripts/prepare-device.sh and carry build/device" >&2

# sm_90a's kernels (prepare-device.sh's gpu-kernels-90a and alternatives)
# as rows of their own next to the sm_90 ones, same tensors and peers.
attn_sm90a_variants variant
ATTN_RUNTIME_LIB="$rt/libattn_runtime.so" timeout -k 20 "$limit" \
  "$py" "$root/bench/gpu/bench.py" --artifacts "$art/gpu-kernels" "${variant[@]}" --out "$out" "$@" 2>&1 |
  tee "$out/gpu_bench.log"
rc=${PIPESTATUS[0]}
echo "device-gpu-bench.sh: bench.py exit $rc after $(( $(date +%s) - start ))s; $out/gpu_bench.{json,md,log}"
exit $rc
