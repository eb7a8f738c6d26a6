//===- ReferenceTest.cpp - Reference numerics and IR equivalence ----------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Checks the reference attention on cases with known answers, then uses the
// reference evaluator to show that attn-fuse-skipped-heads changes no number:
// fused and unfused IR agree on the active heads and give zeros elsewhere.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Reference/Reference.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/TilingInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace mlir;
using namespace mlir::attn;

namespace {
class ReferenceTest : public ::testing::Test {
protected:
  ReferenceTest() {
    DialectRegistry registry;
    registry.insert<AttnDialect, func::FuncDialect, arith::ArithDialect,
                    tensor::TensorDialect, linalg::LinalgDialect,
                    math::MathDialect>();
    linalg::registerTilingInterfaceExternalModels(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  HostTensor random(ArrayRef<int64_t> shape) {
    HostTensor t(shape);
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    for (double &v : t.data)
      v = dist(rng);
    return t;
  }

  MLIRContext context;
  std::mt19937_64 rng{7};
};
} // namespace

TEST_F(ReferenceTest, KnownAnswers) {
  // One key visible (causal, row 0): the output is that key's value.
  HostTensor q = random({1, 2, 3, 4}), k = random({1, 1, 3, 4}),
             v = random({1, 1, 3, 5});
  auto causal = cast<PatternAttrInterface>(CausalAttr::get(&context));
  HostTensor out = referenceAttention(q, k, v, causal, 0.5, nullptr, nullptr);
  for (int64_t h = 0; h < 2; ++h) // MQA: both heads read KV head 0.
    for (int64_t d = 0; d < 5; ++d)
      EXPECT_DOUBLE_EQ(out.at({0, h, 0, d}), v.at({0, 0, 0, d}));
  // Equal logits (zero queries): the mean of the visible values.
  HostTensor zeros({1, 1, 2, 4});
  HostTensor v2 = random({1, 1, 2, 3});
  auto dense = cast<PatternAttrInterface>(DenseAttr::get(&context));
  HostTensor mean =
      referenceAttention(zeros, random({1, 1, 2, 4}), v2, dense, 1.0, nullptr,
                         nullptr);
  for (int64_t d = 0; d < 3; ++d)
    EXPECT_NEAR(mean.at({0, 0, 1, d}),
                (v2.at({0, 0, 0, d}) + v2.at({0, 0, 1, d})) / 2, 1e-15);
  // A gated-off head and a row that sees nothing give zeros.
  HostTensor gates(ArrayRef<int64_t>{1, 2});
  gates.data = {0.0, 1.0};
  HostTensor qc = random({1, 2, 4, 4}), kc = random({1, 2, 2, 4}),
             vc = random({1, 2, 2, 4});
  HostTensor gated = referenceAttention(qc, kc, vc, causal, 1.0, &gates, nullptr);
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t d = 0; d < 4; ++d) {
      EXPECT_EQ(gated.at({0, 0, r, d}), 0.0);
      if (r < 2) { // Positions -2 and -1 see no key.
        EXPECT_EQ(gated.at({0, 1, r, d}), 0.0);
      }
    }
  EXPECT_NE(gated.at({0, 1, 3, 0}), 0.0);
}

// Fused and unfused IR compute the same numbers: the projections of the kept
// heads, their attention, and zeros for the skipped ones.
TEST_F(ReferenceTest, FusingSkippedHeadsChangesNoNumber) {
  const char *source = R"mlir(
func.func @layer(%x: tensor<2x6x8xf32>, %wq: tensor<4x8x4xf32>, %wk: tensor<2x8x4xf32>,
                 %wv: tensor<2x8x4xf32>) -> tensor<2x4x6x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e4 = tensor.empty() : tensor<2x4x6x4xf32>
  %z4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<2x4x6x4xf32>) -> tensor<2x4x6x4xf32>
  %e2 = tensor.empty() : tensor<2x2x6x4xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x2x6x4xf32>) -> tensor<2x2x6x4xf32>
  %q = linalg.generic {indexing_maps = [affine_map<(b, h, s, d, m) -> (b, s, m)>, affine_map<(b, h, s, d, m) -> (h, m, d)>, affine_map<(b, h, s, d, m) -> (b, h, s, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%x, %wq : tensor<2x6x8xf32>, tensor<4x8x4xf32>) outs(%z4 : tensor<2x4x6x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x4x6x4xf32>
  %k = linalg.generic {indexing_maps = [affine_map<(b, h, s, d, m) -> (b, s, m)>, affine_map<(b, h, s, d, m) -> (h, m, d)>, affine_map<(b, h, s, d, m) -> (b, h, s, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%x, %wk : tensor<2x6x8xf32>, tensor<2x8x4xf32>) outs(%z2 : tensor<2x2x6x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x2x6x4xf32>
  %v = linalg.generic {indexing_maps = [affine_map<(b, h, s, d, m) -> (b, s, m)>, affine_map<(b, h, s, d, m) -> (h, m, d)>, affine_map<(b, h, s, d, m) -> (b, h, s, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%x, %wv : tensor<2x6x8xf32>, tensor<2x8x4xf32>) outs(%z2 : tensor<2x2x6x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x2x6x4xf32>
  %g = arith.constant dense<[[true, false, true, false], [true, false, false, false]]> : tensor<2x4xi1>
  %o = attn.attention %q, %k, %v gates(%g : tensor<2x4xi1>) {pattern = #attn.per_head<[#attn.causal, #attn.dense, #attn.local<window = 2>, #attn.causal]>} : tensor<2x4x6x4xf32>, tensor<2x2x6x4xf32>, tensor<2x2x6x4xf32> -> tensor<2x4x6x4xf32>
  return %o : tensor<2x4x6x4xf32>
}
)mlir";
  OwningOpRef<ModuleOp> original = parseSourceString<ModuleOp>(source, &context);
  ASSERT_TRUE(original);
  OwningOpRef<ModuleOp> fused = original->clone();
  PassManager pm(&context);
  pm.addPass(createAttnFuseSkippedHeads());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  ASSERT_TRUE(succeeded(pm.run(*fused)));

  // The fused layer projects and attends only heads 0 and 2 (of 4).
  int attentionHeads = 0, projectedHeads = 0;
  fused->walk([&](AttentionOp op) { attentionHeads += op.getNumQueryHeads(); });
  fused->walk([&](linalg::GenericOp op) {
    projectedHeads += cast<RankedTensorType>(op.getResult(0).getType()).getDimSize(1);
  });
  EXPECT_EQ(attentionHeads, 2);
  EXPECT_LT(projectedHeads, 4 + 2 + 2);

  std::vector<HostTensor> inputs = {random({2, 6, 8}), random({4, 8, 4}),
                                    random({2, 8, 4}), random({2, 8, 4})};
  std::string error;
  auto before = evaluate(*original->getOps<func::FuncOp>().begin(), inputs, error);
  ASSERT_TRUE(succeeded(before)) << error;
  auto after = evaluate(*fused->getOps<func::FuncOp>().begin(), inputs, error);
  ASSERT_TRUE(succeeded(after)) << error;
  const HostTensor &x = (*before)[0], &y = (*after)[0];
  ASSERT_EQ(x.shape, y.shape);
  double largest = 0;
  for (size_t i = 0; i < x.data.size(); ++i) {
    EXPECT_NEAR(x.data[i], y.data[i], 1e-12) << "element " << i;
    largest = std::max(largest, std::abs(x.data[i]));
  }
  EXPECT_GT(largest, 0.0); // Not all zeros: the comparison means something.
  // Heads 1 and 3 fire in no row, head 2 only in row 0: zeros there.
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t s = 0; s < 6; ++s)
      for (int64_t d = 0; d < 4; ++d) {
        EXPECT_EQ(y.at({b, 1, s, d}), 0.0);
        EXPECT_EQ(y.at({b, 3, s, d}), 0.0);
        if (b == 1) {
          EXPECT_EQ(y.at({b, 2, s, d}), 0.0);
        }
      }
}

// Through an output projection too: the narrowed projection reduces over
// the kept heads only and computes the same numbers.
TEST_F(ReferenceTest, FusingThroughTheOutputProjectionChangesNoNumber) {
  const char *source = R"mlir(
func.func @layer(%q: tensor<2x4x6x4xf32>, %wo: tensor<4x4x5xf32>) -> tensor<2x6x5xf32> {
  %g = arith.constant dense<[[false, true, false, true], [false, true, false, false]]> : tensor<2x4xi1>
  %o = attn.attention %q, %q, %q gates(%g : tensor<2x4xi1>) {pattern = #attn.causal} : tensor<2x4x6x4xf32>, tensor<2x4x6x4xf32>, tensor<2x4x6x4xf32> -> tensor<2x4x6x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x6x5xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x6x5xf32>) -> tensor<2x6x5xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(b, s, m, h, d) -> (b, h, s, d)>, affine_map<(b, s, m, h, d) -> (h, d, m)>, affine_map<(b, s, m, h, d) -> (b, s, m)>], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%o, %wo : tensor<2x4x6x4xf32>, tensor<4x4x5xf32>) outs(%z : tensor<2x6x5xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x6x5xf32>
  return %r : tensor<2x6x5xf32>
}
)mlir";
  OwningOpRef<ModuleOp> original = parseSourceString<ModuleOp>(source, &context);
  ASSERT_TRUE(original);
  OwningOpRef<ModuleOp> fused = original->clone();
  PassManager pm(&context);
  pm.addPass(createAttnFuseSkippedHeads());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  ASSERT_TRUE(succeeded(pm.run(*fused)));
  int64_t reducedHeads = 0;
  fused->walk([&](linalg::GenericOp op) {
    reducedHeads = cast<RankedTensorType>(op.getInputs()[0].getType()).getDimSize(1);
  });
  EXPECT_EQ(reducedHeads, 2); // Heads 1 and 3 of 4.

  std::vector<HostTensor> inputs = {random({2, 4, 6, 4}), random({4, 4, 5})};
  std::string error;
  auto before = evaluate(*original->getOps<func::FuncOp>().begin(), inputs, error);
  ASSERT_TRUE(succeeded(before)) << error;
  auto after = evaluate(*fused->getOps<func::FuncOp>().begin(), inputs, error);
  ASSERT_TRUE(succeeded(after)) << error;
  ASSERT_EQ((*before)[0].shape, (*after)[0].shape);
  double largest = 0;
  for (size_t i = 0; i < (*before)[0].data.size(); ++i) {
    EXPECT_NEAR((*before)[0].data[i], (*after)[0].data[i], 1e-12) << i;
    largest = std::max(largest, std::abs((*before)[0].data[i]));
  }
  EXPECT_GT(largest, 0.0);
}

TEST_F(ReferenceTest, EvaluatorNamesWhatItDoesNotKnow) {
  const char *source = R"mlir(
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = math.sqrt %x : tensor<4xf32>
  return %y : tensor<4xf32>
}
)mlir";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &context);
  ASSERT_TRUE(module);
  std::string error;
  HostTensor x(ArrayRef<int64_t>{4});
  EXPECT_TRUE(failed(evaluate(*module->getOps<func::FuncOp>().begin(), {x}, error)));
  EXPECT_EQ(error, "'math.sqrt' is not known to the reference evaluator");
}

// attn-lower-head-gate's linalg computes exactly lib/Gate's gates: random
// scores with ties and NaN, every rule, costs, min_active, budgets at and
// between the steps.
TEST_F(ReferenceTest, LoweredHeadGateMatchesItsDefinition) {
  int compared = 0;
  for (int trial = 0; trial < 300; ++trial) {
    int64_t heads = 1 + rng() % 12, batch = 1 + rng() % 3;
    int rule = rng() % 3; // 0: budget attribute, 1: runtime budget, 2: threshold.
    int64_t minActive = rng() % 3 == 0 ? 0 : 1 + rng() % std::max<int64_t>(1, heads / 2);
    minActive = std::min(minActive, heads);
    double budget = double(rng() % 17) / 16.0;
    if (budget == 0.0)
      budget = 0.03125;
    std::string costs;
    if (rule != 2 && rng() % 2) {
      costs = ", head_costs = array<i64: ";
      for (int64_t h = 0; h < heads; ++h)
        costs += (h ? ", " : "") + std::to_string(1 + rng() % 5);
      costs += ">";
    }
    std::string type = "tensor<" + std::to_string(batch) + "x" + std::to_string(heads);
    std::string gate;
    if (rule == 0)
      gate = "attn.head_gate %s {budget = #attn.budget<" + std::to_string(budget) +
             ">, min_active = " + std::to_string(minActive) + costs + "}";
    else if (rule == 1)
      gate = "attn.head_gate %s budget(%b : f64) {min_active = " +
             std::to_string(minActive) + costs + "}";
    else
      gate = "attn.head_gate %s {threshold = 0.25 : f32, min_active = " +
             std::to_string(minActive) + "}";
    std::string source = "func.func @g(%s: " + type + "xf32>, %b: f64) -> " +
                         type + "xi1> {\n  %g = " + gate + " : " + type +
                         "xf32> -> " + type + "xi1>\n  return %g : " + type +
                         "xi1>\n}\n";
    OwningOpRef<ModuleOp> original = parseSourceString<ModuleOp>(source, &context);
    ASSERT_TRUE(original) << source;
    OwningOpRef<ModuleOp> lowered = original->clone();
    PassManager pm(&context);
    pm.addPass(createAttnLowerHeadGate());
    ASSERT_TRUE(succeeded(pm.run(*lowered))) << source;
    ASSERT_TRUE(lowered->walk([](HeadGateOp) { return WalkResult::interrupt(); })
                    .wasInterrupted() == false);

    HostTensor scores(ArrayRef<int64_t>{batch, heads});
    for (double &s : scores.data) {
      int kind = rng() % 10;
      s = kind == 0 ? NAN : kind < 4 ? double(rng() % 3) / 4 : double(rng() % 100) / 100;
    }
    HostTensor runtimeBudget;
    runtimeBudget.data = {budget};
    std::string error;
    auto expected = evaluate(*original->getOps<func::FuncOp>().begin(),
                             {scores, runtimeBudget}, error);
    ASSERT_TRUE(succeeded(expected)) << error;
    auto actual = evaluate(*lowered->getOps<func::FuncOp>().begin(),
                           {scores, runtimeBudget}, error);
    ASSERT_TRUE(succeeded(actual)) << error << "\n" << source;
    ASSERT_EQ((*expected)[0].data, (*actual)[0].data) << source;
    ++compared;
  }
  RecordProperty("gates_compared", compared);
}
