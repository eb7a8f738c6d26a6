//===- fuzz_manifest.cpp - libFuzzer target for the manifest reader -------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary bytes to what attn_artifact_open runs on a manifest before
// it trusts anything: the JSON reader, parseManifest (fields, references,
// paths), verifyFiles against a fixed in-memory directory (no file I/O),
// checkHost against a fixed host, the CUDA image choice for a few chips, and
// the launch plan of each CUDA kernel on tensors of its function's declared
// shapes (dynamic sizes 3, made-up device addresses: nothing is read).
// Any crash, sanitizer report, leak or timeout is a bug. run_fuzz.sh builds
// it with clang++-22 -fsanitize=fuzzer,address,undefined and runs it from
// fuzz_corpus/.
//
//===----------------------------------------------------------------------===//

#include "cuda_launch.h"
#include "json.h"
#include "manifest.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

using namespace attn::rt;

namespace {

/// The "directory": three files whose content is "abc" (the seed manifests
/// list them with that size and hash, so inputs get past verification).
class FixedSource : public FileSource {
public:
  Status size(const std::string &path, uint64_t &bytes) override {
    auto it = files().find(path);
    if (it == files().end())
      return Status::error(ATTN_ERROR_CORRUPT_ARTIFACT,
                           "artifact file '" + path + "' is missing");
    bytes = it->second.size();
    return Status::success();
  }
  Status sha256(const std::string &path, std::string &hex) override {
    auto it = files().find(path);
    if (it == files().end())
      return Status::error(ATTN_ERROR_CORRUPT_ARTIFACT, "missing");
    hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    return Status::success();
  }

private:
  static const std::map<std::string, std::string> &files() {
    static const std::map<std::string, std::string> listing = {
        {"kernels.so", "abc"}, {"k.ptx", "abc"}, {"k.sm_90a.cubin", "abc"}};
    return listing;
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);

  // The reader alone, with tight limits, so that its limit paths are hit.
  json::Value value;
  std::string error;
  json::Limits tight;
  tight.maxDepth = 8;
  tight.maxValues = 256;
  tight.maxStringBytes = 64;
  json::parse(text, value, error, tight);

  Manifest manifest;
  Status status = parseManifest(text, manifest);
  if (!status.ok()) {
    // Every failure carries a code and a message.
    if (status.code() == ATTN_OK || status.message().empty())
      __builtin_trap();
    return 0;
  }
  FixedSource source;
  verifyFiles(manifest, source);
  checkHost(manifest, HostInfo{"x86_64", {"sse2", "avx", "avx2", "fma"}});
  checkHost(manifest, HostInfo{"aarch64", {"neon"}});
  for (const KernelSpec &kernel : manifest.kernels) {
    if (kernel.device != KernelDevice::CUDA)
      continue;
    std::string file;
    bool ptx = false;
    for (auto [major, minor] : {std::pair<int, int>{8, 0}, {8, 6}, {9, 0},
                                {10, 0}, {12, 1}})
      selectCudaImage(kernel, major, minor, file, ptx);
  }
  // What the C API hands out must be consistent with what was checked.
  for (const FunctionSpec &f : manifest.functions)
    for (size_t k : f.kernels) {
      const KernelSpec &kernel = manifest.kernels.at(k);
      for (int64_t arg : kernel.operandArgs)
        if (arg < 0 || arg >= static_cast<int64_t>(f.inputs.size()))
          __builtin_trap();
      if (kernel.resultIndex >= static_cast<int64_t>(f.outputs.size()))
        __builtin_trap();
      for (int64_t arg : kernel.resultArgs)
        if (arg < 0 || arg >= static_cast<int64_t>(f.outputs.size()))
          __builtin_trap();
      if (kernel.operandArgs.size() != kernel.operandTypes().size() ||
          kernel.resultArgs.size() != kernel.resultTypes().size())
        __builtin_trap();
    }
  // Launch plans: whatever parsed must plan or be refused with a message.
  // Contiguous tensors; false for ones past 2^24 elements, which a real
  // call could not allocate (attn_call checks that extents fit int64).
  auto make = [](const TensorSpec &spec, uint64_t address, attn_tensor &t) {
    t = attn_tensor();
    t.data = reinterpret_cast<void *>(static_cast<uintptr_t>(address));
    t.dtype = spec.dtype;
    t.device = ATTN_DEVICE_CUDA;
    t.rank = spec.rank();
    int64_t stride = 1;
    for (int i = t.rank - 1; i >= 0; --i) {
      t.shape[i] = spec.shape[i].isDynamic() ? 3 : spec.shape[i].size;
      t.strides[i] = stride;
      if (t.shape[i] > (int64_t(1) << 24) / stride)
        return false;
      stride *= t.shape[i];
    }
    return true;
  };
  for (const FunctionSpec &f : manifest.functions) {
    if (!f.usesCuda)
      continue;
    std::vector<attn_tensor> inputs(f.inputs.size()),
        outputs(f.outputs.size());
    bool small = true;
    for (size_t i = 0; i < inputs.size(); ++i)
      small &= make(f.inputs[i], 0x100000 * (i + 1), inputs[i]);
    for (size_t i = 0; i < outputs.size(); ++i)
      small &= make(f.outputs[i], 0x10000000 * (i + 1), outputs[i]);
    if (!small)
      continue;
    // Every size the tensors name is 3; the derived ones follow (a window
    // longer than 3 is refused with a message).
    SizeBindings sizes;
    for (const auto *list : {&f.inputs, &f.outputs})
      for (const TensorSpec &t : *list)
        for (const Dim &d : t.shape)
          if (d.isDynamic() && !f.findDerived(d.symbol))
            sizes[d.symbol] = 3;
    Status bound = bindDerivedSizes(f, sizes);
    if (!bound.ok() && (bound.code() == ATTN_OK || bound.message().empty()))
      __builtin_trap();
    for (size_t k : f.kernels) {
      const KernelSpec &kernel = manifest.kernels.at(k);
      if (kernel.device != KernelDevice::CUDA)
        continue;
      CudaLaunchPlan plan;
      Status s =
          planCudaLaunch(kernel, inputs.data(), outputs.data(), plan, sizes);
      if (!s.ok() && (s.code() == ATTN_OK || s.message().empty()))
        __builtin_trap();
      if (s.ok() && plan.params.size() != kernel.cuda.params.size())
        __builtin_trap();
    }
  }
  return 0;
}
