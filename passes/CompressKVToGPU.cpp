//===- CompressKVToGPU.cpp - attn.compress_kv -> a GPU kernel -------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Compact grouped attention's compressed K/V (docs/sparse-projection.md):
// one block of 128 threads per (batch, KV head) pair and run of
// kCompressSlotsPerCTA slots. Thread t owns 8 columns (chunk t % (D/8)) of
// the slots part, part + parts, ... (part = t / (D/8)) of the run: per slot
// it loads the `block` rows of its window 16 bytes at a time, all loads in
// flight before the adds, and accumulates the weighted sum in f32 (the
// weight is 1 / block for the mean, w[g, t] for the learned mixing), then
// rounds once and stores 16 bytes. Keys and values go through the same
// loop, so a slot's weights are read once for both.
//
//===----------------------------------------------------------------------===//

#include "GPUKernels.h"

#include "attn/Tiling/AttentionTiling.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::attn;
using arith::CmpIPredicate;

gpu::GPUFuncOp mlir::attn::buildCompressKVKernel(CompressKVOp op,
                                                 gpu::GPUModuleOp gpuModule,
                                                 StringRef name) {
  OpBuilder b(op.getContext());
  Location loc = op.getLoc();
  IndexMath m(b, loc);
  auto keyType = cast<RankedTensorType>(op.getKey().getType());
  auto valueType = cast<RankedTensorType>(op.getValue().getType());
  Type elementType = keyType.getElementType();
  const int64_t D = keyType.getDimSize(3), DV = valueType.getDimSize(3);
  const int64_t HKV = keyType.getDimSize(1);
  const int64_t block = op.getBlock(), stride = op.getEffectiveStride();
  const bool linear = op.getMethod() == CompressionMethod::Linear;
  Type weightType =
      linear ? cast<RankedTensorType>(op.getWeights().getType()).getElementType()
             : Type();
  // One thread per 8 columns of the wider of K and V; the narrower one
  // leaves its extra threads idle.
  const int64_t width = std::max(D, DV);
  const int64_t chunks = width / 8;
  const int64_t parts = kCompressThreads / chunks;

  auto global = [&](Type t) { return MemRefType::get({int64_t(1) << 32}, t); };
  // k, v, [w], ck, cv; strides [0..2] of k, v, ck, cv, [w stride 0]; Skv, N.
  SmallVector<Type> argTypes = {global(elementType), global(elementType)};
  if (linear)
    argTypes.push_back(global(weightType));
  argTypes.append({global(elementType), global(elementType)});
  argTypes.append(12, b.getI64Type());
  if (linear)
    argTypes.push_back(b.getI64Type());
  argTypes.append({b.getI32Type(), b.getI32Type()});

  b.setInsertionPointToEnd(gpuModule.getBody());
  auto func = gpu::GPUFuncOp::create(b, loc, name,
                                     b.getFunctionType(argTypes, {}),
                                     TypeRange{}, TypeRange{});
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSize(ArrayRef<int32_t>{int32_t(kCompressThreads), 1, 1});
  Block *entry = &func.getBody().front();
  b.setInsertionPointToStart(entry);
  auto toIndex = [&](Value x) -> Value {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), x);
  };
  unsigned a = 0;
  Value k = entry->getArgument(a++), v = entry->getArgument(a++);
  Value w = linear ? entry->getArgument(a++) : Value();
  Value ck = entry->getArgument(a++), cv = entry->getArgument(a++);
  SmallVector<Value> st;
  for (int i = 0; i < 12; ++i)
    st.push_back(toIndex(entry->getArgument(a++)));
  Value wStride = linear ? toIndex(entry->getArgument(a++)) : Value();
  Value keyLen = toIndex(entry->getArgument(a++));
  Value slots = toIndex(entry->getArgument(a++));
  (void)keyLen;

  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value chunk = m.positiveMod(tid, chunks);
  Value part = m.floorDiv(tid, chunks);
  Value pair = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  Value batch = m.floorDiv(pair, HKV), group = m.positiveMod(pair, HKV);
  Value run0 = m.mul(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x),
                     m.index(kCompressSlotsPerCTA));
  auto f32x8 = VectorType::get({8}, b.getF32Type());
  auto elemx8 = VectorType::get({8}, elementType);
  Value col = m.mul(chunk, m.index(8));

  for (int64_t i = 0; i < kCompressSlotsPerCTA / parts; ++i) {
    Value slot = m.add(run0, m.addConst(part, i * parts));
    Value inRange = m.cmp(CmpIPredicate::slt, slot, slots);
    scf::IfOp::create(b, loc, inRange, [&](OpBuilder &, Location) {
      Value t0 = m.mul(slot, m.index(stride));
      // Keys (tensor 0) and values (tensor 1): the columns this thread owns.
      struct Side {
        Value in, out, base, rowStride, outAt;
        int64_t dim;
      };
      SmallVector<Side> sides;
      for (int s = 0; s < 2; ++s) {
        int64_t dim = s == 0 ? D : DV;
        Value in = s == 0 ? k : v, out = s == 0 ? ck : cv;
        int64_t si = s == 0 ? 0 : 3, so = s == 0 ? 6 : 9;
        Value base = m.add(m.add(m.mul(batch, st[si]), m.mul(group, st[si + 1])),
                           col);
        Value outAt = m.add(m.add(m.add(m.mul(batch, st[so]),
                                        m.mul(group, st[so + 1])),
                                  m.mul(slot, st[so + 2])),
                            col);
        sides.push_back({in, out, base, st[si + 2], outAt, dim});
      }
      for (const Side &side : sides) {
        if (side.dim < width) {
          // This thread's columns may lie past the narrower tensor.
          Value has = m.cmp(CmpIPredicate::slt, col, m.index(side.dim));
          scf::IfOp guard = scf::IfOp::create(b, loc, has, false);
          b.setInsertionPointToStart(guard.thenBlock());
        }
        Value acc = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(f32x8, b.getF32FloatAttr(0.0)));
        // Windows of up to 16 rows at a time: their loads in flight
        // together without a long unrolled body for large blocks.
        auto addRows = [&](Value accIn, Value firstRow, int64_t count) {
          SmallVector<Value> rows;
          for (int64_t t = 0; t < count; ++t) {
            Value row = m.addConst(firstRow, t);
            Value x = vector::LoadOp::create(
                b, loc, elemx8, side.in,
                ValueRange{m.add(side.base,
                                 m.mul(m.add(t0, row), side.rowStride))},
                /*nontemporal=*/false, llvm::MaybeAlign(16));
            rows.push_back(arith::ExtFOp::create(b, loc, f32x8, x));
          }
          for (int64_t t = 0; t < count; ++t) {
            Value weight;
            if (linear) {
              Value wt = memref::LoadOp::create(
                  b, loc, w,
                  ValueRange{m.add(m.mul(group, wStride),
                                   m.addConst(firstRow, t))});
              unsigned bits = cast<FloatType>(wt.getType()).getWidth();
              weight = bits == 32 ? wt
                       : bits < 32
                           ? (Value)arith::ExtFOp::create(b, loc,
                                                          b.getF32Type(), wt)
                           : (Value)arith::TruncFOp::create(b, loc,
                                                            b.getF32Type(), wt);
            } else {
              weight = arith::ConstantOp::create(
                  b, loc, b.getF32FloatAttr(1.0 / double(block)));
            }
            Value wv = vector::BroadcastOp::create(b, loc, f32x8, weight);
            accIn = vector::FMAOp::create(b, loc, rows[t], wv, accIn);
          }
          return accIn;
        };
        const int64_t unroll = std::min<int64_t>(16, block);
        const int64_t full = block / unroll * unroll;
        auto loop = scf::ForOp::create(
            b, loc, m.index(0), m.index(full), m.index(unroll),
            ValueRange{acc},
            [&](OpBuilder &, Location, Value r, ValueRange args) {
              scf::YieldOp::create(
                  b, loc, ValueRange{addRows(args[0], r, unroll)});
            });
        acc = loop.getResult(0);
        if (full < block)
          acc = addRows(acc, m.index(full), block - full);
        Value rounded = arith::TruncFOp::create(b, loc, elemx8, acc);
        vector::StoreOp::create(b, loc, rounded, side.out,
                                ValueRange{side.outAt}, /*nontemporal=*/false,
                                llvm::MaybeAlign(16));
        if (side.dim < width)
          b.setInsertionPointAfter(b.getInsertionBlock()->getParentOp());
      }
      scf::YieldOp::create(b, loc);
    });
  }
  gpu::ReturnOp::create(b, loc);
  return func;
}
