// attn-compile for a CUDA chip on the sparse-projection ops: the select,
// compress and selected-attention kernels go through ptxas for each chip
// without local memory, and the manifest has their entries (op, grid over
// KV pairs, generic operand/result params, derived sizes, the select
// kernel's max_key_blocks, which is smaller where shared memory is).
//
// REQUIRES: ptxas
// RUN: attn-compile %s --target=sm_90 --emit=asm \
// RUN:   | FileCheck %s --check-prefix=PTX --implicit-check-not=.local \
// RUN:       --implicit-check-not=ld.global.b16
// RUN: rm -rf %t && attn-compile %s --target=sm_90 -o %t
// RUN: FileCheck %s < %t/manifest.json
// RUN: rm -rf %t.86 && attn-compile %s --target=sm_86 -o %t.86
// RUN: FileCheck %s --check-prefix=SM86 < %t.86/manifest.json
// RUN: attn-compile %s --target=sm_80 --emit=obj -o %t.80.cubin
// RUN: attn-compile %s --target=sm_89 --emit=obj -o %t.89.cubin

// Loads of 16 bytes (never split into 2-byte loads).
// PTX: .visible .entry select_select0(
// PTX: ld.global.v4.b32
// PTX: shfl.sync.bfly
// PTX: shfl.sync.up
// PTX: .visible .entry attend_attn0(
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: .visible .entry compress_compress0(
// PTX: ld.global.v4.b32
// PTX: st.global.v4.b32

// CHECK:       "name": "select",
// CHECK:       "derived_sizes": [
// CHECK-NEXT:    {
// CHECK-NEXT:      "name": "Sq_blocks",
// CHECK:       "name": "select_select0",
// CHECK-NEXT:  "device": "cuda",
// CHECK-NEXT:  "op": "select_blocks",
// CHECK:       "max_key_blocks": 2048,
// CHECK:       "rule": "tiles_x_kv_pairs"
// CHECK:       "name": "attend_attn0",
// CHECK:       "blocks": {
// CHECK:       "query_tiles": "rows"
// CHECK:       "value": "operand[3]"
// CHECK:       "name": "compress_compress0",
// CHECK:       "op": "compress_kv",
// CHECK:       "window": 32,
// CHECK:       "value": "result[1]"

// SM86: "max_key_blocks": 1024,

func.func @select(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>) -> tensor<?x2x?x16xi32> {
  %i = attn.select_blocks %q, %k {query_block = 64 : i64, key_block = 64 : i64, top_k = 16 : i64, keep_sink = 1 : i64, keep_local = 2 : i64, causal}
      : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x16xi32>
  return %i : tensor<?x2x?x16xi32>
}

func.func @attend(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %idx: tensor<?x2x?x16xi32>) -> tensor<?x8x?x64xbf16> {
  %o = attn.attention %q, %k, %v blocks(%idx : tensor<?x2x?x16xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64, causal>}
      : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

func.func @compress(%k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> (tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>) {
  %ck, %cv = attn.compress_kv %k, %v {block = 32 : i64, stride = 16 : i64, method = #attn.compression<mean>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
  return %ck, %cv : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>
}
