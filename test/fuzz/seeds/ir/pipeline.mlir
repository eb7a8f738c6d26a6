module attributes {attn.schedule = #attn.schedule<[
    #attn.layer<0, budget = 0.5>,
    #attn.layer<1, pattern = #attn.local<window = 31, causal>>]>} {
  func.func @model(%s: tensor<2x4xf32>, %q: tensor<2x4x64x16xf32>,
                   %k: tensor<2x2x64x16xf32>, %v: tensor<2x2x64x16xf32>)
      -> tensor<2x4x64x16xf32> {
    %g = attn.head_gate %s {budget = #attn.budget<0.5>, layer = 0}
        : tensor<2x4xf32> -> tensor<2x4xi1>
    %o = attn.attention %q, %k, %v gates(%g : tensor<2x4xi1>)
        {pattern = #attn.union<[#attn.global<tokens = 4>, #attn.local<window = 8>]>}
        : tensor<2x4x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>
          -> tensor<2x4x64x16xf32>
    %o1 = attn.attention %o, %k, %v {layer = 1}
        : tensor<2x4x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>
          -> tensor<2x4x64x16xf32>
    return %o1 : tensor<2x4x64x16xf32>
  }
}
