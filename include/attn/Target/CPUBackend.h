//===- CPUBackend.h - LLVM dialect to CPU objects and libraries -*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The back half of attn's CPU path: lowers the kernels that
// attn-convert-to-cpu produces (scf/vector/arith/math/memref) to the LLVM
// dialect, translates them to LLVM IR, optimizes at O3 for a named CPU and
// writes LLVM IR, assembly, an object file or a shared library.
//
// Typical use (what attn-compile does):
//
//   auto target = resolveCPUTarget("x86-64-v4");     // or "native", "aarch64"
//   if (!target) ... llvm::toString(target.takeError()) ...
//   PassManager pm(&context);
//   addCPULoweringToLLVMPasses(pm);
//   if (failed(pm.run(module))) ...
//   if (failed(buildCPUSharedLibrary(module, *target, "kernels.so"))) ...
//
// Errors are emitted as diagnostics on the module (so they print like every
// other attn error) and reported as failure.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TARGET_CPUBACKEND_H
#define ATTN_TARGET_CPUBACKEND_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace llvm {
class raw_pwrite_stream;
} // namespace llvm

namespace mlir {
class ModuleOp;
class OpPassManager;

namespace attn {

/// A CPU target resolved to what LLVM's TargetMachine needs.
struct CPUTarget {
  std::string name;        ///< As given: "x86-64-v3", "x86-64-v4", "native", "aarch64".
  std::string tableTarget; ///< attn's target table entry (Targets.h) for tiles and costs.
  std::string triple;      ///< "x86_64-unknown-linux-gnu", ...
  std::string cpu;         ///< LLVM CPU name: "x86-64-v4", "znver4", "generic".
  std::string features;    ///< LLVM feature string: "+neon", "+avx2,-avx512f,...".
};

/// The names resolveCPUTarget accepts, comma separated ("x86-64-v3,
/// x86-64-v4, aarch64, native"), for help texts and diagnostics.
std::string listCPUTargetNames();

/// Resolves `name`: the CPU entries of attn's target table (x86-64-v3,
/// x86-64-v4, aarch64) or `native` (the host's CPU and features). Unknown
/// names are an error that lists the valid ones.
llvm::Expected<CPUTarget> resolveCPUTarget(llvm::StringRef name);

/// The attn table target the host corresponds to: "x86-64-v4" with AVX-512F,
/// "x86-64-v3" with AVX2 and FMA, "aarch64" on AArch64; an error otherwise.
llvm::Expected<std::string> getNativeTableTarget();

/// Appends the lowering of attn's CPU kernels (scf, vector, arith, math,
/// memref, func) to the LLVM dialect. `pm` must be anchored on
/// builtin.module. Vector exp/exp2 become polynomial approximations instead
/// of one libm call per lane.
void addCPULoweringToLLVMPasses(OpPassManager &pm);

/// What emitCPUCode writes.
enum class CPUEmitKind { LLVMIR, Assembly, Object };

/// Translates `module` (LLVM dialect only) to LLVM IR for `target`, runs
/// LLVM's O3 pipeline and writes `kind` to `os`. Code is position independent
/// so objects can go into shared libraries.
LogicalResult emitCPUCode(ModuleOp module, const CPUTarget &target,
                          CPUEmitKind kind, llvm::raw_pwrite_stream &os);

/// Writes `module` as an object to a temporary file and links it into the
/// shared library `outputPath` with the system C compiler (cc, gcc or clang:
/// `-shared -o outputPath obj -lm`). Fails, with the linker's stderr, when no
/// compiler is found or linking fails.
LogicalResult buildCPUSharedLibrary(ModuleOp module, const CPUTarget &target,
                                    llvm::StringRef outputPath);

} // namespace attn
} // namespace mlir

#endif // ATTN_TARGET_CPUBACKEND_H
