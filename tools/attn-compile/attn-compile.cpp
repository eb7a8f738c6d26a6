//===- attn-compile.cpp - attn IR to CPU kernels and a manifest -----------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Compiles a module of attn functions for a CPU:
//
//   [attn-apply-schedule] attn-resolve-budgets attn-fuse-skipped-heads
//   canonicalize cse attn-plan-blocks attn-convert-to-cpu
//   -> LLVM dialect (addCPULoweringToLLVMPasses) -> O3 -> asm/obj/.so
//
// and by default writes an artifact directory: kernels.so plus
// manifest.json, which describes each kernel for the runtime (docs/compile.md).
//
// Only the dialects attn's inputs and kernels use are registered (not
// InitAllDialects), to keep this unit cheap to compile.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Target/CPUBackend.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#ifndef ATTN_VERSION
#define ATTN_VERSION "0.1.0"
#endif

using namespace mlir;
using namespace mlir::attn;
namespace cl = llvm::cl;
namespace json = llvm::json;

namespace {
enum class EmitKind { MLIR, LLVMIR, Assembly, Object, SharedLibrary, Artifact };
} // namespace

static cl::OptionCategory category("attn-compile options");

static cl::opt<std::string> inputFilename(cl::Positional, cl::Required,
                                          cl::desc("<input .mlir file, - for stdin>"),
                                          cl::cat(category));

static cl::opt<std::string> targetName(
    "target", cl::Required, cl::value_desc("name"), cl::cat(category),
    cl::desc("CPU to compile for: x86-64-v3 (AVX2+FMA), x86-64-v4 (AVX-512), "
             "aarch64 (NEON; objects only, a cross target), or native (this "
             "machine's CPU). Name it deliberately: x86-64-v4 code crashes "
             "on AVX2-only machines"));

static cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to write (default: artifact)"),
    cl::init(EmitKind::Artifact), cl::cat(category),
    cl::values(
        clEnumValN(EmitKind::Artifact, "artifact",
                   "directory -o DIR with kernels.so and manifest.json"),
        clEnumValN(EmitKind::SharedLibrary, "so", "a shared library (needs -o)"),
        clEnumValN(EmitKind::Object, "obj", "an object file (needs -o)"),
        clEnumValN(EmitKind::Assembly, "asm", "assembly"),
        clEnumValN(EmitKind::LLVMIR, "llvm", "optimized LLVM IR"),
        clEnumValN(EmitKind::MLIR, "mlir",
                   "the kernels right after attn-convert-to-cpu, before the "
                   "LLVM lowering")));

static cl::opt<std::string>
    outputFilename("o", cl::value_desc("path"), cl::cat(category),
                   cl::desc("Output file, or directory for --emit=artifact "
                            "(default: stdout for text kinds)"));

static cl::opt<std::string> scheduleFile(
    "schedule-file", cl::value_desc("json"), cl::cat(category),
    cl::desc("Per-layer schedule to apply first (attn-apply-schedule); a "
             "module's own attn.schedule is applied without it"));

static cl::opt<int64_t> queryLen(
    "query-len", cl::init(0), cl::cat(category),
    cl::desc("Sq that budgets are resolved at where it is dynamic"));
static cl::opt<int64_t>
    keyLen("key-len", cl::init(0), cl::cat(category),
           cl::desc("Skv that budgets are resolved at where it is dynamic"));
static cl::opt<int64_t> queryTile(
    "query-tile", cl::init(0), cl::cat(category),
    cl::desc("Query rows per tile (0: the target's default)"));
static cl::opt<int64_t>
    keyTile("key-tile", cl::init(0), cl::cat(category),
            cl::desc("Keys per tile (0: the target's default)"));

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "attn-compile") << message << "\n";
  return 1;
}

//===----------------------------------------------------------------------===//
// Manifest
//===----------------------------------------------------------------------===//

/// Reads the `attn.cpu_kernel` dictionary of one kernel into its manifest
/// entry; an error names the kernel and the missing or mistyped entry.
static FailureOr<json::Object> describeKernel(func::FuncOp kernel,
                                              DictionaryAttr info) {
  auto missing = [&](StringRef key, StringRef type) {
    return kernel.emitError() << "attn.cpu_kernel has no " << type << " '"
                              << key << "'";
  };
  auto getInt = [&](StringRef key) -> FailureOr<int64_t> {
    if (auto attr = info.getAs<IntegerAttr>(key))
      return attr.getInt();
    return missing(key, "integer");
  };
  auto getString = [&](StringRef key) -> FailureOr<std::string> {
    if (auto attr = info.getAs<StringAttr>(key))
      return attr.str();
    return missing(key, "string");
  };

  FailureOr<std::string> dtype = getString("dtype"),
                         source = getString("source"),
                         workItems = getString("work_items");
  FailureOr<int64_t> headDim = getInt("head_dim"),
                     qTile = getInt("query_tile"), kTile = getInt("key_tile"),
                     queryHeads = getInt("query_heads"),
                     keyHeads = getInt("key_heads"), batch = getInt("batch");
  auto gated = info.getAs<BoolAttr>("gated");
  if (!gated)
    return missing("gated", "bool");
  Attribute pattern = info.get("pattern");
  if (!pattern)
    return missing("pattern", "attribute");
  if (failed(dtype) || failed(source) || failed(workItems) ||
      failed(headDim) || failed(qTile) || failed(kTile) ||
      failed(queryHeads) || failed(keyHeads) || failed(batch))
    return failure();

  std::string patternText;
  llvm::raw_string_ostream(patternText) << pattern;

  // Optional entries (attn-convert-to-cpu writes them; older kernels may
  // not): fall back to what the required ones imply.
  auto optionalInt = [&](StringRef key, int64_t fallback) {
    auto attr = info.getAs<IntegerAttr>(key);
    return attr ? attr.getInt() : fallback;
  };
  int64_t valueDim = optionalInt("value_dim", *headDim);
  int64_t sq = optionalInt("query_len", -1), skv = optionalInt("key_len", -1);

  // Shapes name free sizes (B, Hq, Sq, ...) and give fixed ones as numbers.
  auto dim = [](int64_t size, StringRef symbol) -> json::Value {
    if (size >= 0)
      return size;
    return symbol;
  };
  auto tensor = [&](StringRef name, StringRef kind, int64_t heads,
                    StringRef headsSymbol, int64_t len, StringRef lenSymbol,
                    int64_t depth) {
    return json::Object{
        {"name", name},
        {"kind", kind},
        {"rank", 4},
        {"dtype", *dtype},
        {"shape", json::Array{dim(*batch, "B"), dim(heads, headsSymbol),
                              dim(len, lenSymbol), depth}}};
  };
  json::Array arguments{
      tensor("query", "tensor", *queryHeads, "Hq", sq, "Sq", *headDim),
      tensor("key", "tensor", *keyHeads, "Hkv", skv, "Skv", *headDim),
      tensor("value", "tensor", *keyHeads, "Hkv", skv, "Skv", valueDim),
      tensor("out", "output", *queryHeads, "Hq", sq, "Sq", valueDim)};
  if (gated.getValue())
    arguments.push_back(json::Object{{"name", "active"},
                                     {"kind", "active_list"},
                                     {"rank", 1},
                                     {"dtype", "i32"},
                                     {"shape", json::Array{"pairs"}}});

  json::Object entry{
      {"name", kernel.getSymName()},
      {"symbol", ("_mlir_ciface_" + kernel.getSymName()).str()},
      {"work_items_symbol", *workItems},
      {"source", *source},
      {"dtype", *dtype},
      {"head_dim", *headDim},
      {"value_dim", valueDim},
      {"query_tile", *qTile},
      {"key_tile", *kTile},
      {"gated", gated.getValue()},
      {"pattern", patternText},
      {"query_heads", *queryHeads},
      {"key_heads", *keyHeads},
      {"batch", *batch},
      {"query_len", sq},
      {"key_len", skv},
      {"arguments", std::move(arguments)}};
  // How the source function's signature maps onto the kernel, for callers
  // that mirror it: which argument held query/key/value[/gates or active],
  // which result the output was, and whether gates were a head mask or an
  // active list.
  if (auto gates = info.getAs<StringAttr>("gates"))
    entry["gates"] = gates.str();
  if (auto scale = info.getAs<FloatAttr>("scale"))
    entry["scale"] = scale.getValueAsDouble();
  if (auto operandArgs = info.getAs<DenseI64ArrayAttr>("operand_args"))
    entry["operand_args"] = json::Array(operandArgs.asArrayRef());
  if (auto resultIndex = info.getAs<IntegerAttr>("result_index"))
    entry["result_index"] = resultIndex.getInt();
  return entry;
}

static FailureOr<json::Object> buildManifest(ModuleOp module,
                                             const CPUTarget &target) {
  json::Array kernels;
  bool ok = true;
  module.walk([&](func::FuncOp func) {
    auto info = func->getAttrOfType<DictionaryAttr>(AttnDialect::kCPUKernelAttrName);
    if (!info)
      return;
    FailureOr<json::Object> kernel = describeKernel(func, info);
    if (failed(kernel)) {
      ok = false;
      return;
    }
    kernels.push_back(std::move(*kernel));
  });
  if (!ok)
    return failure();
  return json::Object{
      {"format", "attn-artifact"},
      {"version", 1},
      {"compiler", "attn " ATTN_VERSION " (LLVM " LLVM_VERSION_STRING ")"},
      {"target", target.name},
      {"llvm_cpu", target.cpu},
      {"triple", target.triple},
      {"library", "kernels.so"},
      {"kernels", std::move(kernels)}};
}

/// Writes `value` with object keys in the order docs/compile.md lists them
/// (json::Object alone would print them sorted, "compiler" before "format").
static void writeOrdered(json::OStream &os, const json::Value &value) {
  static const StringRef order[] = {
      "format", "version", "compiler", "target", "llvm_cpu", "triple",
      "library", "kernels", "name", "symbol", "work_items_symbol", "source",
      "kind", "dtype", "rank", "shape", "head_dim", "value_dim", "query_tile",
      "key_tile", "gated", "gates", "pattern", "scale", "query_heads",
      "key_heads", "batch", "query_len", "key_len", "operand_args",
      "result_index", "arguments"};
  auto rank = [](StringRef key) {
    return llvm::find(order, key) - std::begin(order);
  };
  if (const json::Object *object = value.getAsObject()) {
    SmallVector<StringRef> keys;
    for (const auto &entry : *object)
      keys.push_back(entry.first);
    llvm::sort(keys, [&](StringRef a, StringRef b) {
      return std::make_pair(rank(a), a) < std::make_pair(rank(b), b);
    });
    os.object([&] {
      for (StringRef key : keys) {
        os.attributeBegin(key);
        writeOrdered(os, *object->get(key));
        os.attributeEnd();
      }
    });
  } else if (const json::Array *array = value.getAsArray()) {
    os.array([&] {
      for (const json::Value &element : *array)
        writeOrdered(os, element);
    });
  } else {
    os.value(value);
  }
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

static void addAttnPasses(PassManager &pm, ModuleOp module,
                          const CPUTarget &target) {
  // A schedule only when there is one: the pass refuses modules without.
  if (!scheduleFile.empty() || module->hasAttr(AttnDialect::kScheduleAttrName)) {
    AttnApplyScheduleOptions options;
    options.scheduleFile = scheduleFile;
    pm.addPass(createAttnApplySchedule(options));
  }
  AttnResolveBudgetsOptions budgets;
  budgets.target = target.tableTarget;
  budgets.queryLen = queryLen;
  budgets.keyLen = keyLen;
  pm.addPass(createAttnResolveBudgets(budgets));
  pm.addPass(createAttnFuseSkippedHeads());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  AttnPlanBlocksOptions plan;
  plan.target = target.tableTarget;
  plan.queryTile = queryTile;
  plan.keyTile = keyTile;
  pm.addPass(createAttnPlanBlocks(plan));
  ConvertAttnToCPUOptions convert;
  convert.target = target.tableTarget;
  pm.addPass(createConvertAttnToCPU(convert));
}

/// Opens `-o` (stdout when absent or "-"; binary kinds were refused then).
static std::unique_ptr<llvm::ToolOutputFile> openOutput() {
  std::string path = outputFilename.empty() ? "-" : outputFilename.getValue();
  std::string error;
  auto file = openOutputFile(path, &error);
  if (!file)
    fail(error);
  return file;
}

static int writeArtifact(ModuleOp module, const CPUTarget &target,
                         const json::Object &manifest) {
  StringRef dir = outputFilename;
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return fail("cannot create directory '" + dir + "': " + ec.message());
  llvm::SmallString<256> library(dir), manifestPath(dir);
  llvm::sys::path::append(library, "kernels.so");
  llvm::sys::path::append(manifestPath, "manifest.json");
  if (failed(buildCPUSharedLibrary(module, target, library)))
    return 1;
  std::error_code ec;
  llvm::raw_fd_ostream os(manifestPath, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return fail("cannot write '" + manifestPath + "': " + ec.message());
  {
    json::OStream jsonOS(os, /*IndentSize=*/2);
    writeOrdered(jsonOS, json::Value(json::Object(manifest)));
  }
  os << "\n";
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  // --help shows attn-compile's own options; the MLIR/LLVM debugging options
  // (--mlir-print-ir-after-all, ...) stay available under --help-hidden.
  cl::HideUnrelatedOptions(category);
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "attn " ATTN_VERSION " (LLVM " LLVM_VERSION_STRING ")\n";
  });
  cl::ParseCommandLineOptions(
      argc, argv,
      "attn-compile: compile attn IR into CPU kernels\n\n"
      "  attn-compile in.mlir --target=x86-64-v4 -o out/   # out/kernels.so + "
      "out/manifest.json\n"
      "  attn-compile in.mlir --target=native --emit=asm\n\n"
      "Runs attn-resolve-budgets, attn-fuse-skipped-heads, attn-plan-blocks "
      "and attn-convert-to-cpu, lowers the kernels to LLVM and optimizes them "
      "at O3. See docs/compile.md.\n");

  llvm::Expected<CPUTarget> target = resolveCPUTarget(targetName);
  if (!target)
    return fail(llvm::toString(target.takeError()));

  bool binary = emitKind == EmitKind::Object ||
                emitKind == EmitKind::SharedLibrary ||
                emitKind == EmitKind::Artifact;
  if (binary && (outputFilename.empty() || outputFilename == "-"))
    return fail(emitKind == EmitKind::Artifact
                    ? "--emit=artifact needs -o DIR (the directory to create)"
                    : "--emit=obj and --emit=so need -o <file>");

  DialectRegistry registry;
  registry.insert<AttnDialect, affine::AffineDialect, arith::ArithDialect,
                  cf::ControlFlowDialect, func::FuncDialect,
                  linalg::LinalgDialect, LLVM::LLVMDialect,
                  math::MathDialect, memref::MemRefDialect, scf::SCFDialect,
                  tensor::TensorDialect, ub::UBDialect,
                  vector::VectorDialect>();
  MLIRContext context(registry);
  // Diagnostics name the source location; dumping the whole module after a
  // back-end error (MLIR's default) buries the message.
  context.printOpOnDiagnostic(false);

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input = openInputFile(inputFilename, &error);
  if (!input)
    return fail(error);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);

  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  PassManager attnPM(&context);
  if (failed(applyPassManagerCLOptions(attnPM)))
    return 1;
  addAttnPasses(attnPM, *module, *target);
  if (failed(attnPM.run(*module)))
    return 1;

  if (emitKind == EmitKind::MLIR) {
    auto out = openOutput();
    if (!out)
      return 1;
    module->print(out->os());
    out->os() << "\n";
    out->keep();
    return 0;
  }

  // Read before lowering: the LLVM lowering drops the kernels' attributes.
  FailureOr<json::Object> manifest = buildManifest(*module, *target);
  if (failed(manifest))
    return 1;

  PassManager lowerPM(&context);
  if (failed(applyPassManagerCLOptions(lowerPM)))
    return 1;
  addCPULoweringToLLVMPasses(lowerPM);
  if (failed(lowerPM.run(*module)))
    return 1;

  switch (emitKind) {
  case EmitKind::Artifact:
    return writeArtifact(*module, *target, *manifest);
  case EmitKind::SharedLibrary:
    return failed(buildCPUSharedLibrary(*module, *target, outputFilename)) ? 1
                                                                           : 0;
  case EmitKind::LLVMIR:
  case EmitKind::Assembly:
  case EmitKind::Object: {
    auto out = openOutput();
    if (!out)
      return 1;
    CPUEmitKind kind = emitKind == EmitKind::LLVMIR     ? CPUEmitKind::LLVMIR
                       : emitKind == EmitKind::Assembly ? CPUEmitKind::Assembly
                                                        : CPUEmitKind::Object;
    if (failed(emitCPUCode(*module, *target, kind, out->os())))
      return 1;
    out->keep();
    return 0;
  }
  case EmitKind::MLIR:
    break;
  }
  return 0;
}
