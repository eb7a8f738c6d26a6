//===- HeadGate.cpp - The meaning of attn.head_gate -----------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Gate/HeadGate.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace mlir;
using llvm::ArrayRef;
using llvm::MutableArrayRef;
using llvm::SmallVector;
using namespace mlir::attn;

/// Slack for comparing sums of costs with a fraction of their total: keeps
/// floor(0.5 x 16) at 8 despite rounding, without changing any real choice.
static constexpr double kRelativeSlack = 1e-9;

SmallVector<int64_t> mlir::attn::orderHeadsByScore(ArrayRef<double> scores) {
  SmallVector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    bool nanA = std::isnan(scores[a]), nanB = std::isnan(scores[b]);
    if (nanA || nanB)
      return !nanA && nanB; // Numbers before NaN; stable keeps index order.
    return scores[a] > scores[b];
  });
  return order;
}

int64_t mlir::attn::headsWithinBudget(double budget, int64_t numHeads,
                                      int64_t minActive) {
  budget = std::clamp(budget, 0.0, 1.0);
  int64_t k = static_cast<int64_t>(
      std::floor(budget * double(numHeads) * (1.0 + kRelativeSlack)));
  return std::clamp<int64_t>(std::max(k, minActive), 0, numHeads);
}

void mlir::attn::selectHeads(ArrayRef<double> scores, ArrayRef<double> costs,
                             const HeadGateRule &rule,
                             MutableArrayRef<bool> active) {
  const int64_t numHeads = scores.size();
  std::fill(active.begin(), active.end(), false);
  SmallVector<int64_t> order = orderHeadsByScore(scores);
  int64_t minActive = std::clamp<int64_t>(rule.minActive, 0, numHeads);

  int64_t count = 0;
  if (rule.kind == HeadGateRule::Kind::Threshold) {
    while (count < numHeads && scores[order[count]] >= rule.value)
      ++count; // NaN compares false and sits last.
  } else if (costs.empty()) {
    count = headsWithinBudget(rule.value, numHeads, 0);
  } else {
    double total = 0;
    for (double c : costs)
      total += c;
    double allowed =
        std::clamp(rule.value, 0.0, 1.0) * total * (1.0 + kRelativeSlack);
    double spent = 0;
    // The longest prefix that fits: stopping at the first head that does
    // not fit (rather than skipping to cheaper ones) keeps it monotone.
    while (count < numHeads && spent + costs[order[count]] <= allowed)
      spent += costs[order[count++]];
  }
  count = std::max(count, minActive);
  for (int64_t i = 0; i < count; ++i)
    active[order[i]] = true;
}
