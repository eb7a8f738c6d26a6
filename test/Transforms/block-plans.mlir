// Block plans of every pattern kind at 4x4 tiles, drawn as grids: one row
// per query tile, '#' a full key tile (no mask), '+' a partial one (element
// mask), '.' a skipped one. Ragged lengths, decode, cross attention, unions
// that are full only jointly, per-head plans and runtime selection included.
// RUN: attn-opt %s -test-attn-block-plan="query-tile=4 key-tile=4 grid=true" -split-input-file -o /dev/null | FileCheck %s

// CHECK-LABEL: plan of #attn.dense (Sq = 20, Skv = 20, tiles 4x4)
// CHECK-NEXT: heads 0: analytic band{{\[}}-inf, +inf]
// CHECK-NEXT: #####
// CHECK-NEXT: #####
// CHECK-NEXT: #####
// CHECK-NEXT: #####
// CHECK-NEXT: #####
// CHECK-NEXT: visited 25 of 25 tiles (25 full, 0 partial)
func.func @dense_ragged(%q: tensor<1x1x20x8xf32>, %k: tensor<1x1x20x8xf32>) -> tensor<1x1x20x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.dense} : tensor<1x1x20x8xf32>, tensor<1x1x20x8xf32>, tensor<1x1x20x8xf32> -> tensor<1x1x20x8xf32>
  return %o : tensor<1x1x20x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.causal (Sq = 32, Skv = 32, tiles 4x4)
// CHECK-NEXT: heads 0: analytic band{{\[}}-inf, 0]
// CHECK-NEXT: +.......
// CHECK-NEXT: #+......
// CHECK-NEXT: ##+.....
// CHECK-NEXT: ###+....
// CHECK-NEXT: ####+...
// CHECK-NEXT: #####+..
// CHECK-NEXT: ######+.
// CHECK-NEXT: #######+
// CHECK-NEXT: visited 36 of 64 tiles (28 full, 8 partial)
func.func @causal(%q: tensor<1x1x32x8xf32>, %k: tensor<1x1x32x8xf32>) -> tensor<1x1x32x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.causal} : tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32> -> tensor<1x1x32x8xf32>
  return %o : tensor<1x1x32x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.causal (Sq = 20, Skv = 20, tiles 4x4)
// CHECK-NEXT: heads 0: analytic band{{\[}}-inf, 0]
// CHECK-NEXT: +....
// CHECK-NEXT: #+...
// CHECK-NEXT: ##+..
// CHECK-NEXT: ###+.
// CHECK-NEXT: ####+
// CHECK-NEXT: visited 15 of 25 tiles (10 full, 5 partial)
func.func @causal_ragged(%q: tensor<1x1x20x8xf32>, %k: tensor<1x1x20x8xf32>) -> tensor<1x1x20x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.causal} : tensor<1x1x20x8xf32>, tensor<1x1x20x8xf32>, tensor<1x1x20x8xf32> -> tensor<1x1x20x8xf32>
  return %o : tensor<1x1x20x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.causal (Sq = 1, Skv = 30, tiles 4x4)
// CHECK-NEXT: heads 0: analytic band{{\[}}-inf, 0]
// CHECK-NEXT: ########
// CHECK-NEXT: visited 8 of 8 tiles (8 full, 0 partial)
func.func @causal_decode(%q: tensor<1x1x1x8xf32>, %k: tensor<1x1x30x8xf32>) -> tensor<1x1x1x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.causal} : tensor<1x1x1x8xf32>, tensor<1x1x30x8xf32>, tensor<1x1x30x8xf32> -> tensor<1x1x1x8xf32>
  return %o : tensor<1x1x1x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.causal (Sq = 24, Skv = 16, tiles 4x4)
// CHECK-NEXT: heads 0: analytic band{{\[}}-inf, 0]
// CHECK-NEXT: ....
// CHECK-NEXT: ....
// CHECK-NEXT: +...
// CHECK-NEXT: #+..
// CHECK-NEXT: ##+.
// CHECK-NEXT: ###+
// CHECK-NEXT: visited 10 of 24 tiles (6 full, 4 partial)
func.func @causal_cross(%q: tensor<1x1x24x8xf32>, %k: tensor<1x1x16x8xf32>) -> tensor<1x1x24x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.causal} : tensor<1x1x24x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32> -> tensor<1x1x24x8xf32>
  return %o : tensor<1x1x24x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.local<window = 6> (Sq = 32, Skv = 32, tiles 4x4)
// CHECK-NEXT: heads 0: analytic band{{\[}}-6, 6]
// CHECK-NEXT: #++.....
// CHECK-NEXT: +#++....
// CHECK-NEXT: ++#++...
// CHECK-NEXT: .++#++..
// CHECK-NEXT: ..++#++.
// CHECK-NEXT: ...++#++
// CHECK-NEXT: ....++#+
// CHECK-NEXT: .....++#
// CHECK-NEXT: visited 34 of 64 tiles (8 full, 26 partial)
func.func @local(%q: tensor<1x1x32x8xf32>, %k: tensor<1x1x32x8xf32>) -> tensor<1x1x32x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.local<window = 6>} : tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32> -> tensor<1x1x32x8xf32>
  return %o : tensor<1x1x32x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.local<window = 11, causal> (Sq = 32, Skv = 32, tiles 4x4)
// CHECK-NEXT: heads 0: analytic band{{\[}}-11, 0]
// CHECK-NEXT: +.......
// CHECK-NEXT: #+......
// CHECK-NEXT: ##+.....
// CHECK-NEXT: +##+....
// CHECK-NEXT: .+##+...
// CHECK-NEXT: ..+##+..
// CHECK-NEXT: ...+##+.
// CHECK-NEXT: ....+##+
// CHECK-NEXT: visited 26 of 64 tiles (13 full, 13 partial)
func.func @local_causal(%q: tensor<1x1x32x8xf32>, %k: tensor<1x1x32x8xf32>) -> tensor<1x1x32x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.local<window = 11, causal>} : tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32> -> tensor<1x1x32x8xf32>
  return %o : tensor<1x1x32x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.local<window = 8, dilation = 3> (Sq = 32, Skv = 32, tiles 4x4)
// CHECK-NEXT: heads 0: analytic dilated(window 8, dilation 3)
// CHECK-NEXT: +++.....
// CHECK-NEXT: ++++....
// CHECK-NEXT: +++++...
// CHECK-NEXT: .+++++..
// CHECK-NEXT: ..+++++.
// CHECK-NEXT: ...+++++
// CHECK-NEXT: ....++++
// CHECK-NEXT: .....+++
// CHECK-NEXT: visited 34 of 64 tiles (0 full, 34 partial)
func.func @local_dilated(%q: tensor<1x1x32x8xf32>, %k: tensor<1x1x32x8xf32>) -> tensor<1x1x32x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.local<window = 8, dilation = 3>} : tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32> -> tensor<1x1x32x8xf32>
  return %o : tensor<1x1x32x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.strided<stride = 3, block = 4, causal> (Sq = 32, Skv = 32, tiles 4x4)
// CHECK-NEXT: heads 0: analytic periodic(stride 3, granule 4, causal)
// CHECK-NEXT: +.......
// CHECK-NEXT: .+......
// CHECK-NEXT: ..+.....
// CHECK-NEXT: #..+....
// CHECK-NEXT: .#..+...
// CHECK-NEXT: ..#..+..
// CHECK-NEXT: #..#..+.
// CHECK-NEXT: .#..#..+
// CHECK-NEXT: visited 15 of 64 tiles (7 full, 8 partial)
func.func @strided(%q: tensor<1x1x32x8xf32>, %k: tensor<1x1x32x8xf32>) -> tensor<1x1x32x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.strided<stride = 3, block = 4, causal>} : tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32> -> tensor<1x1x32x8xf32>
  return %o : tensor<1x1x32x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.global<tokens = 6> (Sq = 32, Skv = 32, tiles 4x4)
// CHECK-NEXT: heads 0: analytic prefix(6) global_rows(6)
// CHECK-NEXT: ########
// CHECK-NEXT: #+++++++
// CHECK-NEXT: #+......
// CHECK-NEXT: #+......
// CHECK-NEXT: #+......
// CHECK-NEXT: #+......
// CHECK-NEXT: #+......
// CHECK-NEXT: #+......
// CHECK-NEXT: visited 28 of 64 tiles (15 full, 13 partial)
func.func @global(%q: tensor<1x1x32x8xf32>, %k: tensor<1x1x32x8xf32>) -> tensor<1x1x32x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.global<tokens = 6>} : tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32> -> tensor<1x1x32x8xf32>
  return %o : tensor<1x1x32x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.chunked<size = 12, causal> (Sq = 32, Skv = 32, tiles 4x4)
// CHECK-NEXT: heads 0: analytic chunk(12, causal)
// CHECK-NEXT: +.......
// CHECK-NEXT: #+......
// CHECK-NEXT: ##+.....
// CHECK-NEXT: ...+....
// CHECK-NEXT: ...#+...
// CHECK-NEXT: ...##+..
// CHECK-NEXT: ......+.
// CHECK-NEXT: ......#+
// CHECK-NEXT: visited 15 of 64 tiles (7 full, 8 partial)
func.func @chunked(%q: tensor<1x1x32x8xf32>, %k: tensor<1x1x32x8xf32>) -> tensor<1x1x32x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.chunked<size = 12, causal>} : tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32> -> tensor<1x1x32x8xf32>
  return %o : tensor<1x1x32x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.random_blocks<density = 0.3, seed = 5, block = 4> (Sq = 32, Skv = 32, tiles 4x4)
// CHECK-NEXT: heads 0: table
// CHECK-NEXT: #.......
// CHECK-NEXT: .#.#..#.
// CHECK-NEXT: #.#.....
// CHECK-NEXT: .###.#..
// CHECK-NEXT: ....#..#
// CHECK-NEXT: #....##.
// CHECK-NEXT: #.....#.
// CHECK-NEXT: ....#..#
// CHECK-NEXT: visited 19 of 64 tiles (19 full, 0 partial)
func.func @random(%q: tensor<1x1x32x8xf32>, %k: tensor<1x1x32x8xf32>) -> tensor<1x1x32x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.random_blocks<density = 0.3, seed = 5, block = 4>} : tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32> -> tensor<1x1x32x8xf32>
  return %o : tensor<1x1x32x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.block_layout<block = 8, shape = {{\[}}4, 4], layout = {{\[}}1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1]> (Sq = 32, Skv = 32, tiles 4x4)
// CHECK-NEXT: heads 0: table
// CHECK-NEXT: ##......
// CHECK-NEXT: ##......
// CHECK-NEXT: ####....
// CHECK-NEXT: ####....
// CHECK-NEXT: ..####..
// CHECK-NEXT: ..####..
// CHECK-NEXT: ##..####
// CHECK-NEXT: ##..####
// CHECK-NEXT: visited 32 of 64 tiles (32 full, 0 partial)
func.func @layout(%q: tensor<1x1x32x8xf32>, %k: tensor<1x1x32x8xf32>) -> tensor<1x1x32x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.block_layout<block = 8, shape = [4, 4], layout = [1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1]>} : tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32> -> tensor<1x1x32x8xf32>
  return %o : tensor<1x1x32x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.union<{{\[}}#attn.global<tokens = 4>, #attn.local<window = 5>]> (Sq = 32, Skv = 32, tiles 4x4)
// CHECK-NEXT: heads 0: analytic prefix(4) global_rows(4) band{{\[}}-5, 5]
// CHECK-NEXT: ########
// CHECK-NEXT: ##++....
// CHECK-NEXT: #+#++...
// CHECK-NEXT: #++#++..
// CHECK-NEXT: #.++#++.
// CHECK-NEXT: #..++#++
// CHECK-NEXT: #...++#+
// CHECK-NEXT: #....++#
// CHECK-NEXT: visited 44 of 64 tiles (22 full, 22 partial)
func.func @union_joint(%q: tensor<1x1x32x8xf32>, %k: tensor<1x1x32x8xf32>) -> tensor<1x1x32x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.union<[#attn.global<tokens = 4>, #attn.local<window = 5>]>} : tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32>, tensor<1x1x32x8xf32> -> tensor<1x1x32x8xf32>
  return %o : tensor<1x1x32x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.per_head<{{\[}}#attn.causal, #attn.causal, #attn.local<window = 3, causal>, #attn.random_blocks<density = 0.5, seed = 2, block = 8>]> (Sq = 32, Skv = 32, tiles 4x4)
// CHECK-NEXT: heads 0 1: analytic band{{\[}}-inf, 0]
// CHECK-NEXT: +.......
// CHECK-NEXT: #+......
// CHECK-NEXT: ##+.....
// CHECK-NEXT: ###+....
// CHECK-NEXT: ####+...
// CHECK-NEXT: #####+..
// CHECK-NEXT: ######+.
// CHECK-NEXT: #######+
// CHECK-NEXT: heads 2: analytic band{{\[}}-3, 0]
// CHECK-NEXT: +.......
// CHECK-NEXT: ++......
// CHECK-NEXT: .++.....
// CHECK-NEXT: ..++....
// CHECK-NEXT: ...++...
// CHECK-NEXT: ....++..
// CHECK-NEXT: .....++.
// CHECK-NEXT: ......++
// CHECK-NEXT: heads 3: table
// CHECK-NEXT: ##..####
// CHECK-NEXT: ##..####
// CHECK-NEXT: ######..
// CHECK-NEXT: ######..
// CHECK-NEXT: ##..##..
// CHECK-NEXT: ##..##..
// CHECK-NEXT: ..##..##
// CHECK-NEXT: ..##..##
// CHECK-NEXT: visited 127 of 256 tiles (96 full, 31 partial)
func.func @per_head_gqa(%q: tensor<1x4x32x8xf32>, %k: tensor<1x2x32x8xf32>) -> tensor<1x4x32x8xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.per_head<[#attn.causal, #attn.causal, #attn.local<window = 3, causal>, #attn.random_blocks<density = 0.5, seed = 2, block = 8>]>} : tensor<1x4x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32> -> tensor<1x4x32x8xf32>
  return %o : tensor<1x4x32x8xf32>
}

// -----

// CHECK-LABEL: plan of #attn.union<{{\[}}#attn.selected<query_block = 4, key_block = 4, causal>, #attn.local<window = 3, causal>]> (Sq = 16, Skv = 16, tiles 4x4)
// CHECK-NEXT: heads 0: runtime band{{\[}}-3, 0]
// CHECK-NEXT: +...
// CHECK-NEXT: ++..
// CHECK-NEXT: .++.
// CHECK-NEXT: ..++
// CHECK-NEXT: visited 7 of 16 tiles (0 full, 7 partial)
func.func @selected(%q: tensor<1x1x16x8xf32>, %k: tensor<1x1x16x8xf32>, %b: tensor<1x1x4x2xi32>) -> tensor<1x1x16x8xf32> {
  %o = attn.attention %q, %k, %k blocks(%b : tensor<1x1x4x2xi32>) {pattern = #attn.union<[#attn.selected<query_block = 4, key_block = 4, causal>, #attn.local<window = 3, causal>]>} : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32> -> tensor<1x1x16x8xf32>
  return %o : tensor<1x1x16x8xf32>
}

// -----

// Key tile 1 of query tile 2 is full only jointly: the global prefix covers
// keys 4-5 and the chunk of rows 8-11 covers keys 6-7.
// CHECK-LABEL: plan of #attn.union<{{\[}}#attn.global<tokens = 6>, #attn.chunked<size = 6>]> (Sq = 16, Skv = 16, tiles 4x4)
// CHECK-NEXT: heads 0: analytic prefix(6) global_rows(6) chunk(6)
// CHECK-NEXT: ####
// CHECK-NEXT: ###+
// CHECK-NEXT: ###.
// CHECK-NEXT: #+.#
// CHECK-NEXT: visited 14 of 16 tiles (12 full, 2 partial)
func.func @union_jointly_full(%q: tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32> {
  %o = attn.attention %q, %q, %q {pattern = #attn.union<[#attn.global<tokens = 6>, #attn.chunked<size = 6>]>} : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32> -> tensor<1x1x16x8xf32>
  return %o : tensor<1x1x16x8xf32>
}
