//===- ProjectionCostTest.cpp - Cost of block selection and compression ---===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Cost/CostModel.h"

#include <gtest/gtest.h>

using namespace mlir::attn;

namespace {

const TargetDescription &h100() {
  const TargetDescription *target = lookupTarget("sm_90");
  EXPECT_NE(target, nullptr);
  return *target;
}

// Counts by hand: B = 1, Hq = 4, Hkv = 2, Sq = 300, Skv = 1000, D = 64,
// 64-blocks: 5 query blocks, 16 key blocks, top_k 4.
TEST(ProjectionCost, SelectCountsPoolingScoresAndRounds) {
  SelectProblem p{1, 4, 2, 300, 1000, 64, 64, 64, 4, false, 2};
  ProjectionCost c = estimateSelectCost(p, h100());
  EXPECT_DOUBLE_EQ(c.poolFlops, 4.0 * 300 * 64 + 2.0 * 1000 * 64);
  EXPECT_DOUBLE_EQ(c.scoreFlops, 2.0 * 2 * 5 * 16 * 64);
  EXPECT_DOUBLE_EQ(c.compareOps, 2.0 * 5 * 16 * 4);
  EXPECT_DOUBLE_EQ(c.readBytes, (4.0 * 300 * 64 + 2.0 * 1000 * 64) * 2);
  EXPECT_EQ(c.outputsPerHead, 5 * 4);
  EXPECT_DOUBLE_EQ(c.writeBytes, 2.0 * 20 * 4);
  EXPECT_GT(c.estimateSeconds, 0);
  EXPECT_DOUBLE_EQ(c.estimateSeconds,
                   std::max(c.computeSeconds, c.memorySeconds));
}

TEST(ProjectionCost, PooledKeysReadOneRowPerBlock) {
  SelectProblem p{1, 4, 2, 300, 1000, 64, 64, 64, 4, true, 2};
  ProjectionCost c = estimateSelectCost(p, h100());
  EXPECT_DOUBLE_EQ(c.poolFlops, 4.0 * 300 * 64);
  EXPECT_DOUBLE_EQ(c.readBytes, (4.0 * 300 * 64 + 2.0 * 16 * 64) * 2);
}

// A budget trades top_k against heads through these counts: more blocks
// cost more rounds, never fewer.
TEST(ProjectionCost, SelectIsMonotoneInTopK) {
  double previous = 0;
  for (int64_t k : {1, 2, 4, 8, 16}) {
    SelectProblem p{1, 16, 2, 16384, 16384, 128, 64, 64, k, false, 2};
    ProjectionCost c = estimateSelectCost(p, h100());
    EXPECT_GT(c.compareOps, previous);
    previous = c.compareOps;
  }
}

// S = 100, windows of 32 every 16: N = 5 slots covering tokens [0, 96).
TEST(ProjectionCost, CompressCountsWindowsAndCoveredTokens) {
  CompressProblem p{2, 3, 100, 64, 32, 32, 16, 2};
  ProjectionCost c = estimateCompressCost(p, h100());
  EXPECT_EQ(c.outputsPerHead, 5);
  EXPECT_DOUBLE_EQ(c.poolFlops, 2.0 * 2 * 3 * 5 * 32 * 96);
  EXPECT_DOUBLE_EQ(c.readBytes, 2.0 * 3 * 96 * 96 * 2);
  EXPECT_DOUBLE_EQ(c.writeBytes, 2.0 * 3 * 5 * 96 * 2);
  EXPECT_EQ(c.bound, "memory");
}

TEST(ProjectionCost, CompressShorterThanOneWindowCostsNothing) {
  CompressProblem p{1, 1, 10, 64, 64, 32, 32, 2};
  ProjectionCost c = estimateCompressCost(p, h100());
  EXPECT_EQ(c.outputsPerHead, 0);
  EXPECT_DOUBLE_EQ(c.totalBytes(), 0);
}

TEST(ProjectionCost, JSONHasEveryCount) {
  SelectProblem p{1, 4, 2, 300, 1000, 64, 64, 64, 4, false, 2};
  llvm::json::Object o = projectionCostToJSON(estimateSelectCost(p, h100()));
  for (llvm::StringRef key :
       {"flops", "bytes", "outputs_per_head", "time_us", "bound"})
    EXPECT_NE(o.get(key), nullptr) << key.str();
}

} // namespace
