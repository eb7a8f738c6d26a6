
func.func @dynamic_heads(%s: tensor<1x?xf32>) -> tensor<1x?xi1> {
  %g = attn.head_gate %s {threshold = 0.5 : f32} : tensor<1x?xf32> -> tensor<1x?xi1>
  return %g : tensor<1x?xi1>
}
