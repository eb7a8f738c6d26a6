// Bad-input catalogue (docs/robustness.md): out-of-range pattern parameters,
// and patterns that do not fit their op's shape. Parameters are checked where
// the attribute is parsed; the fit when the op is verified.
// RUN: attn-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{#attn.local expects window >= 1, found 0}}
func.func private @f() attributes {p = #attn.local<window = 0>}

// -----

// expected-error @+1 {{#attn.local expects window <= 2^40, found 9223372036854775807}}
func.func private @f() attributes {p = #attn.local<window = 9223372036854775807>}

// -----

// expected-error @+1 {{#attn.local expects dilation >= 1, found -2}}
func.func private @f() attributes {p = #attn.local<window = 4, dilation = -2>}

// -----

// expected-error @+1 {{unknown parameter 'size' of #attn.local; expected one of: window, dilation, causal}}
func.func private @f() attributes {p = #attn.local<size = 4>}

// -----

// expected-error @+1 {{#attn.strided expects stride >= 1, found 0}}
func.func private @f() attributes {p = #attn.strided<stride = 0>}

// -----

// Once accepted: planning a union with this member took minutes and
// gigabytes (the period overflowed 64 bits).
// expected-error @+1 {{#attn.strided expects stride x block <= 2^40 (its period in keys), found 1099511627776 x 1099511627776}}
func.func private @f() attributes {p = #attn.strided<stride = 1099511627776, block = 1099511627776>}

// -----

// expected-error @+1 {{#attn.global expects tokens >= 1, found 0}}
func.func private @f() attributes {p = #attn.global<tokens = 0>}

// -----

// expected-error @+1 {{#attn.chunked expects size >= 1, found -1}}
func.func private @f() attributes {p = #attn.chunked<size = -1>}

// -----

// expected-error @+1 {{#attn.random_blocks expects density in (0, 1], found 1.5}}
func.func private @f() attributes {p = #attn.random_blocks<density = 1.5, seed = 1>}

// -----

// expected-error @+1 {{#attn.block_layout of shape [2, 2] needs 4 layout entries, found 3}}
func.func private @f() attributes {p = #attn.block_layout<block = 64, shape = [2, 2], layout = [1, 0, 1]>}

// -----

// expected-error @+1 {{#attn.block_layout entries must be 0 or 1; entry 2 is not}}
func.func private @f() attributes {p = #attn.block_layout<block = 64, shape = [2, 2], layout = [1, 0, 2, 1]>}

// -----

// expected-error @+1 {{#attn.selected expects query_block and key_block >= 1, found 0 and 64}}
func.func private @f() attributes {p = #attn.selected<query_block = 0, key_block = 64>}

// -----

// expected-error @+1 {{#attn.union expects at least one pattern}}
func.func private @f() attributes {p = #attn.union<[]>}

// -----

// expected-error @+1 {{#attn.union entry 1 must be an attn pattern, found #attn.budget<0.5>}}
func.func private @f() attributes {p = #attn.union<[#attn.causal, #attn.budget<0.5>]>}

// -----

func.func @per_head_count(%q: tensor<1x4x64x64xf16>) -> tensor<1x4x64x64xf16> {
  // expected-error @+1 {{#attn.per_head lists 3 patterns but the op has Hq = 4 query heads}}
  %o = attn.attention %q, %q, %q {pattern = #attn.per_head<[#attn.causal, #attn.dense, #attn.causal]>} : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
  return %o : tensor<1x4x64x64xf16>
}

// -----

func.func @layout_too_small(%q: tensor<1x4x64x64xf16>) -> tensor<1x4x64x64xf16> {
  // expected-error @+1 {{#attn.block_layout of 1x1 blocks of 32 covers fewer positions than Skv = 64 (needs 2x2)}}
  %o = attn.attention %q, %q, %q {pattern = #attn.block_layout<block = 32, shape = [1, 1], layout = [1]>} : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
  return %o : tensor<1x4x64x64xf16>
}

// -----

func.func @not_a_pattern(%q: tensor<1x4x64x64xf16>) -> tensor<1x4x64x64xf16> {
  // expected-error @+1 {{attribute 'pattern' failed to satisfy constraint: PatternAttrInterface instance}}
  %o = attn.attention %q, %q, %q {pattern = 3 : i64} : tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16>, tensor<1x4x64x64xf16> -> tensor<1x4x64x64xf16>
  return %o : tensor<1x4x64x64xf16>
}
