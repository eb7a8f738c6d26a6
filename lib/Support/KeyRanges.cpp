//===- KeyRanges.cpp - Key ranges and attention extents -------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Support/KeyRanges.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>

namespace mlir {
namespace attn {

void normalizeKeyRanges(KeyRangeList &ranges) {
  llvm::erase_if(ranges, [](const KeyRange &r) { return r.empty(); });
  llvm::sort(ranges, [](const KeyRange &a, const KeyRange &b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  size_t out = 0;
  for (const KeyRange &r : ranges) {
    if (out > 0 && r.begin <= ranges[out - 1].end) {
      ranges[out - 1].end = std::max(ranges[out - 1].end, r.end);
      continue;
    }
    ranges[out++] = r;
  }
  ranges.resize(out);
}

void appendClippedRange(KeyRangeList &ranges, int64_t begin, int64_t end,
                        int64_t limit) {
  begin = std::max<int64_t>(begin, 0);
  end = std::min(end, limit);
  if (begin < end)
    ranges.push_back({begin, end});
}

int64_t countKeys(const KeyRangeList &ranges) {
  int64_t total = 0;
  for (const KeyRange &r : ranges)
    total += r.size();
  return total;
}

llvm::raw_ostream &operator<<(llvm::raw_ostream &os, const KeyRange &range) {
  return os << '[' << range.begin << ", " << range.end << ')';
}

llvm::raw_ostream &operator<<(llvm::raw_ostream &os,
                              const KeyRangeList &ranges) {
  if (ranges.empty())
    return os << "none";
  llvm::interleave(
      ranges, os, [&](const KeyRange &r) { os << r; }, " ");
  return os;
}

} // namespace attn
} // namespace mlir
