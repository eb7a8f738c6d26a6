// attn-plan-blocks sets each op's block plan: tiles from the options or the
// target, the kind of plan, and the CSR table of static irregular patterns.
// RUN: attn-opt %s -attn-plan-blocks | FileCheck %s --check-prefix=SM90
// RUN: attn-opt %s -attn-plan-blocks="target=x86-64-v4" | FileCheck %s --check-prefix=CPU
// RUN: attn-opt %s -attn-plan-blocks="query-tile=64 key-tile=64" 2>/dev/null | FileCheck %s --check-prefix=TILES
// RUN: attn-opt %s -attn-plan-blocks | attn-opt | FileCheck %s --check-prefix=SM90

// SM90-LABEL: func @analytic
// SM90: plan = #attn.block_plan<query_tile = 128, key_tile = 64, kind = analytic>
// CPU-LABEL: func @analytic
// CPU: plan = #attn.block_plan<query_tile = 64, key_tile = 64, kind = analytic>
// TILES-LABEL: func @analytic
// TILES: plan = #attn.block_plan<query_tile = 64, key_tile = 64, kind = analytic>
func.func @analytic(%q: tensor<?x8x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  %o = attn.attention %q, %q, %q {pattern = #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 255, causal>]>}
      : tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16>, tensor<?x8x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// Static lengths: the table is in the plan. Two heads share one explicit
// layout; query tile 0 visits key tile 0 (partial: the layout's 32-blocks
// are finer than the 64-tiles), query tile 1 visits key tiles 0 and 1.
// TILES-LABEL: func @table
// TILES: plan = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table, heads = [0, 0], offsets = [0, 1, 2], runs = [0, 1, 1, 0, 2, 1]>
func.func @table(%q: tensor<1x2x128x64xf16>) -> tensor<1x2x128x64xf16> {
  %o = attn.attention %q, %q, %q {pattern = #attn.block_layout<block = 32, shape = [4, 4],
      layout = [1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1]>}
      : tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16> -> tensor<1x2x128x64xf16>
  return %o : tensor<1x2x128x64xf16>
}

// Dynamic lengths: the kind is known, the table is built later.
// SM90-LABEL: func @dynamic_table
// SM90: plan = #attn.block_plan<query_tile = 128, key_tile = 64, kind = table>
func.func @dynamic_table(%q: tensor<1x2x?x64xf16>) -> tensor<1x2x?x64xf16> {
  %o = attn.attention %q, %q, %q {pattern = #attn.random_blocks<density = 0.25, seed = 3>}
      : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
  return %o : tensor<1x2x?x64xf16>
}

// Runtime-selected blocks are the tiles.
// SM90-LABEL: func @runtime
// SM90: plan = #attn.block_plan<query_tile = 64, key_tile = 32, kind = runtime>
func.func @runtime(%q: tensor<1x4x256x64xf16>, %b: tensor<1x4x4x2xi32>) -> tensor<1x4x256x64xf16> {
  %o = attn.attention %q, %q, %q blocks(%b : tensor<1x4x4x2xi32>) {pattern = #attn.selected<query_block = 64, key_block = 32>}
      : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x256x64xf16>
  return %o : tensor<1x4x256x64xf16>
}
