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

/// Density, FLOPs, output traffic and the roofline time of `cost`, whose
/// tile, element and Q/K/V byte counts are set.
static void finishCost(AttentionCost &cost, const AttentionProblem &problem,
                       const TargetDescription &target) {
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
  cost.outputBytes = double(problem.batch) * double(problem.queryHeads) *
                     double(problem.querySeqLen) * double(problem.valueDim) *
                     double(problem.elementBytes);

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
}

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

  cost.keyValueBytes = double(problem.batch) * double(uniqueKeys) *
                       double(problem.headDim + problem.valueDim) *
                       double(problem.elementBytes);
  cost.keyValueTileBytes = double(problem.batch) * double(tileKeys) *
                           double(problem.headDim + problem.valueDim) *
                           double(problem.elementBytes);
  cost.queryBytes = double(problem.batch) * double(cost.activeHeads) *
                    double(problem.querySeqLen) * double(problem.headDim) *
                    double(problem.elementBytes);
  finishCost(cost, problem, target);
  return cost;
}

AttentionCost mlir::attn::estimateSparseBranchesCost(
    const SparseBranchesProblem &problem, const BlockPlan &selectedPlan,
    const BlockPlan &windowPlan, const TargetDescription &target) {
  const AttentionProblem &shape = problem.attention;
  AttentionCost selected = estimateCost(selectedPlan, shape, target);
  AttentionProblem windowShape = shape;
  windowShape.selectedTilesPerQueryTile = 0;
  AttentionCost window = estimateCost(windowPlan, windowShape, target);

  // The compressed branch: query tiles as the selected branch's, key tiles
  // over the slots. Rows up to position p see slots n with
  // n * stride + block - 1 <= p (all of them when not causal); a tile is
  // visited when its last row sees its first slot, full when its first row
  // sees its last slot.
  const TileSizes tiles = selectedPlan.getShape().tiles;
  const int64_t sq = shape.querySeqLen, skv = shape.keySeqLen;
  const int64_t slots = problem.slots;
  auto slotEnd = [&](int64_t row) -> int64_t {
    if (!problem.causal)
      return slots;
    int64_t last = row + skv - sq - (problem.compressBlock - 1);
    if (last < 0)
      return 0;
    return std::min(slots, last / problem.compressStride + 1);
  };
  const int64_t queryTiles = llvm::divideCeil(sq, tiles.query);
  const int64_t slotTiles = llvm::divideCeil(slots, tiles.key);
  AttentionCost compressed;
  int64_t touchedSlots = 0, tileSlots = 0;
  for (int64_t t = 0; t < queryTiles; ++t) {
    const int64_t first = t * tiles.query;
    const int64_t rows = std::min(sq, first + tiles.query) - first;
    const int64_t seenByLast = slotEnd(first + rows - 1);
    const int64_t seenByFirst = slotEnd(first);
    const int64_t visited = llvm::divideCeil(seenByLast, tiles.key);
    for (int64_t k = 0; k < visited; ++k) {
      const int64_t end = std::min(slots, (k + 1) * tiles.key);
      if (end <= seenByFirst)
        ++compressed.fullTiles;
      else
        ++compressed.partialTiles;
      compressed.visitedElements += rows * (end - k * tiles.key);
      tileSlots += end - k * tiles.key;
    }
    touchedSlots = std::max(touchedSlots, std::min(slots, visited * tiles.key));
  }
  const int64_t heads = shape.batch * shape.queryHeads;
  compressed.totalTiles = queryTiles * slotTiles * heads;
  compressed.fullTiles *= heads;
  compressed.partialTiles *= heads;
  compressed.visitedElements *= heads;
  const double kvRow = double(shape.headDim + shape.valueDim) *
                       double(shape.elementBytes);
  const double groups = double(shape.batch) * double(shape.keyValueHeads);
  compressed.keyValueBytes = groups * double(touchedSlots) * kvRow;
  compressed.keyValueTileBytes = double(heads) * double(tileSlots) * kvRow;

  AttentionCost cost;
  for (const AttentionCost *branch : {&compressed, &selected, &window}) {
    cost.totalTiles += branch->totalTiles;
    cost.fullTiles += branch->fullTiles;
    cost.partialTiles += branch->partialTiles;
    cost.visitedElements += branch->visitedElements;
    cost.keyValueBytes += branch->keyValueBytes;
    cost.keyValueTileBytes += branch->keyValueTileBytes;
  }
  // The selected and window branches read the same K/V: at most all of it.
  cost.keyValueBytes =
      compressed.keyValueBytes +
      std::min(selected.keyValueBytes + window.keyValueBytes,
               groups * double(skv) * kvRow);
  cost.activeHeads = shape.queryHeads;
  // Q once, the three weights of every row, the selected block lists.
  const int64_t queryBlocks = selectedPlan.getShape().numQueryTiles();
  cost.queryBytes =
      double(heads) * double(sq) *
          (double(shape.headDim * shape.elementBytes) +
           3.0 * double(problem.weightBytes)) +
      groups * double(queryBlocks) * double(problem.topK) * 4.0;
  finishCost(cost, shape, target);
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
