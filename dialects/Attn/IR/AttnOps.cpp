//===- AttnOps.cpp - attn operation verifiers -----------------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "AttrParams.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::attn;

#define GET_OP_CLASSES
#include "attn/Dialect/Attn/IR/AttnOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shared checks
//===----------------------------------------------------------------------===//

static constexpr int64_t kDynamic = ShapedType::kDynamic;

/// Prints a shape with `?` for dynamic sizes: `2x?x128`.
static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(
      shape, os,
      [&](int64_t d) {
        if (ShapedType::isDynamic(d))
          os << '?';
        else
          os << d;
      },
      "x");
  return s;
}

/// Two sizes agree unless both are static and differ.
static bool sizesAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Checks that `type` has rank `rank`; `layout` names the dimensions.
static LogicalResult verifyRank(Operation *op, StringRef name,
                                RankedTensorType type, int64_t rank,
                                StringRef layout) {
  if (type.getRank() != rank)
    return op->emitOpError() << "expects " << name << " of rank " << rank
                             << " (" << layout << "), found rank "
                             << type.getRank() << " (" << type << ")";
  return success();
}

/// Checks that `type`'s shape agrees with `expected` (kDynamic = unknown).
static LogicalResult verifyShape(Operation *op, StringRef name,
                                 RankedTensorType type,
                                 ArrayRef<int64_t> expected, StringRef layout) {
  bool ok = type.getRank() == static_cast<int64_t>(expected.size()) &&
            llvm::all_of(llvm::zip(type.getShape(), expected), [](auto pair) {
              return sizesAgree(std::get<0>(pair), std::get<1>(pair));
            });
  if (!ok)
    return op->emitOpError()
           << "expects " << name << " of shape " << shapeString(expected)
           << " (" << layout << "), found " << shapeString(type.getShape());
  return success();
}

static bool isAttentionElementType(Type type) {
  return type.isF16() || type.isBF16() || type.isF32();
}

/// Checks that two size-carrying dimensions agree, naming both.
static LogicalResult verifySameSize(Operation *op, StringRef what,
                                    StringRef aName, int64_t a,
                                    StringRef bName, int64_t b) {
  if (!sizesAgree(a, b))
    return op->emitOpError() << "expects " << what << " to agree, found "
                             << a << " in " << aName << " and " << b << " in "
                             << bName;
  return success();
}

/// Checks that a head dimension is static.
static LogicalResult verifyStatic(Operation *op, StringRef what, int64_t size,
                                  StringRef name) {
  if (ShapedType::isDynamic(size))
    return op->emitOpError() << "expects a static " << what << " in " << name
                             << ", found '?'";
  return success();
}

/// Checks the Q/K pair shared by attention and block selection: rank 4,
/// static heads and head dims, Hq a multiple of Hkv, batch and D agreeing.
static LogicalResult verifyQueryKeyPair(Operation *op, RankedTensorType query,
                                        RankedTensorType key) {
  if (failed(verifyRank(op, "query", query, 4, "B x Hq x Sq x D")) ||
      failed(verifyRank(op, "key", key, 4, "B x Hkv x Skv x D")))
    return failure();
  int64_t hq = query.getDimSize(1), hkv = key.getDimSize(1);
  if (failed(verifyStatic(op, "head count (Hq)", hq, "query")) ||
      failed(verifyStatic(op, "head count (Hkv)", hkv, "key")) ||
      failed(verifyStatic(op, "head dimension", query.getDimSize(3), "query")) ||
      failed(verifyStatic(op, "head dimension", key.getDimSize(3), "key")))
    return failure();
  if (hq < 1 || hkv < 1)
    return op->emitOpError() << "expects at least one head, found Hq = " << hq
                             << " and Hkv = " << hkv;
  if (hq % hkv != 0)
    return op->emitOpError()
           << "expects the query heads (Hq = " << hq
           << ") to be a multiple of the key/value heads (Hkv = " << hkv
           << ")";
  if (query.getDimSize(3) != key.getDimSize(3))
    return op->emitOpError()
           << "expects query and key head dimensions to agree, found "
           << query.getDimSize(3) << " and " << key.getDimSize(3);
  // Scores are dot products over D and the default scale is 1 / sqrt(D):
  // D = 0 would compile to a kernel scaled by inf.
  if (query.getDimSize(3) < 1)
    return op->emitOpError()
           << "expects a head dimension (D) >= 1, found " << query.getDimSize(3);
  return verifySameSize(op, "batch sizes", "query", query.getDimSize(0), "key",
                        key.getDimSize(0));
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

PatternAttrInterface AttentionOp::getEffectivePattern() {
  if (auto pattern = getPatternAttr())
    return pattern;
  return DenseAttr::get(getContext());
}

double AttentionOp::getEffectiveScale() {
  if (auto scale = getScaleAttr())
    return scale.getValueAsDouble();
  return 1.0 / std::sqrt(static_cast<double>(getHeadDim()));
}

/// Checks a block plan against the op's pattern and shapes.
static LogicalResult verifyPlan(AttentionOp op, BlockPlanAttr plan,
                                ArrayRef<SelectedAttr> selected) {
  PatternAttrInterface pattern = op.getEffectivePattern();
  StringRef expected = !selected.empty()             ? "runtime"
                       : hasIrregularLeaf(pattern) ? "table"
                                                     : "analytic";
  if (plan.getKind() != expected)
    return op.emitOpError() << "has a block plan of kind " << plan.getKind()
                            << " but its pattern needs kind " << expected;
  if (!selected.empty() &&
      (plan.getQueryTile() != selected.front().getQueryBlock() ||
       plan.getKeyTile() != selected.front().getKeyBlock()))
    return op.emitOpError()
           << "plans tiles of " << plan.getQueryTile() << "x"
           << plan.getKeyTile() << " but its selected blocks are "
           << selected.front().getQueryBlock() << "x"
           << selected.front().getKeyBlock();
  if (!plan.hasTable())
    return success();
  int64_t hq = op.getNumQueryHeads();
  if (static_cast<int64_t>(plan.getHeads().size()) != hq)
    return op.emitOpError() << "has a block plan table for "
                            << plan.getHeads().size()
                            << " heads but Hq = " << hq;
  int64_t sq = op.getQueryType().getDimSize(2);
  int64_t skv = op.getKeyType().getDimSize(2);
  if (ShapedType::isDynamic(sq) || ShapedType::isDynamic(skv))
    return op.emitOpError() << "has a block plan table but dynamic sequence "
                               "lengths; tables are built for static ones";
  int64_t plans = 0;
  for (int64_t h : plan.getHeads())
    plans = std::max(plans, h + 1);
  int64_t queryTiles = ceilDiv(sq, plan.getQueryTile());
  if (static_cast<int64_t>(plan.getOffsets().size()) !=
      plans * (queryTiles + 1))
    return op.emitOpError() << "has a block plan table with "
                            << plan.getOffsets().size() << " offsets; "
                            << plans << " plans of " << queryTiles
                            << " query tiles need " << plans * (queryTiles + 1);
  int64_t keyTiles = ceilDiv(skv, plan.getKeyTile());
  ArrayRef<int64_t> runs = plan.getRuns();
  for (size_t r = 1; r < runs.size(); r += 3)
    if (runs[r] > keyTiles)
      return op.emitOpError() << "has a block plan run ending at key tile "
                              << runs[r] << " beyond the " << keyTiles
                              << " key tiles of Skv = " << skv;
  return success();
}

LogicalResult AttentionOp::verify() {
  Operation *op = getOperation();
  // The generic form can give any segment sizes that add up; query, key and
  // value are one operand each and the optional ones at most one.
  auto segments = getProperties().operandSegmentSizes;
  for (int i = 0; i < 3; ++i)
    if (segments[i] != 1)
      return emitOpError() << "expects exactly one query, key and value "
                              "operand; operandSegmentSizes gives "
                           << segments[i] << " to operand group " << i;
  for (int i = 3; i < 6; ++i)
    if (segments[i] > 1)
      return emitOpError() << "expects at most one operand in optional group "
                           << i << ", found " << segments[i];
  RankedTensorType query = getQueryType(), key = getKeyType(),
                   value = getValue().getType(),
                   result = getResult().getType();
  if (failed(verifyQueryKeyPair(op, query, key)) ||
      failed(verifyRank(op, "value", value, 4, "B x Hkv x Skv x Dv")) ||
      failed(verifyStatic(op, "head dimension", value.getDimSize(3), "value")))
    return failure();

  Type qElt = query.getElementType(), kElt = key.getElementType(),
       vElt = value.getElementType();
  if (!isAttentionElementType(qElt) || kElt != qElt || vElt != qElt)
    return emitOpError() << "expects query, key and value of one element type "
                            "among f16, bf16, f32; found "
                         << qElt << ", " << kElt << ", " << vElt;
  if (result.getElementType() != qElt)
    return emitOpError() << "expects the result element type to be " << qElt
                         << ", found " << result.getElementType();

  if (value.getDimSize(1) != key.getDimSize(1))
    return emitOpError() << "expects key and value head counts to agree, "
                            "found "
                         << key.getDimSize(1) << " and " << value.getDimSize(1);
  if (failed(verifySameSize(op, "key/value sequence lengths (Skv)", "key",
                            key.getDimSize(2), "value", value.getDimSize(2))) ||
      failed(verifySameSize(op, "batch sizes", "key", key.getDimSize(0),
                            "value", value.getDimSize(0))))
    return failure();

  int64_t batch = query.getDimSize(0);
  if (ShapedType::isDynamic(batch))
    batch = key.getDimSize(0);
  int64_t hq = query.getDimSize(1), sq = query.getDimSize(2);
  if (failed(verifyShape(op, "result", result,
                         {batch, hq, sq, value.getDimSize(3)},
                         "B x Hq x Sq x Dv")))
    return failure();

  if (std::optional<int64_t> layer = getLayer())
    if (*layer < 0 || *layer > std::numeric_limits<int32_t>::max())
      return emitOpError() << "expects a layer index in [0, 2^31), found "
                           << *layer;
  if (auto scale = getScaleAttr()) {
    double s = scale.getValueAsDouble();
    if (!std::isfinite(s) || s <= 0.0)
      return emitOpError() << "expects a finite positive scale, found "
                           << syntax::formatReal(s);
  }

  if (Value gates = getGates()) {
    auto type = cast<RankedTensorType>(gates.getType());
    if (!type.getElementType().isInteger(1))
      return emitOpError() << "expects gates of i1, found "
                           << type.getElementType();
    if (failed(verifyShape(op, "gates", type, {batch, hq}, "B x Hq")))
      return failure();
  }

  if (Value active = getActive()) {
    if (getGates())
      return emitOpError() << "has both gates and active pairs; give one";
    auto type = cast<RankedTensorType>(active.getType());
    if (type.getRank() != 1 || !type.getElementType().isInteger(32))
      return emitOpError() << "expects active pairs as a 1-d tensor of i32 "
                              "(b * Hq + h), found "
                           << type;
  }

  PatternAttrInterface pattern = getEffectivePattern();
  AttentionShape shape{hq, sq, key.getDimSize(2)};
  if (failed(pattern.verifyForShape([&]() { return emitOpError(); }, shape)))
    return failure();

  SmallVector<SelectedAttr> selected = getSelectedLeaves(pattern);
  if (BlockPlanAttr plan = getPlanAttr())
    if (failed(verifyPlan(*this, plan, selected)))
      return failure();
  Value blocks = getBlocks();
  if (selected.empty()) {
    if (blocks)
      return emitOpError() << "has a blocks operand but its pattern has no "
                              "#attn.selected to consume it";
    return success();
  }
  if (!blocks)
    return emitOpError() << "uses " << selected.front()
                         << " but has no blocks operand (the key block "
                            "indices, e.g. from attn.select_blocks)";
  for (SelectedAttr other : selected)
    if (other.getQueryBlock() != selected.front().getQueryBlock() ||
        other.getKeyBlock() != selected.front().getKeyBlock())
      return emitOpError() << "mixes #attn.selected block sizes "
                           << selected.front() << " and " << other
                           << "; one blocks operand has one block size";
  auto blocksType = cast<RankedTensorType>(blocks.getType());
  if (!blocksType.getElementType().isInteger(32))
    return emitOpError() << "expects block indices of i32, found "
                         << blocksType.getElementType();
  int64_t queryBlock = selected.front().getQueryBlock();
  int64_t numQueryBlocks =
      ShapedType::isDynamic(sq) ? kDynamic : ceilDiv(sq, queryBlock);
  int64_t slots = blocksType.getRank() == 4 ? blocksType.getDimSize(3)
                                            : kDynamic;
  return verifyShape(op, "block indices", blocksType,
                     {batch, key.getDimSize(1), numQueryBlocks, slots},
                     "B x Hkv x ceil(Sq / query_block) x K");
}

//===----------------------------------------------------------------------===//
// HeadGateOp
//===----------------------------------------------------------------------===//

LogicalResult HeadGateOp::verify() {
  Operation *op = getOperation();
  auto scores = cast<RankedTensorType>(getScores().getType());
  auto gates = cast<RankedTensorType>(getGates().getType());
  if (failed(verifyRank(op, "scores", scores, 2, "B x H")))
    return failure();
  if (!isa<FloatType>(scores.getElementType()))
    return emitOpError() << "expects floating-point router scores, found "
                         << scores.getElementType();
  if (!gates.getElementType().isInteger(1))
    return emitOpError() << "expects gates of i1, found "
                         << gates.getElementType();
  if (failed(verifyShape(op, "gates", gates, scores.getShape(), "B x H")))
    return failure();

  if (std::optional<int64_t> layer = getLayer())
    if (*layer < 0 || *layer > std::numeric_limits<int32_t>::max())
      return emitOpError() << "expects a layer index in [0, 2^31), found "
                           << *layer;
  int rules = (getBudgetAttr() ? 1 : 0) + (getBudgetValue() ? 1 : 0) +
              (getThresholdAttr() ? 1 : 0);
  if (rules != 1)
    return emitOpError() << "expects exactly one gating rule (a budget "
                            "attribute, a budget operand or a threshold), "
                            "found "
                         << rules;
  if (auto threshold = getThresholdAttr())
    if (!std::isfinite(threshold.getValueAsDouble()))
      return emitOpError() << "expects a finite threshold, found "
                           << syntax::formatReal(threshold.getValueAsDouble());

  int64_t minActive = getMinActive();
  int64_t heads = scores.getDimSize(1);
  if (std::optional<ArrayRef<int64_t>> costs = getHeadCosts()) {
    if (!getBudgetAttr() && !getBudgetValue())
      return emitOpError() << "has head_costs but no budget to weigh them "
                              "against";
    if (ShapedType::isDynamic(heads) ||
        static_cast<int64_t>(costs->size()) != heads)
      return emitOpError() << "expects one head cost per head ("
                           << (ShapedType::isDynamic(heads)
                                   ? std::string("a static H")
                                   : std::to_string(heads))
                           << "), found " << costs->size();
    for (auto [h, cost] : llvm::enumerate(*costs))
      if (cost <= 0)
        return emitOpError() << "expects positive head costs; head " << h
                             << " costs " << cost;
  }
  if (minActive < 0)
    return emitOpError() << "expects min_active >= 0, found " << minActive;
  if (!ShapedType::isDynamic(heads) && minActive > heads)
    return emitOpError() << "expects min_active <= the number of heads ("
                         << heads << "), found " << minActive;
  return success();
}

//===----------------------------------------------------------------------===//
// ActiveHeadsOp
//===----------------------------------------------------------------------===//

LogicalResult ActiveHeadsOp::verify() {
  auto gates = cast<RankedTensorType>(getGates().getType());
  auto pairs = cast<RankedTensorType>(getPairs().getType());
  if (gates.getRank() != 2 || !gates.getElementType().isInteger(1))
    return emitOpError() << "expects gates of shape B x H and type i1, found "
                         << gates;
  if (pairs.getRank() != 1 || !pairs.getElementType().isInteger(32) ||
      !pairs.isDynamicDim(0))
    return emitOpError() << "expects the pairs as tensor<?xi32> (their count "
                            "is known at run time), found "
                         << pairs;
  return success();
}

//===----------------------------------------------------------------------===//
// SelectBlocksOp
//===----------------------------------------------------------------------===//

LogicalResult SelectBlocksOp::verify() {
  Operation *op = getOperation();
  auto query = cast<RankedTensorType>(getQuery().getType());
  auto key = cast<RankedTensorType>(getKey().getType());
  if (failed(verifyQueryKeyPair(op, query, key)))
    return failure();
  if (!isAttentionElementType(query.getElementType()) ||
      key.getElementType() != query.getElementType())
    return emitOpError() << "expects query and key of one element type "
                            "among f16, bf16, f32; found "
                         << query.getElementType() << " and "
                         << key.getElementType();

  int64_t queryBlock = getQueryBlock(), keyBlock = getKeyBlock(),
          topK = getTopK(), sink = getKeepSink(), local = getKeepLocal();
  if (queryBlock < 1 || keyBlock < 1)
    return emitOpError() << "expects query_block and key_block >= 1, found "
                         << queryBlock << " and " << keyBlock;
  if (topK < 1)
    return emitOpError() << "expects top_k >= 1, found " << topK;
  if (sink < 0 || local < 0)
    return emitOpError() << "expects keep_sink and keep_local >= 0, found "
                         << sink << " and " << local;
  // Compared one by one first so that huge values cannot overflow the sum.
  if (sink > topK || local > topK || sink + local > topK)
    return emitOpError() << "keeps " << sink << " sink and " << local
                         << " local blocks, more than top_k = " << topK;

  int64_t skv = key.getDimSize(2);
  int64_t numKeyBlocks =
      ShapedType::isDynamic(skv) ? kDynamic : ceilDiv(skv, keyBlock);
  if (!ShapedType::isDynamic(numKeyBlocks) && topK > numKeyBlocks)
    return emitOpError() << "expects top_k <= the number of key blocks ("
                         << numKeyBlocks << " blocks of " << keyBlock
                         << " in Skv = " << skv << "), found " << topK;

  int64_t batch = query.getDimSize(0);
  if (ShapedType::isDynamic(batch))
    batch = key.getDimSize(0);
  int64_t hkv = key.getDimSize(1), sq = query.getDimSize(2);

  if (Value pooled = getPooledKeys()) {
    auto type = cast<RankedTensorType>(pooled.getType());
    if (type.getElementType() != key.getElementType())
      return emitOpError() << "expects pooled keys of element type "
                           << key.getElementType() << ", found "
                           << type.getElementType();
    if (failed(verifyShape(op, "pooled keys", type,
                           {batch, hkv, numKeyBlocks, key.getDimSize(3)},
                           "B x Hkv x ceil(Skv / key_block) x D")))
      return failure();
  }

  auto indices = cast<RankedTensorType>(getIndices().getType());
  if (!indices.getElementType().isInteger(32))
    return emitOpError() << "expects i32 block indices, found "
                         << indices.getElementType();
  int64_t numQueryBlocks =
      ShapedType::isDynamic(sq) ? kDynamic : ceilDiv(sq, queryBlock);
  return verifyShape(op, "result", indices,
                     {batch, hkv, numQueryBlocks, topK},
                     "B x Hkv x ceil(Sq / query_block) x top_k");
}

//===----------------------------------------------------------------------===//
// CompressKVOp
//===----------------------------------------------------------------------===//

LogicalResult CompressKVOp::verify() {
  Operation *op = getOperation();
  auto key = cast<RankedTensorType>(getKey().getType());
  auto value = cast<RankedTensorType>(getValue().getType());
  if (failed(verifyRank(op, "key", key, 4, "B x Hkv x S x D")) ||
      failed(verifyRank(op, "value", value, 4, "B x Hkv x S x Dv")))
    return failure();
  if (!isAttentionElementType(key.getElementType()) ||
      value.getElementType() != key.getElementType())
    return emitOpError() << "expects key and value of one element type among "
                            "f16, bf16, f32; found "
                         << key.getElementType() << " and "
                         << value.getElementType();
  int64_t hkv = key.getDimSize(1);
  if (failed(verifyStatic(op, "head count (Hkv)", hkv, "key")) ||
      failed(verifySameSize(op, "batch sizes", "key", key.getDimSize(0),
                            "value", value.getDimSize(0))) ||
      failed(verifySameSize(op, "head counts", "key", hkv, "value",
                            value.getDimSize(1))) ||
      failed(verifySameSize(op, "sequence lengths", "key", key.getDimSize(2),
                            "value", value.getDimSize(2))))
    return failure();

  int64_t block = getBlock(), stride = getEffectiveStride();
  if (block < 1)
    return emitOpError() << "expects block >= 1, found " << block;
  if (stride < 1 || stride > block)
    return emitOpError() << "expects 1 <= stride <= block (" << block
                         << ") so that no token is skipped, found " << stride;

  bool linear = getMethod() == CompressionMethod::Linear;
  if (Value weights = getWeights()) {
    if (!linear)
      return emitOpError() << "has weights but method is '"
                           << stringifyCompressionMethod(getMethod())
                           << "'; weights belong to method 'linear'";
    auto type = cast<RankedTensorType>(weights.getType());
    if (!isa<FloatType>(type.getElementType()))
      return emitOpError() << "expects floating-point weights, found "
                           << type.getElementType();
    if (failed(verifyShape(op, "weights", type, {hkv, block}, "Hkv x block")))
      return failure();
  } else if (linear) {
    return emitOpError() << "uses method 'linear' but has no weights operand "
                            "(Hkv x block)";
  }

  int64_t seq = key.getDimSize(2);
  int64_t slots = kDynamic;
  if (!ShapedType::isDynamic(seq)) {
    if (seq < block)
      return emitOpError() << "expects at least one block of " << block
                           << " tokens, found a sequence of " << seq;
    slots = (seq - block) / stride + 1;
  }
  int64_t batch = ShapedType::isDynamic(key.getDimSize(0)) ? value.getDimSize(0)
                                                           : key.getDimSize(0);
  auto ck = cast<RankedTensorType>(getCompressedKey().getType());
  auto cv = cast<RankedTensorType>(getCompressedValue().getType());
  if (ck.getElementType() != key.getElementType() ||
      cv.getElementType() != key.getElementType())
    return emitOpError() << "expects compressed results of element type "
                         << key.getElementType() << ", found "
                         << ck.getElementType() << " and "
                         << cv.getElementType();
  if (failed(verifyShape(op, "compressed key", ck,
                         {batch, hkv, slots, key.getDimSize(3)},
                         "B x Hkv x (S - block) / stride + 1 x D")))
    return failure();
  return verifyShape(op, "compressed value", cv,
                     {batch, hkv, slots, value.getDimSize(3)},
                     "B x Hkv x (S - block) / stride + 1 x Dv");
}

//===----------------------------------------------------------------------===//
// SparseBranchesOp
//===----------------------------------------------------------------------===//

double SparseBranchesOp::getEffectiveScale() {
  if (auto scale = getScaleAttr())
    return scale.getValueAsDouble();
  return 1.0 / std::sqrt(static_cast<double>(getHeadDim()));
}

LogicalResult SparseBranchesOp::verify() {
  Operation *op = getOperation();
  RankedTensorType query = getQueryType(), key = getKeyType(),
                   value = getValue().getType(),
                   compressedKey = getCompressedKey().getType(),
                   compressedValue = getCompressedValue().getType(),
                   blocks = getBlocks().getType(),
                   weights = getWeights().getType(),
                   result = getResult().getType();
  if (failed(verifyQueryKeyPair(op, query, key)) ||
      failed(verifyRank(op, "value", value, 4, "B x Hkv x Skv x Dv")) ||
      failed(verifyStatic(op, "head dimension", value.getDimSize(3), "value")))
    return failure();
  Type elt = query.getElementType();
  if (!isAttentionElementType(elt))
    return emitOpError() << "expects a query element type among f16, bf16, "
                            "f32, found "
                         << elt;
  for (auto [name, type] :
       {std::pair<StringRef, RankedTensorType>{"key", key},
        {"value", value},
        {"compressed key", compressedKey},
        {"compressed value", compressedValue},
        {"result", result}})
    if (type.getElementType() != elt)
      return emitOpError() << "expects the " << name << " element type to be "
                           << elt << " (the query's), found "
                           << type.getElementType();

  int64_t batch = query.getDimSize(0);
  if (ShapedType::isDynamic(batch))
    batch = key.getDimSize(0);
  const int64_t hq = query.getDimSize(1), hkv = key.getDimSize(1),
                sq = query.getDimSize(2), skv = key.getDimSize(2),
                d = query.getDimSize(3), dv = value.getDimSize(3);
  if (failed(verifyShape(op, "value", value, {batch, hkv, skv, dv},
                         "B x Hkv x Skv x Dv")))
    return failure();

  // The compressed branch: N = (Skv - block) / stride + 1 slots.
  int64_t block = getCompressBlock(), stride = getEffectiveCompressStride();
  if (block < 1)
    return emitOpError() << "expects compress_block >= 1, found " << block;
  if (stride < 1 || stride > block)
    return emitOpError() << "expects 1 <= compress_stride <= compress_block ("
                         << block << "), found " << stride;
  int64_t slots = kDynamic;
  if (!ShapedType::isDynamic(skv)) {
    if (skv < block)
      return emitOpError() << "expects at least one compressed block of "
                           << block << " keys, found Skv = " << skv;
    slots = (skv - block) / stride + 1;
  }
  if (failed(verifyShape(op, "compressed key", compressedKey,
                         {batch, hkv, slots, d},
                         "B x Hkv x (Skv - compress_block) / compress_stride "
                         "+ 1 x D")) ||
      failed(verifyShape(op, "compressed value", compressedValue,
                         {batch, hkv, slots, dv},
                         "B x Hkv x (Skv - compress_block) / compress_stride "
                         "+ 1 x Dv")))
    return failure();
  if (!sizesAgree(compressedKey.getDimSize(2), compressedValue.getDimSize(2)))
    return emitOpError() << "expects compressed key and value of one length, "
                            "found "
                         << compressedKey.getDimSize(2) << " and "
                         << compressedValue.getDimSize(2);

  // The selected branch: attention's #attn.selected rule.
  SelectedAttr selected = getSelected();
  AttentionShape shape{hq, sq, skv};
  if (failed(selected.verifyForShape([&]() { return emitOpError(); }, shape)))
    return failure();
  if (selected.getCausal() != getCausal())
    return emitOpError() << "has " << (getCausal() ? "" : "no ")
                         << "causal but its selected branch " << selected
                         << (selected.getCausal() ? " is" : " is not")
                         << " causal; the branches of one op share causality";
  if (!blocks.getElementType().isInteger(32))
    return emitOpError() << "expects block indices of i32, found "
                         << blocks.getElementType();
  int64_t numQueryBlocks = ShapedType::isDynamic(sq)
                               ? kDynamic
                               : ceilDiv(sq, selected.getQueryBlock());
  int64_t listSlots = blocks.getRank() == 4 ? blocks.getDimSize(3) : kDynamic;
  if (failed(verifyShape(op, "block indices", blocks,
                         {batch, hkv, numQueryBlocks, listSlots},
                         "B x Hkv x ceil(Sq / query_block) x K")))
    return failure();
  if (ShapedType::isDynamic(listSlots) || listSlots < 1)
    return emitOpError() << "expects a static slot count K >= 1 in the block "
                            "indices, found "
                         << (ShapedType::isDynamic(listSlots)
                                 ? std::string("'?'")
                                 : std::to_string(listSlots));

  // The window branch: any static pattern.
  PatternAttrInterface window = getWindow();
  if (!getSelectedLeaves(window).empty())
    return emitOpError() << "expects a window pattern without run-time "
                            "blocks, found "
                         << window
                         << " (the selected branch is the op's `selected`)";
  if (failed(window.verifyForShape([&]() { return emitOpError(); }, shape)))
    return failure();

  if (!isAttentionElementType(weights.getElementType()))
    return emitOpError() << "expects branch weights of f16, bf16 or f32, found "
                         << weights.getElementType();
  if (failed(verifyShape(op, "weights", weights, {batch, hq, sq, 3},
                         "B x Hq x Sq x 3: compressed, selected, window")))
    return failure();
  if (weights.isDynamicDim(3))
    return emitOpError() << "expects a static 3 as the weights' last "
                            "dimension (one weight per branch), found '?'";
  if (failed(verifyShape(op, "result", result, {batch, hq, sq, dv},
                         "B x Hq x Sq x Dv")))
    return failure();

  if (std::optional<int64_t> layer = getLayer())
    if (*layer < 0 || *layer > std::numeric_limits<int32_t>::max())
      return emitOpError() << "expects a layer index in [0, 2^31), found "
                           << *layer;
  if (auto scale = getScaleAttr()) {
    double s = scale.getValueAsDouble();
    if (!std::isfinite(s) || s <= 0.0)
      return emitOpError() << "expects a finite positive scale, found "
                           << syntax::formatReal(s);
  }
  return success();
}
