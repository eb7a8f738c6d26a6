//===- Reference.h - Plain reference semantics and an IR evaluator -*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The project's reference for numerics: attention computed the plain way in
// double precision (every query row, every visible key, softmax, zeros for
// rows that see nothing and for gated-off heads), and a small evaluator that
// runs a func.func built from attn ops and the tensor/linalg/arith ops the
// attn passes produce. Tests compare transformed IR with the original, and
// compiled kernels with the reference, through these. It is slow on purpose:
// nothing in it is tiled or clever.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_REFERENCE_REFERENCE_H
#define ATTN_REFERENCE_REFERENCE_H

#include "attn/Dialect/Attn/IR/AttnAttrs.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mlir {
namespace attn {

/// A dense, row-major tensor of doubles (booleans are 0 and 1).
struct HostTensor {
  llvm::SmallVector<int64_t, 4> shape;
  std::vector<double> data;

  HostTensor() = default;
  explicit HostTensor(llvm::ArrayRef<int64_t> shape, double fill = 0.0);
  int64_t numElements() const;
  /// Row-major offset of `index`.
  int64_t offset(llvm::ArrayRef<int64_t> index) const;
  double &at(llvm::ArrayRef<int64_t> index) { return data[offset(index)]; }
  double at(llvm::ArrayRef<int64_t> index) const {
    return data[offset(index)];
  }
};

/// Reference attention: `query` B x Hq x Sq x D, `key` B x Hkv x Skv x D,
/// `value` B x Hkv x Skv x Dv. `gates` (B x Hq, may be null) switches heads
/// off; `blocks` (B x Hkv x ceil(Sq/qb) x K, may be null) holds the key
/// blocks of `#attn.selected` patterns.
HostTensor referenceAttention(const HostTensor &query, const HostTensor &key,
                              const HostTensor &value,
                              PatternAttrInterface pattern, double scale,
                              const HostTensor *gates,
                              const HostTensor *blocks);

/// The attributes of an `attn.sparse_branches`.
struct SparseBranchesParams {
  int64_t compressBlock = 32, compressStride = 16;
  bool causal = false;
  SelectedAttr selected;
  PatternAttrInterface window;
};

/// Reference `attn.sparse_branches` (NSA's combined form) in double:
/// `w0 O_cmp + w1 O_sel + w2 O_win` per row, each branch a softmax of its
/// own (zero when the row sees none of its keys). `compressedKey`/`Value`
/// B x Hkv x N x D/Dv, `blocks` B x Hkv x ceil(Sq/qb) x K, `weights`
/// B x Hq x Sq x 3.
HostTensor referenceSparseBranches(
    const HostTensor &query, const HostTensor &key, const HostTensor &value,
    const HostTensor &compressedKey, const HostTensor &compressedValue,
    const HostTensor &blocks, const HostTensor &weights,
    const SparseBranchesParams &params, double scale);

/// The attributes of an `attn.select_blocks` (docs/sparse-projection.md,
/// section 1).
struct SelectBlocksParams {
  int64_t queryBlock = 64, keyBlock = 64, topK = 1;
  int64_t keepSink = 0, keepLocal = 0;
  bool causal = false;
};

/// Reference block selection, in double precision: `query` B x Hq x Sq x D,
/// `key` B x Hkv x Skv x D, `pooledKeys` (may be null) B x Hkv x
/// ceil(Skv/kb) x D. Returns B x Hkv x ceil(Sq/qb) x top_k block indices
/// (increasing, -1 in unused slots). When `minGap` is given it receives the
/// smallest score difference a choice relied on: between the lowest-scoring
/// block chosen by score and the best valid block left out, over every
/// (batch, group, query block) that left one out (+inf when none did or a
/// side is NaN). Kernels that compute scores in f32 must agree with the
/// reference on indices only where this gap exceeds their rounding.
HostTensor referenceSelectBlocks(const HostTensor &query, const HostTensor &key,
                                 const HostTensor *pooledKeys,
                                 const SelectBlocksParams &params,
                                 double *minGap = nullptr);

/// Reference `attn.compress_kv` in double precision: `key` B x Hkv x S x D and
/// `value` B x Hkv x S x Dv to N = (S - block) / stride + 1 slots each (none
/// when S < block); slot n is the mean of positions [n stride, n stride +
/// block), or with `weights` (Hkv x block, linear method) sum_t w[g, t]
/// x[n stride + t].
std::pair<HostTensor, HostTensor>
referenceCompressKV(const HostTensor &key, const HostTensor &value,
                    const HostTensor *weights, int64_t block, int64_t stride);

/// Evaluates `func` on `arguments` (tensors; scalars as rank-0 tensors).
/// Fails with a message naming the first op it does not know or that goes
/// wrong.
FailureOr<std::vector<HostTensor>>
evaluate(func::FuncOp func, llvm::ArrayRef<HostTensor> arguments,
         std::string &error);

} // namespace attn
} // namespace mlir

#endif // ATTN_REFERENCE_REFERENCE_H
