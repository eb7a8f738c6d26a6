//===- PlanSupport.cpp - Tile choice shared by plan and report passes -----===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "PlanSupport.h"

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

FailureOr<int64_t> mlir::attn::staticOrAssumed(AttentionOp op, int64_t size,
                                               int64_t assumed,
                                               StringRef purpose,
                                               StringRef what,
                                               StringRef option) {
  if (!ShapedType::isDynamic(size))
    return size;
  if (assumed > 0)
    return assumed;
  return op.emitError() << purpose << " needs the " << what
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
