// Bad-input catalogue (docs/robustness.md): NaN and Inf. In attributes they
// are refused by the verifiers; in a kernel's inputs they propagate as IEEE
// arithmetic does, to exactly the output rows they reach (the nan_* and inf_*
// cases of test/unit/CPUKernelTest.cpp check that against the reference).
// RUN: attn-opt %s -split-input-file -verify-diagnostics

func.func @scale_inf(%q: tensor<2x8x128x64xf16>) -> tensor<2x8x128x64xf16> {
  // expected-error @+1 {{expects a finite positive scale, found inf}}
  %o = attn.attention %q, %q, %q {scale = 0x7F800000 : f32} : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return %o : tensor<2x8x128x64xf16>
}

// -----

func.func @scale_nan(%q: tensor<2x8x128x64xf16>) -> tensor<2x8x128x64xf16> {
  // expected-error @+1 {{expects a finite positive scale, found nan}}
  %o = attn.attention %q, %q, %q {scale = 0x7FC00000 : f32} : tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16>, tensor<2x8x128x64xf16> -> tensor<2x8x128x64xf16>
  return %o : tensor<2x8x128x64xf16>
}

// -----

func.func @threshold_nan(%s: tensor<2x16xf32>) -> tensor<2x16xi1> {
  // expected-error @+1 {{expects a finite threshold, found nan}}
  %g = attn.head_gate %s {threshold = 0x7FC00000 : f32} : tensor<2x16xf32> -> tensor<2x16xi1>
  return %g : tensor<2x16xi1>
}

// -----

// expected-error @+1 {{budget must be a fraction of dense cost in (0, 1], found nan}}
func.func private @f() attributes {b = #attn.budget<0x7FF8000000000000>}

// -----

// expected-error @+1 {{#attn.layer 2 threshold must be finite, found inf}}
func.func private @f() attributes {l = #attn.layer<2, threshold = 0x7FF0000000000000>}

// -----

// expected-error @+1 {{#attn.random_blocks expects density in (0, 1], found nan}}
func.func private @f() attributes {p = #attn.random_blocks<density = 0x7FF8000000000000, seed = 1>}
