func.func @f(%q: tensor<1x16x16384x128xbf16>, %k: tensor<1x2x16384x128xbf16>, %v: tensor<1x2x16384x128xbf16>, %kd: tensor<?x2x?x128xbf16>) -> (tensor<1x2x256x32xi32>, tensor<1x2x1023x128xbf16>, tensor<1x2x1023x128xbf16>, tensor<?x2x?x128xbf16>, tensor<?x2x?x128xbf16>) {
  %i = attn.select_blocks %q, %k {query_block = 64 : i64, key_block = 64 : i64, top_k = 32 : i64} : tensor<1x16x16384x128xbf16>, tensor<1x2x16384x128xbf16> -> tensor<1x2x256x32xi32>
  %ck, %cv = attn.compress_kv %k, %v {block = 32 : i64, stride = 16 : i64, method = #attn.compression<mean>} : tensor<1x2x16384x128xbf16>, tensor<1x2x16384x128xbf16> -> tensor<1x2x1023x128xbf16>, tensor<1x2x1023x128xbf16>
  %dk, %dv = attn.compress_kv %kd, %kd {block = 32 : i64, method = #attn.compression<mean>} : tensor<?x2x?x128xbf16>, tensor<?x2x?x128xbf16> -> tensor<?x2x?x128xbf16>, tensor<?x2x?x128xbf16>
  return %i, %ck, %cv, %dk, %dv : tensor<1x2x256x32xi32>, tensor<1x2x1023x128xbf16>, tensor<1x2x1023x128xbf16>, tensor<?x2x?x128xbf16>, tensor<?x2x?x128xbf16>
}
