// RUN: attn-opt %s -split-input-file -attn-convert-to-cpu=target=x86-64-v4 | FileCheck %s

// Attention over runtime-selected blocks: the blocks list comes after out
// (docs/sparse-projection.md, section 3); query tiles are the query blocks,
// counted in rows (ceil(Sq / 64) per pair), and the key loop takes, per
// step, the smallest listed tile after the current one: a min over the
// list's slots, with -1 and entries past the keys never candidates.
// CHECK-LABEL: func.func @attend_attn0(
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x4x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x2x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x2x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x4x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %[[BLOCKS:[a-z0-9]+]]: memref<?x2x?x4xi32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %{{[a-z0-9]+}}: index, %{{[a-z0-9]+}}: index)
// CHECK-SAME:    blocks = {causal = true, key_block = 64 : i64, query_block = 64 : i64, slots = 4 : i64}
// CHECK-SAME:    op = "attention", operand_args = array<i64: 0, 1, 2, 3>
// CHECK-SAME:    result_args = array<i64: 0>, result_index = 0 : i64
// CHECK:         %[[SQ:.*]] = memref.dim %arg0, %{{.*}} : memref<?x4x?x64xf32
// CHECK:         %[[TILES:.*]] = arith.ceildivsi %[[SQ]], %{{.*}} : index
// CHECK:         scf.for %[[ITEM:.*]] = %arg5 to %arg6
// CHECK:           %[[PAIR:.*]] = arith.floordivsi %[[ITEM]], %[[TILES]] : index
// CHECK:           scf.while
// CHECK:             scf.for %[[SLOT:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK:               %[[LISTED:.*]] = memref.load %[[BLOCKS]][%{{.*}}, %{{.*}}, %{{.*}}, %[[SLOT]]]
// CHECK:               %[[BLOCK:.*]] = arith.index_cast %[[LISTED]] : i32 to index
// CHECK:               arith.cmpi slt, %[[BLOCK]], %{{.*}} : index
// CHECK:               arith.cmpi sge, %[[BLOCK]], %{{.*}} : index
// CHECK:               arith.minsi
// CHECK:             scf.condition
// Inside a listed tile the causal mask is by position.
// CHECK:             arith.cmpi sle, %{{.*}} : vector<64xi64>
// CHECK-LABEL: func.func @attend_attn0_work_items(
// CHECK:         arith.ceildivsi %{{.*}}, %c64 : index
// CHECK-NOT:   attn.attention
func.func @attend(%q: tensor<?x4x?x64xf32>, %k: tensor<?x2x?x64xf32>, %v: tensor<?x2x?x64xf32>,
                  %idx: tensor<?x2x?x4xi32>) -> tensor<?x4x?x64xf32> {
  %o = attn.attention %q, %k, %v blocks(%idx : tensor<?x2x?x4xi32>)
      {pattern = #attn.selected<query_block = 64, key_block = 64, causal>}
      : tensor<?x4x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32> -> tensor<?x4x?x64xf32>
  return %o : tensor<?x4x?x64xf32>
}

// -----

// Gated: active list, then blocks.
// CHECK-LABEL: func.func @gated_attn0(
// CHECK-SAME:    memref<?x4x?x64xbf16, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    memref<?xi32, strided<[?], offset: ?>>,
// CHECK-SAME:    memref<?x4x?x2xi32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    gated = true, gates = "gates"
// CHECK-SAME:    operand_args = array<i64: 0, 1, 2, 3, 4>
func.func @gated(%q: tensor<2x4x?x64xbf16>, %k: tensor<2x4x?x64xbf16>, %v: tensor<2x4x?x64xbf16>,
                 %g: tensor<2x4xi1>, %idx: tensor<2x4x?x2xi32>) -> tensor<2x4x?x64xbf16> {
  %o = attn.attention %q, %k, %v gates(%g : tensor<2x4xi1>) blocks(%idx : tensor<2x4x?x2xi32>)
      {pattern = #attn.selected<query_block = 64, key_block = 128>}
      : tensor<2x4x?x64xbf16>, tensor<2x4x?x64xbf16>, tensor<2x4x?x64xbf16> -> tensor<2x4x?x64xbf16>
  return %o : tensor<2x4x?x64xbf16>
}

// -----

// select_blocks: one kernel per op, <func>_select<N>: descriptors of the
// operands, then of the result, then the item range; items are (pair,
// query block). Scores go through a by-score list with NaN last (ord/uno
// comparisons), chosen blocks are sorted and written as i32 with -1 after.
// CHECK-LABEL: func.func @select_select0(
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x8x?x32xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x2x?x32xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %[[PK:[a-z0-9]+]]: memref<?x2x?x32xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %[[OUT:[a-z0-9]+]]: memref<?x2x?x3xi32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %{{[a-z0-9]+}}: index, %{{[a-z0-9]+}}: index)
// CHECK-SAME:    attn.cpu_kernel = {batch = -1 : i64, causal = true, dtype = "f32", head_dim = 32 : i64, keep_local = 1 : i64, keep_sink = 2 : i64, key_block = 16 : i64, key_heads = 2 : i64, key_len = -1 : i64, op = "select_blocks", operand_args = array<i64: 0, 1, 2>, pooled_keys = true, query_block = 32 : i64, query_heads = 8 : i64, query_len = -1 : i64, result_args = array<i64: 0>, source = "select", top_k = 3 : i64, work_items = "select_select0_work_items"}
// CHECK-SAME:    llvm.emit_c_interface
// CHECK:         memref.alloca() : memref<32xf32>
// CHECK:         memref.alloca() : memref<3xf32>
// CHECK:         memref.load %[[PK]]
// CHECK:         arith.cmpf ord
// CHECK:         arith.cmpf uno
// CHECK:         arith.cmpf ogt
// CHECK:         scf.while
// CHECK:         %[[I32:.*]] = arith.index_cast %{{.*}} : index to i32
// CHECK:         memref.store %[[I32]], %[[OUT]]
// CHECK-LABEL: func.func @select_select0_work_items(
// CHECK:         arith.ceildivsi %{{.*}}, %c32 : index
// CHECK-NOT:   attn.select_blocks
func.func @select(%q: tensor<?x8x?x32xf32>, %k: tensor<?x2x?x32xf32>, %pk: tensor<?x2x?x32xf32>) -> tensor<?x2x?x3xi32> {
  %idx = attn.select_blocks %q, %k pooled_keys(%pk : tensor<?x2x?x32xf32>)
      {query_block = 32 : i64, key_block = 16 : i64, top_k = 3 : i64, keep_sink = 2 : i64,
       keep_local = 1 : i64, causal}
      : tensor<?x8x?x32xf32>, tensor<?x2x?x32xf32> -> tensor<?x2x?x3xi32>
  return %idx : tensor<?x2x?x3xi32>
}

// -----

// compress_kv: <func>_compress<N> with key, value, weights (rank 2), then
// both results; f32 sums, rounded once to bf16. Items are (pair, slot),
// counted from the key length (argument 2) alone:
// N = (S - 32) floordiv 16 + 1, 0 when S < 32.
// CHECK-LABEL: func.func @compress_compress0(
// CHECK-SAME:    memref<?x2x?x64xbf16, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    memref<?x2x?x32xbf16, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %[[W:[a-z0-9]+]]: memref<2x32xf32, strided<[?, 1], offset: ?>>,
// CHECK-SAME:    memref<?x2x?x64xbf16, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    memref<?x2x?x32xbf16, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    attn.cpu_kernel = {batch = -1 : i64, block = 32 : i64, dtype = "bf16", head_dim = 64 : i64, key_heads = 2 : i64, key_len = -1 : i64, method = "linear", op = "compress_kv", operand_args = array<i64: 1, 0, 2>, result_args = array<i64: 1, 0>, source = "compress", stride = 16 : i64, value_dim = 32 : i64, weights_dtype = "f32", work_items = "compress_compress0_work_items"}
// CHECK:         memref.load %[[W]]
// CHECK:         arith.extf %{{.*}} : bf16 to f32
// CHECK:         arith.truncf %{{.*}} : f32 to bf16
// CHECK-LABEL: func.func @compress_compress0_work_items(
// CHECK-SAME:    %{{[a-z0-9]+}}: i64, %{{[a-z0-9]+}}: i64, %[[S:[a-z0-9]+]]: i64)
// CHECK:         arith.index_cast %[[S]] : i64 to index
// CHECK:         arith.cmpi sge
// CHECK:         arith.shrsi %{{.*}}, %c4 : index
// CHECK-NOT:   attn.compress_kv
func.func @compress(%v: tensor<?x2x?x32xbf16>, %k: tensor<?x2x?x64xbf16>, %w: tensor<2x32xf32>)
    -> (tensor<?x2x?x32xbf16>, tensor<?x2x?x64xbf16>) {
  %ck, %cv = attn.compress_kv %k, %v weights(%w : tensor<2x32xf32>)
      {block = 32 : i64, stride = 16 : i64, method = #attn.compression<linear>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16> -> tensor<?x2x?x64xbf16>, tensor<?x2x?x32xbf16>
  return %cv, %ck : tensor<?x2x?x32xbf16>, tensor<?x2x?x64xbf16>
}

// -----

// Several ops in one function: one kernel each, counted per kind.
// CHECK-LABEL: func.func @mixed_attn0(
// CHECK-LABEL: func.func @mixed_select0(
// CHECK-LABEL: func.func @mixed_compress0(
// CHECK-SAME:    operand_args = array<i64: 1, 1>, result_args = array<i64: 1, 2>
// CHECK-LABEL: func.func @mixed_select1(
// CHECK-SAME:    result_args = array<i64: 3>
func.func @mixed(%q: tensor<1x2x?x64xf32>, %k: tensor<1x2x?x64xf32>)
    -> (tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x1xi32>, tensor<1x2x?x1xi32>) {
  %o = attn.attention %q, %k, %k : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  %i = attn.select_blocks %q, %k {query_block = 64 : i64, key_block = 64 : i64, top_k = 1 : i64}
      : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x1xi32>
  %ck, %cv = attn.compress_kv %k, %k {block = 64 : i64, method = #attn.compression<mean>}
      : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>
  %j = attn.select_blocks %q, %k {query_block = 64 : i64, key_block = 32 : i64, top_k = 1 : i64}
      : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x1xi32>
  return %o, %ck, %cv, %j, %i : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x1xi32>, tensor<1x2x?x1xi32>
}

// -----

// NSA's combined form: one kernel, the weights after the block lists and
// before out. Query tiles are the selected branch's query blocks; the
// compressed branch's slots stop where the tile's last row stops seeing
// them (slot n stands for position 16 n + 31: rows up to p see
// floor((p - 31) / 16) + 1 slots, clipped to [0, N]); the rows are mixed
// with the weights 0, 1 and 2 in that order. Work items count
// (batch, KV head) pairs x the group size (2) x query blocks.
// CHECK-LABEL: func.func @nsa_branches0(
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x4x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x2x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x2x?x32xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %[[CK:[a-z0-9]+]]: memref<?x2x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %[[CV:[a-z0-9]+]]: memref<?x2x?x32xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %[[BLOCKS:[a-z0-9]+]]: memref<?x2x?x4xi32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %[[W:[a-z0-9]+]]: memref<?x4x?x3xf16, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %[[OUT:[a-z0-9]+]]: memref<?x4x?x32xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %{{[a-z0-9]+}}: index, %{{[a-z0-9]+}}: index)
// CHECK-SAME:    blocks = {causal = true, key_block = 64 : i64, query_block = 64 : i64, slots = 4 : i64}, causal = true, compress_stride = 16 : i64, compress_window = 32 : i64
// CHECK-SAME:    op = "sparse_branches", operand_args = array<i64: 0, 1, 2, 3, 4, 5, 6>
// CHECK-SAME:    pattern = #attn.local<window = 127, causal>
// CHECK-SAME:    weights_dtype = "f16", work_items = "nsa_branches0_work_items"
// CHECK:         %[[SLOTS:.*]] = memref.dim %[[CK]], %{{.*}} : memref<?x2x?x64xf32
// CHECK:         %[[SHIFTED:.*]] = arith.addi %{{.*}}, %c-31 : index
// CHECK:         %[[SEEN:.*]] = arith.shrsi %[[SHIFTED]], %{{.*}} : index
// CHECK:         %[[END:.*]] = arith.minsi %{{.*}}, %[[SLOTS]] : index
// CHECK:         %[[SLOT_TILES:.*]] = arith.ceildivsi %[[END]], %{{.*}} : index
// CHECK:         scf.for %{{.*}} = %{{.*}} to %[[SLOT_TILES]] step
// CHECK:           memref.load %[[CK]]
// CHECK:           memref.load %[[CV]]
// CHECK:         memref.load %[[W]][%{{.*}}, %{{.*}}, %{{.*}}, %c0{{.*}}] : memref<?x4x?x3xf16
// CHECK:         memref.load %[[BLOCKS]]
// CHECK:         memref.load %[[W]][%{{.*}}, %{{.*}}, %{{.*}}, %c1{{.*}}] : memref<?x4x?x3xf16
// CHECK:         memref.load %[[W]][%{{.*}}, %{{.*}}, %{{.*}}, %c2{{.*}}] : memref<?x4x?x3xf16
// CHECK:         vector.store %{{.*}}, %[[OUT]]
// CHECK-LABEL: func.func @nsa_branches0_work_items(
// CHECK:         %[[TILES:.*]] = arith.ceildivsi %{{.*}}, %c64 : index
// CHECK:         %[[GROUPED:.*]] = arith.muli %{{.*}}, %c2 : index
// CHECK:         arith.muli %[[GROUPED]], %[[TILES]] : index
func.func @nsa(%q: tensor<?x4x?x64xf32>, %k: tensor<?x2x?x64xf32>, %v: tensor<?x2x?x32xf32>,
               %ck: tensor<?x2x?x64xf32>, %cv: tensor<?x2x?x32xf32>, %idx: tensor<?x2x?x4xi32>,
               %w: tensor<?x4x?x3xf16>) -> tensor<?x4x?x32xf32> {
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 32, compress_stride = 16, causal,
       selected = #attn.selected<query_block = 64, key_block = 64, causal>,
       window = #attn.local<window = 127, causal>}
      : tensor<?x4x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x32xf32>,
        tensor<?x2x?x64xf32>, tensor<?x2x?x32xf32>, tensor<?x2x?x4xi32>,
        tensor<?x4x?x3xf16> -> tensor<?x4x?x32xf32>
  return %o : tensor<?x4x?x32xf32>
}
