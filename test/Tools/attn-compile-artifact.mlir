// attn-compile end to end: one f32 dense attention with D = 64 becomes
// kernels.so with the kernel's C entry point and work-item count, and a
// manifest that describes the function, the kernel, the file and the CPU
// it needs (docs/artifact.md).
//
// RUN: rm -rf %t && attn-compile %s --target=x86-64-v4 -o %t
// RUN: FileCheck %s < %t/manifest.json
// RUN: llvm-nm -D --defined-only %t/kernels.so | FileCheck %s --check-prefix=SYMBOLS
// RUN: attn-compile %s --target=x86-64-v4 --emit=mlir | FileCheck %s --check-prefix=MLIR
// RUN: attn-compile %s --target=x86-64-v4 --emit=asm | FileCheck %s --check-prefix=ASM

// CHECK:      "format": "attn-artifact",
// CHECK-NEXT: "version": 1,
// CHECK-NEXT: "compiler": "attn {{.*}} (LLVM 22.{{.*}})",
// CHECK-NEXT: "target": "x86-64-v4",
// CHECK-NEXT: "table_target": "x86-64-v4",
// CHECK-NEXT: "llvm_cpu": "x86-64-v4",
// CHECK-NEXT: "triple": "x86_64-unknown-linux-gnu",
// CHECK-NEXT: "host_requirements": {
// CHECK-NEXT:   "arch": "x86_64",
// CHECK-NEXT:   "cpu_features": [
// CHECK:          "avx2",
// CHECK-NEXT:     "fma",
// CHECK:          "avx512f",
// CHECK-NEXT:     "avx512cd",
// CHECK-NEXT:     "avx512bw",
// CHECK-NEXT:     "avx512dq",
// CHECK-NEXT:     "avx512vl"
// CHECK-NEXT:   ]
// CHECK-NEXT: },
// CHECK-NEXT: "library": "kernels.so",
// CHECK-NEXT: "files": [
// CHECK-NEXT:   {
// CHECK-NEXT:     "path": "kernels.so",
// CHECK-NEXT:     "size": {{[1-9][0-9]*}},
// CHECK-NEXT:     "sha256": "{{[0-9a-f]+}}"
// CHECK-NEXT:   }
// CHECK-NEXT: ],
// CHECK-NEXT: "functions": [
// CHECK-NEXT:   {
// CHECK-NEXT:     "name": "dense",
// CHECK-NEXT:     "inputs": [
// CHECK-NEXT:       {
// CHECK-NEXT:         "role": "query",
// CHECK-NEXT:         "dtype": "f32",
// CHECK-NEXT:         "shape": [
// CHECK-NEXT:           "B",
// CHECK-NEXT:           4,
// CHECK-NEXT:           "Sq",
// CHECK-NEXT:           64
// CHECK:              "role": "key",
// CHECK:                "Skv",
// CHECK:              "role": "value",
// CHECK:          "outputs": [
// CHECK-NEXT:       {
// CHECK-NEXT:         "role": "out",
// CHECK:          "kernels": [
// CHECK-NEXT:       "dense_attn0"
// CHECK-NEXT:     ]
// CHECK:      "kernels": [
// CHECK:        "name": "dense_attn0",
// CHECK-NEXT:   "op": "attention",
// CHECK-NEXT:   "symbol": "_mlir_ciface_dense_attn0",
// CHECK-NEXT:   "work_items_symbol": "dense_attn0_work_items",
// CHECK-NEXT:   "source": "dense",
// CHECK-NEXT:   "dtype": "f32",
// CHECK-NEXT:   "head_dim": 64,
// CHECK:        "gated": false,
// CHECK:        "pattern": "#attn.dense",
// CHECK:        "query_heads": 4,
// CHECK-NEXT:   "key_heads": 4,
// CHECK-NEXT:   "batch": -1,
// CHECK:        "operand_args": [
// CHECK-NEXT:     0,
// CHECK-NEXT:     1,
// CHECK-NEXT:     2
// CHECK-NEXT:   ],
// CHECK-NEXT:   "result_args": [
// CHECK-NEXT:     0
// CHECK-NEXT:   ],
// CHECK-NEXT:   "result_index": 0,
// CHECK-NEXT:   "arguments": [
// CHECK:          "name": "query",
// CHECK-NEXT:     "kind": "tensor",
// CHECK-NEXT:     "dtype": "f32",
// CHECK-NEXT:     "rank": 4,
// CHECK-NEXT:     "shape": [
// CHECK-NEXT:       "B",
// CHECK-NEXT:       4,
// CHECK-NEXT:       "Sq",
// CHECK-NEXT:       64
// CHECK:          "name": "key",
// CHECK:            "Skv",
// CHECK:          "name": "value",
// CHECK:          "name": "out",
// CHECK-NEXT:     "kind": "output",
// CHECK-NOT:      "active"

// SYMBOLS-DAG: T _mlir_ciface_dense_attn0
// SYMBOLS-DAG: T dense_attn0_work_items

// MLIR-NOT: attn.attention
// MLIR: func.func @dense_attn0(
// MLIR-SAME: attn.cpu_kernel = {
// MLIR-SAME: llvm.emit_c_interface
// MLIR: func.func @dense_attn0_work_items(%{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64) -> i64

// ASM-LABEL: dense_attn0:
// ASM: zmm
// ASM-LABEL: _mlir_ciface_dense_attn0:
// ASM-LABEL: dense_attn0_work_items:

func.func @dense(%q: tensor<?x4x?x64xf32>, %k: tensor<?x4x?x64xf32>,
                 %v: tensor<?x4x?x64xf32>) -> tensor<?x4x?x64xf32> {
  %o = attn.attention %q, %k, %v {pattern = #attn.dense}
      : tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32> -> tensor<?x4x?x64xf32>
  return %o : tensor<?x4x?x64xf32>
}
