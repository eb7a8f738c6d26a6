//===- IndexMathTest.cpp - Tests of the emitted index arithmetic ----------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// IndexMath emits floor division and the positive modulo by a power of two
// as an arithmetic shift and a mask; patterns rely on them being exact for
// negative positions (a query row before the first key when Sq > Skv). The
// emitted ops are evaluated here by MLIR's own constant folding, against
// the scalar definitions of attn/Support/KeyRanges.h.
//
//===----------------------------------------------------------------------===//

#include "attn/Support/KeyRanges.h"
#include "attn/Tiling/AttentionTiling.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::attn;

namespace {
/// Folds every op of `block` in order; returns the constant `result` took.
std::optional<int64_t> evaluate(Block &block, Value result) {
  DenseMap<Value, Attribute> known;
  for (Operation &op : block) {
    SmallVector<Attribute> operands;
    for (Value operand : op.getOperands())
      operands.push_back(known.lookup(operand));
    SmallVector<OpFoldResult> folded;
    if (failed(op.fold(operands, folded)))
      return std::nullopt;
    for (auto [value, fold] : llvm::zip(op.getResults(), folded)) {
      if (auto attr = dyn_cast<Attribute>(fold))
        known[value] = attr;
      else
        known[value] = known.lookup(cast<Value>(fold));
    }
  }
  if (auto attr = dyn_cast_or_null<IntegerAttr>(known.lookup(result)))
    return attr.getInt();
  return std::nullopt;
}

class IndexMathTest : public ::testing::TestWithParam<const char *> {
protected:
  IndexMathTest() { context.loadDialect<arith::ArithDialect>(); }
  Type type(OpBuilder &b) {
    return StringRef(GetParam()) == "index" ? Type(b.getIndexType())
                                            : Type(b.getI32Type());
  }
  MLIRContext context;
};
} // namespace

TEST_P(IndexMathTest, FloorDivAndPositiveModMatchTheScalarDefinitions) {
  OpBuilder b(&context);
  Location loc = b.getUnknownLoc();
  for (int64_t divisor : {1, 2, 3, 4, 6, 64, 128, 1024})
    for (int64_t x = -300; x <= 300; x += 7) {
      Block block;
      b.setInsertionPointToStart(&block);
      IndexMath m(b, loc);
      Value value = m.constant(type(b), x);
      Value quotient = m.floorDiv(value, divisor);
      Value residue = m.positiveMod(value, divisor);
      std::optional<int64_t> q = evaluate(block, quotient);
      std::optional<int64_t> r = evaluate(block, residue);
      ASSERT_TRUE(q && r) << "could not fold, x = " << x << ", divisor "
                          << divisor;
      EXPECT_EQ(*q, floorDiv(x, divisor)) << x << " / " << divisor;
      EXPECT_EQ(*r, positiveMod(x, divisor)) << x << " mod " << divisor;
    }
}

TEST_P(IndexMathTest, PowersOfTwoAreAShiftAndAMask) {
  OpBuilder b(&context);
  Block block;
  b.setInsertionPointToStart(&block);
  IndexMath m(b, b.getUnknownLoc());
  Value x = m.constant(type(b), -5);
  EXPECT_TRUE(m.floorDiv(x, 128).getDefiningOp<arith::ShRSIOp>());
  EXPECT_TRUE(m.positiveMod(x, 4).getDefiningOp<arith::AndIOp>());
  EXPECT_TRUE(m.floorDiv(x, 3).getDefiningOp<arith::FloorDivSIOp>());
}

INSTANTIATE_TEST_SUITE_P(Types, IndexMathTest,
                         ::testing::Values("index", "i32"));
