//===- PlanSupport.cpp - Tile choice shared by plan and report passes -----===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "PlanSupport.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Tiling/AttentionTiling.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::attn;

const TargetDescription *mlir::attn::lookupTargetOrError(Operation *op,
                                                         StringRef name) {
  const TargetDescription *target = lookupTarget(name);
  if (!target)
    op->emitError() << "unknown target '" << name
                    << "'; known targets: " << listTargetNames();
  return target;
}

FailureOr<int64_t> mlir::attn::staticOrAssumed(Operation *op, int64_t size,
                                               int64_t assumed,
                                               StringRef purpose,
                                               StringRef what,
                                               StringRef option) {
  if (!ShapedType::isDynamic(size))
    return size;
  if (assumed > 0)
    return assumed;
  return op->emitError() << purpose << " needs the " << what
                        << ", which is dynamic; pass " << option << "=N";
}

FailureOr<TileSizes> mlir::attn::chooseTiles(AttentionOp op,
                                             const TargetDescription &target,
                                             int64_t queryTile,
                                             int64_t keyTile) {
  if (queryTile < 0 || keyTile < 0)
    return op.emitError() << "tile sizes must be positive (or 0 for the "
                             "default), found "
                          << queryTile << " x " << keyTile;
  TileSizes tiles{target.queryTile, target.keyTile};
  if (BlockPlanAttr plan = op.getPlanAttr())
    tiles = {plan.getQueryTile(), plan.getKeyTile()};
  SmallVector<SelectedAttr> selectedLeaves =
      getSelectedLeaves(op.getEffectivePattern());
  if (!selectedLeaves.empty()) {
    SelectedAttr selected = selectedLeaves.front();
    // The kernel visits the selected blocks, so they are the tiles.
    if ((queryTile && queryTile != selected.getQueryBlock()) ||
        (keyTile && keyTile != selected.getKeyBlock()))
      op.emitWarning()
          << "tiles of " << (queryTile ? queryTile : selected.getQueryBlock())
          << "x" << (keyTile ? keyTile : selected.getKeyBlock())
          << " do not apply to this op: the kernel's tiles are its selected "
             "blocks, "
          << selected;
    tiles = {selected.getQueryBlock(), selected.getKeyBlock()};
  } else {
    if (queryTile)
      tiles.query = queryTile;
    if (keyTile)
      tiles.key = keyTile;
  }
  for (auto [name, size] : {std::pair<StringRef, int64_t>{"query", tiles.query},
                            {"key", tiles.key}})
    if (size % target.tileMultiple != 0)
      return op.emitError() << name << " tile of " << size
                            << " is not a multiple of " << target.tileMultiple
                            << ", which " << target.name << "'s "
                            << (target.kind == TargetDescription::Kind::GPU
                                    ? "tensor-core"
                                    : "vector")
                            << " code needs";
  return tiles;
}

//===----------------------------------------------------------------------===//
// Kernel functions (attn-convert-to-cpu, attn-convert-to-gpu)
//===----------------------------------------------------------------------===//

/// The function argument `v` is, looking through `attn.active_heads` of an
/// argument (what attn-fuse-skipped-heads makes of runtime gates: the
/// runtime compacts the gates the same way before launching).
BlockArgument mlir::attn::getKernelArgument(Value v) {
  if (auto active = v.getDefiningOp<ActiveHeadsOp>())
    v = active->getOperand(0);
  return dyn_cast<BlockArgument>(v);
}

FailureOr<int64_t> mlir::attn::staticBlockSlots(AttentionOp attention,
                                               StringRef passName) {
  auto type = cast<RankedTensorType>(attention.getBlocks().getType());
  if (type.isDynamicDim(3))
    return attention.emitError()
           << passName
           << " needs a static number of block slots (dimension 3 of the "
              "blocks operand), found "
           << type;
  return type.getDimSize(3);
}

void mlir::attn::appendSelectedBlocksInfo(SelectedAttr selected,
                                          int64_t slots, NamedAttrList &info) {
  Builder b(selected.getContext());
  NamedAttrList blocks;
  blocks.append("query_block", b.getI64IntegerAttr(selected.getQueryBlock()));
  blocks.append("key_block", b.getI64IntegerAttr(selected.getKeyBlock()));
  blocks.append("slots", b.getI64IntegerAttr(slots));
  blocks.append("causal", b.getBoolAttr(selected.getCausal()));
  info.append("blocks", blocks.getDictionary(b.getContext()));
}

void mlir::attn::appendSelectBlocksInfo(SelectBlocksOp op,
                                        NamedAttrList &info) {
  Builder b(op.getContext());
  info.append("query_block", b.getI64IntegerAttr(op.getQueryBlock()));
  info.append("key_block", b.getI64IntegerAttr(op.getKeyBlock()));
  info.append("top_k", b.getI64IntegerAttr(op.getTopK()));
  info.append("keep_sink", b.getI64IntegerAttr(op.getKeepSink()));
  info.append("keep_local", b.getI64IntegerAttr(op.getKeepLocal()));
  info.append("causal", b.getBoolAttr(op.getCausal()));
  info.append("pooled_keys", b.getBoolAttr(bool(op.getPooledKeys())));
}

void mlir::attn::appendCompressKVInfo(CompressKVOp op, NamedAttrList &info) {
  Builder b(op.getContext());
  info.append("block", b.getI64IntegerAttr(op.getBlock()));
  info.append("stride", b.getI64IntegerAttr(op.getEffectiveStride()));
  info.append("method",
              b.getStringAttr(stringifyCompressionMethod(op.getMethod())));
  if (Value weights = op.getWeights()) {
    Type type = cast<RankedTensorType>(weights.getType()).getElementType();
    info.append("weights_dtype", b.getStringAttr(type.isF32()   ? "f32"
                                                 : type.isF16() ? "f16"
                                                                : "bf16"));
  }
}

static StringRef dtypeName(Type type) {
  return type.isF32() ? "f32" : type.isF16() ? "f16" : "bf16";
}

void mlir::attn::appendSparseBranchesInfo(SparseBranchesOp op,
                                          NamedAttrList &info) {
  Builder b(op.getContext());
  RankedTensorType query = op.getQueryType();
  auto staticOrMinusOne = [](int64_t v) {
    return ShapedType::isDynamic(v) ? int64_t(-1) : v;
  };
  info.append("dtype", b.getStringAttr(dtypeName(query.getElementType())));
  info.append("head_dim", b.getI64IntegerAttr(op.getHeadDim()));
  info.append("value_dim",
              b.getI64IntegerAttr(op.getValue().getType().getDimSize(3)));
  info.append("query_heads", b.getI64IntegerAttr(op.getNumQueryHeads()));
  info.append("key_heads", b.getI64IntegerAttr(op.getNumKeyValueHeads()));
  info.append("batch",
              b.getI64IntegerAttr(staticOrMinusOne(query.getDimSize(0))));
  info.append("query_len",
              b.getI64IntegerAttr(staticOrMinusOne(query.getDimSize(2))));
  info.append("key_len", b.getI64IntegerAttr(
                             staticOrMinusOne(op.getKeyType().getDimSize(2))));
  info.append("compress_window", b.getI64IntegerAttr(op.getCompressBlock()));
  info.append("compress_stride",
              b.getI64IntegerAttr(op.getEffectiveCompressStride()));
  info.append("causal", b.getBoolAttr(op.getCausal()));
  appendSelectedBlocksInfo(op.getSelected(),
                           op.getBlocks().getType().getDimSize(3), info);
  info.append("pattern", op.getWindow());
  info.append("weights_dtype", b.getStringAttr(dtypeName(
                                   op.getWeights().getType().getElementType())));
  info.append("scale", b.getF64FloatAttr(op.getEffectiveScale()));
}

LogicalResult mlir::attn::checkSparseBranchesSupported(SparseBranchesOp op,
                                                       int64_t queryTile,
                                                       int64_t keyTile) {
  LogicalResult result = success();
  walkPatternLeaves(op.getWindow(), [&](PatternAttrInterface leaf) {
    if (succeeded(result) && isa<RandomBlocksAttr, BlockLayoutAttr>(leaf))
      result = op.emitError()
               << "the window branch's " << leaf
               << " is not lowered: the kernel's query tiles are the selected "
                  "branch's query blocks, counted in rows, and block layouts "
                  "need tiles aligned in positions";
  });
  if (failed(result))
    return failure();
  return PatternEmitter::checkSupported(op.getWindow(), queryTile, keyTile,
                                        [&] { return op.emitError(); });
}

/// The first kernel op of `func` at any depth, or null.
static Operation *findKernelOp(func::FuncOp func, bool nestedOnly) {
  Operation *found = nullptr;
  func.walk([&](Operation *op) {
    if (!isa<AttentionOp, SelectBlocksOp, CompressKVOp, SparseBranchesOp>(op) ||
        (nestedOnly && op->getParentOp() == func))
      return WalkResult::advance();
    found = op;
    return WalkResult::interrupt();
  });
  return found;
}

bool mlir::attn::hasKernelOps(func::FuncOp func) {
  // At any depth: a kernel op inside a loop or a branch must reach
  // checkKernelFunction's diagnostic, not slip past the back end.
  return findKernelOp(func, /*nestedOnly=*/false) != nullptr;
}

/// The kernel ops of `lowered`, for diagnostics: "attn.attention",
/// "attn.attention, attn.select_blocks, attn.compress_kv and attn.sparse_branches".
static std::string kernelOpNames(unsigned lowered) {
  SmallVector<StringRef> names;
  if (lowered & kAttentionKernels)
    names.push_back(AttentionOp::getOperationName());
  if (lowered & kSelectBlocksKernels)
    names.push_back(SelectBlocksOp::getOperationName());
  if (lowered & kCompressKVKernels)
    names.push_back(CompressKVOp::getOperationName());
  if (lowered & kSparseBranchesKernels)
    names.push_back(SparseBranchesOp::getOperationName());
  std::string text;
  for (auto [i, name] : llvm::enumerate(names)) {
    if (i)
      text += i + 1 == names.size() ? " and " : ", ";
    text += name.str();
  }
  return text;
}

/// Why `func` cannot become kernels, or success: its body must be kernel ops
/// of `lowered` on its arguments (attention gates possibly compacted by
/// attn.active_heads) whose results are returned.
LogicalResult mlir::attn::checkKernelFunction(func::FuncOp func,
                                              StringRef passName,
                                              unsigned lowered) {
  size_t numBlocks = func.getBody().getBlocks().size();
  if (numBlocks != 1)
    return func.emitError() << passName
                            << " compiles single-block functions; @"
                            << func.getSymName() << " has " << numBlocks
                            << " blocks";
  if (Operation *nested = findKernelOp(func, /*nestedOnly=*/true))
    return nested->emitError()
           << "'" << nested->getName() << "' inside '"
           << nested->getParentOp()->getName() << "' in @"
           << func.getSymName() << ": " << passName
           << " compiles kernel ops at the top level of a function only";
  for (Operation &inner : func.getBody().getOps()) {
    if (isa<func::ReturnOp>(inner))
      continue;
    if (auto active = dyn_cast<ActiveHeadsOp>(inner)) {
      if (isa<BlockArgument>(active->getOperand(0)) &&
          llvm::all_of(active->getUsers(),
                       [](Operation *user) { return isa<AttentionOp>(user); }))
        continue;
    }
    unsigned kind = 0;
    if (isa<AttentionOp>(inner))
      kind = kAttentionKernels;
    else if (isa<SelectBlocksOp>(inner))
      kind = kSelectBlocksKernels;
    else if (isa<CompressKVOp>(inner))
      kind = kCompressKVKernels;
    else if (isa<SparseBranchesOp>(inner))
      kind = kSparseBranchesKernels;
    if (kind && !(lowered & kind))
      return inner.emitError()
             << "'" << inner.getName() << "' in @" << func.getSymName()
             << " is not lowered by " << passName
             << " yet; it compiles " << kernelOpNames(lowered) << " ops";
    if (!kind)
      return inner.emitError()
             << passName << " compiles functions made of "
             << kernelOpNames(lowered)
             << " ops on the function's arguments; '" << inner.getName()
             << "' in @" << func.getSymName()
             << " is not supported yet (compute it outside, or pass its "
                "result as an argument)";
    StringRef what = kind == kAttentionKernels        ? "attention"
                     : kind == kSelectBlocksKernels   ? "select_blocks"
                     : kind == kSparseBranchesKernels ? "sparse_branches"
                                                      : "compress_kv";
    for (OpOperand &use : inner.getOpOperands())
      if (Value operand = use.get(); !getKernelArgument(operand))
        return inner.emitError()
               << "operand #" << use.getOperandNumber() << " comes from '" << operand.getDefiningOp()->getName()
               << "': " << passName << " needs every " << what
               << " operand to be an argument of @" << func.getSymName();
    for (Value result : inner.getResults())
      for (Operation *user : result.getUsers())
        if (!isa<func::ReturnOp>(user))
          return inner.emitError()
                 << "the result feeds '" << user->getName() << "': "
                 << passName << " needs " << what
                 << " results to be returned directly";
  }
  return success();
}
