//===- PatternQueriesTest.cpp - Tests of pattern key-range queries --------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Checks the two questions every pattern attribute answers against each
// other. `isVisible` is the element mask and serves as the specification;
// `getKeyRanges` must return, for any head and any block of query rows,
// exactly the keys that some row of the block sees (for runtime-selected
// patterns, a superset of them). Hand-computed cases pin down the meaning of
// each pattern kind; seeded random property tests cover every kind, unions
// and per-head lists on small, irregular lengths.
//
//===----------------------------------------------------------------------===//

#include "RandomPatterns.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Tiling/AttentionTiling.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/SmallVector.h"
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
/// `isVisible` so that many query blocks can be checked against it.
class VisibilityMatrix {
public:
  VisibilityMatrix(PatternAttrInterface pattern, const AttentionExtent &extent,
                   int64_t head)
      : numKeys(extent.keySeqLen),
        visible(extent.querySeqLen * extent.keySeqLen) {
    for (int64_t q = 0; q < extent.querySeqLen; ++q)
      for (int64_t k = 0; k < numKeys; ++k)
        visible[q * numKeys + k] = pattern.isVisible(extent, head, q, k);
  }

  /// The keys that at least one row in `[queryBegin, queryEnd)` sees, as
  /// sorted, disjoint, non-adjacent half-open ranges. Built directly from the
  /// mask, independently of `normalizeKeyRanges`.
  KeyRangeList keyRanges(int64_t queryBegin, int64_t queryEnd) const {
    KeyRangeList ranges;
    for (int64_t k = 0; k < numKeys; ++k) {
      bool seen = false;
      for (int64_t q = queryBegin; q < queryEnd && !seen; ++q)
        seen = visible[q * numKeys + k];
      if (!seen)
        continue;
      if (!ranges.empty() && ranges.back().end == k)
        ++ranges.back().end;
      else
        ranges.push_back({k, k + 1});
    }
    return ranges;
  }

private:
  int64_t numKeys;
  std::vector<bool> visible;
};

/// Whether every key of `inner` lies in `outer`.
bool coversKeys(const KeyRangeList &outer, const KeyRangeList &inner) {
  for (const KeyRange &range : inner)
    for (int64_t k = range.begin; k < range.end; ++k)
      if (llvm::none_of(outer, [&](const KeyRange &r) { return r.contains(k); }))
        return false;
  return true;
}

/// Whether `ranges` are non-empty, sorted, disjoint, non-adjacent and inside
/// `[0, keySeqLen)`.
bool isNormalizedWithin(const KeyRangeList &ranges, int64_t keySeqLen) {
  int64_t previousEnd = -1;
  for (const KeyRange &range : ranges) {
    if (range.empty() || range.begin <= previousEnd || range.begin < 0 ||
        range.end > keySeqLen)
      return false;
    previousEnd = range.end;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Checks with diagnosable failure messages
//===----------------------------------------------------------------------===//

/// Which relation `getKeyRanges` must have with the brute-force key set.
enum class Relation {
  Exact,     ///< Equal (static patterns).
  UpperBound ///< A superset (runtime-selected patterns).
};

/// One query: a head and a block of query rows of one pattern and extent.
struct Query {
  PatternAttrInterface pattern;
  AttentionExtent extent;
  int64_t head;
  int64_t queryBegin;
  int64_t queryEnd;

  KeyRangeList actual() const {
    return pattern.getKeyRanges(extent, head, queryBegin, queryEnd);
  }
};

std::string describe(const Query &query) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "pattern " << query.pattern << "\n  extent {Hq = "
     << query.extent.numHeads << ", Sq = " << query.extent.querySeqLen
     << ", Skv = " << query.extent.keySeqLen << "}, head " << query.head
     << ", query rows [" << query.queryBegin << ", " << query.queryEnd << ")";
  return text;
}

std::string toString(const KeyRangeList &ranges) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << ranges;
  return text;
}

bool holds(Relation relation, const KeyRangeList &actual,
           const KeyRangeList &expected, int64_t keySeqLen) {
  if (relation == Relation::Exact)
    return actual == expected;
  return isNormalizedWithin(actual, keySeqLen) && coversKeys(actual, expected);
}

/// Checks `query` against the brute-force key set taken from `mask`. On a
/// failure, also narrows the query block to a smallest failing sub-block.
testing::AssertionResult checkQuery(const Query &query,
                                    const VisibilityMatrix &mask,
                                    Relation relation) {
  auto fails = [&](const Query &q) {
    return !holds(relation, q.actual(), mask.keyRanges(q.queryBegin, q.queryEnd),
                  q.extent.keySeqLen);
  };
  if (!fails(query))
    return testing::AssertionSuccess();

  Query smallest = query;
  for (bool shrunk = true; shrunk;) {
    shrunk = false;
    for (auto [dBegin, dEnd] : {std::pair(1, 0), std::pair(0, -1)}) {
      Query candidate = smallest;
      candidate.queryBegin += dBegin;
      candidate.queryEnd += dEnd;
      if (candidate.queryBegin < candidate.queryEnd && fails(candidate)) {
        smallest = candidate;
        shrunk = true;
      }
    }
  }

  auto result = testing::AssertionFailure();
  auto report = [&](const Query &q) {
    result << describe(q) << "\n  expected "
           << (relation == Relation::Exact ? "exactly " : "a superset of ")
           << toString(mask.keyRanges(q.queryBegin, q.queryEnd))
           << "\n  actual   " << toString(q.actual());
  };
  report(query);
  if (smallest.queryBegin != query.queryBegin ||
      smallest.queryEnd != query.queryEnd) {
    result << "\nsmallest failing sub-block:\n";
    report(smallest);
  }
  return result;
}

/// Checks a hand-computed fact: both `getKeyRanges` and the brute-force set
/// of `[queryBegin, queryEnd)` must equal `expected`.
testing::AssertionResult seesKeys(PatternAttrInterface pattern,
                                  AttentionExtent extent, int64_t head,
                                  int64_t queryBegin, int64_t queryEnd,
                                  const KeyRangeList &expected) {
  Query query{pattern, extent, head, queryBegin, queryEnd};
  KeyRangeList actual = query.actual();
  KeyRangeList reference =
      VisibilityMatrix(pattern, extent, head).keyRanges(queryBegin, queryEnd);
  if (actual == expected && reference == expected)
    return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << describe(query) << "\n  expected    " << toString(expected)
         << "\n  getKeyRanges " << toString(actual) << "\n  isVisible    "
         << toString(reference);
}

//===----------------------------------------------------------------------===//
// Hand-computed facts
//===----------------------------------------------------------------------===//

class PatternQueriesTest : public testing::Test {
protected:
  PatternQueriesTest() { context.loadDialect<AttnDialect>(); }

  MLIRContext context;
  MLIRContext *ctx = &context;
};

/// Hq = 1, Sq = Skv = 10: the common square case.
constexpr AttentionExtent kSquare10{1, 10, 10};

TEST_F(PatternQueriesTest, Dense) {
  auto dense = DenseAttr::get(ctx);
  EXPECT_TRUE(seesKeys(dense, kSquare10, 0, 3, 4, {{0, 10}}));
  EXPECT_TRUE(seesKeys(dense, {1, 12, 5}, 0, 0, 1, {{0, 5}}));
}

TEST_F(PatternQueriesTest, Causal) {
  auto causal = CausalAttr::get(ctx);
  // Decoding: the single query sits after all keys.
  EXPECT_TRUE(seesKeys(causal, {1, 1, 10}, 0, 0, 1, {{0, 10}}));
  EXPECT_TRUE(seesKeys(causal, kSquare10, 0, 0, 1, {{0, 1}}));
  EXPECT_TRUE(seesKeys(causal, kSquare10, 0, 2, 5, {{0, 5}}));
  // Prefill with a cache: row 0 of 4 sits at position 6.
  EXPECT_TRUE(seesKeys(causal, {1, 4, 10}, 0, 0, 1, {{0, 7}}));
}

TEST_F(PatternQueriesTest, MoreQueriesThanKeys) {
  // Sq = 8 > Skv = 4: rows 0..3 sit at positions -4..-1 and see nothing
  // under causal masking; row 4 is position 0.
  AttentionExtent extent{1, 8, 4};
  auto causal = CausalAttr::get(ctx);
  EXPECT_TRUE(seesKeys(causal, extent, 0, 0, 1, {}));
  EXPECT_TRUE(seesKeys(causal, extent, 0, 0, 4, {}));
  EXPECT_TRUE(seesKeys(causal, extent, 0, 0, 5, {{0, 1}}));
  EXPECT_TRUE(seesKeys(causal, extent, 0, 7, 8, {{0, 4}}));
  EXPECT_TRUE(seesKeys(ChunkedAttr::get(ctx, 2, /*causal=*/false), extent, 0,
                       2, 4, {}));
  EXPECT_TRUE(seesKeys(LocalAttr::get(ctx, 2, 1, /*causal=*/false), extent, 0,
                       2, 3, {{0, 1}}));
  // Block patterns have no blocks at negative positions.
  EXPECT_TRUE(seesKeys(RandomBlocksAttr::get(ctx, llvm::APFloat(1.0), 0, 2,
                                             /*diagonal=*/true),
                       extent, 0, 0, 4, {}));
}

TEST_F(PatternQueriesTest, Local) {
  auto symmetric = LocalAttr::get(ctx, /*window=*/2, /*dilation=*/1, false);
  EXPECT_TRUE(seesKeys(symmetric, kSquare10, 0, 4, 5, {{2, 7}}));
  EXPECT_TRUE(seesKeys(symmetric, kSquare10, 0, 0, 1, {{0, 3}}));
  EXPECT_TRUE(seesKeys(symmetric, kSquare10, 0, 4, 7, {{2, 9}}));
  auto causal = LocalAttr::get(ctx, /*window=*/3, /*dilation=*/1, true);
  EXPECT_TRUE(seesKeys(causal, kSquare10, 0, 0, 1, {{0, 1}}));
  EXPECT_TRUE(seesKeys(causal, kSquare10, 0, 6, 7, {{3, 7}}));
}

TEST_F(PatternQueriesTest, DilatedLocal) {
  auto dilated = LocalAttr::get(ctx, /*window=*/4, /*dilation=*/2, false);
  EXPECT_TRUE(
      seesKeys(dilated, kSquare10, 0, 5, 6, {{1, 2}, {3, 4}, {5, 6}, {7, 8},
                                            {9, 10}}));
  // Two adjacent rows fill each other's gaps.
  EXPECT_TRUE(seesKeys(dilated, kSquare10, 0, 5, 7, {{1, 10}}));
  auto causal = LocalAttr::get(ctx, /*window=*/4, /*dilation=*/2, true);
  EXPECT_TRUE(seesKeys(causal, kSquare10, 0, 5, 6, {{1, 2}, {3, 4}, {5, 6}}));
}

TEST_F(PatternQueriesTest, Strided) {
  auto strided = StridedAttr::get(ctx, /*stride=*/4, /*block=*/1, false);
  EXPECT_TRUE(seesKeys(strided, kSquare10, 0, 5, 6, {{1, 2}, {5, 6}, {9, 10}}));
  // Granules of 2: row 5 is in granule 2, which sees granules 0, 2 and 4;
  // causally, granule 2 only up to position 5.
  auto blocked = StridedAttr::get(ctx, /*stride=*/2, /*block=*/2, false);
  EXPECT_TRUE(seesKeys(blocked, kSquare10, 0, 5, 6, {{0, 2}, {4, 6}, {8, 10}}));
  auto causal = StridedAttr::get(ctx, /*stride=*/2, /*block=*/2, true);
  EXPECT_TRUE(seesKeys(causal, kSquare10, 0, 5, 6, {{0, 2}, {4, 6}}));
  EXPECT_TRUE(seesKeys(causal, kSquare10, 0, 4, 5, {{0, 2}, {4, 5}}));
}

TEST_F(PatternQueriesTest, Global) {
  auto global = GlobalAttr::get(ctx, /*tokens=*/2);
  EXPECT_TRUE(seesKeys(global, kSquare10, 0, 7, 8, {{0, 2}}));
  // Global queries see every key.
  EXPECT_TRUE(seesKeys(global, kSquare10, 0, 1, 2, {{0, 10}}));
  EXPECT_TRUE(seesKeys(global, kSquare10, 0, 1, 8, {{0, 10}}));
}

// hullTilesAllVisible (the GPU key loop's walk skips no tile for these
// patterns) holds exactly when every block of contiguous rows sees one
// interval of keys: checked on every row block of a few shapes, for the
// patterns it claims, and shown false (some block sees two intervals) for
// the ones it leaves out.
TEST_F(PatternQueriesTest, HullTilesAllVisibleMeansOneKeyInterval) {
  Attribute windowAndGlobal = UnionAttr::get(
      ctx, ArrayAttr::get(ctx, {GlobalAttr::get(ctx, /*tokens=*/2),
                                LocalAttr::get(ctx, 2, 1, false)}));
  SmallVector<std::pair<Attribute, bool>> patterns = {
      {DenseAttr::get(ctx), true},
      {CausalAttr::get(ctx), true},
      {LocalAttr::get(ctx, /*window=*/3, /*dilation=*/1, false), true},
      {LocalAttr::get(ctx, /*window=*/5, /*dilation=*/1, true), true},
      {GlobalAttr::get(ctx, /*tokens=*/3), true},
      {ChunkedAttr::get(ctx, /*size=*/4, /*causal=*/false), true},
      {ChunkedAttr::get(ctx, /*size=*/5, /*causal=*/true), true},
      {LocalAttr::get(ctx, /*window=*/5, /*dilation=*/2, false), false},
      {StridedAttr::get(ctx, /*stride=*/3, /*block=*/2, false), false},
      {windowAndGlobal, false}};
  for (auto [attr, claimed] : patterns) {
    auto pattern = cast<PatternAttrInterface>(attr);
    std::string name;
    llvm::raw_string_ostream(name) << attr;
    EXPECT_EQ(hullTilesAllVisible(pattern), claimed) << name;
    size_t mostIntervals = 0;
    for (AttentionExtent extent :
         {AttentionExtent{1, 23, 23}, AttentionExtent{1, 9, 30},
          AttentionExtent{1, 30, 9}})
      for (int64_t rows : {1, 2, 4, 8})
        for (int64_t begin = 0; begin < extent.querySeqLen; ++begin) {
          int64_t end = std::min(begin + rows, extent.querySeqLen);
          size_t intervals = pattern.getKeyRanges(extent, 0, begin, end).size();
          mostIntervals = std::max(mostIntervals, intervals);
          if (claimed) {
            EXPECT_LE(intervals, 1u)
                << name << " rows [" << begin << ", " << end << ") of "
                << extent.querySeqLen << " x " << extent.keySeqLen;
          }
        }
    if (!claimed) {
      EXPECT_GT(mostIntervals, 1u) << name;
    }
  }
  // Unions and per-head lists of such patterns: the walk jumps between the
  // members' hulls without classifying tiles; one strided member needs it.
  Attribute stridedAndWindow = UnionAttr::get(
      ctx, ArrayAttr::get(ctx, {StridedAttr::get(ctx, 3, 2, false),
                                LocalAttr::get(ctx, 2, 1, false)}));
  EXPECT_TRUE(
      nextKeyTileIsVisible(cast<PatternAttrInterface>(windowAndGlobal)));
  EXPECT_FALSE(
      nextKeyTileIsVisible(cast<PatternAttrInterface>(stridedAndWindow)));
  EXPECT_TRUE(nextKeyTileIsVisible(DenseAttr::get(ctx)));
  EXPECT_FALSE(nextKeyTileIsVisible(LocalAttr::get(ctx, 5, 2, false)));
}

TEST_F(PatternQueriesTest, Chunked) {
  auto chunked = ChunkedAttr::get(ctx, /*size=*/4, false);
  EXPECT_TRUE(seesKeys(chunked, kSquare10, 0, 5, 6, {{4, 8}}));
  // The last chunk is cut by Skv.
  EXPECT_TRUE(seesKeys(chunked, kSquare10, 0, 9, 10, {{8, 10}}));
  EXPECT_TRUE(seesKeys(chunked, kSquare10, 0, 3, 5, {{0, 8}}));
  auto causal = ChunkedAttr::get(ctx, /*size=*/4, true);
  EXPECT_TRUE(seesKeys(causal, kSquare10, 0, 5, 6, {{4, 6}}));
  EXPECT_TRUE(seesKeys(causal, kSquare10, 0, 4, 5, {{4, 5}}));
}

TEST_F(PatternQueriesTest, BlockLayout) {
  // Blocks of 2 over 6 positions:  1 0 0
  //                                 1 1 0
  //                                 0 1 1
  const int64_t shape[] = {3, 3};
  const int8_t layout[] = {1, 0, 0, 1, 1, 0, 0, 1, 1};
  auto attr = BlockLayoutAttr::get(ctx, /*block=*/2, shape, layout);
  AttentionExtent extent{1, 6, 6};
  EXPECT_TRUE(seesKeys(attr, extent, 0, 0, 2, {{0, 2}}));
  EXPECT_TRUE(seesKeys(attr, extent, 0, 3, 4, {{0, 4}}));
  EXPECT_TRUE(seesKeys(attr, extent, 0, 4, 6, {{2, 6}}));
  EXPECT_TRUE(seesKeys(attr, extent, 0, 1, 5, {{0, 6}}));
  // Decoding at position 5 (block 2).
  EXPECT_TRUE(seesKeys(attr, {1, 1, 6}, 0, 0, 1, {{2, 6}}));
}

TEST_F(PatternQueriesTest, PerHeadBlockLayout) {
  // Head 0: identity; head 1: only key block 0.
  const int64_t shape[] = {2, 2, 2};
  const int8_t layout[] = {1, 0, 0, 1, /*head 1*/ 1, 0, 1, 0};
  auto attr = BlockLayoutAttr::get(ctx, /*block=*/3, shape, layout);
  AttentionExtent extent{2, 5, 5};
  EXPECT_TRUE(seesKeys(attr, extent, 0, 4, 5, {{3, 5}}));
  EXPECT_TRUE(seesKeys(attr, extent, 1, 4, 5, {{0, 3}}));
}

TEST_F(PatternQueriesTest, RandomBlocks) {
  AttentionExtent extent{2, 32, 32};
  auto all = RandomBlocksAttr::get(ctx, llvm::APFloat(1.0), /*seed=*/9,
                                   /*block=*/4, /*diagonal=*/false);
  EXPECT_TRUE(seesKeys(all, extent, 1, 13, 14, {{0, 32}}));

  // A vanishing density keeps (almost surely) only the diagonal block.
  auto diagonal = RandomBlocksAttr::get(ctx, llvm::APFloat(1e-12), /*seed=*/9,
                                        /*block=*/4, /*diagonal=*/true);
  EXPECT_TRUE(seesKeys(diagonal, extent, 0, 13, 14, {{12, 16}}));
  EXPECT_TRUE(seesKeys(diagonal, extent, 0, 30, 31, {{28, 32}}));

  // Membership follows the published row stream.
  auto half = RandomBlocksAttr::get(ctx, llvm::APFloat(0.5), /*seed=*/42,
                                    /*block=*/4, /*diagonal=*/false);
  for (int64_t head = 0; head < extent.numHeads; ++head)
    for (int64_t qb = 0; qb < 8; ++qb) {
      KeyRangeList expected;
      RandomBlockRow row(42, head, qb, 0.5);
      for (int64_t kb = row.next(); kb < 8; kb = row.next())
        expected.push_back({4 * kb, 4 * kb + 4});
      normalizeKeyRanges(expected);
      EXPECT_TRUE(seesKeys(half, extent, head, 4 * qb, 4 * qb + 4, expected));
    }
}

// Each key block is kept with probability `density`, independently: over
// many rows the kept fraction matches and neighbours are uncorrelated.
TEST_F(PatternQueriesTest, RandomBlockRowsKeepTheDensity) {
  for (double density : {0.05, 0.25, 0.5, 0.9}) {
    int64_t kept = 0, both = 0, rows = 4000, width = 64;
    for (int64_t qb = 0; qb < rows; ++qb) {
      RandomBlockRow row(7, /*head=*/qb % 3, qb, density);
      int64_t previous = -2;
      for (int64_t kb = row.next(); kb < width; kb = row.next()) {
        ++kept;
        both += previous == kb - 1;
        previous = kb;
      }
    }
    double fraction = double(kept) / double(rows * width);
    double pairs = double(both) / double(rows * (width - 1));
    EXPECT_NEAR(fraction, density, 0.01) << density;
    EXPECT_NEAR(pairs, density * density, 0.01) << density;
  }
}

TEST_F(PatternQueriesTest, UnionAndPerHead) {
  auto global = GlobalAttr::get(ctx, 1);
  auto local = LocalAttr::get(ctx, 1, 1, false);
  auto unionAttr = UnionAttr::get(ctx, ArrayAttr::get(ctx, {global, local}));
  EXPECT_TRUE(seesKeys(unionAttr, kSquare10, 0, 5, 6, {{0, 1}, {4, 7}}));

  auto perHead = PerHeadAttr::get(
      ctx, ArrayAttr::get(ctx, {CausalAttr::get(ctx), unionAttr}));
  AttentionExtent extent{2, 10, 10};
  EXPECT_TRUE(seesKeys(perHead, extent, 0, 5, 6, {{0, 6}}));
  EXPECT_TRUE(seesKeys(perHead, extent, 1, 5, 6, {{0, 1}, {4, 7}}));
}

TEST_F(PatternQueriesTest, RuntimeSelection) {
  auto selected = SelectedAttr::get(ctx, 4, 4, /*causal=*/true);
  auto causal = CausalAttr::get(ctx);
  EXPECT_TRUE(selected.isRuntimeSelected());
  EXPECT_FALSE(cast<PatternAttrInterface>(causal).isRuntimeSelected());
  auto unionAttr =
      UnionAttr::get(ctx, ArrayAttr::get(ctx, {causal, selected}));
  EXPECT_TRUE(unionAttr.isRuntimeSelected());
  EXPECT_FALSE(
      UnionAttr::get(ctx, ArrayAttr::get(ctx, {causal, GlobalAttr::get(ctx, 2)}))
          .isRuntimeSelected());
  EXPECT_TRUE(PerHeadAttr::get(ctx, ArrayAttr::get(ctx, {causal, selected}))
                  .isRuntimeSelected());
  EXPECT_TRUE(PerHeadAttr::get(ctx, ArrayAttr::get(ctx, {causal, unionAttr}))
                  .isRuntimeSelected());
  EXPECT_FALSE(PerHeadAttr::get(ctx, ArrayAttr::get(ctx, {causal, causal}))
                   .isRuntimeSelected());

  // The bound: every key, or every key up to the position when causal.
  EXPECT_TRUE(seesKeys(selected, kSquare10, 0, 5, 6, {{0, 6}}));
  EXPECT_TRUE(seesKeys(SelectedAttr::get(ctx, 4, 4, /*causal=*/false),
                       kSquare10, 0, 5, 6, {{0, 10}}));
}

//===----------------------------------------------------------------------===//
// Random property tests
//===----------------------------------------------------------------------===//

/// A block of 1..40 query rows (cut at Sq) at a random start, or sometimes
/// all rows.
std::pair<int64_t, int64_t> randomQueryBlock(PatternGenerator &gen,
                                             const AttentionExtent &extent) {
  if (gen.coin(0.1))
    return {0, extent.querySeqLen};
  int64_t begin = gen.uniform(0, extent.querySeqLen - 1);
  return {begin, std::min(extent.querySeqLen, begin + gen.uniform(1, 40))};
}

/// Random patterns per property test and query blocks per pattern and head.
constexpr int kNumPatterns = 4000;
constexpr int kBlocksPerHead = 3;
/// Failures reported before a property test stops.
constexpr int kMaxFailures = 10;

/// Runs `numPatterns` random patterns from `makePattern`; for every head,
/// checks random query blocks and every single row against the brute-force
/// set. Heads whose own pattern is static must match exactly; runtime-selected
/// ones must give an upper bound.
template <typename MakePattern>
void runPropertyTest(MLIRContext *ctx, uint64_t seed, int numPatterns,
                     MakePattern makePattern) {
  PatternGenerator gen(ctx, seed, {/*maxSeqLen=*/96});
  int failures = 0;
  int64_t blocksChecked = 0, rowsChecked = 0;
  auto check = [&](const Query &query, const VisibilityMatrix &mask,
                   Relation relation) {
    testing::AssertionResult result = checkQuery(query, mask, relation);
    EXPECT_TRUE(result);
    if (!result)
      ++failures;
  };

  for (int i = 0; i < numPatterns && failures < kMaxFailures; ++i) {
    AttentionExtent extent = gen.extent();
    PatternAttrInterface pattern = makePattern(gen, extent);
    // The generator must stay within the patterns' documented domain.
    AttentionShape shape{extent.numHeads, extent.querySeqLen,
                         extent.keySeqLen};
    ASSERT_TRUE(succeeded(pattern.verifyForShape(
        [&] { return emitError(UnknownLoc::get(ctx)); }, shape)))
        << describe({pattern, extent, 0, 0, extent.querySeqLen});

    for (int64_t head = 0; head < extent.numHeads; ++head) {
      auto perHead = dyn_cast<PerHeadAttr>(pattern);
      PatternAttrInterface headPattern =
          perHead ? perHead.getHeadPattern(head) : pattern;
      Relation relation = headPattern.isRuntimeSelected() ? Relation::UpperBound
                                                          : Relation::Exact;
      VisibilityMatrix mask(pattern, extent, head);
      for (int j = 0; j < kBlocksPerHead; ++j, ++blocksChecked) {
        auto [begin, end] = randomQueryBlock(gen, extent);
        check({pattern, extent, head, begin, end}, mask, relation);
      }
      for (int64_t q = 0; q < extent.querySeqLen; ++q, ++rowsChecked)
        check({pattern, extent, head, q, q + 1}, mask, relation);
    }
  }
  testing::Test::RecordProperty("blocks_checked", std::to_string(blocksChecked));
  testing::Test::RecordProperty("rows_checked", std::to_string(rowsChecked));
}

TEST_F(PatternQueriesTest, StaticKeyRangesEqualVisibleKeys) {
  runPropertyTest(ctx, /*seed=*/0x5eed, kNumPatterns,
                  [](PatternGenerator &gen, const AttentionExtent &extent) {
                    PatternAttrInterface pattern = gen.staticPattern(extent);
                    EXPECT_FALSE(pattern.isRuntimeSelected());
                    return pattern;
                  });
}

TEST_F(PatternQueriesTest, RuntimeKeyRangesBoundVisibleKeys) {
  runPropertyTest(ctx, /*seed=*/0xb0cd, kNumPatterns / 4,
                  [](PatternGenerator &gen, const AttentionExtent &extent) {
                    PatternAttrInterface pattern = gen.runtimePattern(extent);
                    EXPECT_TRUE(pattern.isRuntimeSelected());
                    return pattern;
                  });
}

} // namespace
