//===- RandomPatterns.cpp - Seeded random pattern attributes --------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Parameter ranges are the union of what the property tests used to draw on
// their own: listed values that hit known edges (powers of two, sizes as
// large as or larger than the whole sequence) next to uniform ranges that hit
// the irregular values in between.
//
//===----------------------------------------------------------------------===//

#include "RandomPatterns.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/SmallVector.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::test;

PatternGenerator::PatternGenerator(MLIRContext *ctx, uint64_t seed,
                                   PatternGeneratorOptions options)
    : ctx(ctx), options(options), rng(seed) {}

AttentionExtent PatternGenerator::extent() {
  AttentionExtent extent;
  extent.numHeads = uniform(1, 4);
  extent.keySeqLen = uniform(1, options.maxSeqLen);
  if (coin(0.25))
    extent.querySeqLen = extent.keySeqLen;
  else if (coin(0.15))
    extent.querySeqLen = 1;
  else
    extent.querySeqLen = uniform(1, options.maxSeqLen);
  return extent;
}

PatternAttrInterface
PatternGenerator::staticPattern(const AttentionExtent &extent) {
  if (coin(0.25))
    return perHead(extent, /*withSelected=*/false);
  return memberPattern(extent);
}

PatternAttrInterface
PatternGenerator::runtimePattern(const AttentionExtent &extent) {
  switch (uniform(0, 2)) {
  case 0:
    return selected();
  case 1:
    return unionWithSelected(extent);
  default:
    return perHead(extent, /*withSelected=*/true);
  }
}

/// A per-head list. Mostly its entries come from a pool of 1-3 patterns, so
/// that entries repeat (equal static heads must share a block plan, and
/// head-dependent ones must not); sometimes every head gets its own draw, so
/// that Hq = 4 lists with four different heads occur too. With
/// `withSelected`, one head becomes runtime-selected.
PatternAttrInterface PatternGenerator::perHead(const AttentionExtent &extent,
                                               bool withSelected) {
  SmallVector<Attribute> heads;
  if (coin(0.3)) {
    for (int64_t h = 0; h < extent.numHeads; ++h)
      heads.push_back(memberPattern(extent));
  } else {
    SmallVector<Attribute> pool;
    for (int64_t i = 0, e = uniform(1, 3); i < e; ++i)
      pool.push_back(memberPattern(extent));
    for (int64_t h = 0; h < extent.numHeads; ++h)
      heads.push_back(pick<Attribute>(pool));
  }
  if (withSelected)
    heads[uniform(0, extent.numHeads - 1)] =
        coin() ? Attribute(selected()) : unionWithSelected(extent);
  return PerHeadAttr::get(ctx, ArrayAttr::get(ctx, heads));
}

/// A pattern allowed inside a union or per-head list: a leaf or a union of
/// 1-3 members (rarely nested, so that unions of unions are covered without
/// making every pattern expensive to check).
PatternAttrInterface
PatternGenerator::memberPattern(const AttentionExtent &extent, int depth) {
  if (depth == 0 || !coin(0.35))
    return leafPattern(extent);
  SmallVector<Attribute> members;
  for (int64_t i = 0, e = uniform(1, 3); i < e; ++i)
    members.push_back(coin(0.1) ? memberPattern(extent, depth - 1)
                                : leafPattern(extent));
  return UnionAttr::get(ctx, ArrayAttr::get(ctx, members));
}

/// `#attn.selected` at a random place among 0-2 static leaves (alone in a
/// union too, which must still count as runtime-selected).
PatternAttrInterface
PatternGenerator::unionWithSelected(const AttentionExtent &extent) {
  SmallVector<Attribute> members;
  for (int64_t i = 0, e = uniform(0, 2); i < e; ++i)
    members.push_back(leafPattern(extent));
  members.insert(members.begin() + uniform(0, members.size()), selected());
  return UnionAttr::get(ctx, ArrayAttr::get(ctx, members));
}

PatternAttrInterface PatternGenerator::selected() {
  return SelectedAttr::get(ctx, uniform(1, 64), uniform(1, 64), coin());
}

/// One of the eight static leaf kinds, with random parameters.
PatternAttrInterface
PatternGenerator::leafPattern(const AttentionExtent &extent) {
  switch (uniform(0, 7)) {
  case 0:
    return DenseAttr::get(ctx);
  case 1:
    return CausalAttr::get(ctx);
  case 2:
    return LocalAttr::get(
        ctx, coin() ? pick<int64_t>({1, 2, 3, 5, 8, 17, 40}) : uniform(1, 30),
        uniform(1, 4), coin());
  case 3:
    return StridedAttr::get(ctx, uniform(1, 8), uniform(1, 8), coin());
  case 4:
    // Mostly short prefixes; sometimes one longer than the sequence.
    return GlobalAttr::get(ctx, coin(0.9) ? uniform(1, 24) : uniform(1, 90));
  case 5:
    return ChunkedAttr::get(ctx, uniform(1, 40), coin());
  case 6:
    return randomBlocks();
  default:
    return blockLayout(extent);
  }
}

/// Random blocks at any density in (0, 1] (the listed ones include the
/// extremes); blocks from 1 to larger than any drawn sequence.
PatternAttrInterface PatternGenerator::randomBlocks() {
  double density = coin(0.3) ? pick<double>({1.0, 0.5, 0.25, 0.1, 0.01})
                             : 1.0 - std::uniform_real_distribution<>()(rng);
  int64_t block =
      coin() ? pick<int64_t>({1, 2, 3, 4, 5, 8, 16, 32, 128}) : uniform(1, 16);
  return RandomBlocksAttr::get(ctx, llvm::APFloat(density), rng(), block,
                               coin());
}

/// A random 0/1 layout covering Skv (sometimes with spare rows and columns,
/// which must be ignored), shared by all heads or one matrix per head; dense,
/// sparse, all zeros or all ones.
PatternAttrInterface
PatternGenerator::blockLayout(const AttentionExtent &extent) {
  int64_t block =
      coin() ? pick<int64_t>({1, 2, 3, 4, 7, 8, 16, 32}) : uniform(1, 16);
  int64_t needed = ceilDiv(extent.keySeqLen, block);
  SmallVector<int64_t, 3> shape = {needed + uniform(0, 2),
                                   needed + uniform(0, 2)};
  if (coin(0.3))
    shape.insert(shape.begin(), extent.numHeads);
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  double ones = coin(0.2) ? pick<double>({0.0, 1.0})
                          : std::uniform_real_distribution<>()(rng);
  SmallVector<int8_t> layout;
  for (int64_t i = 0; i < count; ++i)
    layout.push_back(coin(ones) ? 1 : 0);
  return BlockLayoutAttr::get(ctx, block, shape, layout);
}
