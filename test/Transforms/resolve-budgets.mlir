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
