//===- cuda_launch.h - What a CUDA kernel launch of a call is ---*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// planCudaLaunch turns one CUDA kernel entry of the manifest and the
// caller's tensors into everything the launch needs: the grid from the
// manifest's rule, the parameter slots packed from the `params` list, and
// the zero fills that must precede the kernel. It checks the call on the host
// first (head counts, fixed sizes, the tensors agreeing with each other, the
// gates' and the active list's shapes, CUDA's grid limits, i32 parameters
// that a call overflows) and touches no device: so it is tested without a
// GPU (test/cuda_launch_test.cpp), and a refused call launches nothing.
//
// select_blocks and compress_kv kernels (grid rule tiles_x_kv_pairs) take
// their tensors, strides, extents and the function's sizes through the
// generic parameter values (operand[i], result[i].stride[j], "Sq_blocks");
// they write every element of their results, so nothing is filled.
// sparse_branches kernels take theirs the same way (and may take the
// scale), but are launched like ungated attention: query_tiles_x_pairs,
// ceil(Sq / query_tile) row tiles x B * Hq (batch, query head) pairs.
//
// Gated kernels (docs/artifact.md, "CUDA kernels"):
//
//   "gates": "gates"   the kernel reads the [B, Hq] bool mask itself and
//                      writes zeros for the pairs it gates off; grid rule
//                      query_tiles_x_pairs, no fill.
//   "gates": "active"  the kernel gets the int32 list of b * Hq + h and is
//                      launched over it (query_tiles_x_active); pairs not in
//                      the list are never visited, so the whole output is
//                      zero-filled first, on the same stream. The list lives
//                      on the device: its order and duplicates cannot be
//                      checked cheaply (a duplicate makes two blocks write
//                      one pair: the caller's error); the kernel skips
//                      entries outside [0, B * Hq).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_LIB_CUDA_LAUNCH_H
#define ATTN_RUNTIME_LIB_CUDA_LAUNCH_H

#include "cuda_driver.h"
#include "manifest.h"

#include <cstdint>
#include <vector>

namespace attn::rt {

/// `height` rows of `width` bytes, `pitch` bytes apart, from `address`, set
/// to zero (cuMemsetD8Async when height is 1, else cuMemsetD2D8Async).
struct CudaZeroFill {
  uint64_t address = 0;
  uint64_t pitch = 0; // bytes; equal to width when height is 1
  uint64_t width = 0; // bytes
  uint64_t height = 1;
};

/// A tensor map the launch builds first (a `tensor_map` parameter): its
/// device address goes into params[param].
struct CudaTensorMap {
  size_t param = 0;
  cuda::TensorMapRequest request;
};

struct CudaLaunchPlan {
  cuda::Dim3 grid, block;
  unsigned dynamicSharedMemory = 0;
  /// One 8-byte slot per kernel parameter, the value in its low bytes (what
  /// cuLaunchKernel reads through the pointer to each slot).
  std::vector<uint64_t> params;
  /// Run on the launch's stream before the kernel, in order.
  std::vector<CudaZeroFill> zeroFills;
  /// Built (Context::tensorMap) before the kernel is launched.
  std::vector<CudaTensorMap> tensorMaps;
  /// A persistent kernel: grid.x is its work items (query tiles x rows),
  /// and the launch runs at most one block per SM of the device.
  bool persistent = false;
  /// The parameter (index into params) that takes a zeroed work-item
  /// counter (Context::tileCounter), or -1.
  int tileCounterParam = -1;

  /// False when the grid is empty (an active list of no entries): the fills
  /// still run, the kernel does not.
  bool launches() const { return grid.x && grid.y && grid.z; }
};

/// The fills that zero exactly the bytes of `t` (a tensor the runtime has
/// checked: strides >= 0, no element overlapping another, extents that fit
/// int64). Dims that are contiguous in memory merge into one run, the next
/// regular dims into the rows of one 2-D fill, and the rest are iterated:
/// one fill for a contiguous tensor, one per outer index otherwise. Nothing
/// outside the tensor is touched (a strided view's gaps keep their bytes).
std::vector<CudaZeroFill> zeroFillsFor(const attn_tensor &t);

/// Plans kernel `kernel` (a CUDA entry) of a call whose function's tensors
/// passed the call's common checks (device, dtype, rank, declared sizes,
/// strides); `sizes` holds the call's size names (derived ones included),
/// which size-name parameters and the tiles_x_kv_pairs rule read.
/// SHAPE_MISMATCH or UNSUPPORTED (an unknown grid rule, a size the call
/// does not bind) name the kernel, expected and found values; the caller
/// adds its prefix.
Status planCudaLaunch(const KernelSpec &kernel, const attn_tensor *inputs,
                      const attn_tensor *outputs, CudaLaunchPlan &out,
                      const SizeBindings &sizes = SizeBindings());

} // namespace attn::rt

#endif // ATTN_RUNTIME_LIB_CUDA_LAUNCH_H
