//===- FuzzIR.cpp - libFuzzer target for the attn IR pipeline -------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary text to what attn-compile runs before code generation: the
// MLIR parser with the attn dialect and the upstream dialects attn's tests
// use, the verifiers, and attn's pipeline (attn-apply-schedule when the
// module has a schedule, attn-resolve-budgets, attn-fuse-skipped-heads,
// canonicalize, cse, attn-plan-blocks), then attn-convert-to-cpu for
// x86-64-v3 and, on a copy, the same attn passes and attn-convert-to-gpu for
// sm_80. Diagnostics are expected answers and are dropped; a crash, an
// assertion, a sanitizer report, a leak or a timeout is a bug.
//
// The upstream LLVM lowering and the PTX/object emission after these steps
// are not run: they are upstream's code, slow per input, and reached only by
// IR attn's own conversions produced.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <cstddef>
#include <cstdint>

using namespace mlir;
using namespace mlir::attn;

namespace {

/// attn's passes up to code generation, as attn-compile adds them.
void addAttnPasses(PassManager &pm, ModuleOp module, StringRef target) {
  if (module->hasAttr(AttnDialect::kScheduleAttrName))
    pm.addPass(createAttnApplySchedule());
  AttnResolveBudgetsOptions budgets;
  budgets.target = target.str();
  pm.addPass(createAttnResolveBudgets(budgets));
  pm.addPass(createAttnFuseSkippedHeads());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  AttnPlanBlocksOptions plan;
  plan.target = target.str();
  pm.addPass(createAttnPlanBlocks(plan));
}

MLIRContext &getContext() {
  static MLIRContext *context = [] {
    DialectRegistry registry;
    registry.insert<AttnDialect, affine::AffineDialect, arith::ArithDialect,
                    cf::ControlFlowDialect, func::FuncDialect,
                    linalg::LinalgDialect, LLVM::LLVMDialect,
                    math::MathDialect, memref::MemRefDialect,
                    scf::SCFDialect, tensor::TensorDialect, ub::UBDialect,
                    vector::VectorDialect>();
    auto *ctx = new MLIRContext(registry, MLIRContext::Threading::DISABLED);
    ctx->loadAllAvailableDialects();
    ctx->printOpOnDiagnostic(false);
    ctx->printStackTraceOnDiagnostic(false);
    // Diagnostics are answers, not failures: drop them.
    ctx->getDiagEngine().registerHandler([](Diagnostic &) {});
    return ctx;
  }();
  return *context;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &context = getContext();
  // One input per call, as a file: the parser needs no trailing NUL, and a
  // NUL inside the text is an input like any other.
  std::string text(reinterpret_cast<const char *>(data), size);
  ParserConfig config(&context);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, config);
  if (!module)
    return 0;

  OwningOpRef<ModuleOp> gpuModule = module->clone();

  PassManager cpu(&context);
  addAttnPasses(cpu, *module, "x86-64-v3");
  ConvertAttnToCPUOptions toCPU;
  toCPU.target = "x86-64-v3";
  cpu.addPass(createConvertAttnToCPU(toCPU));
  (void)cpu.run(*module);

  PassManager gpu(&context);
  addAttnPasses(gpu, *gpuModule, "sm_80");
  ConvertAttnToGPUOptions toGPU;
  toGPU.chip = "sm_80";
  gpu.addPass(createConvertAttnToGPU(toGPU));
  (void)gpu.run(*gpuModule);
  return 0;
}
