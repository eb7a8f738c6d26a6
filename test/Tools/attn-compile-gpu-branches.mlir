// attn-compile for a CUDA chip on NSA's combined form (attn.sparse_branches):
// the kernels go through ptxas with no local memory and no spills (the
// D = 128 kernel runs 64-row query tiles near the 255-register limit: a
// change that spills shows here first), and the manifest has their entries.
//
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: attn-compile %s --target=sm_90 --emit=asm -o %t/branches.ptx
// RUN: FileCheck %s --check-prefix=PTX --implicit-check-not=.local < %t/branches.ptx
// RUN: %ptxas -arch=sm_90 -v %t/branches.ptx -o %t/branches.cubin 2>&1 \
// RUN:   | tee %t/ptxas.txt | FileCheck %s --check-prefix=PTXAS
// RUN: FileCheck %s --check-prefix=NOSPILL < %t/ptxas.txt
// RUN: attn-compile %s --target=sm_90 -o %t/artifact
// RUN: FileCheck %s < %t/artifact/manifest.json
// RUN: attn-compile %s --target=sm_80 --emit=obj -o %t/branches.80.cubin

// PTX: .visible .entry nsa_causal_branches0(
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: .visible .entry nsa_full_branches0(
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX: .visible .entry nsa_gqa4_branches0(

// Three kernels, no stack frame, no spills (ptxas -v, one line each).
// PTXAS-COUNT-3: {{^ *}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// NOSPILL-NOT: {{[1-9][0-9]* bytes (stack frame|spill)}}

// CHECK:       "name": "nsa_causal_branches0",
// CHECK-NEXT:  "device": "cuda",
// CHECK-NEXT:  "op": "sparse_branches",
// CHECK:       "query_tile": 64,
// CHECK:       "weights_dtype": "f32"
// CHECK:       "compress_stride": 16,
// CHECK-NEXT:  "compress_window": 32
// The 128-row query blocks run as two 64-row tiles reading one list.
// CHECK:       "name": "nsa_full_branches0",
// CHECK:       "query_tile": 64,
// CHECK:       "weights_dtype": "f16"
// CHECK:       "query_block": 128,
// CHECK:       "name": "nsa_gqa4_branches0",
// CHECK:       "head_dim": 64,

func.func @nsa_causal(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x2x?x128xbf16>, %v: tensor<?x2x?x128xbf16>, %ck: tensor<?x2x?x128xbf16>, %cv: tensor<?x2x?x128xbf16>,
    %idx: tensor<?x2x?x16xi32>, %w: tensor<?x16x?x3xf32>) -> tensor<?x16x?x128xbf16> {
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 32 : i64, compress_stride = 16 : i64, causal,
       selected = #attn.selected<query_block = 64, key_block = 64, causal>,
       window = #attn.local<window = 511, causal>}
      : tensor<?x16x?x128xbf16>, tensor<?x2x?x128xbf16>, tensor<?x2x?x128xbf16>, tensor<?x2x?x128xbf16>, tensor<?x2x?x128xbf16>, tensor<?x2x?x16xi32>, tensor<?x16x?x3xf32> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

func.func @nsa_full(%q: tensor<?x16x?x128xf16>, %k: tensor<?x2x?x128xf16>, %v: tensor<?x2x?x128xf16>, %ck: tensor<?x2x?x128xf16>, %cv: tensor<?x2x?x128xf16>,
    %idx: tensor<?x2x?x8xi32>, %w: tensor<?x16x?x3xf16>) -> tensor<?x16x?x128xf16> {
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 32 : i64, compress_stride = 32 : i64,
       selected = #attn.selected<query_block = 128, key_block = 128>,
       window = #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 256>]>}
      : tensor<?x16x?x128xf16>, tensor<?x2x?x128xf16>, tensor<?x2x?x128xf16>, tensor<?x2x?x128xf16>, tensor<?x2x?x128xf16>, tensor<?x2x?x8xi32>, tensor<?x16x?x3xf16> -> tensor<?x16x?x128xf16>
  return %o : tensor<?x16x?x128xf16>
}

func.func @nsa_gqa4(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %ck: tensor<?x2x?x64xbf16>, %cv: tensor<?x2x?x64xbf16>,
    %idx: tensor<?x2x?x8xi32>, %w: tensor<?x8x?x3xbf16>) -> tensor<?x8x?x64xbf16> {
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 32 : i64, compress_stride = 16 : i64, causal,
       selected = #attn.selected<query_block = 64, key_block = 64, causal>,
       window = #attn.local<window = 255, causal>}
      : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x8xi32>, tensor<?x8x?x3xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

