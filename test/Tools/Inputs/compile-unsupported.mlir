// A function that does more than attention: attn-convert-to-cpu refuses it.
func.func @mixed(%q: tensor<1x2x128x64xf32>) -> tensor<1x2x128x64xf32> {
  %o = attn.attention %q, %q, %q {pattern = #attn.dense}
      : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32> -> tensor<1x2x128x64xf32>
  %s = arith.addf %o, %q : tensor<1x2x128x64xf32>
  return %s : tensor<1x2x128x64xf32>
}
