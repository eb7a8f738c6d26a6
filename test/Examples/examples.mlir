// Every example under examples/ parses, verifies and round-trips through the
// custom and the generic form; the schedule example applies.
//
// RUN: attn-opt %attn_src_root/examples/head_activation.mlir | attn-opt | FileCheck %s --check-prefix=HEADS
// RUN: attn-opt %attn_src_root/examples/head_activation.mlir --mlir-print-op-generic | attn-opt | FileCheck %s --check-prefix=HEADS
// HEADS-LABEL: func @gated_layer
// HEADS: %[[G:.*]] = attn.head_gate %{{.*}} {budget = #attn.budget<0.5>}
// HEADS: attn.attention %{{.*}}, %{{.*}}, %{{.*}} gates(%[[G]] : tensor<4x16xi1>) {pattern = #attn.causal}
// HEADS-LABEL: func @runtime_budget
// HEADS: attn.head_gate %{{.*}} budget(%{{.*}} : f32)
// HEADS: attn.head_gate %{{.*}} {min_active = 2 : i64, threshold = 0.000000e+00 : f32}
//
// RUN: attn-opt %attn_src_root/examples/structured_patterns.mlir | attn-opt | FileCheck %s --check-prefix=PATTERNS
// RUN: attn-opt %attn_src_root/examples/structured_patterns.mlir --mlir-print-op-generic | attn-opt | FileCheck %s --check-prefix=PATTERNS
// PATTERNS-COUNT-8: attn.attention
//
// RUN: attn-opt %attn_src_root/examples/structured_patterns.mlir -test-attn-key-ranges="query-block=256" -o /dev/null | FileCheck %s --check-prefix=PLAN
// PLAN-LABEL: pattern = #attn.block_layout<block = 256, shape = [4, 4]
// PLAN-NEXT: head 0 rows {{\[}}0, 256): {{\[}}0, 256) (256 keys)
// PLAN-NEXT: head 0 rows {{\[}}256, 512): {{\[}}0, 512) (512 keys)
// PLAN-NEXT: head 0 rows {{\[}}512, 768): {{\[}}256, 768) (512 keys)
// PLAN-NEXT: head 0 rows {{\[}}768, 1024): {{\[}}512, 1024) (512 keys)
//
// RUN: attn-opt %attn_src_root/examples/budgets.mlir | attn-opt | FileCheck %s --check-prefix=BUDGETS
// RUN: attn-opt %attn_src_root/examples/budgets.mlir -attn-apply-schedule | FileCheck %s --check-prefix=SCHEDULED
// BUDGETS: attn.schedule = #attn.schedule<[#attn.layer<0, budget = 1.0>, #attn.layer<1, budget = 0.75>, #attn.layer<2, budget = 0.5, pattern = #attn.local<window = 511, causal>>]>
// SCHEDULED: attn.attention {{.*}} {budget = #attn.budget<1.0>, layer = 0 : i64, pattern = #attn.causal}
// SCHEDULED: attn.head_gate {{.*}} {budget = #attn.budget<0.75>, layer = 1 : i64}
// SCHEDULED: attn.attention {{.*}} {budget = #attn.budget<0.75>, layer = 1 : i64, pattern = #attn.causal}
// SCHEDULED: attn.attention {{.*}} {budget = #attn.budget<0.5>, layer = 2 : i64, pattern = #attn.local<window = 511, causal>}
//
// RUN: attn-opt %attn_src_root/examples/sparse_projection.mlir | attn-opt | FileCheck %s --check-prefix=SPARSE
// RUN: attn-opt %attn_src_root/examples/sparse_projection.mlir --mlir-print-op-generic | attn-opt | FileCheck %s --check-prefix=SPARSE
// SPARSE-LABEL: func @select
// SPARSE: attn.select_blocks {{.*}} -> tensor<?x8x?x8xi32>
// SPARSE-LABEL: func @attend
// SPARSE: attn.attention {{.*}} blocks(%{{.*}} : tensor<?x8x?x8xi32>) {pattern = #attn.selected<query_block = 64, key_block = 64, causal>}
// SPARSE-LABEL: func @compress
// SPARSE: attn.compress_kv {{.*}} {block = 32 : i64, method = #attn.compression<mean>, stride = 16 : i64}
//
// RUN: attn-opt %attn_src_root/examples/grouped_compressed_kv.mlir | attn-opt | FileCheck %s --check-prefix=NSA
// RUN: attn-opt %attn_src_root/examples/grouped_compressed_kv.mlir --mlir-print-op-generic | attn-opt | FileCheck %s --check-prefix=NSA
// NSA: attn.compress_kv {{.*}} weights({{.*}}) {block = 32 : i64, method = #attn.compression<linear>, stride = 16 : i64}
// NSA: attn.attention {{.*}} -> tensor<1x32x2048x64xf16>
// NSA: attn.compress_kv {{.*}} {block = 64 : i64, method = #attn.compression<mean>}
// NSA: attn.select_blocks {{.*}} pooled_keys
// NSA-COUNT-2: attn.attention
//
// The gated 4-layer model: budgets falling with depth become gate budgets
// and the reported cost falls with them; the calibrated layer loses 4 of 8
// heads' attention and projections.
// RUN: attn-opt %attn_src_root/examples/gated_model.mlir | attn-opt | FileCheck %s --check-prefix=GATED
// RUN: attn-opt %attn_src_root/examples/gated_model.mlir -attn-apply-schedule -attn-resolve-budgets -attn-report -o /dev/null 2>&1 | FileCheck %s --check-prefix=BUDGETS4
// RUN: attn-opt %attn_src_root/examples/gated_model.mlir -attn-fuse-skipped-heads -canonicalize -cse | FileCheck %s --check-prefix=FUSED
// GATED-COUNT-4: attn.head_gate
// BUDGETS4: remark: budget 1.0 resolved by head gates: gate budget 1.0000, active heads cost at most 0.5625 of dense
// BUDGETS4: remark: budget 0.75 resolved by head gates: gate budget 1.0000, active heads cost at most 0.5625 of dense
// BUDGETS4: remark: budget 0.5 resolved by head gates: gate budget 0.8889, active heads cost at most 0.5000 of dense
// BUDGETS4: remark: budget 0.25 resolved by head gates: gate budget 0.4444, active heads cost at most 0.2500 of dense
// BUDGETS4: 0 #attn.causal {{.*}} 0.5625 576/1024
// BUDGETS4-NEXT: 1 #attn.causal {{.*}} 0.5625 576/1024
// BUDGETS4-NEXT: 2 #attn.causal {{.*}} 0.4922 504/1024
// BUDGETS4-NEXT: 3 #attn.causal {{.*}} 0.2109 216/1024
// BUDGETS4-NEXT: 4 #attn.causal {{.*}} 0.2812 288/1024 {{.*}} (static gates)
// FUSED-LABEL: func.func @calibrated_layer
// FUSED: tensor.extract_slice %arg1[0, 0, 0] [1, 256, 32]
// FUSED: tensor.extract_slice %arg1[3, 0, 0] [2, 256, 32]
// FUSED: tensor.extract_slice %arg1[7, 0, 0] [1, 256, 32]
// FUSED: attn.attention {{.*}} : tensor<1x4x1024x32xf32>, tensor<1x4x1024x32xf32>, tensor<1x4x1024x32xf32> -> tensor<1x4x1024x32xf32>
