//===- ResolveBudgets.cpp - attn-resolve-budgets pass ---------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// A budget is a fraction of dense work. The cost model prices each candidate
// (a gate budget, a window, a density) by the matmul work of its block plan;
// knobs are searched where the work only grows with the knob, so a binary
// search finds the largest choice that fits.
//
//===----------------------------------------------------------------------===//

#include "PlanSupport.h"
#include "attn/Cost/CostModel.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Support/Format.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <functional>

namespace mlir {
namespace attn {
#define GEN_PASS_DEF_ATTNRESOLVEBUDGETS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace attn
} // namespace mlir

using namespace mlir;
using namespace mlir::attn;

namespace {
/// One op's problem, priced by the cost model.
struct Pricer {
  AttentionOp op;
  AttentionExtent extent;
  TileSizes tiles;

  /// Visited elements of `pattern` for the heads where `active` holds (all
  /// when null).
  FailureOr<double> work(PatternAttrInterface pattern,
                         llvm::function_ref<bool(int64_t)> active = nullptr) {
    FailureOr<BlockPlan> plan =
        BlockPlan::build(pattern, extent, tiles, [&] { return op.emitError(); });
    if (failed(plan))
      return failure();
    return double(countPlan(*plan, active).visitedElements);
  }

  double denseWork() const {
    return double(extent.numHeads) * double(extent.querySeqLen) *
           double(extent.keySeqLen);
  }

  FailureOr<double> fraction(PatternAttrInterface pattern) {
    FailureOr<double> w = work(pattern);
    if (failed(w))
      return failure();
    return *w / denseWork();
  }
};

/// A pattern family with one integer knob whose work grows with the knob
/// (for densities, on average).
struct Knob {
  std::string name;        ///< "window", "density" (for messages).
  int64_t lowest, highest; ///< Knob range, both valid.
  std::function<PatternAttrInterface(int64_t)> make;
};

/// The knob of `pattern`, or a reason why it has none.
FailureOr<Knob> findKnob(MLIRContext *ctx, PatternAttrInterface pattern,
                         int64_t keySeqLen, std::string &why) {
  int64_t maxWindow = std::max<int64_t>(1, keySeqLen);
  auto window = [&](bool causal, int64_t dilation,
                    std::function<PatternAttrInterface(Attribute)> wrap)
      -> Knob {
    return {"window", 1, maxWindow, [=](int64_t w) {
              return wrap(LocalAttr::get(ctx, w, dilation, causal));
            }};
  };
  auto self = [](Attribute a) { return cast<PatternAttrInterface>(a); };
  return llvm::TypeSwitch<Attribute, FailureOr<Knob>>(pattern)
      .Case([&](DenseAttr) { return window(false, 1, self); })
      .Case([&](CausalAttr) { return window(true, 1, self); })
      .Case([&](LocalAttr l) {
        return window(l.getCausal(), l.getDilation(), self);
      })
      .Case([&](RandomBlocksAttr r) -> FailureOr<Knob> {
        // Density in steps of 1/1024 up to the current one. Work grows with
        // the density on average, not block by block (each density draws
        // its own stream), so the search may stop short of the largest
        // density that fits; the one it returns was priced and fits.
        int64_t highest = std::max<int64_t>(
            1, static_cast<int64_t>(r.getDensityValue() * 1024));
        return Knob{"density", 1, highest, [=](int64_t level) {
                      return self(RandomBlocksAttr::get(
                          ctx, llvm::APFloat(double(level) / 1024.0),
                          r.getSeed(), r.getBlock(), r.getDiagonal()));
                    }};
      })
      .Case([&](UnionAttr u) -> FailureOr<Knob> {
        SmallVector<Attribute> members(u.getPatterns().begin(),
                                       u.getPatterns().end());
        int found = -1;
        for (auto [i, m] : llvm::enumerate(members))
          if (isa<LocalAttr>(m)) {
            if (found >= 0) {
              why = "its union has more than one local window to shrink";
              return failure();
            }
            found = i;
          }
        if (found < 0) {
          why = "its union has no local window to shrink";
          return failure();
        }
        auto local = cast<LocalAttr>(members[found]);
        return window(local.getCausal(), local.getDilation(),
                      [=](Attribute w) {
                        SmallVector<Attribute> copy(members);
                        copy[found] = w;
                        return self(
                            UnionAttr::get(ctx, ArrayAttr::get(ctx, copy)));
                      });
      })
      .Case([&](PerHeadAttr) -> FailureOr<Knob> {
        why = "per-head patterns are resolved through head gates (give the "
              "op gates from an attn.head_gate with a budget)";
        return failure();
      })
      .Default([&](Attribute) -> FailureOr<Knob> {
        why = "it has no window, density or gate to trade for cost";
        return failure();
      });
}

/// Query-key pairs one head visits over runtime-selected blocks when each
/// query block keeps `topK` of them: every row of block i sees
/// min(top_k, valid_i) blocks of key_block keys (valid_i: the blocks a
/// causal selection may choose; an upper bound, since the last block may be
/// short). Fails past 2^24 query blocks, which no realistic budget needs.
static FailureOr<double> selectedWorkPerHead(SelectedAttr selected,
                                             int64_t topK, int64_t sq,
                                             int64_t skv) {
  const int64_t qb = selected.getQueryBlock(), kb = selected.getKeyBlock();
  const int64_t numKeyBlocks = ceilDiv(skv, kb);
  const int64_t numQueryBlocks = ceilDiv(sq, qb);
  if (!selected.getCausal())
    return double(sq) *
           double(std::min(std::min(topK, numKeyBlocks) * kb, skv));
  if (numQueryBlocks > (int64_t(1) << 24))
    return failure();
  double work = 0;
  for (int64_t i = 0; i < numQueryBlocks; ++i) {
    int64_t end = std::min(sq, (i + 1) * qb);
    int64_t lastPosition = end - 1 + skv - sq;
    if (lastPosition < 0)
      continue;
    int64_t valid = std::min(numKeyBlocks, lastPosition / kb + 1);
    work += double(end - i * qb) *
            double(std::min(std::min(topK, valid) * kb, skv));
  }
  return work;
}

/// A selection or compression kernel priced in the budget's currency,
/// query-key pairs: those the tensor cores would process in its estimated
/// time. It makes "top_k 16 plus its selection" and "top_k 12 plus more
/// heads" comparable under one budget.
static double equivalentWork(const ProjectionCost &cost,
                             const TargetDescription &desc, AttentionOp op) {
  auto value = cast<RankedTensorType>(op.getValue().getType());
  double rate = op.getQueryType().getElementType().getIntOrFloatBitWidth() >= 32
                    ? desc.matmulFlopsF32
                    : desc.matmulFlops;
  return cost.estimateSeconds * rate /
         (2.0 * double(op.getHeadDim() + value.getDimSize(3)));
}

struct ResolveBudgetsPass
    : public mlir::attn::impl::AttnResolveBudgetsBase<ResolveBudgetsPass> {
  using Base::Base;

  FailureOr<int64_t> length(AttentionOp op, int64_t value, int64_t assumed,
                            StringRef what, StringRef option) {
    return staticOrAssumed(op, value, assumed, "resolving a budget", what,
                           option);
  }

  LogicalResult resolve(AttentionOp op, const TargetDescription &desc) {
    double budget = op.getBudgetAttr().getValue();
    FailureOr<int64_t> sq = length(op, op.getQueryType().getDimSize(2),
                                   queryLen, "query length", "query-len");
    FailureOr<int64_t> skv = length(op, op.getKeyType().getDimSize(2), keyLen,
                                    "key length", "key-len");
    if (failed(sq) || failed(skv))
      return failure();
    FailureOr<TileSizes> tiles = chooseTiles(op, desc, 0, 0);
    if (failed(tiles))
      return failure();
    if (double(op.getNumQueryHeads()) * double(*sq) * double(*skv) > 0x1p62)
      return op.emitError() << "resolving a budget cannot count "
                            << op.getNumQueryHeads() << " x " << *sq << " x "
                            << *skv << " query-key pairs in 64 bits";
    Pricer pricer{op, {op.getNumQueryHeads(), *sq, *skv}, *tiles};
    PatternAttrInterface pattern = op.getEffectivePattern();

    Value gates = op.getGates();
    if (Value active = op.getActive()) {
      auto list = active.getDefiningOp<ActiveHeadsOp>();
      gates = list ? list.getGates() : active; // Compacted, same heads.
    }
    HeadGateOp gate;
    if (gates) {
      gate = gates.getDefiningOp<HeadGateOp>();
      if (!gate)
        return op.emitError()
               << "has budget " << formatReal(budget) << " and gates that attn-resolve-"
               << "budgets cannot see (not from an attn.head_gate); drop the "
                  "budget or compute the gates with attn.head_gate";
    }
    if (auto selected = dyn_cast<SelectedAttr>(pattern))
      return resolveSelected(op, selected, gate, pricer, desc, budget);
    if (gate) {
      // One plan, counted head by head (a per-head pattern gives each head
      // its own cost).
      FailureOr<BlockPlan> plan = BlockPlan::build(
          pattern, pricer.extent, pricer.tiles, [&] { return op.emitError(); });
      if (failed(plan))
        return failure();
      SmallVector<double> costs;
      for (int64_t h = 0; h < pricer.extent.numHeads; ++h)
        costs.push_back(double(
            countPlan(*plan, [h](int64_t other) { return other == h; })
                .visitedElements));
      return resolveWithGate(op, gate, costs, /*fixedWork=*/0,
                             pricer.denseWork(), budget);
    }
    return resolveWithPattern(op, pricer, pattern, budget);
  }

  /// Resolves `op`'s budget into `gate`'s: head h costs `costs[h]` and
  /// `fixedWork` is paid whatever the gates say (a selection kernel).
  LogicalResult resolveWithGate(AttentionOp op, HeadGateOp gate,
                                ArrayRef<double> headCosts, double fixedWork,
                                double dense, double budget) {
    if (!gate.getBudgetAttr())
      return op.emitError()
             << "has budget " << formatReal(budget) << " but its gates come from an "
             << "attn.head_gate with "
             << (gate.getThresholdAttr() ? "a threshold" : "a runtime budget")
             << ", which bounds no cost; give the gate a budget attribute";
    for (Operation *user : gate->getUsers())
      if (user != op.getOperation())
        return op.emitError() << "shares its attn.head_gate with another op; "
                                 "each budgeted op needs its own gate";
    int64_t heads = headCosts.size();
    SmallVector<double> costs;
    for (double c : headCosts)
      costs.push_back(std::max(c, 1.0));
    double all = 0;
    for (double c : costs)
      all += c;
    if (fixedWork > budget * dense * (1 + 1e-9))
      return op.emitError()
             << "budget " << formatReal(budget)
             << " is impossible: its block selection alone costs "
             << llvm::formatv("{0:F4}", fixedWork / dense) << " of dense";
    // Heads whose summed cost is at most g x all cost at most
    // budget x dense - fixedWork.
    double gateBudget =
        std::max(0.0, std::min(1.0, (budget * dense - fixedWork) / all));
    // Whatever heads the router picks, min_active of them may be forced on.
    SmallVector<double> sorted(costs);
    llvm::sort(sorted, std::greater<double>());
    double forced = 0;
    for (int64_t i = 0; i < std::min<int64_t>(gate.getMinActive(), heads); ++i)
      forced += sorted[i];
    if (fixedWork + forced > budget * dense * (1 + 1e-9))
      return op.emitError() << "budget " << formatReal(budget)
                            << " is impossible: the attn.head_gate keeps at "
                               "least min_active = "
                            << gate.getMinActive()
                            << " heads, which may cost "
                            << llvm::formatv("{0:F4}",
                                             (fixedWork + forced) / dense)
                            << " of dense"
                            << (fixedWork > 0 ? " with the block selection"
                                              : "");
    MLIRContext *ctx = op.getContext();
    gate.setBudgetAttr(BudgetAttr::get(ctx, gateBudget));
    bool uniform = llvm::all_of(costs, [&](double c) { return c == costs[0]; });
    if (!uniform) {
      SmallVector<int64_t> integral;
      for (double c : costs)
        integral.push_back(static_cast<int64_t>(c));
      gate.setHeadCostsAttr(DenseI64ArrayAttr::get(ctx, integral));
    }
    op.removeBudgetAttr();
    op.emitRemark() << "budget " << formatReal(budget) << " resolved by head gates: "
                    << "gate budget "
                    << llvm::formatv("{0:F4}", gateBudget)
                    << (uniform ? "" : " over per-head costs")
                    << ", active heads cost at most "
                    << llvm::formatv("{0:F4}",
                                     (std::max(gateBudget * all, forced) +
                                      fixedWork) /
                                         dense)
                    << " of dense"
                    << (fixedWork > 0 ? " with the block selection" : "");
    return success();
  }

  /// Selected blocks: the work is what the selection lets each query block
  /// see (at most top_k blocks), plus the selection kernel (and the
  /// compression feeding its pooled keys) priced by equivalentWork. With
  /// gates, the heads pay for what remains after the selection; without,
  /// the knob is the selection's top_k.
  LogicalResult resolveSelected(AttentionOp op, SelectedAttr selected,
                                HeadGateOp gate, Pricer &pricer,
                                const TargetDescription &desc,
                                double budget) {
    const int64_t sq = pricer.extent.querySeqLen,
                  skv = pricer.extent.keySeqLen,
                  heads = pricer.extent.numHeads;
    const double dense = pricer.denseWork();
    auto blocksType = cast<RankedTensorType>(op.getBlocks().getType());
    auto select = op.getBlocks().getDefiningOp<SelectBlocksOp>();
    int64_t slots = blocksType.getDimSize(3);
    if (!select && ShapedType::isDynamic(slots))
      return op.emitError()
             << "cannot price budget " << formatReal(budget)
             << ": its block indices come from no attn.select_blocks and have "
                "a dynamic number of slots";
    const int64_t topK = select ? int64_t(select.getTopK()) : slots;

    auto attendWork = [&](int64_t k) -> FailureOr<double> {
      FailureOr<double> perHead = selectedWorkPerHead(selected, k, sq, skv);
      if (failed(perHead))
        return op.emitError()
               << "cannot price budget " << formatReal(budget) << ": "
               << ceilDiv(sq, selected.getQueryBlock())
               << " query blocks, more than 2^24";
      return *perHead;
    };
    // The selection's own kernel, and the compression feeding it.
    double compressWork = 0;
    CompressKVOp compress;
    if (select && select.getPooledKeys())
      compress = select.getPooledKeys().getDefiningOp<CompressKVOp>();
    if (compress) {
      auto k = cast<RankedTensorType>(compress.getKey().getType());
      auto v = cast<RankedTensorType>(compress.getValue().getType());
      int64_t len = k.isDynamicDim(2) ? skv : k.getDimSize(2);
      compressWork = equivalentWork(
          estimateCompressCost({1, k.getDimSize(1), len, k.getDimSize(3),
                                v.getDimSize(3), int64_t(compress.getBlock()),
                                compress.getEffectiveStride(),
                                k.getElementType().getIntOrFloatBitWidth() / 8},
                               desc),
          desc, op);
    }
    auto selectionWork = [&](int64_t k) -> double {
      if (!select)
        return 0;
      auto q = cast<RankedTensorType>(select.getQuery().getType());
      auto key = cast<RankedTensorType>(select.getKey().getType());
      SelectProblem problem{
          1,
          q.getDimSize(1),
          key.getDimSize(1),
          q.isDynamicDim(2) ? sq : q.getDimSize(2),
          key.isDynamicDim(2) ? skv : key.getDimSize(2),
          q.getDimSize(3),
          int64_t(select.getQueryBlock()),
          int64_t(select.getKeyBlock()),
          k,
          static_cast<bool>(select.getPooledKeys()),
          q.getElementType().getIntOrFloatBitWidth() / 8};
      return equivalentWork(estimateSelectCost(problem, desc), desc, op) +
             compressWork;
    };

    if (gate) {
      FailureOr<double> perHead = attendWork(topK);
      if (failed(perHead))
        return failure();
      SmallVector<double> costs(heads, *perHead);
      return resolveWithGate(op, gate, costs, selectionWork(topK), dense,
                             budget);
    }

    auto total = [&](int64_t k) -> FailureOr<double> {
      FailureOr<double> perHead = attendWork(k);
      if (failed(perHead))
        return failure();
      return (selectionWork(k) + double(heads) * *perHead) / dense;
    };
    FailureOr<double> current = total(topK);
    if (failed(current))
      return failure();
    auto describe = [&](int64_t k, double fraction) {
      if (!select)
        return llvm::formatv("{0} blocks per query block cost {1:F4} of dense",
                             k, fraction)
            .str();
      return llvm::formatv("top_k = {0} costs {1:F4} of dense, its selection "
                           "{2:F4}",
                           k, fraction, selectionWork(k) / dense)
          .str();
    };
    if (*current <= budget) {
      op.removeBudgetAttr();
      op.emitRemark() << "budget " << formatReal(budget)
                      << " already met: " << describe(topK, *current);
      return success();
    }
    if (!select)
      return op.emitError()
             << "cannot meet budget " << formatReal(budget) << ": "
             << describe(topK, *current)
             << ", and its block indices come from no attn.select_blocks "
                "whose top_k could shrink";
    for (Operation *user : select->getUsers())
      if (user != op.getOperation())
        return op.emitError()
               << "cannot meet budget " << formatReal(budget)
               << " by shrinking top_k: its attn.select_blocks' indices are "
                  "also used by '"
               << user->getName() << "'";
    const int64_t lowest =
        std::max<int64_t>(1, select.getKeepSink() + select.getKeepLocal());
    FailureOr<double> cheapest = total(lowest);
    if (failed(cheapest))
      return failure();
    if (*cheapest > budget)
      return op.emitError()
             << "budget " << formatReal(budget)
             << " is impossible: the cheapest selection, "
             << describe(lowest, *cheapest)
             << " (top_k cannot go below keep_sink + keep_local)";
    // Largest top_k that fits; the work only grows with top_k.
    int64_t lo = lowest, hi = topK;
    while (lo < hi) {
      int64_t mid = lo + (hi - lo + 1) / 2;
      FailureOr<double> f = total(mid);
      if (failed(f))
        return failure();
      if (*f <= budget)
        lo = mid;
      else
        hi = mid - 1;
    }
    OpBuilder b(op.getContext());
    select.setTopKAttr(b.getI64IntegerAttr(lo));
    SmallVector<int64_t> shape(blocksType.getShape());
    shape.back() = lo;
    select.getResult().setType(
        RankedTensorType::get(shape, blocksType.getElementType()));
    op.removeBudgetAttr();
    op.emitRemark() << "budget " << formatReal(budget)
                    << " resolved by the selection's top_k (was " << topK
                    << "): " << describe(lo, *total(lo));
    return success();
  }

  LogicalResult resolveWithPattern(AttentionOp op, Pricer &pricer,
                                   PatternAttrInterface pattern,
                                   double budget) {
    FailureOr<double> current = pricer.fraction(pattern);
    if (failed(current))
      return failure();
    if (*current <= budget) {
      op.removeBudgetAttr();
      op.emitRemark() << "budget " << formatReal(budget) << " already met: " << pattern
                      << " costs " << llvm::formatv("{0:F4}", *current)
                      << " of dense";
      return success();
    }
    std::string why;
    FailureOr<Knob> knob = findKnob(op.getContext(), pattern,
                                    pricer.extent.keySeqLen, why);
    if (failed(knob))
      return op.emitError() << "cannot meet budget " << formatReal(budget) << " with "
                            << pattern << " (it costs "
                            << llvm::formatv("{0:F4}", *current)
                            << " of dense): " << why;
    // Largest knob whose fraction fits; work grows with the knob.
    auto fits = [&](int64_t level) -> FailureOr<bool> {
      FailureOr<double> f = pricer.fraction(knob->make(level));
      if (failed(f))
        return failure();
      return *f <= budget;
    };
    FailureOr<bool> lowestFits = fits(knob->lowest);
    if (failed(lowestFits))
      return failure();
    if (!*lowestFits) {
      PatternAttrInterface cheapest = knob->make(knob->lowest);
      return op.emitError() << "budget " << formatReal(budget)
                            << " is impossible: the cheapest choice, "
                            << cheapest << ", costs "
                            << llvm::formatv("{0:F4}",
                                             *pricer.fraction(cheapest))
                            << " of dense";
    }
    int64_t lo = knob->lowest, hi = knob->highest;
    while (lo < hi) {
      int64_t mid = lo + (hi - lo + 1) / 2;
      FailureOr<bool> ok = fits(mid);
      if (failed(ok))
        return failure();
      if (*ok)
        lo = mid;
      else
        hi = mid - 1;
    }
    PatternAttrInterface chosen = knob->make(lo);
    op.setPatternAttr(chosen);
    op.removeBudgetAttr();
    op.emitRemark() << "budget " << formatReal(budget) << " resolved by the " << knob->name
                    << ": " << chosen << " costs "
                    << llvm::formatv("{0:F4}", *pricer.fraction(chosen))
                    << " of dense";
    return success();
  }

  void runOnOperation() override {
    const TargetDescription *desc =
        lookupTargetOrError(getOperation(), target);
    if (!desc)
      return signalPassFailure();
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) {
      if (op.getBudgetAttr())
        ops.push_back(op);
    });
    bool failedAny = false;
    for (AttentionOp op : ops)
      failedAny |= failed(resolve(op, *desc));
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace
