// attn-compile's CPU back end on an already-lowered kernel: a module without
// attn ops passes the attn passes unchanged, then goes to LLVM IR, assembly,
// objects and shared libraries for each named CPU.
//
// RUN: attn-compile %s --target=x86-64-v4 --emit=mlir | FileCheck %s --check-prefix=MLIR
// RUN: attn-compile %s --target=x86-64-v4 --emit=llvm | FileCheck %s --check-prefix=LLVM
// RUN: attn-compile %s --target=x86-64-v4 --emit=asm | FileCheck %s --check-prefix=V4
// RUN: attn-compile %s --target=x86-64-v3 --emit=asm -o %t.s
// RUN: FileCheck %s --check-prefix=V3 < %t.s
// RUN: attn-compile %s --target=aarch64 --emit=obj -o %t.arm.o
// RUN: llvm-readobj --file-headers %t.arm.o | FileCheck %s --check-prefix=ARM
// RUN: attn-compile %s --target=x86-64-v3 --emit=obj -o %t.x86.o
// RUN: llvm-readobj --file-headers %t.x86.o | FileCheck %s --check-prefix=X86
// RUN: attn-compile %s --target=x86-64-v3 --emit=so -o %t.so
// RUN: llvm-nm -D --defined-only %t.so | FileCheck %s --check-prefix=SO
// RUN: attn-compile %s --target=native --emit=llvm | FileCheck %s --check-prefix=NATIVE
// RUN: rm -rf %t.dir && attn-compile %s --target=x86-64-v3 -o %t.dir
// RUN: FileCheck %s --check-prefix=EMPTY < %t.dir/manifest.json
// RUN: llvm-nm -D --defined-only %t.dir/kernels.so | FileCheck %s --check-prefix=SO

// MLIR: func.func @fma16(%{{.*}}: memref<16xf32>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<16xf32>) attributes {llvm.emit_c_interface}
// MLIR: vector.fma
// MLIR: math.exp2

// LLVM: target triple = "x86_64-unknown-linux-gnu"
// LLVM: define void @fma16(
// LLVM: @llvm.fmuladd.v16f32(
// LLVM: define void @_mlir_ciface_fma16(ptr {{.*}}, ptr {{.*}}, ptr {{.*}})
// exp2 is a polynomial, not a libm call per lane.
// LLVM-NOT: @llvm.exp
// LLVM-NOT: @exp
// LLVM: "target-cpu"="x86-64-v4"

// V4-LABEL: fma16:
// V4: vfmadd{{[0-9]+}}ps {{.*}}zmm

// V3-NOT: zmm
// V3: vfmadd{{[0-9]+}}ps {{.*}}ymm
// V3-NOT: zmm

// ARM: Format: elf64-littleaarch64
// ARM: Machine: EM_AARCH64

// X86: Format: elf64-x86-64
// X86: Type: Relocatable
// X86: Machine: EM_X86_64

// SO: T _mlir_ciface_fma16
// SO: T fma16

// NATIVE: define void @_mlir_ciface_fma16(
// NATIVE: "target-cpu"=

// EMPTY: "format": "attn-artifact",
// EMPTY: "target": "x86-64-v3",
// EMPTY: "library": "kernels.so",
// EMPTY: "kernels": []

func.func @fma16(%a: memref<16xf32>, %b: memref<16xf32>, %c: memref<16xf32>)
    attributes {llvm.emit_c_interface} {
  %i0 = arith.constant 0 : index
  %va = vector.load %a[%i0] : memref<16xf32>, vector<16xf32>
  %vb = vector.load %b[%i0] : memref<16xf32>, vector<16xf32>
  %vc = vector.load %c[%i0] : memref<16xf32>, vector<16xf32>
  %r = vector.fma %va, %vb, %vc : vector<16xf32>
  %e = math.exp2 %r : vector<16xf32>
  vector.store %e, %c[%i0] : memref<16xf32>, vector<16xf32>
  return
}
