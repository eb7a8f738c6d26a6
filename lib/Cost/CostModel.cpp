//===- CostModel.cpp - What an attention op costs on a target -------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Cost/CostModel.h"

#include "llvm/ADT/BitVector.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::attn;

AttentionCost mlir::attn::estimateCost(
    const BlockPlan &plan, const AttentionProblem &problem,
    const TargetDescription &target,
    llvm::function_ref<bool(int64_t)> headActive) {
  const PlanShape &shape = plan.getShape();
  const int64_t numQueryTiles = shape.numQueryTiles();
  const int64_t numKeyTiles = shape.numKeyTiles();
  const int64_t keyTile = shape.tiles.key;
  const int64_t groupSize =
      std::max<int64_t>(1, problem.queryHeads / problem.keyValueHeads);

  AttentionCost cost;
  PlanCounts counts = countPlan(plan, headActive);
  cost.totalTiles = counts.totalTiles * problem.batch;
  cost.fullTiles = counts.fullTiles * problem.batch;
  cost.partialTiles = counts.partialTiles * problem.batch;
  cost.visitedElements = counts.visitedElements * problem.batch;

  // Key tiles each KV head reads at least once, and the tile loads, per
  // batch element.
  int64_t uniqueKeys = 0, tileKeys = 0;
  auto keysIn = [&](int64_t tile) {
    return std::min((tile + 1) * keyTile, problem.keySeqLen) - tile * keyTile;
  };
  TileRunList runs;
  for (int64_t kvHead = 0; kvHead < problem.keyValueHeads; ++kvHead) {
    llvm::BitVector touched(numKeyTiles);
    for (int64_t h = kvHead * groupSize; h < (kvHead + 1) * groupSize; ++h) {
      if (headActive && !headActive(h))
        continue;
      ++cost.activeHeads;
      for (int64_t t = 0; t < numQueryTiles; ++t) {
        runs.clear();
        plan.forHead(h).appendRuns(t, runs);
        for (const TileRun &run : runs) {
          touched.set(run.begin, run.end);
          tileKeys += std::min(run.end * keyTile, problem.keySeqLen) -
                      run.begin * keyTile;
        }
      }
    }
    for (int64_t k : touched.set_bits())
      uniqueKeys += keysIn(k);
  }

  // Runtime-selected tiles: counted as partial, upper bound on keys.
  if (plan.getOverallKind() == PlanKind::Runtime &&
      problem.selectedTilesPerQueryTile > 0) {
    int64_t slots = std::min(problem.selectedTilesPerQueryTile, numKeyTiles);
    int64_t selected = slots * numQueryTiles * cost.activeHeads;
    cost.partialTiles += selected * problem.batch;
    cost.visitedElements += selected * keyTile *
                            std::min(shape.tiles.query, problem.querySeqLen) *
                            problem.batch;
    tileKeys += selected * keyTile;
    uniqueKeys = std::min<int64_t>(problem.keySeqLen * problem.keyValueHeads,
                                   uniqueKeys + selected * keyTile);
  }

  cost.density = cost.totalTiles
                     ? double(cost.visitedTiles()) / double(cost.totalTiles)
                     : 0.0;
  const double elements = double(cost.visitedElements);
  const double dims = double(problem.headDim + problem.valueDim);
  cost.matmulFlops = 2.0 * dims * elements;
  cost.softmaxFlops = 4.0 * elements;
  cost.exponentials = elements;
  cost.denseMatmulFlops = 2.0 * dims * double(problem.batch) *
                          double(problem.queryHeads) *
                          double(problem.querySeqLen) *
                          double(problem.keySeqLen);

  const double bytes = double(problem.elementBytes);
  const double activeHeads = double(cost.activeHeads);
  cost.queryBytes = double(problem.batch) * activeHeads *
                    double(problem.querySeqLen) * double(problem.headDim) *
                    bytes;
  cost.outputBytes = double(problem.batch) * double(problem.queryHeads) *
                     double(problem.querySeqLen) * double(problem.valueDim) *
                     bytes;
  cost.keyValueBytes = double(problem.batch) * double(uniqueKeys) * dims * bytes;
  cost.keyValueTileBytes = double(problem.batch) * double(tileKeys) * dims * bytes;

  const double matmulRate = problem.elementBytes >= 4 ? target.matmulFlopsF32
                                                      : target.matmulFlops;
  cost.computeSeconds =
      cost.matmulFlops / matmulRate + cost.softmaxFlops / target.vectorFlops;
  cost.exponentialSeconds = cost.exponentials / target.expPerSecond;
  cost.memorySeconds = cost.totalBytes() / target.bandwidth;
  cost.estimateSeconds = std::max(
      {cost.computeSeconds, cost.exponentialSeconds, cost.memorySeconds});
  cost.bound = cost.estimateSeconds == cost.memorySeconds ? "memory"
               : cost.estimateSeconds == cost.exponentialSeconds ? "exp"
                                                                 : "compute";
  return cost;
}

llvm::json::Object mlir::attn::costToJSON(const AttentionCost &cost) {
  return llvm::json::Object{
      {"tiles",
       llvm::json::Object{{"total", cost.totalTiles},
                          {"visited", cost.visitedTiles()},
                          {"full", cost.fullTiles},
                          {"partial", cost.partialTiles},
                          {"skipped", cost.skippedTiles()}}},
      {"density", cost.density},
      {"active_heads", cost.activeHeads},
      {"visited_elements", cost.visitedElements},
      {"flops",
       llvm::json::Object{{"matmul", cost.matmulFlops},
                          {"softmax", cost.softmaxFlops},
                          {"total", cost.matmulFlops + cost.softmaxFlops},
                          {"dense_matmul", cost.denseMatmulFlops}}},
      {"exponentials", cost.exponentials},
      {"bytes",
       llvm::json::Object{{"query", cost.queryBytes},
                          {"key_value", cost.keyValueBytes},
                          {"output", cost.outputBytes},
                          {"total", cost.totalBytes()},
                          {"key_value_tile_loads", cost.keyValueTileBytes}}},
      {"time_us",
       llvm::json::Object{{"compute", cost.computeSeconds * 1e6},
                          {"exp", cost.exponentialSeconds * 1e6},
                          {"memory", cost.memorySeconds * 1e6},
                          {"estimate", cost.estimateSeconds * 1e6}}},
      {"bound", cost.bound},
  };
}

//===----------------------------------------------------------------------===//
// Sparse projection
//===----------------------------------------------------------------------===//

static void finishProjection(ProjectionCost &cost,
                             const TargetDescription &target) {
  cost.computeSeconds =
      (cost.poolFlops + cost.scoreFlops + cost.compareOps) / target.vectorFlops;
  cost.memorySeconds = cost.totalBytes() / target.bandwidth;
  cost.estimateSeconds = std::max(cost.computeSeconds, cost.memorySeconds);
  cost.bound =
      cost.estimateSeconds == cost.memorySeconds ? "memory" : "compute";
}

ProjectionCost mlir::attn::estimateSelectCost(const SelectProblem &problem,
                                              const TargetDescription &target) {
  ProjectionCost cost;
  const double b = double(problem.batch), hq = double(problem.queryHeads),
               hkv = double(problem.keyValueHeads),
               sq = double(problem.querySeqLen),
               skv = double(problem.keySeqLen), d = double(problem.headDim),
               bytes = double(problem.elementBytes);
  const int64_t queryBlocks =
      llvm::divideCeil(problem.querySeqLen, problem.queryBlock);
  const int64_t keyBlocks =
      llvm::divideCeil(problem.keySeqLen, problem.keyBlock);
  const double nqb = double(queryBlocks), nkb = double(keyBlocks);
  // Every query element is added once into its block's mean; keys too,
  // unless pooled keys are given.
  cost.poolFlops = b * hq * sq * d + (problem.pooledKeys ? 0.0 : b * hkv * skv * d);
  cost.scoreFlops = 2.0 * b * hkv * nqb * nkb * d;
  // top_k rounds of a max over the key blocks, per query block.
  cost.compareOps = b * hkv * nqb * nkb *
                    double(std::min(problem.topK, keyBlocks));
  cost.readBytes = b * hq * sq * d * bytes +
                   (problem.pooledKeys ? b * hkv * nkb * d * bytes
                                       : b * hkv * skv * d * bytes);
  cost.outputsPerHead = queryBlocks * problem.topK;
  cost.writeBytes = b * hkv * double(cost.outputsPerHead) * 4.0;
  finishProjection(cost, target);
  return cost;
}

ProjectionCost
mlir::attn::estimateCompressCost(const CompressProblem &problem,
                                 const TargetDescription &target) {
  ProjectionCost cost;
  const int64_t slots =
      problem.seqLen < problem.block
          ? 0
          : (problem.seqLen - problem.block) / problem.stride + 1;
  const double b = double(problem.batch), hkv = double(problem.keyValueHeads),
               dims = double(problem.headDim + problem.valueDim),
               bytes = double(problem.elementBytes);
  cost.outputsPerHead = slots;
  // One fused multiply-add per window element and column, keys and values.
  cost.poolFlops = 2.0 * b * hkv * double(slots) * double(problem.block) * dims;
  // Overlapping windows (stride < block) read their tokens once from DRAM;
  // tokens past the last window are never read.
  const int64_t covered =
      slots ? (slots - 1) * problem.stride + problem.block : 0;
  cost.readBytes = b * hkv * double(covered) * dims * bytes;
  cost.writeBytes = b * hkv * double(slots) * dims * bytes;
  finishProjection(cost, target);
  return cost;
}

llvm::json::Object
mlir::attn::projectionCostToJSON(const ProjectionCost &cost) {
  return llvm::json::Object{
      {"flops",
       llvm::json::Object{{"pool", cost.poolFlops},
                          {"score", cost.scoreFlops},
                          {"compare", cost.compareOps}}},
      {"bytes", llvm::json::Object{{"read", cost.readBytes},
                                   {"write", cost.writeBytes},
                                   {"total", cost.totalBytes()}}},
      {"outputs_per_head", cost.outputsPerHead},
      {"time_us", llvm::json::Object{{"compute", cost.computeSeconds * 1e6},
                                     {"memory", cost.memorySeconds * 1e6},
                                     {"estimate", cost.estimateSeconds * 1e6}}},
      {"bound", cost.bound},
  };
}
