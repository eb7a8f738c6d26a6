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
// manifest.json, which describes the source functions, their kernels, the
// files (with SHA-256) and what the host CPU must support, for the runtime
// (docs/artifact.md defines the format).
//
// Only the dialects attn's inputs and kernels use are registered (not
// InitAllDialects), to keep this unit cheap to compile.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Target/CPUBackend.h"
#include "attn/Target/GPUBackend.h"
#include "attn/Target/Targets.h"

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

#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/TargetParser/Triple.h"

#include <map>
#include <set>

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
             "on AVX2-only machines. Or a CUDA chip: sm_80, sm_86, sm_89, "
             "sm_90, sm_90a (cubin + sm_80 PTX, sm_90a's own for sm_90a; "
             "needs ptxas)"));

static cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to write (default: artifact)"),
    cl::init(EmitKind::Artifact), cl::cat(category),
    cl::values(
        clEnumValN(EmitKind::Artifact, "artifact",
                   "directory -o DIR with kernels.so (CUDA: cubin and PTX) "
                   "and manifest.json"),
        clEnumValN(EmitKind::SharedLibrary, "so", "a shared library (needs -o)"),
        clEnumValN(EmitKind::Object, "obj",
                   "an object file (CUDA: the cubin; needs -o)"),
        clEnumValN(EmitKind::Assembly, "asm", "assembly (CUDA: PTX)"),
        clEnumValN(EmitKind::LLVMIR, "llvm", "optimized LLVM IR"),
        clEnumValN(EmitKind::MLIR, "mlir",
                   "the kernels right after attn-convert-to-cpu (or "
                   "attn-convert-to-gpu), before the LLVM lowering")));

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
static cl::opt<bool> wgmma(
    "wgmma", cl::init(true), cl::cat(category),
    cl::desc("sm_90a: warpgroup MMA (wgmma) kernels at D = 128, one "
             "warpgroup per 64 query rows (--wgmma=false: mma.sync "
             "everywhere)"));
static cl::opt<cl::boolOrDefault> wgmmaPipeline(
    "wgmma-pipeline", cl::init(cl::BOU_UNSET), cl::cat(category),
    cl::desc("with wgmma: the pipelined key loop (S of the next key tile and "
             "P V of this one in flight together, 128-row and 128-key "
             "tiles); unset: on for every pattern but runtime-selected "
             "blocks and blocks 128 does not divide (FA2's order with "
             "64-row tiles there)"));
static cl::opt<cl::boolOrDefault> tma(
    "tma", cl::init(cl::BOU_UNSET), cl::cat(category),
    cl::desc("with the pipelined kernel: Q, K and V loaded by the Tensor "
             "Memory Accelerator (a producer warpgroup on mbarriers; the "
             "runtime builds the tensor maps); unset: on wherever the kernel "
             "is pipelined, --tma=false: cp.async copies"));
static cl::opt<cl::boolOrDefault> pingPong(
    "ping-pong", cl::init(cl::BOU_UNSET), cl::cat(category),
    cl::desc("with --tma: the two math warpgroups take turns issuing their "
             "MMAs, one's softmax under the other's MMAs; unset: on wherever "
             "the TMA kernel has 128-row tiles"));
static cl::opt<cl::boolOrDefault> persistent(
    "persistent", cl::init(cl::BOU_UNSET), cl::cat(category),
    cl::desc("with --tma: a persistent grid (at most one block per SM), "
             "each block walking query tiles, one tile's epilogue under the "
             "next one's loads; unset: off (no faster on an H100 so far)"));
static cl::opt<std::string> persistentSchedule(
    "persistent-schedule", cl::init("dynamic"), cl::cat(category),
    cl::desc("with --persistent: dynamic (blocks draw work items from a "
             "counter the runtime zeroes before each launch) or static "
             "(fixed rounds)"));
static cl::opt<cl::boolOrDefault> tmaStore(
    "tma-store", cl::init(cl::BOU_UNSET), cl::cat(category),
    cl::desc("with --tma: O stored by the Tensor Memory Accelerator (one "
             "cp.async.bulk.tensor per 64-column panel from shared memory, "
             "the runtime builds the tensor map) instead of 16-byte stores "
             "from every math thread; unset: off (not yet measured)"));
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

/// The manifest fields a kernel's info dictionary may carry, whichever back
/// end wrote it (docs/artifact.md, docs/sparse-projection.md section 3):
/// copied as they are; back-end facts (the CPU's `work_items`, the GPU's
/// launch parameters) are read separately.
static constexpr StringLiteral kKernelFields[] = {
    "op", "source", "dtype", "head_dim", "value_dim", "query_tile",
    "key_tile", "gated", "gates", "pattern", "scale", "query_heads",
    "key_heads", "batch", "query_len", "key_len", "operand_args",
    "result_args", "result_index", "blocks", "query_block", "key_block",
    "top_k", "keep_sink", "keep_local", "causal", "pooled_keys", "stride",
    "method", "weights_dtype", "max_key_blocks", "compress_window",
    "compress_stride"};

/// The fields each op's kernels must have (besides `source`, `dtype`,
/// `operand_args`; `result_args` or, for attention, `result_index`).
static ArrayRef<StringLiteral> requiredFields(StringRef op) {
  static constexpr StringLiteral attention[] = {
      "head_dim", "query_heads", "key_heads", "gated", "pattern"};
  static constexpr StringLiteral select[] = {
      "head_dim", "query_heads", "key_heads", "query_block", "key_block",
      "top_k", "keep_sink", "keep_local", "causal", "pooled_keys"};
  static constexpr StringLiteral compress[] = {
      "head_dim", "value_dim", "key_heads", "window", "stride", "method"};
  static constexpr StringLiteral branches[] = {
      "head_dim",        "value_dim", "query_heads", "key_heads",
      "compress_window", "compress_stride", "causal", "blocks",
      "pattern",         "weights_dtype"};
  if (op == "select_blocks")
    return select;
  if (op == "compress_kv")
    return compress;
  if (op == "sparse_branches")
    return branches;
  return attention;
}

/// An info-dictionary value as JSON: numbers, booleans, strings, i64
/// arrays, nested dictionaries; other attributes (patterns) as MLIR prints
/// them.
static json::Value toJSON(Attribute attr) {
  if (auto b = dyn_cast<BoolAttr>(attr))
    return b.getValue();
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return i.getInt();
  if (auto f = dyn_cast<FloatAttr>(attr))
    return f.getValueAsDouble();
  if (auto s = dyn_cast<StringAttr>(attr))
    return s.str();
  if (auto a = dyn_cast<DenseI64ArrayAttr>(attr))
    return json::Array(a.asArrayRef());
  if (auto d = dyn_cast<DictionaryAttr>(attr)) {
    json::Object object;
    for (NamedAttribute entry : d)
      object[entry.getName().str()] = toJSON(entry.getValue());
    return object;
  }
  std::string text;
  llvm::raw_string_ostream(text) << attr;
  return text;
}

/// The manifest entry of one kernel from its info dictionary (`infoName`,
/// for messages), shared by the CPU and CUDA writers: the fields of
/// kKernelFields it has, checked for those its op requires. An error names
/// the kernel and the missing entry.
static FailureOr<json::Object> describeKernelFields(Operation *kernel,
                                                    StringRef name,
                                                    StringRef infoName,
                                                    DictionaryAttr info) {
  auto missing = [&](StringRef key) {
    return kernel->emitError()
           << infoName << " of " << name << " has no valid '" << key << "'";
  };
  json::Object entry{{"name", name}};
  for (StringRef key : kKernelFields)
    if (Attribute attr = info.get(key))
      entry[key] = toJSON(attr);
  StringRef op = "attention";
  if (info.get("op")) {
    auto opAttr = info.getAs<StringAttr>("op");
    if (!opAttr || !llvm::is_contained({StringRef("attention"),
                                        StringRef("select_blocks"),
                                        StringRef("compress_kv"),
                                        StringRef("sparse_branches")},
                                       opAttr.getValue()))
      return missing("op");
    op = opAttr.getValue();
  }
  // A compress_kv kernel's window is the op's "block"; the manifest calls it
  // "window" (a CUDA kernel's "block" is its thread block).
  if (op == "compress_kv")
    if (Attribute block = info.get("block"))
      entry["window"] = toJSON(block);
  for (StringRef key : {"source", "dtype", "operand_args"})
    if (!entry.get(key))
      return missing(key);
  if (!entry.get("result_args")) {
    if (op != "attention" || !entry.get("result_index"))
      return missing("result_args");
    entry["result_args"] = json::Array{*entry.getInteger("result_index")};
  }
  for (StringRef key : requiredFields(op))
    if (!entry.get(key))
      return missing(key);
  return entry;
}

/// Reads the `attn.cpu_kernel` dictionary of one kernel into its manifest
/// entry: the shared fields, the CPU entry points and, for attention, the
/// informational `arguments`.
static FailureOr<json::Object> describeKernel(func::FuncOp kernel,
                                              DictionaryAttr info) {
  FailureOr<json::Object> entry = describeKernelFields(
      kernel, kernel.getSymName(), AttnDialect::kCPUKernelAttrName, info);
  if (failed(entry))
    return failure();
  auto workItems = info.getAs<StringAttr>("work_items");
  if (!workItems)
    return kernel.emitError() << AttnDialect::kCPUKernelAttrName << " of "
                              << kernel.getSymName()
                              << " has no valid 'work_items'";
  (*entry)["symbol"] = ("_mlir_ciface_" + kernel.getSymName()).str();
  (*entry)["work_items_symbol"] = workItems.str();
  if (entry->getString("op").value_or("attention") != "attention")
    return entry;

  // The attention kernel's own memref arguments, informational.
  // A copy: json::Value keeps a StringRef by reference, and `entry` moves
  // its strings when "arguments" is added below.
  std::string dtype = entry->getString("dtype")->str();
  int64_t headDim = *entry->getInteger("head_dim");
  int64_t valueDim = entry->getInteger("value_dim").value_or(headDim);
  int64_t batch = entry->getInteger("batch").value_or(-1);
  int64_t sq = entry->getInteger("query_len").value_or(-1),
          skv = entry->getInteger("key_len").value_or(-1);
  int64_t queryHeads = *entry->getInteger("query_heads"),
          keyHeads = *entry->getInteger("key_heads");
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
        {"dtype", dtype},
        {"shape", json::Array{dim(batch, "B"), dim(heads, headsSymbol),
                              dim(len, lenSymbol), depth}}};
  };
  json::Array arguments{
      tensor("query", "tensor", queryHeads, "Hq", sq, "Sq", headDim),
      tensor("key", "tensor", keyHeads, "Hkv", skv, "Skv", headDim),
      tensor("value", "tensor", keyHeads, "Hkv", skv, "Skv", valueDim),
      tensor("out", "output", queryHeads, "Hq", sq, "Sq", valueDim)};
  if (*entry->getBoolean("gated"))
    arguments.push_back(json::Object{{"name", "active"},
                                     {"kind", "active_list"},
                                     {"rank", 1},
                                     {"dtype", "i32"},
                                     {"shape", json::Array{"pairs"}}});
  if (const json::Object *blocks = entry->getObject("blocks"))
    arguments.push_back(json::Object{
        {"name", "blocks"},
        {"kind", "tensor"},
        {"rank", 4},
        {"dtype", "i32"},
        {"shape", json::Array{dim(batch, "B"), keyHeads, "Sq_blocks",
                              blocks->getInteger("slots").value_or(-1)}}});
  (*entry)["arguments"] = std::move(arguments);
  return entry;
}

//===----------------------------------------------------------------------===//
// Source functions
//===----------------------------------------------------------------------===//

/// A source function's signature, taken just before attn-convert-to-cpu
/// replaces the function by its kernels: the runtime calls functions, and
/// their arguments and results are what the caller passes.
struct SourceFunction {
  std::string name;
  SmallVector<Type> inputs, results;
};

static SmallVector<SourceFunction> captureSourceFunctions(ModuleOp module) {
  SmallVector<SourceFunction> functions;
  // The functions the back ends convert: those with ops that become
  // kernels.
  for (func::FuncOp func : module.getOps<func::FuncOp>()) {
    if (!hasKernelOps(func))
      continue;
    SourceFunction f;
    f.name = func.getSymName().str();
    llvm::append_range(f.inputs, func.getArgumentTypes());
    llvm::append_range(f.results, func.getResultTypes());
    functions.push_back(std::move(f));
  }
  return functions;
}

/// The manifest's dtype of an element type, or "" for one the runtime
/// cannot pass.
static StringRef manifestDtype(Type type) {
  if (type.isF32())
    return "f32";
  if (type.isF16())
    return "f16";
  if (type.isBF16())
    return "bf16";
  if (type.isInteger(32))
    return "i32";
  if (type.isInteger(1))
    return "bool";
  return "";
}

/// Union-find over the dynamic dimensions of a function's tensors and the
/// size names of its kernels: dimensions that one kernel ties together
/// (query and key share B; key and value share Skv) end in one class,
/// which becomes one name in the manifest.
namespace {
class SizeClasses {
public:
  int node(const std::string &key) {
    auto [it, inserted] = ids.try_emplace(key, static_cast<int>(parent.size()));
    if (inserted)
      parent.push_back(it->second);
    return it->second;
  }
  int find(int x) {
    while (parent[x] != x)
      x = parent[x] = parent[parent[x]];
    return x;
  }
  void join(int a, int b) { parent[find(a)] = find(b); }

private:
  std::map<std::string, int> ids;
  SmallVector<int> parent;
};
} // namespace

static std::string tensorKey(bool output, int64_t index, int64_t dim) {
  return (output ? "out" : "in") + std::to_string(index) + "." +
         std::to_string(dim);
}

namespace {
/// One dimension of a kernel's tensor: a size name of the kernel ("B",
/// "Sq", ...), or a size derived from one (docs/sparse-projection.md,
/// "Derived sizes"): ceil(base / a), or (base - a) / b + 1.
struct DimSpec {
  enum class Kind { Named, CeilDiv, Windows } kind = Kind::Named;
  std::string symbol; ///< The name, or the base's.
  int64_t a = 0, b = 0;

  DimSpec(const char *symbol) : symbol(symbol) {}
  static DimSpec ceilDiv(const char *base, int64_t divisor) {
    DimSpec d(base);
    d.kind = Kind::CeilDiv;
    d.a = divisor;
    return d;
  }
  static DimSpec windows(const char *base, int64_t block, int64_t stride) {
    DimSpec d(base);
    d.kind = Kind::Windows;
    d.a = block;
    d.b = stride;
    return d;
  }
  /// The derived size of a fixed base.
  int64_t apply(int64_t base) const {
    if (kind == Kind::CeilDiv)
      return (base + a - 1) / a;
    return base < a ? 0 : (base - a) / b + 1;
  }
};

/// A tensor a kernel reads or writes: which function input or output, its
/// role, its dimensions.
struct KernelUse {
  bool output;
  int64_t index;
  const char *role;
  SmallVector<DimSpec, 4> dims;
};
} // namespace

/// What each operand and result of `kernel` (a manifest entry) is, from its
/// op and fields, in the op's order (docs/sparse-projection.md, section 3);
/// an error when the argument lists do not fit.
static FailureOr<std::vector<KernelUse>>
kernelUses(const json::Object &kernel, size_t numInputs, size_t numResults,
           function_ref<void(const Twine &)> error) {
  StringRef name = *kernel.getString("name");
  StringRef op = kernel.getString("op").value_or("attention");
  SmallVector<std::pair<const char *, SmallVector<DimSpec, 4>>> operands,
      results;
  auto integer = [&](const json::Object &o, StringRef key) {
    return o.getInteger(key).value_or(1);
  };
  if (op == "attention") {
    operands = {{"query", {"B", "Hq", "Sq", "D"}},
                {"key", {"B", "Hkv", "Skv", "D"}},
                {"value", {"B", "Hkv", "Skv", "Dv"}}};
    StringRef gates = kernel.getString("gates").value_or("none");
    if (gates == "gates")
      operands.push_back({"gates", {"B", "Hq"}});
    else if (gates == "active")
      operands.push_back({"active", {"pairs"}});
    if (const json::Object *blocks = kernel.getObject("blocks"))
      operands.push_back(
          {"blocks",
           {"B", "Hkv", DimSpec::ceilDiv("Sq", integer(*blocks, "query_block")),
            "K"}});
    results = {{"out", {"B", "Hq", "Sq", "Dv"}}};
  } else if (op == "select_blocks") {
    operands = {{"query", {"B", "Hq", "Sq", "D"}},
                {"key", {"B", "Hkv", "Skv", "D"}}};
    if (kernel.getBoolean("pooled_keys").value_or(false))
      operands.push_back(
          {"pooled_keys",
           {"B", "Hkv", DimSpec::ceilDiv("Skv", integer(kernel, "key_block")),
            "D"}});
    results = {{"indices",
                {"B", "Hkv",
                 DimSpec::ceilDiv("Sq", integer(kernel, "query_block")),
                 "K"}}};
  } else if (op == "sparse_branches") {
    DimSpec slots = DimSpec::windows("Skv", integer(kernel, "compress_window"),
                                     integer(kernel, "compress_stride"));
    const json::Object *blocks = kernel.getObject("blocks");
    DimSpec queryBlocks = DimSpec::ceilDiv(
        "Sq", blocks ? integer(*blocks, "query_block") : 1);
    operands = {{"query", {"B", "Hq", "Sq", "D"}},
                {"key", {"B", "Hkv", "Skv", "D"}},
                {"value", {"B", "Hkv", "Skv", "Dv"}},
                {"compressed_key", {"B", "Hkv", slots, "D"}},
                {"compressed_value", {"B", "Hkv", slots, "Dv"}},
                {"blocks", {"B", "Hkv", queryBlocks, "K"}},
                {"weights", {"B", "Hq", "Sq", "3"}}};
    results = {{"out", {"B", "Hq", "Sq", "Dv"}}};
  } else {
    operands = {{"key", {"B", "Hkv", "Skv", "D"}},
                {"value", {"B", "Hkv", "Skv", "Dv"}}};
    if (kernel.getString("method").value_or("mean") == "linear")
      operands.push_back({"weights", {"Hkv", "W"}});
    DimSpec slots = DimSpec::windows("Skv", integer(kernel, "window"),
                                     integer(kernel, "stride"));
    results = {{"compressed_key", {"B", "Hkv", slots, "D"}},
               {"compressed_value", {"B", "Hkv", slots, "Dv"}}};
  }

  std::vector<KernelUse> uses;
  for (bool output : {false, true}) {
    const char *key = output ? "result_args" : "operand_args";
    const json::Array *args = kernel.getArray(key);
    auto &expected = output ? results : operands;
    size_t limit = output ? numResults : numInputs;
    if (!args || args->size() != expected.size()) {
      std::string roles;
      for (auto &[role, dims] : expected)
        roles += (roles.empty() ? "" : ", ") + std::string(role);
      error("kernel " + name + " has " +
            (args ? std::to_string(args->size()) : std::string("no")) + " " +
            key + "; its op takes " + std::to_string(expected.size()) + " (" +
            roles + ")");
      return failure();
    }
    for (auto [i, arg] : llvm::enumerate(*args)) {
      std::optional<int64_t> index = arg.getAsInteger();
      if (!index || *index < 0 || *index >= int64_t(limit)) {
        error("kernel " + name + ": " + key + "[" + std::to_string(i) +
              "] is not one of the function's " +
              (output ? "results" : "inputs") +
              (output ? " (each kernel result must be returned)" : ""));
        return failure();
      }
      uses.push_back(
          {output, *index, expected[i].first, expected[i].second});
    }
  }
  return uses;
}

/// The manifest's "functions": each source function's inputs and outputs
/// (dtype, shape with named dynamic sizes, the role of the first kernel
/// that uses it), the sizes derived from others, and its kernels in order.
static FailureOr<json::Array>
describeFunctions(ArrayRef<SourceFunction> functions,
                  const json::Array &kernels) {
  json::Array out;
  for (const SourceFunction &f : functions) {
    auto error = [&](const Twine &message) {
      fail("function @" + f.name + ": " + message);
      return failure();
    };
    SmallVector<const json::Object *> mine;
    for (const json::Value &k : kernels)
      if (k.getAsObject()->getString("source") == f.name)
        mine.push_back(k.getAsObject());
    if (mine.empty())
      return error("produced no kernel");

    SmallVector<RankedTensorType> types;
    SmallVector<Type> all(f.inputs);
    all.append(f.results.begin(), f.results.end());
    for (auto [i, type] : llvm::enumerate(all)) {
      bool output = i >= f.inputs.size();
      size_t index = output ? i - f.inputs.size() : i;
      auto tensor = dyn_cast<RankedTensorType>(type);
      std::string what =
          (output ? "result " : "argument ") + std::to_string(index);
      if (!tensor || manifestDtype(tensor.getElementType()).empty() ||
          tensor.getRank() < 1 || tensor.getRank() > 8) {
        std::string text;
        llvm::raw_string_ostream(text) << type;
        return error(what + " has type " + text +
                     "; the runtime passes ranked tensors of rank 1 to 8 of "
                     "f32, f16, bf16, i32 or i1");
      }
      types.push_back(tensor);
    }
    auto typeOf = [&](bool output, int64_t index) {
      return types[output ? f.inputs.size() + index : index];
    };

    // Who uses which tensor as what, and which sizes each kernel ties.
    SizeClasses classes;
    std::map<int, std::string> preferred; // class root -> size name
    std::vector<std::string> roles(types.size());
    SmallVector<int> writer(f.results.size(), 0);
    // A kernel's size names as union-find nodes, and the fixed value a
    // fixed dimension gives one.
    auto symbolNode = [&](size_t k, StringRef symbol) {
      return classes.node("k" + std::to_string(k) + "." + symbol.str());
    };
    std::map<int, int64_t> fixedSymbol; // node -> size
    struct DerivedUse {
      size_t kernel;
      bool output;
      int64_t index, dim;
      DimSpec spec;
    };
    SmallVector<DerivedUse> derivedUses;
    SmallVector<std::vector<KernelUse>> allUses;
    for (auto [k, kernel] : llvm::enumerate(mine)) {
      std::optional<int64_t> keyHeads = kernel->getInteger("key_heads");
      std::optional<int64_t> queryHeads = kernel->getInteger("query_heads");
      bool needsQueryHeads =
          kernel->getString("op").value_or("attention") != "compress_kv";
      if (!keyHeads || *keyHeads < 1 ||
          (needsQueryHeads && (!queryHeads || *queryHeads < 1)))
        return error("the runtime needs fixed head counts; kernel " +
                     kernel->getString("name")->str() + " has dynamic ones");
      FailureOr<std::vector<KernelUse>> uses =
          kernelUses(*kernel, f.inputs.size(), f.results.size(),
                     [&](const Twine &message) { (void)error(message); });
      if (failed(uses))
        return failure();
      for (const KernelUse &use : *uses) {
        if (use.output)
          ++writer[use.index];
        RankedTensorType type = typeOf(use.output, use.index);
        size_t slot = use.output ? f.inputs.size() + use.index : use.index;
        if (roles[slot].empty())
          roles[slot] = use.role;
        if (type.getRank() != static_cast<int64_t>(use.dims.size()))
          return error(std::string("the ") + use.role + " of kernel " +
                       kernel->getString("name")->str() + " has rank " +
                       std::to_string(type.getRank()) + ", expected " +
                       std::to_string(use.dims.size()));
        for (auto [d, spec] : llvm::enumerate(use.dims)) {
          if (spec.kind != DimSpec::Kind::Named) {
            if (type.isDynamicDim(d))
              derivedUses.push_back({k, use.output, use.index, int64_t(d),
                                     spec});
            continue;
          }
          int symbol = symbolNode(k, spec.symbol);
          if (!type.isDynamicDim(d)) {
            fixedSymbol[symbol] = type.getDimSize(d);
            continue;
          }
          classes.join(classes.node(tensorKey(use.output, use.index, d)),
                       symbol);
        }
      }
      allUses.push_back(std::move(*uses));
    }
    // The kernel's own size names, earliest kernel first, name classes.
    for (auto [k, uses] : llvm::enumerate(allUses))
      for (const KernelUse &use : uses)
        for (auto [d, spec] : llvm::enumerate(use.dims))
          if (spec.kind == DimSpec::Kind::Named &&
              typeOf(use.output, use.index).isDynamicDim(d))
            preferred.try_emplace(classes.find(symbolNode(k, spec.symbol)),
                                  spec.symbol);
    for (auto [index, count] : llvm::enumerate(writer))
      if (count != 1)
        return error("result " + std::to_string(index) + " is " +
                     (count ? "written by " + std::to_string(count) +
                                  " kernels"
                            : std::string("written by no kernel (an "
                                          "argument returned as is, or a "
                                          "kernel result returned "
                                          "twice?)")) +
                     "; the runtime fills each result from exactly one "
                     "kernel");

    // Derived dimensions: one class per (base class, rule), named after the
    // base's final name; a fixed base gives a fixed size.
    std::map<std::tuple<int, int, int64_t, int64_t>, int> derivedClass;
    std::map<std::string, int64_t> fixedDerived; // tensor key -> size
    struct DerivedSize {
      int root;
      int baseRoot;
      DimSpec spec;
    };
    SmallVector<DerivedSize> derivedSizes;
    for (const DerivedUse &use : derivedUses) {
      int base = symbolNode(use.kernel, use.spec.symbol);
      std::string key = tensorKey(use.output, use.index, use.dim);
      // A base fixed by some tensor of this kernel (and not also named
      // dynamic elsewhere): the derived size is a number.
      auto fixedIt = fixedSymbol.find(base);
      int baseRoot = classes.find(base);
      if (fixedIt != fixedSymbol.end() && !preferred.count(baseRoot)) {
        fixedDerived[key] = use.spec.apply(fixedIt->second);
        continue;
      }
      auto rule = std::make_tuple(baseRoot, int(use.spec.kind), use.spec.a,
                                  use.spec.b);
      auto [it, inserted] = derivedClass.try_emplace(
          rule, classes.node("derived" + std::to_string(derivedClass.size())));
      classes.join(classes.node(key), it->second);
      if (inserted)
        derivedSizes.push_back({it->second, baseRoot, use.spec});
    }

    // Name every class once; a name two classes want gets a number.
    std::map<int, std::string> names;
    std::set<std::string> taken;
    auto nameClass = [&](int root, const std::string &base) {
      auto it = names.find(root);
      if (it != names.end())
        return it->second;
      std::string name = base;
      for (int n = 2; taken.count(name); ++n)
        name = base + std::to_string(n);
      taken.insert(name);
      return names[root] = name;
    };
    auto nameOf = [&](bool output, int64_t index, int64_t dim) {
      int root = classes.find(classes.node(tensorKey(output, index, dim)));
      auto want = preferred.find(root);
      return nameClass(root, want != preferred.end()
                                 ? want->second
                                 : (output ? "out" : "arg") +
                                       std::to_string(index) + "_" +
                                       std::to_string(dim));
    };
    // Base names first (inputs, then outputs, in order), so that derived
    // names follow them.
    for (bool output : {false, true})
      for (size_t i = 0, e = output ? f.results.size() : f.inputs.size();
           i < e; ++i)
        for (int64_t d = 0; d < typeOf(output, i).getRank(); ++d)
          if (typeOf(output, i).isDynamicDim(d) &&
              !llvm::any_of(derivedSizes, [&](const DerivedSize &ds) {
                return classes.find(ds.root) ==
                       classes.find(classes.node(tensorKey(output, i, d)));
              }))
            nameOf(output, i, d);
    json::Array derivedList;
    for (const DerivedSize &ds : derivedSizes) {
      auto base = names.find(classes.find(ds.baseRoot));
      if (base == names.end())
        return error("a size derived from " + ds.spec.symbol +
                     " has no input naming " + ds.spec.symbol +
                     "; the runtime binds sizes from the inputs");
      bool ceil = ds.spec.kind == DimSpec::Kind::CeilDiv;
      std::string name = nameClass(classes.find(ds.root),
                                   base->second + (ceil ? "_blocks" : "_slots"));
      json::Array rule{base->second, ds.spec.a};
      if (!ceil)
        rule.push_back(ds.spec.b);
      derivedList.push_back(
          json::Object{{"name", name}, {ceil ? "ceil_div" : "windows",
                                        std::move(rule)}});
    }
    auto tensors = [&](bool output) {
      json::Array list;
      size_t count = output ? f.results.size() : f.inputs.size();
      for (size_t i = 0; i < count; ++i) {
        RankedTensorType type = typeOf(output, i);
        json::Array shape;
        for (int64_t d = 0; d < type.getRank(); ++d) {
          auto fixed = fixedDerived.find(tensorKey(output, i, d));
          if (!type.isDynamicDim(d))
            shape.push_back(type.getDimSize(d));
          else if (fixed != fixedDerived.end())
            shape.push_back(fixed->second);
          else
            shape.push_back(nameOf(output, i, d));
        }
        json::Object entry{{"dtype", manifestDtype(type.getElementType())},
                           {"shape", std::move(shape)}};
        const std::string &role =
            roles[output ? f.inputs.size() + i : i];
        if (!role.empty())
          entry["role"] = role;
        list.push_back(std::move(entry));
      }
      return list;
    };
    json::Array inputs = tensors(false), outputs = tensors(true);
    json::Array kernelNames;
    for (const json::Object *k : mine)
      kernelNames.push_back(*k->getString("name"));
    json::Object function{{"name", f.name},
                          {"inputs", std::move(inputs)},
                          {"outputs", std::move(outputs)},
                          {"kernels", std::move(kernelNames)}};
    if (!derivedList.empty())
      function["derived_sizes"] = std::move(derivedList);
    out.push_back(std::move(function));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Host requirements
//===----------------------------------------------------------------------===//

/// The CPU features the runtime can check (runtime/lib/host_cpu.cpp,
/// docs/artifact.md), with LLVM's name for each.
static ArrayRef<std::pair<StringRef, StringRef>>
checkableFeatures(llvm::Triple::ArchType arch) {
  static const std::pair<StringRef, StringRef> x86[] = {
      {"sse2", "sse2"},
      {"sse3", "sse3"},
      {"ssse3", "ssse3"},
      {"sse4.1", "sse4.1"},
      {"sse4.2", "sse4.2"},
      {"popcnt", "popcnt"},
      {"avx", "avx"},
      {"avx2", "avx2"},
      {"fma", "fma"},
      {"f16c", "f16c"},
      {"bmi1", "bmi"},
      {"bmi2", "bmi2"},
      {"lzcnt", "lzcnt"},
      {"movbe", "movbe"},
      {"avx512f", "avx512f"},
      {"avx512cd", "avx512cd"},
      {"avx512bw", "avx512bw"},
      {"avx512dq", "avx512dq"},
      {"avx512vl", "avx512vl"},
      {"avx512ifma", "avx512ifma"},
      {"avx512vbmi", "avx512vbmi"},
      {"avx512vbmi2", "avx512vbmi2"},
      {"avx512vnni", "avx512vnni"},
      {"avx512bitalg", "avx512bitalg"},
      {"avx512vpopcntdq", "avx512vpopcntdq"},
      {"avx512bf16", "avx512bf16"},
      {"avx512fp16", "avx512fp16"},
      {"avxvnni", "avxvnni"},
      {"gfni", "gfni"}};
  static const std::pair<StringRef, StringRef> arm[] = {
      {"neon", "neon"}, {"fp16", "fullfp16"}, {"dotprod", "dotprod"},
      {"bf16", "bf16"}, {"i8mm", "i8mm"},     {"sve", "sve"},
      {"sve2", "sve2"}};
  if (arch == llvm::Triple::x86_64)
    return x86;
  if (arch == llvm::Triple::aarch64)
    return arm;
  return {};
}

/// What a CPU must support to run code compiled for `target`: its
/// architecture and every checkable feature that the target's CPU and
/// feature string enable (any of them may appear in the code).
static FailureOr<json::Object> hostRequirements(const CPUTarget &target) {
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargetMCs();
  llvm::Triple triple(target.triple);
  StringRef arch = triple.getArch() == llvm::Triple::x86_64    ? "x86_64"
                   : triple.getArch() == llvm::Triple::aarch64 ? "aarch64"
                                                               : "";
  if (arch.empty()) {
    fail("the runtime has no CPU check for " + target.triple);
    return failure();
  }
  std::string error;
  const llvm::Target *llvmTarget =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget) {
    fail("LLVM has no target for " + target.triple + ": " + error);
    return failure();
  }
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      llvmTarget->createMCSubtargetInfo(triple, target.cpu, target.features));
  if (!info) {
    fail("cannot describe CPU " + target.cpu + " of " + target.triple);
    return failure();
  }
  json::Array features;
  for (auto [name, llvmName] : checkableFeatures(triple.getArch()))
    if (info->checkFeatures(("+" + llvmName).str()))
      features.push_back(name);
  return json::Object{{"arch", arch}, {"cpu_features", std::move(features)}};
}

static FailureOr<json::Object>
buildManifest(ModuleOp module, const CPUTarget &target,
              ArrayRef<SourceFunction> sourceFunctions) {
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
  FailureOr<json::Array> functions = describeFunctions(sourceFunctions, kernels);
  FailureOr<json::Object> host = hostRequirements(target);
  if (failed(functions) || failed(host))
    return failure();
  // "files" is added by writeArtifact once kernels.so exists.
  return json::Object{
      {"format", "attn-artifact"},
      {"version", 1},
      {"compiler", "attn " ATTN_VERSION " (LLVM " LLVM_VERSION_STRING ")"},
      {"target", target.name},
      {"table_target", target.tableTarget},
      {"llvm_cpu", target.cpu},
      {"triple", target.triple},
      {"host_requirements", std::move(*host)},
      {"library", "kernels.so"},
      {"functions", std::move(*functions)},
      {"kernels", std::move(kernels)}};
}

/// Writes `value` with object keys in the order docs/artifact.md lists them
/// (json::Object alone would print them sorted, "compiler" before "format").
/// One order serves every object: each object's keys are a subsequence.
static void writeOrdered(json::OStream &os, const json::Value &value) {
  // clang-format off
  static const StringRef order[] = {
      "format", "version", "compiler", "target", "table_target", "llvm_cpu",
      "triple", "host_requirements", "arch", "cpu_features", "library",
      "files", "path", "size", "sha256", "functions", "name", "device", "op",
      "role", "inputs", "outputs", "derived_sizes", "ceil_div", "windows",
      "kernels", "symbol", "work_items_symbol", "source",
      "kind", "dtype", "rank", "shape", "head_dim", "value_dim", "query_tile",
      "key_tile", "gated", "gates", "pattern", "scale", "query_heads",
      "key_heads", "batch", "query_len", "key_len", "query_block",
      "key_block", "top_k", "keep_sink", "keep_local", "causal",
      "pooled_keys", "max_key_blocks", "window", "stride", "method",
      "weights_dtype", "blocks", "slots",
      "operand_args", "result_args", "result_index", "arguments", "cuda", "entry", "binaries",
      "ptx", "file", "block", "dynamic_shared_memory", "grid", "rule",
      "query_tiles", "params", "type", "value", "rows"};
  // clang-format on
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

/// attn's passes up to (not including) attn-convert-to-cpu, which then runs
/// on its own: the source functions' signatures are read in between.
static void addAttnPasses(PassManager &pm, ModuleOp module,
                          StringRef tableTarget) {
  // A schedule only when there is one: the pass refuses modules without.
  if (!scheduleFile.empty() || module->hasAttr(AttnDialect::kScheduleAttrName)) {
    AttnApplyScheduleOptions options;
    options.scheduleFile = scheduleFile;
    pm.addPass(createAttnApplySchedule(options));
  }
  AttnResolveBudgetsOptions budgets;
  budgets.target = tableTarget.str();
  budgets.queryLen = queryLen;
  budgets.keyLen = keyLen;
  pm.addPass(createAttnResolveBudgets(budgets));
  pm.addPass(createAttnFuseSkippedHeads());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  AttnPlanBlocksOptions plan;
  plan.target = tableTarget.str();
  plan.queryTile = queryTile;
  plan.keyTile = keyTile;
  pm.addPass(createAttnPlanBlocks(plan));
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

/// The SHA-256 (lower-case hex) and size entry of one artifact file.
static json::Object fileEntry(StringRef path, StringRef bytes) {
  std::array<uint8_t, 32> digest = llvm::SHA256::hash(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()));
  return json::Object{{"path", path},
                      {"size", static_cast<int64_t>(bytes.size())},
                      {"sha256", llvm::toHex(digest, /*LowerCase=*/true)}};
}

/// Writes `manifest` to `path` with attn-compile's key order.
static int writeManifest(StringRef path, json::Object manifest) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return fail("cannot write '" + path + "': " + ec.message());
  {
    json::OStream jsonOS(os, /*IndentSize=*/2);
    writeOrdered(jsonOS, json::Value(std::move(manifest)));
  }
  os << "\n";
  return 0;
}

static int writeArtifact(ModuleOp module, const CPUTarget &target,
                         json::Object manifest) {
  StringRef dir = outputFilename;
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return fail("cannot create directory '" + dir + "': " + ec.message());
  llvm::SmallString<256> library(dir), manifestPath(dir);
  llvm::sys::path::append(library, "kernels.so");
  llvm::sys::path::append(manifestPath, "manifest.json");
  if (failed(buildCPUSharedLibrary(module, target, library)))
    return 1;
  // Size and SHA-256 of every file, so that the runtime refuses a truncated
  // or swapped one before loading it.
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> bytes =
      llvm::MemoryBuffer::getFile(library, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!bytes)
    return fail("cannot read back '" + library +
                "': " + bytes.getError().message());
  manifest["files"] =
      json::Array{fileEntry("kernels.so", (*bytes)->getBuffer())};
  return writeManifest(manifestPath, std::move(manifest));
}

//===----------------------------------------------------------------------===//
// CUDA targets
//===----------------------------------------------------------------------===//

/// The chip of the PTX every artifact carries as the JIT fallback.
static constexpr StringLiteral kFallbackPTXChip = "sm_80";

/// The chip of the artifact's PTX: the fallback's, except for an
/// arch-specific chip ("sm_90a"), whose kernels use instructions no older
/// chip has (wgmma): their PTX is the chip's own, which the runtime never
/// JIT-compiles for another GPU.
static StringRef ptxChipFor(StringRef chip) {
  return chip.ends_with("a") ? chip : StringRef(kFallbackPTXChip);
}

static LogicalResult writeFile(StringRef path, StringRef bytes) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    fail("cannot write '" + path + "': " + ec.message());
    return failure();
  }
  os << bytes;
  return success();
}

/// Reads the `attn.gpu_kernel` dictionary of one kernel into its manifest
/// entry (docs/artifact.md, "CUDA kernels"); `cubin` and `ptx` are the
/// artifact's files holding it.
static FailureOr<json::Object> describeGPUKernel(Operation *kernel,
                                                 StringRef name,
                                                 DictionaryAttr info,
                                                 StringRef chip, StringRef cubin,
                                                 StringRef ptx) {
  auto missing = [&](StringRef key) {
    return kernel->emitError() << AttnDialect::kGPUKernelAttrName << " of "
                               << name << " has no valid '" << key << "'";
  };
  FailureOr<json::Object> fields = describeKernelFields(
      kernel, name, AttnDialect::kGPUKernelAttrName, info);
  if (failed(fields))
    return failure();
  json::Object entry = std::move(*fields);
  entry["device"] = "cuda";

  // The thread block; a compress_kv kernel's "block" is its window, so its
  // threads go in "cuda_block".
  auto block = info.getAs<DenseI64ArrayAttr>("cuda_block");
  if (!block)
    block = info.getAs<DenseI64ArrayAttr>("block");
  if (!block || block.size() != 3)
    return missing("block");
  auto shared = info.getAs<IntegerAttr>("dynamic_shared_memory");
  if (!shared)
    return missing("dynamic_shared_memory");
  // The grid rule and its fields (query_tile, query_tiles; size, tile), as
  // the back end wrote them: the runtime checks each rule's fields.
  auto grid = info.getAs<DictionaryAttr>("grid");
  if (!grid || !grid.getAs<StringAttr>("rule"))
    return missing("grid");
  json::Value gridEntry = toJSON(grid);
  auto paramList = info.getAs<ArrayAttr>("params");
  if (!paramList)
    return missing("params");
  json::Array params;
  for (Attribute p : paramList) {
    auto dict = dyn_cast<DictionaryAttr>(p);
    json::Object param;
    for (StringRef key : {"name", "type", "value"}) {
      auto s = dict ? dict.getAs<StringAttr>(key) : StringAttr();
      if (!s)
        return missing("params");
      param[key] = s.str();
    }
    // A tensor map's box rows.
    if (auto rows = dict.getAs<IntegerAttr>("rows"))
      param["rows"] = rows.getInt();
    params.push_back(std::move(param));
  }
  entry["cuda"] = json::Object{
      {"entry", name},
      {"binaries", json::Object{{chip, cubin}}},
      {"ptx", json::Object{{"file", ptx}, {"target", ptxChipFor(chip)}}},
      {"block", json::Array(block.asArrayRef())},
      {"dynamic_shared_memory", shared.getInt()},
      {"grid", std::move(gridEntry)},
      {"params", std::move(params)}};
  return entry;
}

/// attn-convert-to-gpu, then PTX (gpu-lower-to-nvvm-pipeline), a cubin
/// (ptxas) and the artifact, per --emit.
static int compileForGPU(ModuleOp module, StringRef chip,
                         ArrayRef<SourceFunction> sourceFunctions) {
  MLIRContext *context = module.getContext();
  PassManager convertPM(context);
  if (failed(applyPassManagerCLOptions(convertPM)))
    return 1;
  ConvertAttnToGPUOptions convert;
  convert.chip = chip.str();
  convert.queryTile = queryTile;
  convert.keyTile = keyTile;
  convert.wgmma = wgmma;
  auto toggle = [](cl::boolOrDefault value) -> std::string {
    return value == cl::BOU_TRUE    ? "on"
           : value == cl::BOU_FALSE ? "off"
                                    : "auto";
  };
  convert.wgmmaPipeline = toggle(wgmmaPipeline);
  convert.tma = toggle(tma);
  convert.pingPong = toggle(pingPong);
  convert.persistent = toggle(persistent);
  convert.tmaStore = toggle(tmaStore);
  convert.persistentSchedule = persistentSchedule;
  convertPM.addPass(createConvertAttnToGPU(convert));
  if (failed(convertPM.run(module)))
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

  // The kernels and their manifest facts, in module order.
  SmallVector<std::pair<Operation *, DictionaryAttr>> kernelOps;
  module->walk([&](Operation *op) {
    if (auto info =
            op->getAttrOfType<DictionaryAttr>(AttnDialect::kGPUKernelAttrName))
      kernelOps.push_back({op, info});
  });
  if (kernelOps.empty())
    return fail("the input has no attn.attention to compile for " + chip);

  FailureOr<std::string> ptx = lowerToPTX(module, chip);
  if (failed(ptx))
    return 1;
  if (emitKind == EmitKind::Assembly) {
    auto out = openOutput();
    if (!out)
      return 1;
    out->os() << *ptx;
    out->keep();
    return 0;
  }
  FailureOr<std::string> cubin = assemblePTX(module.getLoc(), *ptx, chip);
  if (failed(cubin))
    return 1;
  if (emitKind == EmitKind::Object) {
    auto out = openOutput();
    if (!out)
      return 1;
    out->os() << *cubin;
    out->keep();
    return 0;
  }

  // The artifact: one cubin for the chip and the sm_80 PTX (sm_90a's own
  // for sm_90a), holding every kernel, named after the kernel when there is
  // one.
  std::string fallback = *ptx;
  if (chip != ptxChipFor(chip)) {
    FailureOr<std::string> lowered = lowerToPTX(module, kFallbackPTXChip);
    if (failed(lowered))
      return 1;
    fallback = std::move(*lowered);
  }
  std::string base =
      kernelOps.size() == 1
          ? SymbolTable::getSymbolName(kernelOps.front().first).str()
          : std::string("kernels");
  std::string cubinName = base + "." + chip.str() + ".cubin";
  std::string ptxName = base + ".ptx";

  json::Array kernels;
  for (auto [op, info] : kernelOps) {
    FailureOr<json::Object> kernel =
        describeGPUKernel(op, SymbolTable::getSymbolName(op).getValue(), info,
                          chip, cubinName, ptxName);
    if (failed(kernel))
      return 1;
    kernels.push_back(std::move(*kernel));
  }
  FailureOr<json::Array> functions = describeFunctions(sourceFunctions, kernels);
  if (failed(functions))
    return 1;

  StringRef dir = outputFilename;
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return fail("cannot create directory '" + dir + "': " + ec.message());
  auto inDir = [&](StringRef name) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, name);
    return std::string(path);
  };
  if (failed(writeFile(inDir(cubinName), *cubin)) ||
      failed(writeFile(inDir(ptxName), fallback)))
    return 1;
  json::Object manifest{
      {"format", "attn-artifact"},
      {"version", 1},
      {"compiler", "attn " ATTN_VERSION " (LLVM " LLVM_VERSION_STRING ")"},
      {"target", chip},
      {"table_target", chip},
      {"files", json::Array{fileEntry(cubinName, *cubin),
                            fileEntry(ptxName, fallback)}},
      {"functions", std::move(*functions)},
      {"kernels", std::move(kernels)}};
  return writeManifest(inDir("manifest.json"), std::move(manifest));
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
      "attn-compile: compile attn IR into CPU or CUDA kernels\n\n"
      "  attn-compile in.mlir --target=x86-64-v4 -o out/   # out/kernels.so + "
      "out/manifest.json\n"
      "  attn-compile in.mlir --target=native --emit=asm\n"
      "  attn-compile in.mlir --target=sm_90 -o out/   # out/<kernel>.sm_90.cubin, "
      "<kernel>.ptx, manifest.json\n\n"
      "Runs attn-resolve-budgets, attn-fuse-skipped-heads, attn-plan-blocks "
      "and attn-convert-to-cpu, lowers the kernels to LLVM and optimizes them "
      "at O3. See docs/compile.md.\n");

  // A CUDA chip of the target table, or a CPU.
  const TargetDescription *tableEntry = lookupTarget(targetName);
  const bool gpu =
      tableEntry && tableEntry->kind == TargetDescription::Kind::GPU;
  std::optional<CPUTarget> cpuTarget;
  if (!gpu) {
    llvm::Expected<CPUTarget> target = resolveCPUTarget(targetName);
    if (!target)
      return fail(llvm::toString(target.takeError()) +
                  " (or a CUDA chip: sm_80, sm_86, sm_89, sm_90, sm_90a)");
    cpuTarget = std::move(*target);
  } else if (emitKind == EmitKind::LLVMIR ||
             emitKind == EmitKind::SharedLibrary) {
    return fail("--emit=" +
                std::string(emitKind == EmitKind::LLVMIR ? "llvm" : "so") +
                " is for CPU targets; for " + targetName +
                " use --emit=artifact, obj (cubin), asm (PTX) or mlir");
  }

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
  if (gpu)
    registerGPUBackendDialects(registry);
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
  addAttnPasses(attnPM, *module,
                gpu ? StringRef(targetName) : StringRef(cpuTarget->tableTarget));
  if (failed(attnPM.run(*module)))
    return 1;
  SmallVector<SourceFunction> sourceFunctions =
      captureSourceFunctions(*module);
  if (gpu)
    return compileForGPU(*module, targetName, sourceFunctions);
  const CPUTarget *target = &*cpuTarget;
  PassManager convertPM(&context);
  if (failed(applyPassManagerCLOptions(convertPM)))
    return 1;
  ConvertAttnToCPUOptions convert;
  convert.target = target->tableTarget;
  convertPM.addPass(createConvertAttnToCPU(convert));
  if (failed(convertPM.run(*module)))
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
  FailureOr<json::Object> manifest =
      buildManifest(*module, *target, sourceFunctions);
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
    return writeArtifact(*module, *target, std::move(*manifest));
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
