#!/usr/bin/env bash
# The sanitizer and fuzzing step (scripts/test.sh runs it after the normal
# tests when ATTN_SANITIZERS=1; docs/robustness.md):
#
#   1. builds attn with clang-22, -fsanitize=address,undefined and libFuzzer
#      coverage into build-asan/ (ATTN_ASAN_BUILD_DIR), without benchmarks;
#   2. runs the whole ctest suite there, except the tests that load attn's
#      libraries into an uninstrumented Python (python-binding-*: ASan must
#      be the first library of the process, which python3 is not) and the
#      runtime's manifest fuzzer (it builds its own ASan+UBSan binary and
#      runs in the normal build already);
#   3. runs each libFuzzer target (test/fuzz) for ATTN_FUZZ_SECONDS (25).
#
# Any sanitizer report fails the test it happens in (-fno-sanitize-recover,
# halt_on_error); leaks are reported too. See docs/robustness.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_ASAN_BUILD_DIR:-$root/build-asan}
seconds=${ATTN_FUZZ_SECONDS:-25}
for tool in clang-22 clang++-22; do
  if ! command -v $tool >/dev/null; then
    echo "test-sanitizers: $tool not found; run scripts/install-deps.sh" >&2
    exit 1
  fi
done

start=$(date +%s)
if [[ ! -f $build/build.ninja ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DATTN_ENABLE_SANITIZERS=ON -DATTN_ENABLE_FUZZERS=ON \
    -DATTN_BUILD_BENCHMARKS=OFF -DATTN_FUZZ_SECONDS="$seconds"
else
  cmake "$build" -DATTN_FUZZ_SECONDS="$seconds" >/dev/null
fi
ninja -C "$build"
echo "sanitizer build: $(( $(date +%s) - start )) s"

# allow_user_poisoning=0: LLVM's BumpPtrAllocator, inlined into attn's
# instrumented code, poisons slabs that uninstrumented libMLIR.so code then
# allocates from without unpoisoning (false use-after-poison reports).
export ASAN_OPTIONS=${ASAN_OPTIONS:-allow_user_poisoning=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
start=$(date +%s)
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" \
  -E '^(python-binding-.*|runtime-fuzz-manifest)$' -LE fuzz
echo "sanitizer ctest: $(( $(date +%s) - start )) s"
start=$(date +%s)
log=$build/fuzz-ctest.log
rc=0
ctest --test-dir "$build" -L fuzz -V >"$log" 2>&1 || rc=$?
grep -E "^[0-9]+: (fuzzing|Done|stat::|PASS|FAIL|==)|tests passed|Test +#" "$log" || true
echo "fuzzing: $(( $(date +%s) - start )) s"
if [[ $rc -ne 0 ]]; then
  echo "test-sanitizers: a fuzz target failed; full log in $log" >&2
  exit "$rc"
fi
