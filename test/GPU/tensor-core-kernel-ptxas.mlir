// ptxas accepts the kernel for each chip attn targets (cubins built through
// gpu-module-to-binary with the CUDA toolkit; skipped without the toolkit).
//
// REQUIRES: ptxas
// RUN: attn-opt %S/Inputs/fa-bf16-causal-d64.mlir --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_80 cubin-features=+ptx80 cubin-format=bin opt-level=3 kernel-bare-ptr-calling-convention=true" | FileCheck %s
// RUN: attn-opt %S/Inputs/fa-bf16-causal-d64.mlir --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_86 cubin-features=+ptx80 cubin-format=bin opt-level=3 kernel-bare-ptr-calling-convention=true" | FileCheck %s
// RUN: attn-opt %S/Inputs/fa-bf16-causal-d64.mlir --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_89 cubin-features=+ptx80 cubin-format=bin opt-level=3 kernel-bare-ptr-calling-convention=true" | FileCheck %s
// RUN: attn-opt %S/Inputs/fa-bf16-causal-d64.mlir --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_90 cubin-features=+ptx80 cubin-format=bin opt-level=3 kernel-bare-ptr-calling-convention=true" | FileCheck %s
// RUN: attn-opt %S/Inputs/fa-bf16-causal-d64.mlir --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_90a cubin-features=+ptx80 cubin-format=bin opt-level=3 kernel-bare-ptr-calling-convention=true" | FileCheck %s
//
// CHECK: gpu.binary @kernels
// CHECK-SAME: #gpu.object<#nvvm.target
// CHECK-SAME: bin = "
