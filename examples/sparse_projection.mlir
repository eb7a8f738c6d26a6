// Sparse projection: per KV-head group, keep the 8 best key blocks of 64 for
// each query block (always the first block and the two latest), then attend
// to those blocks only. All four query heads of a group share one selection,
// so their K/V tiles are loaded once.
//
//   attn-opt examples/sparse_projection.mlir
func.func @topk_blocks(%q: tensor<1x32x4096x128xbf16>, %k: tensor<1x8x4096x128xbf16>,
                       %v: tensor<1x8x4096x128xbf16>) -> tensor<1x32x4096x128xbf16> {
  %blocks = attn.select_blocks %q, %k
      {query_block = 64, key_block = 64, top_k = 8, keep_sink = 1, keep_local = 2, causal}
      : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16> -> tensor<1x8x64x8xi32>
  // MoBA-style: the selected blocks plus a causal window of 64.
  %o = attn.attention %q, %k, %v blocks(%blocks : tensor<1x8x64x8xi32>)
      {pattern = #attn.union<[#attn.selected<query_block = 64, key_block = 64, causal>,
                              #attn.local<window = 63, causal>]>}
      : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16>
        -> tensor<1x32x4096x128xbf16>
  return %o : tensor<1x32x4096x128xbf16>
}
