//===- AttentionTiling.h - The shared online-softmax tiling step -*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// What every attn back end emits the same way, written once:
//
//  - the work decomposition: (active (batch, head) pair, query tile) items,
//    with query tiles aligned in *positions* (row q sits at q + Skv - Sq), so
//    that block-granular patterns see whole blocks and decode (Sq = 1) is
//    one partial tile;
//  - the pattern as index arithmetic: the key hull of a query tile, each key
//    tile's class (skipped, fully visible, partial), and the element mask
//    used only on partial tiles (PatternEmitter);
//  - the online-softmax arithmetic: exp2 with the scale folded by log2(e),
//    the running-max guard for rows that have seen nothing yet, and the
//    final division with empty rows giving zeros.
//
// A back end supplies the data movement and the matrix products (CPU:
// query-lane vectors and broadcast FMAs; GPU: tensor-core fragments) and
// drives these pieces from its own loops.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TILING_ATTENTIONTILING_H
#define ATTN_TILING_ATTENTIONTILING_H

#include "attn/Dialect/Attn/IR/AttnAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir {
namespace attn {

/// log2(e): scores are multiplied by scale * log2(e) once, when Q is loaded,
/// so the softmax uses exp2 (one instruction on GPUs, cheaper polynomials on
/// CPUs) and no per-score multiply remains.
constexpr double kLog2E = 1.4426950408889634;

/// Index arithmetic on `index` scalars or `vector<N x i64>`: constants take
/// the type of the value they combine with.
class IndexMath {
public:
  IndexMath(OpBuilder &builder, Location loc) : b(builder), loc(loc) {}

  Value constant(Type type, int64_t value);
  Value index(int64_t value) { return constant(b.getIndexType(), value); }
  Value add(Value x, Value y);
  Value sub(Value x, Value y);
  Value mul(Value x, Value y);
  Value addConst(Value x, int64_t c) { return add(x, constant(x.getType(), c)); }
  Value floorDiv(Value x, int64_t divisor);
  Value ceilDiv(Value x, int64_t divisor);
  Value floorDiv(Value x, Value divisor);
  Value ceilDiv(Value x, Value divisor);
  /// `x mod m` in [0, m) for m > 0.
  Value positiveMod(Value x, int64_t m);
  Value min(Value x, Value y);
  Value max(Value x, Value y);
  Value cmp(arith::CmpIPredicate pred, Value x, Value y);
  Value cmpConst(arith::CmpIPredicate pred, Value x, int64_t c) {
    return cmp(pred, x, constant(x.getType(), c));
  }
  Value andI(Value x, Value y);
  Value orI(Value x, Value y);
  Value notI(Value x);
  Value select(Value cond, Value x, Value y);
  Value boolConst(Type like, bool value);

  OpBuilder &b;
  Location loc;
};

/// The work items of one attention op: `pairs x numQueryTiles`, query tiles
/// aligned at multiples of `queryTile` in positions.
struct QueryTiling {
  int64_t queryTile;
  /// floor((Skv - Sq) / queryTile): the position tile of row 0.
  Value firstTile;
  Value numQueryTiles; ///< ceil(Skv / queryTile) - firstTile (index).

  static QueryTiling build(IndexMath &m, int64_t queryTile, Value queryLen,
                           Value keyLen);
};

/// What a query tile covers: its lanes are positions
/// `[tileStart, tileStart + queryTile)`; rows are positions minus `offset`.
struct QueryTileSpan {
  Value tileStart; ///< Position of lane 0.
  Value offset;    ///< Skv - Sq.
  Value first;     ///< Position of the first real row (clipped).
  Value last;      ///< Position of the last real row (clipped).
  Value rowBegin;  ///< Row of lane 0 (may be negative).

  static QueryTileSpan build(IndexMath &m, Value positionTile,
                             int64_t queryTile, Value queryLen, Value keyLen);
};

/// The class of one key tile for one query tile.
struct KeyTileClass {
  Value any;  ///< i1: some (row, key) pair of the tile is visible.
  Value full; ///< i1: every pair is visible (no element mask needed).
};

/// Tile-level facts the element mask of a partial tile needs (one flag per
/// block-granular leaf, in leaf order): computed once per tile, outside the
/// per-key loop.
struct MaskContext {
  SmallVector<Value> blockFlags;
};

/// Whether the keys any block of contiguous query rows sees form one
/// interval (dense, causal and undilated windows: the rows' intervals
/// overlap), so that every key tile inside the block's hull has a pair the
/// block sees and a walk over the hull's tiles need not classify each one
/// to skip empty ones. Conservative: false for every other pattern.
bool hullTilesAllVisible(PatternAttrInterface pattern);

/// The positions [0, n) whose query rows see every key: the largest
/// `tokens` of the global leaves of `pattern` (unions and per-head lists
/// included), 0 without one. A grid dispatches their query tiles first:
/// at long sequences they are the heaviest by far.
int64_t globalQueryPositions(PatternAttrInterface pattern);

/// Whether PatternEmitter::emitNextKeyTile gives a tile the rows see (or
/// the end): unions and per-head lists of hullTilesAllVisible patterns,
/// whose member hulls it jumps between. Otherwise a tile walk classifies
/// the tiles it gives to skip empty ones (strided, random and explicit
/// blocks, dilated windows).
bool nextKeyTileIsVisible(PatternAttrInterface pattern);

/// A pattern attribute turned into IR. Construct it once per kernel with the
/// head index (an `index` value); emit its pieces where the loops need them.
class PatternEmitter {
public:
  PatternEmitter(IndexMath &math, PatternAttrInterface pattern, Value head,
                 Operation *symbolTable);

  /// Checks that the CPU/GPU lowering supports `pattern` at these tiles, with
  /// a diagnostic naming the leaf and the requirement otherwise.
  static LogicalResult checkSupported(
      PatternAttrInterface pattern, int64_t queryTile, int64_t keyTile,
      function_ref<InFlightDiagnostic()> emitError);

  /// The key positions `[lo, hi)` rows `[first, last]` may see (a hull of
  /// the exact set), clipped to `[0, keyLen)`. `index` values.
  std::pair<Value, Value> emitKeyHull(Value first, Value last, Value keyLen);

  /// The first key tile (of `keyTile` keys) at or after tile `from` that
  /// meets the hull of some leaf of the pattern for rows `[first, last]`,
  /// or ceil(keyLen / keyTile). Where a union's hull has holes (global
  /// tokens plus a window far away), a tile loop jumps over them with this
  /// instead of classifying every tile in between.
  Value emitNextKeyTile(Value first, Value last, Value from, int64_t keyTile,
                        Value keyLen);

  /// A random-block row's kept-block stream as a key loop walks it: the
  /// state after drawing kept block `last` (i64 both; last = -1 before the
  /// first draw).
  struct BlockStream {
    Value state, last;
  };
  BlockStream emitBlockStreamStart(RandomBlocksAttr attr, Value queryBlock);
  /// The first key tile at or after `from` in a block the row keeps (the
  /// stream's blocks and, with `diagonal`, the query block itself), or
  /// `end`; draws only as far as `from` needs, so a loop that walks the
  /// kept tiles in order draws each kept block once and never looks at the
  /// blocks in between.
  std::pair<Value, BlockStream> emitNextKeptTile(RandomBlocksAttr attr,
                                                 BlockStream stream,
                                                 Value queryBlock, Value from,
                                                 int64_t keyTile, Value end);

  /// The class of key tile `[keyFirst, keyLast]` for rows `[first, last]`;
  /// fills `context` with what the element mask of this tile needs.
  KeyTileClass emitTileClass(Value first, Value last, Value keyFirst,
                             Value keyLast, MaskContext &context);

  /// The element mask: `positions` is `vector<N x i64>` (or i32 where
  /// positions fit, as on the GPU), `key` an `index`;
  /// returns `vector<N x i1>`.
  Value emitVisible(const MaskContext &context, Value positions, Value key);

  /// For a `#attn.random_blocks` pattern: calls `body` with every key block
  /// that query block `queryBlock` keeps below `numKeyBlocks` (the diagonal
  /// first, then the stream in increasing order), walking the stream once:
  /// O(kept blocks) per query block, where classifying every key tile would
  /// restart the stream per tile.
  void emitKeptBlockLoop(RandomBlocksAttr attr, Value queryBlock,
                         Value numKeyBlocks,
                         function_ref<void(Value keyBlock)> body);

private:
  Value hullLo(PatternAttrInterface p, Value first, Value last, Value keyLen);
  Value hullHi(PatternAttrInterface p, Value first, Value last, Value keyLen);
  Value nextKeyTile(PatternAttrInterface p, Value first, Value last,
                    Value from, int64_t keyTile, Value keyLen, Value end);
  KeyTileClass tileClass(PatternAttrInterface p, Value first, Value last,
                         Value k0, Value k1, MaskContext &context);
  Value visible(PatternAttrInterface p, const MaskContext &context,
                unsigned &flagIndex, Value positions, Value key);
  Value emitRandomBlockKept(RandomBlocksAttr attr, Value queryBlock,
                            Value keyBlock);
  /// The stream state of (head, query block) before its first draw.
  Value emitStreamSeed(RandomBlocksAttr attr, Value queryBlock);
  /// One draw: the next state and the next kept block after `last` (i64).
  std::pair<Value, Value> emitStreamStep(double density, Value state,
                                         Value last);
  Value emitLayoutLookup(BlockLayoutAttr attr, Value queryBlock,
                         Value keyBlock);

  IndexMath &m;
  PatternAttrInterface pattern;
  Value head;
  /// Where explicit layouts' constant tables go: the builtin module for
  /// CPU code, the gpu.module for GPU kernels (device code reads them).
  Operation *symbolTable;
};

/// The compressed branch of `attn.sparse_branches` in key positions: slot
/// `n` stands for positions `[n stride, n stride + block)`, and with
/// `causal` a row at position `p` sees it iff `n stride + block - 1 <= p`.
/// That is causal attention with slot `n` placed at its last position, so a
/// back end classifies and masks compressed tiles with the `#attn.causal`
/// emitter (`#attn.dense` when not causal) on mapped slots, and the rule
/// costs one multiply-add per key where a mask is needed at all.
struct CompressedKeyMap {
  int64_t block = 1, stride = 1;
  bool causal = false;

  /// The pattern that decides visibility on mapped slots.
  PatternAttrInterface pattern(MLIRContext *context) const;
  /// The position slot `slot` stands for (an `index` value).
  Value emitPosition(IndexMath &m, Value slot) const {
    return m.addConst(m.mul(slot, m.index(stride)), block - 1);
  }
  /// The slots rows up to position `last` may see: `[0, end)`, `end`
  /// clipped to `[0, numSlots]`.
  Value emitSlotEnd(IndexMath &m, Value last, Value numSlots) const;
};

/// 2^x for `vector<N x f32>` x <= 0 (the softmax's scores minus the running
/// max): a degree-6 polynomial on the fraction, the integer part added to
/// the exponent bits. Exactly 0 below -126, so masked (-inf) scores and rows
/// that have seen nothing contribute exactly nothing (an upstream
/// approximation gives no such promise for -inf).
Value emitExp2(OpBuilder &b, Location loc, Value x);

/// The running max guard: where `rowMax` is still -inf (no visible key yet)
/// subtract 0 instead, so that exp2(-inf - -inf) never makes a NaN.
Value emitSafeMax(OpBuilder &b, Location loc, Value rowMax);

/// 1 / l where l > 0, else 0: rows that saw no key produce zeros.
Value emitSafeReciprocal(OpBuilder &b, Location loc, Value sum);

} // namespace attn
} // namespace mlir

#endif // ATTN_TILING_ATTENTIONTILING_H
