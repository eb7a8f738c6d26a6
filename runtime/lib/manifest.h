//===- manifest.h - The artifact manifest: model and checks -----*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// What an artifact's manifest.json says (docs/artifact.md is the format's
// definition) and the checks the runtime makes before it trusts it:
//
//   parseManifest   JSON, format name, version, every field's type and
//                   range, and the cross references (functions -> kernels
//                   -> files, argument numbers, output coverage) that the
//                   launcher relies on to index safely;
//   verifyFiles     every listed file's size and SHA-256 (through a
//                   FileSource, so that the fuzzer can use an in-memory one);
//   checkHost       the artifact's CPU architecture and features against
//                   this machine's.
//
// All three take untrusted input and report problems as a Status whose
// message names the field, the file or the feature.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_LIB_MANIFEST_H
#define ATTN_RUNTIME_LIB_MANIFEST_H

#include "attn_runtime/attn_runtime.h"
#include "attn_runtime/cpu_launch.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace attn::rt {

/// The format name and the one version this runtime reads.
inline constexpr const char *kArtifactFormat = "attn-artifact";
inline constexpr int64_t kArtifactVersion = 1;

const char *dtypeName(attn_dtype dtype);
/// Parses "f32", "f16", "bf16", "i32", "bool".
bool parseDtype(std::string_view name, attn_dtype &dtype);
int64_t dtypeBytes(attn_dtype dtype);

/// One dimension of a declared tensor: a fixed size, or a named dynamic one
/// (`symbol`; tensors of one function that name the same symbol must agree).
struct Dim {
  int64_t size = -1;
  std::string symbol;
  bool isDynamic() const { return size < 0; }
};

/// A function argument or result as declared.
struct TensorSpec {
  std::string role; // "query", "key", "gates", "blocks", ...: for messages
                    // and tools only
  attn_dtype dtype = ATTN_DTYPE_F32;
  std::vector<Dim> shape;
  int rank() const { return static_cast<int>(shape.size()); }
};

struct FileSpec {
  std::string path; // relative to the artifact directory
  uint64_t size = 0;
  std::string sha256; // 64 lowercase hex digits
};

enum class KernelDevice { CPU, CUDA };
enum class GatesKind { None, Gates, Active };

/// The op a kernel computes (the kernel's `op` field; docs/artifact.md).
enum class KernelOp { Attention, SelectBlocks, CompressKV, SparseBranches };
const char *opName(KernelOp op);

/// A size a function derives from another (its `derived_sizes`), bound at a
/// call after the sizes its inputs name:
///   CeilDiv  name = ceil(base / a)
///   Windows  name = (base - a) / b + 1, a window of a positions every b
///            (base >= a, or the call is refused)
struct DerivedSize {
  enum class Kind { CeilDiv, Windows };
  std::string name, base;
  Kind kind = Kind::CeilDiv;
  int64_t a = 1, b = 1;
};

/// One kernel parameter of a CUDA entry (docs/artifact.md, "CUDA
/// kernels"): what the runtime passes.
struct CudaParam {
  enum class Type { Ptr, I32, I64, F32 };
  /// Tensor, Stride and Shape name their tensor by `tensor` (attention's
  /// names) or by `operand` / `result` (the generic `operand[i]`,
  /// `result[i]`); Size is one of attention's sizes, FunctionSize a size
  /// name of the kernel's function (derived ones included), bound at the
  /// call.
  /// TensorMap: the device address of a TMA tensor map of query, key,
  /// value or out that the runtime builds at the call (`rows` rows per
  /// box). TileCounter: a 4-byte counter in device memory the runtime zeroes
  /// on the launch's stream before the kernel (a persistent grid's blocks
  /// draw their next work item from it).
  enum class Source {
    Tensor,
    Stride,
    Shape,
    Size,
    FunctionSize,
    Scale,
    TensorMap,
    TileCounter
  };
  std::string name;
  Type type = Type::Ptr;
  Source source = Source::Tensor;
  /// Tensor: query, key, value, out, gates, active; Stride: the same but
  /// active (gates only with "gates": "gates", active only with "active").
  std::string tensor;
  int operand = -1; ///< operand[i]: index into operand_args
  int result = -1;  ///< result[i]: index into result_args
  int dim = 0;      ///< Stride, Shape: the dimension
  /// Size: B, Sq, Skv, pairs, Hq, Hkv, active_count; FunctionSize: the name.
  std::string size;
  /// TensorMap: the rows of one box (a query or key tile, 1 to 256).
  int64_t rows = 0;
};

/// The grid rules this runtime launches (CudaKernelSpec::gridRule):
///   query_tiles_x_pairs   (ceil(Sq / query_tile), B * Hq, 1)
///   query_tiles_x_active  (ceil(Sq / query_tile), active list length, 1)
/// Other names parse (rules are added by name) and are refused at a call.
/// With `"query_tiles": "positions"` in the grid the tiles are aligned in
/// key positions (row q sits at q + Skv - Sq), as attn's block patterns
/// need: ceil(Skv / query_tile) - floor((Skv - Sq) / query_tile) of them
/// (none when Sq = 0) in place of ceil(Sq / query_tile).
inline constexpr const char *kGridQueryTilesXPairs = "query_tiles_x_pairs";
inline constexpr const char *kGridQueryTilesXActive = "query_tiles_x_active";
/// (ceil(size / tile), B * Hkv, 1), `size` a size name of the function:
/// select_blocks and compress_kv kernels, one block row per (batch, KV head).
/// (sparse_branches kernels are launched with query_tiles_x_pairs, one
/// block row per (batch, query head), row-aligned tiles.)
inline constexpr const char *kGridTilesXKvPairs = "tiles_x_kv_pairs";

struct CudaKernelSpec {
  std::string entry;
  std::map<std::string, std::string> binaries; // "sm_90a" -> file
  std::string ptxFile, ptxTarget;               // optional JIT fallback
  int64_t block[3] = {1, 1, 1};
  int64_t dynamicSharedMemory = 0;
  std::string gridRule;
  int64_t gridQueryTile = 0;
  bool gridPositionTiles = false; ///< grid "query_tiles": "positions"
  /// grid "persistent": the grid above is virtual; at most one block per
  /// SM walks it (the kernel takes its extent as parameters).
  bool gridPersistent = false;
  /// tiles_x_kv_pairs: what it tiles, a size name of the function or, when
  /// gridSizeShape.source is Shape, an extent operand[i].shape[j] /
  /// result[i].shape[j].
  std::string gridSize;
  CudaParam gridSizeShape;
  int64_t gridTile = 0; ///< tiles_x_kv_pairs: the tile
  size_t numParams = 0;
  std::vector<CudaParam> params;
  double scale = 0; ///< the kernel's softmax scale (the `scale` field)
};

/// An attention kernel's `blocks` field: it takes an i32
/// [B, Hkv, ceil(Sq / queryBlock), slots] list of key blocks per query
/// block (#attn.selected) as its last operand.
struct BlocksSpec {
  int64_t queryBlock = 0, keyBlock = 0, slots = 0;
  bool causal = false;
};

/// A select_blocks kernel's fields (docs/sparse-projection.md, section 1).
struct SelectSpec {
  int64_t queryBlock = 0, keyBlock = 0, topK = 0, keepSink = 0, keepLocal = 0;
  bool causal = false, pooledKeys = false;
  /// The most key blocks the kernel handles (`max_key_blocks`; the GPU
  /// kernel keeps their scores in shared memory), 0 when unbounded.
  int64_t maxKeyBlocks = 0;
};

/// A compress_kv kernel's fields: windows of `block` positions (the op's
/// attribute; the manifest's `window`, since a CUDA entry's `block` is its
/// thread block) every `stride`.
struct CompressSpec {
  int64_t block = 0, stride = 0;
  bool linear = false; ///< method "linear" (takes weights), else "mean"
  attn_dtype weightsDtype = ATTN_DTYPE_F32;
};

/// A sparse_branches kernel's fields (NSA-style combined attention,
/// docs/sparse-projection.md section 3): the compressed branch attends to
/// compressed keys made by windows of `compressWindow` positions every
/// `compressStride` (causal: slot n is visible from position p iff
/// n * stride + window - 1 <= p); the selected branch to the blocks the
/// `blocks` list names (KernelSpec::blocks, as attention's #attn.selected);
/// the window branch to the keys `pattern` lets through. The three are
/// combined per row with weights of `weightsDtype`.
struct BranchesSpec {
  /// The operands' order (operand_args has these 7 entries).
  enum Operand : int {
    kQuery, kKey, kValue, kCompressedKey, kCompressedValue, kBlocks, kWeights
  };
  int64_t compressWindow = 0, compressStride = 0;
  bool causal = false; ///< the compressed branch's rule
  std::string pattern; ///< the window branch's static pattern (attribute text)
  attn_dtype weightsDtype = ATTN_DTYPE_F32;
};

/// What one operand or result of a kernel is: its element type, rank and
/// name for messages.
struct OperandType {
  attn_dtype dtype = ATTN_DTYPE_F32;
  int rank = 4;
  const char *role = "";
};

struct KernelSpec {
  std::string name, source;
  /// `kernels[i] ("name")`: where messages about the kernel point.
  std::string path;
  KernelOp op = KernelOp::Attention;
  KernelDevice device = KernelDevice::CPU;
  std::string symbol, workItemsSymbol; // CPU
  attn_dtype dtype = ATTN_DTYPE_F32;
  int64_t headDim = 0, valueDim = 0;
  int64_t queryHeads = 0, keyHeads = 0;
  int64_t batch = -1, queryLen = -1, keyLen = -1; // -1: dynamic
  bool gated = false;
  GatesKind gates = GatesKind::None;
  /// The function's input numbers of the op's operands (attention: query,
  /// key, value[, gates or active list][, blocks]; select_blocks: query,
  /// key[, pooled keys]; compress_kv: key, value[, weights];
  /// sparse_branches: query, key, value, compressed key, compressed value,
  /// blocks, weights) and its output numbers of the op's results;
  /// resultIndex is resultArgs[0].
  std::vector<int64_t> operandArgs, resultArgs;
  int64_t resultIndex = 0;
  bool hasBlocks = false; ///< attention with a `blocks` field
  /// Attention with hasBlocks, and every sparse_branches kernel (whose
  /// blocks list is operand BranchesSpec::kBlocks, not the last one).
  BlocksSpec blocks;
  SelectSpec select;
  CompressSpec compress;
  BranchesSpec branches;
  CudaKernelSpec cuda;

  /// The operand number (into operandArgs) of the blocks list, or -1.
  int blocksOperand() const {
    return hasBlocks ? static_cast<int>(operandArgs.size()) - 1 : -1;
  }
  /// The operands and results the op takes, in order (their count follows
  /// from the op's fields: gates, blocks, pooled keys, weights).
  std::vector<OperandType> operandTypes() const;
  std::vector<OperandType> resultTypes() const;
};

struct FunctionSpec {
  std::string name;
  std::vector<TensorSpec> inputs, outputs;
  /// Bound in this order after the inputs' size names.
  std::vector<DerivedSize> derivedSizes;
  const DerivedSize *findDerived(std::string_view name) const;
  std::vector<size_t> kernels; // indices into Manifest::kernels, in order
  bool usesCuda = false;
};

struct Manifest {
  int64_t version = 0;
  std::string compiler, target, tableTarget, llvmCpu, triple; // informational
  std::string library; // the CPU kernels' shared library ("" if none)
  bool hasHostRequirements = false;
  std::string arch;
  std::vector<std::string> cpuFeatures;
  std::vector<FileSpec> files;
  std::vector<KernelSpec> kernels;
  std::vector<FunctionSpec> functions;

  const FunctionSpec *findFunction(std::string_view name) const;
  const FileSpec *findFile(std::string_view path) const;
};

/// A call's sizes: every size name of the function with its extent.
using SizeBindings = std::map<std::string, int64_t>;

/// Binds `f`'s derived sizes into `sizes` (which holds the sizes its inputs
/// name), in order. SHAPE_MISMATCH when a window is longer than its base
/// (naming both sizes); the message has no prefix.
Status bindDerivedSizes(const FunctionSpec &f, SizeBindings &sizes);

/// Parses and checks `text`. Codes: CORRUPT_ARTIFACT (malformed JSON, a
/// wrong format name, a missing or mistyped field, a broken reference),
/// VERSION (a version other than 1; checked right after the format name so
/// that a newer manifest is reported as newer, not as malformed).
Status parseManifest(std::string_view text, Manifest &out);

/// Where verifyFiles reads files: the artifact directory, or memory.
class FileSource {
public:
  virtual ~FileSource() = default;
  /// The size of `path` (relative to the artifact), or an error (IO for
  /// unreadable, CORRUPT_ARTIFACT for missing or not a regular file).
  virtual Status size(const std::string &path, uint64_t &bytes) = 0;
  /// The SHA-256 of `path`, as 64 lowercase hex digits.
  virtual Status sha256(const std::string &path, std::string &hex) = 0;
};

/// Reads files of the directory `root`.
class DirectorySource : public FileSource {
public:
  explicit DirectorySource(std::string directory)
      : root(std::move(directory)) {}
  Status size(const std::string &path, uint64_t &bytes) override;
  Status sha256(const std::string &path, std::string &hex) override;

private:
  std::string root;
};

/// Checks every listed file's presence, size and hash (sizes first: a
/// truncated file is reported without being hashed). CORRUPT_ARTIFACT names
/// the file, the expected and the found size or hash.
Status verifyFiles(const Manifest &manifest, FileSource &source);

/// The machine the runtime runs on.
struct HostInfo {
  std::string arch; // "x86_64", "aarch64", or what uname says
  std::vector<std::string> features; // names from kKnownCpuFeatures
};
/// The CPU feature names this runtime can detect (docs/artifact.md).
const std::vector<std::string> &knownCpuFeatures(std::string_view arch);
HostInfo detectHost();

/// TARGET_MISMATCH when the manifest needs another architecture or features
/// `host` lacks (all of them named; names this runtime cannot detect count
/// as missing: it cannot promise what it cannot check).
Status checkHost(const Manifest &manifest, const HostInfo &host);

/// Which image of a CUDA kernel a device of compute capability
/// major.minor loads: a cubin for exactly that chip, else one of the same
/// major version and a lower minor (not an arch-specific "a" one), else
/// the PTX when its target is not newer than the device. TARGET_MISMATCH
/// names the device's chip and what the kernel has.
Status selectCudaImage(const KernelSpec &kernel, int major, int minor,
                       std::string &file, bool &isPtx);

} // namespace attn::rt

#endif // ATTN_RUNTIME_LIB_MANIFEST_H
