//===- AttnAttrs.h - attn attributes and pattern interface ------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNATTRS_H
#define ATTN_DIALECT_ATTN_IR_ATTNATTRS_H

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Support/KeyRanges.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"

#include "attn/Dialect/Attn/IR/AttnAttrInterfaces.h.inc"
#include "attn/Dialect/Attn/IR/AttnEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "attn/Dialect/Attn/IR/AttnAttrs.h.inc"

namespace mlir {
namespace attn {

/// Calls `visit` on every leaf pattern of `pattern` (itself, or the members
/// of its unions and per-head lists, recursively), in order. The one walk
/// over pattern trees that verifiers, planners and passes share.
void walkPatternLeaves(PatternAttrInterface pattern,
                       llvm::function_ref<void(PatternAttrInterface)> visit);

/// Whether `pred` holds for some leaf of `pattern`.
bool anyPatternLeaf(PatternAttrInterface pattern,
                    llvm::function_ref<bool(PatternAttrInterface)> pred);

/// The `#attn.selected` leaves of `pattern`, in order.
llvm::SmallVector<SelectedAttr> getSelectedLeaves(PatternAttrInterface pattern);

/// Whether `pattern` needs a table: a random-blocks or explicit-layout leaf.
bool hasIrregularLeaf(PatternAttrInterface pattern);

/// Whether `pattern` means something else for another head index: random
/// blocks (hashed by head) or a per-head layout. Such heads neither share a
/// plan nor survive renumbering.
bool dependsOnHeadIndex(PatternAttrInterface pattern);

/// The kept key blocks of one row (seed, head, query block) of
/// `#attn.random_blocks`, in increasing order. Each block is kept
/// independently with probability `density`; the stream draws the gaps
/// between kept blocks (geometric, from a splitmix64 sequence seeded by the
/// row), so a row costs O(kept blocks) and never depends on the sequence
/// length. Exposed so that references outside the compiler (tests, the
/// runtime's table builder) produce the same blocks.
/// The splitmix64 mixer behind random-block streams (code generators emit the
/// same arithmetic, so that compiled kernels keep exactly these blocks).
uint64_t splitMix64(uint64_t x);

class RandomBlockRow {
public:
  RandomBlockRow(uint64_t seed, int64_t head, int64_t queryBlock,
                 double density);
  /// The next kept key block (strictly increasing, unbounded).
  int64_t next();

private:
  uint64_t state;
  double logMiss; ///< log(1 - density), < 0.
  int64_t last = -1;
  bool keepAll;
};

} // namespace attn
} // namespace mlir

#endif // ATTN_DIALECT_ATTN_IR_ATTNATTRS_H
