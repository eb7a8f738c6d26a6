//===- PatternQueries.cpp - Which keys each pattern makes visible ---------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The meaning of every pattern attribute, in two forms that must agree:
// `isVisible` (one query row, one key: the element mask) and
// `appendKeyRanges` (a block of query rows: the exact union of the keys its
// rows see, in closed form where the pattern allows it). The GoogleTest
// property tests check the second against the first by brute force.
//
// Query rows are mapped to positions `q + (Skv - Sq)` (AttentionExtent); all
// patterns are defined on positions.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnAttrs.h"

#include "mlir/IR/BuiltinTypes.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::attn;

namespace {
/// The positions `[first, last]` of query rows `[queryBegin, queryEnd)`
/// clipped to the real rows; `empty` when no row remains.
struct PositionSpan {
  int64_t first = 0;
  int64_t last = -1;
  bool empty = true;
};
} // namespace

static PositionSpan positionSpan(const AttentionExtent &extent,
                                 int64_t queryBegin, int64_t queryEnd) {
  queryBegin = std::max<int64_t>(queryBegin, 0);
  queryEnd = std::min(queryEnd, extent.querySeqLen);
  if (queryBegin >= queryEnd || extent.keySeqLen <= 0)
    return {};
  return {extent.queryPosition(queryBegin), extent.queryPosition(queryEnd - 1),
          false};
}

/// Appends maximal runs of keys `k` in `[begin, end)` (clipped to the keys)
/// for which `visible(k)` holds. Used where no closed form is exact.
template <typename Pred>
static void appendRuns(KeyRangeList &ranges, int64_t begin, int64_t end,
                       int64_t keySeqLen, Pred visible) {
  begin = std::max<int64_t>(begin, 0);
  end = std::min(end, keySeqLen);
  int64_t runStart = -1;
  for (int64_t k = begin; k < end; ++k) {
    bool v = visible(k);
    if (v && runStart < 0)
      runStart = k;
    if (!v && runStart >= 0) {
      ranges.push_back({runStart, k});
      runStart = -1;
    }
  }
  if (runStart >= 0)
    ranges.push_back({runStart, end});
}

/// Appends every key block `kb` of `blockSize` positions for which
/// `visible(queryBlock, kb)` holds for some query block in
/// `[firstQueryBlock, lastQueryBlock]`.
template <typename Pred>
static void appendVisibleBlocks(KeyRangeList &ranges, int64_t firstQueryBlock,
                                int64_t lastQueryBlock, int64_t blockSize,
                                int64_t keySeqLen, Pred visible) {
  int64_t numKeyBlocks = ceilDiv(keySeqLen, blockSize);
  for (int64_t kb = 0; kb < numKeyBlocks; ++kb)
    for (int64_t qb = firstQueryBlock; qb <= lastQueryBlock; ++qb)
      if (visible(qb, kb)) {
        appendClippedRange(ranges, kb * blockSize, (kb + 1) * blockSize,
                           keySeqLen);
        break;
      }
}

//===----------------------------------------------------------------------===//
// Dense and causal
//===----------------------------------------------------------------------===//

bool DenseAttr::isVisible(const AttentionExtent &, int64_t, int64_t,
                          int64_t) const {
  return true;
}

void DenseAttr::appendKeyRanges(const AttentionExtent &extent, int64_t,
                                int64_t queryBegin, int64_t queryEnd,
                                KeyRangeList &ranges) const {
  if (!positionSpan(extent, queryBegin, queryEnd).empty)
    ranges.push_back({0, extent.keySeqLen});
}

bool CausalAttr::isVisible(const AttentionExtent &extent, int64_t,
                           int64_t query, int64_t key) const {
  return key <= extent.queryPosition(query);
}

void CausalAttr::appendKeyRanges(const AttentionExtent &extent, int64_t,
                                 int64_t queryBegin, int64_t queryEnd,
                                 KeyRangeList &ranges) const {
  PositionSpan span = positionSpan(extent, queryBegin, queryEnd);
  if (!span.empty)
    appendClippedRange(ranges, 0, span.last + 1, extent.keySeqLen);
}

//===----------------------------------------------------------------------===//
// Local window
//===----------------------------------------------------------------------===//

bool LocalAttr::isVisible(const AttentionExtent &extent, int64_t,
                          int64_t query, int64_t key) const {
  int64_t distance = extent.queryPosition(query) - key;
  int64_t lowest = getCausal() ? 0 : -getWindow();
  return distance >= lowest && distance <= getWindow() &&
         positiveMod(distance, getDilation()) == 0;
}

void LocalAttr::appendKeyRanges(const AttentionExtent &extent, int64_t,
                                int64_t queryBegin, int64_t queryEnd,
                                KeyRangeList &ranges) const {
  PositionSpan span = positionSpan(extent, queryBegin, queryEnd);
  if (span.empty)
    return;
  int64_t window = getWindow(), dilation = getDilation();
  int64_t ahead = getCausal() ? 0 : window; // Keys allowed after the query.
  int64_t begin = span.first - window, end = span.last + ahead + 1;
  if (dilation == 1) {
    // The union of [p - window, p + ahead] over consecutive p is one range.
    appendClippedRange(ranges, begin, end, extent.keySeqLen);
    return;
  }
  // Key k is visible iff some distance t = p - k with p in the span, t in
  // [-ahead, window], is a multiple of the dilation.
  appendRuns(ranges, begin, end, extent.keySeqLen, [&](int64_t k) {
    int64_t lo = std::max(span.first - k, -ahead);
    int64_t hi = std::min(span.last - k, window);
    return lo <= hi && floorDiv(hi, dilation) * dilation >= lo;
  });
}

//===----------------------------------------------------------------------===//
// Strided
//===----------------------------------------------------------------------===//

bool StridedAttr::isVisible(const AttentionExtent &extent, int64_t,
                            int64_t query, int64_t key) const {
  int64_t position = extent.queryPosition(query);
  if (getCausal() && key > position)
    return false;
  int64_t granuleDistance =
      floorDiv(position, getBlock()) - floorDiv(key, getBlock());
  return positiveMod(granuleDistance, getStride()) == 0;
}

void StridedAttr::appendKeyRanges(const AttentionExtent &extent, int64_t,
                                  int64_t queryBegin, int64_t queryEnd,
                                  KeyRangeList &ranges) const {
  PositionSpan span = positionSpan(extent, queryBegin, queryEnd);
  if (span.empty)
    return;
  int64_t block = getBlock(), stride = getStride();
  int64_t firstGranule = floorDiv(span.first, block);
  int64_t lastGranule = floorDiv(span.last, block);
  int64_t numKeyGranules = ceilDiv(extent.keySeqLen, block);
  for (int64_t kg = 0; kg < numKeyGranules; ++kg) {
    int64_t granuleBegin = kg * block;
    if (!getCausal()) {
      // Smallest query granule >= firstGranule congruent to kg.
      int64_t match = firstGranule + positiveMod(kg - firstGranule, stride);
      if (match <= lastGranule)
        appendClippedRange(ranges, granuleBegin, granuleBegin + block,
                           extent.keySeqLen);
      continue;
    }
    if (granuleBegin > span.last)
      break;
    // Largest congruent query granule: its last position sees the most keys.
    int64_t match = lastGranule - positiveMod(lastGranule - kg, stride);
    if (match < firstGranule)
      continue;
    int64_t lastPosition = std::min(span.last, match * block + block - 1);
    appendClippedRange(ranges, granuleBegin,
                       std::min(granuleBegin + block, lastPosition + 1),
                       extent.keySeqLen);
  }
}

//===----------------------------------------------------------------------===//
// Global tokens
//===----------------------------------------------------------------------===//

bool GlobalAttr::isVisible(const AttentionExtent &extent, int64_t,
                           int64_t query, int64_t key) const {
  int64_t position = extent.queryPosition(query);
  return key < getTokens() || (position >= 0 && position < getTokens());
}

void GlobalAttr::appendKeyRanges(const AttentionExtent &extent, int64_t,
                                 int64_t queryBegin, int64_t queryEnd,
                                 KeyRangeList &ranges) const {
  PositionSpan span = positionSpan(extent, queryBegin, queryEnd);
  if (span.empty)
    return;
  bool hasGlobalQuery =
      std::max<int64_t>(span.first, 0) <= std::min(span.last, getTokens() - 1);
  appendClippedRange(ranges, 0, hasGlobalQuery ? extent.keySeqLen : getTokens(),
                     extent.keySeqLen);
}

//===----------------------------------------------------------------------===//
// Chunked
//===----------------------------------------------------------------------===//

bool ChunkedAttr::isVisible(const AttentionExtent &extent, int64_t,
                            int64_t query, int64_t key) const {
  int64_t position = extent.queryPosition(query);
  if (getCausal() && key > position)
    return false;
  return floorDiv(position, getSize()) == floorDiv(key, getSize());
}

void ChunkedAttr::appendKeyRanges(const AttentionExtent &extent, int64_t,
                                  int64_t queryBegin, int64_t queryEnd,
                                  KeyRangeList &ranges) const {
  PositionSpan span = positionSpan(extent, queryBegin, queryEnd);
  if (span.empty)
    return;
  int64_t size = getSize();
  int64_t begin = floorDiv(span.first, size) * size;
  // Consecutive positions' chunks tile the range without gaps; causally each
  // row sees its chunk's start up to itself, which also leaves no gaps.
  int64_t end = getCausal() ? span.last + 1
                            : (floorDiv(span.last, size) + 1) * size;
  appendClippedRange(ranges, begin, end, extent.keySeqLen);
}

//===----------------------------------------------------------------------===//
// Random blocks
//===----------------------------------------------------------------------===//

uint64_t mlir::attn::splitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

RandomBlockRow::RandomBlockRow(uint64_t seed, int64_t head, int64_t queryBlock,
                               double density)
    : keepAll(density >= 1.0) {
  uint64_t h = splitMix64(seed);
  h = splitMix64(h ^ static_cast<uint64_t>(head));
  state = splitMix64(h ^ static_cast<uint64_t>(queryBlock));
  logMiss = keepAll ? 0.0 : std::log1p(-density);
}

int64_t RandomBlockRow::next() {
  if (keepAll)
    return ++last;
  // u in (0, 1]; P(gap >= g) = (1 - density)^g, so floor(log u / log(1-d))
  // is the number of blocks skipped before the next kept one.
  state = splitMix64(state);
  double u = double((state >> 11) + 1) * 0x1p-53;
  double gap = std::floor(std::log(u) / logMiss);
  constexpr double kFar = double(int64_t(1) << 42); // Past any sequence.
  last += 1 + static_cast<int64_t>(std::min(gap, kFar));
  return last;
}

void RandomBlocksAttr::appendKeptBlocks(int64_t head, int64_t qb,
                                        int64_t numKeyBlocks,
                                        SmallVectorImpl<int64_t> &blocks) const {
  if (qb < 0)
    return;
  size_t first = blocks.size();
  RandomBlockRow row(getSeed(), head, qb, getDensityValue());
  for (int64_t kb = row.next(); kb < numKeyBlocks; kb = row.next())
    blocks.push_back(kb);
  if (getDiagonal() && qb < numKeyBlocks) {
    auto it = std::lower_bound(blocks.begin() + first, blocks.end(), qb);
    if (it == blocks.end() || *it != qb)
      blocks.insert(it, qb);
  }
}

bool RandomBlocksAttr::isBlockKept(int64_t head, int64_t qb, int64_t kb) const {
  if (qb < 0 || kb < 0)
    return false;
  if (getDiagonal() && qb == kb)
    return true;
  RandomBlockRow row(getSeed(), head, qb, getDensityValue());
  int64_t kept = row.next();
  while (kept < kb)
    kept = row.next();
  return kept == kb;
}

bool RandomBlocksAttr::isVisible(const AttentionExtent &extent, int64_t head,
                                 int64_t query, int64_t key) const {
  int64_t position = extent.queryPosition(query);
  return isBlockKept(head, floorDiv(position, getBlock()),
                     floorDiv(key, getBlock()));
}

void RandomBlocksAttr::appendKeyRanges(const AttentionExtent &extent,
                                       int64_t head, int64_t queryBegin,
                                       int64_t queryEnd,
                                       KeyRangeList &ranges) const {
  PositionSpan span = positionSpan(extent, queryBegin, queryEnd);
  if (span.empty || span.last < 0)
    return;
  int64_t block = getBlock();
  int64_t numKeyBlocks = ceilDiv(extent.keySeqLen, block);
  SmallVector<int64_t> kept;
  for (int64_t qb = floorDiv(std::max<int64_t>(span.first, 0), block),
               last = floorDiv(span.last, block);
       qb <= last; ++qb)
    appendKeptBlocks(head, qb, numKeyBlocks, kept);
  for (int64_t kb : kept)
    appendClippedRange(ranges, kb * block, (kb + 1) * block, extent.keySeqLen);
}

//===----------------------------------------------------------------------===//
// Explicit block layout
//===----------------------------------------------------------------------===//

bool BlockLayoutAttr::isVisible(const AttentionExtent &extent, int64_t head,
                                int64_t query, int64_t key) const {
  int64_t position = extent.queryPosition(query);
  if (position < 0)
    return false;
  return isBlockVisible(head, floorDiv(position, getBlock()),
                        floorDiv(key, getBlock()));
}

void BlockLayoutAttr::appendKeyRanges(const AttentionExtent &extent,
                                      int64_t head, int64_t queryBegin,
                                      int64_t queryEnd,
                                      KeyRangeList &ranges) const {
  PositionSpan span = positionSpan(extent, queryBegin, queryEnd);
  if (span.empty || span.last < 0)
    return;
  int64_t block = getBlock();
  appendVisibleBlocks(ranges, floorDiv(std::max<int64_t>(span.first, 0), block),
                      floorDiv(span.last, block), block, extent.keySeqLen,
                      [&](int64_t qb, int64_t kb) {
                        return isBlockVisible(head, qb, kb);
                      });
}

LogicalResult
BlockLayoutAttr::verifyForShape(function_ref<InFlightDiagnostic()> emitError,
                                const AttentionShape &shape) const {
  if (getNumLayoutHeads() != 1 && getNumLayoutHeads() != shape.numHeads)
    return emitError() << "#attn.block_layout has " << getNumLayoutHeads()
                       << " per-head matrices but the op has Hq = "
                       << shape.numHeads << " query heads";
  if (ShapedType::isDynamic(shape.keySeqLen))
    return success();
  int64_t needed = ceilDiv(shape.keySeqLen, getBlock());
  if (needed > getNumRows() || needed > getNumCols())
    return emitError() << "#attn.block_layout of " << getNumRows() << "x"
                       << getNumCols() << " blocks of " << getBlock()
                       << " covers fewer positions than Skv = "
                       << shape.keySeqLen << " (needs " << needed << "x"
                       << needed << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// Runtime-selected blocks
//===----------------------------------------------------------------------===//

bool SelectedAttr::isVisible(const AttentionExtent &extent, int64_t,
                             int64_t query, int64_t key) const {
  return !getCausal() || key <= extent.queryPosition(query);
}

void SelectedAttr::appendKeyRanges(const AttentionExtent &extent, int64_t,
                                   int64_t queryBegin, int64_t queryEnd,
                                   KeyRangeList &ranges) const {
  PositionSpan span = positionSpan(extent, queryBegin, queryEnd);
  if (!span.empty)
    appendClippedRange(ranges, 0,
                       getCausal() ? span.last + 1 : extent.keySeqLen,
                       extent.keySeqLen);
}

bool SelectedAttr::isRuntimeSelected() const { return true; }

//===----------------------------------------------------------------------===//
// Walking pattern trees
//===----------------------------------------------------------------------===//

void mlir::attn::walkPatternLeaves(
    PatternAttrInterface pattern,
    llvm::function_ref<void(PatternAttrInterface)> visit) {
  if (auto u = dyn_cast<UnionAttr>(pattern)) {
    for (PatternAttrInterface member : u.getMembers())
      walkPatternLeaves(member, visit);
    return;
  }
  if (auto p = dyn_cast<PerHeadAttr>(pattern)) {
    for (auto member : p.getPatterns().getAsRange<PatternAttrInterface>())
      walkPatternLeaves(member, visit);
    return;
  }
  visit(pattern);
}

bool mlir::attn::anyPatternLeaf(
    PatternAttrInterface pattern,
    llvm::function_ref<bool(PatternAttrInterface)> pred) {
  bool found = false;
  walkPatternLeaves(pattern, [&](PatternAttrInterface leaf) {
    found = found || pred(leaf);
  });
  return found;
}

SmallVector<SelectedAttr>
mlir::attn::getSelectedLeaves(PatternAttrInterface pattern) {
  SmallVector<SelectedAttr> found;
  walkPatternLeaves(pattern, [&](PatternAttrInterface leaf) {
    if (auto selected = dyn_cast<SelectedAttr>(leaf))
      found.push_back(selected);
  });
  return found;
}

bool mlir::attn::hasIrregularLeaf(PatternAttrInterface pattern) {
  return anyPatternLeaf(pattern, [](PatternAttrInterface leaf) {
    return isa<RandomBlocksAttr, BlockLayoutAttr>(leaf);
  });
}

bool mlir::attn::dependsOnHeadIndex(PatternAttrInterface pattern) {
  return anyPatternLeaf(pattern, [](PatternAttrInterface leaf) {
    if (auto layout = dyn_cast<BlockLayoutAttr>(leaf))
      return layout.getNumLayoutHeads() > 1;
    return isa<RandomBlocksAttr>(leaf);
  });
}

//===----------------------------------------------------------------------===//
// Union and per-head
//===----------------------------------------------------------------------===//

bool UnionAttr::isVisible(const AttentionExtent &extent, int64_t head,
                          int64_t query, int64_t key) const {
  return llvm::any_of(getMembers(), [&](PatternAttrInterface member) {
    return member.isVisible(extent, head, query, key);
  });
}

void UnionAttr::appendKeyRanges(const AttentionExtent &extent, int64_t head,
                                int64_t queryBegin, int64_t queryEnd,
                                KeyRangeList &ranges) const {
  // The union over rows of a union over members is the union over members
  // of each member's union over rows.
  for (PatternAttrInterface member : getMembers())
    member.appendKeyRanges(extent, head, queryBegin, queryEnd, ranges);
}

LogicalResult
UnionAttr::verifyForShape(function_ref<InFlightDiagnostic()> emitError,
                          const AttentionShape &shape) const {
  for (PatternAttrInterface member : getMembers())
    if (failed(member.verifyForShape(emitError, shape)))
      return failure();
  return success();
}

bool UnionAttr::isRuntimeSelected() const {
  return !getSelectedLeaves(*this).empty();
}

bool PerHeadAttr::isVisible(const AttentionExtent &extent, int64_t head,
                            int64_t query, int64_t key) const {
  return getHeadPattern(head).isVisible(extent, head, query, key);
}

void PerHeadAttr::appendKeyRanges(const AttentionExtent &extent, int64_t head,
                                  int64_t queryBegin, int64_t queryEnd,
                                  KeyRangeList &ranges) const {
  getHeadPattern(head).appendKeyRanges(extent, head, queryBegin, queryEnd,
                                       ranges);
}

LogicalResult
PerHeadAttr::verifyForShape(function_ref<InFlightDiagnostic()> emitError,
                            const AttentionShape &shape) const {
  if (static_cast<int64_t>(getPatterns().size()) != shape.numHeads)
    return emitError() << "#attn.per_head lists " << getPatterns().size()
                       << " patterns but the op has Hq = " << shape.numHeads
                       << " query heads";
  for (PatternAttrInterface member :
       getPatterns().getAsRange<PatternAttrInterface>())
    if (failed(member.verifyForShape(emitError, shape)))
      return failure();
  return success();
}

bool PerHeadAttr::isRuntimeSelected() const {
  return !getSelectedLeaves(*this).empty();
}
