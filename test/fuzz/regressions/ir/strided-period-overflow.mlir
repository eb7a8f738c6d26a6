func.func @h(%q: tensor<1x1x40x32xf32>) -> tensor<1x1x40x32xf32> {
  %o = attn.attention %q, %q, %q {pattern = #attn.union<[#attn.random_blocks<density = 0.0001, seed = 1, block = 1>, #attn.strided<stride = 1099511627776, block = 1099511627776, causal>, #attn.global<tokens = 1099511627776>]>} : tensor<1x1x40x32xf32>, tensor<1x1x40x32xf32>, tensor<1x1x40x32xf32> -> tensor<1x1x40x32xf32>
  return %o : tensor<1x1x40x32xf32>
}
