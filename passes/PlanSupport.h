//===- PlanSupport.h - Tile choice shared by plan and report passes -*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_PLANSUPPORT_H
#define ATTN_PASSES_PLANSUPPORT_H

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Plan/BlockPlan.h"
#include "attn/Target/Targets.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir {
namespace attn {

/// Looks up `name`, emitting an error on `op` that lists the known targets.
const TargetDescription *lookupTargetOrError(Operation *op,
                                             llvm::StringRef name);

/// The tiles `op` is planned at: explicit sizes (0 = unset), else the op's
/// existing plan, else the target's defaults; for runtime-selected patterns,
/// the selected block sizes (warning when explicit sizes differ). Emits an
/// error on `op` when the sizes break the target's rules.
FailureOr<TileSizes> chooseTiles(AttentionOp op,
                                 const TargetDescription &target,
                                 int64_t queryTile, int64_t keyTile);

/// `size` if static; else `assumed` when positive (a pass option); else an
/// error on `op`: "<purpose> needs the <what>, which is dynamic; pass
/// <option>=N".
FailureOr<int64_t> staticOrAssumed(Operation *op, int64_t size,
                                   int64_t assumed, llvm::StringRef purpose,
                                   llvm::StringRef what,
                                   llvm::StringRef option);

/// The function argument `v` is, looking through `attn.active_heads` of an
/// argument (runtime gates compacted in the function; the runtime compacts
/// them the same way), or null.
BlockArgument getKernelArgument(Value v);

/// The attn ops a back end turns into kernels of their own (a bit set).
enum KernelOpKinds : unsigned {
  kAttentionKernels = 1,
  kSelectBlocksKernels = 2,
  kCompressKVKernels = 4,
  kSparseBranchesKernels = 8,
  kAllKernelOps = 15,
};

/// The number of block slots of `attention`'s `blocks` operand (dimension
/// 3), which both back ends compile in (the manifest's "blocks" field names
/// a fixed count); an error worded for `passName` when it is dynamic.
FailureOr<int64_t> staticBlockSlots(AttentionOp attention,
                                    llvm::StringRef passName);

/// The op's own fields of a kernel's info dictionary (what the manifest
/// writer copies; docs/sparse-projection.md section 3), the same for both
/// back ends: a selected-blocks attention's "blocks", a select kernel's
/// selection parameters, a compress kernel's window ("block"), stride,
/// method and weights' dtype.
void appendSelectedBlocksInfo(SelectedAttr selected, int64_t slots,
                              NamedAttrList &info);
void appendSelectBlocksInfo(SelectBlocksOp op, NamedAttrList &info);
void appendCompressKVInfo(CompressKVOp op, NamedAttrList &info);
/// A sparse_branches kernel's fields: its shapes and dtypes, the compressed
/// branch's window, stride and causality, the selected branch's "blocks",
/// the window branch's "pattern", the weights' dtype and the scale.
void appendSparseBranchesInfo(SparseBranchesOp op, NamedAttrList &info);

/// Why both back ends cannot compile `op` with query tiles of `queryTile`
/// rows and key tiles of `keyTile` keys (an error on `op`), or success:
/// query tiles are the selected branch's query blocks, in rows, so the
/// window pattern may not have leaves that need position-aligned tiles
/// (random or explicit block layouts).
LogicalResult checkSparseBranchesSupported(SparseBranchesOp op,
                                           int64_t queryTile, int64_t keyTile);

/// Whether the back ends can turn `func` into kernels: a single block of
/// kernel ops among `lowered` on its arguments (attention gates possibly
/// compacted by attn.active_heads) whose results are returned; otherwise an
/// error naming the offending op, worded for `passName`.
LogicalResult checkKernelFunction(func::FuncOp func, llvm::StringRef passName,
                                  unsigned lowered = kAttentionKernels);

} // namespace attn
} // namespace mlir

#endif // ATTN_PASSES_PLANSUPPORT_H
