//===- Targets.cpp - Descriptions of the chips attn compiles for ----------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Rates are vendor peaks (dense, no structured sparsity) of one reference
// part per architecture; the cost model's estimate is a roofline over them,
// so it is a lower bound on time that benchmarks compare against. GPU tiles
// must be multiples of 16 (mma.sync m16n8k16 / wgmma k16); CPU tiles of 8
// (one AVX2 register of f32; AVX-512 code uses 16-wide vectors within them).
//
//===----------------------------------------------------------------------===//

#include "attn/Target/Targets.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir::attn;

static const TargetDescription kTargets[] = {
    {"sm_80", TargetDescription::Kind::GPU,
     "A100 SXM 80GB: 312 TFLOP/s bf16 tensor, 19.5 TFLOP/s f32, "
     "108 SMs x 16 ex2/clk x 1.41 GHz, 2.04 TB/s",
     312e12, 156e12, 19.5e12, 2.44e12, 2.039e12, 128, 64, 16},
    {"sm_86", TargetDescription::Kind::GPU,
     "A10 24GB: 125 TFLOP/s f16 tensor, 31.2 TFLOP/s f32, "
     "72 SMs x 16 ex2/clk x 1.70 GHz, 0.60 TB/s",
     125e12, 62.5e12, 31.2e12, 1.96e12, 0.600e12, 128, 64, 16},
    {"sm_89", TargetDescription::Kind::GPU,
     "L40S 48GB: 362 TFLOP/s bf16 tensor, 91.6 TFLOP/s f32, "
     "142 SMs x 16 ex2/clk x 2.52 GHz, 0.86 TB/s",
     362e12, 183e12, 91.6e12, 5.73e12, 0.864e12, 128, 64, 16},
    {"sm_90", TargetDescription::Kind::GPU,
     "H100 SXM 80GB (mma.sync path): 989 TFLOP/s bf16 tensor, 67 TFLOP/s "
     "f32, 132 SMs x 16 ex2/clk x 1.83 GHz, 3.35 TB/s",
     989e12, 494e12, 67e12, 3.87e12, 3.35e12, 128, 64, 16},
    {"sm_90a", TargetDescription::Kind::GPU,
     "H100 SXM 80GB (wgmma/TMA path): 989 TFLOP/s bf16 tensor, 67 TFLOP/s "
     "f32, 132 SMs x 16 ex2/clk x 1.83 GHz, 3.35 TB/s",
     989e12, 494e12, 67e12, 3.87e12, 3.35e12, 64, 64, 16},
    {"x86-64-v3", TargetDescription::Kind::CPU,
     "16 AVX2 cores at 2.0 GHz (2 FMA x 8 f32 per cycle), 100 GB/s",
     1.02e12, 1.02e12, 0.512e12, 0.064e12, 100e9, 64, 64, 8,
     /*vectorLanes=*/8, /*accumulators=*/8, "x86_64-unknown-linux-gnu",
     "x86-64-v3", ""},
    {"x86-64-v4", TargetDescription::Kind::CPU,
     "16 AVX-512 cores at 2.0 GHz (2 FMA x 16 f32 per cycle), 100 GB/s",
     2.05e12, 2.05e12, 1.02e12, 0.128e12, 100e9, 64, 64, 8,
     /*vectorLanes=*/16, /*accumulators=*/16, "x86_64-unknown-linux-gnu",
     "x86-64-v4", ""},
    {"aarch64", TargetDescription::Kind::CPU,
     "16 Neoverse-class cores at 2.5 GHz (4 NEON FMA x 4 f32 per cycle), "
     "100 GB/s (a cross target: attn emits objects for it)",
     1.28e12, 1.28e12, 0.64e12, 0.08e12, 100e9, 64, 64, 8,
     /*vectorLanes=*/4, /*accumulators=*/16, "aarch64-unknown-linux-gnu",
     "generic", "+neon"},
};

llvm::ArrayRef<TargetDescription> mlir::attn::getTargets() { return kTargets; }

const TargetDescription *mlir::attn::lookupTarget(llvm::StringRef name) {
  for (const TargetDescription &target : kTargets)
    if (target.name == name)
      return &target;
  return nullptr;
}

std::string mlir::attn::listTargetNames() {
  std::string names;
  llvm::raw_string_ostream os(names);
  llvm::interleaveComma(kTargets, os,
                        [&](const TargetDescription &t) { os << t.name; });
  return names;
}
