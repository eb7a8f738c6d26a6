// Sparse projection (docs/sparse-projection.md): per KV-head group, keep the
// 8 best key blocks of 64 for each query block of 64 rows (always the first
// block and the two latest), then attend to those blocks only. All four
// query heads of a group share one selection, so their K/V tiles are loaded
// once. Selection and attention are two functions: the runtime calls
// @select, then @attend with its indices (a kernel's operands are its
// function's arguments). @compress builds the mean-pooled keys and values
// of NSA's compressed branch (windows of 32 every 16).
//
//   attn-opt examples/sparse_projection.mlir
//   attn-compile examples/sparse_projection.mlir --target=x86-64-v3 -o out/
//
// In the artifact, the indices are i32 [B, 8, Sq_blocks, 8] with
// Sq_blocks = ceil(Sq / 64), and the compressed K/V have Skv_slots =
// (Skv - 32) / 16 + 1 rows ("derived_sizes" in the manifest).
func.func @select(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>)
    -> tensor<?x8x?x8xi32> {
  %blocks = attn.select_blocks %q, %k
      {query_block = 64, key_block = 64, top_k = 8, keep_sink = 1, keep_local = 2, causal}
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x8x?x8xi32>
  return %blocks : tensor<?x8x?x8xi32>
}

func.func @attend(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                  %v: tensor<?x8x?x128xbf16>, %blocks: tensor<?x8x?x8xi32>)
    -> tensor<?x32x?x128xbf16> {
  %o = attn.attention %q, %k, %v blocks(%blocks : tensor<?x8x?x8xi32>)
      {pattern = #attn.selected<query_block = 64, key_block = 64, causal>}
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
        -> tensor<?x32x?x128xbf16>
  return %o : tensor<?x32x?x128xbf16>
}

func.func @compress(%k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>)
    -> (tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>) {
  %ck, %cv = attn.compress_kv %k, %v
      {block = 32, stride = 16, method = #attn.compression<mean>}
      : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
        -> tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
  return %ck, %cv : tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>
}
