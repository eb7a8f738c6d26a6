// attn-compile for a CUDA chip: attn-convert-to-gpu, then PTX from
// gpu-lower-to-nvvm-pipeline (tensor-core mma.sync, no local memory) and a
// cubin from ptxas; the artifact holds the chip's cubin, the sm_80 PTX and
// a manifest with the kernel's CUDA entry (docs/artifact.md).
//
// REQUIRES: ptxas
// RUN: attn-compile %s --target=sm_90 --emit=asm \
// RUN:   | FileCheck %s --check-prefix=PTX --implicit-check-not=.local
// RUN: attn-compile %s --target=sm_90 --emit=mlir | FileCheck %s --check-prefix=MLIR
// RUN: attn-compile %s --target=sm_90 --query-tile=64 --emit=mlir | FileCheck %s --check-prefix=QT64
// RUN: rm -rf %t && attn-compile %s --target=sm_80 -o %t
// RUN: FileCheck %s < %t/manifest.json
// RUN: ls %t | FileCheck %s --check-prefix=FILES
// RUN: rm -rf %t.90a && attn-compile %s --target=sm_90a -o %t.90a
// RUN: FileCheck %s --check-prefix=SM90A < %t.90a/manifest.json
// RUN: attn-compile %s --target=sm_90 --emit=obj -o %t.cubin
// RUN: od -A n -t x1 -N 4 %t.cubin | FileCheck %s --check-prefix=ELF
// ptxas takes the kernel for every named chip.
// RUN: attn-compile %s --target=sm_86 --emit=obj -o %t.86.cubin
// RUN: od -A n -t x1 -N 4 %t.86.cubin | FileCheck %s --check-prefix=ELF
// RUN: attn-compile %s --target=sm_89 --emit=obj -o %t.89.cubin
// RUN: od -A n -t x1 -N 4 %t.89.cubin | FileCheck %s --check-prefix=ELF

// PTX: .target sm_90
// PTX: .entry causal_attn0(
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32

// MLIR: gpu.module @kernels
// MLIR: gpu.func @causal_attn0(
// MLIR-SAME: chip = "sm_90"
// MLIR-SAME: grid = {query_tile = 128 : i64

// --query-tile picks the one-m-tile-per-warp kernel.
// QT64: gpu.func @causal_attn0(
// QT64-SAME: memref<64x72xbf16, #gpu.address_space<workgroup>>
// QT64-SAME: grid = {query_tile = 64 : i64

// CHECK:      "format": "attn-artifact",
// CHECK-NEXT: "version": 1,
// CHECK-NEXT: "compiler": "attn {{.*}} (LLVM 22.{{.*}})",
// CHECK-NEXT: "target": "sm_80",
// CHECK:      "files": [
// CHECK-NEXT:   {
// CHECK-NEXT:     "path": "causal_attn0.sm_80.cubin",
// CHECK-NEXT:     "size": {{[1-9][0-9]*}},
// CHECK-NEXT:     "sha256": "{{[0-9a-f]{64}"}}
// CHECK-NEXT:   },
// CHECK-NEXT:   {
// CHECK-NEXT:     "path": "causal_attn0.ptx",
// CHECK-NEXT:     "size": {{[1-9][0-9]*}},
// CHECK-NEXT:     "sha256": "{{[0-9a-f]{64}"}}
// CHECK-NEXT:   }
// CHECK-NEXT: ],
// CHECK:      "functions": [
// CHECK:          "name": "causal",
// CHECK:          "kernels": [
// CHECK-NEXT:       "causal_attn0"
// CHECK:      "kernels": [
// CHECK-NEXT:   {
// CHECK-NEXT:     "name": "causal_attn0",
// CHECK-NEXT:     "device": "cuda",
// CHECK-NEXT:     "op": "attention",
// CHECK-NEXT:     "source": "causal",
// CHECK-NEXT:     "dtype": "bf16",
// CHECK-NEXT:     "head_dim": 64,
// CHECK-NEXT:     "value_dim": 64,
// CHECK:          "pattern": "#attn.causal",
// CHECK-NEXT:     "scale": 0.125,
// CHECK-NEXT:     "query_heads": 8,
// CHECK-NEXT:     "key_heads": 2,
// CHECK:          "operand_args": [
// CHECK:          "result_index": 0,
// CHECK-NEXT:     "cuda": {
// CHECK-NEXT:       "entry": "causal_attn0",
// CHECK-NEXT:       "binaries": {
// CHECK-NEXT:         "sm_80": "causal_attn0.sm_80.cubin"
// CHECK-NEXT:       },
// CHECK-NEXT:       "ptx": {
// CHECK-NEXT:         "target": "sm_80",
// CHECK-NEXT:         "file": "causal_attn0.ptx"
// CHECK-NEXT:       },
// CHECK-NEXT:       "block": [
// CHECK-NEXT:         128,
// CHECK-NEXT:         1,
// CHECK-NEXT:         1
// CHECK-NEXT:       ],
// CHECK-NEXT:       "dynamic_shared_memory": 0,
// CHECK-NEXT:       "grid": {
// CHECK-NEXT:         "query_tile": 128,
// CHECK-NEXT:         "rule": "query_tiles_x_pairs",
// CHECK-NEXT:         "query_tiles": "positions"
// CHECK-NEXT:       },
// CHECK-NEXT:       "params": [
// The 19 parameters: q, k, v, o, 12 strides, Sq, Skv, scale.
// CHECK-COUNT-19:     "name": "{{[a-z_0-9]+}}",
// CHECK-NOT:          "name":
// CHECK:            ]
// CHECK-NEXT:     }
// CHECK-NEXT:   }
// CHECK-NEXT: ]

// FILES: causal_attn0.ptx
// FILES-NEXT: causal_attn0.sm_80.cubin
// FILES-NEXT: manifest.json

// SM90A: "path": "causal_attn0.sm_90a.cubin",
// SM90A: "sm_90a": "causal_attn0.sm_90a.cubin"

// ELF: 7f 45 4c 46

func.func @causal(%q: tensor<?x8x?x64xbf16>, %k: tensor<?x2x?x64xbf16>, %v: tensor<?x2x?x64xbf16>) -> tensor<?x8x?x64xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.causal} : tensor<?x8x?x64xbf16>, tensor<?x2x?x64xbf16>, tensor<?x2x?x64xbf16> -> tensor<?x8x?x64xbf16>
  return %o : tensor<?x8x?x64xbf16>
}
