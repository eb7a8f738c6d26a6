//===- TestPasses.h - attn test passes --------------------------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_TESTPASSES_H
#define ATTN_TEST_TESTPASSES_H

namespace mlir {
namespace attn {
namespace test {

/// Registers the -test-attn-* passes used by lit tests.
void registerTestPasses();

} // namespace test
} // namespace attn
} // namespace mlir

#endif // ATTN_TEST_TESTPASSES_H
