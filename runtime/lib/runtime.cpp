//===- runtime.cpp - attn's runtime C API ---------------------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The C API of attn_runtime.h over the C++ layers: manifest.h (what an
// artifact says and whether to trust it), cpu_launch.h (kernels and the
// thread pool) and cuda_driver.h. Every entry point catches everything: a
// C caller (or Python through ctypes) must get a status, never an exception
// or an abort.
//
//===----------------------------------------------------------------------===//

#include "attn_runtime/attn_runtime.h"

#include "cuda_driver.h"
#include "cuda_launch.h"
#include "json.h"
#include "kernel_shapes.h"
#include "manifest.h"

#include "attn_runtime/cpu_launch.h"
#include "attn_runtime/thread_pool.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <mutex>
#include <new>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace attn::rt;

struct attn_runtime {
  explicit attn_runtime(int threads) : pool(threads) {}
  ThreadPool pool;
};

struct attn_artifact {
  std::string path;
  Manifest manifest;
  /// One per manifest kernel, same order; loaded for CPU kernels only.
  std::vector<CpuKernel> kernels;

  /// CUDA kernels load on their first call: the image for the device's chip,
  /// the module and the function, kept for the artifact's lifetime. Guarded
  /// by `cudaMutex`: calls may come from several threads.
  std::mutex cudaMutex;
  std::unique_ptr<cuda::Context> cudaContext;
  std::vector<std::unique_ptr<cuda::Module>> cudaModules; // per kernel
  std::vector<cuda::Function> cudaFunctions;              // per kernel
};

/// The int stored in a caller's enum field, read without loading it as the
/// enum type (see check() below).
template <typename Enum> static int rawEnumValue(const Enum &field) {
  static_assert(sizeof(Enum) == sizeof(int), "C enums are int-sized here");
  int raw;
  std::memcpy(&raw, &field, sizeof raw);
  return raw;
}

namespace {

thread_local std::string lastError;

attn_status report(const Status &status) {
  if (status.ok())
    return ATTN_OK;
  lastError = status.message();
  return status.code();
}

attn_status report(attn_status code, const std::string &message) {
  return report(Status::error(code, message));
}

/// Runs `body` and turns exceptions into a status: nothing may unwind into
/// C (std::bad_alloc from a huge manifest, std::system_error from a thread
/// that could not start).
template <typename Fn> attn_status guarded(const char *api, Fn &&body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return report(ATTN_ERROR_INTERNAL, std::string(api) + ": out of memory");
  } catch (const std::exception &e) {
    return report(ATTN_ERROR_INTERNAL,
                  std::string(api) + ": internal error: " + e.what());
  } catch (...) {
    return report(ATTN_ERROR_INTERNAL,
                  std::string(api) + ": internal error (unknown exception)");
  }
}

std::string dimsText(const int64_t *shape, int rank) {
  std::string text = "[";
  for (int i = 0; i < rank; ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

//===----------------------------------------------------------------------===//
// Opening
//===----------------------------------------------------------------------===//

Status readManifestFile(const std::string &dir, std::string &text) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    int e = errno;
    return Status::error(ATTN_ERROR_IO, "cannot open artifact '" + dir +
                                            "': " + std::strerror(e));
  }
  if (!S_ISDIR(st.st_mode))
    return Status::error(ATTN_ERROR_IO,
                         "artifact '" + dir +
                             "' is not a directory (an artifact is a "
                             "directory holding manifest.json)");
  const std::string path = dir + "/manifest.json";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT)
      return Status::error(ATTN_ERROR_CORRUPT_ARTIFACT,
                           "artifact '" + dir +
                               "' has no manifest.json: not an attn artifact");
    return Status::error(ATTN_ERROR_IO,
                         "cannot open " + path + ": " + std::strerror(e));
  }
  const size_t limit = json::Limits().maxBytes;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) > limit) {
    bool regular = S_ISREG(st.st_mode);
    ::close(fd);
    return Status::error(ATTN_ERROR_CORRUPT_ARTIFACT,
                         path + (regular ? " is larger than " +
                                               std::to_string(limit) +
                                               " bytes: not a manifest"
                                         : " is not a regular file"));
  }
  text.clear();
  char buffer[1 << 14];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::error(ATTN_ERROR_IO,
                           "cannot read " + path + ": " + std::strerror(e));
    }
    if (n == 0)
      break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > limit)
      break; // grew while being read; parse() reports the size
  }
  ::close(fd);
  return Status::success();
}

ElementType elementType(attn_dtype dtype) {
  return dtype == ATTN_DTYPE_F16    ? ElementType::F16
         : dtype == ATTN_DTYPE_BF16 ? ElementType::BF16
                                    : ElementType::F32;
}

Status openArtifact(const std::string &dir,
                    std::unique_ptr<attn_artifact> &out) {
  auto artifact = std::make_unique<attn_artifact>();
  artifact->path = dir;
  std::string text;
  Status s = readManifestFile(dir, text);
  if (!s.ok())
    return s;
  // Manifest, then files, then host, then code: nothing from the artifact
  // runs (dlopen runs constructors) before its bytes are the listed ones and
  // this CPU can execute them.
  s = parseManifest(text, artifact->manifest);
  if (!s.ok())
    return Status::error(s.code(), dir + "/" + s.message());
  DirectorySource files(dir);
  s = verifyFiles(artifact->manifest, files);
  if (!s.ok())
    return Status::error(s.code(), "artifact '" + dir + "': " + s.message());
  s = checkHost(artifact->manifest, detectHost());
  if (!s.ok())
    return Status::error(s.code(), "artifact '" + dir + "': " + s.message());

  const Manifest &m = artifact->manifest;
  artifact->kernels.resize(m.kernels.size());
  const std::string library = dir + "/" + m.library;
  for (size_t i = 0; i < m.kernels.size(); ++i) {
    const KernelSpec &k = m.kernels[i];
    if (k.device != KernelDevice::CPU)
      continue;
    CpuKernelInfo info;
    info.gated = k.gated;
    info.headDim = k.headDim;
    info.valueDim = k.valueDim;
    info.elementType = elementType(k.dtype);
    info.blocks = k.hasBlocks;
    info.operands = k.op != KernelOp::Attention;
    s = artifact->kernels[i].load(library, k.name, k.symbol,
                                  k.workItemsSymbol, info);
    if (!s.ok())
      return Status::error(s.code() == ATTN_ERROR_IO
                               ? ATTN_ERROR_CORRUPT_ARTIFACT
                               : s.code(),
                           "artifact '" + dir + "', kernel '" + k.name +
                               "': " + s.message());
  }
  out = std::move(artifact);
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Calls
//===----------------------------------------------------------------------===//

/// The tensors of one call with the names messages use for them.
struct CallChecker {
  const FunctionSpec &fn;
  std::string prefix; // "attn_call('f'): "
  std::map<std::string, std::pair<int64_t, std::string>> bound; // symbol ->
                                                                 // (size, who)
  /// Whether the derived sizes are bound: until then (the inputs' first
  /// pass) the dims that name one are left for later.
  bool derivedBound = false;

  /// Binds the derived sizes from the inputs' sizes (bindDerivedSizes).
  Status bindDerived() {
    SizeBindings sizes = values();
    Status s = bindDerivedSizes(fn, sizes);
    if (!s.ok())
      return Status::error(s.code(), prefix + s.message());
    for (const DerivedSize &d : fn.derivedSizes) {
      const std::string rule =
          d.kind == DerivedSize::Kind::CeilDiv
              ? "ceil(" + d.base + " / " + std::to_string(d.a) + ")"
              : "(" + d.base + " - " + std::to_string(d.a) + ") / " +
                    std::to_string(d.b) + " + 1";
      bound[d.name] = {sizes[d.name],
                       rule + " = " + std::to_string(sizes[d.name]) + " (" +
                           d.base + " = " + std::to_string(sizes[d.base]) +
                           ")"};
    }
    derivedBound = true;
    return Status::success();
  }

  /// Every size name with its extent.
  SizeBindings values() const {
    SizeBindings sizes;
    for (const auto &[name, entry] : bound)
      sizes[name] = entry.first;
    return sizes;
  }

  std::string label(bool output, size_t index) const {
    const TensorSpec &spec = output ? fn.outputs[index] : fn.inputs[index];
    std::string text =
        std::string(output ? "output " : "input ") + std::to_string(index);
    return spec.role.empty() ? text : text + " (" + spec.role + ")";
  }

  Status fail(const std::string &what) const {
    return Status::error(ATTN_ERROR_SHAPE_MISMATCH, prefix + what);
  }

  Status check(const TensorSpec &spec, const attn_tensor &t,
               const std::string &who) {
    // A C caller may store any int in the enum fields; loading a value
    // outside the enumerators as the C++ enum type is undefined, so both
    // are read as ints and converted only once known to be valid.
    const int device = rawEnumValue(t.device);
    const int expected = static_cast<int>(
        fn.usesCuda ? ATTN_DEVICE_CUDA : ATTN_DEVICE_CPU);
    auto deviceName = [](int d) {
      return d == ATTN_DEVICE_CUDA ? std::string("a CUDA device")
             : d == ATTN_DEVICE_CPU
                 ? std::string("the CPU")
                 : "device " + std::to_string(d);
    };
    if (device != expected)
      return fail(who + " is on " + deviceName(device) + "; function '" +
                  fn.name + "' runs on " + deviceName(expected));
    const int dtype = rawEnumValue(t.dtype);
    if (dtype < ATTN_DTYPE_F32 || dtype > ATTN_DTYPE_BOOL)
      return fail(who + " has dtype " + std::to_string(dtype) +
                  ", which is not an attn_dtype");
    const char *found = dtypeName(static_cast<attn_dtype>(dtype));
    if (dtype != static_cast<int>(spec.dtype))
      return fail(who + ": expected dtype " + dtypeName(spec.dtype) +
                  ", found " + found);
    if (t.rank != spec.rank())
      return fail(who + ": expected rank " + std::to_string(spec.rank()) +
                  ", found " + std::to_string(t.rank));
    if (!t.data)
      return fail(who + " has no data (NULL)");
    const int rank = spec.rank();
    for (int i = 0; i < rank; ++i) {
      const Dim &d = spec.shape[i];
      const std::string dim = "dim " + std::to_string(i) +
                              (d.isDynamic() ? " (" + d.symbol + ")" : "");
      const int64_t size = t.shape[i];
      if (size < 1)
        return fail(who + " " + dimsText(t.shape, rank) + ": " + dim +
                    " is " + std::to_string(size) +
                    "; every size must be at least 1");
      if (!d.isDynamic()) {
        if (size != d.size)
          return fail(who + " " + dimsText(t.shape, rank) + ": " + dim +
                      " is " + std::to_string(size) + ", expected " +
                      std::to_string(d.size) + " (fixed when compiled)");
        continue;
      }
      const bool derived = fn.findDerived(d.symbol) != nullptr;
      if (derived && !derivedBound)
        continue;
      auto it = bound.find(d.symbol);
      if (it == bound.end()) {
        bound.emplace(d.symbol, std::make_pair(size, who));
      } else if (derived && it->second.first != size) {
        return fail(who + " " + dimsText(t.shape, rank) + ": " + dim + " is " +
                    std::to_string(size) + ", expected " + d.symbol + " = " +
                    it->second.second);
      } else if (it->second.first != size) {
        return fail(who + " " + dimsText(t.shape, rank) + ": " + dim + " is " +
                    std::to_string(size) + ", but " + it->second.second +
                    " has " + d.symbol + " = " +
                    std::to_string(it->second.first));
      }
    }
    for (int i = 0; i < rank; ++i)
      if (t.strides[i] < 0)
        return fail(who + ": dim " + std::to_string(i) + " has stride " +
                    std::to_string(t.strides[i]) +
                    "; strides must not be negative");
    if (t.strides[rank - 1] != 1)
      return fail(who + ": the innermost stride must be 1, found " +
                  std::to_string(t.strides[rank - 1]));
    // The last element's byte offset must be representable, or a kernel's
    // address arithmetic would wrap.
    int64_t last = 0;
    for (int i = 0; i < rank; ++i) {
      int64_t step;
      if (__builtin_mul_overflow(t.shape[i] - 1, t.strides[i], &step) ||
          __builtin_add_overflow(last, step, &last))
        return fail(who + " spans more elements than int64 can count");
    }
    int64_t bytes;
    if (__builtin_mul_overflow(last + 1, dtypeBytes(t.dtype), &bytes))
      return fail(who + " spans more bytes than int64 can count");
    return Status::success();
  }
};

/// Whether two elements of `t` share an address (dims of size 1 aside):
/// sorted by stride, each stride must pass the largest offset of the dims
/// inside it.
bool overlapsItself(const attn_tensor &t) {
  std::vector<std::pair<int64_t, int64_t>> dims; // (stride, size)
  for (int i = 0; i < t.rank; ++i)
    if (t.shape[i] > 1)
      dims.emplace_back(t.strides[i], t.shape[i]);
  std::sort(dims.begin(), dims.end());
  int64_t reach = 0; // largest offset reachable by the dims so far
  for (const auto &[stride, size] : dims) {
    if (stride <= reach)
      return true;
    reach += stride * (size - 1); // no overflow: checked in CallChecker
  }
  return false;
}

TensorView view(const attn_tensor &t) {
  return TensorView::strided(t.data, t.shape, t.strides);
}

struct PreparedKernel {
  const CpuKernel *kernel;
  /// Attention kernels.
  TensorView q, k, v, o;
  std::vector<int32_t> compacted; // from gates
  const int32_t *active = nullptr;
  int64_t numActive = 0;
  bool hasBlocks = false;
  TensorView blocks;
  /// Kernels of the operand convention (select_blocks, compress_kv,
  /// sparse_branches): launched over B * Hkv pairs with the lengths
  /// checkOpShapes returns.
  std::vector<StridedView> operands, results;
  OpSizes sizes;

  Status launch(ThreadPool &pool) const {
    if (kernel->info().operands)
      return kernel->launchOperands(pool, operands, results,
                                    sizes.batch * sizes.keyHeads,
                                    sizes.queryLen, sizes.keyLen);
    return kernel->launch(pool, q, k, v, o, active, numActive, 1,
                          hasBlocks ? &blocks : nullptr);
  }
};

StridedView stridedView(const attn_tensor &t) {
  StridedView view;
  view.data = t.data;
  view.rank = t.rank;
  for (int i = 0; i < t.rank; ++i) {
    view.sizes[i] = t.shape[i];
    view.strides[i] = t.strides[i];
  }
  return view;
}

Status prepareKernel(const attn_artifact &art, size_t index,
                     const attn_tensor *inputs, const attn_tensor *outputs,
                     const std::string &prefix, PreparedKernel &out) {
  const KernelSpec &k = art.manifest.kernels[index];
  auto fail = [&](const std::string &what) {
    return Status::error(ATTN_ERROR_SHAPE_MISMATCH,
                         prefix + "kernel '" + k.name + "': " + what);
  };
  Status shapes = checkOpShapes(k, inputs, outputs, out.sizes);
  if (!shapes.ok())
    return Status::error(shapes.code(), prefix + shapes.message());
  out.kernel = &art.kernels[index];
  if (k.op != KernelOp::Attention) {
    // The kernel writes all of its results: nothing to fill or compact.
    for (int64_t arg : k.operandArgs)
      out.operands.push_back(stridedView(inputs[arg]));
    for (int64_t arg : k.resultArgs)
      out.results.push_back(stridedView(outputs[arg]));
    return Status::success();
  }
  if (k.hasBlocks) {
    out.hasBlocks = true;
    out.blocks = view(inputs[k.operandArgs[k.blocksOperand()]]);
  }
  const attn_tensor &q = inputs[k.operandArgs[0]],
                    &key = inputs[k.operandArgs[1]],
                    &v = inputs[k.operandArgs[2]],
                    &o = outputs[k.resultIndex];
  // Sizes the kernel was compiled for. The function's declared shapes
  // usually say the same; checking here too keeps a manifest that declares
  // a size dynamic from reaching a kernel with another fixed size.
  const std::pair<int64_t, int64_t> fixed[] = {
      {q.shape[1], k.queryHeads}, {key.shape[1], k.keyHeads},
      {v.shape[1], k.keyHeads},   {o.shape[1], k.queryHeads},
      {q.shape[0], k.batch},      {q.shape[2], k.queryLen},
      {key.shape[2], k.keyLen}};
  static const char *what[] = {"query heads", "key heads",  "value heads",
                               "output heads", "batch",     "query length",
                               "key length"};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; ++i)
    if (fixed[i].second >= 1 && fixed[i].first != fixed[i].second)
      return fail(std::string(what[i]) + " " +
                  std::to_string(fixed[i].first) + ", compiled for " +
                  std::to_string(fixed[i].second));

  out.q = view(q);
  out.k = view(key);
  out.v = view(v);
  out.o = view(o);
  if (k.gates == GatesKind::Gates) {
    const attn_tensor &g = inputs[k.operandArgs[3]];
    const int64_t batch = q.shape[0], heads = q.shape[1];
    if (g.shape[0] != batch || g.shape[1] != heads)
      return fail("gates (input " + std::to_string(k.operandArgs[3]) + ") " +
                  dimsText(g.shape, 2) + " must be [B, Hq] = " +
                  dimsText(q.shape, 2) + " (the query's)");
    if (batch > INT32_MAX / heads)
      return fail("B * Hq = " + std::to_string(batch) + " * " +
                  std::to_string(heads) +
                  " does not fit the int32 active list");
    // Ascending b * Hq + h: the kernel's items then walk memory in order.
    const uint8_t *bytes = static_cast<const uint8_t *>(g.data);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < heads; ++h)
        if (bytes[b * g.strides[0] + h * g.strides[1]])
          out.compacted.push_back(static_cast<int32_t>(b * heads + h));
    out.active = out.compacted.data();
    out.numActive = static_cast<int64_t>(out.compacted.size());
  } else if (k.gates == GatesKind::Active) {
    const attn_tensor &a = inputs[k.operandArgs[3]];
    out.active = static_cast<const int32_t *>(a.data);
    out.numActive = a.shape[0];
    // Two entries for one pair would have two threads write its output.
    for (int64_t i = 1; i < out.numActive; ++i)
      if (out.active[i] <= out.active[i - 1])
        return fail("the active list (input " +
                    std::to_string(k.operandArgs[3]) +
                    ") must be strictly ascending: active[" +
                    std::to_string(i) + "] = " +
                    std::to_string(out.active[i]) + " after " +
                    std::to_string(out.active[i - 1]));
  }
  Status s = out.kernel->validate(out.q, out.k, out.v, out.o, out.active,
                                  out.numActive,
                                  out.hasBlocks ? &out.blocks : nullptr);
  if (!s.ok())
    return Status::error(s.code(), prefix + s.message());
  return Status::success();
}

//===----------------------------------------------------------------------===//
// CUDA launches
//===----------------------------------------------------------------------===//

Status readBinaryFile(const std::string &path, std::string &bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::error(ATTN_ERROR_IO, "cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  bytes = text.str();
  return Status::success();
}

/// Loads kernel `index` for the device of `art`'s context (retained on
/// first use: device 0's primary context, which PyTorch and attn-run share).
Status loadCudaKernel(attn_artifact &art, size_t index,
                      const std::string &prefix, const cuda::Function *&out) {
  std::lock_guard<std::mutex> lock(art.cudaMutex);
  const KernelSpec &k = art.manifest.kernels[index];
  if (!art.cudaContext) {
    const cuda::Driver *driver = nullptr;
    Status s = cuda::Driver::get(driver);
    if (!s.ok())
      return Status::error(s.code(), prefix + s.message());
    s = cuda::Context::retain(*driver, 0, art.cudaContext);
    if (!s.ok())
      return Status::error(s.code(), prefix + s.message());
    art.cudaModules.resize(art.manifest.kernels.size());
    art.cudaFunctions.resize(art.manifest.kernels.size());
  }
  Status s = art.cudaContext->makeCurrent();
  if (!s.ok())
    return Status::error(s.code(), prefix + s.message());
  if (!art.cudaModules[index]) {
    const cuda::DeviceInfo &device = art.cudaContext->device();
    std::string file;
    bool isPtx = false;
    s = selectCudaImage(k, device.major, device.minor, file, isPtx);
    if (!s.ok())
      return Status::error(s.code(), prefix + s.message());
    // The file's size and hash were checked when the artifact was opened.
    std::string image;
    s = readBinaryFile(art.path + "/" + file, image);
    if (!s.ok())
      return Status::error(s.code(), prefix + s.message());
    if (isPtx)
      image.push_back('\0');
    std::unique_ptr<cuda::Module> module;
    s = cuda::Module::load(*art.cudaContext, image.data(), module);
    if (!s.ok())
      return Status::error(s.code(), prefix + "kernel '" + k.name + "' (" +
                                         file + "): " + s.message());
    cuda::Function function;
    s = module->function(k.cuda.entry, function);
    if (!s.ok())
      return Status::error(s.code(), prefix + "kernel '" + k.name + "': " +
                                         s.message());
    if (k.cuda.dynamicSharedMemory > 48 * 1024) {
      s = function.setMaxDynamicSharedMemory(
          static_cast<int>(k.cuda.dynamicSharedMemory));
      if (!s.ok())
        return Status::error(s.code(), prefix + "kernel '" + k.name + "': " +
                                           s.message());
    }
    art.cudaModules[index] = std::move(module);
    art.cudaFunctions[index] = function;
  }
  out = &art.cudaFunctions[index];
  return Status::success();
}

Status callCuda(const attn_artifact &constArt, const FunctionSpec &fn,
                const attn_tensor *inputs, const attn_tensor *outputs,
                const SizeBindings &sizes, const std::string &prefix,
                void *stream) {
  // Loading kernels caches modules in the artifact; the C API hands out a
  // const artifact because calls never change what it means.
  attn_artifact &art = const_cast<attn_artifact &>(constArt);
  const Manifest &m = art.manifest;
  // Every kernel is planned (and so checked) before anything is queued: a
  // refused call leaves every output untouched.
  std::vector<CudaLaunchPlan> plans(fn.kernels.size());
  for (size_t i = 0; i < fn.kernels.size(); ++i) {
    const KernelSpec &k = m.kernels[fn.kernels[i]];
    if (k.device != KernelDevice::CUDA)
      return Status::error(ATTN_ERROR_UNSUPPORTED,
                           prefix + "kernel '" + k.name +
                               "' runs on the CPU but others of the function "
                               "on CUDA; a function runs on one device");
    Status s = planCudaLaunch(k, inputs, outputs, plans[i], sizes);
    if (!s.ok())
      return Status::error(s.code(), prefix + s.message());
  }
  // Persistent kernels run at most one block per SM, or fewer when
  // ATTN_PERSISTENT_BLOCKS says so (tests make each block walk many query
  // tiles at small shapes).
  int64_t persistentBlocks = INT64_MAX;
  bool anyPersistent = false;
  for (const CudaLaunchPlan &plan : plans)
    anyPersistent = anyPersistent || plan.persistent;
  const char *cap =
      anyPersistent ? std::getenv("ATTN_PERSISTENT_BLOCKS") : nullptr;
  if (cap) {
    char *end = nullptr;
    errno = 0;
    long long n = std::strtoll(cap, &end, 10);
    if (end == cap || *end != '\0' || errno || n < 1)
      return Status::error(ATTN_ERROR_INVALID_ARGUMENT,
                           prefix +
                               "ATTN_PERSISTENT_BLOCKS must be a "
                               "positive block count, found '" +
                               cap + "'");
    persistentBlocks = n;
  }
  // Then load (first call) and queue in order on the caller's stream: a
  // kernel's zero fill, then the kernel, then the next kernel's.
  const auto queue = static_cast<cuda::StreamHandle>(stream);
  for (size_t i = 0; i < plans.size(); ++i) {
    const KernelSpec &k = m.kernels[fn.kernels[i]];
    CudaLaunchPlan &plan = plans[i];
    const cuda::Function *function = nullptr;
    Status s = loadCudaKernel(art, fn.kernels[i], prefix, function);
    if (!s.ok())
      return s;
    for (const CudaZeroFill &fill : plan.zeroFills) {
      s = art.cudaContext->zeroAsync(fill.address, fill.pitch, fill.width,
                                     fill.height, queue);
      if (!s.ok())
        return Status::error(s.code(), prefix + "kernel '" + k.name +
                                           "', zeroing its output: " +
                                           s.message());
    }
    if (!plan.launches())
      continue; // an empty active list: the fill was all there was to do
    for (const CudaTensorMap &map : plan.tensorMaps) {
      cuda::DevicePtr address = 0;
      s = art.cudaContext->tensorMap(map.request, address);
      if (!s.ok())
        return Status::error(s.code(),
                             prefix + "kernel '" + k.name +
                                 "', building a tensor map: " + s.message());
      plan.params[map.param] = address;
    }
    if (plan.tileCounterParam >= 0) {
      cuda::DevicePtr address = 0;
      s = art.cudaContext->tileCounter(queue, address);
      if (!s.ok())
        return Status::error(s.code(),
                             prefix + "kernel '" + k.name +
                                 "', zeroing its tile counter: " + s.message());
      plan.params[plan.tileCounterParam] = address;
    }
    std::vector<void *> pointers;
    for (uint64_t &slot : plan.params)
      pointers.push_back(&slot);
    if (plan.persistent)
      plan.grid.x = static_cast<unsigned>(std::min<int64_t>(
          {plan.grid.x, persistentBlocks,
           std::max(1, art.cudaContext->device().multiprocessors)}));
    s = function->launch(plan.grid, plan.block, plan.dynamicSharedMemory,
                         queue, pointers.data());
    if (!s.ok())
      return Status::error(s.code(),
                           prefix + "kernel '" + k.name + "': " + s.message());
  }
  return Status::success();
}

Status call(attn_runtime &rt, const attn_artifact &art, const char *function,
            const attn_tensor *inputs, int numInputs,
            const attn_tensor *outputs, int numOutputs, void *stream) {
  const Manifest &m = art.manifest;
  const FunctionSpec *fn = m.findFunction(function);
  if (!fn) {
    std::string names;
    for (const FunctionSpec &f : m.functions)
      names += (names.empty() ? "'" : ", '") + f.name + "'";
    return Status::error(ATTN_ERROR_INVALID_ARGUMENT,
                         "attn_call: artifact '" + art.path +
                             "' has no function '" + function +
                             "' (it has " + names + ")");
  }
  const std::string prefix = "attn_call('" + fn->name + "'): ";
  if (numInputs != static_cast<int>(fn->inputs.size()) ||
      numOutputs != static_cast<int>(fn->outputs.size()))
    return Status::error(
        ATTN_ERROR_INVALID_ARGUMENT,
        prefix + "the function takes " + std::to_string(fn->inputs.size()) +
            " inputs and " + std::to_string(fn->outputs.size()) +
            " outputs, got " + std::to_string(numInputs) + " and " +
            std::to_string(numOutputs));
  if ((numInputs > 0 && !inputs) || (numOutputs > 0 && !outputs))
    return Status::error(ATTN_ERROR_INVALID_ARGUMENT,
                         prefix + "NULL " + (inputs ? "outputs" : "inputs") +
                             " array");

  CallChecker checker{*fn, prefix, {}};
  // The inputs bind the sizes they name, then the derived sizes follow
  // from those and every dim naming one is checked (the inputs' again).
  for (int pass = 0; pass < (fn->derivedSizes.empty() ? 1 : 2); ++pass) {
    for (size_t i = 0; i < fn->inputs.size(); ++i) {
      Status s =
          checker.check(fn->inputs[i], inputs[i], checker.label(false, i));
      if (!s.ok())
        return s;
    }
    if (pass == 0) {
      Status s = checker.bindDerived();
      if (!s.ok())
        return s;
    }
  }
  for (size_t i = 0; i < fn->outputs.size(); ++i) {
    Status s =
        checker.check(fn->outputs[i], outputs[i], checker.label(true, i));
    if (!s.ok())
      return s;
    if (overlapsItself(outputs[i]))
      return checker.fail(checker.label(true, i) + " has strides " +
                          dimsText(outputs[i].strides, outputs[i].rank) +
                          " that make elements overlap; outputs must not");
  }

  if (fn->usesCuda)
    return callCuda(art, *fn, inputs, outputs, checker.values(), prefix,
                    stream);

  // Everything is checked before the first kernel runs: a refused call
  // leaves every output untouched.
  std::vector<PreparedKernel> prepared(fn->kernels.size());
  for (size_t i = 0; i < fn->kernels.size(); ++i) {
    Status s =
        prepareKernel(art, fn->kernels[i], inputs, outputs, prefix, prepared[i]);
    if (!s.ok())
      return s;
  }
  for (const PreparedKernel &p : prepared) {
    Status s = p.launch(rt.pool);
    if (!s.ok())
      return Status::error(s.code(), prefix + s.message());
  }
  return Status::success();
}

const FunctionSpec *findFunctionOrReport(const attn_artifact *artifact,
                                         const char *function,
                                         const char *api) {
  if (!artifact || !function) {
    report(ATTN_ERROR_INVALID_ARGUMENT,
           std::string(api) + ": NULL artifact or function name");
    return nullptr;
  }
  const FunctionSpec *fn = artifact->manifest.findFunction(function);
  if (!fn)
    report(ATTN_ERROR_INVALID_ARGUMENT, std::string(api) + ": artifact '" +
                                            artifact->path +
                                            "' has no function '" + function +
                                            "'");
  return fn;
}

attn_status argInfo(const attn_artifact *artifact, const char *function,
                    int index, attn_arg_info *out, bool output,
                    const char *api) {
  return guarded(api, [&] {
    if (!out)
      return report(ATTN_ERROR_INVALID_ARGUMENT,
                    std::string(api) + ": NULL out");
    const FunctionSpec *fn = findFunctionOrReport(artifact, function, api);
    if (!fn)
      return ATTN_ERROR_INVALID_ARGUMENT;
    const std::vector<TensorSpec> &list = output ? fn->outputs : fn->inputs;
    if (index < 0 || index >= static_cast<int>(list.size()))
      return report(ATTN_ERROR_INVALID_ARGUMENT,
                    std::string(api) + ": function '" + fn->name + "' has " +
                        std::to_string(list.size()) +
                        (output ? " outputs" : " inputs") + ", index " +
                        std::to_string(index) + " is out of range");
    const TensorSpec &t = list[index];
    *out = attn_arg_info();
    out->role = t.role.c_str();
    out->dtype = t.dtype;
    out->device = fn->usesCuda ? ATTN_DEVICE_CUDA : ATTN_DEVICE_CPU;
    out->rank = t.rank();
    for (int i = 0; i < t.rank(); ++i) {
      out->shape[i] = t.shape[i].isDynamic() ? -1 : t.shape[i].size;
      out->symbols[i] =
          t.shape[i].isDynamic() ? t.shape[i].symbol.c_str() : nullptr;
    }
    return ATTN_OK;
  });
}

} // namespace

//===----------------------------------------------------------------------===//
// The C API
//===----------------------------------------------------------------------===//

extern "C" {

const char *attn_last_error(void) { return lastError.c_str(); }

const char *attn_status_name(attn_status status) {
  switch (status) {
  case ATTN_OK:
    return "ATTN_OK";
  case ATTN_ERROR_INVALID_ARGUMENT:
    return "ATTN_ERROR_INVALID_ARGUMENT";
  case ATTN_ERROR_IO:
    return "ATTN_ERROR_IO";
  case ATTN_ERROR_CORRUPT_ARTIFACT:
    return "ATTN_ERROR_CORRUPT_ARTIFACT";
  case ATTN_ERROR_VERSION:
    return "ATTN_ERROR_VERSION";
  case ATTN_ERROR_TARGET_MISMATCH:
    return "ATTN_ERROR_TARGET_MISMATCH";
  case ATTN_ERROR_SHAPE_MISMATCH:
    return "ATTN_ERROR_SHAPE_MISMATCH";
  case ATTN_ERROR_NO_CUDA:
    return "ATTN_ERROR_NO_CUDA";
  case ATTN_ERROR_NO_DEVICE:
    return "ATTN_ERROR_NO_DEVICE";
  case ATTN_ERROR_CUDA:
    return "ATTN_ERROR_CUDA";
  case ATTN_ERROR_UNSUPPORTED:
    return "ATTN_ERROR_UNSUPPORTED";
  case ATTN_ERROR_INTERNAL:
    return "ATTN_ERROR_INTERNAL";
  }
  return "ATTN_ERROR_UNKNOWN_STATUS";
}

const char *attn_dtype_name(attn_dtype dtype) { return dtypeName(dtype); }

attn_status attn_runtime_create(int threads, attn_runtime **out) {
  return guarded("attn_runtime_create", [&] {
    if (!out)
      return report(ATTN_ERROR_INVALID_ARGUMENT,
                    "attn_runtime_create: NULL out");
    *out = nullptr;
    // More threads than this is a mistake, not a machine (and each costs a
    // stack).
    constexpr int kMaxThreads = 4096;
    if (threads > kMaxThreads)
      return report(ATTN_ERROR_INVALID_ARGUMENT,
                    "attn_runtime_create: " + std::to_string(threads) +
                        " threads is more than the limit of " +
                        std::to_string(kMaxThreads));
    *out = new attn_runtime(threads);
    return ATTN_OK;
  });
}

void attn_runtime_destroy(attn_runtime *runtime) { delete runtime; }

int attn_runtime_num_threads(const attn_runtime *runtime) {
  return runtime ? runtime->pool.size() : 0;
}

attn_status attn_artifact_open(const char *path, attn_artifact **out) {
  return guarded("attn_artifact_open", [&] {
    if (!out || !path)
      return report(ATTN_ERROR_INVALID_ARGUMENT,
                    "attn_artifact_open: NULL path or out");
    *out = nullptr;
    std::unique_ptr<attn_artifact> artifact;
    Status s = openArtifact(path, artifact);
    if (!s.ok())
      return report(s);
    *out = artifact.release();
    return ATTN_OK;
  });
}

void attn_artifact_close(attn_artifact *artifact) { delete artifact; }

int attn_artifact_num_functions(const attn_artifact *artifact) {
  if (!artifact) {
    report(ATTN_ERROR_INVALID_ARGUMENT,
           "attn_artifact_num_functions: NULL artifact");
    return -1;
  }
  return static_cast<int>(artifact->manifest.functions.size());
}

const char *attn_artifact_function_name(const attn_artifact *artifact,
                                        int index) {
  if (!artifact || index < 0 ||
      index >= static_cast<int>(artifact->manifest.functions.size())) {
    report(ATTN_ERROR_INVALID_ARGUMENT,
           "attn_artifact_function_name: " +
               std::string(artifact ? "index " + std::to_string(index) +
                                          " is out of range"
                                    : "NULL artifact"));
    return nullptr;
  }
  return artifact->manifest.functions[index].name.c_str();
}

int attn_artifact_num_inputs(const attn_artifact *artifact,
                             const char *function) {
  const FunctionSpec *fn =
      findFunctionOrReport(artifact, function, "attn_artifact_num_inputs");
  return fn ? static_cast<int>(fn->inputs.size()) : -1;
}

int attn_artifact_num_outputs(const attn_artifact *artifact,
                              const char *function) {
  const FunctionSpec *fn =
      findFunctionOrReport(artifact, function, "attn_artifact_num_outputs");
  return fn ? static_cast<int>(fn->outputs.size()) : -1;
}

attn_status attn_artifact_input_info(const attn_artifact *artifact,
                                     const char *function, int index,
                                     attn_arg_info *out) {
  return argInfo(artifact, function, index, out, false,
                 "attn_artifact_input_info");
}

attn_status attn_artifact_output_info(const attn_artifact *artifact,
                                      const char *function, int index,
                                      attn_arg_info *out) {
  return argInfo(artifact, function, index, out, true,
                 "attn_artifact_output_info");
}

int attn_artifact_num_derived_sizes(const attn_artifact *artifact,
                                    const char *function) {
  const FunctionSpec *fn = findFunctionOrReport(
      artifact, function, "attn_artifact_num_derived_sizes");
  return fn ? static_cast<int>(fn->derivedSizes.size()) : -1;
}

attn_status attn_artifact_derived_size_info(const attn_artifact *artifact,
                                            const char *function, int index,
                                            attn_derived_size_info *out) {
  const char *api = "attn_artifact_derived_size_info";
  return guarded(api, [&] {
    if (!out)
      return report(ATTN_ERROR_INVALID_ARGUMENT,
                    std::string(api) + ": NULL out");
    const FunctionSpec *fn = findFunctionOrReport(artifact, function, api);
    if (!fn)
      return ATTN_ERROR_INVALID_ARGUMENT;
    if (index < 0 || index >= static_cast<int>(fn->derivedSizes.size()))
      return report(ATTN_ERROR_INVALID_ARGUMENT,
                    std::string(api) + ": function '" + fn->name + "' has " +
                        std::to_string(fn->derivedSizes.size()) +
                        " derived sizes, index " + std::to_string(index) +
                        " is out of range");
    const DerivedSize &d = fn->derivedSizes[index];
    out->name = d.name.c_str();
    out->base = d.base.c_str();
    out->kind = d.kind == DerivedSize::Kind::CeilDiv ? ATTN_DERIVED_CEIL_DIV
                                                     : ATTN_DERIVED_WINDOWS;
    out->a = d.a;
    out->b = d.b;
    return ATTN_OK;
  });
}

const char *attn_artifact_info(const attn_artifact *artifact,
                               const char *key) {
  if (!artifact || !key)
    return nullptr;
  static const char *format = kArtifactFormat;
  const Manifest &m = artifact->manifest;
  const std::string k = key;
  const std::string *field = k == "compiler"       ? &m.compiler
                             : k == "target"       ? &m.target
                             : k == "table_target" ? &m.tableTarget
                             : k == "llvm_cpu"     ? &m.llvmCpu
                             : k == "triple"       ? &m.triple
                             : k == "arch"         ? &m.arch
                             : k == "path"         ? &artifact->path
                                                   : nullptr;
  if (k == "format")
    return format;
  return field && !field->empty() ? field->c_str() : nullptr;
}

attn_status attn_call(attn_runtime *runtime, const attn_artifact *artifact,
                      const char *function, const attn_tensor *inputs,
                      int num_inputs, const attn_tensor *outputs,
                      int num_outputs, void *stream) {
  return guarded("attn_call", [&] {
    if (!runtime || !artifact || !function)
      return report(ATTN_ERROR_INVALID_ARGUMENT,
                    "attn_call: NULL runtime, artifact or function name");
    return report(call(*runtime, *artifact, function, inputs, num_inputs,
                       outputs, num_outputs, stream));
  });
}

attn_status attn_cuda_device(int ordinal, attn_cuda_device_info *out) {
  return guarded("attn_cuda_device", [&] {
    if (!out)
      return report(ATTN_ERROR_INVALID_ARGUMENT, "attn_cuda_device: NULL out");
    *out = attn_cuda_device_info();
    const cuda::Driver *driver = nullptr;
    Status s = cuda::Driver::get(driver);
    if (!s.ok())
      return report(s);
    cuda::DeviceInfo info;
    s = cuda::describeDevice(*driver, ordinal, info);
    if (!s.ok())
      return report(s);
    std::snprintf(out->name, sizeof out->name, "%s", info.name.c_str());
    out->major = info.major;
    out->minor = info.minor;
    out->multiprocessors = info.multiprocessors;
    out->max_shared_memory_per_block = info.maxSharedPerBlockOptin;
    out->driver_version = driver->version();
    out->device_count = driver->deviceCount();
    return ATTN_OK;
  });
}

} // extern "C"
