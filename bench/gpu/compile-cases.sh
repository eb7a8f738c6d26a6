#!/usr/bin/env bash
# Compiles every case of bench/gpu/cases/ for a CUDA chip, one artifact per
# case: OUTDIR/<case>/ (manifest.json + cubin + PTX). A case that does not
# compile (gating on the GPU, until it lands) leaves OUTDIR/<case>.error with
# the compiler's message and does not stop the others; OUTDIR/compile.json
# records every case's status for bench/gpu/bench.py, which reports it as a
# failed row. Exit status 0 even then (the bench decides), 1 only if the
# cases are stale or attn-compile is missing.
#
#   bench/gpu/compile-cases.sh OUTDIR [ATTN_COMPILE] [CHIP]   # CHIP: sm_90
#
# ATTN_COMPILE_FLAGS: more attn-compile flags (prepare-device.sh: --wgmma for
# the sm_90a set).
# ATTN_CASES_DIR and ATTN_CASES_GEN name another directory of cases and its
# generator (bench/gpu/compile-selected.sh: cases_selected/ and
# gen_selected_cases.py).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cases_dir=${ATTN_CASES_DIR:-$here/cases}
cases_gen=${ATTN_CASES_GEN:-$here/gen_cases.py}
outdir=${1:?usage: compile-cases.sh OUTDIR [ATTN_COMPILE] [CHIP]}
compiler=${2:-$here/../../build/bin/attn-compile}
chip=${3:-sm_90}
[[ -x $compiler ]] || { echo "compile-cases.sh: no attn-compile at $compiler" >&2; exit 1; }
python3 "$cases_gen" --check || exit 1
rm -rf "$outdir"
mkdir -p "$outdir"
status=$outdir/compile.jsonl
: >"$status"
ok=0 failed=0
for src in "$cases_dir"/*.mlir; do
  name=$(basename "$src" .mlir)
  start=$(date +%s.%N)
  if "$compiler" "$src" --target="$chip" ${ATTN_COMPILE_FLAGS:-} -o "$outdir/$name" 2>"$outdir/$name.error"; then
    rm -f "$outdir/$name.error"
    result=ok; ok=$((ok + 1))
  else
    rm -rf "${outdir:?}/$name"
    result=failed; failed=$((failed + 1))
  fi
  secs=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")
  python3 - "$name" "$result" "$secs" "$outdir/$name.error" "$chip" >>"$status" <<'PY'
import json, os, sys
name, result, secs, err, chip = sys.argv[1:6]
text = open(err).read().strip() if os.path.exists(err) else ""
print(json.dumps({"case": name, "result": result, "seconds": float(secs),
                  "chip": chip, "error": text[-2000:]}))
PY
  printf '%-28s %s (%ss)\n' "$name" "$result" "$secs"
done
python3 - "$status" "$outdir/compile.json" "$compiler" <<'PY'
import json, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
version = subprocess.run([sys.argv[3], "--version"], capture_output=True, text=True).stdout.strip()
json.dump({"compiler": version, "cases": rows}, open(sys.argv[2], "w"), indent=1)
PY
rm -f "$status"
echo "compile-cases.sh: $ok compiled, $failed failed -> $outdir"
