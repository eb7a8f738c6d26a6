// The same plans as runs of key tiles per query tile, at tiles that differ
// for queries and keys (8 x 4) and lengths that are not multiples of them.
// RUN: attn-opt %s -test-attn-block-plan="query-tile=8 key-tile=4" -split-input-file -o /dev/null | FileCheck %s

// Query tiles of 8 rows are wider than the window of 6 keys: no key tile is
// seen by all 8 rows, so none is full.
// CHECK-LABEL: plan of #attn.local<window = 5, causal> (Sq = 21, Skv = 21, tiles 8x4)
// CHECK-NEXT: heads 0: analytic band{{\[}}-5, 0]
// CHECK-NEXT: q0: 0-1 partial
// CHECK-NEXT: q1: 0-3 partial
// CHECK-NEXT: q2: 2-5 partial
// CHECK-NEXT: visited 10 of 18 tiles (0 full, 10 partial)
func.func @local_causal(%q: tensor<1x1x21x8xf32>) -> tensor<1x1x21x8xf32> {
  %o = attn.attention %q, %q, %q {pattern = #attn.local<window = 5, causal>} : tensor<1x1x21x8xf32>, tensor<1x1x21x8xf32>, tensor<1x1x21x8xf32> -> tensor<1x1x21x8xf32>
  return %o : tensor<1x1x21x8xf32>
}

// -----

// One decode row at position 20 with a causal window.
// CHECK-LABEL: plan of #attn.local<window = 9, causal> (Sq = 1, Skv = 21, tiles 8x4)
// CHECK-NEXT: heads 0: analytic band{{\[}}-9, 0]
// CHECK-NEXT: q0: 2 partial 3-5 full
// CHECK-NEXT: visited 4 of 6 tiles (3 full, 1 partial)
func.func @decode(%q: tensor<1x1x1x8xf32>, %k: tensor<1x1x21x8xf32>) -> tensor<1x1x1x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.local<window = 9, causal>} : tensor<1x1x1x8xf32>, tensor<1x1x21x8xf32>, tensor<1x1x21x8xf32> -> tensor<1x1x1x8xf32>
  return %o : tensor<1x1x1x8xf32>
}

// -----

// A wider window leaves full tiles in the middle of each band.
// CHECK-LABEL: plan of #attn.local<window = 16> (Sq = 21, Skv = 21, tiles 8x4)
// CHECK-NEXT: heads 0: analytic band{{\[}}-16, 16]
// CHECK-NEXT: q0: 0-3 full 4-5 partial
// CHECK-NEXT: q1: 0-5 full
// CHECK-NEXT: q2: 0 partial 1-5 full
// CHECK-NEXT: visited 18 of 18 tiles (15 full, 3 partial)
func.func @local_wide(%q: tensor<1x1x21x8xf32>) -> tensor<1x1x21x8xf32> {
  %o = attn.attention %q, %q, %q {pattern = #attn.local<window = 16>} : tensor<1x1x21x8xf32>, tensor<1x1x21x8xf32>, tensor<1x1x21x8xf32> -> tensor<1x1x21x8xf32>
  return %o : tensor<1x1x21x8xf32>
}
