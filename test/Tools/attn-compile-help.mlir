// attn-compile --help lists its own options, not all of LLVM's.
// RUN: attn-compile --help | FileCheck %s
// CHECK: attn-compile: compile attn IR into CPU or CUDA kernels
// CHECK: --emit=<value>
// CHECK: =artifact
// CHECK: =so
// CHECK: =obj
// CHECK: =asm
// CHECK: =llvm
// CHECK: =mlir
// CHECK: --key-tile=
// CHECK: -o <path>
// CHECK: --query-len=
// CHECK: --query-tile=
// CHECK: --schedule-file=<json>
// CHECK: --target=<name>
// CHECK-NOT: --mlir-print-ir-after-all
// CHECK-NOT: --x86-
