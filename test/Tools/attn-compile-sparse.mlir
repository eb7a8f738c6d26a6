// The manifest of sparse-projection kernels (docs/sparse-projection.md,
// section 3): each kernel's op, operand_args and result_args; attention
// with a "blocks" field and a blocks input; select_blocks and compress_kv
// fields; roles; sizes derived from others (ceil(Sq / 64), (Skv - 32) /
// 16 + 1), named after their base and unique per function, or numbers when
// the base is fixed.
//
// RUN: rm -rf %t && split-file %s %t
// RUN: attn-compile %attn_src_root/examples/sparse_projection.mlir --target=x86-64-v3 -o %t/example
// RUN: FileCheck %s < %t/example/manifest.json
// RUN: nm -D --defined-only %t/example/kernels.so | FileCheck %s --check-prefix=SYMBOLS
// RUN: attn-compile %t/derived.mlir --target=x86-64-v3 -o %t/derived
// RUN: FileCheck %s --check-prefix=DERIVED < %t/derived/manifest.json
// RUN: not attn-compile %t/unreturned.mlir --target=x86-64-v3 -o %t/unreturned 2>&1 \
// RUN:   | FileCheck %s --check-prefix=UNRETURNED

// CHECK:      "functions": [
// CHECK-NEXT:   {
// CHECK-NEXT:     "name": "select",
// CHECK-NEXT:     "inputs": [
// CHECK-NEXT:       {
// CHECK-NEXT:         "role": "query",
// CHECK:              "role": "key",
// CHECK:          "outputs": [
// CHECK-NEXT:       {
// CHECK-NEXT:         "role": "indices",
// CHECK-NEXT:         "dtype": "i32",
// CHECK-NEXT:         "shape": [
// CHECK-NEXT:           "B",
// CHECK-NEXT:           8,
// CHECK-NEXT:           "Sq_blocks",
// CHECK-NEXT:           8
// CHECK-NEXT:         ]
// CHECK-NEXT:       }
// CHECK-NEXT:     ],
// CHECK-NEXT:     "derived_sizes": [
// CHECK-NEXT:       {
// CHECK-NEXT:         "name": "Sq_blocks",
// CHECK-NEXT:         "ceil_div": [
// CHECK-NEXT:           "Sq",
// CHECK-NEXT:           64
// CHECK-NEXT:         ]
// CHECK-NEXT:       }
// CHECK-NEXT:     ],
// CHECK-NEXT:     "kernels": [
// CHECK-NEXT:       "select_select0"
// CHECK-NEXT:     ]
// CHECK:          "name": "attend",
// CHECK:              "role": "value",
// CHECK:              "role": "blocks",
// CHECK-NEXT:         "dtype": "i32",
// CHECK-NEXT:         "shape": [
// CHECK-NEXT:           "B",
// CHECK-NEXT:           8,
// CHECK-NEXT:           "Sq_blocks",
// CHECK-NEXT:           8
// CHECK:              "role": "out",
// CHECK:          "derived_sizes": [
// CHECK-NEXT:       {
// CHECK-NEXT:         "name": "Sq_blocks",
// CHECK-NEXT:         "ceil_div": [
// CHECK:          "name": "compress",
// CHECK:          "outputs": [
// CHECK-NEXT:       {
// CHECK-NEXT:         "role": "compressed_key",
// CHECK-NEXT:         "dtype": "bf16",
// CHECK-NEXT:         "shape": [
// CHECK-NEXT:           "B",
// CHECK-NEXT:           8,
// CHECK-NEXT:           "Skv_slots",
// CHECK-NEXT:           128
// CHECK:              "role": "compressed_value",
// CHECK:          "derived_sizes": [
// CHECK-NEXT:       {
// CHECK-NEXT:         "name": "Skv_slots",
// CHECK-NEXT:         "windows": [
// CHECK-NEXT:           "Skv",
// CHECK-NEXT:           32,
// CHECK-NEXT:           16
// CHECK-NEXT:         ]
// CHECK:          "kernels": [
// CHECK-NEXT:       "compress_compress0"
// CHECK:      "kernels": [
// CHECK-NEXT:   {
// CHECK-NEXT:     "name": "select_select0",
// CHECK-NEXT:     "op": "select_blocks",
// CHECK-NEXT:     "symbol": "_mlir_ciface_select_select0",
// CHECK-NEXT:     "work_items_symbol": "select_select0_work_items",
// CHECK-NEXT:     "source": "select",
// CHECK-NEXT:     "dtype": "bf16",
// CHECK-NEXT:     "head_dim": 128,
// CHECK-NEXT:     "query_heads": 32,
// CHECK-NEXT:     "key_heads": 8,
// CHECK-NEXT:     "batch": -1,
// CHECK-NEXT:     "query_len": -1,
// CHECK-NEXT:     "key_len": -1,
// CHECK-NEXT:     "query_block": 64,
// CHECK-NEXT:     "key_block": 64,
// CHECK-NEXT:     "top_k": 8,
// CHECK-NEXT:     "keep_sink": 1,
// CHECK-NEXT:     "keep_local": 2,
// CHECK-NEXT:     "causal": true,
// CHECK-NEXT:     "pooled_keys": false,
// CHECK-NEXT:     "operand_args": [
// CHECK-NEXT:       0,
// CHECK-NEXT:       1
// CHECK-NEXT:     ],
// CHECK-NEXT:     "result_args": [
// CHECK-NEXT:       0
// CHECK-NEXT:     ]
// CHECK-NEXT:   },
// CHECK-NEXT:   {
// CHECK-NEXT:     "name": "attend_attn0",
// CHECK-NEXT:     "op": "attention",
// CHECK:          "pattern": "#attn.selected<query_block = 64, key_block = 64, causal>",
// CHECK:          "blocks": {
// CHECK-NEXT:       "query_block": 64,
// CHECK-NEXT:       "key_block": 64,
// CHECK-NEXT:       "causal": true,
// CHECK-NEXT:       "slots": 8
// CHECK-NEXT:     },
// CHECK-NEXT:     "operand_args": [
// CHECK-NEXT:       0,
// CHECK-NEXT:       1,
// CHECK-NEXT:       2,
// CHECK-NEXT:       3
// CHECK-NEXT:     ],
// CHECK-NEXT:     "result_args": [
// CHECK-NEXT:       0
// CHECK-NEXT:     ],
// CHECK-NEXT:     "result_index": 0,
// CHECK:            "name": "blocks",
// CHECK:          "name": "compress_compress0",
// CHECK-NEXT:     "op": "compress_kv",
// CHECK:          "head_dim": 128,
// CHECK-NEXT:     "value_dim": 128,
// CHECK-NEXT:     "key_heads": 8,
// CHECK-NEXT:     "batch": -1,
// CHECK-NEXT:     "key_len": -1,
// CHECK-NEXT:     "window": 32,
// CHECK-NEXT:     "stride": 16,
// CHECK-NEXT:     "method": "mean",
// CHECK-NEXT:     "operand_args": [
// CHECK-NEXT:       0,
// CHECK-NEXT:       1
// CHECK-NEXT:     ],
// CHECK-NEXT:     "result_args": [
// CHECK-NEXT:       0,
// CHECK-NEXT:       1
// CHECK-NEXT:     ]
// CHECK-NEXT:   }
// CHECK-NEXT: ]

// SYMBOLS-DAG: T _mlir_ciface_select_select0
// SYMBOLS-DAG: T select_select0_work_items
// SYMBOLS-DAG: T _mlir_ciface_attend_attn0
// SYMBOLS-DAG: T attend_attn0_work_items
// SYMBOLS-DAG: T _mlir_ciface_compress_compress0
// SYMBOLS-DAG: T compress_compress0_work_items

// Two selections of one Sq at different query blocks: two derived sizes,
// the second numbered; with a fixed Sq (200) the size is a number (4).
// DERIVED:      "name": "two",
// DERIVED:        "outputs": [
// DERIVED:            "Sq_blocks",
// DERIVED:            "Sq_blocks2",
// DERIVED:        "derived_sizes": [
// DERIVED-NEXT:     {
// DERIVED-NEXT:       "name": "Sq_blocks",
// DERIVED-NEXT:       "ceil_div": [
// DERIVED-NEXT:         "Sq",
// DERIVED-NEXT:         64
// DERIVED-NEXT:       ]
// DERIVED-NEXT:     },
// DERIVED-NEXT:     {
// DERIVED-NEXT:       "name": "Sq_blocks2",
// DERIVED-NEXT:       "ceil_div": [
// DERIVED-NEXT:         "Sq",
// DERIVED-NEXT:         32
// DERIVED-NEXT:       ]
// DERIVED-NEXT:     }
// DERIVED-NEXT:   ],
// DERIVED:        "name": "fixed",
// DERIVED:        "outputs": [
// DERIVED-NEXT:     {
// DERIVED-NEXT:       "role": "indices",
// DERIVED-NEXT:       "dtype": "i32",
// DERIVED-NEXT:       "shape": [
// DERIVED-NEXT:         "B",
// DERIVED-NEXT:         2,
// DERIVED-NEXT:         4,
// DERIVED-NEXT:         1
// DERIVED-NEXT:       ]
// DERIVED-NEXT:     }
// DERIVED-NEXT:   ],
// DERIVED-NEXT:   "kernels": [

// UNRETURNED: attn-compile: error: function @unreturned: kernel unreturned_compress0: result_args[1] is not one of the function's results (each kernel result must be returned)

//--- derived.mlir
func.func @two(%q: tensor<?x2x?x32xf32>, %k: tensor<?x2x?x32xf32>)
    -> (tensor<?x2x?x1xi32>, tensor<?x2x?x1xi32>) {
  %a = attn.select_blocks %q, %k {query_block = 64 : i64, key_block = 64 : i64, top_k = 1 : i64}
      : tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32> -> tensor<?x2x?x1xi32>
  %b = attn.select_blocks %q, %k {query_block = 32 : i64, key_block = 64 : i64, top_k = 1 : i64}
      : tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32> -> tensor<?x2x?x1xi32>
  return %a, %b : tensor<?x2x?x1xi32>, tensor<?x2x?x1xi32>
}
func.func @fixed(%q: tensor<?x2x200x32xf32>, %k: tensor<?x2x?x32xf32>) -> tensor<?x2x?x1xi32> {
  %a = attn.select_blocks %q, %k {query_block = 64 : i64, key_block = 64 : i64, top_k = 1 : i64}
      : tensor<?x2x200x32xf32>, tensor<?x2x?x32xf32> -> tensor<?x2x?x1xi32>
  return %a : tensor<?x2x?x1xi32>
}

//--- unreturned.mlir
// The compressed values are dropped: the runtime would have nowhere to put
// them.
func.func @unreturned(%k: tensor<?x2x?x32xf32>) -> tensor<?x2x?x32xf32> {
  %ck, %cv = attn.compress_kv %k, %k {block = 32 : i64, method = #attn.compression<mean>}
      : tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32> -> tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32>
  return %ck : tensor<?x2x?x32xf32>
}
