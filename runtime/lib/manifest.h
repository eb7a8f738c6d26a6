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
  std::string role; // "query", "key", "gates", ...: for messages only
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

/// One kernel parameter of a CUDA entry (docs/artifact.md, "CUDA
/// kernels"): what the runtime passes.
struct CudaParam {
  enum class Type { Ptr, I32, I64, F32 };
  enum class Source { Tensor, Stride, Size, Scale };
  std::string name;
  Type type = Type::Ptr;
  Source source = Source::Tensor;
  /// Tensor: query, key, value, out, gates, active; Stride: the same but
  /// active (gates only with "gates": "gates", active only with "active").
  std::string tensor;
  int dim = 0;      ///< Stride: the dimension
  std::string size; ///< Size: B, Sq, Skv, pairs, Hq, Hkv, active_count
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

struct CudaKernelSpec {
  std::string entry;
  std::map<std::string, std::string> binaries; // "sm_90a" -> file
  std::string ptxFile, ptxTarget;               // optional JIT fallback
  int64_t block[3] = {1, 1, 1};
  int64_t dynamicSharedMemory = 0;
  std::string gridRule;
  int64_t gridQueryTile = 0;
  bool gridPositionTiles = false; ///< grid "query_tiles": "positions"
  size_t numParams = 0;
  std::vector<CudaParam> params;
  double scale = 0; ///< the kernel's softmax scale (the `scale` field)
};

struct KernelSpec {
  std::string name, source;
  KernelDevice device = KernelDevice::CPU;
  std::string symbol, workItemsSymbol; // CPU
  attn_dtype dtype = ATTN_DTYPE_F32;
  int64_t headDim = 0, valueDim = 0;
  int64_t queryHeads = 0, keyHeads = 0;
  int64_t batch = -1, queryLen = -1, keyLen = -1; // -1: dynamic
  bool gated = false;
  GatesKind gates = GatesKind::None;
  /// Argument numbers of query, key, value[, gates or active list] in the
  /// source function; the result number of the output.
  std::vector<int64_t> operandArgs;
  int64_t resultIndex = 0;
  CudaKernelSpec cuda;
};

struct FunctionSpec {
  std::string name;
  std::vector<TensorSpec> inputs, outputs;
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
