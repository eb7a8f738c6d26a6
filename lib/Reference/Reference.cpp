//===- Reference.cpp - Plain reference attention --------------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Reference/Reference.h"

#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
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

/// Softmax attention of every (batch, head, row) over the keys `visible`
/// lets it see, in double; rows that see nothing stay zero, a NaN logit of
/// a visible key makes its row NaN. `keyHeadOf(h)` is the KV head of query
/// head h; `skip(b, h)` leaves a pair's rows zero (gated off).
static HostTensor attendWhere(
    const HostTensor &query, const HostTensor &key, const HostTensor &value,
    double scale,
    llvm::function_ref<bool(int64_t b, int64_t h, int64_t row, int64_t k)>
        visible,
    llvm::function_ref<bool(int64_t b, int64_t h)> skip) {
  const int64_t batch = query.shape[0], heads = query.shape[1],
                rows = query.shape[2], dim = query.shape[3];
  const int64_t kvHeads = key.shape[1], keys = key.shape[2],
                valueDim = value.shape[3];
  const int64_t group = heads / kvHeads;
  HostTensor out(ArrayRef<int64_t>{batch, heads, rows, valueDim});
  std::vector<double> logits(keys);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      if (skip(b, h))
        continue; // A gated-off head outputs zeros.
      int64_t kvh = h / group;
      for (int64_t q = 0; q < rows; ++q) {
        double maxLogit = -std::numeric_limits<double>::infinity();
        bool nanLogit = false;
        for (int64_t k = 0; k < keys; ++k) {
          if (!visible(b, h, q, k)) {
            logits[k] = -std::numeric_limits<double>::infinity();
            continue;
          }
          double dot = 0;
          for (int64_t d = 0; d < dim; ++d)
            dot += query.at({b, h, q, d}) * key.at({b, kvh, k, d});
          logits[k] = scale * dot;
          nanLogit |= std::isnan(logits[k]);
          maxLogit = std::max(maxLogit, logits[k]);
        }
        // IEEE semantics, as the kernels compute them: a NaN score of a
        // visible key makes its row NaN (std::max would skip it, and a row
        // of NaN scores would read as a row without keys).
        if (nanLogit) {
          for (int64_t d = 0; d < valueDim; ++d)
            out.at({b, h, q, d}) = std::numeric_limits<double>::quiet_NaN();
          continue;
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

HostTensor mlir::attn::referenceAttention(const HostTensor &query,
                                          const HostTensor &key,
                                          const HostTensor &value,
                                          PatternAttrInterface pattern,
                                          double scale, const HostTensor *gates,
                                          const HostTensor *blocks) {
  const int64_t heads = query.shape[1];
  const int64_t group = heads / key.shape[1];
  AttentionExtent extent{heads, query.shape[2], key.shape[2]};
  return attendWhere(
      query, key, value, scale,
      [&](int64_t b, int64_t h, int64_t q, int64_t k) {
        return Visibility{extent, blocks, b, group}(pattern, h, q, k);
      },
      [&](int64_t b, int64_t h) { return gates && gates->at({b, h}) == 0.0; });
}

HostTensor mlir::attn::referenceSparseBranches(
    const HostTensor &query, const HostTensor &key, const HostTensor &value,
    const HostTensor &compressedKey, const HostTensor &compressedValue,
    const HostTensor &blocks, const HostTensor &weights,
    const SparseBranchesParams &params, double scale) {
  const int64_t heads = query.shape[1], rows = query.shape[2],
                keys = key.shape[2];
  const int64_t group = heads / key.shape[1];
  AttentionExtent extent{heads, rows, keys};
  auto never = [](int64_t, int64_t) { return false; };
  // Compressed slot n covers positions [n stride, n stride + block): with
  // causal, a row sees it once the slot's last position is in its past.
  HostTensor compressed = attendWhere(
      query, compressedKey, compressedValue, scale,
      [&](int64_t, int64_t, int64_t q, int64_t n) {
        return !params.causal ||
               n * params.compressStride + params.compressBlock - 1 <=
                   extent.queryPosition(q);
      },
      never);
  HostTensor selected = attendWhere(
      query, key, value, scale,
      [&](int64_t b, int64_t h, int64_t q, int64_t k) {
        return Visibility{extent, &blocks, b, group}(params.selected, h, q, k);
      },
      never);
  HostTensor window = attendWhere(
      query, key, value, scale,
      [&](int64_t b, int64_t h, int64_t q, int64_t k) {
        return Visibility{extent, nullptr, b, group}(params.window, h, q, k);
      },
      never);
  HostTensor out = compressed;
  const int64_t valueDim = value.shape[3];
  for (int64_t i = 0, n = out.numElements(); i < n; ++i) {
    int64_t row = i / valueDim; // (b, h, r) flattened
    out.data[i] = weights.data[3 * row] * compressed.data[i] +
                  weights.data[3 * row + 1] * selected.data[i] +
                  weights.data[3 * row + 2] * window.data[i];
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Sparse projection (docs/sparse-projection.md, section 1)
//===----------------------------------------------------------------------===//

namespace {
/// One candidate of the top-k: a valid, not forced key block and its score.
struct ScoredBlock {
  double score;
  int64_t index;
};

/// The selection order of section 1, step 6: higher scores first, ties to
/// the lower index, NaN after every number (NaNs among themselves by index).
bool selectedBefore(const ScoredBlock &a, const ScoredBlock &b) {
  bool aNaN = std::isnan(a.score), bNaN = std::isnan(b.score);
  if (aNaN != bNaN)
    return bNaN;
  if (!aNaN && a.score != b.score)
    return a.score > b.score;
  return a.index < b.index;
}
} // namespace

HostTensor mlir::attn::referenceSelectBlocks(const HostTensor &query,
                                             const HostTensor &key,
                                             const HostTensor *pooledKeys,
                                             const SelectBlocksParams &params,
                                             double *minGap) {
  const int64_t batch = query.shape[0], heads = query.shape[1],
                rows = query.shape[2], dim = query.shape[3];
  const int64_t kvHeads = key.shape[1], keys = key.shape[2];
  const int64_t group = heads / kvHeads;
  const int64_t qb = params.queryBlock, kb = params.keyBlock;
  const int64_t numQueryBlocks = (rows + qb - 1) / qb;
  const int64_t numKeyBlocks = (keys + kb - 1) / kb;
  HostTensor out(ArrayRef<int64_t>{batch, kvHeads, numQueryBlocks, params.topK},
                 -1.0);
  if (minGap)
    *minGap = std::numeric_limits<double>::infinity();
  std::vector<double> pooledQuery(dim);
  std::vector<std::vector<double>> pooledKey(numKeyBlocks,
                                             std::vector<double>(dim));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t g = 0; g < kvHeads; ++g) {
      // Step 2: pooled keys, given or the mean of each block's keys.
      for (int64_t j = 0; j < numKeyBlocks; ++j) {
        int64_t t0 = j * kb, t1 = std::min(keys, (j + 1) * kb);
        for (int64_t d = 0; d < dim; ++d) {
          if (pooledKeys) {
            pooledKey[j][d] = pooledKeys->at({b, g, j, d});
            continue;
          }
          double sum = 0;
          for (int64_t t = t0; t < t1; ++t)
            sum += key.at({b, g, t, d});
          pooledKey[j][d] = sum / double(t1 - t0);
        }
      }
      for (int64_t i = 0; i < numQueryBlocks; ++i) {
        // Step 1: the pooled query over the group's heads and the rows.
        int64_t r0 = i * qb, r1 = std::min(rows, (i + 1) * qb);
        for (int64_t d = 0; d < dim; ++d) {
          double sum = 0;
          for (int64_t h = g * group; h < (g + 1) * group; ++h)
            for (int64_t r = r0; r < r1; ++r)
              sum += query.at({b, h, r, d});
          pooledQuery[d] = sum / double(group * (r1 - r0));
        }
        // Steps 4-5: validity by the block's last position, forced blocks.
        int64_t last = r1 - 1 + keys - rows;
        auto valid = [&](int64_t j) {
          return j >= 0 && j < numKeyBlocks &&
                 (!params.causal || j * kb <= last);
        };
        int64_t lastBlock = std::min(
            numKeyBlocks - 1,
            last >= 0 ? last / kb : -((-last + kb - 1) / kb)); // floor
        auto forced = [&](int64_t j) {
          return valid(j) &&
                 (j < params.keepSink ||
                  (j <= lastBlock && j > lastBlock - params.keepLocal));
        };
        // Step 6: forced blocks, then the rest by score.
        std::vector<int64_t> chosen;
        std::vector<ScoredBlock> candidates;
        for (int64_t j = 0; j < numKeyBlocks; ++j) {
          if (!valid(j))
            continue;
          if (forced(j)) {
            chosen.push_back(j);
            continue;
          }
          double score = 0;
          for (int64_t d = 0; d < dim; ++d)
            score += pooledQuery[d] * pooledKey[j][d];
          candidates.push_back({score, j});
        }
        std::stable_sort(candidates.begin(), candidates.end(),
                         selectedBefore);
        size_t byScore = std::min<size_t>(
            candidates.size(), size_t(std::max<int64_t>(
                                   0, params.topK - int64_t(chosen.size()))));
        for (size_t c = 0; c < byScore; ++c)
          chosen.push_back(candidates[c].index);
        if (minGap && byScore > 0 && byScore < candidates.size()) {
          double in = candidates[byScore - 1].score,
                 outScore = candidates[byScore].score;
          if (!std::isnan(in) && !std::isnan(outScore))
            *minGap = std::min(*minGap, in - outScore);
        }
        // Step 7: increasing order, -1 after.
        std::sort(chosen.begin(), chosen.end());
        for (size_t s = 0; s < chosen.size(); ++s)
          out.at({b, g, i, int64_t(s)}) = double(chosen[s]);
      }
    }
  }
  return out;
}

std::pair<HostTensor, HostTensor>
mlir::attn::referenceCompressKV(const HostTensor &key, const HostTensor &value,
                                const HostTensor *weights, int64_t block,
                                int64_t stride) {
  const int64_t batch = key.shape[0], kvHeads = key.shape[1],
                length = key.shape[2];
  const int64_t slots = length < block ? 0 : (length - block) / stride + 1;
  auto compress = [&](const HostTensor &x) {
    const int64_t dim = x.shape[3];
    HostTensor out(ArrayRef<int64_t>{batch, kvHeads, slots, dim});
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t g = 0; g < kvHeads; ++g)
        for (int64_t n = 0; n < slots; ++n)
          for (int64_t d = 0; d < dim; ++d) {
            double sum = 0;
            for (int64_t t = 0; t < block; ++t)
              sum += (weights ? weights->at({g, t}) : 1.0) *
                     x.at({b, g, n * stride + t, d});
            out.at({b, g, n, d}) = weights ? sum : sum / double(block);
          }
    return out;
  };
  return {compress(key), compress(value)};
}
