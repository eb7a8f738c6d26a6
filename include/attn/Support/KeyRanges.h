//===- KeyRanges.h - Key ranges and attention extents -----------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Small value types shared by pattern queries, block planning and tests. They
// depend only on LLVM's ADT so that planners and property tests can use them
// without an MLIRContext.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_KEYRANGES_H
#define ATTN_SUPPORT_KEYRANGES_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>

namespace mlir {
namespace attn {

/// A half-open range `[begin, end)` of key positions.
struct KeyRange {
  int64_t begin = 0;
  int64_t end = 0;

  int64_t size() const { return end > begin ? end - begin : 0; }
  bool empty() const { return end <= begin; }
  bool contains(int64_t key) const { return key >= begin && key < end; }
  bool operator==(const KeyRange &other) const {
    return begin == other.begin && end == other.end;
  }
  bool operator!=(const KeyRange &other) const { return !(*this == other); }
};

using KeyRangeList = llvm::SmallVector<KeyRange, 4>;

/// Concrete lengths of one attention problem, as pattern queries need them.
struct AttentionExtent {
  int64_t numHeads = 1;    ///< Query heads (Hq).
  int64_t querySeqLen = 0; ///< Sq.
  int64_t keySeqLen = 0;   ///< Skv.

  /// Position of query row `query` in key coordinates: queries are aligned
  /// with the end of the key sequence. May be negative when Sq > Skv.
  int64_t queryPosition(int64_t query) const {
    return query + (keySeqLen - querySeqLen);
  }
};

/// Shape facts an attention op gives its pattern to verify against. Any size
/// may be `ShapedType::kDynamic` (INT64_MIN); `numHeads` is always static.
struct AttentionShape {
  int64_t numHeads = 1;
  int64_t querySeqLen = 0;
  int64_t keySeqLen = 0;
};

/// Sorts `ranges`, drops empty ones and merges overlapping or adjacent ones,
/// so that equal key sets compare equal.
void normalizeKeyRanges(KeyRangeList &ranges);

/// Appends `[begin, end)` clipped to `[0, limit)`, if not empty.
void appendClippedRange(KeyRangeList &ranges, int64_t begin, int64_t end,
                        int64_t limit);

/// Total number of keys covered by normalized `ranges`.
int64_t countKeys(const KeyRangeList &ranges);

/// Floor and ceiling division for any sign of `a` and positive `b`.
inline int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
inline int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }
/// Remainder in `[0, b)` for positive `b`.
inline int64_t positiveMod(int64_t a, int64_t b) {
  return a - floorDiv(a, b) * b;
}

llvm::raw_ostream &operator<<(llvm::raw_ostream &os, const KeyRange &range);
llvm::raw_ostream &operator<<(llvm::raw_ostream &os,
                              const KeyRangeList &ranges);

} // namespace attn
} // namespace mlir

#endif // ATTN_SUPPORT_KEYRANGES_H
