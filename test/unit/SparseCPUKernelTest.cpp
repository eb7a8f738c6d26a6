//===- SparseCPUKernelTest.cpp - Sparse-projection CPU kernels vs reference ===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// End-to-end numerics of the sparse-projection CPU kernels
// (docs/sparse-projection.md): each case writes the op, compiles it through
// attn-convert-to-cpu and the LLVM lowering (JIT), calls the C interface
// exactly as cpu_kernel_abi.h says (descriptors of each operand, then each
// result, then the item range, split in three uneven chunks as threads
// would), and compares with lib/Reference on the same rounded inputs:
//
//  - select_blocks: indices equal the reference's exactly, on random normal
//    inputs whose decisive score gaps (reported by the reference) exceed
//    1e-5, far above the f32 rounding of the pooled dot products (~1e-7 on
//    scores of ~1e-1);
//  - attention over selected blocks: within 2e-5 (f32; the dense kernel's
//    bound, docs/cpu.md) of the reference with the same lists, which hold
//    blocks in any order, duplicates, -1 and out-of-range entries;
//  - compress_kv: mean and linear within 1e-5 (f32) or one bf16 ulp of the
//    rounded reference;
//  - sparse_branches (NSA's combined form): within the attention bound
//    times the weights' sum of the reference mix, and the reference itself
//    equals the weighted sum of three independently computed attentions.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Reference/Reference.h"
#include "attn/Target/CPUBackend.h"
#include "CPUKernelHarness.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
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

using attn_test::fromBF16;
using attn_test::KernelBuffer;

class SparseCPUKernelTest : public ::testing::Test,
                            protected attn_test::CPUKernelCompiler {
protected:
  /// Runs `kernel` of `engine` on `buffers` (operands then results) over
  /// its work items `workItems(pairs, queryLen, keyLen)`, in three uneven
  /// chunks.
  void run(ExecutionEngine &engine, const std::string &kernel,
           std::vector<KernelBuffer *> buffers, int64_t pairs, int64_t queryLen,
           int64_t keyLen) {
    auto workItems = engine.lookup(kernel + "_work_items");
    ASSERT_TRUE(bool(workItems)) << llvm::toString(workItems.takeError());
    int64_t items = reinterpret_cast<int64_t (*)(int64_t, int64_t, int64_t)>(
        *workItems)(pairs, queryLen, keyLen);
    ASSERT_GE(items, 0);
    auto entry = engine.lookup("_mlir_ciface_" + kernel);
    ASSERT_TRUE(bool(entry)) << llvm::toString(entry.takeError());
    std::vector<std::vector<int64_t>> descriptors;
    for (KernelBuffer *buffer : buffers)
      descriptors.push_back(buffer->descriptor());
    using P = void *;
    std::vector<P> d;
    for (auto &descriptor : descriptors)
      d.push_back(descriptor.data());
    int64_t cuts[] = {0, items / 3, items / 3 + 1, items};
    for (int part = 0; part < 3; ++part) {
      int64_t begin = std::min(cuts[part], items),
              end = std::min(cuts[part + 1], items);
      if (begin >= end)
        continue;
      switch (d.size()) {
      case 3:
        reinterpret_cast<void (*)(P, P, P, int64_t, int64_t)>(*entry)(
            d[0], d[1], d[2], begin, end);
        break;
      case 4:
        reinterpret_cast<void (*)(P, P, P, P, int64_t, int64_t)>(*entry)(
            d[0], d[1], d[2], d[3], begin, end);
        break;
      case 5:
        reinterpret_cast<void (*)(P, P, P, P, P, int64_t, int64_t)>(*entry)(
            d[0], d[1], d[2], d[3], d[4], begin, end);
        break;
      case 6:
        reinterpret_cast<void (*)(P, P, P, P, P, P, int64_t, int64_t)>(
            *entry)(d[0], d[1], d[2], d[3], d[4], d[5], begin, end);
        break;
      case 8:
        reinterpret_cast<void (*)(P, P, P, P, P, P, P, P, int64_t, int64_t)>(
            *entry)(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], begin,
                    end);
        break;
      default:
        FAIL() << "no call for " << d.size() << " descriptors";
      }
    }
  }

  void fillNormal(KernelBuffer &buffer) {
    std::normal_distribution<double> dist(0.0, 1.0);
    for (int64_t i = 0; i < buffer.numElements(); ++i)
      buffer.set(i, dist(rng));
  }
  void fillUniform(KernelBuffer &buffer) {
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    for (int64_t i = 0; i < buffer.numElements(); ++i)
      buffer.set(i, dist(rng));
  }

  std::mt19937_64 rng{2026};
};

std::string tensorType(std::vector<std::string> dims, const std::string &t) {
  std::string s = "tensor<";
  for (const std::string &d : dims)
    s += d + "x";
  return s + t + ">";
}

//===----------------------------------------------------------------------===//
// select_blocks
//===----------------------------------------------------------------------===//

struct SelectCase {
  int64_t batch = 1, queryHeads = 4, kvHeads = 2, queryLen = 200,
          keyLen = 200, dim = 32;
  SelectBlocksParams params;
  bool pooled = false;
  std::string dtype = "f32";
  /// Key positions set to NaN (their block's pooled key and score are NaN).
  std::vector<int64_t> nanKeys = {};
};

class SelectBlocksKernel : public SparseCPUKernelTest {
protected:
  void check(const SelectCase &c) {
    const SelectBlocksParams &p = c.params;
    int64_t numKeyBlocks = (c.keyLen + p.keyBlock - 1) / p.keyBlock;
    int64_t numQueryBlocks = (c.queryLen + p.queryBlock - 1) / p.queryBlock;
    std::string q = tensorType({"?", std::to_string(c.queryHeads), "?",
                                std::to_string(c.dim)},
                               c.dtype),
                k = tensorType({"?", std::to_string(c.kvHeads), "?",
                                std::to_string(c.dim)},
                               c.dtype),
                idx = tensorType({"?", std::to_string(c.kvHeads), "?",
                                  std::to_string(p.topK)},
                                 "i32");
    std::string ir = "func.func @f(%q: " + q + ", %k: " + k;
    if (c.pooled)
      ir += ", %pk: " + k;
    ir += ") -> " + idx + " {\n  %i = attn.select_blocks %q, %k ";
    if (c.pooled)
      ir += "pooled_keys(%pk : " + k + ") ";
    ir += "{query_block = " + std::to_string(p.queryBlock) +
          " : i64, key_block = " + std::to_string(p.keyBlock) +
          " : i64, top_k = " + std::to_string(p.topK) +
          " : i64, keep_sink = " + std::to_string(p.keepSink) +
          " : i64, keep_local = " + std::to_string(p.keepLocal) + " : i64" +
          (p.causal ? ", causal" : "") + "} : " + q + ", " + k + " -> " + idx +
          "\n  return %i : " + idx + "\n}\n";
    std::unique_ptr<ExecutionEngine> engine = compile(ir, "x86-64-v3");
    ASSERT_TRUE(engine) << "failed to compile:\n" << ir;

    KernelBuffer qb(c.dtype, {c.batch, c.queryHeads, c.queryLen, c.dim}),
        kb(c.dtype, {c.batch, c.kvHeads, c.keyLen, c.dim}),
        pkb(c.dtype, {c.batch, c.kvHeads, numKeyBlocks, c.dim}),
        out("i32", {c.batch, c.kvHeads, numQueryBlocks, p.topK});
    fillNormal(qb);
    fillNormal(kb);
    fillNormal(pkb);
    for (int64_t t : c.nanKeys)
      kb.set(t * c.dim, std::numeric_limits<double>::quiet_NaN());
    for (int64_t i = 0; i < out.numElements(); ++i)
      out.set(i, 12345); // Every slot must be written.
    std::vector<KernelBuffer *> buffers = {&qb, &kb};
    if (c.pooled)
      buffers.push_back(&pkb);
    buffers.push_back(&out);
    run(*engine, "f_select0", buffers, c.batch * c.kvHeads, c.queryLen,
        c.keyLen);

    HostTensor pooledHost = pkb.host();
    double gap = 0;
    HostTensor ref = referenceSelectBlocks(
        qb.host(), kb.host(), c.pooled ? &pooledHost : nullptr, p, &gap);
    ASSERT_GT(gap, 1e-5) << "the inputs have near-ties: pick another seed";
    ASSERT_EQ(ref.numElements(), out.numElements());
    int64_t mismatches = 0;
    for (int64_t i = 0; i < out.numElements(); ++i)
      if (out.get(i) != ref.data[i] && mismatches++ < 5)
        ADD_FAILURE() << "indices[" << i << "] = " << out.get(i)
                      << ", reference " << ref.data[i];
    EXPECT_EQ(mismatches, 0);
  }
};

TEST_F(SelectBlocksKernel, CausalSinkLocalGQA) {
  SelectCase c;
  c.batch = 2;
  c.params = {64, 64, 3, 1, 1, true};
  c.queryLen = c.keyLen = 500; // Ragged last blocks (500 = 7 x 64 + 52).
  check(c);
}

TEST_F(SelectBlocksKernel, FewerQueriesThanKeysSmallBlocks) {
  SelectCase c;
  c.queryLen = 70;
  c.keyLen = 330;
  c.params = {16, 32, 4, 2, 2, true};
  check(c);
}

TEST_F(SelectBlocksKernel, MoreQueriesThanKeys) {
  // The first query blocks sit before position 0: all -1.
  SelectCase c;
  c.queryHeads = c.kvHeads = 2;
  c.queryLen = 300;
  c.keyLen = 120;
  c.params = {32, 16, 5, 1, 2, true};
  check(c);
}

TEST_F(SelectBlocksKernel, NotCausalPooledKeysMQA) {
  SelectCase c;
  c.queryHeads = 4;
  c.kvHeads = 1;
  c.queryLen = 100;
  c.keyLen = 400;
  c.params = {64, 64, 4, 0, 1, false};
  c.pooled = true;
  check(c);
}

TEST_F(SelectBlocksKernel, NaNScoresComeLastBF16) {
  SelectCase c;
  c.dtype = "bf16";
  c.queryLen = c.keyLen = 256;
  c.params = {64, 32, 8, 0, 0, false};
  c.nanKeys = {3, 100}; // Blocks 0 and 3 of KV head 0, batch 0: NaN.
  check(c);
}

//===----------------------------------------------------------------------===//
// Attention over selected blocks
//===----------------------------------------------------------------------===//

struct SelectedAttentionCase {
  std::string name;
  int64_t batch = 1, queryHeads = 2, kvHeads = 1, queryLen = 200,
          keyLen = 200, dim = 64, slots = 4;
  int64_t block = 64;
  bool causal = false;
  std::string target = "x86-64-v4";
  std::vector<int64_t> gatedOff = {};
};

std::ostream &operator<<(std::ostream &os, const SelectedAttentionCase &c) {
  return os << c.name;
}

class SelectedAttentionKernel
    : public SparseCPUKernelTest,
      public ::testing::WithParamInterface<SelectedAttentionCase> {};

TEST_P(SelectedAttentionKernel, MatchesReference) {
  const SelectedAttentionCase &c = GetParam();
  bool gated = !c.gatedOff.empty();
  int64_t numQueryBlocks = (c.queryLen + c.block - 1) / c.block;
  int64_t numKeyBlocks = (c.keyLen + c.block - 1) / c.block;
  std::string q = tensorType({std::to_string(c.batch),
                              std::to_string(c.queryHeads), "?",
                              std::to_string(c.dim)},
                             "f32"),
              kv = tensorType({std::to_string(c.batch),
                               std::to_string(c.kvHeads), "?",
                               std::to_string(c.dim)},
                              "f32"),
              idx = tensorType({std::to_string(c.batch),
                                std::to_string(c.kvHeads), "?",
                                std::to_string(c.slots)},
                               "i32"),
              g = tensorType({std::to_string(c.batch),
                              std::to_string(c.queryHeads)},
                             "i1");
  std::string pattern = "#attn.selected<query_block = " +
                        std::to_string(c.block) + ", key_block = " +
                        std::to_string(c.block) +
                        (c.causal ? ", causal>" : ">");
  std::string ir = "func.func @f(%q: " + q + ", %k: " + kv + ", %v: " + kv +
                   (gated ? ", %g: " + g : "") + ", %i: " + idx + ") -> " + q +
                   " {\n  %o = attn.attention %q, %k, %v " +
                   (gated ? "gates(%g : " + g + ") " : "") + "blocks(%i : " +
                   idx + ") {pattern = " + pattern + "} : " + q + ", " + kv +
                   ", " + kv + " -> " + q + "\n  return %o : " + q + "\n}\n";
  std::unique_ptr<ExecutionEngine> engine = compile(ir, c.target);
  ASSERT_TRUE(engine) << "failed to compile:\n" << ir;

  KernelBuffer qb("f32", {c.batch, c.queryHeads, c.queryLen, c.dim}),
      kb("f32", {c.batch, c.kvHeads, c.keyLen, c.dim}),
      vb("f32", {c.batch, c.kvHeads, c.keyLen, c.dim}),
      ob("f32", {c.batch, c.queryHeads, c.queryLen, c.dim}),
      blocks("i32", {c.batch, c.kvHeads, numQueryBlocks, c.slots});
  fillUniform(qb);
  fillUniform(kb);
  fillUniform(vb);
  // Lists in any order with duplicates, -1 and entries past the keys
  // (also huge ones): the kernel ignores what the definition ignores.
  std::uniform_int_distribution<int64_t> pick(-1, numKeyBlocks + 1);
  for (int64_t i = 0; i < blocks.numElements(); ++i)
    blocks.set(i, pick(rng));
  blocks.set(0, std::numeric_limits<int32_t>::max());
  if (blocks.numElements() > 1)
    blocks.set(1, std::numeric_limits<int32_t>::min());

  HostTensor gates({c.batch, c.queryHeads}, 1.0);
  std::vector<int32_t> active;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.queryHeads; ++h) {
      bool off = llvm::is_contained(c.gatedOff, h);
      gates.at({b, h}) = off ? 0.0 : 1.0;
      if (!off)
        active.push_back(int32_t(b * c.queryHeads + h));
    }
  KernelBuffer activeBuffer("i32", {int64_t(active.size())});
  for (size_t i = 0; i < active.size(); ++i)
    activeBuffer.set(i, active[i]);

  // Operands in the ABI's order: query, key, value, out, [active,] blocks.
  std::vector<KernelBuffer *> buffers = {&qb, &kb, &vb, &ob};
  if (gated)
    buffers.push_back(&activeBuffer);
  buffers.push_back(&blocks);
  run(*engine, "f_attn0", buffers,
      gated ? int64_t(active.size()) : c.batch * c.queryHeads, c.queryLen,
      c.keyLen);

  auto patternAttr =
      cast<PatternAttrInterface>(parseAttribute(pattern, &context));
  HostTensor blocksHost = blocks.host();
  HostTensor ref = referenceAttention(qb.host(), kb.host(), vb.host(),
                                      patternAttr, 1.0 / std::sqrt(c.dim),
                                      gated ? &gates : nullptr, &blocksHost);
  double err = 0;
  for (int64_t i = 0; i < ob.numElements(); ++i)
    err = std::max(err, std::abs(ob.get(i) - ref.data[i]));
  EXPECT_LE(err, 2e-5);
}

std::vector<SelectedAttentionCase> selectedCases() {
  std::vector<SelectedAttentionCase> cases;
  auto add = [&](SelectedAttentionCase c) { cases.push_back(std::move(c)); };
  add({"ragged"});
  add({"causal_gqa", 2, 4, 2, 200, 200, 64, 3, 64, true});
  add({"causal_fewer_queries_v3", 1, 2, 1, 70, 300, 64, 4, 64, true,
       "x86-64-v3"});
  add({"causal_more_queries", 1, 2, 2, 300, 150, 64, 3, 64, true});
  add({"decode", 2, 4, 1, 1, 500, 64, 5, 64, true});
  add({"block128_d32", 1, 2, 1, 300, 400, 32, 2, 128, false});
  SelectedAttentionCase gated{"gated_causal", 2, 4, 2, 130, 200, 64, 3, 64,
                              true};
  gated.gatedOff = {1, 2};
  add(gated);
  return cases;
}

INSTANTIATE_TEST_SUITE_P(
    Numerics, SelectedAttentionKernel, ::testing::ValuesIn(selectedCases()),
    [](const ::testing::TestParamInfo<SelectedAttentionCase> &info) {
      return info.param.name;
    });

/// select_blocks then attention over its lists, two kernels, as the
/// runtime chains @select and @attend: the output equals the reference
/// attention over the reference's selection.
TEST_F(SparseCPUKernelTest, SelectThenAttend) {
  const int64_t B = 1, Hq = 4, Hkv = 2, S = 320, D = 64, K = 3, blk = 64;
  const int64_t nb = S / blk;
  std::string q = "tensor<1x4x?x64xf32>", kv = "tensor<1x2x?x64xf32>",
              idx = "tensor<1x2x?x3xi32>";
  std::string ir =
      "func.func @select(%q: " + q + ", %k: " + kv + ") -> " + idx +
      " {\n  %i = attn.select_blocks %q, %k {query_block = 64 : i64, "
      "key_block = 64 : i64, top_k = 3 : i64, keep_sink = 1 : i64, "
      "keep_local = 1 : i64, causal} : " +
      q + ", " + kv + " -> " + idx + "\n  return %i : " + idx +
      "\n}\nfunc.func @attend(%q: " + q + ", %k: " + kv + ", %v: " + kv +
      ", %i: " + idx + ") -> " + q +
      " {\n  %o = attn.attention %q, %k, %v blocks(%i : " + idx +
      ") {pattern = #attn.selected<query_block = 64, key_block = 64, "
      "causal>} : " +
      q + ", " + kv + ", " + kv + " -> " + q + "\n  return %o : " + q + "\n}\n";
  std::unique_ptr<ExecutionEngine> engine = compile(ir, "x86-64-v4");
  ASSERT_TRUE(engine) << ir;
  KernelBuffer qb("f32", {B, Hq, S, D}), kb("f32", {B, Hkv, S, D}),
      vb("f32", {B, Hkv, S, D}), ob("f32", {B, Hq, S, D}),
      blocks("i32", {B, Hkv, nb, K});
  fillNormal(qb);
  fillNormal(kb);
  fillUniform(vb);
  run(*engine, "select_select0", {&qb, &kb, &blocks}, B * Hkv, S, S);
  run(*engine, "attend_attn0", {&qb, &kb, &vb, &ob, &blocks}, B * Hq, S, S);

  SelectBlocksParams params{blk, blk, K, 1, 1, true};
  double gap = 0;
  HostTensor refBlocks =
      referenceSelectBlocks(qb.host(), kb.host(), nullptr, params, &gap);
  ASSERT_GT(gap, 1e-5);
  EXPECT_EQ(blocks.host().data, refBlocks.data);
  auto pattern = cast<PatternAttrInterface>(parseAttribute(
      "#attn.selected<query_block = 64, key_block = 64, causal>", &context));
  HostTensor ref = referenceAttention(qb.host(), kb.host(), vb.host(), pattern,
                                      1.0 / std::sqrt(double(D)), nullptr,
                                      &refBlocks);
  double err = 0;
  for (int64_t i = 0; i < ob.numElements(); ++i)
    err = std::max(err, std::abs(ob.get(i) - ref.data[i]));
  // Normal queries: logits up to ~10, outputs still averages of [-1, 1].
  EXPECT_LE(err, 2e-5);
}

//===----------------------------------------------------------------------===//
// compress_kv
//===----------------------------------------------------------------------===//

struct CompressCase {
  std::string dtype = "f32";
  int64_t batch = 2, kvHeads = 2, length = 100, dim = 32, valueDim = 16;
  int64_t block = 32, stride = 16;
  bool linear = false;
};

class CompressKVKernel : public SparseCPUKernelTest {
protected:
  void check(const CompressCase &c) {
    int64_t slots =
        c.length < c.block ? 0 : (c.length - c.block) / c.stride + 1;
    std::string k = tensorType({std::to_string(c.batch),
                                std::to_string(c.kvHeads), "?",
                                std::to_string(c.dim)},
                               c.dtype),
                v = tensorType({std::to_string(c.batch),
                                std::to_string(c.kvHeads), "?",
                                std::to_string(c.valueDim)},
                               c.dtype),
                w = tensorType({std::to_string(c.kvHeads),
                                std::to_string(c.block)},
                               "f32");
    std::string ir = "func.func @f(%k: " + k + ", %v: " + v +
                     (c.linear ? ", %w: " + w : "") + ") -> (" + k + ", " + v +
                     ") {\n  %ck, %cv = attn.compress_kv %k, %v " +
                     (c.linear ? "weights(%w : " + w + ") " : "") +
                     "{block = " + std::to_string(c.block) +
                     " : i64, stride = " + std::to_string(c.stride) +
                     " : i64, method = #attn.compression<" +
                     (c.linear ? "linear" : "mean") + ">} : " + k + ", " + v +
                     " -> " + k + ", " + v + "\n  return %ck, %cv : " + k +
                     ", " + v + "\n}\n";
    std::unique_ptr<ExecutionEngine> engine = compile(ir, "x86-64-v3");
    ASSERT_TRUE(engine) << "failed to compile:\n" << ir;
    KernelBuffer kb(c.dtype, {c.batch, c.kvHeads, c.length, c.dim}),
        vb(c.dtype, {c.batch, c.kvHeads, c.length, c.valueDim}),
        wb("f32", {c.kvHeads, c.block}),
        ck(c.dtype, {c.batch, c.kvHeads, slots, c.dim}),
        cv(c.dtype, {c.batch, c.kvHeads, slots, c.valueDim});
    fillUniform(kb);
    fillUniform(vb);
    fillUniform(wb);
    std::vector<KernelBuffer *> buffers = {&kb, &vb};
    if (c.linear)
      buffers.push_back(&wb);
    buffers.push_back(&ck);
    buffers.push_back(&cv);
    // The runtime passes N and S (cpu_kernel_abi.h); the count depends on
    // S alone.
    run(*engine, "f_compress0", buffers, c.batch * c.kvHeads, slots,
        c.length);
    HostTensor weights = wb.host();
    auto [refK, refV] = referenceCompressKV(
        kb.host(), vb.host(), c.linear ? &weights : nullptr, c.block, c.stride);
    for (auto [out, ref] : {std::pair<KernelBuffer *, HostTensor *>{&ck, &refK},
                            {&cv, &refV}}) {
      ASSERT_EQ(out->numElements(), ref->numElements());
      for (int64_t i = 0; i < out->numElements(); ++i) {
        double expected = ref->data[i];
        if (c.dtype == "f32") {
          ASSERT_NEAR(out->get(i), expected, 1e-5) << "element " << i;
        } else {
          // Rounded once from f32: within one bf16 ulp of the reference.
          double ulp = std::ldexp(1.0, std::ilogb(std::abs(expected)) - 7);
          ASSERT_NEAR(out->get(i), expected, ulp + 1e-6) << "element " << i;
        }
      }
    }
  }
};

TEST_F(CompressKVKernel, MeanOverlappingWindows) { check({}); }

TEST_F(CompressKVKernel, LinearBF16) {
  CompressCase c;
  c.dtype = "bf16";
  c.linear = true;
  c.length = 129;
  c.block = 16;
  c.stride = 8;
  check(c);
}

TEST_F(CompressKVKernel, MeanDisjointWindowsRaggedTail) {
  CompressCase c;
  c.length = 70; // Two windows of 32; the last 6 positions start none.
  c.stride = 32;
  check(c);
}

TEST_F(CompressKVKernel, ShorterThanOneWindowHasNoItems) {
  CompressCase c;
  c.length = 20;
  check(c);
}

//===----------------------------------------------------------------------===//
// sparse_branches
//===----------------------------------------------------------------------===//

struct BranchesCase {
  std::string name;
  int64_t batch = 1, queryHeads = 4, kvHeads = 2, queryLen = 200,
          keyLen = 200, dim = 32, valueDim = 32, slots = 3;
  int64_t queryBlock = 16, keyBlock = 16, compressBlock = 16,
          compressStride = 8;
  bool causal = true;
  std::string window = "#attn.local<window = 31, causal>";
  std::string dtype = "f32", weightsType = "f32";
  std::string target = "x86-64-v4";
  double tolerance = 6e-5;
};

std::ostream &operator<<(std::ostream &os, const BranchesCase &c) {
  return os << c.name;
}

class SparseBranchesKernel
    : public SparseCPUKernelTest,
      public ::testing::WithParamInterface<BranchesCase> {};

TEST_P(SparseBranchesKernel, MatchesReference) {
  const BranchesCase &c = GetParam();
  int64_t numQueryBlocks = (c.queryLen + c.queryBlock - 1) / c.queryBlock;
  int64_t numKeyBlocks = (c.keyLen + c.keyBlock - 1) / c.keyBlock;
  int64_t slotsN = (c.keyLen - c.compressBlock) / c.compressStride + 1;
  auto dims = [](int64_t heads, int64_t last) {
    return std::vector<std::string>{"?", std::to_string(heads), "?",
                                    std::to_string(last)};
  };
  std::string q = tensorType(dims(c.queryHeads, c.dim), c.dtype),
              k = tensorType(dims(c.kvHeads, c.dim), c.dtype),
              v = tensorType(dims(c.kvHeads, c.valueDim), c.dtype),
              idx = tensorType(dims(c.kvHeads, c.slots), "i32"),
              w = tensorType(dims(c.queryHeads, 3), c.weightsType),
              o = tensorType(dims(c.queryHeads, c.valueDim), c.dtype);
  std::string selected = "#attn.selected<query_block = " +
                         std::to_string(c.queryBlock) + ", key_block = " +
                         std::to_string(c.keyBlock) +
                         (c.causal ? ", causal>" : ">");
  std::string ir =
      "func.func @f(%q: " + q + ", %k: " + k + ", %v: " + v + ", %ck: " + k +
      ", %cv: " + v + ", %i: " + idx + ", %w: " + w + ") -> " + o +
      " {\n  %o = attn.sparse_branches %q, %k, %v, %ck, %cv, %i, %w "
      "{compress_block = " +
      std::to_string(c.compressBlock) +
      " : i64, compress_stride = " + std::to_string(c.compressStride) +
      " : i64" + (c.causal ? ", causal" : "") + ", selected = " + selected +
      ", window = " + c.window + "} : " + q + ", " + k + ", " + v + ", " + k +
      ", " + v + ", " + idx + ", " + w + " -> " + o + "\n  return %o : " + o +
      "\n}\n";
  std::unique_ptr<ExecutionEngine> engine = compile(ir, c.target);
  ASSERT_TRUE(engine) << "failed to compile:\n" << ir;

  KernelBuffer qb(c.dtype, {c.batch, c.queryHeads, c.queryLen, c.dim}),
      kb(c.dtype, {c.batch, c.kvHeads, c.keyLen, c.dim}),
      vb(c.dtype, {c.batch, c.kvHeads, c.keyLen, c.valueDim}),
      ckb(c.dtype, {c.batch, c.kvHeads, slotsN, c.dim}),
      cvb(c.dtype, {c.batch, c.kvHeads, slotsN, c.valueDim}),
      blocks("i32", {c.batch, c.kvHeads, numQueryBlocks, c.slots}),
      wb(c.weightsType, {c.batch, c.queryHeads, c.queryLen, 3}),
      ob(c.dtype, {c.batch, c.queryHeads, c.queryLen, c.valueDim});
  for (KernelBuffer *t : {&qb, &kb, &vb, &ckb, &cvb})
    fillUniform(*t);
  // Scores of a few units, so that the three softmaxes differ visibly.
  for (int64_t i = 0; i < qb.numElements(); ++i)
    qb.set(i, 3.0 * qb.get(i));
  // Weights as NSA's sigmoid gates give them, plus some negative ones: the
  // op uses them as given.
  std::uniform_real_distribution<double> weight(-0.25, 1.0);
  for (int64_t i = 0; i < wb.numElements(); ++i)
    wb.set(i, weight(rng));
  std::uniform_int_distribution<int64_t> pick(-1, numKeyBlocks + 1);
  for (int64_t i = 0; i < blocks.numElements(); ++i)
    blocks.set(i, pick(rng));
  blocks.set(0, std::numeric_limits<int32_t>::max());

  run(*engine, "f_branches0", {&qb, &kb, &vb, &ckb, &cvb, &blocks, &wb, &ob},
      c.batch * c.kvHeads, c.queryLen, c.keyLen);

  SparseBranchesParams params;
  params.compressBlock = c.compressBlock;
  params.compressStride = c.compressStride;
  params.causal = c.causal;
  params.selected = cast<SelectedAttr>(parseAttribute(selected, &context));
  params.window = cast<PatternAttrInterface>(parseAttribute(c.window, &context));
  double scale = 1.0 / std::sqrt(double(c.dim));
  HostTensor q0 = qb.host(), k0 = kb.host(), v0 = vb.host(), ck = ckb.host(),
             cv = cvb.host(), list = blocks.host(), weights = wb.host();
  HostTensor ref = referenceSparseBranches(q0, k0, v0, ck, cv, list, weights,
                                           params, scale);
  double err = 0, largest = 0;
  for (int64_t i = 0; i < ob.numElements(); ++i) {
    err = std::max(err, std::abs(ob.get(i) - ref.data[i]));
    largest = std::max(largest, std::abs(ref.data[i]));
  }
  EXPECT_LE(err, c.tolerance) << "largest |reference| " << largest;
  EXPECT_GT(largest, 0.1) << "the case tests nothing";

  // The reference is the per-row mix of three attentions computed another
  // way: attention with the selected and window patterns, and the
  // compressed branch by brute force from its definition.
  HostTensor sel = referenceAttention(q0, k0, v0, params.selected, scale,
                                      nullptr, &list);
  HostTensor win =
      referenceAttention(q0, k0, v0, params.window, scale, nullptr, nullptr);
  double mixErr = 0;
  int64_t group = c.queryHeads / c.kvHeads;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.queryHeads; ++h)
      for (int64_t r = 0; r < c.queryLen; ++r) {
        int64_t p = r + c.keyLen - c.queryLen;
        std::vector<double> logits;
        std::vector<int64_t> seen;
        for (int64_t n = 0; n < slotsN; ++n) {
          if (c.causal && n * c.compressStride + c.compressBlock - 1 > p)
            continue;
          double dot = 0;
          for (int64_t d = 0; d < c.dim; ++d)
            dot += q0.at({b, h, r, d}) * ck.at({b, h / group, n, d});
          logits.push_back(scale * dot);
          seen.push_back(n);
        }
        double top = -std::numeric_limits<double>::infinity(), sum = 0;
        for (double x : logits)
          top = std::max(top, x);
        for (double x : logits)
          sum += std::exp(x - top);
        for (int64_t d = 0; d < c.valueDim; ++d) {
          double cmp = 0;
          for (size_t j = 0; j < seen.size(); ++j)
            cmp += std::exp(logits[j] - top) / sum *
                   cv.at({b, h / group, seen[j], d});
          double mix = weights.at({b, h, r, 0}) * cmp +
                       weights.at({b, h, r, 1}) * sel.at({b, h, r, d}) +
                       weights.at({b, h, r, 2}) * win.at({b, h, r, d});
          mixErr = std::max(mixErr, std::abs(mix - ref.at({b, h, r, d})));
        }
      }
  EXPECT_LE(mixErr, 1e-12);
}

std::vector<BranchesCase> branchesCases() {
  std::vector<BranchesCase> cases;
  cases.push_back({"causal_gqa"});
  BranchesCase fewer{"not_causal_fewer_queries_union_bf16_v3"};
  fewer.queryLen = 70;
  fewer.keyLen = 300;
  fewer.causal = false;
  fewer.window = "#attn.union<[#attn.global<tokens = 4>, "
                 "#attn.local<window = 20>]>";
  fewer.dtype = "bf16";
  fewer.target = "x86-64-v3";
  fewer.tolerance = 3e-2;
  cases.push_back(fewer);
  BranchesCase more{"causal_more_queries_f16_weights"};
  more.queryLen = 300;
  more.keyLen = 150;
  more.weightsType = "f16";
  more.compressBlock = 32;
  more.compressStride = 16;
  cases.push_back(more);
  BranchesCase decode{"decode_mqa_dv64"};
  decode.batch = 2;
  decode.kvHeads = 1;
  decode.queryLen = 1;
  decode.keyLen = 500;
  decode.valueDim = 64;
  decode.keyBlock = 32;
  decode.slots = 5;
  cases.push_back(decode);
  BranchesCase dense{"dense_window_blocks_of_64"};
  dense.queryBlock = 64;
  dense.keyBlock = 64;
  dense.causal = false;
  dense.window = "#attn.dense";
  dense.keyLen = 260;
  dense.queryLen = 260;
  cases.push_back(dense);
  return cases;
}

INSTANTIATE_TEST_SUITE_P(
    Numerics, SparseBranchesKernel, ::testing::ValuesIn(branchesCases()),
    [](const ::testing::TestParamInfo<BranchesCase> &info) {
      return info.param.name;
    });

} // namespace
