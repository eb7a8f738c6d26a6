// attn-compile --target=sm_90a --wgmma-pipeline picks 128-key tiles only
// where no block of the pattern would straddle one: 64-blocks keep 64-row
// and 64-key tiles, 128-blocks (and index-arithmetic patterns) take 128.
// Random-block streams take an f64 log (libdevice): the PTX links it
// whatever the environment says of the toolkit (CUDA_HOME unset here).
//
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: env -u CUDA_HOME -u CUDA_ROOT -u CUDA_PATH attn-compile %s --target=sm_90a --wgmma-pipeline -o %t/pipe
// RUN: FileCheck %s < %t/pipe/manifest.json
// RUN: FileCheck %s --check-prefix=PTX --implicit-check-not=__nv_ < %t/pipe/kernels.ptx

// CHECK:      "name": "blocks64_d128_attn0",
// CHECK:      "query_tile": 64,
// CHECK-NEXT: "key_tile": 64,
// CHECK:      "name": "blocks128_d128_attn0",
// CHECK:      "query_tile": 128,
// CHECK-NEXT: "key_tile": 128,

// PTX-LABEL: .visible .entry blocks64_d128_attn0(
// PTX:       wgmma.mma_async.sync.aligned.m64n64k16
// PTX-LABEL: .visible .entry blocks128_d128_attn0(
// PTX:       wgmma.mma_async.sync.aligned.m64n128k16

func.func @blocks64_d128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.random_blocks<density = 0.25, seed = 1, block = 64>}
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

func.func @blocks128_d128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.random_blocks<density = 0.25, seed = 1, block = 128>}
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}
