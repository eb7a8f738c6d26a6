#!/usr/bin/env bash
# Issue 8's sparse-projection benchmark on the GPU machine, in one call of
# the device tool: attn's select_blocks + attention over the selected blocks
# against dense SDPA flash / cuDNN and FlexAttention given the same blocks
# (mask building included), with the exact-selection and numerics checks
# (bench/gpu/selected.py; docs/gpu-notes.md, "Sparse projection benchmark").
#
#   scripts/prepare-device.sh            # here: compiles bench/gpu/cases_selected into build/device/gpu-selected
#   scripts/device-selected-bench.sh     # there, carrying build/device; writes $OUT/selected_bench.{json,md,log}
#
# Builds the runtime's shared library (the runtime alone, no LLVM; reused
# when $ATTN_RUNTIME_BUILD_DIR already has it), then runs selected.py under a
# time limit (ATTN_SELECTED_TIMEOUT, default 330 s) that keeps the whole call
# under 6 minutes; past --budget-s (default 200 s here) the remaining
# FlexAttention runs are skipped (S = 16384 and density 1/8 come first), and
# on the limit selected.py writes a partial report. Extra arguments go to
# selected.py (--no-bench, --no-check, --no-flex, --only NAME, --seqs S,
# --budget-s S, --gap-tol T).
#
# Exit status: selected.py's (0 every check passed and the acceptance lines
# hold; 4 the checks passed, an acceptance line does not; 1 a check or a run
# failed; 3 the only failures are functions that did not compile; 124
# stopped by the time limit), or 2 if the runtime does not build.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/attn-selected-bench}
art=${ATTN_DEVICE_ARTIFACTS:-$root/build/device}
rt=${ATTN_RUNTIME_BUILD_DIR:-/tmp/attn-runtime-device}
limit=${ATTN_SELECTED_TIMEOUT:-330}
mkdir -p "$out"

start=$(date +%s)
# shellcheck source=scripts/lib/device-runtime.sh
source "$root/scripts/lib/device-runtime.sh"
attn_build_runtime_shared device-selected-bench.sh || exit 2
py=$(attn_torch_python)
attn_log_gpu
[[ -d $art/gpu-selected ]] ||
  echo "device-selected-bench.sh: no $art/gpu-selected: run scripts/prepare-device.sh and carry build/device" >&2

has_budget=0
for a in "$@"; do [[ $a == --budget-s* ]] && has_budget=1; done
extra=()
(( has_budget )) || extra=(--budget-s 200)
ATTN_RUNTIME_LIB="$rt/libattn_runtime.so" timeout -k 20 "$limit" \
  "$py" "$root/bench/gpu/selected.py" --artifacts "$art/gpu-selected" --out "$out" "${extra[@]}" "$@" 2>&1 |
  tee "$out/selected_bench.log"
rc=${PIPESTATUS[0]}
echo "device-selected-bench.sh: selected.py exit $rc after $(( $(date +%s) - start ))s; $out/selected_bench.{json,md,log}"
exit $rc
