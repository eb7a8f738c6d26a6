//===- ConvertAttnToGPU.cpp - attn.attention -> tensor-core GPU kernels ---===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The GPU back end of the shared tiling step (attn/Tiling/AttentionTiling.h):
// an FA2-style forward kernel per attn.attention (docs/gpu-notes.md describes
// it with its measurements).
//
//  - block = 128 threads = 4 warps; each warp owns `mTiles` 16-row m-tiles,
//    so a query tile is 64 or 128 rows (GPUKernelConfig); blockIdx.y is the
//    (batch, head) pair, or an index into the active list;
//  - query tiles are position-aligned (lib/Tiling's QueryTiling): tile t
//    holds query positions [t BR, (t + 1) BR) whatever Skv - Sq is, so block
//    patterns see whole blocks; rows outside [0, Sq) are zero-filled and
//    never stored; the heaviest tiles run first (blockIdx.x reversed);
//  - K and V tiles of 64 x D through shared memory rows padded by 8
//    elements, filled with cp.async (zero-filled past Skv); FA2's order per
//    visible key tile: V(kt) loads under S = Q Kᵀ, K(next visible tile)
//    loads under the softmax and O += P V;
//  - S = Q Kᵀ and O += P V with nvvm.mma.sync m16n8k16 (bf16 or f16 inputs,
//    f32 accumulators); Q's fragments stay in registers when they fit, else
//    ldmatrix from shared memory per tile; P is repacked from the S
//    accumulators into A fragments in registers;
//  - on sm_90a at D = 128 (and D = 64 with --tma), both matmuls are
//    warpgroup MMAs instead
//    (wgmma.mma_async through inline PTX: A from registers, B = K or V from
//    unpadded 128-byte-swizzled tiles via matrix descriptors), one
//    warpgroup per 64 query rows (128-row tiles: 8 warps sharing each K/V
//    tile), in a pipelined key loop: S of the next visible tile and P V of
//    this one are in flight together, the next tile's softmax runs under
//    P V, K/V load a tile ahead into 2/3 buffers, one barrier per tile. The
//    accumulators and A fragments have mma.sync's layouts, so the softmax,
//    masks and epilogue are shared;
//  - with TMA loads (sm_90a) and --persistent (opt-in: its static rounds
//    were no faster on an H100; the dynamic scheduler has not run yet),
//    the grid is persistent: at most a block per SM, each walking query
//    tiles of the virtual grid, claimed from a counter (or in fixed
//    rounds), the producer loading the next tile's Q, K and V while the
//    math warpgroups finish this one's P V and epilogue (mbarrier phases
//    carried across);
//  - online softmax with ex2.approx, one fma per score (scale x log2 e
//    folded), the running-max guard, the final 1/l (0 for rows that saw
//    nothing);
//  - epilogue through shared memory, 16-byte global stores (--tma-store:
//    one TMA store per 64-column panel, issued by thread 0).
//
// The key-tile loop comes from PatternEmitter: the key hull bounds it,
// emitNextKeyTile jumps over the gaps between a union's hulls, the tile
// class skips tiles nothing sees (`any`) and applies the element mask only
// where not every pair is visible (`full`) or the tile is ragged. Block
// layouts' tables are globals of the gpu.module.
//
//===----------------------------------------------------------------------===//

#include "GPUKernels.h"
#include "PlanSupport.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Tiling/AttentionTiling.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringExtras.h"

#include <limits>

namespace mlir {
namespace attn {
#define GEN_PASS_DEF_CONVERTATTNTOGPU
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace attn
} // namespace mlir

using namespace mlir;
using namespace mlir::attn;
using arith::CmpIPredicate;

namespace {

/// The shape of one GPU kernel. Each warp owns `mTiles` 16-row m-tiles of
/// the query tile (rows `mt * 16 * warps + warp * 16 + [0, 16)`), so one K
/// or V fragment read from shared memory feeds `mTiles` mma: with two
/// m-tiles (128-row query tiles on 4 warps, FA2's choice for sm_80/sm_90)
/// the kernel reads shared memory half as often per flop as with one.
/// sm_90a's wgmma kernels keep one m-tile per warp and grow the block
/// instead (8 warps for 128 rows).
struct GPUKernelConfig {
  /// Bc: 64, or 128 for the pipelined wgmma kernel where every block of
  /// the pattern is a multiple of 128 (S = Q Kᵀ as m64n128 MMAs: half the
  /// per-tile overhead of rescaling, reductions, barriers and waits).
  int64_t keyTile = kBaseKeyTile;
  static constexpr int64_t kBaseKeyTile = 64;
  static constexpr int64_t kPad = 8; ///< smem row padding (elements).
  int64_t headDim = 64;
  /// Warps per block: 4, or 8 for sm_90a's 128-row wgmma tiles (two
  /// warpgroups of 64 rows each that share every K and V tile, so the
  /// block streams K/V from L2 once per 128 query rows instead of per 64).
  int64_t warps = 4;
  int64_t mTiles = 2;
  /// Q's A fragments stay in registers for the whole kernel when they fit
  /// (mTiles * D / 16 * 4 registers); otherwise they are read from shared
  /// memory per key tile, as FA2 does at D = 128.
  bool queryInRegisters = true;
  bool dynamicShared = false;
  /// How heads are switched off: not at all, by a `B x Hq` i1 gates tensor
  /// the kernel reads (blocks of gated-off pairs write zeros and stop), or
  /// by a list of active pairs the grid runs over (the runtime zero-fills
  /// the output first).
  enum class Gating { None, Gates, Active } gating = Gating::None;
  /// `#attn.selected`: the key loop walks the `blocks` operand's list of
  /// `slots` key blocks of `keyBlockTiles` key tiles each; query tiles are
  /// the selection's query blocks, counted in rows (not positions).
  bool selected = false;
  /// A `#attn.random_blocks` pattern: the key loop carries the row's
  /// kept-block stream and steps from kept block to kept block.
  bool streamed = false;
  int64_t slots = 0;
  int64_t keyBlockTiles = 1;
  /// The blocks list's query block in rows, a multiple of the query tile
  /// (0: the query tile): tile t reads the list of query block
  /// floor(t queryTile / listQueryBlock).
  int64_t listQueryBlock = 0;
  /// attn.sparse_branches: three key loops (compressed, selected, window)
  /// per query tile; each thread keeps the mixed rows so far in a private
  /// slice of shared memory between them (f32, exact), not in registers
  /// next to the running accumulators.
  bool branches = false;
  /// sm_90a: S = Q Kᵀ and O += P V as warpgroup MMAs (wgmma.mma_async, each
  /// 4 warps one warpgroup of 64 rows) with A from registers (Q's
  /// fragments, P) and B (K, V) read by the tensor cores from shared memory
  /// through matrix descriptors, in the pipelined key loop
  /// (emitPipelinedKeyLoop). K and V tiles then lie unpadded in wgmma's
  /// 128-byte swizzled layout; Q keeps its padded rows (ldmatrix). Chosen at
  /// D = 128; at D = 64 (wrong results on an H100, not yet understood),
  /// mma.sync.
  bool wgmma = false;
  /// wgmma's key loop is emitPipelinedKeyLoop (else FA2's order, as the
  /// mma.sync kernel).
  bool pipelined = false;
  /// The pipelined kernel's Q tile lies in wgmma's swizzled layout and
  /// S = Q Kᵀ reads both operands from shared memory (Q's fragment
  /// registers go to the wider S and P); the epilogue then stages O through
  /// a padded tile over the K and V buffers.
  bool swizzledQuery() const { return pipelined; }
  /// K and V buffers: one each (FA2's order, one copy in flight behind the
  /// math), or with the pipelined loop two K and three V buffers.
  int64_t keyStages() const { return pipelined ? 2 : 1; }
  int64_t valueStages() const { return pipelined ? 3 : 1; }
  /// The pipelined kernel with its tiles loaded by the Tensor Memory
  /// Accelerator (FA3's producer/consumer split): one more warpgroup, the
  /// producer (one warp of it works), walks the visible key tiles and issues
  /// cp.async.bulk.tensor loads of Q, K and V from tensor maps the runtime
  /// builds; each load completes on an mbarrier ("full") the math warps
  /// wait on, and the math warps hand a buffer back by arriving on its
  /// "empty" mbarrier once their wgmma reads of it are done. No block
  /// barrier per tile, no copy instructions in the math warps.
  bool tma = false;
  /// mbarriers of the TMA kernel: Q full, K full x 2, V full x 3, K empty
  /// x 2, V empty x 3 (8 bytes each), after the tiles.
  static constexpr int64_t kBarrierBytes = 128;
  /// TMA kernel: the two math warpgroups take turns issuing their MMAs
  /// (FA3's ping-pong, named barriers 2 and 3), so one's softmax runs
  /// while the other's MMAs have the tensor cores.
  bool pingPong = false;
  /// TMA kernel: a persistent grid (at most one block per SM), each block
  /// walking query tiles of the virtual grid in turn, so that one tile's
  /// epilogue overlaps the next one's loads. O is then staged through a
  /// tile of its own (the K and V buffers are the next tile's).
  bool persistent = false;
  /// Persistent kernel: blocks draw their next work item from a counter
  /// (FA3's dynamic scheduler; the runtime zeroes it before each launch)
  /// rather than taking static rounds. Each block's first item is its
  /// index; the producer warp claims the next (atomic add) when it starts
  /// an item and hands it to the math warpgroups through shared memory.
  bool dynamicTiles = false;
  /// TMA kernel: the epilogue writes O to shared memory in the layout of
  /// an `out.tensor_map` (64-column panels, 128-byte swizzle) and thread 0
  /// stores it with cp.async.bulk.tensor, which clips the rows outside the
  /// output; the math threads issue no global stores.
  bool tmaStore = false;
  /// Pipelined kernel: run the overlapped steps in a masked loop while the
  /// next tile is partial before the unmasked loop, for patterns with
  /// global tokens: there the global keys' tile and the window's first
  /// tile both need the mask, and without this loop every tile ran
  /// masked.
  bool leadingMaskedLoop = false;

  /// The math warps' threads (the TMA kernel's producer warpgroup comes on
  /// top).
  int64_t threads() const { return 32 * warps; }
  /// The TMA kernel's producer is a whole warpgroup (setmaxnreg works per
  /// warpgroup), of which one warp works.
  int64_t blockThreads() const { return threads() + (tma ? 128 : 0); }
  /// Registers per thread after setmaxnreg: the producer warpgroup gives
  /// its registers to the math warpgroups. Each SM sub-partition holds one
  /// warp of each warpgroup: 40 + 2 x 232 <= 512 (its 16384 registers per
  /// 32 lanes); without it a 384-thread block is capped at 168.
  static constexpr int64_t kProducerRegisters = 40, kMathRegisters = 232;
  /// Rows of one m-tile across the warps (m-tile mt starts at mt x this).
  int64_t mTileStride() const { return 16 * warps; }
  int64_t queryTile() const { return 16 * warps * mTiles; }
  /// The tiles: Q (padded rows), K and V (padded rows, or swizzled and
  /// unpadded for wgmma).
  int64_t tileBytes() const {
    int64_t keyRow = wgmma ? headDim : headDim + kPad;
    int64_t queryRow = swizzledQuery() ? headDim : headDim + kPad;
    // wgmma: room to align the tiles' base to 1024 bytes.
    return (queryTile() * queryRow +
            (keyStages() + valueStages()) * keyTile * keyRow) *
               2 +
           (wgmma ? 1024 : 0);
  }
  /// Branches: each thread's accumulators, mTiles x D/8 vector<4xf32>.
  int64_t stagingBytes() const {
    return branches ? mTiles * (headDim / 8) * threads() * 16 : 0;
  }
  /// The persistent kernel's O tile (TMA's layout: 64-column panels,
  /// chunks swizzled).
  int64_t outStagingBytes() const {
    return persistent ? queryTile() * headDim * 2 : 0;
  }
  int64_t sharedBytes() const {
    return tileBytes() + stagingBytes() + (tma ? kBarrierBytes : 0) +
           outStagingBytes();
  }

  /// Whether a block-granular leaf of `pattern` has blocks a 128-row or
  /// 128-key tile would straddle (every tile must lie in one block).
  static bool blocksStraddle128(PatternAttrInterface pattern) {
    return anyPatternLeaf(pattern, [](PatternAttrInterface leaf) {
      int64_t block = 0;
      if (auto r = dyn_cast<RandomBlocksAttr>(leaf))
        block = r.getBlock();
      else if (auto l = dyn_cast<BlockLayoutAttr>(leaf))
        block = l.getBlock();
      return block % 128 != 0;
    });
  }

  /// An on/off/auto option (wgmma-pipeline, tma, ping-pong).
  enum class Toggle { Off, On, Auto };

  /// Auto's rule for the pipelined kernel: every pattern whose blocks a
  /// 128-row, 128-key tile does not straddle. With TMA loads and ping-pong
  /// (their auto) it measured faster than FA2's order on an H100
  /// (2026-12-07, docs/gpu-notes.md 5d): dense and GQA +17-23%, causal
  /// +26%, strided +7%, sliding window within 1%.
  static bool pipelineByDefault(PatternAttrInterface pattern) {
    return !blocksStraddle128(pattern);
  }

  /// The kernel for head dim `d` and `pattern`: the defaults, or the query
  /// and key tiles asked for (0: default). `hopper`: sm_90a with wgmma
  /// allowed. A tile the kernel cannot take fails, with an error through
  /// `emitError` naming it (for `chip`).
  static LogicalResult
  choose(int64_t d, PatternAttrInterface pattern, GPUKernelConfig &cfg,
         function_ref<InFlightDiagnostic()> emitError, StringRef chip,
         int64_t queryTile = 0, int64_t keyTile = 0, bool hopper = false,
         Toggle mode = Toggle::Off, Toggle tma = Toggle::Off,
         Toggle pingPong = Toggle::Off, Toggle persistent = Toggle::Off,
         Toggle tmaStore = Toggle::Off, bool staticRounds = false) {
    if (pingPong == Toggle::On && tma == Toggle::Off)
      return emitError() << "attn-convert-to-gpu: ping-pong schedules the "
                            "TMA kernel's two math warpgroups; it needs tma";
    if (persistent == Toggle::On && tma == Toggle::Off)
      return emitError() << "attn-convert-to-gpu: persistent walks the TMA "
                            "kernel's query tiles; it needs tma";
    if (tmaStore == Toggle::On && tma == Toggle::Off)
      return emitError() << "attn-convert-to-gpu: tma-store stores the TMA "
                            "kernel's output through a tensor map; it needs "
                            "tma";
    if (tma == Toggle::On && mode == Toggle::Off)
      return emitError() << "attn-convert-to-gpu: tma loads the pipelined "
                            "wgmma kernel's tiles; wgmma-pipeline=off "
                            "contradicts it";
    if (tma == Toggle::On)
      mode = Toggle::On;
    bool pipeline = mode == Toggle::On ||
                    (mode == Toggle::Auto && queryTile == 0 &&
                     !isa<SelectedAttr>(pattern) && pipelineByDefault(pattern));
    cfg.headDim = d;
    cfg.streamed = isa<RandomBlocksAttr>(pattern);
    // Runtime-selected blocks: the query tile is the query block.
    if (auto selected = dyn_cast<SelectedAttr>(pattern)) {
      if (queryTile == 0)
        queryTile = selected.getQueryBlock();
      cfg.selected = true;
      cfg.keyBlockTiles =
          std::max<int64_t>(1, selected.getKeyBlock() / cfg.keyTile);
    }
    // wgmma in FA2's order: 64-row tiles (one warpgroup; 3 blocks per SM).
    if (queryTile == 0 && hopper && d == 128 && !pipeline)
      queryTile = 64;
    // 128 rows unless a block-granular leaf has blocks a 128-row tile would
    // straddle (every query tile must lie in one block).
    if (queryTile == 0)
      queryTile = blocksStraddle128(pattern) ? 64 : 128;
    if (queryTile != 64 && queryTile != 128)
      return emitError() << "attn-convert-to-gpu: query-tile must be 64 or "
                            "128 (0 for the default), found "
                         << queryTile;
    // sm_90a at D = 128: one 64-row m-tile per warpgroup, whose Q fragments
    // stay in registers next to wgmma's accumulators (two m-tiles per warp
    // would spill); 128-row tiles are two warpgroups. In FA2's order only
    // the measured 64-row kernel: a 128-row tile asked for keeps mma.sync
    // there, and so does D = 64, whose kernels in that order gave wrong
    // results on an H100 (2026-12-06, not yet understood). At D = 64 the
    // pipelined kernel (one 64-column panel per tile; Q read through a
    // descriptor, as in the exact D = 128 kernel) only when asked for
    // (--wgmma-pipeline or --tma) until it has run on a GPU.
    cfg.wgmma = hopper && ((d == 128 && (pipeline || queryTile == 64)) ||
                           (d == 64 && pipeline && mode == Toggle::On));
    cfg.pipelined = cfg.wgmma && pipeline;
    // The pipelined kernel takes 128-key tiles where no block of the
    // pattern would straddle one.
    // 128-key tiles: the pipelined wgmma kernel only. In FA2's order (one
    // K and one V buffer) they give wrong results from the second key tile
    // on (H100, 2026-12-07; one tile exact), as D = 64 does there; mma.sync
    // would need twice S's registers.
    if (keyTile != 0 && keyTile != 64 && (keyTile != 128 || !cfg.pipelined))
      return emitError()
             << "attn-convert-to-gpu: key-tile must be 64, or 128 with the "
                "pipelined sm_90a kernel (D = 128, --wgmma-pipeline), found "
             << keyTile << " for "
             << (cfg.pipelined ? "the pipelined wgmma kernel"
                 : cfg.wgmma   ? "the wgmma kernel in FA2's order"
                               : "an mma.sync kernel")
             << " at D = " << d << " on " << chip;
    if (keyTile != 0)
      cfg.keyTile = keyTile;
    else if (cfg.pipelined && !cfg.selected && !blocksStraddle128(pattern))
      cfg.keyTile = 128;
    // TMA and ping-pong: on wherever the kernel takes them unless turned
    // off (an explicit "on" the kernel cannot take changes nothing, as
    // at D = 64). Random-block streams included: the producer draws the
    // stream a second time (H100, 2026-12-07: correct, 1.2-1.25x faster
    // than cp.async copies).
    cfg.tma = cfg.pipelined && tma != Toggle::Off;
    cfg.pingPong = pingPong != Toggle::Off && cfg.tma && queryTile == 128;
    // The persistent grid only when asked for: on an H100 (2026-12-07,
    // docs/gpu-notes.md 5f) it was 0.71-1.06x the speed of a block per
    // query tile, which auto keeps.
    cfg.persistent = persistent == Toggle::On && cfg.tma;
    cfg.dynamicTiles = cfg.persistent && !staticRounds;
    // TMA stores of O only when asked for, until measured.
    cfg.tmaStore = tmaStore == Toggle::On && cfg.tma;
    // Measured alone (H100, 2026-12-07, 5g): 64 global tokens + local
    // +-256 1.10-1.12x faster; on dense and causal, which never enter it,
    // the extra loop cost up to 6% at S = 16384.
    cfg.leadingMaskedLoop = cfg.pipelined && globalQueryPositions(pattern) > 0;
    cfg.warps = cfg.wgmma ? queryTile / 16 : 4;
    cfg.mTiles = queryTile / (16 * cfg.warps);
    cfg.queryInRegisters = !cfg.swizzledQuery() && cfg.mTiles * d <= 128;
    // Past 48 KB the tiles come from dynamic shared memory.
    // wgmma's swizzled tiles need 1024-byte aligned bases, which the
    // kernel finds in its dynamic shared memory.
    cfg.dynamicShared = cfg.wgmma || cfg.sharedBytes() > 48 * 1024;
    return success();
  }
};

class GPUKernelBuilder {
public:
  GPUKernelBuilder(AttentionOp op, const GPUKernelConfig &cfg, ModuleOp module)
      : op(op), cfg(cfg), module(module), b(op.getContext()),
        loc(op.getLoc()), m(b, loc) {
    elementType = op.getQueryType().getElementType();
    HQ = op.getNumQueryHeads();
    HKV = op.getNumKeyValueHeads();
    Branch branch;
    branch.pattern = op.getEffectivePattern();
    branch.selected = cfg.selected;
    branches.push_back(branch);
  }
  /// attn.sparse_branches: query tiles are the selected branch's query
  /// blocks (rows) for all three branches.
  GPUKernelBuilder(SparseBranchesOp op, const GPUKernelConfig &cfg,
                   ModuleOp module)
      : op(op), cfg(cfg), module(module), b(op.getContext()),
        loc(op.getLoc()), m(b, loc) {
    elementType = op.getQueryType().getElementType();
    weightsType = op.getWeights().getType().getElementType();
    HQ = op.getNumQueryHeads();
    HKV = op.getNumKeyValueHeads();
    CompressedKeyMap map{int64_t(op.getCompressBlock()),
                         op.getEffectiveCompressStride(), op.getCausal()};
    Branch compressed, selected, window;
    compressed.pattern = map.pattern(op.getContext());
    compressed.compressed = map;
    compressed.tensor = 3;
    selected.pattern = op.getSelected();
    selected.selected = true;
    window.pattern = op.getWindow();
    branches = {compressed, selected, window};
  }

  gpu::GPUFuncOp build(gpu::GPUModuleOp gpuModule, StringRef name);

  /// The parameters of a sparse_branches kernel, in order: the 7 operands'
  /// and the result's pointers, each one's strides [0..2], Sq, Skv, N
  /// (compressed slots) and the scale (the manifest's "params").
  static SmallVector<std::pair<std::string, std::string>> branchesParams();

private:
  // --- small helpers -------------------------------------------------------
  Value idx(int64_t v) { return m.index(v); }
  Value add(Value x, Value y) { return m.add(x, y); }
  Value addC(Value x, int64_t c) { return c ? m.addConst(x, c) : x; }
  Value mul(Value x, Value y) { return m.mul(x, y); }
  Value mulC(Value x, int64_t c) { return m.mul(x, idx(c)); }
  Value divC(Value x, int64_t c) {
    return arith::DivUIOp::create(b, loc, x, idx(c));
  }
  Value remC(Value x, int64_t c) {
    return arith::RemUIOp::create(b, loc, x, idx(c));
  }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value fma(Value x, Value y, Value z) {
    return LLVM::FMAOp::create(b, loc, x, y, z);
  }
  Value fmax(Value x, Value y) {
    return arith::MaxNumFOp::create(b, loc, x, y);
  }
  Value ex2(Value x) {
    return LLVM::CallIntrinsicOp::create(
               b, loc, b.getF32Type(),
               b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"), ValueRange{x})
        ->getResult(0);
  }
  Value extract(Value v, int64_t i) {
    return vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{i});
  }
  Value fromElements(VectorType type, ValueRange xs) {
    return vector::FromElementsOp::create(b, loc, type, xs);
  }
  /// A vector<2 x elem> as an mma operand: i32 for bf16, as is for f16.
  Value fragment(Value pair) {
    if (!isBF16)
      return pair;
    return LLVM::BitcastOp::create(b, loc, b.getI32Type(), pair);
  }
  Value packPair(Value x, Value y) {
    Value v = fromElements(VectorType::get({2}, b.getF32Type()), {x, y});
    return fragment(arith::TruncFOp::create(b, loc, pairType, v));
  }
  /// Inline PTX with one result of type `type`, on `operands` (LLVM
  /// constraints, the result's first); `sideEffects` keeps LLVM from
  /// moving, sharing or dropping it.
  Value ptxValue(Type type, StringRef text, ValueRange operands,
                 StringRef constraints, bool sideEffects) {
    return LLVM::InlineAsmOp::create(
               b, loc, type, operands, text, constraints, sideEffects,
               /*is_align_stack=*/false, LLVM::tailcallkind::TailCallKind::None,
               /*asm_dialect=*/LLVM::AsmDialectAttr(),
               /*operand_attrs=*/ArrayAttr())
        .getResult(0);
  }
  /// `x` (an index) through an empty `mov` the optimizer cannot see into.
  /// LLVM hoists every loop-invariant address term of the unrolled tile
  /// copies out of the key loop (i * stride for each row a thread copies:
  /// 16 64-bit registers per tensor), which pushes the 128-row kernels
  /// into spills; recomputing them per tile costs one IMAD each.
  Value opaque(Value x) {
    Value x64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), x);
    Value y = ptxValue(b.getI64Type(), "mov.b64 $0, $1;", x64, "=l,l",
                       /*sideEffects=*/true);
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), y);
  }
  /// `x`, a value every lane of the warp holds alike, as lane 0's copy
  /// (shfl.sync.idx): ptxas then knows it is warp-uniform. The persistent
  /// kernel's ring ordinal comes from the item loop, and ptxas did not see
  /// it as uniform: the key loop's stages and wgmma descriptors moved off
  /// the uniform datapath (773 instructions per key tile against 708 for
  /// the one-item kernel's dense loop; 692 with this).
  Value warpUniform(Value x) {
    Value y = ptxValue(b.getI32Type(), "shfl.sync.idx.b32 $0, $1, 0, 0x1f, -1;",
                       toI32(x), "=r,r", /*sideEffects=*/false);
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), y);
  }
  /// A barrier of the math warps: the whole block, or in the TMA kernel
  /// (whose producer warpgroup never takes part) named barrier 1 of threads().
  void barrier() {
    if (cfg.tma)
      ptx(("bar.sync 1, " + Twine(cfg.threads()) + ";").str());
    else
      gpu::BarrierOp::create(b, loc);
  }
  /// cp.async.wait_group 0: every copy this thread issued has landed.
  void waitCopies() { NVVM::CpAsyncWaitGroupOp::create(b, loc, 0); }
  /// Inline PTX with side effects, on `operands` (LLVM constraints).
  void ptx(StringRef text, ValueRange operands = {},
           StringRef constraints = "") {
    LLVM::InlineAsmOp::create(b, loc, TypeRange{}, operands, text, constraints,
                              /*has_side_effects=*/true,
                              /*is_align_stack=*/false,
                              LLVM::tailcallkind::TailCallKind::None,
                              LLVM::AsmDialectAttr(), ArrayAttr());
  }
  Value toI32(Value x) {
    if (x.getType().isInteger(32))
      return x;
    return arith::IndexCastOp::create(b, loc, b.getI32Type(), x);
  }

  // The TMA kernel's mbarriers (GPUKernelConfig::tma), by index: Q full,
  // K full per stage, V full per stage, K empty, V empty.
  // The persistent kernel adds Q empty: the math warps are done reading Q
  // (arrivals of every math thread, as the other empty ones); with dynamic
  // tiles, item full (the producer's one arrival: the next item is in the
  // slot) and item empty (every math thread has read it), and the slot
  // (4 bytes) after them.
  static constexpr int64_t kQueryFull = 0, kKeyFull = 1, kValueFull = 3,
                           kKeyEmpty = 6, kValueEmpty = 8, kQueryEmpty = 11,
                           kItemFull = 12, kItemEmpty = 13, kItemSlot = 14;
  static_assert(kItemSlot * 8 + 4 <= GPUKernelConfig::kBarrierBytes,
                "the item slot lies in the mbarriers' bytes");
  int64_t numBarriers() const {
    return cfg.dynamicTiles ? kItemSlot
           : cfg.persistent ? kItemFull
                            : kQueryEmpty;
  }
  /// The shared address (i32) of mbarrier `first` + `stage`.
  Value barrierAddress(int64_t first, Value stage) {
    return toI32(add(barrierBase, mulC(addC(stage, first), 8)));
  }
  /// Blocks until the phase of parity `parity` (an index, 0 or 1) of the
  /// mbarrier at `address` has completed.
  void waitBarrier(Value address, Value parity) {
    ptx("{\n.reg .pred done;\nwaitBarrier:\n"
        "mbarrier.try_wait.parity.shared::cta.b64 done, [$0], $1;\n"
        "@!done bra waitBarrier;\n}",
        {address, toI32(parity)}, "r,r");
  }
  void arriveBarrier(Value address) {
    ptx("mbarrier.arrive.shared::cta.b64 _, [$0];", {address}, "r");
  }
  void initBarriers();
  void emitProducer(Value firstTile, Value batch, Value headIndex,
                    Value kvHead);
  /// `rows` rows of a [B, H, S, D] tensor through its tensor map `map`
  /// (an i64 address): row `row` of head `headIndex` of `batch`, as
  /// 64-column panels of rows x 128 bytes at shared address `to` (an index),
  /// completing on the mbarrier at `full`.
  void loadTile(Value map, Value to, Value full, Value row, Value headIndex,
                Value batch, int64_t rows);

  /// The tiles copied so far are in shared memory and every warp may read
  /// them: cp.async writes through the generic proxy, which wgmma's reads
  /// (the async proxy) see only after fence.proxy.async.
  void waitTiles() {
    waitCopies();
    if (cfg.wgmma)
      ptx("fence.proxy.async.shared::cta;");
    barrier();
  }
  /// A packed pair of 16-bit elements as the b32 register inline PTX takes.
  Value asI32(Value x) {
    if (x.getType().isInteger(32))
      return x;
    return LLVM::BitcastOp::create(b, loc, b.getI32Type(), x);
  }
  Value matrixDescriptor(Value tile, int64_t leadingBytes,
                         int64_t strideBytes);
  /// [m-tile][n-tile or k-step][4] values.
  using Tiles = SmallVector<SmallVector<SmallVector<Value>>>;
  /// One warpgroup GEMM of warpgroupGemms.
  struct WarpgroupGemm {
    ArrayRef<SmallVector<SmallVector<Value>>> a; ///< [mt][k-step][4]
    Value descriptor;
    ArrayRef<int64_t> kOffsets;
    int64_t n;
    bool transposeB;
    ArrayRef<SmallVector<Value>> acc; ///< empty: from zero
    /// Set (and `a` empty): A from shared memory, one m-tile, k-step kk at
    /// this descriptor + aOffsets[kk] (K-major, not transposed).
    Value aDescriptor = {};
    ArrayRef<int64_t> aOffsets = {};
    int64_t mTiles() const { return aDescriptor ? 1 : a.size(); }
  };
  SmallVector<SmallVector<SmallVector<Value>>>
  warpgroupGemms(ArrayRef<WarpgroupGemm> gemms, int64_t pending,
                 Value handOver = {});
  SmallVector<SmallVector<Value>>
  warpgroupMMA(ArrayRef<SmallVector<SmallVector<Value>>> a, Value descriptor,
               ArrayRef<int64_t> kOffsets, int64_t n, bool transposeB,
               ArrayRef<SmallVector<Value>> acc) {
    return warpgroupGemms({{a, descriptor, kOffsets, n, transposeB, acc}},
                          /*pending=*/0)[0];
  }
  SmallVector<SmallVector<Value>>
  warpgroupWait(ArrayRef<SmallVector<Value>> acc, const Tiles &reads);
  SmallVector<Value> ldmatrix4(Value mem, Value row, Value col, bool trans);
  SmallVector<Value> mma(ArrayRef<Value> a, ArrayRef<Value> bFrag,
                         ArrayRef<Value> c);
  Value quadReduce(Value x, bool isMax);
  void copyTile(Value gmem, Value base, Value stride, Value start, Value limit,
                Value smem, int64_t rows, bool swizzled = false,
                Value swizzledOffset = nullptr);
  SmallVector<Value> queryFragments(int64_t mt, int64_t kk);
  Value emitNextVisibleTile(Value from);
  Value emitNextSelectedTile(Value from);
  struct SoftmaxStep {
    SmallVector<Value> m, l, alpha; ///< per m-tile
    Tiles probabilities;            ///< P in f32 [mt][n-tile][4]
    Tiles p;                        ///< P's A fragments [mt][kk][4]
    /// The accumulators given to emitSoftmax times alpha, [mt][NDN x 4].
    SmallVector<SmallVector<Value>> scaled;
  };
  SmallVector<SmallVector<Value>>
  packProbabilityTile(ArrayRef<SmallVector<Value>> p);
  WarpgroupGemm scoreGemm(Value keyDescriptor, Tiles &a,
                          SmallVector<int64_t> &offsets,
                          SmallVector<int64_t> &queryOffsets);
  SmallVector<int64_t> valueOffsets();
  Tiles scoresFromAccumulators(ArrayRef<SmallVector<Value>> acc);
  /// Whether key tile `kt` needs the element mask, and the tile-level
  /// facts the mask reads.
  struct KeyTileMask {
    Value needed; ///< i1
    MaskContext context;
  };
  KeyTileMask classifyKeyTile(Value kt);
  /// The element mask of tile `kt` on `s`, straight-line (no branch).
  void applyMask(Value kt, const MaskContext &context, Tiles &s);
  /// applyMask under a branch on classifyKeyTile's `needed`.
  void emitMask(Value kt, Tiles &s);
  SoftmaxStep emitSoftmax(const Tiles &s, ValueRange mPrev, ValueRange lPrev,
                          bool pack = true, ValueRange o = {});
  SmallVector<Value> scaleAccumulatorTile(ValueRange o, int64_t mt,
                                          Value alpha);
  void appendAccumulators(SmallVector<Value> &out,
                          ArrayRef<SmallVector<Value>> oacc);
  Value stagedDescriptor(Value descriptor, Value stage);
  SmallVector<Value> emitKeyTile(Value kt, ValueRange iters);
  /// An scf.while over key tiles carrying `inits`; `body` (which yields)
  /// runs while value `tileAt` (the first by default), a tile, is below
  /// tileEnd and, given `alsoWhile`, that tile passes it.
  scf::WhileOp emitTileLoop(ValueRange inits,
                            function_ref<void(ValueRange)> body,
                            unsigned tileAt = 0,
                            function_ref<Value(Value)> alsoWhile = nullptr) {
    return scf::WhileOp::create(
        b, loc, inits.getTypes(), inits,
        [&](OpBuilder &, Location, ValueRange args) {
          Value more = m.cmp(CmpIPredicate::slt, args[tileAt], tileEnd);
          if (alsoWhile)
            more = m.andI(more, alsoWhile(args[tileAt]));
          scf::ConditionOp::create(b, loc, more, args);
        },
        [&](OpBuilder &, Location, ValueRange args) { body(args); });
  }
  SmallVector<Value> emitPipelinedKeyLoop(Value firstTile, Value zero4,
                                          Value ninf2, Value zero2);

  /// One key loop: attention has one, sparse_branches three.
  struct Branch {
    PatternAttrInterface pattern;
    bool selected = false;
    std::optional<CompressedKeyMap> compressed;
    /// The kernel's tensor holding the keys (values follow it).
    unsigned tensor = 1;
  };
  /// Makes `branch` the one emitKeyTile and the tile iterators work on:
  /// its K/V bases, strides and length, pattern, hull and blocks list.
  /// Returns the first key tile its hull may hold (a lower bound).
  Value enterBranch(const Branch &branch, Value batch, Value kvHead,
                    Value bx);
  /// The key index a pattern sees for key (or slot) `k`.
  Value mappedKey(Value k) {
    return current->compressed ? current->compressed->emitPosition(m, k) : k;
  }

  Operation *op;
  GPUKernelConfig cfg;
  ModuleOp module;
  OpBuilder b;
  Location loc;
  IndexMath m;
  SmallVector<Branch> branches;
  const Branch *current = nullptr;

  Type elementType, weightsType;
  bool isBF16 = true;
  int64_t D = 0, HQ = 0, HKV = 0, MT = 1;
  VectorType pairType;   ///< vector<2 x elem>.
  MemRefType globalType; ///< memref<4294967296 x elem>.
  VectorType accType;    ///< vector<4xf32>.
  VectorType rowType;    ///< vector<2xf32>.

  // Per-kernel values; k, v, kbase, vbase, ks2, vs2 and keyLen belong to
  // the current branch, positionLen is Skv (which places the rows).
  SmallVector<Value> tensorArgs, tensorStrides; ///< branches: [8], [8 x 3]
  Value q, k, v, o, sQ, sK, sV, sStage;
  /// The padded tile the epilogue stages O through: sQ, or with a swizzled
  /// Q a view over the K and V buffers.
  Value sOut;
  /// wgmma: the K and V tiles' matrix descriptors (k-step 0); with a
  /// swizzled Q, this warpgroup's 64 rows of it.
  Value kDescriptor, vDescriptor, qDescriptor;
  Value positionLen;
  Value tid, lane, g, t2, l16, l16c, l8, l8c, wrow;
  Value kbase, vbase, ks2, vs2, keyLen, sl2, ninf, zero;
  Value head, compressedLen, blocksArg;
  Operation *tableModule = nullptr;
  SmallVector<Value> keyStrides, valueStrides, blocksStrides;
  Value tileStart, first, last, tileEnd; ///< positions (tileEnd: a key tile)
  SmallVector<SmallVector<SmallVector<Value>>> qa; ///< [mt][kk] fragments.
  /// Selected blocks: this lane's slots (lane + 32 i) of the query block's
  /// list, as i32, loaded once.
  SmallVector<Value> laneBlocks;
  /// tileEnd (i32) and the first block at or past it, computed once.
  Value selectedEnd, selectedEndBlocks;
  /// Random blocks: the stream's state and last kept block (loop-carried;
  /// emitNextVisibleTile advances them), and the row's query block.
  SmallVector<Value> cursor;
  Value streamQueryBlock;
  std::unique_ptr<PatternEmitter> pattern;
  /// TMA: the tensor maps of Q, K and V (device addresses, i64), the shared
  /// addresses (index) of K's stage 0, V's stage 0, Q and the mbarriers.
  Value queryMap, keyMap, valueMap;
  /// Ping-pong: the named barriers (i32) of this warpgroup's turn and of
  /// the other's.
  Value turnBarrier, otherBarrier;
  /// TMA: if producer { ... } else { key loop; epilogue }.
  scf::IfOp roles;
  /// The TMA kernel's roles: `if producer` (its registers given up) else
  /// (the math warpgroups, registers raised); the builder stays before it.
  scf::IfOp splitRoles() {
    Value isProducer = m.cmp(CmpIPredicate::uge, tid, idx(cfg.threads()));
    auto split = scf::IfOp::create(b, loc, isProducer, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(split.thenBlock()->getTerminator());
    ptx(("setmaxnreg.dec.sync.aligned.u32 " +
         Twine(GPUKernelConfig::kProducerRegisters) + ";")
            .str());
    b.setInsertionPoint(split.elseBlock()->getTerminator());
    ptx(("setmaxnreg.inc.sync.aligned.u32 " +
         Twine(GPUKernelConfig::kMathRegisters) + ";")
            .str());
    return split;
  }
  /// The persistent kernel's mbarrier phases, carried from item to item by
  /// each role: the ordinal of the next K/V tile among all the block's
  /// visible tiles so far, and the Q tiles loaded so far. Empty for a
  /// kernel of one item per block (both start at 0).
  SmallVector<Value> ringPhase;
  /// An `scf.if` that, in the persistent kernel, yields the phases its then
  /// branch leaves (set by closePhaseIf) and passes them through unchanged
  /// on the else branch. Without phases it is a plain if, with an else
  /// region when `withElse`. The builder is left before the then branch's
  /// terminator.
  scf::IfOp openPhaseIf(Value condition, bool withElse) {
    bool carries = !ringPhase.empty();
    auto op = scf::IfOp::create(b, loc, ValueRange(ringPhase).getTypes(),
                                condition, withElse || carries);
    if (carries) {
      b.setInsertionPointToStart(op.elseBlock());
      scf::YieldOp::create(b, loc, ringPhase);
      b.setInsertionPointToStart(op.thenBlock());
      scf::YieldOp::create(b, loc, ringPhase);
    }
    b.setInsertionPoint(op.thenBlock()->getTerminator());
    return op;
  }
  /// Ends an openPhaseIf: its then branch yields `thenPhases` (the phases
  /// as the branch leaves them), the builder moves after it and ringPhase
  /// becomes its results.
  void closePhaseIf(scf::IfOp op, ValueRange thenPhases) {
    b.setInsertionPointAfter(op);
    if (ringPhase.empty())
      return;
    op.thenBlock()->getTerminator()->setOperands(thenPhases);
    ringPhase.assign(op.getResults().begin(), op.getResults().end());
  }
  Value keyBase, valueBase, queryBase, barrierBase;
  /// TMA store: the shared address (index) of O's staging tile and the
  /// device address of O's tensor map.
  Value outBase, outMap;
  Value queryRow0; ///< the Q tile's first row (negative: before row 0)
  /// Runs `body` on thread 0 only (the mbarriers' setup; the TMA stores and
  /// the waits for them).
  void onThreadZero(function_ref<void()> body) {
    scf::IfOp::create(b, loc, m.cmp(CmpIPredicate::eq, tid, idx(0)),
                      [&](OpBuilder &, Location) {
                        body();
                        scf::YieldOp::create(b, loc);
                      });
  }
  /// The bulk stores issued so far have read their shared memory (O's
  /// staging tile may be written again, or the block may exit).
  void waitStoresRead() { ptx("cp.async.bulk.wait_group.read 0;"); }
  void storeTile(Value map, Value from, Value row, Value headIndex, Value batch,
                 int64_t rows);
};

} // namespace

SmallVector<Value> GPUKernelBuilder::ldmatrix4(Value mem, Value row, Value col,
                                               bool trans) {
  Value fr = nvgpu::LdMatrixOp::create(
      b, loc, VectorType::get({4, 2}, elementType), mem, ValueRange{row, col},
      trans, 4);
  SmallVector<Value> regs;
  for (int64_t i = 0; i < 4; ++i)
    regs.push_back(fragment(extract(fr, i)));
  return regs;
}

SmallVector<Value> GPUKernelBuilder::mma(ArrayRef<Value> a,
                                         ArrayRef<Value> bFrag,
                                         ArrayRef<Value> c) {
  Type f32Type = b.getF32Type();
  auto structType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), {f32Type, f32Type, f32Type, f32Type});
  NVVM::MMATypes ptxType = isBF16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  Value r = NVVM::MmaOp::create(
      b, loc, structType, a, bFrag, c, ArrayRef<int64_t>{16, 8, 16},
      std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{ptxType, ptxType},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> out;
  for (int64_t i = 0; i < 4; ++i)
    out.push_back(
        LLVM::ExtractValueOp::create(b, loc, r, ArrayRef<int64_t>{i}));
  return out;
}

Value GPUKernelBuilder::quadReduce(Value x, bool isMax) {
  for (int32_t offset : {1, 2}) {
    Value s = gpu::ShuffleOp::create(b, loc, x, offset, 32,
                                     gpu::ShuffleMode::XOR)
                  .getShuffleResult();
    x = isMax ? fmax(x, s) : fadd(x, s);
  }
  return x;
}

/// cp.async a [rows x D] tile: rows `start..` of `gmem`; rows >= `limit` are
/// zero-filled (source size 0, reading from `base`, which is valid whenever
/// a tile is copied at all). Commits the copies as one group. Thread `tid`
/// copies 16-byte chunk `tid % (D/8)` of rows `tid / (D/8) + i * (128 /
/// (D/8))`, so the addresses of its copies differ by constants and add
/// nothing to the registers live across the key loop.
void GPUKernelBuilder::copyTile(Value gmem, Value base, Value stride,
                                Value start, Value limit, Value smem,
                                int64_t rows, bool swizzled,
                                Value swizzledOffset) {
  const int64_t chunksPerRow = D / 8;
  const int64_t rowsPerPass = cfg.threads() / chunksPerRow;
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  SmallVector<Value> tokens;
  Value row0 = divC(tid, chunksPerRow);
  Value col = mulC(remC(tid, chunksPerRow), 8);
  // wgmma's 128-byte swizzle (a 1-D tile): 64-column panels of `rows` x 128
  // bytes; 16-byte chunk c of row r sits at chunk c ^ (r % 8) of its row.
  // rowsPerPass is a multiple of 8, so r % 8 is row0 % 8 in every pass.
  Value swizzledAt;
  if (swizzled) {
    Value chunk = remC(tid, chunksPerRow);
    Value panel = divC(chunk, 8);
    Value inPanel = arith::XOrIOp::create(b, loc, remC(chunk, 8), remC(row0, 8));
    swizzledAt = add(add(mulC(panel, rows * 64), mulC(row0, 64)),
                     mulC(inPanel, 8));
    if (swizzledOffset)
      swizzledAt = add(swizzledAt, swizzledOffset);
  }
  Value gr0 = add(start, row0);
  Value src0 = add(add(base, mul(gr0, stride)), col);
  Value step = opaque(mulC(stride, rowsPerPass));
  Value src = src0;
  for (int64_t i = 0; i < rows / rowsPerPass; ++i) {
    if (i)
      src = add(src, step);
    // Rows before 0 exist only in a query tile's head (position-aligned
    // tiles); key tiles start at 0.
    Value gr = addC(gr0, i * rowsPerPass);
    Value ok = m.andI(m.cmp(CmpIPredicate::sge, gr, idx(0)),
                      m.cmp(CmpIPredicate::slt, gr, limit));
    Value n = m.select(ok, idx(8), idx(0));
    SmallVector<Value> dst;
    if (swizzled)
      dst.push_back(addC(swizzledAt, i * rowsPerPass * 64));
    else
      dst.assign({addC(row0, i * rowsPerPass), col});
    tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
        b, loc, tokenType, smem, dst, gmem,
        ValueRange{m.select(ok, src, base)}, b.getIndexAttr(8), n,
        b.getUnitAttr()));
  }
  nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, tokenType, tokens);
}

/// Q's A fragments of m-tile `mt`, k-step `kk` (16 head-dim columns).
SmallVector<Value> GPUKernelBuilder::queryFragments(int64_t mt, int64_t kk) {
  if (cfg.queryInRegisters)
    return qa[mt][kk];
  return ldmatrix4(sQ, addC(add(wrow, l16), cfg.mTileStride() * mt),
                   addC(l16c, 16 * kk), false);
}

/// The wgmma matrix descriptor of a swizzled tile (PTX ISA, "Matrix
/// Descriptor Format"): bits 0-13 the start address / 16, 16-29 the leading
/// byte offset / 16, 32-45 the stride byte offset / 16, 62-63 the swizzle
/// (1: 128 bytes). K-major operands (K in S = Q Kᵀ) ignore the leading
/// offset; the stride offset steps over 8-row groups (1024 bytes). For the
/// transposed (MN-major) V the leading offset steps over 64-column panels.
Value GPUKernelBuilder::matrixDescriptor(Value tile, int64_t leadingBytes,
                                         int64_t strideBytes) {
  Value address = arith::IndexCastOp::create(
      b, loc, b.getI64Type(),
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, tile));
  auto i64 = [&](int64_t x) {
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(x));
  };
  Value start = arith::ShRUIOp::create(
      b, loc, arith::AndIOp::create(b, loc, address, i64(0x3FFFF)), i64(4));
  int64_t fields = ((leadingBytes >> 4) << 16) | ((strideBytes >> 4) << 32) |
                   (int64_t(1) << 62);
  return arith::OrIOp::create(b, loc, start, i64(fields));
}

/// Warpgroup GEMMs as one inline-PTX statement, so nothing is scheduled
/// between the asynchronous MMAs and their wait: wgmma.fence; per GEMM, for
/// each k-step kk and m-tile mt, wgmma m64`n`k16 with A = a[mt][kk] (4 b32
/// registers, mma.sync's A layout) and B at the descriptor + kOffsets[kk]
/// (16-byte units), then a commit (one group per GEMM); then a wait until
/// at most `pending` groups (the last ones) are in flight. A GEMM's `acc`
/// (mt x n / 2 f32, mma.sync's C order, n-tile by n-tile) is added to, or,
/// when empty, the product starts from zero (scale-d false on the first
/// k-step). The results of a GEMM still in flight are only valid after
/// warpgroupWait; until then they must not be touched (ptxas, which knows
/// wgmma's asynchronous register writes, would serialize such a read).
SmallVector<SmallVector<SmallVector<Value>>>
GPUKernelBuilder::warpgroupGemms(ArrayRef<WarpgroupGemm> gemms, int64_t pending,
                                 Value handOver) {
  SmallVector<Value> operands;
  std::string constraints;
  llvm::raw_string_ostream cs(constraints);
  SmallVector<int64_t> firstOutput;
  int64_t outputs = 0;
  for (const WarpgroupGemm &gemm : gemms) {
    firstOutput.push_back(outputs);
    // Without tied accumulators, the first MMA writes outputs while later
    // k-steps (and later GEMMs) still read their inputs: early clobber.
    for (int64_t i = 0, e = gemm.mTiles() * gemm.n / 2; i < e; ++i)
      cs << (outputs + i ? "," : "") << (gemm.acc.empty() ? "=&f" : "=f");
    outputs += gemm.mTiles() * gemm.n / 2;
  }
  for (auto [g, gemm] : llvm::enumerate(gemms))
    for (auto [mt, tile] : llvm::enumerate(gemm.acc))
      for (auto [i, x] : llvm::enumerate(tile)) {
        operands.push_back(x);
        cs << "," << (firstOutput[g] + mt * (gemm.n / 2) + i);
      }
  SmallVector<int64_t> firstA, descIndex;
  for (const WarpgroupGemm &gemm : gemms) {
    firstA.push_back(outputs + operands.size());
    for (const SmallVector<SmallVector<Value>> &tile : gemm.a)
      for (const SmallVector<Value> &frag : tile)
        for (Value reg : frag) {
          operands.push_back(asI32(reg));
          cs << ",r";
        }
  }
  for (const WarpgroupGemm &gemm : gemms) {
    descIndex.push_back(outputs + operands.size());
    operands.push_back(gemm.descriptor);
    cs << ",l";
  }
  SmallVector<int64_t> aDescIndex;
  for (const WarpgroupGemm &gemm : gemms) {
    aDescIndex.push_back(outputs + operands.size());
    if (gemm.aDescriptor) {
      operands.push_back(gemm.aDescriptor);
      cs << ",l";
    }
  }

  // Ping-pong (GPUKernelConfig::pingPong): wait for this warpgroup's turn
  // before the MMAs, hand the turn to the other one once they are issued
  // (when `handOver`, an i32, is non-zero), before waiting for them.
  int64_t turnIndex = -1;
  if (cfg.pingPong) {
    turnIndex = outputs + operands.size();
    operands.append(
        {turnBarrier, otherBarrier,
         handOver ? handOver
                  : arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(1))
                        .getResult()});
    cs << ",r,r,r";
  }

  std::string text;
  llvm::raw_string_ostream os(text);
  StringRef type = isBF16 ? "bf16" : "f16";
  // Every k-step's descriptor is computed before the fence: an instruction
  // that writes a wgmma's input between the first wgmma and the wait makes
  // ptxas serialize the MMAs.
  os << "{\n";
  for (auto [g, gemm] : llvm::enumerate(gemms)) {
    for (auto [kk, offset] : llvm::enumerate(gemm.kOffsets))
      os << ".reg .b64 d" << g << "_" << kk << ";\nadd.s64 d" << g << "_" << kk
         << ", $" << descIndex[g] << ", " << offset << ";\n";
    if (gemm.aDescriptor)
      for (auto [kk, offset] : llvm::enumerate(gemm.aOffsets))
        os << ".reg .b64 a" << g << "_" << kk << ";\nadd.s64 a" << g << "_"
           << kk << ", $" << aDescIndex[g] << ", " << offset << ";\n";
  }
  if (turnIndex >= 0)
    os << "bar.sync $" << turnIndex << ", " << cfg.threads() << ";\n";
  os << "wgmma.fence.sync.aligned;\n";
  for (auto [g, gemm] : llvm::enumerate(gemms)) {
    const int64_t ksteps = gemm.kOffsets.size(), perTile = gemm.n / 2;
    for (int64_t kk = 0; kk < ksteps; ++kk) {
      for (int64_t mt = 0, e = gemm.mTiles(); mt < e; ++mt) {
        os << "wgmma.mma_async.sync.aligned.m64n" << gemm.n << "k16.f32."
           << type << "." << type << " {";
        for (int64_t i = 0; i < perTile; ++i)
          os << (i ? ", " : "") << "$" << (firstOutput[g] + mt * perTile + i);
        os << "}, ";
        if (gemm.aDescriptor) {
          os << "a" << g << "_" << kk;
        } else {
          int64_t aAt = firstA[g] + (mt * ksteps + kk) * 4;
          os << "{$" << aAt << ", $" << aAt + 1 << ", $" << aAt + 2 << ", $"
             << aAt + 3 << "}";
        }
        // Operands after B: scale-d, scale-a, scale-b, (with A from shared
        // memory: transpose-a,) transpose-b.
        os << ", d" << g << "_" << kk << ", "
           << (kk == 0 && gemm.acc.empty() ? 0 : 1) << ", 1, 1, "
           << (gemm.aDescriptor ? "0, " : "") << (gemm.transposeB ? 1 : 0)
           << ";\n";
      }
    }
    os << "wgmma.commit_group.sync.aligned;\n";
  }
  if (turnIndex >= 0)
    os << ".reg .pred handOver;\nsetp.ne.u32 handOver, $" << turnIndex + 2
       << ", 0;\n@handOver bar.arrive $" << turnIndex + 1 << ", "
       << cfg.threads() << ";\n";
  os << "wgmma.wait_group.sync.aligned " << pending << ";\n}";
  SmallVector<Type> fields(outputs, b.getF32Type());
  auto structType = LLVM::LLVMStructType::getLiteral(b.getContext(), fields);
  Value r = LLVM::InlineAsmOp::create(
                b, loc, structType, operands, text, constraints,
                /*has_side_effects=*/true, /*is_align_stack=*/false,
                LLVM::tailcallkind::TailCallKind::None,
                LLVM::AsmDialectAttr(), ArrayAttr())
                .getResult(0);
  SmallVector<SmallVector<SmallVector<Value>>> out;
  for (auto [g, gemm] : llvm::enumerate(gemms)) {
    const int64_t perTile = gemm.n / 2;
    out.emplace_back(gemm.mTiles());
    for (int64_t mt = 0, e = gemm.mTiles(); mt < e; ++mt)
      for (int64_t i = 0; i < perTile; ++i)
        out.back()[mt].push_back(LLVM::ExtractValueOp::create(
            b, loc, r, ArrayRef<int64_t>{firstOutput[g] + mt * perTile + i}));
  }
  return out;
}

/// wgmma.wait_group 0 with `acc` (the results of a GEMM still in flight)
/// tied through it: after it they are the GEMM's results. `reads` (the
/// GEMM's A registers, which it reads until it is done) are inputs too, so
/// LLVM keeps their registers until here: otherwise the next tile's P,
/// coalesced into the loop-carried P's registers, would overwrite them
/// under the running MMA (and ptxas would serialize the pipeline).
SmallVector<SmallVector<Value>>
GPUKernelBuilder::warpgroupWait(ArrayRef<SmallVector<Value>> acc,
                                const Tiles &reads) {
  SmallVector<Value> operands;
  std::string constraints;
  llvm::raw_string_ostream cs(constraints);
  for (const SmallVector<Value> &tile : acc)
    for (Value x : tile) {
      cs << (operands.empty() ? "" : ",") << "=f";
      operands.push_back(x);
    }
  const size_t outputs = operands.size();
  for (size_t i = 0; i < outputs; ++i)
    cs << "," << i;
  for (const auto &tile : reads)
    for (const auto &frag : tile)
      for (Value reg : frag) {
        operands.push_back(asI32(reg));
        cs << ",r";
      }
  SmallVector<Type> fields(outputs, b.getF32Type());
  auto structType = LLVM::LLVMStructType::getLiteral(b.getContext(), fields);
  Value r = LLVM::InlineAsmOp::create(
                b, loc, structType, operands,
                "wgmma.wait_group.sync.aligned 0;", constraints,
                /*has_side_effects=*/true, /*is_align_stack=*/false,
                LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr(),
                ArrayAttr())
                .getResult(0);
  SmallVector<SmallVector<Value>> out;
  int64_t at = 0;
  for (const SmallVector<Value> &tile : acc) {
    out.emplace_back();
    for (size_t i = 0; i < tile.size(); ++i)
      out.back().push_back(
          LLVM::ExtractValueOp::create(b, loc, r, ArrayRef<int64_t>{at++}));
  }
  return out;
}

/// The first key tile at or after `from` that some row of this block sees
/// (or tileEnd): jumps over the gaps between a union's hulls, then steps
/// over tiles whose class says nothing is visible (strided patterns).
/// Skipped tiles cost a few index operations, never a load. Block-uniform,
/// so the barriers around it stay uniform.
Value GPUKernelBuilder::emitNextVisibleTile(Value from) {
  if (current->selected)
    return emitNextSelectedTile(from);
  // Compressed slots up to the hull's end are all seen by the last row.
  if (current->compressed)
    return from;
  if (cfg.streamed) {
    auto [tile, stream] = pattern->emitNextKeptTile(
        cast<RandomBlocksAttr>(current->pattern), {cursor[0], cursor[1]},
        streamQueryBlock, from, cfg.keyTile, tileEnd);
    cursor = {stream.state, stream.last};
    return tile;
  }
  const int64_t BC = cfg.keyTile;
  // Every tile of a single window's hull has a visible pair, and the walk
  // starts at the hull's first tile and stops at tileEnd: `from` is it.
  // (A hull emptied by clipping may leave one tile, wholly masked.) The
  // pipelined loop's SASS depends on this staying this small: with the
  // hull arithmetic here, ptxas waited for P V before the exps (5d).
  if (hullTilesAllVisible(current->pattern))
    return from;
  // A union of such windows: the next member hull's tile.
  if (nextKeyTileIsVisible(current->pattern))
    return pattern->emitNextKeyTile(first, last, from, BC, keyLen);
  Type indexType = b.getIndexType();
  auto scan = scf::WhileOp::create(
      b, loc, TypeRange{indexType},
      ValueRange{pattern->emitNextKeyTile(first, last, from, BC, keyLen)},
      [&](OpBuilder &, Location, ValueRange args) {
        Value kt = args[0];
        MaskContext unused;
        Value keyStart = mulC(kt, BC);
        KeyTileClass cls = pattern->emitTileClass(
            first, last, keyStart, addC(keyStart, BC - 1), unused);
        Value more = m.andI(m.cmp(CmpIPredicate::slt, kt, tileEnd),
                            m.notI(cls.any));
        scf::ConditionOp::create(b, loc, more, args);
      },
      [&](OpBuilder &, Location, ValueRange args) {
        scf::YieldOp::create(
            b, loc,
            ValueRange{pattern->emitNextKeyTile(first, last, addC(args[0], 1),
                                                BC, keyLen)});
      });
  return scan.getResult(0);
}

/// Selected blocks: the smallest key tile at or after `from` inside a listed
/// block (or tileEnd). Each lane takes the candidates of its slots, a
/// butterfly min over the warp gives every lane (and, the list being the
/// block's, every warp) the same answer. Lists in any order, duplicates,
/// -1 and blocks past the keys all work: a block is a candidate only while
/// it has tiles at or after `from`, and `from` only grows.
Value GPUKernelBuilder::emitNextSelectedTile(Value from) {
  Type i32 = b.getI32Type();
  auto toI32 = [&](Value x) -> Value {
    return arith::IndexCastOp::create(b, loc, i32, x);
  };
  auto c32 = [&](int64_t v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  };
  using P = CmpIPredicate;
  auto cmp = [&](P p, Value x, Value y) -> Value {
    return arith::CmpIOp::create(b, loc, p, x, y);
  };
  auto minI = [&](Value x, Value y) -> Value {
    return arith::MinSIOp::create(b, loc, x, y);
  };
  const int64_t T = cfg.keyBlockTiles;
  Value from32 = toI32(from), end32 = selectedEnd;
  Value endBlocks = selectedEndBlocks;
  Value best = end32;
  for (Value blk : laneBlocks) {
    Value start = arith::MulIOp::create(b, loc, blk, c32(T));
    Value stop = arith::AddIOp::create(b, loc, start, c32(T));
    Value cand = arith::MaxSIOp::create(b, loc, from32, start);
    Value ok = arith::AndIOp::create(
        b, loc,
        arith::AndIOp::create(b, loc, cmp(P::sge, blk, c32(0)),
                              cmp(P::slt, blk, endBlocks)),
        cmp(P::slt, from32, stop));
    best = minI(best, arith::SelectOp::create(b, loc, ok, cand, end32));
  }
  for (int32_t offset : {16, 8, 4, 2, 1}) {
    Value other = gpu::ShuffleOp::create(b, loc, best, offset, 32,
                                         gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    best = minI(best, other);
  }
  return arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                    minI(best, end32));
}

SmallVector<std::pair<std::string, std::string>>
GPUKernelBuilder::branchesParams() {
  static const char *names[] = {"q",  "k",      "v",       "ck",
                                "cv", "blocks", "weights", "o"};
  auto tensor = [](int i) {
    return i < 7 ? "operand[" + std::to_string(i) + "]"
                 : std::string("result[0]");
  };
  SmallVector<std::pair<std::string, std::string>> params;
  for (int i = 0; i < 8; ++i)
    params.push_back({names[i], tensor(i)});
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 3; ++j)
      params.push_back({std::string(names[i]) + "_stride" + std::to_string(j),
                        tensor(i) + ".stride[" + std::to_string(j) + "]"});
  params.push_back({"sq", "operand[0].shape[2]"});
  params.push_back({"skv", "operand[1].shape[2]"});
  params.push_back({"slots", "operand[3].shape[2]"});
  params.push_back({"scale", "scale"});
  return params;
}

Value GPUKernelBuilder::enterBranch(const Branch &branch, Value batch,
                                    Value kvHead, Value bx) {
  current = &branch;
  const int64_t BC = cfg.keyTile;
  if (cfg.branches) {
    unsigned t = branch.tensor;
    k = tensorArgs[t];
    v = tensorArgs[t + 1];
    kbase = add(mul(batch, tensorStrides[3 * t]),
                mul(kvHead, tensorStrides[3 * t + 1]));
    vbase = add(mul(batch, tensorStrides[3 * t + 3]),
                mul(kvHead, tensorStrides[3 * t + 4]));
    ks2 = tensorStrides[3 * t + 2];
    vs2 = tensorStrides[3 * t + 5];
    keyLen = branch.compressed ? compressedLen : positionLen;
  }
  // Explicit layouts' tables are globals of the gpu.module: device code
  // reads them from the cubin's global memory.
  pattern = std::make_unique<PatternEmitter>(m, branch.pattern, head,
                                             tableModule);
  if (branch.compressed) {
    // The slots the tile's last row sees: every tile below is visited.
    tileEnd = m.ceilDiv(branch.compressed->emitSlotEnd(m, last, keyLen), BC);
    return idx(0);
  }
  auto [lo, hi] = pattern->emitKeyHull(first, last, keyLen);
  tileEnd = m.ceilDiv(hi, BC);
  laneBlocks.clear();
  if (branch.selected) {
    // This query block's list: lane l holds slots l, l + 32, ... (slots
    // past the list read as -1). Loaded once; the key loop finds the next
    // listed tile with a min over the warp.
    Value listRow = bx;
    if (cfg.listQueryBlock && cfg.listQueryBlock != cfg.queryTile())
      listRow = divC(bx, cfg.listQueryBlock / cfg.queryTile());
    Value listBase = add(add(mul(batch, blocksStrides[0]),
                             mul(kvHead, blocksStrides[1])),
                         mul(listRow, blocksStrides[2]));
    // Blocks at or past the first one past tileEnd start at or past it;
    // checking that first keeps blk * T from overflowing for garbage.
    selectedEnd = toI32(tileEnd);
    selectedEndBlocks = arith::IndexCastOp::create(
        b, loc, b.getI32Type(), m.ceilDiv(tileEnd, cfg.keyBlockTiles));
    for (int64_t i = 0, n = llvm::divideCeil(cfg.slots, 32); i < n; ++i) {
      Value slot = addC(lane, 32 * i);
      Value inList = m.cmp(CmpIPredicate::slt, slot, idx(cfg.slots));
      // Lanes past the list read slot 0 (always there) and drop it.
      Value listed = memref::LoadOp::create(
          b, loc, blocksArg,
          ValueRange{add(listBase, m.select(inList, slot, idx(0)))});
      laneBlocks.push_back(arith::SelectOp::create(
          b, loc, inList, listed,
          arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(-1))));
    }
  }
  return m.floorDiv(lo, BC);
}

gpu::GPUFuncOp GPUKernelBuilder::build(gpu::GPUModuleOp gpuModule,
                                       StringRef name) {
  MLIRContext *ctx = b.getContext();
  tableModule = gpuModule.getOperation();
  isBF16 = elementType.isBF16();
  D = cfg.headDim;
  MT = cfg.mTiles;
  const int64_t BR = cfg.queryTile();
  const int64_t BC = cfg.keyTile;
  const int64_t LD = D + GPUKernelConfig::kPad;
  const int64_t NKD = D / 16, NDN = D / 8;
  pairType = VectorType::get({2}, elementType);
  globalType = MemRefType::get({int64_t(1) << 32}, elementType);
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto tileType = [&](int64_t rows) {
    return MemRefType::get({rows, LD}, elementType,
                           MemRefLayoutAttrInterface{}, workgroup);
  };
  MemRefType queryTileType = tileType(BR), keyTileType = tileType(BC);
  accType = VectorType::get({4}, b.getF32Type());
  rowType = VectorType::get({2}, b.getF32Type());
  auto i32Global = MemRefType::get({int64_t(1) << 32}, b.getI32Type());
  // Branches: thread tid's slot i of the mixed rows is row i * 128 + tid.
  auto stagingType =
      MemRefType::get({MT * NDN * cfg.threads(), 4}, b.getF32Type(),
                      MemRefLayoutAttrInterface{}, workgroup);

  SmallVector<Type> argTypes;
  unsigned blocksArgIndex = 0;
  if (cfg.branches) {
    // branchesParams(): 8 pointers, 24 strides, Sq, Skv, N, scale.
    argTypes.append(5, globalType);
    argTypes.push_back(i32Global);
    argTypes.push_back(MemRefType::get({int64_t(1) << 32}, weightsType));
    argTypes.push_back(globalType);
    argTypes.append(24, b.getI64Type());
    argTypes.append(3, b.getI32Type());
    argTypes.push_back(b.getF32Type());
  } else {
    // Signature: q, k, v, o; {q,k,v,o}.stride[0..2]; Sq, Skv; scale.
    argTypes.append(4, globalType);
    argTypes.append(12, b.getI64Type());
    argTypes.append({b.getI32Type(), b.getI32Type(), b.getF32Type()});
    // Gates: gates, gates.stride[0..1]. Active: active, active_count, pairs.
    if (cfg.gating == GPUKernelConfig::Gating::Gates)
      argTypes.append({MemRefType::get({int64_t(1) << 32}, b.getI8Type()),
                       b.getI64Type(), b.getI64Type()});
    else if (cfg.gating == GPUKernelConfig::Gating::Active)
      argTypes.append({i32Global, b.getI32Type(), b.getI32Type()});
    // Selected blocks: blocks, blocks.stride[0..2].
    blocksArgIndex = argTypes.size();
    if (cfg.selected)
      argTypes.append(
          {i32Global, b.getI64Type(), b.getI64Type(), b.getI64Type()});
  }
  // TMA: the device addresses of Q's, K's and V's tensor maps (and O's,
  // with TMA stores), last.
  const unsigned mapsArgIndex = argTypes.size();
  if (cfg.tma)
    argTypes.append(cfg.tmaStore ? 4 : 3, b.getI64Type());
  // Persistent: the virtual grid, query tiles x rows (pairs or active
  // entries).
  // Dynamic tiles: the work-item counter after them.
  const unsigned persistentArgIndex = argTypes.size();
  if (cfg.persistent)
    argTypes.append(2, b.getI32Type());
  if (cfg.dynamicTiles)
    argTypes.push_back(i32Global);
  SmallVector<Type> workgroupTypes;
  if (!cfg.dynamicShared) {
    workgroupTypes.assign({queryTileType, keyTileType, keyTileType});
    if (cfg.branches)
      workgroupTypes.push_back(stagingType);
  }

  b.setInsertionPointToEnd(gpuModule.getBody());
  auto func = gpu::GPUFuncOp::create(b, loc, name,
                                     b.getFunctionType(argTypes, {}),
                                     workgroupTypes, TypeRange{});
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSize(ArrayRef<int32_t>{int32_t(cfg.blockThreads()), 1, 1});
  for (unsigned i = 0; i < workgroupTypes.size(); ++i)
    func.setWorkgroupAttributionAttr(i, "llvm.align", b.getI64IntegerAttr(16));
  Block *entry = &func.getBody().front();
  b.setInsertionPointToStart(entry);

  auto toIndex = [&](Value x) -> Value {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), x);
  };
  // The query's and out's pointers and strides, Sq, Skv and the scale.
  Value queryLen, scaleArg;
  SmallVector<Value> qStrides, oStrides;
  if (cfg.branches) {
    for (unsigned i = 0; i < 8; ++i)
      tensorArgs.push_back(entry->getArgument(i));
    for (unsigned i = 8; i < 32; ++i)
      tensorStrides.push_back(toIndex(entry->getArgument(i)));
    q = tensorArgs[0];
    o = tensorArgs[7];
    blocksArg = tensorArgs[5];
    qStrides.assign(tensorStrides.begin(), tensorStrides.begin() + 3);
    oStrides.assign(tensorStrides.begin() + 21, tensorStrides.end());
    blocksStrides.assign(tensorStrides.begin() + 15,
                         tensorStrides.begin() + 18);
    queryLen = toIndex(entry->getArgument(32));
    positionLen = toIndex(entry->getArgument(33));
    compressedLen = toIndex(entry->getArgument(34));
    scaleArg = entry->getArgument(35);
  } else {
    q = entry->getArgument(0);
    k = entry->getArgument(1);
    v = entry->getArgument(2);
    o = entry->getArgument(3);
    SmallVector<Value> strides;
    for (unsigned i = 4; i < 16; ++i)
      strides.push_back(toIndex(entry->getArgument(i)));
    qStrides.assign(strides.begin(), strides.begin() + 3);
    oStrides.assign(strides.begin() + 9, strides.end());
    ks2 = strides[5];
    vs2 = strides[8];
    keyStrides.assign(strides.begin() + 3, strides.begin() + 6);
    valueStrides.assign(strides.begin() + 6, strides.begin() + 9);
    queryLen = toIndex(entry->getArgument(16));
    positionLen = keyLen = toIndex(entry->getArgument(17));
    scaleArg = entry->getArgument(18);
    if (cfg.selected) {
      blocksArg = entry->getArgument(blocksArgIndex);
      for (unsigned i = 1; i <= 3; ++i)
        blocksStrides.push_back(toIndex(entry->getArgument(blocksArgIndex + i)));
    }
  }
  if (cfg.wgmma) {
    // K and V first, from the first 1024-byte boundary (the swizzle works
    // on address bits 4-9): K's stages, V's stages, then Q.
    auto bytesType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                     MemRefLayoutAttrInterface{}, workgroup);
    Value dsm = gpu::DynamicSharedMemoryOp::create(b, loc, bytesType);
    const int64_t keyTiles = cfg.keyStages(), valueTiles = cfg.valueStages();
    auto swizzledType = [&](int64_t n) {
      return MemRefType::get({n * BC * D}, elementType,
                             MemRefLayoutAttrInterface{}, workgroup);
    };
    int64_t keyBytes = BC * D * 2;
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, dsm);
    Value pad = remC(m.sub(idx(1024), remC(base, 1024)), 1024);
    sK = memref::ViewOp::create(b, loc, swizzledType(keyTiles), dsm, pad,
                                ValueRange{});
    sV = memref::ViewOp::create(b, loc, swizzledType(valueTiles), dsm,
                                addC(pad, keyTiles * keyBytes), ValueRange{});
    Value queryAt = addC(pad, (keyTiles + valueTiles) * keyBytes);
    if (cfg.swizzledQuery()) {
      auto swizzledQueryType = MemRefType::get(
          {BR * D}, elementType, MemRefLayoutAttrInterface{}, workgroup);
      sQ = memref::ViewOp::create(b, loc, swizzledQueryType, dsm, queryAt,
                                  ValueRange{});
      // Warpgroup w's rows start w * 64 rows (of 128 bytes) into each
      // 64-column panel.
      Value warpgroupRows = arith::IndexCastOp::create(
          b, loc, b.getI64Type(),
          mulC(divC(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x), 128),
               64 * 128 / 16));
      qDescriptor = arith::AddIOp::create(
          b, loc,
          matrixDescriptor(sQ, /*leadingBytes=*/16, /*strideBytes=*/1024),
          warpgroupRows);
      if (cfg.persistent) {
        // Its own tile after Q (1024-byte aligned, as TMA's swizzle needs),
        // then the mbarriers: the K and V buffers take the next item's
        // tiles while this one's O is stored.
        sOut = memref::ViewOp::create(b, loc, swizzledQueryType, dsm,
                                      addC(queryAt, BR * D * 2), ValueRange{});
        outBase = add(base, addC(queryAt, BR * D * 2));
      } else if (cfg.tmaStore) {
        // Over the K and V buffers, in the tensor map's layout.
        sOut = memref::ViewOp::create(b, loc, swizzledQueryType, dsm, pad,
                                      ValueRange{});
        outBase = add(base, pad);
      } else {
        // The K and V buffers are free once the key loop is done.
        assert(BR * LD * 2 <= (keyTiles + valueTiles) * keyBytes &&
               "O's staging tile must fit over the K and V buffers");
        sOut = memref::ViewOp::create(b, loc, queryTileType, dsm, pad,
                                      ValueRange{});
      }
    } else {
      sQ = memref::ViewOp::create(b, loc, queryTileType, dsm, queryAt,
                                  ValueRange{});
    }
    if (cfg.tma) {
      Value at = add(base, pad);
      keyBase = at;
      valueBase = addC(at, keyTiles * keyBytes);
      queryBase = add(base, queryAt);
      barrierBase = addC(queryBase, BR * D * 2 + cfg.outStagingBytes());
      queryMap = entry->getArgument(mapsArgIndex);
      keyMap = entry->getArgument(mapsArgIndex + 1);
      valueMap = entry->getArgument(mapsArgIndex + 2);
      if (cfg.tmaStore)
        outMap = entry->getArgument(mapsArgIndex + 3);
    }
    kDescriptor = matrixDescriptor(sK, /*leadingBytes=*/16,
                                   /*strideBytes=*/1024);
    vDescriptor = matrixDescriptor(sV, /*leadingBytes=*/BC * 128,
                                   /*strideBytes=*/1024);
  } else if (cfg.dynamicShared) {
    auto bytesType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                     MemRefLayoutAttrInterface{}, workgroup);
    Value dsm = gpu::DynamicSharedMemoryOp::create(b, loc, bytesType);
    int64_t queryBytes = BR * LD * 2, keyBytes = BC * LD * 2;
    sQ = memref::ViewOp::create(b, loc, queryTileType, dsm, idx(0),
                                ValueRange{});
    sK = memref::ViewOp::create(b, loc, keyTileType, dsm, idx(queryBytes),
                                ValueRange{});
    sV = memref::ViewOp::create(b, loc, keyTileType, dsm,
                                idx(queryBytes + keyBytes), ValueRange{});
    if (cfg.branches)
      sStage = memref::ViewOp::create(b, loc, stagingType, dsm,
                                      idx(cfg.tileBytes()), ValueRange{});
  } else {
    auto attributions = func.getWorkgroupAttributions();
    sQ = attributions[0], sK = attributions[1], sV = attributions[2];
    if (cfg.branches)
      sStage = attributions[3];
  }

  if (!sOut)
    sOut = sQ;

  ninf = f32(-std::numeric_limits<double>::infinity());
  zero = f32(0.0);
  sl2 = fmul(scaleArg, f32(kLog2E));
  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  if (cfg.tma)
    initBarriers();
  Value warp = divC(tid, 32);
  lane = remC(tid, 32);
  g = divC(lane, 4);
  t2 = mulC(remC(lane, 4), 2);
  l16 = remC(lane, 16);
  l16c = mulC(divC(lane, 16), 8);
  l8 = remC(lane, 8);
  l8c = mulC(divC(lane, 8), 8);
  wrow = mulC(warp, 16);
  const int64_t chunksPerRow = D / 8;

  Value zero4 = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(accType, b.getF32FloatAttr(0.0)));
  Value ninf2 = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(
          rowType,
          b.getF32FloatAttr(-std::numeric_limits<float>::infinity())));
  Value zero2 = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(rowType, b.getF32FloatAttr(0.0)));

  // Where O's element (row, col) lies in sOut: the padded tile, or in the
  // persistent kernel's own unpadded tile and the TMA store's tile, the
  // layout of TMA's tiles: 64-column panels of BR rows of 128 bytes, the
  // 16-byte chunk (col mod 64) / 8 of a row at that XOR row mod 8 (each
  // warp's stores to 8 rows then fall in distinct banks, as with the
  // padding).
  auto outAt = [&](Value row, Value col) -> SmallVector<Value> {
    if (!cfg.persistent && !cfg.tmaStore)
      return {row, col};
    Value panel = divC(col, 64);
    Value chunk =
        arith::XOrIOp::create(b, loc, divC(remC(col, 64), 8), remC(row, 8));
    Value inRow = add(mulC(chunk, 8), remC(col, 8));
    return {add(mulC(panel, BR * 64), add(mulC(row, 64), inRow))};
  };

  // Global tokens: rows whose tiles itemAt (below) dispatches first.
  const int64_t globalPositions =
      cfg.selected || cfg.branches
          ? 0
          : globalQueryPositions(branches.front().pattern);

  // One work item: query tile `bx` (0 is the first) of the (batch, head)
  // pair or active-list entry `by`. `role`: the whole block (the kernel
  // runs one item per block), or with the persistent kernel the producer's
  // or the math warpgroups' part of it.
  enum class Role { Block, Producer, Math };
  auto emitWorkItem = [&](Value bx, Value by, Role role) {
    // The (batch, head) pair of this item, and whether it is switched on.
    Value pair = by, on;
    if (cfg.gating == GPUKernelConfig::Gating::Gates) {
      Value byte = memref::LoadOp::create(
          b, loc, entry->getArgument(19),
          ValueRange{add(mul(divC(by, HQ), toIndex(entry->getArgument(20))),
                         mul(remC(by, HQ), toIndex(entry->getArgument(21))))});
      on = arith::CmpIOp::create(
          b, loc, CmpIPredicate::ne, byte,
          arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(0)));
    } else if (cfg.gating == GPUKernelConfig::Gating::Active) {
      // The list lives on the device, unchecked by the runtime: entries
      // outside [0, B * Hq) are skipped rather than trusted.
      Value listed = toIndex(memref::LoadOp::create(
          b, loc, entry->getArgument(19), ValueRange{by}));
      Value pairs = toIndex(entry->getArgument(21));
      on = m.andI(m.cmp(CmpIPredicate::sge, listed, idx(0)),
                  m.cmp(CmpIPredicate::slt, listed, pairs));
      pair = m.select(on, listed, idx(0));
    }
    Value batch = divC(pair, HQ);
    head = remC(pair, HQ);
    Value kvHead = divC(head, HQ / HKV);
    Value qbase = add(mul(batch, qStrides[0]), mul(head, qStrides[1]));
    if (!cfg.branches) {
      kbase = add(mul(batch, keyStrides[0]), mul(kvHead, keyStrides[1]));
      vbase = add(mul(batch, valueStrides[0]), mul(kvHead, valueStrides[1]));
    }
    Value obase = add(mul(batch, oStrides[0]), mul(head, oStrides[1]));
    // Position-aligned query tiles (lib/Tiling): tile t holds positions
    // [t BR, (t + 1) BR), so block patterns see whole blocks whatever
    // Skv - Sq is; the grid has ceil(Skv / BR) - floor((Skv - Sq) / BR) of
    // them (the manifest's "query_tiles": "positions").
    QueryTileSpan span;
    if (cfg.selected || cfg.branches) {
      // Selected blocks count query blocks in rows: tile bx is rows
      // [bx BR, (bx + 1) BR), the list's query block bx (grid "rows").
      span.offset = m.sub(positionLen, queryLen);
      span.rowBegin = mulC(bx, BR);
      span.tileStart = add(span.rowBegin, span.offset);
      span.first = span.tileStart;
      span.last = add(m.sub(m.min(addC(span.rowBegin, BR), queryLen), idx(1)),
                      span.offset);
    } else {
      QueryTiling tiling = QueryTiling::build(m, BR, queryLen, positionLen);
      span = QueryTileSpan::build(m, add(tiling.firstTile, bx), BR, queryLen,
                                  positionLen);
    }
    Value r0 = span.rowBegin; // may be negative: rows < 0 are not there
    queryRow0 = r0;
    tileStart = span.tileStart;
    // The persistent kernel's epilogue runs once per item: its addresses
    // (32 swizzled O addresses per thread) are loop-invariant, and LLVM
    // would hoist them out of the item loop, live (spilled) across the key
    // loop. Derived from an opaque copy of the thread's ids, they are
    // computed where they are used. The same goes for itemAt's order with
    // global tokens: LLVM shares the row addresses of Q's copy and O's
    // stores, and ptxas, which recomputed them from the block ids, cannot
    // see through itemAt's division (the D = 64 kernel of 64 global + local
    // spilled 84 bytes).
    Value rowsTid = tid, outG = g;
    // 16-byte chunk stores of this item's real rows: `value(row, col)`
    // gives each chunk (row and col in the tile).
    auto storeRows = [&](function_ref<Value(Value, Value)> value) {
      for (int64_t i = 0; i < BR * chunksPerRow / cfg.threads(); ++i) {
        Value c = addC(rowsTid, cfg.threads() * i);
        Value row = divC(c, chunksPerRow);
        Value col = mulC(remC(c, chunksPerRow), 8);
        Value gr = add(r0, row);
        Value ok = m.andI(m.cmp(CmpIPredicate::sge, gr, idx(0)),
                          m.cmp(CmpIPredicate::slt, gr, queryLen));
        scf::IfOp::create(b, loc, ok, [&](OpBuilder &, Location) {
          Value dst = add(add(obase, mul(gr, oStrides[2])), col);
          vector::StoreOp::create(b, loc, value(row, col), o, ValueRange{dst},
                                  /*nontemporal=*/false, llvm::MaybeAlign(16));
          scf::YieldOp::create(b, loc);
        });
      }
    };
    // The persistent kernel's item yields the mbarrier phases it leaves
    // (ringPhase) from every branch it takes.
    scf::IfOp gate;
    if (on) {
      // A gated-off pair costs its blocks one load and their zero rows: no
      // K/V traffic, no math. With an active list, "off" means a bad entry
      // (the runtime zero-filled the output already): such a block stores
      // nothing, since writing zeros to the stand-in pair 0 would race with
      // pair 0's real blocks.
      bool zeroOffRows = cfg.gating == GPUKernelConfig::Gating::Gates &&
                         role != Role::Producer;
      gate = openPhaseIf(on, /*withElse=*/zeroOffRows);
      if (zeroOffRows) {
        b.setInsertionPoint(gate.elseBlock()->getTerminator());
        Value zeros = arith::ConstantOp::create(
            b, loc,
            DenseElementsAttr::get(VectorType::get({8}, elementType),
                                   b.getZeroAttr(elementType)));
        // (The rows are the math threads' to store: in the TMA kernel the
        // producer warpgroup stores nothing.)
        if (cfg.tma && role == Role::Block)
          scf::IfOp::create(b, loc,
                            m.cmp(CmpIPredicate::ult, tid, idx(cfg.threads())),
                            [&](OpBuilder &, Location) {
                              storeRows([&](Value, Value) { return zeros; });
                              scf::YieldOp::create(b, loc);
                            });
        else
          storeRows([&](Value, Value) { return zeros; });
      }
      b.setInsertionPoint(gate.thenBlock()->getTerminator());
    }

    // The rows of this item in positions, and the key tiles they may see.
    first = span.first;
    last = span.last;

    // The mixed rows of the branches so far (registers of the last
    // branch; shared memory between branches).
    SmallVector<Value> mixed;
    SmallVector<Value> res;
    for (auto [branchIndex, branch] : llvm::enumerate(branches)) {
      Value firstCandidate = enterBranch(branch, batch, kvHead, bx);
      if (cfg.streamed) {
        // The tile lies in one block (checkSupported): its block seeds the
        // stream.
        auto random = cast<RandomBlocksAttr>(branch.pattern);
        streamQueryBlock = m.floorDiv(first, random.getBlock());
        PatternEmitter::BlockStream start =
            pattern->emitBlockStreamStart(random, streamQueryBlock);
        cursor = {start.state, start.last};
      }

      // Prologue: the Q tile (first branch) and the first visible K tile
      // (two stages: and its V tile, into stage 0) in flight together.
      // (TMA: the producer loads them.)
      if (branchIndex == 0 && !cfg.tma)
        copyTile(q, qbase, qStrides[2], r0, queryLen, sQ, BR,
                 cfg.swizzledQuery());
      Value firstTile = emitNextVisibleTile(firstCandidate);
      if (role == Role::Producer) {
        emitProducer(firstTile, batch, head, kvHead);
        break;
      }
      if (role == Role::Math) {
        res = emitPipelinedKeyLoop(firstTile, zero4, ninf2, zero2);
        break;
      }
      if (cfg.tma) {
        // The producer warpgroup (the last) walks the tiles and loads them;
        // the math warps run the key loop. The cursor after the first tile
        // seeds both walks.
        // Nothing the math warps compute crosses back out of their branch
        // (the epilogue is in it): ptxas allocates each branch at its own
        // setmaxnreg count only where no value is live across the two.
        roles = splitRoles();
        b.setInsertionPoint(roles.thenBlock()->getTerminator());
        SmallVector<Value> seed = cursor;
        scf::IfOp::create(
            b, loc, m.cmp(CmpIPredicate::ult, tid, idx(cfg.threads() + 32)),
            [&](OpBuilder &, Location) {
              emitProducer(firstTile, batch, head, kvHead);
              scf::YieldOp::create(b, loc);
            });
        cursor = seed;
        b.setInsertionPoint(roles.elseBlock()->getTerminator());
        res = emitPipelinedKeyLoop(firstTile, zero4, ninf2, zero2);
        break;
      }
      scf::IfOp::create(b, loc, m.cmp(CmpIPredicate::slt, firstTile, tileEnd),
                        [&](OpBuilder &, Location) {
                          copyTile(k, kbase, ks2, mulC(firstTile, BC), keyLen,
                                   sK, BC, cfg.wgmma);
                          if (cfg.pipelined)
                            copyTile(v, vbase, vs2, mulC(firstTile, BC), keyLen,
                                     sV, BC, cfg.wgmma);
                          scf::YieldOp::create(b, loc);
                        });
      if (branchIndex == 0 && cfg.queryInRegisters) {
        waitCopies();
        barrier();
        for (int64_t mt = 0; mt < MT; ++mt) {
          qa.emplace_back();
          for (int64_t kk = 0; kk < NKD; ++kk)
            qa[mt].push_back(
                ldmatrix4(sQ, addC(add(wrow, l16), cfg.mTileStride() * mt),
                          addC(l16c, 16 * kk), false));
        }
      }

      // Loop-carried: the key tile, O (MT x NDN vector<4xf32>), the running
      // max m and sum l (MT vector<2xf32>: rows g and g + 8 of each m-tile).
      SmallVector<Value> inits = {firstTile};
      const size_t numCursor = cursor.size();
      inits.append(cursor.begin(), cursor.end());
      inits.append(MT * NDN, zero4);
      inits.append(MT, ninf2);
      inits.append(MT, zero2);
      if (cfg.pipelined) {
        res = emitPipelinedKeyLoop(firstTile, zero4, ninf2, zero2);
        break;
      }
      auto loop = emitTileLoop(inits, [&](ValueRange args) {
        cursor.assign(args.begin() + 1, args.begin() + 1 + numCursor);
        SmallVector<Value> next =
            emitKeyTile(args[0], args.drop_front(1 + numCursor));
        // emitKeyTile advanced the cursor with the next tile.
        next.insert(next.begin() + 1, cursor.begin(), cursor.end());
        scf::YieldOp::create(b, loc, next);
      });
      res.assign(loop.getResults().begin() + 1 + numCursor,
                 loop.getResults().end());
      if (!cfg.branches)
        break;

      // mixed += w_b O_b / l_b per row; this thread's rows are g and g + 8
      // of each m-tile. Rows outside [0, Sq) get weight 0 (never stored).
      const bool lastBranch = branchIndex + 1 == branches.size();
      Value weights = tensorArgs[6];
      for (int64_t mt = 0; mt < MT; ++mt) {
        SmallVector<Value> factor;
        for (int64_t r = 0; r < 2; ++r) {
          Value l = quadReduce(extract(res[MT * NDN + MT + mt], r),
                               /*isMax=*/false);
          Value row =
              add(r0, add(addC(wrow, cfg.mTileStride() * mt), addC(g, 8 * r)));
          Value real = m.andI(m.cmp(CmpIPredicate::sge, row, idx(0)),
                              m.cmp(CmpIPredicate::slt, row, queryLen));
          Value at =
              add(add(add(mul(batch, tensorStrides[18]),
                          mul(head, tensorStrides[19])),
                      mul(m.select(real, row, idx(0)), tensorStrides[20])),
                  idx(branchIndex));
          Value w = memref::LoadOp::create(b, loc, weights, ValueRange{at});
          if (!weightsType.isF32())
            w = arith::ExtFOp::create(b, loc, b.getF32Type(), w);
          w = arith::SelectOp::create(b, loc, real, w, zero);
          factor.push_back(fmul(w, emitSafeReciprocal(b, loc, l)));
        }
        Value factorVec =
            fromElements(accType, {factor[0], factor[0], factor[1], factor[1]});
        for (int64_t j = 0; j < NDN; ++j) {
          int64_t slot = mt * NDN + j;
          Value here = arith::MulFOp::create(b, loc, res[slot], factorVec);
          Value at = addC(tid, slot * cfg.threads());
          if (branchIndex > 0)
            here = arith::AddFOp::create(
                b, loc,
                vector::LoadOp::create(b, loc, accType, sStage,
                                       ValueRange{at, idx(0)}),
                here);
          if (lastBranch)
            mixed.push_back(here);
          else
            vector::StoreOp::create(b, loc, here, sStage,
                                    ValueRange{at, idx(0)});
        }
      }
    }

    // Epilogue: O / l (or the mixed rows), to the element type, through
    // this warp's rows of sOut, then 16-byte stores of the real rows. The
    // wait matters when the loop ran no tile and Q stayed in shared memory:
    // Q's copy may still be in flight and would land on the output rows (a
    // row-aligned tile of selected blocks before position 0, or an empty
    // list).
    // (TMA: in the math warps' branch; nothing was copied by cp.async.)
    if (role != Role::Producer) {
      if (!cfg.tma)
        waitCopies();
      // (Persistent: the previous item's TMA store reads sOut until this
      // wait.)
      if (cfg.tmaStore && cfg.persistent)
        onThreadZero([&] { waitStoresRead(); });
      barrier();
      if (cfg.persistent || globalPositions > 0) {
        rowsTid = opaque(tid);
        outG = opaque(g);
      }
      for (int64_t mt = 0; mt < MT; ++mt) {
        SmallVector<Value> inv;
        if (!cfg.branches)
          for (int64_t r = 0; r < 2; ++r) {
            Value l = quadReduce(extract(res[MT * NDN + MT + mt], r),
                                 /*isMax=*/false);
            inv.push_back(emitSafeReciprocal(b, loc, l));
          }
        Value rg = add(addC(wrow, cfg.mTileStride() * mt), outG);
        for (int64_t j = 0; j < NDN; ++j) {
          Value acc = cfg.branches ? mixed[mt * NDN + j] : res[mt * NDN + j];
          for (int64_t r = 0; r < 2; ++r) {
            Value x0 = extract(acc, 2 * r), x1 = extract(acc, 2 * r + 1);
            if (!cfg.branches)
              x0 = fmul(x0, inv[r]), x1 = fmul(x1, inv[r]);
            Value pair = fromElements(rowType, {x0, x1});
            Value h = arith::TruncFOp::create(b, loc, pairType, pair);
            vector::StoreOp::create(b, loc, h, sOut,
                                    outAt(addC(rg, 8 * r), addC(t2, 8 * j)));
          }
        }
      }
      if (cfg.tmaStore) {
        // The tile's stores (the generic proxy) become visible to TMA's
        // reads (the async proxy), then thread 0 stores it. The
        // one-item kernel waits for the reads before its block exits; the
        // persistent kernel before the next item's O overwrites the tile
        // (and after its last item).
        ptx("fence.proxy.async.shared::cta;");
        barrier();
        onThreadZero([&] {
          storeTile(outMap, outBase, r0, head, batch, BR);
          if (!cfg.persistent)
            waitStoresRead();
        });
      } else {
        barrier();
        storeRows([&](Value row, Value col) -> Value {
          return vector::LoadOp::create(
              b, loc, VectorType::get({8}, elementType), sOut, outAt(row, col));
        });
      }
    }
    if (roles && role == Role::Block)
      b.setInsertionPointAfter(roles);
    if (gate)
      closePhaseIf(gate, ringPhase);
  };

  // Work item `linear`, in dispatch order (blocks start roughly in
  // blockIdx order), as (query tile, row) of a `tiles` x `rows` grid:
  // heavier tiles first, since a heavy tile started last is the grid's
  // tail. Every row's global-token tiles come first (their rows see every
  // key: at Skv = 16384 one is 20 tiles of a +-256 window's work), then each
  // row's other tiles last to first (under causal-like patterns the last
  // tiles see the most keys).
  auto itemAt = [&](Value linear, Value tiles,
                    Value rows) -> std::pair<Value, Value> {
    auto remU = [&](Value x, Value y) {
      return arith::RemUIOp::create(b, loc, x, y);
    };
    auto divU = [&](Value x, Value y) {
      return arith::DivUIOp::create(b, loc, x, y);
    };
    if (globalPositions == 0) {
      Value fromLast = m.sub(tiles, remU(linear, tiles));
      Value tile = m.sub(fromLast, idx(1));
      return {tile, divU(linear, tiles)};
    }
    // Positions [0, globalPositions) lie in position tiles
    // [0, ceil(globalPositions / BR)); the grid's tile 0 is position tile
    // floor((Skv - Sq) / BR).
    Value firstTile =
        QueryTiling::build(m, BR, queryLen, positionLen).firstTile;
    Value globalTiles = idx(llvm::divideCeil(globalPositions, BR));
    Value unclamped = m.sub(globalTiles, firstTile);
    Value heavy = m.min(m.max(unclamped, idx(0)), tiles);
    Value heavyItems = mul(heavy, rows);
    Value isHeavy = m.cmp(CmpIPredicate::ult, linear, heavyItems);
    // (Divisors kept nonzero: the branch not taken is computed too.)
    Value heavyDivisor = m.max(heavy, idx(1));
    Value lightTiles = m.sub(tiles, heavy);
    Value lightDivisor = m.max(lightTiles, idx(1));
    // (One op per statement: the IR's order does not depend on the C++
    // compiler's order of evaluating arguments.)
    Value light = m.sub(linear, heavyItems);
    Value lightRem = remU(light, lightDivisor);
    Value lightTile = m.sub(m.sub(tiles, lightRem), idx(1));
    Value heavyTile = remU(linear, heavyDivisor);
    Value bx = m.select(isHeavy, heavyTile, lightTile);
    Value heavyRow = divU(linear, heavyDivisor);
    Value lightRow = divU(light, lightDivisor);
    Value by = m.select(isHeavy, heavyRow, lightRow);
    return {bx, by};
  };

  if (!cfg.persistent) {
    Value tiles = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
    Value bx = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    Value by = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
    if (globalPositions == 0) {
      // (The 2-D grid gives the row directly.)
      emitWorkItem(m.sub(m.sub(tiles, bx), idx(1)), by, Role::Block);
    } else {
      Value rows = gpu::GridDimOp::create(b, loc, gpu::Dimension::y);
      Value linear = add(bx, mul(by, tiles));
      auto [tile, row] = itemAt(linear, tiles, rows);
      emitWorkItem(tile, row, Role::Block);
    }
  } else {
    // Persistent: the grid is at most one block per SM, and each block
    // walks items of the virtual grid (query tiles x rows, in itemAt's
    // order, as the one-item kernel's blocks are dispatched),
    // so one item's epilogue runs while the producer already loads the
    // next item's tiles. With dynamic tiles a block's first item is its
    // index and each next one the counter's next value plus the block
    // count. With static rounds, round k hands items [k G, (k + 1) G) to
    // the G blocks, in block order when k is even and in reverse when odd: a
    // block that drew a heavy causal tile in one round draws a light one
    // in the next (in block order every round, block c would always get
    // tiles of the same residue and the blocks' work would differ by up to
    // a sixth). The producer and the math warpgroups each carry the
    // mbarrier phases across items.
    Value tiles = toIndex(entry->getArgument(persistentArgIndex));
    Value rows = toIndex(entry->getArgument(persistentArgIndex + 1));
    // Each role walks the items in a scf.while carrying the items taken so
    // far (the round, or the slot's phase), the producer's next item
    // (dynamic tiles) and the mbarrier phases. With dynamic tiles the
    // producer warp publishes each item it takes in the slot (item full)
    // and the math warpgroups read it there (item empty); a block stops at
    // the first item past the grid, which it publishes too.
    auto walkItems = [&](Role role) {
      Value items = mul(tiles, rows);
      Value blocks = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
      Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
      Value reversed = m.sub(m.sub(blocks, block), idx(1));
      Value slot = toI32(add(barrierBase, idx(kItemSlot * 8)));
      Value leader = m.cmp(CmpIPredicate::eq, lane, idx(0));
      // The item of this block's turn `taken`: its round's, or the one the
      // producer claimed (`claimed`), handed over through the slot.
      auto takeItem = [&](Value taken, Value claimed) -> Value {
        if (!cfg.dynamicTiles)
          return add(mul(taken, blocks),
                     m.select(m.cmp(CmpIPredicate::eq, remC(taken, 2), idx(0)),
                              block, reversed));
        Value parity = remC(taken, 2);
        if (role == Role::Producer) {
          scf::IfOp::create(b, loc, leader, [&](OpBuilder &, Location) {
            // The math warps have read the last item (a fresh barrier
            // passes parity 1 at once).
            waitBarrier(barrierAddress(kItemEmpty, idx(0)),
                        m.sub(idx(1), parity));
            ptx("st.shared.u32 [$0], $1;", {slot, toI32(claimed)}, "r,r");
            arriveBarrier(barrierAddress(kItemFull, idx(0)));
            scf::YieldOp::create(b, loc);
          });
          return claimed;
        }
        waitBarrier(barrierAddress(kItemFull, idx(0)), parity);
        Value read = ptxValue(b.getI32Type(), "ld.shared.u32 $0, [$1];", slot,
                              "=r,r", /*sideEffects=*/true);
        arriveBarrier(barrierAddress(kItemEmpty, idx(0)));
        return warpUniform(read);
      };
      // The producer claims its next item as this one starts (the atomic's
      // latency hides under this item's loads), lane 0 for the warp.
      auto claimNext = [&]() -> Value {
        if (!cfg.dynamicTiles || role != Role::Producer)
          return idx(0);
        auto claim =
            scf::IfOp::create(b, loc, TypeRange{b.getI32Type()}, leader,
                              /*withElseRegion=*/true);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(claim.thenBlock());
        Value one = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(1));
        Value old = memref::AtomicRMWOp::create(
            b, loc, arith::AtomicRMWKind::addi, one,
            entry->getArgument(persistentArgIndex + 2), ValueRange{idx(0)});
        scf::YieldOp::create(b, loc, old);
        b.setInsertionPointToStart(claim.elseBlock());
        Value none = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
        scf::YieldOp::create(b, loc, none);
        b.setInsertionPointAfter(claim);
        return add(warpUniform(claim.getResult(0)), blocks);
      };
      SmallVector<Value> inits = {idx(0), block, idx(0), idx(0)};
      SmallVector<Type> types(inits.size() + 1, b.getIndexType());
      auto walk = scf::WhileOp::create(
          b, loc, types, inits,
          [&](OpBuilder &, Location, ValueRange args) {
            Value w = takeItem(args[0], args[1]);
            SmallVector<Value> forwarded = {w};
            forwarded.append(args.begin(), args.end());
            scf::ConditionOp::create(
                b, loc, m.cmp(CmpIPredicate::ult, w, items), forwarded);
          },
          [&](OpBuilder &, Location, ValueRange args) {
            // (The phases, carried from item to item, made visibly
            // warp-uniform: see warpUniform.)
            ringPhase.clear();
            for (Value phase : args.drop_front(3))
              ringPhase.push_back(warpUniform(phase));
            Value next = claimNext();
            auto [tile, row] = itemAt(args[0], tiles, rows);
            emitWorkItem(tile, row, role);
            SmallVector<Value> yielded = {addC(args[1], 1), next};
            yielded.append(ringPhase.begin(), ringPhase.end());
            scf::YieldOp::create(b, loc, yielded);
          });
      b.setInsertionPointAfter(walk);
    };
    roles = splitRoles();
    b.setInsertionPoint(roles.thenBlock()->getTerminator());
    scf::IfOp::create(b, loc,
                      m.cmp(CmpIPredicate::ult, tid, idx(cfg.threads() + 32)),
                      [&](OpBuilder &, Location) {
                        walkItems(Role::Producer);
                        scf::YieldOp::create(b, loc);
                      });
    b.setInsertionPoint(roles.elseBlock()->getTerminator());
    walkItems(Role::Math);
    if (cfg.tmaStore)
      onThreadZero([&] { waitStoresRead(); });
    b.setInsertionPointAfter(roles);
  }
  gpu::ReturnOp::create(b, loc);
  return func;
}

/// S = Q Kᵀ as a warpgroup GEMM for K at `keyDescriptor` (k-step 0), `a`,
/// `offsets` and `queryOffsets` its storage. K's k-step kk starts kk * 32
/// bytes into its 64-column panel (BC * 128 bytes each), in 16-byte units.
/// A is Q's fragments per m-tile and k-step, or with a swizzled Q the
/// descriptor of this warpgroup's rows, k-step kk at the same place in Q's
/// panels (BR * 128 bytes each).
GPUKernelBuilder::WarpgroupGemm
GPUKernelBuilder::scoreGemm(Value keyDescriptor, Tiles &a,
                            SmallVector<int64_t> &offsets,
                            SmallVector<int64_t> &queryOffsets) {
  auto panelOffset = [](int64_t kk, int64_t rows) {
    return ((kk / 4) * rows * 128 + (kk % 4) * 32) / 16;
  };
  a.assign(cfg.swizzledQuery() ? 0 : MT, {});
  offsets.clear();
  queryOffsets.clear();
  for (int64_t kk = 0; kk < D / 16; ++kk) {
    offsets.push_back(panelOffset(kk, cfg.keyTile));
    if (cfg.swizzledQuery())
      queryOffsets.push_back(panelOffset(kk, cfg.queryTile()));
    for (int64_t mt = 0; mt < int64_t(a.size()); ++mt)
      a[mt].push_back(queryFragments(mt, kk));
  }
  return {a,
          keyDescriptor,
          offsets,
          cfg.keyTile,
          /*transposeB=*/false,
          /*acc=*/{},
          cfg.swizzledQuery() ? qDescriptor : Value(),
          queryOffsets};
}

/// P V's k-step offsets from V's descriptor: 16 rows (2048 bytes) each.
SmallVector<int64_t> GPUKernelBuilder::valueOffsets() {
  SmallVector<int64_t> offsets;
  for (int64_t kk = 0; kk < cfg.keyTile / 16; ++kk)
    offsets.push_back(kk * 16 * 128 / 16);
  return offsets;
}

/// wgmma's m64n64 accumulators (mma.sync's C order, n-tile by n-tile) as
/// S[mt][n-tile][4].
GPUKernelBuilder::Tiles
GPUKernelBuilder::scoresFromAccumulators(ArrayRef<SmallVector<Value>> acc) {
  const int64_t NJ = cfg.keyTile / 8;
  Tiles s(MT, SmallVector<SmallVector<Value>>(NJ, SmallVector<Value>(4)));
  for (int64_t mt = 0; mt < MT; ++mt)
    for (int64_t j = 0; j < NJ; ++j)
      for (int64_t e = 0; e < 4; ++e)
        s[mt][j][e] = acc[mt][4 * j + e];
  return s;
}

/// Whether key tile `kt` needs the element mask (-inf where the pattern
/// hides the pair or the key is past Skv) and the facts the mask reads.
GPUKernelBuilder::KeyTileMask GPUKernelBuilder::classifyKeyTile(Value kt) {
  const int64_t BC = cfg.keyTile;
  Value keyStart = mulC(kt, BC);
  KeyTileMask mask;
  KeyTileClass cls;
  if (cfg.streamed) {
    // The stream only visits kept tiles: every pair is visible.
    Value yes = m.boolConst(b.getI1Type(), true);
    mask.context.blockFlags.push_back(yes);
    cls = {yes, yes};
  } else {
    cls =
        pattern->emitTileClass(first, last, mappedKey(keyStart),
                               mappedKey(addC(keyStart, BC - 1)), mask.context);
  }
  Value ragged = m.cmp(CmpIPredicate::sgt, addC(keyStart, BC), keyLen);
  mask.needed = m.orI(m.notI(cls.full), ragged);
  return mask;
}

void GPUKernelBuilder::applyMask(Value kt, const MaskContext &context,
                                 Tiles &s) {
  const int64_t NJ = cfg.keyTile / 8;
  Value keyStart = mulC(kt, cfg.keyTile);
  // This thread's rows' positions, computed here rather than kept in
  // registers across the key loop (they are a few integer adds).
  SmallVector<Value> rowPositions;
  for (int64_t mt = 0; mt < MT; ++mt)
    for (int64_t r = 0; r < 2; ++r)
      rowPositions.push_back(arith::IndexCastOp::create(
          b, loc, b.getI32Type(),
          add(add(tileStart, wrow), addC(g, cfg.mTileStride() * mt + 8 * r))));
  // i32 positions: Sq and Skv are i32 parameters. (The key's range test
  // stays in index: an i32 add and compare per key, fewer instructions,
  // measured 3% slower for dense on an H100, 2026-12-07.)
  Value positions =
      fromElements(VectorType::get({2 * MT}, b.getI32Type()), rowPositions);
  for (int64_t j = 0; j < NJ; ++j)
    for (int64_t e = 0; e < 2; ++e) {
      Value key = add(keyStart, addC(t2, 8 * j + e));
      Value visible = pattern->emitVisible(context, positions, mappedKey(key));
      Value inRange = m.cmp(CmpIPredicate::slt, key, keyLen);
      for (int64_t mt = 0; mt < MT; ++mt)
        for (int64_t r = 0; r < 2; ++r) {
          Value vis = m.andI(extract(visible, 2 * mt + r), inRange);
          Value &score = s[mt][j][2 * r + e];
          score = m.select(vis, score, ninf);
        }
    }
}

void GPUKernelBuilder::emitMask(Value kt, Tiles &s) {
  KeyTileMask mask = classifyKeyTile(kt);
  SmallVector<Value> flat;
  for (auto &tile : s)
    for (auto &acc : tile)
      flat.append(acc.begin(), acc.end());
  auto masked = scf::IfOp::create(
      b, loc, mask.needed,
      [&](OpBuilder &, Location) {
        Tiles inside = s;
        applyMask(kt, mask.context, inside);
        SmallVector<Value> out;
        for (auto &tile : inside)
          for (auto &acc : tile)
            out.append(acc.begin(), acc.end());
        scf::YieldOp::create(b, loc, out);
      },
      [&](OpBuilder &, Location) { scf::YieldOp::create(b, loc, flat); });
  const int64_t NJ = cfg.keyTile / 8;
  for (int64_t mt = 0; mt < MT; ++mt)
    for (int64_t j = 0; j < NJ; ++j)
      for (int64_t e = 0; e < 4; ++e)
        s[mt][j][e] = masked.getResult((mt * NJ + j) * 4 + e);
}

/// Online softmax on rows g (r = 0) and g + 8 (r = 1) of each m-tile, in
/// raw score units: p = 2^(s * scale log2 e - m * scale log2 e), one fma.
/// Gives the new running max and sum, the factor the accumulators are to
/// be scaled by (vector<4xf32> per m-tile, mma's C order) and P, in f32 and
/// (with `pack`) as A fragments. Given the accumulators `o`, scales them too.
/// Scaling and packing go m-tile by m-tile, right after the m-tile's rows:
/// the order the mma.sync kernels were tuned with (another order moves
/// ptxas's allocation: the D = 64 gated kernel spilled).
GPUKernelBuilder::SoftmaxStep
GPUKernelBuilder::emitSoftmax(const Tiles &s, ValueRange mPrev,
                              ValueRange lPrev, bool pack, ValueRange o) {
  const int64_t NJ = cfg.keyTile / 8;
  SoftmaxStep step;
  if (!o.empty())
    step.scaled.assign(MT, {});
  if (pack)
    step.p.assign(MT, {});
  for (int64_t mt = 0; mt < MT; ++mt) {
    SmallVector<Value> mRow, lRow, alpha;
    SmallVector<SmallVector<Value>> p(NJ, SmallVector<Value>(4));
    for (int64_t r = 0; r < 2; ++r) {
      Value mOld = extract(mPrev[mt], r);
      Value mx = mOld;
      for (int64_t j = 0; j < NJ; ++j)
        mx = fmax(mx, fmax(s[mt][j][2 * r], s[mt][j][2 * r + 1]));
      mx = quadReduce(mx, /*isMax=*/true);
      // -inf (nothing visible yet) subtracts 0: no -inf - -inf NaN.
      Value mScaled = fmul(emitSafeMax(b, loc, mx), sl2);
      Value negM = fsub(zero, mScaled);
      Value a = ex2(fma(mOld, sl2, negM));
      Value sum = zero;
      for (int64_t j = 0; j < NJ; ++j)
        for (int64_t e : {2 * r, 2 * r + 1}) {
          p[j][e] = ex2(fma(s[mt][j][e], sl2, negM));
          sum = fadd(sum, p[j][e]);
        }
      mRow.push_back(mx);
      alpha.push_back(a);
      lRow.push_back(fma(extract(lPrev[mt], r), a, sum));
    }
    step.m.push_back(fromElements(rowType, mRow));
    step.l.push_back(fromElements(rowType, lRow));
    step.alpha.push_back(
        fromElements(accType, {alpha[0], alpha[0], alpha[1], alpha[1]}));
    if (!o.empty())
      step.scaled[mt] = scaleAccumulatorTile(o, mt, step.alpha[mt]);
    if (pack)
      step.p[mt] = packProbabilityTile(p);
    step.probabilities.push_back(std::move(p));
  }
  return step;
}

/// One m-tile's P (n-tiles of 4 f32) as A fragments: k-step kk covers
/// n-tiles 2kk and 2kk + 1.
SmallVector<SmallVector<Value>>
GPUKernelBuilder::packProbabilityTile(ArrayRef<SmallVector<Value>> p) {
  SmallVector<SmallVector<Value>> fragments;
  for (size_t kk = 0, e = p.size() / 2; kk < e; ++kk) {
    auto &a0 = p[2 * kk], &a1 = p[2 * kk + 1];
    fragments.push_back({packPair(a0[0], a0[1]), packPair(a0[2], a0[3]),
                         packPair(a1[0], a1[1]), packPair(a1[2], a1[3])});
  }
  return fragments;
}

/// M-tile `mt` of the accumulators `o` (MT x NDN vector<4xf32>) times
/// `alpha`, as NDN x 4 scalars (mma's C order).
SmallVector<Value>
GPUKernelBuilder::scaleAccumulatorTile(ValueRange o, int64_t mt, Value alpha) {
  SmallVector<Value> out;
  for (int64_t j = 0, e = D / 8; j < e; ++j) {
    Value scaled = arith::MulFOp::create(b, loc, o[mt * e + j], alpha);
    for (int64_t i = 0; i < 4; ++i)
      out.push_back(extract(scaled, i));
  }
  return out;
}

/// One visible key tile `kt`, whose K tile is in flight. FA2's order keeps
/// one copy in flight behind the math at all times:
///   wait K(kt); barrier; copy V(kt); S = Q K(kt)ᵀ; mask;
///   wait V(kt); barrier; copy K(next visible tile); softmax; O += P V(kt).
/// Returns the next tile and the new loop-carried values (O, m, l).
SmallVector<Value> GPUKernelBuilder::emitKeyTile(Value kt, ValueRange iters) {
  const int64_t BC = cfg.keyTile;
  const int64_t NKD = D / 16, NDN = D / 8, NJ = BC / 8, NKP = BC / 16;
  Value keyStart = mulC(kt, BC);
  waitTiles();
  copyTile(v, vbase, vs2, keyStart, keyLen, sV, BC, cfg.wgmma);

  // S = Q Kᵀ: per m-tile, NJ n-tiles of 8 keys (raw scores; the scale is
  // folded into the exponent below). One K fragment feeds MT mma.
  Tiles s(MT, SmallVector<SmallVector<Value>>(NJ, SmallVector<Value>(4, zero)));
  if (cfg.wgmma) {
    // One m64n`BC`k16 per m-tile and 16 head-dim columns.
    Tiles a;
    SmallVector<int64_t> offsets, queryOffsets;
    s = scoresFromAccumulators(warpgroupGemms(
        {scoreGemm(kDescriptor, a, offsets, queryOffsets)}, /*pending=*/0)[0]);
  }
  for (int64_t kk2 = 0; !cfg.wgmma && kk2 < NKD / 2; ++kk2) {
    SmallVector<SmallVector<Value>> qf0, qf1;
    for (int64_t mt = 0; mt < MT; ++mt) {
      qf0.push_back(queryFragments(mt, 2 * kk2));
      qf1.push_back(queryFragments(mt, 2 * kk2 + 1));
    }
    for (int64_t j = 0; j < NJ; ++j) {
      SmallVector<Value> kb =
          ldmatrix4(sK, addC(l8, 8 * j), addC(l8c, 32 * kk2), false);
      for (int64_t mt = 0; mt < MT; ++mt) {
        s[mt][j] = mma(qf0[mt], ArrayRef<Value>(kb).take_front(2), s[mt][j]);
        s[mt][j] = mma(qf1[mt], ArrayRef<Value>(kb).drop_front(2), s[mt][j]);
      }
    }
  }
  emitMask(kt, s);

  // V(kt) has landed and every warp is done with K(kt): start the next
  // visible K tile, which then loads under the softmax and P V.
  waitTiles();
  Value next = emitNextVisibleTile(addC(kt, 1));
  scf::IfOp::create(b, loc, m.cmp(CmpIPredicate::slt, next, tileEnd),
                    [&](OpBuilder &, Location) {
                      copyTile(k, kbase, ks2, mulC(next, BC), keyLen, sK, BC,
                               cfg.wgmma);
                      scf::YieldOp::create(b, loc);
                    });

  SoftmaxStep step =
      emitSoftmax(s, iters.slice(MT * NDN, MT), iters.slice(MT * NDN + MT, MT),
                  /*pack=*/true, iters.take_front(MT * NDN));
  SmallVector<SmallVector<Value>> oacc = std::move(step.scaled);

  // O += P V: with wgmma one m64n`D`k16 per m-tile and 16 keys, V read
  // transposed (MN-major) from its swizzled tile; with mma.sync one
  // transposed V fragment feeds MT x 2.
  if (cfg.wgmma)
    oacc = warpgroupMMA(step.p, vDescriptor, valueOffsets(), D,
                        /*transposeB=*/true, oacc);
  for (int64_t dn = 0; !cfg.wgmma && dn < D / 16; ++dn)
    for (int64_t kk = 0; kk < NKP; ++kk) {
      SmallVector<Value> vb =
          ldmatrix4(sV, addC(l16, 16 * kk), addC(l16c, 16 * dn), true);
      for (int64_t mt = 0; mt < MT; ++mt)
        for (int64_t half = 0; half < 2; ++half) {
          int64_t n = 2 * dn + half;
          SmallVector<Value> c(oacc[mt].begin() + 4 * n,
                               oacc[mt].begin() + 4 * n + 4);
          SmallVector<Value> r =
              mma(step.p[mt][kk], ArrayRef<Value>(vb).slice(2 * half, 2), c);
          std::copy(r.begin(), r.end(), oacc[mt].begin() + 4 * n);
        }
    }
  SmallVector<Value> results = {next};
  appendAccumulators(results, oacc);
  results.append(step.m.begin(), step.m.end());
  results.append(step.l.begin(), step.l.end());
  return results;
}

void GPUKernelBuilder::appendAccumulators(SmallVector<Value> &out,
                                          ArrayRef<SmallVector<Value>> oacc) {
  for (int64_t mt = 0; mt < MT; ++mt)
    for (int64_t n = 0; n < D / 8; ++n)
      out.push_back(
          fromElements(accType, ArrayRef<Value>(oacc[mt]).slice(4 * n, 4)));
}

/// K's (stage `kStage`) and V's (stage `vStage`) descriptors.
Value GPUKernelBuilder::stagedDescriptor(Value descriptor, Value stage) {
  const int64_t tileUnits = cfg.keyTile * D * 2 / 16;
  Value shift = arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                           mulC(stage, tileUnits));
  return arith::AddIOp::create(b, loc, descriptor, shift);
}

/// sm_90a's key loop (FA3's intra-warpgroup pipelining): while P(j) V(j)
/// runs on the tensor cores, the warps wait only for S(n) = Q K(n)ᵀ of the
/// next visible tile n, then mask it and run its softmax; then they wait
/// for P V. The tile after n loads meanwhile. K has two buffers (K(j) is
/// free once S(j) is done, a tile earlier), V three (V(j) is read, V(n)
/// has landed, the one after n is loading); one barrier per tile.
///
///   prologue: wait K, V(first); copy K, V(n); S(first); mask; softmax.
///   tile j:   wait K, V(n); barrier; copy K, V(next after n);
///             O *= alpha(j); issue S(n), issue O += P(j) V(j);
///             wait S(n); mask(n); softmax(n) -> P(n), alpha(n); wait P V.
///
/// Returns O (MT x NDN vector<4xf32>), m and l (MT vector<2xf32> each).
SmallVector<Value> GPUKernelBuilder::emitPipelinedKeyLoop(Value firstTile,
                                                          Value zero4,
                                                          Value ninf2,
                                                          Value zero2) {
  const int64_t BC = cfg.keyTile, NDN = D / 8;
  const int64_t NKP = BC / 16;
  SmallVector<Value> empty(MT * NDN, zero4);
  empty.append(MT, ninf2);
  empty.append(MT, zero2);
  // The persistent kernel's phases come out too: unchanged by a tile that
  // sees no key (the producer loads nothing for it).
  const size_t numResults = empty.size();
  empty.append(ringPhase.begin(), ringPhase.end());
  // Where this item's tiles fall in the rings (TMA), and Q's parity.
  Value base = ringPhase.empty() ? idx(0) : ringPhase[0];
  Value queryParity = ringPhase.empty() ? idx(0) : remC(ringPhase[1], 2);
  auto any = scf::IfOp::create(b, loc, ValueRange(empty).getTypes(),
                               m.cmp(CmpIPredicate::slt, firstTile, tileEnd),
                               /*withElseRegion=*/true);
  b.setInsertionPointToStart(any.elseBlock());
  scf::YieldOp::create(b, loc, empty);
  b.setInsertionPointToStart(any.thenBlock());

  auto copyStages = [&](Value tile, Value kStage, Value vStage) {
    scf::IfOp::create(b, loc, m.cmp(CmpIPredicate::slt, tile, tileEnd),
                      [&](OpBuilder &, Location) {
                        Value from = mulC(tile, BC);
                        copyTile(k, kbase, ks2, from, keyLen, sK, BC, true,
                                 mulC(kStage, BC * D));
                        copyTile(v, vbase, vs2, from, keyLen, sV, BC, true,
                                 mulC(vStage, BC * D));
                        scf::YieldOp::create(b, loc);
                      });
  };
  // Beyond the last tile the search stays there.
  auto nextAfter = [&](Value tile) {
    return emitNextVisibleTile(m.min(addC(tile, 1), tileEnd));
  };

  // Ping-pong: warpgroup 0 issues first (warpgroup 1 hands it the turn).
  Value isSecond;
  if (cfg.pingPong) {
    Value warpgroup = divC(tid, 128);
    turnBarrier = toI32(addC(warpgroup, 2));
    otherBarrier = toI32(m.sub(idx(3), warpgroup));
    isSecond = m.cmp(CmpIPredicate::ne, warpgroup, idx(0));
    scf::IfOp::create(b, loc, isSecond, [&](OpBuilder &, Location) {
      ptx(("bar.arrive 2, " + Twine(cfg.threads()) + ";").str());
      scf::YieldOp::create(b, loc);
    });
  }
  // Prologue: the first tile (stage 0) has landed.
  Value second;
  if (cfg.tma) {
    waitBarrier(barrierAddress(kQueryFull, idx(0)), queryParity);
    waitBarrier(barrierAddress(kKeyFull, remC(base, 2)),
                remC(divC(base, 2), 2));
    second = nextAfter(firstTile);
  } else {
    waitTiles();
    second = nextAfter(firstTile);
    copyStages(second, idx(1), idx(1));
  }
  Tiles a;
  SmallVector<int64_t> scoreOffsets, queryOffsets;
  // (The persistent kernel's first tile lies in stage base mod 2: an odd
  // number of tiles before it leaves it in stage 1.)
  Value firstKey = ringPhase.empty()
                       ? kDescriptor
                       : stagedDescriptor(kDescriptor, remC(base, 2));
  Tiles s = scoresFromAccumulators(warpgroupGemms(
      {scoreGemm(firstKey, a, scoreOffsets, queryOffsets)}, 0)[0]);
  if (cfg.tma)
    arriveBarrier(barrierAddress(kKeyEmpty, remC(base, 2)));
  emitMask(firstTile, s);
  SmallVector<Value> ninfs(MT, ninf2), zeros(MT, zero2);
  SoftmaxStep step = emitSoftmax(s, ninfs, zeros);

  // Loop-carried: j, n, the cursor, P(j) (MT x NKP x 4 fragments),
  // alpha(j), m, l, O, j's K and V stages.
  // A softmax step's carried part: P's fragments, alpha, m, l.
  auto appendStep = [](SmallVector<Value> &to, const SoftmaxStep &from) {
    for (const auto &tile : from.p)
      for (const auto &frag : tile)
        to.append(frag.begin(), frag.end());
    to.append(from.alpha.begin(), from.alpha.end());
    to.append(from.m.begin(), from.m.end());
    to.append(from.l.begin(), from.l.end());
  };
  SmallVector<Value> inits = {firstTile, second};
  const size_t numCursor = cursor.size();
  inits.append(cursor.begin(), cursor.end());
  appendStep(inits, step);
  inits.append(MT * NDN, zero4);
  inits.append({remC(base, 2), remC(base, 3)});
  // TMA: j's ordinal among the visible tiles (the mbarriers' phases).
  if (cfg.tma)
    inits.push_back(base);
  const int64_t pAt = 2 + numCursor, alphaAt = pAt + MT * NKP * 4;
  const int64_t mAt = alphaAt + MT, lAt = mAt + MT, oAt = lAt + MT;
  const int64_t stageAt = oAt + MT * NDN;
  // From the carried values: P(j)'s fragments, and O scaled by alpha(j).
  auto carriedP = [&](ValueRange args) {
    Tiles p(MT);
    for (int64_t mt = 0; mt < MT; ++mt)
      for (int64_t kk = 0; kk < NKP; ++kk)
        p[mt].push_back(
            SmallVector<Value>(args.slice(pAt + (mt * NKP + kk) * 4, 4)));
    return p;
  };
  auto scaledO = [&](ValueRange args) {
    SmallVector<SmallVector<Value>> o;
    for (int64_t mt = 0; mt < MT; ++mt)
      o.push_back(scaleAccumulatorTile(args.slice(oAt, MT * NDN), mt,
                                       args[alphaAt + mt]));
    return o;
  };
  // One overlapped step, j's P V with n's S and softmax (n < tileEnd):
  // the yield of the loop below.
  auto overlappedStep = [&](ValueRange args, bool masked) {
    Value next = args[1];
    cursor.assign(args.begin() + 2, args.begin() + 2 + numCursor);
    Tiles pj = carriedP(args);
    ValueRange mJ = args.slice(mAt, MT), lJ = args.slice(lAt, MT);
    Value kStage = args[stageAt], vStage = args[stageAt + 1];
    Value kNext = m.sub(idx(1), kStage);
    Value vNext = remC(addC(vStage, 1), 3);

    // n's tiles have landed; every warp is done with tile j - 1, whose
    // V stage takes the tile after n, K taking j's. (TMA: the producer
    // warp fills the stages as the mbarriers free them; V(j) and K(n) are
    // waited for.)
    Value ordinal, after;
    if (cfg.tma) {
      ordinal = args[stageAt + 2];
      after = nextAfter(next);
      waitBarrier(barrierAddress(kValueFull, vStage),
                  remC(divC(ordinal, 3), 2));
      waitBarrier(barrierAddress(kKeyFull, kNext),
                  remC(divC(addC(ordinal, 1), 2), 2));
    } else {
      waitTiles();
      after = nextAfter(next);
      copyStages(after, kStage, remC(addC(vStage, 2), 3));
    }
    SmallVector<SmallVector<Value>> oacc = scaledO(args);
    Value vDesc = stagedDescriptor(vDescriptor, vStage);

    // S(n) and P(j) V(j) are issued together; n's mask and softmax run
    // while P(j) V(j) does.
    Tiles qa;
    SmallVector<int64_t> offsets, queryOffsets;
    WarpgroupGemm scores = scoreGemm(stagedDescriptor(kDescriptor, kNext), qa,
                                     offsets, queryOffsets);
    SmallVector<int64_t> vOffsets = valueOffsets();
    WarpgroupGemm values{pj, vDesc, vOffsets, D, /*transposeB=*/true, oacc};
    auto issued = warpgroupGemms({scores, values}, /*pending=*/1);
    // S(n) is done: K(n)'s stage goes back to the producer.
    if (cfg.tma)
      arriveBarrier(barrierAddress(kKeyEmpty, kNext));
    Tiles sn = scoresFromAccumulators(issued[0]);
    if (masked)
      applyMask(next, classifyKeyTile(next).context, sn);
    // P(n) is packed to 16 bits only once P(j) V(j) is done: ptxas
    // places the packed P(n) in P(j)'s registers (the loop carries
    // them), which the running MMA still reads (FA3 converts after
    // its wait too).
    SoftmaxStep stepN = emitSoftmax(sn, mJ, lJ, /*pack=*/false);
    SmallVector<SmallVector<Value>> o = warpgroupWait(issued[1], pj);
    for (const auto &p : stepN.probabilities)
      stepN.p.push_back(packProbabilityTile(p));
    // V(j)'s stage goes back after the pack (where it was measured, 5e;
    // right after the wait made no difference to the SASS).
    if (cfg.tma)
      arriveBarrier(barrierAddress(kValueEmpty, vStage));
    SmallVector<Value> yield = {next, after};
    yield.append(cursor.begin(), cursor.end());
    appendStep(yield, stepN);
    appendAccumulators(yield, o);
    yield.append({kNext, vNext});
    if (cfg.tma)
      yield.push_back(addC(ordinal, 1));
    return yield;
  };
  // The steps while there is a next tile, as two loops: first while n is
  // wholly visible (no element mask at all: for dense and causal that is
  // every tile but the diagonal and the ragged last), then the rest with
  // the element mask. Each body is straight-line: ptxas waits for every
  // wgmma in flight at a branch or join between the MMAs' issue and their
  // wait, so a mask under a branch would leave no exp to overlap with P V
  // (docs/gpu-notes.md, 5d). The mask costs a compare and a select per
  // score; skipping it on wholly visible tiles gave dense 1.17-1.26x and
  // causal 1.2x the speed (H100, 2026-12-07; 5e). Where the second
  // tile is partial too (global tokens: the global keys' tile, then the
  // window's first), a third loop, masked, comes first
  // (GPUKernelConfig::leadingMaskedLoop).
  SmallVector<Value> unmaskedInits = inits;
  if (cfg.leadingMaskedLoop) {
    auto leading = emitTileLoop(
        inits,
        [&](ValueRange args) {
          scf::YieldOp::create(b, loc, overlappedStep(args, /*masked=*/true));
        },
        /*tileAt=*/1, [&](Value tile) { return classifyKeyTile(tile).needed; });
    unmaskedInits.assign(leading.getResults().begin(),
                         leading.getResults().end());
  }
  auto unmasked = emitTileLoop(
      unmaskedInits,
      [&](ValueRange args) {
        scf::YieldOp::create(b, loc, overlappedStep(args, /*masked=*/false));
      },
      /*tileAt=*/1,
      [&](Value tile) { return m.notI(classifyKeyTile(tile).needed); });
  auto steps = emitTileLoop(
      unmasked.getResults(),
      [&](ValueRange args) {
        scf::YieldOp::create(b, loc, overlappedStep(args, /*masked=*/true));
      },
      /*tileAt=*/1);

  // The last tile: P(j) V(j) alone. Every S is done: the persistent
  // kernel's producer may load the next item's Q.
  ValueRange ended = steps.getResults();
  if (cfg.persistent)
    arriveBarrier(barrierAddress(kQueryEmpty, idx(0)));
  Tiles pj = carriedP(ended);
  Value vStage = ended[stageAt + 1];
  if (cfg.tma)
    waitBarrier(barrierAddress(kValueFull, vStage),
                remC(divC(ended[stageAt + 2], 3), 2));
  else
    waitTiles();
  SmallVector<SmallVector<Value>> oacc = scaledO(ended);
  // Ping-pong: the last MMAs of the block; warpgroup 1's hand-over would
  // have no taker.
  Value handOver;
  if (cfg.pingPong)
    handOver = arith::ExtUIOp::create(
        b, loc, b.getI32Type(),
        arith::XOrIOp::create(
            b, loc, isSecond,
            arith::ConstantOp::create(b, loc, b.getBoolAttr(true))));
  SmallVector<int64_t> vOffsets = valueOffsets();
  SmallVector<Value> out;
  appendAccumulators(out,
                     warpgroupGemms({{pj, stagedDescriptor(vDescriptor, vStage),
                                      vOffsets, D, /*transposeB=*/true, oacc}},
                                    /*pending=*/0, handOver)[0]);
  if (cfg.tma)
    arriveBarrier(barrierAddress(kValueEmpty, vStage));
  out.append(ended.begin() + mAt, ended.begin() + mAt + 2 * MT);
  if (!ringPhase.empty())
    out.append({addC(ended[stageAt + 2], 1), addC(ringPhase[1], 1)});
  scf::YieldOp::create(b, loc, out);
  b.setInsertionPointAfter(any);
  ringPhase.assign(any.getResults().begin() + numResults,
                   any.getResults().end());
  return SmallVector<Value>(any.getResults().take_front(numResults));
}

/// Thread 0 sets up the TMA kernel's mbarriers before any warp uses one:
/// the full ones complete when the producer's one arrival (with the bytes
/// it expects) and its loads' bytes are in, the empty ones when every math
/// thread has arrived.
void GPUKernelBuilder::initBarriers() {
  onThreadZero([&] {
    // (Q empty only orders the persistent kernel's items, item full and
    // empty its dynamic schedule.)
    for (int64_t i = 0; i < numBarriers(); ++i) {
      int64_t count = i < kKeyEmpty || i == kItemFull ? 1 : cfg.threads();
      ptx(("mbarrier.init.shared::cta.b64 [$0], " + Twine(count) + ";").str(),
          {barrierAddress(i, idx(0))}, "r");
    }
    ptx("fence.mbarrier_init.release.cluster;");
  });
  gpu::BarrierOp::create(b, loc);
}

void GPUKernelBuilder::loadTile(Value map, Value to, Value full, Value row,
                                Value headIndex, Value batch, int64_t rows) {
  // Coordinates innermost first: head-dim column, row, head, batch (the
  // tensor map's dimensions, docs/artifact.md); rows outside the tensor
  // (before 0 or past its length) arrive as zeros.
  for (int64_t panel = 0; panel < D / 64; ++panel)
    ptx("cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::"
        "complete_tx::bytes [$0], [$1, {$2, $3, $4, $5}], [$6];",
        {toI32(addC(to, panel * rows * 128)), map,
         arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(64 * panel)),
         toI32(row), toI32(headIndex), toI32(batch), toI32(full)},
        "r,l,r,r,r,r,r");
}

/// loadTile's inverse: the tile at shared address `from` (64-column panels
/// of rows x 128 bytes, 128-byte swizzle) to rows [row, row + rows) of
/// head `headIndex` of `batch` through the tensor map `map`, as one bulk
/// group. TMA clips the rows outside the tensor (before 0 or past its
/// length): they are not written.
void GPUKernelBuilder::storeTile(Value map, Value from, Value row,
                                 Value headIndex, Value batch, int64_t rows) {
  for (int64_t panel = 0; panel < D / 64; ++panel)
    ptx("cp.async.bulk.tensor.4d.global.shared::cta.bulk_group "
        "[$0, {$1, $2, $3, $4}], [$5];",
        {map,
         arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(64 * panel)),
         toI32(row), toI32(headIndex), toI32(batch),
         toI32(addC(from, panel * rows * 128))},
        "l,r,r,r,r,r");
  ptx("cp.async.bulk.commit_group;");
}

/// The TMA kernel's producer (one warp of the last warpgroup): Q, then K
/// and V of every visible tile in the math warps' order, each into the next
/// stage of its ring once the math warps have handed that stage back (K: 2
/// stages, V: 3). Lane 0 waits and issues; every lane walks the tiles (the
/// walk may use warp shuffles). Nothing is loaded for a block that sees no
/// key tile.
void GPUKernelBuilder::emitProducer(Value firstTile, Value batch,
                                    Value headIndex, Value kvHead) {
  const int64_t BR = cfg.queryTile(), BC = cfg.keyTile;
  const int64_t tileBytes = BC * D * 2;
  Value leader = m.cmp(CmpIPredicate::eq, lane, idx(0));
  auto expect = [&](Value full, int64_t bytes) {
    ptx(("mbarrier.arrive.expect_tx.shared::cta.b64 _, [$0], " + Twine(bytes) +
         ";")
            .str(),
        {full}, "r");
  };
  // The persistent kernel's phases come out (unchanged for no tile).
  auto any = openPhaseIf(m.cmp(CmpIPredicate::slt, firstTile, tileEnd),
                         /*withElse=*/false);
  Value base = ringPhase.empty() ? idx(0) : ringPhase[0];
  scf::IfOp::create(b, loc, leader, [&](OpBuilder &, Location) {
    // The persistent kernel's Q buffer holds the previous item's Q until
    // the math warps are done with it.
    if (cfg.persistent)
      waitBarrier(barrierAddress(kQueryEmpty, idx(0)),
                  m.sub(idx(1), remC(ringPhase[1], 2)));
    Value full = barrierAddress(kQueryFull, idx(0));
    expect(full, BR * D * 2);
    loadTile(queryMap, queryBase, full, queryRow0, headIndex, batch, BR);
    scf::YieldOp::create(b, loc);
  });
  SmallVector<Value> inits = {firstTile, base};
  inits.append(cursor.begin(), cursor.end());
  const size_t numCursor = cursor.size();
  auto loads = emitTileLoop(inits, [&](ValueRange args) {
    Value tile = args[0], ordinal = args[1];
    cursor.assign(args.begin() + 2, args.begin() + 2 + numCursor);
    scf::IfOp::create(b, loc, leader, [&](OpBuilder &, Location) {
      Value row = mulC(tile, BC);
      for (auto [stages, empty, full, map, base] :
           {std::tuple(cfg.keyStages(), kKeyEmpty, kKeyFull, keyMap, keyBase),
            std::tuple(cfg.valueStages(), kValueEmpty, kValueFull, valueMap,
                       valueBase)}) {
        Value stage = remC(ordinal, stages);
        // The stage's previous tile (ordinal - stages) has been handed
        // back; a fresh barrier passes parity 1 at once.
        Value parity = m.sub(idx(1), remC(divC(ordinal, stages), 2));
        waitBarrier(barrierAddress(empty, stage), parity);
        Value fullAt = barrierAddress(full, stage);
        expect(fullAt, tileBytes);
        loadTile(map, add(base, mulC(stage, tileBytes)), fullAt, row, kvHead,
                 batch, BC);
      }
      scf::YieldOp::create(b, loc);
    });
    SmallVector<Value> next = {
        emitNextVisibleTile(m.min(addC(tile, 1), tileEnd)), addC(ordinal, 1)};
    next.append(cursor.begin(), cursor.end());
    scf::YieldOp::create(b, loc, next);
  });
  closePhaseIf(
      any, ringPhase.empty()
               ? SmallVector<Value>()
               : SmallVector<Value>{loads.getResult(1), addC(ringPhase[1], 1)});
}

namespace {
struct ConvertAttnToGPUPass
    : public mlir::attn::impl::ConvertAttnToGPUBase<ConvertAttnToGPUPass> {
  using Base::Base;

  void runOnOperation() override;
  LogicalResult convertSelectBlocks(SelectBlocksOp select, func::FuncOp func,
                                    func::ReturnOp returnOp,
                                    gpu::GPUModuleOp gpuModule,
                                    int64_t counter);
  LogicalResult convertCompressKV(CompressKVOp compress, func::FuncOp func,
                                  func::ReturnOp returnOp,
                                  gpu::GPUModuleOp gpuModule,
                                  int64_t counter);
  LogicalResult convertSparseBranches(SparseBranchesOp op, func::FuncOp func,
                                      func::ReturnOp returnOp,
                                      gpu::GPUModuleOp gpuModule,
                                      int64_t counter);
  LogicalResult convertFunction(func::FuncOp func,
                                gpu::GPUModuleOp &gpuModule);

  /// The wgmma-pipeline, tma, ping-pong, persistent and tma-store options,
  /// parsed once in runOnOperation.
  GPUKernelConfig::Toggle pipelineMode = GPUKernelConfig::Toggle::Auto,
                          tmaMode = GPUKernelConfig::Toggle::Auto,
                          pingPongMode = GPUKernelConfig::Toggle::Auto,
                          persistentMode = GPUKernelConfig::Toggle::Auto,
                          tmaStoreMode = GPUKernelConfig::Toggle::Auto;
};
} // namespace

/// `name` as a PTX identifier: ptxas takes [A-Za-z_$][A-Za-z0-9_$]* only,
/// so other characters become '_' (a function `@"layer.0"` gets kernels
/// `layer_0_attnN`; the manifest's "source" keeps the function's name, and
/// a clash with another function's kernels is diagnosed by the caller).
static std::string ptxIdentifier(StringRef name) {
  std::string id;
  for (char c : name)
    id.push_back(llvm::isAlnum(c) || c == '_' || c == '$' ? c : '_');
  if (id.empty() || llvm::isDigit(id.front()))
    id.insert(id.begin(), '_');
  return id;
}

/// Why the GPU kernel cannot compile `attention` yet, or success.
static LogicalResult checkSupportedOp(AttentionOp attention, int64_t queryTile,
                                      int64_t keyTile) {
  if (attention.getBudgetAttr())
    return attention.emitError()
           << "the op still carries " << attention.getBudgetAttr()
           << "; run attn-resolve-budgets first";
  if (attention.getBlocks()) {
    // The kernel keeps the list of one query block in registers, so its
    // length must be known and bounded.
    FailureOr<int64_t> slots =
        staticBlockSlots(attention, "attn-convert-to-gpu");
    if (failed(slots))
      return failure();
    if (*slots > 32 * 16)
      return attention.emitError()
             << "attn-convert-to-gpu keeps at most 512 block slots per query "
                "block, found "
             << *slots;
  }
  Type elementType = attention.getQueryType().getElementType();
  if (!elementType.isBF16() && !elementType.isF16())
    return attention.emitError()
           << "attn-convert-to-gpu supports bf16 and f16 (tensor-core mma), "
              "found "
           << elementType;
  auto sameElement = [&](Type t) {
    return cast<ShapedType>(t).getElementType() == elementType;
  };
  if (!sameElement(attention.getKey().getType()) ||
      !sameElement(attention.getValue().getType()) ||
      !sameElement(attention.getResult().getType()))
    return attention.emitError()
           << "attn-convert-to-gpu needs query, key, value and result of one "
              "element type";
  int64_t headDim = attention.getHeadDim();
  int64_t valueDim = attention.getValue().getType().getDimSize(3);
  if (ShapedType::isDynamic(headDim) || (headDim != 64 && headDim != 128))
    return attention.emitError()
           << "attn-convert-to-gpu supports head dims 64 and 128, found D = "
           << (ShapedType::isDynamic(headDim) ? std::string("?")
                                              : std::to_string(headDim));
  if (valueDim != headDim)
    return attention.emitError()
           << "attn-convert-to-gpu needs the value head dim to equal the "
              "query/key head dim ("
           << headDim << "), found Dv = "
           << (ShapedType::isDynamic(valueDim) ? std::string("?")
                                               : std::to_string(valueDim));
  int64_t hq = attention.getNumQueryHeads();
  int64_t hkv = attention.getNumKeyValueHeads();
  if (ShapedType::isDynamic(hq) || ShapedType::isDynamic(hkv) || hkv <= 0 ||
      hq % hkv != 0)
    return attention.emitError()
           << "attn-convert-to-gpu needs static head counts with Hkv dividing "
              "Hq";
  PatternAttrInterface pattern = attention.getEffectivePattern();
  // Every pattern is index arithmetic on position-aligned tiles (lib/Tiling);
  // block-granular leaves (random blocks, explicit layouts) need each tile
  // inside one block, which checkSupported names when it does not hold.
  return PatternEmitter::checkSupported(pattern, queryTile, keyTile,
                                        [&] { return attention.emitError(); });
}

/// The manifest's description of a kernel parameter.
static DictionaryAttr kernelParam(OpBuilder &b, StringRef name, StringRef type,
                                  StringRef value) {
  NamedAttrList p;
  p.append("name", b.getStringAttr(name));
  p.append("type", b.getStringAttr(type));
  p.append("value", b.getStringAttr(value));
  return p.getDictionary(b.getContext());
}

LogicalResult
ConvertAttnToGPUPass::convertFunction(func::FuncOp func,
                                      gpu::GPUModuleOp &gpuModule) {
  if (failed(checkKernelFunction(func, getArgument(), kAllKernelOps)))
    return failure();
  ModuleOp module = getOperation();
  auto returnOp = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  SmallVector<AttentionOp> ops =
      llvm::to_vector(func.getBody().getOps<AttentionOp>());
  SmallVector<GPUKernelConfig> configs;
  for (AttentionOp attention : ops) {
    GPUKernelConfig config;
    if (auto selected =
            dyn_cast<SelectedAttr>(attention.getEffectivePattern()))
      if (selected.getQueryBlock() != 64 && selected.getQueryBlock() != 128)
        return attention.emitError()
               << selected
               << " needs a query_block of 64 or 128 on the GPU (its query "
                  "tiles are the query blocks)";
    if (failed(GPUKernelConfig::choose(
            attention.getHeadDim(), attention.getEffectivePattern(), config,
            [&] { return attention.emitError(); }, chip, queryTile, keyTile,
            /*hopper=*/wgmma && chip == "sm_90a", pipelineMode, tmaMode,
            pingPongMode, persistentMode, tmaStoreMode,
            /*staticRounds=*/persistentSchedule == "static")))
      return failure();
    if (failed(checkSupportedOp(attention, config.queryTile(), config.keyTile)))
      return failure();
    // Gates compacted by attn.active_heads inside the function are still
    // the gates tensor to the kernel: the device reads them directly.
    if (attention.getGates())
      config.gating = GPUKernelConfig::Gating::Gates;
    else if (Value active = attention.getActive())
      config.gating = active.getDefiningOp<ActiveHeadsOp>()
                          ? GPUKernelConfig::Gating::Gates
                          : GPUKernelConfig::Gating::Active;
    if (Value blocks = attention.getBlocks())
      config.slots = cast<RankedTensorType>(blocks.getType()).getDimSize(3);
    configs.push_back(config);
  }

  OpBuilder b(module.getContext());
  if (!gpuModule) {
    if (Operation *existing = SymbolTable::lookupSymbolIn(module, "kernels")) {
      gpuModule = dyn_cast<gpu::GPUModuleOp>(existing);
      if (!gpuModule)
        return existing->emitError()
               << "attn-convert-to-gpu puts kernels into 'gpu.module "
                  "@kernels', but the symbol is taken by '"
               << existing->getName() << "'";
    } else {
      b.setInsertionPointToEnd(module.getBody());
      gpuModule = gpu::GPUModuleOp::create(b, module.getLoc(), "kernels");
    }
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    b.getUnitAttr());
  }

  int64_t counter = 0;
  for (auto [attention, config] : llvm::zip_equal(ops, configs)) {
    std::string name =
        (ptxIdentifier(func.getSymName()) + "_attn" + Twine(counter++)).str();
    if (SymbolTable::lookupSymbolIn(gpuModule, name))
      return attention.emitError()
             << "kernel name '" << name << "' is already taken in @kernels";
    GPUKernelBuilder builder(attention, config, module);
    gpu::GPUFuncOp kernel = builder.build(gpuModule, name);

    // What the artifact's manifest needs about this kernel.
    auto argNumber = [](Value v) {
      return static_cast<int64_t>(getKernelArgument(v).getArgNumber());
    };
    SmallVector<int64_t> operandArgs = {argNumber(attention.getQuery()),
                                        argNumber(attention.getKey()),
                                        argNumber(attention.getValue())};
    if (Value g = attention.getGates())
      operandArgs.push_back(argNumber(g));
    else if (Value a = attention.getActive())
      operandArgs.push_back(argNumber(a));
    if (Value blocks = attention.getBlocks())
      operandArgs.push_back(argNumber(blocks));
    int64_t resultIndex = -1;
    for (OpOperand &use : returnOp->getOpOperands())
      if (use.get() == attention.getResult())
        resultIndex = use.getOperandNumber();
    auto staticOr = [](int64_t v) {
      return ShapedType::isDynamic(v) ? int64_t(-1) : v;
    };
    Type elementType = attention.getQueryType().getElementType();
    StringRef dtype = elementType.isF16() ? "f16" : "bf16";
    SmallVector<Attribute> params;
    auto param = [&](StringRef n, StringRef type, StringRef value) {
      params.push_back(kernelParam(b, n, type, value));
    };
    for (auto [n, role] : {std::pair<StringRef, StringRef>{"q", "query"},
                           {"k", "key"},
                           {"v", "value"},
                           {"o", "out"}})
      param(n, "ptr", role);
    for (StringRef t : {"query", "key", "value", "out"})
      for (int i = 0; i < 3; ++i)
        param((t + "_stride" + Twine(i)).str(), "i64",
              (t + ".stride[" + Twine(i) + "]").str());
    param("sq", "i32", "Sq");
    param("skv", "i32", "Skv");
    param("scale", "f32", "scale");
    using Gating = GPUKernelConfig::Gating;
    if (config.gating == Gating::Gates) {
      param("gates", "ptr", "gates");
      param("gates_stride0", "i64", "gates.stride[0]");
      param("gates_stride1", "i64", "gates.stride[1]");
    } else if (config.gating == Gating::Active) {
      param("active", "ptr", "active");
      param("num_active", "i32", "active_count");
      param("pairs", "i32", "pairs");
    }
    if (config.selected) {
      // The blocks operand is the op's last: generic operand values.
      std::string operand = "operand[" + std::to_string(operandArgs.size() - 1) + "]";
      param("blocks", "ptr", operand);
      for (int i = 0; i < 3; ++i)
        param(("blocks_stride" + Twine(i)).str(), "i64",
              operand + ".stride[" + std::to_string(i) + "]");
    }
    // The runtime builds the TMA kernel's tensor maps (docs/artifact.md)
    // and passes their device addresses.
    if (config.tma)
      for (auto [n, role, rows] : {std::tuple<StringRef, StringRef, int64_t>{
                                       "q_map", "query", config.queryTile()},
                                   {"k_map", "key", config.keyTile},
                                   {"v_map", "value", config.keyTile},
                                   {"o_map", "out", config.queryTile()}}) {
        if (n == "o_map" && !config.tmaStore)
          continue;
        NamedAttrList map(
            kernelParam(b, n, "ptr", (role + ".tensor_map").str()));
        map.append("rows", b.getI64IntegerAttr(rows));
        params.push_back(map.getDictionary(b.getContext()));
      }
    // The persistent kernel's virtual grid: the query tiles and rows the
    // grid would have (the runtime launches at most a block per SM).
    if (config.persistent) {
      param("grid_tiles", "i32", "query_tiles");
      param("grid_rows", "i32",
            config.gating == Gating::Active ? "active_count" : "pairs");
      if (config.dynamicTiles)
        param("tile_counter", "ptr", "tile_counter");
    }
    NamedAttrList grid;
    grid.append("rule", b.getStringAttr(config.gating == Gating::Active
                                            ? "query_tiles_x_active"
                                            : "query_tiles_x_pairs"));
    grid.append("query_tile", b.getI64IntegerAttr(config.queryTile()));
    // Selected blocks count query blocks in rows; every other pattern
    // uses position-aligned tiles.
    grid.append("query_tiles",
                b.getStringAttr(config.selected ? "rows" : "positions"));
    if (config.persistent)
      grid.append("persistent", b.getBoolAttr(true));

    NamedAttrList info;
    info.append("chip", b.getStringAttr(chip));
    info.append("dtype", b.getStringAttr(dtype));
    info.append("head_dim", b.getI64IntegerAttr(config.headDim));
    info.append("value_dim", b.getI64IntegerAttr(config.headDim));
    info.append("query_tile", b.getI64IntegerAttr(config.queryTile()));
    info.append("key_tile", b.getI64IntegerAttr(config.keyTile));
    info.append("block", b.getDenseI64ArrayAttr({config.blockThreads(), 1, 1}));
    info.append("dynamic_shared_memory",
                b.getI64IntegerAttr(config.dynamicShared ? config.sharedBytes()
                                                         : 0));
    info.append("grid", grid.getDictionary(b.getContext()));
    info.append("params", b.getArrayAttr(params));
    info.append("gated", b.getBoolAttr(config.gating != Gating::None));
    info.append("gates", b.getStringAttr(config.gating == Gating::Gates
                                             ? "gates"
                                         : config.gating == Gating::Active
                                             ? "active"
                                             : "none"));
    info.append("pattern", attention.getEffectivePattern());
    info.append("scale", b.getF64FloatAttr(attention.getEffectiveScale()));
    info.append("query_heads", b.getI64IntegerAttr(attention.getNumQueryHeads()));
    info.append("key_heads",
                b.getI64IntegerAttr(attention.getNumKeyValueHeads()));
    info.append("batch", b.getI64IntegerAttr(
                             staticOr(attention.getQueryType().getDimSize(0))));
    info.append("query_len", b.getI64IntegerAttr(staticOr(
                                 attention.getQueryType().getDimSize(2))));
    info.append("key_len", b.getI64IntegerAttr(
                               staticOr(attention.getKeyType().getDimSize(2))));
    info.append("source", b.getStringAttr(func.getSymName()));
    info.append("operand_args", b.getDenseI64ArrayAttr(operandArgs));
    info.append("result_index", b.getI64IntegerAttr(resultIndex));
    info.append("result_args", b.getDenseI64ArrayAttr({resultIndex}));
    info.append("op", b.getStringAttr("attention"));
    if (auto selected = dyn_cast<SelectedAttr>(attention.getEffectivePattern()))
      appendSelectedBlocksInfo(selected, config.slots, info);
    kernel->setAttr(AttnDialect::kGPUKernelAttrName,
                    info.getDictionary(b.getContext()));
  }
  int64_t selectCounter = 0;
  for (SelectBlocksOp select : func.getBody().getOps<SelectBlocksOp>())
    if (failed(convertSelectBlocks(select, func, returnOp, gpuModule,
                                   selectCounter++)))
      return failure();
  int64_t compressCounter = 0;
  for (CompressKVOp compress : func.getBody().getOps<CompressKVOp>())
    if (failed(convertCompressKV(compress, func, returnOp, gpuModule,
                                 compressCounter++)))
      return failure();
  int64_t branchesCounter = 0;
  for (SparseBranchesOp branches : func.getBody().getOps<SparseBranchesOp>())
    if (failed(convertSparseBranches(branches, func, returnOp, gpuModule,
                                     branchesCounter++)))
      return failure();
  func.erase();
  return success();
}

LogicalResult ConvertAttnToGPUPass::convertSelectBlocks(
    SelectBlocksOp select, func::FuncOp func, func::ReturnOp returnOp,
    gpu::GPUModuleOp gpuModule, int64_t counter) {
  auto queryType = cast<RankedTensorType>(select.getQuery().getType());
  Type elementType = queryType.getElementType();
  int64_t headDim = queryType.getDimSize(3);
  if (!elementType.isBF16() && !elementType.isF16())
    return select.emitError()
           << "attn-convert-to-gpu selects blocks of bf16 or f16 queries and "
              "keys, found "
           << elementType;
  if (headDim != 32 && headDim != 64 && headDim != 128 && headDim != 256)
    return select.emitError()
           << "attn-convert-to-gpu selects blocks at head dims 32, 64, 128 "
              "and 256, found D = "
           << headDim;
  std::string name =
      (ptxIdentifier(func.getSymName()) + "_select" + Twine(counter)).str();
  if (SymbolTable::lookupSymbolIn(gpuModule, name))
    return select.emitError()
           << "kernel name '" << name << "' is already taken in @kernels";
  gpu::GPUFuncOp kernel =
      buildSelectBlocksKernel(select, gpuModule, name, chip);

  OpBuilder b(select.getContext());
  auto argNumber = [](Value v) {
    return static_cast<int64_t>(cast<BlockArgument>(v).getArgNumber());
  };
  SmallVector<int64_t> operandArgs;
  for (Value operand : select->getOperands())
    operandArgs.push_back(argNumber(operand));
  int64_t resultIndex = -1;
  for (OpOperand &use : returnOp->getOpOperands())
    if (use.get() == select.getIndices())
      resultIndex = use.getOperandNumber();

  SmallVector<Attribute> params;
  const int64_t numOperands = operandArgs.size();
  StringRef names[] = {"q", "k", "pk"};
  for (int64_t i = 0; i < numOperands; ++i)
    params.push_back(kernelParam(b, names[i], "ptr",
                                 ("operand[" + Twine(i) + "]").str()));
  params.push_back(kernelParam(b, "indices", "ptr", "result[0]"));
  for (int64_t i = 0; i <= numOperands; ++i) {
    std::string tensor = i < numOperands
                             ? ("operand[" + Twine(i) + "]").str()
                             : std::string("result[0]");
    std::string short_ = i < numOperands ? names[i].str() : "indices";
    for (int j = 0; j < 3; ++j)
      params.push_back(kernelParam(b, short_ + "_stride" + std::to_string(j),
                                   "i64",
                                   tensor + ".stride[" + std::to_string(j) +
                                       "]"));
  }
  params.push_back(kernelParam(b, "sq", "i32", "operand[0].shape[2]"));
  params.push_back(kernelParam(b, "skv", "i32", "operand[1].shape[2]"));

  NamedAttrList grid;
  grid.append("rule", b.getStringAttr("tiles_x_kv_pairs"));
  // ceil(ceil(Sq / qb) / 8) = ceil(Sq / (8 qb)).
  grid.append("size", b.getStringAttr("operand[0].shape[2]"));
  grid.append("tile", b.getI64IntegerAttr(kSelectQueryBlocksPerCTA *
                                          int64_t(select.getQueryBlock())));
  auto keyType = cast<RankedTensorType>(select.getKey().getType());
  NamedAttrList info;
  info.append("op", b.getStringAttr("select_blocks"));
  info.append("chip", b.getStringAttr(chip));
  info.append("dtype", b.getStringAttr(elementType.isF16() ? "f16" : "bf16"));
  info.append("head_dim", b.getI64IntegerAttr(headDim));
  info.append("query_heads", b.getI64IntegerAttr(queryType.getDimSize(1)));
  info.append("key_heads", b.getI64IntegerAttr(keyType.getDimSize(1)));
  appendSelectBlocksInfo(select, info);
  // The scores of a CTA's query blocks live in shared memory.
  info.append("max_key_blocks", b.getI64IntegerAttr(selectMaxKeyBlocks(chip)));
  info.append("block", b.getDenseI64ArrayAttr({kSelectThreads, 1, 1}));
  info.append("dynamic_shared_memory",
              b.getI64IntegerAttr(selectBlocksSharedBytes(headDim, chip)));
  info.append("grid", grid.getDictionary(b.getContext()));
  info.append("params", b.getArrayAttr(params));
  info.append("gated", b.getBoolAttr(false));
  info.append("source", b.getStringAttr(func.getSymName()));
  info.append("operand_args", b.getDenseI64ArrayAttr(operandArgs));
  info.append("result_args", b.getDenseI64ArrayAttr({resultIndex}));
  kernel->setAttr(AttnDialect::kGPUKernelAttrName,
                  info.getDictionary(b.getContext()));
  return success();
}

LogicalResult ConvertAttnToGPUPass::convertCompressKV(
    CompressKVOp compress, func::FuncOp func, func::ReturnOp returnOp,
    gpu::GPUModuleOp gpuModule, int64_t counter) {
  auto keyType = cast<RankedTensorType>(compress.getKey().getType());
  auto valueType = cast<RankedTensorType>(compress.getValue().getType());
  Type elementType = keyType.getElementType();
  if (!elementType.isBF16() && !elementType.isF16())
    return compress.emitError()
           << "attn-convert-to-gpu compresses bf16 or f16 keys and values, "
              "found "
           << elementType;
  for (auto [what, dim] : {std::pair<StringRef, int64_t>{"key", keyType.getDimSize(3)},
                           {"value", valueType.getDimSize(3)}})
    if (dim != 64 && dim != 128 && dim != 256)
      return compress.emitError()
             << "attn-convert-to-gpu compresses head dims 64, 128 and 256, "
                "found a "
             << what << " head dim of " << dim;
  if (Value weights = compress.getWeights()) {
    Type type = cast<RankedTensorType>(weights.getType()).getElementType();
    if (!type.isF32() && !type.isF16() && !type.isBF16())
      return compress.emitError()
             << "attn-convert-to-gpu takes compress_kv weights of f32, f16 or "
                "bf16 (the runtime's types), found "
             << type;
  }
  std::string name =
      (ptxIdentifier(func.getSymName()) + "_compress" + Twine(counter)).str();
  if (SymbolTable::lookupSymbolIn(gpuModule, name))
    return compress.emitError()
           << "kernel name '" << name << "' is already taken in @kernels";
  gpu::GPUFuncOp kernel = buildCompressKVKernel(compress, gpuModule, name);

  OpBuilder b(compress.getContext());
  SmallVector<int64_t> operandArgs, resultArgs;
  for (Value operand : compress->getOperands())
    operandArgs.push_back(cast<BlockArgument>(operand).getArgNumber());
  for (Value result : compress->getResults()) {
    int64_t index = -1;
    for (OpOperand &use : returnOp->getOpOperands())
      if (use.get() == result)
        index = use.getOperandNumber();
    resultArgs.push_back(index);
  }
  bool linear = compress.getMethod() == CompressionMethod::Linear;
  SmallVector<Attribute> params;
  params.push_back(kernelParam(b, "k", "ptr", "operand[0]"));
  params.push_back(kernelParam(b, "v", "ptr", "operand[1]"));
  if (linear)
    params.push_back(kernelParam(b, "w", "ptr", "operand[2]"));
  params.push_back(kernelParam(b, "ck", "ptr", "result[0]"));
  params.push_back(kernelParam(b, "cv", "ptr", "result[1]"));
  for (auto [short_, tensor] :
       {std::pair<StringRef, StringRef>{"k", "operand[0]"},
        {"v", "operand[1]"},
        {"ck", "result[0]"},
        {"cv", "result[1]"}})
    for (int j = 0; j < 3; ++j)
      params.push_back(kernelParam(
          b, (short_ + "_stride" + Twine(j)).str(), "i64",
          (tensor + ".stride[" + Twine(j) + "]").str()));
  if (linear)
    params.push_back(kernelParam(b, "w_stride0", "i64", "operand[2].stride[0]"));
  params.push_back(kernelParam(b, "skv", "i32", "operand[0].shape[2]"));
  params.push_back(kernelParam(b, "slots", "i32", "result[0].shape[2]"));

  NamedAttrList grid;
  grid.append("rule", b.getStringAttr("tiles_x_kv_pairs"));
  grid.append("size", b.getStringAttr("result[0].shape[2]"));
  grid.append("tile", b.getI64IntegerAttr(kCompressSlotsPerCTA));
  NamedAttrList info;
  info.append("op", b.getStringAttr("compress_kv"));
  info.append("chip", b.getStringAttr(chip));
  info.append("dtype", b.getStringAttr(elementType.isF16() ? "f16" : "bf16"));
  info.append("head_dim", b.getI64IntegerAttr(keyType.getDimSize(3)));
  info.append("value_dim", b.getI64IntegerAttr(valueType.getDimSize(3)));
  info.append("key_heads", b.getI64IntegerAttr(keyType.getDimSize(1)));
  // "block" is the op's window here (the manifest's compress field); the
  // CUDA thread block goes by "cuda_block".
  info.append("cuda_block", b.getDenseI64ArrayAttr({kCompressThreads, 1, 1}));
  appendCompressKVInfo(compress, info);
  info.append("dynamic_shared_memory", b.getI64IntegerAttr(0));
  info.append("grid", grid.getDictionary(b.getContext()));
  info.append("params", b.getArrayAttr(params));
  info.append("gated", b.getBoolAttr(false));
  info.append("source", b.getStringAttr(func.getSymName()));
  info.append("operand_args", b.getDenseI64ArrayAttr(operandArgs));
  info.append("result_args", b.getDenseI64ArrayAttr(resultArgs));
  kernel->setAttr(AttnDialect::kGPUKernelAttrName,
                  info.getDictionary(b.getContext()));
  return success();
}

LogicalResult ConvertAttnToGPUPass::convertSparseBranches(
    SparseBranchesOp op, func::FuncOp func, func::ReturnOp returnOp,
    gpu::GPUModuleOp gpuModule, int64_t counter) {
  RankedTensorType queryType = op.getQueryType();
  Type elementType = queryType.getElementType();
  if (!elementType.isBF16() && !elementType.isF16())
    return op.emitError() << "attn-convert-to-gpu supports bf16 and f16 "
                             "(tensor-core mma), found "
                          << elementType;
  int64_t headDim = op.getHeadDim();
  int64_t valueDim = op.getValue().getType().getDimSize(3);
  if (headDim != 64 && headDim != 128)
    return op.emitError()
           << "attn-convert-to-gpu supports head dims 64 and 128, found D = "
           << headDim;
  if (valueDim != headDim)
    return op.emitError() << "attn-convert-to-gpu needs the value head dim to "
                             "equal the query/key head dim ("
                          << headDim << "), found Dv = " << valueDim;
  SelectedAttr selected = op.getSelected();
  int64_t queryBlock = selected.getQueryBlock();
  if (queryBlock != 64 && queryBlock != 128)
    return op.emitError() << "attn-convert-to-gpu needs the selected branch's "
                             "query_block to be 64 or 128 (its query tiles "
                             "serve all three branches), found "
                          << queryBlock;
  const int64_t keyTile = GPUKernelConfig::kBaseKeyTile;
  if (selected.getKeyBlock() % keyTile != 0)
    return op.emitError() << "attn-convert-to-gpu needs the selected branch's "
                             "key_block to be a multiple of "
                          << keyTile << ", found " << selected.getKeyBlock();
  int64_t slots = op.getBlocks().getType().getDimSize(3);
  if (slots > 32 * 16)
    return op.emitError() << "attn-convert-to-gpu keeps at most 512 block "
                             "slots per query block, found "
                          << slots;
  if (failed(checkSparseBranchesSupported(op, queryBlock, keyTile)))
    return failure();
  // 64-row query tiles at D = 128: two m-tiles would keep 2 x 64 more
  // accumulators live next to three loops' state (255 registers and spills
  // measured with 128-row tiles); a 128-row query block is then two tiles
  // reading the same list.
  int64_t queryTile = headDim == 128 ? 64 : queryBlock;
  GPUKernelConfig config;
  if (failed(GPUKernelConfig::choose(
          headDim, selected, config, [&] { return op.emitError(); }, chip,
          queryTile)))
    return failure();
  // choose() set up the selected-blocks kernel; the selected branch is one
  // of three here, and the staging of the mixed rows takes shared memory.
  config.listQueryBlock = queryBlock;
  config.selected = false;
  config.branches = true;
  config.slots = slots;
  config.dynamicShared = config.sharedBytes() > 48 * 1024;
  std::string name =
      (ptxIdentifier(func.getSymName()) + "_branches" + Twine(counter)).str();
  if (SymbolTable::lookupSymbolIn(gpuModule, name))
    return op.emitError() << "kernel name '" << name
                          << "' is already taken in @kernels";
  GPUKernelBuilder builder(op, config, getOperation());
  gpu::GPUFuncOp kernel = builder.build(gpuModule, name);

  OpBuilder b(op.getContext());
  SmallVector<int64_t> operandArgs;
  for (Value operand : op->getOperands())
    operandArgs.push_back(getKernelArgument(operand).getArgNumber());
  int64_t resultIndex = -1;
  for (OpOperand &use : returnOp->getOpOperands())
    if (use.get() == op.getResult())
      resultIndex = use.getOperandNumber();
  SmallVector<Attribute> params;
  for (auto [i, param] : llvm::enumerate(GPUKernelBuilder::branchesParams())) {
    StringRef type = i < 8 ? "ptr" : i < 32 ? "i64" : i < 35 ? "i32" : "f32";
    params.push_back(kernelParam(b, param.first, type, param.second));
  }
  NamedAttrList grid;
  grid.append("rule", b.getStringAttr("query_tiles_x_pairs"));
  grid.append("query_tile", b.getI64IntegerAttr(config.queryTile()));
  grid.append("query_tiles", b.getStringAttr("rows"));
  NamedAttrList info;
  info.append("op", b.getStringAttr("sparse_branches"));
  info.append("chip", b.getStringAttr(chip));
  appendSparseBranchesInfo(op, info);
  info.append("query_tile", b.getI64IntegerAttr(config.queryTile()));
  info.append("key_tile", b.getI64IntegerAttr(config.keyTile));
  info.append("block", b.getDenseI64ArrayAttr({config.threads(), 1, 1}));
  info.append("dynamic_shared_memory",
              b.getI64IntegerAttr(config.dynamicShared ? config.sharedBytes()
                                                       : 0));
  info.append("grid", grid.getDictionary(b.getContext()));
  info.append("params", b.getArrayAttr(params));
  info.append("gated", b.getBoolAttr(false));
  info.append("source", b.getStringAttr(func.getSymName()));
  info.append("operand_args", b.getDenseI64ArrayAttr(operandArgs));
  info.append("result_args", b.getDenseI64ArrayAttr({resultIndex}));
  kernel->setAttr(AttnDialect::kGPUKernelAttrName,
                  info.getDictionary(b.getContext()));
  return success();
}

void ConvertAttnToGPUPass::runOnOperation() {
  ModuleOp module = getOperation();
  static constexpr StringLiteral kChips[] = {"sm_80", "sm_86", "sm_89",
                                             "sm_90", "sm_90a"};
  if (!llvm::is_contained(kChips, StringRef(chip))) {
    module.emitError() << "attn-convert-to-gpu: unknown chip '" << chip
                       << "'; known chips: sm_80, sm_86, sm_89, sm_90, sm_90a";
    return signalPassFailure();
  }
  using Toggle = GPUKernelConfig::Toggle;
  auto parseToggle = [&](StringRef option, StringRef value,
                         Toggle &mode) -> LogicalResult {
    if (llvm::is_contained({"auto", ""}, value))
      mode = Toggle::Auto;
    else if (llvm::is_contained({"on", "true", "1"}, value))
      mode = Toggle::On;
    else if (llvm::is_contained({"off", "false", "0"}, value))
      mode = Toggle::Off;
    else
      return module.emitError()
             << "attn-convert-to-gpu: " << option
             << " must be auto, on or off, found '" << value << "'";
    return success();
  };
  if (failed(parseToggle("wgmma-pipeline", wgmmaPipeline, pipelineMode)) ||
      failed(parseToggle("tma", tma, tmaMode)) ||
      failed(parseToggle("ping-pong", pingPong, pingPongMode)) ||
      failed(parseToggle("persistent", persistent, persistentMode)) ||
      failed(parseToggle("tma-store", tmaStore, tmaStoreMode)))
    return signalPassFailure();
  if (persistentSchedule != "dynamic" && persistentSchedule != "static") {
    module.emitError() << "attn-convert-to-gpu: persistent-schedule must be "
                          "dynamic or static, found '"
                       << persistentSchedule << "'";
    return signalPassFailure();
  }
  SmallVector<func::FuncOp> functions;
  for (func::FuncOp func : module.getOps<func::FuncOp>())
    if (hasKernelOps(func))
      functions.push_back(func);
  gpu::GPUModuleOp gpuModule;
  for (func::FuncOp func : functions)
    if (failed(convertFunction(func, gpuModule)))
      return signalPassFailure();
}
