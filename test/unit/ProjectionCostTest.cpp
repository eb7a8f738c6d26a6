//===- ProjectionCostTest.cpp - Cost of block selection and compression ---===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Cost/CostModel.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/IR/AttnAttrs.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
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

//===----------------------------------------------------------------------===//
// NSA's combined form
//===----------------------------------------------------------------------===//

/// B = 1, Hq = 2, Hkv = 1, Sq = Skv = 200, D = Dv = 16, compressed windows
/// of 32 every 16 (11 slots), top-2 of 64-blocks, a causal local window of
/// 64, 64 x 64 tiles (4 query tiles, the last of 8 rows).
class SparseBranchesCostTest : public testing::Test {
protected:
  SparseBranchesCostTest() { context.loadDialect<AttnDialect>(); }

  BlockPlan plan(PatternAttrInterface pattern) {
    FailureOr<BlockPlan> built = BlockPlan::build(
        pattern, {2, 200, 200}, {64, 64},
        [&] { return emitError(UnknownLoc::get(&context)); });
    EXPECT_TRUE(succeeded(built));
    return std::move(*built);
  }

  SparseBranchesProblem problem(bool causal) {
    SparseBranchesProblem p;
    p.attention = {1, 2, 1, 200, 200, 16, 16, 2, /*selectedTiles=*/2};
    p.compressBlock = 32;
    p.compressStride = 16;
    p.slots = 11;
    p.causal = causal;
    p.topK = 2;
    p.weightBytes = 4;
    return p;
  }

  MLIRContext context;
};

TEST_F(SparseBranchesCostTest, BranchesAddUp) {
  BlockPlan selected = plan(SelectedAttr::get(&context, 64, 64, true));
  BlockPlan window = plan(LocalAttr::get(&context, 64, 1, true));
  SparseBranchesProblem p = problem(/*causal=*/true);
  AttentionCost c = estimateSparseBranchesCost(p, selected, window, h100());
  AttentionProblem alone = p.attention;
  AttentionCost selectedAlone = estimateCost(selected, alone, h100());
  alone.selectedTilesPerQueryTile = 0;
  AttentionCost windowAlone = estimateCost(window, alone, h100());
  // Compressed, by hand: the last rows of the query tiles (63, 127, 191,
  // 199) see slots n with 16 n + 31 <= row: 3, 7, 11 and 11 of them; each
  // tile's one slot tile holds 11 slots, masked ones included, so
  // 64 + 64 + 64 + 8 rows x 11 slots x 2 heads. Only the last tile's first
  // row (192) sees all 11: one full tile per head.
  const int64_t compressedElements = (64 + 64 + 64 + 8) * 11 * 2;
  EXPECT_EQ(c.visitedElements, compressedElements +
                                   selectedAlone.visitedElements +
                                   windowAlone.visitedElements);
  EXPECT_EQ(c.fullTiles,
            2 + selectedAlone.fullTiles + windowAlone.fullTiles);
  EXPECT_EQ(c.partialTiles,
            6 + selectedAlone.partialTiles + windowAlone.partialTiles);
  EXPECT_EQ(c.totalTiles,
            4 * 1 * 2 + selectedAlone.totalTiles + windowAlone.totalTiles);
  EXPECT_DOUBLE_EQ(c.matmulFlops, 2.0 * 32 * double(c.visitedElements));
  EXPECT_DOUBLE_EQ(c.denseMatmulFlops, 2.0 * 32 * 2 * 200 * 200);
  // Q and the f32 weights of every row once, the lists (1 group x 4 blocks
  // x top-2 x i32), O once.
  EXPECT_DOUBLE_EQ(c.queryBytes, 2.0 * 200 * (16 * 2 + 3 * 4) + 4 * 2 * 4);
  EXPECT_DOUBLE_EQ(c.outputBytes, 2.0 * 200 * 16 * 2);
  // K/V: all 11 compressed slots, and of the raw keys at most all 200.
  EXPECT_DOUBLE_EQ(c.keyValueBytes, 11.0 * 32 * 2 + std::min(
      selectedAlone.keyValueBytes + windowAlone.keyValueBytes, 200.0 * 32 * 2));
  EXPECT_EQ(c.activeHeads, 2);
  EXPECT_GT(c.estimateSeconds, 0);
}

TEST_F(SparseBranchesCostTest, NotCausalSeesEverySlot) {
  BlockPlan selected = plan(SelectedAttr::get(&context, 64, 64, false));
  BlockPlan window = plan(LocalAttr::get(&context, 64, 1, false));
  AttentionCost causal =
      estimateSparseBranchesCost(problem(true), selected, window, h100());
  AttentionCost full =
      estimateSparseBranchesCost(problem(false), selected, window, h100());
  // The same slot tiles are visited (11 slots fit one tile), all full.
  EXPECT_EQ(full.visitedElements, causal.visitedElements);
  EXPECT_EQ(full.fullTiles, causal.fullTiles + 6);
  EXPECT_EQ(full.partialTiles, causal.partialTiles - 6);
}

TEST_F(SparseBranchesCostTest, QueriesBeforeTheFirstWindowSeeNoSlot) {
  // Sq = Skv = 200 with windows of 256: no slot at all.
  BlockPlan selected = plan(SelectedAttr::get(&context, 64, 64, true));
  BlockPlan window = plan(LocalAttr::get(&context, 64, 1, true));
  SparseBranchesProblem p = problem(true);
  p.compressBlock = 256;
  p.slots = 0;
  AttentionCost none = estimateSparseBranchesCost(p, selected, window, h100());
  AttentionProblem alone = p.attention;
  AttentionCost selectedAlone = estimateCost(selected, alone, h100());
  alone.selectedTilesPerQueryTile = 0;
  AttentionCost windowAlone = estimateCost(window, alone, h100());
  EXPECT_EQ(none.visitedElements,
            selectedAlone.visitedElements + windowAlone.visitedElements);
}

} // namespace
