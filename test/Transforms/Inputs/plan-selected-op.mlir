func.func @selected(%q: tensor<1x4x256x64xf16>, %b: tensor<1x4x4x2xi32>) -> tensor<1x4x256x64xf16> {
  %o = attn.attention %q, %q, %q blocks(%b : tensor<1x4x4x2xi32>) {pattern = #attn.selected<query_block = 64, key_block = 32>} : tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16>, tensor<1x4x256x64xf16> -> tensor<1x4x256x64xf16>
  return %o : tensor<1x4x256x64xf16>
}
