//===- ExploreTest.cpp - attn-explore's library ---------------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The .npy reader on good and corrupt files, model.json checks, per-option
// metrics against lib/Reference on a tiny model (dense = error 0 and recall
// 1, gated-off heads = recall 0 and their whole output as error), costs, and
// the merged Pareto front against brute force.
//
//===----------------------------------------------------------------------===//

#include "attn/Explore/Explore.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Explore/Report.h"
#include "attn/Gate/HeadGate.h"

#include "mlir/AsmParser/AsmParser.h"
#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::explore;

namespace {

std::string errorOf(llvm::Error error) {
  return error ? llvm::toString(std::move(error)) : std::string();
}
template <typename T> std::string errorOf(llvm::Expected<T> value) {
  return value ? std::string() : llvm::toString(value.takeError());
}

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

TEST(Npy, RoundTripsShapesOfEveryRank) {
  for (llvm::SmallVector<int64_t, 4> shape :
       {llvm::SmallVector<int64_t, 4>{}, {5}, {2, 3}, {2, 1, 3, 4}, {0, 3}}) {
    int64_t count = 1;
    for (int64_t d : shape)
      count *= d;
    std::vector<float> data(count);
    for (int64_t i = 0; i < count; ++i)
      data[i] = 0.5f * float(i) - 3.25f;
    std::string bytes = serializeNpy(shape, data);
    // numpy aligns the payload to 64 bytes.
    EXPECT_EQ((bytes.size() - 4 * data.size()) % 64, 0u);
    llvm::Expected<NpyArray> array = parseNpy(bytes, "t.npy");
    ASSERT_TRUE(bool(array)) << llvm::toString(array.takeError());
    EXPECT_EQ(array->shape, shape);
    EXPECT_EQ(array->data, data);
  }
}

/// A header by hand, with `dict` as its dictionary (version 1.0).
std::string withHeader(llvm::StringRef dict, size_t payloadBytes,
                       char major = 1) {
  std::string out("\x93NUMPY", 6);
  out += major;
  out += char(0);
  std::string header = dict.str() + "\n";
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  if (major != 1) {
    out += char(0);
    out += char(0);
  }
  out += header;
  out.append(payloadBytes, '\0');
  return out;
}

TEST(Npy, AcceptsWhatNumpyWrites) {
  // Version 2.0, double quotes, no trailing comma, extra spaces.
  std::string bytes = withHeader(
      "{\"descr\": '<f4' , \"fortran_order\": False, \"shape\": (2,3)}", 24, 2);
  llvm::Expected<NpyArray> array = parseNpy(bytes, "v2.npy");
  ASSERT_TRUE(bool(array)) << llvm::toString(array.takeError());
  EXPECT_EQ(array->shape, (llvm::SmallVector<int64_t, 4>{2, 3}));
}

TEST(Npy, RejectsCorruptFilesNamingTheProblem) {
  const char *good =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  struct Case {
    std::string bytes;
    const char *message;
  } cases[] = {
      {"not numpy at all", "not a .npy file"},
      {std::string("\x93NUMPY", 6), "truncated .npy header"},
      {withHeader(good, 24, 4), "unsupported .npy format version 4.0"},
      {withHeader(good, 20), "needs 24 bytes of float32 data, the file has 20"},
      {withHeader(good, 28), "needs 24 bytes of float32 data, the file has 28"},
      {withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
                  48),
       "dtype '<f8' (expected float32, little-endian: '<f4')"},
      {withHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }",
                  24),
       "dtype '>f4'"},
      {withHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                  24),
       "Fortran-order"},
      {withHeader("{'descr': '<f4', 'fortran_order': False, }", 4),
       "lacks 'shape'"},
      {withHeader(
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", 24),
       "malformed 'shape'"},
      {withHeader("{'descr': '<f4', 'descr': '<f4', 'shape': (2,), }", 8),
       "repeated key 'descr'"},
      {withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': "
                  "(4294967296, 4294967296, 4294967296), }",
                  0),
       "too many elements"},
      {withHeader("['descr']", 0), "expected a dictionary"},
      {withHeader("{'descr' '<f4'}", 0), "malformed .npy header"},
  };
  for (const Case &c : cases) {
    std::string message = errorOf(parseNpy(c.bytes, "bad.npy"));
    EXPECT_NE(message.find(c.message), std::string::npos)
        << "got: " << message << "\nexpected: " << c.message;
    EXPECT_EQ(message.rfind("bad.npy: ", 0), 0u) << message;
  }
  // A header length beyond the file.
  std::string truncated = withHeader(good, 0).substr(0, 30);
  EXPECT_NE(errorOf(parseNpy(truncated, "t.npy")).find("truncated"),
            std::string::npos);
}

TEST(Npy, ReadsFilesAndReportsMissingOnes) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("attn-npy", dir));
  std::string path = (dir + "/a.npy").str();
  ASSERT_EQ(errorOf(writeNpy(path, {2, 2}, {1, 2, 3, 4})), "");
  llvm::Expected<llvm::SmallVector<int64_t, 4>> shape = readNpyShape(path);
  ASSERT_TRUE(bool(shape));
  EXPECT_EQ(*shape, (llvm::SmallVector<int64_t, 4>{2, 2}));
  llvm::Expected<NpyArray> array = readNpy(path);
  ASSERT_TRUE(bool(array));
  EXPECT_EQ(array->data, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_NE(errorOf(readNpy((dir + "/missing.npy").str())).find("cannot read"),
            std::string::npos);
  llvm::sys::fs::remove_directories(dir);
}

//===----------------------------------------------------------------------===//
// model.json
//===----------------------------------------------------------------------===//

const char *kMiniLM =
    R"({"model": "all-MiniLM-L6-v2", "source": {"package": "x", "version": "1"},
        "text": "t", "layers": 6, "heads": 12, "kv_heads": 12, "head_dim": 32,
        "hidden": 384, "sequences": 200, "seq_len": 128, "causal": false})";

TEST(ModelDescription, ParsesTheInterface) {
  llvm::Expected<ModelDescription> model =
      parseModelDescription(kMiniLM, "model.json");
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ(model->model, "all-MiniLM-L6-v2");
  EXPECT_EQ(model->layers, 6);
  EXPECT_EQ(model->heads, 12);
  EXPECT_EQ(model->headDim, 32);
  EXPECT_EQ(model->seqLen, 128);
  EXPECT_FALSE(model->causal);
}

TEST(ModelDescription, RejectsBadFields) {
  auto replaced = [](llvm::StringRef from, llvm::StringRef to) {
    std::string text = kMiniLM;
    size_t at = text.find(from.str());
    return text.replace(at, from.size(), to.str());
  };
  EXPECT_NE(errorOf(parseModelDescription(
                        replaced("\"heads\": 12", "\"heads\": 10"), "m"))
                .find("to be a multiple of \"kv_heads\""),
            std::string::npos);
  EXPECT_NE(errorOf(parseModelDescription(replaced("\"layers\": 6, ", ""), "m"))
                .find("expected an integer \"layers\" (missing)"),
            std::string::npos);
  EXPECT_NE(errorOf(parseModelDescription(
                        replaced("\"seq_len\": 128", "\"seq_len\": 0"), "m"))
                .find("expected \"seq_len\" in [1, 2^20], found 0"),
            std::string::npos);
  EXPECT_NE(errorOf(parseModelDescription(replaced("false", "true"), "m"))
                .find("\"causal\": true is not supported"),
            std::string::npos);
  EXPECT_NE(errorOf(parseModelDescription("{", "m")).find("invalid JSON"),
            std::string::npos);
}

TEST(Calibration, ChecksFilesAndRefusesNonFiniteValues) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("attn-calib", dir));
  ModelDescription model;
  model.model = "tiny";
  model.layers = 2;
  model.heads = 4;
  model.kvHeads = 2;
  model.headDim = 4;
  model.hidden = 16;
  model.sequences = 3;
  model.seqLen = 8;
  ASSERT_EQ(errorOf(writeSyntheticCalibration(dir, model, 1)), "");
  llvm::Expected<ModelDescription> read = readModelDescription(dir);
  ASSERT_TRUE(bool(read)) << llvm::toString(read.takeError());
  EXPECT_EQ(read->kvHeads, 2);
  EXPECT_EQ(errorOf(checkCalibration(dir, *read)), "");
  llvm::Expected<LayerActivations> layer = loadLayer(dir, model, 1, {2, 0});
  ASSERT_TRUE(bool(layer)) << llvm::toString(layer.takeError());
  // Sequences 2 and 0, in that order.
  llvm::Expected<NpyArray> k = readNpy(activationPath(dir, 1, "k"));
  ASSERT_TRUE(bool(k));
  EXPECT_EQ(layer->key.shape, (llvm::SmallVector<int64_t, 4>{2, 2, 8, 4}));
  EXPECT_EQ(layer->key.data[0], k->data[2 * 2 * 8 * 4]);
  EXPECT_EQ(layer->key.data[2 * 8 * 4], k->data[0]);

  std::vector<float> values(3 * 2 * 8 * 4, 1.0f);
  values[17] = std::nanf("");
  ASSERT_EQ(
      errorOf(writeNpy(activationPath(dir, 0, "v"), {3, 2, 8, 4}, values)), "");
  EXPECT_NE(errorOf(loadLayer(dir, model, 0, {0}))
                .find("layer0_v.npy: element 17 is NaN (expected finite "
                      "activations)"),
            std::string::npos);
  ASSERT_EQ(errorOf(writeNpy(activationPath(dir, 1, "q"), {3, 4, 8, 2},
                             std::vector<float>(3 * 4 * 8 * 2))),
            "");
  EXPECT_NE(errorOf(checkCalibration(dir, model))
                .find("layer1_q.npy: shape [3, 4, 8, 2] does not match "
                      "model.json: expected [3, 4, 8, 4]"),
            std::string::npos);
  llvm::sys::fs::remove_directories(dir);
}

//===----------------------------------------------------------------------===//
// Metrics on a tiny model
//===----------------------------------------------------------------------===//

class ExploreMetrics : public ::testing::Test {
protected:
  ExploreMetrics() {
    context.loadDialect<AttnDialect>();
    model.model = "tiny";
    model.layers = 1;
    model.heads = 4;
    model.kvHeads = 2;
    model.headDim = 4;
    model.hidden = 16;
    model.sequences = 3;
    model.seqLen = 16;
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<float> dist(-1.5f, 1.5f);
    auto fill = [&](NpyArray &array, int64_t heads) {
      array.shape = {model.sequences, heads, model.seqLen, model.headDim};
      array.data.resize(model.sequences * heads * model.seqLen * model.headDim);
      for (float &x : array.data)
        x = dist(rng);
    };
    activations.sequences = model.sequences;
    fill(activations.query, model.heads);
    fill(activations.key, model.kvHeads);
    fill(activations.value, model.kvHeads);
  }

  PatternAttrInterface pattern(llvm::StringRef text) {
    return cast<PatternAttrInterface>(parseAttribute(text, &context));
  }

  /// Sequence `n` of `array` as a 1 x heads x S x D host tensor.
  HostTensor host(const NpyArray &array, int64_t n) {
    HostTensor t({1, array.shape[1], array.shape[2], array.shape[3]});
    std::copy_n(array.data.begin() + n * t.data.size(), t.data.size(),
                t.data.begin());
    return t;
  }

  /// The relative error of `attend` with `gatesOf(n)` computed with
  /// lib/Reference, independently of the explorer's evaluation.
  double referenceError(PatternAttrInterface attend,
                        const std::function<HostTensor(int64_t)> &gatesOf) {
    double errorSquared = 0, denseSquared = 0;
    double scale = 1.0 / std::sqrt(double(model.headDim));
    for (int64_t n = 0; n < model.sequences; ++n) {
      HostTensor q = host(activations.query, n), k = host(activations.key, n),
                 v = host(activations.value, n);
      HostTensor dense = referenceAttention(q, k, v, pattern("#attn.dense"),
                                            scale, nullptr, nullptr);
      HostTensor gates = gatesOf(n);
      HostTensor out =
          referenceAttention(q, k, v, attend, scale,
                             gates.data.empty() ? nullptr : &gates, nullptr);
      for (size_t i = 0; i < dense.data.size(); ++i) {
        errorSquared +=
            (out.data[i] - dense.data[i]) * (out.data[i] - dense.data[i]);
        denseSquared += dense.data[i] * dense.data[i];
      }
    }
    return std::sqrt(errorSquared / denseSquared);
  }

  MLIRContext context;
  ModelDescription model;
  LayerActivations activations;
};

TEST_F(ExploreMetrics, DenseIsExactAndPatternsMatchTheReference) {
  llvm::SmallVector<AttendChoice> attends = {
      {pattern("#attn.dense"), std::nullopt},
      {pattern("#attn.local<window = 2>"), std::nullopt},
      {pattern(
           "#attn.union<[#attn.global<tokens = 1>, #attn.chunked<size = 4>]>"),
       std::nullopt}};
  LayerStatistics stats = evaluateLayer(activations, model, attends, 2);
  GateChoice none;
  OptionQuality dense = optionQuality(stats, 0, none);
  EXPECT_NEAR(dense.relativeError, 0.0, 1e-12);
  EXPECT_NEAR(dense.recall, 1.0, 1e-12);
  for (int64_t a : {1, 2}) {
    OptionQuality quality = optionQuality(stats, a, none);
    double expected = referenceError(attends[a].pattern,
                                     [](int64_t) { return HostTensor(); });
    EXPECT_GT(quality.relativeError, 0.01);
    EXPECT_NEAR(quality.relativeError, expected, 1e-9);
    EXPECT_GT(quality.recall, 0.0);
    EXPECT_LT(quality.recall, 1.0);
  }
  // Threads change nothing.
  LayerStatistics single = evaluateLayer(activations, model, attends, 1);
  EXPECT_EQ(single.errorSquared, stats.errorSquared);
  EXPECT_EQ(single.recall, stats.recall);
}

TEST_F(ExploreMetrics, OwnLengthsMatchTruncatedSequencesAndCountPairs) {
  // Sequences of 16, 9 and 5 real tokens; the padding holds values that
  // would change every result if it were read.
  std::vector<int64_t> lengths = {16, 9, 5};
  for (NpyArray *array :
       {&activations.query, &activations.key, &activations.value}) {
    int64_t heads = array->shape[1], S = model.seqLen, D = model.headDim;
    for (int64_t n = 0; n < model.sequences; ++n)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t t = lengths[n]; t < S; ++t)
          for (int64_t d = 0; d < D; ++d)
            array->data[((n * heads + h) * S + t) * D + d] = 100.0f;
  }
  activations.lengths = lengths;
  llvm::SmallVector<AttendChoice> attends = {
      {pattern("#attn.dense"), std::nullopt},
      {pattern("#attn.local<window = 2>"), std::nullopt}};
  LayerStatistics stats = evaluateLayer(activations, model, attends, 2);
  for (int64_t n = 0; n < model.sequences; ++n) {
    // The same sequence alone, cut to its length.
    ModelDescription alone = model;
    alone.sequences = 1;
    alone.seqLen = lengths[n];
    LayerActivations cut;
    cut.sequences = 1;
    for (auto [from, to] :
         {std::pair<NpyArray *, NpyArray *>{&activations.query, &cut.query},
          {&activations.key, &cut.key},
          {&activations.value, &cut.value}}) {
      int64_t heads = from->shape[1], S = model.seqLen, D = model.headDim;
      to->shape = {1, heads, lengths[n], D};
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t t = 0; t < lengths[n]; ++t)
          for (int64_t d = 0; d < D; ++d)
            to->data.push_back(from->data[((n * heads + h) * S + t) * D + d]);
    }
    LayerStatistics single = evaluateLayer(cut, alone, attends, 1);
    for (int64_t h = 0; h < model.heads; ++h) {
      int64_t i = n * model.heads + h;
      EXPECT_NEAR(stats.errorSquared[1][i], single.errorSquared[1][h], 1e-9);
      EXPECT_NEAR(stats.denseSquared[i], single.denseSquared[h], 1e-9);
      EXPECT_NEAR(stats.routerScore[i], single.routerScore[h], 1e-9);
      // |p - k| <= 2 at length L: L + 2 (L - 1) + 2 (L - 2) pairs.
      int64_t L = lengths[n];
      EXPECT_EQ(stats.pairs[0][i], double(L * L));
      EXPECT_EQ(stats.pairs[1][i], double(L + 2 * (L - 1) + 2 * (L - 2)));
    }
    EXPECT_EQ(stats.densePairs[n], double(lengths[n] * lengths[n]));
  }
  GateChoice none, half{GateKind::Importance, 2};
  EXPECT_DOUBLE_EQ(optionPairsFraction(stats, 0, none), 1.0);
  EXPECT_DOUBLE_EQ(optionPairsFraction(stats, 0, half), 0.5);
  double local = (74.0 + 39.0 + 19.0) / (256.0 + 81.0 + 25.0);
  EXPECT_NEAR(optionPairsFraction(stats, 1, none), local, 1e-12);

  // Per-head assignments: from every head local to every head dense.
  llvm::Expected<std::vector<PerHeadOption>> front =
      perHeadFront(stats, {0, 1}, 64);
  ASSERT_TRUE(bool(front)) << errorOf(front.takeError());
  ASSERT_GE(front->size(), 2u);
  EXPECT_NEAR(front->front().pairsFraction, local, 1e-12);
  EXPECT_NEAR(front->front().quality.relativeError,
              optionQuality(stats, 1, none).relativeError, 1e-9);
  EXPECT_NEAR(front->back().pairsFraction, 1.0, 1e-12);
  EXPECT_NEAR(front->back().quality.relativeError, 0.0, 1e-12);
  for (size_t i = 1; i < front->size(); ++i) {
    EXPECT_GT((*front)[i].pairsFraction, (*front)[i - 1].pairsFraction);
    EXPECT_LT((*front)[i].quality.relativeError,
              (*front)[i - 1].quality.relativeError);
  }
  llvm::Expected<std::vector<PerHeadOption>> thin =
      perHeadFront(stats, {0, 1}, 2);
  ASSERT_TRUE(bool(thin));
  EXPECT_EQ(thin->size(), 2u);
  EXPECT_EQ(errorOf(perHeadFront(stats, {}, 8)),
            "--per-head needs at least one static pattern");
}

TEST_F(ExploreMetrics, RecallIsTheDenseMassOnVisibleKeys) {
  llvm::SmallVector<AttendChoice> attends = {
      {pattern("#attn.local<window = 1>"), std::nullopt}};
  LayerStatistics stats = evaluateLayer(activations, model, attends, 1);
  // By hand: mean over sequences, heads, rows of the softmax mass on
  // |q - k| <= 1.
  const int64_t S = model.seqLen, D = model.headDim, H = model.heads;
  double total = 0;
  for (int64_t n = 0; n < model.sequences; ++n)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t q = 0; q < S; ++q) {
        std::vector<double> logits(S);
        double maxLogit = -INFINITY, sum = 0, visible = 0;
        for (int64_t k = 0; k < S; ++k) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot +=
                double(activations.query.data[((n * H + h) * S + q) * D + d]) *
                double(activations.key.data[((n * 2 + h / 2) * S + k) * D + d]);
          logits[k] = dot / 2.0;
          maxLogit = std::max(maxLogit, logits[k]);
        }
        for (int64_t k = 0; k < S; ++k) {
          double p = std::exp(logits[k] - maxLogit);
          sum += p;
          if (std::abs(q - k) <= 1)
            visible += p;
        }
        total += visible / sum;
      }
  EXPECT_NEAR(optionQuality(stats, 0, {}).recall,
              total / double(model.sequences * H * S), 1e-12);
}

TEST_F(ExploreMetrics, GatedOffHeadsCountAsRecallZeroAndFullError) {
  llvm::SmallVector<AttendChoice> attends = {
      {pattern("#attn.dense"), std::nullopt}};
  LayerStatistics stats = evaluateLayer(activations, model, attends, 2);
  // The router by hand: mean value norm of each head's KV head.
  auto routerGates = [&](int64_t n, int64_t keep) {
    const int64_t S = model.seqLen, D = model.headDim;
    std::vector<double> scores(model.heads);
    for (int64_t h = 0; h < model.heads; ++h) {
      for (int64_t t = 0; t < S; ++t) {
        double squared = 0;
        for (int64_t d = 0; d < D; ++d) {
          double x = activations.value.data[((n * 2 + h / 2) * S + t) * D + d];
          squared += x * x;
        }
        scores[h] = scores[h] + std::sqrt(squared) / double(S);
      }
    }
    HostTensor gates(llvm::ArrayRef<int64_t>{1, model.heads});
    llvm::SmallVector<int64_t> order = orderHeadsByScore(scores);
    for (int64_t i = 0; i < keep; ++i)
      gates.data[order[i]] = 1;
    return gates;
  };
  for (int64_t keep : {1, 3}) {
    GateChoice gate{GateKind::ValueNorm, keep};
    OptionQuality quality = optionQuality(stats, 0, gate);
    // Dense on the kept heads: recall 1 there, 0 on the others.
    EXPECT_NEAR(quality.recall, double(keep) / model.heads, 1e-12);
    EXPECT_NEAR(quality.relativeError,
                referenceError(attends[0].pattern,
                               [&](int64_t n) { return routerGates(n, keep); }),
                1e-9);
    for (int64_t n = 0; n < model.sequences; ++n) {
      llvm::SmallVector<bool> active = gateHeads(stats, gate, n);
      HostTensor expected = routerGates(n, keep);
      for (int64_t h = 0; h < model.heads; ++h)
        EXPECT_EQ(active[h], expected.data[h] != 0) << "n " << n << " h " << h;
    }
  }
  // Importance: a fixed set of heads, the largest output-norm shares.
  ASSERT_EQ(stats.importance.size(), 4u);
  double shares = 0;
  for (double share : stats.importance)
    shares += share;
  EXPECT_NEAR(shares, 1.0, 1e-12);
  GateChoice byImportance{GateKind::Importance, 2};
  llvm::SmallVector<bool> first = gateHeads(stats, byImportance, 0);
  for (int64_t n = 1; n < model.sequences; ++n)
    EXPECT_EQ(gateHeads(stats, byImportance, n), first);
  EXPECT_NEAR(optionQuality(stats, 0, byImportance).recall, 0.5, 1e-12);
}

TEST_F(ExploreMetrics, TopKOfEveryBlockIsDenseAndFewerBlocksMatchTheReference) {
  auto topK = [&](int64_t k) {
    TopKChoice choice{4, 4, k, 0, 1};
    return AttendChoice{
        cast<PatternAttrInterface>(SelectedAttr::get(&context, 4, 4, false)),
        choice};
  };
  llvm::SmallVector<AttendChoice> attends = {topK(4), topK(2)};
  LayerStatistics stats = evaluateLayer(activations, model, attends, 2);
  OptionQuality all = optionQuality(stats, 0, {});
  EXPECT_NEAR(all.relativeError, 0.0, 1e-12);
  EXPECT_NEAR(all.recall, 1.0, 1e-12);

  // Top-2: the reference selection, then reference attention on its blocks.
  double errorSquared = 0, denseSquared = 0;
  double scale = 0.5;
  SelectBlocksParams params;
  params.queryBlock = params.keyBlock = 4;
  params.topK = 2;
  params.keepLocal = 1;
  for (int64_t n = 0; n < model.sequences; ++n) {
    HostTensor q = host(activations.query, n), k = host(activations.key, n),
               v = host(activations.value, n);
    HostTensor blocks = referenceSelectBlocks(q, k, nullptr, params);
    HostTensor out = referenceAttention(q, k, v, attends[1].pattern, scale,
                                        nullptr, &blocks);
    HostTensor dense = referenceAttention(q, k, v, pattern("#attn.dense"),
                                          scale, nullptr, nullptr);
    for (size_t i = 0; i < dense.data.size(); ++i) {
      errorSquared +=
          (out.data[i] - dense.data[i]) * (out.data[i] - dense.data[i]);
      denseSquared += dense.data[i] * dense.data[i];
    }
  }
  EXPECT_NEAR(optionQuality(stats, 1, {}).relativeError,
              std::sqrt(errorSquared / denseSquared), 1e-9);
}

TEST_F(ExploreMetrics, CostsAreFractionsOfDense) {
  const TargetDescription *target = lookupTarget("x86-64-v3");
  ASSERT_NE(target, nullptr);
  CostSettings settings{target, 4, 4};
  auto cost = [&](AttendChoice attend, GateChoice gate) {
    llvm::Expected<OptionCost> c =
        optionCost({attend, gate, 0}, model, settings);
    if (!c) {
      ADD_FAILURE() << llvm::toString(c.takeError());
      return -1.0;
    }
    return c->fraction;
  };
  AttendChoice dense{pattern("#attn.dense"), std::nullopt};
  EXPECT_DOUBLE_EQ(cost(dense, {}), 1.0);
  EXPECT_DOUBLE_EQ(cost(dense, {GateKind::ValueNorm, 2}), 0.5);
  // local<window = 2> at 4 x 4 tiles: 3 key tiles of 4 per inner query tile,
  // 2 at the edges: (2 + 3 + 3 + 2) / 16 of the tiles.
  EXPECT_DOUBLE_EQ(cost({pattern("#attn.local<window = 2>"), std::nullopt}, {}),
                   10.0 / 16.0);
  // Top-2 of 4 blocks: half the attention plus the selection's work.
  double selected = cost(
      {cast<PatternAttrInterface>(SelectedAttr::get(&context, 4, 4, false)),
       TopKChoice{4, 4, 2, 0, 1}},
      {});
  EXPECT_GT(selected, 0.5);
  EXPECT_LT(selected, 0.6);
}

TEST_F(ExploreMetrics, SearchSpaceErrorsNameTheItem) {
  auto parse = [&](std::vector<std::string> patterns,
                   std::vector<std::string> topK,
                   std::vector<std::string> gates, std::vector<int64_t> keep) {
    return errorOf(
        parseSearchSpace(&context, model, patterns, topK, gates, keep));
  };
  EXPECT_NE(parse({}, {}, {"none"}, {}).find("empty search space"),
            std::string::npos);
  EXPECT_NE(
      parse({"#attn.dense"}, {}, {}, {}).find("empty search space: no gate"),
      std::string::npos);
  EXPECT_NE(
      parse({"#attn.nonsense"}, {}, {"none"}, {}).find("cannot parse pattern"),
      std::string::npos);
  EXPECT_NE(parse({}, {"16:2"}, {"none"}, {}).find("expected QBxKB:K"),
            std::string::npos);
  EXPECT_NE(
      parse({"#attn.dense"}, {}, {"value_norm"}, {4}).find("--keep: 4 heads"),
      std::string::npos);
  EXPECT_NE(
      parse({"#attn.dense"}, {}, {"router"}, {1}).find("unknown gate 'router'"),
      std::string::npos);
  llvm::Expected<SearchSpace> space = parseSearchSpace(
      &context, model, {"#attn.dense", "#attn.local<window = 2>"}, {"16x4:2"},
      {"none", "importance"}, {2});
  ASSERT_TRUE(bool(space));
  EXPECT_EQ(space->options().size(), 3u * 2u);
  EXPECT_EQ(errorOf(verifySearchSpace(*space, model)), "");
  // The default lists parse and fit a MiniLM-shaped model.
  ModelDescription miniLM = *parseModelDescription(kMiniLM, "m");
  SearchLists defaults = defaultSearchLists(miniLM);
  llvm::Expected<SearchSpace> full =
      parseSearchSpace(&context, miniLM, defaults.patterns, defaults.topK,
                       defaults.gates, defaults.keep);
  ASSERT_TRUE(bool(full)) << llvm::toString(full.takeError());
  EXPECT_EQ(errorOf(verifySearchSpace(*full, miniLM)), "");
  EXPECT_EQ(full->gates.size(), 5u);
}

//===----------------------------------------------------------------------===//
// Pareto front
//===----------------------------------------------------------------------===//

TEST(ParetoFront, EqualsBruteForceOnRandomInstances) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 300; ++trial) {
    int64_t layers = 1 + rng() % 4;
    std::vector<std::vector<Point>> points(layers);
    for (std::vector<Point> &options : points) {
      int64_t count = 1 + rng() % 5;
      for (int64_t o = 0; o < count; ++o)
        // Coarse values: ties in cost, loss and both are common.
        options.push_back({double(rng() % 5) / 4, double(rng() % 5) / 8});
    }
    std::vector<Schedule> all;
    llvm::SmallVector<int64_t> choice(layers, 0);
    while (true) {
      Schedule s;
      s.options = choice;
      for (int64_t l = 0; l < layers; ++l) {
        s.cost += points[l][choice[l]].cost;
        s.loss += points[l][choice[l]].loss;
      }
      all.push_back(s);
      int64_t l = layers - 1;
      while (l >= 0 && ++choice[l] == int64_t(points[l].size()))
        choice[l--] = 0;
      if (l < 0)
        break;
    }
    // The front by definition, independently of the library's filter: no
    // other schedule is as good in both sums and better in one, and of equal
    // (cost, loss) pairs the lexicographically smallest option list.
    std::vector<Schedule> expected;
    for (const Schedule &s : all) {
      bool beaten = false;
      for (const Schedule &t : all) {
        bool dominates = t.cost <= s.cost && t.loss <= s.loss &&
                         (t.cost < s.cost || t.loss < s.loss);
        bool earlierTwin =
            t.cost == s.cost && t.loss == s.loss && t.options < s.options;
        beaten = beaten || dominates || earlierTwin;
      }
      if (!beaten)
        expected.push_back(s);
    }
    llvm::sort(expected, [](const Schedule &a, const Schedule &b) {
      return a.cost < b.cost;
    });
    std::vector<Schedule> filtered = nondominated(all);
    ASSERT_EQ(filtered.size(), expected.size()) << "trial " << trial;
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_EQ(filtered[i].options, expected[i].options);
    llvm::Expected<std::vector<Schedule>> front = paretoFront(points);
    ASSERT_TRUE(bool(front));
    ASSERT_EQ(front->size(), expected.size()) << "trial " << trial;
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ((*front)[i].options, expected[i].options) << "trial " << trial;
      EXPECT_EQ((*front)[i].cost, expected[i].cost);
      EXPECT_EQ((*front)[i].loss, expected[i].loss);
    }
  }
}

TEST(ParetoFront, RefusesFrontsBeyondTheLimit) {
  std::vector<std::vector<Point>> points(3);
  for (std::vector<Point> &options : points)
    for (int o = 0; o < 10; ++o)
      options.push_back({double(o), double(10 - o)});
  EXPECT_NE(errorOf(paretoFront(points, 50)).find("narrow the search space"),
            std::string::npos);
  EXPECT_TRUE(bool(paretoFront(points)));
}

TEST(ParetoFront, UniformSchedulesUseOneOptionEverywhere) {
  std::vector<std::vector<Point>> points = {{{1, 0}, {0.5, 0.2}, {0.25, 0.1}},
                                            {{1, 0}, {0.5, 0.1}, {0.25, 0.4}}};
  std::vector<Schedule> uniform = uniformFront(points);
  // Option 2 (0.5, 0.5) and option 1 (1.0, 0.3) and option 0 (2, 0).
  ASSERT_EQ(uniform.size(), 3u);
  for (const Schedule &s : uniform)
    EXPECT_EQ(s.options[0], s.options[1]);
  EXPECT_EQ(uniform.front().options[0], 2);
}

} // namespace
