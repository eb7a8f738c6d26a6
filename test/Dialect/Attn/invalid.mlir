// Every verifier branch of the attn ops rejects its bad input with a
// diagnostic that names what was expected and what was found.
// RUN: attn-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// attn.attention: shapes, heads, dims
//===----------------------------------------------------------------------===//

func.func @query_rank(%q: tensor<8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{'attn.attention' op expects query of rank 4 (B x Hq x Sq x D), found rank 3 ('tensor<8x128x64xf16>')}}
  %o = attn.attention %q, %k, %v : tensor<8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @key_rank(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64x1xf16>, %v: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{expects key of rank 4 (B x Hkv x Skv x D), found rank 5}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf16>, tensor<2x8x128x64x1xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @value_rank(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<f16>) {
  // expected-error @+1 {{expects value of rank 4 (B x Hkv x Skv x Dv), found rank 0}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<f16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @dynamic_query_heads(%q: tensor<2x?x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{expects a static head count (Hq) in query, found '?'}}
  %o = attn.attention %q, %k, %v : tensor<2x?x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x?x128x64xf16>
  return
}

// -----

func.func @dynamic_kv_heads(%q: tensor<2x8x128x64xf16>, %k: tensor<2x?x128x64xf16>, %v: tensor<2x?x128x64xf16>) {
  // expected-error @+1 {{expects a static head count (Hkv) in key, found '?'}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf16>, tensor<2x?x128x64xf16>, tensor<2x?x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @dynamic_query_head_dim(%q: tensor<2x8x128x?xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{expects a static head dimension in query, found '?'}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x?xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @dynamic_key_head_dim(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x?xf16>, %v: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{expects a static head dimension in key, found '?'}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf16>, tensor<2x8x128x?xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @dynamic_value_head_dim(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x8x128x?xf16>) {
  // expected-error @+1 {{expects a static head dimension in value, found '?'}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x?xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @zero_heads(%q: tensor<2x0x128x64xf16>, %k: tensor<2x0x128x64xf16>, %v: tensor<2x0x128x64xf16>) {
  // expected-error @+1 {{expects at least one head, found Hq = 0 and Hkv = 0}}
  %o = attn.attention %q, %k, %v : tensor<2x0x128x64xf16>, tensor<2x0x128x64xf16>, tensor<2x0x128x64xf16> -> tensor<2x0x128x64xf16>
  return
}

// -----

func.func @heads_not_multiple(%q: tensor<2x12x128x64xf16>, %k: tensor<2x5x128x64xf16>, %v: tensor<2x5x128x64xf16>) {
  // expected-error @+1 {{expects the query heads (Hq = 12) to be a multiple of the key/value heads (Hkv = 5)}}
  %o = attn.attention %q, %k, %v : tensor<2x12x128x64xf16>, tensor<2x5x128x64xf16>, tensor<2x5x128x64xf16> -> tensor<2x12x128x64xf16>
  return
}

// -----

func.func @head_dims_differ(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x128xf16>, %v: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{expects query and key head dimensions to agree, found 64 and 128}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf16>, tensor<2x8x128x128xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @batch_query_key(%q: tensor<2x8x128x64xf16>, %k: tensor<3x8x128x64xf16>, %v: tensor<3x8x128x64xf16>) {
  // expected-error @+1 {{expects batch sizes to agree, found 2 in query and 3 in key}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf16>, tensor<3x8x128x64xf16>, tensor<3x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @batch_key_value(%q: tensor<?x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<3x8x128x64xf16>) {
  // expected-error @+1 {{expects batch sizes to agree, found 2 in key and 3 in value}}
  %o = attn.attention %q, %k, %v : tensor<?x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<3x8x128x64xf16> -> tensor<?x8x128x64xf16>
  return
}

// -----

func.func @element_type(%q: tensor<2x8x128x64xf64>, %k: tensor<2x8x128x64xf64>, %v: tensor<2x8x128x64xf64>) {
  // expected-error @+1 {{expects query, key and value of one element type among f16, bf16, f32; found 'f64', 'f64', 'f64'}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf64>, tensor<2x8x128x64xf64>, tensor<2x8x128x64xf64> -> tensor<2x8x128x64xf64>
  return
}

// -----

func.func @mixed_element_types(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xbf16>, %v: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{expects query, key and value of one element type among f16, bf16, f32; found 'f16', 'bf16', 'f16'}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf16>, tensor<2x8x128x64xbf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @result_element_type(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{expects the result element type to be 'f16', found 'f32'}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf32>
  return
}

// -----

func.func @kv_heads_differ(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x4x128x64xf16>) {
  // expected-error @+1 {{expects key and value head counts to agree, found 8 and 4}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x4x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @kv_lengths_differ(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x8x64x64xf16>) {
  // expected-error @+1 {{expects key/value sequence lengths (Skv) to agree, found 128 in key and 64 in value}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x64x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @result_shape(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x256x64xf16>, %v: tensor<2x8x256x32xf16>) {
  // expected-error @+1 {{expects result of shape 2x8x128x32 (B x Hq x Sq x Dv), found 2x8x256x64}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf16>, tensor<2x8x256x64xf16>, tensor<2x8x256x32xf16> -> tensor<2x8x256x64xf16>
  return
}

// -----

func.func @result_rank(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{expects result of shape 2x8x128x64 (B x Hq x Sq x Dv), found 16x128x64}}
  %o = attn.attention %q, %k, %v : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<16x128x64xf16>
  return
}

// -----

func.func @negative_scale(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{expects a finite positive scale, found -1.25}}
  %o = attn.attention %q, %k, %v {scale = -1.25 : f32} : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @infinite_scale(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{expects a finite positive scale, found inf}}
  %o = attn.attention %q, %k, %v {scale = 0x7F800000 : f32} : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @scale_wrong_type(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{attribute 'scale' failed to satisfy constraint: 32-bit float attribute}}
  %o = attn.attention %q, %k, %v {scale = 1 : i32} : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @pattern_wrong_kind(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{attribute 'pattern' failed to satisfy constraint: PatternAttrInterface instance}}
  %o = attn.attention %q, %k, %v {pattern = #attn.budget<0.5>} : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

//===----------------------------------------------------------------------===//
// attn.attention: gates
//===----------------------------------------------------------------------===//

// -----

func.func @gates_element_type(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x8x128x64xf16>, %g: tensor<2x8xf32>) {
  // expected-error @+1 {{expects gates of i1, found 'f32'}}
  %o = attn.attention %q, %k, %v gates(%g : tensor<2x8xf32>) : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

// -----

func.func @gates_shape(%q: tensor<2x8x128x64xf16>, %k: tensor<2x8x128x64xf16>, %v: tensor<2x8x128x64xf16>, %g: tensor<2x4xi1>) {
  // expected-error @+1 {{expects gates of shape 2x8 (B x Hq), found 2x4}}
  %o = attn.attention %q, %k, %v gates(%g : tensor<2x4xi1>) : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return
}

//===----------------------------------------------------------------------===//
// attn.attention: patterns against the op's shape
//===----------------------------------------------------------------------===//

// -----

func.func @per_head_length(%q: tensor<2x4x128x64xf16>, %k: tensor<2x4x128x64xf16>, %v: tensor<2x4x128x64xf16>) {
  // expected-error @+1 {{#attn.per_head lists 3 patterns but the op has Hq = 4 query heads}}
  %o = attn.attention %q, %k, %v {pattern = #attn.per_head<[#attn.causal, #attn.dense, #attn.causal]>} : tensor<2x4x128x64xf16>, tensor<2x4x128x64xf16>, tensor<2x4x128x64xf16> -> tensor<2x4x128x64xf16>
  return
}

// -----

func.func @per_head_member_layout(%q: tensor<1x2x64x64xf16>, %k: tensor<1x2x64x64xf16>, %v: tensor<1x2x64x64xf16>) {
  // expected-error @+1 {{#attn.block_layout of 1x1 blocks of 32 covers fewer positions than Skv = 64 (needs 2x2)}}
  %o = attn.attention %q, %k, %v {pattern = #attn.per_head<[#attn.causal, #attn.union<[#attn.causal, #attn.block_layout<block = 32, shape = [1, 1], layout = [1]>]>]>} : tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16> -> tensor<1x2x64x64xf16>
  return
}

// -----

func.func @layout_heads(%q: tensor<1x4x64x64xf16>, %k: tensor<1x4x64x64xf16>, %v: tensor<1x4x64x64xf16>) {
  // expected-error @+1 {{#attn.block_layout has 2 per-head matrices but the op has Hq = 4 query heads}}
  %o = attn.attention %q, %k, %v {pattern = #attn.block_layout<block = 64, shape = [2, 1, 1], layout = [1, 1]>} : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
  return
}

//===----------------------------------------------------------------------===//
// attn.attention: runtime-selected blocks
//===----------------------------------------------------------------------===//

// -----

func.func @blocks_without_selected(%q: tensor<1x4x64x64xf16>, %k: tensor<1x4x64x64xf16>, %v: tensor<1x4x64x64xf16>, %b: tensor<1x4x1x1xi32>) {
  // expected-error @+1 {{has a blocks operand but its pattern has no #attn.selected to consume it}}
  %o = attn.attention %q, %k, %v blocks(%b : tensor<1x4x1x1xi32>) {pattern = #attn.causal} : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
  return
}

// -----

func.func @selected_without_blocks(%q: tensor<1x4x64x64xf16>, %k: tensor<1x4x64x64xf16>, %v: tensor<1x4x64x64xf16>) {
  // expected-error @+1 {{uses #attn.selected<query_block = 64, key_block = 64> but has no blocks operand (the key block indices, e.g. from attn.select_blocks)}}
  %o = attn.attention %q, %k, %v {pattern = #attn.union<[#attn.local<window = 8>, #attn.selected<query_block = 64, key_block = 64>]>} : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
  return
}

// -----

func.func @selected_mixed_sizes(%q: tensor<1x2x64x64xf16>, %k: tensor<1x2x64x64xf16>, %v: tensor<1x2x64x64xf16>, %b: tensor<1x2x1x1xi32>) {
  // expected-error @+1 {{mixes #attn.selected block sizes #attn.selected<query_block = 64, key_block = 64> and #attn.selected<query_block = 64, key_block = 32>; one blocks operand has one block size}}
  %o = attn.attention %q, %k, %v blocks(%b : tensor<1x2x1x1xi32>) {pattern = #attn.per_head<[#attn.selected<query_block = 64, key_block = 64>, #attn.selected<query_block = 64, key_block = 32>]>} : tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16> -> tensor<1x2x64x64xf16>
  return
}

// -----

func.func @blocks_element_type(%q: tensor<1x4x64x64xf16>, %k: tensor<1x4x64x64xf16>, %v: tensor<1x4x64x64xf16>, %b: tensor<1x4x1x1xi64>) {
  // expected-error @+1 {{expects block indices of i32, found 'i64'}}
  %o = attn.attention %q, %k, %v blocks(%b : tensor<1x4x1x1xi64>) {pattern = #attn.selected<query_block = 64, key_block = 64>} : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
  return
}

// -----

func.func @blocks_shape(%q: tensor<1x8x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>, %b: tensor<1x8x4x2xi32>) {
  // expected-error @+1 {{expects block indices of shape 1x2x4x2 (B x Hkv x ceil(Sq / query_block) x K), found 1x8x4x2}}
  %o = attn.attention %q, %k, %v blocks(%b : tensor<1x8x4x2xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64>} : tensor<1x8x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16> -> tensor<1x8x256x64xf16>
  return
}

// -----

func.func @blocks_rank(%q: tensor<1x8x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>, %b: tensor<8xi32>) {
  // expected-error @+1 {{expects block indices of shape 1x2x4x? (B x Hkv x ceil(Sq / query_block) x K), found 8}}
  %o = attn.attention %q, %k, %v blocks(%b : tensor<8xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64>} : tensor<1x8x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16> -> tensor<1x8x256x64xf16>
  return
}

//===----------------------------------------------------------------------===//
// attn.head_gate
//===----------------------------------------------------------------------===//

// -----

func.func @gate_scores_rank(%s: tensor<16xf32>) {
  // expected-error @+1 {{'attn.head_gate' op expects scores of rank 2 (B x H), found rank 1 ('tensor<16xf32>')}}
  %g = attn.head_gate %s {budget = #attn.budget<0.5>} : tensor<16xf32> -> tensor<16xi1>
  return
}

// -----

func.func @gate_scores_type(%s: tensor<2x16xi32>) {
  // expected-error @+1 {{expects floating-point router scores, found 'i32'}}
  %g = attn.head_gate %s {budget = #attn.budget<0.5>} : tensor<2x16xi32> -> tensor<2x16xi1>
  return
}

// -----

func.func @gate_result_type(%s: tensor<2x16xf32>) {
  // expected-error @+1 {{expects gates of i1, found 'i8'}}
  %g = attn.head_gate %s {budget = #attn.budget<0.5>} : tensor<2x16xf32> -> tensor<2x16xi8>
  return
}

// -----

func.func @gate_result_shape(%s: tensor<2x16xf32>) {
  // expected-error @+1 {{expects gates of shape 2x16 (B x H), found 2x8}}
  %g = attn.head_gate %s {budget = #attn.budget<0.5>} : tensor<2x16xf32> -> tensor<2x8xi1>
  return
}

// -----

func.func @gate_no_rule(%s: tensor<2x16xf32>) {
  // expected-error @+1 {{expects exactly one gating rule (a budget attribute, a budget operand or a threshold), found 0}}
  %g = attn.head_gate %s : tensor<2x16xf32> -> tensor<2x16xi1>
  return
}

// -----

func.func @gate_two_rules(%s: tensor<2x16xf32>, %b: f32) {
  // expected-error @+1 {{expects exactly one gating rule (a budget attribute, a budget operand or a threshold), found 2}}
  %g = attn.head_gate %s budget(%b : f32) {threshold = 0.5 : f32} : tensor<2x16xf32> -> tensor<2x16xi1>
  return
}

// -----

func.func @gate_threshold_nan(%s: tensor<2x16xf32>) {
  // expected-error @+1 {{expects a finite threshold, found nan}}
  %g = attn.head_gate %s {threshold = 0x7FC00000 : f32} : tensor<2x16xf32> -> tensor<2x16xi1>
  return
}

// -----

func.func @gate_min_active_negative(%s: tensor<2x16xf32>) {
  // expected-error @+1 {{expects min_active >= 0, found -1}}
  %g = attn.head_gate %s {threshold = 0.5 : f32, min_active = -1} : tensor<2x16xf32> -> tensor<2x16xi1>
  return
}

// -----

func.func @gate_min_active_too_large(%s: tensor<2x16xf32>) {
  // expected-error @+1 {{expects min_active <= the number of heads (16), found 20}}
  %g = attn.head_gate %s {budget = #attn.budget<0.5>, min_active = 20} : tensor<2x16xf32> -> tensor<2x16xi1>
  return
}

// -----

func.func @gate_budget_operand_type(%s: tensor<2x16xf32>, %b: i32) {
  // expected-error @+1 {{'attn.head_gate' op operand #1 must be floating-point, but got 'i32'}}
  %g = attn.head_gate %s budget(%b : i32) : tensor<2x16xf32> -> tensor<2x16xi1>
  return
}

//===----------------------------------------------------------------------===//
// attn.select_blocks
//===----------------------------------------------------------------------===//

// -----

func.func @select_heads(%q: tensor<1x6x256x64xf16>, %k: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{'attn.select_blocks' op expects the query heads (Hq = 6) to be a multiple of the key/value heads (Hkv = 4)}}
  %i = attn.select_blocks %q, %k {query_block = 64, key_block = 64, top_k = 2} : tensor<1x6x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x4x2xi32>
  return
}

// -----

func.func @select_element_type(%q: tensor<1x4x256x64xf16>, %k: tensor<1x4x256x64xf32>) {
  // expected-error @+1 {{expects query and key of one element type among f16, bf16, f32; found 'f16' and 'f32'}}
  %i = attn.select_blocks %q, %k {query_block = 64, key_block = 64, top_k = 2} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf32> -> tensor<1x4x4x2xi32>
  return
}

// -----

func.func @select_block_size(%q: tensor<1x4x256x64xf16>, %k: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{expects query_block and key_block >= 1, found 64 and 0}}
  %i = attn.select_blocks %q, %k {query_block = 64, key_block = 0, top_k = 2} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x4x2xi32>
  return
}

// -----

func.func @select_top_k_zero(%q: tensor<1x4x256x64xf16>, %k: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{expects top_k >= 1, found 0}}
  %i = attn.select_blocks %q, %k {query_block = 64, key_block = 64, top_k = 0} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x4x0xi32>
  return
}

// -----

func.func @select_keep_negative(%q: tensor<1x4x256x64xf16>, %k: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{expects keep_sink and keep_local >= 0, found -1 and 0}}
  %i = attn.select_blocks %q, %k {query_block = 64, key_block = 64, top_k = 2, keep_sink = -1} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x4x2xi32>
  return
}

// -----

func.func @select_keep_exceeds_top_k(%q: tensor<1x4x256x64xf16>, %k: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{keeps 1 sink and 2 local blocks, more than top_k = 2}}
  %i = attn.select_blocks %q, %k {query_block = 64, key_block = 64, top_k = 2, keep_sink = 1, keep_local = 2} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x4x2xi32>
  return
}

// -----

func.func @select_top_k_too_large(%q: tensor<1x4x256x64xf16>, %k: tensor<1x4x4096x64xf16>) {
  // expected-error @+1 {{expects top_k <= the number of key blocks (64 blocks of 64 in Skv = 4096), found 80}}
  %i = attn.select_blocks %q, %k {query_block = 64, key_block = 64, top_k = 80} : tensor<1x4x256x64xf16>, tensor<1x4x4096x64xf16> -> tensor<1x4x4x80xi32>
  return
}

// -----

func.func @select_pooled_type(%q: tensor<1x4x256x64xf16>, %k: tensor<1x4x256x64xf16>, %p: tensor<1x4x4x64xf32>) {
  // expected-error @+1 {{expects pooled keys of element type 'f16', found 'f32'}}
  %i = attn.select_blocks %q, %k pooled_keys(%p : tensor<1x4x4x64xf32>) {query_block = 64, key_block = 64, top_k = 2} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x4x2xi32>
  return
}

// -----

func.func @select_pooled_shape(%q: tensor<1x4x256x64xf16>, %k: tensor<1x4x256x64xf16>, %p: tensor<1x4x8x64xf16>) {
  // expected-error @+1 {{expects pooled keys of shape 1x4x4x64 (B x Hkv x ceil(Skv / key_block) x D), found 1x4x8x64}}
  %i = attn.select_blocks %q, %k pooled_keys(%p : tensor<1x4x8x64xf16>) {query_block = 64, key_block = 64, top_k = 2} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x4x2xi32>
  return
}

// -----

func.func @select_result_type(%q: tensor<1x4x256x64xf16>, %k: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{expects i32 block indices, found 'index'}}
  %i = attn.select_blocks %q, %k {query_block = 64, key_block = 64, top_k = 2} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x4x2xindex>
  return
}

// -----

func.func @select_result_shape(%q: tensor<1x8x200x64xf16>, %k: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{expects result of shape 1x4x4x2 (B x Hkv x ceil(Sq / query_block) x top_k), found 1x8x4x2}}
  %i = attn.select_blocks %q, %k {query_block = 64, key_block = 64, top_k = 2} : tensor<1x8x200x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x8x4x2xi32>
  return
}

//===----------------------------------------------------------------------===//
// attn.compress_kv
//===----------------------------------------------------------------------===//

// -----

func.func @compress_rank(%k: tensor<4x256x64xf16>, %v: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{'attn.compress_kv' op expects key of rank 4 (B x Hkv x S x D), found rank 3}}
  %ck, %cv = attn.compress_kv %k, %v {block = 32, method = #attn.compression<mean>} : tensor<4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x8x64xf16>, tensor<1x4x8x64xf16>
  return
}

// -----

func.func @compress_value_rank(%k: tensor<1x4x256x64xf16>, %v: tensor<1x4x256xf16>) {
  // expected-error @+1 {{expects value of rank 4 (B x Hkv x S x Dv), found rank 3}}
  %ck, %cv = attn.compress_kv %k, %v {block = 32, method = #attn.compression<mean>} : tensor<1x4x256x64xf16>, tensor<1x4x256xf16> -> tensor<1x4x8x64xf16>, tensor<1x4x8x64xf16>
  return
}

// -----

func.func @compress_element_type(%k: tensor<1x4x256x64xi8>, %v: tensor<1x4x256x64xi8>) {
  // expected-error @+1 {{expects key and value of one element type among f16, bf16, f32; found 'i8' and 'i8'}}
  %ck, %cv = attn.compress_kv %k, %v {block = 32, method = #attn.compression<mean>} : tensor<1x4x256x64xi8>, tensor<1x4x256x64xi8> -> tensor<1x4x8x64xi8>, tensor<1x4x8x64xi8>
  return
}

// -----

func.func @compress_dynamic_heads(%k: tensor<1x?x256x64xf16>, %v: tensor<1x?x256x64xf16>) {
  // expected-error @+1 {{expects a static head count (Hkv) in key, found '?'}}
  %ck, %cv = attn.compress_kv %k, %v {block = 32, method = #attn.compression<mean>} : tensor<1x?x256x64xf16>, tensor<1x?x256x64xf16> -> tensor<1x?x8x64xf16>, tensor<1x?x8x64xf16>
  return
}

// -----

func.func @compress_lengths(%k: tensor<1x4x256x64xf16>, %v: tensor<1x4x128x64xf16>) {
  // expected-error @+1 {{expects sequence lengths to agree, found 256 in key and 128 in value}}
  %ck, %cv = attn.compress_kv %k, %v {block = 32, method = #attn.compression<mean>} : tensor<1x4x256x64xf16>, tensor<1x4x128x64xf16> -> tensor<1x4x8x64xf16>, tensor<1x4x8x64xf16>
  return
}

// -----

func.func @compress_block(%k: tensor<1x4x256x64xf16>, %v: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{expects block >= 1, found 0}}
  %ck, %cv = attn.compress_kv %k, %v {block = 0, method = #attn.compression<mean>} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x8x64xf16>, tensor<1x4x8x64xf16>
  return
}

// -----

func.func @compress_stride(%k: tensor<1x4x256x64xf16>, %v: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{expects 1 <= stride <= block (32) so that no token is skipped, found 64}}
  %ck, %cv = attn.compress_kv %k, %v {block = 32, stride = 64, method = #attn.compression<mean>} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x4x64xf16>, tensor<1x4x4x64xf16>
  return
}

// -----

func.func @compress_mean_with_weights(%k: tensor<1x4x256x64xf16>, %v: tensor<1x4x256x64xf16>, %w: tensor<4x32xf32>) {
  // expected-error @+1 {{has weights but method is 'mean'; weights belong to method 'linear'}}
  %ck, %cv = attn.compress_kv %k, %v weights(%w : tensor<4x32xf32>) {block = 32, method = #attn.compression<mean>} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x8x64xf16>, tensor<1x4x8x64xf16>
  return
}

// -----

func.func @compress_weights_type(%k: tensor<1x4x256x64xf16>, %v: tensor<1x4x256x64xf16>, %w: tensor<4x32xi32>) {
  // expected-error @+1 {{expects floating-point weights, found 'i32'}}
  %ck, %cv = attn.compress_kv %k, %v weights(%w : tensor<4x32xi32>) {block = 32, method = #attn.compression<linear>} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x8x64xf16>, tensor<1x4x8x64xf16>
  return
}

// -----

func.func @compress_weights_shape(%k: tensor<1x4x256x64xf16>, %v: tensor<1x4x256x64xf16>, %w: tensor<32xf32>) {
  // expected-error @+1 {{expects weights of shape 4x32 (Hkv x block), found 32}}
  %ck, %cv = attn.compress_kv %k, %v weights(%w : tensor<32xf32>) {block = 32, method = #attn.compression<linear>} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x8x64xf16>, tensor<1x4x8x64xf16>
  return
}

// -----

func.func @compress_linear_without_weights(%k: tensor<1x4x256x64xf16>, %v: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{uses method 'linear' but has no weights operand (Hkv x block)}}
  %ck, %cv = attn.compress_kv %k, %v {block = 32, method = #attn.compression<linear>} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x8x64xf16>, tensor<1x4x8x64xf16>
  return
}

// -----

func.func @compress_short_sequence(%k: tensor<1x4x16x64xf16>, %v: tensor<1x4x16x64xf16>) {
  // expected-error @+1 {{expects at least one block of 32 tokens, found a sequence of 16}}
  %ck, %cv = attn.compress_kv %k, %v {block = 32, method = #attn.compression<mean>} : tensor<1x4x16x64xf16>, tensor<1x4x16x64xf16> -> tensor<1x4x1x64xf16>, tensor<1x4x1x64xf16>
  return
}

// -----

func.func @compress_result_type(%k: tensor<1x4x256x64xf16>, %v: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{expects compressed results of element type 'f16', found 'f32' and 'f16'}}
  %ck, %cv = attn.compress_kv %k, %v {block = 32, method = #attn.compression<mean>} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x8x64xf32>, tensor<1x4x8x64xf16>
  return
}

// -----

func.func @compress_key_shape(%k: tensor<1x4x256x64xf16>, %v: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{expects compressed key of shape 1x4x15x64 (B x Hkv x (S - block) / stride + 1 x D), found 1x4x8x64}}
  %ck, %cv = attn.compress_kv %k, %v {block = 32, stride = 16, method = #attn.compression<mean>} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x8x64xf16>, tensor<1x4x8x64xf16>
  return
}

// -----

func.func @compress_value_shape(%k: tensor<1x4x256x64xf16>, %v: tensor<1x4x256x32xf16>) {
  // expected-error @+1 {{expects compressed value of shape 1x4x8x32 (B x Hkv x (S - block) / stride + 1 x Dv), found 1x4x8x64}}
  %ck, %cv = attn.compress_kv %k, %v {block = 32, method = #attn.compression<mean>} : tensor<1x4x256x64xf16>, tensor<1x4x256x32xf16> -> tensor<1x4x8x64xf16>, tensor<1x4x8x64xf16>
  return
}

//===----------------------------------------------------------------------===//
// Dialect attributes on operations
//===----------------------------------------------------------------------===//

// -----

// expected-error @+1 {{'attn.schedule' belongs on a builtin.module, found on 'func.func'}}
func.func @schedule_on_func() attributes {attn.schedule = #attn.schedule<[#attn.layer<0, budget = 0.5>]>} {
  return
}

// -----

// expected-error @+1 {{'attn.schedule' must be an #attn.schedule, found #attn.budget<0.5>}}
module attributes {attn.schedule = #attn.budget<0.5>} {}

// -----

// expected-error @+1 {{unknown attn attribute 'attn.budget' (attn defines: attn.schedule, attn.cpu_kernel, attn.gpu_kernel)}}
module attributes {attn.budget = #attn.budget<0.5>} {}

// -----

// The generic form is checked too.
func.func @generic_too_few_operands(%q: tensor<2x8x128x64xf16>) {
  // expected-error @+1 {{'attn.attention' op expected 3 or more operands, but found 1}}
  %o = "attn.attention"(%q) <{operandSegmentSizes = array<i32: 0, 0, 0, 0, 0, 0>}> : (tensor<2x8x128x64xf16>) -> tensor<2x8x128x64xf16>
  return
}

//===----------------------------------------------------------------------===//
// attn.attention: block plans
//===----------------------------------------------------------------------===//

// -----

func.func @plan_kind(%q: tensor<1x2x128x64xf16>) {
  // expected-error @+1 {{has a block plan of kind table but its pattern needs kind analytic}}
  %o = attn.attention %q, %q, %q {pattern = #attn.causal, plan = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table>} : tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16> -> tensor<1x2x128x64xf16>
  return
}

// -----

func.func @plan_runtime_tiles(%q: tensor<1x2x128x64xf16>, %b: tensor<1x2x2x1xi32>) {
  // expected-error @+1 {{plans tiles of 64x64 but its selected blocks are 64x32}}
  %o = attn.attention %q, %q, %q blocks(%b : tensor<1x2x2x1xi32>) {pattern = #attn.selected<query_block = 64, key_block = 32>, plan = #attn.block_plan<query_tile = 64, key_tile = 64, kind = runtime>} : tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16> -> tensor<1x2x128x64xf16>
  return
}

// -----

func.func @plan_table_heads(%q: tensor<1x2x128x64xf16>) {
  // expected-error @+1 {{has a block plan table for 1 heads but Hq = 2}}
  %o = attn.attention %q, %q, %q {pattern = #attn.random_blocks<density = 0.5, seed = 1, block = 64>, plan = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table, heads = [0], offsets = [0, 1, 2], runs = [0, 1, 0, 1, 2, 0]>} : tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16> -> tensor<1x2x128x64xf16>
  return
}

// -----

func.func @plan_table_dynamic(%q: tensor<1x1x?x64xf16>) {
  // expected-error @+1 {{has a block plan table but dynamic sequence lengths; tables are built for static ones}}
  %o = attn.attention %q, %q, %q {pattern = #attn.random_blocks<density = 0.5, seed = 1, block = 64>, plan = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table, heads = [0], offsets = [0, 1, 2], runs = [0, 1, 0, 1, 2, 0]>} : tensor<1x1x?x64xf16>, tensor<1x1x?x64xf16>, tensor<1x1x?x64xf16> -> tensor<1x1x?x64xf16>
  return
}

// -----

func.func @plan_table_offsets(%q: tensor<1x1x192x64xf16>) {
  // expected-error @+1 {{has a block plan table with 3 offsets; 1 plans of 3 query tiles need 4}}
  %o = attn.attention %q, %q, %q {pattern = #attn.random_blocks<density = 0.5, seed = 1, block = 64>, plan = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table, heads = [0], offsets = [0, 1, 2], runs = [0, 1, 0, 1, 2, 0]>} : tensor<1x1x192x64xf16>, tensor<1x1x192x64xf16>, tensor<1x1x192x64xf16> -> tensor<1x1x192x64xf16>
  return
}

// -----

func.func @plan_table_runs(%q: tensor<1x1x128x64xf16>) {
  // expected-error @+1 {{has a block plan run ending at key tile 3 beyond the 2 key tiles of Skv = 128}}
  %o = attn.attention %q, %q, %q {pattern = #attn.random_blocks<density = 0.5, seed = 1, block = 64>, plan = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table, heads = [0], offsets = [0, 1, 2], runs = [0, 1, 0, 1, 3, 0]>} : tensor<1x1x128x64xf16>, tensor<1x1x128x64xf16>, tensor<1x1x128x64xf16> -> tensor<1x1x128x64xf16>
  return
}

// -----

func.func @gate_costs_length(%s: tensor<2x4xf32>) {
  // expected-error @+1 {{expects one head cost per head (4), found 3}}
  %g = attn.head_gate %s {budget = #attn.budget<0.5>, head_costs = array<i64: 1, 2, 3>} : tensor<2x4xf32> -> tensor<2x4xi1>
  return
}

// -----

func.func @gate_costs_positive(%s: tensor<2x4xf32>) {
  // expected-error @+1 {{expects positive head costs; head 2 costs 0}}
  %g = attn.head_gate %s {budget = #attn.budget<0.5>, head_costs = array<i64: 1, 2, 0, 4>} : tensor<2x4xf32> -> tensor<2x4xi1>
  return
}

// -----

func.func @gate_costs_without_budget(%s: tensor<2x4xf32>) {
  // expected-error @+1 {{has head_costs but no budget to weigh them against}}
  %g = attn.head_gate %s {threshold = 0.5 : f32, head_costs = array<i64: 1, 2, 3, 4>} : tensor<2x4xf32> -> tensor<2x4xi1>
  return
}

// -----

// Huge keep counts must not overflow their sum (found by fuzzing).
func.func @select_keep_overflow(%q: tensor<1x1x16x8xf32>) {
  // expected-error @+1 {{keeps 9223372036854775807 sink and 9223372036854775807 local blocks, more than top_k = 2}}
  %i = attn.select_blocks %q, %q {query_block = 4, key_block = 4, top_k = 2, keep_sink = 9223372036854775807, keep_local = 9223372036854775807} : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32> -> tensor<1x1x4x2xi32>
  return
}

// -----

// Segment sizes that add up but give query two operands (found by fuzzing).
func.func @generic_bad_segments(%q: tensor<1x1x16x8xf32>) {
  // expected-error @+1 {{expects exactly one query, key and value operand; operandSegmentSizes gives 2 to operand group 0}}
  %0 = "attn.attention"(%q, %q, %q) <{operandSegmentSizes = array<i32: 2, 1, 0, 0, 0, 0>}> : (tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) -> tensor<1x1x16x8xf32>
  return
}

// -----

func.func @layer_out_of_range(%q: tensor<1x1x16x8xf32>) {
  // expected-error @+1 {{expects a layer index in [0, 2^31), found -5}}
  %0 = attn.attention %q, %q, %q {layer = -5} : tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32> -> tensor<1x1x16x8xf32>
  return
}

// -----

func.func @gates_and_active(%q: tensor<1x2x16x8xf32>, %g: tensor<1x2xi1>, %p: tensor<?xi32>) {
  // expected-error @+1 {{has both gates and active pairs; give one}}
  %0 = attn.attention %q, %q, %q gates(%g : tensor<1x2xi1>) active(%p : tensor<?xi32>) : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
  return
}

// -----

func.func @active_type(%q: tensor<1x2x16x8xf32>, %p: tensor<?xi64>) {
  // expected-error @+1 {{expects active pairs as a 1-d tensor of i32 (b * Hq + h), found 'tensor<?xi64>'}}
  %0 = attn.attention %q, %q, %q active(%p : tensor<?xi64>) : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
  return
}

// -----

func.func @active_heads_result(%g: tensor<1x2xi1>) {
  // expected-error @+1 {{expects the pairs as tensor<?xi32> (their count is known at run time), found 'tensor<2xi32>'}}
  %p = attn.active_heads %g : tensor<1x2xi1> -> tensor<2xi32>
  return
}

// -----

func.func @active_heads_gates(%g: tensor<2xi1>) {
  // expected-error @+1 {{expects gates of shape B x H and type i1, found 'tensor<2xi1>'}}
  %p = attn.active_heads %g : tensor<2xi1> -> tensor<?xi32>
  return
}

//===----------------------------------------------------------------------===//
// attn.sparse_branches
//===----------------------------------------------------------------------===//

// -----

func.func @branches_slots(%q: tensor<1x4x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>, %ck: tensor<1x2x8x64xf16>, %cv: tensor<1x2x8x64xf16>, %idx: tensor<1x2x4x2xi32>, %w: tensor<1x4x256x3xf32>) {
  // expected-error @+1 {{'attn.sparse_branches' op expects compressed key of shape 1x2x15x64 (B x Hkv x (Skv - compress_block) / compress_stride + 1 x D), found 1x2x8x64}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w {compress_block = 32, compress_stride = 16, selected = #attn.selected<query_block = 64, key_block = 64>, window = #attn.local<window = 32>} : tensor<1x4x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x4x2xi32>, tensor<1x4x256x3xf32> -> tensor<1x4x256x64xf16>
  return
}

// -----

func.func @branches_short(%q: tensor<1x4x16x64xf16>, %k: tensor<1x2x16x64xf16>, %v: tensor<1x2x16x64xf16>, %ck: tensor<1x2x1x64xf16>, %cv: tensor<1x2x1x64xf16>, %idx: tensor<1x2x1x1xi32>, %w: tensor<1x4x16x3xf32>) {
  // expected-error @+1 {{expects at least one compressed block of 32 keys, found Skv = 16}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w {compress_block = 32, selected = #attn.selected<query_block = 64, key_block = 64>, window = #attn.local<window = 32>} : tensor<1x4x16x64xf16>, tensor<1x2x16x64xf16>, tensor<1x2x16x64xf16>, tensor<1x2x1x64xf16>, tensor<1x2x1x64xf16>, tensor<1x2x1x1xi32>, tensor<1x4x16x3xf32> -> tensor<1x4x16x64xf16>
  return
}

// -----

func.func @branches_stride(%q: tensor<1x4x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>, %ck: tensor<1x2x4x64xf16>, %cv: tensor<1x2x4x64xf16>, %idx: tensor<1x2x4x2xi32>, %w: tensor<1x4x256x3xf32>) {
  // expected-error @+1 {{expects 1 <= compress_stride <= compress_block (32), found 64}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w {compress_block = 32, compress_stride = 64, selected = #attn.selected<query_block = 64, key_block = 64>, window = #attn.local<window = 32>} : tensor<1x4x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x4x64xf16>, tensor<1x2x4x64xf16>, tensor<1x2x4x2xi32>, tensor<1x4x256x3xf32> -> tensor<1x4x256x64xf16>
  return
}

// -----

func.func @branches_causal(%q: tensor<1x4x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>, %ck: tensor<1x2x8x64xf16>, %cv: tensor<1x2x8x64xf16>, %idx: tensor<1x2x4x2xi32>, %w: tensor<1x4x256x3xf32>) {
  // expected-error @+1 {{has causal but its selected branch #attn.selected<query_block = 64, key_block = 64> is not causal; the branches of one op share causality}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w {compress_block = 32, causal, selected = #attn.selected<query_block = 64, key_block = 64>, window = #attn.local<window = 32, causal>} : tensor<1x4x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x4x2xi32>, tensor<1x4x256x3xf32> -> tensor<1x4x256x64xf16>
  return
}

// -----

func.func @branches_blocks_shape(%q: tensor<1x4x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>, %ck: tensor<1x2x8x64xf16>, %cv: tensor<1x2x8x64xf16>, %idx: tensor<1x4x4x2xi32>, %w: tensor<1x4x256x3xf32>) {
  // expected-error @+1 {{expects block indices of shape 1x2x4x2 (B x Hkv x ceil(Sq / query_block) x K), found 1x4x4x2}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w {compress_block = 32, selected = #attn.selected<query_block = 64, key_block = 64>, window = #attn.local<window = 32>} : tensor<1x4x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x4x4x2xi32>, tensor<1x4x256x3xf32> -> tensor<1x4x256x64xf16>
  return
}

// -----

func.func @branches_dynamic_slots(%q: tensor<1x4x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>, %ck: tensor<1x2x8x64xf16>, %cv: tensor<1x2x8x64xf16>, %idx: tensor<1x2x4x?xi32>, %w: tensor<1x4x256x3xf32>) {
  // expected-error @+1 {{expects a static slot count K >= 1 in the block indices, found '?'}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w {compress_block = 32, selected = #attn.selected<query_block = 64, key_block = 64>, window = #attn.local<window = 32>} : tensor<1x4x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x4x?xi32>, tensor<1x4x256x3xf32> -> tensor<1x4x256x64xf16>
  return
}

// -----

func.func @branches_window_selected(%q: tensor<1x4x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>, %ck: tensor<1x2x8x64xf16>, %cv: tensor<1x2x8x64xf16>, %idx: tensor<1x2x4x2xi32>, %w: tensor<1x4x256x3xf32>) {
  // expected-error @+1 {{expects a window pattern without run-time blocks, found #attn.selected<query_block = 64, key_block = 64> (the selected branch is the op's `selected`)}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w {compress_block = 32, selected = #attn.selected<query_block = 64, key_block = 64>, window = #attn.selected<query_block = 64, key_block = 64>} : tensor<1x4x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x4x2xi32>, tensor<1x4x256x3xf32> -> tensor<1x4x256x64xf16>
  return
}

// -----

func.func @branches_weights(%q: tensor<1x4x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>, %ck: tensor<1x2x8x64xf16>, %cv: tensor<1x2x8x64xf16>, %idx: tensor<1x2x4x2xi32>, %w: tensor<1x4x256x2xf32>) {
  // expected-error @+1 {{expects weights of shape 1x4x256x3 (B x Hq x Sq x 3: compressed, selected, window), found 1x4x256x2}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w {compress_block = 32, selected = #attn.selected<query_block = 64, key_block = 64>, window = #attn.local<window = 32>} : tensor<1x4x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x4x2xi32>, tensor<1x4x256x2xf32> -> tensor<1x4x256x64xf16>
  return
}

// -----

func.func @branches_weights_type(%q: tensor<1x4x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>, %ck: tensor<1x2x8x64xf16>, %cv: tensor<1x2x8x64xf16>, %idx: tensor<1x2x4x2xi32>, %w: tensor<1x4x256x3xi8>) {
  // expected-error @+1 {{expects branch weights of f16, bf16 or f32, found 'i8'}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w {compress_block = 32, selected = #attn.selected<query_block = 64, key_block = 64>, window = #attn.local<window = 32>} : tensor<1x4x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x4x2xi32>, tensor<1x4x256x3xi8> -> tensor<1x4x256x64xf16>
  return
}

// -----

func.func @branches_element_type(%q: tensor<1x4x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>, %ck: tensor<1x2x8x64xbf16>, %cv: tensor<1x2x8x64xf16>, %idx: tensor<1x2x4x2xi32>, %w: tensor<1x4x256x3xf32>) {
  // expected-error @+1 {{expects the compressed key element type to be 'f16' (the query's), found 'bf16'}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w {compress_block = 32, selected = #attn.selected<query_block = 64, key_block = 64>, window = #attn.local<window = 32>} : tensor<1x4x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x8x64xbf16>, tensor<1x2x8x64xf16>, tensor<1x2x4x2xi32>, tensor<1x4x256x3xf32> -> tensor<1x4x256x64xf16>
  return
}

// -----

func.func @branches_gqa(%q: tensor<1x3x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>, %ck: tensor<1x2x8x64xf16>, %cv: tensor<1x2x8x64xf16>, %idx: tensor<1x2x4x2xi32>, %w: tensor<1x3x256x3xf32>) {
  // expected-error @+1 {{expects the query heads (Hq = 3) to be a multiple of the key/value heads (Hkv = 2)}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w {compress_block = 32, selected = #attn.selected<query_block = 64, key_block = 64>, window = #attn.local<window = 32>} : tensor<1x3x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x8x64xf16>, tensor<1x2x4x2xi32>, tensor<1x3x256x3xf32> -> tensor<1x3x256x64xf16>
  return
}
