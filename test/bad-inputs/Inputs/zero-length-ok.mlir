// Zero-length sequences that compile (test/bad-inputs/zero-length.mlir).
func.func @no_queries(%q: tensor<1x2x0x32xf32>, %k: tensor<1x2x64x32xf32>) -> tensor<1x2x0x32xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.causal} : tensor<1x2x0x32xf32>, tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32> -> tensor<1x2x0x32xf32>
  return %o : tensor<1x2x0x32xf32>
}

func.func @no_keys(%q: tensor<1x2x16x32xf32>, %k: tensor<1x2x0x32xf32>) -> tensor<1x2x16x32xf32> {
  %o = attn.attention %q, %k, %k {pattern = #attn.local<window = 4>} : tensor<1x2x16x32xf32>, tensor<1x2x0x32xf32>, tensor<1x2x0x32xf32> -> tensor<1x2x16x32xf32>
  return %o : tensor<1x2x16x32xf32>
}
