// Bad-input catalogue (docs/robustness.md): impossible budgets. A budget
// outside (0, 1] is refused where it is parsed; one the cost model cannot
// meet is refused by attn-resolve-budgets, naming the cheapest choice.
// RUN: attn-opt %s -split-input-file -attn-resolve-budgets -verify-diagnostics

// expected-error @+1 {{budget must be a fraction of dense cost in (0, 1], found 1.5}}
func.func private @f() attributes {b = #attn.budget<1.5>}

// -----

// expected-error @+1 {{budget must be a fraction of dense cost in (0, 1], found 0.0}}
func.func private @f() attributes {b = #attn.budget<0.0>}

// -----

// expected-error @+1 {{budget must be a fraction of dense cost in (0, 1], found nan}}
func.func private @f() attributes {b = #attn.budget<0x7FF8000000000000>}

// -----

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

func.func @min_active_too_costly(%q: tensor<1x2x4096x64xbf16>, %s: tensor<1x2xf32>) -> tensor<1x2x4096x64xbf16> {
  %g = attn.head_gate %s {budget = #attn.budget<1.0>, min_active = 2} : tensor<1x2xf32> -> tensor<1x2xi1>
  // expected-error @+1 {{budget 0.25 is impossible: the attn.head_gate keeps at least min_active = 2 heads, which may cost 1.0000 of dense}}
  %o = attn.attention %q, %q, %q gates(%g : tensor<1x2xi1>) {budget = #attn.budget<0.25>} : tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16> -> tensor<1x2x4096x64xbf16>
  return %o : tensor<1x2x4096x64xbf16>
}

// -----

func.func @threshold_gate(%q: tensor<1x2x4096x64xbf16>, %s: tensor<1x2xf32>) -> tensor<1x2x4096x64xbf16> {
  %g = attn.head_gate %s {threshold = 0.5 : f32} : tensor<1x2xf32> -> tensor<1x2xi1>
  // expected-error @+1 {{has budget 0.5 but its gates come from an attn.head_gate with a threshold, which bounds no cost; give the gate a budget attribute}}
  %o = attn.attention %q, %q, %q gates(%g : tensor<1x2xi1>) {budget = #attn.budget<0.5>} : tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16>, tensor<1x2x4096x64xbf16> -> tensor<1x2x4096x64xbf16>
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

func.func @too_large(%q: tensor<1x1x4294967296x16xbf16>) -> tensor<1x1x4294967296x16xbf16> {
  // expected-error @+1 {{resolving a budget cannot count 1 x 4294967296 x 4294967296 query-key pairs in 64 bits}}
  %0 = attn.attention %q, %q, %q {pattern = #attn.causal, budget = #attn.budget<0.1>} : tensor<1x1x4294967296x16xbf16>, tensor<1x1x4294967296x16xbf16>, tensor<1x1x4294967296x16xbf16> -> tensor<1x1x4294967296x16xbf16>
  return %0 : tensor<1x1x4294967296x16xbf16>
}
