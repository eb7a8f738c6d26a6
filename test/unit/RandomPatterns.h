//===- RandomPatterns.h - Seeded random pattern attributes ------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// One generator of random extents and pattern attributes for the seeded
// property tests (PatternQueriesTest, BlockPlanTest). It lives in one place so
// that a new pattern kind, or a wider parameter range, reaches every property
// test at once instead of one private copy at a time.
//
// Everything drawn is valid: `verifyForShape` accepts each pattern for the
// extent it was drawn for (block layouts cover Skv, per-head lists have Hq
// entries), so a failure points at the code under test, not at the
// generator. Parameter ranges are deliberately wide and irregular (odd
// windows and block sizes, blocks larger than the sequence, global prefixes
// longer than it, empty and full layouts), since off-by-one errors live at
// those edges.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_UNIT_RANDOMPATTERNS_H
#define ATTN_TEST_UNIT_RANDOMPATTERNS_H

#include "attn/Dialect/Attn/IR/AttnAttrs.h"

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <random>

namespace mlir {
class MLIRContext;

namespace attn::test {

/// What a property test can afford; everything else is shared.
struct PatternGeneratorOptions {
  /// Largest Sq and Skv that `extent()` draws. The brute-force references
  /// cost O(Hq * Sq * Skv) per pattern, so each test trades length against
  /// its number of cases.
  int64_t maxSeqLen = 96;
};

/// Draws random extents and patterns valid for an extent, reproducibly from
/// a seed (std::mt19937_64 is specified exactly; the distributions are the
/// standard library's, so sequences are stable for one toolchain).
class PatternGenerator {
public:
  PatternGenerator(MLIRContext *ctx, uint64_t seed,
                   PatternGeneratorOptions options = {});

  /// A uniform integer in `[lo, hi]`.
  int64_t uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  }
  bool coin(double probability = 0.5) {
    return std::bernoulli_distribution(probability)(rng);
  }
  template <typename T> T pick(llvm::ArrayRef<T> values) {
    return values[uniform(0, values.size() - 1)];
  }

  /// Hq in 1..4; Skv in 1..maxSeqLen; Sq = Skv a quarter of the time (the
  /// square prefill case), Sq = 1 sometimes (decoding), otherwise
  /// independent in 1..maxSeqLen (so Sq > Skv happens too).
  AttentionExtent extent();

  /// Any static pattern: a leaf, a union (rarely nested) or a per-head list.
  PatternAttrInterface staticPattern(const AttentionExtent &extent);

  /// A pattern that contains `#attn.selected`: alone, in a union with static
  /// leaves, or as (part of) one head of a per-head list whose other heads
  /// are static.
  PatternAttrInterface runtimePattern(const AttentionExtent &extent);

private:
  PatternAttrInterface perHead(const AttentionExtent &extent,
                               bool withSelected);
  PatternAttrInterface memberPattern(const AttentionExtent &extent,
                                     int depth = 2);
  PatternAttrInterface unionWithSelected(const AttentionExtent &extent);
  PatternAttrInterface selected();
  PatternAttrInterface leafPattern(const AttentionExtent &extent);
  PatternAttrInterface randomBlocks();
  PatternAttrInterface blockLayout(const AttentionExtent &extent);

  MLIRContext *ctx;
  PatternGeneratorOptions options;
  std::mt19937_64 rng;
};

} // namespace attn::test
} // namespace mlir

#endif // ATTN_TEST_UNIT_RANDOMPATTERNS_H
