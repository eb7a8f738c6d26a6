#!/usr/bin/env bash
# Builds, on the development machine, what scripts/device-tests.sh runs on
# the GPU machine (which has no LLVM): the CPU artifact of
# examples/cpu_attention.mlir for x86-64-v4 and the GPU test artifact
# (runtime/test/gpu_fixture, with nvcc: its ungated, "gates" and "active"
# kernels), and attn's own generated kernels of bench/gpu/cases (one
# attn-compile --target=sm_90 artifact per case in build/device/gpu-kernels,
# one --target=sm_90a artifact per case in build/device/gpu-kernels-90a (the
# pipelined kernel, TMA loads, ping-pong) and the alternatives in
# gpu-kernels-90a-pipe (cp.async copies), -tma (no ping-pong), -fa2 (FA2's
# order) and -persist (the persistent grid),
# for bench/gpu/bench.py: scripts/device-gpu-bench.sh and a device-tests
# step; a case that does not compile yet leaves <case>.error there and is a
# failed row of the bench, not an error here), the select_blocks and
# selected-attention functions of bench/gpu/cases_selected (issue 8's
# benchmark, build/device/gpu-selected, for scripts/device-selected-bench.sh;
# the same rule for failures), plus kernels only the
# compute-sanitizer steps of device-tests.sh run (build/device/gpu-extra: a
# 64-row query tile, --query-tile=64, an explicit active list, an explicit
# block layout and random blocks). Carry build/device to the device.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" attn-compile
rm -rf "$build/device"
mkdir -p "$build/device"
"$build/bin/attn-compile" "$root/examples/cpu_attention.mlir" --target=x86-64-v4 -o "$build/device/cpu"
"$root/runtime/test/gpu_fixture/make-artifact.sh" "$build/device/gpu"
"$root/bench/gpu/compile-cases.sh" "$build/device/gpu-kernels" "$build/bin/attn-compile" sm_90
# The same cases for sm_90a (issue 10: wgmma kernels), checked and timed
# next to the sm_90 ones (bench.py --variant sm_90a=...): the default there
# is the pipelined kernel with TMA loads and ping-pong.
ATTN_COMPILE_FLAGS= \
  "$root/bench/gpu/compile-cases.sh" "$build/device/gpu-kernels-90a" "$build/bin/attn-compile" sm_90a
# The alternatives, timed beside it: the pipelined kernel with cp.async
# copies (--tma=false), TMA without ping-pong, and FA2's order (one
# warpgroup, 64-row tiles; the default until 2026-12-07).
ATTN_COMPILE_FLAGS="--wgmma-pipeline --tma=false" \
  "$root/bench/gpu/compile-cases.sh" "$build/device/gpu-kernels-90a-pipe" "$build/bin/attn-compile" sm_90a
ATTN_COMPILE_FLAGS=--ping-pong=false \
  "$root/bench/gpu/compile-cases.sh" "$build/device/gpu-kernels-90a-tma" "$build/bin/attn-compile" sm_90a
ATTN_COMPILE_FLAGS=--wgmma-pipeline=false \
  "$root/bench/gpu/compile-cases.sh" "$build/device/gpu-kernels-90a-fa2" "$build/bin/attn-compile" sm_90a
# And the TMA kernel on a persistent grid (--persistent: at most a block
# per SM walking query tiles; not the default until it has run on a GPU).
ATTN_COMPILE_FLAGS=--persistent \
  "$root/bench/gpu/compile-cases.sh" "$build/device/gpu-kernels-90a-persist" "$build/bin/attn-compile" sm_90a
# O stored by TMA (--tma-store; not the default until measured), with one
# block per query tile and on the persistent grid.
ATTN_COMPILE_FLAGS=--tma-store \
  "$root/bench/gpu/compile-cases.sh" "$build/device/gpu-kernels-90a-store" "$build/bin/attn-compile" sm_90a
ATTN_COMPILE_FLAGS="--tma-store --persistent" \
  "$root/bench/gpu/compile-cases.sh" "$build/device/gpu-kernels-90a-pstore" "$build/bin/attn-compile" sm_90a
# The TMA kernel asked for (--tma): the default at D = 128; at D = 64 the
# pipelined kernel with one 64-column panel, not the default until
# measured (bench rows [d64]).
ATTN_COMPILE_FLAGS=--tma \
  "$root/bench/gpu/compile-cases.sh" "$build/device/gpu-kernels-90a-d64" "$build/bin/attn-compile" sm_90a
# Issue 8's sparse-projection benchmark (scripts/device-selected-bench.sh):
# one artifact per function file of bench/gpu/cases_selected (select_<case>,
# attend_<case>) in build/device/gpu-selected; a function that does not
# compile leaves <function>.error and is a failed row of the bench.
"$root/bench/gpu/compile-selected.sh" "$build/device/gpu-selected" "$build/bin/attn-compile" sm_90
# attn.sparse_branches (NSA's combined form): bench/gpu/cases_branches, one
# artifact per case in build/device/gpu-branches, for
# scripts/device-branches-bench.sh and device-tests.sh.
ATTN_CASES_DIR=$root/bench/gpu/cases_branches ATTN_CASES_GEN=$root/bench/gpu/gen_branches_cases.py \
  "$root/bench/gpu/compile-cases.sh" "$build/device/gpu-branches" "$build/bin/attn-compile" sm_90
# Paths of the generated kernels the bench cases do not reach: the one-m-tile
# kernel (--query-tile=64; Q fragments in registers at D = 128), the grid
# over an active list (the runtime zero-fills the output first) and block
# patterns. A failure here is a failed device-tests step, not an error of
# this script.
extra=$build/device/gpu-extra
mkdir -p "$extra"
"$build/bin/attn-compile" "$root/bench/gpu/cases/causal_h16d128.mlir" --target=sm_90 \
  --query-tile=64 -o "$extra/causal_h16d128_q64" ||
  echo "prepare-device.sh: causal_h16d128 --query-tile=64 did not compile" >&2
cat >"$extra/listed_h16d128.mlir" <<'MLIR'
// An active list of (b * Hq + h) pairs as the grid (scripts/device-tests.sh).
func.func @listed_h16d128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>, %a: tensor<?xi32>) -> tensor<?x16x?x128xbf16> {
  %o = attn.attention %q, %k, %v active(%a : tensor<?xi32>) {pattern = #attn.causal}
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
MLIR
"$build/bin/attn-compile" "$extra/listed_h16d128.mlir" --target=sm_90 -o "$extra/listed_h16d128" ||
  echo "prepare-device.sh: listed_h16d128 did not compile" >&2
# The same list walked by sm_90a's persistent TMA kernel.
"$build/bin/attn-compile" "$extra/listed_h16d128.mlir" --target=sm_90a --persistent \
  -o "$extra/listed_h16d128_90a" ||
  echo "prepare-device.sh: listed_h16d128 for sm_90a did not compile" >&2
# Block patterns (64-blocks, so 64-row query tiles): an explicit layout,
# whose table is a global of the gpu.module, and random blocks. attn-run has
# no reference for them: the sanitizer steps run them unchecked.
cat >"$extra/blocks_h16d128.mlir" <<'MLIR'
func.func @layout_h16d128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.block_layout<block = 64, shape = [8, 8], layout = [1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1]>}
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
func.func @random_blocks_h16d128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.random_blocks<density = 0.25, seed = 3, block = 64, diagonal = true>}
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
MLIR
"$build/bin/attn-compile" "$extra/blocks_h16d128.mlir" --target=sm_90 -o "$extra/blocks_h16d128" ||
  echo "prepare-device.sh: blocks_h16d128 did not compile" >&2
du -sh "$build/device"
