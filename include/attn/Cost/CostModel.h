//===- CostModel.h - What an attention op costs on a target -----*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The one cost model of attn: budgets, schedules, the explorer and the
// benchmarks all use it. It counts the work a tiled online-softmax kernel
// does over a block plan (visited tiles, their masked elements included) and
// the DRAM traffic it cannot avoid, and turns them into a roofline time on a
// target. Every count is exact for the plan; the time is a lower bound that
// benchmarks check against measurements.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_COST_COSTMODEL_H
#define ATTN_COST_COSTMODEL_H

#include "attn/Plan/BlockPlan.h"
#include "attn/Target/Targets.h"

#include "llvm/Support/JSON.h"

namespace mlir {
namespace attn {

/// The sizes of one attention op, all static.
struct AttentionProblem {
  int64_t batch = 1;
  int64_t queryHeads = 1;
  int64_t keyValueHeads = 1;
  int64_t querySeqLen = 0;
  int64_t keySeqLen = 0;
  int64_t headDim = 0;
  int64_t valueDim = 0;
  int64_t elementBytes = 2;
  /// Key tiles chosen at run time per query tile (the `blocks` operand's last
  /// dimension) for plans of kind Runtime; counted as partial tiles on top
  /// of the static part of the plan.
  int64_t selectedTilesPerQueryTile = 0;
};

struct AttentionCost {
  // Tiles, over all batch elements and heads.
  int64_t totalTiles = 0;
  int64_t fullTiles = 0;
  int64_t partialTiles = 0;
  int64_t visitedTiles() const { return fullTiles + partialTiles; }
  int64_t skippedTiles() const { return totalTiles - visitedTiles(); }
  /// visited / total tiles.
  double density = 0;
  int64_t activeHeads = 0;

  /// Query-key pairs inside visited tiles (masked ones included).
  int64_t visitedElements = 0;
  /// Q·Kᵀ and P·V: 2 (D + Dv) per visited element.
  double matmulFlops = 0;
  /// Max, scaled subtract, sum and rescale: 4 per visited element.
  double softmaxFlops = 0;
  /// One exponential per visited element.
  double exponentials = 0;
  /// Matmul FLOPs of dense attention over the same shapes, all heads.
  double denseMatmulFlops = 0;

  /// Compulsory DRAM traffic: Q read and O written once, each K/V tile that
  /// any query tile of its KV head visits read once (perfect reuse across
  /// the heads of a GQA group and across query tiles).
  double queryBytes = 0;
  double keyValueBytes = 0;
  double outputBytes = 0;
  double totalBytes() const { return queryBytes + keyValueBytes + outputBytes; }
  /// K/V bytes a kernel loads into on-chip memory tile by tile (no reuse
  /// across query tiles): the traffic when nothing stays in cache.
  double keyValueTileBytes = 0;

  double computeSeconds = 0;
  double exponentialSeconds = 0;
  double memorySeconds = 0;
  /// max(compute, exponential, memory): a roofline lower bound.
  double estimateSeconds = 0;
  llvm::StringRef bound; ///< "compute", "exp" or "memory".
};

/// The cost of `problem` under `plan` on `target`, for the query heads where
/// `headActive(head)` holds (all when null).
AttentionCost estimateCost(const BlockPlan &plan,
                           const AttentionProblem &problem,
                           const TargetDescription &target,
                           llvm::function_ref<bool(int64_t)> headActive = nullptr);

/// Writes `cost` as the JSON object documented in docs/cost-model.md.
llvm::json::Object costToJSON(const AttentionCost &cost);

/// The sizes of one attn.sparse_branches op, all static. `attention` has the
/// raw keys' length as keySeqLen and the selected branch's top-k key tiles
/// per query tile as selectedTilesPerQueryTile.
struct SparseBranchesProblem {
  AttentionProblem attention;
  int64_t compressBlock = 1;
  int64_t compressStride = 1;
  /// Compressed slots N = (Skv - compressBlock) / compressStride + 1.
  int64_t slots = 0;
  /// Whether the compressed branch sees only slots that end at or before
  /// the query's position.
  bool causal = false;
  /// Entries of each query block's list (the `blocks` operand's last
  /// dimension).
  int64_t topK = 1;
  int64_t weightBytes = 4;
};

/// The work of NSA's combined form: the three branches' tiles and elements
/// summed (the compressed branch counted exactly over tiles of
/// `plan.getShape().tiles` on the slots; the selected branch from
/// `selectedPlan`, its top-k tiles as partial tiles; the window from
/// `windowPlan`), Q, O, the weights and the block lists moved once, each
/// branch's K/V traffic. Dense FLOPs are dense attention over the raw keys,
/// so `matmulFlops / denseMatmulFlops` is the work the branches save.
AttentionCost estimateSparseBranchesCost(const SparseBranchesProblem &problem,
                                         const BlockPlan &selectedPlan,
                                         const BlockPlan &windowPlan,
                                         const TargetDescription &target);

//===----------------------------------------------------------------------===//
// Sparse projection: block selection and K/V compression
//===----------------------------------------------------------------------===//

/// The sizes of one attn.select_blocks op, all static.
struct SelectProblem {
  int64_t batch = 1;
  int64_t queryHeads = 1;
  int64_t keyValueHeads = 1;
  int64_t querySeqLen = 0;
  int64_t keySeqLen = 0;
  int64_t headDim = 0;
  int64_t queryBlock = 64;
  int64_t keyBlock = 64;
  int64_t topK = 1;
  /// Pooled keys given (read ceil(Skv / keyBlock) rows) or pooled from K.
  bool pooledKeys = false;
  int64_t elementBytes = 2;
};

/// The sizes of one attn.compress_kv op, all static.
struct CompressProblem {
  int64_t batch = 1;
  int64_t keyValueHeads = 1;
  int64_t seqLen = 0;
  int64_t headDim = 0;
  int64_t valueDim = 0;
  int64_t block = 1;
  int64_t stride = 1;
  int64_t elementBytes = 2;
};

/// What a selection or compression costs: its work (no tensor cores: the
/// kernels are SIMT), its compulsory DRAM traffic, and a roofline time.
struct ProjectionCost {
  /// Pooling adds (selection) or weighted adds (compression).
  double poolFlops = 0;
  /// Pooled query . pooled key dot products (selection): 2 D per score.
  double scoreFlops = 0;
  /// Candidates compared per chosen block (selection): nkb per round.
  double compareOps = 0;
  double readBytes = 0;
  double writeBytes = 0;
  double totalBytes() const { return readBytes + writeBytes; }
  /// The slots it writes: ceil(Sq / qb) * top_k (selection) or N
  /// (compression), per (batch, KV head).
  int64_t outputsPerHead = 0;
  double computeSeconds = 0;
  double memorySeconds = 0;
  double estimateSeconds = 0;
  llvm::StringRef bound; ///< "compute" or "memory".
};

ProjectionCost estimateSelectCost(const SelectProblem &problem,
                                  const TargetDescription &target);
ProjectionCost estimateCompressCost(const CompressProblem &problem,
                                    const TargetDescription &target);
/// Writes `cost` as the JSON object documented in docs/cost-model.md.
llvm::json::Object projectionCostToJSON(const ProjectionCost &cost);

} // namespace attn
} // namespace mlir

#endif // ATTN_COST_COSTMODEL_H
