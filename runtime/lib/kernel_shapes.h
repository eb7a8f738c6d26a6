//===- kernel_shapes.h - The shapes a kernel's op takes at a call -*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The call's common checks (CallChecker in runtime.cpp) compare each tensor
// with its declaration: dtype, rank, fixed sizes, size names. What an op
// itself ties together is checked here, for CPU and CUDA kernels alike,
// before anything runs: a select_blocks kernel's indices are
// [B, Hkv, ceil(Sq / query_block), top_k] of its query and key, a
// compress_kv kernel's results [B, Hkv, N, D] with N its window count, an
// attention kernel's blocks list [B, Hkv, ceil(Sq / query_block), slots],
// every tensor of a sparse_branches kernel (its compressed K/V
// [B, Hkv, (Skv - window) / stride + 1, D], its weights [B, Hq, Sq, 3]).
// A manifest may declare these sizes dynamic or by unrelated names; the
// kernels index with them, so they are checked against the op's rule.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_LIB_KERNEL_SHAPES_H
#define ATTN_RUNTIME_LIB_KERNEL_SHAPES_H

#include "manifest.h"

namespace attn::rt {

/// The sizes a kernel of the operand convention runs over: B and Hkv (its
/// CPU work items are per (batch, KV head)), and the lengths its work-item
/// count takes (select_blocks and sparse_branches: Sq and Skv; compress:
/// the window count N and S).
struct OpSizes {
  int64_t batch = 0, keyHeads = 0, queryLen = 0, keyLen = 0;
};

/// Checks what `k`'s op ties together on the call's tensors (which passed
/// the common checks) and returns its sizes. Attention kernels: only the
/// blocks list (the rest is checked by the CPU launcher and the CUDA
/// planner); the other ops: every tensor. SHAPE_MISMATCH names the kernel,
/// the tensor, expected and found; the caller adds its prefix.
Status checkOpShapes(const KernelSpec &k, const attn_tensor *inputs,
                     const attn_tensor *outputs, OpSizes &sizes);

} // namespace attn::rt

#endif // ATTN_RUNTIME_LIB_KERNEL_SHAPES_H
