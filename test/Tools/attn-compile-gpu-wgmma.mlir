// attn-compile --target=sm_90a: attention kernels at D = 128 do both
// matmuls as warpgroup MMAs (wgmma.mma_async, A from registers, B = K or V
// through 128-byte swizzled shared-memory tiles). By default the key loop is
// pipelined over 128-key tiles (K/V in 2/3 buffers), 128-row query tiles
// being two warpgroups sharing each K/V tile (S = Q Kᵀ reads Q from a
// swizzled tile too), loaded by TMA (attn-compile-gpu-tma.mlir); this test
// checks the pipelined kernel with cp.async copies (--tma=false, 256
// threads) and FA2's order (--wgmma-pipeline=false, 64-row tiles). At
// D = 64 the pipelined kernel is the same with one 64-column panel; FA2's
// order keeps mma.sync there.
// ptxas accepts them with no local memory and no spills, the manifest
// records the tiles and the artifact's PTX is sm_90a's own.
//
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: attn-compile %s --target=sm_90a --wgmma --wgmma-pipeline --tma=false --emit=asm -o %t/wgmma.ptx
// RUN: FileCheck %s --check-prefix=PTX --implicit-check-not=.local < %t/wgmma.ptx
// RUN: FileCheck %s --check-prefix=S < %t/wgmma.ptx
// RUN: FileCheck %s --check-prefix=O < %t/wgmma.ptx
// RUN: %ptxas -arch=sm_90a -v %t/wgmma.ptx -o %t/wgmma.cubin 2>&1 \
// RUN:   | tee %t/ptxas.txt | FileCheck %s --check-prefix=PTXAS
// RUN: attn-compile %s --target=sm_90a --wgmma --tma=false -o %t/artifact
// RUN: FileCheck %s < %t/artifact/manifest.json
// The same IR for sm_90, or for sm_90a with --wgmma=false, keeps mma.sync
// everywhere.
// RUN: attn-compile %s --target=sm_90 --emit=asm -o %t/sm90.ptx
// RUN: FileCheck %s --check-prefix=SM90 < %t/sm90.ptx
// RUN: attn-compile %s --target=sm_90a --wgmma=false --emit=asm -o %t/nowgmma.ptx
// RUN: FileCheck %s --check-prefix=SM90 < %t/nowgmma.ptx
// RUN: attn-compile %s --target=sm_90a --wgmma --wgmma-pipeline --tma=false --query-tile=64 -o %t/q64
// RUN: FileCheck %s --check-prefix=Q64 < %t/q64/manifest.json
// RUN: FileCheck %s --check-prefix=S < %t/q64/kernels.ptx
// RUN: attn-compile %s --target=sm_90a --query-tile=128 --emit=asm -o %t/q128.ptx
// RUN: FileCheck %s --check-prefix=Q128 < %t/q128.ptx
// RUN: attn-compile %s --target=sm_90a --wgmma-pipeline=false -o %t/fa2
// RUN: FileCheck %s --check-prefix=FA2 < %t/fa2/manifest.json
// RUN: FileCheck %s --check-prefix=FA2-PTX < %t/fa2/kernels.ptx

// PTX: .target sm_90a
// Dense, D = 128. The key loop is pipelined (FA3's intra-warpgroup
// overlap): one inline-PTX statement issues S = Q K(n)ᵀ for the next
// 128-key tile (8 k-steps of m64n128k16, the first from zero, Q and K both
// through descriptors, the second 64-column panels 16384 bytes on:
// descriptor + 1024) and O += P V(j) for this one (8 k-steps of m64n128k16,
// P from registers, V transposed, 2048 bytes (+128) apart) as two groups,
// and waits for the first only; the softmax of S runs under P V, whose wait
// is its own statement. Every k-step's descriptor is computed before the
// fence (a write between the MMAs and their wait would serialize them).
// The cp.async writes reach wgmma's reads through fence.proxy.async.
// PTX-LABEL: .visible .entry dense_d128_attn0(
// PTX:       fence.proxy.async.shared::cta;
// PTX-NOT:   mma.sync
// D = 64, pipelined: S = Q K(n)ᵀ in 4 k-steps of m64n128k16 (one panel),
// O += P V(j) in 8 of m64n64k16; no mma.sync.
// PTX-LABEL: .visible .entry causal_d64_f16_attn0(
// PTX-NOT:   mma.sync
// PTX:       wgmma.fence.sync.aligned;
// PTX-NEXT:  wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {{.*}}, 0, 1, 1, 0, 0;
// PTX-COUNT-3: wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {{.*}}, 1, 1, 1, 0, 0;
// PTX-NEXT:  wgmma.commit_group.sync.aligned;
// PTX-COUNT-8: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// PTX-NEXT:  wgmma.commit_group.sync.aligned;
// PTX-NOT:   mma.sync
// S-LABEL:   .visible .entry dense_d128_attn0(
// S:         add.s64 d1_7, [[VD:%rd[0-9]+]], 896;
// S-NEXT:    wgmma.fence.sync.aligned;
// S-NEXT:    wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}}, a0_0, d0_0, 0, 1, 1, 0, 0;
// S-COUNT-7: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}}, a0_{{[1-7]}}, d0_{{[1-7]}}, 1, 1, 1, 0, 0;
// S-NEXT:    wgmma.commit_group.sync.aligned;
// S-COUNT-8: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}}, {{{.*}}}, d1_{{[0-7]}}, 1, 1, 1, 1;
// S-NEXT:    wgmma.commit_group.sync.aligned;
// S-NEXT:    wgmma.wait_group.sync.aligned 1;
// S:         ex2.approx.ftz.f32
// S:         wgmma.wait_group.sync.aligned 0;
// S-NOT:     ex2.approx
// S:         cvt.rn.bf16x2.f32
// O-LABEL:   .visible .entry dense_d128_attn0(
// O:         add.s64 d0_4, {{%rd[0-9]+}}, 1024;
// O:         add.s64 a0_4, {{%rd[0-9]+}}, 1024;
// O:         add.s64 d1_0, [[VD:%rd[0-9]+]], 0;
// O-NEXT:    .reg .b64 d1_1;
// O-NEXT:    add.s64 d1_1, [[VD]], 128;

// 64-row tiles: one warpgroup (128 threads), the same matmuls; unpadded
// swizzled K (2 buffers) and V (3 buffers), 5 x 128 x 128 x 2 bytes, Q
// (64 x 128 x 2 bytes) and 1024 bytes to align: 181248.
// Q64:       "name": "dense_d128_attn0",
// Q64:       "query_tile": 64,
// Q64:       "key_tile": 128,
// Q64:       "block": [
// Q64-NEXT:    128,
// Q64:       "dynamic_shared_memory": 181248,

// --wgmma-pipeline=false: FA2's order (each matmul waits for
// itself), one warpgroup, 64-row tiles, one K and one V buffer: 2 x 16384 +
// 17408 + 1024.
// FA2:         "name": "dense_d128_attn0",
// FA2:         "query_tile": 64,
// FA2:         "dynamic_shared_memory": 51200,
// FA2-PTX-LABEL: .visible .entry dense_d128_attn0(
// FA2-PTX-NOT:   wgmma.wait_group.sync.aligned 1;
// FA2-PTX:       wgmma.mma_async.sync.aligned.{{m64n64k16|m64n128k16}}
// FA2-PTX-NOT:   wgmma.wait_group.sync.aligned 1;
// FA2-PTX-LABEL: .visible .entry causal_d64_f16_attn0(
// FA2-PTX-NOT:   wgmma
// FA2-PTX:       mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// FA2-PTX-NOT:   wgmma

// A query tile asked for leaves the pipeline off (auto); 128-row tiles
// at D = 128 then keep mma.sync.
// Q128-LABEL: .visible .entry dense_d128_attn0(
// Q128-NOT:   wgmma
// Q128:       mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// Q128-NOT:   wgmma

// The wgmma kernel: no stack frame, no spills, and ptxas keeps the MMAs
// asynchronous (no C7513 "wgmma.mma_async instructions are serialized").
// PTXAS-NOT:   C7513
// PTXAS-LABEL: Compiling entry function 'dense_d128_attn0' for 'sm_90a'
// PTXAS-NOT:   C7513
// PTXAS:       {{^ *}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// Two warpgroups of 64 rows: 256 threads. Unpadded swizzled K (2 buffers)
// and V (3 buffers), 5 x 128 x 128 x 2 bytes, Q (128 x 128 x 2 bytes) and
// 1024 bytes to align: 197632. The epilogue stages O (padded rows) over the
// K and V buffers.
// CHECK:       "target": "sm_90a"
// CHECK:       "name": "dense_d128_attn0",
// CHECK:       "head_dim": 128,
// CHECK:       "query_tile": 128,
// CHECK:       "key_tile": 128,
// CHECK:       "binaries": {
// CHECK-NEXT:    "sm_90a": "kernels.sm_90a.cubin"
// CHECK:       "ptx": {
// CHECK-NEXT:    "target": "sm_90a",
// CHECK-NEXT:    "file": "kernels.ptx"
// CHECK:       "block": [
// CHECK-NEXT:    256,
// CHECK:       "dynamic_shared_memory": 197632,

// SM90-NOT: wgmma
// SM90: mma.sync.aligned.m16n8k16
// SM90-NOT: wgmma

func.func @dense_d128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.dense}
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

func.func @causal_d64_f16(%q: tensor<?x8x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>, %g: tensor<?x8xi1>) -> tensor<?x8x?x64xf16> {
  %o = attn.attention %q, %k, %v gates(%g : tensor<?x8xi1>) {pattern = #attn.causal}
      : tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x8x?x64xf16>
  return %o : tensor<?x8x?x64xf16>
}
