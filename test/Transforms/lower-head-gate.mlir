// attn-lower-head-gate: the gate becomes a rank reduction and an elementwise
// test, with no sort (its numbers are checked against lib/Gate in
// test/unit/ReferenceTest.cpp).
// RUN: attn-opt %s -attn-lower-head-gate -canonicalize | FileCheck %s
// RUN: not attn-opt %S/Inputs/head-gate-dynamic.mlir -attn-lower-head-gate -o /dev/null 2>&1 | FileCheck %s --check-prefix=DYNAMIC
// DYNAMIC: error: attn-lower-head-gate needs a static head count

// CHECK-LABEL: func @budget
// CHECK-NOT: attn.head_gate
// CHECK: %[[RANKS:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: linalg.index 1
// CHECK: linalg.index 2
// CHECK: arith.cmpf uno
// CHECK: arith.cmpf ogt
// CHECK: %[[GATES:.*]] = linalg.generic {{.*}} ins(%[[RANKS]]#0, %[[RANKS]]#1, %arg0, %{{.*}} : {{.*}}) outs(%{{.*}} : tensor<2x16xi1>)
// CHECK: arith.cmpf olt
// CHECK: arith.cmpf ole
// CHECK: return %[[GATES]]
func.func @budget(%s: tensor<2x16xf32>) -> tensor<2x16xi1> {
  %g = attn.head_gate %s {budget = #attn.budget<0.5>} : tensor<2x16xf32> -> tensor<2x16xi1>
  return %g : tensor<2x16xi1>
}

// A runtime budget is clamped to [0, 1] and scaled by the total cost.
// CHECK-LABEL: func @runtime
// CHECK: %[[WIDE:.*]] = arith.extf %arg1 : f32 to f64
// CHECK: arith.minimumf %[[WIDE]]
// CHECK: arith.maximumf
// CHECK-NOT: attn.head_gate
func.func @runtime(%s: tensor<?x8xbf16>, %b: f32) -> tensor<?x8xi1> {
  %g = attn.head_gate %s budget(%b : f32) {head_costs = array<i64: 1, 2, 3, 4, 1, 2, 3, 4>} : tensor<?x8xbf16> -> tensor<?x8xi1>
  return %g : tensor<?x8xi1>
}

// CHECK-LABEL: func @threshold
// CHECK: arith.cmpf oge, %{{.*}}, %{{.*}} : f32
func.func @threshold(%s: tensor<1x4xf32>) -> tensor<1x4xi1> {
  %g = attn.head_gate %s {threshold = 0.5 : f32, min_active = 2} : tensor<1x4xf32> -> tensor<1x4xi1>
  return %g : tensor<1x4xi1>
}

