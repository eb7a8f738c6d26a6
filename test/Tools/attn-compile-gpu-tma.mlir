// attn-compile --target=sm_90a --tma (the default at D = 128 wherever the
// kernel is pipelined; --tma=false: cp.async copies): the pipelined wgmma
// kernel with its Q, K and V tiles loaded by the Tensor Memory Accelerator. Thread 0 sets
// up 11 mbarriers (Q full, K full x 2, V full x 3: one producer arrival
// each; K empty x 2, V empty x 3: every one of the 256 math threads; the
// persistent kernel adds Q empty, also of 256 arrivals); the
// third warpgroup is the producer (setmaxnreg.dec to 40 registers, one warp
// of it issues cp.async.bulk.tensor loads of 128-byte-swizzled 64-column
// panels), the two math warpgroups take its registers (setmaxnreg.inc to
// 232) and wait on the full barriers instead of a block barrier per tile;
// their epilogue syncs on named barrier 1 (256 threads). The manifest asks
// the runtime for the three tensor maps with the rows of their boxes.
// ptxas: no spills (GQA dense), and the MMAs stay asynchronous. --tma with --wgmma-pipeline=false is
// refused. At D = 64 --tma (or --wgmma-pipeline) gives the same kernel with
// one 64-column panel per tile (not the default until it has run on a GPU:
// mma.sync).
// With --persistent (off by default until it runs on a GPU) the grid is
// persistent: the runtime launches at most a block per SM, and each role
// of a block walks the work items of the grid_tiles x grid_rows grid the
// kernel takes as its last parameters (round k: items k gridDim.x + c,
// c in block order or reversed); the producer waits for Q empty (the math
// warps are done with the last item's Q) before loading the next Q, and
// O is staged through a tile of its own between Q and the mbarriers
// (230528 bytes of shared memory in all, 197760 without).
// With --tma-store (off by default until measured) the epilogue writes O
// into TMA's layout (64-column panels, 128-byte swizzle, over the K and V
// buffers or in the persistent kernel's own tile), fences it for the async
// proxy, and thread 0 issues one cp.async.bulk.tensor store per panel from
// the o_map the manifest asks for; the one-item kernel waits for the
// stores' reads before exiting, the persistent kernel before each item's
// epilogue and after its last item. The math threads issue no global
// stores then.
//
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: attn-compile %s --target=sm_90a --tma --ping-pong=false --persistent --persistent-schedule=static -o %t/tma
// RUN: FileCheck %s < %t/tma/manifest.json
// RUN: FileCheck %s --check-prefix=PTX < %t/tma/kernels.ptx
// RUN: FileCheck %s --check-prefix=PRODUCER < %t/tma/kernels.ptx
// RUN: %ptxas -arch=sm_90a -v %t/tma/kernels.ptx -o %t/tma.cubin 2>&1 \
// RUN:   | FileCheck %s --check-prefix=PTXAS
// RUN: not attn-compile %s --target=sm_90a --tma --wgmma-pipeline=false -o %t/off 2>&1 \
// RUN:   | FileCheck %s --check-prefix=OFF
// --ping-pong: each math warpgroup waits for its turn (named barrier 2 + w)
// before issuing its MMAs and hands the turn over (bar.arrive on the
// other's) before waiting for them; warpgroup 1 gives warpgroup 0 the first
// turn, and its last MMAs of a block hand nothing over.
// RUN: attn-compile %s --target=sm_90a --tma --ping-pong -o %t/pp
// RUN: FileCheck %s --check-prefix=PP < %t/pp/kernels.ptx
// RUN: FileCheck %s --check-prefix=PP64 < %t/pp/kernels.ptx
// RUN: %ptxas -arch=sm_90a -v %t/pp/kernels.ptx -o %t/pp.cubin 2>&1 \
// RUN:   | FileCheck %s --check-prefix=PTXAS
// The default at sm_90a (tma and ping-pong auto) is this kernel.
// RUN: attn-compile %s --target=sm_90a -o %t/default
// RUN: FileCheck %s --check-prefix=PP < %t/default/kernels.ptx
// RUN: FileCheck %s --check-prefix=DEFAULT64 < %t/default/kernels.ptx
// RUN: not attn-opt %s -attn-convert-to-gpu="chip=sm_90a tma=sometimes" -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=MODE
// MODE: error: attn-convert-to-gpu: tma must be auto, on or off, found 'sometimes'
// RUN: not attn-compile %s --target=sm_90a --ping-pong --tma=false -o %t/nopp 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NOTMA
// RUN: attn-compile %s --target=sm_90a --persistent -o %t/persist
// RUN: attn-compile %s --target=sm_90a --persistent --persistent-schedule=static -o %t/pstatic
// RUN: FileCheck %s --check-prefix=PERSIST < %t/pstatic/kernels.ptx
// RUN: FileCheck %s --check-prefix=DYN < %t/persist/kernels.ptx
// RUN: FileCheck %s --check-prefix=DYN-MAP < %t/persist/manifest.json
// RUN: not attn-opt %s -attn-convert-to-gpu="chip=sm_90a persistent=on persistent-schedule=sometimes" -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=SCHEDULE
// RUN: FileCheck %s --check-prefix=PP < %t/persist/kernels.ptx
// RUN: %ptxas -arch=sm_90a -v %t/persist/kernels.ptx -o %t/persist.cubin 2>&1 \
// RUN:   | FileCheck %s --check-prefix=PTXAS
// RUN: FileCheck %s --check-prefix=GRID < %t/default/manifest.json
// RUN: FileCheck %s --check-prefix=GRID-PTX < %t/default/kernels.ptx
// RUN: not attn-compile %s --target=sm_90a --persistent --tma=false -o %t/nopersist 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NOTMA-PERSIST
// RUN: attn-compile %s --target=sm_90a --tma --tma-store -o %t/store
// RUN: FileCheck %s --check-prefix=STORE < %t/store/kernels.ptx
// RUN: FileCheck %s --check-prefix=STORE-MAP < %t/store/manifest.json
// RUN: %ptxas -arch=sm_90a -v %t/store/kernels.ptx -o %t/store.cubin 2>&1 \
// RUN:   | FileCheck %s --check-prefix=PTXAS
// RUN: attn-compile %s --target=sm_90a --tma-store --persistent -o %t/pstore
// RUN: FileCheck %s --check-prefix=PSTORE < %t/pstore/kernels.ptx
// RUN: %ptxas -arch=sm_90a -v %t/pstore/kernels.ptx -o %t/pstore.cubin 2>&1 \
// RUN:   | FileCheck %s --check-prefix=PTXAS
// RUN: not attn-compile %s --target=sm_90a --tma-store --tma=false -o %t/nostore 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NOTMA-STORE

// NOTMA-STORE: error: attn-convert-to-gpu: tma-store stores the TMA kernel's output through a tensor map; it needs tma

// STORE-LABEL: .visible .entry dense_d128_attn0(
// STORE:       setmaxnreg.inc.sync.aligned.u32 232;
// STORE:       wgmma.wait_group.sync.aligned 0;
// STORE:       bar.sync 1, 256;
// STORE-NOT:   st.global
// STORE:       st.shared.b32
// STORE-NOT:   st.global
// STORE:       fence.proxy.async.shared::cta;
// STORE:       bar.sync 1, 256;
// STORE-NOT:   st.global
// STORE-COUNT-2: cp.async.bulk.tensor.4d.global.shared::cta.bulk_group [%rd{{[0-9]+}}, {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}}], [%r{{[0-9]+}}];
// STORE:       cp.async.bulk.commit_group;
// STORE-NOT:   st.global
// STORE:       cp.async.bulk.wait_group.read 0;
// STORE-LABEL: .visible .entry causal_d128_attn0(
// STORE-LABEL: .visible .entry dense_d64_attn0(
// STORE:       fence.proxy.async.shared::cta;
// STORE-NOT:   st.global
// STORE:       cp.async.bulk.tensor.4d.global.shared::cta.bulk_group
// STORE-NOT:   cp.async.bulk.tensor.4d.global
// STORE:       cp.async.bulk.commit_group;

// STORE-MAP:      "name": "dense_d128_attn0",
// STORE-MAP:      "name": "v_map",
// STORE-MAP:      "name": "o_map",
// STORE-MAP-NEXT: "type": "ptr",
// STORE-MAP-NEXT: "value": "out.tensor_map",
// STORE-MAP-NEXT: "rows": 128
// STORE-MAP:      "name": "dense_d64_attn0",
// STORE-MAP:      "name": "o_map",
// STORE-MAP-NEXT: "type": "ptr",
// STORE-MAP-NEXT: "value": "out.tensor_map",
// STORE-MAP-NEXT: "rows": 128

// The persistent kernel: the previous item's store has read the tile
// before this item's epilogue writes it, and the last item's before exit.
// PSTORE-LABEL: .visible .entry dense_d128_attn0(
// PSTORE:       setmaxnreg.inc.sync.aligned.u32 232;
// PSTORE:       cp.async.bulk.wait_group.read 0;
// PSTORE:       bar.sync 1, 256;
// PSTORE:       st.shared.b32 [%rd{{[0-9]+}}+196608],
// PSTORE:       fence.proxy.async.shared::cta;
// PSTORE-COUNT-2: cp.async.bulk.tensor.4d.global.shared::cta.bulk_group
// PSTORE:       cp.async.bulk.commit_group;
// PSTORE-NOT:   bar.sync
// PSTORE:       cp.async.bulk.wait_group.read 0;
// PSTORE-NOT:   bar.sync
// PSTORE:       ret;
// PSTORE-LABEL: .visible .entry causal_d128_attn0(

// NOTMA-PERSIST: error: attn-convert-to-gpu: persistent walks the TMA kernel's query tiles; it needs tma

// The dynamic schedule (the default with --persistent): two more
// mbarriers, item full (the producer's arrival) and item empty (256), the
// producer's lane 0 claims the next item with an atomic add on the
// tile_counter parameter and publishes each item in the slot after the
// mbarriers; the math warps read it there, broadcast from lane 0.
// DYN-LABEL: .visible .entry dense_d128_attn0(
// DYN-COUNT-5: mbarrier.init.shared::cta.b64 [%r{{[0-9]+}}], 1;
// DYN-COUNT-6: mbarrier.init.shared::cta.b64 [%r{{[0-9]+}}], 256;
// DYN:       mbarrier.init.shared::cta.b64 [%r{{[0-9]+}}], 1;
// DYN:       mbarrier.init.shared::cta.b64 [%r{{[0-9]+}}], 256;
// DYN-NOT:   mbarrier.init
// DYN:       setmaxnreg.dec.sync.aligned.u32 40;
// DYN:       st.shared.u32 [%r{{[0-9]+}}], %r{{[0-9]+}};
// DYN:       atom.global.add.u32
// DYN:       setmaxnreg.inc.sync.aligned.u32 232;
// DYN:       ld.shared.u32 %r{{[0-9]+}}, [%r{{[0-9]+}}];
// DYN:       shfl.sync.idx.b32
// DYN-LABEL: .visible .entry causal_d128_attn0(
// DYN-MAP:      "name": "dense_d128_attn0",
// DYN-MAP:      "name": "grid_rows",
// DYN-MAP:      "name": "tile_counter",
// DYN-MAP-NEXT: "type": "ptr",
// DYN-MAP-NEXT: "value": "tile_counter"
// SCHEDULE: error: attn-convert-to-gpu: persistent-schedule must be dynamic or static, found 'sometimes'

// PERSIST-LABEL: .visible .entry dense_d128_attn0(
// PERSIST:       setmaxnreg.dec.sync.aligned.u32 40;
// PERSIST:       mov.u32 %r{{[0-9]+}}, %ctaid.x;
// PERSIST:       mov.u32 %r{{[0-9]+}}, %nctaid.x;
// PERSIST:       mbarrier.try_wait.parity.shared::cta.b64
// PERSIST-NOT:   cp.async.bulk.tensor
// PERSIST:       mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 32768;
// PERSIST:       setmaxnreg.inc.sync.aligned.u32 232;
// PERSIST:       mov.u32 %r{{[0-9]+}}, %ctaid.x;
// PERSIST:       mov.u32 %r{{[0-9]+}}, %nctaid.x;
// The item's first ring ordinal, broadcast from lane 0 (ptxas then keeps
// the stages and descriptors on the uniform datapath).
// PERSIST:       shfl.sync.idx.b32 %r{{[0-9]+}}, %r{{[0-9]+}}, 0, 0x1f, -1;
// PERSIST:       wgmma.mma_async
// PERSIST:       bar.sync 1, 256;
// PERSIST:       st.shared.b32 [%rd{{[0-9]+}}+196608],
// PERSIST-LABEL: .visible .entry causal_d128_attn0(

// GRID:      "name": "dense_d128_attn0",
// GRID:      "dynamic_shared_memory": 197760,
// GRID-NOT:  "persistent"
// GRID-NOT:  "grid_tiles"
// GRID:      "name": "causal_d128_attn0",
// GRID-PTX-LABEL: .visible .entry dense_d128_attn0(
// GRID-PTX-COUNT-5: mbarrier.init.shared::cta.b64 [%r{{[0-9]+}}], 256;
// GRID-PTX-NOT:   mbarrier.init
// GRID-PTX:       fence.mbarrier_init.release.cluster;
// GRID-PTX:       %ctaid.y
// GRID-PTX-LABEL: .visible .entry causal_d128_attn0(

// NOTMA: error: attn-convert-to-gpu: ping-pong schedules the TMA kernel's two math warpgroups; it needs tma
// PP-LABEL: .visible .entry dense_d128_attn0(
// PP:       setmaxnreg.inc.sync.aligned.u32 232;
// PP:       bar.arrive 2, 256;
// PP:       bar.sync %r{{[0-9]+}}, 256;
// PP-NEXT:  wgmma.fence.sync.aligned;
// PP:       wgmma.commit_group.sync.aligned;
// PP-NEXT:  .reg .pred handOver;
// PP-NEXT:  setp.ne.u32 handOver, %r{{[0-9]+}}, 0;
// PP-NEXT:  @handOver bar.arrive %r{{[0-9]+}}, 256;
// PP-NEXT:  wgmma.wait_group.sync.aligned 0;
// PP-LABEL: .visible .entry dense_d64_attn0(
// D = 64 with --tma: the same kernel; by default (until it has run on a
// GPU) mma.sync.
// PP64-LABEL:    .visible .entry dense_d64_attn0(
// PP64:          bar.arrive 2, 256;
// DEFAULT64-LABEL: .visible .entry dense_d64_attn0(
// DEFAULT64-NOT: bar.arrive
// DEFAULT64-NOT: cp.async.bulk
// DEFAULT64:     mma.sync.aligned.m16n8k16

// OFF: error: attn-convert-to-gpu: tma loads the pipelined wgmma kernel's tiles; wgmma-pipeline=off contradicts it

// CHECK:       "name": "dense_d128_attn0",
// CHECK:       "query_tile": 128,
// CHECK-NEXT:  "key_tile": 128,
// CHECK:       "block": [
// CHECK-NEXT:    384,
// 5 x 32768 (K, V) + 32768 (Q) + 1024 to align + 128 for the mbarriers.
// CHECK:       "dynamic_shared_memory": 230528,
// CHECK:       "rule": "query_tiles_x_pairs",
// CHECK:       "persistent": true
// CHECK:       "name": "q_map",
// CHECK-NEXT:  "type": "ptr",
// CHECK-NEXT:  "value": "query.tensor_map",
// CHECK-NEXT:  "rows": 128
// CHECK:       "name": "k_map",
// CHECK-NEXT:  "type": "ptr",
// CHECK-NEXT:  "value": "key.tensor_map",
// CHECK-NEXT:  "rows": 128
// CHECK:       "name": "v_map",
// CHECK-NEXT:  "type": "ptr",
// CHECK-NEXT:  "value": "value.tensor_map",
// CHECK-NEXT:  "rows": 128
// CHECK:       "name": "grid_tiles",
// CHECK-NEXT:  "type": "i32",
// CHECK-NEXT:  "value": "query_tiles"
// CHECK:       "name": "grid_rows",
// CHECK-NEXT:  "type": "i32",
// CHECK-NEXT:  "value": "pairs"
// D = 64: the same kernel with one 64-column panel per tile: 5 x 16384
// (K, V) + 16384 (Q) + 16384 (O's tile) + 1024 + 128.
// CHECK:       "name": "dense_d64_attn0",
// CHECK:       "block": [
// CHECK-NEXT:    384,
// CHECK:       "dynamic_shared_memory": 115840,
// CHECK:       "value": "query.tensor_map",

// The producer's loads (wherever LLVM places its blocks): Q with the first
// K, then each V and K tile once its stage is handed back.
// PRODUCER-LABEL: .visible .entry dense_d128_attn0(
// PRODUCER:       mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 32768;
// PRODUCER-COUNT-2: cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes
// PRODUCER:       mbarrier.try_wait.parity.shared::cta.b64
// PRODUCER:       mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 32768;
// PRODUCER-COUNT-2: cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes
// PRODUCER-LABEL: .visible .entry causal_d128_attn0(

// PTX-LABEL: .visible .entry dense_d128_attn0(
// PTX:       .maxntid 384, 1, 1
// PTX-COUNT-5: mbarrier.init.shared::cta.b64 [%r{{[0-9]+}}], 1;
// PTX-COUNT-6: mbarrier.init.shared::cta.b64 [%r{{[0-9]+}}], 256;
// PTX-NOT:   mbarrier.init
// PTX:       fence.mbarrier_init.release.cluster;
// PTX:       bar.sync 0;
// PTX:       setmaxnreg.dec.sync.aligned.u32 40;
// PTX:       setmaxnreg.inc.sync.aligned.u32 232;
// PTX:       mbarrier.try_wait.parity.shared::cta.b64
// PTX:       wgmma.mma_async.sync.aligned.m64n128k16
// PTX:       mbarrier.arrive.shared::cta.b64 _,
// Two key loops: first the tiles every pair of which is visible, without
// an element mask (no -inf select), then the rest, masked. In each, S(n)
// done (wait_group 1), n's mask and softmax, then P(j) V(j) done
// (wait_group 0), with no branch or block label between (ptxas waits for
// every wgmma in flight at a join: docs/gpu-notes.md, 5d).
// PTX:       wgmma.wait_group.sync.aligned 1;
// PTX-NOT:   {{bra|^\$L__|selp.f32 .*0fFF800000}}
// PTX:       ex2.approx
// PTX-NOT:   {{bra|^\$L__|selp.f32 .*0fFF800000}}
// PTX:       wgmma.wait_group.sync.aligned 0;
// PTX:       wgmma.wait_group.sync.aligned 1;
// PTX-NOT:   {{bra|^\$L__}}
// PTX:       selp.f32 {{.*}}0fFF800000
// PTX-NOT:   {{bra|^\$L__}}
// PTX:       ex2.approx
// PTX-NOT:   {{bra|^\$L__}}
// PTX:       wgmma.wait_group.sync.aligned 0;
// PTX:       bar.sync 1, 256;
// PTX-NOT:   cp.async.cg
// PTX-LABEL: .visible .entry causal_d128_attn0(
// PTX:       wgmma.wait_group.sync.aligned 1;
// PTX-NOT:   {{bra|^\$L__|selp.f32 .*0fFF800000}}
// PTX:       ex2.approx
// PTX-NOT:   {{bra|^\$L__|selp.f32 .*0fFF800000}}
// PTX:       wgmma.wait_group.sync.aligned 0;
// PTX:       wgmma.wait_group.sync.aligned 1;
// PTX-NOT:   {{bra|^\$L__}}
// PTX:       selp.f32 {{.*}}0fFF800000
// PTX-NOT:   {{bra|^\$L__}}
// PTX:       ex2.approx
// PTX-NOT:   {{bra|^\$L__}}
// PTX:       wgmma.wait_group.sync.aligned 0;
// PTX-LABEL: .visible .entry dense_d64_attn0(
// PTX:       .maxntid 384, 1, 1
// PTX:       cp.async.bulk.tensor.4d.shared::cluster.global

// PTXAS-NOT:   C7513
// PTXAS-LABEL: Compiling entry function 'dense_d128_attn0' for 'sm_90a'
// PTXAS-NOT:   C7513
// PTXAS:       {{^ *}}0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

func.func @dense_d128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x4x?x128xbf16>, %v: tensor<?x4x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.dense}
      : tensor<?x16x?x128xbf16>, tensor<?x4x?x128xbf16>, tensor<?x4x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

func.func @causal_d128(%q: tensor<?x16x?x128xbf16>, %k: tensor<?x16x?x128xbf16>, %v: tensor<?x16x?x128xbf16>) -> tensor<?x16x?x128xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.causal}
      : tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x16x?x128xbf16>
  return %o : tensor<?x16x?x128xbf16>
}

func.func @dense_d64(%q: tensor<?x16x?x64xbf16>, %k: tensor<?x16x?x64xbf16>, %v: tensor<?x16x?x64xbf16>) -> tensor<?x16x?x64xbf16> {
  %o = attn.attention %q, %k, %v {pattern = #attn.dense}
      : tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16>, tensor<?x16x?x64xbf16> -> tensor<?x16x?x64xbf16>
  return %o : tensor<?x16x?x64xbf16>
}
