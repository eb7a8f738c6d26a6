//===- GPUBackend.h - attn GPU kernels to PTX and cubins --------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The back half of attn's CUDA path: takes a module after
// attn-convert-to-gpu (a `gpu.module @kernels` of `gpu.func` kernels),
// lowers a copy of it through MLIR's gpu-lower-to-nvvm-pipeline
// (bare-pointer kernels, opt-level 3, PTX ISA 8.0 features) to PTX for a
// chip, and assembles PTX into a cubin with the CUDA toolkit's ptxas.
//
// Typical use (what attn-compile --target=sm_90 does):
//
//   registerGPUBackendDialects(registry);       // before creating the context
//   FailureOr<std::string> ptx = lowerToPTX(module, "sm_90");
//   FailureOr<std::string> cubin = assemblePTX(module.getLoc(), *ptx, "sm_90");
//
// Errors are emitted as diagnostics and reported as failure.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TARGET_GPUBACKEND_H
#define ATTN_TARGET_GPUBACKEND_H

#include "mlir/IR/Location.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir {
class DialectRegistry;
class ModuleOp;

namespace attn {

/// Registers the dialects, dialect extensions (ConvertToLLVM interfaces,
/// the #nvvm.target serialization model) and LLVM IR translations that the
/// NVVM lowering and serialization need.
void registerGPUBackendDialects(DialectRegistry &registry);

/// Lowers a clone of `module` (left unchanged) through
/// gpu-lower-to-nvvm-pipeline for `chip` ("sm_80", "sm_90a", ...) with
/// cubin-format=isa and returns the PTX of its single gpu.module. Fails when
/// the PTX still calls libdevice (`__nv_*`), which nothing would link.
FailureOr<std::string> lowerToPTX(ModuleOp module, llvm::StringRef chip);

/// The ptxas to use: $CUDA_HOME/bin/ptxas, else /usr/local/cuda/bin/ptxas,
/// else ptxas on PATH; an empty string when there is none.
std::string findPtxas();

/// Assembles `ptx` for `chip` with ptxas -O3 and returns the cubin. A
/// missing ptxas or an assembler error (with ptxas' output) is an error at
/// `loc`.
FailureOr<std::string> assemblePTX(Location loc, llvm::StringRef ptx,
                                   llvm::StringRef chip);

} // namespace attn
} // namespace mlir

#endif // ATTN_TARGET_GPUBACKEND_H
