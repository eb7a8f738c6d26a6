//===- HeadGateTest.cpp - Tests of head gating semantics ------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Gate/HeadGate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace mlir::attn;

namespace {
std::vector<bool> gates(const std::vector<double> &scores,
                        const std::vector<double> &costs, HeadGateRule rule) {
  llvm::SmallVector<bool> active(scores.size());
  selectHeads(scores, costs, rule, active);
  return std::vector<bool>(active.begin(), active.end());
}

std::string show(const std::vector<bool> &active) {
  std::string s;
  for (bool a : active)
    s += a ? '1' : '0';
  return s;
}
} // namespace

TEST(HeadGate, BudgetKeepsTheTopHeads) {
  std::vector<double> scores = {0.1, 0.9, 0.5, 0.7};
  EXPECT_EQ(show(gates(scores, {}, HeadGateRule::budget(0.5))), "0101");
  EXPECT_EQ(show(gates(scores, {}, HeadGateRule::budget(0.75))), "0111");
  EXPECT_EQ(show(gates(scores, {}, HeadGateRule::budget(1.0))), "1111");
  // floor(0.2 x 4) = 0, but one head always fires by default.
  EXPECT_EQ(show(gates(scores, {}, HeadGateRule::budget(0.2))), "0100");
  EXPECT_EQ(show(gates(scores, {}, HeadGateRule::budget(0.2, 0))), "0000");
}

TEST(HeadGate, ExactFractionsAreNotLostToRounding) {
  std::vector<double> scores(16);
  for (int h = 0; h < 16; ++h)
    scores[h] = h;
  for (int k = 1; k <= 16; ++k) {
    auto active = gates(scores, {}, HeadGateRule::budget(k / 16.0));
    EXPECT_EQ(std::count(active.begin(), active.end(), true), k) << k;
  }
  EXPECT_EQ(headsWithinBudget(0.3, 10, 1), 3);
  EXPECT_EQ(headsWithinBudget(0.7, 10, 1), 7);
}

TEST(HeadGate, TiesGoToTheLowerHeadAndNaNGoesLast) {
  std::vector<double> scores = {1.0, NAN, 1.0, 1.0};
  EXPECT_EQ(show(gates(scores, {}, HeadGateRule::budget(0.5))), "1010");
  EXPECT_EQ(show(gates(scores, {}, HeadGateRule::budget(0.75))), "1011");
  EXPECT_EQ(show(gates(scores, {}, HeadGateRule::budget(1.0))), "1111");
}

TEST(HeadGate, CostAwareBudgetTakesThePrefixThatFits) {
  // Head 1 scores highest but costs half of everything.
  std::vector<double> scores = {0.5, 0.9, 0.1, 0.3};
  std::vector<double> costs = {1, 4, 1, 2};
  // 0.25 of 8: head 1 alone (4) does not fit; the prefix stops there, and
  // min_active = 1 keeps head 1 on.
  EXPECT_EQ(show(gates(scores, costs, HeadGateRule::budget(0.25))), "0100");
  EXPECT_EQ(show(gates(scores, costs, HeadGateRule::budget(0.5))), "0100");
  // 5 of 8: heads 1 and 0.
  EXPECT_EQ(show(gates(scores, costs, HeadGateRule::budget(0.625))), "1100");
  EXPECT_EQ(show(gates(scores, costs, HeadGateRule::budget(0.875))), "1101");
}

TEST(HeadGate, ThresholdAndMinActive) {
  std::vector<double> scores = {0.1, 0.9, 0.5, 0.7};
  EXPECT_EQ(show(gates(scores, {}, HeadGateRule::threshold(0.6))), "0101");
  EXPECT_EQ(show(gates(scores, {}, HeadGateRule::threshold(0.95))), "0100");
  EXPECT_EQ(show(gates(scores, {}, HeadGateRule::threshold(0.95, 3))), "0111");
  EXPECT_EQ(show(gates(scores, {}, HeadGateRule::threshold(0.95, 0))), "0000");
}

// For random scores (with ties and NaN), costs and budgets b1 < b2, the heads
// active at b1 are a subset of those active at b2; thresholds likewise.
TEST(HeadGate, MonotoneInTheBudgetAndThreshold) {
  std::mt19937_64 rng(2026);
  int cases = 0;
  for (int trial = 0; trial < 5000; ++trial) {
    int numHeads = 1 + rng() % 32;
    std::vector<double> scores(numHeads), costs;
    for (double &s : scores) {
      int kind = rng() % 10;
      s = kind == 0 ? NAN : kind < 3 ? double(rng() % 3) : double(rng() % 1000) / 100;
    }
    if (rng() % 2) {
      costs.resize(numHeads);
      for (double &c : costs)
        c = 1 + rng() % 8;
    }
    int minActive = rng() % 3;
    double b1 = double(rng() % 1001) / 1000, b2 = double(rng() % 1001) / 1000;
    if (b1 > b2)
      std::swap(b1, b2);
    auto low = gates(scores, costs, HeadGateRule::budget(b1, minActive));
    auto high = gates(scores, costs, HeadGateRule::budget(b2, minActive));
    double t1 = double(rng() % 1000) / 100, t2 = double(rng() % 1000) / 100;
    if (t1 < t2)
      std::swap(t1, t2); // t1 >= t2: the lower threshold t2 keeps more.
    auto strict = gates(scores, costs, HeadGateRule::threshold(t1, minActive));
    auto loose = gates(scores, costs, HeadGateRule::threshold(t2, minActive));
    for (int h = 0; h < numHeads; ++h) {
      ASSERT_TRUE(!low[h] || high[h])
          << "budget " << b1 << " keeps head " << h << " that " << b2
          << " drops: " << show(low) << " vs " << show(high);
      ASSERT_TRUE(!strict[h] || loose[h])
          << "threshold " << t1 << " keeps head " << h << " that " << t2
          << " drops: " << show(strict) << " vs " << show(loose);
    }
    // The cost of the chosen heads stays within the budget unless
    // min_active forces more.
    if (!costs.empty()) {
      double total = 0, spent = 0;
      int count = 0;
      for (int h = 0; h < numHeads; ++h) {
        total += costs[h];
        if (low[h]) {
          spent += costs[h];
          ++count;
        }
      }
      if (count > minActive) {
        ASSERT_LE(spent, b1 * total * (1 + 1e-9));
      }
    }
    ++cases;
  }
  RecordProperty("cases", cases);
}
