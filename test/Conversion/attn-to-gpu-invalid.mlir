// RUN: attn-opt %s -split-input-file -verify-diagnostics -attn-convert-to-gpu
// RUN: not attn-opt %s -split-input-file -attn-convert-to-gpu=chip=sm_70 2>&1 | FileCheck %s --check-prefix=CHIP

// CHIP: error: attn-convert-to-gpu: unknown chip 'sm_70'; known chips: sm_80, sm_86, sm_89, sm_90, sm_90a

// RUN: not attn-opt %s -split-input-file -attn-convert-to-gpu=query-tile=96 2>&1 | FileCheck %s --check-prefix=QTILE
// QTILE: error: attn-convert-to-gpu: query-tile must be 64 or 128 (0 for the default), found 96

func.func @f32(%q: tensor<1x2x64x64xf32>) -> tensor<1x2x64x64xf32> {
  // expected-error @+1 {{attn-convert-to-gpu supports bf16 and f16 (tensor-core mma), found 'f32'}}
  %o = attn.attention %q, %q, %q : tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32> -> tensor<1x2x64x64xf32>
  return %o : tensor<1x2x64x64xf32>
}

// -----

func.func @head_dim(%q: tensor<1x2x64x96xbf16>) -> tensor<1x2x64x96xbf16> {
  // expected-error @+1 {{attn-convert-to-gpu supports head dims 64 and 128, found D = 96}}
  %o = attn.attention %q, %q, %q : tensor<1x2x64x96xbf16>, tensor<1x2x64x96xbf16>, tensor<1x2x64x96xbf16> -> tensor<1x2x64x96xbf16>
  return %o : tensor<1x2x64x96xbf16>
}

// -----

func.func @random(%q: tensor<1x2x64x64xbf16>) -> tensor<1x2x64x64xbf16> {
  // expected-error @+1 {{#attn.random_blocks<density = 0.25, seed = 1, block = 32> has block 32, which must be a multiple of the query tile (64) and the key tile (64) so that every tile lies in one block}}
  %o = attn.attention %q, %q, %q {pattern = #attn.union<[#attn.local<window = 128>, #attn.random_blocks<density = 0.25, seed = 1, block = 32>]>} : tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16> -> tensor<1x2x64x64xbf16>
  return %o : tensor<1x2x64x64xbf16>
}

// -----

func.func @selected_dynamic_slots(%q: tensor<1x2x128x64xbf16>, %idx: tensor<1x2x2x?xi32>) -> tensor<1x2x128x64xbf16> {
  // expected-error @+1 {{attn-convert-to-gpu needs a static number of block slots (dimension 3 of the blocks operand), found 'tensor<1x2x2x?xi32>'}}
  %o = attn.attention %q, %q, %q blocks(%idx : tensor<1x2x2x?xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64>} : tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16> -> tensor<1x2x128x64xbf16>
  return %o : tensor<1x2x128x64xbf16>
}

// -----

func.func @selected_query_block(%q: tensor<1x2x128x64xbf16>, %idx: tensor<1x2x4x1xi32>) -> tensor<1x2x128x64xbf16> {
  // expected-error @+1 {{#attn.selected<query_block = 32, key_block = 64> needs a query_block of 64 or 128 on the GPU (its query tiles are the query blocks)}}
  %o = attn.attention %q, %q, %q blocks(%idx : tensor<1x2x4x1xi32>) {pattern = #attn.selected<query_block = 32, key_block = 64>} : tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16> -> tensor<1x2x128x64xbf16>
  return %o : tensor<1x2x128x64xbf16>
}

// -----

func.func @selected_key_block(%q: tensor<1x2x128x64xbf16>, %idx: tensor<1x2x2x1xi32>) -> tensor<1x2x128x64xbf16> {
  // expected-error @+1 {{#attn.selected<query_block = 64, key_block = 96> needs query tiles of its query_block (64) and key blocks that are whole key tiles; found tiles 64 x 64}}
  %o = attn.attention %q, %q, %q blocks(%idx : tensor<1x2x2x1xi32>) {pattern = #attn.selected<query_block = 64, key_block = 96>} : tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16> -> tensor<1x2x128x64xbf16>
  return %o : tensor<1x2x128x64xbf16>
}

// -----

func.func @selected_in_union(%q: tensor<1x2x128x64xbf16>, %idx: tensor<1x2x2x1xi32>) -> tensor<1x2x128x64xbf16> {
  // expected-error @+1 {{#attn.selected<query_block = 64, key_block = 64> inside a combinator is not lowered yet: runtime-selected blocks must be the op's whole pattern}}
  %o = attn.attention %q, %q, %q blocks(%idx : tensor<1x2x2x1xi32>) {pattern = #attn.union<[#attn.selected<query_block = 64, key_block = 64>, #attn.local<window = 64>]>} : tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16> -> tensor<1x2x128x64xbf16>
  return %o : tensor<1x2x128x64xbf16>
}

// -----

func.func @select_f32(%q: tensor<1x2x128x64xf32>) -> tensor<1x2x2x1xi32> {
  // expected-error @+1 {{attn-convert-to-gpu selects blocks of bf16 or f16 queries and keys, found 'f32'}}
  %i = attn.select_blocks %q, %q {query_block = 64 : i64, key_block = 64 : i64, top_k = 1 : i64} : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x2x2x1xi32>
  return %i : tensor<1x2x2x1xi32>
}

// -----

func.func @select_head_dim(%q: tensor<1x2x128x96xbf16>) -> tensor<1x2x2x1xi32> {
  // expected-error @+1 {{attn-convert-to-gpu selects blocks at head dims 32, 64, 128 and 256, found D = 96}}
  %i = attn.select_blocks %q, %q {query_block = 64 : i64, key_block = 64 : i64, top_k = 1 : i64} : tensor<1x2x128x96xbf16>, tensor<1x2x128x96xbf16> -> tensor<1x2x2x1xi32>
  return %i : tensor<1x2x2x1xi32>
}

// -----

func.func @budget(%q: tensor<1x2x64x64xbf16>) -> tensor<1x2x64x64xbf16> {
  // expected-error @+1 {{the op still carries #attn.budget<0.5>; run attn-resolve-budgets first}}
  %o = attn.attention %q, %q, %q {budget = #attn.budget<0.5>} : tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16> -> tensor<1x2x64x64xbf16>
  return %o : tensor<1x2x64x64xbf16>
}

// -----

func.func @other_ops(%q: tensor<1x2x64x64xbf16>) -> tensor<1x2x64x64xbf16> {
  // expected-error @+1 {{attn-convert-to-gpu compiles functions made of attn.attention, attn.select_blocks, attn.compress_kv and attn.sparse_branches ops on the function's arguments; 'arith.addf' in @other_ops is not supported yet}}
  %x = arith.addf %q, %q : tensor<1x2x64x64xbf16>
  %o = attn.attention %x, %q, %q : tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16> -> tensor<1x2x64x64xbf16>
  return %o : tensor<1x2x64x64xbf16>
}

// -----

func.func @result_used(%q: tensor<1x2x64x64xbf16>) -> tensor<1x2x64x64xbf16> {
  // expected-error @+1 {{the result feeds 'arith.addf': attn-convert-to-gpu needs attention results to be returned directly}}
  %o = attn.attention %q, %q, %q : tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16> -> tensor<1x2x64x64xbf16>
  %x = arith.addf %o, %o : tensor<1x2x64x64xbf16>
  return %x : tensor<1x2x64x64xbf16>
}

// -----

// Found by the bad-input catalogue: a kernel op inside a loop used to slip
// past the back end and fail later in the LLVM lowering ("failed to legalize
// operation 'cf.br'").
func.func @in_loop(%q: tensor<1x2x64x64xf16>, %n: index) -> tensor<1x2x64x64xf16> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %q) -> tensor<1x2x64x64xf16> {
    // expected-error @+1 {{'attn.attention' inside 'scf.for' in @in_loop: attn-convert-to-gpu compiles kernel ops at the top level of a function only}}
    %o = attn.attention %acc, %q, %q {pattern = #attn.causal} : tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16> -> tensor<1x2x64x64xf16>
    scf.yield %o : tensor<1x2x64x64xf16>
  }
  return %r : tensor<1x2x64x64xf16>
}

// -----

// expected-error @+1 {{attn-convert-to-gpu compiles single-block functions; @branches has 3 blocks}}
func.func @branches(%q: tensor<1x2x64x64xf16>, %b: i1) -> tensor<1x2x64x64xf16> {
  cf.cond_br %b, ^bb1, ^bb2
^bb1:
  %o = attn.attention %q, %q, %q : tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16> -> tensor<1x2x64x64xf16>
  return %o : tensor<1x2x64x64xf16>
^bb2:
  return %q : tensor<1x2x64x64xf16>
}

// NSA's combined form: what the GPU kernels do not cover gets a message
// naming the value found.

// -----

func.func @branches_f32(%q: tensor<?x4x?x64xf32>, %k: tensor<?x2x?x64xf32>, %v: tensor<?x2x?x64xf32>, %ck: tensor<?x2x?x64xf32>, %cv: tensor<?x2x?x64xf32>, %idx: tensor<?x2x?x4xi32>, %w: tensor<?x4x?x3xf32>) -> tensor<?x4x?x64xf32> {
  // expected-error @+1 {{attn-convert-to-gpu supports bf16 and f16 (tensor-core mma), found 'f32'}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 32, compress_stride = 16, causal,
       selected = #attn.selected<query_block = 64, key_block = 64, causal>,
       window = #attn.local<window = 127, causal>}
      : tensor<?x4x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x4xi32>, tensor<?x4x?x3xf32> -> tensor<?x4x?x64xf32>
  return %o : tensor<?x4x?x64xf32>
}

// -----

func.func @branches_d256(%q: tensor<?x4x?x256xbf16>, %k: tensor<?x2x?x256xbf16>, %v: tensor<?x2x?x256xbf16>, %ck: tensor<?x2x?x256xbf16>, %cv: tensor<?x2x?x256xbf16>, %idx: tensor<?x2x?x4xi32>, %w: tensor<?x4x?x3xf32>) -> tensor<?x4x?x256xbf16> {
  // expected-error @+1 {{attn-convert-to-gpu supports head dims 64 and 128, found D = 256}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 32, compress_stride = 16, causal,
       selected = #attn.selected<query_block = 64, key_block = 64, causal>,
       window = #attn.local<window = 127, causal>}
      : tensor<?x4x?x256xbf16>, tensor<?x2x?x256xbf16>, tensor<?x2x?x256xbf16>, tensor<?x2x?x256xbf16>, tensor<?x2x?x256xbf16>, tensor<?x2x?x4xi32>, tensor<?x4x?x3xf32> -> tensor<?x4x?x256xbf16>
  return %o : tensor<?x4x?x256xbf16>
}

// -----

func.func @branches_dv(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x128xbf16>, %ck: tensor<?x2x?x64xbf16>, %cv: tensor<?x2x?x128xbf16>, %idx: tensor<?x2x?x4xi32>, %w: tensor<?x4x?x3xf32>) -> tensor<?x4x?x128xbf16> {
  // expected-error @+1 {{attn-convert-to-gpu needs the value head dim to equal the query/key head dim (64), found Dv = 128}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 32, compress_stride = 16, causal,
       selected = #attn.selected<query_block = 64, key_block = 64, causal>,
       window = #attn.local<window = 127, causal>}
      : tensor<?x4x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x128xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x128xbf16>, tensor<?x2x?x4xi32>, tensor<?x4x?x3xf32> -> tensor<?x4x?x128xbf16>
  return %o : tensor<?x4x?x128xbf16>
}

// -----

func.func @branches_qb32(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %ck: tensor<?x2x?x64xbf16>, %cv: tensor<?x2x?x64xbf16>, %idx: tensor<?x2x?x4xi32>, %w: tensor<?x4x?x3xf32>) -> tensor<?x4x?x64xbf16> {
  // expected-error @+1 {{attn-convert-to-gpu needs the selected branch's query_block to be 64 or 128 (its query tiles serve all three branches), found 32}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 32, compress_stride = 16, causal,
       selected = #attn.selected<query_block = 32, key_block = 64, causal>,
       window = #attn.local<window = 127, causal>}
      : tensor<?x4x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x4xi32>, tensor<?x4x?x3xf32> -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}

// -----

func.func @branches_kb96(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %ck: tensor<?x2x?x64xbf16>, %cv: tensor<?x2x?x64xbf16>, %idx: tensor<?x2x?x4xi32>, %w: tensor<?x4x?x3xf32>) -> tensor<?x4x?x64xbf16> {
  // expected-error @+1 {{attn-convert-to-gpu needs the selected branch's key_block to be a multiple of 64, found 96}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 32, compress_stride = 16, causal,
       selected = #attn.selected<query_block = 64, key_block = 96, causal>,
       window = #attn.local<window = 127, causal>}
      : tensor<?x4x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x4xi32>, tensor<?x4x?x3xf32> -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}

// -----

func.func @branches_slots(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %ck: tensor<?x2x?x64xbf16>, %cv: tensor<?x2x?x64xbf16>, %idx: tensor<?x2x?x513xi32>, %w: tensor<?x4x?x3xf32>) -> tensor<?x4x?x64xbf16> {
  // expected-error @+1 {{attn-convert-to-gpu keeps at most 512 block slots per query block, found 513}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 32, compress_stride = 16, causal,
       selected = #attn.selected<query_block = 64, key_block = 64, causal>,
       window = #attn.local<window = 127, causal>}
      : tensor<?x4x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x513xi32>, tensor<?x4x?x3xf32> -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}

// -----

func.func @branches_random(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %ck: tensor<?x2x?x64xbf16>, %cv: tensor<?x2x?x64xbf16>, %idx: tensor<?x2x?x4xi32>, %w: tensor<?x4x?x3xf32>) -> tensor<?x4x?x64xbf16> {
  // expected-error @+1 {{the window branch's #attn.random_blocks}}
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 32, compress_stride = 16, causal,
       selected = #attn.selected<query_block = 64, key_block = 64, causal>,
       window = #attn.random_blocks<block = 64, density = 0.25, seed = 7>}
      : tensor<?x4x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x4xi32>, tensor<?x4x?x3xf32> -> tensor<?x4x?x64xbf16>
  return %o : tensor<?x4x?x64xbf16>
}
