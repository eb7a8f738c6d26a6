// RUN: attn-opt %s -split-input-file -attn-convert-to-cpu=target=x86-64-v4 | FileCheck %s
// RUN: attn-opt %s -split-input-file -attn-convert-to-cpu=target=x86-64-v3 | FileCheck %s --check-prefix=AVX2
// RUN: attn-opt %s -split-input-file -attn-convert-to-cpu=target=x86-64-v4 | FileCheck %s --check-prefix=TRANSPOSE

// Q enters and O leaves the lane layout through 16x16 register transposes
// (blocks of 16 real rows; other rows element by element).
// TRANSPOSE-LABEL: func.func @causal_attn0(
// TRANSPOSE:         vector.load %{{.*}} : memref<?x8x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>, vector<16xf32>
// TRANSPOSE:         vector.transpose %{{.*}}, [1, 0] : vector<16x16xf32> to vector<16x16xf32>
// TRANSPOSE:         vector.transpose %{{.*}}, [1, 0] : vector<16x16xf32> to vector<16x16xf32>
// TRANSPOSE:         vector.store %{{.*}} : memref<?x8x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>, vector<16xf32>

// The kernel of a causal GQA op: memref arguments with a unit innermost
// stride, an item range, the C interface, and the manifest facts.
// CHECK-LABEL: func.func @causal_attn0(
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x8x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x2x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x2x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x8x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>,
// CHECK-SAME:    %[[BEGIN:arg[0-9]+]]: index, %[[END:arg[0-9]+]]: index)
// CHECK-SAME:    attn.cpu_kernel = {{{.*}}dtype = "f32", gated = false,{{.*}}key_tile = 64 : i64,{{.*}}operand_args = array<i64: 0, 1, 2>, pattern = #attn.causal, query_heads = 8 : i64, {{.*}}query_tile = 64 : i64{{.*}}work_items = "causal_attn0_work_items"}
// CHECK-SAME:    llvm.emit_c_interface
// Scratch on the stack: Qᵀ, Sᵀ, Oᵀ and three lane vectors.
// CHECK-COUNT-3: memref.alloca() {alignment = 64 : i64} : memref<64x64xf32>
// CHECK:         scf.for %{{.*}} = %[[BEGIN]] to %[[END]]
// The key-tile loop: one classification, then a masked and an unmasked body.
// CHECK:           scf.for
// CHECK:             scf.if
// CHECK:               scf.if
// Masked body: the causal mask compares key and query positions per lane.
// CHECK:                 arith.cmpi sle, %{{.*}} : vector<64xi64>
// CHECK:                 arith.select %{{.*}} : vector<64xi1>, vector<64xf32>
// CHECK:               } else {
// Unmasked body: broadcast-FMA register blocks of 4 rows x 64 lanes.
// CHECK-NOT:             vector<64xi64>
// CHECK:                 vector.fma {{.*}} : vector<64xf32>
// CHECK:                 vector.fma {{.*}} : vector<64xf32>
// CHECK:                 vector.fma {{.*}} : vector<64xf32>
// CHECK:                 vector.fma {{.*}} : vector<64xf32>
// CHECK:                 scf.yield {{.*}} : vector<64xf32>, vector<64xf32>, vector<64xf32>, vector<64xf32>
// CHECK:                 math.roundeven
// CHECK-LABEL: func.func @causal_attn0_work_items(%{{[a-z0-9]+}}: i64, %{{[a-z0-9]+}}: i64, %{{[a-z0-9]+}}: i64) -> i64
// CHECK-NOT:   attn.attention

// On AVX2, 8 lanes per register, 8 accumulators: lane groups of 16, 4 rows.
// AVX2-LABEL: func.func @causal_attn0(
// AVX2:         vector.fma {{.*}} : vector<16xf32>
// AVX2:         scf.yield {{.*}} : vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>
func.func @causal(%q: tensor<?x8x?x64xf32>, %k: tensor<?x2x?x64xf32>, %v: tensor<?x2x?x64xf32>) -> tensor<?x8x?x64xf32> {
  %o = attn.attention %q, %k, %v {pattern = #attn.causal}
      : tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32> -> tensor<?x8x?x64xf32>
  return %o : tensor<?x8x?x64xf32>
}

// -----

// Gated ops take the compacted active list; bf16 loads widen to f32 and the
// output narrows back.
// CHECK-LABEL: func.func @gated_attn0(
// CHECK-SAME:    memref<?x4x?x128xbf16, strided<[?, ?, ?, 1], offset: ?>>
// CHECK-SAME:    memref<?xi32, strided<[?], offset: ?>>, %{{[a-z0-9]+}}: index, %{{[a-z0-9]+}}: index)
// CHECK-SAME:    gated = true, gates = "gates"
// CHECK:         memref.load %{{.*}} : memref<?xi32, strided<[?], offset: ?>>
// CHECK:         arith.extf %{{.*}} : bf16 to f32
// CHECK:         arith.truncf %{{.*}} : f32 to bf16
func.func @gated(%q: tensor<2x4x?x128xbf16>, %k: tensor<2x4x?x128xbf16>, %v: tensor<2x4x?x128xbf16>, %g: tensor<2x4xi1>) -> tensor<2x4x?x128xbf16> {
  %o = attn.attention %q, %k, %v gates(%g : tensor<2x4xi1>) {pattern = #attn.local<window = 128>}
      : tensor<2x4x?x128xbf16>, tensor<2x4x?x128xbf16>, tensor<2x4x?x128xbf16> -> tensor<2x4x?x128xbf16>
  return %o : tensor<2x4x?x128xbf16>
}

// -----

// Explicit layouts: a constant table in the module.
// CHECK:       memref.global "private" constant @__attn_block_layout_{{[0-9]+}} : memref<4xi8> = dense<[1, 0, 1, 1]>
// Random blocks: the kept blocks come from the same splitmix64 stream as the
// compiler's planner (a while loop per tile), not from a table.
// CHECK-LABEL: func.func @random_attn0(
// CHECK:         scf.while
// CHECK:           math.log
// CHECK:           math.floor
// CHECK-LABEL: func.func @random_attn1(
// CHECK:         memref.get_global @__attn_block_layout_
func.func @random(%q: tensor<1x2x?x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) -> (tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>) {
  %o = attn.attention %q, %k, %v {pattern = #attn.random_blocks<density = 0.25, seed = 3>}
      : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
  %p = attn.attention %q, %k, %v {pattern = #attn.block_layout<block = 64, shape = [2, 2], layout = [1, 0, 1, 1]>}
      : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
  return %o, %p : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>
}

// -----

// Runtime gates compacted in the function (what attn-fuse-skipped-heads
// makes of `gates`): the kernel takes the active list, the manifest binds it
// to the gates argument, which the runtime compacts the same way.
// CHECK-LABEL: func.func @compacted_attn0(
// CHECK-SAME:    memref<?xi32, strided<[?], offset: ?>>
// CHECK-SAME:    gated = true, gates = "gates"
// CHECK-SAME:    operand_args = array<i64: 0, 0, 0, 1>
// CHECK-NOT:   attn.active_heads
func.func @compacted(%q: tensor<4x16x?x64xf32>, %g: tensor<4x16xi1>) -> tensor<4x16x?x64xf32> {
  %p = attn.active_heads %g : tensor<4x16xi1> -> tensor<?xi32>
  %o = attn.attention %q, %q, %q active(%p : tensor<?xi32>) {pattern = #attn.causal}
      : tensor<4x16x?x64xf32>, tensor<4x16x?x64xf32>, tensor<4x16x?x64xf32> -> tensor<4x16x?x64xf32>
  return %o : tensor<4x16x?x64xf32>
}
