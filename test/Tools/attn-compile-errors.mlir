// attn-compile's errors: a message and exit status 1, never a crash.
//
// RUN: not attn-compile %s --target=x86-64-v5 --emit=llvm 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not attn-compile %s --target=x86-64-v3 2>&1 | FileCheck %s --check-prefix=ARTIFACT
// RUN: not attn-compile %s --target=x86-64-v3 --emit=obj 2>&1 | FileCheck %s --check-prefix=OBJ
// RUN: not attn-compile %s.missing --target=x86-64-v3 --emit=llvm 2>&1 | FileCheck %s --check-prefix=INPUT
// RUN: not attn-compile %s --target=aarch64 --emit=so -o %t.so 2>&1 | FileCheck %s --check-prefix=CROSS
// RUN: not attn-compile %s --emit=llvm 2>&1 | FileCheck %s --check-prefix=REQUIRED
// RUN: not attn-compile %s --target=x86-64-v3 --emit=mlir --query-tile=12 2>&1 | FileCheck %s --check-prefix=TILE
// RUN: not attn-compile %S/Inputs/compile-unsupported.mlir --target=x86-64-v3 --emit=mlir 2>&1 | FileCheck %s --check-prefix=REFUSED
// RUN: not attn-compile %s --target=sm_90 --emit=llvm 2>&1 | FileCheck %s --check-prefix=GPU-EMIT
// RUN: not attn-compile %s --target=sm_90 --emit=so -o %t.so 2>&1 | FileCheck %s --check-prefix=GPU-SO
// RUN: not attn-compile %s --target=sm_90 --emit=mlir 2>&1 | FileCheck %s --check-prefix=GPU-DTYPE

// TARGET: attn-compile: error: unknown CPU target 'x86-64-v5'; expected one of: x86-64-v3, x86-64-v4, aarch64, native
// ARTIFACT: attn-compile: error: --emit=artifact needs -o DIR
// OBJ: attn-compile: error: --emit=obj and --emit=so need -o <file>
// INPUT: attn-compile: error: cannot open input file '{{.*}}.missing'
// CROSS: error: cannot link a shared library for aarch64 (aarch64-unknown-linux-gnu) on this {{.*}} host; emit an object (--emit=obj) and link it there
// REQUIRED: must be specified at least once
// TILE: error: query tile of 12 is not a multiple of 8
// REFUSED: compile-unsupported.mlir:{{[0-9]+}}:{{[0-9]+}}: error:
// REFUSED-NOT: see current operation
// GPU-EMIT: attn-compile: error: --emit=llvm is for CPU targets; for sm_90 use --emit=artifact, obj (cubin), asm (PTX) or mlir
// GPU-SO: attn-compile: error: --emit=so is for CPU targets
// GPU-DTYPE: attn-compile-errors.mlir:{{[0-9]+}}:{{[0-9]+}}: error: {{.*}}f32

func.func @one(%q: tensor<1x2x128x64xf32>) -> tensor<1x2x128x64xf32> {
  %o = attn.attention %q, %q, %q {pattern = #attn.dense}
      : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x2x128x64xf32>
  return %o : tensor<1x2x128x64xf32>
}
