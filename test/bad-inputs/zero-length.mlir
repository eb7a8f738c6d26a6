// Bad-input catalogue (docs/robustness.md): zero-length sequences and empty
// dimensions. Sq = 0 or Skv = 0 is a valid problem for the compiler: it
// verifies, plans and compiles, and the CPU kernels do no work for it (rows
// without keys are zeros: the no_queries/no_keys cases of
// test/unit/CPUKernelTest.cpp). The runtime refuses zero sizes at the call,
// naming the dimension (test/bad-inputs/artifacts.sh). Zero heads, and a zero
// head dimension (its default scale 1 / sqrt(D) would be inf), are refused.
// RUN: attn-opt %s -split-input-file -verify-diagnostics
// RUN: attn-compile %S/Inputs/zero-length-ok.mlir --target=x86-64-v3 --emit=mlir | FileCheck %s

// CHECK-LABEL: func.func @no_queries_attn0
// CHECK-LABEL: func.func @no_keys_attn0

func.func @no_heads(%q: tensor<1x0x64x64xf16>) -> tensor<1x0x64x64xf16> {
  // expected-error @+1 {{expects at least one head, found Hq = 0 and Hkv = 0}}
  %o = attn.attention %q, %q, %q : tensor<1x0x64x64xf16>, tensor<1x0x64x64xf16>, tensor<1x0x64x64xf16> -> tensor<1x0x64x64xf16>
  return %o : tensor<1x0x64x64xf16>
}

// -----

func.func @no_head_dim(%q: tensor<1x2x64x0xf16>) -> tensor<1x2x64x0xf16> {
  // expected-error @+1 {{expects a head dimension (D) >= 1, found 0}}
  %o = attn.attention %q, %q, %q : tensor<1x2x64x0xf16>, tensor<1x2x64x0xf16>, tensor<1x2x64x0xf16> -> tensor<1x2x64x0xf16>
  return %o : tensor<1x2x64x0xf16>
}
