//===- SelectBlocksToGPU.cpp - attn.select_blocks -> a GPU kernel ---------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The selection kernel of sparse projection (docs/sparse-projection.md,
// section 1 has the exact rules). One block of 16 warps per (batch, KV
// head) pair and run of kQueryBlocksPerCTA (4) query blocks:
//
//  1. pooled queries: the mean over the group's heads and the block's rows,
//     one f32 row of D per query block, in shared memory (4 warps per query
//     block, their partial sums added in a fixed order);
//  2. scores: for every key block, its pooled key (the mean of its keys, or
//     the row of `pooled_keys`) dotted with each pooled query; all scores of
//     the run stay in shared memory (kMaxKeyBlocks per query block). Without
//     pooled keys each warp pools every 16th key block;
//  3. top-k: one warp per query block picks, top_k times, the largest
//     64-bit key (class, order-preserving score bits, inverted index) over
//     the blocks with a butterfly max, so forced blocks come first, then
//     numbers by score with ties to the lower index, then NaNs; invalid and
//     taken blocks have class 0 and end the selection. Block j's flags are
//     only ever touched by lane j % 32, so the warp needs no barriers;
//  4. output: the taken blocks in increasing order (a warp prefix sum per
//     32 blocks), then -1.
//
// The kernel reads all keys of its pair once per run of query blocks: with
// 4 query blocks per run that is Sq / (4 qb) passes over K, from L2 mostly.
// The work is latency-bound (few CTAs, long dependent load chains), so the
// warps are many: 16 rather than one per query block cut the key pooling's
// chain of dependent loads per warp by 4 (docs/sparse-projection.md,
// section 5).
//
//===----------------------------------------------------------------------===//

#include "GPUKernels.h"

#include "attn/Tiling/AttentionTiling.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::attn;
using arith::CmpIPredicate;

namespace {

class SelectKernelBuilder {
public:
  static constexpr int64_t kThreads = kSelectThreads;
  static constexpr int64_t kWarps = kThreads / 32;
  /// Query blocks of a CTA, and the warps pooling each of them.
  static constexpr int64_t kRows = kSelectQueryBlocksPerCTA;
  static constexpr int64_t kPoolParts = kWarps / kRows;
  static_assert(kWarps % kRows == 0, "warps must split evenly over blocks");
  /// 16-byte loads a warp issues before it uses them: 8 keep the kernel
  /// within 64 registers (at 512 threads ptxas allots no more without
  /// spilling), and 16 warps keep 128 per SM in flight.
  static constexpr int64_t kLoadsInFlight = 8;

  SelectKernelBuilder(SelectBlocksOp op, int64_t maxKeyBlocks)
      : op(op), b(op.getContext()), loc(op.getLoc()), m(b, loc),
        maxKeyBlocks(maxKeyBlocks) {}

  gpu::GPUFuncOp build(gpu::GPUModuleOp gpuModule, StringRef name);

private:
  Value idx(int64_t v) { return m.index(v); }
  Value i32c(int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  }
  Value i64c(int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
  }
  Value f32c(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value toIndex(Value x) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), x);
  }
  Value toF32(Value x) {
    if (x.getType().isF32())
      return x;
    return arith::ExtFOp::create(b, loc, b.getF32Type(), x);
  }
  Value loadF32(Value mem, Value at) {
    return toF32(memref::LoadOp::create(b, loc, mem, ValueRange{at}));
  }
  Value shuffleXor(Value x, int32_t offset) {
    return gpu::ShuffleOp::create(b, loc, x, offset, 32,
                                  gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }
  /// Butterfly unsigned max of an i64 over the warp, as two i32 shuffles per step.
  Value warpMaxI64(Value x);
  Value warpSumF32(Value x) {
    for (int32_t offset : {16, 8, 4, 2, 1})
      x = arith::AddFOp::create(b, loc, x, shuffleXor(x, offset));
    return x;
  }
  void barrier() { gpu::BarrierOp::create(b, loc); }
  /// `for (i = lo; i < hi; i += step) body(i)` (no carried values).
  void forLoop(Value lo, Value hi, Value step, function_ref<void(Value)> body) {
    scf::ForOp::create(b, loc, lo, hi, step, ValueRange{},
                       [&](OpBuilder &, Location, Value iv, ValueRange) {
                         body(iv);
                         scf::YieldOp::create(b, loc);
                       });
  }
  void ifThen(Value cond, function_ref<void()> body) {
    scf::IfOp::create(b, loc, cond, [&](OpBuilder &, Location) {
      body();
      scf::YieldOp::create(b, loc);
    });
  }

  Value sumRows(Value mem, Value base, Value stride, int64_t rows,
                function_ref<Value(int64_t)> rowOf,
                function_ref<Value(int64_t)> rowOk);
  void emitPooledQueries();
  void emitScores();
  void emitTopK(Value qi);

  SelectBlocksOp op;
  OpBuilder b;
  Location loc;
  IndexMath m;

  int64_t D = 0, HQ = 0, HKV = 0, G = 1, QB = 0, KB = 0, topK = 0;
  Type elementType;
  bool pooled = false;
  Value q, k, pk, out;
  SmallVector<Value> qStrides, kStrides, pkStrides, outStrides;
  Value queryLen, keyLen, numQueryBlocks, numKeyBlocks, batch, group, run0;
  Value tid, lane, warp;
  Value sScores, sKeys, sQuery, sQueryParts;
  int64_t maxKeyBlocks = 0;
};

} // namespace

Value SelectKernelBuilder::warpMaxI64(Value x) {
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  for (int32_t offset : {16, 8, 4, 2, 1}) {
    Value lo = arith::TruncIOp::create(b, loc, i32, x);
    Value hi = arith::TruncIOp::create(
        b, loc, i32, arith::ShRUIOp::create(b, loc, x, i64c(32)));
    Value olo = arith::ExtUIOp::create(b, loc, i64, shuffleXor(lo, offset));
    Value ohi = arith::ExtUIOp::create(b, loc, i64, shuffleXor(hi, offset));
    Value other = arith::OrIOp::create(
        b, loc, arith::ShLIOp::create(b, loc, ohi, i64c(32)), olo);
    x = arith::MaxUIOp::create(b, loc, x, other);
  }
  return x;
}

/// Sums, per thread, its 8 columns (chunk `chunk`) over `rows` rows of
/// `mem` starting at `base`, row `r` of them at `rowOf(r)` and counted only
/// when `rowOk(r)`: all loads issued before the adds, 16 bytes each.
Value SelectKernelBuilder::sumRows(Value mem, Value base, Value stride,
                                   int64_t rows,
                                   function_ref<Value(int64_t)> rowOf,
                                   function_ref<Value(int64_t)> rowOk) {
  auto vecType = VectorType::get({8}, elementType);
  auto f32x8 = VectorType::get({8}, b.getF32Type());
  SmallVector<Value> loaded;
  for (int64_t r = 0; r < rows; ++r) {
    Value ok = rowOk(r);
    Value at = m.add(base, m.mul(m.select(ok, rowOf(r), idx(0)), stride));
    // 16 bytes at once: rows start at multiples of 8 elements (as the
    // attention kernel requires of its tensors).
    Value x = vector::LoadOp::create(b, loc, vecType, mem, ValueRange{at},
                                     /*nontemporal=*/false,
                                     llvm::MaybeAlign(16));
    Value zero = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(f32x8, b.getF32FloatAttr(0.0)));
    loaded.push_back(arith::SelectOp::create(
        b, loc, ok, arith::ExtFOp::create(b, loc, f32x8, x), zero));
  }
  Value acc = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(f32x8, b.getF32FloatAttr(0.0)));
  for (Value x : loaded)
    acc = arith::AddFOp::create(b, loc, acc, x);
  return acc;
}

/// Phase 1: sQuery[qi][d] = mean of q over the group's heads and the rows of
/// query block run0 + qi (zeros for blocks past the end), kPoolParts warps
/// per query block, each summing every kPoolParts-th batch of passes: lanes
/// own 8 columns of 32 / (D / 8) (head, row) pairs per pass, kLoadsInFlight passes'
/// loads in flight, the pairs combined by xor shuffles; the warps' partial
/// sums meet in shared memory (in a fixed order: the result does not depend
/// on timing).
void SelectKernelBuilder::emitPooledQueries() {
  auto f32x8 = VectorType::get({8}, b.getF32Type());
  auto elemx8 = VectorType::get({8}, elementType);
  const int64_t chunksPerRow = D / 8;
  const int64_t rowsPerPass = 32 / chunksPerRow;
  const int64_t passes = llvm::divideCeil(G * QB, rowsPerPass);
  const int64_t batchPasses = std::min<int64_t>(passes, kLoadsInFlight);
  Value laneChunk = m.positiveMod(lane, chunksPerRow);
  Value laneRow = m.floorDiv(lane, chunksPerRow);
  Value qi = m.positiveMod(warp, kRows);
  Value part = m.floorDiv(warp, kRows);
  Value block = m.add(run0, qi);
  Value r0 = m.mul(block, idx(QB));
  Value r1 = m.min(m.addConst(r0, QB), queryLen);
  Value zero8 = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(f32x8, b.getF32FloatAttr(0.0)));
  auto sum = scf::ForOp::create(
      b, loc, m.mul(part, idx(batchPasses)), idx(passes),
      idx(batchPasses * kPoolParts), ValueRange{zero8},
      [&](OpBuilder &, Location, Value p0, ValueRange acc) {
        SmallVector<Value> loaded;
        for (int64_t p = 0; p < batchPasses; ++p) {
          // Flat (head, row) pair e of the block: head e / QB, row e % QB.
          Value e = m.add(laneRow, m.mul(m.addConst(p0, p), idx(rowsPerPass)));
          Value head = m.add(m.mul(group, idx(G)), m.floorDiv(e, QB));
          Value row = m.add(r0, m.positiveMod(e, QB));
          Value ok = m.andI(m.cmp(CmpIPredicate::slt, e, idx(G * QB)),
                            m.cmp(CmpIPredicate::slt, row, r1));
          Value at = m.add(
              m.add(m.add(m.mul(batch, qStrides[0]),
                          m.mul(m.select(ok, head, idx(0)), qStrides[1])),
                    m.mul(m.select(ok, row, idx(0)), qStrides[2])),
              m.mul(laneChunk, idx(8)));
          Value x = vector::LoadOp::create(b, loc, elemx8, q, ValueRange{at},
                                           /*nontemporal=*/false,
                                           llvm::MaybeAlign(16));
          loaded.push_back(arith::SelectOp::create(
              b, loc, ok, arith::ExtFOp::create(b, loc, f32x8, x), zero8));
        }
        Value total = acc[0];
        for (Value x : loaded)
          total = arith::AddFOp::create(b, loc, total, x);
        scf::YieldOp::create(b, loc, ValueRange{total});
      });
  Value partBase = m.mul(m.add(m.mul(part, idx(kRows)), qi), idx(D));
  for (int64_t e = 0; e < 8; ++e) {
    Value x = vector::ExtractOp::create(b, loc, sum.getResult(0), e);
    for (int64_t off = chunksPerRow; off < 32; off *= 2)
      x = arith::AddFOp::create(b, loc, x, shuffleXor(x, off));
    ifThen(m.cmp(CmpIPredicate::eq, laneRow, idx(0)), [&] {
      memref::StoreOp::create(
          b, loc, x, sQueryParts,
          ValueRange{m.add(partBase, m.addConst(m.mul(laneChunk, idx(8)), e))});
    });
  }
  barrier();
  // The parts' sums, in part order, over the block's (head, row) count.
  forLoop(tid, idx(kRows * D), idx(kThreads), [&](Value i) {
    Value row = m.floorDiv(i, D);
    Value first = m.mul(m.add(run0, row), idx(QB));
    Value end = m.min(m.addConst(first, QB), queryLen);
    Value count = m.mul(m.max(m.sub(end, first), idx(1)), idx(G));
    Value countF = arith::UIToFPOp::create(
        b, loc, b.getF32Type(),
        arith::IndexCastOp::create(b, loc, b.getI32Type(), count));
    Value total = f32c(0.0);
    for (int64_t p = 0; p < kPoolParts; ++p)
      total = arith::AddFOp::create(
          b, loc, total,
          memref::LoadOp::create(b, loc, sQueryParts,
                                 ValueRange{m.addConst(i, p * kRows * D)}));
    memref::StoreOp::create(b, loc,
                            arith::DivFOp::create(b, loc, total, countF),
                            sQuery, ValueRange{i});
  });
  barrier();
}

/// Phase 2: sScores[qi][j] = pooled query qi . pooled key j for every key
/// block j, without block barriers.
///  - Given pooled keys, thread t scores key blocks t, t + 128, ... against
///    all the run's pooled queries (16-byte loads of the key row, the
///    queries broadcast from shared memory).
///  - Otherwise warp w pools key blocks w, w + 4, ...: lanes own 8 columns
///    of 32 / (D / 8) rows per pass, all passes' loads in flight, the row
///    groups combined by xor shuffles; then each query's dot product is
///    reduced over the lanes of one row.
void SelectKernelBuilder::emitScores() {
  auto f32x8 = VectorType::get({8}, b.getF32Type());
  auto elemx8 = VectorType::get({8}, elementType);
  const int64_t rows = kSelectQueryBlocksPerCTA;
  auto storeScore = [&](int64_t qi, Value j, Value score) {
    memref::StoreOp::create(
        b, loc, score, sScores,
        ValueRange{m.add(idx(qi * maxKeyBlocks), j)});
  };
  auto dot8 = [&](Value x, Value y) -> Value {
    Value prod = arith::MulFOp::create(b, loc, x, y);
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                       prod);
  };
  if (pooled) {
    forLoop(tid, numKeyBlocks, idx(kThreads), [&](Value j) {
      Value base = m.add(m.add(m.mul(batch, pkStrides[0]),
                               m.mul(group, pkStrides[1])),
                         m.mul(j, pkStrides[2]));
      // Chunk by chunk (a loop, to keep registers low): one 16-byte key
      // load feeds every query's sum.
      auto chunks = scf::ForOp::create(
          b, loc, idx(0), idx(D / 8), idx(1),
          SmallVector<Value>(rows, f32c(0.0)),
          [&](OpBuilder &, Location, Value c, ValueRange acc) {
            Value col = m.mul(c, idx(8));
            Value key = arith::ExtFOp::create(
                b, loc, f32x8,
                vector::LoadOp::create(b, loc, elemx8, pk,
                                       ValueRange{m.add(base, col)},
                                       /*nontemporal=*/false,
                                       llvm::MaybeAlign(16))
                    .getResult());
            SmallVector<Value> next(acc.begin(), acc.end());
            for (int64_t e = 0; e < 8; ++e) {
              Value ke = vector::ExtractOp::create(b, loc, key, e);
              for (int64_t qi = 0; qi < rows; ++qi) {
                Value query = memref::LoadOp::create(
                    b, loc, sQuery,
                    ValueRange{m.add(idx(qi * D + e), col)});
                next[qi] = math::FmaOp::create(b, loc, query, ke, next[qi]);
              }
            }
            scf::YieldOp::create(b, loc, next);
          });
      SmallVector<Value> scores(chunks.getResults());
      for (int64_t qi = 0; qi < rows; ++qi)
        storeScore(qi, j, scores[qi]);
    });
    barrier();
    return;
  }
  const int64_t chunksPerRow = D / 8;
  const int64_t rowsPerPass = 32 / chunksPerRow;
  const int64_t passes = llvm::divideCeil(KB, rowsPerPass);
  const int64_t batchPasses = std::min<int64_t>(passes, kLoadsInFlight);
  Value laneChunk = m.positiveMod(lane, chunksPerRow);
  Value laneRow = m.floorDiv(lane, chunksPerRow);
  forLoop(warp, numKeyBlocks, idx(kWarps), [&](Value j) {
    Value t0 = m.mul(j, idx(KB));
    Value t1 = m.min(m.addConst(t0, KB), keyLen);
    Value base = m.add(
        m.add(m.mul(batch, kStrides[0]), m.mul(group, kStrides[1])),
        m.mul(laneChunk, idx(8)));
    // Batches of kLoadsInFlight passes: their loads in flight together.
    auto sum = scf::ForOp::create(
        b, loc, idx(0), idx(passes), idx(batchPasses),
        ValueRange{arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(f32x8, b.getF32FloatAttr(0.0)))},
        [&](OpBuilder &, Location, Value p0, ValueRange acc) {
          auto rowOf = [&](int64_t p) {
            return m.add(t0, m.add(laneRow,
                                   m.mul(m.addConst(p0, p), idx(rowsPerPass))));
          };
          Value part = sumRows(
              k, base, kStrides[2], batchPasses, rowOf, [&](int64_t p) {
                return m.andI(m.cmp(CmpIPredicate::slt, rowOf(p), t1),
                              m.cmp(CmpIPredicate::slt, m.addConst(p0, p),
                                    idx(passes)));
              });
          scf::YieldOp::create(
              b, loc, ValueRange{arith::AddFOp::create(b, loc, acc[0], part)});
        });
    // Combine the row groups: every lane ends with its chunk's column sums.
    SmallVector<Value> cols;
    for (int64_t e = 0; e < 8; ++e) {
      Value x = vector::ExtractOp::create(b, loc, sum.getResult(0), e);
      for (int64_t off = chunksPerRow; off < 32; off *= 2)
        x = arith::AddFOp::create(b, loc, x, shuffleXor(x, off));
      cols.push_back(x);
    }
    Value countF = arith::UIToFPOp::create(
        b, loc, b.getF32Type(),
        arith::IndexCastOp::create(b, loc, b.getI32Type(), m.sub(t1, t0)));
    Value inv = arith::DivFOp::create(b, loc, f32c(1.0), countF);
    Value key = vector::FromElementsOp::create(b, loc, f32x8, cols);
    key = arith::MulFOp::create(b, loc, key,
                                vector::BroadcastOp::create(b, loc, f32x8, inv));
    for (int64_t qi = 0; qi < rows; ++qi) {
      Value query = vector::LoadOp::create(
          b, loc, f32x8, sQuery,
          ValueRange{m.add(idx(qi * D), m.mul(laneChunk, idx(8)))});
      Value score = dot8(query, key);
      for (int64_t off = chunksPerRow / 2; off >= 1; off /= 2)
        score = arith::AddFOp::create(b, loc, score, shuffleXor(score, off));
      ifThen(m.cmp(CmpIPredicate::eq, lane, idx(0)),
             [&] { storeScore(qi, j, score); });
    }
  });
  barrier();
}

/// Phases 3 and 4 for query block run0 + qi, by one warp: the keys of all
/// blocks into the warp's scratch row once, top_k rounds of a warp max over
/// it, then the chosen blocks in increasing order.
void SelectKernelBuilder::emitTopK(Value qi) {
  using P = CmpIPredicate;
  Type i64 = b.getI64Type(), i32 = b.getI32Type();
  Value block = m.add(run0, qi);
  ifThen(m.cmp(P::slt, block, numQueryBlocks), [&] {
    SelectBlocksOp o = op;
    Value scoreBase = m.mul(qi, idx(maxKeyBlocks));
    Value keyBase = m.mul(qi, idx(maxKeyBlocks));
    // The last position of the block, and the block holding it.
    Value lastRow =
        m.sub(m.min(m.mul(m.addConst(block, 1), idx(QB)), queryLen), idx(1));
    Value lastPos = m.add(lastRow, m.sub(keyLen, queryLen));
    Value localEnd = m.min(m.floorDiv(lastPos, KB), m.sub(numKeyBlocks, idx(1)));
    Value localBegin = m.addConst(localEnd, 1 - int64_t(o.getKeepLocal()));
    const int64_t indexBits = 30;
    const int64_t indexMask = (int64_t(1) << indexBits) - 1;
    // The 64-bit key of block j: class (2 bits: 3 forced, 2 a number, 1 NaN;
    // an invalid block's key is 0), the score's order-preserving bits, the
    // inverted index (so that the lower index wins a tie). A chosen block's
    // key becomes 1: smaller than every candidate, and recognizable.
    forLoop(lane, numKeyBlocks, idx(32), [&](Value j) {
      Value score = memref::LoadOp::create(b, loc, sScores,
                                           ValueRange{m.add(scoreBase, j)});
      Value valid = m.boolConst(b.getI1Type(), true);
      if (o.getCausal())
        valid = m.cmp(P::sle, m.mul(j, idx(KB)), lastPos);
      Value forced = m.cmp(P::slt, j, idx(o.getKeepSink()));
      if (o.getKeepLocal() > 0)
        forced = m.orI(forced, m.andI(m.cmp(P::sge, j, localBegin),
                                      m.cmp(P::sle, j, localEnd)));
      Value isNaN = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO,
                                          score, score);
      // -0 and +0 compare equal: add +0 so both have the bits of +0.
      Value bits = arith::BitcastOp::create(
          b, loc, i32, arith::AddFOp::create(b, loc, score, f32c(0.0)));
      Value negative = arith::CmpIOp::create(b, loc, P::slt, bits, i32c(0));
      Value ordered = arith::SelectOp::create(
          b, loc, negative, arith::XOrIOp::create(b, loc, bits, i32c(-1)),
          arith::XOrIOp::create(b, loc, bits, i32c(INT32_MIN)));
      Value cls = arith::SelectOp::create(
          b, loc, forced, i64c(3),
          arith::SelectOp::create(b, loc, isNaN, i64c(1), i64c(2)));
      Value scoreBits = arith::SelectOp::create(
          b, loc, arith::CmpIOp::create(b, loc, P::eq, cls, i64c(2)),
          arith::ExtUIOp::create(b, loc, i64, ordered), i64c(0));
      Value inverted = arith::SubIOp::create(
          b, loc, i64c(indexMask), arith::IndexCastOp::create(b, loc, i64, j));
      Value key = arith::OrIOp::create(
          b, loc,
          arith::OrIOp::create(
              b, loc, arith::ShLIOp::create(b, loc, cls, i64c(62)),
              arith::ShLIOp::create(b, loc, scoreBits, i64c(indexBits))),
          inverted);
      key = arith::SelectOp::create(b, loc, valid, key, i64c(0));
      memref::StoreOp::create(b, loc, key, sKeys,
                              ValueRange{m.add(keyBase, j)});
    });
    // top_k rounds; a round whose best key has class 0 ends the selection.
    // Block j's key is only touched by lane j % 32: no barriers needed.
    scf::WhileOp::create(
        b, loc, TypeRange{b.getIndexType()}, ValueRange{idx(0)},
        [&](OpBuilder &, Location, ValueRange args) {
          scf::ConditionOp::create(b, loc, m.cmp(P::slt, args[0], idx(topK)),
                                   args);
        },
        [&](OpBuilder &, Location, ValueRange args) {
          auto best = scf::ForOp::create(
              b, loc, lane, numKeyBlocks, idx(32), ValueRange{i64c(0)},
              [&](OpBuilder &, Location, Value j, ValueRange acc) {
                Value key = memref::LoadOp::create(
                    b, loc, sKeys, ValueRange{m.add(keyBase, j)});
                scf::YieldOp::create(
                    b, loc,
                    ValueRange{arith::MaxUIOp::create(b, loc, acc[0], key)});
              });
          Value top = warpMaxI64(best.getResult(0));
          Value found = arith::CmpIOp::create(
              b, loc, P::ne, arith::ShRUIOp::create(b, loc, top, i64c(62)),
              i64c(0));
          Value chosen = arith::IndexCastOp::create(
              b, loc, b.getIndexType(),
              arith::SubIOp::create(
                  b, loc, i64c(indexMask),
                  arith::AndIOp::create(b, loc, top, i64c(indexMask))));
          ifThen(m.andI(found, m.cmp(P::eq, m.positiveMod(chosen, 32), lane)),
                 [&] {
                   memref::StoreOp::create(b, loc, i64c(1), sKeys,
                                           ValueRange{m.add(keyBase, chosen)});
                 });
          scf::YieldOp::create(
              b, loc,
              ValueRange{m.select(found, m.addConst(args[0], 1), idx(topK))});
        });
    // Output: the chosen blocks (key 1) in increasing order, then -1.
    Value outBase = m.add(m.add(m.mul(batch, outStrides[0]),
                                m.mul(group, outStrides[1])),
                          m.mul(block, outStrides[2]));
    auto written = scf::ForOp::create(
        b, loc, idx(0), numKeyBlocks, idx(32), ValueRange{idx(0)},
        [&](OpBuilder &, Location, Value j0, ValueRange acc) {
          Value j = m.add(j0, lane);
          Value inRange = m.cmp(P::slt, j, numKeyBlocks);
          Value key = memref::LoadOp::create(
              b, loc, sKeys,
              ValueRange{m.add(keyBase, m.select(inRange, j, idx(0)))});
          Value taken = m.andI(inRange, arith::CmpIOp::create(
                                            b, loc, P::eq, key, i64c(1)));
          Value flag = arith::ExtUIOp::create(b, loc, i32, taken);
          // Inclusive prefix sum over the warp (shuffle up).
          Value scan = flag;
          for (int32_t offset : {1, 2, 4, 8, 16}) {
            Value up = gpu::ShuffleOp::create(b, loc, scan, offset, 32,
                                              gpu::ShuffleMode::UP)
                           .getShuffleResult();
            Value has = m.cmp(P::sge, lane, idx(offset));
            scan = arith::AddIOp::create(
                b, loc, scan, arith::SelectOp::create(b, loc, has, up, i32c(0)));
          }
          Value total = gpu::ShuffleOp::create(b, loc, scan, 31, 32,
                                               gpu::ShuffleMode::IDX)
                            .getShuffleResult();
          Value slot =
              m.add(acc[0], toIndex(arith::SubIOp::create(b, loc, scan, flag)));
          ifThen(taken, [&] {
            memref::StoreOp::create(
                b, loc, arith::IndexCastOp::create(b, loc, i32, j), out,
                ValueRange{m.add(outBase, slot)});
          });
          scf::YieldOp::create(b, loc,
                               ValueRange{m.add(acc[0], toIndex(total))});
        });
    forLoop(m.add(written.getResult(0), lane), idx(topK), idx(32),
            [&](Value slot) {
              memref::StoreOp::create(b, loc, i32c(-1), out,
                                      ValueRange{m.add(outBase, slot)});
            });
  });
}

gpu::GPUFuncOp SelectKernelBuilder::build(gpu::GPUModuleOp gpuModule,
                                          StringRef name) {
  MLIRContext *ctx = op.getContext();
  auto queryType = cast<RankedTensorType>(op.getQuery().getType());
  auto keyType = cast<RankedTensorType>(op.getKey().getType());
  elementType = queryType.getElementType();
  D = queryType.getDimSize(3);
  HQ = queryType.getDimSize(1);
  HKV = keyType.getDimSize(1);
  G = HQ / HKV;
  QB = op.getQueryBlock();
  KB = op.getKeyBlock();
  topK = op.getTopK();
  pooled = static_cast<bool>(op.getPooledKeys());

  auto global = [&](Type t) { return MemRefType::get({int64_t(1) << 32}, t); };
  // q, k, [pooled keys], out; their strides [0..2]; Sq, Skv.
  SmallVector<Type> argTypes = {global(elementType), global(elementType)};
  if (pooled)
    argTypes.push_back(global(elementType));
  argTypes.push_back(global(b.getI32Type()));
  argTypes.append((pooled ? 4 : 3) * 3, b.getI64Type());
  argTypes.append({b.getI32Type(), b.getI32Type()});

  b.setInsertionPointToEnd(gpuModule.getBody());
  auto func = gpu::GPUFuncOp::create(b, loc, name,
                                     b.getFunctionType(argTypes, {}),
                                     TypeRange{}, TypeRange{});
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSize(ArrayRef<int32_t>{int32_t(kThreads), 1, 1});
  Block *entry = &func.getBody().front();
  b.setInsertionPointToStart(entry);

  unsigned a = 0;
  q = entry->getArgument(a++);
  k = entry->getArgument(a++);
  if (pooled)
    pk = entry->getArgument(a++);
  out = entry->getArgument(a++);
  auto strides = [&](SmallVector<Value> &s) {
    for (int i = 0; i < 3; ++i)
      s.push_back(toIndex(entry->getArgument(a++)));
  };
  strides(qStrides);
  strides(kStrides);
  if (pooled)
    strides(pkStrides);
  strides(outStrides);
  queryLen = toIndex(entry->getArgument(a++));
  keyLen = toIndex(entry->getArgument(a++));

  // Shared memory: the query blocks' key rows [4][maxKeyBlocks] (u64),
  // scores [4][maxKeyBlocks], pooled queries [4][D] and their parts
  // [kPoolParts][4][D].
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto bytesType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                   MemRefLayoutAttrInterface{}, workgroup);
  Value dsm = gpu::DynamicSharedMemoryOp::create(b, loc, bytesType);
  int64_t offset = 0;
  auto carve = [&](Type t, int64_t n, int64_t bytesPer) {
    Value view = memref::ViewOp::create(
        b, loc,
        MemRefType::get({n}, t, MemRefLayoutAttrInterface{}, workgroup), dsm,
        idx(offset), ValueRange{});
    offset += n * bytesPer;
    return view;
  };
  const int64_t rows = kSelectQueryBlocksPerCTA;
  sKeys = carve(b.getI64Type(), rows * maxKeyBlocks, 8);
  sScores = carve(b.getF32Type(), rows * maxKeyBlocks, 4);
  sQuery = carve(b.getF32Type(), rows * D, 4);
  sQueryParts = carve(b.getF32Type(), kPoolParts * rows * D, 4);

  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  lane = m.positiveMod(tid, 32);
  warp = m.floorDiv(tid, 32);
  Value pair = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  batch = m.floorDiv(pair, HKV);
  group = m.positiveMod(pair, HKV);
  run0 = m.mul(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x),
               idx(kSelectQueryBlocksPerCTA));
  numQueryBlocks = m.ceilDiv(queryLen, QB);
  numKeyBlocks = m.ceilDiv(keyLen, KB);

  emitPooledQueries();
  emitScores();
  // One warp per query block picks its top_k; the other warps are done.
  ifThen(m.cmp(CmpIPredicate::slt, warp, idx(rows)), [&] { emitTopK(warp); });
  gpu::ReturnOp::create(b, loc);
  return func;
}

int64_t mlir::attn::selectMaxKeyBlocks(StringRef chip) {
  // sm_86 and sm_89 give a block at most 99 KB of shared memory.
  return chip == "sm_86" || chip == "sm_89" ? 1024 : 2048;
}

int64_t mlir::attn::selectBlocksSharedBytes(int64_t headDim, StringRef chip) {
  constexpr int64_t rows = kSelectQueryBlocksPerCTA;
  return selectMaxKeyBlocks(chip) * rows * (8 + 4) +
         (1 + SelectKernelBuilder::kPoolParts) * rows * headDim * 4;
}

gpu::GPUFuncOp mlir::attn::buildSelectBlocksKernel(SelectBlocksOp op,
                                                   gpu::GPUModuleOp gpuModule,
                                                   StringRef name,
                                                   StringRef chip) {
  return SelectKernelBuilder(op, selectMaxKeyBlocks(chip))
      .build(gpuModule, name);
}
