//===- Targets.h - Descriptions of the chips attn compiles for --*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// One table of targets: peak rates for the cost model, default tile sizes and
// the tile constraints of each code generator. Adding a chip is a table entry
// (lib/Target/Targets.cpp) plus a test.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TARGET_TARGETS_H
#define ATTN_TARGET_TARGETS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace mlir {
namespace attn {

struct TargetDescription {
  enum class Kind { GPU, CPU };

  llvm::StringRef name;        ///< As given to --target: "sm_90", "x86-64-v4".
  Kind kind;
  llvm::StringRef description; ///< The reference part and where rates come from.
  double matmulFlops;          ///< Peak f16/bf16 matmul FLOP/s (f32 on CPUs).
  double matmulFlopsF32;       ///< Peak f32 matmul FLOP/s.
  double vectorFlops;          ///< Peak f32 elementwise FLOP/s (softmax).
  double expPerSecond;         ///< Peak exponentials per second.
  double bandwidth;            ///< DRAM bytes per second.
  int64_t queryTile;           ///< Default query rows per tile.
  int64_t keyTile;             ///< Default keys per tile.
  int64_t tileMultiple;        ///< Tile sizes must be multiples of this.
  // CPU code generation (0 on GPUs).
  int64_t vectorLanes = 0;     ///< f32 lanes per vector register.
  /// Vector registers the micro-kernels may keep as accumulators: half the
  /// register file, leaving room for operands and broadcasts.
  int64_t accumulators = 0;
  llvm::StringRef llvmTriple = {}; ///< LLVM target triple (CPUs).
  llvm::StringRef llvmCPU = {};    ///< LLVM CPU name (CPUs).
  llvm::StringRef llvmFeatures = {}; ///< Extra LLVM features (CPUs).
};

/// Every known target, in a fixed order.
llvm::ArrayRef<TargetDescription> getTargets();

/// The target called `name`, or null.
const TargetDescription *lookupTarget(llvm::StringRef name);

/// "sm_80, sm_86, ..." for diagnostics.
std::string listTargetNames();

} // namespace attn
} // namespace mlir

#endif // ATTN_TARGET_TARGETS_H
