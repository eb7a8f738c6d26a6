#!/usr/bin/env bash
# attn.sparse_branches (NSA's combined form, issue 8) on the GPU machine, in
# one call of the device tool: the checks against a float32 reference and the
# benchmark against dense SDPA flash and FlexAttention running the same
# three branches (bench/gpu/branches.py; docs/sparse-projection.md).
#
#   scripts/prepare-device.sh            # here: compiles bench/gpu/cases_branches into build/device/gpu-branches
#   scripts/device-branches-bench.sh     # there, carrying build/device; writes $OUT/branches_bench.{json,md,log}
#
# Builds the runtime's shared library (the runtime alone, no LLVM; reused
# when $ATTN_RUNTIME_BUILD_DIR already has it), then runs branches.py under a
# time limit (ATTN_BRANCHES_TIMEOUT, default 330 s). Extra arguments go to
# branches.py (--no-bench, --no-check, --no-flex, --only NAME, --seqs S ...).
#
# Exit status: branches.py's (0 every check passed and every run ran; 1 a
# check or a run failed; 3 the only failures are functions that did not
# compile), 124 if stopped by the time limit, or 2 if the runtime does not
# build.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/attn-branches-bench}
art=${ATTN_DEVICE_ARTIFACTS:-$root/build/device}
rt=${ATTN_RUNTIME_BUILD_DIR:-/tmp/attn-runtime-device}
limit=${ATTN_BRANCHES_TIMEOUT:-330}
mkdir -p "$out"

start=$(date +%s)
# shellcheck source=scripts/lib/device-runtime.sh
source "$root/scripts/lib/device-runtime.sh"
attn_build_runtime_shared device-branches-bench.sh || exit 2
py=$(attn_torch_python)
attn_log_gpu
[[ -d $art/gpu-branches ]] ||
  echo "device-branches-bench.sh: no $art/gpu-branches: run scripts/prepare-device.sh and carry build/device" >&2

ATTN_RUNTIME_LIB="$rt/libattn_runtime.so" timeout -k 20 "$limit" \
  "$py" "$root/bench/gpu/branches.py" --artifacts "$art/gpu-branches" --out "$out" "$@" 2>&1 |
  tee "$out/branches_bench.log"
rc=${PIPESTATUS[0]}
echo "device-branches-bench.sh: branches.py exit $rc after $(( $(date +%s) - start ))s; $out/branches_bench.{json,md,log}"
exit $rc
