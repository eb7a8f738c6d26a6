//===- AttnAttrs.td - attn attributes ----------------------*- tablegen -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Pattern attributes (which keys each query sees), budgets and per-layer
// schedules. Patterns share one textual convention, `#attn.kind<name = value,
// flag>`, parsed by one helper so that every pattern reports unknown,
// duplicate and missing parameters the same way.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNATTRS_TD
#define ATTN_DIALECT_ATTN_IR_ATTNATTRS_TD

include "attn/Dialect/Attn/IR/AttnDialect.td"
include "attn/Dialect/Attn/IR/AttnInterfaces.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

class Attn_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Attn_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

/// A pattern attribute: implements the pattern interface; parsed and printed
/// by hand through the shared key = value helper unless it says otherwise.
class Attn_PatternAttr<string name, string attrMnemonic,
                       list<string> overridden = []>
    : Attn_Attr<name, attrMnemonic,
                [DeclareAttrInterfaceMethods<Attn_PatternAttrInterface,
                                             overridden>]> {
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Analytic patterns
//===----------------------------------------------------------------------===//

def Attn_DenseAttr : Attn_PatternAttr<"Dense", "dense"> {
  let summary = "every query sees every key";
  let description = [{
    ```mlir
    #attn.dense
    ```
  }];
  let genVerifyDecl = 0;
}

def Attn_CausalAttr : Attn_PatternAttr<"Causal", "causal"> {
  let summary = "a query sees the keys at or before its position";
  let description = [{
    Query at position `p` sees key `k` iff `k <= p`. With `Sq < Skv` the
    queries sit at the end of the keys (decoding with a KV cache).

    ```mlir
    #attn.causal
    ```
  }];
  let genVerifyDecl = 0;
}

def Attn_LocalAttr : Attn_PatternAttr<"Local", "local"> {
  let summary = "sliding window, symmetric or causal, optionally dilated";
  let description = [{
    Query at position `p` sees key `k` iff `|p - k| <= window` and
    `(p - k) mod dilation == 0`; with `causal`, also `k <= p`.

    - `#attn.local<window = 512>`: the 1025 keys `p-512 .. p+512`.
    - `#attn.local<window = 1023, causal>`: the 1024 keys `p-1023 .. p`
      (Mistral-style sliding window of 1024).
    - `#attn.local<window = 256, dilation = 4>`: every 4th key within 256
      (Longformer's dilated window).

    `window >= 1`, `dilation >= 1`; `dilation` defaults to 1.
  }];
  let parameters = (ins "int64_t":$window, "int64_t":$dilation, "bool":$causal);
}

def Attn_StridedAttr : Attn_PatternAttr<"Strided", "strided"> {
  let summary = "keys whose block distance to the query is a multiple of the stride";
  let description = [{
    With granules of `block` positions (default 1, element granularity), a
    query at position `p` sees key `k` iff
    `(floor(p / block) - floor(k / block)) mod stride == 0`; with `causal`,
    also `k <= p`. The Sparse Transformer's strided head is
    `#attn.strided<stride = 128, causal>`; "every 4th block of 128" is
    `#attn.strided<stride = 4, block = 128>`.
  }];
  let parameters = (ins "int64_t":$stride, "int64_t":$block, "bool":$causal);
}

def Attn_GlobalAttr : Attn_PatternAttr<"Global", "global"> {
  let summary = "the first tokens attend to, and are attended by, everything";
  let description = [{
    Key `k` is visible to every query iff `k < tokens`; a query at position
    `0 <= p < tokens` sees every key. Combine with a window through
    `#attn.union` (Longformer / BigBird global tokens, attention sinks):

    ```mlir
    #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 256>]>
    ```
  }];
  let parameters = (ins "int64_t":$tokens);
}

def Attn_ChunkedAttr : Attn_PatternAttr<"Chunked", "chunked"> {
  let summary = "block-diagonal attention within fixed-size chunks";
  let description = [{
    Query at position `p` sees key `k` iff `floor(p / size) == floor(k / size)`;
    with `causal`, also `k <= p`. Hierarchical layouts are unions of chunked,
    strided and global patterns at several sizes, e.g. chunk-local attention
    plus every 8th chunk-sized block:

    ```mlir
    #attn.union<[#attn.chunked<size = 256>, #attn.strided<stride = 8, block = 256>]>
    ```
  }];
  let parameters = (ins "int64_t":$size, "bool":$causal);
}

//===----------------------------------------------------------------------===//
// Irregular block patterns
//===----------------------------------------------------------------------===//

def Attn_RandomBlocksAttr : Attn_PatternAttr<"RandomBlocks", "random_blocks"> {
  let summary = "pseudo-random key blocks per query block (BigBird-style)";
  let description = [{
    Positions are cut into blocks of `block` (default 128). For query block
    `i` of head `h`, each key block is kept independently with probability
    `density`: the kept blocks are a deterministic stream seeded by
    `(seed, h, i)` that draws the gaps between them (`RandomBlockRow`), so a
    row costs time in proportion to its kept blocks. Block `i` itself is kept
    too when `diagonal` is set (the default, so no row is empty). The layout
    depends only on the parameters and block indices, never on the sequence
    length, so longer sequences extend it without recompiling.

    ```mlir
    #attn.random_blocks<density = 0.25, seed = 7>
    #attn.random_blocks<density = 0.1, seed = 7, block = 64, diagonal = false>
    ```
    `0 < density <= 1`, `block >= 1`.
  }];
  let parameters = (ins APFloatParameter<"fraction of blocks kept">:$density,
                        "uint64_t":$seed, "int64_t":$block, "bool":$diagonal);
  let extraClassDeclaration = [{
    double getDensityValue() const { return getDensity().convertToDouble(); }
    /// Whether key block `keyBlock` is kept for query block `queryBlock` of
    /// `head` (false for negative block indices). Walks the row's stream:
    /// O(keyBlock x density); planners walk rows instead.
    bool isBlockKept(int64_t head, int64_t queryBlock, int64_t keyBlock) const;
    /// Appends to `blocks` the kept key blocks below `numKeyBlocks` of one
    /// row, increasing, the diagonal included when set.
    void appendKeptBlocks(int64_t head, int64_t queryBlock,
                          int64_t numKeyBlocks,
                          ::llvm::SmallVectorImpl<int64_t> &blocks) const;
  }];
}

def Attn_BlockLayoutAttr : Attn_PatternAttr<"BlockLayout", "block_layout",
                                                 ["verifyForShape"]> {
  let summary = "an explicit 0/1 matrix of (query block, key block) pairs";
  let description = [{
    `layout` holds `rows x cols` entries (or `heads x rows x cols`, one matrix
    per query head), row-major, each 0 or 1; entry `(i, j)` says whether query
    block `i` (positions `i*block ..`) sees key block `j`. The matrix bounds
    the sequence: an op using it must have `ceil(Skv / block) <= rows` and
    `<= cols`.

    ```mlir
    #attn.block_layout<block = 64, shape = [3, 3],
                       layout = [1, 0, 0,
                                 1, 1, 0,
                                 0, 1, 1]>
    ```
  }];
  let parameters = (ins "int64_t":$block, ArrayRefParameter<"int64_t">:$shape,
                        ArrayRefParameter<"int8_t">:$layout);
  let extraClassDeclaration = [{
    /// Number of per-head matrices (1 when shared by all heads).
    int64_t getNumLayoutHeads() const {
      return getShape().size() == 3 ? getShape()[0] : 1;
    }
    int64_t getNumRows() const { return getShape()[getShape().size() - 2]; }
    int64_t getNumCols() const { return getShape().back(); }
    /// Entry (row, col) of the matrix used by `head`; false outside it.
    bool isBlockVisible(int64_t head, int64_t row, int64_t col) const;
  }];
}

def Attn_SelectedAttr : Attn_PatternAttr<"Selected", "selected",
                                           ["isRuntimeSelected"]> {
  let summary = "key blocks chosen at run time by a block-index operand";
  let description = [{
    The keys of each query block are the key blocks listed in the
    `attn.attention` op's `blocks` operand (as produced by
    `attn.select_blocks` with the same block sizes); index `-1` marks an
    unused slot. With `causal`, keys after the query position are masked
    inside the chosen blocks. Pattern queries answer with the upper bound
    (every key, or every key up to the position when causal).

    ```mlir
    #attn.selected<query_block = 64, key_block = 64, causal>
    ```
  }];
  let parameters = (ins "int64_t":$queryBlock, "int64_t":$keyBlock,
                        "bool":$causal);
}

//===----------------------------------------------------------------------===//
// Combinators
//===----------------------------------------------------------------------===//

def Attn_UnionAttr : Attn_PatternAttr<"Union", "union",
    ["verifyForShape", "isRuntimeSelected"]> {
  let summary = "a key is visible if any member pattern makes it visible";
  let description = [{
    ```mlir
    #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 256>]>
    ```
    At least one member; members are patterns other than `#attn.per_head`.
  }];
  let parameters = (ins "::mlir::ArrayAttr":$patterns);
  let hasCustomAssemblyFormat = 0;
  let assemblyFormat = "`<` $patterns `>`";
  let extraClassDeclaration = [{
    auto getMembers() const {
      return getPatterns().getAsRange<::mlir::attn::PatternAttrInterface>();
    }
  }];
}

def Attn_PerHeadAttr : Attn_PatternAttr<"PerHead", "per_head",
    ["verifyForShape", "isRuntimeSelected"]> {
  let summary = "one pattern per query head";
  let description = [{
    Entry `h` is the pattern of query head `h`; the list length must equal
    the op's `Hq`. Entries may be unions, not other `per_head` patterns.

    ```mlir
    #attn.per_head<[#attn.causal, #attn.local<window = 127, causal>,
                    #attn.causal, #attn.global<tokens = 16>]>
    ```
  }];
  let parameters = (ins "::mlir::ArrayAttr":$patterns);
  let hasCustomAssemblyFormat = 0;
  let assemblyFormat = "`<` $patterns `>`";
  let extraClassDeclaration = [{
    ::mlir::attn::PatternAttrInterface getHeadPattern(int64_t head) const {
      return ::llvm::cast<::mlir::attn::PatternAttrInterface>(
          getPatterns()[head]);
    }
  }];
}

//===----------------------------------------------------------------------===//
// Budgets and schedules
//===----------------------------------------------------------------------===//

def Attn_BudgetAttr : Attn_Attr<"Budget", "budget"> {
  let summary = "a fraction of dense attention cost, in (0, 1]";
  let description = [{
    The cost an op (or a layer) may spend, as a fraction of the cost of dense
    attention over the same shapes, all heads active. `attn-resolve-budgets`
    turns it into concrete gates or pattern parameters.

    ```mlir
    #attn.budget<0.5>
    ```
  }];
  let parameters = (ins APFloatParameter<"fraction of dense cost">:$fraction);
  let builders = [
    AttrBuilder<(ins "double":$fraction), [{
      return $_get($_ctxt, ::llvm::APFloat(fraction));
    }]>
  ];
  let extraClassDeclaration = [{
    double getValue() const { return getFraction().convertToDouble(); }
  }];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Attn_LayerAttr : Attn_Attr<"Layer", "layer"> {
  let summary = "one layer's entry of a schedule";
  let description = [{
    The budget, pattern and/or gate threshold that layer `index` should use.
    Ops name their layer with a `layer` attribute; `attn-apply-schedule`
    copies the entry onto them (the threshold goes to `attn.head_gate`s gated
    by a threshold).

    ```mlir
    #attn.layer<3, budget = 0.5, pattern = #attn.local<window = 256>>
    #attn.layer<4, threshold = 0.2>
    ```
  }];
  let parameters = (ins "int64_t":$index,
                        OptionalParameter<"::mlir::attn::BudgetAttr">:$budget,
                        OptionalParameter<"::mlir::attn::PatternAttrInterface">:$pattern,
                        OptionalParameter<"::mlir::FloatAttr">:$threshold);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Attn_ScheduleAttr : Attn_Attr<"Schedule", "schedule"> {
  let summary = "a per-layer schedule of budgets and patterns";
  let description = [{
    A list of `#attn.layer` entries with distinct indices, attached to a
    module as `attn.schedule`. Deeper layers pruning more is a schedule whose
    budgets fall with the index:

    ```mlir
    module attributes {attn.schedule = #attn.schedule<[
        #attn.layer<0, budget = 1.0>, #attn.layer<1, budget = 0.75>,
        #attn.layer<2, budget = 0.5, pattern = #attn.local<window = 128>>]>} {}
    ```
  }];
  let parameters = (ins "::mlir::ArrayAttr":$layers);
  let assemblyFormat = "`<` $layers `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    auto getEntries() const {
      return getLayers().getAsRange<::mlir::attn::LayerAttr>();
    }
    /// The entry for layer `index`, or null.
    ::mlir::attn::LayerAttr lookup(int64_t index) const;
  }];
}

//===----------------------------------------------------------------------===//
// Block plans
//===----------------------------------------------------------------------===//

def Attn_BlockPlanAttr : Attn_Attr<"BlockPlan", "block_plan"> {
  let summary = "how a kernel finds the key tiles of each query tile";
  let description = [{
    Set by `attn-plan-blocks` on `attn.attention`: the tile sizes and the kind
    of plan of the op's pattern.

    - `kind = analytic`: closed-form segments derived from the pattern; the
      kernel computes each query tile's key-tile runs as index arithmetic, for
      any sequence length.
    - `kind = table`: a CSR table of runs per query tile (random blocks,
      explicit layouts, unions containing them). With static lengths the
      table is in the attribute: `heads` maps each query head to a distinct
      plan, `offsets` holds `ceil(Sq / query_tile) + 1` run offsets per plan,
      and `runs` holds `(first key tile, end key tile, partial)` triples.
      Without static lengths the table is built when they are known.
    - `kind = runtime`: key tiles come from the op's `blocks` operand.

    ```mlir
    #attn.block_plan<query_tile = 128, key_tile = 128, kind = analytic>
    #attn.block_plan<query_tile = 64, key_tile = 64, kind = table,
                     heads = [0], offsets = [0, 1, 3],
                     runs = [0, 1, 0, 0, 1, 1, 1, 2, 0]>
    ```
  }];
  let parameters = (ins "int64_t":$queryTile, "int64_t":$keyTile,
                        StringRefParameter<"plan kind">:$kind,
                        OptionalArrayRefParameter<"int64_t">:$heads,
                        OptionalArrayRefParameter<"int64_t">:$offsets,
                        OptionalArrayRefParameter<"int64_t">:$runs);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    bool hasTable() const { return !getOffsets().empty(); }
  }];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Attn_CompressionMethod : I32EnumAttr<"CompressionMethod",
    "how attn.compress_kv reduces a block of tokens to one slot", [
      I32EnumAttrCase<"Mean", 0, "mean">,
      I32EnumAttrCase<"Linear", 1, "linear">
    ]> {
  let cppNamespace = "::mlir::attn";
  let genSpecializedAttr = 0;
}

def Attn_CompressionMethodAttr
    : EnumAttr<Attn_Dialect, Attn_CompressionMethod, "compression"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif // ATTN_DIALECT_ATTN_IR_ATTNATTRS_TD
