#!/usr/bin/env bash
# Compiles every function file of bench/gpu/cases_selected/ (issue 8's
# sparse-projection benchmark: select_<case>.mlir and attend_<case>.mlir,
# bench/gpu/gen_selected_cases.py) for a CUDA chip, one artifact each:
# OUTDIR/select_<case>/, OUTDIR/attend_<case>/. As bench/gpu/compile-cases.sh
# (which does the work): a file that does not compile leaves
# OUTDIR/<file>.error and a failed entry of OUTDIR/compile.json, which
# bench/gpu/selected.py reports as a failed row; exit status 0 even then,
# 1 only if the cases are stale or attn-compile is missing.
#
#   bench/gpu/compile-selected.sh OUTDIR [ATTN_COMPILE] [CHIP]   # CHIP: sm_90
here=$(cd "$(dirname "$0")" && pwd)
ATTN_CASES_DIR=$here/cases_selected ATTN_CASES_GEN=$here/gen_selected_cases.py \
  exec "$here/compile-cases.sh" "$@"
