#!/usr/bin/env bash
# Builds, on the development machine, what scripts/device-tests.sh runs on
# the GPU machine (which has no LLVM): the CPU artifact of
# examples/cpu_attention.mlir for x86-64-v4 and the GPU test artifact
# (runtime/test/gpu_fixture, with nvcc: its ungated, "gates" and "active"
# kernels). Carry build/device to the device.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" attn-compile
rm -rf "$build/device"
mkdir -p "$build/device"
"$build/bin/attn-compile" "$root/examples/cpu_attention.mlir" --target=x86-64-v4 -o "$build/device/cpu"
"$root/runtime/test/gpu_fixture/make-artifact.sh" "$build/device/gpu"
du -sh "$build/device"
