//===- BlockPlan.cpp - Patterns as block iteration plans ------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Each analytic pattern becomes segments whose visible keys, for a span of
// positions [first, last], have a closed form both as a union over the rows
// ("touched": which tiles to visit) and as an intersection over the rows
// ("common": which tiles need no mask). Tiles are classified in runs, so a
// query tile costs O(ranges), not O(key tiles). A union is exact too: a tile
// that no single member makes full may still be full through several, which
// a row-by-row check settles for the few tiles where members overlap.
//
//===----------------------------------------------------------------------===//

#include "attn/Plan/BlockPlan.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <functional>
#include <optional>

using namespace mlir;
using namespace mlir::attn;

static void appendWithin(KeyRangeList &ranges, int64_t begin, int64_t end,
                         int64_t keyBegin, int64_t keyEnd) {
  begin = std::max(begin, keyBegin);
  end = std::min(end, keyEnd);
  if (begin < end)
    ranges.push_back({begin, end});
}

//===----------------------------------------------------------------------===//
// Segments
//===----------------------------------------------------------------------===//

/// Keys of granules `first + m * stride + [0, count)` for all integers m,
/// clipped to the window (granules of `granule` keys).
static void appendPeriodicRuns(KeyRangeList &ranges, int64_t firstGranule,
                               int64_t count, int64_t stride, int64_t granule,
                               int64_t keyBegin, int64_t keyEnd) {
  int64_t m = floorDiv(floorDiv(keyBegin, granule) - firstGranule, stride);
  for (;; ++m) {
    int64_t start = (firstGranule + m * stride) * granule;
    if (start >= keyEnd)
      break;
    appendWithin(ranges, start, start + count * granule, keyBegin, keyEnd);
  }
}

void Segment::appendTouched(int64_t first, int64_t last, int64_t keyBegin,
                            int64_t keyEnd, KeyRangeList &ranges,
                            int64_t keyTile) const {
  switch (kind) {
  case Kind::Band:
    appendWithin(ranges, low <= -kUnbounded ? keyBegin : first + low,
                 high >= kUnbounded ? keyEnd : last + high + 1, keyBegin,
                 keyEnd);
    return;
  case Kind::Prefix:
    appendWithin(ranges, 0, size, keyBegin, keyEnd);
    return;
  case Kind::GlobalRows:
    if (std::max<int64_t>(first, 0) <= std::min(last, size - 1))
      appendWithin(ranges, keyBegin, keyEnd, keyBegin, keyEnd);
    return;
  case Kind::Chunk: {
    int64_t begin = floorDiv(first, size) * size;
    int64_t end = causal ? last + 1 : (floorDiv(last, size) + 1) * size;
    appendWithin(ranges, begin, end, keyBegin, keyEnd);
    return;
  }
  case Kind::Periodic: {
    int64_t stride = size;
    int64_t g0 = floorDiv(first, granule), g1 = floorDiv(last, granule);
    int64_t count = g1 - g0 + 1;
    int64_t end = causal ? std::min(keyEnd, last + 1) : keyEnd;
    if (count >= stride) {
      // Every residue occurs among the query granules.
      appendWithin(ranges, keyBegin, end, keyBegin, keyEnd);
      return;
    }
    if (stride * granule <= keyTile) {
      // Every tile holds a whole period, so every tile between the first
      // and last seen key is touched: only those two ends need the exact
      // runs, found within the tiles that hold them.
      KeyRangeList exact;
      auto runsWithin = [&](int64_t from, int64_t to) {
        if (!causal)
          appendPeriodicRuns(exact, g0, count, stride, granule, from, to);
        else {
          appendPeriodicRuns(exact, g0, count, stride, granule, from,
                             std::min(to, g0 * granule));
          appendWithin(exact, g0 * granule, last + 1, from, to);
        }
      };
      int64_t headEnd = std::min(end, keyBegin + keyTile);
      runsWithin(keyBegin, headEnd);
      int64_t tailBegin =
          std::max(headEnd, keyBegin + floorDiv(end - 1 - keyBegin, keyTile) *
                                           keyTile);
      runsWithin(tailBegin, end);
      normalizeKeyRanges(exact);
      if (!exact.empty() || headEnd < tailBegin) {
        // Interior tiles [headEnd, tailBegin) are whole and touched.
        appendWithin(ranges, headEnd, tailBegin, keyBegin, keyEnd);
        ranges.append(exact.begin(), exact.end());
      }
      return;
    }
    if (!causal) {
      appendPeriodicRuns(ranges, g0, count, stride, granule, keyBegin, keyEnd);
      return;
    }
    // Causally, periods before the query granules are whole; the query
    // granules themselves are seen up to `last`; later periods are not seen.
    appendPeriodicRuns(ranges, g0, count, stride, granule, keyBegin,
                       std::min(end, g0 * granule));
    appendWithin(ranges, g0 * granule, last + 1, keyBegin, end);
    return;
  }
  case Kind::Dilated: {
    int64_t window = size, dilation = granule;
    int64_t ahead = causal ? 0 : window;
    int64_t hullBegin = std::max(first - window, keyBegin);
    int64_t hullEnd = std::min(last + ahead + 1, keyEnd);
    // Key k is seen iff [max(first - k, -ahead), min(last - k, window)]
    // holds a multiple of the dilation. That interval's length is unimodal
    // in k, so the keys where it reaches `dilation` form one range, and only
    // the edges around it need the exact test.
    auto length = [&](int64_t k) {
      return std::min(last - k, window) - std::max(first - k, -ahead) + 1;
    };
    auto seen = [&](int64_t k) {
      int64_t lo = std::max(first - k, -ahead);
      int64_t hi = std::min(last - k, window);
      return lo <= hi && floorDiv(hi, dilation) * dilation >= lo;
    };
    int64_t k = hullBegin;
    for (; k < hullEnd && length(k) < dilation; ++k)
      if (seen(k))
        ranges.push_back({k, k + 1});
    if (k >= hullEnd)
      return;
    int64_t right = hullEnd - 1;
    KeyRangeList tail;
    for (; right > k && length(right) < dilation; --right)
      if (seen(right))
        tail.push_back({right, right + 1});
    ranges.push_back({k, right + 1});
    ranges.append(tail.rbegin(), tail.rend());
    return;
  }
  }
}

void Segment::appendCommon(int64_t first, int64_t last, int64_t keyBegin,
                           int64_t keyEnd, KeyRangeList &ranges,
                           int64_t keyTile) const {
  switch (kind) {
  case Kind::Band:
    appendWithin(ranges, low <= -kUnbounded ? keyBegin : last + low,
                 high >= kUnbounded ? keyEnd : first + high + 1, keyBegin,
                 keyEnd);
    return;
  case Kind::Prefix:
    appendWithin(ranges, 0, size, keyBegin, keyEnd);
    return;
  case Kind::GlobalRows:
    if (first >= 0 && last < size)
      appendWithin(ranges, keyBegin, keyEnd, keyBegin, keyEnd);
    return;
  case Kind::Chunk: {
    int64_t chunk = floorDiv(first, size);
    if (chunk != floorDiv(last, size))
      return;
    appendWithin(ranges, chunk * size, causal ? first + 1 : (chunk + 1) * size,
                 keyBegin, keyEnd);
    return;
  }
  case Kind::Periodic: {
    int64_t stride = size;
    int64_t end = causal ? std::min(keyEnd, first + 1) : keyEnd;
    if (stride == 1) {
      appendWithin(ranges, keyBegin, end, keyBegin, keyEnd);
      return;
    }
    int64_t g0 = floorDiv(first, granule);
    if (g0 != floorDiv(last, granule))
      return; // Neighbouring granules differ modulo the stride.
    if (granule < keyTile) {
      // Each common run is one granule, shorter than a tile: only a ragged
      // last tile (fewer keys than a tile) can lie inside one.
      int64_t lastTile =
          keyBegin + floorDiv(keyEnd - 1 - keyBegin, keyTile) * keyTile;
      if (keyEnd - lastTile < keyTile)
        appendPeriodicRuns(ranges, g0, 1, stride, granule, lastTile, end);
      return;
    }
    appendPeriodicRuns(ranges, g0, 1, stride, granule, keyBegin, end);
    return;
  }
  case Kind::Dilated: {
    if (first != last)
      return; // Consecutive positions differ modulo the dilation (>= 2).
    int64_t window = size, dilation = granule;
    int64_t ahead = causal ? 0 : window;
    // Distances t = first - k in [-ahead, window] with t % dilation == 0.
    for (int64_t t = ceilDiv(-ahead, dilation) * dilation; t <= window;
         t += dilation)
      appendWithin(ranges, first - t, first - t + 1, keyBegin, keyEnd);
    return;
  }
  }
}

void Segment::print(llvm::raw_ostream &os) const {
  auto bound = [&](int64_t v) -> llvm::raw_ostream & {
    if (v <= -kUnbounded)
      return os << "-inf";
    if (v >= kUnbounded)
      return os << "+inf";
    return os << v;
  };
  switch (kind) {
  case Kind::Band:
    os << "band[";
    bound(low) << ", ";
    bound(high) << "]";
    return;
  case Kind::Prefix:
    os << "prefix(" << size << ")";
    return;
  case Kind::GlobalRows:
    os << "global_rows(" << size << ")";
    return;
  case Kind::Chunk:
    os << "chunk(" << size << (causal ? ", causal" : "") << ")";
    return;
  case Kind::Periodic:
    os << "periodic(stride " << size << ", granule " << granule
       << (causal ? ", causal" : "") << ")";
    return;
  case Kind::Dilated:
    os << "dilated(window " << size << ", dilation " << granule
       << (causal ? ", causal" : "") << ")";
    return;
  }
}

llvm::StringRef mlir::attn::stringifyPlanKind(PlanKind kind) {
  switch (kind) {
  case PlanKind::Analytic:
    return "analytic";
  case PlanKind::Table:
    return "table";
  case PlanKind::Runtime:
    return "runtime";
  }
  llvm_unreachable("unknown plan kind");
}

//===----------------------------------------------------------------------===//
// Irregular members
//===----------------------------------------------------------------------===//

mlir::attn::detail::BlockMembership::BlockMembership(PatternAttrInterface pattern,
                                         int64_t head)
    : head(head) {
  if ((random = dyn_cast<RandomBlocksAttr>(pattern))) {
    block = random.getBlock();
    return;
  }
  layout = cast<BlockLayoutAttr>(pattern);
  block = layout.getBlock();
}

void mlir::attn::detail::BlockMembership::appendKept(
    int64_t queryBlock, int64_t numKeyBlocks,
    SmallVectorImpl<int64_t> &blocks) const {
  if (random) {
    random.appendKeptBlocks(head, queryBlock, numKeyBlocks, blocks);
    return;
  }
  for (int64_t kb = 0; kb < numKeyBlocks; ++kb)
    if (layout.isBlockVisible(head, queryBlock, kb))
      blocks.push_back(kb);
}

//===----------------------------------------------------------------------===//
// Run computation
//===----------------------------------------------------------------------===//

/// Appends tile-index ranges covering the keys of `ranges`.
static void touchedTiles(const KeyRangeList &ranges, int64_t keyTile,
                         KeyRangeList &tiles) {
  for (const KeyRange &r : ranges)
    tiles.push_back({floorDiv(r.begin, keyTile), ceilDiv(r.end, keyTile)});
}

/// Appends tile-index ranges of tiles whose real keys lie inside `ranges`.
static void fullTiles(const KeyRangeList &ranges, int64_t keyTile,
                      int64_t keySeqLen, int64_t numKeyTiles,
                      KeyRangeList &tiles) {
  for (const KeyRange &r : ranges) {
    int64_t begin = ceilDiv(r.begin, keyTile);
    int64_t end = r.end >= keySeqLen ? numKeyTiles : floorDiv(r.end, keyTile);
    if (begin < end)
      tiles.push_back({begin, end});
  }
}

void HeadPlan::appendSpanCommon(int64_t first, int64_t last,
                                KeyRangeList &ranges) const {
  int64_t keys = shape->extent.keySeqLen;
  for (const Segment &segment : segments)
    segment.appendCommon(first, last, 0, keys, ranges);
  if (first >= 0) {
    for (const detail::BlockMembership &m : memberships) {
      // Key blocks every query block of the span keeps.
      int64_t qbBegin = floorDiv(first, m.block);
      int64_t qbEnd = floorDiv(last, m.block) + 1;
      int64_t numKeyBlocks = ceilDiv(keys, m.block);
      llvm::DenseMap<int64_t, int64_t> keptBy;
      SmallVector<int64_t> kept;
      for (int64_t qb = qbBegin; qb < qbEnd; ++qb) {
        kept.clear();
        m.appendKept(qb, numKeyBlocks, kept);
        for (int64_t kb : kept)
          ++keptBy[kb];
      }
      for (auto [kb, count] : keptBy)
        if (count == qbEnd - qbBegin)
          appendWithin(ranges, kb * m.block, (kb + 1) * m.block, 0, keys);
    }
  }
  normalizeKeyRanges(ranges);
}

namespace {
/// Decides whether every position of a query tile sees every key of a key
/// tile through some member of a union. The keys every position of a span
/// sees (through some member) are a subset of what each position sees, and
/// for a single position they are exactly what it sees; so bisecting the
/// tile's positions until each half is covered decides a key tile exactly.
/// The spans of the bisection are the same for every key tile of the query
/// tile, so their common keys are computed once and shared.
class JointCoverage {
public:
  JointCoverage(const HeadPlan &plan, int64_t first, int64_t last)
      : plan(plan), first(first), last(last) {}

  bool covers(int64_t keyBegin, int64_t keyEnd) {
    // Refining is exact but not free; past a budget of key ranges per query
    // tile, remaining tiles stay partial (masked: slower, never wrong). No
    // real pattern comes near it; fine periodic members at millions of keys
    // would.
    if (rangesComputed > kRangeBudget)
      return false;
    // A partial tile usually shows it at the first or last position: check
    // those alone before bisecting.
    if (!coversAt(rowNode(first), first, first, keyBegin, keyEnd) ||
        !coversAt(rowNode(last), last, last, keyBegin, keyEnd))
      return false;
    return covers(1, first, last, keyBegin, keyEnd);
  }

private:
  /// Memo keys for single positions, apart from the bisection's node ids.
  static uint64_t rowNode(int64_t position) {
    return (uint64_t(1) << 63) | static_cast<uint64_t>(position & 0x3fffffff);
  }

  bool coversAt(uint64_t node, int64_t spanFirst, int64_t spanLast,
                int64_t keyBegin, int64_t keyEnd) {
    const KeyRangeList &common = commonOf(node, spanFirst, spanLast);
    auto it = llvm::upper_bound(common, keyBegin,
                                [](int64_t key, const KeyRange &r) {
                                  return key < r.begin;
                                });
    return it != common.begin() && std::prev(it)->end >= keyEnd;
  }

  bool covers(uint64_t node, int64_t spanFirst, int64_t spanLast,
              int64_t keyBegin, int64_t keyEnd) {
    if (coversAt(node, spanFirst, spanLast, keyBegin, keyEnd))
      return true;
    if (spanFirst == spanLast)
      return false;
    int64_t middle = spanFirst + (spanLast - spanFirst) / 2;
    return covers(2 * node, spanFirst, middle, keyBegin, keyEnd) &&
           covers(2 * node + 1, middle + 1, spanLast, keyBegin, keyEnd);
  }

  const KeyRangeList &commonOf(uint64_t node, int64_t spanFirst,
                               int64_t spanLast) {
    auto [it, inserted] = memo.try_emplace(node);
    if (inserted) {
      plan.appendSpanCommon(spanFirst, spanLast, it->second);
      rangesComputed += it->second.size() + 1;
    }
    return it->second;
  }

  static constexpr int64_t kRangeBudget = int64_t(1) << 20;
  int64_t rangesComputed = 0;
  const HeadPlan &plan;
  int64_t first, last;
  llvm::DenseMap<uint64_t, KeyRangeList> memo;
};
} // namespace

void HeadPlan::computeRuns(int64_t queryTile, TileRunList &runs) const {
  const AttentionExtent &extent = shape->extent;
  const TileSizes &tiles = shape->tiles;
  int64_t rowBegin = queryTile * tiles.query;
  int64_t rowEnd = std::min(rowBegin + tiles.query, extent.querySeqLen);
  int64_t keys = extent.keySeqLen;
  int64_t numKeyTiles = shape->numKeyTiles();
  if (rowBegin >= rowEnd || keys <= 0)
    return;
  int64_t first = extent.queryPosition(rowBegin);
  int64_t last = extent.queryPosition(rowEnd - 1);

  KeyRangeList touchedKeys, commonKeys;
  for (const Segment &segment : segments) {
    segment.appendTouched(first, last, 0, keys, touchedKeys, tiles.key);
    segment.appendCommon(first, last, 0, keys, commonKeys, tiles.key);
  }
  normalizeKeyRanges(touchedKeys);
  normalizeKeyRanges(commonKeys);
  KeyRangeList touched, full;
  touchedTiles(touchedKeys, tiles.key, touched);
  fullTiles(commonKeys, tiles.key, keys, numKeyTiles, full);

  // Irregular members: from each query block's kept key blocks, so the work
  // is proportional to the kept blocks. A key tile is touched if some kept
  // block overlaps it, and full if every block overlapping it is kept for
  // every query block of the tile (and no row has a negative position).
  for (const mlir::attn::detail::BlockMembership &m : memberships) {
    if (last < 0)
      break;
    int64_t qbBegin = floorDiv(std::max<int64_t>(first, 0), m.block);
    int64_t qbEnd = floorDiv(last, m.block) + 1;
    int64_t numKeyBlocks = ceilDiv(keys, m.block);
    auto tilesOf = [&](int64_t kb) {
      int64_t keyEnd = std::min((kb + 1) * m.block, keys);
      return std::make_pair(floorDiv(kb * m.block, tiles.key),
                            floorDiv(keyEnd - 1, tiles.key) + 1);
    };
    auto blocksIn = [&](int64_t t) {
      int64_t keyEnd = std::min((t + 1) * tiles.key, keys);
      return floorDiv(keyEnd - 1, m.block) - floorDiv(t * tiles.key, m.block) +
             1;
    };
    // Per key tile: kept blocks overlapping it for the current query block,
    // and how many query blocks keep all of it. Only touched entries are
    // read or reset, so the work follows the kept blocks.
    SmallVector<int64_t> count(numKeyTiles, 0), fullFor(numKeyTiles, 0);
    SmallVector<int64_t> kept, touchedNow, touchedTiles;
    for (int64_t qb = qbBegin; qb < qbEnd; ++qb) {
      kept.clear();
      touchedNow.clear();
      m.appendKept(qb, numKeyBlocks, kept);
      for (int64_t kb : kept) {
        auto [tBegin, tEnd] = tilesOf(kb);
        for (int64_t t = tBegin; t < tEnd; ++t)
          if (count[t]++ == 0)
            touchedNow.push_back(t);
      }
      for (int64_t t : touchedNow) {
        if (count[t] == blocksIn(t))
          ++fullFor[t];
        count[t] = 0;
        touchedTiles.push_back(t);
      }
    }
    llvm::sort(touchedTiles);
    touchedTiles.erase(std::unique(touchedTiles.begin(), touchedTiles.end()),
                       touchedTiles.end());
    for (int64_t t : touchedTiles) {
      touched.push_back({t, t + 1});
      if (first >= 0 && fullFor[t] == qbEnd - qbBegin)
        full.push_back({t, t + 1});
    }
  }
  normalizeKeyRanges(touched);
  normalizeKeyRanges(full);

  // Split the touched runs by the full ones. Runs merge only with runs of
  // this call, never with what the caller had in `runs`.
  bool union_ = numMembers > 1;
  const size_t firstRun = runs.size();
  auto emit = [&](int64_t begin, int64_t end, bool partial) {
    if (begin >= end)
      return;
    if (runs.size() > firstRun && runs.back().end == begin &&
        runs.back().partial == partial)
      runs.back().end = end;
    else
      runs.push_back({begin, end, partial});
  };
  std::optional<JointCoverage> joint;
  // Refinement visits candidate tiles one by one; past this many in one
  // query tile it stops, and the rest stay partial (masked: never wrong).
  constexpr int64_t kRefineTiles = 4096;
  int64_t refined = 0;
  auto emitPartial = [&](int64_t begin, int64_t end) {
    if (!union_ || refined + (end - begin) > kRefineTiles) {
      emit(begin, end, true);
      return;
    }
    refined += end - begin;
    // Members may jointly cover a tile that none covers alone.
    if (!joint)
      joint.emplace(*this, first, last);
    for (int64_t t = begin; t < end; ++t) {
      int64_t keyBegin = t * tiles.key;
      int64_t keyEnd = std::min(keyBegin + tiles.key, keys);
      emit(t, t + 1, !joint->covers(keyBegin, keyEnd));
    }
  };
  size_t f = 0;
  for (const KeyRange &run : touched) {
    int64_t cursor = run.begin;
    while (f < full.size() && full[f].end <= cursor)
      ++f;
    for (size_t g = f; g < full.size() && full[g].begin < run.end; ++g) {
      int64_t fullBegin = std::max(full[g].begin, cursor);
      int64_t fullEnd = std::min(full[g].end, run.end);
      emitPartial(cursor, fullBegin);
      emit(fullBegin, fullEnd, false);
      cursor = fullEnd;
    }
    emitPartial(cursor, run.end);
  }
}

void HeadPlan::appendRuns(int64_t queryTile, TileRunList &runs) const {
  if (kind != PlanKind::Table) {
    computeRuns(queryTile, runs);
    return;
  }
  if (queryTile < 0 || queryTile + 1 >= static_cast<int64_t>(runOffsets.size()))
    return;
  runs.append(tableRuns.begin() + runOffsets[queryTile],
              tableRuns.begin() + runOffsets[queryTile + 1]);
}

//===----------------------------------------------------------------------===//
// Building plans
//===----------------------------------------------------------------------===//

namespace mlir {
namespace attn {
struct PlanBuilder {
  static void collect(PatternAttrInterface pattern, HeadPlan &plan) {
    constexpr int64_t inf = Segment::kUnbounded;
    // A global pattern's two segments never cover a tile jointly that one
    // does not cover alone, so members, not segments, decide whether tiles
    // need the joint check.
    ++plan.numMembers;
    llvm::TypeSwitch<Attribute>(pattern)
        .Case([&](DenseAttr) { plan.segments.push_back(Segment::band(-inf, inf)); })
        .Case([&](CausalAttr) { plan.segments.push_back(Segment::band(-inf, 0)); })
        .Case([&](LocalAttr local) {
          int64_t w = local.getWindow();
          if (local.getDilation() == 1)
            plan.segments.push_back(
                Segment::band(-w, local.getCausal() ? 0 : w));
          else
            plan.segments.push_back(
                Segment::withSize(Segment::Kind::Dilated, w,
                                  local.getDilation(), local.getCausal()));
        })
        .Case([&](StridedAttr strided) {
          if (strided.getStride() == 1)
            plan.segments.push_back(
                Segment::band(-inf, strided.getCausal() ? 0 : inf));
          else
            plan.segments.push_back(Segment::withSize(
                Segment::Kind::Periodic, strided.getStride(),
                strided.getBlock(), strided.getCausal()));
        })
        .Case([&](GlobalAttr global) {
          plan.segments.push_back(Segment::withSize(
              Segment::Kind::Prefix, global.getTokens(), 1, false));
          plan.segments.push_back(Segment::withSize(
              Segment::Kind::GlobalRows, global.getTokens(), 1, false));
        })
        .Case([&](ChunkedAttr chunked) {
          plan.segments.push_back(Segment::withSize(
              Segment::Kind::Chunk, chunked.getSize(), 1,
              chunked.getCausal()));
        })
        .Case<RandomBlocksAttr, BlockLayoutAttr>([&](auto irregular) {
          plan.memberships.emplace_back(irregular, plan.head);
        })
        .Case([&](SelectedAttr) { plan.kind = PlanKind::Runtime; })
        .Case([&](UnionAttr u) {
          for (PatternAttrInterface member : u.getMembers())
            collect(member, plan);
          --plan.numMembers; // The union itself is not a member.
        })
        .Default([](Attribute) {
          llvm_unreachable("per_head is resolved per head before collecting");
        });
  }
};
} // namespace attn
} // namespace mlir

FailureOr<BlockPlan>
BlockPlan::build(PatternAttrInterface pattern, const AttentionExtent &extent,
                 TileSizes tiles,
                 llvm::function_ref<InFlightDiagnostic()> emitError) {
  if (tiles.query < 1 || tiles.key < 1)
    return emitError() << "tile sizes must be >= 1, found " << tiles.query
                       << " x " << tiles.key;
  if (extent.numHeads < 1 || extent.querySeqLen < 0 || extent.keySeqLen < 0)
    return emitError() << "cannot plan Hq = " << extent.numHeads
                       << ", Sq = " << extent.querySeqLen
                       << ", Skv = " << extent.keySeqLen;
  // Plans are evaluated query tile by query tile (and tables also key tile by
  // key tile); bound that work so absurd shapes get a diagnostic, not a hang.
  constexpr int64_t kMaxLength = int64_t(1) << 40;
  constexpr int64_t kMaxQueryTiles = int64_t(1) << 26;
  constexpr int64_t kMaxKeyTiles = int64_t(1) << 28;
  constexpr int64_t kMaxTablePairs = int64_t(1) << 32;
  if (extent.querySeqLen > kMaxLength || extent.keySeqLen > kMaxLength)
    return emitError() << "cannot plan sequences longer than 2^40 (Sq = "
                       << extent.querySeqLen << ", Skv = " << extent.keySeqLen
                       << ")";
  int64_t queryTiles = ceilDiv(extent.querySeqLen, tiles.query);
  int64_t keyTiles = ceilDiv(extent.keySeqLen, tiles.key);
  if (queryTiles > kMaxQueryTiles / extent.numHeads)
    return emitError() << "cannot plan " << queryTiles << " query tiles x "
                       << extent.numHeads
                       << " heads; use larger tiles (at most 2^26 in all)";
  if (keyTiles > kMaxKeyTiles)
    return emitError() << "cannot plan " << keyTiles
                       << " key tiles; use larger tiles (at most 2^28)";
  auto perHead = dyn_cast<PerHeadAttr>(pattern);
  if (perHead &&
      static_cast<int64_t>(perHead.getPatterns().size()) != extent.numHeads)
    return emitError() << "#attn.per_head lists "
                       << perHead.getPatterns().size()
                       << " patterns but the plan has Hq = " << extent.numHeads;

  BlockPlan plan;
  plan.shape = std::make_unique<PlanShape>(PlanShape{extent, tiles});
  llvm::SmallVector<std::pair<Attribute, int64_t>> keys;
  for (int64_t head = 0; head < extent.numHeads; ++head) {
    PatternAttrInterface headPattern =
        perHead ? perHead.getHeadPattern(head) : pattern;
    std::pair<Attribute, int64_t> key{headPattern,
                                      dependsOnHeadIndex(headPattern) ? head : -1};
    auto *found = llvm::find(keys, key);
    if (found != keys.end()) {
      plan.headToPlan.push_back(found - keys.begin());
      continue;
    }
    plan.headToPlan.push_back(keys.size());
    keys.push_back(key);
    HeadPlan &headPlan = plan.heads.emplace_back();
    headPlan.pattern = headPattern;
    headPlan.head = head;
    headPlan.shape = plan.shape.get();
    PlanBuilder::collect(headPattern, headPlan);
    if (headPlan.kind != PlanKind::Runtime && !headPlan.memberships.empty())
      headPlan.kind = PlanKind::Table;
  }
  // Tables are built once, here; analytic plans are evaluated on demand.
  for (HeadPlan &headPlan : plan.heads) {
    if (headPlan.kind != PlanKind::Table)
      continue;
    if (queryTiles > 0 && keyTiles > kMaxTablePairs / queryTiles)
      return emitError() << "cannot build a table of " << queryTiles << " x "
                         << keyTiles
                         << " tiles; use larger tiles (at most 2^32 pairs)";
    int64_t numQueryTiles = plan.shape->numQueryTiles();
    headPlan.runOffsets.reserve(numQueryTiles + 1);
    headPlan.runOffsets.push_back(0);
    TileRunList runs;
    for (int64_t t = 0; t < numQueryTiles; ++t) {
      runs.clear();
      headPlan.computeRuns(t, runs);
      headPlan.tableRuns.append(runs.begin(), runs.end());
      headPlan.runOffsets.push_back(headPlan.tableRuns.size());
    }
  }
  return plan;
}

BlockPlan::BlockPlan(BlockPlan &&other) = default;
BlockPlan &BlockPlan::operator=(BlockPlan &&other) = default;
BlockPlan::~BlockPlan() = default;

PlanKind BlockPlan::getOverallKind() const {
  PlanKind kind = PlanKind::Analytic;
  for (const HeadPlan &h : heads) {
    if (h.getKind() == PlanKind::Runtime)
      return PlanKind::Runtime;
    if (h.getKind() == PlanKind::Table)
      kind = PlanKind::Table;
  }
  return kind;
}

PlanCounts mlir::attn::countPlan(const BlockPlan &plan,
                                 llvm::function_ref<bool(int64_t)> headActive) {
  const PlanShape &shape = plan.getShape();
  const AttentionExtent &extent = shape.extent;
  int64_t numQueryTiles = shape.numQueryTiles();
  int64_t numKeyTiles = shape.numKeyTiles();
  // Count each distinct plan once, weighted by its active heads.
  llvm::SmallVector<int64_t> weight(plan.getDistinctPlans().size(), 0);
  for (int64_t head = 0; head < extent.numHeads; ++head)
    if (!headActive || headActive(head))
      ++weight[plan.getPlanIndex(head)];

  PlanCounts counts;
  counts.totalTiles = numQueryTiles * numKeyTiles * extent.numHeads;
  TileRunList runs;
  for (auto [index, headPlan] : llvm::enumerate(plan.getDistinctPlans())) {
    if (!weight[index])
      continue;
    int64_t full = 0, partial = 0, elements = 0;
    for (int64_t t = 0; t < numQueryTiles; ++t) {
      runs.clear();
      headPlan.appendRuns(t, runs);
      int64_t rows = std::min(shape.tiles.query,
                              extent.querySeqLen - t * shape.tiles.query);
      for (const TileRun &run : runs) {
        (run.partial ? partial : full) += run.size();
        int64_t keys = std::min(run.end * shape.tiles.key, extent.keySeqLen) -
                       run.begin * shape.tiles.key;
        elements += rows * keys;
      }
    }
    counts.fullTiles += full * weight[index];
    counts.partialTiles += partial * weight[index];
    counts.visitedElements += elements * weight[index];
  }
  return counts;
}
