// attn-opt lists attn's passes next to upstream's.
// RUN: attn-opt --help | FileCheck %s
// CHECK: --attn-apply-schedule
// CHECK-NEXT: --schedule-file=
// CHECK: --test-attn-key-ranges
