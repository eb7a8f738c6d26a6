// Budgets attn-resolve-budgets refuses, and why.
// RUN: attn-opt %s -split-input-file -attn-resolve-budgets -verify-diagnostics

func.func @impossible(%q: tensor<1x8x4096x64xbf16>) -> tensor<1x8x4096x64xbf16> {
  // expected-error @+1 {{budget 0.001 is impossible: the cheapest choice, #attn.local<window = 1, causal>, costs 0.0464 of dense}}
  %o = attn.attention %q, %q, %q {budget = #attn.budget<0.001>, pattern = #attn.causal} : tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16> -> tensor<1x8x4096x64xbf16>
  return %o : tensor<1x8x4096x64xbf16>
}

// -----

func.func @no_knob(%q: tensor<1x8x4096x64xbf16>) -> tensor<1x8x4096x64xbf16> {
  // expected-error @+1 {{cannot meet budget 0.1 with #attn.strided<stride = 4, block = 128> (it costs 0.2500 of dense): it has no window, density or gate to trade for cost}}
  %o = attn.attention %q, %q, %q {budget = #attn.budget<0.1>, pattern = #attn.strided<stride = 4, block = 128>} : tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16>, tensor<1x8x4096x64xbf16> -> tensor<1x8x4096x64xbf16>
  return %o : tensor<1x8x4096x64xbf16>
}

// -----

func.func @per_head_without_gates(%q: tensor<1x2x4096x64xbf16>) -> tensor<1x2x4096x64xbf16> {
  // expected-error @+1 {{per-head patterns are resolved through head gates}}
  %o = attn.attention %q, %q, %q {budget = #attn.budget<0.1>, pattern = #attn.per_head<[#attn.causal, #attn.dense]>} : tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16> -> tensor<1x2x4096x64xbf16>
  return %o : tensor<1x2x4096x64xbf16>
}

// -----

func.func @two_windows(%q: tensor<1x2x4096x64xbf16>) -> tensor<1x2x4096x64xbf16> {
  // expected-error @+1 {{its union has more than one local window to shrink}}
  %o = attn.attention %q, %q, %q {budget = #attn.budget<0.1>, pattern = #attn.union<[#attn.local<window = 1024>, #attn.local<window = 2048, dilation = 2>]>} : tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16> -> tensor<1x2x4096x64xbf16>
  return %o : tensor<1x2x4096x64xbf16>
}

// -----

func.func @dynamic_length(%q: tensor<1x2x?x64xbf16>) -> tensor<1x2x?x64xbf16> {
  // expected-error @+2 {{resolving a budget needs the query length, which is dynamic; pass query-len=N}}
  // expected-error @+1 {{resolving a budget needs the key length, which is dynamic; pass key-len=N}}
  %o = attn.attention %q, %q, %q {budget = #attn.budget<0.5>} : tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16> -> tensor<1x2x?x64xbf16>
  return %o : tensor<1x2x?x64xbf16>
}

// -----

func.func @threshold_gate(%q: tensor<1x2x4096x64xbf16>, %s: tensor<1x2xf32>) -> tensor<1x2x4096x64xbf16> {
  %g = attn.head_gate %s {threshold = 0.5 : f32} : tensor<1x2xf32> -> tensor<1x2xi1>
  // expected-error @+1 {{has budget 0.5 but its gates come from an attn.head_gate with a threshold, which bounds no cost; give the gate a budget attribute}}
  %o = attn.attention %q, %q, %q gates(%g : tensor<1x2xi1>) {budget = #attn.budget<0.5>} : tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16> -> tensor<1x2x4096x64xbf16>
  return %o : tensor<1x2x4096x64xbf16>
}

// -----

func.func @min_active_too_costly(%q: tensor<1x2x4096x64xbf16>, %s: tensor<1x2xf32>) -> tensor<1x2x4096x64xbf16> {
  %g = attn.head_gate %s {budget = #attn.budget<1.0>, min_active = 2} : tensor<1x2xf32> -> tensor<1x2xi1>
  // expected-error @+1 {{budget 0.25 is impossible: the attn.head_gate keeps at least min_active = 2 heads, which may cost 1.0000 of dense}}
  %o = attn.attention %q, %q, %q gates(%g : tensor<1x2xi1>) {budget = #attn.budget<0.25>} : tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16> -> tensor<1x2x4096x64xbf16>
  return %o : tensor<1x2x4096x64xbf16>
}

// -----

func.func @gates_from_elsewhere(%q: tensor<1x2x4096x64xbf16>, %g: tensor<1x2xi1>) -> tensor<1x2x4096x64xbf16> {
  // expected-error @+1 {{has budget 0.5 and gates that attn-resolve-budgets cannot see (not from an attn.head_gate); drop the budget or compute the gates with attn.head_gate}}
  %o = attn.attention %q, %q, %q gates(%g : tensor<1x2xi1>) {budget = #attn.budget<0.5>} : tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16> -> tensor<1x2x4096x64xbf16>
  return %o : tensor<1x2x4096x64xbf16>
}

// -----

// Work too large to count in 64 bits is refused, not wrapped (found by
// fuzzing: it once read as "already met" at a negative cost).
func.func @too_large(%q: tensor<1x1x4294967296x16xbf16>) -> tensor<1x1x4294967296x16xbf16> {
  // expected-error @+1 {{resolving a budget cannot count 1 x 4294967296 x 4294967296 query-key pairs in 64 bits}}
  %0 = attn.attention %q, %q, %q {pattern = #attn.causal, budget = #attn.budget<0.1>} : tensor<1x1x4294967296x16xbf16>, tensor<1x1x4294967296x16xbf16>, tensor<1x1x4294967296x16xbf16> -> tensor<1x1x4294967296x16xbf16>
  return %0 : tensor<1x1x4294967296x16xbf16>
}

// -----

func.func @indices_from_outside(%q: tensor<1x32x4096x128xbf16>, %k: tensor<1x8x4096x128xbf16>, %v: tensor<1x8x4096x128xbf16>, %blocks: tensor<1x8x64x16xi32>) -> tensor<1x32x4096x128xbf16> {
  // expected-error @+1 {{cannot meet budget 0.1: 16 blocks per query block cost 0.2500 of dense, and its block indices come from no attn.select_blocks whose top_k could shrink}}
  %o = attn.attention %q, %k, %v blocks(%blocks : tensor<1x8x64x16xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64>, budget = #attn.budget<0.1>} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x32x4096x128xbf16>
  return %o : tensor<1x32x4096x128xbf16>
}

// -----

func.func @indices_also_returned(%q: tensor<1x32x4096x128xbf16>, %k: tensor<1x8x4096x128xbf16>, %v: tensor<1x8x4096x128xbf16>) -> (tensor<1x32x4096x128xbf16>, tensor<1x8x64x16xi32>) {
  %blocks = attn.select_blocks %q, %k {query_block = 64, key_block = 64, top_k = 16} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x8x64x16xi32>
  // expected-error @+1 {{cannot meet budget 0.1 by shrinking top_k: its attn.select_blocks' indices are also used by 'func.return'}}
  %o = attn.attention %q, %k, %v blocks(%blocks : tensor<1x8x64x16xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64>, budget = #attn.budget<0.1>} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x32x4096x128xbf16>
  return %o, %blocks : tensor<1x32x4096x128xbf16>, tensor<1x8x64x16xi32>
}

// -----

func.func @forced_blocks_too_costly(%q: tensor<1x32x4096x128xbf16>, %k: tensor<1x8x4096x128xbf16>, %v: tensor<1x8x4096x128xbf16>) -> tensor<1x32x4096x128xbf16> {
  %blocks = attn.select_blocks %q, %k {query_block = 64, key_block = 64, top_k = 16, keep_sink = 4, keep_local = 4} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x8x64x16xi32>
  // expected-error @+1 {{budget 0.1 is impossible: the cheapest selection, top_k = 8 costs 0.1701 of dense, its selection 0.0451 (top_k cannot go below keep_sink + keep_local)}}
  %o = attn.attention %q, %k, %v blocks(%blocks : tensor<1x8x64x16xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64>, budget = #attn.budget<0.1>} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x32x4096x128xbf16>
  return %o : tensor<1x32x4096x128xbf16>
}

// -----

func.func @selection_alone_too_costly(%q: tensor<1x32x4096x128xbf16>, %k: tensor<1x8x4096x128xbf16>, %v: tensor<1x8x4096x128xbf16>, %s: tensor<1x32xf32>) -> tensor<1x32x4096x128xbf16> {
  %g = attn.head_gate %s {budget = #attn.budget<1.0>} : tensor<1x32xf32> -> tensor<1x32xi1>
  %blocks = attn.select_blocks %q, %k {query_block = 64, key_block = 64, top_k = 16} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x8x64x16xi32>
  // expected-error @+1 {{budget 0.02 is impossible: its block selection alone costs 0.0451 of dense}}
  %o = attn.attention %q, %k, %v gates(%g : tensor<1x32xi1>) blocks(%blocks : tensor<1x8x64x16xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64>, budget = #attn.budget<0.02>} : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x32x4096x128xbf16>
  return %o : tensor<1x32x4096x128xbf16>
}
