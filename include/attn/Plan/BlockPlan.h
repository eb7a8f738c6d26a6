//===- BlockPlan.h - Patterns as block iteration plans ----------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// A block plan says, for every tile of query rows, which key tiles a kernel
// visits and which of them need the element mask ("partial") or none
// ("full"). It is computed from a pattern attribute at given tile sizes:
//
// - Analytic patterns (dense, causal, local, strided, global, chunked and
//   their unions) become a handful of closed-form *segments*; the runs of a
//   query tile are evaluated from them in O(runs), with no memory per tile
//   and for any sequence length. This is what kernels compute as index
//   arithmetic.
// - Irregular patterns (random blocks, explicit layouts, and unions that
//   contain them) become a CSR *table*: per query tile, its runs of key tiles.
// - Runtime-selected patterns (#attn.selected) get their blocks from an
//   operand; the plan only records the tile sizes.
//
// Definitions, for a query tile of rows R and a key tile of keys K (both
// clipped to the real rows and keys): the tile is *visited* iff some (q, k)
// in R x K is visible; it is *full* iff every (q, k) in R x K is visible;
// otherwise a visited tile is *partial*. Ragged edges (S not a multiple of
// the tile) are bounds, not masks: they never make a tile partial.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PLAN_BLOCKPLAN_H
#define ATTN_PLAN_BLOCKPLAN_H

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Support/KeyRanges.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <limits>

namespace mlir {
namespace attn {

/// Rows per query tile and keys per key tile.
struct TileSizes {
  int64_t query = 128;
  int64_t key = 128;
};

/// Consecutive key tiles `[begin, end)` visited by one query tile, all full
/// or all partial.
struct TileRun {
  int64_t begin = 0;
  int64_t end = 0;
  bool partial = false;

  int64_t size() const { return end - begin; }
  bool operator==(const TileRun &o) const {
    return begin == o.begin && end == o.end && partial == o.partial;
  }
};
using TileRunList = llvm::SmallVector<TileRun, 8>;

/// One closed-form generator of visible keys. Positions are key coordinates
/// (see AttentionExtent::queryPosition).
struct Segment {
  enum class Kind {
    /// Keys `[p + low, p + high]` for each position p (dense, causal, local).
    Band,
    /// Keys `[0, tokens)` for every position (global keys).
    Prefix,
    /// Every key for positions `0 <= p < tokens` (global queries).
    GlobalRows,
    /// Keys in p's chunk of `size` (up to p when causal).
    Chunk,
    /// Keys whose granule (of `granule` keys) is congruent to p's modulo
    /// `stride` (up to p when causal).
    Periodic,
    /// Keys at distance `t = p - k` with `-ahead <= t <= window` and
    /// `t mod dilation == 0`.
    Dilated,
  };
  /// Stands for an unbounded end of a band.
  static constexpr int64_t kUnbounded = std::numeric_limits<int64_t>::max() / 4;

  Kind kind;
  int64_t low = 0;      ///< Band: lowest offset k - p (or -kUnbounded).
  int64_t high = 0;     ///< Band: highest offset k - p (or kUnbounded).
  int64_t size = 0;     ///< Prefix/GlobalRows: tokens; Chunk: size;
                        ///< Periodic: stride; Dilated: window.
  int64_t granule = 1;  ///< Periodic: granule; Dilated: dilation.
  bool causal = false;  ///< Chunk, Periodic, Dilated.

  static Segment band(int64_t low, int64_t high) {
    return {Kind::Band, low, high, 0, 1, false};
  }
  static Segment withSize(Kind kind, int64_t size, int64_t granule,
                          bool causal) {
    return {kind, 0, 0, size, granule, causal};
  }

  /// Appends the keys in `[keyBegin, keyEnd)` that some position in
  /// `[first, last]` sees (exact, unnormalized). With `keyTile` > 1 the
  /// ranges may cover more keys, but exactly the same tiles of that many
  /// keys (from `keyBegin`): periodic segments then cost O(1), not O(periods).
  void appendTouched(int64_t first, int64_t last, int64_t keyBegin,
                     int64_t keyEnd, KeyRangeList &ranges,
                     int64_t keyTile = 1) const;
  /// Appends the keys in `[keyBegin, keyEnd)` that every position in
  /// `[first, last]` sees (exact, unnormalized). With `keyTile` > 1 only
  /// ranges that can contain a whole tile of that many keys matter, and
  /// others may be left out.
  void appendCommon(int64_t first, int64_t last, int64_t keyBegin,
                    int64_t keyEnd, KeyRangeList &ranges,
                    int64_t keyTile = 1) const;

  void print(llvm::raw_ostream &os) const;
};

namespace detail {
/// Block-granular membership of a random or explicit layout, resolved for
/// one head. Random rows are walked as streams of kept blocks (O(kept));
/// layouts are looked up block by block.
struct BlockMembership {
  BlockMembership(PatternAttrInterface pattern, int64_t head);

  /// Layouts only: entry (queryBlock, keyBlock).
  bool kept(int64_t queryBlock, int64_t keyBlock) const {
    return layout.isBlockVisible(head, queryBlock, keyBlock);
  }
  /// The kept key blocks below `numKeyBlocks` of `queryBlock`, increasing.
  void appendKept(int64_t queryBlock, int64_t numKeyBlocks,
                  llvm::SmallVectorImpl<int64_t> &blocks) const;

  int64_t head;
  int64_t block = 1;
  BlockLayoutAttr layout; ///< Null for random blocks.
  RandomBlocksAttr random; ///< Null for layouts.
};
} // namespace detail

/// How one head's key tiles are found.
enum class PlanKind {
  Analytic, ///< Closed-form segments.
  Table,    ///< A CSR table of runs per query tile.
  Runtime,  ///< Indices from the op's blocks operand.
};
llvm::StringRef stringifyPlanKind(PlanKind kind);

/// The plan of the heads that share one pattern.
class HeadPlan {
public:
  PlanKind getKind() const { return kind; }
  llvm::ArrayRef<Segment> getSegments() const { return segments; }

  /// Appends the runs of query tile `queryTile`, in increasing key order.
  void appendRuns(int64_t queryTile, TileRunList &runs) const;

  /// Table plans: the CSR arrays (query tile i owns runs
  /// `[runOffsets[i], runOffsets[i + 1])`).
  llvm::ArrayRef<int64_t> getRunOffsets() const { return runOffsets; }
  llvm::ArrayRef<TileRun> getTableRuns() const { return tableRuns; }

private:
  friend class BlockPlan;
  friend struct PlanBuilder;

  PlanKind kind = PlanKind::Analytic;
  PatternAttrInterface pattern;  ///< The head's pattern.
  llvm::SmallVector<Segment> segments;
  /// Random and explicit-layout members, resolved for this plan's head.
  llvm::SmallVector<detail::BlockMembership, 1> memberships;
  /// Patterns (not segments) whose union this plan is.
  int64_t numMembers = 0;
  const struct PlanShape *shape = nullptr;
  int64_t head = 0;              ///< A representative head (for hashes).
  llvm::SmallVector<int64_t> runOffsets;
  llvm::SmallVector<TileRun> tableRuns;

  /// Computes the runs of one query tile from segments and irregular members.
  void computeRuns(int64_t queryTile, TileRunList &runs) const;
public:
  /// Appends the keys (normalized) that every position in [first, last]
  /// sees through some member.
  void appendSpanCommon(int64_t first, int64_t last,
                        KeyRangeList &ranges) const;
};

/// Sizes a plan is made for.
struct PlanShape {
  AttentionExtent extent;
  TileSizes tiles;
  int64_t numQueryTiles() const { return ceilDiv(extent.querySeqLen, tiles.query); }
  int64_t numKeyTiles() const { return ceilDiv(extent.keySeqLen, tiles.key); }
};

/// Per-head plans for one attention problem.
class BlockPlan {
public:
  /// Plans `pattern` for `extent` at `tiles`. Fails with a diagnostic (through
  /// `emitError`) on tile sizes < 1, no heads, negative lengths, or a
  /// per-head list whose length is not the number of heads. Zero lengths give
  /// a plan without tiles.
  static FailureOr<BlockPlan>
  build(PatternAttrInterface pattern, const AttentionExtent &extent,
        TileSizes tiles, llvm::function_ref<InFlightDiagnostic()> emitError);

  const PlanShape &getShape() const { return *shape; }
  /// The plan of query head `head`.
  const HeadPlan &forHead(int64_t head) const {
    return heads[headToPlan[head]];
  }
  /// Distinct plans (heads with equal patterns share one).
  llvm::ArrayRef<HeadPlan> getDistinctPlans() const { return heads; }
  unsigned getPlanIndex(int64_t head) const { return headToPlan[head]; }

  /// Whether any head needs a table or runtime indices.
  PlanKind getOverallKind() const;

  BlockPlan(BlockPlan &&other);
  BlockPlan &operator=(BlockPlan &&other);
  ~BlockPlan();

private:
  BlockPlan() = default;
  std::unique_ptr<PlanShape> shape;
  llvm::SmallVector<HeadPlan, 1> heads;
  llvm::SmallVector<unsigned> headToPlan;
};

/// Counts over a plan, per head and in total (one batch element).
struct PlanCounts {
  int64_t totalTiles = 0;    ///< Query tiles x key tiles x heads.
  int64_t fullTiles = 0;
  int64_t partialTiles = 0;
  /// Query-key pairs inside visited tiles (clipped to the real rows and
  /// keys): the work a tiled kernel does, masked elements included.
  int64_t visitedElements = 0;
  int64_t visitedTiles() const { return fullTiles + partialTiles; }
  double density() const {
    return totalTiles ? double(visitedTiles()) / double(totalTiles) : 0.0;
  }
};

/// Counts the tiles of `plan`, for the heads where `headActive(head)` holds
/// (all heads when null).
PlanCounts countPlan(const BlockPlan &plan,
                     llvm::function_ref<bool(int64_t)> headActive = nullptr);

} // namespace attn
} // namespace mlir

#endif // ATTN_PLAN_BLOCKPLAN_H
