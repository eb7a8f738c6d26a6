// The manifest's "functions" (docs/artifact.md): each source function's
// inputs and outputs in order, with dynamic sizes named so that sizes one
// kernel ties together share a name (the runtime checks them at each call)
// and independent ones get their own ("Sq2", "B2"); and the functions the
// runtime could not call are refused at compile time.
//
// RUN: rm -rf %t && split-file %s %t
// RUN: attn-compile %t/ok.mlir --target=x86-64-v3 -o %t/ok
// RUN: FileCheck %s < %t/ok/manifest.json
// RUN: not attn-compile %t/twice.mlir --target=x86-64-v3 -o %t/twice 2>&1 \
// RUN:   | FileCheck %s --check-prefix=TWICE

// CHECK:      "functions": [
// CHECK-NEXT:   {
// CHECK-NEXT:     "name": "shared",
// CHECK-NEXT:     "inputs": [
// CHECK-NEXT:       {
// CHECK-NEXT:         "role": "query",
// CHECK-NEXT:         "dtype": "f32",
// CHECK-NEXT:         "shape": [
// CHECK-NEXT:           "B",
// CHECK-NEXT:           4,
// CHECK-NEXT:           "Sq",
// CHECK-NEXT:           32
// CHECK:              "role": "key",
// CHECK-NEXT:         "dtype": "f32",
// CHECK-NEXT:         "shape": [
// CHECK-NEXT:           "B",
// CHECK-NEXT:           2,
// CHECK-NEXT:           "Skv",
// CHECK:              "role": "value",
// The second op's query shares B, K and V with the first, not Sq.
// CHECK:              "role": "query",
// CHECK-NEXT:         "dtype": "f32",
// CHECK-NEXT:         "shape": [
// CHECK-NEXT:           "B",
// CHECK-NEXT:           4,
// CHECK-NEXT:           "Sq2",
// CHECK:          "outputs": [
// CHECK:                "Sq",
// CHECK:                "Sq2",
// CHECK:          "kernels": [
// CHECK-NEXT:       "shared_attn0",
// CHECK-NEXT:       "shared_attn1"
// CHECK-NEXT:     ]
// CHECK:          "name": "gated",
// CHECK:              "role": "gates",
// CHECK-NEXT:         "dtype": "bool",
// CHECK-NEXT:         "shape": [
// CHECK-NEXT:           2,
// CHECK-NEXT:           8
// CHECK-NEXT:         ]

// TWICE: error: function @twice: result 0 is written by no kernel

//--- ok.mlir
func.func @shared(%q: tensor<?x4x?x32xf32>, %k: tensor<?x2x?x32xf32>,
                  %v: tensor<?x2x?x32xf32>, %q2: tensor<?x4x?x32xf32>)
    -> (tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>) {
  %o = attn.attention %q, %k, %v {pattern = #attn.causal}
      : tensor<?x4x?x32xf32>, tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32>
        -> tensor<?x4x?x32xf32>
  %o2 = attn.attention %q2, %k, %v
      : tensor<?x4x?x32xf32>, tensor<?x2x?x32xf32>, tensor<?x2x?x32xf32>
        -> tensor<?x4x?x32xf32>
  return %o, %o2 : tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>
}
func.func @gated(%q: tensor<2x8x?x64xf32>, %k: tensor<2x8x?x64xf32>,
                 %v: tensor<2x8x?x64xf32>, %g: tensor<2x8xi1>)
    -> tensor<2x8x?x64xf32> {
  %o = attn.attention %q, %k, %v gates(%g : tensor<2x8xi1>)
      : tensor<2x8x?x64xf32>, tensor<2x8x?x64xf32>, tensor<2x8x?x64xf32>
        -> tensor<2x8x?x64xf32>
  return %o : tensor<2x8x?x64xf32>
}

//--- twice.mlir
func.func @twice(%q: tensor<?x4x?x32xf32>, %k: tensor<?x4x?x32xf32>,
                 %v: tensor<?x4x?x32xf32>)
    -> (tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>) {
  %o = attn.attention %q, %k, %v
      : tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>
        -> tensor<?x4x?x32xf32>
  return %o, %o : tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>
}
