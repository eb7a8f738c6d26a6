//===- Passes.h - attn transformation passes --------------------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_H
#define ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_H

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace mlir {
namespace attn {

#define GEN_PASS_DECL
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"

/// Patterns that remove statically gated-off heads from attn.attention (see
/// the attn-fuse-skipped-heads pass).
void populateFuseSkippedHeadsPatterns(RewritePatternSet &patterns);

/// Patterns that lower attn.head_gate to linalg on tensors (see the
/// attn-lower-head-gate pass).
void populateLowerHeadGatePatterns(RewritePatternSet &patterns);

/// Why `op`'s constant gates cannot be fused away, or an empty string when
/// they can (or there is nothing to fuse).
std::string whyHeadsCannotBeFused(AttentionOp op);

/// Whether `func` holds, at any depth, an op that becomes a kernel
/// (attn.attention, attn.select_blocks, attn.compress_kv): the functions the
/// code generators (attn-convert-to-cpu, attn-convert-to-gpu) convert and
/// attn-compile's manifest lists.
bool hasKernelOps(func::FuncOp func);

#define GEN_PASS_REGISTRATION
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"

} // namespace attn
} // namespace mlir

#endif // ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_H
