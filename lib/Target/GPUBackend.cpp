//===- GPUBackend.cpp - attn GPU kernels to PTX and cubins ----------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// PTX comes from MLIR's gpu-lower-to-nvvm-pipeline with cubin-format=isa
// (the #nvvm.target serializer hands back the PTX in the gpu.binary); the
// cubin from running the toolkit's ptxas on that PTX, exactly as
// bench/gpu/prototype/make-artifact.sh does, so that the toolkit is found
// the same way whatever MLIR was built with.
//
//===----------------------------------------------------------------------===//

#include "attn/Target/GPUBackend.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::attn;

void mlir::attn::registerGPUBackendDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
}

/// Where the CUDA toolkit is looked for when no variable names it.
static constexpr llvm::StringLiteral kDefaultCUDARoot = "/usr/local/cuda";

/// The toolkit whose libdevice the NVVM target links (random-block streams
/// take an f64 log): MLIR looks at CUDA_ROOT, CUDA_HOME and CUDA_PATH only,
/// so without them the same input compiled in one shell and failed in
/// another. When none is set, /usr/local/cuda (where findPtxas looks too)
/// is named as CUDA_HOME for this process if it has libdevice.
static void pointNVVMAtToolkit() {
  for (const char *name : {"CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"})
    if (std::optional<std::string> set = llvm::sys::Process::GetEnv(name))
      if (!set->empty())
        return;
  llvm::SmallString<128> libdevice(kDefaultCUDARoot);
  llvm::sys::path::append(libdevice, "nvvm", "libdevice");
  if (llvm::sys::fs::is_directory(libdevice))
    ::setenv("CUDA_HOME", kDefaultCUDARoot.data(), /*overwrite=*/0);
}

FailureOr<std::string> mlir::attn::lowerToPTX(ModuleOp module,
                                              llvm::StringRef chip) {
  pointNVVMAtToolkit();
  OwningOpRef<ModuleOp> copy = module.clone();
  PassManager pm(module.getContext());
  gpu::GPUToNVVMPipelineOptions options;
  options.cubinChip = chip.str();
  // PTX ISA 8.0: sm_90a needs it, and the default (PTX 6.0) knows no chip
  // after sm_75.
  options.cubinFeatures = "+ptx80";
  options.cubinFormat = "isa";
  options.optLevel = 3;
  options.kernelUseBarePtrCallConv = true;
  gpu::buildLowerToNVVMPassPipeline(pm, options);
  if (failed(pm.run(*copy)))
    return failure();

  SmallVector<std::string> ptx;
  copy->walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects())
      if (auto object = dyn_cast<gpu::ObjectAttr>(attr))
        ptx.push_back(object.getObject().getValue().str());
  });
  if (ptx.size() != 1)
    return module.emitError() << "expected one GPU module of kernels to "
                                 "lower for "
                              << chip << ", found " << ptx.size();
  std::string text = std::move(ptx.front());
  while (!text.empty() && text.back() == '\0')
    text.pop_back();
  if (llvm::StringRef(text).contains("__nv_"))
    return module.emitError()
           << "the PTX for " << chip
           << " calls libdevice (__nv_*; random-block streams take an f64 "
              "log) and no CUDA toolkit with nvvm/libdevice was found: set "
              "CUDA_HOME (looked at CUDA_ROOT, CUDA_HOME, CUDA_PATH and "
              "/usr/local/cuda)";
  return text;
}

std::string mlir::attn::findPtxas() {
  SmallVector<std::string> roots;
  if (std::optional<std::string> home = llvm::sys::Process::GetEnv("CUDA_HOME"))
    if (!home->empty())
      roots.push_back(*home);
  roots.push_back(kDefaultCUDARoot.str());
  for (const std::string &root : roots) {
    llvm::SmallString<256> path(root);
    llvm::sys::path::append(path, "bin", "ptxas");
    if (llvm::sys::fs::can_execute(path))
      return path.str().str();
  }
  if (llvm::ErrorOr<std::string> onPath = llvm::sys::findProgramByName("ptxas"))
    return *onPath;
  return "";
}

FailureOr<std::string> mlir::attn::assemblePTX(Location loc,
                                               llvm::StringRef ptx,
                                               llvm::StringRef chip) {
  std::string ptxas = findPtxas();
  if (ptxas.empty())
    return emitError(loc)
           << "cannot find ptxas to build a cubin for " << chip
           << ": install the CUDA toolkit and set CUDA_HOME (looked in "
              "$CUDA_HOME/bin, /usr/local/cuda/bin and PATH); --emit=asm "
              "needs no toolkit";

  llvm::SmallString<128> ptxPath, cubinPath, logPath;
  auto temp = [&](StringRef suffix, llvm::SmallString<128> &path) {
    return llvm::sys::fs::createTemporaryFile("attn-kernels", suffix, path);
  };
  if (std::error_code ec = temp("ptx", ptxPath))
    return emitError(loc) << "cannot create a temporary file: " << ec.message();
  llvm::FileRemover removePtx(ptxPath);
  if (std::error_code ec = temp("cubin", cubinPath))
    return emitError(loc) << "cannot create a temporary file: " << ec.message();
  llvm::FileRemover removeCubin(cubinPath);
  if (std::error_code ec = temp("log", logPath))
    return emitError(loc) << "cannot create a temporary file: " << ec.message();
  llvm::FileRemover removeLog(logPath);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(ptxPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      return emitError(loc) << "cannot write " << ptxPath << ": "
                            << ec.message();
    os << ptx;
  }

  std::string arch = ("-arch=" + chip).str();
  SmallVector<StringRef> args = {ptxas, arch, "-O3", ptxPath, "-o",
                                 cubinPath};
  std::optional<StringRef> redirects[] = {std::nullopt, logPath.str(),
                                          logPath.str()};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects,
                                     /*SecondsToWait=*/0, /*MemoryLimit=*/0,
                                     &message);
  if (rc != 0) {
    std::string log;
    if (auto buffer = llvm::MemoryBuffer::getFile(logPath))
      log = (*buffer)->getBuffer().str();
    return emitError(loc) << ptxas << " failed for " << chip
                          << (message.empty() ? "" : ": ") << message << "\n"
                          << log;
  }
  auto cubin = llvm::MemoryBuffer::getFile(cubinPath, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
  if (!cubin)
    return emitError(loc) << "cannot read back the cubin from " << ptxas
                          << ": " << cubin.getError().message();
  return (*cubin)->getBuffer().str();
}
