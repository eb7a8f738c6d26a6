// attn-compile --target=sm_90a --wgmma-pipeline picks 128-key tiles only
// where no block of the pattern would straddle one: 64-blocks keep 64-row
// and 64-key tiles, 128-blocks (and index-arithmetic patterns) take 128.
// Without --wgmma-pipeline the pipelined kernel is chosen for every pattern
// whose blocks 128 divides, random-block streams included (TMA loads and
// ping-pong: 384 threads); --wgmma-pipeline=false keeps FA2's order for
// them too.
// --key-tile=128 asks for them (a 64-block pattern is refused, naming the
// block); FA2's order and mma.sync refuse them (FA2's order gave wrong
// results from the second 128-key tile on, on an H100).
// Random-block streams take an f64 log (libdevice): the PTX links it
// whatever the environment says of the toolkit (CUDA_HOME unset here).
//
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: env -u CUDA_HOME -u CUDA_ROOT -u CUDA_PATH attn-compile %s --target=sm_90a --wgmma-pipeline --tma=false -o %t/pipe
// RUN: FileCheck %s < %t/pipe/manifest.json
// RUN: FileCheck %s --check-prefix=PTX --implicit-check-not=__nv_ < %t/pipe/kernels.ptx
// RUN: attn-compile %s --target=sm_90a -o %t/auto
// RUN: FileCheck %s --check-prefix=AUTO < %t/auto/manifest.json
// RUN: attn-compile %s --target=sm_90a --wgmma-pipeline=false -o %t/off
// RUN: FileCheck %s --check-prefix=OFF < %t/off/manifest.json
// RUN: not attn-opt %s -attn-convert-to-gpu="chip=sm_90a wgmma-pipeline=maybe" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MODE
// RUN: not attn-compile %s --target=sm_90a --wgmma-pipeline --key-tile=128 -o %t/k128 2>&1 | FileCheck %s --check-prefix=STRADDLE
// RUN: not attn-compile %s --target=sm_90a --key-tile=128 -o %t/k128 2>&1 | FileCheck %s --check-prefix=FA2
// RUN: not attn-compile %s --target=sm_90 --key-tile=128 -o %t/k128 2>&1 | FileCheck %s --check-prefix=MMA-SYNC
// RUN: not attn-compile %s --target=sm_90a --key-tile=32 -o %t/k32 2>&1 | FileCheck %s --check-prefix=ODD

// STRADDLE: error: #attn.random_blocks<density = 0.25, seed = 1, block = 64> has block 64, which must be a multiple of the query tile (64) and the key tile (128)
// AUTO:      "name": "blocks64_d128_attn0",
// AUTO:      "query_tile": 64,
// AUTO-NEXT: "key_tile": 64,
// AUTO:      "name": "blocks128_d128_attn0",
// AUTO:      "query_tile": 128,
// AUTO-NEXT: "key_tile": 128,
// AUTO:      "block": [
// AUTO-NEXT:   384,
// OFF:       "name": "blocks128_d128_attn0",
// OFF:       "query_tile": 64,
// OFF-NEXT:  "key_tile": 64,
// MODE: error: attn-convert-to-gpu: wgmma-pipeline must be auto, on or off, found 'maybe'
// FA2: error: attn-convert-to-gpu: key-tile must be 64, or 128 with the pipelined sm_90a kernel (D = 128, --wgmma-pipeline), found 128 for the wgmma kernel in FA2's order at D = 128 on sm_90a
// MMA-SYNC: error: attn-convert-to-gpu: key-tile must be 64, or 128 with the pipelined sm_90a kernel (D = 128, --wgmma-pipeline), found 128 for an mma.sync kernel at D = 128 on sm_90
// ODD: error: attn-convert-to-gpu: key-tile must be 64, or 128 with the pipelined sm_90a kernel (D = 128, --wgmma-pipeline), found 32 for the wgmma kernel in FA2's order at D = 128 on sm_90a

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
