// Dynamic head activation: a router scores each (batch, head); the top half of
// the heads of each batch row fire, and the others cost nothing.
//
//   attn-opt examples/head_activation.mlir
//
// The router here is a linear map of the mean query of each head; any
// computation that yields B x H scores will do.
func.func @gated_layer(%x: tensor<4x16x512x64xbf16>, %k: tensor<4x16x512x64xbf16>,
                       %v: tensor<4x16x512x64xbf16>, %router_scores: tensor<4x16xf32>)
    -> tensor<4x16x512x64xbf16> {
  // Monotone top-k: budget 0.5 of 16 heads -> 8 heads fire per batch row.
  %gates = attn.head_gate %router_scores {budget = #attn.budget<0.5>}
      : tensor<4x16xf32> -> tensor<4x16xi1>
  // Gated-off heads are never launched; their output is zero.
  %o = attn.attention %x, %k, %v gates(%gates : tensor<4x16xi1>)
      {pattern = #attn.causal}
      : tensor<4x16x512x64xbf16>, tensor<4x16x512x64xbf16>, tensor<4x16x512x64xbf16>
        -> tensor<4x16x512x64xbf16>
  return %o : tensor<4x16x512x64xbf16>
}

// The same with the budget decided at run time (e.g. by a serving system under
// load), and a threshold rule that keeps at least two heads.
func.func @runtime_budget(%q: tensor<?x16x?x64xf16>, %k: tensor<?x16x?x64xf16>,
                          %v: tensor<?x16x?x64xf16>, %scores: tensor<?x16xf32>,
                          %budget: f32) -> (tensor<?x16x?x64xf16>, tensor<?x16xi1>) {
  %g = attn.head_gate %scores budget(%budget : f32) : tensor<?x16xf32> -> tensor<?x16xi1>
  %o = attn.attention %q, %k, %v gates(%g : tensor<?x16xi1>)
      : tensor<?x16x?x64xf16>, tensor<?x16x?x64xf16>, tensor<?x16x?x64xf16>
        -> tensor<?x16x?x64xf16>
  %t = attn.head_gate %scores {threshold = 0.0 : f32, min_active = 2}
      : tensor<?x16xf32> -> tensor<?x16xi1>
  return %o, %t : tensor<?x16x?x64xf16>, tensor<?x16xi1>
}
