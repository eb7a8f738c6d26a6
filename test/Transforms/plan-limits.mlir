// Absurd shapes get a diagnostic, not a hang: planning is bounded.
// RUN: not attn-opt %s -attn-report -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: not attn-opt %s -attn-plan-blocks -o /dev/null 2>&1 | FileCheck %s --check-prefix=PLAN
// RUN: not attn-opt %s -test-attn-block-plan="query-tile=0" -o /dev/null 2>&1 | FileCheck %s --check-prefix=TILE
// RUN: not attn-opt %S/Inputs/plan-long-keys.mlir -attn-report -o /dev/null 2>&1 | FileCheck %s --check-prefix=KEYS
// KEYS: error: cannot plan 17179869184 key tiles; use larger tiles (at most 2^28)

// REPORT: error: attn-report cannot count 1 x 1 x 1099511627776 x 1099511627776 query-key pairs in 64 bits
// PLAN: error: cannot plan 8589934592 query tiles x 1 heads; use larger tiles (at most 2^26 in all)
// TILE: error: query-tile and key-tile must be >= 1, found 0 and 64
func.func @huge(%q: tensor<1x1x1099511627776x8xf32>) -> tensor<1x1x1099511627776x8xf32> {
  %0 = attn.attention %q, %q, %q {pattern = #attn.causal} : tensor<1x1x1099511627776x8xf32>, tensor<1x1x1099511627776x8xf32>, tensor<1x1x1099511627776x8xf32> -> tensor<1x1x1099511627776x8xf32>
  return %0 : tensor<1x1x1099511627776x8xf32>
}
