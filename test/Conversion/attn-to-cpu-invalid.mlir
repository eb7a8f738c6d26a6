// RUN: attn-opt %s -split-input-file -verify-diagnostics -attn-convert-to-cpu=target=x86-64-v4
// RUN: not attn-opt %s -split-input-file -attn-convert-to-cpu=target=sm_90 2>&1 | FileCheck %s --check-prefix=TARGET

// TARGET: error: attn-convert-to-cpu: unknown CPU target 'sm_90'; known CPU targets: x86-64-v3, x86-64-v4, aarch64

func.func @other_ops(%q: tensor<1x2x64x64xf32>) -> tensor<1x2x64x64xf32> {
  // expected-error @+1 {{attn-convert-to-cpu compiles functions made of attn.attention, attn.select_blocks, attn.compress_kv and attn.sparse_branches ops on the function's arguments; 'arith.addf' in @other_ops is not supported yet}}
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

func.func @selected_dynamic_slots(%q: tensor<1x2x128x64xf32>, %idx: tensor<1x2x2x?xi32>) -> tensor<1x2x128x64xf32> {
  // expected-error @+1 {{attn-convert-to-cpu needs a static number of block slots (dimension 3 of the blocks operand), found 'tensor<1x2x2x?xi32>'}}
  %o = attn.attention %q, %q, %q blocks(%idx : tensor<1x2x2x?xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64>} : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x2x128x64xf32>
  return %o : tensor<1x2x128x64xf32>
}

// -----

func.func @selected_in_union(%q: tensor<1x2x128x64xf32>, %idx: tensor<1x2x2x1xi32>) -> tensor<1x2x128x64xf32> {
  // expected-error @+1 {{#attn.selected<query_block = 64, key_block = 64> inside a combinator is not lowered yet: runtime-selected blocks must be the op's whole pattern}}
  %o = attn.attention %q, %q, %q blocks(%idx : tensor<1x2x2x1xi32>) {pattern = #attn.union<[#attn.selected<query_block = 64, key_block = 64>, #attn.local<window = 8>]>} : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x2x128x64xf32>
  return %o : tensor<1x2x128x64xf32>
}

// -----

// Selection and attention in one function: the indices would have to stay
// inside the function; the runtime calls the two as functions of their own.
func.func @select_then_attend(%q: tensor<1x2x128x64xf32>) -> tensor<1x2x128x64xf32> {
  // expected-error @+1 {{the result feeds 'attn.attention': attn-convert-to-cpu needs select_blocks results to be returned directly}}
  %idx = attn.select_blocks %q, %q {query_block = 64 : i64, key_block = 64 : i64, top_k = 1 : i64} : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x2x2x1xi32>
  %o = attn.attention %q, %q, %q blocks(%idx : tensor<1x2x2x1xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64>} : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x2x128x64xf32>
  return %o : tensor<1x2x128x64xf32>
}

// -----

func.func @compress_then_select(%q: tensor<1x2x128x64xf32>) -> tensor<1x2x2x1xi32> {
  // expected-error @+1 {{the result feeds 'attn.select_blocks': attn-convert-to-cpu needs compress_kv results to be returned directly}}
  %ck, %cv = attn.compress_kv %q, %q {block = 64 : i64, method = #attn.compression<mean>} : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x2x2x64xf32>, tensor<1x2x2x64xf32>
  %idx = attn.select_blocks %q, %q pooled_keys(%ck : tensor<1x2x2x64xf32>) {query_block = 64 : i64, key_block = 64 : i64, top_k = 1 : i64} : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x2x2x1xi32>
  return %idx : tensor<1x2x2x1xi32>
}

// -----

func.func @f64_weights(%k: tensor<1x2x128x64xf32>, %w: tensor<2x32xf64>) -> (tensor<1x2x4x64xf32>, tensor<1x2x4x64xf32>) {
  // expected-error @+1 {{attn-convert-to-cpu takes compress_kv weights of f32, f16 or bf16 (the runtime's types), found 'f64'}}
  %ck, %cv = attn.compress_kv %k, %k weights(%w : tensor<2x32xf64>) {block = 32 : i64, method = #attn.compression<linear>} : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x2x4x64xf32>, tensor<1x2x4x64xf32>
  return %ck, %cv : tensor<1x2x4x64xf32>, tensor<1x2x4x64xf32>
}

// -----

func.func @result_used(%q: tensor<1x2x64x64xf32>) -> tensor<1x2x64x64xf32> {
  // expected-error @+1 {{the result feeds 'arith.addf': attn-convert-to-cpu needs attention results to be returned directly}}
  %o = attn.attention %q, %q, %q : tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32> -> tensor<1x2x64x64xf32>
  %x = arith.addf %o, %o : tensor<1x2x64x64xf32>
  return %x : tensor<1x2x64x64xf32>
}

// -----

// Found by the bad-input catalogue: a kernel op inside a loop used to slip
// past the back end and fail later in the LLVM lowering ("failed to legalize
// operation 'cf.br'").
func.func @in_loop(%q: tensor<1x2x64x64xf16>, %n: index) -> tensor<1x2x64x64xf16> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %q) -> tensor<1x2x64x64xf16> {
    // expected-error @+1 {{'attn.attention' inside 'scf.for' in @in_loop: attn-convert-to-cpu compiles kernel ops at the top level of a function only}}
    %o = attn.attention %acc, %q, %q {pattern = #attn.causal} : tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16> -> tensor<1x2x64x64xf16>
    scf.yield %o : tensor<1x2x64x64xf16>
  }
  return %r : tensor<1x2x64x64xf16>
}

// -----

// expected-error @+1 {{attn-convert-to-cpu compiles single-block functions; @branches has 3 blocks}}
func.func @branches(%q: tensor<1x2x64x64xf16>, %b: i1) -> tensor<1x2x64x64xf16> {
  cf.cond_br %b, ^bb1, ^bb2
^bb1:
  %o = attn.attention %q, %q, %q : tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16> -> tensor<1x2x64x64xf16>
  return %o : tensor<1x2x64x64xf16>
^bb2:
  return %q : tensor<1x2x64x64xf16>
}

// -----

// NSA's combined form: the window branch runs on the selected branch's
// query blocks, counted in rows; block layouts need position-aligned tiles.
func.func @branches_layout(%q: tensor<?x4x?x64xf32>, %k: tensor<?x2x?x64xf32>, %idx: tensor<?x2x?x4xi32>, %w: tensor<?x4x?x3xf32>) -> tensor<?x4x?x64xf32> {
  // expected-error @+1 {{the window branch's #attn.random_blocks<density = 0.25, seed = 7, block = 64> is not lowered: the kernel's query tiles are the selected branch's query blocks}}
  %o = attn.sparse_branches %q, %k, %k, %k, %k, %idx, %w
      {compress_block = 32, compress_stride = 16, causal,
       selected = #attn.selected<query_block = 64, key_block = 64, causal>,
       window = #attn.random_blocks<block = 64, density = 0.25, seed = 7>}
      : tensor<?x4x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x4xi32>, tensor<?x4x?x3xf32> -> tensor<?x4x?x64xf32>
  return %o : tensor<?x4x?x64xf32>
}
