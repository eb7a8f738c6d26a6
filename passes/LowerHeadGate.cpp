//===- LowerHeadGate.cpp - attn.head_gate to linalg -----------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Top-k without a sort: a head's place in the gating order is the number of
// heads before it, a reduction; the heads within budget are those whose cost
// before them plus their own fits, an elementwise test. Both are plain
// linalg.generic ops, so the gate lowers wherever attention does.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace attn {
#define GEN_PASS_DEF_ATTNLOWERHEADGATE
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace attn
} // namespace mlir

using namespace mlir;
using namespace mlir::attn;

namespace {
/// Slack matching lib/Gate: keeps floor(0.5 x 16) at 8 despite rounding.
constexpr double kRelativeSlack = 1e-9;

struct LowerHeadGate : public OpRewritePattern<HeadGateOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(HeadGateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto scoresType = cast<RankedTensorType>(op.getScores().getType());
    int64_t heads = scoresType.getDimSize(1);
    if (ShapedType::isDynamic(heads))
      return rewriter.notifyMatchFailure(op, "needs a static head count");
    Type f64 = rewriter.getF64Type();
    MLIRContext *ctx = rewriter.getContext();
    Value scores = op.getScores();

    // Per-head costs (equal when none are given) as a constant vector.
    SmallVector<double> costs(heads, 1.0);
    if (std::optional<ArrayRef<int64_t>> given = op.getHeadCosts())
      for (int64_t h = 0; h < heads; ++h)
        costs[h] = double((*given)[h]);
    double totalCost = 0;
    for (double c : costs)
      totalCost += c;
    auto costType = RankedTensorType::get({heads}, f64);
    Value costVector = arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(costType, ArrayRef<double>(costs)));

    // Outputs: B x H of f64, zero-initialised, for rank and cost before.
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, scores);
    Value empty = tensor::EmptyOp::create(rewriter, loc, sizes, f64);
    Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getF64FloatAttr(0));
    Value zeros = linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);

    // 1. (b, h, j): rank[b, h] += before(j, h); before[b, h] += cost[j] if so.
    AffineExpr b, h, j;
    bindDims(ctx, b, h, j);
    auto map3 = [&](ArrayRef<AffineExpr> exprs) {
      return AffineMap::get(3, 0, exprs, ctx);
    };
    SmallVector<AffineMap> rankMaps = {map3({b, j}), map3({b, h}), map3({j}),
                                       map3({b, h}), map3({b, h})};
    SmallVector<utils::IteratorType> rankIterators = {
        utils::IteratorType::parallel, utils::IteratorType::parallel,
        utils::IteratorType::reduction};
    auto ranks = linalg::GenericOp::create(
        rewriter, loc, TypeRange{zeros.getType(), zeros.getType()},
        ValueRange{scores, scores, costVector}, ValueRange{zeros, zeros},
        rankMaps, rankIterators,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value sj = args[0], sh = args[1], cj = args[2];
          Value hIndex = linalg::IndexOp::create(nb, l, 1);
          Value jIndex = linalg::IndexOp::create(nb, l, 2);
          using P = arith::CmpFPredicate;
          auto cmpf = [&](P p, Value x, Value y) {
            return arith::CmpFOp::create(nb, l, p, x, y).getResult();
          };
          Value jNan = cmpf(P::UNO, sj, sj), hNan = cmpf(P::UNO, sh, sh);
          Value lowerIndex = arith::CmpIOp::create(
              nb, l, arith::CmpIPredicate::ult, jIndex, hIndex);
          // Both numbers: higher score, or equal score and lower index.
          Value higher = cmpf(P::OGT, sj, sh);
          Value tie = arith::AndIOp::create(nb, l, cmpf(P::OEQ, sj, sh),
                                            lowerIndex);
          Value byScore = arith::OrIOp::create(nb, l, higher, tie);
          // A number comes before NaN; NaNs keep index order.
          Value bothNan = arith::AndIOp::create(nb, l, jNan, hNan);
          Value nanOrder = arith::AndIOp::create(nb, l, bothNan, lowerIndex);
          Value jNumber = arith::XOrIOp::create(
              nb, l, jNan,
              arith::ConstantOp::create(nb, l, nb.getBoolAttr(true)));
          Value numberFirst = arith::AndIOp::create(nb, l, jNumber, hNan);
          Value neitherNan = arith::AndIOp::create(
              nb, l, jNumber,
              arith::XOrIOp::create(
                  nb, l, hNan,
                  arith::ConstantOp::create(nb, l, nb.getBoolAttr(true))));
          Value before = arith::OrIOp::create(
              nb, l,
              arith::OrIOp::create(nb, l,
                                   arith::AndIOp::create(nb, l, neitherNan,
                                                         byScore),
                                   numberFirst),
              nanOrder);
          Value one = arith::UIToFPOp::create(nb, l, nb.getF64Type(), before);
          Value rank = arith::AddFOp::create(nb, l, args[3], one);
          Value cost = arith::AddFOp::create(
              nb, l, args[4], arith::MulFOp::create(nb, l, one, cj));
          linalg::YieldOp::create(nb, l, ValueRange{rank, cost});
        });

    // 2. (b, h): active iff rank < min_active, or the rule admits it.
    Value minActive = arith::ConstantOp::create(
        rewriter, loc,
        rewriter.getF64FloatAttr(double(std::clamp<int64_t>(
            op.getMinActive(), 0, heads))));
    Value budget; // f64 fraction, clamped to [0, 1].
    if (auto attr = op.getBudgetAttr())
      budget = arith::ConstantOp::create(rewriter, loc,
                                         rewriter.getF64FloatAttr(attr.getValue()));
    else if (Value runtime = op.getBudgetValue())
      budget = runtime.getType().isF64()
                   ? runtime
                   : arith::ExtFOp::create(rewriter, loc, f64, runtime).getResult();
    Value allowed;
    if (budget) {
      Value clamped = arith::MaximumFOp::create(
          rewriter, loc,
          arith::MinimumFOp::create(rewriter, loc, budget,
                                    arith::ConstantOp::create(
                                        rewriter, loc, rewriter.getF64FloatAttr(1.0))),
          zero);
      allowed = arith::MulFOp::create(
          rewriter, loc, clamped,
          arith::ConstantOp::create(
              rewriter, loc,
              rewriter.getF64FloatAttr(totalCost * (1.0 + kRelativeSlack))));
    }
    Value threshold;
    if (auto attr = op.getThresholdAttr())
      threshold = arith::ConstantOp::create(
          rewriter, loc, FloatAttr::get(scoresType.getElementType(),
                                        attr.getValueAsDouble()));

    Value gatesEmpty =
        tensor::EmptyOp::create(rewriter, loc, sizes, rewriter.getI1Type());
    AffineExpr b2, h2;
    bindDims(ctx, b2, h2);
    auto map2 = [&](ArrayRef<AffineExpr> exprs) {
      return AffineMap::get(2, 0, exprs, ctx);
    };
    SmallVector<AffineMap> gateMaps = {map2({b2, h2}), map2({b2, h2}),
                                       map2({b2, h2}), map2({h2}),
                                       map2({b2, h2})};
    SmallVector<utils::IteratorType> gateIterators(2,
                                                   utils::IteratorType::parallel);
    auto gates = linalg::GenericOp::create(
        rewriter, loc, TypeRange{gatesEmpty.getType()},
        ValueRange{ranks.getResult(0), ranks.getResult(1), scores, costVector},
        ValueRange{gatesEmpty}, gateMaps, gateIterators,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value rank = args[0], before = args[1], score = args[2],
                cost = args[3];
          Value forced = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OLT,
                                               rank, minActive);
          Value admitted;
          if (threshold) {
            admitted = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGE,
                                             score, threshold);
          } else {
            Value spent = arith::AddFOp::create(nb, l, before, cost);
            admitted = arith::CmpFOp::create(
                nb, l, arith::CmpFPredicate::OLE, spent, allowed);
          }
          linalg::YieldOp::create(
              nb, l, ValueRange{arith::OrIOp::create(nb, l, forced, admitted)});
        });
    rewriter.replaceOp(op, gates.getResult(0));
    return success();
  }
};

struct LowerHeadGatePass
    : public mlir::attn::impl::AttnLowerHeadGateBase<LowerHeadGatePass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateLowerHeadGatePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    WalkResult left = getOperation()->walk([](HeadGateOp op) {
      op.emitError() << "attn-lower-head-gate needs a static head count";
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace

void mlir::attn::populateLowerHeadGatePatterns(RewritePatternSet &patterns) {
  patterns.add<LowerHeadGate>(patterns.getContext());
}
