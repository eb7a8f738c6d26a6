#!/bin/sh
# Bad-input catalogue (docs/robustness.md): artifacts the runtime refuses.
# Copies a good CPU artifact (examples/cpu_attention.mlir compiled for this
# machine by the runtime-example-artifact test), damages each copy in one way
# and checks that attn-run exits 1 with the exact message; then the runtime's
# answers to zero-length sequences, and to a CUDA artifact on a machine
# without a GPU.
#
#   artifacts.sh ATTN_RUN GOOD_ARTIFACT WORKDIR
#
# Exit 0: every case gave its message; 1: some case did not (each is named).
set -u
run=${1:?usage: artifacts.sh ATTN_RUN GOOD_ARTIFACT WORKDIR}
good=${2:?good artifact}
work=${3:?work directory}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work" || exit 1
failures=0

# check NAME EXIT MESSAGE ARTIFACT [attn-run options]: attn-run ARTIFACT
# --function causal_gqa OPTIONS must exit EXIT and print MESSAGE.
check() {
  name=$1 expect=$2 message=$3 dir=$4
  shift 4
  out=$("$run" "$dir" --function causal_gqa --warmup 0 --reps 1 "$@" 2>&1)
  rc=$?
  if [ "$rc" -eq "$expect" ] && printf '%s' "$out" | grep -qF -- "$message"; then
    echo "ok   $name: $message"
  else
    echo "FAIL $name: exit $rc (expected $expect); expected the message"
    echo "     $message"
    echo "     output: $out"
    failures=$((failures + 1))
  fi
}
copy() { rm -rf "$work/$1" && cp -r "$good" "$work/$1" && echo "$work/$1"; }
sha() { sha256sum "$1" | cut -c1-64; }

[ -f "$good/kernels.so" ] && [ -f "$good/manifest.json" ] || {
  echo "FAIL: no good artifact at $good"; exit 1; }
size=$(wc -c <"$good/kernels.so" | tr -d ' ')
goodsha=$(sha "$good/kernels.so")

check good 0 '"result": "pass"' "$good" --shape Sq=64 --check-reference

d=$(copy truncated-kernels)
head -c 4096 "$good/kernels.so" >"$d/kernels.so"
check truncated-kernels 1 \
  "artifact file 'kernels.so' has 4096 bytes, the manifest lists $size (truncated or replaced?)" "$d"

d=$(copy tampered-kernels)
printf 'Z' | dd of="$d/kernels.so" bs=1 seek=300 conv=notrunc 2>/dev/null
[ "$(sha "$d/kernels.so")" = "$goodsha" ] &&
  printf 'Y' | dd of="$d/kernels.so" bs=1 seek=300 conv=notrunc 2>/dev/null
check tampered-kernels 1 \
  "artifact file 'kernels.so' has SHA-256 $(sha "$d/kernels.so"), the manifest lists $goodsha (corrupt or replaced)" "$d"

d=$(copy missing-kernels)
rm "$d/kernels.so"
check missing-kernels 1 "artifact file 'kernels.so' is missing ($d/kernels.so)" "$d"

d=$(copy truncated-manifest)
printf '{"format": "attn-artifact", "version": 1, "files": [{"path": "kernels.so", "si' \
  >"$d/manifest.json"
check truncated-manifest 1 \
  "manifest.json is not valid JSON: line 1, column 79: unexpected end of text inside a string" "$d"

d=$(copy newer-manifest)
sed 's/"version": 1,/"version": 2,/' "$good/manifest.json" >"$d/manifest.json"
check newer-manifest 1 \
  "artifact format version 2 is not supported: this runtime reads version 1" "$d"

d=$(copy no-manifest)
rm "$d/manifest.json"
check no-manifest 1 "artifact '$d' has no manifest.json: not an attn artifact" "$d"
check no-artifact 1 "cannot open artifact '$work/nowhere': No such file or directory" "$work/nowhere"

# Another chip: the manifest's CPU architecture, or a feature this host
# lacks (the manifest is not covered by a checksum: the checks read it).
host=$(uname -m)
other=aarch64
[ "$host" = aarch64 ] && other=x86_64
d=$(copy other-arch)
sed "s/\"arch\": \"$host\"/\"arch\": \"$other\"/" "$good/manifest.json" >"$d/manifest.json"
check other-arch 1 "is for $other CPUs; this machine is $host" "$d"
d=$(copy unknown-feature)
sed 's/"cpu_features": \[/"cpu_features": ["avx9000", /' "$good/manifest.json" >"$d/manifest.json"
check unknown-feature 1 \
  "the runtime cannot detect avx9000 (unknown feature names count as missing)" "$d"

# Zero-length sequences: the compiler accepts them (zero-length.mlir), the
# CPU kernels handle them (CPUKernelTest no_queries/no_keys), but the runtime
# refuses zero sizes at the call, naming the dimension.
check no-queries 1 "attn_call('causal_gqa'): input 0 (query) [1, 16, 0, 64]: dim 2 (Sq) is 0; every size must be at least 1" \
  "$good" --shape Sq=0,Skv=64
check no-keys 1 "attn_call('causal_gqa'): input 1 (key) [1, 4, 0, 64]: dim 2 (Skv) is 0; every size must be at least 1" \
  "$good" --shape Sq=64,Skv=0

# A GPU missing: a CUDA artifact (a valid manifest, a placeholder PTX) on a
# machine without the NVIDIA driver library. Skipped where the driver is
# installed (a GPU machine, or a driver without a device: other messages).
if [ -e /dev/nvidiactl ] || ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  echo "skip gpu-missing: this machine has an NVIDIA driver"
else
  check gpu-missing 1 "--device cuda: cannot load libcuda.so.1: libcuda.so.1: cannot open shared object file: No such file or directory" \
    "$here/Inputs/cuda-artifact" --shape B=1,Sq=128
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures case(s) failed"
  exit 1
fi
echo "PASS: every artifact case gave its message"
