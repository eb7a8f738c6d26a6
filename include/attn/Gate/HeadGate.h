//===- HeadGate.h - The meaning of attn.head_gate ---------------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The reference semantics of attn.head_gate for one batch row, shared by the
// compiler (static gates, budget resolution), the lowerings' tests and the
// runtime. Plain C++ over arrays: no MLIR types.
//
// Budget rule. Heads are ordered by score, highest first, ties broken
// towards the lower head index, NaN scores last. The active heads are the
// longest prefix of that order whose summed cost is at most
// `budget x (cost of all heads)`, and at least `minActive` heads. With equal
// costs that is floor(budget x H) heads. The order does not depend on the
// budget and the prefix only grows with it, so a larger budget never turns
// off a head that a smaller one turns on (monotone).
//
// Threshold rule. Heads with score >= threshold fire; if fewer than
// `minActive` do, the next ones in the same order fire too. Lowering the
// threshold only adds heads.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_GATE_HEADGATE_H
#define ATTN_GATE_HEADGATE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>

namespace mlir {
namespace attn {

struct HeadGateRule {
  enum class Kind { Budget, Threshold };
  Kind kind = Kind::Budget;
  double value = 1.0;    ///< The budget fraction, or the threshold.
  int64_t minActive = 1; ///< At least this many heads fire.

  static HeadGateRule budget(double fraction, int64_t minActive = 1) {
    return {Kind::Budget, fraction, minActive};
  }
  static HeadGateRule threshold(double threshold, int64_t minActive = 1) {
    return {Kind::Threshold, threshold, minActive};
  }
};

/// Head indices in gating order: score descending, ties to the lower index,
/// NaN last.
llvm::SmallVector<int64_t> orderHeadsByScore(llvm::ArrayRef<double> scores);

/// Sets `active[h]` for each head of one batch row. `costs` gives each head's
/// cost (from the cost model); empty means equal costs. Budgets outside
/// (0, 1] are clamped (the verifier rejects them in IR).
void selectHeads(llvm::ArrayRef<double> scores, llvm::ArrayRef<double> costs,
                 const HeadGateRule &rule, llvm::MutableArrayRef<bool> active);

/// The number of heads a budget keeps with equal costs:
/// max(minActive, floor(budget x numHeads)), at most numHeads.
int64_t headsWithinBudget(double budget, int64_t numHeads, int64_t minActive);

} // namespace attn
} // namespace mlir

#endif // ATTN_GATE_HEADGATE_H
