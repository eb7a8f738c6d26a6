// What attn-apply-schedule refuses, and the diagnostics it gives.
// RUN: attn-opt %s -split-input-file -attn-apply-schedule -verify-diagnostics
// RUN: not attn-opt %s -attn-apply-schedule="schedule-file=%S/Inputs/does-not-exist.json" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not attn-opt %s -attn-apply-schedule="schedule-file=%S/Inputs/schedule-not-json.json" 2>&1 | FileCheck %s --check-prefix=NOTJSON
// RUN: not attn-opt %s -attn-apply-schedule="schedule-file=%S/Inputs/schedule-bad-budget.json" 2>&1 | FileCheck %s --check-prefix=BUDGET
// RUN: not attn-opt %s -attn-apply-schedule="schedule-file=%S/Inputs/schedule-bad-field.json" 2>&1 | FileCheck %s --check-prefix=FIELD
// RUN: not attn-opt %s -attn-apply-schedule="schedule-file=%S/Inputs/schedule-bad-pattern.json" 2>&1 | FileCheck %s --check-prefix=PATTERN
// RUN: python3 -c "print('[' * 5000)" > %t.deep.json
// RUN: not attn-opt %s -attn-apply-schedule="schedule-file=%t.deep.json" 2>&1 | FileCheck %s --check-prefix=DEEP
// DEEP: error: invalid schedule file '{{.*}}': nesting deeper than 64 levels (5000)

// MISSING: error: cannot read schedule file '{{.*}}does-not-exist.json': No such file or directory
// NOTJSON: error: invalid schedule file '{{.*}}schedule-not-json.json': invalid JSON: {{.*}}Unexpected EOF
// BUDGET: error: invalid schedule file '{{.*}}': layers[0]: budget must be a fraction of dense cost in (0, 1], found 1.5
// FIELD: error: invalid schedule file '{{.*}}': layers[1]: unknown field "window" (expected layer, budget, pattern, threshold)
// PATTERN: error: invalid schedule file '{{.*}}': layers[0]: cannot parse pattern "#attn.local<window = -4>": #attn.local expects window >= 1, found -4

// expected-error @+1 {{attn-apply-schedule found no schedule: the module has no 'attn.schedule' attribute and no schedule-file was given}}
module {
}

// -----

module attributes {attn.schedule = #attn.schedule<[#attn.layer<0, budget = 0.5>]>} {
  func.func @unscheduled_layer(%q: tensor<1x4x64x64xf16>) -> tensor<1x4x64x64xf16> {
    %a = attn.attention %q, %q, %q {layer = 0} : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
    // expected-error @+1 {{layer 7 has no entry in the schedule (scheduled layers: 0)}}
    %b = attn.attention %a, %q, %q {layer = 7} : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
    return %b : tensor<1x4x64x64xf16>
  }
}

// -----

// expected-error @+1 {{schedule names layer 9, but no attn op carries layer = 9}}
module attributes {attn.schedule = #attn.schedule<[#attn.layer<0, budget = 0.5>, #attn.layer<9, budget = 0.5>]>} {
  func.func @unknown_layer(%q: tensor<1x4x64x64xf16>) -> tensor<1x4x64x64xf16> {
    %a = attn.attention %q, %q, %q {layer = 0} : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
    return %a : tensor<1x4x64x64xf16>
  }
}

// -----

module attributes {attn.schedule = #attn.schedule<[#attn.layer<0, pattern = #attn.per_head<[#attn.causal, #attn.dense]>>]>} {
  func.func @pattern_does_not_fit(%q: tensor<1x4x64x64xf16>) -> tensor<1x4x64x64xf16> {
    // expected-error @+1 {{layer 0's pattern does not fit: #attn.per_head lists 2 patterns but the op has Hq = 4 query heads}}
    %a = attn.attention %q, %q, %q {layer = 0} : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
    return %a : tensor<1x4x64x64xf16>
  }
}

// -----

module attributes {attn.schedule = #attn.schedule<[#attn.layer<0, pattern = #attn.selected<query_block = 64, key_block = 64>>]>} {
  func.func @pattern_needs_blocks(%q: tensor<1x4x64x64xf16>) -> tensor<1x4x64x64xf16> {
    // expected-error @+1 {{layer 0's pattern #attn.selected<query_block = 64, key_block = 64> needs a blocks operand, which this op lacks}}
    %a = attn.attention %q, %q, %q {layer = 0} : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
    return %a : tensor<1x4x64x64xf16>
  }
}

// -----

module attributes {attn.schedule = #attn.schedule<[#attn.layer<0, budget = 0.5>]>} {
  func.func @threshold_gate(%s: tensor<2x4xf32>) -> tensor<2x4xi1> {
    // expected-error @+1 {{layer 0 schedules a budget, but this attn.head_gate is gated by a threshold; give it a budget attribute to schedule it}}
    %g = attn.head_gate %s {threshold = 0.5 : f32, layer = 0} : tensor<2x4xf32> -> tensor<2x4xi1>
    return %g : tensor<2x4xi1>
  }
}

// -----

module attributes {attn.schedule = #attn.schedule<[#attn.layer<0, threshold = 0.5>]>} {
  func.func @threshold_for_budget_gate(%s: tensor<2x4xf32>) -> tensor<2x4xi1> {
    // expected-error @+1 {{layer 0 schedules a threshold, but this attn.head_gate is gated by a budget; give it a threshold to schedule it}}
    %g = attn.head_gate %s {budget = #attn.budget<0.5>, layer = 0} : tensor<2x4xf32> -> tensor<2x4xi1>
    return %g : tensor<2x4xi1>
  }
}

// -----

module attributes {attn.schedule = #attn.schedule<[#attn.layer<0, pattern = #attn.causal>]>} {
  func.func @blocks_need_selected(%q: tensor<1x1x16x8xf32>, %i: tensor<1x1x4x2xi32>) -> tensor<1x1x16x8xf32> {
    // expected-error @+1 {{layer 0's pattern #attn.causal has no #attn.selected for this op's blocks operand}}
    %0 = attn.attention %q, %q, %q blocks(%i : tensor<1x1x4x2xi32>) {layer = 0, pattern = #attn.selected<query_block = 4, key_block = 4>} : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32> -> tensor<1x1x16x8xf32>
    return %0 : tensor<1x1x16x8xf32>
  }
}

// -----

module attributes {attn.schedule = #attn.schedule<[#attn.layer<0, pattern = #attn.selected<query_block = 8, key_block = 4>>]>} {
  func.func @selected_sizes(%q: tensor<1x1x16x8xf32>, %i: tensor<1x1x4x2xi32>) -> tensor<1x1x16x8xf32> {
    // expected-error @+1 {{layer 0's pattern #attn.selected<query_block = 8, key_block = 4> does not fit this op: 'attn.attention' op expects block indices of shape 1x1x2x2}}
    %0 = attn.attention %q, %q, %q blocks(%i : tensor<1x1x4x2xi32>) {layer = 0, pattern = #attn.selected<query_block = 4, key_block = 4>} : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32> -> tensor<1x1x16x8xf32>
    return %0 : tensor<1x1x16x8xf32>
  }
}

// -----

module attributes {attn.schedule = #attn.schedule<[#attn.layer<0, threshold = 1.0e300>]>} {
  func.func @threshold_too_large(%s: tensor<2x8xf32>) -> tensor<2x8xi1> {
    // expected-error @+1 {{layer 0's threshold 1.0e+300 does not fit the gate's f32 threshold}}
    %g = attn.head_gate %s {threshold = 0.1 : f32, layer = 0} : tensor<2x8xf32> -> tensor<2x8xi1>
    return %g : tensor<2x8xi1>
  }
}
