#!/usr/bin/env bash
# Builds, on the development machine, what scripts/device-tests.sh runs on
# the GPU machine (which has no LLVM): the CPU artifact of
# examples/cpu_attention.mlir for x86-64-v4 and the GPU test artifact
# (runtime/test/gpu_fixture, with nvcc: its ungated, "gates" and "active"
# kernels), and attn's own generated kernels of bench/gpu/cases (one
# attn-compile --target=sm_90 artifact per case in build/device/gpu-kernels,
# for bench/gpu/bench.py: scripts/device-gpu-bench.sh and a device-tests
# step; a case that does not compile yet leaves <case>.error there and is a
# failed row of the bench, not an error here). Carry build/device to the
# device.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" attn-compile
rm -rf "$build/device"
mkdir -p "$build/device"
"$build/bin/attn-compile" "$root/examples/cpu_attention.mlir" --target=x86-64-v4 -o "$build/device/cpu"
"$root/runtime/test/gpu_fixture/make-artifact.sh" "$build/device/gpu"
"$root/bench/gpu/compile-cases.sh" "$build/device/gpu-kernels" "$build/bin/attn-compile" sm_90
du -sh "$build/device"
