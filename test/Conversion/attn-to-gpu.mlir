// RUN: attn-opt %s -split-input-file -attn-convert-to-gpu | FileCheck %s
// The kernels lower through the upstream GPU pipeline to PTX with tensor-core
// mma, ldmatrix, cp.async and no local memory. The PTX is one string
// attribute; its "\0A" escapes become lines for FileCheck.
// RUN: attn-opt %s -split-input-file -attn-convert-to-gpu \
// RUN:   | attn-opt -split-input-file --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_90 cubin-features=+ptx80 cubin-format=isa opt-level=3 kernel-bare-ptr-calling-convention=true" \
// RUN:   | sed 's/\\0A/\n/g' | FileCheck %s --check-prefix=PTX --implicit-check-not=.local

// PTX: .target sm_90
// PTX-DAG: .entry causal_attn0(
// PTX-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-DAG: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PTX-DAG: cp.async.cg.shared.global
// PTX-DAG: ex2.approx
// PTX-DAG: st.global.v4
// PTX: .target sm_90
// PTX-DAG: .entry dense_attn0(
// PTX-DAG: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX-DAG: .maxntid 128, 1, 1

// A causal GQA op (Hq = 8, Hkv = 2), bf16, D = 64: one kernel in
// gpu.module @kernels with the bare-pointer signature, a padded 128 x 72 Q
// tile and two 64 x 72 K/V tiles of static shared memory, and the manifest
// facts (128-row query tiles by default).
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       gpu.module @kernels
// CHECK:       gpu.func @causal_attn0(%arg0: memref<4294967296xbf16>, %arg1: memref<4294967296xbf16>, %arg2: memref<4294967296xbf16>, %arg3: memref<4294967296xbf16>, %arg4: i64, %arg5: i64, %arg6: i64, %arg7: i64, %arg8: i64, %arg9: i64, %arg10: i64, %arg11: i64, %arg12: i64, %arg13: i64, %arg14: i64, %arg15: i64, %arg16: i32, %arg17: i32, %arg18: f32)
// CHECK-SAME:    workgroup(%{{.*}} : memref<128x72xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<64x72xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<64x72xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME:    attn.gpu_kernel = {batch = -1 : i64, block = array<i64: 128, 1, 1>, chip = "sm_90", dtype = "bf16", dynamic_shared_memory = 0 : i64,
// CHECK-SAME:    gated = false, gates = "none", grid = {query_tile = 128 : i64, query_tiles = "positions", rule = "query_tiles_x_pairs"}, head_dim = 64 : i64, key_heads = 2 : i64,
// CHECK-SAME:    key_tile = 64 : i64, op = "attention", operand_args = array<i64: 0, 1, 2>,
// CHECK-SAME:    params = [{name = "q", type = "ptr", value = "query"}, {name = "k", type = "ptr", value = "key"}, {name = "v", type = "ptr", value = "value"}, {name = "o", type = "ptr", value = "out"}, {name = "query_stride0", type = "i64", value = "query.stride[0]"},
// CHECK-SAME:    {name = "out_stride2", type = "i64", value = "out.stride[2]"}, {name = "sq", type = "i32", value = "Sq"}, {name = "skv", type = "i32", value = "Skv"}, {name = "scale", type = "f32", value = "scale"}]
// CHECK-SAME:    pattern = #attn.causal, query_heads = 8 : i64, query_len = -1 : i64, query_tile = 128 : i64, result_args = array<i64: 0>, result_index = 0 : i64, scale = 1.250000e-01 : f64, source = "causal"
// CHECK-SAME:    known_block_size = array<i32: 128, 1, 1>
// Heaviest query tiles first: the last (blockIdx.x reversed); the row is
// blockIdx.y.
// CHECK:         %[[CAUSAL_GX:.*]] = gpu.grid_dim x
// CHECK-NOT:     gpu.grid_dim y
// CHECK:         %[[CAUSAL_BX:.*]] = gpu.block_id x
// CHECK:         arith.subi %[[CAUSAL_GX]], %[[CAUSAL_BX]]
// The prologue: the Q tile (the copy addresses step by a stride the
// optimizer may not hoist) and the first visible K tile in flight together.
// CHECK:         llvm.inline_asm has_side_effects "mov.b64 $0, $1;", "=l,l"
// CHECK:         nvgpu.device_async_copy {{.*}}, 8, %{{.*}} {bypassL1} : memref<4294967296xbf16> to memref<128x72xbf16
// CHECK:         nvgpu.device_async_create_group
// A causal hull has no empty tile: its walk needs no scan loop.
// CHECK-NOT:     scf.while
// CHECK:         scf.if
// CHECK:           nvgpu.device_async_copy {{.*}} : memref<4294967296xbf16> to memref<64x72xbf16
// At D = 64 Q's fragments (two m-tiles) stay in registers.
// CHECK:         nvvm.cp.async.wait.group 0
// CHECK-NEXT:    gpu.barrier
// CHECK:         nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<128x72xbf16
// The loop over visible key tiles: V(kt) loads under S = Q K(kt)ᵀ...
// CHECK:         scf.while
// CHECK:           nvvm.cp.async.wait.group 0
// CHECK-NEXT:      gpu.barrier
// CHECK:           nvgpu.device_async_copy {{.*}} : memref<4294967296xbf16> to memref<64x72xbf16
// CHECK:           nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<64x72xbf16
// CHECK:           nvvm.mma.sync {{.*}} {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// ... a masked body (the causal element mask on the thread's four rows as
// i32 positions, and keys past Skv) and an unmasked one ...
// CHECK:           scf.if %{{.*}} -> (f32, f32,
// CHECK:             arith.cmpi sle, %{{.*}}, %{{.*}} : vector<4xi32>
// CHECK:             arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK:             scf.yield
// CHECK:           } else {
// CHECK-NEXT:        scf.yield
// ... then the next visible K tile loads under the softmax and P V.
// CHECK:           nvvm.cp.async.wait.group 0
// CHECK-NEXT:      gpu.barrier
// CHECK:           scf.if
// CHECK:             nvgpu.device_async_copy {{.*}} : memref<4294967296xbf16> to memref<64x72xbf16
// CHECK:           gpu.shuffle  xor
// CHECK:           llvm.intr.fma
// CHECK:           llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK:           nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK:           nvvm.mma.sync
// The epilogue: 16-byte stores of real rows.
// CHECK:         vector.store %{{.*}}, %{{.*}}[%{{.*}}] {alignment = 16 : i64} : memref<4294967296xbf16>, vector<8xbf16>
// CHECK:         gpu.return
// CHECK-NOT:   func.func @causal
func.func @causal(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.causal} : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// Dense f16, D = 128: the padded 128 x 136 Q tile and two 64 x 136 K/V
// tiles exceed 48 KB of static shared memory, so they are views of dynamic
// shared memory; Q's fragments are read from shared memory per key tile
// (two m-tiles of them would not fit in registers); the mma is f16 on
// vector<2xf16> operands; the mask is only for the ragged last tile.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       gpu.func @dense_attn0(%arg0: memref<4294967296xf16>, %arg1: memref<4294967296xf16>, %arg2: memref<4294967296xf16>, %arg3: memref<4294967296xf16>, %arg4: i64, %arg5: i64, %arg6: i64, %arg7: i64, %arg8: i64, %arg9: i64, %arg10: i64, %arg11: i64, %arg12: i64, %arg13: i64, %arg14: i64, %arg15: i64, %arg16: i32, %arg17: i32, %arg18: f32) kernel
// CHECK-SAME:    dtype = "f16", dynamic_shared_memory = 69632 : i64
// CHECK-SAME:    head_dim = 128 : i64
// CHECK-SAME:    pattern = #attn.dense
// CHECK:         %[[DSM:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK:         memref.view %[[DSM]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<128x136xf16, #gpu.address_space<workgroup>>
// CHECK:         memref.view %[[DSM]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x136xf16, #gpu.address_space<workgroup>>
// CHECK-NOT:     nvgpu.ldmatrix
// CHECK:         scf.while
// CHECK:           nvgpu.ldmatrix {{.*}} : memref<128x136xf16
// CHECK:           nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK:           scf.if %{{.*}} -> (f32, f32,
// CHECK:             arith.cmpi slt, %{{.*}}, %{{.*}} : index
// CHECK:             arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK:           } else {
func.func @dense(%q: tensor<?x4x?x128xf16>, %k: tensor<?x4x?x128xf16>, %v: tensor<?x4x?x128xf16>) -> tensor<?x4x?x128xf16> {
  %o = attn.attention %q, %k, %v : tensor<?x4x?x128xf16>, tensor<?x4x?x128xf16>, tensor<?x4x?x128xf16> -> tensor<?x4x?x128xf16>
  return %o : tensor<?x4x?x128xf16>
}

// -----

// Every analytic pattern goes through the same kernel: lib/Tiling gives the
// key hull, the tile classes and the element mask (here a Longformer-style
// union: global tokens and a window, masked per element on partial tiles).
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       gpu.func @longformer_attn0(
// CHECK-SAME:    pattern = #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 256>]>
// Global tokens' rows see every key: every row's tiles that hold them
// (positions [0, 64): ceil(64 / 128) - floor((Skv - Sq) / 128) of them,
// clamped to [0, tiles]) are dispatched first, at linear block indices
// below heavy x rows; the other tiles follow, last to first.
// CHECK:         %[[GX:.*]] = gpu.grid_dim x
// CHECK:         %[[BX:.*]] = gpu.block_id x
// CHECK:         %[[BY:.*]] = gpu.block_id y
// CHECK:         %[[GY:.*]] = gpu.grid_dim y
// CHECK:         %[[YX:.*]] = arith.muli %[[BY]], %[[GX]] : index
// CHECK:         %[[LINEAR:.*]] = arith.addi %[[BX]], %[[YX]] : index
// CHECK:         %[[UNCLAMPED:.*]] = arith.subi %c1{{.*}}, %{{.*}} : index
// CHECK:         %[[ATLEAST0:.*]] = arith.maxsi %[[UNCLAMPED]], %c0{{.*}} : index
// CHECK:         %[[HEAVY:.*]] = arith.minsi %[[ATLEAST0]], %[[GX]] : index
// CHECK:         %[[HEAVYITEMS:.*]] = arith.muli %[[HEAVY]], %[[GY]] : index
// CHECK:         %[[ISHEAVY:.*]] = arith.cmpi ult, %[[LINEAR]], %[[HEAVYITEMS]] : index
// CHECK:         %[[LIGHT:.*]] = arith.subi %[[LINEAR]], %[[HEAVYITEMS]] : index
// CHECK:         %[[LIGHTREM:.*]] = arith.remui %[[LIGHT]], %{{.*}} : index
// CHECK:         %[[FROMLAST:.*]] = arith.subi %[[GX]], %[[LIGHTREM]] : index
// CHECK:         %[[LIGHTTILE:.*]] = arith.subi %[[FROMLAST]], %c1{{.*}} : index
// CHECK:         %[[HEAVYTILE:.*]] = arith.remui %[[LINEAR]], %{{.*}} : index
// CHECK:         arith.select %[[ISHEAVY]], %[[HEAVYTILE]], %[[LIGHTTILE]] : index
// CHECK:         scf.while
// CHECK:           arith.cmpi slt, %{{.*}}, %{{.*}} : vector<4xi32>
// CHECK:           arith.ori %{{.*}}, %{{.*}} : vector<4xi1>
func.func @longformer(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 256>]>}
      : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// Runtime gates: the kernel reads the (batch, head) byte of the gates tensor
// (its two strides follow the scale); blocks of gated-off pairs write zero
// rows and do nothing else, so all the key-tile work sits in the gate's
// then-branch.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       gpu.func @gated_attn0({{.*}}, %arg18: f32, %arg19: memref<4294967296xi8>, %arg20: i64, %arg21: i64)
// CHECK-SAME:    gated = true, gates = "gates", grid = {query_tile = 128 : i64, query_tiles = "positions", rule = "query_tiles_x_pairs"}
// CHECK-SAME:    operand_args = array<i64: 0, 1, 2, 3>
// CHECK-SAME:    {name = "scale", type = "f32", value = "scale"}, {name = "gates", type = "ptr", value = "gates"}, {name = "gates_stride0", type = "i64", value = "gates.stride[0]"}, {name = "gates_stride1", type = "i64", value = "gates.stride[1]"}]
// CHECK:         %[[BYTE:.*]] = memref.load %arg19[%{{.*}}] : memref<4294967296xi8>
// CHECK:         %[[ON:.*]] = arith.cmpi ne, %[[BYTE]], %{{.*}} : i8
// CHECK:         scf.if %[[ON]] {
// CHECK:           scf.while
// CHECK:             nvvm.mma.sync
// CHECK:           vector.store %{{.*}}, %arg3[%{{.*}}] {alignment = 16 : i64}
// CHECK:         } else {
// CHECK:           vector.store %cst{{.*}}, %arg3[%{{.*}}] {alignment = 16 : i64} : memref<4294967296xbf16>, vector<8xbf16>
// CHECK-NOT:       nvgpu
// CHECK:         gpu.return
func.func @gated(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %g: tensor<?x8xi1>) -> tensor<?x8x?x64xbf16> {
  %o = attn.attention %q, %k, %v gates(%g : tensor<?x8xi1>) {pattern = #attn.causal} : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// Gates compacted inside the function are still the gates tensor to the
// kernel (operand 3 is the function's gates argument).
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       gpu.func @compacted_attn0(
// CHECK-SAME:    gated = true, gates = "gates"
// CHECK-SAME:    operand_args = array<i64: 0, 0, 0, 1>
func.func @compacted(%q: tensor<2x8x128x64xbf16>, %g: tensor<2x8xi1>) -> tensor<2x8x128x64xbf16> {
  %a = attn.active_heads %g : tensor<2x8xi1> -> tensor<?xi32>
  %o = attn.attention %q, %q, %q active(%a : tensor<?xi32>) : tensor<2x8x128x64xbf16>, tensor<2x8x128x64xbf16>, tensor<2x8x128x64xbf16> -> tensor<2x8x128x64xbf16>
  return %o : tensor<2x8x128x64xbf16>
}

// -----

// An explicit active list: the grid's y runs over the list (the runtime
// zero-fills the output first); blocks of entries outside [0, pairs) skip
// everything and store nothing: the pair they stand in for (0) may be
// listed, and its real blocks write the same rows.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       gpu.func @listed_attn0({{.*}}, %arg18: f32, %arg19: memref<4294967296xi32>, %arg20: i32, %arg21: i32)
// CHECK-SAME:    gated = true, gates = "active", grid = {query_tile = 128 : i64, query_tiles = "positions", rule = "query_tiles_x_active"}
// CHECK-SAME:    {name = "active", type = "ptr", value = "active"}, {name = "num_active", type = "i32", value = "active_count"}, {name = "pairs", type = "i32", value = "pairs"}]
// CHECK:         %[[Y:.*]] = gpu.block_id  y
// CHECK:         memref.load %arg19[%[[Y]]] : memref<4294967296xi32>
// CHECK:         arith.cmpi sge
// CHECK:         arith.cmpi slt
// CHECK:         scf.if
// CHECK-NOT:     arith.constant dense<0.000000e+00> : vector<8xbf16>
// CHECK:         gpu.return
func.func @listed(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %a: tensor<?xi32>) -> tensor<?x8x?x64xbf16> {
  %o = attn.attention %q, %k, %v active(%a : tensor<?xi32>) {pattern = #attn.causal} : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// Block-granular patterns on position-aligned tiles: an explicit layout's
// table is a constant global of the gpu.module (device code reads it), and
// 64-position blocks make the default query tile 64 rows so that every tile
// lies in one block.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       gpu.module @kernels
// CHECK-NEXT:    memref.global "private" constant @__attn_block_layout_{{[0-9]+}} : memref<4xi8> = dense<[1, 0, 1, 1]>
// CHECK:       gpu.func @layout_attn0(
// CHECK-SAME:    memref<64x72xbf16, #gpu.address_space<workgroup>>
// CHECK-SAME:    grid = {query_tile = 64 : i64, query_tiles = "positions", rule = "query_tiles_x_pairs"}
// CHECK:         memref.get_global @__attn_block_layout_{{[0-9]+}} : memref<4xi8>
func.func @layout(%q: tensor<?x2x?x64xbf16>) -> tensor<?x2x?x64xbf16> {
  %o = attn.attention %q, %q, %q {pattern = #attn.block_layout<block = 64, shape = [2, 2], layout = [1, 0, 1, 1]>}
      : tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x64xbf16>
  return %o : tensor<?x2x?x64xbf16>
}

// -----

// Random blocks: the key loop carries the query block's kept-block stream
// (state and last kept block, i64): the prologue draws up to the first
// kept tile, each key tile draws on from where the stream stopped (f64 log
// of the geometric gap), and no tile is classified or masked for the
// pattern (only ragged tiles are masked).
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       gpu.func @random_attn0(
// CHECK-SAME:    grid = {query_tile = 128 : i64, query_tiles = "positions", rule = "query_tiles_x_pairs"}
// CHECK:         %[[FIRST:.*]]:2 = scf.while ({{.*}}) : (i64, i64) -> (i64, i64)
// CHECK:           math.log %{{.*}} : f64
// CHECK:         scf.while (%{{.*}} = %{{.*}}, %{{.*}} = %[[FIRST]]#0, %{{.*}} = %[[FIRST]]#1,
// CHECK:           nvvm.mma.sync
// CHECK:           scf.while ({{.*}}) : (i64, i64) -> (i64, i64)
// CHECK:             math.log %{{.*}} : f64
func.func @random(%q: tensor<?x4x?x128xbf16>) -> tensor<?x4x?x128xbf16> {
  %o = attn.attention %q, %q, %q {pattern = #attn.random_blocks<density = 0.25, seed = 1>}
      : tensor<?x4x?x128xbf16>, tensor<?x4x?x128xbf16>, tensor<?x4x?x128xbf16> -> tensor<?x4x?x128xbf16>
  return %o : tensor<?x4x?x128xbf16>
}

// -----

// Kernel names are PTX identifiers: characters ptxas does not take become
// '_'; the manifest's source keeps the function's own name.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       gpu.func @layer_0_attn0(
// CHECK-SAME:    source = "layer.0"
func.func @"layer.0"(%q: tensor<1x2x128x64xbf16>) -> tensor<1x2x128x64xbf16> {
  %o = attn.attention %q, %q, %q : tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16> -> tensor<1x2x128x64xbf16>
  return %o : tensor<1x2x128x64xbf16>
}

// -----

// Runtime-selected blocks: the blocks list (and its three strides) follows
// the scale, query tiles are the query blocks counted in rows, and the key
// loop finds the next listed tile with a min over the warp (xor shuffles).
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       gpu.func @attend_attn0({{.*}}, %arg18: f32, %arg19: memref<4294967296xi32>, %arg20: i64, %arg21: i64, %arg22: i64)
// CHECK-SAME:    blocks = {causal = true, key_block = 128 : i64, query_block = 64 : i64, slots = 40 : i64}
// CHECK-SAME:    grid = {query_tile = 64 : i64, query_tiles = "rows", rule = "query_tiles_x_pairs"}
// CHECK-SAME:    op = "attention", operand_args = array<i64: 0, 1, 2, 3>
// CHECK-SAME:    {name = "blocks", type = "ptr", value = "operand[3]"}, {name = "blocks_stride0", type = "i64", value = "operand[3].stride[0]"}
// CHECK-SAME:    result_args = array<i64: 0>
// CHECK-COUNT-2: memref.load %arg19
// CHECK:         gpu.shuffle  xor
// CHECK:         scf.while
// CHECK:           nvvm.mma.sync
func.func @attend(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>, %idx: tensor<?x2x?x40xi32>) -> tensor<?x8x?x64xbf16> {
  %o = attn.attention %q, %k, %v blocks(%idx : tensor<?x2x?x40xi32>) {pattern = #attn.selected<query_block = 64, key_block = 128, causal>}
      : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}

// -----

// attn.select_blocks: one kernel per op, 4 query blocks per block of 128
// threads over (ceil(Sq / 256), B * Hkv), its operands and result as
// generic params; scores and flags in dynamic shared memory.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       gpu.func @select_select0(%arg0: memref<4294967296xbf16>, %arg1: memref<4294967296xbf16>, %arg2: memref<4294967296xi32>, {{.*}}, %arg11: i64, %arg12: i32, %arg13: i32)
// CHECK-SAME:    causal = true
// CHECK-SAME:    grid = {rule = "tiles_x_kv_pairs", size = "operand[0].shape[2]", tile = 256 : i64}
// CHECK-SAME:    keep_local = 2 : i64, keep_sink = 1 : i64, key_block = 64 : i64
// CHECK-SAME:    op = "select_blocks", operand_args = array<i64: 0, 1>
// CHECK-SAME:    {name = "q", type = "ptr", value = "operand[0]"}
// CHECK-SAME:    {name = "indices", type = "ptr", value = "result[0]"}
// CHECK-SAME:    {name = "sq", type = "i32", value = "operand[0].shape[2]"}
// CHECK-SAME:    top_k = 16 : i64
// CHECK:         gpu.dynamic_shared_memory
// CHECK:         vector.load %arg0
// CHECK:         vector.load %arg1
// CHECK:         gpu.shuffle  xor
// CHECK:         gpu.shuffle  up
// CHECK:         memref.store %{{.*}}, %arg2
func.func @select(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>) -> tensor<?x2x?x16xi32> {
  %i = attn.select_blocks %q, %k {query_block = 64 : i64, key_block = 64 : i64, top_k = 16 : i64, keep_sink = 1 : i64, keep_local = 2 : i64, causal}
      : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x2x?x16xi32>
  return %i : tensor<?x2x?x16xi32>
}
