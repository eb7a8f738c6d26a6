// Every attn op round-trips through its custom form and through the generic
// form, and the two agree.
// RUN: attn-opt %s | attn-opt | FileCheck %s
// RUN: attn-opt %s --mlir-print-op-generic | attn-opt | FileCheck %s

// CHECK-LABEL: func @mha_dense
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
func.func @mha_dense(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xf16>,
                     %v: tensor<2x8x128x64xf16>) -> tensor<2x8x128x64xf16> {
  %o = attn.attention %q, %k, %v
      : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>
        -> tensor<2x8x128x64xf16>
  return %o : tensor<2x8x128x64xf16>
}

// GQA in bf16 with dynamic batch and sequence lengths, a scale and a pattern.
// CHECK-LABEL: func @gqa_dynamic
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} {pattern = #attn.causal, scale = 1.250000e-01 : f32} : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x32x?x128xbf16>
func.func @gqa_dynamic(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                       %v: tensor<?x8x?x128xbf16>) -> tensor<?x32x?x128xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.causal, scale = 0.125 : f32}
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
        -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}

// MQA, f32, decode with one query row, value head dim different from D.
// CHECK-LABEL: func @mqa_decode
// CHECK: attn.attention {{.*}} : tensor<1x16x1x64xf32>, tensor<1x1x4096x64xf32>, tensor<1x1x4096x32xf32> -> tensor<1x16x1x32xf32>
func.func @mqa_decode(%q: tensor<1x16x1x64xf32>, %k: tensor<1x1x4096x64xf32>,
                      %v: tensor<1x1x4096x32xf32>) -> tensor<1x16x1x32xf32> {
  %o = attn.attention %q, %k, %v {pattern = #attn.local<window = 1023, causal>}
      : tensor<1x16x1x64xf32>, tensor<1x1x4096x64xf32>, tensor<1x1x4096x32xf32>
        -> tensor<1x16x1x32xf32>
  return %o : tensor<1x16x1x32xf32>
}

// Gates from a router under a budget, then attention over the active heads.
// CHECK-LABEL: func @gated
// CHECK: %[[G:.*]] = attn.head_gate %{{.*}} {budget = #attn.budget<0.5>, layer = 3 : i64} : tensor<4x16xf32> -> tensor<4x16xi1>
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} gates(%[[G]] : tensor<4x16xi1>) {budget = #attn.budget<0.75>, layer = 3 : i64}
func.func @gated(%scores: tensor<4x16xf32>, %q: tensor<4x16x256x64xf16>,
                 %k: tensor<4x16x256x64xf16>, %v: tensor<4x16x256x64xf16>)
    -> tensor<4x16x256x64xf16> {
  %g = attn.head_gate %scores {budget = #attn.budget<0.5>, layer = 3}
      : tensor<4x16xf32> -> tensor<4x16xi1>
  %o = attn.attention %q, %k, %v gates(%g : tensor<4x16xi1>)
      {budget = #attn.budget<0.75>, layer = 3}
      : tensor<4x16x256x64xf16>, tensor<4x16x256x64xf16>, tensor<4x16x256x64xf16>
        -> tensor<4x16x256x64xf16>
  return %o : tensor<4x16x256x64xf16>
}

// Cost-aware gating: heads weighed by their costs.
// CHECK-LABEL: func @gate_costs
// CHECK: attn.head_gate %{{.*}} {budget = #attn.budget<0.5>, head_costs = array<i64: 4, 4, 1, 1>} : tensor<2x4xf32> -> tensor<2x4xi1>
func.func @gate_costs(%scores: tensor<2x4xf32>) -> tensor<2x4xi1> {
  %g = attn.head_gate %scores {budget = #attn.budget<0.5>, head_costs = array<i64: 4, 4, 1, 1>}
      : tensor<2x4xf32> -> tensor<2x4xi1>
  return %g : tensor<2x4xi1>
}

// Runtime gates as a compacted list of active (batch, head) pairs.
// CHECK-LABEL: func @active_pairs
// CHECK: %[[P:.*]] = attn.active_heads %{{.*}} : tensor<4x16xi1> -> tensor<?xi32>
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} active(%[[P]] : tensor<?xi32>) {pattern = #attn.causal}
func.func @active_pairs(%g: tensor<4x16xi1>, %q: tensor<4x16x64x32xf16>) -> tensor<4x16x64x32xf16> {
  %p = attn.active_heads %g : tensor<4x16xi1> -> tensor<?xi32>
  %o = attn.attention %q, %q, %q active(%p : tensor<?xi32>) {pattern = #attn.causal}
      : tensor<4x16x64x32xf16>, tensor<4x16x64x32xf16>, tensor<4x16x64x32xf16> -> tensor<4x16x64x32xf16>
  return %o : tensor<4x16x64x32xf16>
}

// The two other gating rules: a budget known at run time, and a threshold.
// CHECK-LABEL: func @gate_rules
// CHECK: attn.head_gate %{{.*}} budget(%{{.*}} : f32) : tensor<?x12xf32> -> tensor<?x12xi1>
// CHECK: attn.head_gate %{{.*}} {min_active = 2 : i64, threshold = 1.000000e-01 : f32} : tensor<?x12xbf16> -> tensor<?x12xi1>
func.func @gate_rules(%scores: tensor<?x12xf32>, %b: f32,
                      %bscores: tensor<?x12xbf16>) -> (tensor<?x12xi1>, tensor<?x12xi1>) {
  %r = attn.head_gate %scores budget(%b : f32) : tensor<?x12xf32> -> tensor<?x12xi1>
  %t = attn.head_gate %bscores {threshold = 0.1 : f32, min_active = 2}
      : tensor<?x12xbf16> -> tensor<?x12xi1>
  return %r, %t : tensor<?x12xi1>, tensor<?x12xi1>
}

// Sparse projection: select key blocks per KV group, attend to them.
// CHECK-LABEL: func @sparse_projection
// CHECK: %[[IDX:.*]] = attn.select_blocks %{{.*}}, %{{.*}} {causal, keep_local = 2 : i64, keep_sink = 1 : i64, key_block = 64 : i64, query_block = 64 : i64, top_k = 8 : i64} : tensor<1x32x1024x128xbf16>, tensor<1x8x1024x128xbf16> -> tensor<1x8x16x8xi32>
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} blocks(%[[IDX]] : tensor<1x8x16x8xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64, causal>}
func.func @sparse_projection(%q: tensor<1x32x1024x128xbf16>,
                             %k: tensor<1x8x1024x128xbf16>,
                             %v: tensor<1x8x1024x128xbf16>)
    -> tensor<1x32x1024x128xbf16> {
  %idx = attn.select_blocks %q, %k
      {query_block = 64, key_block = 64, top_k = 8, keep_sink = 1,
       keep_local = 2, causal}
      : tensor<1x32x1024x128xbf16>, tensor<1x8x1024x128xbf16> -> tensor<1x8x16x8xi32>
  %o = attn.attention %q, %k, %v blocks(%idx : tensor<1x8x16x8xi32>)
      {pattern = #attn.selected<query_block = 64, key_block = 64, causal>}
      : tensor<1x32x1024x128xbf16>, tensor<1x8x1024x128xbf16>,
        tensor<1x8x1024x128xbf16> -> tensor<1x32x1024x128xbf16>
  return %o : tensor<1x32x1024x128xbf16>
}

// Selection scored against compressed keys, with dynamic lengths.
// CHECK-LABEL: func @select_with_pooled_keys
// CHECK: attn.select_blocks %{{.*}}, %{{.*}} pooled_keys(%{{.*}} : tensor<?x2x?x64xf16>) {key_block = 32 : i64, query_block = 16 : i64, top_k = 4 : i64} : tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x2x?x4xi32>
func.func @select_with_pooled_keys(%q: tensor<?x4x?x64xf16>, %k: tensor<?x2x?x64xf16>,
                                   %ck: tensor<?x2x?x64xf16>) -> tensor<?x2x?x4xi32> {
  %idx = attn.select_blocks %q, %k pooled_keys(%ck : tensor<?x2x?x64xf16>)
      {query_block = 16, key_block = 32, top_k = 4}
      : tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x2x?x4xi32>
  return %idx : tensor<?x2x?x4xi32>
}

// Compact grouped attention: compressed K/V per KV-head group, mean and linear.
// CHECK-LABEL: func @compress
// CHECK: attn.compress_kv %{{.*}}, %{{.*}} {block = 32 : i64, method = #attn.compression<mean>, stride = 16 : i64} : tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x8x255x128xbf16>, tensor<1x8x255x128xbf16>
// CHECK: attn.compress_kv %{{.*}}, %{{.*}} weights(%{{.*}} : tensor<8x32xf32>) {block = 32 : i64, method = #attn.compression<linear>} : tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x8x128x128xbf16>, tensor<1x8x128x128xbf16>
func.func @compress(%k: tensor<1x8x4096x128xbf16>, %v: tensor<1x8x4096x128xbf16>,
                    %w: tensor<8x32xf32>) {
  %ck, %cv = attn.compress_kv %k, %v
      {block = 32, stride = 16, method = #attn.compression<mean>}
      : tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16>
        -> tensor<1x8x255x128xbf16>, tensor<1x8x255x128xbf16>
  %lk, %lv = attn.compress_kv %k, %v weights(%w : tensor<8x32xf32>)
      {block = 32, method = #attn.compression<linear>}
      : tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16>
        -> tensor<1x8x128x128xbf16>, tensor<1x8x128x128xbf16>
  return
}

// Compressed K/V with a dynamic sequence length gives a dynamic slot count.
// CHECK-LABEL: func @compress_dynamic
// CHECK: attn.compress_kv {{.*}} -> tensor<?x4x?x64xf16>, tensor<?x4x?x32xf16>
func.func @compress_dynamic(%k: tensor<?x4x?x64xf16>, %v: tensor<?x4x?x32xf16>) {
  %ck, %cv = attn.compress_kv %k, %v {block = 64, method = #attn.compression<mean>}
      : tensor<?x4x?x64xf16>, tensor<?x4x?x32xf16> -> tensor<?x4x?x64xf16>, tensor<?x4x?x32xf16>
  return
}

// NSA's combined form: compressed, selected and window branches.
// CHECK-LABEL: func @sparse_branches
// CHECK: attn.sparse_branches %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {causal, compress_block = 32 : i64, compress_stride = 16 : i64, selected = #attn.selected<query_block = 64, key_block = 64, causal>, window = #attn.local<window = 511, causal>} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1x8x255x128xbf16>, tensor<1x8x255x128xbf16>, tensor<1x8x64x16xi32>, tensor<1x32x4096x3xf32> -> tensor<1x32x4096x128xbf16>
func.func @sparse_branches(%q: tensor<1x32x4096x128xbf16>, %k: tensor<1x8x4096x128xbf16>,
                           %v: tensor<1x8x4096x128xbf16>, %ck: tensor<1x8x255x128xbf16>,
                           %cv: tensor<1x8x255x128xbf16>, %idx: tensor<1x8x64x16xi32>,
                           %w: tensor<1x32x4096x3xf32>) {
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 32, compress_stride = 16, causal,
       selected = #attn.selected<query_block = 64, key_block = 64, causal>,
       window = #attn.local<window = 511, causal>}
      : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16>,
        tensor<1x8x4096x128xbf16>, tensor<1x8x255x128xbf16>,
        tensor<1x8x255x128xbf16>, tensor<1x8x64x16xi32>,
        tensor<1x32x4096x3xf32> -> tensor<1x32x4096x128xbf16>
  return
}

// Dynamic lengths, a union as the window, f16 weights, a scale.
// CHECK-LABEL: func @sparse_branches_dynamic
// CHECK: attn.sparse_branches {{.*}} {compress_block = 16 : i64, layer = 3 : i64, scale = 1.250000e-01 : f32, selected = #attn.selected<query_block = 64, key_block = 32>, window = #attn.union<[#attn.global<tokens = 4>, #attn.local<window = 64>]>}
func.func @sparse_branches_dynamic(%q: tensor<?x4x?x64xf16>, %k: tensor<?x2x?x64xf16>,
                                   %v: tensor<?x2x?x32xf16>, %ck: tensor<?x2x?x64xf16>,
                                   %cv: tensor<?x2x?x32xf16>, %idx: tensor<?x2x?x8xi32>,
                                   %w: tensor<?x4x?x3xf16>) {
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 16, scale = 0.125 : f32, layer = 3,
       selected = #attn.selected<query_block = 64, key_block = 32>,
       window = #attn.union<[#attn.global<tokens = 4>, #attn.local<window = 64>]>}
      : tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x32xf16>,
        tensor<?x2x?x64xf16>, tensor<?x2x?x32xf16>, tensor<?x2x?x8xi32>,
        tensor<?x4x?x3xf16> -> tensor<?x4x?x32xf16>
  return
}
