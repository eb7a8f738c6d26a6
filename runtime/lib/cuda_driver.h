//===- cuda_driver.h - The CUDA driver API through dlopen -------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The runtime's only contact with CUDA. It loads libcuda.so.1 at run time
// (so the runtime builds without the toolkit and runs without a GPU) and
// resolves every entry point through cuGetProcAddress with the CUDA version
// whose signature it calls: CUDA 12/13 headers map names such as cuMemAlloc
// to versioned symbols (cuMemAlloc_v2), and dlsym on the plain name would
// find the oldest ABI. Work happens in the device's primary context, the
// one the CUDA runtime (PyTorch) uses, so pointers and streams from there
// are valid here.
//
//   const cuda::Driver *driver;
//   Status s = cuda::Driver::get(driver);           // NO_CUDA / NO_DEVICE
//   std::unique_ptr<cuda::Context> ctx;
//   s = cuda::Context::retain(*driver, 0, ctx);       // primary context
//   std::unique_ptr<cuda::Module> module;
//   s = cuda::Module::load(*ctx, ptxText, module);     // cubin or PTX
//   cuda::Function f;
//   s = module->function("twice", f);
//   s = f.setMaxDynamicSharedMemory(96 << 10);         // > 48 KB opt-in
//   s = f.launch({n / 256, 1, 1}, {256, 1, 1}, 0, stream, params);
//   s = ctx->zeroAsync(ptr, pitch, width, rows, stream); // memset on a stream
//
// Every failure is a Status: NO_CUDA (no driver library, a stub, a driver
// too old), NO_DEVICE (no GPU, bad ordinal), CUDA (any other driver error,
// with the call and cuGetErrorName's text).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_LIB_CUDA_DRIVER_H
#define ATTN_RUNTIME_LIB_CUDA_DRIVER_H

#include "attn_runtime/cpu_launch.h" // Status

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

// The driver's opaque handle types, with cuda.h's tags at global scope, so
// that they are the very types of cuda.h when both are seen (a CUstream
// from PyTorch passes through unchanged) while this header never needs it.
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;

namespace attn::rt::cuda {

// cuda_driver.cpp checks these against cuda.h when the toolkit is present.
using Result = int;                   // CUresult
using Device = int;                   // CUdevice
using DevicePtr = unsigned long long; // CUdeviceptr (64-bit)
using ContextHandle = ::CUctx_st *;
using ModuleHandle = ::CUmod_st *;
using FunctionHandle = ::CUfunc_st *;
using StreamHandle = ::CUstream_st *;

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

/// The resolved entry points (opaque here; see cuda_driver.cpp).
struct Api;

class Driver {
public:
  /// The process-wide driver, loaded on first use from "libcuda.so.1". The
  /// outcome (including failure) is kept: a missing driver stays missing.
  static Status get(const Driver *&out);

  /// Loads a driver library by name or path, independently of get(): for
  /// tests (a missing library, the toolkit's stub). Never unloaded: a
  /// driver library does not survive dlclose reliably.
  static Status load(const std::string &library, std::unique_ptr<Driver> &out);

  ~Driver();
  Driver(const Driver &) = delete;
  Driver &operator=(const Driver &) = delete;

  /// e.g. 13000 for CUDA 13.0.
  int version() const { return driverVersion; }
  int deviceCount() const { return devices; }

  /// "cuLaunchKernel failed: CUDA_ERROR_INVALID_VALUE (invalid argument)"
  Status error(Result result, const std::string &call) const;

  const Api &api() const { return *entry; }

private:
  Driver();
  std::unique_ptr<Api> entry;
  int driverVersion = 0;
  int devices = 0;
};

/// What the runtime needs to know about a device.
struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  int major = 0, minor = 0;     // compute capability
  int multiprocessors = 0;
  int maxSharedPerBlockOptin = 0; // bytes of dynamic + static smem, opted in
};

/// Describes device `ordinal` without creating a context (which costs
/// device memory and tens of milliseconds).
Status describeDevice(const Driver &driver, int ordinal, DeviceInfo &out);

/// A tiled TMA tensor map (cuTensorMapEncodeTiled) of a rank-4 tensor of
/// 16-bit elements with a 128-byte swizzle, as attn's sm_90a TMA kernels
/// load them: dims innermost first, strides of dims 1-3 in bytes (dim 0 is
/// contiguous), rows outside the tensor read as zeros.
struct TensorMapRequest {
  bool bf16 = true; ///< else f16
  uint64_t address = 0;
  uint64_t dims[4] = {};
  uint64_t strides[3] = {};
  uint32_t box[4] = {};
};

/// A retained primary context of one device; released on destruction.
class Context {
public:
  static Status retain(const Driver &driver, int ordinal,
                       std::unique_ptr<Context> &out);
  ~Context();
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;

  /// Makes the context current on the calling thread (the driver's current
  /// context is per thread; every entry point that needs one calls this).
  Status makeCurrent() const;
  const DeviceInfo &device() const { return info; }
  const Driver &driver() const { return *drv; }
  ContextHandle handle() const { return ctx; }

  /// Device memory and copies, for tests and tools.
  Status alloc(size_t bytes, DevicePtr &ptr) const;
  Status free(DevicePtr ptr) const;
  Status copyToDevice(DevicePtr dst, const void *src, size_t bytes) const;
  Status copyToHost(void *dst, DevicePtr src, size_t bytes) const;
  /// Zeroes `height` rows of `width` bytes, `pitch` bytes apart, from `dst`,
  /// queued on `stream` (cuMemsetD8Async for one row, else
  /// cuMemsetD2D8Async, which needs width <= pitch).
  Status zeroAsync(DevicePtr dst, size_t pitch, size_t width, size_t height,
                   StreamHandle stream) const;
  Status synchronize(StreamHandle stream) const;
  /// The device address of a tensor map for `request`, encoded by the
  /// driver and copied once into device memory the context keeps. Maps are
  /// cached by their request (a repeated one is a lookup) and never
  /// rewritten while a kernel may still read one: past kMaxTensorMaps
  /// distinct maps the context is synchronized and the cache starts over.
  Status tensorMap(const TensorMapRequest &request, DevicePtr &out) const;
  static constexpr size_t kMaxTensorMaps = 1 << 15;
  /// A 4-byte counter in device memory, zeroed on `stream` (queued before
  /// the kernel that takes it): a persistent grid's blocks draw work items
  /// from it with atomics. Launches take the kTileCounters counters of a
  /// slab in turn, so a counter is reused only after that many launches
  /// (far more than a device runs at once: 128 kernels on an H100).
  Status tileCounter(StreamHandle stream, DevicePtr &out) const;
  static constexpr size_t kTileCounters = 4096;

private:
  Context() = default;
  struct TensorMaps;
  std::unique_ptr<TensorMaps> maps;
  struct TileCounters;
  std::unique_ptr<TileCounters> counters;
  const Driver *drv = nullptr;
  Device dev = 0;
  ContextHandle ctx = nullptr;
  DeviceInfo info;
};

class Function {
public:
  FunctionHandle handle() const { return fn; }
  const std::string &name() const { return entryName; }
  /// Allows up to `bytes` of dynamic shared memory per block; needed above
  /// 48 KB (the default limit), refused above the device's opt-in maximum.
  Status setMaxDynamicSharedMemory(int bytes) const;
  /// Launches on `stream` (nullptr: the legacy default stream). `params`
  /// points to one pointer per kernel parameter, as cuLaunchKernel takes.
  Status launch(Dim3 grid, Dim3 block, unsigned dynamicSharedMemory,
                StreamHandle stream, void **params) const;

private:
  friend class Module;
  const Context *ctx = nullptr;
  FunctionHandle fn = nullptr;
  std::string entryName;
};

/// A loaded cubin or PTX image; unloaded on destruction.
class Module {
public:
  /// `image` is a cubin (ELF) or NUL-terminated PTX text; for PTX the
  /// driver's JIT log is part of the error message.
  static Status load(const Context &context, const void *image,
                     std::unique_ptr<Module> &out);
  ~Module();
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;

  Status function(const std::string &name, Function &out) const;

private:
  Module() = default;
  const Context *ctx = nullptr;
  ModuleHandle mod = nullptr;
};

} // namespace attn::rt::cuda

#endif // ATTN_RUNTIME_LIB_CUDA_DRIVER_H
