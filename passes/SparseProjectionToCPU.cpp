//===- SparseProjectionToCPU.cpp - select_blocks / compress_kv on CPUs ----===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The CPU kernels of attn.select_blocks and attn.compress_kv
// (docs/sparse-projection.md: section 1 defines the results, section 3 the
// calling convention). Both are scalar scf loops with f32 accumulation:
// next to the attention they feed, selection reads K once per query block
// and compression reads K/V once, so neither is worth the attention
// kernel's vector layout; what matters is that the indices follow the
// selection rules exactly.
//
// Work items are (b * Hkv + g, query block) for select_blocks and
// (b * Hkv + g, slot) for compress_kv; the runtime splits [0, items) over
// its threads like the attention kernels' items.
//
//===----------------------------------------------------------------------===//

#include "CPUKernels.h"
#include "PlanSupport.h"
#include "attn/Tiling/AttentionTiling.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::attn;
using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

/// Scalar loop-building helpers shared by both kernels.
class ScalarKernelBuilder {
protected:
  ScalarKernelBuilder(Operation *op)
      : ctx(op->getContext()), b(ctx), loc(op->getLoc()), m(b, loc) {}

  /// memref<? x heads x ? x dim x type> with a dynamic strided layout (unit
  /// innermost stride): what the runtime's descriptors describe.
  MemRefType tensor4d(int64_t heads, int64_t dim, Type element) {
    int64_t dyn = ShapedType::kDynamic;
    return MemRefType::get({dyn, heads, dyn, dim}, element,
                           StridedLayoutAttr::get(ctx, dyn, {dyn, dyn, dyn, 1}));
  }

  /// Creates `name(args..., begin, end)` with llvm.emit_c_interface at the
  /// end of `module`; the builder is left at the start of its body.
  func::FuncOp createKernel(ModuleOp module, StringRef name,
                            SmallVector<Type> argTypes) {
    argTypes.append({b.getIndexType(), b.getIndexType()});
    b.setInsertionPointToEnd(module.getBody());
    auto func =
        func::FuncOp::create(b, loc, name, b.getFunctionType(argTypes, {}));
    func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    b.setInsertionPointToStart(func.addEntryBlock());
    return func;
  }

  /// `name(pairs, query_len, key_len) -> pairs * perPair(query_len,
  /// key_len)` in i64.
  void createWorkItems(ModuleOp module, StringRef name,
                       function_ref<Value(Value, Value)> perPair) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(module.getBody());
    Type i64 = b.getI64Type();
    auto func = func::FuncOp::create(
        b, loc, name, b.getFunctionType({i64, i64, i64}, {i64}));
    Block *entry = func.addEntryBlock();
    b.setInsertionPointToStart(entry);
    auto toIndex = [&](Value v) -> Value {
      return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
    };
    Value items =
        m.mul(toIndex(entry->getArgument(0)),
              perPair(toIndex(entry->getArgument(1)),
                      toIndex(entry->getArgument(2))));
    func::ReturnOp::create(
        b, loc, ValueRange{arith::IndexCastOp::create(b, loc, i64, items)});
  }

  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value toF32(Value indexValue) {
    Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), indexValue);
    return arith::SIToFPOp::create(b, loc, b.getF32Type(), i64);
  }
  Value load(Value source, ValueRange indices) {
    return memref::LoadOp::create(b, loc, source, indices);
  }
  void store(Value x, Value dest, ValueRange indices) {
    memref::StoreOp::create(b, loc, x, dest, indices);
  }
  /// An element of `source` widened to f32.
  Value loadF32(Value source, ValueRange indices) {
    Value x = load(source, indices);
    if (!x.getType().isF32())
      x = arith::ExtFOp::create(b, loc, b.getF32Type(), x);
    return x;
  }
  Value addF(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value mulF(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value divF(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value scratch(ArrayRef<int64_t> shape, Type element) {
    return memref::AllocaOp::create(b, loc, MemRefType::get(shape, element));
  }
  void forLoop(Value lb, Value ub, function_ref<void(Value)> body) {
    scf::ForOp::create(b, loc, lb, ub, m.index(1), ValueRange{},
                       [&](OpBuilder &, Location, Value iv, ValueRange) {
                         body(iv);
                         scf::YieldOp::create(b, loc);
                       });
  }
  /// A loop carrying one value: `body(iv, carried)` returns the next one.
  Value reduce(Value lb, Value ub, Value init,
               function_ref<Value(Value, Value)> body) {
    auto loop = scf::ForOp::create(
        b, loc, lb, ub, m.index(1), ValueRange{init},
        [&](OpBuilder &, Location, Value iv, ValueRange acc) {
          scf::YieldOp::create(b, loc, ValueRange{body(iv, acc[0])});
        });
    return loop.getResult(0);
  }
  void ifThen(Value cond, function_ref<void()> body) {
    scf::IfOp::create(b, loc, cond, [&](OpBuilder &, Location) {
      body();
      scf::YieldOp::create(b, loc);
    });
  }

  MLIRContext *ctx;
  OpBuilder b;
  Location loc;
  IndexMath m;
};

//===----------------------------------------------------------------------===//
// select_blocks
//===----------------------------------------------------------------------===//

class SelectBlocksBuilder : public ScalarKernelBuilder {
public:
  explicit SelectBlocksBuilder(SelectBlocksOp op)
      : ScalarKernelBuilder(op), op(op) {}

  func::FuncOp build(ModuleOp module, StringRef name);
  /// Items: (pair, query block).
  void buildWorkItems(ModuleOp module, StringRef name) {
    createWorkItems(module, name, [&](Value queryLen, Value) {
      return m.ceilDiv(queryLen, op.getQueryBlock());
    });
  }

private:
  void emitItem(Value item);
  /// Whether `candidate` goes before `incumbent` (section 1, step 6; the
  /// candidate has the higher block index): it is a number and the
  /// incumbent is NaN or smaller.
  Value emitBeats(Value candidate, Value incumbent) {
    Value isNumber =
        arith::CmpFOp::create(b, loc, CmpFPredicate::ORD, candidate, candidate);
    Value incumbentNaN = arith::CmpFOp::create(b, loc, CmpFPredicate::UNO,
                                               incumbent, incumbent);
    Value greater = arith::CmpFOp::create(b, loc, CmpFPredicate::OGT,
                                          candidate, incumbent);
    return m.andI(isNumber, m.orI(incumbentNaN, greater));
  }
  Value emitScore(Value keyBlock);
  void emitInsert(Value score, Value keyBlock, Value capacity);

  SelectBlocksOp op;
  int64_t dim = 0, group = 0, kvHeads = 0, topK = 0;
  Value query, key, pooledKeys, indices;
  Value queryLen, keyLen, numQueryBlocks, numKeyBlocks;
  // Scratch: pooled query and key (f32 x D), the by-score list (scores and
  // blocks, at most top_k), the chosen blocks, the list's length.
  Value pooledQuery, pooledKey, listScores, listBlocks, chosen, listLength;
  // Per item.
  Value batch, kvHead;
};

func::FuncOp SelectBlocksBuilder::build(ModuleOp module, StringRef name) {
  auto queryType = cast<RankedTensorType>(op.getQuery().getType());
  auto keyType = cast<RankedTensorType>(op.getKey().getType());
  Type element = queryType.getElementType();
  dim = queryType.getDimSize(3);
  kvHeads = keyType.getDimSize(1);
  group = queryType.getDimSize(1) / kvHeads;
  topK = op.getTopK();
  SmallVector<Type> args = {tensor4d(queryType.getDimSize(1), dim, element),
                            tensor4d(kvHeads, dim, element)};
  if (op.getPooledKeys())
    args.push_back(tensor4d(kvHeads, dim, element));
  args.push_back(tensor4d(kvHeads, topK, b.getI32Type()));
  func::FuncOp func = createKernel(module, name, args);
  Block &entry = func.getBody().front();
  unsigned arg = 0;
  query = entry.getArgument(arg++);
  key = entry.getArgument(arg++);
  if (op.getPooledKeys())
    pooledKeys = entry.getArgument(arg++);
  indices = entry.getArgument(arg++);
  Value begin = entry.getArgument(arg++), end = entry.getArgument(arg++);

  queryLen = memref::DimOp::create(b, loc, query, 2);
  keyLen = memref::DimOp::create(b, loc, key, 2);
  numQueryBlocks = m.ceilDiv(queryLen, op.getQueryBlock());
  numKeyBlocks = m.ceilDiv(keyLen, op.getKeyBlock());
  pooledQuery = scratch({dim}, b.getF32Type());
  pooledKey = scratch({dim}, b.getF32Type());
  listScores = scratch({topK}, b.getF32Type());
  listBlocks = scratch({topK}, b.getIndexType());
  chosen = scratch({topK}, b.getIndexType());
  listLength = scratch({}, b.getIndexType());
  forLoop(begin, end, [&](Value item) { emitItem(item); });
  func::ReturnOp::create(b, loc);
  return func;
}

Value SelectBlocksBuilder::emitScore(Value keyBlock) {
  Value zero = f32(0.0);
  if (pooledKeys)
    return reduce(m.index(0), m.index(dim), zero, [&](Value d, Value acc) {
      Value pk = loadF32(pooledKeys, {batch, kvHead, keyBlock, d});
      return addF(acc, mulF(load(pooledQuery, {d}), pk));
    });
  // The mean of the block's keys (the last block may be short).
  Value first = m.mul(keyBlock, m.index(op.getKeyBlock()));
  Value last = m.min(m.addConst(first, op.getKeyBlock()), keyLen);
  forLoop(m.index(0), m.index(dim), [&](Value d) { store(zero, pooledKey, {d}); });
  forLoop(first, last, [&](Value t) {
    forLoop(m.index(0), m.index(dim), [&](Value d) {
      store(addF(load(pooledKey, {d}), loadF32(key, {batch, kvHead, t, d})),
            pooledKey, {d});
    });
  });
  Value count = toF32(m.sub(last, first));
  return reduce(m.index(0), m.index(dim), zero, [&](Value d, Value acc) {
    Value pk = divF(load(pooledKey, {d}), count);
    return addF(acc, mulF(load(pooledQuery, {d}), pk));
  });
}

/// Inserts block `keyBlock` into the by-score list of at most `capacity`
/// entries, kept sorted best first. Blocks arrive in increasing order, so a
/// newcomer never goes before an entry with an equal score (ties to the
/// lower index).
void SelectBlocksBuilder::emitInsert(Value score, Value keyBlock,
                                     Value capacity) {
  Value length = load(listLength, {});
  Value hasRoom = m.cmp(CmpIPredicate::slt, length, capacity);
  Value lastEntry = m.max(m.addConst(capacity, -1), m.index(0));
  Value beatsLast =
      m.andI(m.cmpConst(CmpIPredicate::sgt, capacity, 0),
             emitBeats(score, load(listScores, {lastEntry})));
  ifThen(m.orI(hasRoom, beatsLast), [&] {
    store(m.select(hasRoom, m.addConst(length, 1), length), listLength, {});
    Value start = m.select(hasRoom, length, lastEntry);
    Type indexType = b.getIndexType();
    auto shift = scf::WhileOp::create(
        b, loc, TypeRange{indexType}, ValueRange{start},
        [&](OpBuilder &, Location, ValueRange args) {
          Value pos = args[0];
          Value previous = m.max(m.addConst(pos, -1), m.index(0));
          Value moves = m.andI(m.cmpConst(CmpIPredicate::sgt, pos, 0),
                               emitBeats(score, load(listScores, {previous})));
          scf::ConditionOp::create(b, loc, moves, ValueRange{pos});
        },
        [&](OpBuilder &, Location, ValueRange args) {
          Value pos = args[0];
          Value previous = m.addConst(pos, -1);
          store(load(listScores, {previous}), listScores, {pos});
          store(load(listBlocks, {previous}), listBlocks, {pos});
          scf::YieldOp::create(b, loc, ValueRange{previous});
        });
    Value pos = shift.getResult(0);
    store(score, listScores, {pos});
    store(keyBlock, listBlocks, {pos});
  });
}

void SelectBlocksBuilder::emitItem(Value item) {
  const int64_t queryBlock = op.getQueryBlock(), keyBlock = op.getKeyBlock();
  Value pair = m.floorDiv(item, numQueryBlocks);
  Value block = m.sub(item, m.mul(pair, numQueryBlocks));
  batch = m.floorDiv(pair, kvHeads);
  kvHead = m.sub(pair, m.mul(batch, m.index(kvHeads)));

  // 1. The pooled query: the mean over the group's heads and the block's
  //    rows.
  Value firstRow = m.mul(block, m.index(queryBlock));
  Value endRow = m.min(m.addConst(firstRow, queryBlock), queryLen);
  Value zero = f32(0.0);
  forLoop(m.index(0), m.index(dim),
          [&](Value d) { store(zero, pooledQuery, {d}); });
  Value firstHead = m.mul(kvHead, m.index(group));
  forLoop(firstHead, m.addConst(firstHead, group), [&](Value h) {
    forLoop(firstRow, endRow, [&](Value r) {
      forLoop(m.index(0), m.index(dim), [&](Value d) {
        store(addF(load(pooledQuery, {d}), loadF32(query, {batch, h, r, d})),
              pooledQuery, {d});
      });
    });
  });
  Value count = toF32(m.mul(m.sub(endRow, firstRow), m.index(group)));
  forLoop(m.index(0), m.index(dim), [&](Value d) {
    store(divF(load(pooledQuery, {d}), count), pooledQuery, {d});
  });

  // 4-5. Valid blocks are [0, numValid): with causal, those starting at or
  //      before P, the block's last position. Forced: sink blocks and the
  //      local blocks ending at L, the block of P clipped to the keys.
  Value lastPosition = m.add(m.addConst(endRow, -1), m.sub(keyLen, queryLen));
  Value positionBlock = m.floorDiv(lastPosition, keyBlock);
  Value numValid =
      op.getCausal()
          ? m.max(m.index(0), m.min(numKeyBlocks, m.addConst(positionBlock, 1)))
          : numKeyBlocks;
  Value localLast = m.min(positionBlock, m.addConst(numKeyBlocks, -1));
  Value localFirst = m.addConst(localLast, 1 - op.getKeepLocal());
  auto isForced = [&](Value j) {
    Value sink = m.cmpConst(CmpIPredicate::slt, j, op.getKeepSink());
    Value local = m.andI(m.cmp(CmpIPredicate::sle, j, localLast),
                         m.cmp(CmpIPredicate::sge, j, localFirst));
    return m.orI(sink, local);
  };
  auto oneIf = [&](Value cond) {
    return m.select(cond, m.index(1), m.index(0));
  };

  // 6. Forced blocks first; the remaining slots go by score.
  Value numForced = reduce(m.index(0), numValid, m.index(0),
                           [&](Value j, Value n) {
                             return m.add(n, oneIf(isForced(j)));
                           });
  Value capacity = m.sub(m.index(topK), numForced);
  store(m.index(0), listLength, {});
  forLoop(m.index(0), numValid, [&](Value j) {
    ifThen(m.notI(isForced(j)), [&] { emitInsert(emitScore(j), j, capacity); });
  });

  // 7. The chosen blocks in increasing order, then -1: the forced ones come
  //    in order, the listed ones are appended and an insertion sort (top_k
  //    entries) merges them.
  Value fromForced = reduce(m.index(0), numValid, m.index(0),
                            [&](Value j, Value n) {
                              Value forced = isForced(j);
                              ifThen(forced, [&] { store(j, chosen, {n}); });
                              return m.add(n, oneIf(forced));
                            });
  Value listed = load(listLength, {});
  forLoop(m.index(0), listed, [&](Value e) {
    store(load(listBlocks, {e}), chosen, {m.add(fromForced, e)});
  });
  Value total = m.add(fromForced, listed);
  Type indexType = b.getIndexType();
  forLoop(m.index(1), total, [&](Value a) {
    Value x = load(chosen, {a});
    auto shift = scf::WhileOp::create(
        b, loc, TypeRange{indexType}, ValueRange{a},
        [&](OpBuilder &, Location, ValueRange args) {
          Value pos = args[0];
          Value previous = m.max(m.addConst(pos, -1), m.index(0));
          Value moves = m.andI(m.cmpConst(CmpIPredicate::sgt, pos, 0),
                               m.cmp(CmpIPredicate::sgt,
                                     load(chosen, {previous}), x));
          scf::ConditionOp::create(b, loc, moves, ValueRange{pos});
        },
        [&](OpBuilder &, Location, ValueRange args) {
          Value previous = m.addConst(args[0], -1);
          store(load(chosen, {previous}), chosen, {args[0]});
          scf::YieldOp::create(b, loc, ValueRange{previous});
        });
    store(x, chosen, {shift.getResult(0)});
  });
  Value none = m.index(-1);
  forLoop(m.index(0), m.index(topK), [&](Value s) {
    Value entry = m.select(m.cmp(CmpIPredicate::slt, s, total),
                           load(chosen, {s}), none);
    store(arith::IndexCastOp::create(b, loc, b.getI32Type(), entry), indices,
          {batch, kvHead, block, s});
  });
}

//===----------------------------------------------------------------------===//
// compress_kv
//===----------------------------------------------------------------------===//

class CompressKVBuilder : public ScalarKernelBuilder {
public:
  explicit CompressKVBuilder(CompressKVOp op)
      : ScalarKernelBuilder(op), op(op) {}

  func::FuncOp build(ModuleOp module, StringRef name);
  /// Items: (pair, slot), counted from the key length alone.
  void buildWorkItems(ModuleOp module, StringRef name) {
    createWorkItems(module, name, [&](Value, Value keyLen) {
      return emitNumSlots(keyLen);
    });
  }

  /// N = (S - block) / stride + 1 slots, 0 when S < block.
  Value emitNumSlots(Value length) {
    Value fits = m.cmpConst(CmpIPredicate::sge, length, op.getBlock());
    Value slots = m.addConst(
        m.floorDiv(m.addConst(length, -op.getBlock()), op.getEffectiveStride()),
        1);
    return m.select(fits, slots, m.index(0));
  }

private:
  /// Slot `slot` of `source` into `dest` (f32 sums, rounded once).
  void emitSlot(Value source, Value dest, int64_t dim, Value slot);

  CompressKVOp op;
  Type element;
  Value weights, accumulator, batch, kvHead;
};

func::FuncOp CompressKVBuilder::build(ModuleOp module, StringRef name) {
  auto keyType = cast<RankedTensorType>(op.getKey().getType());
  auto valueType = cast<RankedTensorType>(op.getValue().getType());
  element = keyType.getElementType();
  int64_t kvHeads = keyType.getDimSize(1), dim = keyType.getDimSize(3),
          valueDim = valueType.getDimSize(3);
  SmallVector<Type> args = {tensor4d(kvHeads, dim, element),
                            tensor4d(kvHeads, valueDim, element)};
  if (Value w = op.getWeights()) {
    auto type = cast<RankedTensorType>(w.getType());
    int64_t dyn = ShapedType::kDynamic;
    args.push_back(MemRefType::get(type.getShape(), type.getElementType(),
                                   StridedLayoutAttr::get(ctx, dyn, {dyn, 1})));
  }
  args.push_back(tensor4d(kvHeads, dim, element));
  args.push_back(tensor4d(kvHeads, valueDim, element));
  func::FuncOp func = createKernel(module, name, args);
  Block &entry = func.getBody().front();
  unsigned arg = 0;
  Value key = entry.getArgument(arg++), value = entry.getArgument(arg++);
  if (op.getWeights())
    weights = entry.getArgument(arg++);
  Value compressedKey = entry.getArgument(arg++);
  Value compressedValue = entry.getArgument(arg++);
  Value begin = entry.getArgument(arg++), end = entry.getArgument(arg++);

  Value numSlots = emitNumSlots(memref::DimOp::create(b, loc, key, 2));
  accumulator = scratch({std::max(dim, valueDim)}, b.getF32Type());
  forLoop(begin, end, [&](Value item) {
    Value pair = m.floorDiv(item, numSlots);
    Value slot = m.sub(item, m.mul(pair, numSlots));
    batch = m.floorDiv(pair, kvHeads);
    kvHead = m.sub(pair, m.mul(batch, m.index(kvHeads)));
    emitSlot(key, compressedKey, dim, slot);
    emitSlot(value, compressedValue, valueDim, slot);
  });
  func::ReturnOp::create(b, loc);
  return func;
}

void CompressKVBuilder::emitSlot(Value source, Value dest, int64_t dim,
                                 Value slot) {
  Value zero = f32(0.0);
  forLoop(m.index(0), m.index(dim),
          [&](Value d) { store(zero, accumulator, {d}); });
  Value first = m.mul(slot, m.index(op.getEffectiveStride()));
  forLoop(m.index(0), m.index(op.getBlock()), [&](Value t) {
    Value weight = weights ? loadF32(weights, {kvHead, t}) : Value();
    Value position = m.add(first, t);
    forLoop(m.index(0), m.index(dim), [&](Value d) {
      Value x = loadF32(source, {batch, kvHead, position, d});
      if (weight)
        x = mulF(weight, x);
      store(addF(load(accumulator, {d}), x), accumulator, {d});
    });
  });
  Value count = f32(double(op.getBlock()));
  forLoop(m.index(0), m.index(dim), [&](Value d) {
    Value x = load(accumulator, {d});
    if (!weights)
      x = divF(x, count);
    if (!element.isF32())
      x = arith::TruncFOp::create(b, loc, element, x);
    store(x, dest, {batch, kvHead, slot, d});
  });
}

StringRef dtypeName(Type type) {
  return type.isF32() ? "f32" : type.isF16() ? "f16" : "bf16";
}

int64_t staticOrMinusOne(int64_t v) {
  return ShapedType::isDynamic(v) ? int64_t(-1) : v;
}

} // namespace

FailureOr<func::FuncOp>
mlir::attn::buildSelectBlocksCPUKernel(SelectBlocksOp op, ModuleOp module,
                                       StringRef name, StringRef workItems,
                                       NamedAttrList &info) {
  auto queryType = cast<RankedTensorType>(op.getQuery().getType());
  auto keyType = cast<RankedTensorType>(op.getKey().getType());
  if (queryType.isDynamicDim(3))
    return op.emitError() << "attn-convert-to-cpu needs a static head dim "
                             "for attn.select_blocks, found "
                          << queryType;
  SelectBlocksBuilder builder(op);
  func::FuncOp kernel = builder.build(module, name);
  builder.buildWorkItems(module, workItems);

  Builder b(op.getContext());
  info.append("dtype", b.getStringAttr(dtypeName(queryType.getElementType())));
  info.append("query_heads", b.getI64IntegerAttr(queryType.getDimSize(1)));
  info.append("key_heads", b.getI64IntegerAttr(keyType.getDimSize(1)));
  info.append("head_dim", b.getI64IntegerAttr(queryType.getDimSize(3)));
  info.append("batch",
              b.getI64IntegerAttr(staticOrMinusOne(queryType.getDimSize(0))));
  info.append("query_len",
              b.getI64IntegerAttr(staticOrMinusOne(queryType.getDimSize(2))));
  info.append("key_len",
              b.getI64IntegerAttr(staticOrMinusOne(keyType.getDimSize(2))));
  appendSelectBlocksInfo(op, info);
  return kernel;
}

FailureOr<func::FuncOp>
mlir::attn::buildCompressKVCPUKernel(CompressKVOp op, ModuleOp module,
                                     StringRef name, StringRef workItems,
                                     NamedAttrList &info) {
  auto keyType = cast<RankedTensorType>(op.getKey().getType());
  auto valueType = cast<RankedTensorType>(op.getValue().getType());
  if (keyType.isDynamicDim(3) || valueType.isDynamicDim(3))
    return op.emitError() << "attn-convert-to-cpu needs static head dims for "
                             "attn.compress_kv, found "
                          << keyType << " and " << valueType;
  if (Value weights = op.getWeights()) {
    Type type = cast<RankedTensorType>(weights.getType()).getElementType();
    if (!type.isF32() && !type.isF16() && !type.isBF16())
      return op.emitError() << "attn-convert-to-cpu takes compress_kv weights "
                               "of f32, f16 or bf16 (the runtime's types), "
                               "found "
                            << type;
  }
  CompressKVBuilder builder(op);
  func::FuncOp kernel = builder.build(module, name);
  builder.buildWorkItems(module, workItems);

  Builder b(op.getContext());
  info.append("dtype", b.getStringAttr(dtypeName(keyType.getElementType())));
  info.append("key_heads", b.getI64IntegerAttr(keyType.getDimSize(1)));
  info.append("head_dim", b.getI64IntegerAttr(keyType.getDimSize(3)));
  info.append("value_dim", b.getI64IntegerAttr(valueType.getDimSize(3)));
  info.append("batch",
              b.getI64IntegerAttr(staticOrMinusOne(keyType.getDimSize(0))));
  info.append("key_len",
              b.getI64IntegerAttr(staticOrMinusOne(keyType.getDimSize(2))));
  appendCompressKVInfo(op, info);
  return kernel;
}
