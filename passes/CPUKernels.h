//===- CPUKernels.h - CPU kernels of the sparse-projection ops -*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// attn.select_blocks and attn.compress_kv as CPU kernels of their own
// (docs/sparse-projection.md): attn-convert-to-cpu calls these for each such
// op of a kernel function, next to its attention kernels.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_CPUKERNELS_H
#define ATTN_PASSES_CPUKERNELS_H

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir {
namespace attn {

/// Appends to `module` the kernel `name`, whose C interface is
/// `_mlir_ciface_<name>(query, key, [pooled_keys,] indices, item_begin,
/// item_end)` (memref descriptors, rank 4), computing the index lists of
/// items (pair = b * Hkv + g, query block) in [item_begin, item_end), and
/// `workItems(B * Hkv, Sq, Skv) = B * Hkv * ceil(Sq / query_block)`. Adds
/// the op's manifest fields to `info`; fails with a diagnostic on `op`.
FailureOr<func::FuncOp> buildSelectBlocksCPUKernel(SelectBlocksOp op,
                                                   ModuleOp module,
                                                   StringRef name,
                                                   StringRef workItems,
                                                   NamedAttrList &info);

/// Appends to `module` the kernel `name`, whose C interface is
/// `_mlir_ciface_<name>(key, value, [weights (rank 2),] compressed_key,
/// compressed_value, item_begin, item_end)`, computing items (pair = b * Hkv
/// + g, slot), and `workItems(B * Hkv, _, S) = B * Hkv * N` with N =
/// (S - block) / stride + 1 (0 when S < block): the count depends on the
/// key length alone, whatever the second argument holds. Adds the op's
/// manifest fields to `info`; fails with a diagnostic on `op`.
FailureOr<func::FuncOp> buildCompressKVCPUKernel(CompressKVOp op,
                                                 ModuleOp module,
                                                 StringRef name,
                                                 StringRef workItems,
                                                 NamedAttrList &info);

} // namespace attn
} // namespace mlir

#endif // ATTN_PASSES_CPUKERNELS_H
