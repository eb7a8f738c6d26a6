// The pipelined sm_90a kernel's key loops for global tokens: the first
// visible key tile (the 64 global keys) and the window's first tile both
// need the element mask, so the overlapped steps run in three loops (a
// masked one while the next tile is partial, the unmasked one, the masked
// rest; GPUKernelConfig::leadingMaskedLoop) where a plain window takes two.
// Both dispatch heavier tiles first: the global tokens' tiles of every row
// (test/Conversion/attn-to-gpu.mlir checks the order), the others last to
// first.
// RUN: attn-opt %s -attn-convert-to-gpu="chip=sm_90a" | FileCheck %s

// CHECK-LABEL: gpu.func @longformer_attn0(
// CHECK:         gpu.grid_dim y
// CHECK-COUNT-3: :56 = scf.while
// CHECK-NOT:     :56 = scf.while
// CHECK-LABEL: gpu.func @window_attn0(
// CHECK-NOT:     gpu.grid_dim y
// CHECK-COUNT-2: :56 = scf.while
// CHECK-NOT:     :56 = scf.while
func.func @longformer(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 256>]>}
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

func.func @window(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.local<window = 256>}
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
