//===- manifest.cpp - The artifact manifest: model and checks -------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Every field is read through Reader, which records the first problem with
// the field's path ("kernels[2].operand_args[1]") and makes later reads
// no-ops; parseManifest then returns that problem. The launcher indexes
// tensors with operand_args and result_index, so everything it relies on is
// range-checked here, once, instead of at every call.
//
//===----------------------------------------------------------------------===//

#include "manifest.h"

#include "json.h"
#include "sha256.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

using namespace attn::rt;

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

const char *attn::rt::dtypeName(attn_dtype dtype) {
  switch (dtype) {
  case ATTN_DTYPE_F32:
    return "f32";
  case ATTN_DTYPE_F16:
    return "f16";
  case ATTN_DTYPE_BF16:
    return "bf16";
  case ATTN_DTYPE_I32:
    return "i32";
  case ATTN_DTYPE_BOOL:
    return "bool";
  }
  return "unknown";
}

bool attn::rt::parseDtype(std::string_view name, attn_dtype &dtype) {
  for (attn_dtype d : {ATTN_DTYPE_F32, ATTN_DTYPE_F16, ATTN_DTYPE_BF16,
                       ATTN_DTYPE_I32, ATTN_DTYPE_BOOL})
    if (name == dtypeName(d)) {
      dtype = d;
      return true;
    }
  return false;
}

int64_t attn::rt::dtypeBytes(attn_dtype dtype) {
  switch (dtype) {
  case ATTN_DTYPE_F32:
  case ATTN_DTYPE_I32:
    return 4;
  case ATTN_DTYPE_F16:
  case ATTN_DTYPE_BF16:
    return 2;
  case ATTN_DTYPE_BOOL:
    return 1;
  }
  return 0;
}

const FunctionSpec *Manifest::findFunction(std::string_view name) const {
  for (const FunctionSpec &f : functions)
    if (f.name == name)
      return &f;
  return nullptr;
}

const FileSpec *Manifest::findFile(std::string_view path) const {
  for (const FileSpec &f : files)
    if (f.path == path)
      return &f;
  return nullptr;
}

const DerivedSize *FunctionSpec::findDerived(std::string_view name) const {
  for (const DerivedSize &d : derivedSizes)
    if (d.name == name)
      return &d;
  return nullptr;
}

const char *attn::rt::opName(KernelOp op) {
  switch (op) {
  case KernelOp::Attention:
    return "attention";
  case KernelOp::SelectBlocks:
    return "select_blocks";
  case KernelOp::CompressKV:
    return "compress_kv";
  case KernelOp::SparseBranches:
    return "sparse_branches";
  }
  return "unknown";
}

std::vector<OperandType> KernelSpec::operandTypes() const {
  switch (op) {
  case KernelOp::Attention: {
    std::vector<OperandType> types = {
        {dtype, 4, "query"}, {dtype, 4, "key"}, {dtype, 4, "value"}};
    if (gates == GatesKind::Gates)
      types.push_back({ATTN_DTYPE_BOOL, 2, "gates"});
    else if (gates == GatesKind::Active)
      types.push_back({ATTN_DTYPE_I32, 1, "active list"});
    if (hasBlocks)
      types.push_back({ATTN_DTYPE_I32, 4, "blocks"});
    return types;
  }
  case KernelOp::SelectBlocks:
    if (select.pooledKeys)
      return {{dtype, 4, "query"}, {dtype, 4, "key"}, {dtype, 4, "pooled keys"}};
    return {{dtype, 4, "query"}, {dtype, 4, "key"}};
  case KernelOp::CompressKV:
    if (compress.linear)
      return {{dtype, 4, "key"},
              {dtype, 4, "value"},
              {compress.weightsDtype, 2, "weights"}};
    return {{dtype, 4, "key"}, {dtype, 4, "value"}};
  case KernelOp::SparseBranches:
    // In BranchesSpec::Operand's order.
    return {{dtype, 4, "query"},
            {dtype, 4, "key"},
            {dtype, 4, "value"},
            {dtype, 4, "compressed key"},
            {dtype, 4, "compressed value"},
            {ATTN_DTYPE_I32, 4, "blocks"},
            {branches.weightsDtype, 4, "weights"}};
  }
  return {};
}

std::vector<OperandType> KernelSpec::resultTypes() const {
  switch (op) {
  case KernelOp::Attention:
    return {{dtype, 4, "out"}};
  case KernelOp::SelectBlocks:
    return {{ATTN_DTYPE_I32, 4, "indices"}};
  case KernelOp::CompressKV:
    return {{dtype, 4, "compressed key"}, {dtype, 4, "compressed value"}};
  case KernelOp::SparseBranches:
    return {{dtype, 4, "out"}};
  }
  return {};
}

Status attn::rt::bindDerivedSizes(const FunctionSpec &f, SizeBindings &sizes) {
  for (const DerivedSize &d : f.derivedSizes) {
    auto base = sizes.find(d.base);
    // The parser lets a derived size name only sizes bound before it.
    if (base == sizes.end())
      return Status::error(ATTN_ERROR_INTERNAL,
                           "derived size " + d.name + ": " + d.base +
                               " is not bound");
    const int64_t n = base->second;
    if (d.kind == DerivedSize::Kind::CeilDiv) {
      sizes[d.name] = n / d.a + (n % d.a != 0);
      continue;
    }
    if (n < d.a)
      return Status::error(
          ATTN_ERROR_SHAPE_MISMATCH,
          "size " + d.name + " = (" + d.base + " - " + std::to_string(d.a) +
              ") / " + std::to_string(d.b) + " + 1 (windows of " +
              std::to_string(d.a) + " every " + std::to_string(d.b) +
              ") needs " + d.base + " >= " + std::to_string(d.a) +
              "; the call has " + d.base + " = " + std::to_string(n));
    sizes[d.name] = (n - d.a) / d.b + 1;
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Reading fields
//===----------------------------------------------------------------------===//

namespace {

// Bounds on what a manifest may declare. Real ones are far below; the
// bounds keep hostile ones from making the runtime allocate or loop much.
constexpr size_t kMaxEntries = 4096;   // files, kernels, functions
constexpr size_t kMaxArguments = 256;  // inputs or outputs of a function
constexpr size_t kMaxNameBytes = 1024; // names, symbols, paths
constexpr int64_t kMaxStaticSize = int64_t(1) << 40;

/// `text` for a message: quoted, escaped, and cut when long.
std::string show(std::string_view text) {
  if (text.size() > 80)
    return json::quote(text.substr(0, 77)) + "...";
  return json::quote(text);
}

class Reader {
public:
  bool failed() const { return !status.ok(); }
  const Status &result() const { return status; }

  void fail(const std::string &where, const std::string &what,
            attn_status code = ATTN_ERROR_CORRUPT_ARTIFACT) {
    if (!failed())
      status = Status::error(code, "manifest.json: " +
                                       (where.empty() ? "" : where + ": ") +
                                       what);
  }

  /// obj[key] if it has `kind`; nullptr (and a failure when `required` or
  /// when present with another kind) otherwise.
  const json::Value *get(const json::Value &obj, const char *key,
                         const std::string &where, json::Kind kind,
                         bool required = true) {
    if (failed())
      return nullptr;
    const json::Value *v = obj.find(key);
    if (!v) {
      if (required)
        fail(where, std::string("missing field \"") + key + "\"");
      return nullptr;
    }
    if (v->kind != kind) {
      fail(join(where, key), std::string("must be ") + json::kindName(kind) +
                                 ", found " + json::kindName(v->kind));
      return nullptr;
    }
    return v;
  }

  static std::string join(const std::string &where, const char *key) {
    return where.empty() ? std::string(key) : where + "." + key;
  }

  bool string(const json::Value &obj, const char *key, const std::string &where,
              std::string &out, bool required = true) {
    const json::Value *v = get(obj, key, where, json::Kind::String, required);
    if (!v)
      return false;
    out = v->string;
    return true;
  }

  /// A string that is a name: non-empty, bounded, printable (it ends up in
  /// messages and in dlsym calls).
  bool name(const json::Value &obj, const char *key, const std::string &where,
            std::string &out, bool required = true) {
    if (!string(obj, key, where, out, required))
      return false;
    return checkName(out, join(where, key));
  }

  bool checkName(const std::string &text, const std::string &where) {
    if (text.empty()) {
      fail(where, "must not be empty");
      return false;
    }
    if (text.size() > kMaxNameBytes) {
      fail(where, "is longer than " + std::to_string(kMaxNameBytes) +
                      " bytes");
      return false;
    }
    for (char c : text)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        fail(where, show(text) + " holds a control character");
        return false;
      }
    return true;
  }

  bool integer(const json::Value &obj, const char *key, const std::string &where,
               int64_t &out, int64_t min, int64_t max, bool required = true) {
    const json::Value *v = get(obj, key, where, json::Kind::Number, required);
    if (!v)
      return false;
    return checkInteger(*v, join(where, key), out, min, max);
  }

  bool checkInteger(const json::Value &v, const std::string &where,
                    int64_t &out, int64_t min, int64_t max) {
    if (v.kind != json::Kind::Number || !v.isInteger) {
      fail(where, std::string("must be an integer, found ") +
                      (v.kind == json::Kind::Number ? "a non-integer number"
                                                    : json::kindName(v.kind)));
      return false;
    }
    if (v.integer < min || v.integer > max) {
      fail(where, "must be in [" + std::to_string(min) + ", " +
                      std::to_string(max) + "], found " +
                      std::to_string(v.integer));
      return false;
    }
    out = v.integer;
    return true;
  }

  bool boolean(const json::Value &obj, const char *key, const std::string &where,
               bool &out, bool required = true) {
    const json::Value *v = get(obj, key, where, json::Kind::Bool, required);
    if (!v)
      return false;
    out = v->boolean;
    return true;
  }

  /// obj[key] as an array of at most `max` items.
  const json::Value *array(const json::Value &obj, const char *key,
                           const std::string &where, size_t max,
                           bool required = true) {
    const json::Value *v = get(obj, key, where, json::Kind::Array, required);
    if (v && v->items.size() > max) {
      fail(join(where, key), "has " + std::to_string(v->items.size()) +
                                 " entries, more than the limit of " +
                                 std::to_string(max));
      return nullptr;
    }
    return v;
  }

private:
  Status status = Status::success();
};

std::string index(const char *array, size_t i) {
  return std::string(array) + "[" + std::to_string(i) + "]";
}

/// A relative path inside the artifact directory: no absolute paths, no
/// "." or ".." components, no empty components. The runtime must never read
/// outside the directory it was given.
bool safePath(const std::string &path, std::string &why) {
  if (path.front() == '/') {
    why = "is an absolute path";
    return false;
  }
  size_t start = 0;
  for (;;) {
    size_t end = path.find('/', start);
    std::string part = path.substr(start, end == std::string::npos
                                              ? std::string::npos
                                              : end - start);
    if (part.empty()) {
      why = "has an empty path component";
      return false;
    }
    if (part == "." || part == "..") {
      why = "has a '" + part + "' component (files must lie inside the "
            "artifact directory)";
      return false;
    }
    if (end == std::string::npos)
      return true;
    start = end + 1;
  }
}

bool isSymbolChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '$';
}

void readDtype(Reader &r, const json::Value &obj, const std::string &where,
               attn_dtype &out, bool tensorOnly) {
  std::string text;
  if (!r.string(obj, "dtype", where, text))
    return;
  attn_dtype d;
  if (!parseDtype(text, d) ||
      (tensorOnly && d != ATTN_DTYPE_F32 && d != ATTN_DTYPE_F16 &&
       d != ATTN_DTYPE_BF16)) {
    r.fail(where + ".dtype",
           show(text) + (tensorOnly ? " is not a kernel element type (f32, "
                                      "f16, bf16)"
                                    : " is not a dtype (f32, f16, bf16, i32, "
                                      "bool)"));
    return;
  }
  out = d;
}

void readTensor(Reader &r, const json::Value &v, const std::string &where,
                TensorSpec &out) {
  if (!v.isObject()) {
    r.fail(where, std::string("must be an object, found ") +
                      json::kindName(v.kind));
    return;
  }
  readDtype(r, v, where, out.dtype, /*tensorOnly=*/false);
  if (v.find("role"))
    r.name(v, "role", where, out.role);
  const json::Value *shape = r.array(v, "shape", where, ATTN_MAX_RANK);
  if (!shape)
    return;
  if (shape->items.empty()) {
    r.fail(where + ".shape", "must have at least one dimension");
    return;
  }
  for (size_t i = 0; i < shape->items.size() && !r.failed(); ++i) {
    const json::Value &d = shape->items[i];
    const std::string at = where + "." + index("shape", i);
    Dim dim;
    if (d.isString()) {
      if (d.string.empty() || d.string.size() > 64) {
        r.fail(at, "a dynamic size's name must have 1 to 64 bytes");
        return;
      }
      if (!r.checkName(d.string, at))
        return;
      dim.symbol = d.string;
    } else if (!r.checkInteger(d, at, dim.size, 1, kMaxStaticSize)) {
      return;
    }
    out.shape.push_back(dim);
  }
}

void readFiles(Reader &r, const json::Value &root, Manifest &m) {
  const json::Value *files = r.array(root, "files", "", kMaxEntries);
  if (!files)
    return;
  for (size_t i = 0; i < files->items.size() && !r.failed(); ++i) {
    const json::Value &f = files->items[i];
    const std::string where = index("files", i);
    if (!f.isObject()) {
      r.fail(where, std::string("must be an object, found ") +
                        json::kindName(f.kind));
      return;
    }
    FileSpec spec;
    int64_t size = 0;
    if (!r.name(f, "path", where, spec.path) ||
        !r.integer(f, "size", where, size, 0, INT64_MAX) ||
        !r.string(f, "sha256", where, spec.sha256))
      return;
    std::string why;
    if (!safePath(spec.path, why)) {
      r.fail(where + ".path", show(spec.path) + " " + why);
      return;
    }
    if (spec.sha256.size() != 64 ||
        !std::all_of(spec.sha256.begin(), spec.sha256.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        })) {
      r.fail(where + ".sha256", "must be 64 lowercase hex digits, found " +
                                    show(spec.sha256));
      return;
    }
    if (m.findFile(spec.path)) {
      r.fail(where + ".path", show(spec.path) + " is listed twice");
      return;
    }
    spec.size = static_cast<uint64_t>(size);
    m.files.push_back(std::move(spec));
  }
}

void requireListed(Reader &r, const Manifest &m, const std::string &where,
                   const std::string &path) {
  if (!r.failed() && !m.findFile(path))
    r.fail(where, show(path) + " is not listed in \"files\" (every file the "
                               "runtime loads must carry a checksum)");
}

const char *gatesName(GatesKind gates) {
  return gates == GatesKind::Gates    ? "gates"
         : gates == GatesKind::Active ? "active"
                                      : "none";
}

/// Whether `text` is an identifier (a size name a parameter may pass).
bool isIdentifier(const std::string &text) {
  if (text.empty() || (text[0] >= '0' && text[0] <= '9'))
    return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
  });
}

/// Parses the generic tensor values `operand[i]`, `result[i]` and their
/// `.stride[j]` / `.shape[j]`; false when `value` is none of them.
bool parseGenericTensor(const std::string &value, CudaParam &param) {
  const bool result = value.rfind("result[", 0) == 0;
  if (!result && value.rfind("operand[", 0) != 0)
    return false;
  size_t at = result ? 7 : 8;
  auto number = [&](int &out) {
    size_t start = at;
    out = 0;
    while (at < value.size() && value[at] >= '0' && value[at] <= '9' &&
           at - start < 3)
      out = out * 10 + (value[at++] - '0');
    return at > start && at < value.size() && value[at++] == ']';
  };
  int index = 0;
  if (!number(index))
    return false;
  (result ? param.result : param.operand) = index;
  if (at == value.size()) {
    param.source = CudaParam::Source::Tensor;
    return true;
  }
  const std::string rest = value.substr(at);
  if (rest.rfind(".stride[", 0) == 0) {
    param.source = CudaParam::Source::Stride;
    at += 8;
  } else if (rest.rfind(".shape[", 0) == 0) {
    param.source = CudaParam::Source::Shape;
    at += 7;
  } else {
    return false;
  }
  return number(param.dim) && at == value.size();
}

const char *kParamVocabulary =
    " is not a parameter the runtime can pass (query, key, value, out, gates "
    "or active as ptr; query/key/value/out.tensor_map as ptr with \"rows\"; "
    "query/key/value/out.stride[0-3], gates.stride[0-1], "
    "B, Sq, Skv, pairs, Hq, Hkv or active_count as i32/i64; scale as f32; "
    "tile_counter as ptr (persistent grids); "
    "operand[i] or result[i] as ptr; operand[i].stride[j], "
    "operand[i].shape[j], result[i].stride[j], result[i].shape[j] or a size "
    "name of the function as i32/i64)";

void readCuda(Reader &r, const json::Value &k, const std::string &kernelWhere,
              const Manifest &m, KernelSpec &spec) {
  CudaKernelSpec &cuda = spec.cuda;
  const GatesKind gates = spec.gates;
  const bool attention = spec.op == KernelOp::Attention,
             branches = spec.op == KernelOp::SparseBranches;
  const std::vector<OperandType> operandTypes = spec.operandTypes(),
                                 resultTypes = spec.resultTypes();
  const json::Value *c = r.get(k, "cuda", kernelWhere, json::Kind::Object);
  if (!c)
    return;
  const std::string where = kernelWhere + ".cuda";
  if (!r.name(*c, "entry", where, cuda.entry))
    return;
  // The softmax scale a `scale` parameter passes (the kernel's own field).
  if (const json::Value *scale = k.find("scale")) {
    if (!scale->isNumber() || !(scale->number > 0) ||
        !(scale->number < 1e30)) {
      r.fail(kernelWhere + ".scale", "must be a positive number");
      return;
    }
    cuda.scale = scale->number;
  }
  if (const json::Value *binaries =
          r.get(*c, "binaries", where, json::Kind::Object, false)) {
    if (binaries->keys.size() > 64) {
      r.fail(where + ".binaries", "has more than 64 entries");
      return;
    }
    for (size_t i = 0; i < binaries->keys.size() && !r.failed(); ++i) {
      const std::string &chip = binaries->keys[i];
      const std::string at = where + ".binaries." + chip;
      // "sm_" digits, optionally "a" (arch-specific features, e.g. wgmma).
      size_t digits = 0;
      while (3 + digits < chip.size() && chip[3 + digits] >= '0' &&
             chip[3 + digits] <= '9')
        ++digits;
      bool valid = chip.rfind("sm_", 0) == 0 && digits >= 2 && digits <= 3 &&
                   (chip.size() == 3 + digits ||
                    (chip.size() == 4 + digits && chip.back() == 'a'));
      if (!valid) {
        r.fail(where + ".binaries", show(chip) +
                                        " is not a chip name like \"sm_90\" "
                                        "or \"sm_90a\"");
        return;
      }
      const json::Value &file = binaries->items[i];
      if (!file.isString() || !r.checkName(file.string, at)) {
        if (!r.failed())
          r.fail(at, "must be a file name");
        return;
      }
      requireListed(r, m, at, file.string);
      cuda.binaries[chip] = file.string;
    }
  }
  if (const json::Value *ptx =
          r.get(*c, "ptx", where, json::Kind::Object, false)) {
    if (!r.name(*ptx, "file", where + ".ptx", cuda.ptxFile) ||
        !r.name(*ptx, "target", where + ".ptx", cuda.ptxTarget))
      return;
    requireListed(r, m, where + ".ptx.file", cuda.ptxFile);
  }
  if (!r.failed() && cuda.binaries.empty() && cuda.ptxFile.empty())
    r.fail(where, "has neither \"binaries\" nor \"ptx\"");
  if (const json::Value *block = r.array(*c, "block", where, 3)) {
    if (block->items.size() != 3) {
      r.fail(where + ".block", "must have 3 entries (x, y, z)");
      return;
    }
    for (int i = 0; i < 3; ++i)
      if (!r.checkInteger(block->items[i], where + "." + index("block", i),
                          cuda.block[i], 1, 1024))
        return;
    if (cuda.block[0] * cuda.block[1] * cuda.block[2] > 1024) {
      r.fail(where + ".block", "has more than 1024 threads");
      return;
    }
  }
  r.integer(*c, "dynamic_shared_memory", where, cuda.dynamicSharedMemory, 0,
            int64_t(1) << 20);
  if (const json::Value *grid = r.get(*c, "grid", where, json::Kind::Object)) {
    if (!r.name(*grid, "rule", where + ".grid", cuda.gridRule))
      return;
    // The rules this runtime knows need a tile; a rule it does not know may
    // be shaped otherwise, and is refused when a call would launch it.
    const bool pairsRule = cuda.gridRule == kGridQueryTilesXPairs,
               activeRule = cuda.gridRule == kGridQueryTilesXActive,
               kvRule = cuda.gridRule == kGridTilesXKvPairs;
    // Query tiles count an attention kernel's query rows and heads, and a
    // sparse_branches kernel's (its output is attention's, one block row
    // per (batch, query head), never gated); select_blocks and compress_kv
    // have one block row per (batch, KV head).
    if (branches && !pairsRule) {
      r.fail(where + ".grid.rule",
             show(cuda.gridRule) + " is not the rule of a sparse_branches "
             "kernel: it is launched with " + show(kGridQueryTilesXPairs) +
             " (query tiles x (batch, query head) pairs)");
      return;
    }
    if ((pairsRule || activeRule) && !attention && !branches) {
      r.fail(where + ".grid.rule",
             show(cuda.gridRule) + " tiles an attention kernel's queries; a " +
                 opName(spec.op) + " kernel is launched with " +
                 show(kGridTilesXKvPairs));
      return;
    }
    if (kvRule) {
      // The size is checked against the function's size names once the
      // functions are read.
      r.name(*grid, "size", where + ".grid", cuda.gridSize);
      r.integer(*grid, "tile", where + ".grid", cuda.gridTile, 1, 1 << 20);
      // An extent of one of the kernel's tensors, or a size name (checked
      // against the function's once the functions are read).
      CudaParam &shape = cuda.gridSizeShape;
      if (!r.failed() && parseGenericTensor(cuda.gridSize, shape)) {
        const bool isResult = shape.result >= 0;
        const std::vector<OperandType> &list =
            isResult ? resultTypes : operandTypes;
        const int i = isResult ? shape.result : shape.operand;
        if (shape.source != CudaParam::Source::Shape ||
            i >= static_cast<int>(list.size()) || shape.dim >= list[i].rank)
          r.fail(where + ".grid.size",
                 show(cuda.gridSize) +
                     " is not an extent of the kernel's tensors (operand[i] "
                     "or result[i].shape[j] within the op's " +
                     std::to_string(operandTypes.size()) + " operands, " +
                     std::to_string(resultTypes.size()) +
                     " results and their ranks) nor a size name");
      } else {
        shape = CudaParam();
      }
      if (!r.failed() && gates == GatesKind::Active)
        r.fail(where + ".grid.rule",
               show(cuda.gridRule) + " launches one block row per (batch, KV "
               "head) pair; a kernel with \"gates\": \"active\" is launched "
               "over its list (" + show(kGridQueryTilesXActive) + ")");
      if (r.failed())
        return;
    }
    if (grid->find("query_tile") || pairsRule || activeRule)
      r.integer(*grid, "query_tile", where + ".grid", cuda.gridQueryTile, 1,
                1 << 20);
    if (!r.failed() && grid->find("query_tiles")) {
      std::string alignment;
      r.name(*grid, "query_tiles", where + ".grid", alignment);
      if (!r.failed() && alignment != "rows" && alignment != "positions")
        r.fail(where + ".grid.query_tiles",
               show(alignment) +
                   " is not a tile alignment; expected \"rows\" (ceil(Sq / "
                   "query_tile) tiles) or \"positions\" (tiles aligned in key "
                   "positions)");
      cuda.gridPositionTiles = alignment == "positions";
      // The blocks list is indexed by floor(row / query_block): a
      // sparse_branches kernel's tiles are rows.
      if (!r.failed() && branches && cuda.gridPositionTiles)
        r.fail(where + ".grid.query_tiles",
               "\"positions\" does not fit a sparse_branches kernel, whose "
               "blocks list is indexed by query row blocks; expected "
               "\"rows\"");
    }
    // A persistent kernel walks the grid's blocks itself (its grid_tiles
    // and grid_rows parameters): the runtime launches at most one block
    // per SM. Attention's rules only.
    if (!r.failed() && grid->find("persistent")) {
      r.boolean(*grid, "persistent", where + ".grid", cuda.gridPersistent);
      if (!r.failed() && cuda.gridPersistent && !pairsRule && !activeRule)
        r.fail(where + ".grid.persistent",
               "a persistent grid walks query tiles over pairs or active "
               "entries; rule " +
                   show(cuda.gridRule) + " has none");
    }
    // An active-list kernel has one block row per listed pair, every other
    // kernel one per (batch, head) pair: the other combinations would
    // launch blocks the kernel cannot map to its pairs.
    if (!r.failed() && activeRule && gates != GatesKind::Active)
      r.fail(where + ".grid.rule",
             show(cuda.gridRule) + " launches one block row per entry of an "
             "active list; this kernel has \"gates\": " +
                 show(gatesName(gates)) + " (its rule is " +
                 show(kGridQueryTilesXPairs) + ")");
    if (!r.failed() && pairsRule && gates == GatesKind::Active)
      r.fail(where + ".grid.rule",
             show(cuda.gridRule) + " launches one block row per (batch, "
             "head) pair; a kernel with \"gates\": \"active\" is launched "
             "over its list (" + show(kGridQueryTilesXActive) + ")");
    if (r.failed())
      return;
  }
  if (const json::Value *params = r.array(*c, "params", where, 256)) {
    cuda.numParams = params->items.size();
    for (size_t i = 0; i < params->items.size() && !r.failed(); ++i) {
      const json::Value &p = params->items[i];
      const std::string at = where + "." + index("params", i);
      if (!p.isObject()) {
        r.fail(at, "must be an object {name, type, value}");
        return;
      }
      CudaParam param;
      std::string type, value;
      if (!r.name(p, "name", at, param.name) ||
          !r.string(p, "type", at, type) || !r.string(p, "value", at, value))
        return;
      static const std::pair<const char *, CudaParam::Type> types[] = {
          {"ptr", CudaParam::Type::Ptr}, {"i32", CudaParam::Type::I32},
          {"i64", CudaParam::Type::I64}, {"f32", CudaParam::Type::F32}};
      bool known = false;
      for (const auto &[text, t] : types)
        if (type == text) {
          param.type = t;
          known = true;
        }
      if (!known) {
        r.fail(at + ".type", show(type) + " is not ptr, i32, i64 or f32");
        return;
      }
      // value: a tensor (its device pointer), a stride or extent of one, a
      // size, or the scale; each only with a type that can carry it.
      const bool isInteger = param.type == CudaParam::Type::I64 ||
                             param.type == CudaParam::Type::I32;
      bool ok = false;
      if (parseGenericTensor(value, param)) {
        // operand[i] / result[i]: the i-th of the op's operands or results,
        // strides and extents of the dims its rank has.
        const bool isResult = param.result >= 0;
        const std::vector<OperandType> &list =
            isResult ? resultTypes : operandTypes;
        const int i = isResult ? param.result : param.operand;
        if (i >= static_cast<int>(list.size())) {
          r.fail(at + ".value",
                 show(value) + ": the kernel has " +
                     std::to_string(list.size()) +
                     (isResult ? " results" : " operands") + " (" +
                     opName(spec.op) + ")");
          return;
        }
        if (param.source != CudaParam::Source::Tensor &&
            param.dim >= list[i].rank) {
          r.fail(at + ".value", show(value) + ": the " + list[i].role +
                                    " has rank " +
                                    std::to_string(list[i].rank));
          return;
        }
        ok = param.source == CudaParam::Source::Tensor
                 ? param.type == CudaParam::Type::Ptr
                 : isInteger;
      } else {
        struct TensorName {
          const char *name;
          int rank; // strides [0, rank) may be passed; 0: none
        };
        static const TensorName tensors[] = {{"query", 4}, {"key", 4},
                                             {"value", 4}, {"out", 4},
                                             {"gates", 2}, {"active", 0}};
        static const char *sizes[] = {
            "B",  "Sq",  "Skv",          "pairs",
            "Hq", "Hkv", "active_count", "query_tiles"};
        bool named = false; // one of attention's names
        for (const TensorName &t : tensors) {
          const std::string name = t.name;
          if (value == name) {
            named = true;
            param.source = CudaParam::Source::Tensor;
            param.tensor = name;
            ok = param.type == CudaParam::Type::Ptr;
          } else if (value == name + ".tensor_map" &&
                     (name == "query" || name == "key" || name == "value" ||
                      name == "out")) {
            // A TMA tensor map (docs/artifact.md): boxes of `rows` rows
            // (the output's: the TMA kernel's stores).
            named = true;
            param.source = CudaParam::Source::TensorMap;
            param.tensor = name;
            ok = param.type == CudaParam::Type::Ptr &&
                 r.integer(p, "rows", at, param.rows, 1, 256);
            if (r.failed())
              return;
          } else if (value.rfind(name + ".", 0) == 0) {
            named = true;
            if (value.size() == name.size() + 10 &&
                value.compare(0, name.size() + 8, name + ".stride[") == 0 &&
                value.back() == ']' && value[name.size() + 8] >= '0' &&
                value[name.size() + 8] < '0' + t.rank) {
              param.source = CudaParam::Source::Stride;
              param.tensor = name;
              param.dim = value[name.size() + 8] - '0';
              ok = isInteger;
            }
          }
        }
        if (named && !attention) {
          r.fail(at + ".value",
                 show(value) + " names a tensor of attention kernels; a " +
                     opName(spec.op) +
                     " kernel passes its tensors as operand[i] and result[i]");
          return;
        }
        // Attention's sizes come from its query and key; the other ops
        // have their head counts, and every size name of their function.
        for (const char *sz : sizes)
          if (value == sz &&
              (attention || value == "Hkv" ||
               (value == "Hq" && (spec.op == KernelOp::SelectBlocks ||
                                  branches)))) {
            named = true;
            param.source = CudaParam::Source::Size;
            param.size = sz;
            ok = isInteger;
          }
        // A persistent grid's dynamic schedule: a zeroed counter of work
        // items drawn so far.
        if (value == "tile_counter" && attention) {
          named = true;
          param.source = CudaParam::Source::TileCounter;
          ok = param.type == CudaParam::Type::Ptr;
          if (ok && !cuda.gridPersistent) {
            r.fail(at + ".value",
                   "\"tile_counter\" is the work-item counter of a persistent "
                   "grid; this kernel's grid is not persistent (\"grid\": "
                   "{\"persistent\": true})");
            return;
          }
        }
        // sparse_branches scales its three branches' logits alike.
        if (value == "scale" && (attention || branches)) {
          named = true;
          param.source = CudaParam::Source::Scale;
          ok = param.type == CudaParam::Type::F32;
        }
        // Any other identifier is a size name of the function, checked
        // when the functions are read.
        if (!named && isIdentifier(value) && value != "scale") {
          param.source = CudaParam::Source::FunctionSize;
          param.size = value;
          ok = isInteger;
        }
      }
      if (!ok) {
        r.fail(at + ".value",
               show(value) + " with type " + show(type) + kParamVocabulary);
        return;
      }
      // The gates tensor exists only for "gates": "gates" kernels, the
      // active list only for "gates": "active" ones.
      const bool wantsGates = param.tensor == "gates",
                 wantsActive =
                     param.tensor == "active" || param.size == "active_count";
      if (param.source != CudaParam::Source::FunctionSize &&
          ((wantsGates && gates != GatesKind::Gates) ||
           (wantsActive && gates != GatesKind::Active))) {
        r.fail(at + ".value",
               show(value) + " needs a kernel with \"gates\": " +
                   (wantsGates ? "\"gates\"" : "\"active\"") +
                   "; this one has \"gates\": " + show(gatesName(gates)));
        return;
      }
      cuda.params.push_back(param);
    }
    // A gated kernel that is not handed its gates would compute (and write)
    // the gated-off pairs: refuse it rather than run it wrongly.
    auto passes = [&](const std::string &name, int operand, int result) {
      return std::any_of(
          cuda.params.begin(), cuda.params.end(), [&](const CudaParam &p) {
            return p.source == CudaParam::Source::Tensor &&
                   ((!name.empty() && p.tensor == name) ||
                    (operand >= 0 && p.operand == operand) ||
                    (result >= 0 && p.result == result));
          });
    };
    if (!r.failed() && gates != GatesKind::None) {
      const char *needed = gatesName(gates);
      const bool passed = passes(needed, 3, -1);
      if (!passed)
        r.fail(where + ".params",
               std::string("a kernel with \"gates\": ") + show(needed) +
                   " must take the " +
                   (gates == GatesKind::Gates ? "gates tensor" : "active list") +
                   " as a parameter ({\"type\": \"ptr\", \"value\": " +
                   show(needed) + "}); none of its " +
                   std::to_string(cuda.params.size()) + " parameters does");
    }
    // Likewise every tensor of a kernel that would otherwise read or write
    // memory it was not given: a blocks list, and every operand and result
    // of the other ops.
    for (size_t i = 0; i < operandTypes.size() && !r.failed(); ++i)
      if ((!attention || static_cast<int>(i) == spec.blocksOperand()) &&
          !passes("", static_cast<int>(i), -1))
        r.fail(where + ".params",
               std::string("the kernel's ") + operandTypes[i].role +
                   " (operand " + std::to_string(i) +
                   ") is none of its parameters; expected {\"type\": "
                   "\"ptr\", \"value\": \"operand[" + std::to_string(i) +
                   "]\"}");
    for (size_t i = 0; i < resultTypes.size() && !attention && !r.failed(); ++i)
      if (!passes("", -1, static_cast<int>(i)))
        r.fail(where + ".params",
               std::string("the kernel's ") + resultTypes[i].role +
                   " (result " + std::to_string(i) +
                   ") is none of its parameters; expected {\"type\": "
                   "\"ptr\", \"value\": \"result[" + std::to_string(i) +
                   "]\"}");
  }
}

/// Reads an integer field of `obj` that must be present, within [min, max].
int64_t readCount(Reader &r, const json::Value &obj, const char *key,
                  const std::string &where, int64_t min, int64_t max) {
  int64_t value = 0;
  r.integer(obj, key, where, value, min, max);
  return value;
}

/// A list of argument numbers (`operand_args` or `result_args`) of exactly
/// the op's count, named by `roles`.
void readArgs(Reader &r, const json::Value &k, const char *key,
              const std::string &where, const std::vector<OperandType> &roles,
              std::vector<int64_t> &out) {
  const json::Value *args = r.array(k, key, where, 8);
  if (!args)
    return;
  if (args->items.size() != roles.size()) {
    std::string names;
    for (const OperandType &t : roles)
      names += (names.empty() ? "" : ", ") + std::string(t.role);
    r.fail(Reader::join(where, key),
           "must have " + std::to_string(roles.size()) + " entries (" + names +
               "), found " + std::to_string(args->items.size()));
    return;
  }
  for (size_t i = 0; i < roles.size(); ++i) {
    int64_t arg = 0;
    if (!r.checkInteger(args->items[i], where + "." + index(key, i), arg, 0,
                        kMaxArguments - 1))
      return;
    out.push_back(arg);
  }
}

void readKernel(Reader &r, const json::Value &k, const std::string &where0,
                const Manifest &m, KernelSpec &spec) {
  if (!k.isObject()) {
    r.fail(where0, std::string("must be an object, found ") +
                       json::kindName(k.kind));
    return;
  }
  if (!r.name(k, "name", where0, spec.name))
    return;
  const std::string where = where0 + " (" + show(spec.name) + ")";
  spec.path = where;
  std::string op = "attention";
  if (k.find("op") && !r.string(k, "op", where, op))
    return;
  if (op == "attention") {
    spec.op = KernelOp::Attention;
  } else if (op == "select_blocks") {
    spec.op = KernelOp::SelectBlocks;
  } else if (op == "compress_kv") {
    spec.op = KernelOp::CompressKV;
  } else if (op == "sparse_branches") {
    spec.op = KernelOp::SparseBranches;
  } else {
    r.fail(where + ".op", show(op) + " is not an op this runtime runs "
                                     "(attention, select_blocks, compress_kv, "
                                     "sparse_branches)");
    return;
  }
  std::string device = "cpu";
  if (k.find("device") && !r.string(k, "device", where, device))
    return;
  if (device == "cpu") {
    spec.device = KernelDevice::CPU;
  } else if (device == "cuda") {
    spec.device = KernelDevice::CUDA;
  } else {
    r.fail(where + ".device", show(device) + " is not \"cpu\" or \"cuda\"");
    return;
  }
  r.name(k, "source", where, spec.source);
  readDtype(r, k, where, spec.dtype, /*tensorOnly=*/true);
  r.integer(k, "head_dim", where, spec.headDim, 1, 1 << 16);
  spec.valueDim = spec.headDim;
  if (k.find("value_dim"))
    r.integer(k, "value_dim", where, spec.valueDim, 1, 1 << 16);
  // compress_kv works per KV head only; it has no query heads.
  if (spec.op != KernelOp::CompressKV)
    r.integer(k, "query_heads", where, spec.queryHeads, 1, 1 << 20);
  r.integer(k, "key_heads", where, spec.keyHeads, 1, 1 << 20);
  if (!r.failed() && spec.op != KernelOp::CompressKV &&
      spec.queryHeads % spec.keyHeads != 0)
    r.fail(where, "query_heads (" + std::to_string(spec.queryHeads) +
                      ") is not a multiple of key_heads (" +
                      std::to_string(spec.keyHeads) + ")");
  for (auto [key, field] : {std::pair<const char *, int64_t *>{"batch", &spec.batch},
                            {"query_len", &spec.queryLen},
                            {"key_len", &spec.keyLen}}) {
    if (k.find(key) && r.integer(k, key, where, *field, -1, kMaxStaticSize) &&
        *field == 0)
      r.fail(Reader::join(where, key), "must be -1 (dynamic) or at least 1");
  }
  // Gates belong to attention; the other ops may say "not gated" only.
  if (spec.op == KernelOp::Attention || k.find("gated"))
    r.boolean(k, "gated", where, spec.gated);
  if (!r.failed() && spec.gated && spec.op != KernelOp::Attention) {
    r.fail(where + ".gated",
           std::string("a ") + opName(spec.op) + " kernel is never gated");
    return;
  }
  std::string gates = spec.gated ? "gates" : "none";
  if (k.find("gates"))
    r.string(k, "gates", where, gates);
  if (r.failed())
    return;
  if (gates == "none" && !spec.gated) {
    spec.gates = GatesKind::None;
  } else if (gates == "gates" && spec.gated) {
    spec.gates = GatesKind::Gates;
  } else if (gates == "active" && spec.gated) {
    spec.gates = GatesKind::Active;
  } else {
    r.fail(where + ".gates",
           show(gates) + (spec.gated ? " does not fit a gated kernel "
                                       "(\"gates\" or \"active\")"
                                     : " does not fit a kernel that is not "
                                       "gated (\"none\")"));
    return;
  }

  // The op's own fields (docs/sparse-projection.md, section 3).
  constexpr int64_t kMaxBlock = int64_t(1) << 20;
  // A blocks list's geometry: optional for attention, required for
  // sparse_branches (its selected branch).
  auto readBlocks = [&] {
    const json::Value *b = r.get(k, "blocks", where, json::Kind::Object);
    if (!b)
      return;
    const std::string at = where + ".blocks";
    spec.blocks.queryBlock = readCount(r, *b, "query_block", at, 1, kMaxBlock);
    spec.blocks.keyBlock = readCount(r, *b, "key_block", at, 1, kMaxBlock);
    spec.blocks.slots = readCount(r, *b, "slots", at, 1, kMaxBlock);
    r.boolean(*b, "causal", at, spec.blocks.causal);
  };
  if (spec.op == KernelOp::Attention && k.find("blocks")) {
    spec.hasBlocks = true;
    readBlocks();
  } else if (spec.op == KernelOp::SparseBranches) {
    BranchesSpec &br = spec.branches;
    br.compressWindow =
        readCount(r, k, "compress_window", where, 1, kMaxBlock);
    br.compressStride =
        readCount(r, k, "compress_stride", where, 1, kMaxBlock);
    r.boolean(k, "causal", where, br.causal);
    if (!r.failed())
      readBlocks();
    // The window branch's pattern: attribute text for tools (attn-run's
    // reference parses it from manifest.json). The kernel has it compiled
    // in, so the runtime only requires a name.
    r.name(k, "pattern", where, br.pattern);
    std::string text;
    if (r.string(k, "weights_dtype", where, text) &&
        (!parseDtype(text, br.weightsDtype) ||
         br.weightsDtype == ATTN_DTYPE_I32 ||
         br.weightsDtype == ATTN_DTYPE_BOOL))
      r.fail(where + ".weights_dtype",
             show(text) + " is not a float type (f32, f16, bf16)");
  } else if (spec.op == KernelOp::SelectBlocks) {
    SelectSpec &sel = spec.select;
    sel.queryBlock = readCount(r, k, "query_block", where, 1, kMaxBlock);
    sel.keyBlock = readCount(r, k, "key_block", where, 1, kMaxBlock);
    sel.topK = readCount(r, k, "top_k", where, 1, kMaxBlock);
    sel.keepSink = readCount(r, k, "keep_sink", where, 0, kMaxBlock);
    sel.keepLocal = readCount(r, k, "keep_local", where, 0, kMaxBlock);
    r.boolean(k, "causal", where, sel.causal);
    r.boolean(k, "pooled_keys", where, sel.pooledKeys);
    if (k.find("max_key_blocks"))
      sel.maxKeyBlocks =
          readCount(r, k, "max_key_blocks", where, 1, kMaxStaticSize);
  } else if (spec.op == KernelOp::CompressKV) {
    CompressSpec &c = spec.compress;
    c.block = readCount(r, k, "window", where, 1, kMaxBlock);
    c.stride = readCount(r, k, "stride", where, 1, kMaxBlock);
    std::string method;
    if (r.string(k, "method", where, method)) {
      if (method != "mean" && method != "linear") {
        r.fail(where + ".method",
               show(method) + " is not \"mean\" or \"linear\"");
        return;
      }
      c.linear = method == "linear";
    }
    // The weights' type matters only when there are weights.
    if (c.linear || k.find("weights_dtype")) {
      std::string text;
      if (r.string(k, "weights_dtype", where, text) &&
          (!parseDtype(text, c.weightsDtype) ||
           c.weightsDtype == ATTN_DTYPE_I32 ||
           c.weightsDtype == ATTN_DTYPE_BOOL))
        r.fail(where + ".weights_dtype",
               show(text) + " is not a float type (f32, f16, bf16)");
    }
  }
  if (r.failed())
    return;

  readArgs(r, k, "operand_args", where, spec.operandTypes(), spec.operandArgs);
  // result_args is every kernel's; attention kernels also write
  // result_index (all that runtimes before select_blocks read), and the two
  // must agree.
  const bool hasIndex = k.find("result_index") != nullptr;
  if (spec.op != KernelOp::Attention || k.find("result_args") || !hasIndex)
    readArgs(r, k, "result_args", where, spec.resultTypes(), spec.resultArgs);
  if (spec.op == KernelOp::Attention && hasIndex) {
    r.integer(k, "result_index", where, spec.resultIndex, 0,
              kMaxArguments - 1);
    if (spec.resultArgs.empty())
      spec.resultArgs.push_back(spec.resultIndex);
    else if (!r.failed() && spec.resultArgs[0] != spec.resultIndex)
      r.fail(where + ".result_index",
             "is " + std::to_string(spec.resultIndex) +
                 ", but result_args[0] is " +
                 std::to_string(spec.resultArgs[0]) + "; they name one output");
  }
  if (r.failed())
    return;
  spec.resultIndex = spec.resultArgs[0];

  if (spec.device == KernelDevice::CPU) {
    for (auto [key, field] :
         {std::pair<const char *, std::string *>{"symbol", &spec.symbol},
          {"work_items_symbol", &spec.workItemsSymbol}}) {
      if (!r.name(k, key, where, *field))
        return;
      if (!std::all_of(field->begin(), field->end(), isSymbolChar)) {
        r.fail(Reader::join(where, key),
               show(*field) + " is not a C symbol name");
        return;
      }
    }
  } else {
    readCuda(r, k, where, m, spec);
  }
}

/// Every size name of `f`: those its tensors name and its derived ones.
std::set<std::string> sizeNames(const FunctionSpec &f) {
  std::set<std::string> names;
  for (const auto *list : {&f.inputs, &f.outputs})
    for (const TensorSpec &t : *list)
      for (const Dim &d : t.shape)
        if (d.isDynamic())
          names.insert(d.symbol);
  for (const DerivedSize &d : f.derivedSizes)
    names.insert(d.name);
  return names;
}

/// Checks that kernel `k` of function `f` can index f's tensors and that
/// their declared types are the ones the kernel takes.
void checkKernelOperands(Reader &r, const FunctionSpec &f, const KernelSpec &k,
                         const std::string &where) {
  const std::vector<OperandType> operands = k.operandTypes(),
                                 results = k.resultTypes();
  for (int output = 0; output < 2 && !r.failed(); ++output) {
    const std::vector<int64_t> &args = output ? k.resultArgs : k.operandArgs;
    const std::vector<OperandType> &types = output ? results : operands;
    const std::vector<TensorSpec> &tensors = output ? f.outputs : f.inputs;
    const char *key = output ? "result_args" : "operand_args";
    const char *noun = output ? "output" : "input";
    for (size_t i = 0; i < args.size() && !r.failed(); ++i) {
      const int64_t arg = args[i];
      const std::string at = where + "." + index(key, i);
      if (arg >= static_cast<int64_t>(tensors.size())) {
        r.fail(at, "names " + std::string(noun) + " " + std::to_string(arg) +
                       " of function " + show(f.name) + ", which has " +
                       std::to_string(tensors.size()));
        return;
      }
      const TensorSpec &t = tensors[arg];
      if (t.dtype != types[i].dtype || t.rank() != types[i].rank) {
        r.fail(at, std::string("the ") + types[i].role + " (" + noun + " " +
                       std::to_string(arg) + " of " + show(f.name) +
                       ") is declared " + dtypeName(t.dtype) + " of rank " +
                       std::to_string(t.rank()) + "; the kernel " +
                       (output ? "writes " : "takes ") +
                       dtypeName(types[i].dtype) + " of rank " +
                       std::to_string(types[i].rank));
        return;
      }
    }
  }
  if (r.failed())
    return;
  // Fixed sizes the function declares must be the ones the kernel was
  // compiled for (dynamic ones are checked at each call).
  auto fixed = [&](const TensorSpec &t, int dim, int64_t expected,
                   const std::string &what, const std::string &tensor) {
    if (!r.failed() && !t.shape[dim].isDynamic() && expected >= 1 &&
        t.shape[dim].size != expected)
      r.fail(where, "the " + tensor + " of " + show(f.name) + " has " + what +
                        " " + std::to_string(t.shape[dim].size) +
                        ", the kernel was compiled for " +
                        std::to_string(expected));
  };
  auto in = [&](size_t i) -> const TensorSpec & {
    return f.inputs[k.operandArgs[i]];
  };
  auto out = [&](size_t i) -> const TensorSpec & {
    return f.outputs[k.resultArgs[i]];
  };
  switch (k.op) {
  case KernelOp::Attention:
    fixed(in(0), 1, k.queryHeads, "query heads", "query");
    fixed(in(0), 3, k.headDim, "head dim", "query");
    fixed(in(1), 1, k.keyHeads, "key/value heads", "key");
    fixed(in(1), 3, k.headDim, "head dim", "key");
    fixed(in(2), 1, k.keyHeads, "key/value heads", "value");
    fixed(in(2), 3, k.valueDim, "value head dim", "value");
    fixed(out(0), 1, k.queryHeads, "query heads", "output");
    fixed(out(0), 3, k.valueDim, "value head dim", "output");
    if (k.hasBlocks) {
      fixed(in(k.blocksOperand()), 1, k.keyHeads, "key/value heads",
            "blocks list");
      fixed(in(k.blocksOperand()), 3, k.blocks.slots, "slots", "blocks list");
    }
    break;
  case KernelOp::SelectBlocks:
    fixed(in(0), 1, k.queryHeads, "query heads", "query");
    fixed(in(0), 3, k.headDim, "head dim", "query");
    fixed(in(1), 1, k.keyHeads, "key heads", "key");
    fixed(in(1), 3, k.headDim, "head dim", "key");
    if (k.select.pooledKeys) {
      fixed(in(2), 1, k.keyHeads, "key heads", "pooled keys");
      fixed(in(2), 3, k.headDim, "head dim", "pooled keys");
    }
    fixed(out(0), 1, k.keyHeads, "key heads", "indices");
    fixed(out(0), 3, k.select.topK, "slots (top_k)", "indices");
    break;
  case KernelOp::CompressKV:
    fixed(in(0), 1, k.keyHeads, "key heads", "key");
    fixed(in(0), 3, k.headDim, "head dim", "key");
    fixed(in(1), 1, k.keyHeads, "key heads", "value");
    fixed(in(1), 3, k.valueDim, "value head dim", "value");
    if (k.compress.linear) {
      fixed(in(2), 0, k.keyHeads, "key heads", "weights");
      fixed(in(2), 1, k.compress.block, "window positions",
            "weights");
    }
    fixed(out(0), 1, k.keyHeads, "key heads", "compressed key");
    fixed(out(0), 3, k.headDim, "head dim", "compressed key");
    fixed(out(1), 1, k.keyHeads, "key heads", "compressed value");
    fixed(out(1), 3, k.valueDim, "value head dim", "compressed value");
    break;
  case KernelOp::SparseBranches: {
    using B = BranchesSpec;
    fixed(in(B::kQuery), 1, k.queryHeads, "query heads", "query");
    fixed(in(B::kQuery), 3, k.headDim, "head dim", "query");
    fixed(in(B::kKey), 1, k.keyHeads, "key/value heads", "key");
    fixed(in(B::kKey), 3, k.headDim, "head dim", "key");
    fixed(in(B::kValue), 1, k.keyHeads, "key/value heads", "value");
    fixed(in(B::kValue), 3, k.valueDim, "value head dim", "value");
    fixed(in(B::kCompressedKey), 1, k.keyHeads, "key/value heads",
          "compressed key");
    fixed(in(B::kCompressedKey), 3, k.headDim, "head dim", "compressed key");
    fixed(in(B::kCompressedValue), 1, k.keyHeads, "key/value heads",
          "compressed value");
    fixed(in(B::kCompressedValue), 3, k.valueDim, "value head dim",
          "compressed value");
    fixed(in(B::kBlocks), 1, k.keyHeads, "key/value heads", "blocks list");
    fixed(in(B::kBlocks), 3, k.blocks.slots, "slots", "blocks list");
    fixed(in(B::kWeights), 1, k.queryHeads, "query heads", "weights");
    fixed(in(B::kWeights), 3, 3, "branch weights", "weights");
    fixed(out(0), 1, k.queryHeads, "query heads", "output");
    fixed(out(0), 3, k.valueDim, "value head dim", "output");
    break;
  }
  }
  if (r.failed() || k.device != KernelDevice::CUDA)
    return;
  // The sizes a CUDA kernel is given by name must be the function's.
  const std::set<std::string> names = sizeNames(f);
  auto listed = [&] {
    std::string text;
    for (const std::string &n : names)
      text += (text.empty() ? "" : ", ") + n;
    return text.empty() ? std::string("none") : text;
  };
  for (size_t i = 0; i < k.cuda.params.size() && !r.failed(); ++i) {
    const CudaParam &p = k.cuda.params[i];
    if (p.source == CudaParam::Source::FunctionSize && !names.count(p.size))
      r.fail(k.path + ".cuda." + index("params", i) + ".value",
             show(p.size) + " with type " +
                 show(p.type == CudaParam::Type::I32 ? "i32" : "i64") +
                 kParamVocabulary + "; function " + show(f.name) +
                 " has the size names " + listed());
  }
  if (!r.failed() && k.cuda.gridRule == kGridTilesXKvPairs &&
      k.cuda.gridSizeShape.source != CudaParam::Source::Shape &&
      !names.count(k.cuda.gridSize))
    r.fail(k.path + ".cuda.grid.size",
           show(k.cuda.gridSize) + " is not a size name of function " +
               show(f.name) + " (it has " + listed() + ")");
}

/// Reads `derived_sizes` of function `f` (whose inputs are read): each
/// names a size its inputs name or an earlier derived one.
void readDerivedSizes(Reader &r, const json::Value &v, const std::string &where,
                      FunctionSpec &f) {
  const json::Value *list = r.array(v, "derived_sizes", where, kMaxArguments,
                                    /*required=*/false);
  if (!list)
    return;
  // The sizes the inputs bind: those they name that are not derived (an
  // input naming a derived size is checked against it, not bound from it).
  std::set<std::string> derived, bound;
  for (const json::Value &e : list->items)
    if (const json::Value *name = e.isObject() ? e.find("name") : nullptr)
      if (name->isString())
        derived.insert(name->string);
  for (const TensorSpec &t : f.inputs)
    for (const Dim &d : t.shape)
      if (d.isDynamic() && !derived.count(d.symbol))
        bound.insert(d.symbol);
  for (size_t i = 0; i < list->items.size() && !r.failed(); ++i) {
    const json::Value &e = list->items[i];
    const std::string at = where + "." + index("derived_sizes", i);
    if (!e.isObject()) {
      r.fail(at, std::string("must be an object, found ") +
                     json::kindName(e.kind));
      return;
    }
    DerivedSize d;
    if (!r.name(e, "name", at, d.name))
      return;
    if (d.name.size() > 64) {
      r.fail(at + ".name", "a size's name must have 1 to 64 bytes");
      return;
    }
    if (f.findDerived(d.name)) {
      r.fail(at + ".name", show(d.name) + " is derived twice");
      return;
    }
    const bool ceilDiv = e.find("ceil_div") != nullptr,
               windows = e.find("windows") != nullptr;
    if (ceilDiv == windows) {
      r.fail(at, "must have exactly one of \"ceil_div\": [size, divisor] "
                 "and \"windows\": [size, block, stride]");
      return;
    }
    d.kind = ceilDiv ? DerivedSize::Kind::CeilDiv : DerivedSize::Kind::Windows;
    const char *key = ceilDiv ? "ceil_div" : "windows";
    const size_t arity = ceilDiv ? 2 : 3;
    const json::Value *args = r.array(e, key, at, arity);
    if (!args)
      return;
    const std::string argsAt = at + "." + key;
    if (args->items.size() != arity) {
      r.fail(argsAt, ceilDiv ? "must be [size, divisor]"
                             : "must be [size, block, stride]");
      return;
    }
    if (!args->items[0].isString()) {
      r.fail(argsAt + "[0]", std::string("must be a size name, found ") +
                                 json::kindName(args->items[0].kind));
      return;
    }
    d.base = args->items[0].string;
    if (!bound.count(d.base)) {
      std::string known;
      for (const std::string &n : bound)
        known += (known.empty() ? "" : ", ") + n;
      r.fail(argsAt + "[0]",
             show(d.base) + " is not a size the function's inputs name or an "
                            "earlier derived one (" +
                 (known.empty() ? std::string("there are none") : known) +
                 ")");
      return;
    }
    if (!r.checkInteger(args->items[1], argsAt + "[1]", d.a, 1,
                        kMaxStaticSize) ||
        (!ceilDiv && !r.checkInteger(args->items[2], argsAt + "[2]", d.b, 1,
                                     kMaxStaticSize)))
      return;
    bound.insert(d.name);
    f.derivedSizes.push_back(std::move(d));
  }
}

void readFunctions(Reader &r, const json::Value &root, Manifest &m) {
  const json::Value *functions = r.array(root, "functions", "", kMaxEntries);
  if (!functions)
    return;
  std::vector<int> owner(m.kernels.size(), -1);
  for (size_t i = 0; i < functions->items.size() && !r.failed(); ++i) {
    const json::Value &v = functions->items[i];
    const std::string where0 = index("functions", i);
    if (!v.isObject()) {
      r.fail(where0, std::string("must be an object, found ") +
                         json::kindName(v.kind));
      return;
    }
    FunctionSpec f;
    if (!r.name(v, "name", where0, f.name))
      return;
    const std::string where = where0 + " (" + show(f.name) + ")";
    if (m.findFunction(f.name)) {
      r.fail(where, "a second function of that name");
      return;
    }
    for (auto [key, list] :
         {std::pair<const char *, std::vector<TensorSpec> *>{"inputs",
                                                             &f.inputs},
          {"outputs", &f.outputs}}) {
      const json::Value *tensors = r.array(v, key, where, kMaxArguments);
      if (!tensors)
        return;
      for (size_t t = 0; t < tensors->items.size() && !r.failed(); ++t) {
        list->emplace_back();
        readTensor(r, tensors->items[t], where + "." + index(key, t),
                   list->back());
      }
    }
    if (!r.failed() && f.outputs.empty())
      r.fail(where + ".outputs", "must not be empty");
    readDerivedSizes(r, v, where, f);
    const json::Value *kernels = r.array(v, "kernels", where, kMaxEntries);
    if (!kernels)
      return;
    if (kernels->items.empty()) {
      r.fail(where + ".kernels", "must not be empty");
      return;
    }
    std::vector<int> writer(f.outputs.size(), -1);
    for (size_t j = 0; j < kernels->items.size() && !r.failed(); ++j) {
      const json::Value &name = kernels->items[j];
      const std::string at = where + "." + index("kernels", j);
      if (!name.isString()) {
        r.fail(at, std::string("must be a kernel name, found ") +
                       json::kindName(name.kind));
        return;
      }
      size_t found = m.kernels.size();
      for (size_t n = 0; n < m.kernels.size(); ++n)
        if (m.kernels[n].name == name.string)
          found = n;
      if (found == m.kernels.size()) {
        r.fail(at, show(name.string) + " is not in \"kernels\"");
        return;
      }
      const KernelSpec &k = m.kernels[found];
      if (k.source != f.name) {
        r.fail(at, "kernel " + show(k.name) + " has source " +
                       show(k.source) + ", not " + show(f.name));
        return;
      }
      if (owner[found] >= 0) {
        r.fail(at, "kernel " + show(k.name) + " is listed twice");
        return;
      }
      owner[found] = static_cast<int>(i);
      checkKernelOperands(r, f, k, "kernel " + show(k.name));
      if (r.failed())
        return;
      for (size_t a = 0; a < k.resultArgs.size(); ++a) {
        const int64_t o = k.resultArgs[a];
        if (writer[o] >= 0) {
          r.fail(at, (writer[o] == static_cast<int>(found)
                          ? "kernel " + show(k.name) + " lists twice"
                          : "kernels " + show(m.kernels[writer[o]].name) +
                                " and " + show(k.name) + " both write") +
                         " output " + std::to_string(o));
          return;
        }
        writer[o] = static_cast<int>(found);
      }
      f.kernels.push_back(found);
      f.usesCuda |= k.device == KernelDevice::CUDA;
    }
    for (size_t o = 0; o < writer.size() && !r.failed(); ++o)
      if (writer[o] < 0)
        r.fail(where + "." + index("outputs", o),
               "is written by none of the function's kernels");
    m.functions.push_back(std::move(f));
  }
  for (size_t n = 0; n < m.kernels.size() && !r.failed(); ++n)
    if (owner[n] < 0)
      r.fail("kernels", "kernel " + show(m.kernels[n].name) + " (source " +
                            show(m.kernels[n].source) +
                            ") is listed by no function");
}

} // namespace

Status attn::rt::parseManifest(std::string_view text, Manifest &out) {
  out = Manifest();
  json::Value root;
  std::string error;
  if (!json::parse(text, root, error))
    return Status::error(ATTN_ERROR_CORRUPT_ARTIFACT,
                         "manifest.json is not valid JSON: " + error);
  Reader r;
  if (!root.isObject()) {
    r.fail("", std::string("must hold a JSON object, found ") +
                   json::kindName(root.kind));
    return r.result();
  }

  // Format and version first: a newer manifest may be shaped differently,
  // and "version 2 is not supported" is the useful message for it.
  const json::Value *format = root.find("format");
  if (!format || !format->isString() || format->string != kArtifactFormat) {
    r.fail("format",
           format ? (format->isString()
                         ? "is " + show(format->string) + ", expected \"" +
                               kArtifactFormat + "\""
                         : std::string("must be the string \"") +
                               kArtifactFormat + "\"")
                  : std::string("missing: this is not an attn artifact "
                                "manifest (\"format\": \"") +
                        kArtifactFormat + "\")");
    return r.result();
  }
  const json::Value *version = root.find("version");
  if (!version || !version->isNumber() || !version->isInteger) {
    r.fail("version", version ? "must be an integer" : "missing");
    return r.result();
  }
  if (version->integer != kArtifactVersion) {
    r.fail("", "artifact format version " + std::to_string(version->integer) +
                   " is not supported: this runtime reads version " +
                   std::to_string(kArtifactVersion),
           ATTN_ERROR_VERSION);
    return r.result();
  }
  Manifest m;
  m.version = version->integer;

  // Informational strings: checked for type only when present.
  for (auto [key, field] : {std::pair<const char *, std::string *>{
                                "compiler", &m.compiler},
                            {"target", &m.target},
                            {"table_target", &m.tableTarget},
                            {"llvm_cpu", &m.llvmCpu},
                            {"triple", &m.triple}})
    r.string(root, key, "", *field, /*required=*/false);

  readFiles(r, root, m);

  const json::Value *kernels = r.array(root, "kernels", "", kMaxEntries);
  if (kernels) {
    for (size_t i = 0; i < kernels->items.size() && !r.failed(); ++i) {
      KernelSpec k;
      readKernel(r, kernels->items[i], index("kernels", i), m, k);
      if (r.failed())
        break;
      for (const KernelSpec &other : m.kernels)
        if (other.name == k.name)
          r.fail(index("kernels", i), "a second kernel named " + show(k.name));
      m.kernels.push_back(std::move(k));
    }
  }
  if (r.failed())
    return r.result();

  const bool anyCpu =
      std::any_of(m.kernels.begin(), m.kernels.end(), [](const KernelSpec &k) {
        return k.device == KernelDevice::CPU;
      });
  // The library and host requirements are what CPU kernels need; an
  // artifact of GPU kernels only may leave them out.
  if (r.name(root, "library", "", m.library, anyCpu) && !r.failed()) {
    std::string why;
    if (!safePath(m.library, why))
      r.fail("library", show(m.library) + " " + why);
    requireListed(r, m, "library", m.library);
  }
  if (const json::Value *host = r.get(root, "host_requirements", "",
                                      json::Kind::Object, anyCpu)) {
    m.hasHostRequirements = true;
    r.name(*host, "arch", "host_requirements", m.arch);
    if (const json::Value *features =
            r.array(*host, "cpu_features", "host_requirements", 256)) {
      for (size_t i = 0; i < features->items.size() && !r.failed(); ++i) {
        const json::Value &f = features->items[i];
        const std::string at = "host_requirements." + index("cpu_features", i);
        if (!f.isString()) {
          r.fail(at, std::string("must be a string, found ") +
                         json::kindName(f.kind));
          break;
        }
        if (r.checkName(f.string, at))
          m.cpuFeatures.push_back(f.string);
      }
    }
  }
  readFunctions(r, root, m);
  if (r.failed())
    return r.result();
  out = std::move(m);
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

namespace {

std::string errnoText(int error) { return std::strerror(error); }

/// Opens `root/path` for reading as a regular file.
Status openRegular(const std::string &root, const std::string &path, int &fd,
                   struct stat &st) {
  const std::string full = root + "/" + path;
  // O_NONBLOCK: a FIFO planted under a listed name must not hang open().
  fd = ::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    return Status::error(e == ENOENT ? ATTN_ERROR_CORRUPT_ARTIFACT
                                     : ATTN_ERROR_IO,
                         "artifact file '" + path + "' " +
                             (e == ENOENT ? "is missing"
                                          : "cannot be opened: " +
                                                errnoText(e)) +
                             " (" + full + ")");
  }
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fd = -1;
    return Status::error(ATTN_ERROR_IO, "cannot stat artifact file '" + path +
                                            "': " + errnoText(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fd = -1;
    return Status::error(ATTN_ERROR_CORRUPT_ARTIFACT,
                         "artifact file '" + path +
                             "' is not a regular file (" + full + ")");
  }
  return Status::success();
}

} // namespace

Status DirectorySource::size(const std::string &path, uint64_t &bytes) {
  int fd;
  struct stat st;
  Status s = openRegular(root, path, fd, st);
  if (!s.ok())
    return s;
  ::close(fd);
  bytes = static_cast<uint64_t>(st.st_size);
  return Status::success();
}

Status DirectorySource::sha256(const std::string &path, std::string &hex) {
  int fd;
  struct stat st;
  Status s = openRegular(root, path, fd, st);
  if (!s.ok())
    return s;
  Sha256 hash;
  std::vector<char> buffer(1 << 16);
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::error(ATTN_ERROR_IO, "cannot read artifact file '" +
                                              path + "': " + errnoText(e));
    }
    if (n == 0)
      break;
    hash.update(buffer.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  hex = hash.hexDigest();
  return Status::success();
}

Status attn::rt::verifyFiles(const Manifest &manifest, FileSource &source) {
  for (const FileSpec &file : manifest.files) {
    uint64_t bytes = 0;
    Status s = source.size(file.path, bytes);
    if (!s.ok())
      return s;
    if (bytes != file.size)
      return Status::error(ATTN_ERROR_CORRUPT_ARTIFACT,
                           "artifact file '" + file.path + "' has " +
                               std::to_string(bytes) +
                               " bytes, the manifest lists " +
                               std::to_string(file.size) +
                               " (truncated or replaced?)");
    std::string hex;
    s = source.sha256(file.path, hex);
    if (!s.ok())
      return s;
    if (hex != file.sha256)
      return Status::error(ATTN_ERROR_CORRUPT_ARTIFACT,
                           "artifact file '" + file.path +
                               "' has SHA-256 " + hex +
                               ", the manifest lists " + file.sha256 +
                               " (corrupt or replaced)");
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Host
//===----------------------------------------------------------------------===//

Status attn::rt::checkHost(const Manifest &manifest, const HostInfo &host) {
  if (!manifest.hasHostRequirements)
    return Status::success();
  const std::string target =
      manifest.target.empty() ? "" : " (target '" + manifest.target + "')";
  if (manifest.arch != host.arch)
    return Status::error(ATTN_ERROR_TARGET_MISMATCH,
                         "the artifact" + target + " is for " +
                             manifest.arch + " CPUs; this machine is " +
                             host.arch);
  const std::vector<std::string> &known = knownCpuFeatures(host.arch);
  std::string missing, unknown;
  for (const std::string &feature : manifest.cpuFeatures) {
    if (std::find(host.features.begin(), host.features.end(), feature) !=
        host.features.end())
      continue;
    std::string &list =
        std::find(known.begin(), known.end(), feature) == known.end() ? unknown
                                                                       : missing;
    list += (list.empty() ? "" : ", ") + feature;
  }
  if (missing.empty() && unknown.empty())
    return Status::success();
  std::string message = "this CPU cannot run the artifact" + target + ":";
  if (!missing.empty())
    message += " it lacks " + missing + ";";
  if (!unknown.empty())
    message += " the runtime cannot detect " + unknown +
               " (unknown feature names count as missing);";
  message += " recompile for this machine (attn-compile --target=native)";
  if (host.arch == "x86_64")
    message += " or for an older CPU (--target=x86-64-v3)";
  return Status::error(ATTN_ERROR_TARGET_MISMATCH, message);
}

//===----------------------------------------------------------------------===//
// CUDA images
//===----------------------------------------------------------------------===//

namespace {

/// "sm_90a" -> (9, 0, true); false when `chip` is not of that form.
bool parseChip(const std::string &chip, int &major, int &minor,
               bool &specific) {
  if (chip.rfind("sm_", 0) != 0)
    return false;
  std::string digits = chip.substr(3);
  specific = !digits.empty() && digits.back() == 'a';
  if (specific)
    digits.pop_back();
  if (digits.size() < 2 || digits.size() > 3 ||
      !std::all_of(digits.begin(), digits.end(),
                   [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  minor = digits.back() - '0';
  major = std::stoi(digits.substr(0, digits.size() - 1));
  return true;
}

} // namespace

Status attn::rt::selectCudaImage(const KernelSpec &kernel, int major,
                                 int minor, std::string &file, bool &isPtx) {
  const CudaKernelSpec &cuda = kernel.cuda;
  const std::string chip =
      "sm_" + std::to_string(major) + std::to_string(minor);
  // Exact chip first: the arch-specific build ("sm_90a") uses features the
  // generic one cannot (wgmma, setmaxnreg), so it wins when it matches.
  for (const std::string &name : {chip + "a", chip}) {
    auto it = cuda.binaries.find(name);
    if (it != cuda.binaries.end()) {
      file = it->second;
      isPtx = false;
      return Status::success();
    }
  }
  // SASS runs on later minors of its major version, unless arch-specific.
  int bestMinor = -1;
  for (const auto &[name, path] : cuda.binaries) {
    int mj, mn;
    bool specific;
    if (parseChip(name, mj, mn, specific) && !specific && mj == major &&
        mn < minor && mn > bestMinor) {
      bestMinor = mn;
      file = path;
    }
  }
  if (bestMinor >= 0) {
    isPtx = false;
    return Status::success();
  }
  int mj, mn;
  bool specific;
  if (!cuda.ptxFile.empty() && parseChip(cuda.ptxTarget, mj, mn, specific) &&
      !specific && (mj < major || (mj == major && mn <= minor))) {
    file = cuda.ptxFile;
    isPtx = true;
    return Status::success();
  }
  std::string have;
  for (const auto &entry : cuda.binaries)
    have += (have.empty() ? "" : ", ") + entry.first;
  if (!cuda.ptxFile.empty())
    have += (have.empty() ? "" : ", ") + std::string("PTX for ") +
            cuda.ptxTarget;
  return Status::error(ATTN_ERROR_TARGET_MISMATCH,
                       "kernel '" + kernel.name + "' cannot run on this GPU (" +
                           chip + "): it has " + have);
}
