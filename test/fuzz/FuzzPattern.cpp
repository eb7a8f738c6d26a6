//===- FuzzPattern.cpp - libFuzzer target for attn attribute parsing ------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary text to mlir::parseAttribute with the attn dialect loaded:
// the parsers and verifiers of every attn attribute (patterns, budgets,
// layers, schedules, block plans). What parses must print and parse back to
// the same attribute. A pattern is then checked against small attention
// shapes (1-4 heads, lengths up to 40): where it verifies for the shape,
// its key ranges for every block of query rows must equal the brute-force
// set of keys `isVisible` admits, and its block plan at two tile sizes must
// visit every tile holding a visible key and call a tile full only when
// every (query, key) pair in it is visible. A crash, a sanitizer report or
// a violated property (__builtin_trap) is a bug; diagnostics are answers.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Plan/BlockPlan.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::attn;

namespace {

MLIRContext &getContext() {
  static MLIRContext *context = [] {
    auto *ctx = new MLIRContext(MLIRContext::Threading::DISABLED);
    ctx->loadDialect<AttnDialect>();
    ctx->getDiagEngine().registerHandler([](Diagnostic &) {});
    return ctx;
  }();
  return *context;
}

void check(bool condition) {
  if (!condition)
    __builtin_trap();
}

/// The brute-force key set of rows [begin, end) of `head`, as a bit vector.
std::vector<bool> visibleKeys(PatternAttrInterface pattern,
                              const AttentionExtent &extent, int64_t head,
                              int64_t begin, int64_t end) {
  std::vector<bool> keys(extent.keySeqLen, false);
  for (int64_t q = begin; q < end; ++q)
    for (int64_t k = 0; k < extent.keySeqLen; ++k)
      if (pattern.isVisible(extent, head, q, k))
        keys[k] = true;
  return keys;
}

void checkRanges(PatternAttrInterface pattern, const AttentionExtent &extent) {
  for (int64_t rows : {int64_t(1), int64_t(5), int64_t(16)})
    for (int64_t head = 0; head < extent.numHeads; ++head)
      for (int64_t begin = 0; begin < extent.querySeqLen; begin += rows) {
        int64_t end = std::min(begin + rows, extent.querySeqLen);
        std::vector<bool> expected =
            visibleKeys(pattern, extent, head, begin, end);
        KeyRangeList ranges = pattern.getKeyRanges(extent, head, begin, end);
        std::vector<bool> found(extent.keySeqLen, false);
        int64_t last = -1;
        for (const KeyRange &range : ranges) {
          // Normalized: sorted, disjoint, not adjacent, inside [0, Skv).
          check(range.begin > last && range.begin < range.end);
          check(range.begin >= 0 && range.end <= extent.keySeqLen);
          last = range.end;
          for (int64_t k = range.begin; k < range.end; ++k)
            found[k] = true;
        }
        check(found == expected);
      }
}

void checkPlan(PatternAttrInterface pattern, const AttentionExtent &extent,
               TileSizes tiles) {
  FailureOr<BlockPlan> plan =
      BlockPlan::build(pattern, extent, tiles, [] {
        return emitError(UnknownLoc::get(&getContext()));
      });
  if (failed(plan))
    return;
  (void)countPlan(*plan);
  const PlanShape &shape = plan->getShape();
  for (int64_t head = 0; head < extent.numHeads; ++head) {
    const HeadPlan &headPlan = plan->forHead(head);
    if (headPlan.getKind() == PlanKind::Runtime)
      continue;
    for (int64_t qt = 0; qt < shape.numQueryTiles(); ++qt) {
      TileRunList runs;
      headPlan.appendRuns(qt, runs);
      int64_t qBegin = qt * tiles.query;
      int64_t qEnd = std::min(qBegin + tiles.query, extent.querySeqLen);
      std::vector<int> state(shape.numKeyTiles(), 0); // 0 skip, 1 partial, 2 full
      for (const TileRun &run : runs) {
        check(run.begin >= 0 && run.begin < run.end &&
              run.end <= shape.numKeyTiles());
        for (int64_t kt = run.begin; kt < run.end; ++kt)
          state[kt] = run.partial ? 1 : 2;
      }
      for (int64_t kt = 0; kt < shape.numKeyTiles(); ++kt) {
        int64_t kBegin = kt * tiles.key;
        int64_t kEnd = std::min(kBegin + tiles.key, extent.keySeqLen);
        bool any = false, all = true;
        for (int64_t q = qBegin; q < qEnd; ++q)
          for (int64_t k = kBegin; k < kEnd; ++k) {
            bool visible = pattern.isVisible(extent, head, q, k);
            any |= visible;
            all &= visible;
          }
        if (any)
          check(state[kt] != 0);
        if (state[kt] == 2)
          check(all);
      }
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &context = getContext();
  std::string text(reinterpret_cast<const char *>(data), size);
  size_t read = 0;
  Attribute attr = parseAttribute(text, &context, Type(), &read);
  if (!attr)
    return 0;

  // What parses prints and parses back to itself.
  std::string printed;
  llvm::raw_string_ostream os(printed);
  attr.print(os);
  Attribute again = parseAttribute(printed, &context);
  check(again == attr);

  auto pattern = dyn_cast<PatternAttrInterface>(attr);
  if (!pattern)
    return 0;
  auto emit = [&] { return emitError(UnknownLoc::get(&context)); };
  for (int64_t heads : {1, 2, 3, 4})
    for (auto [sq, skv] : {std::pair<int64_t, int64_t>{40, 40},
                           {17, 33},
                           {33, 9},
                           {1, 40},
                           {0, 5}}) {
      AttentionShape shape{heads, sq, skv};
      if (failed(pattern.verifyForShape(emit, shape)))
        continue;
      AttentionExtent extent{heads, sq, skv};
      checkRanges(pattern, extent);
      checkPlan(pattern, extent, TileSizes{8, 8});
      checkPlan(pattern, extent, TileSizes{16, 4});
    }
  return 0;
}
