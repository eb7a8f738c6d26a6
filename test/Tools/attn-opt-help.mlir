// attn-opt lists attn's passes next to upstream's.
// RUN: attn-opt --help | FileCheck %s
// CHECK: --attn-apply-schedule
// CHECK-NEXT: --schedule-file=
// CHECK: --attn-plan-blocks
// CHECK: --key-tile=
// CHECK: --materialize-tables
// CHECK: --query-tile=
// CHECK: --target=
// CHECK: --attn-report
// CHECK: --batch=
// CHECK: --format=
// CHECK: --test-attn-block-plan
// CHECK: --test-attn-key-ranges
