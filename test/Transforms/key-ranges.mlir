// The keys each block of 4 query rows touches, per pattern kind, as the
// pattern interface answers; rows sit at positions q + (Skv - Sq).
// RUN: attn-opt %s -test-attn-key-ranges="query-block=4" -split-input-file | FileCheck %s

// CHECK-LABEL: attn.attention Hq = 1, Sq = 8, Skv = 8, query block = 4, pattern = #attn.dense
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 8) (8 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}0, 8) (8 keys)
func.func @dense(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.dense} : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32> -> tensor<1x1x8x16xf32>
  return %o : tensor<1x1x8x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 8, Skv = 8, query block = 4, pattern = #attn.causal
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 4) (4 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}0, 8) (8 keys)
func.func @causal(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.causal} : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32> -> tensor<1x1x8x16xf32>
  return %o : tensor<1x1x8x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 1, Skv = 10, query block = 4, pattern = #attn.causal
// CHECK-NEXT: head 0 rows {{\[}}0, 1): {{\[}}0, 10) (10 keys)
func.func @causal_decode(%q: tensor<1x1x1x16xf32>, %k: tensor<1x1x10x16xf32>) -> tensor<1x1x1x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.causal} : tensor<1x1x1x16xf32>, tensor<1x1x10x16xf32>, tensor<1x1x10x16xf32> -> tensor<1x1x1x16xf32>
  return %o : tensor<1x1x1x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 8, Skv = 4, query block = 4, pattern = #attn.causal
// CHECK-NEXT: head 0 rows {{\[}}0, 4): none (0 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}0, 4) (4 keys)
func.func @causal_cross_longer_queries(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x4x16xf32>) -> tensor<1x1x8x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.causal} : tensor<1x1x8x16xf32>, tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32> -> tensor<1x1x8x16xf32>
  return %o : tensor<1x1x8x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 12, Skv = 12, query block = 4, pattern = #attn.local<window = 2>
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 6) (6 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}2, 10) (8 keys)
// CHECK-NEXT: head 0 rows {{\[}}8, 12): {{\[}}6, 12) (6 keys)
func.func @local(%q: tensor<1x1x12x16xf32>, %k: tensor<1x1x12x16xf32>) -> tensor<1x1x12x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.local<window = 2>} : tensor<1x1x12x16xf32>, tensor<1x1x12x16xf32>, tensor<1x1x12x16xf32> -> tensor<1x1x12x16xf32>
  return %o : tensor<1x1x12x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 12, Skv = 12, query block = 4, pattern = #attn.local<window = 2, causal>
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 4) (4 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}2, 8) (6 keys)
// CHECK-NEXT: head 0 rows {{\[}}8, 12): {{\[}}6, 12) (6 keys)
func.func @local_causal(%q: tensor<1x1x12x16xf32>, %k: tensor<1x1x12x16xf32>) -> tensor<1x1x12x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.local<window = 2, causal>} : tensor<1x1x12x16xf32>, tensor<1x1x12x16xf32>, tensor<1x1x12x16xf32> -> tensor<1x1x12x16xf32>
  return %o : tensor<1x1x12x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 12, Skv = 12, query block = 4, pattern = #attn.local<window = 4, dilation = 2>
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 8) (8 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}0, 12) (12 keys)
// CHECK-NEXT: head 0 rows {{\[}}8, 12): {{\[}}4, 12) (8 keys)
func.func @local_dilated(%q: tensor<1x1x12x16xf32>, %k: tensor<1x1x12x16xf32>) -> tensor<1x1x12x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.local<window = 4, dilation = 2>} : tensor<1x1x12x16xf32>, tensor<1x1x12x16xf32>, tensor<1x1x12x16xf32> -> tensor<1x1x12x16xf32>
  return %o : tensor<1x1x12x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 12, Skv = 12, query block = 4, pattern = #attn.strided<stride = 3>
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 12) (12 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}0, 12) (12 keys)
// CHECK-NEXT: head 0 rows {{\[}}8, 12): {{\[}}0, 12) (12 keys)
func.func @strided(%q: tensor<1x1x12x16xf32>, %k: tensor<1x1x12x16xf32>) -> tensor<1x1x12x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.strided<stride = 3>} : tensor<1x1x12x16xf32>, tensor<1x1x12x16xf32>, tensor<1x1x12x16xf32> -> tensor<1x1x12x16xf32>
  return %o : tensor<1x1x12x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 12, Skv = 12, query block = 4, pattern = #attn.strided<stride = 2, block = 2, causal>
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 4) (4 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}0, 8) (8 keys)
// CHECK-NEXT: head 0 rows {{\[}}8, 12): {{\[}}0, 12) (12 keys)
func.func @strided_blocks_causal(%q: tensor<1x1x12x16xf32>, %k: tensor<1x1x12x16xf32>) -> tensor<1x1x12x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.strided<stride = 2, block = 2, causal>} : tensor<1x1x12x16xf32>, tensor<1x1x12x16xf32>, tensor<1x1x12x16xf32> -> tensor<1x1x12x16xf32>
  return %o : tensor<1x1x12x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 8, Skv = 8, query block = 4, pattern = #attn.global<tokens = 2>
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 8) (8 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}0, 2) (2 keys)
func.func @global(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.global<tokens = 2>} : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32> -> tensor<1x1x8x16xf32>
  return %o : tensor<1x1x8x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 8, Skv = 8, query block = 4, pattern = #attn.chunked<size = 3>
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 6) (6 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}3, 8) (5 keys)
func.func @chunked(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.chunked<size = 3>} : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32> -> tensor<1x1x8x16xf32>
  return %o : tensor<1x1x8x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 8, Skv = 8, query block = 4, pattern = #attn.chunked<size = 3, causal>
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 4) (4 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}3, 8) (5 keys)
func.func @chunked_causal(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.chunked<size = 3, causal>} : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32> -> tensor<1x1x8x16xf32>
  return %o : tensor<1x1x8x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 2, Sq = 8, Skv = 8, query block = 4, pattern = #attn.random_blocks<density = 0.5, seed = 1, block = 2>
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 4) {{\[}}6, 8) (6 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}0, 8) (8 keys)
// CHECK-NEXT: head 1 rows {{\[}}0, 4): {{\[}}0, 8) (8 keys)
// CHECK-NEXT: head 1 rows {{\[}}4, 8): {{\[}}0, 2) {{\[}}4, 8) (6 keys)
func.func @random(%q: tensor<1x2x8x16xf32>, %k: tensor<1x1x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.random_blocks<density = 0.5, seed = 1, block = 2>} : tensor<1x2x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32> -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 2, Sq = 8, Skv = 8, query block = 4, pattern = #attn.block_layout<block = 4, shape = {{\[}}2, 2, 2], layout = {{\[}}1, 0, 1, 1, 0, 1, 1, 0]>
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 4) (4 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}0, 8) (8 keys)
// CHECK-NEXT: head 1 rows {{\[}}0, 4): {{\[}}4, 8) (4 keys)
// CHECK-NEXT: head 1 rows {{\[}}4, 8): {{\[}}0, 4) (4 keys)
func.func @layout(%q: tensor<1x2x8x16xf32>, %k: tensor<1x1x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.block_layout<block = 4, shape = [2, 2, 2], layout = [1, 0, 1, 1, 0, 1, 1, 0]>} : tensor<1x2x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32> -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 8, Skv = 8, query block = 4, pattern = #attn.union<{{\[}}#attn.global<tokens = 1>, #attn.local<window = 1, causal>]>
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 8) (8 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}0, 1) {{\[}}3, 8) (6 keys)
func.func @union(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.union<[#attn.global<tokens = 1>, #attn.local<window = 1, causal>]>} : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32> -> tensor<1x1x8x16xf32>
  return %o : tensor<1x1x8x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 4, Sq = 8, Skv = 8, query block = 4, pattern = #attn.per_head<{{\[}}#attn.causal, #attn.chunked<size = 4>, #attn.global<tokens = 1>, #attn.dense]>
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 4) (4 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}0, 8) (8 keys)
// CHECK-NEXT: head 1 rows {{\[}}0, 4): {{\[}}0, 4) (4 keys)
// CHECK-NEXT: head 1 rows {{\[}}4, 8): {{\[}}4, 8) (4 keys)
// CHECK-NEXT: head 2 rows {{\[}}0, 4): {{\[}}0, 8) (8 keys)
// CHECK-NEXT: head 2 rows {{\[}}4, 8): {{\[}}0, 1) (1 keys)
// CHECK-NEXT: head 3 rows {{\[}}0, 4): {{\[}}0, 8) (8 keys)
// CHECK-NEXT: head 3 rows {{\[}}4, 8): {{\[}}0, 8) (8 keys)
func.func @per_head_gqa(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.per_head<[#attn.causal, #attn.chunked<size = 4>, #attn.global<tokens = 1>, #attn.dense]>} : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

// CHECK-LABEL: attn.attention Hq = 1, Sq = 8, Skv = 8, query block = 4, pattern = #attn.selected<query_block = 4, key_block = 4, causal>
// CHECK-NEXT: head 0 rows {{\[}}0, 4): {{\[}}0, 4) (4 keys)
// CHECK-NEXT: head 0 rows {{\[}}4, 8): {{\[}}0, 8) (8 keys)
func.func @selected_bound(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %b: tensor<1x1x2x1xi32>) -> tensor<1x1x8x16xf32> {
  %o = attn.attention %q, %k, %k blocks(%b : tensor<1x1x2x1xi32>) {pattern = #attn.selected<query_block = 4, key_block = 4, causal>} : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32> -> tensor<1x1x8x16xf32>
  return %o : tensor<1x1x8x16xf32>
}
