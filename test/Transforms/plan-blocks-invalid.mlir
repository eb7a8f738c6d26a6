// attn-plan-blocks warns when a pattern parameter spans the whole static
// sequence (the pattern is dense or causal in disguise), and refuses options
// the target cannot use.
// RUN: attn-opt %s -split-input-file -attn-plan-blocks -verify-diagnostics
// RUN: not attn-opt %S/Inputs/plan-one-op.mlir -attn-plan-blocks="target=sm_75" 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not attn-opt %S/Inputs/plan-one-op.mlir -attn-plan-blocks="query-tile=100" 2>&1 | FileCheck %s --check-prefix=GPU-TILE
// RUN: not attn-opt %S/Inputs/plan-one-op.mlir -attn-plan-blocks="target=x86-64-v4 key-tile=12" 2>&1 | FileCheck %s --check-prefix=CPU-TILE
// RUN: not attn-opt %S/Inputs/plan-one-op.mlir -attn-plan-blocks="key-tile=-16" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// RUN: attn-opt %S/Inputs/plan-selected-op.mlir -attn-plan-blocks="query-tile=128" 2>&1 | FileCheck %s --check-prefix=SELECTED

// TARGET: error: unknown target 'sm_75'; known targets: sm_80, sm_86, sm_89, sm_90, sm_90a, x86-64-v3, x86-64-v4, aarch64
// GPU-TILE: error: query tile of 100 is not a multiple of 16, which sm_90's tensor-core code needs
// CPU-TILE: error: key tile of 12 is not a multiple of 8, which x86-64-v4's vector code needs
// NEGATIVE: error: tile sizes must be positive (or 0 for the default), found 0 x -16
// SELECTED: warning: tiles of 128x32 do not apply to this op: the kernel's tiles are its selected blocks, #attn.selected<query_block = 64, key_block = 32>
// SELECTED: plan = #attn.block_plan<query_tile = 64, key_tile = 32, kind = runtime>

func.func @window_spans_sequence(%q: tensor<1x2x256x64xf16>) -> tensor<1x2x256x64xf16> {
  // expected-warning @+1 {{#attn.local<window = 255, causal> spans the whole sequence (Skv = 256): every key is in the window; #attn.causal says the same}}
  %o = attn.attention %q, %q, %q {pattern = #attn.local<window = 255, causal>} : tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16> -> tensor<1x2x256x64xf16>
  return %o : tensor<1x2x256x64xf16>
}

// -----

func.func @chunk_spans_sequence(%q: tensor<1x2x256x64xf16>) -> tensor<1x2x256x64xf16> {
  // expected-warning @+1 {{#attn.chunked<size = 512> spans the whole sequence (Skv = 256): one chunk; #attn.dense says the same}}
  %o = attn.attention %q, %q, %q {pattern = #attn.union<[#attn.local<window = 8>, #attn.chunked<size = 512>]>} : tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16> -> tensor<1x2x256x64xf16>
  return %o : tensor<1x2x256x64xf16>
}

// -----

func.func @global_spans_sequence(%q: tensor<1x2x256x64xf16>) -> tensor<1x2x256x64xf16> {
  // expected-warning @+1 {{#attn.global<tokens = 300> spans the whole sequence (Skv = 256): every key is global; #attn.dense says the same}}
  %o = attn.attention %q, %q, %q {pattern = #attn.per_head<[#attn.causal, #attn.global<tokens = 300>]>} : tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16> -> tensor<1x2x256x64xf16>
  return %o : tensor<1x2x256x64xf16>
}

// -----

// A window shorter than the sequence plans without a word.
func.func @window_fits(%q: tensor<1x2x256x64xf16>) -> tensor<1x2x256x64xf16> {
  %o = attn.attention %q, %q, %q {pattern = #attn.local<window = 254, causal>} : tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16> -> tensor<1x2x256x64xf16>
  return %o : tensor<1x2x256x64xf16>
}
