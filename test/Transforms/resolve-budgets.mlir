// attn-resolve-budgets turns each budget into a concrete choice whose work,
// by the cost model at sm_90's 128x64 tiles, fits the budget, and says what
// it achieved.
// RUN: attn-opt %s -split-input-file -attn-resolve-budgets -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func @causal_becomes_a_window
// CHECK: attn.attention {{.*}} {pattern = #attn.local<window = 1024, causal>}
func.func @causal_becomes_a_window(%q: tensor<1x8x4096x64xbf16>) -> tensor<1x8x4096x64xbf16> {
  // expected-remark @+1 {{budget 0.25 resolved by the window: #attn.local<window = 1024, causal> costs 0.2461 of dense}}
  %o = attn.attention %q, %q, %q {budget = #attn.budget<0.25>, pattern = #attn.causal} : tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16> -> tensor<1x8x4096x64xbf16>
  return %o : tensor<1x8x4096x64xbf16>
}

// -----

// CHECK-LABEL: func @dense_becomes_a_symmetric_window
// CHECK: attn.attention {{.*}} {pattern = #attn.local<window = 1088>}
func.func @dense_becomes_a_symmetric_window(%q: tensor<1x8x4096x64xbf16>) -> tensor<1x8x4096x64xbf16> {
  // expected-remark @+1 {{budget 0.5 resolved by the window: #attn.local<window = 1088> costs 0.4834 of dense}}
  %o = attn.attention %q, %q, %q {budget = #attn.budget<0.5>} : tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16> -> tensor<1x8x4096x64xbf16>
  return %o : tensor<1x8x4096x64xbf16>
}

// -----

// The global tokens stay; the union's window shrinks.
// CHECK-LABEL: func @union_shrinks_its_window
// CHECK: pattern = #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 384>]>
func.func @union_shrinks_its_window(%q: tensor<1x8x4096x64xbf16>) -> tensor<1x8x4096x64xbf16> {
  // expected-remark @+1 {{budget 0.25 resolved by the window: #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 384>]> costs 0.2480 of dense}}
  %o = attn.attention %q, %q, %q {budget = #attn.budget<0.25>, pattern = #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 2048>]>} : tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16> -> tensor<1x8x4096x64xbf16>
  return %o : tensor<1x8x4096x64xbf16>
}

// -----

// CHECK-LABEL: func @random_density
// CHECK: pattern = #attn.random_blocks<density = 0.0712890625, seed = 3>
func.func @random_density(%q: tensor<1x8x4096x64xbf16>) -> tensor<1x8x4096x64xbf16> {
  // expected-remark @+1 {{budget 0.1 resolved by the density: #attn.random_blocks<density = 0.0712890625, seed = 3> costs 0.0997 of dense}}
  %o = attn.attention %q, %q, %q {budget = #attn.budget<0.1>, pattern = #attn.random_blocks<density = 0.5, seed = 3>} : tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16> -> tensor<1x8x4096x64xbf16>
  return %o : tensor<1x8x4096x64xbf16>
}

// -----

// A pattern already within budget is kept.
// CHECK-LABEL: func @already_met
// CHECK: attn.attention {{.*}} {pattern = #attn.local<window = 127, causal>}
func.func @already_met(%q: tensor<1x8x4096x64xbf16>) -> tensor<1x8x4096x64xbf16> {
  // expected-remark @+1 {{budget 0.5 already met: #attn.local<window = 127, causal> costs 0.0615 of dense}}
  %o = attn.attention %q, %q, %q {budget = #attn.budget<0.5>, pattern = #attn.local<window = 127, causal>} : tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16> -> tensor<1x8x4096x64xbf16>
  return %o : tensor<1x8x4096x64xbf16>
}

// -----

// Gated heads with equal patterns: the gate's budget is the op's budget over
// the pattern's share of dense work (causal: about half).
// CHECK-LABEL: func @gates_uniform
// CHECK: attn.head_gate %{{.*}} {budget = #attn.budget<0.48484848484848486>}
// CHECK: attn.attention {{.*}} gates({{.*}}) {pattern = #attn.causal}
func.func @gates_uniform(%q: tensor<1x8x4096x64xbf16>, %s: tensor<1x8xf32>) -> tensor<1x8x4096x64xbf16> {
  %g = attn.head_gate %s {budget = #attn.budget<1.0>} : tensor<1x8xf32> -> tensor<1x8xi1>
  // expected-remark @+1 {{budget 0.25 resolved by head gates: gate budget 0.4848, active heads cost at most 0.2500 of dense}}
  %o = attn.attention %q, %q, %q gates(%g : tensor<1x8xi1>) {budget = #attn.budget<0.25>, pattern = #attn.causal} : tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16> -> tensor<1x8x4096x64xbf16>
  return %o : tensor<1x8x4096x64xbf16>
}

// -----

// Heads with different patterns: the gate weighs them by their costs.
// CHECK-LABEL: func @gates_per_head_costs
// Causal 8650752 pairs, dense 16777216, each window 1523712: the gate may
// spend 0.25 x 4 x 16777216 of their 28475392, a gate budget of 0.5892.
// CHECK: attn.head_gate %{{.*}} {budget = #attn.budget<0.5891829689298044>, head_costs = array<i64: 8650752, 16777216, 1523712, 1523712>}
func.func @gates_per_head_costs(%q: tensor<1x4x4096x64xbf16>, %s: tensor<1x4xf32>) -> tensor<1x4x4096x64xbf16> {
  %g = attn.head_gate %s {budget = #attn.budget<1.0>} : tensor<1x4xf32> -> tensor<1x4xi1>
  // expected-remark @+1 {{budget 0.25 resolved by head gates: gate budget 0.5892 over per-head costs, active heads cost at most 0.2500 of dense}}
  %o = attn.attention %q, %q, %q gates(%g : tensor<1x4xi1>) {budget = #attn.budget<0.25>, pattern = #attn.per_head<[#attn.causal, #attn.dense, #attn.local<window = 255, causal>, #attn.local<window = 255, causal>]>} : tensor<1x4x4096x64xbf16>, tensor<1x4x4096x64xbf16>, tensor<1x4x4096x64xbf16> -> tensor<1x4x4096x64xbf16>
  return %o : tensor<1x4x4096x64xbf16>
}

// -----

// A budget on attention over selected blocks counts the selection kernel
// (priced as the tensor-core work of its estimated time) and shrinks top_k
// until both fit.
// CHECK-LABEL: func @shrinks_top_k
// CHECK: attn.select_blocks {{.*}} top_k = 3 : i64} {{.*}} -> tensor<1x8x64x3xi32>
// CHECK: attn.attention {{.*}} blocks(%{{.*}} : tensor<1x8x64x3xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64, causal>}
func.func @shrinks_top_k(%q: tensor<1x32x4096x128xbf16>, %k: tensor<1x8x4096x128xbf16>, %v: tensor<1x8x4096x128xbf16>) -> tensor<1x32x4096x128xbf16> {
  %blocks = attn.select_blocks %q, %k {query_block = 64, key_block = 64, top_k = 16, keep_sink = 1, keep_local = 2, causal} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x8x64x16xi32>
  // expected-remark @+1 {{budget 0.1 resolved by the selection's top_k (was 16): top_k = 3 costs 0.0912 of dense, its selection 0.0451}}
  %o = attn.attention %q, %k, %v blocks(%blocks : tensor<1x8x64x16xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64, causal>, budget = #attn.budget<0.1>} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x32x4096x128xbf16>
  return %o : tensor<1x32x4096x128xbf16>
}

// -----

// CHECK-LABEL: func @already_met
// CHECK: top_k = 8 : i64
func.func @already_met(%q: tensor<1x32x4096x128xbf16>, %k: tensor<1x8x4096x128xbf16>, %v: tensor<1x8x4096x128xbf16>) -> tensor<1x32x4096x128xbf16> {
  %blocks = attn.select_blocks %q, %k {query_block = 128, key_block = 64, top_k = 8} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x8x32x8xi32>
  // expected-remark @+1 {{budget 0.25 already met: top_k = 8 costs 0.1701 of dense, its selection 0.0451}}
  %o = attn.attention %q, %k, %v blocks(%blocks : tensor<1x8x32x8xi32>) {pattern = #attn.selected<query_block = 128, key_block = 64>, budget = #attn.budget<0.25>} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x32x4096x128xbf16>
  return %o : tensor<1x32x4096x128xbf16>
}

// -----

// The compression that pools the keys is paid too.
// CHECK-LABEL: func @pooled_by_compression
// CHECK: top_k = 4 : i64
func.func @pooled_by_compression(%q: tensor<1x32x4096x128xbf16>, %k: tensor<1x8x4096x128xbf16>, %v: tensor<1x8x4096x128xbf16>) -> tensor<1x32x4096x128xbf16> {
  %ck, %cv = attn.compress_kv %k, %v {block = 64, method = #attn.compression<mean>} : tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x8x64x128xbf16>, tensor<1x8x64x128xbf16>
  %blocks = attn.select_blocks %q, %k pooled_keys(%ck : tensor<1x8x64x128xbf16>) {query_block = 64, key_block = 64, top_k = 16} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x8x64x16xi32>
  // expected-remark @+1 {{budget 0.125 resolved by the selection's top_k (was 16): top_k = 4 costs 0.1170 of dense, its selection 0.0545}}
  %o = attn.attention %q, %k, %v blocks(%blocks : tensor<1x8x64x16xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64>, budget = #attn.budget<0.125>} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x32x4096x128xbf16>
  return %o : tensor<1x32x4096x128xbf16>
}

// -----

// With gates, the heads share what the selection leaves of the budget.
// CHECK-LABEL: func @heads_pay_after_selection
// CHECK: attn.head_gate {{.*}} {budget = #attn.budget<0.3196
// CHECK: top_k = 16 : i64
func.func @heads_pay_after_selection(%q: tensor<1x32x4096x128xbf16>, %k: tensor<1x8x4096x128xbf16>, %v: tensor<1x8x4096x128xbf16>, %s: tensor<1x32xf32>) -> tensor<1x32x4096x128xbf16> {
  %g = attn.head_gate %s {budget = #attn.budget<1.0>} : tensor<1x32xf32> -> tensor<1x32xi1>
  %blocks = attn.select_blocks %q, %k {query_block = 64, key_block = 64, top_k = 16} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x8x64x16xi32>
  // expected-remark @+1 {{budget 0.125 resolved by head gates: gate budget 0.3197, active heads cost at most 0.1250 of dense with the block selection}}
  %o = attn.attention %q, %k, %v gates(%g : tensor<1x32xi1>) blocks(%blocks : tensor<1x8x64x16xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64>, budget = #attn.budget<0.125>} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x32x4096x128xbf16>
  return %o : tensor<1x32x4096x128xbf16>
}
