//===- artifact_test.cpp - The C API on artifacts made at test time -------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The runtime's build has no compiler, so each test makes its artifact: a
// fresh directory with fake_kernel.c's library as kernels.so and a manifest
// written here with the right sizes and hashes, then (for the failure
// tests) broken in one way. Everything goes through libattn_runtime.so's C
// API, as the Python binding does.
//
//===----------------------------------------------------------------------===//

#include "attn_runtime/attn_runtime.h"
#include "attn_runtime/attn_runtime.hpp"

#include "sha256.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace {

#if defined(__x86_64__)
const char *kHostArch = "x86_64";
const char *kOtherArch = "aarch64";
const char *kBaseFeature = "sse2";
#elif defined(__aarch64__)
const char *kHostArch = "aarch64";
const char *kOtherArch = "x86_64";
const char *kBaseFeature = "neon";
#else
const char *kHostArch = "unknown";
const char *kOtherArch = "x86_64";
const char *kBaseFeature = "";
#endif

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  ASSERT_TRUE(out.good()) << path;
}

std::string quoteJson(const std::string &s) { return "\"" + s + "\""; }

//===----------------------------------------------------------------------===//
// Manifests
//===----------------------------------------------------------------------===//

struct KernelDesc {
  std::string name, source, symbol, workItems;
  bool gated = false;
  std::string gates = "none";
  std::vector<int> args = {0, 1, 2};
  int result = 0;
  int queryHeads = 4, keyHeads = 2, headDim = 8;
  std::string device = "cpu";
  std::string extra; // more JSON members, e.g. the "cuda" draft

  std::string json() const {
    std::ostringstream os;
    os << "{\"name\": " << quoteJson(name) << ", \"device\": "
       << quoteJson(device) << ", \"source\": " << quoteJson(source);
    if (device == "cpu")
      os << ", \"symbol\": " << quoteJson(symbol)
         << ", \"work_items_symbol\": " << quoteJson(workItems);
    os << ", \"dtype\": \"f32\", \"head_dim\": " << headDim
       << ", \"value_dim\": " << headDim << ", \"query_heads\": " << queryHeads
       << ", \"key_heads\": " << keyHeads
       << ", \"batch\": -1, \"query_len\": -1, \"key_len\": -1"
       << ", \"gated\": " << (gated ? "true" : "false")
       << ", \"gates\": " << quoteJson(gates) << ", \"operand_args\": [";
    for (size_t i = 0; i < args.size(); ++i)
      os << (i ? ", " : "") << args[i];
    os << "], \"result_index\": " << result << extra << "}";
    return os.str();
  }
};

struct FunctionDesc {
  std::string name;
  std::vector<std::string> inputs, outputs; // JSON objects
  std::vector<std::string> kernels;
  std::string extra = ""; // more JSON members, e.g. "derived_sizes"

  std::string json() const {
    auto list = [](const std::vector<std::string> &items) {
      std::string out = "[";
      for (size_t i = 0; i < items.size(); ++i)
        out += (i ? ", " : "") + items[i];
      return out + "]";
    };
    std::vector<std::string> names;
    for (const std::string &k : kernels)
      names.push_back(quoteJson(k));
    return "{\"name\": " + quoteJson(name) + ", \"inputs\": " + list(inputs) +
           ", \"outputs\": " + list(outputs) +
           ", \"kernels\": " + list(names) + extra + "}";
  }
};

std::string tensor(const std::string &role, const std::string &dtype,
                   const std::string &shape) {
  return "{\"role\": " + quoteJson(role) + ", \"dtype\": " + quoteJson(dtype) +
         ", \"shape\": " + shape + "}";
}

const std::string kQuery = tensor("query", "f32", "[\"B\", 4, \"Sq\", 8]");
const std::string kKey = tensor("key", "f32", "[\"B\", 2, \"Skv\", 8]");
const std::string kValue = tensor("value", "f32", "[\"B\", 2, \"Skv\", 8]");
const std::string kOut = tensor("out", "f32", "[\"B\", 4, \"Sq\", 8]");

KernelDesc cpuKernel(const std::string &name, const std::string &source,
                     const std::string &fake) {
  KernelDesc k;
  k.name = name;
  k.source = source;
  k.symbol = "_mlir_ciface_" + fake;
  k.workItems = fake + "_work_items";
  return k;
}

/// The test artifact: functions over fake_kernel.c's kernels.
struct ManifestDesc {
  std::string format = "\"attn-artifact\"";
  std::string version = "1";
  std::string arch = kHostArch;
  std::vector<std::string> features = {kBaseFeature};
  std::string library = "kernels.so";
  std::vector<std::string> files = {"kernels.so"};
  std::vector<KernelDesc> kernels;
  std::vector<FunctionDesc> functions;

  ManifestDesc() {
    kernels.push_back(cpuKernel("dense_attn0", "dense", "fake_dense"));
    functions.push_back({"dense", {kQuery, kKey, kValue}, {kOut},
                         {"dense_attn0"}});

    KernelDesc gated = cpuKernel("gated_attn0", "gated", "fake_gated");
    gated.gated = true;
    gated.gates = "gates";
    gated.args = {0, 1, 2, 3};
    kernels.push_back(gated);
    functions.push_back({"gated",
                         {kQuery, kKey, kValue,
                          tensor("gates", "bool", "[\"B\", 4]")},
                         {kOut},
                         {"gated_attn0"}});

    KernelDesc listed = cpuKernel("listed_attn0", "listed", "fake_gated");
    listed.gated = true;
    listed.gates = "active";
    listed.args = {1, 2, 3, 0}; // the list is input 0, then q, k, v
    kernels.push_back(listed);
    functions.push_back({"listed",
                         {tensor("active", "i32", "[\"pairs\"]"), kQuery, kKey,
                          kValue},
                         {kOut},
                         {"listed_attn0"}});

    // Two kernels on shared inputs, writing one output each.
    kernels.push_back(cpuKernel("two_attn0", "two", "fake_dense"));
    KernelDesc second = cpuKernel("two_attn1", "two", "fake_causal");
    second.result = 1;
    kernels.push_back(second);
    functions.push_back({"two",
                         {kQuery, kKey, kValue},
                         {kOut, tensor("out", "f32", "[\"B\", 4, \"Sq\", 8]")},
                         {"two_attn0", "two_attn1"}});
  }

  std::string text(const std::string &dir) const {
    std::ostringstream os;
    os << "{\n  \"format\": " << format << ",\n  \"version\": " << version
       << ",\n  \"compiler\": \"attn test\",\n  \"target\": \"test\""
       << ",\n  \"table_target\": \"x86-64-v3\",\n  \"triple\": \"test\""
       << ",\n  \"host_requirements\": {\"arch\": " << quoteJson(arch)
       << ", \"cpu_features\": [";
    for (size_t i = 0; i < features.size(); ++i)
      os << (i ? ", " : "") << quoteJson(features[i]);
    os << "]},\n  \"library\": " << quoteJson(library)
       << ",\n  \"files\": [";
    for (size_t i = 0; i < files.size(); ++i) {
      std::string bytes = readFile(dir + "/" + files[i]);
      os << (i ? ",\n    " : "\n    ") << "{\"path\": " << quoteJson(files[i])
         << ", \"size\": " << bytes.size() << ", \"sha256\": \""
         << attn::rt::Sha256::hex(bytes.data(), bytes.size()) << "\"}";
    }
    os << "],\n  \"functions\": [";
    for (size_t i = 0; i < functions.size(); ++i)
      os << (i ? ",\n    " : "\n    ") << functions[i].json();
    os << "],\n  \"kernels\": [";
    for (size_t i = 0; i < kernels.size(); ++i)
      os << (i ? ",\n    " : "\n    ") << kernels[i].json();
    os << "]\n}\n";
    return os.str();
  }
};

class ArtifactTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/attn-artifact-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    writeFile(dir + "/kernels.so", readFile(ATTN_FAKE_KERNEL));
    ASSERT_EQ(attn_runtime_create(3, &rt), ATTN_OK) << attn_last_error();
  }

  void TearDown() override {
    if (art)
      attn_artifact_close(art);
    attn_runtime_destroy(rt);
    // Only files this test made: the directory holds nothing else.
    if (std::system(("rm -rf '" + dir + "'").c_str()) != 0)
      std::fprintf(stderr, "could not remove %s\n", dir.c_str());
  }

  void write(const ManifestDesc &m) {
    writeFile(dir + "/manifest.json", m.text(dir));
  }

  attn_status open() {
    if (art)
      attn_artifact_close(art);
    art = nullptr;
    return attn_artifact_open(dir.c_str(), &art);
  }

  /// Writes `m`, opens it, expects `status` and `text` in the message.
  void expectOpenError(const ManifestDesc &m, attn_status status,
                       const std::string &text) {
    write(m);
    expectOpenError(status, text);
  }
  void expectOpenError(attn_status status, const std::string &text) {
    EXPECT_EQ(open(), status) << attn_status_name(status) << " expected, got "
                              << attn_last_error();
    EXPECT_NE(std::string(attn_last_error()).find(text), std::string::npos)
        << "message: " << attn_last_error() << "\nexpected: " << text;
    EXPECT_EQ(art, nullptr);
  }

  std::string dir;
  attn_runtime *rt = nullptr;
  attn_artifact *art = nullptr;
};

//===----------------------------------------------------------------------===//
// Tensors and the reference
//===----------------------------------------------------------------------===//

/// A host tensor: storage plus an attn_tensor view of it.
struct Tensor {
  std::vector<char> storage;
  attn_tensor t{};

  Tensor(attn_dtype dtype, std::vector<int64_t> shape,
         std::vector<int64_t> order = {}) {
    // `order` lists the dims from outermost to innermost in memory
    // (default: row-major), so tests can make [B, S, H, D] layouts.
    const int rank = static_cast<int>(shape.size());
    if (order.empty())
      for (int i = 0; i < rank; ++i)
        order.push_back(i);
    int64_t stride = 1, count = 1;
    for (int i = rank - 1; i >= 0; --i) {
      t.strides[order[i]] = stride;
      stride *= shape[order[i]];
    }
    for (int64_t s : shape)
      count *= s;
    const int64_t bytes = dtype == ATTN_DTYPE_BOOL                             ? 1
                          : dtype == ATTN_DTYPE_F16 || dtype == ATTN_DTYPE_BF16 ? 2
                                                                                : 4;
    storage.assign(count * bytes + 64, 0);
    t.data = storage.data();
    t.dtype = dtype;
    t.device = ATTN_DEVICE_CPU;
    t.rank = rank;
    for (int i = 0; i < rank; ++i)
      t.shape[i] = shape[i];
  }

  int64_t offset(std::initializer_list<int64_t> index) const {
    int64_t off = 0, i = 0;
    for (int64_t x : index)
      off += x * t.strides[i++];
    return off;
  }
  float &f(int64_t b, int64_t h, int64_t s, int64_t d) {
    return static_cast<float *>(t.data)[offset({b, h, s, d})];
  }
  float f(int64_t b, int64_t h, int64_t s, int64_t d) const {
    return static_cast<const float *>(t.data)[offset({b, h, s, d})];
  }
  void random(unsigned seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(-1, 1);
    for (int64_t b = 0; b < t.shape[0]; ++b)
      for (int64_t h = 0; h < t.shape[1]; ++h)
        for (int64_t s = 0; s < t.shape[2]; ++s)
          for (int64_t d = 0; d < t.shape[3]; ++d)
            f(b, h, s, d) = dist(gen);
  }
  void fill(float value) {
    for (int64_t b = 0; b < t.shape[0]; ++b)
      for (int64_t h = 0; h < t.shape[1]; ++h)
        for (int64_t s = 0; s < t.shape[2]; ++s)
          for (int64_t d = 0; d < t.shape[3]; ++d)
            f(b, h, s, d) = value;
  }
};

/// softmax(QK^T / sqrt(D)) V in double for one row; causal keeps keys
/// k <= q + Skv - Sq.
void referenceRow(const Tensor &q, const Tensor &k, const Tensor &v,
                  int64_t b, int64_t h, int64_t r, bool causal,
                  std::vector<double> &row) {
  const int64_t d = q.t.shape[3], skv = k.t.shape[2], sq = q.t.shape[2];
  const int64_t kvh = h / (q.t.shape[1] / k.t.shape[1]);
  const int64_t visible =
      causal ? std::clamp<int64_t>(r + skv - sq + 1, 0, skv) : skv;
  std::vector<double> scores(skv);
  double max = -INFINITY, sum = 0;
  for (int64_t j = 0; j < visible; ++j) {
    double dot = 0;
    for (int64_t x = 0; x < d; ++x)
      dot += double(q.f(b, h, r, x)) * k.f(b, kvh, j, x);
    scores[j] = dot / std::sqrt(double(d));
    max = std::max(max, scores[j]);
  }
  for (int64_t j = 0; j < visible; ++j)
    sum += scores[j] = std::exp(scores[j] - max);
  row.assign(d, 0.0);
  for (int64_t j = 0; j < visible; ++j)
    for (int64_t x = 0; x < d; ++x)
      row[x] += scores[j] / sum * v.f(b, kvh, j, x);
}

/// Largest error of `out` against the reference; pairs where `on` is false
/// must be exactly zero.
double maxError(const Tensor &q, const Tensor &k, const Tensor &v,
                const Tensor &out, bool causal,
                const std::function<bool(int64_t, int64_t)> &on = nullptr) {
  double worst = 0;
  std::vector<double> row;
  for (int64_t b = 0; b < q.t.shape[0]; ++b)
    for (int64_t h = 0; h < q.t.shape[1]; ++h)
      for (int64_t r = 0; r < q.t.shape[2]; ++r) {
        if (on && !on(b, h))
          row.assign(q.t.shape[3], 0.0);
        else
          referenceRow(q, k, v, b, h, r, causal, row);
        for (int64_t x = 0; x < q.t.shape[3]; ++x) {
          double err = std::abs(out.f(b, h, r, x) - row[x]);
          if (on && !on(b, h) && out.f(b, h, r, x) != 0.0f)
            err = INFINITY;
          worst = std::max(worst, std::isnan(err) ? INFINITY : err);
        }
      }
  return worst;
}

struct Qkv {
  Tensor q, k, v, out;
  Qkv(int64_t b, int64_t sq, int64_t skv)
      : q(ATTN_DTYPE_F32, {b, 4, sq, 8}), k(ATTN_DTYPE_F32, {b, 2, skv, 8}),
        v(ATTN_DTYPE_F32, {b, 2, skv, 8}), out(ATTN_DTYPE_F32, {b, 4, sq, 8}) {
    q.random(1);
    k.random(2);
    v.random(3);
    out.fill(7.0f);
  }
  bool untouched() const {
    for (int64_t b = 0; b < out.t.shape[0]; ++b)
      for (int64_t h = 0; h < out.t.shape[1]; ++h)
        for (int64_t s = 0; s < out.t.shape[2]; ++s)
          for (int64_t d = 0; d < out.t.shape[3]; ++d)
            if (out.f(b, h, s, d) != 7.0f)
              return false;
    return true;
  }
};

//===----------------------------------------------------------------------===//
// Valid artifacts
//===----------------------------------------------------------------------===//

TEST_F(ArtifactTest, OpensAndDescribesFunctions) {
  write(ManifestDesc());
  ASSERT_EQ(open(), ATTN_OK) << attn_last_error();
  ASSERT_EQ(attn_artifact_num_functions(art), 4);
  EXPECT_STREQ(attn_artifact_function_name(art, 0), "dense");
  EXPECT_STREQ(attn_artifact_function_name(art, 3), "two");
  EXPECT_EQ(attn_artifact_function_name(art, 4), nullptr);
  EXPECT_EQ(attn_artifact_num_inputs(art, "gated"), 4);
  EXPECT_EQ(attn_artifact_num_outputs(art, "two"), 2);
  EXPECT_EQ(attn_artifact_num_inputs(art, "nope"), -1);
  EXPECT_NE(std::string(attn_last_error()).find("no function 'nope'"),
            std::string::npos);

  attn_arg_info info;
  ASSERT_EQ(attn_artifact_input_info(art, "dense", 1, &info), ATTN_OK);
  EXPECT_STREQ(info.role, "key");
  EXPECT_EQ(info.dtype, ATTN_DTYPE_F32);
  EXPECT_EQ(info.device, ATTN_DEVICE_CPU);
  ASSERT_EQ(info.rank, 4);
  EXPECT_EQ(info.shape[0], -1);
  EXPECT_STREQ(info.symbols[0], "B");
  EXPECT_EQ(info.shape[1], 2);
  EXPECT_EQ(info.symbols[1], nullptr);
  EXPECT_STREQ(info.symbols[2], "Skv");
  ASSERT_EQ(attn_artifact_input_info(art, "gated", 3, &info), ATTN_OK);
  EXPECT_EQ(info.dtype, ATTN_DTYPE_BOOL);
  EXPECT_EQ(attn_artifact_output_info(art, "dense", 1, &info),
            ATTN_ERROR_INVALID_ARGUMENT);

  EXPECT_STREQ(attn_artifact_info(art, "format"), "attn-artifact");
  EXPECT_STREQ(attn_artifact_info(art, "table_target"), "x86-64-v3");
  EXPECT_STREQ(attn_artifact_info(art, "arch"), kHostArch);
  EXPECT_STREQ(attn_artifact_info(art, "path"), dir.c_str());
  EXPECT_EQ(attn_artifact_info(art, "llvm_cpu"), nullptr); // not written
  EXPECT_EQ(attn_artifact_info(art, "nope"), nullptr);
}

TEST_F(ArtifactTest, DenseCallMatchesReference) {
  write(ManifestDesc());
  ASSERT_EQ(open(), ATTN_OK) << attn_last_error();
  for (auto [b, sq, skv] : {std::tuple<int, int, int>{1, 37, 53},
                            {2, 16, 16},
                            {3, 70, 20}}) {
    Qkv p(b, sq, skv);
    attn_tensor in[3] = {p.q.t, p.k.t, p.v.t};
    ASSERT_EQ(attn_call(rt, art, "dense", in, 3, &p.out.t, 1, nullptr), ATTN_OK)
        << attn_last_error();
    EXPECT_LT(maxError(p.q, p.k, p.v, p.out, false), 1e-5)
        << "B " << b << " Sq " << sq << " Skv " << skv;
  }
}

TEST_F(ArtifactTest, CppWrapper) {
  write(ManifestDesc());
  attn::Runtime runtime(2);
  ASSERT_TRUE(runtime.valid()) << runtime.error().message;
  EXPECT_EQ(runtime.threads(), 2);
  attn::Artifact artifact;
  attn::Result missing = artifact.open(dir + "/nope");
  EXPECT_FALSE(missing);
  EXPECT_EQ(missing.status, ATTN_ERROR_IO);
  EXPECT_NE(missing.message.find("nope"), std::string::npos) << missing.message;
  ASSERT_TRUE(artifact.open(dir)) << attn_last_error();
  std::vector<std::string> functions = artifact.functions();
  EXPECT_NE(std::find(functions.begin(), functions.end(), "dense"),
            functions.end());
  EXPECT_EQ(artifact.numInputs("dense"), 3);
  Qkv p(2, 21, 33);
  attn::Result r = artifact.call(runtime, "dense", {p.q.t, p.k.t, p.v.t},
                                 {p.out.t});
  ASSERT_TRUE(r) << r.message;
  EXPECT_LT(maxError(p.q, p.k, p.v, p.out, false), 1e-5);
  attn::Result wrong = artifact.call(runtime, "dense", {p.q.t}, {p.out.t});
  EXPECT_EQ(wrong.status, ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(wrong.message.find("takes 3 inputs"), std::string::npos)
      << wrong.message;
  attn::Artifact moved = std::move(artifact);
  EXPECT_TRUE(moved.valid());
  EXPECT_FALSE(artifact.valid());
}

TEST_F(ArtifactTest, StridedLayoutsMatchReference) {
  // [B, S, H, D] storage (a projection's natural output) for q and out.
  write(ManifestDesc());
  ASSERT_EQ(open(), ATTN_OK) << attn_last_error();
  Qkv p(2, 24, 24);
  Tensor q(ATTN_DTYPE_F32, {2, 4, 24, 8}, {0, 2, 1, 3});
  Tensor out(ATTN_DTYPE_F32, {2, 4, 24, 8}, {0, 2, 1, 3});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 4; ++h)
      for (int64_t s = 0; s < 24; ++s)
        for (int64_t d = 0; d < 8; ++d)
          q.f(b, h, s, d) = p.q.f(b, h, s, d);
  attn_tensor in[3] = {q.t, p.k.t, p.v.t};
  ASSERT_EQ(attn_call(rt, art, "dense", in, 3, &out.t, 1, nullptr), ATTN_OK)
      << attn_last_error();
  EXPECT_LT(maxError(p.q, p.k, p.v, out, false), 1e-5);
}

TEST_F(ArtifactTest, GatesAreCompactedAndOffHeadsZeroFilled) {
  write(ManifestDesc());
  ASSERT_EQ(open(), ATTN_OK) << attn_last_error();
  Qkv p(2, 20, 20);
  Tensor gates(ATTN_DTYPE_BOOL, {2, 4});
  // (0,1), (1,0), (1,3) on; a nonzero byte other than 1 counts as on.
  auto on = [](int64_t b, int64_t h) {
    return (b == 0 && h == 1) || (b == 1 && (h == 0 || h == 3));
  };
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 4; ++h)
      static_cast<uint8_t *>(gates.t.data)[b * 4 + h] =
          on(b, h) ? (h == 3 ? 2 : 1) : 0;
  attn_tensor in[4] = {p.q.t, p.k.t, p.v.t, gates.t};
  ASSERT_EQ(attn_call(rt, art, "gated", in, 4, &p.out.t, 1, nullptr), ATTN_OK)
      << attn_last_error();
  EXPECT_LT(maxError(p.q, p.k, p.v, p.out, false, on), 1e-5);

  // Strided gates (a column slice of a wider mask) read the same.
  Tensor wide(ATTN_DTYPE_BOOL, {2, 8});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 4; ++h)
      static_cast<uint8_t *>(wide.t.data)[b * 8 + h] = on(b, h);
  wide.t.shape[1] = 4; // strides stay {8, 1}
  in[3] = wide.t;
  p.out.fill(7.0f);
  ASSERT_EQ(attn_call(rt, art, "gated", in, 4, &p.out.t, 1, nullptr), ATTN_OK)
      << attn_last_error();
  EXPECT_LT(maxError(p.q, p.k, p.v, p.out, false, on), 1e-5);

  // All off: all zeros, no kernel item.
  std::memset(gates.t.data, 0, 8);
  in[3] = gates.t;
  p.out.fill(7.0f);
  ASSERT_EQ(attn_call(rt, art, "gated", in, 4, &p.out.t, 1, nullptr), ATTN_OK)
      << attn_last_error();
  EXPECT_LT(maxError(p.q, p.k, p.v, p.out, false,
                     [](int64_t, int64_t) { return false; }),
            1e-5);
}

TEST_F(ArtifactTest, ActiveListPassesThrough) {
  write(ManifestDesc());
  ASSERT_EQ(open(), ATTN_OK) << attn_last_error();
  Qkv p(2, 20, 20);
  Tensor list(ATTN_DTYPE_I32, {3});
  const int32_t pairs[3] = {1, 4, 7}; // (0,1) (1,0) (1,3)
  std::memcpy(list.t.data, pairs, sizeof pairs);
  attn_tensor in[4] = {list.t, p.q.t, p.k.t, p.v.t};
  ASSERT_EQ(attn_call(rt, art, "listed", in, 4, &p.out.t, 1, nullptr), ATTN_OK)
      << attn_last_error();
  EXPECT_LT(maxError(p.q, p.k, p.v, p.out, false,
                     [](int64_t b, int64_t h) {
                       return (b == 0 && h == 1) ||
                              (b == 1 && (h == 0 || h == 3));
                     }),
            1e-5);

  const int32_t unsorted[3] = {4, 1, 7};
  std::memcpy(list.t.data, unsorted, sizeof unsorted);
  p.out.fill(7.0f);
  EXPECT_EQ(attn_call(rt, art, "listed", in, 4, &p.out.t, 1, nullptr),
            ATTN_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(std::string(attn_last_error())
                .find("must be strictly ascending: active[1] = 1 after 4"),
            std::string::npos)
      << attn_last_error();
  const int32_t outOfRange[3] = {1, 4, 8};
  std::memcpy(list.t.data, outOfRange, sizeof outOfRange);
  EXPECT_EQ(attn_call(rt, art, "listed", in, 4, &p.out.t, 1, nullptr),
            ATTN_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(std::string(attn_last_error()).find("active[2] = 8 is not a pair"),
            std::string::npos)
      << attn_last_error();
  EXPECT_TRUE(p.untouched());
}

TEST_F(ArtifactTest, TwoKernelsWriteTheirOutputs) {
  write(ManifestDesc());
  ASSERT_EQ(open(), ATTN_OK) << attn_last_error();
  Qkv p(1, 30, 40);
  Tensor causal(ATTN_DTYPE_F32, {1, 4, 30, 8});
  attn_tensor in[3] = {p.q.t, p.k.t, p.v.t};
  attn_tensor out[2] = {p.out.t, causal.t};
  ASSERT_EQ(attn_call(rt, art, "two", in, 3, out, 2, nullptr), ATTN_OK)
      << attn_last_error();
  EXPECT_LT(maxError(p.q, p.k, p.v, p.out, false), 1e-5);
  EXPECT_LT(maxError(p.q, p.k, p.v, causal, true), 1e-5);
}

TEST_F(ArtifactTest, RuntimesAndArtifactsAreIndependent) {
  // Two artifacts of the same library in two directories, two runtimes,
  // calls from two threads at once.
  write(ManifestDesc());
  ASSERT_EQ(open(), ATTN_OK) << attn_last_error();
  attn_artifact *second = nullptr;
  ASSERT_EQ(attn_artifact_open(dir.c_str(), &second), ATTN_OK);
  attn_runtime *rt2 = nullptr;
  ASSERT_EQ(attn_runtime_create(0, &rt2), ATTN_OK);
  EXPECT_GE(attn_runtime_num_threads(rt2), 1);
  EXPECT_EQ(attn_runtime_num_threads(rt), 3);
  auto work = [&](attn_runtime *runtime, attn_artifact *a, bool &ok) {
    ok = true;
    for (int i = 0; i < 20 && ok; ++i) {
      Qkv p(2, 33, 17);
      attn_tensor in[3] = {p.q.t, p.k.t, p.v.t};
      ok = attn_call(runtime, a, "dense", in, 3, &p.out.t, 1, nullptr) ==
               ATTN_OK &&
           maxError(p.q, p.k, p.v, p.out, false) < 1e-5;
    }
  };
  bool ok1 = false, ok2 = false, ok3 = false;
  std::thread t1(work, rt, art, std::ref(ok1));
  std::thread t2(work, rt2, second, std::ref(ok2));
  std::thread t3(work, rt, second, std::ref(ok3)); // shares rt with t1
  t1.join();
  t2.join();
  t3.join();
  EXPECT_TRUE(ok1 && ok2 && ok3);
  attn_artifact_close(second);
  attn_runtime_destroy(rt2);
}

//===----------------------------------------------------------------------===//
// Artifacts that must be refused
//===----------------------------------------------------------------------===//

TEST_F(ArtifactTest, RefusesUnreadableOrMissingManifests) {
  EXPECT_EQ(attn_artifact_open("/nonexistent/attn", &art), ATTN_ERROR_IO);
  EXPECT_NE(std::string(attn_last_error()).find("cannot open artifact"),
            std::string::npos);
  expectOpenError(ATTN_ERROR_CORRUPT_ARTIFACT, "has no manifest.json");
  EXPECT_EQ(attn_artifact_open((dir + "/kernels.so").c_str(), &art),
            ATTN_ERROR_IO);
  EXPECT_NE(std::string(attn_last_error()).find("is not a directory"),
            std::string::npos);
  EXPECT_EQ(attn_artifact_open(nullptr, &art), ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(attn_artifact_open(dir.c_str(), nullptr),
            ATTN_ERROR_INVALID_ARGUMENT);
}

TEST_F(ArtifactTest, RefusesTruncatedAndMalformedManifests) {
  const std::string good = ManifestDesc().text(dir);
  for (size_t cut : {size_t(0), size_t(1), good.size() / 3, good.size() / 2,
                     good.size() - 3}) {
    writeFile(dir + "/manifest.json", good.substr(0, cut));
    expectOpenError(ATTN_ERROR_CORRUPT_ARTIFACT, "not valid JSON");
  }
  writeFile(dir + "/manifest.json", "{\"format\": \"attn-artifact\",}");
  expectOpenError(ATTN_ERROR_CORRUPT_ARTIFACT,
                  "line 1, column 28: expected a string key");
  writeFile(dir + "/manifest.json", "[1, 2]");
  expectOpenError(ATTN_ERROR_CORRUPT_ARTIFACT, "must hold a JSON object");
  writeFile(dir + "/manifest.json", std::string("{\"a\": \"\xff\"}"));
  expectOpenError(ATTN_ERROR_CORRUPT_ARTIFACT, "invalid UTF-8");
}

TEST_F(ArtifactTest, RefusesOtherVersionsAndFormats) {
  ManifestDesc m;
  m.version = "2";
  expectOpenError(m, ATTN_ERROR_VERSION,
                  "artifact format version 2 is not supported: this runtime "
                  "reads version 1");
  m.version = "1.5";
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT, "version: must be an integer");
  m = ManifestDesc();
  m.format = "\"onnx\"";
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT,
                  "format: is \"onnx\", expected \"attn-artifact\"");
  // A newer manifest that also changed other fields still reads as newer.
  writeFile(dir + "/manifest.json",
            "{\"format\": \"attn-artifact\", \"version\": 7, \"kernels\": 3}");
  expectOpenError(ATTN_ERROR_VERSION, "version 7");
}

TEST_F(ArtifactTest, RefusesMissingTamperedOrTruncatedFiles) {
  ManifestDesc m;
  write(m);
  std::string library = readFile(dir + "/kernels.so");
  ::unlink((dir + "/kernels.so").c_str());
  expectOpenError(ATTN_ERROR_CORRUPT_ARTIFACT, "'kernels.so' is missing");

  // Same size, one bit flipped: only the hash can tell.
  std::string tampered = library;
  tampered[tampered.size() / 2] ^= 0x10;
  writeFile(dir + "/kernels.so", tampered);
  expectOpenError(ATTN_ERROR_CORRUPT_ARTIFACT,
                  "'kernels.so' has SHA-256 ");
  EXPECT_NE(std::string(attn_last_error()).find("corrupt or replaced"),
            std::string::npos);

  writeFile(dir + "/kernels.so", library.substr(0, 1000));
  expectOpenError(ATTN_ERROR_CORRUPT_ARTIFACT,
                  "'kernels.so' has 1000 bytes, the manifest lists " +
                      std::to_string(library.size()));

  // A file the manifest names but does not list (no checksum).
  writeFile(dir + "/kernels.so", library);
  m.files = {};
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT,
                  "\"kernels.so\" is not listed in \"files\"");

  // Paths must stay inside the directory.
  m = ManifestDesc();
  m.library = "../kernels.so";
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT, "has a '..' component");
}

TEST_F(ArtifactTest, RefusesOtherTargets) {
  ManifestDesc m;
  m.arch = kOtherArch;
  expectOpenError(m, ATTN_ERROR_TARGET_MISMATCH,
                  std::string("is for ") + kOtherArch +
                      " CPUs; this machine is " + kHostArch);

  m = ManifestDesc();
  m.features = {kBaseFeature, "attn-test-no-such-feature"};
  expectOpenError(m, ATTN_ERROR_TARGET_MISMATCH,
                  "the runtime cannot detect attn-test-no-such-feature");

#if defined(__x86_64__)
  // A real feature this host lacks, when there is one to pick.
  __builtin_cpu_init();
  const char *lacking = !__builtin_cpu_supports("avx512f")   ? "avx512f"
                        : !__builtin_cpu_supports("avx512bw") ? "avx512bw"
                                                               : nullptr;
  if (lacking) {
    m.features = {"sse2", "avx2", lacking};
    if (!__builtin_cpu_supports("avx2"))
      m.features = {"sse2", lacking};
    expectOpenError(m, ATTN_ERROR_TARGET_MISMATCH,
                    std::string("it lacks ") + lacking);
  }
#endif
}

TEST_F(ArtifactTest, RefusesMissingOrForeignSymbols) {
  ManifestDesc m;
  m.kernels[0].symbol = "_mlir_ciface_nope";
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT,
                  "has no symbol '_mlir_ciface_nope'");
  m = ManifestDesc();
  m.kernels[0].symbol = "_mlir_ciface_fake_broken";
  m.kernels[0].workItems = "fake_broken_work_items";
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT,
                  "has no symbol 'fake_broken_work_items'");
  // Resolves, but in libc (a dependency of kernels.so), not in the library.
  m = ManifestDesc();
  m.kernels[0].workItems = "malloc";
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT,
                  "does not define 'malloc': the name resolves in");
  m = ManifestDesc();
  m.kernels[0].symbol = "bad symbol";
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT, "is not a C symbol name");
}

TEST_F(ArtifactTest, RefusesInconsistentManifests) {
  ManifestDesc m;
  m.kernels[0].args = {0, 1, 5};
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT,
                  "names input 5 of function \"dense\", which has 3");
  m = ManifestDesc();
  m.functions[0].inputs[2] = tensor("value", "f16", "[\"B\", 2, \"Skv\", 8]");
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT,
                  "the value (input 2 of \"dense\") is declared f16 of rank 4; "
                  "the kernel takes f32 of rank 4");
  m = ManifestDesc();
  m.functions[0].inputs[0] = tensor("query", "f32", "[\"B\", 8, \"Sq\", 8]");
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT,
                  "has query heads 8, the kernel was compiled for 4");
  m = ManifestDesc();
  m.functions[3].kernels = {"two_attn0"};
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT,
                  "functions[3] (\"two\").outputs[1]: is written by none of "
                  "the function's kernels");
  m = ManifestDesc();
  m.kernels.push_back(cpuKernel("lost_attn0", "lost", "fake_dense"));
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT,
                  "kernel \"lost_attn0\" (source \"lost\") is listed by no "
                  "function");
  m = ManifestDesc();
  m.kernels[4].result = 0;
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT, "both write output 0");
  m = ManifestDesc();
  m.kernels[1].gates = "none";
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT,
                  "does not fit a gated kernel");
}

//===----------------------------------------------------------------------===//
// Issue 8: select_blocks, compress_kv and attention over blocks lists
//===----------------------------------------------------------------------===//

/// fake_kernel.c's issue 8 kernels (blocks of 4; windows of 4 every 2) as
/// an artifact's functions:
///   select(q [B, 4, Sq, 8], k [B, 2, Skv, 8]) -> i32 [B, 2, Sq_blocks, 3]
///   compress(k, v [B, 2, S, 8], w f32 [2, 4]) -> [B, 2, N, 8] x 2
///   selected(q, k, v, blocks i32 [B, 2, Sq_blocks, 3]) -> [B, 4, Sq, 8]
///   branches(q, k, v, ck, cv [B, 2, Skv_slots, 8], blocks,
///            w f32 [B, 4, Sq, 3]) -> [B, 4, Sq, 8]
///   branches_free: the same with ck, cv [B, 2, N, 8], N a free size (so
///            that the kernel's own shape checks are what refuse a call)
/// with Sq_blocks = ceil(Sq / 4), N = (S - 4) / 2 + 1 and
/// Skv_slots = (Skv - 4) / 2 + 1.
ManifestDesc sparseManifest() {
  ManifestDesc m;
  m.kernels.clear();
  m.functions.clear();
  const std::string blocksDerived =
      R"(, "derived_sizes": [{"name": "Sq_blocks", "ceil_div": ["Sq", 4]}])";
  KernelDesc select = cpuKernel("select_sel0", "select", "fake_select");
  select.args = {0, 1};
  select.extra = R"(, "op": "select_blocks", "query_block": 4,
    "key_block": 4, "top_k": 3, "keep_sink": 0, "keep_local": 0,
    "causal": false, "pooled_keys": false, "result_args": [0])";
  m.kernels.push_back(select);
  m.functions.push_back(
      {"select",
       {kQuery, kKey},
       {tensor("indices", "i32", R"(["B", 2, "Sq_blocks", 3])")},
       {"select_sel0"},
       blocksDerived});
  KernelDesc compress =
      cpuKernel("compress_cmp0", "compress", "fake_compress_linear");
  compress.extra = R"(, "op": "compress_kv", "window": 4, "stride": 2,
    "method": "linear", "weights_dtype": "f32", "result_args": [0, 1])";
  m.kernels.push_back(compress);
  m.functions.push_back(
      {"compress",
       {tensor("key", "f32", R"(["B", 2, "S", 8])"),
        tensor("value", "f32", R"(["B", 2, "S", 8])"),
        tensor("weights", "f32", "[2, 4]")},
       {tensor("compressed_key", "f32", R"(["B", 2, "N", 8])"),
        tensor("compressed_value", "f32", R"(["B", 2, "N", 8])")},
       {"compress_cmp0"},
       R"(, "derived_sizes": [{"name": "N", "windows": ["S", 4, 2]}])"});
  KernelDesc selected = cpuKernel("selected_attn0", "selected", "fake_selected");
  selected.args = {0, 1, 2, 3};
  selected.extra = R"(, "blocks": {"query_block": 4, "key_block": 4,
    "slots": 3, "causal": false})";
  m.kernels.push_back(selected);
  m.functions.push_back(
      {"selected",
       {kQuery, kKey, kValue,
        tensor("blocks", "i32", R"(["B", 2, "Sq_blocks", 3])")},
       {kOut},
       {"selected_attn0"},
       blocksDerived});
  for (const char *name : {"branches", "branches_free"}) {
    const bool free = std::string(name) == "branches_free";
    KernelDesc branches =
        cpuKernel(std::string(name) + "_br0", name, "fake_branches");
    branches.args = {0, 1, 2, 3, 4, 5, 6};
    branches.extra = R"(, "op": "sparse_branches", "compress_window": 4,
      "compress_stride": 2, "causal": true,
      "blocks": {"query_block": 4, "key_block": 4, "slots": 3, "causal": true},
      "pattern": "#attn.local<window = 3, causal>", "weights_dtype": "f32",
      "result_args": [0])";
    m.kernels.push_back(branches);
    const std::string slots = free ? "\"N\"" : "\"Skv_slots\"";
    m.functions.push_back(
        {name,
         {kQuery, kKey, kValue,
          tensor("compressed_key", "f32", "[\"B\", 2, " + slots + ", 8]"),
          tensor("compressed_value", "f32", "[\"B\", 2, " + slots + ", 8]"),
          tensor("blocks", "i32", R"(["B", 2, "Sq_blocks", 3])"),
          tensor("weights", "f32", R"(["B", 4, "Sq", 3])")},
         {kOut},
         {std::string(name) + "_br0"},
         free ? blocksDerived
              : R"(, "derived_sizes": [{"name": "Sq_blocks", "ceil_div": ["Sq", 4]},
                  {"name": "Skv_slots", "windows": ["Skv", 4, 2]}])"});
  }
  return m;
}

class SparseTest : public ArtifactTest {
protected:
  void SetUp() override {
    ArtifactTest::SetUp();
    write(sparseManifest());
    ASSERT_EQ(open(), ATTN_OK) << attn_last_error();
  }
  void expectCall(const char *function, std::vector<attn_tensor> in,
                  std::vector<attn_tensor> out, attn_status status,
                  const std::string &text) {
    EXPECT_EQ(attn_call(rt, art, function, in.data(), int(in.size()),
                        out.data(), int(out.size()), nullptr),
              status)
        << attn_last_error();
    EXPECT_NE(std::string(attn_last_error()).find(text), std::string::npos)
        << "message: " << attn_last_error() << "\nexpected: " << text;
  }
};

TEST_F(SparseTest, DescribesDerivedSizes) {
  EXPECT_EQ(attn_artifact_num_derived_sizes(art, "compress"), 1);
  attn_derived_size_info d;
  ASSERT_EQ(attn_artifact_derived_size_info(art, "compress", 0, &d), ATTN_OK);
  EXPECT_STREQ(d.name, "N");
  EXPECT_STREQ(d.base, "S");
  EXPECT_EQ(d.kind, ATTN_DERIVED_WINDOWS);
  EXPECT_EQ(d.a, 4);
  EXPECT_EQ(d.b, 2);
  ASSERT_EQ(attn_artifact_derived_size_info(art, "select", 0, &d), ATTN_OK);
  EXPECT_EQ(d.kind, ATTN_DERIVED_CEIL_DIV);
  EXPECT_EQ(attn_artifact_derived_size_info(art, "select", 1, &d),
            ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attn_last_error()).find("has 1 derived sizes, index 1"),
            std::string::npos);
  EXPECT_EQ(attn_artifact_num_derived_sizes(art, "nope"), -1);
  attn_arg_info info;
  ASSERT_EQ(attn_artifact_input_info(art, "selected", 3, &info), ATTN_OK);
  EXPECT_STREQ(info.role, "blocks");
  EXPECT_STREQ(info.symbols[2], "Sq_blocks");
}

TEST_F(SparseTest, SelectWritesEveryIndex) {
  Qkv p(2, 10, 9); // 3 query blocks, 3 key blocks: all chosen
  Tensor idx(ATTN_DTYPE_I32, {2, 2, 3, 3});
  std::fill_n(static_cast<int32_t *>(idx.t.data), 36, 12345);
  ASSERT_EQ(attn_call(rt, art, "select", std::vector<attn_tensor>{p.q.t, p.k.t}
                                              .data(),
                      2, &idx.t, 1, nullptr),
            ATTN_OK)
      << attn_last_error();
  const int32_t *x = static_cast<const int32_t *>(idx.t.data);
  for (int i = 0; i < 36; i += 3)
    EXPECT_EQ(std::vector<int32_t>(x + i, x + i + 3),
              (std::vector<int32_t>{0, 1, 2}))
        << "row " << i / 3;
  // 10 rows make ceil(10 / 4) = 3 query blocks: 4 are refused, naming the
  // derived size and its rule.
  Tensor wrong(ATTN_DTYPE_I32, {2, 2, 4, 3});
  expectCall("select", {p.q.t, p.k.t}, {wrong.t}, ATTN_ERROR_SHAPE_MISMATCH,
             "output 0 (indices) [2, 2, 4, 3]: dim 2 (Sq_blocks) is 4, "
             "expected Sq_blocks = ceil(Sq / 4) = 3 (Sq = 10)");
}

TEST_F(SparseTest, CompressBindsWindowsAndRefusesShortKeys) {
  const int64_t b = 1, len = 9, n = 3;
  Tensor k(ATTN_DTYPE_F32, {b, 2, len, 8}), v(ATTN_DTYPE_F32, {b, 2, len, 8}),
      w(ATTN_DTYPE_F32, {2, 4}), ck(ATTN_DTYPE_F32, {b, 2, n, 8}),
      cv(ATTN_DTYPE_F32, {b, 2, n, 8});
  k.random(4);
  v.random(5);
  float *weights = static_cast<float *>(w.t.data);
  for (int i = 0; i < 8; ++i)
    weights[i] = 0.125f * float(i + 1);
  ck.fill(NAN);
  cv.fill(NAN);
  std::vector<attn_tensor> out = {ck.t, cv.t};
  ASSERT_EQ(attn_call(rt, art, "compress",
                      std::vector<attn_tensor>{k.t, v.t, w.t}.data(), 3,
                      out.data(), 2, nullptr),
            ATTN_OK)
      << attn_last_error();
  for (int64_t g = 0; g < 2; ++g)
    for (int64_t slot = 0; slot < n; ++slot)
      for (int64_t x = 0; x < 8; ++x) {
        double key = 0, value = 0;
        for (int64_t t = 0; t < 4; ++t) {
          key += weights[g * 4 + t] * k.f(0, g, slot * 2 + t, x);
          value += weights[g * 4 + t] * v.f(0, g, slot * 2 + t, x);
        }
        ASSERT_NEAR(ck.f(0, g, slot, x), key, 1e-5);
        ASSERT_NEAR(cv.f(0, g, slot, x), value, 1e-5);
      }
  // Slots the window rule does not give, and keys shorter than a window.
  Tensor ck4(ATTN_DTYPE_F32, {b, 2, 4, 8});
  expectCall("compress", {k.t, v.t, w.t}, {ck4.t, cv.t},
             ATTN_ERROR_SHAPE_MISMATCH,
             "output 0 (compressed_key) [1, 2, 4, 8]: dim 2 (N) is 4, "
             "expected N = (S - 4) / 2 + 1 = 3 (S = 9)");
  Tensor k3(ATTN_DTYPE_F32, {b, 2, 3, 8}), v3(ATTN_DTYPE_F32, {b, 2, 3, 8});
  expectCall("compress", {k3.t, v3.t, w.t}, {ck.t, cv.t},
             ATTN_ERROR_SHAPE_MISMATCH,
             "attn_call('compress'): size N = (S - 4) / 2 + 1 (windows of 4 "
             "every 2) needs S >= 4; the call has S = 3");
}

TEST_F(SparseTest, SelectedAttentionGetsTheBlocksList) {
  Qkv p(2, 10, 12);
  Tensor blocks(ATTN_DTYPE_I32, {2, 2, 3, 3});
  // Every key block listed, in two orders: dense attention.
  int32_t *list = static_cast<int32_t *>(blocks.t.data);
  for (int i = 0; i < 36; i += 3) {
    list[i] = 2;
    list[i + 1] = i % 2 ? 1 : 0;
    list[i + 2] = i % 2 ? 0 : 1;
  }
  ASSERT_EQ(attn_call(rt, art, "selected",
                      std::vector<attn_tensor>{p.q.t, p.k.t, p.v.t, blocks.t}
                          .data(),
                      4, &p.out.t, 1, nullptr),
            ATTN_OK)
      << attn_last_error();
  EXPECT_LT(maxError(p.q, p.k, p.v, p.out, false), 1e-5);
  // Nothing listed: every row sees no key and is zero.
  std::fill_n(list, 36, -1);
  ASSERT_EQ(attn_call(rt, art, "selected",
                      std::vector<attn_tensor>{p.q.t, p.k.t, p.v.t, blocks.t}
                          .data(),
                      4, &p.out.t, 1, nullptr),
            ATTN_OK);
  for (int64_t h = 0; h < 4; ++h)
    EXPECT_EQ(p.out.f(1, h, 9, 7), 0.0f);
  // A list of another query-block count: refused before anything runs.
  Qkv q(2, 10, 12);
  Tensor four(ATTN_DTYPE_I32, {2, 2, 4, 3});
  expectCall("selected", {q.q.t, q.k.t, q.v.t, four.t}, {q.out.t},
             ATTN_ERROR_SHAPE_MISMATCH,
             "input 3 (blocks) [2, 2, 4, 3]: dim 2 (Sq_blocks) is 4, expected "
             "Sq_blocks = ceil(Sq / 4) = 3 (Sq = 10)");
  EXPECT_TRUE(q.untouched());
}

/// The inputs of a call of "branches": Qkv's q, k, v, random compressed
/// K/V of (Skv - 4) / 2 + 1 slots (or `slots`), blocks lists naming every
/// key block, weights (w0, w1, w2) on every row.
struct BranchesInputs {
  Qkv p;
  Tensor ck, cv, blocks, w;
  BranchesInputs(int64_t b, int64_t sq, int64_t skv, int64_t slots = -1)
      : p(b, sq, skv),
        ck(ATTN_DTYPE_F32, {b, 2, slots >= 0 ? slots : (skv - 4) / 2 + 1, 8}),
        cv(ATTN_DTYPE_F32, {b, 2, slots >= 0 ? slots : (skv - 4) / 2 + 1, 8}),
        blocks(ATTN_DTYPE_I32, {b, 2, (sq + 3) / 4, 3}),
        w(ATTN_DTYPE_F32, {b, 4, sq, 3}) {
    ck.random(4);
    cv.random(5);
    int32_t *list = static_cast<int32_t *>(blocks.t.data);
    const int64_t nkb = (skv + 3) / 4;
    for (int64_t i = 0; i < b * 2 * ((sq + 3) / 4) * 3; ++i)
      list[i] = int32_t(i % 3 < nkb ? i % 3 : -1);
    weights(0, 1, 0);
  }
  void weights(float w0, float w1, float w2) {
    float *x = static_cast<float *>(w.t.data);
    for (int64_t i = 0; i < w.t.shape[0] * 4 * w.t.shape[2]; ++i) {
      x[3 * i] = w0;
      x[3 * i + 1] = w1;
      x[3 * i + 2] = w2;
    }
  }
  std::vector<attn_tensor> inputs() const {
    return {p.q.t, p.k.t, p.v.t, ck.t, cv.t, blocks.t, w.t};
  }
};

TEST_F(SparseTest, SparseBranchesTakeSevenInputs) {
  // 12 keys make 3 key blocks, all listed: with the weights (0, 1, 0) the
  // output is the selected branch alone, causal attention over every key.
  BranchesInputs in(2, 10, 12);
  ASSERT_EQ(attn_call(rt, art, "branches", in.inputs().data(), 7, &in.p.out.t,
                      1, nullptr),
            ATTN_OK)
      << attn_last_error();
  EXPECT_LT(maxError(in.p.q, in.p.k, in.p.v, in.p.out, true), 1e-5);
  // Weights are taken per row as given: all zero, a zero output.
  in.weights(0, 0, 0);
  ASSERT_EQ(attn_call(rt, art, "branches", in.inputs().data(), 7, &in.p.out.t,
                      1, nullptr),
            ATTN_OK);
  for (int64_t h = 0; h < 4; ++h)
    for (int64_t r = 0; r < 10; ++r)
      EXPECT_EQ(in.p.out.f(1, h, r, 7), 0.0f) << h << " " << r;
  attn_arg_info info;
  ASSERT_EQ(attn_artifact_input_info(art, "branches", 3, &info), ATTN_OK);
  EXPECT_STREQ(info.symbols[2], "Skv_slots");
}

TEST_F(SparseTest, SparseBranchesRefuseCompressedKvOfOtherKeys) {
  // Declared with the derived size: the call's own check names its rule.
  BranchesInputs wrong(1, 10, 12, 4);
  expectCall("branches", wrong.inputs(), {wrong.p.out.t},
             ATTN_ERROR_SHAPE_MISMATCH,
             "input 3 (compressed_key) [1, 2, 4, 8]: dim 2 (Skv_slots) is 4, "
             "expected Skv_slots = (Skv - 4) / 2 + 1 = 5 (Skv = 12)");
  EXPECT_TRUE(wrong.p.untouched());
  // Declared by a free name: the kernel's shape checks refuse it.
  expectCall("branches_free", wrong.inputs(), {wrong.p.out.t},
             ATTN_ERROR_SHAPE_MISMATCH,
             "attn_call('branches_free'): kernel 'branches_free_br0': the "
             "compressed key (input 3) is [1, 2, 4, 8], expected [B, Hkv, N, "
             "D] with N = (Skv - 4) / 2 + 1 = [1, 2, 5, 8]");
  EXPECT_TRUE(wrong.p.untouched());
  BranchesInputs shortKeys(1, 3, 3, 1);
  expectCall("branches_free", shortKeys.inputs(), {shortKeys.p.out.t},
             ATTN_ERROR_SHAPE_MISMATCH,
             "kernel 'branches_free_br0': the key (input 1) [1, 2, 3, 8] has "
             "Skv = 3 positions, fewer than one compression window of 4 "
             "(compress_window): the compressed branch needs Skv >= 4");
  EXPECT_TRUE(shortKeys.p.untouched());
  // The weights' last dim is one per branch.
  BranchesInputs ok(1, 10, 12);
  Tensor w4(ATTN_DTYPE_F32, {1, 4, 10, 4});
  std::vector<attn_tensor> in = ok.inputs();
  in[6] = w4.t;
  expectCall("branches", in, {ok.p.out.t}, ATTN_ERROR_SHAPE_MISMATCH,
             "input 6 (weights) [1, 4, 10, 4]: dim 3 is 4, expected 3");
  // And the free-N function runs when N is right.
  ASSERT_EQ(attn_call(rt, art, "branches_free", ok.inputs().data(), 7,
                      &ok.p.out.t, 1, nullptr),
            ATTN_OK)
      << attn_last_error();
  EXPECT_LT(maxError(ok.p.q, ok.p.k, ok.p.v, ok.p.out, true), 1e-5);
}

//===----------------------------------------------------------------------===//
// Calls that must be refused
//===----------------------------------------------------------------------===//

class CallTest : public ArtifactTest {
protected:
  void SetUp() override {
    ArtifactTest::SetUp();
    write(ManifestDesc());
    ASSERT_EQ(open(), ATTN_OK) << attn_last_error();
  }

  /// Calls "dense" on q, k, v, out after `edit` changed them.
  void expectCallError(const std::function<void(attn_tensor *in,
                                                attn_tensor *out)> &edit,
                       attn_status status, const std::string &text) {
    Qkv p(2, 16, 24);
    attn_tensor in[3] = {p.q.t, p.k.t, p.v.t};
    attn_tensor out[1] = {p.out.t};
    edit(in, out);
    EXPECT_EQ(attn_call(rt, art, "dense", in, 3, out, 1, nullptr), status)
        << attn_last_error();
    EXPECT_NE(std::string(attn_last_error()).find(text), std::string::npos)
        << "message: " << attn_last_error() << "\nexpected: " << text;
    // Nothing ran: the sentinel survives.
    EXPECT_TRUE(p.untouched());
  }
};

TEST_F(CallTest, BadArguments) {
  Qkv p(1, 8, 8);
  attn_tensor in[3] = {p.q.t, p.k.t, p.v.t};
  EXPECT_EQ(attn_call(nullptr, art, "dense", in, 3, &p.out.t, 1, nullptr),
            ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(attn_call(rt, art, nullptr, in, 3, &p.out.t, 1, nullptr),
            ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(attn_call(rt, art, "sparse", in, 3, &p.out.t, 1, nullptr),
            ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attn_last_error())
                .find("has no function 'sparse' (it has 'dense', 'gated', "
                      "'listed', 'two')"),
            std::string::npos)
      << attn_last_error();
  EXPECT_EQ(attn_call(rt, art, "dense", in, 2, &p.out.t, 1, nullptr),
            ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attn_last_error())
                .find("takes 3 inputs and 1 outputs, got 2 and 1"),
            std::string::npos);
  EXPECT_EQ(attn_call(rt, art, "dense", nullptr, 3, &p.out.t, 1, nullptr),
            ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(p.untouched());
}

TEST_F(CallTest, BadDevicesDtypesAndRanks) {
  expectCallError([](attn_tensor *in, attn_tensor *) {
    in[1].device = ATTN_DEVICE_CUDA;
  }, ATTN_ERROR_SHAPE_MISMATCH,
     "input 1 (key) is on a CUDA device; function 'dense' runs on the CPU");
  expectCallError([](attn_tensor *in, attn_tensor *) {
    in[2].dtype = ATTN_DTYPE_F16;
  }, ATTN_ERROR_SHAPE_MISMATCH, "input 2 (value): expected dtype f32, found f16");
  expectCallError([](attn_tensor *, attn_tensor *out) {
    out[0].dtype = static_cast<attn_dtype>(42);
  }, ATTN_ERROR_SHAPE_MISMATCH, "output 0 (out) has dtype 42, which is not");
  expectCallError([](attn_tensor *in, attn_tensor *) { in[0].rank = 3; },
                  ATTN_ERROR_SHAPE_MISMATCH,
                  "input 0 (query): expected rank 4, found 3");
  expectCallError([](attn_tensor *in, attn_tensor *) { in[0].rank = 99; },
                  ATTN_ERROR_SHAPE_MISMATCH,
                  "input 0 (query): expected rank 4, found 99");
  expectCallError([](attn_tensor *in, attn_tensor *) { in[1].data = nullptr; },
                  ATTN_ERROR_SHAPE_MISMATCH, "input 1 (key) has no data");
}

TEST_F(CallTest, BadShapes) {
  expectCallError([](attn_tensor *in, attn_tensor *) { in[0].shape[1] = 3; },
                  ATTN_ERROR_SHAPE_MISMATCH,
                  "input 0 (query) [2, 3, 16, 8]: dim 1 is 3, expected 4 "
                  "(fixed when compiled)");
  expectCallError([](attn_tensor *in, attn_tensor *) { in[1].shape[3] = 16; },
                  ATTN_ERROR_SHAPE_MISMATCH,
                  "input 1 (key) [2, 2, 24, 16]: dim 3 is 16, expected 8");
  expectCallError([](attn_tensor *in, attn_tensor *) { in[1].shape[0] = 1; },
                  ATTN_ERROR_SHAPE_MISMATCH,
                  "input 1 (key) [1, 2, 24, 8]: dim 0 (B) is 1, but input 0 "
                  "(query) has B = 2");
  expectCallError([](attn_tensor *in, attn_tensor *) { in[2].shape[2] = 23; },
                  ATTN_ERROR_SHAPE_MISMATCH,
                  "input 2 (value) [2, 2, 23, 8]: dim 2 (Skv) is 23, but "
                  "input 1 (key) has Skv = 24");
  expectCallError([](attn_tensor *, attn_tensor *out) { out[0].shape[2] = 15; },
                  ATTN_ERROR_SHAPE_MISMATCH,
                  "output 0 (out) [2, 4, 15, 8]: dim 2 (Sq) is 15, but input "
                  "0 (query) has Sq = 16");
  expectCallError([](attn_tensor *in, attn_tensor *) { in[0].shape[2] = 0; },
                  ATTN_ERROR_SHAPE_MISMATCH,
                  "dim 2 (Sq) is 0; every size must be at least 1");
}

TEST_F(CallTest, BadStrides) {
  expectCallError([](attn_tensor *in, attn_tensor *) {
    std::swap(in[0].strides[2], in[0].strides[3]);
  }, ATTN_ERROR_SHAPE_MISMATCH,
     "input 0 (query): the innermost stride must be 1, found 8");
  expectCallError([](attn_tensor *in, attn_tensor *) {
    in[1].strides[1] = -8;
  }, ATTN_ERROR_SHAPE_MISMATCH,
     "input 1 (key): dim 1 has stride -8; strides must not be negative");
  expectCallError([](attn_tensor *, attn_tensor *out) {
    out[0].strides[2] = 0; // every row the same memory
  }, ATTN_ERROR_SHAPE_MISMATCH, "make elements overlap; outputs must not");
  expectCallError([](attn_tensor *in, attn_tensor *) {
    in[0].strides[0] = INT64_MAX / 2;
  }, ATTN_ERROR_SHAPE_MISMATCH, "spans more");
}

TEST_F(CallTest, BadGates) {
  Qkv p(2, 8, 8);
  Tensor gates(ATTN_DTYPE_BOOL, {1, 4});
  attn_tensor in[4] = {p.q.t, p.k.t, p.v.t, gates.t};
  EXPECT_EQ(attn_call(rt, art, "gated", in, 4, &p.out.t, 1, nullptr),
            ATTN_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(std::string(attn_last_error())
                .find("input 3 (gates) [1, 4]: dim 0 (B) is 1, but input 0 "
                      "(query) has B = 2"),
            std::string::npos)
      << attn_last_error();
  in[3].dtype = ATTN_DTYPE_I32;
  EXPECT_EQ(attn_call(rt, art, "gated", in, 4, &p.out.t, 1, nullptr),
            ATTN_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(std::string(attn_last_error())
                .find("input 3 (gates): expected dtype bool, found i32"),
            std::string::npos)
      << attn_last_error();
  EXPECT_TRUE(p.untouched());
}

//===----------------------------------------------------------------------===//
// CUDA kernels (draft entries)
//===----------------------------------------------------------------------===//

TEST_F(ArtifactTest, CudaKernelsTakeDeviceTensors) {
  ManifestDesc m;
  writeFile(dir + "/gpu.sm_90a.cubin", "not really a cubin");
  writeFile(dir + "/gpu.ptx", ".version 8.0\n");
  m.files.push_back("gpu.sm_90a.cubin");
  m.files.push_back("gpu.ptx");
  KernelDesc k;
  k.name = "gpu_attn0";
  k.source = "gpu";
  k.device = "cuda";
  k.extra =
      ", \"cuda\": {\"entry\": \"gpu_attn0\", \"binaries\": {\"sm_90a\": "
      "\"gpu.sm_90a.cubin\"}, \"ptx\": {\"file\": \"gpu.ptx\", \"target\": "
      "\"sm_80\"}, \"block\": [128, 1, 1], \"dynamic_shared_memory\": 98304, "
      "\"grid\": {\"rule\": \"query_tiles_x_pairs\", \"query_tile\": 128}, "
      "\"params\": [{\"name\": \"query\", \"type\": \"ptr\", \"value\": "
      "\"query\"}]}";
  m.kernels.push_back(k);
  m.functions.push_back({"gpu", {kQuery, kKey, kValue}, {kOut}, {"gpu_attn0"}});
  write(m);
  ASSERT_EQ(open(), ATTN_OK) << attn_last_error();
  attn_arg_info info;
  ASSERT_EQ(attn_artifact_input_info(art, "gpu", 0, &info), ATTN_OK);
  EXPECT_EQ(info.device, ATTN_DEVICE_CUDA);
  Qkv p(1, 8, 8);
  attn_tensor in[3] = {p.q.t, p.k.t, p.v.t};
  EXPECT_EQ(attn_call(rt, art, "gpu", in, 3, &p.out.t, 1, nullptr),
            ATTN_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(std::string(attn_last_error())
                .find("input 0 (query) is on the CPU; function 'gpu' runs on "
                      "a CUDA device"),
            std::string::npos)
      << attn_last_error();
  // Device tensors get as far as the driver: here no libcuda or no GPU, on
  // the GPU machine a driver error for the fake cubin. Never a launch.
  attn_tensor dev[3] = {p.q.t, p.k.t, p.v.t};
  attn_tensor devOut = p.out.t;
  for (attn_tensor &t : dev)
    t.device = ATTN_DEVICE_CUDA;
  devOut.device = ATTN_DEVICE_CUDA;
  attn_status status = attn_call(rt, art, "gpu", dev, 3, &devOut, 1, nullptr);
  EXPECT_TRUE(status == ATTN_ERROR_NO_CUDA || status == ATTN_ERROR_NO_DEVICE ||
              status == ATTN_ERROR_CUDA)
      << attn_status_name(status) << ": " << attn_last_error();

  // Its binaries are checked like every other file.
  writeFile(dir + "/gpu.ptx", ".version 8.1\n");
  expectOpenError(ATTN_ERROR_CORRUPT_ARTIFACT, "'gpu.ptx' has SHA-256");
  m.files.pop_back();
  expectOpenError(m, ATTN_ERROR_CORRUPT_ARTIFACT,
                  "\"gpu.ptx\" is not listed in \"files\"");
}

/// A CUDA kernel entry for artifact_test's shapes (Hq 4, Hkv 2, D 8, f32)
/// following docs/artifact.md's contract for `gates` ("none", "gates",
/// "active"): the 19 common parameters plus the gates' or the list's.
KernelDesc cudaKernel(const std::string &name, const std::string &source,
                      const std::string &gates) {
  KernelDesc k;
  k.name = name;
  k.source = source;
  k.device = "cuda";
  k.gated = gates != "none";
  k.gates = gates;
  k.args = k.gated ? std::vector<int>{0, 1, 2, 3} : std::vector<int>{0, 1, 2};
  std::string params =
      "{\"name\": \"q\", \"type\": \"ptr\", \"value\": \"query\"}, "
      "{\"name\": \"k\", \"type\": \"ptr\", \"value\": \"key\"}, "
      "{\"name\": \"v\", \"type\": \"ptr\", \"value\": \"value\"}, "
      "{\"name\": \"o\", \"type\": \"ptr\", \"value\": \"out\"}";
  for (const char *t : {"query", "key", "value", "out"})
    for (int i = 0; i < 3; ++i)
      params += std::string(", {\"name\": \"s\", \"type\": \"i64\", "
                            "\"value\": \"") +
                t + ".stride[" + std::to_string(i) + "]\"}";
  params += ", {\"name\": \"sq\", \"type\": \"i32\", \"value\": \"Sq\"}, "
            "{\"name\": \"skv\", \"type\": \"i32\", \"value\": \"Skv\"}, "
            "{\"name\": \"scale\", \"type\": \"f32\", \"value\": \"scale\"}";
  if (gates == "gates")
    params += ", {\"name\": \"g\", \"type\": \"ptr\", \"value\": \"gates\"}, "
              "{\"name\": \"g0\", \"type\": \"i64\", \"value\": "
              "\"gates.stride[0]\"}, {\"name\": \"g1\", \"type\": \"i64\", "
              "\"value\": \"gates.stride[1]\"}";
  if (gates == "active")
    params += ", {\"name\": \"a\", \"type\": \"ptr\", \"value\": \"active\"}, "
              "{\"name\": \"n\", \"type\": \"i32\", \"value\": "
              "\"active_count\"}";
  k.extra = ", \"scale\": 0.35355, \"cuda\": {\"entry\": \"" + name +
            "\", \"binaries\": {\"sm_90a\": \"gpu.sm_90a.cubin\"}, \"ptx\": "
            "{\"file\": \"gpu.ptx\", \"target\": \"sm_80\"}, \"block\": [128, "
            "1, 1], \"dynamic_shared_memory\": 0, \"grid\": {\"rule\": \"" +
            (gates == "active" ? "query_tiles_x_active"
                               : "query_tiles_x_pairs") +
            "\", \"query_tile\": 64}, \"params\": [" + params + "]}";
  return k;
}

TEST_F(ArtifactTest, GatedCudaKernelsAreCheckedBeforeTheDevice) {
  // Everything about a call is checked on the host before the runtime
  // reaches for the driver, so these run without a GPU; a valid call then
  // stops at the driver here (no libcuda or no GPU) and at the fake cubin
  // on the GPU machine. Never a launch, and the outputs stay untouched.
  ManifestDesc m;
  writeFile(dir + "/gpu.sm_90a.cubin", "not really a cubin");
  writeFile(dir + "/gpu.ptx", ".version 8.0\n");
  m.files.push_back("gpu.sm_90a.cubin");
  m.files.push_back("gpu.ptx");
  m.kernels.push_back(cudaKernel("gpu_gated_attn0", "gpu_gated", "gates"));
  m.functions.push_back({"gpu_gated",
                         {kQuery, kKey, kValue,
                          tensor("gates", "bool", "[\"B\", 4]")},
                         {kOut},
                         {"gpu_gated_attn0"}});
  m.kernels.push_back(cudaKernel("gpu_listed_attn0", "gpu_listed", "active"));
  m.functions.push_back({"gpu_listed",
                         {kQuery, kKey, kValue,
                          tensor("active", "i32", "[\"pairs\"]")},
                         {kOut},
                         {"gpu_listed_attn0"}});
  write(m);
  ASSERT_EQ(open(), ATTN_OK) << attn_last_error();
  attn_arg_info info;
  ASSERT_EQ(attn_artifact_input_info(art, "gpu_gated", 3, &info), ATTN_OK);
  EXPECT_STREQ(info.role, "gates");
  EXPECT_EQ(info.device, ATTN_DEVICE_CUDA);
  ASSERT_EQ(attn_artifact_input_info(art, "gpu_listed", 3, &info), ATTN_OK);
  EXPECT_STREQ(info.role, "active");

  Qkv p(2, 8, 8);
  Tensor gates(ATTN_DTYPE_BOOL, {2, 4}), wrongGates(ATTN_DTYPE_BOOL, {3, 4}),
      list(ATTN_DTYPE_I32, {3}), longList(ATTN_DTYPE_I32, {9});
  auto onDevice = [](attn_tensor t) {
    t.device = ATTN_DEVICE_CUDA;
    return t;
  };
  attn_tensor out = onDevice(p.out.t);
  auto call = [&](const char *fn, const attn_tensor &fourth) {
    attn_tensor in[4] = {onDevice(p.q.t), onDevice(p.k.t), onDevice(p.v.t),
                         fourth};
    return attn_call(rt, art, fn, in, 4, &out, 1, nullptr);
  };
  auto expectCallError = [&](const char *fn, const attn_tensor &fourth,
                             const std::string &text) {
    EXPECT_EQ(call(fn, fourth), ATTN_ERROR_SHAPE_MISMATCH) << attn_last_error();
    EXPECT_NE(std::string(attn_last_error()).find(text), std::string::npos)
        << "message: " << attn_last_error() << "\nexpected: " << text;
  };
  expectCallError("gpu_gated", gates.t,
                  "input 3 (gates) is on the CPU; function 'gpu_gated' runs "
                  "on a CUDA device");
  expectCallError("gpu_gated", onDevice(wrongGates.t),
                  "input 3 (gates) [3, 4]: dim 0 (B) is 3, but input 0 "
                  "(query) has B = 2");
  expectCallError("gpu_gated", onDevice(list.t),
                  "input 3 (gates): expected dtype bool, found i32");
  expectCallError("gpu_listed", onDevice(longList.t),
                  "attn_call('gpu_listed'): kernel 'gpu_listed_attn0': the "
                  "active list (input 3) has 9 entries, more than the 8 "
                  "(batch, head) pairs B * Hq = 2 * 4");
  expectCallError("gpu_listed", onDevice(gates.t),
                  "input 3 (active): expected dtype i32, found bool");
  EXPECT_TRUE(p.untouched());

  for (const auto &[fn, fourth] :
       {std::pair<const char *, attn_tensor>{"gpu_gated", onDevice(gates.t)},
        {"gpu_listed", onDevice(list.t)}}) {
    attn_status status = call(fn, fourth);
    EXPECT_TRUE(status == ATTN_ERROR_NO_CUDA ||
                status == ATTN_ERROR_NO_DEVICE || status == ATTN_ERROR_CUDA)
        << fn << ": " << attn_status_name(status) << ": " << attn_last_error();
  }
  EXPECT_TRUE(p.untouched());
}

//===----------------------------------------------------------------------===//
// Status plumbing
//===----------------------------------------------------------------------===//

TEST(StatusTest, NamesAndPerThreadMessages) {
  EXPECT_STREQ(attn_status_name(ATTN_OK), "ATTN_OK");
  EXPECT_STREQ(attn_status_name(ATTN_ERROR_TARGET_MISMATCH),
               "ATTN_ERROR_TARGET_MISMATCH");
  EXPECT_STREQ(attn_status_name(ATTN_ERROR_INTERNAL), "ATTN_ERROR_INTERNAL");
  EXPECT_STREQ(attn_status_name(static_cast<attn_status>(99)),
               "ATTN_ERROR_UNKNOWN_STATUS");
  EXPECT_STREQ(attn_dtype_name(ATTN_DTYPE_BF16), "bf16");

  attn_artifact *a = nullptr;
  EXPECT_EQ(attn_artifact_open("/nonexistent", &a), ATTN_ERROR_IO);
  std::string other;
  std::thread([&] { other = attn_last_error(); }).join();
  EXPECT_EQ(other, ""); // another thread's error is not this one's
  EXPECT_NE(std::string(attn_last_error()), "");
  attn_runtime *r = nullptr;
  EXPECT_EQ(attn_runtime_create(1, nullptr), ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(attn_runtime_create(100000, &r), ATTN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attn_last_error()).find("more than the limit of 4096"),
            std::string::npos);
  EXPECT_EQ(r, nullptr);
  ASSERT_EQ(attn_runtime_create(1, &r), ATTN_OK);
  attn_runtime_destroy(r);
  attn_runtime_destroy(nullptr);
  attn_artifact_close(nullptr);
}

TEST(StatusTest, CudaDeviceQueryNeverCrashes) {
  // Without a GPU (CI): NO_CUDA or NO_DEVICE with a reason; with one: a
  // description.
  attn_cuda_device_info info;
  attn_status s = attn_cuda_device(0, &info);
  if (s == ATTN_OK) {
    EXPECT_GT(info.major, 0);
    EXPECT_GT(info.device_count, 0);
    std::printf("CUDA device 0: %s, sm_%d%d\n", info.name, info.major,
                info.minor);
    EXPECT_EQ(attn_cuda_device(info.device_count, &info),
              ATTN_ERROR_NO_DEVICE);
  } else {
    EXPECT_TRUE(s == ATTN_ERROR_NO_CUDA || s == ATTN_ERROR_NO_DEVICE)
        << attn_status_name(s) << ": " << attn_last_error();
    EXPECT_NE(std::string(attn_last_error()), "");
    std::printf("no CUDA: %s\n", attn_last_error());
  }
  EXPECT_EQ(attn_cuda_device(0, nullptr), ATTN_ERROR_INVALID_ARGUMENT);
}

} // namespace
