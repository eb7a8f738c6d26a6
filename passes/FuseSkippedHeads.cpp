//===- FuseSkippedHeads.cpp - attn-fuse-skipped-heads pass ----------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// A statically gated-off head should cost nothing: not its attention, not
// the projections that feed it. The rewrite gathers the active heads of Q,
// K and V with slices (pulled into tileable producers, so projections shrink
// too), runs attention on them, and scatters the result into zeros.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"

#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir {
namespace attn {
#define GEN_PASS_DEF_ATTNFUSESKIPPEDHEADS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace attn
} // namespace mlir

using namespace mlir;
using namespace mlir::attn;

/// The constant gates of `op` as a B x H matrix, if they are constant.
static std::optional<SmallVector<SmallVector<bool>>>
constantGates(AttentionOp op) {
  Value gates = op.getGates();
  DenseElementsAttr values;
  if (!gates || !matchPattern(gates, m_Constant(&values)))
    return std::nullopt;
  auto type = cast<RankedTensorType>(values.getType());
  int64_t batch = type.getDimSize(0), heads = type.getDimSize(1);
  SmallVector<SmallVector<bool>> rows(batch, SmallVector<bool>(heads));
  auto it = values.value_begin<bool>();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      rows[b][h] = *it++;
  return rows;
}

std::string mlir::attn::whyHeadsCannotBeFused(AttentionOp op) {
  if (!constantGates(op))
    return "";
  if (op.getBudgetAttr())
    return "it still has a budget; run attn-resolve-budgets first";
  if (op.getBlocks())
    return "its runtime-selected blocks are indexed by KV head";
  if (dependsOnHeadIndex(op.getEffectivePattern()))
    return "its pattern depends on the head index (random blocks or a "
           "per-head layout), which removing heads would renumber";
  return "";
}

namespace {
/// Maximal runs [start, start + length) of consecutive values in `indices`.
SmallVector<std::pair<int64_t, int64_t>> runsOf(ArrayRef<int64_t> indices) {
  SmallVector<std::pair<int64_t, int64_t>> runs;
  for (int64_t i : indices) {
    if (!runs.empty() && runs.back().first + runs.back().second == i)
      ++runs.back().second;
    else
      runs.push_back({i, 1});
  }
  return runs;
}

/// Sizes of `value` with dimension `axis` (the heads) replaced by `heads`.
SmallVector<OpFoldResult> sizesWithHeads(OpBuilder &b, Location loc,
                                         Value value, int64_t heads,
                                         int64_t axis = 1) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, value);
  sizes[axis] = b.getIndexAttr(heads);
  return sizes;
}

/// Entries `indices` of `source` along `axis`, as unit-stride slices joined
/// by a concat.
Value gatherAlong(OpBuilder &b, Location loc, Value source, int64_t axis,
                  ArrayRef<int64_t> indices,
                  function_ref<Value(tensor::ExtractSliceOp)> onSlice) {
  int64_t rank = cast<RankedTensorType>(source.getType()).getRank();
  SmallVector<Value> pieces;
  for (auto [start, length] : runsOf(indices)) {
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
    offsets[axis] = b.getIndexAttr(start);
    SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
    auto slice = tensor::ExtractSliceOp::create(
        b, loc, source, offsets, sizesWithHeads(b, loc, source, length, axis),
        strides);
    pieces.push_back(onSlice ? onSlice(slice) : slice.getResult());
  }
  if (pieces.size() == 1)
    return pieces.front();
  return tensor::ConcatOp::create(b, loc, axis, pieces);
}

struct FuseSkippedHeads : public OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  /// Heads `indices` of `source` along dimension 1, as slices (moved into
  /// a tileable producer where possible) joined by a concat.
  Value gather(PatternRewriter &rewriter, Location loc, Value source,
               ArrayRef<int64_t> indices) const {
    return gatherAlong(rewriter, loc, source, /*axis=*/1, indices,
                       [&](tensor::ExtractSliceOp slice) {
                         return sliceProducer(rewriter, slice);
                       });
  }

  /// Computes only the slice when its source comes from a tileable op (a
  /// projection), so the skipped heads' projection work disappears.
  Value sliceProducer(PatternRewriter &rewriter,
                      tensor::ExtractSliceOp slice) const {
    auto producer = dyn_cast<OpResult>(slice.getSource());
    if (!producer || !isa<TilingInterface>(producer.getOwner()))
      return slice;
    FailureOr<TilingResult> tiled = tensor::replaceExtractSliceWithTiledProducer(
        rewriter, slice, producer);
    if (failed(tiled) || tiled->tiledValues.size() != 1)
      return slice;
    rewriter.replaceOp(slice, tiled->tiledValues.front());
    return tiled->tiledValues.front();
  }

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<SmallVector<SmallVector<bool>>> rows = constantGates(op);
    if (!rows)
      return rewriter.notifyMatchFailure(op, "gates are not a constant");
    std::string why = whyHeadsCannotBeFused(op);
    if (!why.empty())
      return rewriter.notifyMatchFailure(op, why);

    const int64_t numHeads = op.getNumQueryHeads();
    const int64_t group = numHeads / op.getNumKeyValueHeads();
    SmallVector<int64_t> active; // Heads some batch row activates.
    bool uniform = true;          // Every row activates all of them.
    for (int64_t h = 0; h < numHeads; ++h) {
      bool any = false, all = true;
      for (const SmallVector<bool> &row : *rows) {
        any |= row[h];
        all &= row[h];
      }
      if (any)
        active.push_back(h);
      uniform &= any == all;
    }

    Location loc = op.getLoc();
    auto resultType = op.getResult().getType();
    MLIRContext *ctx = rewriter.getContext();

    // No head fires: the output is zero.
    Value zeros;
    auto makeZeros = [&]() {
      // The result's type, with its dynamic sizes (batch, Sq) from the query.
      SmallVector<OpFoldResult> sizes;
      for (int64_t d = 0; d < resultType.getRank(); ++d)
        sizes.push_back(
            resultType.isDynamicDim(d)
                ? OpFoldResult(tensor::DimOp::create(rewriter, loc,
                                                     op.getQuery(), d)
                                   .getResult())
                : OpFoldResult(rewriter.getIndexAttr(resultType.getDimSize(d))));
      Value empty = tensor::EmptyOp::create(rewriter, loc, sizes,
                                            resultType.getElementType());
      Value zero = arith::ConstantOp::create(
          rewriter, loc, rewriter.getZeroAttr(resultType.getElementType()));
      return linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
    };
    if (active.empty()) {
      rewriter.replaceOp(op, makeZeros());
      return success();
    }

    // KV heads: keep the groups that serve active heads when every such
    // group keeps the same number of query heads (GQA stays GQA); otherwise
    // give each active query head its own copy of its KV head (MHA).
    SmallVector<int64_t> kvHeads;
    llvm::SmallDenseMap<int64_t, int64_t> perGroup;
    for (int64_t h : active)
      ++perGroup[h / group];
    bool sameSizes = llvm::all_equal(llvm::make_second_range(perGroup));
    for (int64_t h : active)
      if (!sameSizes)
        kvHeads.push_back(h / group);
      else if (kvHeads.empty() || kvHeads.back() != h / group)
        kvHeads.push_back(h / group);

    bool allHeads = static_cast<int64_t>(active.size()) == numHeads;
    if (allHeads && !uniform)
      return rewriter.notifyMatchFailure(
          op, "every head fires in some batch row; the gates stay");
    Value query = allHeads ? op.getQuery()
                           : gather(rewriter, loc, op.getQuery(), active);
    Value key = allHeads ? op.getKey()
                         : gather(rewriter, loc, op.getKey(), kvHeads);
    Value value = allHeads ? op.getValue()
                           : gather(rewriter, loc, op.getValue(), kvHeads);

    // Gates that still differ between batch rows stay, for the kept heads.
    Value gates;
    if (!uniform) {
      SmallVector<bool> kept;
      for (const SmallVector<bool> &row : *rows)
        for (int64_t h : active)
          kept.push_back(row[h]);
      auto type = RankedTensorType::get(
          {static_cast<int64_t>(rows->size()),
           static_cast<int64_t>(active.size())},
          rewriter.getI1Type());
      gates = arith::ConstantOp::create(
          rewriter, loc, DenseElementsAttr::get(type, ArrayRef<bool>(kept)));
    }

    PatternAttrInterface pattern = op.getEffectivePattern();
    if (auto perHead = dyn_cast<PerHeadAttr>(pattern)) {
      SmallVector<Attribute> members;
      for (int64_t h : active)
        members.push_back(perHead.getPatterns()[h]);
      pattern = PerHeadAttr::get(ctx, ArrayAttr::get(ctx, members));
    }

    SmallVector<int64_t> shape(resultType.getShape());
    shape[1] = active.size();
    auto newType = RankedTensorType::get(shape, resultType.getElementType());
    auto fused = AttentionOp::create(
        rewriter, loc, newType, query, key, value, gates, /*active=*/Value(),
        /*blocks=*/Value(),
        op.getScaleAttr(), op.getPatternAttr() ? pattern : nullptr,
        /*budget=*/nullptr, op.getLayerAttr(), /*plan=*/nullptr);
    if (allHeads) {
      rewriter.replaceOp(op, fused.getResult());
      return success();
    }

    // Scatter the active heads' outputs into zeros.
    Value result = makeZeros();
    int64_t position = 0;
    for (auto [start, length] : runsOf(active)) {
      SmallVector<OpFoldResult> strides(4, rewriter.getIndexAttr(1));
      SmallVector<OpFoldResult> from(4, rewriter.getIndexAttr(0));
      from[1] = rewriter.getIndexAttr(position);
      SmallVector<OpFoldResult> sizes =
          sizesWithHeads(rewriter, loc, fused.getResult(), length);
      Value piece = tensor::ExtractSliceOp::create(
          rewriter, loc, fused.getResult(), from, sizes, strides);
      SmallVector<OpFoldResult> to(4, rewriter.getIndexAttr(0));
      to[1] = rewriter.getIndexAttr(start);
      result = tensor::InsertSliceOp::create(rewriter, loc, piece, result, to,
                                             sizes, strides);
      position += length;
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Runtime gates become a compacted list of active (batch, head) pairs, so
/// that the lowering launches work for those pairs only.
struct CompactRuntimeGates : public OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Value gates = op.getGates();
    if (!gates || matchPattern(gates, m_Constant()))
      return rewriter.notifyMatchFailure(op, "no runtime gates");
    auto pairsType = RankedTensorType::get({ShapedType::kDynamic},
                                           rewriter.getI32Type());
    Value pairs =
        ActiveHeadsOp::create(rewriter, op.getLoc(), pairsType, gates);
    rewriter.modifyOpInPlace(op, [&] {
      op.getGatesMutable().clear();
      op.getActiveMutable().assign(pairs);
    });
    return success();
  }
};

/// The heads of a "scatter into zeros" value: insert_slices of consecutive
/// head slices of one compact tensor into a zero fill, as FuseSkippedHeads
/// builds. Returns the compact tensor and, per compact head, its head.
std::optional<std::pair<Value, SmallVector<int64_t>>>
matchScatterIntoZeros(Value value) {
  SmallVector<tensor::InsertSliceOp> inserts;
  while (auto insert = value.getDefiningOp<tensor::InsertSliceOp>()) {
    inserts.push_back(insert);
    value = insert.getDest();
  }
  auto fill = value.getDefiningOp<linalg::FillOp>();
  if (inserts.empty() || !fill || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
    return std::nullopt;
  Value compact;
  SmallVector<int64_t> heads;
  for (tensor::InsertSliceOp insert : llvm::reverse(inserts)) {
    auto piece = insert.getSource().getDefiningOp<tensor::ExtractSliceOp>();
    if (!piece || !insert.hasUnitStride() || !piece.hasUnitStride())
      return std::nullopt;
    if (compact && piece.getSource() != compact)
      return std::nullopt;
    compact = piece.getSource();
    // Whole tensors except along dimension 1, in order.
    auto type = cast<RankedTensorType>(compact.getType());
    std::optional<int64_t> from = getConstantIntValue(piece.getMixedOffsets()[1]);
    std::optional<int64_t> to = getConstantIntValue(insert.getMixedOffsets()[1]);
    std::optional<int64_t> length = getConstantIntValue(piece.getMixedSizes()[1]);
    if (!from || !to || !length || *from != int64_t(heads.size()))
      return std::nullopt;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (d != 1 && (!isZeroInteger(piece.getMixedOffsets()[d]) ||
                     !isZeroInteger(insert.getMixedOffsets()[d])))
        return std::nullopt;
    for (int64_t i = 0; i < *length; ++i)
      heads.push_back(*to + i);
  }
  if (heads.size() !=
      size_t(cast<RankedTensorType>(compact.getType()).getDimSize(1)))
    return std::nullopt;
  return std::make_pair(compact, heads);
}

/// A consumer that sums over the heads of a zero-scattered attention output
/// (an output projection: out += o[b, h, s, d] * w[h, d, m]) reduces over the
/// kept heads only: skipped heads add products with zero, which change
/// nothing (for finite weights).
struct NarrowHeadReduction : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    // The body must be out + a * b (either order).
    Block &body = op.getRegion().front();
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    if (op.getNumDpsInits() != 1 || yield.getNumOperands() != 1)
      return failure();
    auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
    if (!add)
      return failure();
    Value acc = body.getArgument(op.getNumDpsInputs());
    Value other = add.getLhs() == acc ? add.getRhs() : add.getLhs();
    auto mul = other.getDefiningOp<arith::MulFOp>();
    if (!mul || (add.getLhs() != acc && add.getRhs() != acc))
      return rewriter.notifyMatchFailure(op, "body is not a multiply-add");

    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    for (OpOperand *input : op.getDpsInputOperands()) {
      auto scatter = matchScatterIntoZeros(input->get());
      if (!scatter)
        continue;
      Value inputArg = body.getArgument(input->getOperandNumber());
      if (mul.getLhs() != inputArg && mul.getRhs() != inputArg)
        continue;
      AffineMap map = maps[input->getOperandNumber()];
      auto headDim = dyn_cast<AffineDimExpr>(map.getResult(1));
      if (!headDim ||
          iterators[headDim.getPosition()] != utils::IteratorType::reduction)
        continue;
      unsigned loop = headDim.getPosition();
      // Every other operand that walks the head loop is gathered too.
      SmallVector<Value> inputs;
      bool ok = true;
      for (OpOperand *other : op.getDpsInputOperands()) {
        if (other == input) {
          inputs.push_back(scatter->first);
          continue;
        }
        AffineMap otherMap = maps[other->getOperandNumber()];
        std::optional<unsigned> axis = otherMap.getResultPosition(
            rewriter.getAffineDimExpr(loop));
        if (!axis) {
          ok &= !otherMap.isFunctionOfDim(loop);
          inputs.push_back(other->get());
          continue;
        }
        inputs.push_back(gatherAlong(rewriter, op.getLoc(), other->get(),
                                     *axis, scatter->second, nullptr));
      }
      if (!ok || maps[op.getNumDpsInputs()].isFunctionOfDim(loop))
        continue;
      auto narrowed = linalg::GenericOp::create(
          rewriter, op.getLoc(), op.getResultTypes(), inputs,
          op.getDpsInits(), maps, iterators);
      rewriter.inlineRegionBefore(op.getRegion(), narrowed.getRegion(),
                                  narrowed.getRegion().begin());
      rewriter.replaceOp(op, narrowed.getResults());
      return success();
    }
    return rewriter.notifyMatchFailure(op, "no head reduction over a scatter "
                                           "of kept heads");
  }
};

struct FuseSkippedHeadsPass
    : public mlir::attn::impl::AttnFuseSkippedHeadsBase<FuseSkippedHeadsPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFuseSkippedHeadsPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Say why constant gates were left in place.
    getOperation()->walk([](AttentionOp op) {
      std::string why = whyHeadsCannotBeFused(op);
      if (!why.empty())
        op.emitRemark() << "skipped heads not fused away: " << why;
    });
  }
};
} // namespace

void mlir::attn::populateFuseSkippedHeadsPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseSkippedHeads, CompactRuntimeGates, NarrowHeadReduction>(
      patterns.getContext());
}
