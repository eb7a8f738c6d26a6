// NSA's combined form at 16k (bench/gpu/cases_branches/nsa_q64_causal.mlir
// with static sizes).
func.func @nsa(%q: tensor<1x16x16384x128xbf16>, %k: tensor<1x2x16384x128xbf16>,
               %v: tensor<1x2x16384x128xbf16>, %ck: tensor<1x2x1023x128xbf16>,
               %cv: tensor<1x2x1023x128xbf16>, %idx: tensor<1x2x256x16xi32>,
               %w: tensor<1x16x16384x3xf32>) -> tensor<1x16x16384x128xbf16> {
  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
      {compress_block = 32, compress_stride = 16, causal,
       selected = #attn.selected<query_block = 64, key_block = 64, causal>,
       window = #attn.local<window = 511, causal>}
      : tensor<1x16x16384x128xbf16>, tensor<1x2x16384x128xbf16>,
        tensor<1x2x16384x128xbf16>, tensor<1x2x1023x128xbf16>,
        tensor<1x2x1023x128xbf16>, tensor<1x2x256x16xi32>,
        tensor<1x16x16384x3xf32> -> tensor<1x16x16384x128xbf16>
  return %o : tensor<1x16x16384x128xbf16>
}
