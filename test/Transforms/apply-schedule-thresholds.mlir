// A schedule can set head-gate thresholds per layer.
// RUN: attn-opt %s -attn-apply-schedule | FileCheck %s

// Gating that prunes more in deeper layers, by thresholds.
module attributes {attn.schedule = #attn.schedule<[
    #attn.layer<0, threshold = 0.1>, #attn.layer<1, threshold = 0.4>]>} {
  // CHECK-LABEL: func @thresholds
  func.func @thresholds(%s: tensor<2x4xf32>) -> (tensor<2x4xi1>, tensor<2x4xi1>) {
    // CHECK: attn.head_gate %{{.*}} {layer = 0 : i64, threshold = 1.000000e-01 : f32}
    %a = attn.head_gate %s {threshold = 0.0 : f32, layer = 0} : tensor<2x4xf32> -> tensor<2x4xi1>
    // CHECK: attn.head_gate %{{.*}} {layer = 1 : i64, threshold = 4.000000e-01 : f32}
    %b = attn.head_gate %s {threshold = 0.0 : f32, layer = 1} : tensor<2x4xf32> -> tensor<2x4xi1>
    return %a, %b : tensor<2x4xi1>, tensor<2x4xi1>
  }
}
