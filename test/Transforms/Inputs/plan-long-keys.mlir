func.func @f(%q: tensor<1x1x1x8xf16>, %k: tensor<1x1x1099511627776x8xf16>) {
  %0 = attn.attention %q, %k, %k {pattern = #attn.local<window = 5>} : tensor<1x1x1x8xf16>, tensor<1x1x1099511627776x8xf16>, tensor<1x1x1099511627776x8xf16> -> tensor<1x1x1x8xf16>
  return
}
