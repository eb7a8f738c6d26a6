// RUN: attn-opt %s -split-input-file -verify-diagnostics -attn-convert-to-cpu=target=x86-64-v4
// RUN: not attn-opt %s -split-input-file -attn-convert-to-cpu=target=sm_90 2>&1 | FileCheck %s --check-prefix=TARGET

// TARGET: error: attn-convert-to-cpu: unknown CPU target 'sm_90'; known CPU targets: x86-64-v3, x86-64-v4, aarch64

func.func @other_ops(%q: tensor<1x2x64x64xf32>) -> tensor<1x2x64x64xf32> {
  // expected-error @+1 {{attn-convert-to-cpu compiles functions made of attn.attention ops on the function's arguments; 'arith.addf' in @other_ops is not supported yet}}
  %x = arith.addf %q, %q : tensor<1x2x64x64xf32>
  %o = attn.attention %x, %q, %q : tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32> -> tensor<1x2x64x64xf32>
  return %o : tensor<1x2x64x64xf32>
}

// -----

func.func @budget(%q: tensor<1x2x64x64xf32>) -> tensor<1x2x64x64xf32> {
  // expected-error @+1 {{the op still carries #attn.budget<0.5>; run attn-resolve-budgets first}}
  %o = attn.attention %q, %q, %q {budget = #attn.budget<0.5>} : tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32> -> tensor<1x2x64x64xf32>
  return %o : tensor<1x2x64x64xf32>
}

// -----

func.func @misaligned_random(%q: tensor<1x2x64x64xf32>) -> tensor<1x2x64x64xf32> {
  // expected-error @+1 {{#attn.random_blocks<density = 0.25, seed = 1, block = 96> has block 96, which must be a multiple of the query tile (64) and the key tile (64) so that every tile lies in one block}}
  %o = attn.attention %q, %q, %q {pattern = #attn.random_blocks<density = 0.25, seed = 1, block = 96>} : tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32> -> tensor<1x2x64x64xf32>
  return %o : tensor<1x2x64x64xf32>
}

// -----

func.func @selected(%q: tensor<1x2x128x64xf32>, %idx: tensor<1x2x2x1xi32>) -> tensor<1x2x128x64xf32> {
  // expected-error @+1 {{runtime-selected blocks are not lowered to CPU code yet}}
  %o = attn.attention %q, %q, %q blocks(%idx : tensor<1x2x2x1xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64>} : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x2x128x64xf32>
  return %o : tensor<1x2x128x64xf32>
}

// -----

func.func @result_used(%q: tensor<1x2x64x64xf32>) -> tensor<1x2x64x64xf32> {
  // expected-error @+1 {{the result feeds 'arith.addf': attn-convert-to-cpu needs attention results to be returned directly}}
  %o = attn.attention %q, %q, %q : tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32> -> tensor<1x2x64x64xf32>
  %x = arith.addf %o, %o : tensor<1x2x64x64xf32>
  return %x : tensor<1x2x64x64xf32>
}
