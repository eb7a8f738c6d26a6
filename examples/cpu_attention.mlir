// attn's main job in one file: attention that compiles to CPU kernels.
//
//   build/bin/attn-compile examples/cpu_attention.mlir --target=native -o /tmp/attn-example
//
// Each function made of attn.attention ops on its arguments becomes kernels
// (one per op) plus a manifest; sequence lengths stay dynamic, so one artifact
// serves every length. scripts/run-example.sh compiles this file, runs each
// kernel with attn's runtime on random inputs, checks it against a reference
// and times it.

// Causal grouped-query attention (16 query heads share 4 K/V heads), f32.
func.func @causal_gqa(%q: tensor<?x16x?x64xf32>, %k: tensor<?x4x?x64xf32>,
                      %v: tensor<?x4x?x64xf32>) -> tensor<?x16x?x64xf32> {
  %o = attn.attention %q, %k, %v {pattern = #attn.causal}
      : tensor<?x16x?x64xf32>, tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32>
        -> tensor<?x16x?x64xf32>
  return %o : tensor<?x16x?x64xf32>
}

// Longformer-style: 64 global tokens plus a +-256 window. Key tiles outside
// the window are never visited; tiles cut by its edges are masked.
func.func @global_local(%q: tensor<?x8x?x64xf32>, %k: tensor<?x8x?x64xf32>,
                        %v: tensor<?x8x?x64xf32>) -> tensor<?x8x?x64xf32> {
  %o = attn.attention %q, %k, %v
      {pattern = #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 256>]>}
      : tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>
        -> tensor<?x8x?x64xf32>
  return %o : tensor<?x8x?x64xf32>
}

// Runtime head gates: only the active (batch, head) pairs are computed; the
// runtime compacts the gates into a list and zero-fills the rest.
func.func @gated(%q: tensor<?x8x?x64xf32>, %k: tensor<?x8x?x64xf32>,
                 %v: tensor<?x8x?x64xf32>, %g: tensor<?x8xi1>)
    -> tensor<?x8x?x64xf32> {
  %o = attn.attention %q, %k, %v gates(%g : tensor<?x8xi1>)
      : tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>
        -> tensor<?x8x?x64xf32>
  return %o : tensor<?x8x?x64xf32>
}
