//===- CPUKernelTest.cpp - CPU kernels against the f64 reference ----------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// End-to-end numerics of attn-convert-to-cpu: each case writes an
// attn.attention, compiles it through the same passes as attn-compile (JIT
// instead of an object file), runs it, and compares with the double-precision
// reference (lib/Reference) on the same rounded inputs.
//
// Tolerances, and why:
//  - f32: max |ours - ref| <= 2e-5 with inputs in [-1, 1] and outputs of size
//    ~1. Our error sources are f32 rounding of the two dot products
//    (~sqrt(D or Skv) x 6e-8) and the exp2 polynomial (< 1.2e-7 relative);
//    observed errors are ~1e-6, so 2e-5 leaves room without hiding a wrong
//    mask (a wrong key changes outputs by ~1e-2).
//  - f16/bf16 (FlashAttention's practice): the error of our result must be at
//    most 2x (+ a floor of one output ulp) the error of a plain low-precision
//    attention (scores, probabilities and output rounded to the type, as a
//    framework computing in that type does) against the same reference.
//
// Cases cover every pattern kind, GQA, ragged lengths, Sq != Skv both ways,
// single-row decode, gated heads (zero outputs), both register blockings
// (x86-64-v3 and x86-64-v4 IR; the JIT runs either on this host), head dims
// 32/64/128, and split item ranges (what the runtime's threads do).
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Reference/Reference.h"
#include "attn/Target/CPUBackend.h"
#include "CPUKernelHarness.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/Support/TargetSelect.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <cstring>
#include <limits>
#include <random>

using namespace mlir;
using namespace mlir::attn;

namespace {

enum class DType { F32, F16, BF16 };

const char *typeName(DType t) {
  return t == DType::F32 ? "f32" : t == DType::F16 ? "f16" : "bf16";
}

using attn_test::fromBF16;
using attn_test::fromF16;
using attn_test::KernelBuffer;
using attn_test::toBF16;
using attn_test::toF16;

double roundTo(DType t, double x) {
  switch (t) {
  case DType::F32:
    return static_cast<float>(x);
  case DType::F16:
    return fromF16(toF16(static_cast<float>(x)));
  case DType::BF16:
    return fromBF16(toBF16(static_cast<float>(x)));
  }
  return x;
}

struct Case {
  std::string name;
  std::string pattern = "#attn.dense";
  DType dtype = DType::F32;
  int64_t batch = 1, queryHeads = 2, kvHeads = 2;
  int64_t queryLen = 100, keyLen = 100, headDim = 64;
  std::string target = "x86-64-v4";
  /// Heads (per batch row) switched off through a `gates` operand.
  std::vector<int64_t> gatedOff = {};
  bool gated() const { return !gatedOff.empty(); }
  /// A non-finite input (docs/robustness.md): NaN in every element of query
  /// row `poisonRow` of head 0, NaN in key `poisonKey` (element 0) of KV
  /// head 0, or +inf in value `poisonKey` (element 1) of KV head 0.
  enum class Poison { None, NaNQueryRow, NaNKey, InfValue } poison = Poison::None;
  int64_t poisonRow = 0, poisonKey = 0;
};

std::ostream &operator<<(std::ostream &os, const Case &c) {
  return os << c.name;
}

class CPUKernelTest : public ::testing::TestWithParam<Case>,
                      protected attn_test::CPUKernelCompiler {
protected:
  std::string buildIR(const Case &c) {
    std::string t = typeName(c.dtype);
    auto tensor = [&](int64_t heads) {
      return "tensor<" + std::to_string(c.batch) + "x" + std::to_string(heads) +
             "x?x" + std::to_string(c.headDim) + "x" + t + ">";
    };
    std::string q = tensor(c.queryHeads), kv = tensor(c.kvHeads);
    std::string gateType = "tensor<" + std::to_string(c.batch) + "x" +
                           std::to_string(c.queryHeads) + "xi1>";
    std::string ir = "func.func @f(%q: " + q + ", %k: " + kv + ", %v: " + kv;
    if (c.gated())
      ir += ", %g: " + gateType;
    ir += ") -> " + q + " {\n  %o = attn.attention %q, %k, %v ";
    if (c.gated())
      ir += "gates(%g : " + gateType + ") ";
    ir += "{pattern = " + c.pattern + "} : " + q + ", " + kv + ", " + kv +
          " -> " + q + "\n  return %o : " + q + "\n}\n";
    return ir;
  }

  std::unique_ptr<ExecutionEngine> compile(const Case &c) {
    return CPUKernelCompiler::compile(buildIR(c), c.target);
  }
};

/// Plain attention computed in the low-precision type: scores, the softmax
/// probabilities and the output rounded to it (f32 sums), as a framework
/// evaluating the naive formula in that type does.
HostTensor lowPrecisionAttention(const Case &c, const HostTensor &q,
                                 const HostTensor &k, const HostTensor &v,
                                 PatternAttrInterface pattern, double scale) {
  HostTensor out(q.shape);
  AttentionExtent extent{c.queryLen, c.keyLen};
  int64_t group = c.queryHeads / c.kvHeads;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.queryHeads; ++h)
      for (int64_t i = 0; i < c.queryLen; ++i) {
        std::vector<double> s(c.keyLen, -INFINITY);
        double mx = -INFINITY;
        for (int64_t j = 0; j < c.keyLen; ++j) {
          if (!pattern.isVisible(extent, h, i, j))
            continue;
          float dot = 0;
          for (int64_t d = 0; d < c.headDim; ++d)
            dot += float(q.at({b, h, i, d}) * k.at({b, h / group, j, d}));
          s[j] = roundTo(c.dtype, roundTo(c.dtype, dot) * scale);
          mx = std::max(mx, s[j]);
        }
        if (mx == -INFINITY)
          continue;
        float sum = 0;
        for (int64_t j = 0; j < c.keyLen; ++j)
          if (s[j] != -INFINITY)
            sum += float(std::exp(s[j] - mx));
        for (int64_t d = 0; d < c.headDim; ++d) {
          float acc = 0;
          for (int64_t j = 0; j < c.keyLen; ++j)
            if (s[j] != -INFINITY)
              acc += float(roundTo(c.dtype, std::exp(s[j] - mx) / sum) *
                           v.at({b, h / group, j, d}));
          out.at({b, h, i, d}) = roundTo(c.dtype, acc);
        }
      }
  return out;
}

TEST_P(CPUKernelTest, MatchesReference) {
  const Case &c = GetParam();
  std::unique_ptr<ExecutionEngine> engine = compile(c);
  ASSERT_TRUE(engine) << "failed to compile:\n" << buildIR(c);

  std::mt19937_64 rng(std::hash<std::string>()(c.name));
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<int64_t> qShape = {c.batch, c.queryHeads, c.queryLen, c.headDim};
  std::vector<int64_t> kvShape = {c.batch, c.kvHeads, c.keyLen, c.headDim};
  KernelBuffer qBuf(typeName(c.dtype), qShape), kBuf(typeName(c.dtype), kvShape),
      vBuf(typeName(c.dtype), kvShape), oBuf(typeName(c.dtype), qShape);
  HostTensor q(qShape), k(kvShape), v(kvShape);
  auto fill = [&](KernelBuffer &buf, HostTensor &host) {
    for (int64_t i = 0; i < buf.numElements(); ++i) {
      buf.set(i, dist(rng));
      host.data[i] = buf.get(i); // The reference sees the rounded inputs.
    }
  };
  fill(qBuf, q);
  fill(kBuf, k);
  fill(vBuf, v);
  auto poison = [](KernelBuffer &buf, HostTensor &host, int64_t i, double x) {
    buf.set(i, x);
    host.data[i] = buf.get(i);
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  switch (c.poison) {
  case Case::Poison::None:
    break;
  case Case::Poison::NaNQueryRow:
    for (int64_t d = 0; d < c.headDim; ++d)
      poison(qBuf, q, q.offset({0, 0, c.poisonRow, d}), nan);
    break;
  case Case::Poison::NaNKey:
    poison(kBuf, k, k.offset({0, 0, c.poisonKey, 0}), nan);
    break;
  case Case::Poison::InfValue:
    poison(vBuf, v, v.offset({0, 0, c.poisonKey, 1}),
           std::numeric_limits<double>::infinity());
    break;
  }
  for (int64_t i = 0; i < oBuf.numElements(); ++i)
    oBuf.set(i, 0.0);

  // Active pairs: the gates' compacted list, as the runtime builds it.
  HostTensor gates({c.batch, c.queryHeads}, 1.0);
  std::vector<int32_t> active;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.queryHeads; ++h) {
      bool off = llvm::is_contained(c.gatedOff, h);
      gates.at({b, h}) = off ? 0.0 : 1.0;
      if (!off)
        active.push_back(static_cast<int32_t>(b * c.queryHeads + h));
    }

  auto workItems = engine->lookup("f_attn0_work_items");
  ASSERT_TRUE(bool(workItems)) << llvm::toString(workItems.takeError());
  int64_t pairs = c.gated() ? int64_t(active.size()) : c.batch * c.queryHeads;
  int64_t items = reinterpret_cast<int64_t (*)(int64_t, int64_t, int64_t)>(
      *workItems)(pairs, c.queryLen, c.keyLen);
  ASSERT_GE(items, 0);

  auto kernel = engine->lookup("_mlir_ciface_f_attn0");
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  auto qd = qBuf.descriptor(), kd = kBuf.descriptor(), vd = vBuf.descriptor(),
       od = oBuf.descriptor();
  StridedMemRefType<int32_t, 1> ad;
  ad.basePtr = ad.data = active.data();
  ad.offset = 0;
  ad.sizes[0] = active.size();
  ad.strides[0] = 1;
  // Three uneven chunks, as threads would take them.
  int64_t cuts[] = {0, items / 3, items / 3 + 1, items};
  for (int part = 0; part < 3; ++part) {
    int64_t begin = std::min(cuts[part], items), end = std::min(cuts[part + 1], items);
    if (begin >= end)
      continue;
    using Call4 = void (*)(void *, void *, void *, void *, int64_t, int64_t);
    using Call5 = void (*)(void *, void *, void *, void *, void *, int64_t,
                           int64_t);
    if (c.gated())
      reinterpret_cast<Call5>(*kernel)(qd.data(), kd.data(), vd.data(),
                                       od.data(), &ad, begin, end);
    else
      reinterpret_cast<Call4>(*kernel)(qd.data(), kd.data(), vd.data(),
                                       od.data(), begin, end);
  }

  Attribute patternAttr = parseAttribute(c.pattern, &context);
  ASSERT_TRUE(patternAttr);
  auto pattern = cast<PatternAttrInterface>(patternAttr);
  double scale = 1.0 / std::sqrt(double(c.headDim));
  HostTensor ref = referenceAttention(q, k, v, pattern, scale,
                                      c.gated() ? &gates : nullptr, nullptr);
  double err = 0;
  for (int64_t i = 0; i < oBuf.numElements(); ++i) {
    // Non-finite inputs give non-finite outputs exactly where the reference
    // has them (IEEE propagation), and nowhere else.
    double ours = oBuf.get(i);
    if (!std::isfinite(ref.data[i]) || !std::isfinite(ours)) {
      ASSERT_EQ(std::isnan(ours), std::isnan(ref.data[i]))
          << c.name << ": output " << i << " is " << ours
          << ", the reference has " << ref.data[i];
      if (!std::isnan(ours))
        ASSERT_EQ(ours, ref.data[i]) << c.name << ": output " << i;
      continue;
    }
    err = std::max(err, std::abs(ours - ref.data[i]));
  }
  if (c.poison != Case::Poison::None) {
    // The poisoned inputs reach some outputs (the cases are chosen so).
    int64_t nonFinite = llvm::count_if(
        ref.data, [](double x) { return !std::isfinite(x); });
    EXPECT_GT(nonFinite, 0) << c.name;
  }
  if (c.dtype == DType::F32) {
    EXPECT_LE(err, 2e-5) << c.name;
  } else {
    HostTensor low = lowPrecisionAttention(c, q, k, v, pattern, scale);
    double lowErr = 0;
    for (int64_t i = 0; i < oBuf.numElements(); ++i) {
      int64_t h = (i / (c.queryLen * c.headDim)) % c.queryHeads;
      if (!llvm::is_contained(c.gatedOff, h))
        lowErr = std::max(lowErr, std::abs(low.data[i] - ref.data[i]));
    }
    double ulp = c.dtype == DType::F16 ? 0x1p-11 : 0x1p-8;
    EXPECT_LE(err, 2 * lowErr + ulp) << c.name << ": plain " << typeName(c.dtype)
                                     << " attention errs by " << lowErr;
  }
}

std::vector<Case> allCases() {
  std::vector<Case> cases;
  auto add = [&](Case c) { cases.push_back(std::move(c)); };
  add({"dense_ragged", "#attn.dense"});
  add({"dense_v3", "#attn.dense", DType::F32, 1, 2, 2, 100, 100, 64, "x86-64-v3"});
  add({"dense_batch2_d32", "#attn.dense", DType::F32, 2, 2, 1, 77, 77, 32});
  add({"dense_d128", "#attn.dense", DType::F32, 1, 2, 2, 130, 130, 128});
  add({"causal_gqa_sq_lt_skv", "#attn.causal", DType::F32, 2, 4, 2, 70, 130});
  add({"causal_sq_gt_skv", "#attn.causal", DType::F32, 1, 2, 2, 150, 90});
  add({"causal_decode", "#attn.causal", DType::F32, 2, 4, 1, 1, 200});
  // Zero-length sequences: no work, no reads; rows without keys are zeros.
  add({"no_queries", "#attn.causal", DType::F32, 1, 2, 2, 0, 70});
  add({"no_keys", "#attn.dense", DType::F32, 1, 2, 2, 50, 0});
  add({"dense_decode_v3", "#attn.dense", DType::F32, 1, 2, 2, 1, 65, 64, "x86-64-v3"});
  add({"local", "#attn.local<window = 16>", DType::F32, 1, 2, 2, 200, 200});
  add({"local_causal_v3", "#attn.local<window = 40, causal>", DType::F32, 1, 2, 2, 200, 200, 64, "x86-64-v3"});
  add({"local_dilated", "#attn.local<window = 30, dilation = 3>", DType::F32, 1, 2, 2, 150, 150});
  add({"strided", "#attn.strided<stride = 3, block = 16>", DType::F32, 1, 2, 2, 200, 200});
  add({"strided_causal_tiles", "#attn.strided<stride = 2, block = 64, causal>", DType::F32, 1, 2, 2, 300, 300});
  add({"global_local", "#attn.union<[#attn.global<tokens = 8>, #attn.local<window = 20>]>", DType::F32, 1, 2, 2, 230, 230});
  add({"chunked", "#attn.chunked<size = 48>", DType::F32, 1, 2, 2, 200, 200});
  add({"chunked_causal", "#attn.chunked<size = 64, causal>", DType::F32, 1, 2, 2, 200, 180});
  add({"random_blocks", "#attn.random_blocks<density = 0.4, seed = 5, block = 64>", DType::F32, 1, 3, 3, 300, 300});
  add({"random_blocks_nodiag", "#attn.random_blocks<density = 0.3, seed = 9, block = 128, diagonal = false>", DType::F32, 1, 2, 2, 400, 400});
  add({"random_blocks_sq_lt_skv", "#attn.random_blocks<density = 0.3, seed = 2, block = 64>", DType::F32, 1, 2, 1, 100, 300});
  add({"random_blocks_sq_gt_skv_v3", "#attn.random_blocks<density = 0.5, seed = 4, block = 64, diagonal = false>", DType::F32, 1, 2, 2, 300, 200, 64, "x86-64-v3"});
  add({"random_blocks_all", "#attn.random_blocks<density = 1.0, seed = 4, block = 64>", DType::F32, 1, 2, 2, 130, 130});
  add({"block_layout", "#attn.block_layout<block = 64, shape = [3, 3], layout = [1, 0, 0, 1, 1, 0, 0, 1, 1]>", DType::F32, 1, 2, 2, 180, 180});
  add({"block_layout_per_head", "#attn.block_layout<block = 64, shape = [2, 2, 2], layout = [1, 0, 1, 1, 0, 1, 1, 0]>", DType::F32, 1, 2, 2, 128, 128});
  add({"per_head", "#attn.per_head<[#attn.causal, #attn.local<window = 8>, #attn.dense, #attn.chunked<size = 32>]>", DType::F32, 1, 4, 2, 150, 150});
  add({"union_random_causal", "#attn.union<[#attn.random_blocks<density = 0.2, seed = 1, block = 64>, #attn.local<window = 10, causal>]>", DType::F32, 1, 2, 2, 256, 256});
  add({"f16_dense", "#attn.dense", DType::F16, 1, 2, 2, 100, 100});
  add({"f16_causal_gqa", "#attn.causal", DType::F16, 1, 4, 2, 90, 120});
  add({"bf16_dense", "#attn.dense", DType::BF16, 1, 2, 2, 100, 100});
  add({"bf16_local", "#attn.local<window = 24, causal>", DType::BF16, 1, 2, 1, 130, 130, 128});
  // Non-finite inputs stay in the rows they reach: a NaN query row (head 0,
  // row 7) is NaN and nothing else is; a NaN key (key 40) reaches only the
  // causal rows >= 40 of the heads that read KV head 0; an infinite value
  // makes element 1 of every row of those heads infinite. (Under a mask, an
  // infinite value also turns rows of its tile that do not see it into NaN:
  // their zero probabilities multiply it, 0 x inf, as in FlashAttention-style
  // kernels; docs/robustness.md.)
  Case nanRow{"nan_query_row", "#attn.causal", DType::F32, 1, 2, 2, 100, 100};
  nanRow.poison = Case::Poison::NaNQueryRow;
  nanRow.poisonRow = 7;
  add(nanRow);
  Case nanKey{"nan_key_gqa", "#attn.causal", DType::F32, 1, 4, 2, 100, 100};
  nanKey.poison = Case::Poison::NaNKey;
  nanKey.poisonKey = 40;
  add(nanKey);
  Case infValue{"inf_value_dense_v3", "#attn.dense", DType::F32, 1, 4, 2, 100, 100, 64, "x86-64-v3"};
  infValue.poison = Case::Poison::InfValue;
  infValue.poisonKey = 40;
  add(infValue);
  Case nanBf16{"nan_query_row_bf16", "#attn.dense", DType::BF16, 1, 2, 2, 70, 70};
  nanBf16.poison = Case::Poison::NaNQueryRow;
  nanBf16.poisonRow = 69;
  add(nanBf16);
  Case gated{"gated_heads", "#attn.causal", DType::F32, 2, 4, 2, 100, 100};
  gated.gatedOff = {1, 2};
  add(gated);
  Case gatedBf16{"gated_bf16_v3", "#attn.dense", DType::BF16, 1, 4, 4, 70, 70, 64, "x86-64-v3"};
  gatedBf16.gatedOff = {0, 3};
  add(gatedBf16);
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Numerics, CPUKernelTest,
                         ::testing::ValuesIn(allCases()),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return info.param.name;
                         });

} // namespace
