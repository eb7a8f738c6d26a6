// The first tensor-core attention kernel (Inputs/fa-bf16-causal-d64.mlir,
// docs/gpu-notes.md) through the upstream GPU pipeline to PTX: what attn's
// GPU back end relies on, for sm_90 and sm_80.
//
// The PTX is one string attribute; its "\0A" escapes become lines for FileCheck.
// RUN: attn-opt %S/Inputs/fa-bf16-causal-d64.mlir --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_90 cubin-features=+ptx80 cubin-format=isa opt-level=3 kernel-bare-ptr-calling-convention=true" \
// RUN:   | sed 's/\\0A/\n/g' | FileCheck %s --implicit-check-not=.local --check-prefixes=CHECK,SM90
// RUN: attn-opt %S/Inputs/fa-bf16-causal-d64.mlir --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_80 cubin-features=+ptx80 cubin-format=isa opt-level=3 kernel-bare-ptr-calling-convention=true" \
// RUN:   | sed 's/\\0A/\n/g' | FileCheck %s --implicit-check-not=.local --check-prefixes=CHECK,SM80
//
// SM90: .target sm_90
// SM80: .target sm_80
// CHECK-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK-DAG: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// CHECK-DAG: cp.async.cg.shared.global
// CHECK-DAG: ex2.approx
// CHECK-DAG: st.global.v4
