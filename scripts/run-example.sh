#!/usr/bin/env bash
# Sets everything up and runs attn's main job on an example: installs the
# system packages (a no-op when present), builds, then drives the example
# through attn-opt: verification, the per-layer schedule, block plans for the
# target, and the cost of each op on it.
#
#   scripts/run-example.sh [examples/NAME.mlir] [target]
#
# Code generation (attn-compile) and running the kernels (attn-run) join this
# script as their issues land.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_BUILD_DIR:-$root/build}
example=${1:-$root/examples/structured_patterns.mlir}
target=${2:-sm_90}
if [[ ! -f $example ]]; then
  echo "run-example: no such example: $example (see $root/examples/)" >&2
  exit 1
fi

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" attn-opt
opt=$build/bin/attn-opt

echo "== verify and print: $example"
"$opt" "$example"

schedule=()
if grep -q "attn.schedule" "$example"; then
  echo "== apply the per-layer schedule"
  "$opt" "$example" -attn-apply-schedule
  schedule=(-attn-apply-schedule)
fi

echo "== block plans for $target"
"$opt" "$example" "${schedule[@]}" -attn-plan-blocks="target=$target" \
  | grep -o "plan = #attn.block_plan<query_tile = [0-9]*, key_tile = [0-9]*, kind = [a-z]*" \
  | sort | uniq -c

echo "== cost on $target (dynamic sizes assumed: batch 1, Sq = Skv = 4096)"
"$opt" "$example" "${schedule[@]}" -attn-plan-blocks="target=$target" \
  -attn-report="target=$target batch=1 query-len=4096 key-len=4096" -o /dev/null
