#!/bin/sh
# Builds runtime/test/fuzz_manifest.cpp with clang++-22 -fsanitize=fuzzer,
# address,undefined (directly: the rest of the build keeps its compiler)
# and runs it for SECONDS from the seed corpus fuzz_corpus/.
#
#   run_fuzz.sh WORKDIR [SECONDS] [extra libFuzzer flags...]
#
# Exit 0: no crash; 1: a crash, a sanitizer report or a build failure (the
# input is saved under WORKDIR/crashes/ and named); 77: skipped, because
# clang++-22 or its libFuzzer runtime (libclang-rt-22-dev) is missing
# (scripts/install-deps.sh installs both). CLANGXX overrides the compiler.
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: run_fuzz.sh WORKDIR [SECONDS] [libFuzzer flags...]}
seconds=${2:-20}
shift $(( $# >= 2 ? 2 : 1 ))
cxx=${CLANGXX:-clang++-22}

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "SKIP: $cxx not found (apt-get install clang-22 libclang-rt-22-dev)"
  exit 77
fi
mkdir -p "$work/crashes" || exit 1

# A trivial target first: if that fails to link, the libFuzzer runtime is
# missing, which is a skip; if the real one then fails, that is a bug.
printf 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }\n' \
  > "$work/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer "$work/probe.cpp" -o "$work/probe" 2>"$work/probe.log"; then
  echo "SKIP: $cxx cannot link -fsanitize=fuzzer (libclang-rt-22-dev missing?):"
  sed -n 1,5p "$work/probe.log"
  exit 77
fi

lib=$here/../lib
"$cxx" -std=c++17 -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I"$here/../include" -I"$lib" \
  "$here/fuzz_manifest.cpp" "$lib/json.cpp" "$lib/manifest.cpp" \
  "$lib/cuda_launch.cpp" "$lib/kernel_shapes.cpp" \
  "$lib/sha256.cpp" "$lib/host_cpu.cpp" \
  -o "$work/fuzz_manifest" || { echo "FAIL: the fuzz target does not build"; exit 1; }

# Work on a copy: the fuzzer adds inputs to its first corpus directory.
rm -rf "$work/corpus"
mkdir -p "$work/corpus"
cp "$here"/fuzz_corpus/* "$work/corpus/"

echo "fuzzing for ${seconds}s from $(ls "$here/fuzz_corpus" | wc -l) seeds"
"$work/fuzz_manifest" "$work/corpus" \
  -dict="$here/fuzz_manifest.dict" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=8192 -print_final_stats=1 \
  -artifact_prefix="$work/crashes/" "$@" >"$work/fuzz.log" 2>&1
rc=$?
grep -E "^(#[0-9]+ +DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)" \
  "$work/fuzz.log"
if [ $rc -ne 0 ]; then
  echo "FAIL: the fuzzer found a problem (exit $rc):"
  grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$work/fuzz.log" | head -20
  ls "$work/crashes"
  exit 1
fi
echo "PASS: no crash"
