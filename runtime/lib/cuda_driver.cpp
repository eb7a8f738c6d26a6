//===- cuda_driver.cpp - The CUDA driver API through dlopen ---------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// With the toolkit's headers at build time (ATTN_HAVE_CUDA_HEADERS), the
// entry points are typed with cudaTypedefs.h's PFN_ typedefs of exactly the
// versions requested from cuGetProcAddress, so that a signature mismatch is a
// compile error. Without them, the few types are declared here by hand, with
// the same layouts; the build with headers checks both agree.
//
//===----------------------------------------------------------------------===//

#include "cuda_driver.h"

#include <array>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <type_traits>
#include <vector>

#if ATTN_HAVE_CUDA_HEADERS
#include <cuda.h>
#include <cudaTypedefs.h>
#endif

using namespace attn::rt;
using namespace attn::rt::cuda;

namespace {

// The driver's constants that the runtime uses (cuda.h's values).
constexpr Result kSuccess = 0;
constexpr Result kNotInitialized = 3;
constexpr Result kDeinitialized = 4;
constexpr Result kStubLibrary = 34;
constexpr Result kNoDevice = 100;
constexpr Result kInvalidDevice = 101;
constexpr Result kSystemDriverMismatch = 803;
constexpr Result kCompatNotSupported = 804;
constexpr int kAttrMultiprocessors = 16;
constexpr int kAttrMajor = 75;
constexpr int kAttrMinor = 76;
constexpr int kAttrSharedOptin = 97;
constexpr int kFuncMaxDynamicShared = 8;
constexpr int kJitErrorLogBuffer = 5;
constexpr int kJitErrorLogBufferSize = 6;
constexpr uint64_t kLegacyStream = 1; // CU_GET_PROC_ADDRESS_LEGACY_STREAM
constexpr int kProcAddressSuccess = 0;

#if ATTN_HAVE_CUDA_HEADERS
static_assert(std::is_same_v<CUcontext, ContextHandle> &&
                  std::is_same_v<CUmodule, ModuleHandle> &&
                  std::is_same_v<CUfunction, FunctionHandle> &&
                  std::is_same_v<CUstream, StreamHandle> &&
                  std::is_same_v<CUdeviceptr, DevicePtr> &&
                  std::is_same_v<CUdevice, Device>,
              "cuda_driver.h's handle types must be cuda.h's");
static_assert(CUDA_SUCCESS == kSuccess &&
                  CUDA_ERROR_NOT_INITIALIZED == kNotInitialized &&
                  CUDA_ERROR_DEINITIALIZED == kDeinitialized &&
                  CUDA_ERROR_STUB_LIBRARY == kStubLibrary &&
                  CUDA_ERROR_NO_DEVICE == kNoDevice &&
                  CUDA_ERROR_INVALID_DEVICE == kInvalidDevice &&
                  CUDA_ERROR_SYSTEM_DRIVER_MISMATCH == kSystemDriverMismatch &&
                  CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE ==
                      kCompatNotSupported,
              "CUresult values");
static_assert(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT == kAttrMultiprocessors &&
                  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR == kAttrMajor &&
                  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR == kAttrMinor &&
                  CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN ==
                      kAttrSharedOptin &&
                  CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES ==
                      kFuncMaxDynamicShared &&
                  CU_JIT_ERROR_LOG_BUFFER == kJitErrorLogBuffer &&
                  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES == kJitErrorLogBufferSize &&
                  CU_GET_PROC_ADDRESS_LEGACY_STREAM == kLegacyStream &&
                  CU_GET_PROC_ADDRESS_SUCCESS == kProcAddressSuccess,
              "driver enum values");
#endif

} // namespace

// Each entry point with the version it is requested at. The type is the
// PFN_ typedef of that version (with headers) or its hand-written twin.
#if ATTN_HAVE_CUDA_HEADERS
#define ATTN_CUDA_ENTRY(name, ver, ...) PFN_##name##_v##ver name
using JitOption = CUjit_option;
using ResultArg = CUresult;
using DeviceAttribute = CUdevice_attribute;
using FunctionAttribute = CUfunction_attribute;
using GetProcAddressV2 = PFN_cuGetProcAddress_v12000;
using GetProcAddressV1 = PFN_cuGetProcAddress_v11030;
using ProcAddressQueryResult = CUdriverProcAddressQueryResult;
using TensorMapPointer = CUtensorMap *;
using TensorMapDataType = CUtensorMapDataType;
using TensorMapInterleave = CUtensorMapInterleave;
using TensorMapSwizzle = CUtensorMapSwizzle;
using TensorMapL2Promotion = CUtensorMapL2promotion;
using TensorMapOOBFill = CUtensorMapFloatOOBfill;
#else
#define ATTN_CUDA_ENTRY(name, ver, ...) Result (*name)(__VA_ARGS__)
using JitOption = int;
using ResultArg = Result;
using DeviceAttribute = int;
using FunctionAttribute = int;
using ProcAddressQueryResult = int;
using GetProcAddressV2 = Result (*)(const char *, void **, int, uint64_t,
                                    ProcAddressQueryResult *);
using GetProcAddressV1 = Result (*)(const char *, void **, int, uint64_t);
using TensorMapPointer = void *;
using TensorMapDataType = int;
using TensorMapInterleave = int;
using TensorMapSwizzle = int;
using TensorMapL2Promotion = int;
using TensorMapOOBFill = int;
#endif

struct attn::rt::cuda::Api {
  ATTN_CUDA_ENTRY(cuGetErrorName, 6000, Result, const char **);
  ATTN_CUDA_ENTRY(cuGetErrorString, 6000, Result, const char **);
  ATTN_CUDA_ENTRY(cuInit, 2000, unsigned);
  ATTN_CUDA_ENTRY(cuDriverGetVersion, 2020, int *);
  ATTN_CUDA_ENTRY(cuDeviceGetCount, 2000, int *);
  ATTN_CUDA_ENTRY(cuDeviceGet, 2000, Device *, int);
  ATTN_CUDA_ENTRY(cuDeviceGetName, 2000, char *, int, Device);
  ATTN_CUDA_ENTRY(cuDeviceGetAttribute, 2000, int *, DeviceAttribute, Device);
  ATTN_CUDA_ENTRY(cuDevicePrimaryCtxRetain, 7000, ContextHandle *, Device);
  ATTN_CUDA_ENTRY(cuDevicePrimaryCtxRelease, 11000, Device);
  ATTN_CUDA_ENTRY(cuCtxSetCurrent, 4000, ContextHandle);
  ATTN_CUDA_ENTRY(cuModuleLoadDataEx, 2010, ModuleHandle *, const void *,
                  unsigned, JitOption *, void **);
  ATTN_CUDA_ENTRY(cuModuleUnload, 2000, ModuleHandle);
  ATTN_CUDA_ENTRY(cuModuleGetFunction, 2000, FunctionHandle *, ModuleHandle,
                  const char *);
  ATTN_CUDA_ENTRY(cuFuncSetAttribute, 9000, FunctionHandle, FunctionAttribute,
                  int);
  ATTN_CUDA_ENTRY(cuLaunchKernel, 4000, FunctionHandle, unsigned, unsigned,
                  unsigned, unsigned, unsigned, unsigned, unsigned,
                  StreamHandle, void **, void **);
  ATTN_CUDA_ENTRY(cuStreamSynchronize, 2000, StreamHandle);
  ATTN_CUDA_ENTRY(cuMemAlloc, 3020, DevicePtr *, size_t);
  ATTN_CUDA_ENTRY(cuMemFree, 3020, DevicePtr);
  ATTN_CUDA_ENTRY(cuMemcpyHtoD, 3020, DevicePtr, const void *, size_t);
  ATTN_CUDA_ENTRY(cuMemcpyDtoH, 3020, void *, DevicePtr, size_t);
  ATTN_CUDA_ENTRY(cuMemsetD8Async, 3020, DevicePtr, unsigned char, size_t,
                  StreamHandle);
  ATTN_CUDA_ENTRY(cuMemsetD2D8Async, 3020, DevicePtr, size_t, unsigned char,
                  size_t, size_t, StreamHandle);
  ATTN_CUDA_ENTRY(cuCtxSynchronize, 2000);
  // Optional (CUDA 12+): null where the driver lacks it.
  ATTN_CUDA_ENTRY(cuTensorMapEncodeTiled, 12000, TensorMapPointer,
                  TensorMapDataType, uint32_t, void *, const uint64_t *,
                  const uint64_t *, const uint32_t *, const uint32_t *,
                  TensorMapInterleave, TensorMapSwizzle, TensorMapL2Promotion,
                  TensorMapOOBFill);
};

namespace {

struct EntryPoint {
  const char *name;
  int version;
  void **slot;
};

std::vector<EntryPoint> entryPoints(Api &api) {
#define ATTN_SLOT(name, ver) {#name, ver, reinterpret_cast<void **>(&api.name)}
  return {ATTN_SLOT(cuGetErrorName, 6000),
          ATTN_SLOT(cuGetErrorString, 6000),
          ATTN_SLOT(cuInit, 2000),
          ATTN_SLOT(cuDriverGetVersion, 2020),
          ATTN_SLOT(cuDeviceGetCount, 2000),
          ATTN_SLOT(cuDeviceGet, 2000),
          ATTN_SLOT(cuDeviceGetName, 2000),
          ATTN_SLOT(cuDeviceGetAttribute, 2000),
          ATTN_SLOT(cuDevicePrimaryCtxRetain, 7000),
          ATTN_SLOT(cuDevicePrimaryCtxRelease, 11000),
          ATTN_SLOT(cuCtxSetCurrent, 4000),
          ATTN_SLOT(cuModuleLoadDataEx, 2010),
          ATTN_SLOT(cuModuleUnload, 2000),
          ATTN_SLOT(cuModuleGetFunction, 2000),
          ATTN_SLOT(cuFuncSetAttribute, 9000),
          ATTN_SLOT(cuLaunchKernel, 4000),
          ATTN_SLOT(cuStreamSynchronize, 2000),
          ATTN_SLOT(cuMemAlloc, 3020),
          ATTN_SLOT(cuMemFree, 3020),
          ATTN_SLOT(cuMemcpyHtoD, 3020),
          ATTN_SLOT(cuMemcpyDtoH, 3020),
          ATTN_SLOT(cuMemsetD8Async, 3020),
          ATTN_SLOT(cuMemsetD2D8Async, 3020),
          ATTN_SLOT(cuCtxSynchronize, 2000)};
}

/// Entry points a driver may lack; what needs them says so when used.
std::vector<EntryPoint> optionalEntryPoints(Api &api) {
  return {ATTN_SLOT(cuTensorMapEncodeTiled, 12000)};
#undef ATTN_SLOT
}

/// Names of the codes the runtime may see before cuGetErrorName resolves
/// (or when a stub library answers every call with an error).
const char *fallbackName(Result r) {
  switch (r) {
  case kSuccess:
    return "CUDA_SUCCESS";
  case kNotInitialized:
    return "CUDA_ERROR_NOT_INITIALIZED";
  case kDeinitialized:
    return "CUDA_ERROR_DEINITIALIZED";
  case kStubLibrary:
    return "CUDA_ERROR_STUB_LIBRARY";
  case kNoDevice:
    return "CUDA_ERROR_NO_DEVICE";
  case kInvalidDevice:
    return "CUDA_ERROR_INVALID_DEVICE";
  case kSystemDriverMismatch:
    return "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH";
  case kCompatNotSupported:
    return "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE";
  }
  return nullptr;
}

/// Codes that mean "there is no usable driver" rather than "a call failed".
bool meansNoDriver(Result r) {
  return r == kStubLibrary || r == kNotInitialized || r == kDeinitialized ||
         r == kSystemDriverMismatch || r == kCompatNotSupported;
}

} // namespace

Driver::Driver() : entry(new Api()) {}
Driver::~Driver() = default;

Status Driver::error(Result result, const std::string &call) const {
  const char *name = nullptr, *text = nullptr;
  const ResultArg code = static_cast<ResultArg>(result);
  if (entry->cuGetErrorName && entry->cuGetErrorName(code, &name) != kSuccess)
    name = nullptr;
  if (entry->cuGetErrorString &&
      entry->cuGetErrorString(code, &text) != kSuccess)
    text = nullptr;
  if (!name)
    name = fallbackName(result);
  std::string what = name ? name : "CUDA error " + std::to_string(result);
  if (text)
    what += std::string(" (") + text + ")";
  attn_status status = ATTN_ERROR_CUDA;
  if (result == kNoDevice || result == kInvalidDevice)
    status = ATTN_ERROR_NO_DEVICE;
  else if (meansNoDriver(result))
    status = ATTN_ERROR_NO_CUDA;
  return Status::error(status, call + " failed: " + what);
}

Status Driver::load(const std::string &library, std::unique_ptr<Driver> &out) {
  out.reset();
  dlerror();
  // RTLD_LOCAL: the driver's symbols are reached through cuGetProcAddress
  // only, never by name from elsewhere in the process.
  void *lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    return Status::error(ATTN_ERROR_NO_CUDA,
                         "cannot load " + library +
                             " (the NVIDIA driver library): " +
                             (why ? why : "unknown dlopen error") +
                             "; this machine has no usable NVIDIA driver");
  }
  std::unique_ptr<Driver> driver(new Driver());
  Api &api = *driver->entry;

  // cuGetProcAddress itself is the one symbol taken by name: the _v2 form
  // (CUDA 12+) reports why a symbol is missing; CUDA 11.3+ has the first.
  auto v2 = reinterpret_cast<GetProcAddressV2>(dlsym(lib, "cuGetProcAddress_v2"));
  auto v1 = v2 ? nullptr
               : reinterpret_cast<GetProcAddressV1>(dlsym(lib, "cuGetProcAddress"));
  if (!v2 && !v1)
    return Status::error(ATTN_ERROR_NO_CUDA,
                         library + " has no cuGetProcAddress: the NVIDIA "
                                   "driver is older than CUDA 11.3");
  // Resolves `e` into `fn`: the driver's result and, with the _v2 form,
  // why a symbol is missing.
  auto lookup = [&](const EntryPoint &e, void *&fn,
                    ProcAddressQueryResult &found) {
    found = ProcAddressQueryResult();
    Result r = v2 ? v2(e.name, &fn, e.version, kLegacyStream, &found)
                  : v1(e.name, &fn, e.version, kLegacyStream);
    return r;
  };
  for (const EntryPoint &e : entryPoints(api)) {
    void *fn = nullptr;
    ProcAddressQueryResult found;
    Result r = lookup(e, fn, found);
    if (r != kSuccess || !fn ||
        (v2 && static_cast<int>(found) != kProcAddressSuccess)) {
      if (r != kSuccess && meansNoDriver(r))
        return driver->error(r, std::string("cuGetProcAddress(") + e.name + ")");
      return Status::error(
          ATTN_ERROR_NO_CUDA,
          "the NVIDIA driver (" + library + ") does not provide " + e.name +
              " of CUDA " + std::to_string(e.version / 1000) + "." +
              std::to_string(e.version % 1000 / 10) +
              " (cuGetProcAddress: " +
              (fallbackName(r) ? fallbackName(r) : std::to_string(r)) +
              ", query result " + std::to_string(static_cast<int>(found)) +
              "); the driver is too old or broken");
    }
    *e.slot = fn;
  }
  for (const EntryPoint &e : optionalEntryPoints(api)) {
    void *fn = nullptr;
    ProcAddressQueryResult found;
    Result r = lookup(e, fn, found);
    bool ok = r == kSuccess && fn &&
              (!v2 || static_cast<int>(found) == kProcAddressSuccess);
    *e.slot = ok ? fn : nullptr;
  }

  Result r = api.cuInit(0);
  if (r != kSuccess)
    return driver->error(r, "cuInit");
  r = api.cuDriverGetVersion(&driver->driverVersion);
  if (r != kSuccess)
    return driver->error(r, "cuDriverGetVersion");
  r = api.cuDeviceGetCount(&driver->devices);
  if (r != kSuccess)
    return driver->error(r, "cuDeviceGetCount");
  if (driver->devices <= 0)
    return Status::error(ATTN_ERROR_NO_DEVICE,
                         "the NVIDIA driver reports no CUDA device");
  out = std::move(driver);
  return Status::success();
}

Status Driver::get(const Driver *&out) {
  static std::once_flag once;
  static std::unique_ptr<Driver> instance;
  static Status status = Status::success();
  std::call_once(once, [] {
    try {
      status = load("libcuda.so.1", instance);
    } catch (...) {
      status = Status::error(ATTN_ERROR_NO_CUDA,
                             "out of memory while loading the CUDA driver");
    }
  });
  out = instance.get();
  return status;
}

//===----------------------------------------------------------------------===//
// Context
//===----------------------------------------------------------------------===//

Status attn::rt::cuda::describeDevice(const Driver &driver, int ordinal,
                                      DeviceInfo &info) {
  if (ordinal < 0 || ordinal >= driver.deviceCount())
    return Status::error(ATTN_ERROR_NO_DEVICE,
                         "CUDA device " + std::to_string(ordinal) +
                             " does not exist (this machine has " +
                             std::to_string(driver.deviceCount()) + ")");
  const Api &api = driver.api();
  Device dev = 0;
  Result r = api.cuDeviceGet(&dev, ordinal);
  if (r != kSuccess)
    return driver.error(r, "cuDeviceGet(" + std::to_string(ordinal) + ")");
  info = DeviceInfo();
  info.ordinal = ordinal;
  char name[256] = {0};
  if ((r = api.cuDeviceGetName(name, sizeof name - 1, dev)) != kSuccess)
    return driver.error(r, "cuDeviceGetName");
  info.name = name;
  for (auto [attr, field] :
       {std::pair<int, int *>{kAttrMajor, &info.major},
        {kAttrMinor, &info.minor},
        {kAttrMultiprocessors, &info.multiprocessors},
        {kAttrSharedOptin, &info.maxSharedPerBlockOptin}})
    if ((r = api.cuDeviceGetAttribute(
             field, static_cast<DeviceAttribute>(attr), dev)) != kSuccess)
      return driver.error(r, "cuDeviceGetAttribute(" + std::to_string(attr) +
                                 ")");
  return Status::success();
}

/// The tensor maps handed out so far (Context::tensorMap): slabs of device
/// memory, filled in order, and where each map's bytes went.
struct Context::TensorMaps {
  static constexpr size_t kPerSlab = 256, kBytes = 128;
  std::mutex mutex;
  /// What a request asks for (TensorMaps::key) -> where its map is.
  std::map<std::array<uint64_t, 13>, DevicePtr> cached;
  static std::array<uint64_t, 13> key(const TensorMapRequest &r) {
    return {r.bf16,    r.address,    r.dims[0],    r.dims[1],    r.dims[2],
            r.dims[3], r.strides[0], r.strides[1], r.strides[2], r.box[0],
            r.box[1],  r.box[2],     r.box[3]};
  }
  std::vector<DevicePtr> slabs;
  size_t used = 0; ///< maps placed since the cache (re)started
};

/// The slab of tile counters (Context::tileCounter), allocated on first
/// use, and the next one to hand out.
struct Context::TileCounters {
  std::mutex mutex;
  DevicePtr slab = 0;
  size_t next = 0;
};

Status Context::retain(const Driver &driver, int ordinal,
                       std::unique_ptr<Context> &out) {
  out.reset();
  std::unique_ptr<Context> c(new Context());
  c->drv = &driver;
  c->maps.reset(new TensorMaps());
  c->counters.reset(new TileCounters());
  Status s = describeDevice(driver, ordinal, c->info);
  if (!s.ok())
    return s;
  Result r = driver.api().cuDeviceGet(&c->dev, ordinal);
  if (r != kSuccess)
    return driver.error(r, "cuDeviceGet(" + std::to_string(ordinal) + ")");
  r = driver.api().cuDevicePrimaryCtxRetain(&c->ctx, c->dev);
  if (r != kSuccess) {
    c->ctx = nullptr; // nothing to release
    return driver.error(r, "cuDevicePrimaryCtxRetain(device " +
                               std::to_string(ordinal) + ")");
  }
  out = std::move(c);
  return Status::success();
}

Context::~Context() {
  if (maps && ctx && makeCurrent().ok())
    for (DevicePtr slab : maps->slabs)
      drv->api().cuMemFree(slab);
  if (counters && counters->slab && ctx && makeCurrent().ok())
    drv->api().cuMemFree(counters->slab);
  if (ctx)
    drv->api().cuDevicePrimaryCtxRelease(dev);
}

Status Context::tensorMap(const TensorMapRequest &request,
                          DevicePtr &out) const {
  const Api &api = drv->api();
  if (!api.cuTensorMapEncodeTiled)
    return Status::error(ATTN_ERROR_UNSUPPORTED,
                         "this kernel loads its tiles through TMA tensor maps, "
                         "and the NVIDIA driver has no cuTensorMapEncodeTiled "
                         "(CUDA 12.0 or newer needed, driver " +
                             std::to_string(drv->version()) + ")");
  // A request seen before costs a lookup: no encoding, no copy.
  const std::array<uint64_t, 13> key = TensorMaps::key(request);
  std::lock_guard<std::mutex> lock(maps->mutex);
  auto found = maps->cached.find(key);
  if (found != maps->cached.end()) {
    out = found->second;
    return Status::success();
  }
  // CUtensorMap: 128 bytes, 64-byte aligned.
  alignas(64) std::array<uint64_t, 16> map{};
  constexpr int kBF16 = 9, kF16 = 6, kSwizzle128B = 3, kL2Promotion128B = 2;
#if ATTN_HAVE_CUDA_HEADERS
  static_assert(CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 == kBF16 &&
                    CU_TENSOR_MAP_DATA_TYPE_FLOAT16 == kF16 &&
                    CU_TENSOR_MAP_SWIZZLE_128B == kSwizzle128B &&
                    CU_TENSOR_MAP_L2_PROMOTION_L2_128B == kL2Promotion128B &&
                    sizeof(CUtensorMap) == sizeof(map),
                "tensor map constants");
#endif
  const uint32_t elementStrides[4] = {1, 1, 1, 1};
  Result r = api.cuTensorMapEncodeTiled(
      reinterpret_cast<TensorMapPointer>(map.data()),
      TensorMapDataType(request.bf16 ? kBF16 : kF16), 4,
      reinterpret_cast<void *>(static_cast<uintptr_t>(request.address)),
      request.dims, request.strides, request.box, elementStrides,
      TensorMapInterleave(0), TensorMapSwizzle(kSwizzle128B),
      TensorMapL2Promotion(kL2Promotion128B), TensorMapOOBFill(0));
  if (r != kSuccess) {
    std::string what = "cuTensorMapEncodeTiled(dims";
    for (uint64_t d : request.dims)
      what += " " + std::to_string(d);
    what += ", byte strides";
    for (uint64_t st : request.strides)
      what += " " + std::to_string(st);
    what += ", box";
    for (uint32_t d : request.box)
      what += " " + std::to_string(d);
    return drv->error(r, what + ")");
  }
  if (maps->cached.size() >= kMaxTensorMaps) {
    // Every queued kernel is done with the maps: they may be rewritten.
    r = api.cuCtxSynchronize();
    if (r != kSuccess)
      return drv->error(r, "cuCtxSynchronize (recycling tensor maps)");
    maps->cached.clear();
    maps->used = 0;
  }
  const size_t slab = maps->used / TensorMaps::kPerSlab;
  Status s;
  if (slab == maps->slabs.size()) {
    DevicePtr fresh = 0;
    s = alloc(TensorMaps::kPerSlab * TensorMaps::kBytes, fresh);
    if (!s.ok())
      return s;
    maps->slabs.push_back(fresh);
  }
  DevicePtr at = maps->slabs[slab] +
                 (maps->used % TensorMaps::kPerSlab) * TensorMaps::kBytes;
  s = copyToDevice(at, map.data(), TensorMaps::kBytes);
  if (!s.ok())
    return s;
  ++maps->used;
  maps->cached.emplace(key, at);
  out = at;
  return Status::success();
}

Status Context::tileCounter(StreamHandle stream, DevicePtr &out) const {
  std::lock_guard<std::mutex> lock(counters->mutex);
  if (!counters->slab) {
    Status s = alloc(kTileCounters * 4, counters->slab);
    if (!s.ok())
      return s;
  }
  const DevicePtr at = counters->slab + (counters->next % kTileCounters) * 4;
  Status s = zeroAsync(at, 4, 4, 1, stream);
  if (!s.ok())
    return s;
  ++counters->next;
  out = at;
  return Status::success();
}

Status Context::makeCurrent() const {
  Result r = drv->api().cuCtxSetCurrent(ctx);
  return r == kSuccess ? Status::success()
                       : drv->error(r, "cuCtxSetCurrent");
}

Status Context::alloc(size_t bytes, DevicePtr &ptr) const {
  Status s = makeCurrent();
  if (!s.ok())
    return s;
  Result r = drv->api().cuMemAlloc(&ptr, bytes);
  return r == kSuccess ? Status::success()
                       : drv->error(r, "cuMemAlloc(" + std::to_string(bytes) +
                                           " bytes)");
}

Status Context::free(DevicePtr ptr) const {
  Status s = makeCurrent();
  if (!s.ok())
    return s;
  Result r = drv->api().cuMemFree(ptr);
  return r == kSuccess ? Status::success() : drv->error(r, "cuMemFree");
}

Status Context::copyToDevice(DevicePtr dst, const void *src,
                             size_t bytes) const {
  Status s = makeCurrent();
  if (!s.ok())
    return s;
  Result r = drv->api().cuMemcpyHtoD(dst, src, bytes);
  return r == kSuccess ? Status::success() : drv->error(r, "cuMemcpyHtoD");
}

Status Context::copyToHost(void *dst, DevicePtr src, size_t bytes) const {
  Status s = makeCurrent();
  if (!s.ok())
    return s;
  Result r = drv->api().cuMemcpyDtoH(dst, src, bytes);
  return r == kSuccess ? Status::success() : drv->error(r, "cuMemcpyDtoH");
}

Status Context::zeroAsync(DevicePtr dst, size_t pitch, size_t width,
                          size_t height, StreamHandle stream) const {
  Status s = makeCurrent();
  if (!s.ok())
    return s;
  const std::string what = std::to_string(width) + " bytes" +
                           (height > 1 ? " x " + std::to_string(height) +
                                             " rows, pitch " +
                                             std::to_string(pitch)
                                       : "");
  if (height <= 1) {
    Result r = drv->api().cuMemsetD8Async(dst, 0, width, stream);
    return r == kSuccess ? Status::success()
                         : drv->error(r, "cuMemsetD8Async(" + what + ")");
  }
  Result r =
      drv->api().cuMemsetD2D8Async(dst, pitch, 0, width, height, stream);
  return r == kSuccess ? Status::success()
                       : drv->error(r, "cuMemsetD2D8Async(" + what + ")");
}

Status Context::synchronize(StreamHandle stream) const {
  Status s = makeCurrent();
  if (!s.ok())
    return s;
  Result r = drv->api().cuStreamSynchronize(stream);
  return r == kSuccess ? Status::success()
                       : drv->error(r, "cuStreamSynchronize");
}

//===----------------------------------------------------------------------===//
// Modules and functions
//===----------------------------------------------------------------------===//

Status Module::load(const Context &context, const void *image,
                    std::unique_ptr<Module> &out) {
  out.reset();
  if (!image)
    return Status::error("Module::load: no image");
  Status s = context.makeCurrent();
  if (!s.ok())
    return s;
  // The JIT's error log says which PTX line failed; without it a bad PTX
  // image is only "CUDA_ERROR_INVALID_PTX".
  std::vector<char> log(8192, '\0');
  JitOption options[2] = {static_cast<JitOption>(kJitErrorLogBuffer),
                          static_cast<JitOption>(kJitErrorLogBufferSize)};
  void *values[2] = {log.data(),
                     reinterpret_cast<void *>(
                         static_cast<uintptr_t>(log.size() - 1))};
  std::unique_ptr<Module> m(new Module());
  m->ctx = &context;
  const Driver &driver = context.driver();
  Result r = driver.api().cuModuleLoadDataEx(&m->mod, image, 2, options, values);
  if (r != kSuccess) {
    m->mod = nullptr;
    Status e = driver.error(r, "cuModuleLoadData");
    std::string text(log.data());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\0'))
      text.pop_back();
    if (!text.empty())
      return Status::error(e.code(), e.message() + "; JIT log: " + text);
    return e;
  }
  out = std::move(m);
  return Status::success();
}

Module::~Module() {
  if (mod && ctx->makeCurrent().ok())
    ctx->driver().api().cuModuleUnload(mod);
}

Status Module::function(const std::string &name, Function &out) const {
  Status s = ctx->makeCurrent();
  if (!s.ok())
    return s;
  FunctionHandle fn = nullptr;
  Result r = ctx->driver().api().cuModuleGetFunction(&fn, mod, name.c_str());
  if (r != kSuccess)
    return ctx->driver().error(r, "cuModuleGetFunction('" + name + "')");
  out.ctx = ctx;
  out.fn = fn;
  out.entryName = name;
  return Status::success();
}

Status Function::setMaxDynamicSharedMemory(int bytes) const {
  if (!fn)
    return Status::error("no CUDA function loaded");
  const DeviceInfo &device = ctx->device();
  if (bytes < 0 || bytes > device.maxSharedPerBlockOptin)
    return Status::error(
        ATTN_ERROR_TARGET_MISMATCH,
        "kernel '" + entryName + "' needs " + std::to_string(bytes) +
            " bytes of dynamic shared memory; " + device.name + " (sm_" +
            std::to_string(device.major) + std::to_string(device.minor) +
            ") allows at most " +
            std::to_string(device.maxSharedPerBlockOptin) + " per block");
  Status s = ctx->makeCurrent();
  if (!s.ok())
    return s;
  Result r = ctx->driver().api().cuFuncSetAttribute(
      fn, static_cast<FunctionAttribute>(kFuncMaxDynamicShared), bytes);
  return r == kSuccess
             ? Status::success()
             : ctx->driver().error(
                   r, "cuFuncSetAttribute('" + entryName +
                          "', MAX_DYNAMIC_SHARED_SIZE_BYTES, " +
                          std::to_string(bytes) + ")");
}

Status Function::launch(Dim3 grid, Dim3 block, unsigned dynamicSharedMemory,
                        StreamHandle stream, void **params) const {
  if (!fn)
    return Status::error("no CUDA function loaded");
  Status s = ctx->makeCurrent();
  if (!s.ok())
    return s;
  Result r = ctx->driver().api().cuLaunchKernel(
      fn, grid.x, grid.y, grid.z, block.x, block.y, block.z,
      dynamicSharedMemory, stream, params, nullptr);
  if (r != kSuccess)
    return ctx->driver().error(
        r, "cuLaunchKernel('" + entryName + "', grid " +
               std::to_string(grid.x) + "x" + std::to_string(grid.y) + "x" +
               std::to_string(grid.z) + ", block " + std::to_string(block.x) +
               "x" + std::to_string(block.y) + "x" + std::to_string(block.z) +
               ", " + std::to_string(dynamicSharedMemory) +
               " bytes of dynamic shared memory)");
  return Status::success();
}
