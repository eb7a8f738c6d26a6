//===- BlockPlanTest.cpp - Tests of block iteration plans -----------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Checks `BlockPlan` against the element mask. `isVisible` is the
// specification: for a static pattern, key tile j is in a run of query tile
// t iff some (q, k) of the (clipped) tile pair is visible, and it is full iff
// every (q, k) of the pair is visible. The expected runs of a query tile are
// built from the mask tile by tile (through 2-D prefix sums, so each tile pair
// costs O(1)) and merged canonically, so comparing them for equality checks at
// once that
//   - every kept element lies in a visited tile and every visited tile holds
//     a kept element;
//   - full tiles have every element kept, partial ones at least one not kept;
//   - runs are sorted, disjoint, non-empty, inside [0, numKeyTiles) and
//     merged (neighbouring runs have a gap or differ in `partial`).
// Plan counts, plan kinds, plan sharing between heads and table (CSR)
// storage are checked too. Hand-computed cases pin down the definitions;
// seeded random property tests cover every pattern kind, unions, per-head
// lists, ragged lengths, Sq != Skv, decoding and independent tile sizes.
//
//===----------------------------------------------------------------------===//

#include "RandomPatterns.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Plan/BlockPlan.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::attn;
using mlir::attn::test::PatternGenerator;

namespace {

//===----------------------------------------------------------------------===//
// Brute-force reference
//===----------------------------------------------------------------------===//

/// The element mask of one head, `Sq x Skv`, evaluated once through
/// `isVisible` and kept as 2-D prefix sums, so that the number of visible
/// elements of any rectangle costs O(1).
class HeadMask {
public:
  HeadMask(PatternAttrInterface pattern, const AttentionExtent &extent,
           int64_t head)
      : numQueries(extent.querySeqLen), numKeys(extent.keySeqLen),
        sums((numQueries + 1) * (numKeys + 1), 0) {
    for (int64_t q = 0; q < numQueries; ++q)
      for (int64_t k = 0; k < numKeys; ++k)
        at(q + 1, k + 1) = at(q, k + 1) + at(q + 1, k) - at(q, k) +
                           (pattern.isVisible(extent, head, q, k) ? 1 : 0);
  }

  /// Visible elements in rows `[q0, q1)` x keys `[k0, k1)`.
  int64_t count(int64_t q0, int64_t q1, int64_t k0, int64_t k1) const {
    return at(q1, k1) - at(q0, k1) - at(q1, k0) + at(q0, k0);
  }

  /// The runs query tile `queryTile` must have under `tiles`, straight from
  /// the definitions: each key tile is classified on its own, then runs are
  /// merged canonically.
  TileRunList expectedRuns(TileSizes tiles, int64_t queryTile) const {
    TileRunList runs;
    int64_t q0 = queryTile * tiles.query;
    int64_t q1 = std::min(q0 + tiles.query, numQueries);
    int64_t numKeyTiles = (numKeys + tiles.key - 1) / tiles.key;
    for (int64_t j = 0; j < numKeyTiles; ++j) {
      int64_t k0 = j * tiles.key, k1 = std::min(k0 + tiles.key, numKeys);
      int64_t visible = count(q0, q1, k0, k1);
      if (visible == 0)
        continue;
      bool partial = visible < (q1 - q0) * (k1 - k0);
      if (!runs.empty() && runs.back().end == j &&
          runs.back().partial == partial)
        ++runs.back().end;
      else
        runs.push_back({j, j + 1, partial});
    }
    return runs;
  }

private:
  int64_t &at(int64_t q, int64_t k) { return sums[q * (numKeys + 1) + k]; }
  int64_t at(int64_t q, int64_t k) const {
    return sums[q * (numKeys + 1) + k];
  }

  int64_t numQueries, numKeys;
  std::vector<int64_t> sums;
};

/// Counts of the expected plan of one head, from the brute-force runs.
PlanCounts expectedCounts(const HeadMask &mask, const AttentionExtent &extent,
                          TileSizes tiles) {
  PlanCounts counts;
  int64_t numQueryTiles = (extent.querySeqLen + tiles.query - 1) / tiles.query;
  int64_t numKeyTiles = (extent.keySeqLen + tiles.key - 1) / tiles.key;
  counts.totalTiles = numQueryTiles * numKeyTiles;
  for (int64_t t = 0; t < numQueryTiles; ++t) {
    int64_t rows =
        std::min(extent.querySeqLen, (t + 1) * tiles.query) - t * tiles.query;
    for (const TileRun &run : mask.expectedRuns(tiles, t))
      for (int64_t j = run.begin; j < run.end; ++j) {
        (run.partial ? counts.partialTiles : counts.fullTiles) += 1;
        int64_t keys =
            std::min(extent.keySeqLen, (j + 1) * tiles.key) - j * tiles.key;
        counts.visitedElements += rows * keys;
      }
  }
  return counts;
}

//===----------------------------------------------------------------------===//
// Pattern facts computed independently of the planner
//===----------------------------------------------------------------------===//

/// Whether `pattern` (a union tree) contains an attribute of kind `T`.
template <typename... T> bool contains(Attribute pattern) {
  if (isa<T...>(pattern))
    return true;
  if (auto u = dyn_cast<UnionAttr>(pattern))
    return llvm::any_of(u.getPatterns(),
                        [](Attribute member) { return contains<T...>(member); });
  return false;
}

/// Whether a head's pattern means different things for different heads.
bool isHeadDependent(Attribute pattern) {
  if (isa<RandomBlocksAttr>(pattern))
    return true;
  if (auto layout = dyn_cast<BlockLayoutAttr>(pattern))
    return layout.getShape().size() == 3;
  if (auto u = dyn_cast<UnionAttr>(pattern))
    return llvm::any_of(u.getPatterns(), isHeadDependent);
  return false;
}

/// The plan kind the spec gives a head's own pattern.
PlanKind expectedKind(Attribute headPattern) {
  if (contains<SelectedAttr>(headPattern))
    return PlanKind::Runtime;
  if (contains<RandomBlocksAttr, BlockLayoutAttr>(headPattern))
    return PlanKind::Table;
  return PlanKind::Analytic;
}

PatternAttrInterface headPatternOf(PatternAttrInterface pattern,
                                   int64_t head) {
  if (auto perHead = dyn_cast<PerHeadAttr>(pattern))
    return perHead.getHeadPattern(head);
  return pattern;
}

//===----------------------------------------------------------------------===//
// Diagnosable descriptions
//===----------------------------------------------------------------------===//

std::string toString(const TileRunList &runs) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "{";
  llvm::interleaveComma(runs, os, [&](const TileRun &run) {
    os << "[" << run.begin << ", " << run.end << ")"
       << (run.partial ? " partial" : " full");
  });
  os << "}";
  return text;
}

std::string describe(PatternAttrInterface pattern,
                     const AttentionExtent &extent, TileSizes tiles) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "pattern " << pattern << "\n  extent {Hq = " << extent.numHeads
     << ", Sq = " << extent.querySeqLen << ", Skv = " << extent.keySeqLen
     << "}, tiles " << tiles.query << " x " << tiles.key;
  return text;
}

std::string describeTile(PatternAttrInterface pattern,
                         const AttentionExtent &extent, TileSizes tiles,
                         const HeadPlan &plan, int64_t head,
                         int64_t queryTile) {
  std::string text;
  llvm::raw_string_ostream os(text);
  int64_t rowBegin = queryTile * tiles.query;
  int64_t rowEnd = std::min(rowBegin + tiles.query, extent.querySeqLen);
  os << describe(pattern, extent, tiles) << "\n  head " << head
     << ", query tile " << queryTile << " (rows [" << rowBegin << ", "
     << rowEnd << "), positions [" << extent.queryPosition(rowBegin) << ", "
     << extent.queryPosition(rowEnd - 1) << "]), plan "
     << stringifyPlanKind(plan.getKind()) << " with segments {";
  llvm::interleaveComma(plan.getSegments(), os,
                        [&](const Segment &segment) { segment.print(os); });
  os << "}";
  return text;
}

/// Well-formedness of the runs of one query tile, on its own (a clearer
/// message than a mismatch when the structure itself is broken).
std::string checkStructure(const TileRunList &runs, int64_t numKeyTiles) {
  for (auto [i, run] : llvm::enumerate(runs)) {
    if (run.begin >= run.end)
      return "run " + std::to_string(i) + " is empty";
    if (run.begin < 0 || run.end > numKeyTiles)
      return "run " + std::to_string(i) + " leaves [0, " +
             std::to_string(numKeyTiles) + ")";
    if (i == 0)
      continue;
    const TileRun &prev = runs[i - 1];
    if (run.begin < prev.end)
      return "run " + std::to_string(i) + " overlaps or precedes the previous";
    if (run.begin == prev.end && run.partial == prev.partial)
      return "runs " + std::to_string(i - 1) + " and " + std::to_string(i) +
             " touch with the same flag (not merged)";
  }
  return "";
}

//===----------------------------------------------------------------------===//
// The full check of one plan
//===----------------------------------------------------------------------===//

/// Failures reported before a property test stops.
constexpr int kMaxFailures = 10;

/// Checks every property of `plan` (built for `pattern`, `extent`, `tiles`)
/// against brute force, reporting at most `budget` failures (decremented).
/// Heads whose own pattern is runtime-selected only get their kind checked;
/// `headActive` picks the heads for the subset count (static heads only).
void checkPlan(PatternAttrInterface pattern, const AttentionExtent &extent,
               TileSizes tiles, const BlockPlan &plan,
               llvm::ArrayRef<bool> headActive, int &budget) {
  auto fail = [&](const std::string &message) {
    if (budget > 0)
      ADD_FAILURE() << message;
    --budget;
  };
  std::string where = describe(pattern, extent, tiles);

  const PlanShape &shape = plan.getShape();
  int64_t numQueryTiles = (extent.querySeqLen + tiles.query - 1) / tiles.query;
  int64_t numKeyTiles = (extent.keySeqLen + tiles.key - 1) / tiles.key;
  if (shape.numQueryTiles() != numQueryTiles ||
      shape.numKeyTiles() != numKeyTiles ||
      shape.tiles.query != tiles.query || shape.tiles.key != tiles.key)
    fail(where + "\n  shape: " + std::to_string(shape.numQueryTiles()) + " x " +
         std::to_string(shape.numKeyTiles()) + " tiles, expected " +
         std::to_string(numQueryTiles) + " x " + std::to_string(numKeyTiles));

  // Kinds, sharing and table storage.
  PlanKind overall = PlanKind::Analytic;
  bool allStatic = true;
  for (int64_t head = 0; head < extent.numHeads; ++head) {
    PatternAttrInterface headPattern = headPatternOf(pattern, head);
    const HeadPlan &headPlan = plan.forHead(head);
    PlanKind kind = expectedKind(headPattern);
    if (kind == PlanKind::Runtime)
      overall = PlanKind::Runtime, allStatic = false;
    else if (kind == PlanKind::Table && overall != PlanKind::Runtime)
      overall = PlanKind::Table;
    if (headPlan.getKind() != kind)
      fail(where + "\n  head " + std::to_string(head) + " has a " +
           stringifyPlanKind(headPlan.getKind()).str() + " plan, expected " +
           stringifyPlanKind(kind).str());
    if (plan.getPlanIndex(head) >= plan.getDistinctPlans().size() ||
        &plan.getDistinctPlans()[plan.getPlanIndex(head)] != &headPlan)
      fail(where + "\n  head " + std::to_string(head) +
           ": forHead disagrees with getPlanIndex");
    for (int64_t other = 0; other < head; ++other) {
      bool share = headPattern == headPatternOf(pattern, other) &&
                   !isHeadDependent(headPattern);
      if ((plan.getPlanIndex(head) == plan.getPlanIndex(other)) != share)
        fail(where + "\n  heads " + std::to_string(other) + " and " +
             std::to_string(head) +
             (share ? " should share a plan but do not"
                    : " share a plan but should not"));
    }
    if (headPlan.getKind() != PlanKind::Table)
      continue;
    llvm::ArrayRef<int64_t> offsets = headPlan.getRunOffsets();
    llvm::ArrayRef<TileRun> tableRuns = headPlan.getTableRuns();
    if (static_cast<int64_t>(offsets.size()) != numQueryTiles + 1 ||
        offsets.front() != 0 ||
        offsets.back() != static_cast<int64_t>(tableRuns.size()) ||
        !llvm::is_sorted(offsets)) {
      fail(where + "\n  head " + std::to_string(head) +
           ": malformed CSR offsets");
      continue;
    }
    for (int64_t t = 0; t < numQueryTiles; ++t) {
      TileRunList fromTable(tableRuns.begin() + offsets[t],
                            tableRuns.begin() + offsets[t + 1]);
      TileRunList runs;
      headPlan.appendRuns(t, runs);
      if (runs != fromTable)
        fail(describeTile(pattern, extent, tiles, headPlan, head, t) +
             "\n  table  " + toString(fromTable) + "\n  appendRuns " +
             toString(runs));
    }
  }
  if (plan.getOverallKind() != overall)
    fail(where + "\n  overall kind " +
         stringifyPlanKind(plan.getOverallKind()).str() + ", expected " +
         stringifyPlanKind(overall).str());
  {
    // Every distinct plan is used by some head.
    llvm::SmallVector<bool> used(plan.getDistinctPlans().size(), false);
    for (int64_t head = 0; head < extent.numHeads; ++head)
      if (plan.getPlanIndex(head) < used.size())
        used[plan.getPlanIndex(head)] = true;
    if (!llvm::all_of(used, [](bool u) { return u; }))
      fail(where + "\n  a distinct plan is used by no head");
  }

  // Runs and counts against the element mask.
  PlanCounts all, subset;
  all.totalTiles = subset.totalTiles =
      numQueryTiles * numKeyTiles * extent.numHeads;
  for (int64_t head = 0; head < extent.numHeads; ++head) {
    PatternAttrInterface headPattern = headPatternOf(pattern, head);
    if (headPattern.isRuntimeSelected())
      continue;
    const HeadPlan &headPlan = plan.forHead(head);
    HeadMask mask(pattern, extent, head);
    for (int64_t t = 0; t < numQueryTiles; ++t) {
      TileRunList runs;
      headPlan.appendRuns(t, runs);
      std::string structure = checkStructure(runs, numKeyTiles);
      TileRunList expected = mask.expectedRuns(tiles, t);
      if (!structure.empty() || runs != expected)
        fail(describeTile(pattern, extent, tiles, headPlan, head, t) +
             (structure.empty() ? "" : "\n  malformed: " + structure) +
             "\n  expected " + toString(expected) + "\n  actual   " +
             toString(runs));
    }
    PlanCounts counts = expectedCounts(mask, extent, tiles);
    for (PlanCounts *sum : {&all, &subset}) {
      if (sum == &subset && !headActive[head])
        continue;
      sum->fullTiles += counts.fullTiles;
      sum->partialTiles += counts.partialTiles;
      sum->visitedElements += counts.visitedElements;
    }
  }

  auto compare = [&](const char *what, const PlanCounts &actual,
                     const PlanCounts &expected) {
    if (actual.totalTiles == expected.totalTiles &&
        actual.fullTiles == expected.fullTiles &&
        actual.partialTiles == expected.partialTiles &&
        actual.visitedElements == expected.visitedElements &&
        actual.density() ==
            double(expected.visitedTiles()) / double(expected.totalTiles))
      return;
    auto text = [](const PlanCounts &c) {
      return "{total " + std::to_string(c.totalTiles) + ", full " +
             std::to_string(c.fullTiles) + ", partial " +
             std::to_string(c.partialTiles) + ", elements " +
             std::to_string(c.visitedElements) + ", density " +
             std::to_string(c.density()) + "}";
    };
    fail(where + "\n  " + what + ": expected " + text(expected) +
         "\n  actual   " + text(actual));
  };
  if (allStatic)
    compare("countPlan", countPlan(plan), all);
  std::string active;
  for (int64_t head = 0; head < extent.numHeads; ++head)
    if (headActive[head])
      active += " " + std::to_string(head);
  compare(("countPlan(heads" + active + ")").c_str(),
          countPlan(plan, [&](int64_t head) { return bool(headActive[head]); }),
          subset);
}

//===----------------------------------------------------------------------===//
// Hand-computed facts
//===----------------------------------------------------------------------===//

class BlockPlanTest : public testing::Test {
protected:
  BlockPlanTest() { context.loadDialect<AttnDialect>(); }

  FailureOr<BlockPlan> build(PatternAttrInterface pattern,
                             const AttentionExtent &extent, TileSizes tiles) {
    return BlockPlan::build(pattern, extent, tiles,
                            [&] { return emitError(UnknownLoc::get(ctx)); });
  }

  /// Plans `pattern`, checks that the runs of every query tile of head
  /// `head` are `expected` (and that brute force agrees, which keeps the
  /// hand computation honest), then runs the full check.
  testing::AssertionResult hasRuns(PatternAttrInterface pattern,
                                   const AttentionExtent &extent,
                                   TileSizes tiles, int64_t head,
                                   llvm::ArrayRef<TileRunList> expected) {
    FailureOr<BlockPlan> plan = build(pattern, extent, tiles);
    if (failed(plan))
      return testing::AssertionFailure()
             << describe(pattern, extent, tiles) << "\n  build failed";
    if (plan->getShape().numQueryTiles() !=
        static_cast<int64_t>(expected.size()))
      return testing::AssertionFailure()
             << describe(pattern, extent, tiles) << "\n  "
             << plan->getShape().numQueryTiles() << " query tiles, expected "
             << expected.size();
    HeadMask mask(pattern, extent, head);
    for (auto [t, runs] : llvm::enumerate(expected)) {
      TileRunList actual;
      plan->forHead(head).appendRuns(t, actual);
      TileRunList reference = mask.expectedRuns(tiles, t);
      if (actual != runs || reference != runs)
        return testing::AssertionFailure()
               << describeTile(pattern, extent, tiles, plan->forHead(head),
                               head, t)
               << "\n  expected   " << toString(runs) << "\n  appendRuns "
               << toString(actual) << "\n  isVisible  " << toString(reference);
    }
    int budget = kMaxFailures;
    llvm::SmallVector<bool> active(extent.numHeads, true);
    checkPlan(pattern, extent, tiles, *plan, active, budget);
    if (budget != kMaxFailures)
      return testing::AssertionFailure() << "property check failed";
    return testing::AssertionSuccess();
  }

  MLIRContext context;
  MLIRContext *ctx = &context;
};

constexpr bool kFull = false, kPartial = true;

TEST_F(BlockPlanTest, CausalSquare) {
  // 8 x 8, tiles of 4: the diagonal tiles are partial, the one below full.
  auto causal = CausalAttr::get(ctx);
  EXPECT_TRUE(hasRuns(causal, {1, 8, 8}, {4, 4}, 0,
                      {{{0, 1, kPartial}}, {{0, 1, kFull}, {1, 2, kPartial}}}));
  FailureOr<BlockPlan> plan = build(causal, {1, 8, 8}, {4, 4});
  ASSERT_TRUE(succeeded(plan));
  EXPECT_EQ(plan->forHead(0).getKind(), PlanKind::Analytic);
  PlanCounts counts = countPlan(*plan);
  EXPECT_EQ(counts.totalTiles, 4);
  EXPECT_EQ(counts.fullTiles, 1);
  EXPECT_EQ(counts.partialTiles, 2);
  EXPECT_EQ(counts.visitedTiles(), 3);
  EXPECT_EQ(counts.visitedElements, 48);
  EXPECT_DOUBLE_EQ(counts.density(), 0.75);
}

TEST_F(BlockPlanTest, RaggedEdgesAreBoundsNotMasks) {
  // Sq = 5, Skv = 7 with tiles of 4: the clipped edge tiles stay full.
  EXPECT_TRUE(hasRuns(DenseAttr::get(ctx), {1, 5, 7}, {4, 4}, 0,
                      {{{0, 2, kFull}}, {{0, 2, kFull}}}));
  FailureOr<BlockPlan> plan = build(DenseAttr::get(ctx), {2, 5, 7}, {4, 4});
  ASSERT_TRUE(succeeded(plan));
  PlanCounts counts = countPlan(*plan);
  EXPECT_EQ(counts.totalTiles, 8);
  EXPECT_EQ(counts.fullTiles, 8);
  EXPECT_EQ(counts.visitedElements, 2 * 5 * 7);
  EXPECT_DOUBLE_EQ(counts.density(), 1.0);
  // Only head 1 active: half the work, same total.
  counts = countPlan(*plan, [](int64_t head) { return head == 1; });
  EXPECT_EQ(counts.totalTiles, 8);
  EXPECT_EQ(counts.fullTiles, 4);
  EXPECT_EQ(counts.visitedElements, 5 * 7);
  EXPECT_DOUBLE_EQ(counts.density(), 0.5);
}

TEST_F(BlockPlanTest, Decode) {
  // One query at position 9 sees keys 0..9: tile 2 holds keys 8 and 9 only.
  auto causal = CausalAttr::get(ctx);
  EXPECT_TRUE(hasRuns(causal, {1, 1, 10}, {4, 4}, 0, {{{0, 3, kFull}}}));
  // A causal window of 5 (keys 5..9): tile 1 partial, tile 2 full.
  EXPECT_TRUE(hasRuns(LocalAttr::get(ctx, 4, 1, /*causal=*/true), {1, 1, 10},
                      {4, 4}, 0, {{{1, 2, kPartial}, {2, 3, kFull}}}));
}

TEST_F(BlockPlanTest, MoreQueriesThanKeys) {
  // Sq = 8 > Skv = 4: rows 0..3 sit at positions -4..-1 and see nothing.
  auto causal = CausalAttr::get(ctx);
  EXPECT_TRUE(hasRuns(causal, {1, 8, 4}, {4, 4}, 0, {{}, {{0, 1, kPartial}}}));
  EXPECT_TRUE(
      hasRuns(causal, {1, 8, 4}, {4, 2}, 0, {{}, {{0, 2, kPartial}}}));
  // Dense ignores positions: every tile full.
  EXPECT_TRUE(hasRuns(DenseAttr::get(ctx), {1, 8, 4}, {4, 4}, 0,
                      {{{0, 1, kFull}}, {{0, 1, kFull}}}));
}

TEST_F(BlockPlanTest, UnionFullThroughPrefix) {
  // Rows 0..3 are global (see everything); keys 0..3 are seen by everyone.
  // Query tile 1 (rows 4..7): key tile 0 full through the prefix although
  // the window alone leaves it partial; key tile 1 full through the window;
  // key tile 2 partial (row 4 reaches key 8 only). Further down, key tile 0
  // stays full through the prefix while the window moves on.
  auto pattern = UnionAttr::get(
      ctx, ArrayAttr::get(ctx, {GlobalAttr::get(ctx, 4),
                                LocalAttr::get(ctx, 4, 1, false)}));
  EXPECT_TRUE(hasRuns(pattern, {1, 16, 16}, {4, 4}, 0,
                      {{{0, 4, kFull}},
                       {{0, 2, kFull}, {2, 3, kPartial}},
                       {{0, 1, kFull},
                        {1, 2, kPartial},
                        {2, 3, kFull},
                        {3, 4, kPartial}},
                       {{0, 1, kFull}, {2, 3, kPartial}, {3, 4, kFull}}}));
}

TEST_F(BlockPlanTest, UnionFullOnlyJointly) {
  // global<tokens = 2> alone leaves rows 2..3 x keys 2..3 of the first tile
  // pair empty; local<window = 1> alone misses keys 2..3 of rows 0..1. Each
  // member is partial there, together they cover every element.
  auto global = GlobalAttr::get(ctx, 2);
  auto local = LocalAttr::get(ctx, 1, 1, false);
  auto pattern = UnionAttr::get(ctx, ArrayAttr::get(ctx, {global, local}));
  AttentionExtent extent{1, 8, 8};
  EXPECT_TRUE(hasRuns(global, extent, {4, 4}, 0,
                      {{{0, 2, kPartial}}, {{0, 1, kPartial}}}));
  EXPECT_TRUE(
      hasRuns(local, extent, {4, 4}, 0,
              {{{0, 2, kPartial}}, {{0, 2, kPartial}}}));
  EXPECT_TRUE(hasRuns(pattern, extent, {4, 4}, 0,
                      {{{0, 1, kFull}, {1, 2, kPartial}},
                       {{0, 2, kPartial}}}));

  // Mid-sequence, with wide key tiles: causal sees keys 0..3 of rows 4..7
  // but not keys 5..7, chunks of 4 see keys 4..7 but not 0..3. Each is
  // partial on query tile 1 x key tile 0, their union is full; likewise on
  // query tile 3 x key tile 1.
  auto chunked = ChunkedAttr::get(ctx, 4, /*causal=*/false);
  auto causal = CausalAttr::get(ctx);
  auto both = UnionAttr::get(ctx, ArrayAttr::get(ctx, {chunked, causal}));
  extent = {1, 16, 16};
  EXPECT_TRUE(hasRuns(causal, extent, {4, 8}, 0,
                      {{{0, 1, kPartial}},
                       {{0, 1, kPartial}},
                       {{0, 1, kFull}, {1, 2, kPartial}},
                       {{0, 1, kFull}, {1, 2, kPartial}}}));
  EXPECT_TRUE(hasRuns(chunked, extent, {4, 8}, 0,
                      {{{0, 1, kPartial}},
                       {{0, 1, kPartial}},
                       {{1, 2, kPartial}},
                       {{1, 2, kPartial}}}));
  EXPECT_TRUE(hasRuns(both, extent, {4, 8}, 0,
                      {{{0, 1, kPartial}},
                       {{0, 1, kFull}},
                       {{0, 1, kFull}, {1, 2, kPartial}},
                       {{0, 2, kFull}}}));
}

TEST_F(BlockPlanTest, Kinds) {
  auto causal = CausalAttr::get(ctx);
  auto random =
      RandomBlocksAttr::get(ctx, llvm::APFloat(0.5), 3, 4, /*diagonal=*/true);
  const int64_t shape[] = {2, 2};
  const int8_t layout[] = {1, 0, 1, 1};
  auto blockLayout = BlockLayoutAttr::get(ctx, 4, shape, layout);
  auto selected = SelectedAttr::get(ctx, 4, 4, /*causal=*/true);
  auto unite = [&](llvm::ArrayRef<Attribute> members) {
    return UnionAttr::get(ctx, ArrayAttr::get(ctx, members));
  };
  AttentionExtent extent{1, 8, 8};
  auto kindOf = [&](PatternAttrInterface pattern) {
    FailureOr<BlockPlan> plan = build(pattern, extent, {4, 4});
    EXPECT_TRUE(succeeded(plan));
    return succeeded(plan) ? plan->forHead(0).getKind() : PlanKind::Runtime;
  };
  EXPECT_EQ(kindOf(causal), PlanKind::Analytic);
  EXPECT_EQ(kindOf(unite({causal, GlobalAttr::get(ctx, 2)})),
            PlanKind::Analytic);
  EXPECT_EQ(kindOf(random), PlanKind::Table);
  EXPECT_EQ(kindOf(blockLayout), PlanKind::Table);
  EXPECT_EQ(kindOf(unite({causal, random})), PlanKind::Table);
  EXPECT_EQ(kindOf(selected), PlanKind::Runtime);
  EXPECT_EQ(kindOf(unite({causal, selected})), PlanKind::Runtime);
  EXPECT_EQ(kindOf(unite({random, selected})), PlanKind::Runtime);

  auto perHead = PerHeadAttr::get(
      ctx, ArrayAttr::get(ctx, {causal, blockLayout, selected}));
  FailureOr<BlockPlan> plan = build(perHead, {3, 8, 8}, {4, 4});
  ASSERT_TRUE(succeeded(plan));
  EXPECT_EQ(plan->forHead(0).getKind(), PlanKind::Analytic);
  EXPECT_EQ(plan->forHead(1).getKind(), PlanKind::Table);
  EXPECT_EQ(plan->forHead(2).getKind(), PlanKind::Runtime);
  EXPECT_EQ(plan->getOverallKind(), PlanKind::Runtime);
  // The table of head 1: block rows [1 0], [1 1] with tiles of 4.
  EXPECT_EQ(plan->forHead(1).getRunOffsets(),
            llvm::ArrayRef<int64_t>({0, 1, 2}));
  TileRunList tableRuns(plan->forHead(1).getTableRuns());
  EXPECT_EQ(toString(tableRuns), toString({{0, 1, kFull}, {0, 2, kFull}}));
}

TEST_F(BlockPlanTest, SharedPlans) {
  auto causal = CausalAttr::get(ctx);
  auto local = LocalAttr::get(ctx, 3, 1, false);
  // Repeated static entries share; distinct ones do not.
  auto perHead =
      PerHeadAttr::get(ctx, ArrayAttr::get(ctx, {causal, local, causal, causal,
                                                 local}));
  FailureOr<BlockPlan> plan = build(perHead, {5, 16, 16}, {4, 4});
  ASSERT_TRUE(succeeded(plan));
  EXPECT_EQ(plan->getDistinctPlans().size(), 2u);
  EXPECT_EQ(plan->getPlanIndex(0), plan->getPlanIndex(2));
  EXPECT_EQ(plan->getPlanIndex(0), plan->getPlanIndex(3));
  EXPECT_EQ(plan->getPlanIndex(1), plan->getPlanIndex(4));
  EXPECT_NE(plan->getPlanIndex(0), plan->getPlanIndex(1));

  // One static pattern for all heads: one plan.
  plan = build(causal, {4, 16, 16}, {4, 4});
  ASSERT_TRUE(succeeded(plan));
  EXPECT_EQ(plan->getDistinctPlans().size(), 1u);

  // Random blocks depend on the head: never shared, even when repeated or
  // inside a union, or when the pattern is not per-head.
  auto random =
      RandomBlocksAttr::get(ctx, llvm::APFloat(0.3), 5, 2, /*diagonal=*/false);
  auto mixed = UnionAttr::get(ctx, ArrayAttr::get(ctx, {causal, random}));
  plan = build(random, {3, 16, 16}, {4, 4});
  ASSERT_TRUE(succeeded(plan));
  EXPECT_EQ(plan->getDistinctPlans().size(), 3u);
  plan = build(PerHeadAttr::get(ctx, ArrayAttr::get(ctx, {mixed, causal, mixed,
                                                          causal})),
               {4, 16, 16}, {4, 4});
  ASSERT_TRUE(succeeded(plan));
  EXPECT_NE(plan->getPlanIndex(0), plan->getPlanIndex(2));
  EXPECT_EQ(plan->getPlanIndex(1), plan->getPlanIndex(3));
  EXPECT_EQ(plan->getDistinctPlans().size(), 3u);

  // Shared layouts are head-independent; per-head layouts are not.
  const int64_t shape2[] = {4, 4}, shape3[] = {2, 4, 4};
  llvm::SmallVector<int8_t> ones(32, 1);
  plan = build(BlockLayoutAttr::get(ctx, 4, shape2,
                                    llvm::ArrayRef(ones).take_front(16)),
               {2, 16, 16}, {4, 4});
  ASSERT_TRUE(succeeded(plan));
  EXPECT_EQ(plan->getDistinctPlans().size(), 1u);
  plan = build(BlockLayoutAttr::get(ctx, 4, shape3, ones), {2, 16, 16},
               {4, 4});
  ASSERT_TRUE(succeeded(plan));
  EXPECT_EQ(plan->getDistinctPlans().size(), 2u);
}

TEST_F(BlockPlanTest, RejectsBadTileSizes) {
  std::vector<std::string> messages;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &diag) {
    messages.push_back(diag.str());
    return success();
  });
  auto causal = CausalAttr::get(ctx);
  for (TileSizes tiles : {TileSizes{0, 4}, TileSizes{4, 0}, TileSizes{-3, 4},
                          TileSizes{4, -1}, TileSizes{0, 0}}) {
    messages.clear();
    EXPECT_TRUE(failed(build(causal, {1, 8, 8}, tiles)))
        << tiles.query << " x " << tiles.key;
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_NE(messages[0].find("tile sizes must be >= 1"), std::string::npos)
        << messages[0];
  }
  messages.clear();
  EXPECT_TRUE(succeeded(build(causal, {1, 8, 8}, {1, 1})));
  EXPECT_TRUE(messages.empty());
}

// `appendRuns` appends: collecting the runs of several query tiles in one
// list keeps the tile boundaries (a regression test: analytic plans once
// merged their first run into the caller's last entry, so chunked<size = 4>,
// Sq = Skv = 8, tiles 4 x 4 gave {[0, 2) full} instead of {[0, 1) full,
// [1, 2) full}).
TEST_F(BlockPlanTest, AppendRunsKeepsEarlierEntries) {
  const int64_t shape[] = {2, 2};
  const int8_t identity[] = {1, 0, 0, 1};
  // The same block diagonal, analytic and as a table.
  for (PatternAttrInterface pattern :
       {PatternAttrInterface(ChunkedAttr::get(ctx, 4, /*causal=*/false)),
        PatternAttrInterface(BlockLayoutAttr::get(ctx, 4, shape, identity))}) {
    FailureOr<BlockPlan> plan = build(pattern, {1, 8, 8}, {4, 4});
    ASSERT_TRUE(succeeded(plan));
    TileRunList runs;
    plan->forHead(0).appendRuns(0, runs);
    plan->forHead(0).appendRuns(1, runs);
    EXPECT_EQ(toString(runs), toString({{0, 1, kFull}, {1, 2, kFull}}))
        << describe(pattern, {1, 8, 8}, {4, 4});
  }
}

//===----------------------------------------------------------------------===//
// Random property tests
//===----------------------------------------------------------------------===//

/// Independent query and key tiles in 1..24 (sometimes equal).
TileSizes randomTiles(PatternGenerator &gen) {
  TileSizes tiles{gen.uniform(1, 24), gen.uniform(1, 24)};
  if (gen.coin(0.3))
    tiles.key = tiles.query;
  return tiles;
}

/// Random patterns per property test.
constexpr int kNumPatterns = 8000;

/// Plans `numPatterns` random patterns from `makePattern` at random extents
/// and tile sizes and checks every property of each plan.
template <typename MakePattern>
void runPropertyTest(MLIRContext *ctx, uint64_t seed, int numPatterns,
                     MakePattern makePattern) {
  // Shorter sequences than PatternQueriesTest: every case also builds a plan
  // and checks each tile pair, and there are twice as many cases.
  PatternGenerator gen(ctx, seed, {/*maxSeqLen=*/80});
  int budget = kMaxFailures;
  int64_t tilesChecked = 0;
  for (int i = 0; i < numPatterns && budget > 0; ++i) {
    AttentionExtent extent = gen.extent();
    TileSizes tiles = randomTiles(gen);
    PatternAttrInterface pattern = makePattern(gen, extent);
    // The generator must stay within the patterns' documented domain.
    AttentionShape shape{extent.numHeads, extent.querySeqLen,
                         extent.keySeqLen};
    ASSERT_TRUE(succeeded(pattern.verifyForShape(
        [&] { return emitError(UnknownLoc::get(ctx)); }, shape)))
        << describe(pattern, extent, tiles);
    FailureOr<BlockPlan> plan = BlockPlan::build(
        pattern, extent, tiles, [&] { return emitError(UnknownLoc::get(ctx)); });
    ASSERT_TRUE(succeeded(plan)) << describe(pattern, extent, tiles);

    // A random subset of the static heads for the subset count.
    llvm::SmallVector<bool> active;
    for (int64_t head = 0; head < extent.numHeads; ++head)
      active.push_back(gen.coin() &&
                       !headPatternOf(pattern, head).isRuntimeSelected());
    checkPlan(pattern, extent, tiles, *plan, active, budget);
    tilesChecked += plan->getShape().numQueryTiles() * extent.numHeads;
  }
  if (budget < 0)
    ADD_FAILURE() << -budget << " more failures not shown";
  testing::Test::RecordProperty("query_tiles_checked",
                                std::to_string(tilesChecked));
}

class BlockPlanPropertyTest : public BlockPlanTest {};

TEST_F(BlockPlanPropertyTest, StaticPlansMatchVisibility) {
  runPropertyTest(ctx, /*seed=*/0x91a7, kNumPatterns,
                  [](PatternGenerator &gen, const AttentionExtent &extent) {
                    PatternAttrInterface pattern = gen.staticPattern(extent);
                    EXPECT_FALSE(pattern.isRuntimeSelected());
                    return pattern;
                  });
}

TEST_F(BlockPlanPropertyTest, RuntimePlansKeepStaticHeadsExact) {
  runPropertyTest(ctx, /*seed=*/0x5e1ec7, kNumPatterns / 6,
                  [](PatternGenerator &gen, const AttentionExtent &extent) {
                    PatternAttrInterface pattern = gen.runtimePattern(extent);
                    EXPECT_TRUE(pattern.isRuntimeSelected());
                    return pattern;
                  });
}

} // namespace
