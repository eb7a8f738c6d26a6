// Bad-input catalogue (docs/robustness.md): shape and dtype mismatches.
// Each case is refused by the op's verifier with a diagnostic naming what was
// expected and what was found.
// RUN: attn-opt %s -split-input-file -verify-diagnostics

func.func @rank(%q: tensor<8x128x64xf16>, %k: tensor<1x8x128x64xf16>) -> tensor<8x128x64xf16> {
  // expected-error @+1 {{'attn.attention' op expects query of rank 4 (B x Hq x Sq x D), found rank 3 ('tensor<8x128x64xf16>')}}
  %o = attn.attention %q, %k, %k : tensor<8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16> -> tensor<8x128x64xf16>
  return %o : tensor<8x128x64xf16>
}

// -----

func.func @head_multiple(%q: tensor<1x12x64x64xf16>, %k: tensor<1x5x64x64xf16>) -> tensor<1x12x64x64xf16> {
  // expected-error @+1 {{expects the query heads (Hq = 12) to be a multiple of the key/value heads (Hkv = 5)}}
  %o = attn.attention %q, %k, %k : tensor<1x12x64x64xf16>, tensor<1x5x64x64xf16>, tensor<1x5x64x64xf16> -> tensor<1x12x64x64xf16>
  return %o : tensor<1x12x64x64xf16>
}

// -----

func.func @head_dim(%q: tensor<1x4x64x64xf16>, %k: tensor<1x4x64x128xf16>) -> tensor<1x4x64x64xf16> {
  // expected-error @+1 {{expects query and key head dimensions to agree, found 64 and 128}}
  %o = attn.attention %q, %k, %k : tensor<1x4x64x64xf16>, tensor<1x4x64x128xf16>, tensor<1x4x64x128xf16> -> tensor<1x4x64x64xf16>
  return %o : tensor<1x4x64x64xf16>
}

// -----

func.func @batch(%q: tensor<2x4x64x64xf16>, %k: tensor<3x4x64x64xf16>) -> tensor<2x4x64x64xf16> {
  // expected-error @+1 {{expects batch sizes to agree, found 2 in query and 3 in key}}
  %o = attn.attention %q, %k, %k : tensor<2x4x64x64xf16>, tensor<3x4x64x64xf16>, tensor<3x4x64x64xf16> -> tensor<2x4x64x64xf16>
  return %o : tensor<2x4x64x64xf16>
}

// -----

func.func @key_value_length(%q: tensor<1x4x64x64xf16>, %k: tensor<1x4x128x64xf16>, %v: tensor<1x4x64x64xf16>) -> tensor<1x4x64x64xf16> {
  // expected-error @+1 {{expects key/value sequence lengths (Skv) to agree, found 128 in key and 64 in value}}
  %o = attn.attention %q, %k, %v : tensor<1x4x64x64xf16>, tensor<1x4x128x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
  return %o : tensor<1x4x64x64xf16>
}

// -----

func.func @unsupported_dtype(%q: tensor<1x4x64x64xf64>) -> tensor<1x4x64x64xf64> {
  // expected-error @+1 {{expects query, key and value of one element type among f16, bf16, f32; found 'f64', 'f64', 'f64'}}
  %o = attn.attention %q, %q, %q : tensor<1x4x64x64xf64>, tensor<1x4x64x64xf64>, tensor<1x4x64x64xf64> -> tensor<1x4x64x64xf64>
  return %o : tensor<1x4x64x64xf64>
}

// -----

func.func @mixed_dtypes(%q: tensor<1x4x64x64xf16>, %k: tensor<1x4x64x64xbf16>) -> tensor<1x4x64x64xf16> {
  // expected-error @+1 {{expects query, key and value of one element type among f16, bf16, f32; found 'f16', 'bf16', 'f16'}}
  %o = attn.attention %q, %k, %q : tensor<1x4x64x64xf16>, tensor<1x4x64x64xbf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
  return %o : tensor<1x4x64x64xf16>
}

// -----

func.func @result_dtype(%q: tensor<1x4x64x64xf16>) -> tensor<1x4x64x64xf32> {
  // expected-error @+1 {{expects the result element type to be 'f16', found 'f32'}}
  %o = attn.attention %q, %q, %q : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf32>
  return %o : tensor<1x4x64x64xf32>
}

// -----

func.func @result_shape(%q: tensor<2x8x128x64xf16>) -> tensor<2x8x256x64xf16> {
  // expected-error @+1 {{expects result of shape 2x8x128x64 (B x Hq x Sq x Dv), found 2x8x256x64}}
  %o = attn.attention %q, %q, %q : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x256x64xf16>
  return %o : tensor<2x8x256x64xf16>
}

// -----

func.func @gates_shape(%q: tensor<2x8x64x64xf16>, %g: tensor<2x4xi1>) -> tensor<2x8x64x64xf16> {
  // expected-error @+1 {{expects gates of shape 2x8 (B x Hq), found 2x4}}
  %o = attn.attention %q, %q, %q gates(%g : tensor<2x4xi1>) : tensor<2x8x64x64xf16>, tensor<2x8x64x64xf16>, tensor<2x8x64x64xf16> -> tensor<2x8x64x64xf16>
  return %o : tensor<2x8x64x64xf16>
}

// -----

func.func @gates_dtype(%s: tensor<2x16xf32>) -> tensor<2x16xi8> {
  // expected-error @+1 {{expects gates of i1, found 'i8'}}
  %g = attn.head_gate %s {budget = #attn.budget<0.5>} : tensor<2x16xf32> -> tensor<2x16xi8>
  return %g : tensor<2x16xi8>
}

// -----

func.func @block_indices(%q: tensor<1x8x256x64xf16>, %k: tensor<1x2x256x64xf16>, %b: tensor<1x8x4x2xi32>) -> tensor<1x8x256x64xf16> {
  // expected-error @+1 {{expects block indices of shape 1x2x4x2 (B x Hkv x ceil(Sq / query_block) x K), found 1x8x4x2}}
  %o = attn.attention %q, %k, %k blocks(%b : tensor<1x8x4x2xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64>} : tensor<1x8x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16> -> tensor<1x8x256x64xf16>
  return %o : tensor<1x8x256x64xf16>
}

// -----

func.func @compress_rank(%k: tensor<4x256x64xf16>, %v: tensor<1x4x256x64xf16>) {
  // expected-error @+1 {{'attn.compress_kv' op expects key of rank 4 (B x Hkv x S x D), found rank 3}}
  %ck, %cv = attn.compress_kv %k, %v {block = 32, method = #attn.compression<mean>} : tensor<4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x8x64xf16>, tensor<1x4x8x64xf16>
  return
}
