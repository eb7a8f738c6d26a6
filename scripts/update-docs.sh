#!/usr/bin/env bash
# Regenerates the dialect and pass reference from ODS into docs/reference/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" attn-doc
cp "$build"/docs/Dialects/AttnDialect.md "$build"/docs/Dialects/AttnInterfaces.md \
   "$build"/docs/Passes/AttnPasses.md "$root/docs/reference/"
echo "docs/reference/ updated"
