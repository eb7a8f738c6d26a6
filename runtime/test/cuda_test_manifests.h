//===- cuda_test_manifests.h - CUDA manifests for the tests -----*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Manifests whose one CUDA kernel follows docs/artifact.md's contract for
// ungated, "gates" and "active" kernels, as attn-compile writes them: shared
// by manifest_test.cpp (parsing) and cuda_launch_test.cpp (launch plans).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_TEST_CUDA_TEST_MANIFESTS_H
#define ATTN_RUNTIME_TEST_CUDA_TEST_MANIFESTS_H

#include <string>

namespace attn::rt::test {

/// SHA-256 of "abc": the listed files' hash (the tests list, never read,
/// them).
inline const char *kAbcSha256 =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

/// The 19 parameters every CUDA attention kernel takes (docs/artifact.md):
/// q, k, v, o, their strides 0-2, Sq, Skv, scale.
inline std::string commonCudaParams() {
  std::string text = R"({"name": "q", "type": "ptr", "value": "query"},
      {"name": "k", "type": "ptr", "value": "key"},
      {"name": "v", "type": "ptr", "value": "value"},
      {"name": "o", "type": "ptr", "value": "out"})";
  for (const char *t : {"query", "key", "value", "out"})
    for (int i = 0; i < 3; ++i)
      text += std::string(",\n      {\"name\": \"") + t + "_stride" +
              std::to_string(i) + "\", \"type\": \"i64\", \"value\": \"" + t +
              ".stride[" + std::to_string(i) + "]\"}";
  return text + R"(,
      {"name": "sq", "type": "i32", "value": "Sq"},
      {"name": "skv", "type": "i32", "value": "Skv"},
      {"name": "scale", "type": "f32", "value": "scale"})";
}

inline const char *kGatesParams =
    R"(, {"name": "gates", "type": "ptr", "value": "gates"},
      {"name": "gates_stride0", "type": "i64", "value": "gates.stride[0]"},
      {"name": "gates_stride1", "type": "i64", "value": "gates.stride[1]"})";
inline const char *kActiveParams =
    R"(, {"name": "active", "type": "ptr", "value": "active"},
      {"name": "num_active", "type": "i32", "value": "active_count"})";

/// A CUDA artifact of one function f(q, k, v, gates-or-active) whose
/// kernel follows the contract for `gates` ("gates" or "active"; "none"
/// drops the fourth input).
inline std::string cudaManifest(const std::string &gates) {
  const bool gated = gates != "none", active = gates == "active";
  const std::string fourth =
      !gated ? ""
      : active
          ? R"(, {"role": "active", "dtype": "i32", "shape": ["pairs"]})"
          : R"(, {"role": "gates", "dtype": "bool", "shape": ["B", 8]})";
  return std::string(R"({"format": "attn-artifact", "version": 1,
  "files": [{"path": "k.sm_90a.cubin", "size": 3, "sha256": ")") +
         kAbcSha256 + R"("}],
  "functions": [{"name": "f",
    "inputs": [{"role": "query", "dtype": "bf16", "shape": ["B", 8, "Sq", 128]},
               {"role": "key", "dtype": "bf16", "shape": ["B", 2, "Skv", 128]},
               {"role": "value", "dtype": "bf16", "shape": ["B", 2, "Skv", 128]})" +
         fourth + R"(],
    "outputs": [{"role": "out", "dtype": "bf16", "shape": ["B", 8, "Sq", 128]}],
    "kernels": ["f_attn0"]}],
  "kernels": [{"name": "f_attn0", "device": "cuda", "source": "f",
    "dtype": "bf16", "head_dim": 128, "query_heads": 8, "key_heads": 2,
    "gated": )" + (gated ? "true" : "false") + R"(, "gates": ")" + gates +
         R"(", "operand_args": )" + (gated ? "[0, 1, 2, 3]" : "[0, 1, 2]") +
         R"(, "result_index": 0, "scale": 0.088388,
    "cuda": {"entry": "f_attn0", "binaries": {"sm_90a": "k.sm_90a.cubin"},
      "block": [128, 1, 1], "dynamic_shared_memory": 65536,
      "grid": {"rule": ")" + (active ? "query_tiles_x_active"
                                      : "query_tiles_x_pairs") +
         R"(", "query_tile": 128},
      "params": [)" + commonCudaParams() +
         (!gated ? "" : active ? kActiveParams : kGatesParams) + "]}}]}";
}

} // namespace attn::rt::test

#endif // ATTN_RUNTIME_TEST_CUDA_TEST_MANIFESTS_H
