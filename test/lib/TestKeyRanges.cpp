//===- TestKeyRanges.cpp - Print the key ranges of each query block -------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// A test pass, in the style of upstream's -test-* passes: for every
// attn.attention with static sequence lengths, prints the keys each block of
// query rows touches, per head, as the pattern interface answers. lit tests
// FileCheck this output to pin down each pattern's semantics.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Test/TestPasses.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;
using namespace mlir::attn;

namespace {
struct TestKeyRangesPass
    : public PassWrapper<TestKeyRangesPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestKeyRangesPass)

  TestKeyRangesPass() = default;
  TestKeyRangesPass(const TestKeyRangesPass &other) : PassWrapper(other) {}

  StringRef getArgument() const final { return "test-attn-key-ranges"; }
  StringRef getDescription() const final {
    return "Print the key ranges each query block of each attn.attention "
           "touches (test pass)";
  }

  Option<int64_t> queryBlock{*this, "query-block",
                             llvm::cl::desc("Query rows per block"),
                             llvm::cl::init(64)};

  void runOnOperation() override {
    if (queryBlock < 1) {
      getOperation().emitError() << "query-block must be >= 1, found "
                                 << static_cast<int64_t>(queryBlock);
      return signalPassFailure();
    }
    llvm::raw_ostream &os = llvm::outs();
    getOperation().walk([&](AttentionOp op) {
      int64_t sq = op.getQueryType().getDimSize(2);
      int64_t skv = op.getKeyType().getDimSize(2);
      if (ShapedType::isDynamic(sq) || ShapedType::isDynamic(skv)) {
        op.emitRemark() << "key ranges need static Sq and Skv";
        return;
      }
      if (op.getNumQueryHeads() > (1 << 20) ||
          ceilDiv(sq, queryBlock) > (1 << 20) / op.getNumQueryHeads() ||
          skv > (int64_t(1) << 24)) {
        op.emitRemark() << "too many lines to print; use smaller shapes or a "
                           "larger query-block";
        return;
      }
      PatternAttrInterface pattern = op.getEffectivePattern();
      AttentionExtent extent{op.getNumQueryHeads(), sq, skv};
      os << "attn.attention Hq = " << extent.numHeads << ", Sq = " << sq
         << ", Skv = " << skv << ", query block = " << queryBlock
         << ", pattern = " << pattern << "\n";
      for (int64_t head = 0; head < extent.numHeads; ++head)
        for (int64_t begin = 0; begin < sq; begin += queryBlock) {
          int64_t end = std::min<int64_t>(begin + queryBlock, sq);
          KeyRangeList ranges = pattern.getKeyRanges(extent, head, begin, end);
          os << "  head " << head << " rows [" << begin << ", " << end
             << "): " << ranges << " (" << countKeys(ranges) << " keys)\n";
        }
    });
  }
};
} // namespace

namespace mlir::attn::test {
void registerTestBlockPlanPass();
} // namespace mlir::attn::test

void mlir::attn::test::registerTestPasses() {
  PassRegistration<TestKeyRangesPass>();
  registerTestBlockPlanPass();
}
