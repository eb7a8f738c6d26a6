// Bad-input catalogue (docs/robustness.md): schedules that name unknown
// layers, leave a layer out, or do not fit. attn-apply-schedule checks
// everything before changing anything; from a module attribute or a JSON file.
// RUN: attn-opt %s -split-input-file -attn-apply-schedule -verify-diagnostics
// RUN: echo '{"layers": [{"layer": 0, "budget": 0.5}, {"layer": 3, "budget": 0.25}]}' > %t.json
// RUN: not attn-opt %S/../fuzz/seeds/ir/pipeline.mlir -attn-apply-schedule="schedule-file=%t.json" 2>&1 | FileCheck %s --check-prefix=JSON
// RUN: echo '{"layers": [{"layer": -1, "budget": 0.5}]}' > %t.neg.json
// RUN: not attn-opt %S/../fuzz/seeds/ir/pipeline.mlir -attn-apply-schedule="schedule-file=%t.neg.json" 2>&1 | FileCheck %s --check-prefix=NEGATIVE

// JSON: error: layer 1 has no entry in the schedule (scheduled layers: 0, 3)
// JSON: error: schedule names layer 3, but no attn op carries layer = 3
// NEGATIVE: error: invalid schedule file '{{.*}}': layers[0]: expected an integer "layer" in [0, 2^31)

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

// expected-error @+1 {{#attn.schedule names layer 1 more than once}}
module attributes {attn.schedule = #attn.schedule<[#attn.layer<1, budget = 0.5>, #attn.layer<1, budget = 0.25>]>} {
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

// expected-error @+1 {{attn-apply-schedule found no schedule: the module has no 'attn.schedule' attribute and no schedule-file was given}}
module {
}
