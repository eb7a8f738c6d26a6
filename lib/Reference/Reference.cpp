//===- Reference.cpp - Plain reference attention --------------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Reference/Reference.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::attn;

HostTensor::HostTensor(llvm::ArrayRef<int64_t> shape, double fill)
    : shape(shape.begin(), shape.end()) {
  data.assign(numElements(), fill);
}

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int64_t HostTensor::offset(llvm::ArrayRef<int64_t> index) const {
  int64_t o = 0;
  for (size_t i = 0; i < shape.size(); ++i)
    o = o * shape[i] + index[i];
  return o;
}

namespace {
/// Visibility including runtime-selected blocks, which the pattern
/// interface can only bound.
struct Visibility {
  const AttentionExtent &extent;
  const HostTensor *blocks;
  int64_t batch, group;

  bool operator()(PatternAttrInterface pattern, int64_t head, int64_t query,
                  int64_t key) const {
    return llvm::TypeSwitch<Attribute, bool>(pattern)
        .Case([&](UnionAttr u) {
          return llvm::any_of(u.getMembers(), [&](PatternAttrInterface m) {
            return (*this)(m, head, query, key);
          });
        })
        .Case([&](PerHeadAttr p) {
          return (*this)(p.getHeadPattern(head), head, query, key);
        })
        .Case([&](SelectedAttr s) {
          if (s.getCausal() && key > extent.queryPosition(query))
            return false;
          if (!blocks)
            return false;
          int64_t kvHead = head / group;
          int64_t queryBlock = query / s.getQueryBlock();
          int64_t slots = blocks->shape[3];
          for (int64_t i = 0; i < slots; ++i)
            if (blocks->at({batch, kvHead, queryBlock, i}) ==
                double(key / s.getKeyBlock()))
              return true;
          return false;
        })
        .Default([&](Attribute) {
          return pattern.isVisible(extent, head, query, key);
        });
  }
};
} // namespace

HostTensor mlir::attn::referenceAttention(const HostTensor &query,
                                          const HostTensor &key,
                                          const HostTensor &value,
                                          PatternAttrInterface pattern,
                                          double scale, const HostTensor *gates,
                                          const HostTensor *blocks) {
  const int64_t batch = query.shape[0], heads = query.shape[1],
                rows = query.shape[2], dim = query.shape[3];
  const int64_t kvHeads = key.shape[1], keys = key.shape[2],
                valueDim = value.shape[3];
  const int64_t group = heads / kvHeads;
  HostTensor out(ArrayRef<int64_t>{batch, heads, rows, valueDim});
  AttentionExtent extent{heads, rows, keys};
  std::vector<double> logits(keys);
  for (int64_t b = 0; b < batch; ++b) {
    Visibility visible{extent, blocks, b, group};
    for (int64_t h = 0; h < heads; ++h) {
      if (gates && gates->at({b, h}) == 0.0)
        continue; // A gated-off head outputs zeros.
      int64_t kvh = h / group;
      for (int64_t q = 0; q < rows; ++q) {
        double maxLogit = -std::numeric_limits<double>::infinity();
        for (int64_t k = 0; k < keys; ++k) {
          if (!visible(pattern, h, q, k)) {
            logits[k] = -std::numeric_limits<double>::infinity();
            continue;
          }
          double dot = 0;
          for (int64_t d = 0; d < dim; ++d)
            dot += query.at({b, h, q, d}) * key.at({b, kvh, k, d});
          logits[k] = scale * dot;
          maxLogit = std::max(maxLogit, logits[k]);
        }
        if (maxLogit == -std::numeric_limits<double>::infinity())
          continue; // No visible key: zeros.
        double sum = 0;
        for (int64_t k = 0; k < keys; ++k)
          if (logits[k] != -std::numeric_limits<double>::infinity())
            sum += std::exp(logits[k] - maxLogit);
        for (int64_t k = 0; k < keys; ++k) {
          if (logits[k] == -std::numeric_limits<double>::infinity())
            continue;
          double p = std::exp(logits[k] - maxLogit) / sum;
          for (int64_t d = 0; d < valueDim; ++d)
            out.at({b, h, q, d}) += p * value.at({b, kvh, k, d});
        }
      }
    }
  }
  return out;
}
