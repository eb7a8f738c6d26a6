#!/bin/sh
# Runs one of attn's libFuzzer targets (test/fuzz, built with
# ATTN_ENABLE_FUZZERS) for SECONDS from its seeds: the committed seeds/ and
# regressions/ inputs plus seeds taken from the test suite (IR: every
# split-input-file case of test/**/*.mlir and examples/*.mlir; patterns:
# every `attn_test = #attn...` attribute of test/Dialect/Attn; schedules:
# test/Transforms/Inputs/*.json).
#
#   run_fuzz.sh BINARY ir|pattern|schedule WORKDIR [SECONDS] [libFuzzer flags]
#
# Exit 0: no crash; 1: a crash, a sanitizer report, a leak or a timeout (the
# input is saved under WORKDIR/crashes/ and named). The seed is fixed
# (-seed=1); pass -seed=N to vary it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
binary=${1:?usage: run_fuzz.sh BINARY ir|pattern|schedule WORKDIR [SECONDS]}
target=${2:?target: ir, pattern or schedule}
work=${3:?work directory}
seconds=${4:-25}
shift $(( $# >= 4 ? 4 : 3 ))

rm -rf "$work/corpus" "$work/seeds"
mkdir -p "$work/corpus" "$work/seeds" "$work/crashes" || exit 1
seeds=$work/seeds
case $target in
ir)
  # One seed per `// -----` case.
  for f in $(find "$src/test" "$src/examples" -name '*.mlir' \
               -not -path '*/fuzz/*' | sort); do
    base=$(echo "${f#$src/}" | tr '/' '_')
    awk -v out="$seeds/$base" '
      BEGIN { n = 0; file = out "." n }
      /^\/\/ -----/ { n++; file = out "." n; next }
      { print > file }' "$f"
  done
  maxlen=65536 ;;
pattern)
  for f in "$src"/test/Dialect/Attn/*.mlir; do
    sed -n 's/.*attn_test = \(#attn\..*\)}$/\1/p' "$f"
  done | sort -u | awk -v out="$seeds/attr" '{ print > (out "." NR) }'
  maxlen=4096 ;;
schedule)
  cp "$src"/test/Transforms/Inputs/schedule*.json "$seeds/"
  maxlen=4096 ;;
*) echo "unknown target '$target' (expected ir, pattern or schedule)"; exit 2 ;;
esac
cp "$here/seeds/$target/"* "$here/regressions/$target/"* "$seeds/" 2>/dev/null

# allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons its slabs in the
# (instrumented) inline code of attn's translation units, and libMLIR.so's
# uninstrumented code then allocates from them without unpoisoning, which
# reads as use-after-poison. attn's own heap use is still checked.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allow_user_poisoning=0}
dict=
[ -f "$here/$target.dict" ] && dict=-dict=$here/$target.dict
echo "fuzzing attn-fuzz-$target for ${seconds}s from $(ls "$seeds" | wc -l) seeds"
"$binary" "$work/corpus" "$seeds" $dict -seed=1 \
  -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
  -max_len="$maxlen" -print_final_stats=1 \
  -artifact_prefix="$work/crashes/" "$@" >"$work/fuzz.log" 2>&1
rc=$?
grep -E "^(#[0-9]+ +DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)" \
  "$work/fuzz.log"
if [ $rc -ne 0 ]; then
  echo "FAIL: the fuzzer found a problem (exit $rc):"
  grep -E "ERROR|SUMMARY|runtime error|Test unit written|==[0-9]+==" "$work/fuzz.log" | head -20
  ls "$work/crashes"
  exit 1
fi
echo "PASS: no crash"
