//===- Passes.td - attn transformation passes --------------*- tablegen -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD
#define ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnApplySchedule : Pass<"attn-apply-schedule", "::mlir::ModuleOp"> {
  let summary = "Copy per-layer budgets and patterns from a schedule onto ops";
  let description = [{
    Reads the schedule from the module's `attn.schedule` attribute, or from a
    JSON file given with `schedule-file` (which takes precedence), and, for
    every `attn.attention` and `attn.head_gate` that carries `layer = L`,
    sets the budget and/or pattern of schedule entry `L`:

    - `attn.attention` takes the entry's `budget` and `pattern`;
    - `attn.head_gate` takes the entry's `budget` (it must be gated by a
      budget attribute; a threshold or a runtime budget is left to the user
      and reported).

    It fails, naming the layer, when an op's layer has no entry, when an
    entry names a layer that no op carries, or when a scheduled pattern does
    not fit the op (e.g. a per-head list of the wrong length).

    The JSON form, which `attn-explore` writes:

    ```json
    {"layers": [
      {"layer": 0, "budget": 1.0},
      {"layer": 1, "budget": 0.5, "pattern": "#attn.local<window = 128>"}
    ]}
    ```
  }];
  let options = [
    Option<"scheduleFile", "schedule-file", "std::string", /*default=*/"\"\"",
           "JSON schedule to apply instead of the module's attn.schedule">
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

def AttnPlanBlocks : Pass<"attn-plan-blocks", "::mlir::ModuleOp"> {
  let summary = "Choose tile sizes and a block plan for every attn.attention";
  let description = [{
    Sets `plan = #attn.block_plan<...>` on every `attn.attention`: the tile
    sizes (from the options, or the target's defaults) and the kind of plan
    of its pattern (analytic closed form, CSR table, or runtime indices).
    Tables of ops with static lengths are materialized in the attribute.

    It refuses tile sizes the target's code generator cannot use (not a
    multiple of 16 on GPUs, of 8 on CPUs), tiles that differ from the block
    sizes of an `#attn.selected` pattern, and unknown targets; it warns when a
    window, chunk or global prefix spans the whole (static) sequence, which
    makes the pattern dense or causal in disguise.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"sm_90\"",
           "Target whose tile rules and defaults apply (sm_80, sm_86, sm_89, "
           "sm_90, sm_90a, x86-64-v3, x86-64-v4, aarch64)">,
    Option<"queryTile", "query-tile", "int64_t", /*default=*/"0",
           "Query rows per tile (0: the target's default)">,
    Option<"keyTile", "key-tile", "int64_t", /*default=*/"0",
           "Keys per tile (0: the target's default)">,
    Option<"materializeTables", "materialize-tables", "bool",
           /*default=*/"true",
           "Store CSR tables of static-shape irregular patterns in the plan">
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

def AttnReport : Pass<"attn-report", "::mlir::ModuleOp"> {
  let summary = "Print the cost of every attention op on a target";
  let description = [{
    For every `attn.attention` and `attn.sparse_branches` (one row, the
    three branches' work summed), prints the cost model's view: tiles visited,
    full and partial, density (visited / total tiles), FLOPs (matmul and
    softmax, and the dense equivalent), exponentials, compulsory DRAM bytes,
    and a roofline time estimate on the target, as a table or as JSON (field
    names documented in docs/cost-model.md). Uses the op's block plan when
    `attn-plan-blocks` has set one, else the target's default tiles. Dynamic
    sizes need `batch`, `query-len` and `key-len`. `attn.select_blocks` and
    `attn.compress_kv` get their own entries after the attention rows
    (JSON `"projections"`). The IR is not changed.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"sm_90\"",
           "Target whose rates are used">,
    Option<"queryTile", "query-tile", "int64_t", /*default=*/"0",
           "Query rows per tile (0: the op's plan, else the target's default)">,
    Option<"keyTile", "key-tile", "int64_t", /*default=*/"0",
           "Keys per tile (0: the op's plan, else the target's default)">,
    Option<"format", "format", "std::string", /*default=*/"\"table\"",
           "table or json">,
    Option<"batch", "batch", "int64_t", /*default=*/"0",
           "Batch size to assume where it is dynamic">,
    Option<"queryLen", "query-len", "int64_t", /*default=*/"0",
           "Sq to assume where it is dynamic">,
    Option<"keyLen", "key-len", "int64_t", /*default=*/"0",
           "Skv to assume where it is dynamic">
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

def AttnResolveBudgets : Pass<"attn-resolve-budgets", "::mlir::ModuleOp"> {
  let summary = "Turn budgets into concrete gates or pattern parameters";
  let description = [{
    For every `attn.attention` with `budget = #attn.budget<b>`, chooses what
    it spends so that the cost model's work (matmul FLOPs over visited
    tiles, at the target's tiles) is at most `b` times that of dense
    attention over all heads, removes the budget, and reports the fraction
    achieved as a remark. The knob depends on the op:

    - gates from an `attn.head_gate` with a budget: the gate's budget and,
      when heads' patterns differ, its `head_costs` (from the cost model),
      so the active heads' work fits whichever heads the router picks;
    - otherwise the pattern: the largest window (dense becomes a symmetric
      window, causal a causal one, a local window shrinks, a union shrinks
      its one local member) or the largest random-block density that fits.

    It refuses, naming the cheapest choice and its cost, a budget no choice
    meets, and explains ops it has no knob for (strided, chunked, global or
    explicit layouts alone, per-head patterns without gates, gates by a
    threshold or a runtime budget). Dynamic lengths need `query-len` and
    `key-len`.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"sm_90\"",
           "Target whose default tiles the costs are counted at">,
    Option<"queryLen", "query-len", "int64_t", /*default=*/"0",
           "Sq to assume where it is dynamic">,
    Option<"keyLen", "key-len", "int64_t", /*default=*/"0",
           "Skv to assume where it is dynamic">
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

def AttnFuseSkippedHeads : Pass<"attn-fuse-skipped-heads"> {
  let summary = "Remove statically gated-off heads, and their projection work";
  let description = [{
    For an `attn.attention` whose gates are a constant, the heads no batch
    row activates are removed: Q, K and V are sliced to the active heads
    (K/V heads that serve no active query head go too), the op computes only
    those, and its result is scattered into zeros at their positions (a
    skipped head's output is zero). When a sliced Q, K or V is produced by a
    linalg op that can be tiled (a projection with head-major weights), the
    slice moves into it, so the skipped heads' projection work disappears as
    well; a `linalg.generic` that sums the result over heads with a
    multiply-add (an output projection) is narrowed to the kept heads and
    their weights. Gates that differ between batch rows stay on the op,
    sliced to the remaining heads; gates that are all true are dropped.

    Heads are renumbered, so patterns that depend on the head index (random
    blocks, per-head layouts) are left alone, with a remark; so are ops that
    still carry a budget (run `attn-resolve-budgets` first).

    Runtime gates become a compacted list: `gates(%g)` turns into
    `active(%pairs)` with `%pairs = attn.active_heads %g`, so the lowering
    launches work for the active (batch, head) pairs only instead of masking
    inside the kernel.
  }];
  let dependentDialects = ["::mlir::attn::AttnDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect"];
}

def AttnLowerHeadGate : Pass<"attn-lower-head-gate"> {
  let summary = "Lower attn.head_gate to data-parallel linalg on tensors";
  let description = [{
    Rewrites each `attn.head_gate` as two `linalg.generic` ops that any
    linalg pipeline (CPU or GPU) can take further, with no sorting:

    1. per batch row and head `h`, a reduction over heads `j` computes `h`'s
       rank in the gating order (`j` comes first if its score is higher, or
       equal with a lower index; NaN last) and the summed cost of the heads
       ranked before it;
    2. elementwise, head `h` fires iff `rank < min_active` or: under a budget
       `b`, `cost_before + cost_h <= b x (all costs)` (equal costs: `rank <
       floor(b x H)`); under a threshold `t`, `score >= t`.

    This is exactly the prefix rule of `attn.head_gate` (lib/Gate): costs are
    positive, so the cost before a head rises along the order and the heads
    that fit are a prefix. A runtime budget operand is used as is.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def ConvertAttnToCPU : Pass<"attn-convert-to-cpu", "::mlir::ModuleOp"> {
  let summary = "Compile attn.attention into tiled online-softmax CPU kernels";
  let description = [{
    Turns every function made of `attn.attention` ops on its arguments into
    kernels, one per op, named `<func>_attn<N>`: functions on memrefs (scf,
    vector, arith, math) that the standard LLVM lowering takes to native code,
    each with a companion `<kernel>_work_items(pairs, Sq, Skv) -> i64`. The
    calling convention is in `runtime/include/attn_runtime/cpu_kernel_abi.h`.

    A kernel computes work items `[begin, end)`: an item is one (batch, head)
    pair (an active pair for gated ops: the kernel takes the compacted list)
    and one tile of query positions. Per item it transposes the query tile
    into query-lane vectors (scale x log2(e) folded in), then for every key
    tile the pattern's index arithmetic visits (tiles it skips cost a few
    integer ops, never a load) computes Sᵀ = K·Qᵀ with broadcast FMAs into
    register blocks, the online softmax per lane (running max and sum, a
    polynomial exp2, the element mask only on partial or ragged tiles), and
    Oᵀ += Vᵀ·Pᵀ the same way; the division by the sum comes after the last
    tile. Scores and outputs accumulate in f32 for f16/bf16 inputs.

    Tiles come from the op's plan (`attn-plan-blocks`) or the target's
    defaults; the register blocking from the target (vector lanes and
    accumulators). Ops it cannot compile (runtime-selected blocks, functions
    with other computation, head dims the blocking does not divide) get an
    error naming the reason.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"x86-64-v4\"",
           "CPU target whose vector width and tiles apply (x86-64-v3, "
           "x86-64-v4, aarch64)">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

def ConvertAttnToGPU : Pass<"attn-convert-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Compile attn.attention into FA2-style tensor-core GPU kernels";
  let description = [{
    Turns every function made of `attn.attention` ops on its arguments into
    one `gpu.func` kernel per op, named `<func>_attn<N>`, in a
    `gpu.module @kernels` (the module becomes a `gpu.container_module`): the
    structure of FlashAttention-2 (docs/gpu-notes.md): 128 threads
    (4 warps, each owning two 16-row m-tiles: 128-row query tiles, grid
    `ceil(Sq/128) x B*Hq`, heaviest tiles first), 64-key tiles through
    shared memory with `cp.async` (the next visible K tile loads under the
    softmax and P V, V under Q Kᵀ), S = QKᵀ and O += PV with
    `nvvm.mma.sync` m16n8k16 (bf16 or f16 into f32), online softmax with
    `ex2.approx`. The key-tile loop
    comes from lib/Tiling's PatternEmitter: the key hull bounds it, the tile
    class skips invisible tiles and picks the masked body only for partial
    (or ragged) tiles, and the element mask is `emitVisible` on each
    thread's two query positions.

    Parameters (bare-pointer convention): q, k, v, o as 1-D memrefs, then
    the query/key/value/out strides 0..2 (i64, elements), Sq, Skv (i32),
    scale (f32). The manifest facts go on the kernel as `attn.gpu_kernel`.
    Gated ops take the gates tensor (`B x Hq` i1, also when compacted by
    `attn.active_heads` in the function) as three more parameters (pointer
    and two strides): blocks of gated-off pairs write zeros and stop. An
    explicit active list adds (pointer, length, B * Hq) and the grid runs
    over the list (`query_tiles_x_active`).
    Unsupported ops (dtypes other than bf16/f16, head dims other than 64
    and 128, random blocks and explicit layouts, runtime-selected blocks)
    get an error naming the reason.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"",
           "The CUDA chip the kernels are meant for (recorded in the manifest)">,
    Option<"queryTile", "query-tile", "int64_t", /*default=*/"0",
           "Query rows per thread block: 64 (one m-tile per warp) or 128 "
           "(two; with wgmma: 8 warps); 0 picks 128, or 64 for wgmma in "
           "FA2's order and for block patterns whose blocks 128 does not "
           "divide">,
    Option<"keyTile", "key-tile", "int64_t", /*default=*/"0",
           "Keys per tile: 64, or 128 with the pipelined wgmma kernel "
           "(sm_90a, D = 128, wgmma-pipeline); 0 picks 128 there where no "
           "block of the pattern straddles one, else 64">,
    Option<"wgmma", "wgmma", "bool", /*default=*/"true",
           "On sm_90a: warpgroup MMAs (wgmma) at D = 128, one warpgroup per "
           "64 query rows; false keeps mma.sync">,
    Option<"wgmmaPipeline", "wgmma-pipeline", "std::string",
           /*default=*/"\"auto\"",
           "With wgmma: the pipelined key loop (S of the next key tile and "
           "P V of this one in flight together, the softmax under P V; K/V "
           "in 2/3 buffers; 128-row tiles as two warpgroups; 128-key tiles "
           "where no block straddles one): on, off, or auto (on without a "
           "query-tile asked for, for every pattern but runtime-selected "
           "blocks and blocks that 128 does not divide; FA2's order with "
           "64-row tiles there)">,
    Option<"tma", "tma", "std::string", /*default=*/"\"auto\"",
           "With the pipelined kernel: its Q, K and V tiles loaded by the "
           "Tensor Memory Accelerator from tensor maps the runtime builds (a "
           "producer warpgroup on mbarriers, no block barrier per tile): on "
           "(implies wgmma-pipeline=on), off (cp.async copies by the math "
           "warps), or auto (on wherever the kernel is pipelined)">,
    Option<"pingPong", "ping-pong", "std::string", /*default=*/"\"auto\"",
           "With tma and 128-row tiles: the two math warpgroups take turns "
           "issuing their MMAs (named barriers), so one's softmax runs under "
           "the other's MMAs (FA3's ping-pong): on (needs tma), off, or auto "
           "(on wherever the TMA kernel has 128-row tiles)">,
    Option<"persistent", "persistent", "std::string", /*default=*/"\"auto\"",
           "With tma: a persistent grid of at most one block per SM, each "
           "block walking query tiles in turn so that one tile's epilogue "
           "runs under the next one's loads (O staged through a tile of its "
           "own): on (needs tma), off or auto (a block per query tile: on an "
           "H100 the persistent grid was no faster, 0.71-1.06x)">,
    Option<"persistentSchedule", "persistent-schedule", "std::string",
           /*default=*/"\"dynamic\"",
           "With persistent: how blocks take work items: dynamic (each block's "
           "first item is its index, the next ones drawn from a counter the "
           "runtime zeroes before the launch: FA3's scheduler) or static "
           "(round k gives items [k G, (k + 1) G) to the G blocks, in block "
           "order or reversed on odd rounds)">,
    Option<"tmaStore", "tma-store", "std::string", /*default=*/"\"auto\"",
           "With tma: the epilogue writes O to shared memory in the tensor "
           "map's swizzled layout and one thread stores it with "
           "cp.async.bulk.tensor (rows outside the tensor clipped by TMA), "
           "instead of 16-byte stores from every math thread: on (needs "
           "tma), off or auto (off until measured faster on an H100)">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

#endif // ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD
