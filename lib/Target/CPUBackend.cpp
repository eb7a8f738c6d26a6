//===- CPUBackend.cpp - LLVM dialect to CPU objects and libraries ---------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Only the conversions attn's CPU kernels need are included (not
// mlir/Conversion/Passes.h or InitAll*.h) to keep this unit cheap to compile.
//
//===----------------------------------------------------------------------===//

#include "attn/Target/CPUBackend.h"
#include "attn/Target/Targets.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <memory>
#include <mutex>

using namespace mlir;
using namespace mlir::attn;

//===----------------------------------------------------------------------===//
// Targets
//===----------------------------------------------------------------------===//

/// CPU entries of the table that carry what LLVM needs.
static bool isCodegenCPU(const TargetDescription &t) {
  return t.kind == TargetDescription::Kind::CPU && !t.llvmTriple.empty();
}

std::string mlir::attn::listCPUTargetNames() {
  std::string names;
  for (const TargetDescription &t : getTargets())
    if (isCodegenCPU(t))
      names += (t.name + ", ").str();
  return names + "native";
}

llvm::Expected<std::string> mlir::attn::getNativeTableTarget() {
  llvm::Triple host(llvm::sys::getProcessTriple());
  if (host.getArch() == llvm::Triple::aarch64)
    return std::string("aarch64");
  if (host.getArch() == llvm::Triple::x86_64) {
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    auto has = [&](llvm::StringRef f) { return features.lookup(f); };
    if (has("avx512f"))
      return std::string("x86-64-v4");
    if (has("avx2") && has("fma"))
      return std::string("x86-64-v3");
  }
  return llvm::createStringError(
      "the host (" + llvm::sys::getHostCPUName().str() + ", " + host.str() +
      ") is none of attn's CPU targets (x86-64 with AVX2 and FMA, x86-64 with "
      "AVX-512F, aarch64); name one with --target");
}

llvm::Expected<CPUTarget> mlir::attn::resolveCPUTarget(llvm::StringRef name) {
  CPUTarget target;
  target.name = name.str();
  if (name == "native") {
    llvm::Expected<std::string> table = getNativeTableTarget();
    if (!table)
      return table.takeError();
    target.tableTarget = *table;
    // The table's triple for the host's architecture keeps objects identical
    // to those of the named target; CPU and features are the host's own.
    if (const TargetDescription *t = lookupTarget(*table); t && isCodegenCPU(*t))
      target.triple = t->llvmTriple.str();
    else
      target.triple = llvm::sys::getProcessTriple();
    target.cpu = llvm::sys::getHostCPUName().str();
    llvm::SmallVector<std::string> features;
    for (const auto &entry : llvm::sys::getHostCPUFeatures())
      features.push_back((entry.getValue() ? "+" : "-") + entry.getKey().str());
    llvm::sort(features); // A stable string, whatever the map's order.
    target.features = llvm::join(features, ",");
    return target;
  }
  const TargetDescription *t = lookupTarget(name);
  if (!t || !isCodegenCPU(*t))
    return llvm::createStringError("unknown CPU target '" + name.str() +
                                   "'; expected one of: " +
                                   listCPUTargetNames());
  target.tableTarget = t->name.str();
  target.triple = t->llvmTriple.str();
  target.cpu = t->llvmCPU.str();
  target.features = t->llvmFeatures.str();
  return target;
}

//===----------------------------------------------------------------------===//
// MLIR lowering
//===----------------------------------------------------------------------===//

namespace {
/// Vector math.exp2/exp would otherwise become one libm call per lane
/// (convert-math-to-llvm emits llvm.exp2 intrinsics that x86 has no
/// instruction for). exp2 is rewritten to exp, exp of f16/bf16 is computed in
/// f32, and f32 exp becomes MLIR's polynomial approximation: about 2x faster
/// attention overall.
struct ApproximateMathPass
    : public PassWrapper<ApproximateMathPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ApproximateMathPass)

  StringRef getArgument() const final { return "attn-cpu-approximate-math"; }
  StringRef getDescription() const final {
    return "Polynomial approximations of exp and exp2 for CPU kernels";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, math::MathDialect,
                    vector::VectorDialect>();
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    math::populateExpansionPatterns(patterns, {"exp2"});
    // The predicates see full op names ("math.exp").
    auto isExp = [](StringRef name) {
      name.consume_front("math.");
      return name == "exp";
    };
    populateMathF32ExpansionPatterns(patterns, isExp);
    populateMathPolynomialApproximationPatterns(patterns, isExp);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::attn::addCPULoweringToLLVMPasses(OpPassManager &pm) {
  pm.addPass(std::make_unique<ApproximateMathPass>());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // n-D vector transfers become loops of 1-D ones; convert-vector-to-llvm
  // handles only the latter.
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  ConvertVectorToLLVMPassOptions vectorOptions;
  // Softmax sums and row maxima: a tree reduction instead of a serial chain
  // of adds; attention tolerates the reassociation (it accumulates in f32).
  vectorOptions.reassociateFPReductions = true;
  // The kernels' 16x16 register transposes (Q into and O out of the lane
  // layout): unpack/shuffle sequences instead of 256 element moves.
  vectorOptions.vectorTransposeLowering =
      vector::VectorTransposeLowering::Shuffle16x16;
  pm.addPass(createConvertVectorToLLVMPass(vectorOptions));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // floordivsi/ceildivsi (the kernels' index arithmetic) and f32 <-> bf16
  // conversions become plain integer ops: x86 before AVX512-BF16 has no
  // instruction for them, and a libgcc call (__truncsfbf2) is not something
  // a kernel library should depend on.
  arith::ArithExpandOpsPassOptions expandOptions;
  expandOptions.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expandOptions));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

//===----------------------------------------------------------------------===//
// LLVM
//===----------------------------------------------------------------------===//

static void initializeLLVMTargets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
  });
}

static std::unique_ptr<llvm::TargetMachine>
createTargetMachine(ModuleOp module, const CPUTarget &target) {
  initializeLLVMTargets();
  llvm::Triple triple(target.triple);
  std::string error;
  const llvm::Target *llvmTarget =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget) {
    module.emitError() << "LLVM has no target for " << target.triple << ": "
                       << error;
    return nullptr;
  }
  llvm::TargetOptions options;
  // PIC so that objects can be linked into kernels.so.
  std::unique_ptr<llvm::TargetMachine> tm(llvmTarget->createTargetMachine(
      triple, target.cpu, target.features, options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    module.emitError() << "cannot create an LLVM target machine for "
                       << target.triple << " (cpu " << target.cpu << ")";
  return tm;
}

/// LLVM IR for `module`, optimized at O3 for `tm`; null after a diagnostic.
static std::unique_ptr<llvm::Module>
translateAndOptimize(ModuleOp module, llvm::TargetMachine &tm,
                     llvm::LLVMContext &context) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  module->getContext()->appendDialectRegistry(registry);

  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "attn-kernels");
  if (!llvmModule) {
    module.emitError() << "cannot translate the module to LLVM IR (is it all "
                          "in the LLVM dialect?)";
    return nullptr;
  }
  llvmModule->setTargetTriple(tm.getTargetTriple());
  llvmModule->setDataLayout(tm.createDataLayout());
  // Functions name the CPU and features themselves, so the IR (and anything
  // later compiled from it) does not depend on the target machine's defaults.
  for (llvm::Function &f : *llvmModule) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    if (!tm.getTargetFeatureString().empty())
      f.addFnAttr("target-features", tm.getTargetFeatureString());
  }

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassBuilder pb(&tm, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm =
      pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(*llvmModule, mam);
  return llvmModule;
}

LogicalResult mlir::attn::emitCPUCode(ModuleOp module, const CPUTarget &target,
                                      CPUEmitKind kind,
                                      llvm::raw_pwrite_stream &os) {
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(module, target);
  if (!tm)
    return failure();
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> llvmModule =
      translateAndOptimize(module, *tm, context);
  if (!llvmModule)
    return failure();
  if (kind == CPUEmitKind::LLVMIR) {
    llvmModule->print(os, nullptr);
    return success();
  }
  llvm::legacy::PassManager codegen;
  auto fileType = kind == CPUEmitKind::Assembly
                      ? llvm::CodeGenFileType::AssemblyFile
                      : llvm::CodeGenFileType::ObjectFile;
  if (tm->addPassesToEmitFile(codegen, os, nullptr, fileType))
    return module.emitError() << "LLVM cannot emit "
                              << (kind == CPUEmitKind::Assembly ? "assembly"
                                                                : "objects")
                              << " for " << target.triple;
  codegen.run(*llvmModule);
  return success();
}

/// The first of cc, gcc, clang on PATH.
static std::optional<std::string> findCCompiler() {
  for (llvm::StringRef name : {"cc", "gcc", "clang"})
    if (llvm::ErrorOr<std::string> path = llvm::sys::findProgramByName(name))
      return *path;
  return std::nullopt;
}

LogicalResult mlir::attn::buildCPUSharedLibrary(ModuleOp module,
                                                const CPUTarget &target,
                                                llvm::StringRef outputPath) {
  // The system compiler links for the host only.
  llvm::Triple host(llvm::sys::getProcessTriple());
  if (llvm::Triple(target.triple).getArch() != host.getArch())
    return module.emitError()
           << "cannot link a shared library for " << target.name << " ("
           << target.triple << ") on this " << host.getArchName()
           << " host; emit an object (--emit=obj) and link it there";
  std::optional<std::string> compiler = findCCompiler();
  if (!compiler)
    return module.emitError() << "linking kernels.so needs a C compiler (cc, "
                                 "gcc or clang) on PATH; none was found";

  llvm::SmallString<128> objectPath, stderrPath;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "attn-kernels", "o", objectPath))
    return module.emitError() << "cannot create a temporary file: "
                              << ec.message();
  llvm::FileRemover removeObject(objectPath);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(objectPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      return module.emitError() << "cannot write " << objectPath << ": "
                                << ec.message();
    if (failed(emitCPUCode(module, target, CPUEmitKind::Object, os)))
      return failure();
  }
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "attn-link", "txt", stderrPath))
    return module.emitError() << "cannot create a temporary file: "
                              << ec.message();
  llvm::FileRemover removeStderr(stderrPath);

  llvm::SmallVector<llvm::StringRef> args = {
      *compiler, "-shared", "-o", outputPath, objectPath, "-lm"};
  std::optional<llvm::StringRef> redirects[] = {
      std::nullopt, llvm::StringRef(stderrPath), llvm::StringRef(stderrPath)};
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(*compiler, args, std::nullopt, redirects,
                                     /*SecondsToWait=*/0, /*MemoryLimit=*/0,
                                     &error);
  if (rc == 0)
    return success();
  std::string output;
  if (auto buffer = llvm::MemoryBuffer::getFile(stderrPath))
    output = (*buffer)->getBuffer().rtrim().str();
  InFlightDiagnostic diag = module.emitError()
                            << "linking " << outputPath << " with "
                            << *compiler << " failed";
  if (!error.empty())
    diag << " (" << error << ")";
  if (!output.empty())
    diag << ":\n" << output;
  return failure();
}
