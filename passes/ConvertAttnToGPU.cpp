//===- ConvertAttnToGPU.cpp - attn.attention -> tensor-core GPU kernels ---===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The GPU back end of the shared tiling step (attn/Tiling/AttentionTiling.h):
// an FA2-style forward kernel per attn.attention, op for op the structure of
// the prototype bench/gpu/prototype/gen_fa.py (docs/gpu-notes.md, sections
// 1 and 4), which ran correctly on an H100.
//
//  - block = 128 threads = 4 warps x 16 query rows: a 64-row query tile
//    (row-aligned: r0 = 64 * blockIdx.x); blockIdx.y = b * Hq + h;
//  - Q, K, V tiles of 64 x D through shared memory rows padded by 8
//    elements, filled with cp.async (zero-filled past Sq / Skv);
//  - S = Q Kᵀ and O += P V with nvvm.mma.sync m16n8k16 (bf16 or f16 inputs,
//    f32 accumulators), Q fragments kept in registers, P repacked from the
//    S accumulators into A fragments in registers;
//  - online softmax with ex2.approx (scale x log2 e folded), the running
//    max guard, the final 1/l (0 for rows that saw nothing);
//  - epilogue through shared memory, 16-byte global stores.
//
// The pattern comes from PatternEmitter: the key hull bounds the key-tile
// loop, the tile class skips tiles nothing sees (`any`) and applies the
// element mask only where not every pair is visible (`full`) or the tile is
// ragged, and the element mask is emitVisible on this thread's two query
// positions (a vector<2xi64>) per key. Other analytic patterns need no
// kernel change, only the checks below relaxed once they are validated.
//
//===----------------------------------------------------------------------===//

#include "PlanSupport.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Tiling/AttentionTiling.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/SymbolTable.h"

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

/// The fixed configuration of the first GPU kernel (gen_fa.py).
struct GPUKernelConfig {
  static constexpr int64_t kQueryTile = 64; ///< Br: 4 warps x 16 rows.
  static constexpr int64_t kKeyTile = 64;   ///< Bc.
  static constexpr int64_t kThreads = 128;
  static constexpr int64_t kPad = 8; ///< smem row padding (elements).
  int64_t headDim = 64;
  bool dynamicShared = false;
  int64_t sharedBytes() const {
    return 3 * kQueryTile * (headDim + kPad) * 2;
  }
};

class GPUKernelBuilder {
public:
  GPUKernelBuilder(AttentionOp op, const GPUKernelConfig &cfg, ModuleOp module)
      : op(op), cfg(cfg), module(module), b(op.getContext()),
        loc(op.getLoc()), m(b, loc) {}

  gpu::GPUFuncOp build(gpu::GPUModuleOp gpuModule, StringRef name);

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
  SmallVector<Value> ldmatrix4(Value mem, Value row, Value col, bool trans);
  SmallVector<Value> mma(ArrayRef<Value> a, ArrayRef<Value> bFrag,
                         ArrayRef<Value> c);
  Value quadReduce(Value x, bool isMax);
  Value copyTile(Value gmem, Value base, Value stride, Value start,
                 Value limit, Value smem);
  SmallVector<Value> emitKeyTile(Value kt, ValueRange iters,
                                 const MaskContext &context, Value needMask);

  AttentionOp op;
  GPUKernelConfig cfg;
  ModuleOp module;
  OpBuilder b;
  Location loc;
  IndexMath m;

  Type elementType;
  bool isBF16 = true;
  int64_t D = 0, HQ = 0, HKV = 0;
  VectorType pairType;   ///< vector<2 x elem>.
  MemRefType globalType; ///< memref<4294967296 x elem>.
  MemRefType sharedType; ///< memref<64 x (D+8) x elem, workgroup>.
  VectorType accType;    ///< vector<4xf32>.
  VectorType rowType;    ///< vector<2xf32>.

  // Per-kernel values.
  Value q, k, v, o, sQ, sK, sV;
  Value tid, lane, g, t2, l16, l16c, l8, l8c, wrow;
  Value kbase, vbase, ks2, vs2, keyLen, sl2, ninf, zero;
  Value positions;
  SmallVector<SmallVector<Value>> qa;
  std::unique_ptr<PatternEmitter> pattern;
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

/// cp.async a [64 x D] tile: rows `start..` of `gmem`; rows >= `limit` are
/// zero-filled (source size 0, the row clamped to stay a valid address).
Value GPUKernelBuilder::copyTile(Value gmem, Value base, Value stride,
                                 Value start, Value limit, Value smem) {
  int64_t chunksPerRow = D / 8;
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  SmallVector<Value> tokens;
  Value lim1 = m.sub(limit, idx(1));
  for (int64_t i = 0; i < GPUKernelConfig::kQueryTile * chunksPerRow /
                              GPUKernelConfig::kThreads;
       ++i) {
    Value c = addC(tid, GPUKernelConfig::kThreads * i);
    Value row = divC(c, chunksPerRow);
    Value col = mulC(remC(c, chunksPerRow), 8);
    Value gr = add(start, row);
    Value ok = m.cmp(CmpIPredicate::slt, gr, limit);
    Value n = m.select(ok, idx(8), idx(0));
    Value grc = m.max(m.min(gr, lim1), idx(0));
    Value src = add(add(base, mul(grc, stride)), col);
    tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
        b, loc, tokenType, smem, ValueRange{row, col}, gmem, ValueRange{src},
        b.getIndexAttr(8), n, b.getUnitAttr()));
  }
  return nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, tokenType, tokens);
}

gpu::GPUFuncOp GPUKernelBuilder::build(gpu::GPUModuleOp gpuModule,
                                       StringRef name) {
  MLIRContext *ctx = op.getContext();
  elementType = op.getQueryType().getElementType();
  isBF16 = elementType.isBF16();
  D = cfg.headDim;
  HQ = op.getNumQueryHeads();
  HKV = op.getNumKeyValueHeads();
  const int64_t BR = GPUKernelConfig::kQueryTile;
  const int64_t BC = GPUKernelConfig::kKeyTile;
  const int64_t LD = D + GPUKernelConfig::kPad;
  const int64_t NKD = D / 16, NDN = D / 8;
  pairType = VectorType::get({2}, elementType);
  globalType = MemRefType::get({int64_t(1) << 32}, elementType);
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  sharedType =
      MemRefType::get({BR, LD}, elementType, MemRefLayoutAttrInterface{},
                      workgroup);
  accType = VectorType::get({4}, b.getF32Type());
  rowType = VectorType::get({2}, b.getF32Type());

  // Signature: q, k, v, o; {q,k,v,o}.stride[0..2]; Sq, Skv; scale.
  SmallVector<Type> argTypes(4, globalType);
  argTypes.append(12, b.getI64Type());
  argTypes.append({b.getI32Type(), b.getI32Type(), b.getF32Type()});
  SmallVector<Type> workgroupTypes;
  if (!cfg.dynamicShared)
    workgroupTypes.assign(3, sharedType);

  b.setInsertionPointToEnd(gpuModule.getBody());
  auto func = gpu::GPUFuncOp::create(b, loc, name,
                                     b.getFunctionType(argTypes, {}),
                                     workgroupTypes, TypeRange{});
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSize(
      ArrayRef<int32_t>{int32_t(GPUKernelConfig::kThreads), 1, 1});
  for (unsigned i = 0; i < workgroupTypes.size(); ++i)
    func.setWorkgroupAttributionAttr(i, "llvm.align", b.getI64IntegerAttr(16));
  Block *entry = &func.getBody().front();
  b.setInsertionPointToStart(entry);

  q = entry->getArgument(0);
  k = entry->getArgument(1);
  v = entry->getArgument(2);
  o = entry->getArgument(3);
  if (cfg.dynamicShared) {
    auto bytesType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                     MemRefLayoutAttrInterface{}, workgroup);
    Value dsm = gpu::DynamicSharedMemoryOp::create(b, loc, bytesType);
    SmallVector<Value> tiles;
    for (int64_t i = 0; i < 3; ++i)
      tiles.push_back(memref::ViewOp::create(b, loc, sharedType, dsm,
                                             idx(i * BR * LD * 2),
                                             ValueRange{}));
    sQ = tiles[0], sK = tiles[1], sV = tiles[2];
  } else {
    auto attributions = func.getWorkgroupAttributions();
    sQ = attributions[0], sK = attributions[1], sV = attributions[2];
  }

  auto toIndex = [&](Value x) -> Value {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), x);
  };
  ninf = f32(-std::numeric_limits<double>::infinity());
  zero = f32(0.0);
  sl2 = fmul(entry->getArgument(18), f32(kLog2E));
  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bx = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value by = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  Value warp = divC(tid, 32);
  lane = remC(tid, 32);
  g = divC(lane, 4);
  t2 = mulC(remC(lane, 4), 2);
  l16 = remC(lane, 16);
  l16c = mulC(divC(lane, 16), 8);
  l8 = remC(lane, 8);
  l8c = mulC(divC(lane, 8), 8);
  SmallVector<Value> strides;
  for (unsigned i = 4; i < 16; ++i)
    strides.push_back(toIndex(entry->getArgument(i)));
  Value queryLen = toIndex(entry->getArgument(16));
  keyLen = toIndex(entry->getArgument(17));
  Value batch = divC(by, HQ);
  Value head = remC(by, HQ);
  Value kvHead = divC(head, HQ / HKV);
  Value qbase = add(mul(batch, strides[0]), mul(head, strides[1]));
  kbase = add(mul(batch, strides[3]), mul(kvHead, strides[4]));
  vbase = add(mul(batch, strides[6]), mul(kvHead, strides[7]));
  Value obase = add(mul(batch, strides[9]), mul(head, strides[10]));
  ks2 = strides[5];
  vs2 = strides[8];
  Value r0 = mulC(bx, BR);
  Value offset = m.sub(keyLen, queryLen);
  wrow = mulC(warp, 16);

  // Q tile -> shared -> A fragments, in registers for the whole kernel.
  Value gq = copyTile(q, qbase, strides[2], r0, queryLen, sQ);
  nvgpu::DeviceAsyncWaitOp::create(b, loc, gq, b.getI32IntegerAttr(0));
  gpu::BarrierOp::create(b, loc);
  Value qrow = add(wrow, l16);
  for (int64_t kk = 0; kk < NKD; ++kk)
    qa.push_back(ldmatrix4(sQ, qrow, addC(l16c, 16 * kk), false));

  // The rows of this block in positions, and the key tiles they may see.
  Value first = add(r0, offset);
  Value last = m.sub(add(m.min(addC(r0, BR), queryLen), offset), idx(1));
  pattern = std::make_unique<PatternEmitter>(m, op.getEffectivePattern(),
                                             head, module);
  auto [lo, hi] = pattern->emitKeyHull(first, last, keyLen);
  Value tileBegin = m.floorDiv(lo, BC);
  Value tileEnd = m.ceilDiv(hi, BC);
  Value pos0 = add(add(first, wrow), g);
  Value pos1 = addC(pos0, 8);
  auto toI64 = [&](Value x) -> Value {
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), x);
  };
  positions = fromElements(VectorType::get({2}, b.getI64Type()),
                           {toI64(pos0), toI64(pos1)});

  Value zero4 = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(accType, b.getF32FloatAttr(0.0)));
  Value ninf2 = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(
          rowType,
          b.getF32FloatAttr(-std::numeric_limits<float>::infinity())));
  Value zero2 = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(rowType, b.getF32FloatAttr(0.0)));
  SmallVector<Value> inits(NDN, zero4);
  inits.push_back(ninf2);
  inits.push_back(zero2);

  auto loop = scf::ForOp::create(
      b, loc, tileBegin, tileEnd, idx(1), inits,
      [&](OpBuilder &, Location, Value kt, ValueRange iters) {
        Value keyStart = mulC(kt, BC);
        Value keyLast = addC(keyStart, BC - 1);
        MaskContext context;
        KeyTileClass cls =
            pattern->emitTileClass(first, last, keyStart, keyLast, context);
        // Ragged last tile: keys >= Skv are masked too.
        Value ragged =
            m.cmp(CmpIPredicate::sgt, addC(keyStart, BC), keyLen);
        Value needMask = m.orI(m.notI(cls.full), ragged);
        // Tiles nothing sees are skipped (the condition depends only on
        // block-level values, so the barriers inside stay uniform).
        auto skip = scf::IfOp::create(
            b, loc, cls.any,
            [&](OpBuilder &, Location) {
              scf::YieldOp::create(b, loc,
                                   emitKeyTile(kt, iters, context, needMask));
            },
            [&](OpBuilder &, Location) {
              scf::YieldOp::create(b, loc, iters);
            });
        scf::YieldOp::create(b, loc, skip.getResults());
      });
  ValueRange res = loop.getResults();

  // Epilogue: O / l, to the element type, through this warp's 16 rows of
  // sQ, then 16-byte stores of the real rows.
  SmallVector<Value> inv;
  for (int64_t r = 0; r < 2; ++r) {
    Value l = quadReduce(extract(res[NDN + 1], r), /*isMax=*/false);
    inv.push_back(emitSafeReciprocal(b, loc, l));
  }
  gpu::BarrierOp::create(b, loc);
  Value rg = add(wrow, g);
  Value rg8 = addC(rg, 8);
  for (int64_t j = 0; j < NDN; ++j) {
    SmallVector<Value> o4;
    for (int64_t e = 0; e < 4; ++e)
      o4.push_back(extract(res[j], e));
    for (int64_t r = 0; r < 2; ++r) {
      Value pair = fromElements(rowType, {fmul(o4[2 * r], inv[r]),
                                          fmul(o4[2 * r + 1], inv[r])});
      Value h = arith::TruncFOp::create(b, loc, pairType, pair);
      vector::StoreOp::create(b, loc, h, sQ,
                              ValueRange{r ? rg8 : rg, addC(t2, 8 * j)});
    }
  }
  gpu::BarrierOp::create(b, loc);
  int64_t chunksPerRow = D / 8;
  for (int64_t i = 0; i < 16 * chunksPerRow / 32; ++i) {
    Value c = addC(lane, 32 * i);
    Value row = add(wrow, divC(c, chunksPerRow));
    Value col = mulC(remC(c, chunksPerRow), 8);
    Value gr = add(r0, row);
    Value ok = m.cmp(CmpIPredicate::slt, gr, queryLen);
    scf::IfOp::create(b, loc, ok, [&](OpBuilder &, Location) {
      Value x = vector::LoadOp::create(
          b, loc, VectorType::get({8}, elementType), sQ, ValueRange{row, col});
      Value dst = add(add(obase, mul(gr, strides[11])), col);
      vector::StoreOp::create(b, loc, x, o, ValueRange{dst},
                              /*nontemporal=*/false, llvm::MaybeAlign(16));
      scf::YieldOp::create(b, loc);
    });
  }
  gpu::ReturnOp::create(b, loc);
  return func;
}

/// One visited key tile: loads, S = Q Kᵀ, mask (when needed), online
/// softmax, O += P V. Returns the new loop-carried values.
SmallVector<Value> GPUKernelBuilder::emitKeyTile(Value kt, ValueRange iters,
                                                 const MaskContext &context,
                                                 Value needMask) {
  const int64_t BC = GPUKernelConfig::kKeyTile;
  const int64_t NKD = D / 16, NDN = D / 8, NJ = BC / 8, NKP = BC / 16;
  Value keyStart = mulC(kt, BC);
  gpu::BarrierOp::create(b, loc);
  Value gk = copyTile(k, kbase, ks2, keyStart, keyLen, sK);
  Value gv = copyTile(v, vbase, vs2, keyStart, keyLen, sV);
  nvgpu::DeviceAsyncWaitOp::create(b, loc, gk, b.getI32IntegerAttr(1));
  gpu::BarrierOp::create(b, loc);

  // S = Q Kᵀ: NJ n-tiles of 8 keys, scaled by scale * log2(e).
  SmallVector<SmallVector<Value>> s;
  for (int64_t j = 0; j < NJ; ++j) {
    SmallVector<Value> acc(4, zero);
    for (int64_t kk2 = 0; kk2 < NKD / 2; ++kk2) {
      SmallVector<Value> kb =
          ldmatrix4(sK, addC(l8, 8 * j), addC(l8c, 32 * kk2), false);
      acc = mma(qa[2 * kk2], ArrayRef<Value>(kb).take_front(2), acc);
      acc = mma(qa[2 * kk2 + 1], ArrayRef<Value>(kb).drop_front(2), acc);
    }
    for (Value &x : acc)
      x = fmul(x, sl2);
    s.push_back(acc);
  }
  SmallVector<Value> flat;
  for (auto &row : s)
    flat.append(row.begin(), row.end());

  // The element mask, only on tiles that need it: -inf where the pattern
  // hides the pair or the key is past Skv.
  auto masked = scf::IfOp::create(
      b, loc, needMask,
      [&](OpBuilder &, Location) {
        SmallVector<Value> out(flat.size());
        for (int64_t j = 0; j < NJ; ++j)
          for (int64_t e = 0; e < 2; ++e) {
            Value key = add(keyStart, addC(t2, 8 * j + e));
            Value visible = pattern->emitVisible(context, positions, key);
            Value inRange = m.cmp(CmpIPredicate::slt, key, keyLen);
            for (int64_t r = 0; r < 2; ++r) {
              Value vis = m.andI(extract(visible, r), inRange);
              out[4 * j + 2 * r + e] =
                  m.select(vis, s[j][2 * r + e], ninf);
            }
          }
        scf::YieldOp::create(b, loc, out);
      },
      [&](OpBuilder &, Location) { scf::YieldOp::create(b, loc, flat); });
  for (int64_t j = 0; j < NJ; ++j)
    for (int64_t e = 0; e < 4; ++e)
      s[j][e] = masked.getResult(4 * j + e);

  // Online softmax: rows g (r = 0) and g + 8 (r = 1).
  Value mPrev = iters[NDN], lPrev = iters[NDN + 1];
  SmallVector<Value> mNew, alpha, lNew;
  SmallVector<SmallVector<Value>> p(NJ, SmallVector<Value>(4));
  for (int64_t r = 0; r < 2; ++r) {
    Value mOld = extract(mPrev, r);
    Value mx = mOld;
    for (int64_t j = 0; j < NJ; ++j)
      mx = fmax(mx, fmax(s[j][2 * r], s[j][2 * r + 1]));
    mx = quadReduce(mx, /*isMax=*/true);
    Value mSafe = emitSafeMax(b, loc, mx);
    Value a = ex2(fsub(mOld, mSafe));
    Value sum = zero;
    for (int64_t j = 0; j < NJ; ++j)
      for (int64_t e : {2 * r, 2 * r + 1}) {
        p[j][e] = ex2(fsub(s[j][e], mSafe));
        sum = fadd(sum, p[j][e]);
      }
    mNew.push_back(mx);
    alpha.push_back(a);
    lNew.push_back(fadd(fmul(extract(lPrev, r), a), sum));
  }
  Value alphaVec =
      fromElements(accType, {alpha[0], alpha[0], alpha[1], alpha[1]});
  SmallVector<SmallVector<Value>> oacc;
  for (int64_t j = 0; j < NDN; ++j) {
    Value scaled = arith::MulFOp::create(b, loc, iters[j], alphaVec);
    SmallVector<Value> o4;
    for (int64_t e = 0; e < 4; ++e)
      o4.push_back(extract(scaled, e));
    oacc.push_back(o4);
  }
  // P as A fragments: k-step kk covers S n-tiles 2kk and 2kk + 1.
  SmallVector<SmallVector<Value>> pa;
  for (int64_t kk = 0; kk < NKP; ++kk) {
    auto &a0 = p[2 * kk], &a1 = p[2 * kk + 1];
    pa.push_back({packPair(a0[0], a0[1]), packPair(a0[2], a0[3]),
                  packPair(a1[0], a1[1]), packPair(a1[2], a1[3])});
  }
  nvgpu::DeviceAsyncWaitOp::create(b, loc, gv, b.getI32IntegerAttr(0));
  gpu::BarrierOp::create(b, loc);
  for (int64_t dn = 0; dn < D / 16; ++dn)
    for (int64_t kk = 0; kk < NKP; ++kk) {
      SmallVector<Value> vb =
          ldmatrix4(sV, addC(l16, 16 * kk), addC(l16c, 16 * dn), true);
      oacc[2 * dn] =
          mma(pa[kk], ArrayRef<Value>(vb).take_front(2), oacc[2 * dn]);
      oacc[2 * dn + 1] =
          mma(pa[kk], ArrayRef<Value>(vb).drop_front(2), oacc[2 * dn + 1]);
    }
  SmallVector<Value> results;
  for (auto &o4 : oacc)
    results.push_back(fromElements(accType, o4));
  results.push_back(fromElements(rowType, mNew));
  results.push_back(fromElements(rowType, lNew));
  return results;
}

namespace {
struct ConvertAttnToGPUPass
    : public mlir::attn::impl::ConvertAttnToGPUBase<ConvertAttnToGPUPass> {
  using Base::Base;

  void runOnOperation() override;
  LogicalResult convertFunction(func::FuncOp func,
                                gpu::GPUModuleOp &gpuModule);
};
} // namespace

/// Why the GPU kernel cannot compile `attention` yet, or success.
static LogicalResult checkSupportedOp(AttentionOp attention) {
  if (attention.getBudgetAttr())
    return attention.emitError()
           << "the op still carries " << attention.getBudgetAttr()
           << "; run attn-resolve-budgets first";
  if (attention.getGates() || attention.getActive())
    return attention.emitError()
           << "attn-convert-to-gpu does not support head gates or active-head "
              "lists yet";
  if (attention.getBlocks())
    return attention.emitError()
           << "runtime-selected blocks are not lowered to GPU code yet";
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
  // Analytic patterns are index arithmetic (lib/Tiling) and work on the
  // kernel's row-aligned tiles as they are. Random blocks and explicit
  // layouts need position-aligned tiles and their tables inside the
  // gpu.module: not yet.
  if (hasIrregularLeaf(pattern))
    return attention.emitError()
           << "attn-convert-to-gpu does not lower random blocks or explicit "
              "block layouts yet, found "
           << pattern;
  return PatternEmitter::checkSupported(
      pattern, GPUKernelConfig::kQueryTile, GPUKernelConfig::kKeyTile,
      [&] { return attention.emitError(); });
}

LogicalResult
ConvertAttnToGPUPass::convertFunction(func::FuncOp func,
                                      gpu::GPUModuleOp &gpuModule) {
  if (failed(checkKernelFunction(func, getArgument())))
    return failure();
  ModuleOp module = getOperation();
  auto returnOp = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  SmallVector<AttentionOp> ops =
      llvm::to_vector(func.getBody().getOps<AttentionOp>());
  for (AttentionOp attention : ops)
    if (failed(checkSupportedOp(attention)))
      return failure();

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
  for (AttentionOp attention : ops) {
    std::string name =
        (func.getSymName() + "_attn" + Twine(counter++)).str();
    if (SymbolTable::lookupSymbolIn(gpuModule, name))
      return attention.emitError()
             << "kernel name '" << name << "' is already taken in @kernels";
    GPUKernelConfig config;
    config.headDim = attention.getHeadDim();
    // Three padded 64 x (D + 8) tiles exceed the 48 KB static limit at
    // D = 128: take them from dynamic shared memory.
    config.dynamicShared = config.sharedBytes() > 48 * 1024;
    GPUKernelBuilder builder(attention, config, module);
    gpu::GPUFuncOp kernel = builder.build(gpuModule, name);

    // What the artifact's manifest needs about this kernel.
    auto argNumber = [](Value v) {
      return static_cast<int64_t>(cast<BlockArgument>(v).getArgNumber());
    };
    SmallVector<int64_t> operandArgs = {argNumber(attention.getQuery()),
                                        argNumber(attention.getKey()),
                                        argNumber(attention.getValue())};
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
      NamedAttrList p;
      p.append("name", b.getStringAttr(n));
      p.append("type", b.getStringAttr(type));
      p.append("value", b.getStringAttr(value));
      params.push_back(p.getDictionary(b.getContext()));
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
    NamedAttrList grid;
    grid.append("rule", b.getStringAttr("query_tiles_x_pairs"));
    grid.append("query_tile", b.getI64IntegerAttr(GPUKernelConfig::kQueryTile));

    NamedAttrList info;
    info.append("chip", b.getStringAttr(chip));
    info.append("dtype", b.getStringAttr(dtype));
    info.append("head_dim", b.getI64IntegerAttr(config.headDim));
    info.append("value_dim", b.getI64IntegerAttr(config.headDim));
    info.append("query_tile", b.getI64IntegerAttr(GPUKernelConfig::kQueryTile));
    info.append("key_tile", b.getI64IntegerAttr(GPUKernelConfig::kKeyTile));
    info.append("block", b.getDenseI64ArrayAttr(
                             {GPUKernelConfig::kThreads, 1, 1}));
    info.append("dynamic_shared_memory",
                b.getI64IntegerAttr(config.dynamicShared ? config.sharedBytes()
                                                         : 0));
    info.append("grid", grid.getDictionary(b.getContext()));
    info.append("params", b.getArrayAttr(params));
    info.append("gated", b.getBoolAttr(false));
    info.append("gates", b.getStringAttr("none"));
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
    kernel->setAttr(AttnDialect::kGPUKernelAttrName,
                    info.getDictionary(b.getContext()));
  }
  func.erase();
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
  SmallVector<func::FuncOp> functions;
  for (func::FuncOp func : module.getOps<func::FuncOp>())
    if (!func.getBody().empty() && !func.getBody().getOps<AttentionOp>().empty())
      functions.push_back(func);
  gpu::GPUModuleOp gpuModule;
  for (func::FuncOp func : functions)
    if (failed(convertFunction(func, gpuModule)))
      return signalPassFailure();
}
