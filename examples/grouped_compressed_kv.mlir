// Compact grouped attention: the 4 query heads of each KV-head group share
// one compressed K/V (overlapping windows of 32 tokens every 16), computed
// once per group. NSA combines three branches: attention over the compressed
// K/V, attention over the key blocks selected with the compressed keys, and a
// sliding window; here the branches are summed with equal weights (learned
// per-head gates arrive with the sparse-projection lowering).
//
//   attn-opt examples/grouped_compressed_kv.mlir
func.func @nsa_layer(%q: tensor<1x32x2048x64xf16>, %k: tensor<1x8x2048x64xf16>,
                     %v: tensor<1x8x2048x64xf16>, %w: tensor<8x32xf32>)
    -> tensor<1x32x2048x64xf16> {
  %ck, %cv = attn.compress_kv %k, %v weights(%w : tensor<8x32xf32>)
      {block = 32, stride = 16, method = #attn.compression<linear>}
      : tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16>
        -> tensor<1x8x127x64xf16>, tensor<1x8x127x64xf16>
  // Compressed branch: every query head of a group reads the group's slots.
  %compressed = attn.attention %q, %ck, %cv
      : tensor<1x32x2048x64xf16>, tensor<1x8x127x64xf16>, tensor<1x8x127x64xf16>
        -> tensor<1x32x2048x64xf16>
  // Selected branch: blocks chosen by scoring pooled (mean) keys, shared per group.
  %mk, %mv = attn.compress_kv %k, %v {block = 64, method = #attn.compression<mean>}
      : tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16>
        -> tensor<1x8x32x64xf16>, tensor<1x8x32x64xf16>
  %blocks = attn.select_blocks %q, %k pooled_keys(%mk : tensor<1x8x32x64xf16>)
      {query_block = 64, key_block = 64, top_k = 16, keep_sink = 1, keep_local = 2, causal}
      : tensor<1x32x2048x64xf16>, tensor<1x8x2048x64xf16> -> tensor<1x8x32x16xi32>
  %selected = attn.attention %q, %k, %v blocks(%blocks : tensor<1x8x32x16xi32>)
      {pattern = #attn.selected<query_block = 64, key_block = 64, causal>}
      : tensor<1x32x2048x64xf16>, tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16>
        -> tensor<1x32x2048x64xf16>
  // Sliding-window branch.
  %window = attn.attention %q, %k, %v {pattern = #attn.local<window = 511, causal>}
      : tensor<1x32x2048x64xf16>, tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16>
        -> tensor<1x32x2048x64xf16>
  %sum = arith.addf %compressed, %selected : tensor<1x32x2048x64xf16>
  %o = arith.addf %sum, %window : tensor<1x32x2048x64xf16>
  return %o : tensor<1x32x2048x64xf16>
}
