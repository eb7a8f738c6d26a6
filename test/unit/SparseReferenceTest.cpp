//===- SparseReferenceTest.cpp - Reference select_blocks / compress_kv ----===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The reference of docs/sparse-projection.md, section 1, on small cases
// worked by hand: ties, NaN scores, causal validity with Sq != Skv both
// ways, forced sink and local blocks that overlap, ragged last query and key
// blocks, GQA pooling, and compress_kv's mean and linear methods. Scores are
// made exact by single-dimension inputs (pooled query 1, scores = pooled
// keys) so that each expected index list follows from the rules alone.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Reference/Reference.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::attn;

namespace {

HostTensor tensorOf(ArrayRef<int64_t> shape, ArrayRef<double> values) {
  HostTensor t(shape);
  EXPECT_EQ(int64_t(values.size()), t.numElements());
  t.data.assign(values.begin(), values.end());
  return t;
}

/// The index list of (b, g, i) as integers.
std::vector<int64_t> row(const HostTensor &indices, int64_t b, int64_t g,
                         int64_t i) {
  std::vector<int64_t> out;
  for (int64_t s = 0; s < indices.shape[3]; ++s)
    out.push_back(int64_t(indices.at({b, g, i, s})));
  return out;
}

/// One query block of `rows` rows of ones (pooled query 1) against pooled
/// keys `scores` (D = 1): the scores are exactly `scores`.
HostTensor selectByScores(ArrayRef<double> scores, SelectBlocksParams params,
                          int64_t rows, int64_t keys, double *gap = nullptr) {
  HostTensor q(ArrayRef<int64_t>{1, 1, rows, 1}, 1.0);
  HostTensor k(ArrayRef<int64_t>{1, 1, keys, 1});
  HostTensor pooled =
      tensorOf({1, 1, int64_t(scores.size()), 1}, scores);
  return referenceSelectBlocks(q, k, &pooled, params, gap);
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(SparseReference, TiesGoToTheLowerIndexAndNaNComesLast) {
  SelectBlocksParams p;
  p.queryBlock = 4;
  p.keyBlock = 1;
  std::vector<double> scores = {0.5, 2, 2, kNaN, 3, kNaN};
  p.topK = 2; // 3 (block 4), then the tie 2/2 goes to block 1.
  double gap = -1;
  EXPECT_EQ(row(selectByScores(scores, p, 4, 6, &gap), 0, 0, 0),
            (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(gap, 0.0); // Chosen block 1 and left-out block 2 tie.
  p.topK = 3;
  EXPECT_EQ(row(selectByScores(scores, p, 4, 6, &gap), 0, 0, 0),
            (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(gap, 1.5); // Block 2 (2) in, block 0 (0.5) out.
  p.topK = 5; // Every number, then the first NaN.
  EXPECT_EQ(row(selectByScores(scores, p, 4, 6), 0, 0, 0),
            (std::vector<int64_t>{0, 1, 2, 3, 4}));
  p.topK = 6;
  EXPECT_EQ(row(selectByScores(scores, p, 4, 6), 0, 0, 0),
            (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

TEST(SparseReference, CausalValidityFollowsPositionsWithFewerQueries) {
  // Sq = 4 rows at positions 4..7 of Skv = 8; blocks of 2 keys.
  SelectBlocksParams p;
  p.queryBlock = 2;
  p.keyBlock = 2;
  p.topK = 4;
  p.causal = true;
  HostTensor q(ArrayRef<int64_t>{1, 1, 4, 1}, 1.0);
  HostTensor pooled = tensorOf({1, 1, 4, 1}, {1, 2, 3, 4});
  HostTensor k(ArrayRef<int64_t>{1, 1, 8, 1});
  HostTensor idx = referenceSelectBlocks(q, k, &pooled, p);
  ASSERT_EQ(idx.shape, (SmallVector<int64_t, 4>{1, 1, 2, 4}));
  // Query block 0 ends at position 5: block 3 (keys 6, 7) is after it.
  EXPECT_EQ(row(idx, 0, 0, 0), (std::vector<int64_t>{0, 1, 2, -1}));
  EXPECT_EQ(row(idx, 0, 0, 1), (std::vector<int64_t>{0, 1, 2, 3}));
  // Not causal: every block is valid everywhere.
  p.causal = false;
  EXPECT_EQ(row(referenceSelectBlocks(q, k, &pooled, p), 0, 0, 0),
            (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(SparseReference, QueryBlocksBeforePositionZeroHaveNoValidBlock) {
  // Sq = 6 rows at positions -4..1 of Skv = 2.
  SelectBlocksParams p;
  p.queryBlock = 2;
  p.keyBlock = 1;
  p.topK = 2;
  p.keepSink = 1;
  p.keepLocal = 1;
  p.causal = true;
  HostTensor q(ArrayRef<int64_t>{1, 1, 6, 1}, 1.0);
  HostTensor k(ArrayRef<int64_t>{1, 1, 2, 1}, 1.0);
  HostTensor idx = referenceSelectBlocks(q, k, nullptr, p);
  EXPECT_EQ(row(idx, 0, 0, 0), (std::vector<int64_t>{-1, -1})); // P = -3
  EXPECT_EQ(row(idx, 0, 0, 1), (std::vector<int64_t>{-1, -1})); // P = -1
  EXPECT_EQ(row(idx, 0, 0, 2), (std::vector<int64_t>{0, 1}));   // P = 1
}

TEST(SparseReference, ForcedBlocksOverlapAndComeBeforeScores) {
  // Sq = Skv = 5, query blocks of 2 rows, key blocks of 1; the forced blocks
  // score lowest, so only the forcing keeps them.
  SelectBlocksParams p;
  p.queryBlock = 2;
  p.keyBlock = 1;
  p.topK = 3;
  p.keepSink = 1;
  p.keepLocal = 2;
  p.causal = true;
  std::vector<double> scores = {-5, -4, 1, 3, 2};
  HostTensor idx = selectByScores(scores, p, 5, 5);
  // Block 0 (P = 1, L = 1): sink {0} and local {0, 1} overlap; no other
  // block is valid, so one slot stays empty.
  EXPECT_EQ(row(idx, 0, 0, 0), (std::vector<int64_t>{0, 1, -1}));
  // Block 1 (P = 3): sink {0}, local {2, 3}.
  EXPECT_EQ(row(idx, 0, 0, 1), (std::vector<int64_t>{0, 2, 3}));
  // Block 2 (one row, P = 4): sink {0}, local {3, 4}.
  EXPECT_EQ(row(idx, 0, 0, 2), (std::vector<int64_t>{0, 3, 4}));
  // Not causal: the same forced blocks (L is the block of the last
  // position), and the free slot of query block 0 goes to block 3.
  p.causal = false;
  idx = selectByScores(scores, p, 5, 5);
  EXPECT_EQ(row(idx, 0, 0, 0), (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(row(idx, 0, 0, 1), (std::vector<int64_t>{0, 2, 3}));
}

TEST(SparseReference, RaggedBlocksPoolOverWhatExists) {
  // GQA (2 query heads, 1 KV head); Sq = 3 (query block 1 has row 2 only),
  // Skv = 5 (key block 2 has key 4 only).
  SelectBlocksParams p;
  p.queryBlock = 2;
  p.keyBlock = 2;
  p.topK = 1;
  // Keys 2, 2 | 0, 0 | 3: pooled keys 2, 0, 3 (3 / 2 = 1.5 would lose).
  HostTensor k = tensorOf({1, 1, 5, 1}, {2, 2, 0, 0, 3});
  // Head 0 rows 1, 1, -1; head 1 rows 1, 1, 3: query block 1 pools to
  // (-1 + 3) / 2 = 1 over both heads (-1 with head 0 alone).
  HostTensor q = tensorOf({1, 2, 3, 1}, {1, 1, -1, 1, 1, 3});
  HostTensor idx = referenceSelectBlocks(q, k, nullptr, p);
  EXPECT_EQ(row(idx, 0, 0, 0), (std::vector<int64_t>{2}));
  EXPECT_EQ(row(idx, 0, 0, 1), (std::vector<int64_t>{2}));
  // With a negative pooled query the order reverses: block 1 (score 0).
  q.at({0, 1, 2, 0}) = -3;
  EXPECT_EQ(row(referenceSelectBlocks(q, k, nullptr, p), 0, 0, 1),
            (std::vector<int64_t>{1}));
}

TEST(SparseReference, CompressMeanAndLinear) {
  // S = 5, windows of 2 every 1: N = 4.
  HostTensor k = tensorOf({1, 1, 5, 1}, {1, 3, 5, 7, 9});
  HostTensor v = tensorOf({1, 1, 5, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto [ck, cv] = referenceCompressKV(k, v, nullptr, 2, 1);
  EXPECT_EQ(ck.shape, (SmallVector<int64_t, 4>{1, 1, 4, 1}));
  EXPECT_EQ(ck.data, (std::vector<double>{2, 4, 6, 8}));
  EXPECT_EQ(cv.data, (std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8}));
  // Stride 2, windows of 3: N = (5 - 3) / 2 + 1 = 2; weights 1, 0, -1.
  HostTensor w = tensorOf({1, 3}, {1, 0, -1});
  auto [lk, lv] = referenceCompressKV(k, v, &w, 3, 2);
  EXPECT_EQ(lk.data, (std::vector<double>{1 - 5, 5 - 9}));
  EXPECT_EQ(lv.data, (std::vector<double>{0 - 4, 1 - 5, 4 - 8, 5 - 9}));
  // Shorter than one window: no slot.
  auto [none, noneV] = referenceCompressKV(k, v, nullptr, 6, 1);
  EXPECT_EQ(none.shape[2], 0);
}

TEST(SparseReference, EvaluatorRunsSelectAndCompress) {
  MLIRContext context;
  context.loadDialect<AttnDialect, func::FuncDialect>();
  const char *ir = R"mlir(
    func.func @f(%q: tensor<1x2x3x1xf32>, %k: tensor<1x1x5x1xf32>,
                 %v: tensor<1x1x5x1xf32>)
        -> (tensor<1x1x2x2xi32>, tensor<1x1x4x1xf32>, tensor<1x1x4x1xf32>) {
      %idx = attn.select_blocks %q, %k
          {query_block = 2 : i64, key_block = 2 : i64, top_k = 2 : i64,
           keep_sink = 1 : i64, causal}
          : tensor<1x2x3x1xf32>, tensor<1x1x5x1xf32> -> tensor<1x1x2x2xi32>
      %ck, %cv = attn.compress_kv %k, %v
          {block = 2 : i64, stride = 1 : i64, method = #attn.compression<mean>}
          : tensor<1x1x5x1xf32>, tensor<1x1x5x1xf32>
            -> tensor<1x1x4x1xf32>, tensor<1x1x4x1xf32>
      return %idx, %ck, %cv
          : tensor<1x1x2x2xi32>, tensor<1x1x4x1xf32>, tensor<1x1x4x1xf32>
    })mlir";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(ir, &context);
  ASSERT_TRUE(module);
  auto func = cast<func::FuncOp>(module->getBody()->front());
  HostTensor q = tensorOf({1, 2, 3, 1}, {1, 1, -1, 1, 1, 3});
  HostTensor k = tensorOf({1, 1, 5, 1}, {2, 2, 0, 0, 3});
  std::string error;
  FailureOr<std::vector<HostTensor>> results =
      evaluate(func, {q, k, k}, error);
  ASSERT_TRUE(succeeded(results)) << error;
  // Query block 0 (positions 2, 3 of 5): blocks 0, 1 valid, sink 0 forced,
  // then block 1. Query block 1 (position 4): sink 0, then block 2 (3 > 0).
  EXPECT_EQ(row((*results)[0], 0, 0, 0), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(row((*results)[0], 0, 0, 1), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ((*results)[1].data, (std::vector<double>{2, 1, 0, 1.5}));
  EXPECT_EQ((*results)[2].data, (*results)[1].data);
}

} // namespace
