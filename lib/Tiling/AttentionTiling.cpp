//===- AttentionTiling.cpp - The shared online-softmax tiling step --------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Patterns as index arithmetic. Every formula here mirrors the C++ queries in
// dialects/Attn/IR/PatternQueries.cpp (`isVisible`, `appendKeyRanges`), which
// the property tests check by brute force; the numerics tests check these
// against the double-precision reference end to end.
//
// Tile classes may be conservative ("partial" where a closer look would say
// "full" or "none"): a partial tile applies the exact element mask, so only
// speed, never the result, depends on how sharp the class is.
//
//===----------------------------------------------------------------------===//

#include "attn/Tiling/AttentionTiling.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::attn;
using arith::CmpIPredicate;

//===----------------------------------------------------------------------===//
// IndexMath
//===----------------------------------------------------------------------===//

Value IndexMath::constant(Type type, int64_t value) {
  if (auto vectorType = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(vectorType,
                               b.getIntegerAttr(vectorType.getElementType(),
                                                value)));
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, value));
}

Value IndexMath::add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
Value IndexMath::sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
Value IndexMath::mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
Value IndexMath::floorDiv(Value x, Value d) {
  return arith::FloorDivSIOp::create(b, loc, x, d);
}
Value IndexMath::ceilDiv(Value x, Value d) {
  return arith::CeilDivSIOp::create(b, loc, x, d);
}
Value IndexMath::floorDiv(Value x, int64_t d) {
  // A power of two is an arithmetic shift, exact for negative x too
  // (arith.floordivsi by a constant lowers to compares and selects, which
  // LLVM does not fold back: they cost the GPU masks a dozen instructions
  // per element).
  if (d > 1 && llvm::isPowerOf2_64(d))
    return arith::ShRSIOp::create(b, loc, x,
                                  constant(x.getType(), llvm::Log2_64(d)));
  return floorDiv(x, constant(x.getType(), d));
}
Value IndexMath::ceilDiv(Value x, int64_t d) {
  return ceilDiv(x, constant(x.getType(), d));
}
Value IndexMath::positiveMod(Value x, int64_t m) {
  // Modulo a power of two: the low bits (two's complement), negative x too.
  if (m > 0 && llvm::isPowerOf2_64(m))
    return arith::AndIOp::create(b, loc, x, constant(x.getType(), m - 1));
  return sub(x, mul(floorDiv(x, m), constant(x.getType(), m)));
}
Value IndexMath::min(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
Value IndexMath::max(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
Value IndexMath::cmp(CmpIPredicate pred, Value x, Value y) {
  return arith::CmpIOp::create(b, loc, pred, x, y);
}
Value IndexMath::andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
Value IndexMath::orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
Value IndexMath::notI(Value x) {
  return arith::XOrIOp::create(b, loc, x, boolConst(x.getType(), true));
}
Value IndexMath::select(Value cond, Value x, Value y) {
  return arith::SelectOp::create(b, loc, cond, x, y);
}
Value IndexMath::boolConst(Type like, bool value) {
  Type i1 = b.getI1Type();
  if (auto vectorType = dyn_cast<VectorType>(like))
    return arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(VectorType::get(vectorType.getShape(), i1),
                               value));
  return arith::ConstantOp::create(b, loc, b.getBoolAttr(value));
}

//===----------------------------------------------------------------------===//
// Work decomposition
//===----------------------------------------------------------------------===//

QueryTiling QueryTiling::build(IndexMath &m, int64_t queryTile, Value queryLen,
                               Value keyLen) {
  QueryTiling tiling;
  tiling.queryTile = queryTile;
  Value offset = m.sub(keyLen, queryLen);
  tiling.firstTile = m.floorDiv(offset, queryTile);
  tiling.numQueryTiles = m.sub(m.ceilDiv(keyLen, queryTile), tiling.firstTile);
  return tiling;
}

QueryTileSpan QueryTileSpan::build(IndexMath &m, Value positionTile,
                                   int64_t queryTile, Value queryLen,
                                   Value keyLen) {
  QueryTileSpan span;
  span.offset = m.sub(keyLen, queryLen);
  span.tileStart = m.mul(positionTile, m.index(queryTile));
  span.first = m.max(span.tileStart, span.offset);
  span.last = m.sub(m.min(m.addConst(span.tileStart, queryTile), keyLen),
                    m.index(1));
  span.rowBegin = m.sub(span.tileStart, span.offset);
  return span;
}

//===----------------------------------------------------------------------===//
// PatternEmitter
//===----------------------------------------------------------------------===//

PatternEmitter::PatternEmitter(IndexMath &math, PatternAttrInterface pattern,
                               Value head, Operation *symbolTable)
    : m(math), pattern(pattern), head(head), symbolTable(symbolTable) {}

PatternAttrInterface CompressedKeyMap::pattern(MLIRContext *context) const {
  if (causal)
    return CausalAttr::get(context);
  return DenseAttr::get(context);
}

Value CompressedKeyMap::emitSlotEnd(IndexMath &m, Value last,
                                    Value numSlots) const {
  if (!causal)
    return numSlots;
  // Slots with n stride <= last - block + 1; floor division keeps rows
  // before the first whole block (a negative difference) at no slot.
  Value seen = m.addConst(m.floorDiv(m.addConst(last, 1 - block), stride), 1);
  return m.min(m.max(seen, m.index(0)), numSlots);
}

LogicalResult PatternEmitter::checkSupported(
    PatternAttrInterface pattern, int64_t queryTile, int64_t keyTile,
    function_ref<InFlightDiagnostic()> emitError) {
  LogicalResult result = success();
  walkPatternLeaves(pattern, [&](PatternAttrInterface leaf) {
    if (failed(result))
      return;
    if (auto selected = dyn_cast<SelectedAttr>(leaf)) {
      // The kernel's key loop walks the `blocks` operand's list instead of
      // the hull; one query tile must be one query block and a key block
      // whole key tiles.
      if (selected != pattern)
        result = emitError()
                 << selected
                 << " inside a combinator is not lowered yet: runtime-"
                    "selected blocks must be the op's whole pattern";
      else if (selected.getQueryBlock() != queryTile ||
               selected.getKeyBlock() % keyTile != 0)
        result = emitError()
                 << selected << " needs query tiles of its query_block ("
                 << selected.getQueryBlock()
                 << ") and key blocks that are whole key tiles; found tiles "
                 << queryTile << " x " << keyTile;
      return;
    }
    int64_t block = 0;
    if (auto random = dyn_cast<RandomBlocksAttr>(leaf))
      block = random.getBlock();
    else if (auto layout = dyn_cast<BlockLayoutAttr>(leaf))
      block = layout.getBlock();
    if (block && (block % queryTile != 0 || block % keyTile != 0))
      result = emitError() << leaf << " has block " << block
                           << ", which must be a multiple of the query tile ("
                           << queryTile << ") and the key tile (" << keyTile
                           << ") so that every tile lies in one block";
  });
  return result;
}

Value PatternEmitter::hullLo(PatternAttrInterface p, Value first, Value last,
                             Value keyLen) {
  Value zero = m.index(0);
  if (auto local = dyn_cast<LocalAttr>(p))
    return m.sub(first, m.index(local.getWindow()));
  if (auto chunked = dyn_cast<ChunkedAttr>(p))
    return m.mul(m.floorDiv(first, chunked.getSize()),
                 m.index(chunked.getSize()));
  if (auto u = dyn_cast<UnionAttr>(p)) {
    Value lo;
    for (PatternAttrInterface member : u.getMembers()) {
      Value memberLo = hullLo(member, first, last, keyLen);
      lo = lo ? m.min(lo, memberLo) : memberLo;
    }
    return lo;
  }
  if (auto perHead = dyn_cast<PerHeadAttr>(p)) {
    Value lo = zero;
    auto patterns = perHead.getPatterns();
    for (int64_t h = patterns.size() - 1; h >= 0; --h)
      lo = m.select(m.cmp(CmpIPredicate::eq, head, m.index(h)),
                    hullLo(cast<PatternAttrInterface>(patterns[h]), first,
                           last, keyLen),
                    lo);
    return lo;
  }
  return zero;
}

Value PatternEmitter::hullHi(PatternAttrInterface p, Value first, Value last,
                             Value keyLen) {
  Value lastPlusOne = m.addConst(last, 1);
  if (isa<CausalAttr>(p))
    return lastPlusOne;
  if (auto selected = dyn_cast<SelectedAttr>(p))
    return selected.getCausal() ? lastPlusOne : keyLen;
  if (auto local = dyn_cast<LocalAttr>(p))
    return m.addConst(last, (local.getCausal() ? 0 : local.getWindow()) + 1);
  if (auto strided = dyn_cast<StridedAttr>(p))
    return strided.getCausal() ? lastPlusOne : keyLen;
  if (auto global = dyn_cast<GlobalAttr>(p)) {
    int64_t tokens = global.getTokens();
    Value hasGlobalQuery =
        m.cmp(CmpIPredicate::sle, m.max(first, m.index(0)),
              m.min(last, m.index(tokens - 1)));
    return m.select(hasGlobalQuery, keyLen, m.index(tokens));
  }
  if (auto chunked = dyn_cast<ChunkedAttr>(p)) {
    if (chunked.getCausal())
      return lastPlusOne;
    return m.mul(m.addConst(m.floorDiv(last, chunked.getSize()), 1),
                 m.index(chunked.getSize()));
  }
  if (auto u = dyn_cast<UnionAttr>(p)) {
    Value hi;
    for (PatternAttrInterface member : u.getMembers()) {
      Value memberHi = hullHi(member, first, last, keyLen);
      hi = hi ? m.max(hi, memberHi) : memberHi;
    }
    return hi;
  }
  if (auto perHead = dyn_cast<PerHeadAttr>(p)) {
    Value hi = m.index(0);
    auto patterns = perHead.getPatterns();
    for (int64_t h = patterns.size() - 1; h >= 0; --h)
      hi = m.select(m.cmp(CmpIPredicate::eq, head, m.index(h)),
                    hullHi(cast<PatternAttrInterface>(patterns[h]), first,
                           last, keyLen),
                    hi);
    return hi;
  }
  return keyLen; // Dense, random blocks, block layouts.
}

std::pair<Value, Value> PatternEmitter::emitKeyHull(Value first, Value last,
                                                    Value keyLen) {
  Value lo = m.max(hullLo(pattern, first, last, keyLen), m.index(0));
  Value hi = m.min(hullHi(pattern, first, last, keyLen), keyLen);
  // A tile without real rows (only when Sq = 0) visits nothing.
  hi = m.select(m.cmp(CmpIPredicate::sgt, first, last), lo, hi);
  return {lo, m.max(lo, hi)};
}

Value PatternEmitter::emitNextKeyTile(Value first, Value last, Value from,
                                      int64_t keyTile, Value keyLen) {
  Value end = m.ceilDiv(keyLen, keyTile);
  return m.min(nextKeyTile(pattern, first, last, from, keyTile, keyLen, end),
               end);
}

bool mlir::attn::hullTilesAllVisible(PatternAttrInterface pattern) {
  // Global tokens: every key (a block with a global row) or the tokens;
  // chunks: the block's chunks, adjacent.
  if (isa<DenseAttr, CausalAttr, GlobalAttr, ChunkedAttr>(pattern))
    return true;
  // A dilated window's edge keys may have no row at the right residue.
  auto local = dyn_cast<LocalAttr>(pattern);
  return local && local.getDilation() == 1;
}

int64_t mlir::attn::globalQueryPositions(PatternAttrInterface pattern) {
  int64_t tokens = 0;
  walkPatternLeaves(pattern, [&](PatternAttrInterface leaf) {
    if (auto global = dyn_cast<GlobalAttr>(leaf))
      tokens = std::max<int64_t>(tokens, global.getTokens());
  });
  return tokens;
}

bool mlir::attn::nextKeyTileIsVisible(PatternAttrInterface pattern) {
  if (auto u = dyn_cast<UnionAttr>(pattern))
    return llvm::all_of(u.getMembers(), [](Attribute member) {
      return nextKeyTileIsVisible(cast<PatternAttrInterface>(member));
    });
  if (auto perHead = dyn_cast<PerHeadAttr>(pattern))
    return llvm::all_of(perHead.getPatterns(), [](Attribute member) {
      return nextKeyTileIsVisible(cast<PatternAttrInterface>(member));
    });
  return hullTilesAllVisible(pattern);
}

Value PatternEmitter::nextKeyTile(PatternAttrInterface p, Value first,
                                  Value last, Value from, int64_t keyTile,
                                  Value keyLen, Value end) {
  if (auto u = dyn_cast<UnionAttr>(p)) {
    Value next;
    for (PatternAttrInterface member : u.getMembers()) {
      Value memberNext =
          nextKeyTile(member, first, last, from, keyTile, keyLen, end);
      next = next ? m.min(next, memberNext) : memberNext;
    }
    return next;
  }
  if (auto perHead = dyn_cast<PerHeadAttr>(p)) {
    Value next = end;
    auto patterns = perHead.getPatterns();
    for (int64_t h = patterns.size() - 1; h >= 0; --h)
      next = m.select(m.cmp(CmpIPredicate::eq, head, m.index(h)),
                      nextKeyTile(cast<PatternAttrInterface>(patterns[h]),
                                  first, last, from, keyTile, keyLen, end),
                      next);
    return next;
  }
  // A leaf's hull is one interval: the first tile at or after `from` that
  // meets it, or `end`.
  Value lo = m.max(hullLo(p, first, last, keyLen), m.index(0));
  Value hi = m.min(hullHi(p, first, last, keyLen), keyLen);
  Value next = m.max(from, m.floorDiv(lo, keyTile));
  return m.select(m.cmp(CmpIPredicate::slt, m.mul(next, m.index(keyTile)), hi),
                  next, end);
}

KeyTileClass PatternEmitter::emitTileClass(Value first, Value last, Value k0,
                                           Value k1, MaskContext &context) {
  return tileClass(pattern, first, last, k0, k1, context);
}

KeyTileClass PatternEmitter::tileClass(PatternAttrInterface p, Value first,
                                       Value last, Value k0, Value k1,
                                       MaskContext &context) {
  using P = CmpIPredicate;
  Value yes = m.boolConst(m.b.getI1Type(), true);
  if (isa<DenseAttr>(p))
    return {yes, yes};
  if (isa<CausalAttr>(p))
    return {m.cmp(P::sle, k0, last), m.cmp(P::sle, k1, first)};
  // Runtime-selected blocks: the bound (every key, or every key up to the
  // position); which tiles are visited comes from the `blocks` operand.
  if (auto selected = dyn_cast<SelectedAttr>(p))
    return selected.getCausal()
               ? KeyTileClass{m.cmp(P::sle, k0, last), m.cmp(P::sle, k1, first)}
               : KeyTileClass{yes, yes};
  if (auto local = dyn_cast<LocalAttr>(p)) {
    int64_t window = local.getWindow();
    int64_t lowest = local.getCausal() ? 0 : -window;
    Value minDistance = m.sub(first, k1), maxDistance = m.sub(last, k0);
    Value any = m.andI(m.cmp(P::sge, maxDistance, m.index(lowest)),
                       m.cmp(P::sle, minDistance, m.index(window)));
    if (local.getDilation() != 1)
      return {any, m.boolConst(m.b.getI1Type(), false)};
    Value full = m.andI(m.cmp(P::sge, minDistance, m.index(lowest)),
                        m.cmp(P::sle, maxDistance, m.index(window)));
    return {any, full};
  }
  if (auto strided = dyn_cast<StridedAttr>(p)) {
    int64_t block = strided.getBlock();
    Value gq0 = m.floorDiv(first, block), gq1 = m.floorDiv(last, block);
    Value gk0 = m.floorDiv(k0, block), gk1 = m.floorDiv(k1, block);
    Value single = m.andI(m.cmp(P::eq, gq0, gq1), m.cmp(P::eq, gk0, gk1));
    Value match = m.cmp(P::eq, m.positiveMod(m.sub(gq0, gk0),
                                             strided.getStride()),
                        m.index(0));
    Value causalAny = strided.getCausal() ? m.cmp(P::sle, k0, last) : yes;
    Value causalFull = strided.getCausal() ? m.cmp(P::sle, k1, first) : yes;
    Value any = m.andI(causalAny, m.orI(m.notI(single), match));
    Value full = m.andI(m.andI(single, match), causalFull);
    return {any, full};
  }
  if (auto global = dyn_cast<GlobalAttr>(p)) {
    Value tokens = m.index(global.getTokens());
    Value zero = m.index(0);
    Value hasGlobalQuery = m.cmp(P::sle, m.max(first, zero),
                                 m.min(last, m.addConst(tokens, -1)));
    Value any = m.orI(m.cmp(P::slt, k0, tokens), hasGlobalQuery);
    Value allGlobalQueries =
        m.andI(m.cmp(P::sge, first, zero), m.cmp(P::slt, last, tokens));
    Value full = m.orI(m.cmp(P::slt, k1, tokens), allGlobalQueries);
    return {any, full};
  }
  if (auto chunked = dyn_cast<ChunkedAttr>(p)) {
    int64_t size = chunked.getSize();
    Value cq0 = m.floorDiv(first, size), cq1 = m.floorDiv(last, size);
    Value ck0 = m.floorDiv(k0, size), ck1 = m.floorDiv(k1, size);
    Value overlap = m.andI(m.cmp(P::sle, ck0, cq1), m.cmp(P::sge, ck1, cq0));
    Value causalAny = chunked.getCausal() ? m.cmp(P::sle, k0, last) : yes;
    Value causalFull = chunked.getCausal() ? m.cmp(P::sle, k1, first) : yes;
    Value sameChunk = m.andI(m.andI(m.cmp(P::eq, cq0, cq1),
                                    m.cmp(P::eq, ck0, ck1)),
                             m.cmp(P::eq, cq0, ck0));
    return {m.andI(overlap, causalAny), m.andI(sameChunk, causalFull)};
  }
  if (auto random = dyn_cast<RandomBlocksAttr>(p)) {
    // checkSupported made every tile lie inside one block.
    Value kept = emitRandomBlockKept(random, m.floorDiv(first, random.getBlock()),
                                     m.floorDiv(k0, random.getBlock()));
    context.blockFlags.push_back(kept);
    return {kept, kept};
  }
  if (auto layout = dyn_cast<BlockLayoutAttr>(p)) {
    Value visible = emitLayoutLookup(layout, m.floorDiv(first, layout.getBlock()),
                                     m.floorDiv(k0, layout.getBlock()));
    context.blockFlags.push_back(visible);
    return {visible, visible};
  }
  if (auto u = dyn_cast<UnionAttr>(p)) {
    KeyTileClass result;
    for (PatternAttrInterface member : u.getMembers()) {
      KeyTileClass c = tileClass(member, first, last, k0, k1, context);
      result.any = result.any ? m.orI(result.any, c.any) : c.any;
      result.full = result.full ? m.orI(result.full, c.full) : c.full;
    }
    return result;
  }
  if (auto perHead = dyn_cast<PerHeadAttr>(p)) {
    Value no = m.boolConst(m.b.getI1Type(), false);
    KeyTileClass result{no, no};
    auto patterns = perHead.getPatterns();
    SmallVector<KeyTileClass> classes;
    for (Attribute member : patterns)
      classes.push_back(tileClass(cast<PatternAttrInterface>(member), first,
                                  last, k0, k1, context));
    for (int64_t h = patterns.size() - 1; h >= 0; --h) {
      Value isHead = m.cmp(P::eq, head, m.index(h));
      result.any = m.select(isHead, classes[h].any, result.any);
      result.full = m.select(isHead, classes[h].full, result.full);
    }
    return result;
  }
  llvm_unreachable("pattern rejected by checkSupported");
}

Value PatternEmitter::emitVisible(const MaskContext &context, Value positions,
                                  Value key) {
  unsigned flagIndex = 0;
  // The positions' integer type: i64 on the CPU, i32 on the GPU (where
  // 64-bit integer operations cost two instructions each).
  Value keyInt = arith::IndexCastOp::create(
      m.b, m.loc, cast<VectorType>(positions.getType()).getElementType(), key);
  Value keys = vector::BroadcastOp::create(m.b, m.loc, positions.getType(),
                                           keyInt);
  return visible(pattern, context, flagIndex, positions, keys);
}

Value PatternEmitter::visible(PatternAttrInterface p,
                              const MaskContext &context, unsigned &flagIndex,
                              Value pos, Value key) {
  using P = CmpIPredicate;
  Type type = pos.getType();
  if (isa<DenseAttr>(p))
    return m.boolConst(type, true);
  if (isa<CausalAttr>(p))
    return m.cmp(P::sle, key, pos);
  if (auto selected = dyn_cast<SelectedAttr>(p))
    return selected.getCausal() ? m.cmp(P::sle, key, pos)
                                : m.boolConst(type, true);
  if (auto local = dyn_cast<LocalAttr>(p)) {
    Value distance = m.sub(pos, key);
    int64_t lowest = local.getCausal() ? 0 : -local.getWindow();
    Value in = m.andI(m.cmpConst(P::sge, distance, lowest),
                      m.cmpConst(P::sle, distance, local.getWindow()));
    if (local.getDilation() != 1)
      in = m.andI(in, m.cmpConst(P::eq,
                                 m.positiveMod(distance, local.getDilation()),
                                 0));
    return in;
  }
  if (auto strided = dyn_cast<StridedAttr>(p)) {
    int64_t block = strided.getBlock();
    // (pos / block - key / block) mod stride == 0, as a compare of the two
    // granules' residues: the row's and the key's each computed once (CSE),
    // one compare per pair.
    int64_t stride = strided.getStride();
    Value in = m.cmp(P::eq, m.positiveMod(m.floorDiv(pos, block), stride),
                     m.positiveMod(m.floorDiv(key, block), stride));
    if (strided.getCausal())
      in = m.andI(in, m.cmp(P::sle, key, pos));
    return in;
  }
  if (auto global = dyn_cast<GlobalAttr>(p)) {
    int64_t tokens = global.getTokens();
    return m.orI(m.cmpConst(P::slt, key, tokens),
                 m.andI(m.cmpConst(P::sge, pos, 0),
                        m.cmpConst(P::slt, pos, tokens)));
  }
  if (auto chunked = dyn_cast<ChunkedAttr>(p)) {
    Value in = m.cmp(P::eq, m.floorDiv(pos, chunked.getSize()),
                     m.floorDiv(key, chunked.getSize()));
    if (chunked.getCausal())
      in = m.andI(in, m.cmp(P::sle, key, pos));
    return in;
  }
  if (isa<RandomBlocksAttr, BlockLayoutAttr>(p)) {
    // Uniform over the tile: the tile lies in one block.
    Value flag = context.blockFlags[flagIndex++];
    auto maskType = VectorType::get(cast<VectorType>(type).getShape(),
                                    m.b.getI1Type());
    return vector::BroadcastOp::create(m.b, m.loc, maskType, flag);
  }
  if (auto u = dyn_cast<UnionAttr>(p)) {
    Value result;
    for (PatternAttrInterface member : u.getMembers()) {
      Value in = visible(member, context, flagIndex, pos, key);
      result = result ? m.orI(result, in) : in;
    }
    return result;
  }
  if (auto perHead = dyn_cast<PerHeadAttr>(p)) {
    auto patterns = perHead.getPatterns();
    SmallVector<Value> masks;
    for (Attribute member : patterns)
      masks.push_back(visible(cast<PatternAttrInterface>(member), context,
                              flagIndex, pos, key));
    Value result = m.boolConst(type, false);
    for (int64_t h = patterns.size() - 1; h >= 0; --h)
      result = m.select(m.cmp(P::eq, head, m.index(h)), masks[h], result);
    return result;
  }
  llvm_unreachable("pattern rejected by checkSupported");
}

/// splitmix64 on i64 values (wrapping multiplies, logical shifts), the same
/// mixer as RandomBlockRow.
static Value emitSplitMix64(IndexMath &m, Value x) {
  auto c = [&](uint64_t v) {
    return m.constant(m.b.getI64Type(), static_cast<int64_t>(v));
  };
  auto xorShift = [&](Value v, int64_t shift) {
    return arith::XOrIOp::create(
        m.b, m.loc, v, arith::ShRUIOp::create(m.b, m.loc, v, c(shift)));
  };
  x = m.add(x, c(0x9E3779B97F4A7C15ULL));
  x = m.mul(xorShift(x, 30), c(0xBF58476D1CE4E5B9ULL));
  x = m.mul(xorShift(x, 27), c(0x94D049BB133111EBULL));
  return xorShift(x, 31);
}

Value PatternEmitter::emitStreamSeed(RandomBlocksAttr attr, Value queryBlock) {
  OpBuilder &b = m.b;
  Type i64 = b.getI64Type();
  auto toI64 = [&](Value v) {
    return arith::IndexCastOp::create(b, m.loc, i64, v);
  };
  // As RandomBlockRow builds it: splitmix(seed) is a compile-time constant;
  // head and query block mix in at run time.
  uint64_t seedHash = splitMix64(attr.getSeed());
  Value state = emitSplitMix64(
      m, arith::XOrIOp::create(b, m.loc,
                               m.constant(i64, static_cast<int64_t>(seedHash)),
                               toI64(head)));
  return emitSplitMix64(
      m, arith::XOrIOp::create(b, m.loc, state, toI64(queryBlock)));
}

std::pair<Value, Value> PatternEmitter::emitStreamStep(double density,
                                                       Value state,
                                                       Value last) {
  OpBuilder &b = m.b;
  Location loc = m.loc;
  Type i64 = b.getI64Type();
  Value next = emitSplitMix64(m, state);
  // u in (0, 1]: ((state >> 11) + 1) * 2^-53, exact in f64; the gap is
  // floor(log u / log(1 - density)), capped past any sequence.
  Value mantissa =
      m.add(arith::ShRUIOp::create(b, loc, next, m.constant(i64, 11)),
            m.constant(i64, 1));
  Value u = arith::MulFOp::create(
      b, loc, arith::SIToFPOp::create(b, loc, b.getF64Type(), mantissa),
      arith::ConstantOp::create(b, loc, b.getF64FloatAttr(0x1p-53)));
  Value logMiss = arith::ConstantOp::create(
      b, loc, b.getF64FloatAttr(std::log1p(-density)));
  Value gap = math::FloorOp::create(
      b, loc,
      arith::DivFOp::create(b, loc, math::LogOp::create(b, loc, u), logMiss));
  gap = arith::MinimumFOp::create(
      b, loc, gap,
      arith::ConstantOp::create(b, loc,
                                b.getF64FloatAttr(double(int64_t(1) << 42))));
  Value step = m.add(arith::FPToSIOp::create(b, loc, i64, gap),
                     m.constant(i64, 1));
  return {next, m.add(last, step)};
}

PatternEmitter::BlockStream
PatternEmitter::emitBlockStreamStart(RandomBlocksAttr attr, Value queryBlock) {
  return {emitStreamSeed(attr, queryBlock),
          m.constant(m.b.getI64Type(), -1)};
}

std::pair<Value, PatternEmitter::BlockStream>
PatternEmitter::emitNextKeptTile(RandomBlocksAttr attr, BlockStream stream,
                                 Value queryBlock, Value from, int64_t keyTile,
                                 Value end) {
  using P = CmpIPredicate;
  OpBuilder &b = m.b;
  Location loc = m.loc;
  Type i64 = b.getI64Type();
  const int64_t tilesPerBlock = attr.getBlock() / keyTile;
  Value fromBlock = m.floorDiv(from, tilesPerBlock);
  Value fromBlock64 = arith::IndexCastOp::create(b, loc, i64, fromBlock);
  double density = attr.getDensityValue();
  BlockStream next = stream;
  if (density < 1.0) {
    // Draw until the stream reaches from's block.
    auto draw = scf::WhileOp::create(
        b, loc, TypeRange{i64, i64}, ValueRange{stream.state, stream.last},
        [&](OpBuilder &, Location, ValueRange args) {
          scf::ConditionOp::create(b, loc, m.cmp(P::slt, args[1], fromBlock64),
                                   args);
        },
        [&](OpBuilder &, Location, ValueRange args) {
          auto [state, last] = emitStreamStep(density, args[0], args[1]);
          scf::YieldOp::create(b, loc, ValueRange{state, last});
        });
    next = {draw.getResult(0), draw.getResult(1)};
  } else {
    next.last = m.max(stream.last, fromBlock64);
  }
  // The kept block at or after from's block: from itself inside it, else
  // its first tile. Blocks past 2^42 (the capped gap) end the row.
  Value last = arith::IndexCastOp::create(
      b, loc, b.getIndexType(),
      arith::MinSIOp::create(b, loc, next.last,
                             m.constant(i64, int64_t(1) << 42)));
  Value tile = m.select(m.cmp(P::eq, last, fromBlock), from,
                        m.mul(last, m.index(tilesPerBlock)));
  if (attr.getDiagonal()) {
    Value diagonal = m.select(
        m.cmp(P::eq, queryBlock, fromBlock), from,
        m.select(m.cmp(P::sgt, queryBlock, fromBlock),
                 m.mul(queryBlock, m.index(tilesPerBlock)), end));
    tile = m.min(tile, diagonal);
  }
  // Rows before position 0 (Sq > Skv) keep nothing.
  tile = m.select(m.cmp(P::slt, queryBlock, m.index(0)), end, tile);
  return {m.min(tile, end), next};
}

Value PatternEmitter::emitRandomBlockKept(RandomBlocksAttr attr,
                                          Value queryBlock, Value keyBlock) {
  using P = CmpIPredicate;
  OpBuilder &b = m.b;
  Location loc = m.loc;
  Type i64 = b.getI64Type();
  Value inRange = m.andI(m.cmpConst(P::sge, queryBlock, 0),
                         m.cmpConst(P::sge, keyBlock, 0));
  double density = attr.getDensityValue();
  if (density >= 1.0)
    return inRange;
  Value target = arith::IndexCastOp::create(b, loc, i64, keyBlock);

  // last = -1; while (last < keyBlock) draw.
  auto whileOp = scf::WhileOp::create(
      b, loc, TypeRange{i64, i64},
      ValueRange{emitStreamSeed(attr, queryBlock), m.constant(i64, -1)});
  {
    Block *before = b.createBlock(&whileOp.getBefore(), {}, {i64, i64},
                                  {loc, loc});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(before);
    Value more = m.cmp(P::slt, before->getArgument(1), target);
    scf::ConditionOp::create(b, loc, more, before->getArguments());
  }
  {
    Block *after =
        b.createBlock(&whileOp.getAfter(), {}, {i64, i64}, {loc, loc});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(after);
    auto [next, last] =
        emitStreamStep(density, after->getArgument(0), after->getArgument(1));
    scf::YieldOp::create(b, loc, ValueRange{next, last});
  }
  b.setInsertionPointAfter(whileOp);
  Value kept = m.cmp(P::eq, whileOp.getResult(1), target);
  if (attr.getDiagonal())
    kept = m.orI(kept, m.cmp(P::eq, queryBlock, keyBlock));
  return m.andI(kept, inRange);
}

void PatternEmitter::emitKeptBlockLoop(RandomBlocksAttr attr, Value queryBlock,
                                       Value numKeyBlocks,
                                       function_ref<void(Value)> body) {
  using P = CmpIPredicate;
  OpBuilder &b = m.b;
  Location loc = m.loc;
  Type i64 = b.getI64Type();
  auto ifThen = [&](Value cond, function_ref<void()> then) {
    scf::IfOp::create(b, loc, cond, [&](OpBuilder &, Location) {
      then();
      scf::YieldOp::create(b, loc);
    });
  };
  double density = attr.getDensityValue();
  ifThen(m.cmpConst(P::sge, queryBlock, 0), [&] {
    if (density >= 1.0) {
      scf::ForOp::create(b, loc, m.index(0), numKeyBlocks, m.index(1),
                         ValueRange{},
                         [&](OpBuilder &, Location, Value kb, ValueRange) {
                           body(kb);
                           scf::YieldOp::create(b, loc);
                         });
      return;
    }
    // The diagonal first (order does not matter to the online softmax), then
    // the stream, skipping the diagonal if the stream draws it too.
    if (attr.getDiagonal())
      ifThen(m.cmp(P::slt, queryBlock, numKeyBlocks), [&] { body(queryBlock); });
    Value limit = arith::IndexCastOp::create(b, loc, i64, numKeyBlocks);
    auto whileOp = scf::WhileOp::create(
        b, loc, TypeRange{i64, i64},
        ValueRange{emitStreamSeed(attr, queryBlock), m.constant(i64, -1)});
    {
      Block *before = b.createBlock(&whileOp.getBefore(), {}, {i64, i64},
                                    {loc, loc});
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(before);
      auto [next, kept] = emitStreamStep(density, before->getArgument(0),
                                         before->getArgument(1));
      scf::ConditionOp::create(b, loc, m.cmp(P::slt, kept, limit),
                               ValueRange{next, kept});
    }
    {
      Block *after =
          b.createBlock(&whileOp.getAfter(), {}, {i64, i64}, {loc, loc});
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(after);
      Value keyBlock = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                                  after->getArgument(1));
      Value visit = m.boolConst(b.getI1Type(), true);
      if (attr.getDiagonal())
        visit = m.cmp(P::ne, keyBlock, queryBlock);
      ifThen(visit, [&] { body(keyBlock); });
      scf::YieldOp::create(b, loc, after->getArguments());
    }
    b.setInsertionPointAfter(whileOp);
  });
}

Value PatternEmitter::emitLayoutLookup(BlockLayoutAttr attr, Value queryBlock,
                                       Value keyBlock) {
  using P = CmpIPredicate;
  OpBuilder &b = m.b;
  Location loc = m.loc;
  ArrayRef<int8_t> layout = attr.getLayout();
  auto tableType =
      MemRefType::get({static_cast<int64_t>(layout.size())}, b.getI8Type());

  // One constant table per layout, shared by every kernel of the module.
  std::string name;
  {
    llvm::raw_string_ostream os(name);
    os << "__attn_block_layout_" << llvm::hash_value(attr.getAsOpaquePointer());
  }
  if (!SymbolTable::lookupSymbolIn(symbolTable, name)) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&symbolTable->getRegion(0).front());
    auto tensorType = RankedTensorType::get(tableType.getShape(), b.getI8Type());
    memref::GlobalOp::create(
        b, loc, name, b.getStringAttr("private"), tableType,
        DenseElementsAttr::get(tensorType, layout), /*constant=*/true,
        /*alignment=*/nullptr);
  }
  Value table = memref::GetGlobalOp::create(b, loc, tableType, name);
  int64_t rows = attr.getNumRows(), cols = attr.getNumCols();
  Value inBounds = m.andI(
      m.andI(m.cmpConst(P::sge, queryBlock, 0),
             m.cmpConst(P::slt, queryBlock, rows)),
      m.andI(m.cmpConst(P::sge, keyBlock, 0), m.cmpConst(P::slt, keyBlock, cols)));
  Value matrix = m.index(0);
  if (attr.getNumLayoutHeads() != 1) {
    inBounds = m.andI(inBounds, m.cmpConst(P::slt, head, attr.getNumLayoutHeads()));
    matrix = head;
  }
  Value index = m.add(m.mul(m.add(m.mul(matrix, m.index(rows)), queryBlock),
                            m.index(cols)),
                      keyBlock);
  index = m.select(inBounds, index, m.index(0)); // Never load out of bounds.
  Value entry = memref::LoadOp::create(b, loc, table, ValueRange{index});
  Value nonZero = m.cmp(P::ne, entry,
                        m.constant(b.getI8Type(), 0));
  return m.andI(inBounds, nonZero);
}

//===----------------------------------------------------------------------===//
// Online-softmax arithmetic
//===----------------------------------------------------------------------===//

static Value floatConstant(OpBuilder &b, Location loc, Type type, double v) {
  if (auto vectorType = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(vectorType,
                               b.getFloatAttr(vectorType.getElementType(), v)));
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, v));
}

Value mlir::attn::emitExp2(OpBuilder &b, Location loc, Value x) {
  Type type = x.getType();
  Type intType = b.getI32Type();
  if (auto vectorType = dyn_cast<VectorType>(type))
    intType = VectorType::get(vectorType.getShape(), intType);
  // Below -126.5 the result rounds to exponent 0 with a zero bit pattern:
  // exactly 0, which is what masked scores need.
  Value clamped = arith::MaximumFOp::create(b, loc, x,
                                            floatConstant(b, loc, type, -127.0));
  Value whole = math::RoundEvenOp::create(b, loc, clamped);
  Value fraction = arith::SubFOp::create(b, loc, clamped, whole); // [-.5, .5]
  // 2^f = e^(f ln 2), Taylor to degree 6: relative error < 1.2e-7 on
  // [-0.5, 0.5], about one f32 ulp.
  static const double coefficients[] = {
      1.5403530393381606e-4, 1.3333558146428443e-3, 9.6181291076284772e-3,
      5.5504108664821580e-2, 2.4022650695910071e-1, 6.9314718055994531e-1,
      1.0};
  Value poly = floatConstant(b, loc, type, coefficients[0]);
  for (double c : ArrayRef<double>(coefficients).drop_front())
    poly = math::FmaOp::create(b, loc, poly, fraction,
                               floatConstant(b, loc, type, c));
  auto intConst = [&](int64_t v) {
    if (auto vectorType = dyn_cast<VectorType>(intType))
      return arith::ConstantOp::create(
                 b, loc,
                 DenseElementsAttr::get(vectorType, b.getI32IntegerAttr(v)))
          .getResult();
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v))
        .getResult();
  };
  Value exponent = arith::FPToSIOp::create(b, loc, intType, whole);
  Value bits = arith::ShLIOp::create(
      b, loc, arith::AddIOp::create(b, loc, exponent, intConst(127)),
      intConst(23));
  Value scale = arith::BitcastOp::create(b, loc, type, bits);
  return arith::MulFOp::create(b, loc, poly, scale);
}

Value mlir::attn::emitSafeMax(OpBuilder &b, Location loc, Value rowMax) {
  Type type = rowMax.getType();
  Value minusInf =
      floatConstant(b, loc, type, -std::numeric_limits<double>::infinity());
  Value unseen = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                       rowMax, minusInf);
  return arith::SelectOp::create(b, loc, unseen,
                                 floatConstant(b, loc, type, 0.0), rowMax);
}

Value mlir::attn::emitSafeReciprocal(OpBuilder &b, Location loc, Value sum) {
  Type type = sum.getType();
  Value zero = floatConstant(b, loc, type, 0.0);
  Value positive =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, sum, zero);
  Value reciprocal = arith::DivFOp::create(
      b, loc, floatConstant(b, loc, type, 1.0), sum);
  return arith::SelectOp::create(b, loc, positive, reciprocal, zero);
}
