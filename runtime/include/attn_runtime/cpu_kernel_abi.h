/*===- cpu_kernel_abi.h - How attn's CPU kernels are called -------*- C -*-===*
 *
 * Part of the attn project: an MLIR compiler for controllable attention.
 *
 *===----------------------------------------------------------------------===*
 *
 * The calling convention of the CPU kernels that `attn-compile` emits, in
 * plain C so that the runtime (which links nothing from LLVM/MLIR) and any
 * other caller can use it.
 *
 * One kernel per `attn.attention` op, named `<func>_attn<N>` (N counts the
 * attention ops of the function from 0). Its C entry point is
 *
 *   void _mlir_ciface_<kernel>(attn_memref4d *query, attn_memref4d *key,
 *                              attn_memref4d *value, attn_memref4d *out,
 *                              [attn_memref1d *active,]   // gated ops only
 *                              [attn_memref4d *blocks,]   // #attn.selected
 *                              int64_t item_begin, int64_t item_end);
 *
 * and it computes work items [item_begin, item_end). Items are independent:
 * callers split [0, items) across threads in any way. The item count is
 *
 *   int64_t <kernel>_work_items(int64_t pairs, int64_t query_len,
 *                               int64_t key_len);
 *
 * where `pairs` is B * Hq (ungated) or the length of `active` (gated).
 *
 * Shapes: query/out [B, Hq, Sq, D], key/value [B, Hkv, Skv, D], Hq a
 * multiple of Hkv; D fixed at compile time; B, Sq, Skv free. Strides are in
 * elements; the innermost stride must be 1. Element type is the op's (f32,
 * f16 or bf16 as raw 16-bit storage); the kernel accumulates in f32.
 *
 * Gated kernels take `active`, a list of b * Hq + h (int32) naming the
 * (batch, head) pairs to compute; the kernel never touches other pairs, so
 * the caller zero-fills `out` first (gated-off heads are defined as zero).
 *
 * Kernels of `#attn.selected` attention (the manifest's `blocks` field)
 * take `blocks`, int32 [B, Hkv, ceil(Sq / query_block), slots]: the key
 * blocks each query block of a KV-head group sees (docs/sparse-projection.md;
 * -1 and entries outside [0, ceil(Skv / key_block)) are ignored).
 *
 * Kernels of the other ops (the manifest's `op`: `select_blocks`,
 * `compress_kv`, `sparse_branches`) take one descriptor per operand, then
 * one per result, in the op's order, each of its own rank (attn_memref1d
 * ... attn_memref4d):
 *
 *   void _mlir_ciface_<kernel>(<operand descriptors>, <result descriptors>,
 *                              int64_t item_begin, int64_t item_end);
 *   int64_t <kernel>_work_items(int64_t pairs, int64_t query_len,
 *                               int64_t key_len);
 *
 * with pairs = B * Hkv, and query_len, key_len: Sq and Skv for
 * select_blocks (query [B, Hq, Sq, D], key [B, Hkv, Skv, D], optional
 * pooled keys [B, Hkv, ceil(Skv / key_block), D] -> indices int32
 * [B, Hkv, ceil(Sq / query_block), top_k]); N and S for compress_kv (key
 * [B, Hkv, S, D], value [B, Hkv, S, Dv], optional weights [Hkv, block] ->
 * [B, Hkv, N, D], [B, Hkv, N, Dv], N = (S - block) / stride + 1); Sq and
 * Skv for sparse_branches (8 descriptors, all rank 4: query [B, Hq, Sq, D],
 * key [B, Hkv, Skv, D], value [B, Hkv, Skv, Dv], compressed key and value
 * [B, Hkv, N, D|Dv] with N = (Skv - compress_window) / compress_stride + 1,
 * blocks int32 [B, Hkv, ceil(Sq / query_block), slots], weights
 * [B, Hq, Sq, 3] -> out [B, Hq, Sq, Dv]). Such a kernel writes every
 * element of its results (the caller fills nothing).
 *
 *===----------------------------------------------------------------------===*/

#ifndef ATTN_RUNTIME_CPU_KERNEL_ABI_H
#define ATTN_RUNTIME_CPU_KERNEL_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* MLIR's ranked memref descriptor (StridedMemRefType<T, 4>). */
typedef struct attn_memref4d {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[4];
  int64_t strides[4];
} attn_memref4d;

typedef struct attn_memref3d {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[3];
  int64_t strides[3];
} attn_memref3d;

typedef struct attn_memref2d {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} attn_memref2d;

typedef struct attn_memref1d {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} attn_memref1d;

typedef void (*attn_cpu_kernel_fn)(attn_memref4d *, attn_memref4d *,
                                   attn_memref4d *, attn_memref4d *, int64_t,
                                   int64_t);
typedef void (*attn_cpu_gated_kernel_fn)(attn_memref4d *, attn_memref4d *,
                                         attn_memref4d *, attn_memref4d *,
                                         attn_memref1d *, int64_t, int64_t);
typedef void (*attn_cpu_blocks_kernel_fn)(attn_memref4d *, attn_memref4d *,
                                          attn_memref4d *, attn_memref4d *,
                                          attn_memref4d *, int64_t, int64_t);
typedef void (*attn_cpu_gated_blocks_kernel_fn)(attn_memref4d *,
                                                attn_memref4d *,
                                                attn_memref4d *,
                                                attn_memref4d *,
                                                attn_memref1d *,
                                                attn_memref4d *, int64_t,
                                                int64_t);
typedef int64_t (*attn_cpu_work_items_fn)(int64_t, int64_t, int64_t);

#ifdef __cplusplus
}
#endif

#endif /* ATTN_RUNTIME_CPU_KERNEL_ABI_H */
