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

#include "CPUKernels.h"
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
  /// `#attn.selected`: the key loop walks the `blocks` operand's list of
  /// `slots` key blocks of `keyBlockTiles` key tiles each, and query tiles
  /// are the selection's query blocks, counted in rows (not positions).
  bool selected = false;
  int64_t slots = 0;
  int64_t keyBlockTiles = 1;
};

/// One key loop of a kernel: attention has one; `attn.sparse_branches` has
/// its compressed, selected and window branches, run in turn over the same
/// query tile.
struct KeyBranch {
  /// Decides visibility (on mapped slots for the compressed branch).
  PatternAttrInterface pattern;
  /// Walks the `blocks` list instead of the pattern's hull.
  bool selected = false;
  /// Keys are compressed slots placed at positions by this map.
  std::optional<CompressedKeyMap> compressed;
  /// The kernel arguments holding this branch's keys and values.
  unsigned keyArg = 1, valueArg = 2;
};

/// Builds the kernel of one attn.attention.
class CPUKernelBuilder {
public:
  CPUKernelBuilder(AttentionOp op, const CPUKernelConfig &config,
                   ModuleOp module)
      : cfg(config), module(module), b(op.getContext()), loc(op.getLoc()),
        m(b, loc) {
    describe(op.getQueryType(), op.getKeyType(), op.getValue().getType(),
             op.getEffectiveScale());
    KeyBranch branch;
    branch.pattern = op.getEffectivePattern();
    branch.selected = config.selected;
    branches.push_back(branch);
  }
  /// `attn.sparse_branches`: `config` describes the selected branch (query
  /// tiles are its query blocks, for all three branches).
  CPUKernelBuilder(SparseBranchesOp op, const CPUKernelConfig &config,
                   ModuleOp module)
      : cfg(config), module(module), b(op.getContext()), loc(op.getLoc()),
        m(b, loc) {
    describe(op.getQueryType(), op.getKeyType(), op.getValue().getType(),
             op.getEffectiveScale());
    weightsType = op.getWeights().getType().getElementType();
    CompressedKeyMap map{int64_t(op.getCompressBlock()),
                         op.getEffectiveCompressStride(), op.getCausal()};
    KeyBranch compressed, selected, window;
    compressed.pattern = map.pattern(op.getContext());
    compressed.compressed = map;
    compressed.keyArg = 3;
    compressed.valueArg = 4;
    selected.pattern = op.getSelected();
    selected.selected = true;
    window.pattern = op.getWindow();
    branches = {compressed, selected, window};
  }

  /// The attention kernel: (q, k, v, out[, active][, blocks], begin, end).
  func::FuncOp build(StringRef name, bool gated);
  /// The sparse_branches kernel, of the operand convention: (q, k, v, ck,
  /// cv, blocks, weights, out, begin, end).
  func::FuncOp buildBranches(StringRef name);

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

  void describe(RankedTensorType queryType, RankedTensorType keyType,
                RankedTensorType valueType, double scale) {
    elementType = queryType.getElementType();
    headDim = queryType.getDimSize(3);
    valueDim = valueType.getDimSize(3);
    queryHeads = queryType.getDimSize(1);
    keyHeads = keyType.getDimSize(1);
    groupSize = queryHeads / keyHeads;
    foldedScale = scale * kLog2E;
  }
  /// The scratch and the item loop shared by both signatures.
  void emitBody(Value begin, Value end);
  void emitItem(Value item);
  /// One branch's key loop over `span`, from a fresh running state.
  void emitBranchLoop(const KeyBranch &branch, const QueryTileSpan &span,
                      Value localTile);
  /// Writes `source` (Oᵀ-shaped) times the per-lane `factor` scratch to the
  /// output rows of `span`.
  void emitStoreRows(const QueryTileSpan &span, Value source, Value factor);
  /// The key index a pattern sees for key (or slot) `k`.
  Value mappedKey(Value k) {
    return current->compressed ? current->compressed->emitPosition(m, k) : k;
  }
  /// The class of key tile `keyTileIndex` for `span`; computes it (masked
  /// or not) unless it is skipped.
  void emitVisitKeyTile(const QueryTileSpan &span, Value keyTileIndex);
  /// Selected blocks: the smallest key tile at or after `from` inside a
  /// block listed for `queryBlock`, or `tileEnd`.
  Value emitNextSelectedTile(Value queryBlock, Value from, Value tileEnd);
  void emitKeyTile(const QueryTileSpan &span, Value keyStart, bool masked,
                   const MaskContext &context);

  CPUKernelConfig cfg;
  ModuleOp module;
  OpBuilder b;
  Location loc;
  IndexMath m;
  SmallVector<KeyBranch> branches;
  const KeyBranch *current = nullptr; ///< the branch being emitted

  Type elementType, weightsType;
  int64_t headDim = 0, valueDim = 0, queryHeads = 0, keyHeads = 0,
          groupSize = 0;
  bool gated = false;
  double foldedScale = 0;

  // Kernel arguments and per-kernel values. `key`, `value` and `keyLen` are
  // the current branch's (compressed slots for the compressed branch);
  // `positionLen` is Skv, which places the rows.
  SmallVector<Value> arguments;
  Value query, key, value, out, active, blocks, weights;
  Value queryLen, keyLen, positionLen;
  QueryTiling tiling;
  // Scratch (stack): Qᵀ, Sᵀ/Pᵀ, Oᵀ, per-lane max, sum, rescale factor, and
  // for several branches the mixed output Aᵀ.
  Value qT, sT, oT, aT, rowMax, rowSum, rowAlpha;
  VectorType laneVector; ///< vector<LG x f32>.
  VectorType positionVector; ///< vector<LG x i64>.

  // Per item.
  Value batch, head, kvHead;
  std::unique_ptr<PatternEmitter> pattern;
};

} // namespace

func::FuncOp CPUKernelBuilder::build(StringRef name, bool isGated) {
  MLIRContext *ctx = b.getContext();
  gated = isGated;
  int64_t dyn = ShapedType::kDynamic;
  auto layout = StridedLayoutAttr::get(ctx, dyn, {dyn, dyn, dyn, 1});
  auto memrefOf = [&](int64_t heads, int64_t dim) {
    return MemRefType::get({dyn, heads, dyn, dim}, elementType, layout);
  };
  SmallVector<Type> argTypes = {
      memrefOf(queryHeads, headDim), memrefOf(keyHeads, headDim),
      memrefOf(keyHeads, valueDim), memrefOf(queryHeads, valueDim)};
  if (gated)
    argTypes.push_back(MemRefType::get(
        {dyn}, b.getI32Type(), StridedLayoutAttr::get(ctx, dyn, {dyn})));
  // Selected blocks: int32 [B, Hkv, ceil(Sq / qb), slots], after out (and
  // after active when gated), as cpu_kernel_abi.h says.
  if (cfg.selected)
    argTypes.push_back(MemRefType::get({dyn, keyHeads, dyn, cfg.slots},
                                       b.getI32Type(), layout));
  argTypes.push_back(b.getIndexType());
  argTypes.push_back(b.getIndexType());

  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, loc, name,
                                   b.getFunctionType(argTypes, {}));
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  arguments.assign(entry->getArguments().begin(), entry->getArguments().end());
  unsigned arg = 0;
  query = entry->getArgument(arg++);
  arg += 2; // key, value: taken per branch
  out = entry->getArgument(arg++);
  if (gated)
    active = entry->getArgument(arg++);
  if (cfg.selected)
    blocks = entry->getArgument(arg++);
  Value begin = entry->getArgument(arg++), end = entry->getArgument(arg++);
  emitBody(begin, end);
  return func;
}

func::FuncOp CPUKernelBuilder::buildBranches(StringRef name) {
  MLIRContext *ctx = b.getContext();
  int64_t dyn = ShapedType::kDynamic;
  auto layout = StridedLayoutAttr::get(ctx, dyn, {dyn, dyn, dyn, 1});
  auto memrefOf = [&](int64_t heads, int64_t dim, Type element) {
    return MemRefType::get({dyn, heads, dyn, dim}, element, layout);
  };
  SmallVector<Type> argTypes = {
      memrefOf(queryHeads, headDim, elementType),
      memrefOf(keyHeads, headDim, elementType),
      memrefOf(keyHeads, valueDim, elementType),
      memrefOf(keyHeads, headDim, elementType),
      memrefOf(keyHeads, valueDim, elementType),
      memrefOf(keyHeads, cfg.slots, b.getI32Type()),
      memrefOf(queryHeads, 3, weightsType),
      memrefOf(queryHeads, valueDim, elementType),
      b.getIndexType(),
      b.getIndexType()};
  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, loc, name,
                                   b.getFunctionType(argTypes, {}));
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  arguments.assign(entry->getArguments().begin(), entry->getArguments().end());
  query = entry->getArgument(0);
  blocks = entry->getArgument(5);
  weights = entry->getArgument(6);
  out = entry->getArgument(7);
  emitBody(entry->getArgument(8), entry->getArgument(9));
  return func;
}

void CPUKernelBuilder::emitBody(Value begin, Value end) {
  laneVector = VectorType::get({cfg.laneGroup}, b.getF32Type());
  positionVector = VectorType::get({cfg.laneGroup}, b.getI64Type());
  queryLen = memref::DimOp::create(b, loc, query, 2);
  positionLen = memref::DimOp::create(b, loc, arguments[1], 2);
  if (cfg.selected) {
    // Row-aligned query tiles: tile t is rows [t BQ, (t + 1) BQ), the
    // selection's query block t.
    tiling.queryTile = cfg.queryTile;
    tiling.firstTile = m.index(0);
    tiling.numQueryTiles = m.ceilDiv(queryLen, cfg.queryTile);
  } else {
    tiling = QueryTiling::build(m, cfg.queryTile, queryLen, positionLen);
  }

  auto scratch = [&](ArrayRef<int64_t> shape) {
    return memref::AllocaOp::create(
        b, loc, MemRefType::get(shape, b.getF32Type()), ValueRange{},
        b.getI64IntegerAttr(64));
  };
  qT = scratch({headDim, cfg.queryTile});
  sT = scratch({cfg.keyTile, cfg.queryTile});
  oT = scratch({valueDim, cfg.queryTile});
  if (branches.size() > 1)
    aT = scratch({valueDim, cfg.queryTile});
  rowMax = scratch({cfg.queryTile});
  rowSum = scratch({cfg.queryTile});
  rowAlpha = scratch({cfg.queryTile});

  forLoop(begin, end, 1, [&](Value item) { emitItem(item); });
  func::ReturnOp::create(b, loc);
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

  QueryTileSpan span;
  if (cfg.selected) {
    // Rows [localTile BQ, ...): every lane's row is >= 0, so the first real
    // row is lane 0's.
    span.offset = m.sub(positionLen, queryLen);
    span.rowBegin = m.mul(localTile, m.index(cfg.queryTile));
    span.tileStart = m.add(span.rowBegin, span.offset);
    span.first = span.tileStart;
    span.last = m.add(
        m.addConst(m.min(m.addConst(span.rowBegin, cfg.queryTile), queryLen),
                   -1),
        span.offset);
  } else {
    span = QueryTileSpan::build(m, m.add(tiling.firstTile, localTile),
                                cfg.queryTile, queryLen, positionLen);
  }

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

  if (branches.size() == 1) {
    emitBranchLoop(branches.front(), span, localTile);
    // O = Oᵀ / l; rows that saw nothing (l = 0) get zeros.
    forLoop(m.index(0), m.index(cfg.queryTile), cfg.laneGroup, [&](Value lane) {
      Value sum = vector::LoadOp::create(b, loc, laneVector, rowSum,
                                         ValueRange{lane});
      vector::StoreOp::create(b, loc, emitSafeReciprocal(b, loc, sum),
                              rowAlpha, ValueRange{lane});
    });
    emitStoreRows(span, oT, rowAlpha);
    return;
  }

  // Several branches: Aᵀ = sum over branches of w_b Oᵀ_b / l_b, each
  // branch normalised on its own, then written once.
  Value zeros = splat(laneVector, 0.0);
  forLoop(m.index(0), m.index(cfg.queryTile), cfg.laneGroup, [&](Value lane) {
    forLoop(m.index(0), m.index(valueDim), 1, [&](Value d) {
      vector::StoreOp::create(b, loc, zeros, aT, ValueRange{d, lane});
    });
  });
  for (auto [index, branch] : llvm::enumerate(branches)) {
    emitBranchLoop(branch, span, localTile);
    forLoop(m.index(0), m.index(cfg.queryTile), cfg.laneGroup, [&](Value lane) {
      Value sum = vector::LoadOp::create(b, loc, laneVector, rowSum,
                                         ValueRange{lane});
      vector::StoreOp::create(b, loc, emitSafeReciprocal(b, loc, sum),
                              rowAlpha, ValueRange{lane});
    });
    // Each real row's weight (rows past Sq keep 1 / l: they are not
    // stored).
    forLoop(m.index(0), m.index(cfg.queryTile), 1, [&](Value lane) {
      Value row = m.add(span.rowBegin, lane);
      Value real = m.andI(m.cmpConst(CmpIPredicate::sge, row, 0),
                          m.cmp(CmpIPredicate::slt, row, queryLen));
      ifThen(real, [&] {
        Value w = loadF32(weights, {batch, head, row, m.index(index)});
        Value inverse =
            memref::LoadOp::create(b, loc, rowAlpha, ValueRange{lane});
        memref::StoreOp::create(b, loc,
                                arith::MulFOp::create(b, loc, w, inverse),
                                rowAlpha, ValueRange{lane});
      });
    });
    forLoop(m.index(0), m.index(cfg.queryTile), cfg.laneGroup, [&](Value lane) {
      Value factor = vector::LoadOp::create(b, loc, laneVector, rowAlpha,
                                            ValueRange{lane});
      forLoop(m.index(0), m.index(valueDim), 1, [&](Value d) {
        Value o = vector::LoadOp::create(b, loc, laneVector, oT,
                                         ValueRange{d, lane});
        Value a = vector::LoadOp::create(b, loc, laneVector, aT,
                                         ValueRange{d, lane});
        vector::StoreOp::create(b, loc,
                                vector::FMAOp::create(b, loc, o, factor, a),
                                aT, ValueRange{d, lane});
      });
    });
  }
  Value ones = splat(laneVector, 1.0);
  forLoop(m.index(0), m.index(cfg.queryTile), cfg.laneGroup, [&](Value lane) {
    vector::StoreOp::create(b, loc, ones, rowAlpha, ValueRange{lane});
  });
  emitStoreRows(span, aT, rowAlpha);
}

void CPUKernelBuilder::emitBranchLoop(const KeyBranch &branch,
                                      const QueryTileSpan &span,
                                      Value localTile) {
  current = &branch;
  key = arguments[branch.keyArg];
  value = arguments[branch.valueArg];
  keyLen = branch.compressed ? memref::DimOp::create(b, loc, key, 2).getResult()
                             : positionLen;
  pattern = std::make_unique<PatternEmitter>(m, branch.pattern, head, module);

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
  if (auto random = dyn_cast<RandomBlocksAttr>(branch.pattern)) {
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
  } else if (branch.selected) {
    // Selected blocks: the listed tiles in increasing order, each once,
    // within the bound's hull (causal: up to the last row's position).
    Value hi = pattern->emitKeyHull(span.first, span.last, keyLen).second;
    Value tileEnd = m.ceilDiv(hi, cfg.keyTile);
    Type indexType = b.getIndexType();
    scf::WhileOp::create(
        b, loc, TypeRange{indexType}, ValueRange{m.index(0)},
        [&](OpBuilder &, Location, ValueRange args) {
          Value next = emitNextSelectedTile(localTile, args[0], tileEnd);
          scf::ConditionOp::create(b, loc,
                                   m.cmp(CmpIPredicate::slt, next, tileEnd),
                                   ValueRange{next});
        },
        [&](OpBuilder &, Location, ValueRange args) {
          emitVisitKeyTile(span, args[0]);
          scf::YieldOp::create(b, loc, ValueRange{m.addConst(args[0], 1)});
        });
  } else if (branch.compressed) {
    // Slots [0, end) hold every one the tile's last row sees.
    Value slotEnd = branch.compressed->emitSlotEnd(m, span.last, keyLen);
    forLoop(m.index(0), m.ceilDiv(slotEnd, cfg.keyTile), 1,
            [&](Value keyTileIndex) { emitVisitKeyTile(span, keyTileIndex); });
  } else {
    auto [lo, hi] = pattern->emitKeyHull(span.first, span.last, keyLen);
    Value firstKeyTile = m.floorDiv(lo, cfg.keyTile);
    Value endKeyTile = m.ceilDiv(hi, cfg.keyTile);
    forLoop(firstKeyTile, endKeyTile, 1, [&](Value keyTileIndex) {
      emitVisitKeyTile(span, keyTileIndex);
    });
  }

}

void CPUKernelBuilder::emitStoreRows(const QueryTileSpan &span, Value source,
                                     Value factor) {
  auto storeLanes = [&](Value firstLane, int64_t count) {
    forLoop(firstLane, m.addConst(firstLane, count), 1, [&](Value lane) {
      Value row = m.add(span.rowBegin, lane);
      Value real = m.andI(m.cmpConst(CmpIPredicate::sge, row, 0),
                          m.cmp(CmpIPredicate::slt, row, queryLen));
      ifThen(real, [&] {
        Value inverse =
            memref::LoadOp::create(b, loc, factor, ValueRange{lane});
        forLoop(m.index(0), m.index(valueDim), 1, [&](Value d) {
          Value x = memref::LoadOp::create(b, loc, source, ValueRange{d, lane});
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
                                                   factor, ValueRange{lane0});
            forLoop(m.index(0), m.index(valueDim), kTransposeBlock, [&](Value d0) {
              SmallVector<Value> cols;
              for (int64_t i = 0; i < kTransposeBlock; ++i)
                cols.push_back(vector::LoadOp::create(
                    b, loc, blockVector(), source,
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

void CPUKernelBuilder::emitVisitKeyTile(const QueryTileSpan &span,
                                        Value keyTileIndex) {
  Value keyStart = m.mul(keyTileIndex, m.index(cfg.keyTile));
  Value keyEnd = m.min(m.addConst(keyStart, cfg.keyTile), keyLen);
  MaskContext context;
  KeyTileClass cls =
      pattern->emitTileClass(span.first, span.last, mappedKey(keyStart),
                             mappedKey(m.addConst(keyEnd, -1)), context);
  ifThen(cls.any, [&] {
    Value ragged =
        m.cmp(CmpIPredicate::sgt, m.addConst(keyStart, cfg.keyTile), keyLen);
    Value needsMask = m.orI(m.notI(cls.full), ragged);
    ifThen(
        needsMask,
        [&] { emitKeyTile(span, keyStart, /*masked=*/true, context); },
        [&] { emitKeyTile(span, keyStart, /*masked=*/false, context); });
  });
}

/// A min over the list's slots of the first tile at or after `from` in each
/// listed block: lists in any order, duplicates, -1 and blocks past the keys
/// all work (a block is a candidate only while it has tiles at or after
/// `from`, and `from` only grows), so no tile is computed twice and a bad
/// entry is never followed. O(slots) per visited tile, next to a tile's
/// O(tile x tile x D) work.
Value CPUKernelBuilder::emitNextSelectedTile(Value queryBlock, Value from,
                                             Value tileEnd) {
  const int64_t perBlock = cfg.keyBlockTiles;
  Value numKeyBlocks = m.ceilDiv(keyLen, cfg.keyTile * perBlock);
  auto scan = scf::ForOp::create(
      b, loc, m.index(0), m.index(cfg.slots), m.index(1), ValueRange{tileEnd},
      [&](OpBuilder &, Location, Value slot, ValueRange best) {
        Value listed = memref::LoadOp::create(
            b, loc, blocks, ValueRange{batch, kvHead, queryBlock, slot});
        // Sign-extended: -1 stays -1.
        Value block =
            arith::IndexCastOp::create(b, loc, b.getIndexType(), listed);
        Value start = m.mul(block, m.index(perBlock));
        Value candidate = m.max(from, start);
        // One op per statement: as call arguments their order would be the
        // compiler's (gcc and clang differ; the lit test reads it).
        Value reaches =
            m.cmp(CmpIPredicate::slt, from, m.addConst(start, perBlock));
        Value inRange = m.cmp(CmpIPredicate::slt, block, numKeyBlocks);
        Value listedValid = m.cmpConst(CmpIPredicate::sge, block, 0);
        Value ok = m.andI(m.andI(listedValid, inRange), reaches);
        scf::YieldOp::create(
            b, loc, ValueRange{m.min(best[0], m.select(ok, candidate, tileEnd))});
      });
  return scan.getResult(0);
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
            Value visible =
                pattern->emitVisible(context, positions, mappedKey(k));
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

/// `work_items(pairs, Sq, Skv) = pairs * headsPerPair * numQueryTiles`:
/// position-aligned query tiles, or with `rowAligned` (selected blocks)
/// ceil(Sq / queryTile). Attention's pairs are (batch, query head); the
/// operand convention passes (batch, KV head) pairs, so sparse_branches
/// kernels multiply by the group size.
static void buildWorkItemsFunc(OpBuilder &b, Location loc, ModuleOp module,
                               StringRef name, int64_t queryTile,
                               bool rowAligned, int64_t headsPerPair = 1) {
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
  Value queryLen = toIndex(entry->getArgument(1));
  Value numQueryTiles =
      rowAligned ? m.ceilDiv(queryLen, queryTile)
                 : QueryTiling::build(m, queryTile, queryLen,
                                      toIndex(entry->getArgument(2)))
                       .numQueryTiles;
  Value items = m.mul(m.mul(toIndex(entry->getArgument(0)),
                            m.index(headsPerPair)),
                      numQueryTiles);
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
  FailureOr<func::FuncOp> convertAttention(AttentionOp attention,
                                           StringRef name,
                                           const TargetDescription &targetDesc,
                                           NamedAttrList &info);
  FailureOr<func::FuncOp>
  convertSparseBranches(SparseBranchesOp op, StringRef name,
                        StringRef workItems,
                        const TargetDescription &targetDesc,
                        NamedAttrList &info);
};
} // namespace

/// The manifest entries every kernel has (docs/sparse-projection.md,
/// section 3): its op, the function's inputs it reads (`operand_args`, in
/// the op's operand order; attention's active list by the gates argument it
/// was compacted from), the outputs it writes (`result_args`), its source
/// function and its work-item function.
static void appendCommonInfo(OpBuilder &b, Operation *op, StringRef opName,
                             func::FuncOp func, func::ReturnOp returnOp,
                             StringRef workItems, NamedAttrList &info) {
  SmallVector<int64_t> operandArgs, resultArgs;
  for (Value operand : op->getOperands())
    operandArgs.push_back(getKernelArgument(operand).getArgNumber());
  for (Value result : op->getResults()) {
    int64_t index = -1;
    for (OpOperand &use : returnOp->getOpOperands())
      if (use.get() == result)
        index = use.getOperandNumber();
    resultArgs.push_back(index);
  }
  info.append("op", b.getStringAttr(opName));
  info.append("source", b.getStringAttr(func.getSymName()));
  info.append("operand_args", b.getDenseI64ArrayAttr(operandArgs));
  info.append("result_args", b.getDenseI64ArrayAttr(resultArgs));
  info.append("work_items", b.getStringAttr(workItems));
}

static int64_t staticOrMinusOne(int64_t v) {
  return ShapedType::isDynamic(v) ? int64_t(-1) : v;
}

/// Register blocking for query tiles of `queryTile` lanes and key tiles of
/// `keyTile` keys on `target`, or an error on `op`.
static FailureOr<CPUKernelConfig>
chooseRegisterBlocking(Operation *op, const TargetDescription &target,
                       int64_t queryTile, int64_t keyTile, int64_t headDim,
                       int64_t valueDim) {
  int64_t lanes = target.vectorLanes;
  CPUKernelConfig config;
  config.queryTile = queryTile;
  config.keyTile = keyTile;
  int64_t vectorsPerTile = config.queryTile / lanes;
  if (config.queryTile % lanes != 0)
    return op->emitError() << "query tile " << config.queryTile
                           << " is not a multiple of " << target.name << "'s "
                           << lanes << " f32 lanes";
  int64_t vectorsPerGroup = std::min<int64_t>(
      vectorsPerTile, std::max<int64_t>(1, target.accumulators / 4));
  while (vectorsPerTile % vectorsPerGroup != 0)
    --vectorsPerGroup;
  config.laneGroup = vectorsPerGroup * lanes;
  config.keyRows = std::max<int64_t>(1, target.accumulators / vectorsPerGroup);
  config.valueCols = config.keyRows;
  while (config.keyTile % config.keyRows != 0)
    --config.keyRows;
  if (ShapedType::isDynamic(headDim) || ShapedType::isDynamic(valueDim))
    return op->emitError()
           << "the CPU kernels need static head dims, found D = "
           << (ShapedType::isDynamic(headDim) ? std::string("?")
                                              : std::to_string(headDim))
           << ", Dv = "
           << (ShapedType::isDynamic(valueDim) ? std::string("?")
                                               : std::to_string(valueDim));
  while (valueDim % config.valueCols != 0)
    --config.valueCols;
  return config;
}

FailureOr<func::FuncOp> ConvertAttnToCPUPass::convertAttention(
    AttentionOp attention, StringRef name, const TargetDescription &targetDesc,
    NamedAttrList &info) {
  if (attention.getBudgetAttr())
    return attention.emitError()
           << "the op still carries " << attention.getBudgetAttr()
           << "; run attn-resolve-budgets first";
  FailureOr<TileSizes> tiles = chooseTiles(attention, targetDesc, 0, 0);
  if (failed(tiles))
    return failure();
  int64_t valueDim = attention.getValue().getType().getDimSize(3);
  int64_t headDim = attention.getHeadDim();
  FailureOr<CPUKernelConfig> blocking = chooseRegisterBlocking(
      attention, targetDesc, tiles->query, tiles->key, headDim, valueDim);
  if (failed(blocking))
    return failure();
  CPUKernelConfig config = *blocking;
  PatternAttrInterface pattern = attention.getEffectivePattern();
  if (failed(PatternEmitter::checkSupported(
          pattern, config.queryTile, config.keyTile,
          [&] { return attention.emitError(); })))
    return failure();
  auto selected = dyn_cast<SelectedAttr>(pattern);
  if (attention.getBlocks()) {
    // checkSupported accepts #attn.selected only as the whole pattern.
    FailureOr<int64_t> slots = staticBlockSlots(attention, getArgument());
    if (failed(slots))
      return failure();
    config.selected = true;
    config.slots = *slots;
    config.keyBlockTiles = selected.getKeyBlock() / config.keyTile;
  }

  bool gated = attention.getGates() || attention.getActive();
  CPUKernelBuilder builder(attention, config, getOperation());
  func::FuncOp kernel = builder.build(name, gated);

  OpBuilder b(attention.getContext());
  StringRef gatesKind = "none";
  if (attention.getGates())
    gatesKind = "gates";
  else if (Value a = attention.getActive())
    // Compacted from gates inside the function, or given as a list.
    gatesKind = a.getDefiningOp<ActiveHeadsOp>() ? "gates" : "active";
  RankedTensorType queryType = attention.getQueryType();
  Type elementType = queryType.getElementType();
  StringRef dtype = elementType.isF32()   ? "f32"
                    : elementType.isF16() ? "f16"
                                          : "bf16";
  info.append("dtype", b.getStringAttr(dtype));
  info.append("head_dim", b.getI64IntegerAttr(headDim));
  info.append("value_dim", b.getI64IntegerAttr(valueDim));
  info.append("query_tile", b.getI64IntegerAttr(config.queryTile));
  info.append("key_tile", b.getI64IntegerAttr(config.keyTile));
  info.append("gated", b.getBoolAttr(gated));
  info.append("gates", b.getStringAttr(gatesKind));
  info.append("pattern", pattern);
  info.append("scale", b.getF64FloatAttr(attention.getEffectiveScale()));
  info.append("query_heads", b.getI64IntegerAttr(attention.getNumQueryHeads()));
  info.append("key_heads",
              b.getI64IntegerAttr(attention.getNumKeyValueHeads()));
  info.append("batch",
              b.getI64IntegerAttr(staticOrMinusOne(queryType.getDimSize(0))));
  info.append("query_len",
              b.getI64IntegerAttr(staticOrMinusOne(queryType.getDimSize(2))));
  info.append("key_len", b.getI64IntegerAttr(staticOrMinusOne(
                             attention.getKeyType().getDimSize(2))));
  if (config.selected)
    appendSelectedBlocksInfo(selected, config.slots, info);
  buildWorkItemsFunc(b, attention.getLoc(), getOperation(),
                     (name + "_work_items").str(), config.queryTile,
                     /*rowAligned=*/config.selected);
  return kernel;
}

FailureOr<func::FuncOp> ConvertAttnToCPUPass::convertSparseBranches(
    SparseBranchesOp op, StringRef name, StringRef workItems,
    const TargetDescription &targetDesc, NamedAttrList &info) {
  SelectedAttr selected = op.getSelected();
  // One query tile for the three branches: the selected branch's query
  // block (row-aligned); key tiles are its key blocks.
  int64_t valueDim = op.getValue().getType().getDimSize(3);
  FailureOr<CPUKernelConfig> blocking = chooseRegisterBlocking(
      op, targetDesc, selected.getQueryBlock(), selected.getKeyBlock(),
      op.getHeadDim(), valueDim);
  if (failed(blocking))
    return failure();
  CPUKernelConfig config = *blocking;
  if (failed(checkSparseBranchesSupported(op, config.queryTile,
                                          config.keyTile)))
    return failure();
  config.selected = true;
  config.slots = op.getBlocks().getType().getDimSize(3);
  config.keyBlockTiles = 1;
  CPUKernelBuilder builder(op, config, getOperation());
  func::FuncOp kernel = builder.buildBranches(name);

  OpBuilder b(op.getContext());
  appendSparseBranchesInfo(op, info);
  info.append("query_tile", b.getI64IntegerAttr(config.queryTile));
  info.append("key_tile", b.getI64IntegerAttr(config.keyTile));
  buildWorkItemsFunc(b, op.getLoc(), getOperation(), workItems,
                     config.queryTile, /*rowAligned=*/true,
                     op.getNumQueryHeads() / op.getNumKeyValueHeads());
  return kernel;
}

LogicalResult
ConvertAttnToCPUPass::convertFunction(func::FuncOp func,
                                      const TargetDescription &targetDesc) {
  if (failed(checkKernelFunction(func, getArgument(), kAllKernelOps)))
    return failure();
  ModuleOp module = getOperation();
  auto returnOp = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  // One counter per op kind: <func>_attn<N>, <func>_select<N>,
  // <func>_compress<N>, <func>_branches<N>.
  int64_t attentionCount = 0, selectCount = 0, compressCount = 0,
          branchesCount = 0;
  for (Operation &inner : llvm::make_early_inc_range(func.getBody().getOps())) {
    if (!isa<AttentionOp, SelectBlocksOp, CompressKVOp, SparseBranchesOp>(
            inner))
      continue;
    StringRef kind = isa<AttentionOp>(inner)        ? "attn"
                     : isa<SelectBlocksOp>(inner)   ? "select"
                     : isa<SparseBranchesOp>(inner) ? "branches"
                                                    : "compress";
    int64_t &counter = isa<AttentionOp>(inner)        ? attentionCount
                       : isa<SelectBlocksOp>(inner)   ? selectCount
                       : isa<SparseBranchesOp>(inner) ? branchesCount
                                                      : compressCount;
    std::string name =
        (func.getSymName() + "_" + kind + Twine(counter++)).str();
    std::string workItems = name + "_work_items";
    for (StringRef symbol : {StringRef(name), StringRef(workItems)})
      if (SymbolTable::lookupSymbolIn(module, symbol))
        return inner.emitError() << "kernel name '" << symbol
                                 << "' is already taken in the module";

    NamedAttrList info;
    FailureOr<func::FuncOp> kernel = failure();
    StringRef opName;
    if (auto attention = dyn_cast<AttentionOp>(inner)) {
      opName = "attention";
      kernel = convertAttention(attention, name, targetDesc, info);
    } else if (auto branches = dyn_cast<SparseBranchesOp>(inner)) {
      opName = "sparse_branches";
      kernel = convertSparseBranches(branches, name, workItems, targetDesc,
                                     info);
    } else if (auto select = dyn_cast<SelectBlocksOp>(inner)) {
      opName = "select_blocks";
      kernel = buildSelectBlocksCPUKernel(select, module, name, workItems, info);
    } else {
      opName = "compress_kv";
      kernel = buildCompressKVCPUKernel(cast<CompressKVOp>(inner), module, name,
                                        workItems, info);
    }
    if (failed(kernel))
      return failure();
    OpBuilder b(inner.getContext());
    appendCommonInfo(b, &inner, opName, func, returnOp, workItems, info);
    // Attention kernels keep result_index, which runtimes before
    // select_blocks read.
    if (isa<AttentionOp>(inner))
      info.append("result_index",
                  b.getI64IntegerAttr(
                      cast<DenseI64ArrayAttr>(info.get("result_args"))[0]));
    (*kernel)->setAttr(AttnDialect::kCPUKernelAttrName,
                       info.getDictionary(b.getContext()));
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
    if (hasKernelOps(func))
      functions.push_back(func);
  for (func::FuncOp func : functions)
    if (failed(convertFunction(func, *targetDesc)))
      return signalPassFailure();
}
