//===- cpu_launch.h - Load and launch attn's CPU kernels --------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Loads a kernel from the shared library that `attn-compile` emits (the
// calling convention is in cpu_kernel_abi.h) and runs it on a ThreadPool:
//
//   attn::rt::CpuKernel kernel;
//   attn::rt::Status s = kernel.load("model.so", "forward_attn0", {});
//   attn::rt::ThreadPool pool(16);
//   s = kernel.launch(pool, q, k, v, out);   // TensorViews of [B, H, S, D]
//   if (!s.ok()) fprintf(stderr, "%s\n", s.message().c_str());
//
// Errors come back as a Status with a message that names what was expected
// and what was found; nothing throws across this API.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_CPU_LAUNCH_H
#define ATTN_RUNTIME_CPU_LAUNCH_H

#include "attn_runtime/attn_runtime.h"
#include "attn_runtime/cpu_kernel_abi.h"
#include "attn_runtime/thread_pool.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attn::rt {

/// Success, or failure with a message and the C API's status code (so that
/// the C API can hand on what the C++ layers found without re-classifying
/// message text).
class Status {
public:
  static Status success() { return Status(); }
  /// A failure without a more specific code: an invalid argument.
  static Status error(std::string message) {
    return error(ATTN_ERROR_INVALID_ARGUMENT, std::move(message));
  }
  static Status error(attn_status code, std::string message) {
    Status s;
    s.status = code == ATTN_OK ? ATTN_ERROR_INVALID_ARGUMENT : code;
    s.text = std::move(message);
    return s;
  }
  bool ok() const { return status == ATTN_OK; }
  attn_status code() const { return status; }
  const std::string &message() const { return text; }

private:
  attn_status status = ATTN_OK;
  std::string text;
};

enum class ElementType { F32, F16, BF16 };

/// Bytes per element: 4 for f32, 2 for f16 and bf16.
int64_t elementBytes(ElementType type);
const char *elementTypeName(ElementType type);
/// Parses "f32", "f16" or "bf16"; false otherwise.
bool parseElementType(const std::string &name, ElementType &type);

/// A [B, H, S, D] tensor in caller memory. Strides are in elements, as in
/// the kernel ABI; the innermost one must be 1.
struct TensorView {
  void *data = nullptr;
  int64_t sizes[4] = {0, 0, 0, 0};
  int64_t strides[4] = {0, 0, 0, 0};

  /// Row-major contiguous [B, H, S, D].
  static TensorView contiguous(void *data, int64_t b, int64_t h, int64_t s,
                               int64_t d);
  /// Any layout, e.g. [B, S, H, D] storage viewed as [B, H, S, D].
  static TensorView strided(void *data, const int64_t sizes[4],
                            const int64_t strides[4]);
};

/// The MLIR memref descriptor of `view` (allocated = aligned = data).
attn_memref4d toMemref(const TensorView &view);

/// A tensor of any rank from 1 to ATTN_MAX_RANK in caller memory (strides
/// in elements): the operands and results of kernels that take one
/// descriptor of its own rank per tensor (select_blocks, compress_kv,
/// sparse_branches).
struct StridedView {
  void *data = nullptr;
  int rank = 0;
  int64_t sizes[ATTN_MAX_RANK] = {};
  int64_t strides[ATTN_MAX_RANK] = {};

  /// Row-major contiguous.
  static StridedView contiguous(void *data, std::vector<int64_t> sizes);
};

/// What the caller knows about a kernel beyond its name (from the artifact
/// manifest): the ABI does not let a library say it.
struct CpuKernelInfo {
  /// The kernel takes the active-pair list (an `attn.attention` with gates).
  bool gated = false;
  /// The head dimension the kernel was compiled for (query and key); 0
  /// skips the check.
  int64_t headDim = 0;
  /// The value/out head dimension the kernel was compiled for; 0 skips the
  /// check. Value and out may differ from query and key in D only.
  int64_t valueDim = 0;
  /// The tensors' element type; the launcher needs only its size (to
  /// zero-fill the output of gated kernels).
  ElementType elementType = ElementType::F32;
  /// An attention kernel of #attn.selected: it takes the int32
  /// [B, Hkv, nqb, slots] blocks list after out (and after the active list
  /// when gated).
  bool blocks = false;
  /// A kernel of the operand convention (select_blocks, compress_kv,
  /// sparse_branches): one
  /// descriptor per operand and result, launched with launchOperands().
  bool operands = false;
};

/// One kernel of a loaded library. Holds the library open (dlopen counts
/// references, so several kernels of one library are fine). Move-only.
class CpuKernel {
public:
  CpuKernel() = default;
  ~CpuKernel();
  CpuKernel(CpuKernel &&other) noexcept;
  CpuKernel &operator=(CpuKernel &&other) noexcept;
  CpuKernel(const CpuKernel &) = delete;
  CpuKernel &operator=(const CpuKernel &) = delete;

  /// Opens `library` (a file path: a name without '/' is taken from the
  /// current directory, not searched for) and resolves
  /// `_mlir_ciface_<kernel>` and `<kernel>_work_items`.
  Status load(const std::string &library, const std::string &kernel,
              const CpuKernelInfo &info = {});
  /// The same with the entry points named explicitly (as an artifact's
  /// manifest does). Both must be defined by `library` itself: a name that
  /// resolves in one of its dependencies (libc's `memset`, say) is refused.
  Status load(const std::string &library, const std::string &kernel,
              const std::string &entrySymbol,
              const std::string &workItemsSymbol, const CpuKernelInfo &info);

  bool loaded() const { return entry != nullptr; }
  const std::string &name() const { return kernelName; }
  const CpuKernelInfo &info() const { return kernelInfo; }

  /// The kernel's item count for `pairs` (batch, head) pairs.
  int64_t workItems(int64_t pairs, int64_t queryLen, int64_t keyLen) const;

  /// Checks the shapes that launch() would run on, without running.
  /// `active` lists numActive pairs b * Hq + h (gated kernels only);
  /// `blocks` is the int32 blocks list (kernels with info().blocks only;
  /// its B and Hkv are checked here, its block count by the caller, who
  /// knows the query block).
  Status validate(const TensorView &query, const TensorView &key,
                  const TensorView &value, const TensorView &out,
                  const int32_t *active = nullptr, int64_t numActive = 0,
                  const TensorView *blocks = nullptr) const;

  /// Validates, then runs all work items on `pool` (dynamic scheduling,
  /// `grain` items per grab). Gated kernels zero-fill `out` first, since
  /// they write only the active pairs.
  Status launch(ThreadPool &pool, const TensorView &query,
                const TensorView &key, const TensorView &value,
                const TensorView &out, const int32_t *active = nullptr,
                int64_t numActive = 0, int64_t grain = 1,
                const TensorView *blocks = nullptr) const;

  /// Runs a kernel of the operand convention (info().operands): one
  /// descriptor per operand, then per result, each of its rank, over the
  /// items workItems(pairs, queryLen, keyLen) (cpu_kernel_abi.h). The
  /// kernel writes all of its results; the shapes are the caller's to
  /// check (they depend on the op), this checks data, ranks and the
  /// innermost stride.
  Status launchOperands(ThreadPool &pool,
                        const std::vector<StridedView> &operands,
                        const std::vector<StridedView> &results, int64_t pairs,
                        int64_t queryLen, int64_t keyLen,
                        int64_t grain = 1) const;

private:
  void reset();

  void *handle = nullptr;
  void *entry = nullptr; // attn_cpu_kernel_fn or attn_cpu_gated_kernel_fn
  attn_cpu_work_items_fn itemsFn = nullptr;
  std::string kernelName;
  std::string libraryPath;
  CpuKernelInfo kernelInfo;
};

} // namespace attn::rt

#endif // ATTN_RUNTIME_CPU_LAUNCH_H
