// Budgets and per-layer schedules: each layer may spend a fraction of dense
// attention cost, and deeper layers prune more.
//
//   attn-opt examples/budgets.mlir -attn-apply-schedule
//
// The schedule gives layer 0 the full budget, layer 1 three quarters, and
// layer 2 half the cost with a causal window; attn-apply-schedule copies each
// entry onto the ops that carry that layer index (later, attn-resolve-budgets
// turns the budgets into concrete gates and pattern parameters).
module attributes {attn.schedule = #attn.schedule<[
    #attn.layer<0, budget = 1.0>,
    #attn.layer<1, budget = 0.75>,
    #attn.layer<2, budget = 0.5, pattern = #attn.local<window = 511, causal>>]>} {
  func.func @three_layers(%x: tensor<1x8x2048x64xf16>, %k: tensor<1x8x2048x64xf16>,
                          %v: tensor<1x8x2048x64xf16>, %scores: tensor<1x8xf32>)
      -> tensor<1x8x2048x64xf16> {
    %l0 = attn.attention %x, %k, %v {layer = 0, pattern = #attn.causal}
        : tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16> -> tensor<1x8x2048x64xf16>
    // Layer 1 gates heads under its budget; the schedule sets the budget.
    %g1 = attn.head_gate %scores {budget = #attn.budget<1.0>, layer = 1}
        : tensor<1x8xf32> -> tensor<1x8xi1>
    %l1 = attn.attention %l0, %k, %v gates(%g1 : tensor<1x8xi1>) {layer = 1, pattern = #attn.causal}
        : tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16> -> tensor<1x8x2048x64xf16>
    %l2 = attn.attention %l1, %k, %v {layer = 2}
        : tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16> -> tensor<1x8x2048x64xf16>
    return %l2 : tensor<1x8x2048x64xf16>
  }
}
