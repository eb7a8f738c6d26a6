//===- GPUKernels.h - GPU kernels of attn ops other than attention -*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Builders of the GPU kernels attn-convert-to-gpu emits for the ops around
// attention (docs/sparse-projection.md): each returns a gpu.func in
// `gpuModule` whose arguments are the op's operands, results and sizes as
// the kernel info of attn-convert-to-gpu lists them.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_GPUKERNELS_H
#define ATTN_PASSES_GPUKERNELS_H

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir {
namespace attn {

/// attn.select_blocks: query blocks per CTA (more CTAs keep more loads in
/// flight than more work per CTA would), and threads per CTA (16 warps:
/// 4 pool each query block, all 16 pool keys).
constexpr int64_t kSelectQueryBlocksPerCTA = 4;
constexpr int64_t kSelectThreads = 512;

/// The most key blocks one call may have on `chip` (a CTA's scores and
/// selection keys stay in shared memory); the runtime refuses longer keys.
int64_t selectMaxKeyBlocks(StringRef chip);

/// Dynamic shared memory of the select kernel for head dim `headDim`.
int64_t selectBlocksSharedBytes(int64_t headDim, StringRef chip);

/// Signature: query, key, [pooled_keys], indices (global pointers), their
/// strides [0..2] in that order (i64), Sq, Skv (i32). Grid: (ceil(nqb / 4),
/// B * Hkv); block: 128 threads.
gpu::GPUFuncOp buildSelectBlocksKernel(SelectBlocksOp op,
                                       gpu::GPUModuleOp gpuModule,
                                       StringRef name, StringRef chip);

/// attn.compress_kv: slots per CTA and threads.
constexpr int64_t kCompressSlotsPerCTA = 16;
constexpr int64_t kCompressThreads = 128;

/// Signature: key, value, [weights], compressed key, compressed value
/// (global pointers); strides [0..2] of key, value, compressed key,
/// compressed value, [weights' stride 0] (i64); Skv, N (i32). Grid:
/// (ceil(N / 16), B * Hkv); block: 128 threads. Head dims multiples of 8
/// whose 8-column chunks divide 128 threads.
gpu::GPUFuncOp buildCompressKVKernel(CompressKVOp op,
                                     gpu::GPUModuleOp gpuModule,
                                     StringRef name);

} // namespace attn
} // namespace mlir

#endif // ATTN_PASSES_GPUKERNELS_H
