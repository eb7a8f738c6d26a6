//===- KeyRangesTest.cpp - Tests of key-range arithmetic ------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Support/KeyRanges.h"

#include <gtest/gtest.h>

using namespace mlir::attn;

TEST(KeyRanges, NormalizeSortsMergesAndDropsEmpty) {
  KeyRangeList ranges = {{8, 10}, {0, 2}, {5, 5}, {2, 4}, {9, 12}, {20, 19}};
  normalizeKeyRanges(ranges);
  KeyRangeList expected = {{0, 4}, {8, 12}};
  EXPECT_EQ(ranges, expected);
  EXPECT_EQ(countKeys(ranges), 8);
}

TEST(KeyRanges, ClippedAppend) {
  KeyRangeList ranges;
  appendClippedRange(ranges, -5, 3, 10);
  appendClippedRange(ranges, 8, 20, 10);
  appendClippedRange(ranges, 12, 20, 10);
  KeyRangeList expected = {{0, 3}, {8, 10}};
  EXPECT_EQ(ranges, expected);
}

TEST(KeyRanges, DivisionRoundsTowardsInfinities) {
  EXPECT_EQ(floorDiv(-1, 4), -1);
  EXPECT_EQ(floorDiv(-4, 4), -1);
  EXPECT_EQ(floorDiv(7, 4), 1);
  EXPECT_EQ(ceilDiv(7, 4), 2);
  EXPECT_EQ(ceilDiv(-7, 4), -1);
  EXPECT_EQ(positiveMod(-1, 4), 3);
}
