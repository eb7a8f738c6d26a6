// attn-apply-schedule copies each layer's budget and pattern onto the ops of
// that layer, from the module's attn.schedule or from a JSON file.
// RUN: attn-opt %s -split-input-file -attn-apply-schedule | FileCheck %s
// RUN: attn-opt %s -split-input-file -attn-apply-schedule="schedule-file=%S/Inputs/schedule.json" | FileCheck %s --check-prefix=JSON

// Deeper layers prune more: layer 1 gets a lower budget and a causal window.
module attributes {attn.schedule = #attn.schedule<[
    #attn.layer<0, budget = 1.0>,
    #attn.layer<1, budget = 0.5, pattern = #attn.local<window = 255, causal>>]>} {
  // CHECK-LABEL: func @two_layers
  // JSON-LABEL: func @two_layers
  func.func @two_layers(%s: tensor<2x4xf32>, %q: tensor<2x4x512x64xf16>,
                        %k: tensor<2x4x512x64xf16>, %v: tensor<2x4x512x64xf16>)
      -> tensor<2x4x512x64xf16> {
    // CHECK: attn.head_gate {{.*}} {budget = #attn.budget<1.0>, layer = 0 : i64}
    // JSON: attn.head_gate {{.*}} {budget = #attn.budget<1.0>, layer = 0 : i64}
    %g0 = attn.head_gate %s {budget = #attn.budget<0.25>, layer = 0}
        : tensor<2x4xf32> -> tensor<2x4xi1>
    // CHECK: attn.attention {{.*}} {budget = #attn.budget<1.0>, layer = 0 : i64, pattern = #attn.causal}
    // JSON: attn.attention {{.*}} {budget = #attn.budget<1.0>, layer = 0 : i64, pattern = #attn.causal}
    %o0 = attn.attention %q, %k, %v gates(%g0 : tensor<2x4xi1>)
        {layer = 0, pattern = #attn.causal}
        : tensor<2x4x512x64xf16>, tensor<2x4x512x64xf16>, tensor<2x4x512x64xf16>
          -> tensor<2x4x512x64xf16>
    // CHECK: attn.attention {{.*}} {budget = #attn.budget<0.5>, layer = 1 : i64, pattern = #attn.local<window = 255, causal>}
    // JSON: attn.attention {{.*}} {budget = #attn.budget<0.5>, layer = 1 : i64, pattern = #attn.local<window = 255, causal>}
    %o1 = attn.attention %o0, %k, %v {layer = 1}
        : tensor<2x4x512x64xf16>, tensor<2x4x512x64xf16>, tensor<2x4x512x64xf16>
          -> tensor<2x4x512x64xf16>
    // Ops without a layer are left alone.
    // CHECK: attn.attention %{{[^ ]*}}, %{{[^ ]*}}, %{{[^ ]*}} : tensor
    %o2 = attn.attention %o1, %k, %v
        : tensor<2x4x512x64xf16>, tensor<2x4x512x64xf16>, tensor<2x4x512x64xf16>
          -> tensor<2x4x512x64xf16>
    return %o2 : tensor<2x4x512x64xf16>
  }
}

