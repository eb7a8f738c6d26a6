//===- attn_runtime.hpp - A thin C++ wrapper of the runtime's C API -*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// RAII handles and a result type over attn_runtime.h, for C++ callers (an
// inference engine, a benchmark). Header-only: it adds no symbols, so the
// shared library's C ABI stays the only interface. No exceptions: every call
// returns an attn::Result that carries the status and the runtime's message.
//
//   attn::Runtime rt;                                  // all cores
//   attn::Artifact art;
//   if (attn::Result r = art.open("out/"); !r) { log(r.message); return; }
//   attn_tensor in[3] = {...}, out[1] = {...};
//   attn::Result r = art.call(rt, "causal_gqa", in, out);
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_ATTN_RUNTIME_HPP
#define ATTN_RUNTIME_ATTN_RUNTIME_HPP

#include "attn_runtime/attn_runtime.h"

#include <string>
#include <utility>
#include <vector>

namespace attn {

/// A status and, on failure, the message attn_last_error() gave for it.
struct Result {
  attn_status status = ATTN_OK;
  std::string message;

  explicit operator bool() const { return status == ATTN_OK; }
  static Result from(attn_status status) {
    return status == ATTN_OK ? Result{}
                             : Result{status, attn_last_error()};
  }
};

/// A CPU thread pool (and, on first GPU use, the CUDA primary context).
class Runtime {
public:
  /// `threads <= 0`: one per core. Check valid() (creation can only fail
  /// for lack of memory or threads); error() says why.
  explicit Runtime(int threads = 0) {
    created = Result::from(attn_runtime_create(threads, &handle));
  }
  ~Runtime() { attn_runtime_destroy(handle); }
  Runtime(const Runtime &) = delete;
  Runtime &operator=(const Runtime &) = delete;

  bool valid() const { return handle != nullptr; }
  const Result &error() const { return created; }
  int threads() const { return attn_runtime_num_threads(handle); }
  attn_runtime *get() const { return handle; }

private:
  attn_runtime *handle = nullptr;
  Result created;
};

/// An opened, validated artifact directory.
class Artifact {
public:
  Artifact() = default;
  ~Artifact() { attn_artifact_close(handle); }
  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;
  Artifact(Artifact &&other) noexcept
      : handle(std::exchange(other.handle, nullptr)) {}
  Artifact &operator=(Artifact &&other) noexcept {
    std::swap(handle, other.handle);
    return *this;
  }

  /// Opens `path` (manifest, checksums, host or device requirements).
  Result open(const std::string &path) {
    attn_artifact_close(std::exchange(handle, nullptr));
    return Result::from(attn_artifact_open(path.c_str(), &handle));
  }
  bool valid() const { return handle != nullptr; }

  std::vector<std::string> functions() const {
    std::vector<std::string> names;
    for (int i = 0, e = attn_artifact_num_functions(handle); i < e; ++i)
      names.emplace_back(attn_artifact_function_name(handle, i));
    return names;
  }
  int numInputs(const std::string &function) const {
    return attn_artifact_num_inputs(handle, function.c_str());
  }
  int numOutputs(const std::string &function) const {
    return attn_artifact_num_outputs(handle, function.c_str());
  }

  /// Calls `function`: inputs and outputs in the function's order. `stream`
  /// is a CUstream for CUDA functions (nullptr: the default stream).
  Result call(const Runtime &runtime, const std::string &function,
              const std::vector<attn_tensor> &inputs,
              const std::vector<attn_tensor> &outputs,
              void *stream = nullptr) const {
    return Result::from(attn_call(runtime.get(), handle, function.c_str(),
                                  inputs.data(),
                                  static_cast<int>(inputs.size()),
                                  outputs.data(),
                                  static_cast<int>(outputs.size()), stream));
  }

  attn_artifact *get() const { return handle; }

private:
  attn_artifact *handle = nullptr;
};

/// A row-major view of `data` with `shape` (strides computed).
inline attn_tensor contiguousTensor(void *data, attn_dtype dtype,
                                    std::vector<int64_t> shape,
                                    attn_device device = ATTN_DEVICE_CPU) {
  attn_tensor t{};
  t.data = data;
  t.dtype = dtype;
  t.device = device;
  t.rank = static_cast<int32_t>(shape.size());
  int64_t stride = 1;
  for (int i = t.rank - 1; i >= 0; --i) {
    t.shape[i] = shape[i];
    t.strides[i] = stride;
    stride *= shape[i];
  }
  return t;
}

} // namespace attn

#endif // ATTN_RUNTIME_ATTN_RUNTIME_HPP
