func.func @nested(%q: tensor<1x2x64x32xf32>, %n: index) -> tensor<1x2x64x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %q) -> tensor<1x2x64x32xf32> {
    %o = attn.attention %acc, %q, %q {pattern = #attn.causal} : tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32> -> tensor<1x2x64x32xf32>
    scf.yield %o : tensor<1x2x64x32xf32>
  }
  return %r : tensor<1x2x64x32xf32>
}
