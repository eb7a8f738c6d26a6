// Structured patterns: each op visits only the key blocks its pattern touches.
//
//   attn-opt examples/structured_patterns.mlir
//   attn-opt examples/structured_patterns.mlir -test-attn-key-ranges="query-block=128"
//
// (The second command prints, per head and block of 128 query rows, the key
// ranges the pattern touches; the shapes below are small to keep it short.)
func.func @patterns(%q: tensor<1x4x1024x64xbf16>, %k: tensor<1x4x1024x64xbf16>,
                    %v: tensor<1x4x1024x64xbf16>) -> tensor<1x4x1024x64xbf16> {
  // Sliding window of +-128 positions.
  %local = attn.attention %q, %k, %v {pattern = #attn.local<window = 128>}
      : tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16> -> tensor<1x4x1024x64xbf16>
  // Mistral-style causal window of 256 keys.
  %causal_window = attn.attention %local, %k, %v {pattern = #attn.local<window = 255, causal>}
      : tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16> -> tensor<1x4x1024x64xbf16>
  // Longformer: global tokens plus a dilated window.
  %longformer = attn.attention %causal_window, %k, %v
      {pattern = #attn.union<[#attn.global<tokens = 16>, #attn.local<window = 128, dilation = 2>]>}
      : tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16> -> tensor<1x4x1024x64xbf16>
  // Sparse Transformer (strided): a causal window plus every 128th position.
  %sparse_transformer = attn.attention %longformer, %k, %v
      {pattern = #attn.union<[#attn.local<window = 127, causal>, #attn.strided<stride = 128, causal>]>}
      : tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16> -> tensor<1x4x1024x64xbf16>
  // Hierarchical: chunk-local attention plus every 4th chunk-sized block.
  %hierarchical = attn.attention %sparse_transformer, %k, %v
      {pattern = #attn.union<[#attn.chunked<size = 128>, #attn.strided<stride = 4, block = 128>]>}
      : tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16> -> tensor<1x4x1024x64xbf16>
  // BigBird: random blocks, a window and global tokens.
  %bigbird = attn.attention %hierarchical, %k, %v
      {pattern = #attn.union<[#attn.random_blocks<density = 0.25, seed = 42>,
                              #attn.local<window = 64>, #attn.global<tokens = 64>]>}
      : tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16> -> tensor<1x4x1024x64xbf16>
  // An explicit layout of 256-position blocks (lower bidiagonal).
  %layout = attn.attention %bigbird, %k, %v
      {pattern = #attn.block_layout<block = 256, shape = [4, 4],
                                    layout = [1, 0, 0, 0,
                                              1, 1, 0, 0,
                                              0, 1, 1, 0,
                                              0, 0, 1, 1]>}
      : tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16> -> tensor<1x4x1024x64xbf16>
  // A pattern per head: two local heads, one global-plus-window, one causal.
  %per_head = attn.attention %layout, %k, %v
      {pattern = #attn.per_head<[#attn.local<window = 63, causal>, #attn.local<window = 255, causal>,
                                 #attn.union<[#attn.global<tokens = 4>, #attn.local<window = 31, causal>]>,
                                 #attn.causal]>}
      : tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16> -> tensor<1x4x1024x64xbf16>
  return %per_head : tensor<1x4x1024x64xbf16>
}
