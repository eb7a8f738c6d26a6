//===- TestBlockPlan.cpp - Print the block plan of each attention op ------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// For every attn.attention with static sequence lengths, prints each distinct
// head plan: its kind, its segments, and per query tile the runs of key tiles
// ("3-5 full", "6 partial"); with `grid`, a picture of the tiles instead:
// '#' full, '+' partial, '.' skipped, one row per query tile.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Plan/BlockPlan.h"
#include "attn/Test/TestPasses.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;
using namespace mlir::attn;

namespace {
struct TestBlockPlanPass
    : public PassWrapper<TestBlockPlanPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestBlockPlanPass)

  TestBlockPlanPass() = default;
  TestBlockPlanPass(const TestBlockPlanPass &other) : PassWrapper(other) {}

  StringRef getArgument() const final { return "test-attn-block-plan"; }
  StringRef getDescription() const final {
    return "Print the block plan of each attn.attention (test pass)";
  }

  Option<int64_t> queryTile{*this, "query-tile",
                            llvm::cl::desc("Query rows per tile"),
                            llvm::cl::init(64)};
  Option<int64_t> keyTile{*this, "key-tile", llvm::cl::desc("Keys per tile"),
                          llvm::cl::init(64)};
  Option<bool> grid{*this, "grid",
                    llvm::cl::desc("Draw tiles as a grid instead of runs"),
                    llvm::cl::init(false)};

  void runOnOperation() override {
    if (queryTile < 1 || keyTile < 1) {
      getOperation().emitError() << "query-tile and key-tile must be >= 1, "
                                    "found "
                                 << static_cast<int64_t>(queryTile) << " and "
                                 << static_cast<int64_t>(keyTile);
      return signalPassFailure();
    }
    llvm::raw_ostream &os = llvm::outs();
    getOperation().walk([&](AttentionOp op) {
      int64_t sq = op.getQueryType().getDimSize(2);
      int64_t skv = op.getKeyType().getDimSize(2);
      if (ShapedType::isDynamic(sq) || ShapedType::isDynamic(skv)) {
        op.emitRemark() << "block plans need static Sq and Skv here";
        return;
      }
      AttentionExtent extent{op.getNumQueryHeads(), sq, skv};
      if (extent.numHeads > (1 << 20) ||
          ceilDiv(sq, queryTile) > (1 << 20) / extent.numHeads ||
          (grid && ceilDiv(skv, keyTile) > 4096)) {
        op.emitRemark() << "too many tiles to print; use smaller shapes or "
                           "larger tiles";
        return;
      }
      FailureOr<BlockPlan> plan =
          BlockPlan::build(op.getEffectivePattern(), extent,
                           {queryTile, keyTile}, [&] { return op.emitError(); });
      if (failed(plan))
        return signalPassFailure();
      os << "plan of " << op.getEffectivePattern() << " (Sq = " << sq
         << ", Skv = " << skv << ", tiles " << queryTile << "x" << keyTile
         << ")\n";
      for (auto [index, head] : llvm::enumerate(plan->getDistinctPlans())) {
        os << "  heads";
        for (int64_t h = 0; h < extent.numHeads; ++h)
          if (plan->getPlanIndex(h) == index)
            os << " " << h;
        os << ": " << stringifyPlanKind(head.getKind());
        for (const Segment &segment : head.getSegments()) {
          os << " ";
          segment.print(os);
        }
        os << "\n";
        printRuns(head, plan->getShape(), os);
      }
      PlanCounts counts = countPlan(*plan);
      os << "  visited " << counts.visitedTiles() << " of " << counts.totalTiles
         << " tiles (" << counts.fullTiles << " full, " << counts.partialTiles
         << " partial)\n";
    });
  }

  void printRuns(const HeadPlan &head, const PlanShape &shape,
                 llvm::raw_ostream &os) {
    TileRunList runs;
    for (int64_t t = 0; t < shape.numQueryTiles(); ++t) {
      runs.clear();
      head.appendRuns(t, runs);
      if (grid) {
        std::string row(shape.numKeyTiles(), '.');
        for (const TileRun &run : runs)
          for (int64_t k = run.begin; k < run.end; ++k)
            row[k] = run.partial ? '+' : '#';
        os << "    " << row << "\n";
        continue;
      }
      os << "    q" << t << ":";
      if (runs.empty())
        os << " none";
      for (const TileRun &run : runs) {
        os << " " << run.begin;
        if (run.size() > 1)
          os << "-" << run.end - 1;
        os << (run.partial ? " partial" : " full");
      }
      os << "\n";
    }
  }
};
} // namespace

namespace mlir::attn::test {
void registerTestBlockPlanPass() { PassRegistration<TestBlockPlanPass>(); }
} // namespace mlir::attn::test
