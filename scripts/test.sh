#!/usr/bin/env bash
# Sets everything up and runs every test: installs the system packages (a
# no-op when present), builds, then runs lit and GoogleTest through ctest.
# GPU tests, when present, skip with a message on machines without a GPU.
# With ATTN_SANITIZERS=1, then scripts/test-sanitizers.sh: the suite again
# under AddressSanitizer+UndefinedBehaviorSanitizer, and the fuzzers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
start=$(date +%s)
"$root/scripts/build.sh"
echo "build: $(( $(date +%s) - start )) s"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
# The ASan+UBSan build, its whole suite and the fuzz targets
# (docs/robustness.md), with ATTN_SANITIZERS=1: a second build of the tree.
if [[ ${ATTN_SANITIZERS:-0} == 1 ]]; then
  "$root/scripts/test-sanitizers.sh"
fi
