//===- PlanBlocks.cpp - attn-plan-blocks pass -----------------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "PlanSupport.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"

#include "llvm/ADT/TypeSwitch.h"

namespace mlir {
namespace attn {
#define GEN_PASS_DEF_ATTNPLANBLOCKS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace attn
} // namespace mlir

using namespace mlir;
using namespace mlir::attn;

/// Warns about pattern parameters that span the whole static sequence.
static void warnAboutWholeSequence(AttentionOp op, PatternAttrInterface pattern,
                                   int64_t keySeqLen) {
  walkPatternLeaves(pattern, [&](PatternAttrInterface leaf) {
    llvm::TypeSwitch<Attribute>(leaf)
        .Case([&](LocalAttr local) {
          if (local.getDilation() == 1 && local.getWindow() >= keySeqLen - 1)
            op.emitWarning() << local << " spans the whole sequence (Skv = "
                             << keySeqLen << "): every key is in the window; "
                             << (local.getCausal() ? "#attn.causal"
                                                   : "#attn.dense")
                             << " says the same";
        })
        .Case([&](ChunkedAttr chunked) {
          if (chunked.getSize() >= keySeqLen)
            op.emitWarning() << chunked << " spans the whole sequence (Skv = "
                             << keySeqLen << "): one chunk; "
                             << (chunked.getCausal() ? "#attn.causal"
                                                     : "#attn.dense")
                             << " says the same";
        })
        .Case([&](GlobalAttr global) {
          if (global.getTokens() >= keySeqLen)
            op.emitWarning() << global << " spans the whole sequence (Skv = "
                             << keySeqLen
                             << "): every key is global; #attn.dense says the "
                                "same";
        });
  });
}

/// Encodes the tables of `plan` as the attribute's CSR arrays.
static BlockPlanAttr tableAttr(MLIRContext *ctx, const BlockPlan &plan,
                               TileSizes tiles) {
  SmallVector<int64_t> heads, offsets, runs;
  for (int64_t h = 0; h < plan.getShape().extent.numHeads; ++h)
    heads.push_back(plan.getPlanIndex(h));
  for (const HeadPlan &head : plan.getDistinctPlans()) {
    int64_t base = runs.size() / 3;
    for (int64_t offset : head.getRunOffsets())
      offsets.push_back(base + offset);
    for (const TileRun &run : head.getTableRuns())
      runs.append({run.begin, run.end, run.partial ? 1 : 0});
  }
  return BlockPlanAttr::get(ctx, tiles.query, tiles.key, "table", heads,
                            offsets, runs);
}

namespace {
struct PlanBlocksPass
    : public mlir::attn::impl::AttnPlanBlocksBase<PlanBlocksPass> {
  using Base::Base;

  void runOnOperation() override {
    const TargetDescription *desc =
        lookupTargetOrError(getOperation(), target);
    if (!desc)
      return signalPassFailure();
    WalkResult result = getOperation().walk([&](AttentionOp op) {
      FailureOr<TileSizes> tiles = chooseTiles(op, *desc, queryTile, keyTile);
      if (failed(tiles))
        return WalkResult::interrupt();
      PatternAttrInterface pattern = op.getEffectivePattern();
      int64_t sq = op.getQueryType().getDimSize(2);
      int64_t skv = op.getKeyType().getDimSize(2);
      bool staticLengths =
          !ShapedType::isDynamic(sq) && !ShapedType::isDynamic(skv);
      if (staticLengths)
        warnAboutWholeSequence(op, pattern, skv);

      MLIRContext *ctx = &getContext();
      StringRef kind = "analytic";
      if (pattern.isRuntimeSelected())
        kind = "runtime";
      else if (!staticLengths || !materializeTables) {
        // The kind needs no lengths; a plan over one tile tells it.
        FailureOr<BlockPlan> probe = BlockPlan::build(
            pattern, {op.getNumQueryHeads(), 1, 1}, *tiles,
            [&] { return op.emitError(); });
        if (failed(probe))
          return WalkResult::interrupt();
        kind = stringifyPlanKind(probe->getOverallKind());
      } else {
        FailureOr<BlockPlan> plan =
            BlockPlan::build(pattern, {op.getNumQueryHeads(), sq, skv}, *tiles,
                             [&] { return op.emitError(); });
        if (failed(plan))
          return WalkResult::interrupt();
        if (plan->getOverallKind() == PlanKind::Table) {
          op.setPlanAttr(tableAttr(ctx, *plan, *tiles));
          return WalkResult::advance();
        }
      }
      op.setPlanAttr(
          BlockPlanAttr::get(ctx, tiles->query, tiles->key, kind, {}, {}, {}));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
