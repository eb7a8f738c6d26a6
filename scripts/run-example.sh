#!/usr/bin/env bash
# Sets everything up and runs attn's main job on an example: installs the
# system packages (a no-op when present), builds, then drives the example
# through attn-opt: verification, the per-layer schedule, and the key ranges
# each block of query rows will visit.
#
#   scripts/run-example.sh [examples/NAME.mlir] [query-block]
#
# Code generation (attn-compile) and running the kernels (attn-run) join this
# script as their issues land.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_BUILD_DIR:-$root/build}
example=${1:-$root/examples/structured_patterns.mlir}
query_block=${2:-256}
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

echo "== key ranges per block of $query_block query rows"
"$opt" "$example" "${schedule[@]}" -test-attn-key-ranges="query-block=$query_block" -o /dev/null
