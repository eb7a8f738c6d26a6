//===- AttnOps.td - attn operations ------------------------*- tablegen -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNOPS_TD
#define ATTN_DIALECT_ATTN_IR_ATTNOPS_TD

include "attn/Dialect/Attn/IR/AttnAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, traits> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// attn.attention
//===----------------------------------------------------------------------===//

def Attn_AttentionOp : Attn_Op<"attention", [Pure, AttrSizedOperandSegments]> {
  let summary = "scaled dot-product attention with a pattern, gates and budget";
  let description = [{
    Computes `softmax(scale * Q Kᵀ + mask) V` per (batch, query head), where
    the mask comes from `pattern` (default `#attn.dense`).

    Shapes: `query` is `B x Hq x Sq x D`, `key` is `B x Hkv x Skv x D`,
    `value` is `B x Hkv x Skv x Dv`, the result is `B x Hq x Sq x Dv`. `Hq`
    must be a multiple of `Hkv`: query head `h` reads KV head
    `h / (Hq / Hkv)` (MHA when equal, MQA when `Hkv = 1`, GQA between).
    Element types are all f16, all bf16 or all f32. `B`, `Sq` and `Skv` may be
    dynamic; the head counts and head dimensions must be static.

    - `scale` (f32) defaults to `1 / sqrt(D)`.
    - `gates(%g)`: `B x Hq` of `i1`; a gated-off (batch, head) computes
      nothing and its output is zero.
    - `active(%pairs)`: the same as a compacted list, `? x i32` of
      `b * Hq + h` in increasing order (from `attn.active_heads`); a lowering
      launches work for the listed pairs only. At most one of `gates` and
      `active`.
    - `blocks(%idx)`: `B x Hkv x ceil(Sq / qb) x K` of `i32`, the key blocks
      per query block (from `attn.select_blocks`, `-1` for an unused slot);
      required exactly when the pattern contains `#attn.selected`.
    - `budget`: the fraction of dense cost this op may spend, resolved by
      `attn-resolve-budgets`; `layer`: this op's index in a schedule.
    - `plan`: the block plan chosen by `attn-plan-blocks`.

    A query row that sees no key produces zeros.

    ```mlir
    %o = attn.attention %q, %k, %v {pattern = #attn.causal}
        : tensor<2x32x1024x128xbf16>, tensor<2x8x1024x128xbf16>,
          tensor<2x8x1024x128xbf16> -> tensor<2x32x1024x128xbf16>
    %g2 = attn.attention %q, %k, %v gates(%g : tensor<2x32xi1>)
        {pattern = #attn.local<window = 255, causal>, scale = 0.088 : f32}
        : tensor<2x32x1024x128xbf16>, tensor<2x8x1024x128xbf16>,
          tensor<2x8x1024x128xbf16> -> tensor<2x32x1024x128xbf16>
    ```
    Lowers to an online-softmax loop over the key blocks the pattern plans
    (CPU: scf/vector/LLVM; GPU: tensor-core kernels), one launch per active
    (batch, head).
  }];

  let arguments = (ins
    AnyRankedTensor:$query,
    AnyRankedTensor:$key,
    AnyRankedTensor:$value,
    Optional<AnyRankedTensor>:$gates,
    Optional<AnyRankedTensor>:$active,
    Optional<AnyRankedTensor>:$blocks,
    OptionalAttr<F32Attr>:$scale,
    OptionalAttr<Attn_PatternAttrInterface>:$pattern,
    OptionalAttr<Attn_BudgetAttr>:$budget,
    OptionalAttr<I64Attr>:$layer,
    OptionalAttr<Attn_BlockPlanAttr>:$plan
  );
  let results = (outs AnyRankedTensor:$result);

  let assemblyFormat = [{
    $query `,` $key `,` $value
    (`gates` `(` $gates^ `:` type($gates) `)`)?
    (`active` `(` $active^ `:` type($active) `)`)?
    (`blocks` `(` $blocks^ `:` type($blocks) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value) `->` type($result)
  }];

  let extraClassDeclaration = [{
    /// The pattern, `#attn.dense` when none is given.
    ::mlir::attn::PatternAttrInterface getEffectivePattern();
    /// The scale, `1 / sqrt(D)` when none is given.
    double getEffectiveScale();
    RankedTensorType getQueryType() { return getQuery().getType(); }
    RankedTensorType getKeyType() { return getKey().getType(); }
    int64_t getNumQueryHeads() { return getQueryType().getDimSize(1); }
    int64_t getNumKeyValueHeads() { return getKeyType().getDimSize(1); }
    int64_t getHeadDim() { return getQueryType().getDimSize(3); }
  }];
}

//===----------------------------------------------------------------------===//
// attn.head_gate
//===----------------------------------------------------------------------===//

def Attn_HeadGateOp : Attn_Op<"head_gate", [Pure]> {
  let summary = "router scores to per-(batch, head) gates: monotone top-k or threshold";
  let description = [{
    Turns router scores `B x H` (any float type) into gates `B x H` of `i1`.
    Exactly one rule is given:

    - `budget = #attn.budget<b>`: per batch row, heads in order of score
      (ties to the lower head index, NaN last) fire while their summed cost
      stays within `b` times the cost of all heads, and at least `min_active`
      fire. With equal costs that is the `max(min_active, floor(b * H))`
      highest-scoring heads. The order does not depend on `b`, so a larger
      budget never turns off a head that a smaller one turns on.
    - `head_costs = array<i64: ...>`: each head's cost (one per head, > 0;
      `attn-resolve-budgets` sets the query-key pairs its plan visits), for
      heads whose patterns differ. Without it heads cost the same.
    - `budget(%b : f32)`: the same with the budget known only at run time.
    - `threshold = t`: heads with score `>= t` fire, at least `min_active`.

    ```mlir
    %g = attn.head_gate %scores {budget = #attn.budget<0.5>}
        : tensor<?x16xf32> -> tensor<?x16xi1>
    %r = attn.head_gate %scores budget(%b : f32)
        : tensor<?x16xf32> -> tensor<?x16xi1>
    %t = attn.head_gate %scores {threshold = 0.1 : f32}
        : tensor<?x16xf32> -> tensor<?x16xi1>
    ```
    The gates feed `attn.attention`'s `gates` operand; gated-off heads are
    never launched.
  }];

  let arguments = (ins
    AnyRankedTensor:$scores,
    Optional<AnyFloat>:$budgetValue,
    OptionalAttr<Attn_BudgetAttr>:$budget,
    OptionalAttr<F32Attr>:$threshold,
    DefaultValuedAttr<I64Attr, "1">:$min_active,
    OptionalAttr<DenseI64ArrayAttr>:$head_costs,
    OptionalAttr<I64Attr>:$layer
  );
  let results = (outs AnyRankedTensor:$gates);

  let assemblyFormat = [{
    $scores (`budget` `(` $budgetValue^ `:` type($budgetValue) `)`)?
    attr-dict `:` type($scores) `->` type($gates)
  }];
}

//===----------------------------------------------------------------------===//
// attn.active_heads
//===----------------------------------------------------------------------===//

def Attn_ActiveHeadsOp : Attn_Op<"active_heads", [Pure]> {
  let summary = "the active (batch, head) pairs of gates, as a compacted list";
  let description = [{
    Lists the pairs that `gates` (`B x H` of `i1`) switch on, as `b * H + h`
    in increasing order, in a `? x i32` tensor whose length is the number of
    active pairs. `attn.attention`'s `active` operand takes it, so that a
    lowering launches work only for those pairs (a grid over the list)
    instead of masking inside the kernel; `attn-fuse-skipped-heads` rewrites
    runtime gates into this form.

    ```mlir
    %pairs = attn.active_heads %g : tensor<4x16xi1> -> tensor<?xi32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$gates);
  let results = (outs AnyRankedTensor:$pairs);
  let assemblyFormat = "$gates attr-dict `:` type($gates) `->` type($pairs)";
}

//===----------------------------------------------------------------------===//
// attn.select_blocks
//===----------------------------------------------------------------------===//

def Attn_SelectBlocksOp : Attn_Op<"select_blocks", [Pure]> {
  let summary = "top-k key blocks per query block, shared by a KV-head group";
  let description = [{
    Scores each key block against each query block and keeps the `top_k`
    best per (batch, KV head, query block), as sparse-projection methods do
    (NSA, MoBA, Quest). Queries are pooled over the `Hq / Hkv` heads of a
    group and over `query_block` rows; keys are mean-pooled over `key_block`
    positions, or taken from `pooled_keys(%ck)` (`B x Hkv x ceil(Skv/key_block)
    x D`, e.g. from `attn.compress_kv`). The first `keep_sink` key blocks and
    the `keep_local` blocks ending at the query block are always kept; with
    `causal`, blocks after the query block are never chosen.

    The result is `B x Hkv x ceil(Sq / query_block) x top_k` of `i32`, block
    indices in increasing order, `-1` in unused slots. It is the `blocks`
    operand of an `attn.attention` whose pattern is `#attn.selected` with the
    same block sizes; every query head of a group shares the selection, so
    their K/V tiles are loaded once.

    ```mlir
    %idx = attn.select_blocks %q, %k
        {query_block = 64 : i64, key_block = 64 : i64, top_k = 16 : i64,
         keep_sink = 1 : i64, keep_local = 2 : i64, causal}
        : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16>
          -> tensor<1x8x64x16xi32>
    ```
  }];

  let arguments = (ins
    AnyRankedTensor:$query,
    AnyRankedTensor:$key,
    Optional<AnyRankedTensor>:$pooled_keys,
    I64Attr:$query_block,
    I64Attr:$key_block,
    I64Attr:$top_k,
    DefaultValuedAttr<I64Attr, "0">:$keep_sink,
    DefaultValuedAttr<I64Attr, "0">:$keep_local,
    UnitAttr:$causal
  );
  let results = (outs AnyRankedTensor:$indices);

  let assemblyFormat = [{
    $query `,` $key (`pooled_keys` `(` $pooled_keys^ `:` type($pooled_keys) `)`)?
    attr-dict `:` type($query) `,` type($key) `->` type($indices)
  }];
}

//===----------------------------------------------------------------------===//
// attn.compress_kv
//===----------------------------------------------------------------------===//

def Attn_CompressKVOp : Attn_Op<"compress_kv", [Pure]> {
  let summary = "compressed K/V per KV-head group, shared by its query heads";
  let description = [{
    Reduces every window of `block` consecutive positions, taken every
    `stride` positions (default `block`), to one slot, for keys and values
    alike, per KV head. Each KV head serves the `Hq / Hkv` query heads of its
    group, so the compressed K/V is computed once per group and reused by all
    of them (compact grouped attention; NSA's compressed branch).

    - `method = #attn.compression<mean>`: the mean of the window.
    - `method = #attn.compression<linear>`: a learned token mixing,
      `slot = sum_t w[h, t] * x[t]`, with `weights(%w)` of shape
      `Hkv x block` (any float type).

    Inputs are `B x Hkv x S x D` (and `Dv` for values); results are
    `B x Hkv x N x D` and `B x Hkv x N x Dv` with
    `N = (S - block) / stride + 1` (`S >= block`).

    ```mlir
    %ck, %cv = attn.compress_kv %k, %v
        {block = 32 : i64, stride = 16 : i64, method = #attn.compression<mean>}
        : tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16>
          -> tensor<1x8x255x128xbf16>, tensor<1x8x255x128xbf16>
    ```
  }];

  let arguments = (ins
    AnyRankedTensor:$key,
    AnyRankedTensor:$value,
    Optional<AnyRankedTensor>:$weights,
    I64Attr:$block,
    OptionalAttr<I64Attr>:$stride,
    Attn_CompressionMethodAttr:$method
  );
  let results = (outs AnyRankedTensor:$compressed_key,
                      AnyRankedTensor:$compressed_value);

  let assemblyFormat = [{
    $key `,` $value (`weights` `(` $weights^ `:` type($weights) `)`)?
    attr-dict `:` type($key) `,` type($value) `->` type($compressed_key) `,`
    type($compressed_value)
  }];

  let extraClassDeclaration = [{
    int64_t getEffectiveStride() {
      return getStride() ? *getStride() : getBlock();
    }
  }];
}

//===----------------------------------------------------------------------===//
// attn.sparse_branches
//===----------------------------------------------------------------------===//

def Attn_SparseBranchesOp : Attn_Op<"sparse_branches", [Pure]> {
  let summary = "NSA-style attention: compressed, selected and window branches, mixed per row";
  let description = [{
    Native-sparse-attention's combined form: three attentions of the same
    queries, each a softmax normalised on its own, mixed per query row by
    `weights` (NSA's gates):

    `out[b, h, r] = w0 * O_cmp + w1 * O_sel + w2 * O_win`, with
    `(w0, w1, w2) = weights[b, h, r, :]`.

    Row `r` sits at key position `p = r + Skv - Sq`; query head `h` reads KV
    head `g = h / (Hq / Hkv)`; logits are `scale * q . k` (`scale` defaults
    to `1 / sqrt(D)`).

    - **Compressed branch** over `compressed_key`/`compressed_value`
      (`B x Hkv x N x D/Dv`, e.g. from `attn.compress_kv` of the same keys):
      slot `n` summarises positions `[n stride, n stride + block)` with
      `block = compress_block`, `stride = compress_stride`; `N` must be
      `(Skv - block) / stride + 1`. With `causal`, slot `n` is visible iff
      its last position `n stride + block - 1 <= p` (a row sees only slots
      wholly in its past). This is why the form is one op: the rule needs
      the uncompressed length `Skv`, which `N` alone does not give.
    - **Selected branch** over `key`/`value`: the key blocks listed in
      `blocks` (`B x Hkv x ceil(Sq / qb) x K`, from `attn.select_blocks`),
      exactly `attn.attention` with the pattern `selected`
      (`#attn.selected<qb, kb[, causal]>`, whose `causal` must equal the
      op's).
    - **Window branch** over `key`/`value`: the static pattern `window`,
      e.g. `#attn.local<window = 511, causal>` (any pattern without
      run-time blocks).

    A branch whose row sees no key contributes zero. `weights` is
    `B x Hq x Sq x 3` of any float type, used as given (NSA takes a
    sigmoid of a projection of the hidden state).

    ```mlir
    %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %idx, %w
        {compress_block = 32 : i64, compress_stride = 16 : i64, causal,
         selected = #attn.selected<query_block = 64, key_block = 64, causal>,
         window = #attn.local<window = 511, causal>}
        : tensor<1x32x4096x128xbf16>, tensor<1x8x4096x128xbf16>,
          tensor<1x8x4096x128xbf16>, tensor<1x8x255x128xbf16>,
          tensor<1x8x255x128xbf16>, tensor<1x8x64x16xi32>,
          tensor<1x32x4096x3xf32> -> tensor<1x32x4096x128xbf16>
    ```
    Lowers to one kernel per back end that runs the three key loops for a
    query tile in turn and writes the mixed rows once.
  }];

  let arguments = (ins
    AnyRankedTensor:$query,
    AnyRankedTensor:$key,
    AnyRankedTensor:$value,
    AnyRankedTensor:$compressed_key,
    AnyRankedTensor:$compressed_value,
    AnyRankedTensor:$blocks,
    AnyRankedTensor:$weights,
    I64Attr:$compress_block,
    OptionalAttr<I64Attr>:$compress_stride,
    UnitAttr:$causal,
    Attn_SelectedAttr:$selected,
    Attn_PatternAttrInterface:$window,
    OptionalAttr<F32Attr>:$scale,
    OptionalAttr<I64Attr>:$layer
  );
  let results = (outs AnyRankedTensor:$result);

  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $compressed_key `,` $compressed_value `,`
    $blocks `,` $weights attr-dict `:` type($query) `,` type($key) `,`
    type($value) `,` type($compressed_key) `,` type($compressed_value) `,`
    type($blocks) `,` type($weights) `->` type($result)
  }];

  let extraClassDeclaration = [{
    int64_t getEffectiveCompressStride() {
      return getCompressStride() ? *getCompressStride() : getCompressBlock();
    }
    /// The scale, `1 / sqrt(D)` when none is given.
    double getEffectiveScale();
    RankedTensorType getQueryType() { return getQuery().getType(); }
    RankedTensorType getKeyType() { return getKey().getType(); }
    int64_t getNumQueryHeads() { return getQueryType().getDimSize(1); }
    int64_t getNumKeyValueHeads() { return getKeyType().getDimSize(1); }
    int64_t getHeadDim() { return getQueryType().getDimSize(3); }
  }];
}

#endif // ATTN_DIALECT_ATTN_IR_ATTNOPS_TD
