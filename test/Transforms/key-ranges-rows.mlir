// Single query rows: the element mask of the patterns whose key sets have
// holes (strided, dilated windows, global tokens with a window at decode).
// RUN: attn-opt %s -test-attn-key-ranges="query-block=1" -split-input-file | FileCheck %s

// CHECK-LABEL: attn.attention Hq = 1, Sq = 7, Skv = 7, query block = 1, pattern = #attn.strided<stride = 3>
// CHECK-NEXT: head 0 rows {{\[}}0, 1): {{\[}}0, 1) {{\[}}3, 4) {{\[}}6, 7) (3 keys)
// CHECK-NEXT: head 0 rows {{\[}}1, 2): {{\[}}1, 2) {{\[}}4, 5) (2 keys)
// CHECK-NEXT: head 0 rows {{\[}}2, 3): {{\[}}2, 3) {{\[}}5, 6) (2 keys)
// CHECK-NEXT: head 0 rows {{\[}}3, 4): {{\[}}0, 1) {{\[}}3, 4) {{\[}}6, 7) (3 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 5): {{\[}}1, 2) {{\[}}4, 5) (2 keys)
// CHECK-NEXT: head 0 rows {{\[}}5, 6): {{\[}}2, 3) {{\[}}5, 6) (2 keys)
// CHECK-NEXT: head 0 rows {{\[}}6, 7): {{\[}}0, 1) {{\[}}3, 4) {{\[}}6, 7) (3 keys)
func.func @strided(%q: tensor<1x1x7x16xf32>) -> tensor<1x1x7x16xf32> {
  %o = attn.attention %q, %q, %q {pattern = #attn.strided<stride = 3>} : tensor<1x1x7x16xf32>, tensor<1x1x7x16xf32>, tensor<1x1x7x16xf32> -> tensor<1x1x7x16xf32>
  return %o : tensor<1x1x7x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 7, Skv = 7, query block = 1, pattern = #attn.local<window = 4, dilation = 2, causal>
// CHECK-NEXT: head 0 rows {{\[}}0, 1): {{\[}}0, 1) (1 keys)
// CHECK-NEXT: head 0 rows {{\[}}1, 2): {{\[}}1, 2) (1 keys)
// CHECK-NEXT: head 0 rows {{\[}}2, 3): {{\[}}0, 1) {{\[}}2, 3) (2 keys)
// CHECK-NEXT: head 0 rows {{\[}}3, 4): {{\[}}1, 2) {{\[}}3, 4) (2 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 5): {{\[}}0, 1) {{\[}}2, 3) {{\[}}4, 5) (3 keys)
// CHECK-NEXT: head 0 rows {{\[}}5, 6): {{\[}}1, 2) {{\[}}3, 4) {{\[}}5, 6) (3 keys)
// CHECK-NEXT: head 0 rows {{\[}}6, 7): {{\[}}2, 3) {{\[}}4, 5) {{\[}}6, 7) (3 keys)
func.func @local_dilated_causal(%q: tensor<1x1x7x16xf32>) -> tensor<1x1x7x16xf32> {
  %o = attn.attention %q, %q, %q {pattern = #attn.local<window = 4, dilation = 2, causal>} : tensor<1x1x7x16xf32>, tensor<1x1x7x16xf32>, tensor<1x1x7x16xf32> -> tensor<1x1x7x16xf32>
  return %o : tensor<1x1x7x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 2, Skv = 6, query block = 1, pattern = #attn.union<{{\[}}#attn.global<tokens = 2>, #attn.local<window = 1, causal>]>
// CHECK-NEXT: head 0 rows {{\[}}0, 1): {{\[}}0, 2) {{\[}}3, 5) (4 keys)
// CHECK-NEXT: head 0 rows {{\[}}1, 2): {{\[}}0, 2) {{\[}}4, 6) (4 keys)
func.func @global_decode(%q: tensor<1x1x2x16xf32>, %k: tensor<1x1x6x16xf32>) -> tensor<1x1x2x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.union<[#attn.global<tokens = 2>, #attn.local<window = 1, causal>]>} : tensor<1x1x2x16xf32>, tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32> -> tensor<1x1x2x16xf32>
  return %o : tensor<1x1x2x16xf32>
}
