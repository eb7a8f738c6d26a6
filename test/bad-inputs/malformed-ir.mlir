// Bad-input catalogue (docs/robustness.md): malformed IR. The parser stops at
// the first error with its location; nothing after it runs.
// RUN: attn-opt %s -split-input-file -verify-diagnostics

func.func @misspelled_op(%q: tensor<1x2x64x64xf16>) -> tensor<1x2x64x64xf16> {
  // expected-error @+1 {{custom op 'attn.attentoin' is unknown}}
  %o = attn.attentoin %q, %q, %q : tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16> -> tensor<1x2x64x64xf16>
  return %o : tensor<1x2x64x64xf16>
}

// -----

func.func @unknown_pattern(%q: tensor<1x2x64x64xf16>) -> tensor<1x2x64x64xf16> {
  // expected-error @+1 {{unknown attribute `loca` in dialect `attn`}}
  %o = attn.attention %q, %q, %q {pattern = #attn.loca<window = 4>} : tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16> -> tensor<1x2x64x64xf16>
  return %o : tensor<1x2x64x64xf16>
}

// -----

func.func @missing_operand(%q: tensor<1x2x64x64xf16>) -> tensor<1x2x64x64xf16> {
  // expected-error @+1 {{expected ','}}
  %o = attn.attention %q, %q : tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16> -> tensor<1x2x64x64xf16>
  return %o : tensor<1x2x64x64xf16>
}

// -----

func.func @undefined_value(%q: tensor<1x2x64x64xf16>) -> tensor<1x2x64x64xf16> {
  // expected-error @+1 {{use of undeclared SSA value name}}
  %o = attn.attention %q, %k, %q : tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16> -> tensor<1x2x64x64xf16>
  return %o : tensor<1x2x64x64xf16>
}

// -----

func.func @operand_type(%q: tensor<1x2x64x64xf16>) -> tensor<1x2x64x64xf16> {
  // expected-note @-1 {{prior use here}}
  // expected-error @+1 {{use of value '%q' expects different type than prior uses: 'tensor<1x2x64x64xf32>' vs 'tensor<1x2x64x64xf16>'}}
  %o = attn.attention %q, %q, %q : tensor<1x2x64x64xf32>, tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16> -> tensor<1x2x64x64xf16>
  return %o : tensor<1x2x64x64xf16>
}

// -----

func.func @unterminated_attribute(%q: tensor<1x2x64x64xf16>) -> tensor<1x2x64x64xf16> {
  // expected-error @+1 {{unbalanced '<' character in pretty dialect name}}
  %o = attn.attention %q, %q, %q {pattern = #attn.local<window = 4} : tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16> -> tensor<1x2x64x64xf16>
  return %o : tensor<1x2x64x64xf16>
}

// -----

func.func @generic_form(%q: tensor<1x2x64x64xf16>) -> tensor<1x2x64x64xf16> {
  // expected-error @+1 {{'attn.attention' op expected 3 or more operands, but found 2}}
  %o = "attn.attention"(%q, %q) : (tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>) -> tensor<1x2x64x64xf16>
  return %o : tensor<1x2x64x64xf16>
}

// -----

// expected-error @+1 {{'attn.schedule' must be an #attn.schedule, found #attn.causal}}
module attributes {attn.schedule = #attn.causal} {
}
