//===- sparse_test_manifests.h - Issue 8's manifests for the tests -*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Manifests with the entries of docs/sparse-projection.md, section 3
// (select_blocks and compress_kv kernels, an attention kernel with a blocks
// list, derived sizes, result_args, generic CUDA parameters and the
// tiles_x_kv_pairs rule), as attn-compile will write them: shared by
// manifest_test.cpp (parsing, refusals) and cuda_launch_test.cpp (plans).
// The sparse_branches ones (NSA-style combined attention) follow
// docs/artifact.md's example.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_TEST_SPARSE_TEST_MANIFESTS_H
#define ATTN_RUNTIME_TEST_SPARSE_TEST_MANIFESTS_H

#include "cuda_test_manifests.h"

#include <string>
#include <vector>

namespace attn::rt::test {

/// A CPU artifact of three functions:
///   select(q [B, 8, Sq, 64], k [B, 2, Skv, 64]) -> idx i32 [B, 2, Sq_blocks, 16]
///   compress(k, v [B, 2, Skv, 64], w f32 [2, 32]) -> [B, 2, Skv_slots, 64] x 2
///   selected(q, k, v, blocks i32 [B, 2, Sq_blocks, 16]) -> out [B, 8, Sq, 64]
/// with Sq_blocks = ceil(Sq / 64) and Skv_slots = (Skv - 32) / 16 + 1.
inline std::string sparseCpuManifest() {
  return std::string(R"({"format": "attn-artifact", "version": 1,
  "host_requirements": {"arch": "x86_64", "cpu_features": []},
  "library": "kernels.so",
  "files": [{"path": "kernels.so", "size": 3, "sha256": ")") +
         kAbcSha256 + R"("}],
  "functions": [
    {"name": "select",
     "inputs": [{"role": "query", "dtype": "bf16", "shape": ["B", 8, "Sq", 64]},
                {"role": "key", "dtype": "bf16", "shape": ["B", 2, "Skv", 64]}],
     "outputs": [{"role": "indices", "dtype": "i32", "shape": ["B", 2, "Sq_blocks", 16]}],
     "derived_sizes": [{"name": "Sq_blocks", "ceil_div": ["Sq", 64]}],
     "kernels": ["select_sel0"]},
    {"name": "compress",
     "inputs": [{"role": "key", "dtype": "bf16", "shape": ["B", 2, "Skv", 64]},
                {"role": "value", "dtype": "bf16", "shape": ["B", 2, "Skv", 64]},
                {"role": "weights", "dtype": "f32", "shape": [2, 32]}],
     "outputs": [{"role": "compressed_key", "dtype": "bf16", "shape": ["B", 2, "Skv_slots", 64]},
                 {"role": "compressed_value", "dtype": "bf16", "shape": ["B", 2, "Skv_slots", 64]}],
     "derived_sizes": [{"name": "Skv_slots", "windows": ["Skv", 32, 16]}],
     "kernels": ["compress_cmp0"]},
    {"name": "selected",
     "inputs": [{"role": "query", "dtype": "bf16", "shape": ["B", 8, "Sq", 64]},
                {"role": "key", "dtype": "bf16", "shape": ["B", 2, "Skv", 64]},
                {"role": "value", "dtype": "bf16", "shape": ["B", 2, "Skv", 64]},
                {"role": "blocks", "dtype": "i32", "shape": ["B", 2, "Sq_blocks", 16]}],
     "outputs": [{"role": "out", "dtype": "bf16", "shape": ["B", 8, "Sq", 64]}],
     "derived_sizes": [{"name": "Sq_blocks", "ceil_div": ["Sq", 64]}],
     "kernels": ["selected_attn0"]}],
  "kernels": [
    {"name": "select_sel0", "op": "select_blocks", "symbol": "_mlir_ciface_select_sel0",
     "work_items_symbol": "select_sel0_work_items", "source": "select",
     "dtype": "bf16", "query_heads": 8, "key_heads": 2, "head_dim": 64,
     "query_block": 64, "key_block": 64, "top_k": 16, "keep_sink": 1,
     "keep_local": 2, "causal": true, "pooled_keys": false,
     "operand_args": [0, 1], "result_args": [0]},
    {"name": "compress_cmp0", "op": "compress_kv", "symbol": "_mlir_ciface_compress_cmp0",
     "work_items_symbol": "compress_cmp0_work_items", "source": "compress",
     "dtype": "bf16", "key_heads": 2, "head_dim": 64, "value_dim": 64,
     "window": 32, "stride": 16, "method": "linear", "weights_dtype": "f32",
     "operand_args": [0, 1, 2], "result_args": [0, 1]},
    {"name": "selected_attn0", "symbol": "_mlir_ciface_selected_attn0",
     "work_items_symbol": "selected_attn0_work_items", "source": "selected",
     "dtype": "bf16", "head_dim": 64, "query_heads": 8, "key_heads": 2,
     "gated": false, "gates": "none",
     "blocks": {"query_block": 64, "key_block": 64, "slots": 16, "causal": true},
     "pattern": "#attn.selected<64, 64, causal>",
     "operand_args": [0, 1, 2, 3], "result_index": 0, "result_args": [0]}]
})";
}

/// A CUDA artifact of
///   select(q [B, 8, Sq, 128], k [B, 2, Skv, 128]) -> idx i32 [B, 2, Sq_blocks, 8]
///   selected(q, k, v, blocks i32 [B, 2, Sq_blocks, 8]) -> out
/// (Sq_blocks = ceil(Sq / 64)); the select kernel takes every tensor, stride
/// and size through the generic values, grid tiles_x_kv_pairs over
/// Sq_blocks by 4; the attention kernel the 19 common parameters, then the
/// blocks list, its strides and slot count.
inline std::string sparseCudaManifest() {
  std::string selectParams = R"({"name": "q", "type": "ptr", "value": "operand[0]"},
      {"name": "k", "type": "ptr", "value": "operand[1]"},
      {"name": "idx", "type": "ptr", "value": "result[0]"})";
  for (const char *t : {"operand[0]", "operand[1]", "result[0]"})
    for (int i = 0; i < 3; ++i)
      selectParams += std::string(",\n      {\"name\": \"s\", \"type\": "
                                  "\"i64\", \"value\": \"") +
                      t + ".stride[" + std::to_string(i) + "]\"}";
  selectParams += R"(,
      {"name": "sq", "type": "i32", "value": "Sq"},
      {"name": "skv", "type": "i32", "value": "Skv"},
      {"name": "nqb", "type": "i32", "value": "Sq_blocks"},
      {"name": "k_len", "type": "i64", "value": "operand[1].shape[2]"},
      {"name": "hkv", "type": "i32", "value": "Hkv"})";
  return std::string(R"({"format": "attn-artifact", "version": 1,
  "files": [{"path": "k.sm_90a.cubin", "size": 3, "sha256": ")") +
         kAbcSha256 + R"("}],
  "functions": [
    {"name": "select",
     "inputs": [{"role": "query", "dtype": "bf16", "shape": ["B", 8, "Sq", 128]},
                {"role": "key", "dtype": "bf16", "shape": ["B", 2, "Skv", 128]}],
     "outputs": [{"role": "indices", "dtype": "i32", "shape": ["B", 2, "Sq_blocks", 8]}],
     "derived_sizes": [{"name": "Sq_blocks", "ceil_div": ["Sq", 64]}],
     "kernels": ["select_sel0"]},
    {"name": "selected",
     "inputs": [{"role": "query", "dtype": "bf16", "shape": ["B", 8, "Sq", 128]},
                {"role": "key", "dtype": "bf16", "shape": ["B", 2, "Skv", 128]},
                {"role": "value", "dtype": "bf16", "shape": ["B", 2, "Skv", 128]},
                {"role": "blocks", "dtype": "i32", "shape": ["B", 2, "Sq_blocks", 8]}],
     "outputs": [{"role": "out", "dtype": "bf16", "shape": ["B", 8, "Sq", 128]}],
     "derived_sizes": [{"name": "Sq_blocks", "ceil_div": ["Sq", 64]}],
     "kernels": ["selected_attn0"]}],
  "kernels": [
    {"name": "select_sel0", "op": "select_blocks", "device": "cuda",
     "source": "select", "dtype": "bf16", "query_heads": 8, "key_heads": 2,
     "head_dim": 128, "query_block": 64, "key_block": 64, "top_k": 8,
     "keep_sink": 1, "keep_local": 1, "causal": true, "pooled_keys": false,
     "max_key_blocks": 8, "operand_args": [0, 1], "result_args": [0],
     "cuda": {"entry": "select_sel0", "binaries": {"sm_90a": "k.sm_90a.cubin"},
       "block": [128, 1, 1], "dynamic_shared_memory": 0,
       "grid": {"rule": "tiles_x_kv_pairs", "size": "Sq_blocks", "tile": 4},
       "params": [)" + selectParams + R"(]}},
    {"name": "selected_attn0", "device": "cuda", "source": "selected",
     "dtype": "bf16", "head_dim": 128, "query_heads": 8, "key_heads": 2,
     "gated": false, "gates": "none", "scale": 0.088388,
     "blocks": {"query_block": 64, "key_block": 64, "slots": 8, "causal": false},
     "operand_args": [0, 1, 2, 3], "result_index": 0, "result_args": [0],
     "cuda": {"entry": "selected_attn0", "binaries": {"sm_90a": "k.sm_90a.cubin"},
       "block": [128, 1, 1], "dynamic_shared_memory": 65536,
       "grid": {"rule": "query_tiles_x_pairs", "query_tile": 64},
       "params": [)" + commonCudaParams() + R"(,
         {"name": "blocks", "type": "ptr", "value": "operand[3]"},
         {"name": "blocks_stride0", "type": "i64", "value": "operand[3].stride[0]"},
         {"name": "blocks_stride1", "type": "i64", "value": "operand[3].stride[1]"},
         {"name": "blocks_stride2", "type": "i64", "value": "operand[3].stride[2]"},
         {"name": "slots", "type": "i32", "value": "operand[3].shape[3]"}]}}]
})";
}

/// The function tensors of an NSA-style sparse_branches call (bf16,
/// Hq 32, Hkv 8, D 128; blocks of 64, 16 slots; windows of 32 every 16):
///   nsa(q [B, 32, Sq, 128], k, v [B, 8, Skv, 128],
///       ck, cv [B, 8, Skv_slots, 128], blocks i32 [B, 8, Sq_blocks, 16],
///       w f32 [B, 32, Sq, 3]) -> out [B, 32, Sq, 128]
/// with Sq_blocks = ceil(Sq / 64) and Skv_slots = (Skv - 32) / 16 + 1.
inline std::string branchesFunction() {
  return R"({"name": "nsa",
     "inputs": [{"role": "query", "dtype": "bf16", "shape": ["B", 32, "Sq", 128]},
                {"role": "key", "dtype": "bf16", "shape": ["B", 8, "Skv", 128]},
                {"role": "value", "dtype": "bf16", "shape": ["B", 8, "Skv", 128]},
                {"role": "compressed_key", "dtype": "bf16", "shape": ["B", 8, "Skv_slots", 128]},
                {"role": "compressed_value", "dtype": "bf16", "shape": ["B", 8, "Skv_slots", 128]},
                {"role": "blocks", "dtype": "i32", "shape": ["B", 8, "Sq_blocks", 16]},
                {"role": "weights", "dtype": "f32", "shape": ["B", 32, "Sq", 3]}],
     "outputs": [{"role": "out", "dtype": "bf16", "shape": ["B", 32, "Sq", 128]}],
     "derived_sizes": [{"name": "Sq_blocks", "ceil_div": ["Sq", 64]},
                       {"name": "Skv_slots", "windows": ["Skv", 32, 16]}],
     "kernels": ["nsa_br0"]})";
}

/// The fields of the sparse_branches kernel "nsa_br0" of branchesFunction()
/// (docs/artifact.md's example), without name, device and entry points.
inline std::string branchesFields() {
  return R"("op": "sparse_branches", "source": "nsa", "dtype": "bf16",
     "query_heads": 32, "key_heads": 8, "head_dim": 128, "value_dim": 128,
     "compress_window": 32, "compress_stride": 16, "causal": true,
     "blocks": {"query_block": 64, "key_block": 64, "slots": 16, "causal": true},
     "pattern": "#attn.local<window = 511, causal>", "weights_dtype": "f32",
     "scale": 0.0884, "operand_args": [0, 1, 2, 3, 4, 5, 6], "result_args": [0])";
}

/// A CPU artifact of branchesFunction() and its kernel.
inline std::string branchesCpuManifest() {
  return std::string(R"({"format": "attn-artifact", "version": 1,
  "host_requirements": {"arch": "x86_64", "cpu_features": []},
  "library": "kernels.so",
  "files": [{"path": "kernels.so", "size": 3, "sha256": ")") +
         kAbcSha256 + R"("}],
  "functions": [)" + branchesFunction() + R"(],
  "kernels": [
    {"name": "nsa_br0", "symbol": "_mlir_ciface_nsa_br0",
     "work_items_symbol": "nsa_br0_work_items", )" +
         branchesFields() + R"(}]
})";
}

/// A CUDA artifact of branchesFunction(): grid query_tiles_x_pairs with
/// tiles of 64 rows; parameters: the 7 operands and the result (0-7),
/// the strides [0, 3) of each (8-31), Sq, Skv and Skv_slots as i32
/// (32-34), the scale (35), Hq (36) and the blocks' slot count (37).
inline std::string branchesCudaManifest() {
  std::string params;
  std::vector<std::string> tensors;
  for (int i = 0; i < 7; ++i)
    tensors.push_back("operand[" + std::to_string(i) + "]");
  tensors.push_back("result[0]");
  for (const std::string &t : tensors)
    params += std::string(params.empty() ? "" : ",\n      ") +
              R"({"name": "p", "type": "ptr", "value": ")" + t + "\"}";
  for (const std::string &t : tensors)
    for (int i = 0; i < 3; ++i)
      params += ",\n      {\"name\": \"s\", \"type\": \"i64\", \"value\": \"" +
                t + ".stride[" + std::to_string(i) + "]\"}";
  params += R"(,
      {"name": "sq", "type": "i32", "value": "Sq"},
      {"name": "skv", "type": "i32", "value": "Skv"},
      {"name": "n", "type": "i32", "value": "Skv_slots"},
      {"name": "scale", "type": "f32", "value": "scale"},
      {"name": "hq", "type": "i32", "value": "Hq"},
      {"name": "slots", "type": "i32", "value": "operand[5].shape[3]"})";
  return std::string(R"({"format": "attn-artifact", "version": 1,
  "files": [{"path": "k.sm_90a.cubin", "size": 3, "sha256": ")") +
         kAbcSha256 + R"("}],
  "functions": [)" + branchesFunction() + R"(],
  "kernels": [
    {"name": "nsa_br0", "device": "cuda", )" +
         branchesFields() + R"(,
     "cuda": {"entry": "nsa_br0", "binaries": {"sm_90a": "k.sm_90a.cubin"},
       "block": [128, 1, 1], "dynamic_shared_memory": 98304,
       "grid": {"rule": "query_tiles_x_pairs", "query_tile": 64, "query_tiles": "rows"},
       "params": [)" + params + R"(]}}]
})";
}

} // namespace attn::rt::test

#endif // ATTN_RUNTIME_TEST_SPARSE_TEST_MANIFESTS_H
