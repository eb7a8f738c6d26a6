//===- cpu_launch.cpp - Load and launch attn's CPU kernels ----------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn_runtime/cpu_launch.h"

#include <climits>
#include <cstdint>
#include <cstring>
#include <dlfcn.h>
#include <link.h>
#include <sstream>
#include <utility>

using namespace attn::rt;

int64_t attn::rt::elementBytes(ElementType type) {
  return type == ElementType::F32 ? 4 : 2;
}

const char *attn::rt::elementTypeName(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f32";
  case ElementType::F16:
    return "f16";
  case ElementType::BF16:
    return "bf16";
  }
  return "?";
}

bool attn::rt::parseElementType(const std::string &name, ElementType &type) {
  for (ElementType t : {ElementType::F32, ElementType::F16, ElementType::BF16})
    if (name == elementTypeName(t)) {
      type = t;
      return true;
    }
  return false;
}

TensorView TensorView::contiguous(void *data, int64_t b, int64_t h, int64_t s,
                                  int64_t d) {
  const int64_t sizes[4] = {b, h, s, d};
  const int64_t strides[4] = {h * s * d, s * d, d, 1};
  return strided(data, sizes, strides);
}

TensorView TensorView::strided(void *data, const int64_t sizes[4],
                               const int64_t strides[4]) {
  TensorView view;
  view.data = data;
  for (int i = 0; i < 4; ++i) {
    view.sizes[i] = sizes[i];
    view.strides[i] = strides[i];
  }
  return view;
}

StridedView StridedView::contiguous(void *data, std::vector<int64_t> sizes) {
  StridedView view;
  view.data = data;
  view.rank = static_cast<int>(sizes.size());
  int64_t stride = 1;
  for (int i = view.rank - 1; i >= 0; --i) {
    view.sizes[i] = sizes[i];
    view.strides[i] = stride;
    stride *= sizes[i];
  }
  return view;
}

attn_memref4d attn::rt::toMemref(const TensorView &view) {
  attn_memref4d ref;
  ref.allocated = view.data;
  ref.aligned = view.data;
  ref.offset = 0;
  for (int i = 0; i < 4; ++i) {
    ref.sizes[i] = view.sizes[i];
    ref.strides[i] = view.strides[i];
  }
  return ref;
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

CpuKernel::~CpuKernel() { reset(); }

CpuKernel::CpuKernel(CpuKernel &&other) noexcept { *this = std::move(other); }

CpuKernel &CpuKernel::operator=(CpuKernel &&other) noexcept {
  if (this != &other) {
    reset();
    handle = std::exchange(other.handle, nullptr);
    entry = std::exchange(other.entry, nullptr);
    itemsFn = std::exchange(other.itemsFn, nullptr);
    kernelName = std::move(other.kernelName);
    libraryPath = std::move(other.libraryPath);
    kernelInfo = other.kernelInfo;
  }
  return *this;
}

void CpuKernel::reset() {
  if (handle)
    dlclose(handle);
  handle = entry = nullptr;
  itemsFn = nullptr;
}

static std::string lastDlError() {
  const char *text = dlerror();
  return text ? text : "no detail from dlerror()";
}

Status CpuKernel::load(const std::string &library, const std::string &kernel,
                       const CpuKernelInfo &info) {
  return load(library, kernel, "_mlir_ciface_" + kernel,
              kernel + "_work_items", info);
}

Status CpuKernel::load(const std::string &library, const std::string &kernel,
                       const std::string &entrySymbol,
                       const std::string &workItemsSymbol,
                       const CpuKernelInfo &info) {
  reset();
  // dlopen searches the library path for a bare name; a kernel library is
  // a file the caller names, so make a bare name relative.
  std::string path =
      library.find('/') == std::string::npos ? "./" + library : library;
  dlerror(); // clear a stale error
  void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return Status::error(ATTN_ERROR_IO, "cannot open kernel library '" +
                                            library + "': " + lastDlError());
  struct link_map *own = nullptr;
  if (dlinfo(lib, RTLD_DI_LINKMAP, &own) != 0)
    own = nullptr;

  auto resolve = [&](const std::string &symbol, void *&address) -> Status {
    dlerror();
    address = dlsym(lib, symbol.c_str());
    if (!address)
      return Status::error(ATTN_ERROR_CORRUPT_ARTIFACT,
                           "kernel library '" + library + "' has no symbol '" +
                               symbol + "' (is '" + kernel +
                               "' the kernel's name?): " + lastDlError());
    // dlsym on a handle also searches the library's dependencies; calling
    // libc's function of that name with kernel arguments would be a crash.
    Dl_info where;
    struct link_map *owner = nullptr;
    if (own && dladdr1(address, &where, reinterpret_cast<void **>(&owner),
                       RTLD_DL_LINKMAP) &&
        owner && owner != own)
      return Status::error(
          ATTN_ERROR_CORRUPT_ARTIFACT,
          "kernel library '" + library + "' does not define '" + symbol +
              "': the name resolves in " +
              (where.dli_fname ? where.dli_fname : "another library"));
    return Status::success();
  };
  void *entryAddress = nullptr, *itemsAddress = nullptr;
  Status status = resolve(entrySymbol, entryAddress);
  if (status.ok())
    status = resolve(workItemsSymbol, itemsAddress);
  if (!status.ok()) {
    dlclose(lib);
    return status;
  }
  handle = lib;
  entry = entryAddress;
  itemsFn = reinterpret_cast<attn_cpu_work_items_fn>(itemsAddress);
  kernelName = kernel;
  libraryPath = library;
  kernelInfo = info;
  return Status::success();
}

int64_t CpuKernel::workItems(int64_t pairs, int64_t queryLen,
                             int64_t keyLen) const {
  return itemsFn ? itemsFn(pairs, queryLen, keyLen) : 0;
}

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

static std::string shapeText(const TensorView &view) {
  std::ostringstream os;
  os << '[' << view.sizes[0] << ", " << view.sizes[1] << ", " << view.sizes[2]
     << ", " << view.sizes[3] << ']';
  return os.str();
}

Status CpuKernel::validate(const TensorView &q, const TensorView &k,
                           const TensorView &v, const TensorView &o,
                           const int32_t *active, int64_t numActive,
                           const TensorView *blocks) const {
  if (!loaded())
    return Status::error("no kernel loaded");
  const std::string where = "kernel '" + kernelName + "': ";
  auto fail = [&](const std::string &what) {
    return Status::error(ATTN_ERROR_SHAPE_MISMATCH, where + what);
  };
  if (kernelInfo.operands)
    return Status::error(where + "takes one descriptor per operand and "
                                 "result (select_blocks, compress_kv, "
                                 "sparse_branches): "
                                 "launch it with launchOperands");
  if (kernelInfo.blocks != (blocks != nullptr))
    return fail(kernelInfo.blocks ? "the kernel takes a blocks list; none "
                                    "was given"
                                  : "a blocks list was given to a kernel "
                                    "that takes none");
  static const char *dimNames[4] = {"B", "H", "S", "D"};
  const std::pair<const char *, const TensorView *> tensors[4] = {
      {"query", &q}, {"key", &k}, {"value", &v}, {"out", &o}};
  for (const auto &[name, t] : tensors) {
    if (!t->data)
      return fail(std::string(name) + " has no data");
    for (int i = 0; i < 4; ++i)
      if (t->sizes[i] < 1)
        return fail(std::string(name) + " " + shapeText(*t) + " has size " +
                    std::to_string(t->sizes[i]) + " in " + dimNames[i] +
                    "; every size must be at least 1");
    if (t->strides[3] != 1)
      return fail(std::string(name) + " must have innermost stride 1, found " +
                  std::to_string(t->strides[3]));
  }

  const int64_t batch = q.sizes[0], hq = q.sizes[1], d = q.sizes[3];
  for (const auto &[name, t] : tensors)
    if (t->sizes[0] != batch)
      return fail(std::string(name) + " has batch " +
                  std::to_string(t->sizes[0]) + ", expected " +
                  std::to_string(batch) + " (the query's)");
  // Query and key share D; value and out share Dv, which may differ.
  if (k.sizes[3] != d)
    return fail("key has head dim " + std::to_string(k.sizes[3]) +
                ", expected " + std::to_string(d) + " (the query's)");
  if (o.sizes[3] != v.sizes[3])
    return fail("out has head dim " + std::to_string(o.sizes[3]) +
                ", expected " + std::to_string(v.sizes[3]) + " (the value's)");
  if (kernelInfo.headDim && d != kernelInfo.headDim)
    return fail("head dim " + std::to_string(d) + " does not match the " +
                std::to_string(kernelInfo.headDim) +
                " the kernel was compiled for");
  const int64_t dv = kernelInfo.valueDim
                         ? kernelInfo.valueDim
                         : (kernelInfo.headDim ? kernelInfo.headDim : 0);
  if (dv && v.sizes[3] != dv)
    return fail("value head dim " + std::to_string(v.sizes[3]) +
                " does not match the " + std::to_string(dv) +
                " the kernel was compiled for");
  for (int i = 0; i < 3; ++i)
    if (v.sizes[i] != k.sizes[i])
      return fail("value " + shapeText(v) + " must have the key's shape " +
                  shapeText(k) + " in B, H and S");
  for (int i = 0; i < 3; ++i)
    if (o.sizes[i] != q.sizes[i])
      return fail("out " + shapeText(o) + " must have the query's shape " +
                  shapeText(q) + " in B, H and S");
  const int64_t hkv = k.sizes[1];
  if (hq % hkv != 0)
    return fail("query heads (" + std::to_string(hq) +
                ") must be a multiple of key/value heads (" +
                std::to_string(hkv) + ")");
  if (blocks) {
    if (!blocks->data)
      return fail("blocks has no data");
    if (blocks->sizes[0] != batch || blocks->sizes[1] != hkv ||
        blocks->sizes[2] < 1 || blocks->sizes[3] < 1 ||
        blocks->strides[3] != 1)
      return fail("blocks " + shapeText(*blocks) +
                  " must be [B, Hkv, query blocks, slots] with B = " +
                  std::to_string(batch) + ", Hkv = " + std::to_string(hkv) +
                  " and innermost stride 1 (found " +
                  std::to_string(blocks->strides[3]) + ")");
  }

  if (!kernelInfo.gated) {
    if (active || numActive)
      return fail("an active list was given to a kernel that is not gated");
    return Status::success();
  }
  if (numActive < 0 || (numActive > 0 && !active))
    return fail("a gated kernel needs an active list, got " +
                std::to_string(numActive) + " entries" +
                (active ? "" : " and no pointer"));
  // The list holds int32 pairs: B * Hq must fit, or a pair could not be
  // named (and the check below would wrap).
  if (batch > INT32_MAX / hq)
    return fail("B * Hq = " + std::to_string(batch) + " * " +
                std::to_string(hq) + " does not fit the int32 active list");
  const int64_t pairs = batch * hq;
  for (int64_t i = 0; i < numActive; ++i)
    if (active[i] < 0 || active[i] >= pairs)
      return fail(
          "active[" + std::to_string(i) + "] = " + std::to_string(active[i]) +
          " is not a pair b * Hq + h in [0, " + std::to_string(pairs) + ")");
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Launch
//===----------------------------------------------------------------------===//

/// Zeroes `out` with the pool, one (batch, head) pair per item: a gated
/// kernel's output can be large enough for one thread's memset to show.
static void zeroFill(ThreadPool &pool, const TensorView &out,
                     int64_t elementSize) {
  const int64_t heads = out.sizes[1], rows = out.sizes[2], d = out.sizes[3];
  const bool rowsContiguous = out.strides[2] == d;
  pool.parallelFor(out.sizes[0] * heads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t pair = begin; pair < end; ++pair) {
      char *base =
          static_cast<char *>(out.data) +
          ((pair / heads) * out.strides[0] + (pair % heads) * out.strides[1]) *
              elementSize;
      if (rowsContiguous) {
        std::memset(base, 0, rows * d * elementSize);
        continue;
      }
      for (int64_t r = 0; r < rows; ++r)
        std::memset(base + r * out.strides[2] * elementSize, 0,
                    d * elementSize);
    }
  });
}

Status CpuKernel::launch(ThreadPool &pool, const TensorView &query,
                         const TensorView &key, const TensorView &value,
                         const TensorView &out, const int32_t *active,
                         int64_t numActive, int64_t grain,
                         const TensorView *blocks) const {
  Status status = validate(query, key, value, out, active, numActive, blocks);
  if (!status.ok())
    return status;

  const attn_memref4d q = toMemref(query), k = toMemref(key),
                      v = toMemref(value), o = toMemref(out);
  const int64_t queryLen = query.sizes[2], keyLen = key.sizes[2];
  const attn_memref4d bl = blocks ? toMemref(*blocks) : attn_memref4d{};

  if (!kernelInfo.gated && blocks) {
    auto fn = reinterpret_cast<attn_cpu_blocks_kernel_fn>(entry);
    const int64_t items =
        itemsFn(query.sizes[0] * query.sizes[1], queryLen, keyLen);
    pool.parallelFor(items, grain, [&](int64_t begin, int64_t end) {
      attn_memref4d lq = q, lk = k, lv = v, lo = o, lb = bl;
      fn(&lq, &lk, &lv, &lo, &lb, begin, end);
    });
    return Status::success();
  }

  if (!kernelInfo.gated) {
    auto fn = reinterpret_cast<attn_cpu_kernel_fn>(entry);
    const int64_t items =
        itemsFn(query.sizes[0] * query.sizes[1], queryLen, keyLen);
    pool.parallelFor(items, grain, [&](int64_t begin, int64_t end) {
      // Each call gets its own descriptors: the ABI passes them by pointer
      // and promises nothing about not writing to them.
      attn_memref4d lq = q, lk = k, lv = v, lo = o;
      fn(&lq, &lk, &lv, &lo, begin, end);
    });
    return Status::success();
  }

  zeroFill(pool, out, elementBytes(kernelInfo.elementType));
  auto fn = reinterpret_cast<attn_cpu_gated_kernel_fn>(entry);
  // The ABI's active list is read-only for the kernel; the descriptor's
  // pointer is non-const only because MLIR's descriptors are.
  int32_t empty = 0;
  int32_t *list = active ? const_cast<int32_t *>(active) : &empty;
  const attn_memref1d a = {list, list, 0, {numActive}, {1}};
  const int64_t items = itemsFn(numActive, queryLen, keyLen);
  if (blocks) {
    auto blocksFn = reinterpret_cast<attn_cpu_gated_blocks_kernel_fn>(entry);
    pool.parallelFor(items, grain, [&](int64_t begin, int64_t end) {
      attn_memref4d lq = q, lk = k, lv = v, lo = o, lb = bl;
      attn_memref1d la = a;
      blocksFn(&lq, &lk, &lv, &lo, &la, &lb, begin, end);
    });
    return Status::success();
  }
  pool.parallelFor(items, grain, [&](int64_t begin, int64_t end) {
    attn_memref4d lq = q, lk = k, lv = v, lo = o;
    attn_memref1d la = a;
    fn(&lq, &lk, &lv, &lo, &la, begin, end);
  });
  return Status::success();
}

namespace {

/// MLIR's ranked memref descriptor of any rank up to ATTN_MAX_RANK: the
/// sizes, then the strides, packed after the offset (the layout of
/// StridedMemRefType<T, rank>, whose two arrays are adjacent int64s).
struct AnyMemref {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizesThenStrides[2 * ATTN_MAX_RANK];
};

AnyMemref toAnyMemref(const StridedView &view) {
  AnyMemref ref = {view.data, view.data, 0, {}};
  for (int i = 0; i < view.rank; ++i) {
    ref.sizesThenStrides[i] = view.sizes[i];
    ref.sizesThenStrides[view.rank + i] = view.strides[i];
  }
  return ref;
}

/// Calls `entry` with the descriptors in `refs` and the item range: the
/// C signature has exactly refs.size() pointers before the two int64s, so
/// each count gets its own function type.
void callWithDescriptors(void *entry, std::vector<AnyMemref> &refs,
                         int64_t begin, int64_t end) {
  using P = void *;
  P r[8] = {};
  for (size_t i = 0; i < refs.size(); ++i)
    r[i] = &refs[i];
  switch (refs.size()) {
  case 1:
    reinterpret_cast<void (*)(P, int64_t, int64_t)>(entry)(r[0], begin, end);
    return;
  case 2:
    reinterpret_cast<void (*)(P, P, int64_t, int64_t)>(entry)(r[0], r[1],
                                                              begin, end);
    return;
  case 3:
    reinterpret_cast<void (*)(P, P, P, int64_t, int64_t)>(entry)(
        r[0], r[1], r[2], begin, end);
    return;
  case 4:
    reinterpret_cast<void (*)(P, P, P, P, int64_t, int64_t)>(entry)(
        r[0], r[1], r[2], r[3], begin, end);
    return;
  case 5:
    reinterpret_cast<void (*)(P, P, P, P, P, int64_t, int64_t)>(entry)(
        r[0], r[1], r[2], r[3], r[4], begin, end);
    return;
  case 6:
    reinterpret_cast<void (*)(P, P, P, P, P, P, int64_t, int64_t)>(entry)(
        r[0], r[1], r[2], r[3], r[4], r[5], begin, end);
    return;
  case 7:
    reinterpret_cast<void (*)(P, P, P, P, P, P, P, int64_t, int64_t)>(entry)(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], begin, end);
    return;
  case 8:
    reinterpret_cast<void (*)(P, P, P, P, P, P, P, P, int64_t, int64_t)>(
        entry)(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], begin, end);
    return;
  }
}

} // namespace

Status CpuKernel::launchOperands(ThreadPool &pool,
                                 const std::vector<StridedView> &operands,
                                 const std::vector<StridedView> &results,
                                 int64_t pairs, int64_t queryLen,
                                 int64_t keyLen, int64_t grain) const {
  if (!loaded())
    return Status::error("no kernel loaded");
  const std::string where = "kernel '" + kernelName + "': ";
  if (!kernelInfo.operands)
    return Status::error(where + "is an attention kernel: launch it with "
                                 "launch()");
  const size_t count = operands.size() + results.size();
  if (count < 1 || count > 8)
    return Status::error(where + "takes 1 to 8 tensors, got " +
                         std::to_string(count));
  std::vector<AnyMemref> refs;
  for (const auto *list : {&operands, &results})
    for (const StridedView &t : *list) {
      const std::string what =
          (list == &operands ? "operand " : "result ") +
          std::to_string(list == &operands ? refs.size()
                                           : refs.size() - operands.size());
      if (!t.data)
        return Status::error(ATTN_ERROR_SHAPE_MISMATCH,
                             where + what + " has no data");
      if (t.rank < 1 || t.rank > ATTN_MAX_RANK)
        return Status::error(ATTN_ERROR_SHAPE_MISMATCH,
                             where + what + " has rank " +
                                 std::to_string(t.rank) + ", expected 1 to " +
                                 std::to_string(ATTN_MAX_RANK));
      if (t.strides[t.rank - 1] != 1)
        return Status::error(ATTN_ERROR_SHAPE_MISMATCH,
                             where + what +
                                 " must have innermost stride 1, found " +
                                 std::to_string(t.strides[t.rank - 1]));
      refs.push_back(toAnyMemref(t));
    }
  const int64_t items = itemsFn(pairs, queryLen, keyLen);
  pool.parallelFor(items, grain, [&](int64_t begin, int64_t end) {
    // Each call gets its own descriptors, as for attention kernels.
    std::vector<AnyMemref> local = refs;
    callWithDescriptors(entry, local, begin, end);
  });
  return Status::success();
}
