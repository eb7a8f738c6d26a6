//===- ConvertAttnToCPU.cpp - attn.attention -> tiled CPU kernels ---------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The CPU back end of the shared tiling step (attn/Tiling/AttentionTiling.h).
//
// Layout choice: query rows are the vector lanes. A query tile of BQ rows is
// transposed once into Qᵀ (D x BQ, scale x log2 e folded in); then
//
//   Sᵀ[j, :] = sum_d K[j, d] * Qᵀ[d, :]      (broadcast K element, FMA)
//   Oᵀ[d, :] += sum_j V[j, d] * Pᵀ[j, :]     (broadcast V element, FMA)
//
// so K and V are read in their natural row-major layout with broadcasts (an
// FMA's memory operand on x86), no key-side transpose is ever needed, and the
// softmax is per lane: the running max and sum are elementwise vector ops,
// with no horizontal reduction anywhere. The transposes are paid once per
// query tile (Q in, O out), amortized over every key tile.
//
// Register blocking: a micro-kernel keeps KR rows x LG lanes of Sᵀ (or DR
// columns x LG lanes of Oᵀ) in accumulators across its contraction loop,
// KR x LG / lanes = the target's accumulator budget (16 zmm on AVX-512,
// 8 ymm on AVX2).
//
// Threads: the kernel computes a range of independent work items; the
// runtime's pool splits [0, items) dynamically. That keeps libomp out of the
// artifact and the runtime, balances causal work (items differ in cost), and
// is the same item space the GPU grid uses.
//
//===----------------------------------------------------------------------===//

#include "PlanSupport.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Tiling/AttentionTiling.h"

#include "mlir/IR/SymbolTable.h"

#include <limits>

namespace mlir {
namespace attn {
#define GEN_PASS_DEF_CONVERTATTNTOCPU
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace attn
} // namespace mlir

using namespace mlir;
using namespace mlir::attn;
using arith::CmpIPredicate;

namespace {

/// Tile and register-block sizes of one kernel.
struct CPUKernelConfig {
  int64_t queryTile; ///< BQ: query lanes per work item.
  int64_t keyTile;   ///< BK: keys per key tile.
  int64_t laneGroup; ///< LG: lanes one micro-kernel covers (a vector value).
  int64_t keyRows;   ///< KR: Sᵀ rows per QK micro-kernel.
  int64_t valueCols; ///< DR: Oᵀ rows per PV micro-kernel.
};

/// Builds the kernel of one attn.attention.
class CPUKernelBuilder {
public:
  CPUKernelBuilder(AttentionOp op, const CPUKernelConfig &config,
                   ModuleOp module)
      : op(op), cfg(config), module(module), b(op.getContext()),
        loc(op.getLoc()), m(b, loc) {}

  func::FuncOp build(StringRef name, bool gated);

private:
  Value f32Const(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value splat(Type type, double v) {
    return arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(cast<ShapedType>(type), b.getF32FloatAttr(v)));
  }
  /// A scalar element of `source` at `indices`, in f32.
  Value loadF32(Value source, ValueRange indices) {
    Value x = memref::LoadOp::create(b, loc, source, indices);
    if (!x.getType().isF32())
      x = arith::ExtFOp::create(b, loc, b.getF32Type(), x);
    return x;
  }
  Value toElement(Value x) {
    if (elementType.isF32())
      return x;
    return arith::TruncFOp::create(b, loc, elementType, x);
  }
  void forLoop(Value lb, Value ub, int64_t step,
               function_ref<void(Value)> body) {
    scf::ForOp::create(b, loc, lb, ub, m.index(step), ValueRange{},
                       [&](OpBuilder &, Location, Value iv, ValueRange) {
                         body(iv);
                         scf::YieldOp::create(b, loc);
                       });
  }
  void ifThen(Value cond, function_ref<void()> thenBody,
              function_ref<void()> elseBody = nullptr) {
    if (!elseBody) {
      scf::IfOp::create(b, loc, cond, [&](OpBuilder &, Location) {
        thenBody();
        scf::YieldOp::create(b, loc);
      });
      return;
    }
    scf::IfOp::create(
        b, loc, cond,
        [&](OpBuilder &, Location) {
          thenBody();
          scf::YieldOp::create(b, loc);
        },
        [&](OpBuilder &, Location) {
          elseBody();
          scf::YieldOp::create(b, loc);
        });
  }

  /// 16x16 blocks move Q in and O out of the lane layout with register
  /// transposes when the head dim and the tile allow.
  static constexpr int64_t kTransposeBlock = 16;
  bool useBlockTransposes(int64_t dim) const {
    return dim % kTransposeBlock == 0 && cfg.queryTile % kTransposeBlock == 0;
  }
  VectorType blockVector() {
    return VectorType::get({kTransposeBlock}, b.getF32Type());
  }
  /// `kTransposeBlock` contiguous elements of `source` at `indices`, in f32.
  Value loadVectorF32(Value source, ValueRange indices) {
    auto type = VectorType::get({kTransposeBlock}, elementType);
    Value x = vector::LoadOp::create(b, loc, type, source, indices);
    if (!elementType.isF32())
      x = arith::ExtFOp::create(b, loc, blockVector(), x);
    return x;
  }
  /// The transpose of a 16x16 block given as 16 row vectors.
  SmallVector<Value> transposeBlock(ArrayRef<Value> rows) {
    auto matrixType =
        VectorType::get({kTransposeBlock, kTransposeBlock}, b.getF32Type());
    Value matrix = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(matrixType, b.getF32FloatAttr(0.0)));
    for (auto [i, row] : llvm::enumerate(rows))
      matrix = vector::InsertOp::create(b, loc, row, matrix,
                                        ArrayRef<int64_t>{int64_t(i)});
    Value transposed = vector::TransposeOp::create(b, loc, matrix,
                                                   ArrayRef<int64_t>{1, 0});
    SmallVector<Value> result;
    for (int64_t i = 0; i < kTransposeBlock; ++i)
      result.push_back(vector::ExtractOp::create(b, loc, transposed,
                                                 ArrayRef<int64_t>{i}));
    return result;
  }

  void emitItem(Value item);
  void emitKeyTile(const QueryTileSpan &span, Value keyStart, bool masked,
                   const MaskContext &context);

  AttentionOp op;
  CPUKernelConfig cfg;
  ModuleOp module;
  OpBuilder b;
  Location loc;
  IndexMath m;

  Type elementType;
  int64_t headDim = 0, valueDim = 0, queryHeads = 0, groupSize = 0;
  bool gated = false;
  double foldedScale = 0;

  // Kernel arguments and per-kernel values.
  Value query, key, value, out, active;
  Value queryLen, keyLen;
  QueryTiling tiling;
  // Scratch (stack): Qᵀ, Sᵀ/Pᵀ, Oᵀ, and per-lane max, sum, rescale factor.
  Value qT, sT, oT, rowMax, rowSum, rowAlpha;
  VectorType laneVector; ///< vector<LG x f32>.
  VectorType positionVector; ///< vector<LG x i64>.

  // Per item.
  Value batch, head, kvHead;
  std::unique_ptr<PatternEmitter> pattern;
};

} // namespace

func::FuncOp CPUKernelBuilder::build(StringRef name, bool isGated) {
  MLIRContext *ctx = op.getContext();
  gated = isGated;
  RankedTensorType queryType = op.getQueryType();
  elementType = queryType.getElementType();
  headDim = queryType.getDimSize(3);
  valueDim = op.getValue().getType().getDimSize(3);
  queryHeads = op.getNumQueryHeads();
  groupSize = queryHeads / op.getNumKeyValueHeads();
  foldedScale = op.getEffectiveScale() * kLog2E;
  laneVector = VectorType::get({cfg.laneGroup}, b.getF32Type());
  positionVector = VectorType::get({cfg.laneGroup}, b.getI64Type());

  int64_t dyn = ShapedType::kDynamic;
  auto layout = StridedLayoutAttr::get(ctx, dyn, {dyn, dyn, dyn, 1});
  auto memrefOf = [&](int64_t heads, int64_t dim) {
    return MemRefType::get({dyn, heads, dyn, dim}, elementType, layout);
  };
  SmallVector<Type> argTypes = {
      memrefOf(queryHeads, headDim),
      memrefOf(op.getNumKeyValueHeads(), headDim),
      memrefOf(op.getNumKeyValueHeads(), valueDim),
      memrefOf(queryHeads, valueDim)};
  if (gated)
    argTypes.push_back(MemRefType::get(
        {dyn}, b.getI32Type(), StridedLayoutAttr::get(ctx, dyn, {dyn})));
  argTypes.push_back(b.getIndexType());
  argTypes.push_back(b.getIndexType());

  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, loc, name,
                                   b.getFunctionType(argTypes, {}));
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  unsigned arg = 0;
  query = entry->getArgument(arg++);
  key = entry->getArgument(arg++);
  value = entry->getArgument(arg++);
  out = entry->getArgument(arg++);
  if (gated)
    active = entry->getArgument(arg++);
  Value begin = entry->getArgument(arg++), end = entry->getArgument(arg++);

  queryLen = memref::DimOp::create(b, loc, query, 2);
  keyLen = memref::DimOp::create(b, loc, key, 2);
  tiling = QueryTiling::build(m, cfg.queryTile, queryLen, keyLen);

  auto scratch = [&](ArrayRef<int64_t> shape) {
    return memref::AllocaOp::create(
        b, loc, MemRefType::get(shape, b.getF32Type()), ValueRange{},
        b.getI64IntegerAttr(64));
  };
  qT = scratch({headDim, cfg.queryTile});
  sT = scratch({cfg.keyTile, cfg.queryTile});
  oT = scratch({valueDim, cfg.queryTile});
  rowMax = scratch({cfg.queryTile});
  rowSum = scratch({cfg.queryTile});
  rowAlpha = scratch({cfg.queryTile});

  forLoop(begin, end, 1, [&](Value item) { emitItem(item); });
  func::ReturnOp::create(b, loc);
  return func;
}

void CPUKernelBuilder::emitItem(Value item) {
  // item -> (pair, query tile); pair -> (batch, head); head -> KV head.
  Value pairIndex = m.floorDiv(item, tiling.numQueryTiles);
  Value localTile = m.sub(item, m.mul(pairIndex, tiling.numQueryTiles));
  Value pair = pairIndex;
  if (gated)
    pair = arith::IndexCastOp::create(
        b, loc, b.getIndexType(),
        memref::LoadOp::create(b, loc, active, ValueRange{pairIndex}));
  batch = m.floorDiv(pair, queryHeads);
  head = m.sub(pair, m.mul(batch, m.index(queryHeads)));
  kvHead = m.floorDiv(head, groupSize);
  pattern = std::make_unique<PatternEmitter>(m, op.getEffectivePattern(), head,
                                             module);

  QueryTileSpan span = QueryTileSpan::build(
      m, m.add(tiling.firstTile, localTile), cfg.queryTile, queryLen, keyLen);

  // Qᵀ with the folded scale; lanes without a real row are zero. Blocks of
  // 16 rows that are all real move as 16x16 register transposes (16 vector
  // loads, shuffles, 16 vector stores); the rest element by element. The
  // transposes are a per-item cost: they matter when an item visits few key
  // tiles (short windows, decode).
  Value scale = f32Const(foldedScale);
  Value zero = f32Const(0.0);
  auto packLanes = [&](Value firstLane, int64_t count) {
    forLoop(firstLane, m.addConst(firstLane, count), 1, [&](Value lane) {
      Value row = m.add(span.rowBegin, lane);
      Value real = m.andI(m.cmpConst(CmpIPredicate::sge, row, 0),
                          m.cmp(CmpIPredicate::slt, row, queryLen));
      ifThen(
          real,
          [&] {
            forLoop(m.index(0), m.index(headDim), 1, [&](Value d) {
              Value x = loadF32(query, {batch, head, row, d});
              memref::StoreOp::create(b, loc,
                                      arith::MulFOp::create(b, loc, x, scale),
                                      qT, ValueRange{d, lane});
            });
          },
          [&] {
            forLoop(m.index(0), m.index(headDim), 1, [&](Value d) {
              memref::StoreOp::create(b, loc, zero, qT, ValueRange{d, lane});
            });
          });
    });
  };
  if (useBlockTransposes(headDim)) {
    forLoop(m.index(0), m.index(cfg.queryTile), kTransposeBlock, [&](Value lane0) {
      Value row0 = m.add(span.rowBegin, lane0);
      Value allReal =
          m.andI(m.cmpConst(CmpIPredicate::sge, row0, 0),
                 m.cmp(CmpIPredicate::sle, m.addConst(row0, kTransposeBlock),
                       queryLen));
      ifThen(
          allReal,
          [&] {
            forLoop(m.index(0), m.index(headDim), kTransposeBlock, [&](Value d0) {
              SmallVector<Value> rows;
              for (int64_t i = 0; i < kTransposeBlock; ++i) {
                Value x = loadVectorF32(query, {batch, head, m.addConst(row0, i), d0});
                rows.push_back(x);
              }
              SmallVector<Value> cols = transposeBlock(rows);
              Value scaleVector =
                  vector::BroadcastOp::create(b, loc, blockVector(), scale);
              for (int64_t i = 0; i < kTransposeBlock; ++i)
                vector::StoreOp::create(
                    b, loc, arith::MulFOp::create(b, loc, cols[i], scaleVector),
                    qT, ValueRange{m.addConst(d0, i), lane0});
            });
          },
          [&] { packLanes(lane0, kTransposeBlock); });
    });
  } else {
    packLanes(m.index(0), cfg.queryTile);
  }

  // Running state: max -inf, sum 0, Oᵀ 0.
  Value minusInf = splat(laneVector, -std::numeric_limits<double>::infinity());
  Value zeros = splat(laneVector, 0.0);
  forLoop(m.index(0), m.index(cfg.queryTile), cfg.laneGroup, [&](Value lane) {
    vector::StoreOp::create(b, loc, minusInf, rowMax, ValueRange{lane});
    vector::StoreOp::create(b, loc, zeros, rowSum, ValueRange{lane});
    forLoop(m.index(0), m.index(valueDim), 1, [&](Value d) {
      vector::StoreOp::create(b, loc, zeros, oT, ValueRange{d, lane});
    });
  });

  // Random blocks walk their kept-block stream once per query tile; every
  // other pattern visits the key tiles of its hull, each classified by index
  // arithmetic and computed unmasked, masked, or not at all.
  if (auto random = dyn_cast<RandomBlocksAttr>(op.getEffectivePattern())) {
    int64_t block = random.getBlock();
    MaskContext context;
    context.blockFlags.push_back(m.boolConst(b.getI1Type(), true));
    Value hasRows = m.cmp(CmpIPredicate::sle, span.first, span.last);
    ifThen(hasRows, [&] {
      pattern->emitKeptBlockLoop(
          random, m.floorDiv(span.first, block), m.ceilDiv(keyLen, block),
          [&](Value keyBlock) {
            Value blockStart = m.mul(keyBlock, m.index(block));
            for (int64_t t = 0; t < block / cfg.keyTile; ++t) {
              Value keyStart = m.addConst(blockStart, t * cfg.keyTile);
              ifThen(m.cmp(CmpIPredicate::slt, keyStart, keyLen), [&] {
                Value ragged = m.cmp(CmpIPredicate::sgt,
                                     m.addConst(keyStart, cfg.keyTile), keyLen);
                ifThen(
                    ragged,
                    [&] { emitKeyTile(span, keyStart, /*masked=*/true, context); },
                    [&] {
                      emitKeyTile(span, keyStart, /*masked=*/false, context);
                    });
              });
            }
          });
    });
  } else {
    auto [lo, hi] = pattern->emitKeyHull(span.first, span.last, keyLen);
    Value firstKeyTile = m.floorDiv(lo, cfg.keyTile);
    Value endKeyTile = m.ceilDiv(hi, cfg.keyTile);
    forLoop(firstKeyTile, endKeyTile, 1, [&](Value keyTileIndex) {
      Value keyStart = m.mul(keyTileIndex, m.index(cfg.keyTile));
      Value keyEnd = m.min(m.addConst(keyStart, cfg.keyTile), keyLen);
      MaskContext context;
      KeyTileClass cls = pattern->emitTileClass(
          span.first, span.last, keyStart, m.addConst(keyEnd, -1), context);
      ifThen(cls.any, [&] {
        Value ragged = m.cmp(CmpIPredicate::sgt,
                             m.addConst(keyStart, cfg.keyTile), keyLen);
        Value needsMask = m.orI(m.notI(cls.full), ragged);
        ifThen(
            needsMask,
            [&] { emitKeyTile(span, keyStart, /*masked=*/true, context); },
            [&] { emitKeyTile(span, keyStart, /*masked=*/false, context); });
      });
    });
  }

  // O = Oᵀ / l, transposed back; rows that saw nothing (l = 0) get zeros.
  forLoop(m.index(0), m.index(cfg.queryTile), cfg.laneGroup, [&](Value lane) {
    Value sum = vector::LoadOp::create(b, loc, laneVector, rowSum,
                                       ValueRange{lane});
    vector::StoreOp::create(b, loc, emitSafeReciprocal(b, loc, sum), rowAlpha,
                            ValueRange{lane});
  });
  auto storeLanes = [&](Value firstLane, int64_t count) {
    forLoop(firstLane, m.addConst(firstLane, count), 1, [&](Value lane) {
      Value row = m.add(span.rowBegin, lane);
      Value real = m.andI(m.cmpConst(CmpIPredicate::sge, row, 0),
                          m.cmp(CmpIPredicate::slt, row, queryLen));
      ifThen(real, [&] {
        Value inverse =
            memref::LoadOp::create(b, loc, rowAlpha, ValueRange{lane});
        forLoop(m.index(0), m.index(valueDim), 1, [&](Value d) {
          Value x = memref::LoadOp::create(b, loc, oT, ValueRange{d, lane});
          x = arith::MulFOp::create(b, loc, x, inverse);
          memref::StoreOp::create(b, loc, toElement(x), out,
                                  ValueRange{batch, head, row, d});
        });
      });
    });
  };
  if (useBlockTransposes(valueDim)) {
    forLoop(m.index(0), m.index(cfg.queryTile), kTransposeBlock, [&](Value lane0) {
      Value row0 = m.add(span.rowBegin, lane0);
      Value allReal =
          m.andI(m.cmpConst(CmpIPredicate::sge, row0, 0),
                 m.cmp(CmpIPredicate::sle, m.addConst(row0, kTransposeBlock),
                       queryLen));
      ifThen(
          allReal,
          [&] {
            Value inverse = vector::LoadOp::create(b, loc, blockVector(),
                                                   rowAlpha, ValueRange{lane0});
            forLoop(m.index(0), m.index(valueDim), kTransposeBlock, [&](Value d0) {
              SmallVector<Value> cols;
              for (int64_t i = 0; i < kTransposeBlock; ++i)
                cols.push_back(vector::LoadOp::create(
                    b, loc, blockVector(), oT,
                    ValueRange{m.addConst(d0, i), lane0}));
              SmallVector<Value> rows = transposeBlock(cols);
              for (int64_t i = 0; i < kTransposeBlock; ++i) {
                Value factor = vector::BroadcastOp::create(
                    b, loc, blockVector(),
                    vector::ExtractOp::create(b, loc, inverse,
                                              ArrayRef<int64_t>{i}));
                Value x = arith::MulFOp::create(b, loc, rows[i], factor);
                if (!elementType.isF32())
                  x = arith::TruncFOp::create(
                      b, loc, VectorType::get({kTransposeBlock}, elementType),
                      x);
                vector::StoreOp::create(
                    b, loc, x, out,
                    ValueRange{batch, head, m.addConst(row0, i), d0});
              }
            });
          },
          [&] { storeLanes(lane0, kTransposeBlock); });
    });
  } else {
    storeLanes(m.index(0), cfg.queryTile);
  }
}

void CPUKernelBuilder::emitKeyTile(const QueryTileSpan &span, Value keyStart,
                                   bool masked, const MaskContext &context) {
  // Rows past the end of the keys (ragged last tile) are read at the last key
  // (valid memory) and masked out of the softmax.
  Value lastKey = m.addConst(keyLen, -1);
  auto keyRow = [&](Value j) {
    Value row = m.add(keyStart, j);
    return masked ? m.min(row, lastKey) : row;
  };
  Value zeros = splat(laneVector, 0.0);

  // Sᵀ = K Qᵀ: KR key rows x LG lanes of accumulators over d.
  forLoop(m.index(0), m.index(cfg.queryTile), cfg.laneGroup, [&](Value lane) {
    forLoop(m.index(0), m.index(cfg.keyTile), cfg.keyRows, [&](Value j0) {
      SmallVector<Value> rows;
      for (int64_t r = 0; r < cfg.keyRows; ++r)
        rows.push_back(keyRow(m.addConst(j0, r)));
      SmallVector<Value> init(cfg.keyRows, zeros);
      auto loop = scf::ForOp::create(
          b, loc, m.index(0), m.index(headDim), m.index(1), init,
          [&](OpBuilder &, Location, Value d, ValueRange acc) {
            Value q = vector::LoadOp::create(b, loc, laneVector, qT,
                                             ValueRange{d, lane});
            SmallVector<Value> next;
            for (int64_t r = 0; r < cfg.keyRows; ++r) {
              Value kd = loadF32(key, {batch, kvHead, rows[r], d});
              Value kb = vector::BroadcastOp::create(b, loc, laneVector, kd);
              next.push_back(vector::FMAOp::create(b, loc, kb, q, acc[r]));
            }
            scf::YieldOp::create(b, loc, next);
          });
      for (int64_t r = 0; r < cfg.keyRows; ++r)
        vector::StoreOp::create(b, loc, loop.getResult(r), sT,
                                ValueRange{m.addConst(j0, r), lane});
    });
  });

  // Online softmax per lane group: mask (partial tiles only), new max,
  // P = exp2(S - max), rescale factor for the old state, new sum.
  Value minusInf = splat(laneVector, -std::numeric_limits<double>::infinity());
  forLoop(m.index(0), m.index(cfg.queryTile), cfg.laneGroup, [&](Value lane) {
    Value oldMax = vector::LoadOp::create(b, loc, laneVector, rowMax,
                                          ValueRange{lane});
    Value positions;
    if (masked) {
      SmallVector<int64_t> iota(cfg.laneGroup);
      for (int64_t i = 0; i < cfg.laneGroup; ++i)
        iota[i] = i;
      Value laneStart = arith::IndexCastOp::create(
          b, loc, b.getI64Type(), m.add(span.tileStart, lane));
      positions = arith::AddIOp::create(
          b, loc,
          arith::ConstantOp::create(
              b, loc, DenseElementsAttr::get(positionVector,
                                             ArrayRef<int64_t>(iota))),
          vector::BroadcastOp::create(b, loc, positionVector, laneStart));
    }
    auto maxLoop = scf::ForOp::create(
        b, loc, m.index(0), m.index(cfg.keyTile), m.index(1),
        ValueRange{oldMax},
        [&](OpBuilder &, Location, Value j, ValueRange acc) {
          Value s = vector::LoadOp::create(b, loc, laneVector, sT,
                                           ValueRange{j, lane});
          if (masked) {
            Value k = m.add(keyStart, j);
            Value visible = pattern->emitVisible(context, positions, k);
            Value inRange = vector::BroadcastOp::create(
                b, loc, visible.getType(),
                m.cmp(CmpIPredicate::slt, k, keyLen));
            visible = m.andI(visible, inRange);
            s = arith::SelectOp::create(b, loc, visible, s, minusInf);
            vector::StoreOp::create(b, loc, s, sT, ValueRange{j, lane});
          }
          scf::YieldOp::create(
              b, loc, ValueRange{arith::MaxNumFOp::create(b, loc, acc[0], s)});
        });
    Value newMax = maxLoop.getResult(0);
    Value safeMax = emitSafeMax(b, loc, newMax);
    Value alpha = emitExp2(b, loc, arith::SubFOp::create(b, loc, oldMax, safeMax));
    auto sumLoop = scf::ForOp::create(
        b, loc, m.index(0), m.index(cfg.keyTile), m.index(1),
        ValueRange{zeros},
        [&](OpBuilder &, Location, Value j, ValueRange acc) {
          Value s = vector::LoadOp::create(b, loc, laneVector, sT,
                                           ValueRange{j, lane});
          Value p = emitExp2(b, loc, arith::SubFOp::create(b, loc, s, safeMax));
          vector::StoreOp::create(b, loc, p, sT, ValueRange{j, lane});
          scf::YieldOp::create(
              b, loc, ValueRange{arith::AddFOp::create(b, loc, acc[0], p)});
        });
    Value oldSum = vector::LoadOp::create(b, loc, laneVector, rowSum,
                                          ValueRange{lane});
    Value newSum = vector::FMAOp::create(b, loc, oldSum, alpha,
                                         sumLoop.getResult(0));
    vector::StoreOp::create(b, loc, newSum, rowSum, ValueRange{lane});
    vector::StoreOp::create(b, loc, newMax, rowMax, ValueRange{lane});
    vector::StoreOp::create(b, loc, alpha, rowAlpha, ValueRange{lane});
  });

  // Oᵀ = alpha Oᵀ + Vᵀ Pᵀ: DR value columns x LG lanes over the tile's keys.
  forLoop(m.index(0), m.index(cfg.queryTile), cfg.laneGroup, [&](Value lane) {
    Value alpha = vector::LoadOp::create(b, loc, laneVector, rowAlpha,
                                         ValueRange{lane});
    forLoop(m.index(0), m.index(valueDim), cfg.valueCols, [&](Value d0) {
      SmallVector<Value> init;
      for (int64_t c = 0; c < cfg.valueCols; ++c) {
        Value o = vector::LoadOp::create(b, loc, laneVector, oT,
                                         ValueRange{m.addConst(d0, c), lane});
        init.push_back(arith::MulFOp::create(b, loc, o, alpha));
      }
      auto loop = scf::ForOp::create(
          b, loc, m.index(0), m.index(cfg.keyTile), m.index(1), init,
          [&](OpBuilder &, Location, Value j, ValueRange acc) {
            Value p = vector::LoadOp::create(b, loc, laneVector, sT,
                                             ValueRange{j, lane});
            Value row = keyRow(j);
            SmallVector<Value> next;
            for (int64_t c = 0; c < cfg.valueCols; ++c) {
              Value vd = loadF32(value, {batch, kvHead, row, m.addConst(d0, c)});
              Value vb = vector::BroadcastOp::create(b, loc, laneVector, vd);
              next.push_back(vector::FMAOp::create(b, loc, vb, p, acc[c]));
            }
            scf::YieldOp::create(b, loc, next);
          });
      for (int64_t c = 0; c < cfg.valueCols; ++c)
        vector::StoreOp::create(b, loc, loop.getResult(c), oT,
                                ValueRange{m.addConst(d0, c), lane});
    });
  });
}

/// `work_items(pairs, Sq, Skv) = pairs * numQueryTiles`.
static void buildWorkItemsFunc(OpBuilder &b, Location loc, ModuleOp module,
                               StringRef name, int64_t queryTile) {
  b.setInsertionPointToEnd(module.getBody());
  Type i64 = b.getI64Type();
  auto func = func::FuncOp::create(b, loc, name,
                                   b.getFunctionType({i64, i64, i64}, {i64}));
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  IndexMath m(b, loc);
  auto toIndex = [&](Value v) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  };
  QueryTiling tiling = QueryTiling::build(m, queryTile, toIndex(entry->getArgument(1)),
                                          toIndex(entry->getArgument(2)));
  Value items = m.mul(toIndex(entry->getArgument(0)), tiling.numQueryTiles);
  func::ReturnOp::create(b, loc,
                         ValueRange{arith::IndexCastOp::create(b, loc, i64, items)});
}

namespace {
struct ConvertAttnToCPUPass
    : public mlir::attn::impl::ConvertAttnToCPUBase<ConvertAttnToCPUPass> {
  using Base::Base;

  void runOnOperation() override;
  LogicalResult convertFunction(func::FuncOp func,
                                const TargetDescription &targetDesc);
};
} // namespace

LogicalResult
ConvertAttnToCPUPass::convertFunction(func::FuncOp func,
                                      const TargetDescription &targetDesc) {
  if (failed(checkKernelFunction(func, getArgument())))
    return failure();
  ModuleOp module = getOperation();
  auto returnOp = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  int64_t counter = 0;
  for (AttentionOp attention :
       llvm::to_vector(func.getBody().getOps<AttentionOp>())) {
    if (attention.getBudgetAttr())
      return attention.emitError()
             << "the op still carries " << attention.getBudgetAttr()
             << "; run attn-resolve-budgets first";
    if (attention.getBlocks())
      return attention.emitError()
             << "runtime-selected blocks are not lowered to CPU code yet";
    FailureOr<TileSizes> tiles = chooseTiles(attention, targetDesc, 0, 0);
    if (failed(tiles))
      return failure();
    int64_t lanes = targetDesc.vectorLanes;
    CPUKernelConfig config;
    config.queryTile = tiles->query;
    config.keyTile = tiles->key;
    int64_t vectorsPerTile = config.queryTile / lanes;
    if (config.queryTile % lanes != 0)
      return attention.emitError()
             << "query tile " << config.queryTile << " is not a multiple of "
             << targetDesc.name << "'s " << lanes << " f32 lanes";
    int64_t vectorsPerGroup =
        std::min<int64_t>(vectorsPerTile, std::max<int64_t>(
                                              1, targetDesc.accumulators / 4));
    while (vectorsPerTile % vectorsPerGroup != 0)
      --vectorsPerGroup;
    config.laneGroup = vectorsPerGroup * lanes;
    config.keyRows = std::max<int64_t>(1, targetDesc.accumulators /
                                              vectorsPerGroup);
    config.valueCols = config.keyRows;
    while (config.keyTile % config.keyRows != 0)
      --config.keyRows;
    int64_t valueDim = attention.getValue().getType().getDimSize(3);
    int64_t headDim = attention.getHeadDim();
    if (ShapedType::isDynamic(headDim) || ShapedType::isDynamic(valueDim))
      return attention.emitError()
             << "the CPU kernels need static head dims, found D = "
             << (ShapedType::isDynamic(headDim) ? std::string("?")
                                                : std::to_string(headDim))
             << ", Dv = "
             << (ShapedType::isDynamic(valueDim) ? std::string("?")
                                                 : std::to_string(valueDim));
    while (valueDim % config.valueCols != 0)
      --config.valueCols;
    if (failed(PatternEmitter::checkSupported(
            attention.getEffectivePattern(), config.queryTile, config.keyTile,
            [&] { return attention.emitError(); })))
      return failure();

    std::string name =
        (func.getSymName() + "_attn" + Twine(counter++)).str();
    if (SymbolTable::lookupSymbolIn(module, name))
      return attention.emitError()
             << "kernel name '" << name << "' is already taken in the module";
    bool gated = attention.getGates() || attention.getActive();
    CPUKernelBuilder builder(attention, config, module);
    func::FuncOp kernel = builder.build(name, gated);
    OpBuilder b(attention.getContext());
    std::string workItems = name + "_work_items";
    buildWorkItemsFunc(b, attention.getLoc(), module, workItems,
                       config.queryTile);

    // What the artifact's manifest needs about this kernel.
    auto argNumber = [](Value v) {
      return static_cast<int64_t>(getKernelArgument(v).getArgNumber());
    };
    SmallVector<int64_t> operandArgs = {argNumber(attention.getQuery()),
                                        argNumber(attention.getKey()),
                                        argNumber(attention.getValue())};
    StringRef gatesKind = "none";
    if (Value g = attention.getGates()) {
      operandArgs.push_back(argNumber(g));
      gatesKind = "gates";
    } else if (Value a = attention.getActive()) {
      operandArgs.push_back(argNumber(a));
      // Compacted from gates inside the function, or given as a list.
      gatesKind = a.getDefiningOp<ActiveHeadsOp>() ? "gates" : "active";
    }
    int64_t resultIndex = -1;
    for (OpOperand &use : returnOp->getOpOperands())
      if (use.get() == attention.getResult())
        resultIndex = use.getOperandNumber();
    auto staticOr = [](int64_t v) {
      return ShapedType::isDynamic(v) ? int64_t(-1) : v;
    };
    Type elementType = attention.getQueryType().getElementType();
    StringRef dtype = elementType.isF32()   ? "f32"
                      : elementType.isF16() ? "f16"
                                            : "bf16";
    NamedAttrList info;
    info.append("dtype", b.getStringAttr(dtype));
    info.append("head_dim", b.getI64IntegerAttr(headDim));
    info.append("value_dim", b.getI64IntegerAttr(valueDim));
    info.append("query_tile", b.getI64IntegerAttr(config.queryTile));
    info.append("key_tile", b.getI64IntegerAttr(config.keyTile));
    info.append("gated", b.getBoolAttr(gated));
    info.append("gates", b.getStringAttr(gatesKind));
    info.append("pattern", attention.getEffectivePattern());
    info.append("scale", b.getF64FloatAttr(attention.getEffectiveScale()));
    info.append("query_heads", b.getI64IntegerAttr(attention.getNumQueryHeads()));
    info.append("key_heads",
                b.getI64IntegerAttr(attention.getNumKeyValueHeads()));
    info.append("batch",
                b.getI64IntegerAttr(staticOr(attention.getQueryType().getDimSize(0))));
    info.append("query_len",
                b.getI64IntegerAttr(staticOr(attention.getQueryType().getDimSize(2))));
    info.append("key_len",
                b.getI64IntegerAttr(staticOr(attention.getKeyType().getDimSize(2))));
    info.append("source", b.getStringAttr(func.getSymName()));
    info.append("operand_args", b.getDenseI64ArrayAttr(operandArgs));
    info.append("result_index", b.getI64IntegerAttr(resultIndex));
    info.append("work_items", b.getStringAttr(workItems));
    kernel->setAttr(AttnDialect::kCPUKernelAttrName, info.getDictionary(b.getContext()));
  }
  func.erase();
  return success();
}

void ConvertAttnToCPUPass::runOnOperation() {
  ModuleOp module = getOperation();
  const TargetDescription *targetDesc = lookupTarget(target);
  if (!targetDesc || targetDesc->kind != TargetDescription::Kind::CPU) {
    std::string names;
    llvm::raw_string_ostream os(names);
    llvm::interleaveComma(
        llvm::make_filter_range(getTargets(),
                                [](const TargetDescription &t) {
                                  return t.kind == TargetDescription::Kind::CPU;
                                }),
        os, [&](const TargetDescription &t) { os << t.name; });
    module.emitError() << "attn-convert-to-cpu: unknown CPU target '" << target
                       << "'; known CPU targets: " << names;
    return signalPassFailure();
  }
  SmallVector<func::FuncOp> functions;
  for (func::FuncOp func : module.getOps<func::FuncOp>())
    if (!func.getBody().empty() && !func.getBody().getOps<AttentionOp>().empty())
      functions.push_back(func);
  for (func::FuncOp func : functions)
    if (failed(convertFunction(func, *targetDesc)))
      return signalPassFailure();
}
