//===- cpu_launch_test.cpp - The runtime's CPU launch path ----------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Runs the fake kernels of fake_kernel.c (path in ATTN_FAKE_KERNEL) through
// CpuKernel and ThreadPool and compares with a double-precision reference.
//
//===----------------------------------------------------------------------===//

#include "attn_runtime/cpu_launch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>
#include <set>
#include <vector>

using namespace attn::rt;

namespace {

//===----------------------------------------------------------------------===//
// ThreadPool
//===----------------------------------------------------------------------===//

TEST(ThreadPool, CoversEveryItemOnceAcrossRepeatedCalls) {
  for (int threads : {1, 2, 7}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t grain : {1, 3, 64}) {
      for (int call = 0; call < 200; ++call) {
        const int64_t items = call % 97;
        std::vector<std::atomic<int>> hits(items);
        pool.parallelFor(items, grain, [&](int64_t begin, int64_t end) {
          ASSERT_LE(end - begin, grain);
          for (int64_t i = begin; i < end; ++i)
            hits[i].fetch_add(1);
        });
        for (int64_t i = 0; i < items; ++i)
          ASSERT_EQ(hits[i].load(), 1)
              << "threads " << threads << " item " << i << " call " << call;
      }
    }
  }
}

TEST(ThreadPool, OneThreadRunsInline) {
  ThreadPool pool(1);
  std::set<std::thread::id> seen;
  pool.parallelFor(100, 1, [&](int64_t, int64_t) {
    seen.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(seen, std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST(ThreadPool, SharesUnevenWork) {
  // Items of very unequal cost (the rows of a causal kernel) must still be
  // spread: with dynamic scheduling, the first thread cannot take them all.
  ThreadPool pool(4);
  std::mutex mutex;
  std::set<std::thread::id> seen;
  pool.parallelFor(64, 1, [&](int64_t begin, int64_t) {
    std::this_thread::sleep_for(std::chrono::microseconds(200 + 20 * begin));
    std::lock_guard<std::mutex> lock(mutex);
    seen.insert(std::this_thread::get_id());
  });
  EXPECT_GT(seen.size(), 1u);
}

//===----------------------------------------------------------------------===//
// Launching the fake kernels
//===----------------------------------------------------------------------===//

struct Shape {
  int64_t b, hq, hkv, sq, skv, d;
};

std::vector<float> randomBuffer(int64_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> data(n);
  for (float &x : data)
    x = dist(gen);
  return data;
}

/// Element (b, h, s, x) of a view.
float get(const TensorView &t, int64_t b, int64_t h, int64_t s, int64_t x) {
  return static_cast<const float *>(
      t.data)[b * t.strides[0] + h * t.strides[1] + s * t.strides[2] + x];
}

/// Blocks lists of the fake kernels: [B, Hkv, nqb, slots] of 4-row query
/// blocks and 4-key blocks, contiguous.
struct BlocksList {
  std::vector<int32_t> data;
  TensorView view;
  bool lists(int64_t b, int64_t kvh, int64_t r, int64_t t) const {
    const int32_t *row = data.data() + b * view.strides[0] +
                         kvh * view.strides[1] + (r / 4) * view.strides[2];
    return std::find(row, row + view.sizes[3], int32_t(t / 4)) !=
           row + view.sizes[3];
  }
};

/// softmax(QK^T / sqrt(D)) V in double; causal keeps k <= q + Skv - Sq,
/// `blocks` (when given) the keys of the listed blocks, and a row that sees
/// no key is zero.
std::vector<double> reference(const TensorView &q, const TensorView &k,
                              const TensorView &v, bool causal,
                              const BlocksList *blocks = nullptr) {
  const int64_t b = q.sizes[0], hq = q.sizes[1], sq = q.sizes[2],
                d = q.sizes[3], skv = k.sizes[2], group = hq / k.sizes[1];
  std::vector<double> out(b * hq * sq * d, 0.0), scores(skv);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t h = 0; h < hq; ++h)
      for (int64_t r = 0; r < sq; ++r) {
        const int64_t visible =
            causal ? std::clamp<int64_t>(r + skv - sq + 1, 0, skv) : skv;
        double max = -INFINITY, sum = 0.0;
        for (int64_t j = 0; j < visible; ++j) {
          if (blocks && !blocks->lists(bi, h / group, r, j)) {
            scores[j] = -INFINITY;
            continue;
          }
          double dot = 0.0;
          for (int64_t x = 0; x < d; ++x)
            dot += double(get(q, bi, h, r, x)) * get(k, bi, h / group, j, x);
          scores[j] = dot / std::sqrt(double(d));
          max = std::max(max, scores[j]);
        }
        if (max == -INFINITY)
          continue; // no key listed: zeros
        for (int64_t j = 0; j < visible; ++j)
          sum += scores[j] = std::exp(scores[j] - max);
        double *row = &out[((bi * hq + h) * sq + r) * d];
        for (int64_t j = 0; j < visible; ++j)
          for (int64_t x = 0; x < d; ++x)
            row[x] += scores[j] / sum * get(v, bi, h / group, j, x);
      }
  return out;
}

/// Contiguous Q, K, V and an output filled with a sentinel.
struct Problem {
  explicit Problem(const Shape &s)
      : qData(randomBuffer(s.b * s.hq * s.sq * s.d, 1)),
        kData(randomBuffer(s.b * s.hkv * s.skv * s.d, 2)),
        vData(randomBuffer(s.b * s.hkv * s.skv * s.d, 3)),
        oData(s.b * s.hq * s.sq * s.d, 7.0f),
        q(TensorView::contiguous(qData.data(), s.b, s.hq, s.sq, s.d)),
        k(TensorView::contiguous(kData.data(), s.b, s.hkv, s.skv, s.d)),
        v(TensorView::contiguous(vData.data(), s.b, s.hkv, s.skv, s.d)),
        o(TensorView::contiguous(oData.data(), s.b, s.hq, s.sq, s.d)) {}
  std::vector<float> qData, kData, vData, oData;
  TensorView q, k, v, o;
};

double maxError(const TensorView &out, const std::vector<double> &expected) {
  const int64_t hq = out.sizes[1], sq = out.sizes[2], d = out.sizes[3];
  double worst = 0.0;
  for (int64_t b = 0; b < out.sizes[0]; ++b)
    for (int64_t h = 0; h < hq; ++h)
      for (int64_t r = 0; r < sq; ++r)
        for (int64_t x = 0; x < d; ++x)
          worst = std::max(worst,
                           std::abs(get(out, b, h, r, x) -
                                    expected[((b * hq + h) * sq + r) * d + x]));
  return worst;
}

CpuKernel loadFake(const std::string &name, CpuKernelInfo info = {}) {
  CpuKernel kernel;
  Status status = kernel.load(ATTN_FAKE_KERNEL, name, info);
  EXPECT_TRUE(status.ok()) << status.message();
  return kernel;
}

const Shape kShapes[] = {
    {1, 2, 2, 37, 53, 8},  // ragged last tile, Sq < Skv
    {2, 4, 2, 16, 16, 16}, // GQA, two batches
    {1, 3, 1, 70, 20, 4},  // MQA, Sq > Skv: causal rows with no key
};

TEST(CpuLaunch, MatchesReference) {
  for (const char *name : {"fake_dense", "fake_causal"}) {
    CpuKernel kernel = loadFake(name);
    for (int threads : {1, 2, 7}) {
      ThreadPool pool(threads);
      for (const Shape &s : kShapes) {
        Problem p(s);
        Status status = kernel.launch(pool, p.q, p.k, p.v, p.o);
        ASSERT_TRUE(status.ok()) << status.message();
        EXPECT_LT(maxError(p.o, reference(p.q, p.k, p.v,
                                          std::string(name) == "fake_causal")),
                  1e-5)
            << name << " threads " << threads << " Sq " << s.sq;
      }
    }
  }
}

TEST(CpuLaunch, StridedLayout) {
  // [B, S, H, D] storage (a projection's natural output) viewed as
  // [B, H, S, D] through strides: the kernel must see the same values.
  const Shape s{2, 4, 4, 24, 24, 8};
  Problem p(s);
  std::vector<float> q2(p.qData.size()), o2(p.oData.size());
  const int64_t sizes[4] = {s.b, s.hq, s.sq, s.d};
  const int64_t bshd[4] = {s.sq * s.hq * s.d, s.d, s.hq * s.d, 1};
  TensorView q = TensorView::strided(q2.data(), sizes, bshd);
  TensorView o = TensorView::strided(o2.data(), sizes, bshd);
  for (int64_t b = 0; b < s.b; ++b)
    for (int64_t h = 0; h < s.hq; ++h)
      for (int64_t r = 0; r < s.sq; ++r)
        for (int64_t x = 0; x < s.d; ++x)
          q2[b * bshd[0] + h * bshd[1] + r * bshd[2] + x] =
              get(p.q, b, h, r, x);
  ThreadPool pool(2);
  CpuKernel kernel = loadFake("fake_dense");
  Status status = kernel.launch(pool, q, p.k, p.v, o);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_LT(maxError(o, reference(p.q, p.k, p.v, false)), 1e-5);
}

TEST(CpuLaunch, GatedKernelZeroFillsSkippedPairs) {
  const Shape s{2, 3, 3, 20, 20, 8};
  CpuKernelInfo info;
  info.gated = true;
  info.headDim = 8;
  CpuKernel kernel = loadFake("fake_gated", info);
  const std::vector<int32_t> active = {1, 3, 5}; // b*Hq+h: (0,1) (1,0) (1,2)
  for (int threads : {1, 2, 7}) {
    ThreadPool pool(threads);
    Problem p(s);
    Status status = kernel.launch(pool, p.q, p.k, p.v, p.o, active.data(),
                                  static_cast<int64_t>(active.size()));
    ASSERT_TRUE(status.ok()) << status.message();
    std::vector<double> expected = reference(p.q, p.k, p.v, false);
    const int64_t pairSize = s.sq * s.d;
    for (int64_t pair = 0; pair < s.b * s.hq; ++pair)
      if (std::find(active.begin(), active.end(), pair) == active.end())
        std::fill_n(expected.begin() + pair * pairSize, pairSize, 0.0);
    EXPECT_LT(maxError(p.o, expected), 1e-5) << "threads " << threads;
  }
  // No active pair: all zeros, no kernel item.
  ThreadPool pool(2);
  Problem p(s);
  ASSERT_TRUE(kernel.launch(pool, p.q, p.k, p.v, p.o, nullptr, 0).ok());
  EXPECT_TRUE(std::all_of(p.oData.begin(), p.oData.end(),
                          [](float x) { return x == 0.0f; }));
}

//===----------------------------------------------------------------------===//
// Issue 8: selected attention, select_blocks, compress_kv
//===----------------------------------------------------------------------===//

/// Random blocks lists for `s`: per (b, g, query block) some of the key
/// blocks in any order, a duplicate, -1 and an out-of-range entry among
/// them (the kernels ignore those).
BlocksList randomBlocks(const Shape &s, int64_t slots, unsigned seed) {
  const int64_t nqb = (s.sq + 3) / 4, nkb = (s.skv + 3) / 4;
  BlocksList list;
  list.data.resize(s.b * s.hkv * nqb * slots);
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int32_t> pick(-1, int32_t(nkb));
  for (int32_t &x : list.data)
    x = pick(gen);
  list.view = TensorView::contiguous(list.data.data(), s.b, s.hkv, nqb, slots);
  return list;
}

TEST(CpuLaunch, SelectedAttentionSeesTheListedBlocks) {
  const Shape s{2, 4, 2, 22, 30, 8};
  CpuKernelInfo info;
  info.blocks = true;
  info.headDim = 8;
  CpuKernel kernel = loadFake("fake_selected", info);
  BlocksList blocks = randomBlocks(s, 3, 5);
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    Problem p(s);
    Status status =
        kernel.launch(pool, p.q, p.k, p.v, p.o, nullptr, 0, 1, &blocks.view);
    ASSERT_TRUE(status.ok()) << status.message();
    EXPECT_LT(maxError(p.o, reference(p.q, p.k, p.v, false, &blocks)), 1e-5)
        << "threads " << threads;
  }
  // The same kernel without the list, or a list of another batch: refused.
  ThreadPool pool(1);
  Problem p(s);
  Status missing = kernel.launch(pool, p.q, p.k, p.v, p.o);
  EXPECT_EQ(missing.code(), ATTN_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(missing.message().find("takes a blocks list; none was given"),
            std::string::npos)
      << missing.message();
  BlocksList other = randomBlocks({1, 4, 2, 22, 30, 8}, 3, 5);
  Status wrong =
      kernel.launch(pool, p.q, p.k, p.v, p.o, nullptr, 0, 1, &other.view);
  EXPECT_NE(wrong.message().find("blocks [1, 2, 6, 3] must be [B, Hkv, query "
                                 "blocks, slots] with B = 2, Hkv = 2"),
            std::string::npos)
      << wrong.message();
  // A kernel without blocks refuses a list.
  CpuKernel dense = loadFake("fake_dense");
  EXPECT_NE(dense.launch(pool, p.q, p.k, p.v, p.o, nullptr, 0, 1, &blocks.view)
                .message()
                .find("a blocks list was given to a kernel that takes none"),
            std::string::npos);
}

TEST(CpuLaunch, GatedSelectedAttentionTakesTheListAfterActive) {
  const Shape s{2, 2, 1, 13, 17, 8};
  CpuKernelInfo info;
  info.blocks = true;
  info.gated = true;
  CpuKernel kernel = loadFake("fake_gated_selected", info);
  BlocksList blocks = randomBlocks(s, 2, 9);
  const std::vector<int32_t> active = {0, 3};
  ThreadPool pool(2);
  Problem p(s);
  Status status = kernel.launch(pool, p.q, p.k, p.v, p.o, active.data(), 2, 1,
                                &blocks.view);
  ASSERT_TRUE(status.ok()) << status.message();
  std::vector<double> expected = reference(p.q, p.k, p.v, false, &blocks);
  for (int64_t pair : {1, 2})
    std::fill_n(expected.begin() + pair * s.sq * s.d, s.sq * s.d, 0.0);
  EXPECT_LT(maxError(p.o, expected), 1e-5);
}

/// select_blocks of the fake (blocks of 4, not causal, no forced blocks) in
/// double, as docs/sparse-projection.md section 1 defines it; `gap` gets
/// the smallest score difference at a top-k boundary it relied on.
std::vector<int32_t> referenceSelect(const Shape &s, const std::vector<float> &q,
                                     const std::vector<float> &k,
                                     const std::vector<float> *pooled,
                                     int64_t topk, double &gap) {
  const int64_t nqb = (s.sq + 3) / 4, nkb = (s.skv + 3) / 4,
                group = s.hq / s.hkv;
  std::vector<int32_t> out;
  gap = INFINITY;
  for (int64_t b = 0; b < s.b; ++b)
    for (int64_t g = 0; g < s.hkv; ++g)
      for (int64_t i = 0; i < nqb; ++i) {
        const int64_t r1 = std::min(s.sq, 4 * i + 4);
        std::vector<double> pq(s.d, 0.0);
        for (int64_t h = g * group; h < (g + 1) * group; ++h)
          for (int64_t r = 4 * i; r < r1; ++r)
            for (int64_t x = 0; x < s.d; ++x)
              pq[x] += q[((b * s.hq + h) * s.sq + r) * s.d + x] /
                       double(group * (r1 - 4 * i));
        std::vector<std::pair<double, int32_t>> scores;
        for (int64_t j = 0; j < nkb; ++j) {
          const int64_t t1 = std::min(s.skv, 4 * j + 4);
          double score = 0;
          for (int64_t x = 0; x < s.d; ++x) {
            double key = 0;
            if (pooled) {
              key = (*pooled)[((b * s.hkv + g) * nkb + j) * s.d + x];
            } else {
              for (int64_t t = 4 * j; t < t1; ++t)
                key += k[((b * s.hkv + g) * s.skv + t) * s.d + x];
              key /= double(t1 - 4 * j);
            }
            score += pq[x] * key;
          }
          scores.push_back({-score, int32_t(j)}); // decreasing score, then index
        }
        std::sort(scores.begin(), scores.end());
        const int64_t chosen = std::min<int64_t>(topk, nkb);
        if (chosen < nkb)
          gap = std::min(gap, scores[chosen].first - scores[chosen - 1].first);
        std::vector<int32_t> row;
        for (int64_t c = 0; c < chosen; ++c)
          row.push_back(scores[c].second);
        std::sort(row.begin(), row.end());
        row.resize(topk, -1);
        out.insert(out.end(), row.begin(), row.end());
      }
  return out;
}

TEST(CpuLaunch, SelectKernelsGetOneDescriptorPerTensor) {
  const Shape s{2, 4, 2, 18, 26, 8};
  const int64_t nqb = 5, nkb = 7, topk = 3;
  CpuKernelInfo info;
  info.operands = true;
  for (bool pooled : {false, true}) {
    CpuKernel kernel =
        loadFake(pooled ? "fake_select_pooled" : "fake_select", info);
    std::vector<float> q = randomBuffer(s.b * s.hq * s.sq * s.d, 11),
                       k = randomBuffer(s.b * s.hkv * s.skv * s.d, 12),
                       pk = randomBuffer(s.b * s.hkv * nkb * s.d, 13);
    std::vector<int32_t> idx(s.b * s.hkv * nqb * topk, 12345);
    std::vector<StridedView> operands = {
        StridedView::contiguous(q.data(), {s.b, s.hq, s.sq, s.d}),
        StridedView::contiguous(k.data(), {s.b, s.hkv, s.skv, s.d})};
    if (pooled)
      operands.push_back(
          StridedView::contiguous(pk.data(), {s.b, s.hkv, nkb, s.d}));
    ThreadPool pool(3);
    Status status = kernel.launchOperands(
        pool, operands,
        {StridedView::contiguous(idx.data(), {s.b, s.hkv, nqb, topk})},
        s.b * s.hkv, s.sq, s.skv);
    ASSERT_TRUE(status.ok()) << status.message();
    double gap = 0;
    std::vector<int32_t> expected =
        referenceSelect(s, q, k, pooled ? &pk : nullptr, topk, gap);
    ASSERT_GT(gap, 1e-4) << "near-tie at a top-k boundary: pick other seeds";
    EXPECT_EQ(idx, expected) << (pooled ? "pooled" : "mean-pooled keys");
  }
}

TEST(CpuLaunch, CompressKernelsTakeRank2Weights) {
  const int64_t b = 2, hkv = 3, len = 11, d = 4, dv = 6, n = (11 - 4) / 2 + 1;
  std::vector<float> k = randomBuffer(b * hkv * len * d, 21),
                     v = randomBuffer(b * hkv * len * dv, 22),
                     w = randomBuffer(hkv * 4, 23);
  CpuKernelInfo info;
  info.operands = true;
  for (bool linear : {false, true}) {
    CpuKernel kernel =
        loadFake(linear ? "fake_compress_linear" : "fake_compress", info);
    std::vector<float> ck(b * hkv * n * d, NAN), cv(b * hkv * n * dv, NAN);
    std::vector<StridedView> operands = {
        StridedView::contiguous(k.data(), {b, hkv, len, d}),
        StridedView::contiguous(v.data(), {b, hkv, len, dv})};
    if (linear)
      operands.push_back(StridedView::contiguous(w.data(), {hkv, 4}));
    ThreadPool pool(2);
    Status status = kernel.launchOperands(
        pool, operands,
        {StridedView::contiguous(ck.data(), {b, hkv, n, d}),
         StridedView::contiguous(cv.data(), {b, hkv, n, dv})},
        b * hkv, n, len);
    ASSERT_TRUE(status.ok()) << status.message();
    for (int which = 0; which < 2; ++which) {
      const std::vector<float> &x = which ? v : k, &got = which ? cv : ck;
      const int64_t dd = which ? dv : d;
      for (int64_t p = 0; p < b * hkv; ++p)
        for (int64_t slot = 0; slot < n; ++slot)
          for (int64_t e = 0; e < dd; ++e) {
            double sum = 0;
            for (int64_t t = 0; t < 4; ++t)
              sum += (linear ? w[(p % hkv) * 4 + t] : 0.25) *
                     x[(p * len + slot * 2 + t) * dd + e];
            ASSERT_NEAR(got[(p * n + slot) * dd + e], sum, 1e-5)
                << (linear ? "linear" : "mean") << " tensor " << which
                << " pair " << p << " slot " << slot;
          }
    }
  }
}

/// Softmax attention of one query row over the keys t with visible(t) of
/// the rows [n, d] / [n, dv] at `key` / `value`, in double, into `acc`
/// (zero when no key is visible).
template <typename Visible>
void attendRow(const float *q, const float *key, const float *value,
               int64_t n, int64_t d, int64_t dv, const Visible &visible,
               std::vector<double> &acc) {
  acc.assign(dv, 0.0);
  std::vector<double> scores(n, -INFINITY);
  double max = -INFINITY, sum = 0;
  for (int64_t t = 0; t < n; ++t)
    if (visible(t)) {
      double dot = 0;
      for (int64_t x = 0; x < d; ++x)
        dot += double(q[x]) * key[t * d + x];
      scores[t] = dot / std::sqrt(double(d));
      max = std::max(max, scores[t]);
    }
  if (max == -INFINITY)
    return;
  for (int64_t t = 0; t < n; ++t)
    if (visible(t))
      sum += scores[t] = std::exp(scores[t] - max);
  for (int64_t t = 0; t < n; ++t)
    if (visible(t))
      for (int64_t x = 0; x < dv; ++x)
        acc[x] += scores[t] / sum * value[t * dv + x];
}

TEST(CpuLaunch, SparseBranchesKernelsTakeEightDescriptors) {
  // fake_branches: windows of 4 every 2 (causal), blocks of 4 (causal), a
  // causal local window of 3, scale 1/sqrt(D). Dv differs from D so that
  // a swapped key/value or compressed pair shows.
  const int64_t b = 2, hq = 4, hkv = 2, sq = 10, skv = 23, d = 8, dv = 6;
  const int64_t n = (skv - 4) / 2 + 1, nqb = 3, nkb = 6, slots = 3;
  std::vector<float> q = randomBuffer(b * hq * sq * d, 31),
                     k = randomBuffer(b * hkv * skv * d, 32),
                     v = randomBuffer(b * hkv * skv * dv, 33),
                     ck = randomBuffer(b * hkv * n * d, 34),
                     cv = randomBuffer(b * hkv * n * dv, 35),
                     w = randomBuffer(b * hq * sq * 3, 36),
                     out(b * hq * sq * dv, NAN);
  // Valid, -1, duplicate and out-of-range entries; one query block of
  // (b 1, g 0) lists nothing valid, so its selected branch is zero.
  std::vector<int32_t> blocks(b * hkv * nqb * slots);
  for (size_t i = 0; i < blocks.size(); ++i)
    blocks[i] = int32_t((i * 7 + 3) % (nkb + 3)) - 1; // -1 .. nkb + 1
  blocks[1] = blocks[0];                                // a duplicate
  for (int s = 0; s < 3; ++s)
    blocks[(1 * hkv * nqb + 2) * slots + s] = s ? -1 : int32_t(nkb);
  CpuKernelInfo info;
  info.operands = true;
  CpuKernel kernel = loadFake("fake_branches", info);
  EXPECT_EQ(kernel.workItems(b * hkv, sq, skv), b * hkv * nqb);
  ThreadPool pool(3);
  Status status = kernel.launchOperands(
      pool,
      {StridedView::contiguous(q.data(), {b, hq, sq, d}),
       StridedView::contiguous(k.data(), {b, hkv, skv, d}),
       StridedView::contiguous(v.data(), {b, hkv, skv, dv}),
       StridedView::contiguous(ck.data(), {b, hkv, n, d}),
       StridedView::contiguous(cv.data(), {b, hkv, n, dv}),
       StridedView::contiguous(blocks.data(), {b, hkv, nqb, slots}),
       StridedView::contiguous(w.data(), {b, hq, sq, 3})},
      {StridedView::contiguous(out.data(), {b, hq, sq, dv})}, b * hkv, sq,
      skv);
  ASSERT_TRUE(status.ok()) << status.message();
  std::vector<double> acc;
  double worst = 0;
  int64_t bad = 0;
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t h = 0; h < hq; ++h)
      for (int64_t r = 0; r < sq; ++r) {
        const int64_t g = h / (hq / hkv), p = r + skv - sq;
        const float *qr = &q[((bi * hq + h) * sq + r) * d];
        const int32_t *list =
            &blocks[((bi * hkv + g) * nqb + r / 4) * slots];
        const size_t kv = (bi * hkv + g) * skv, ckv = (bi * hkv + g) * n;
        std::vector<double> want(dv, 0.0);
        auto add = [&](int branch) {
          for (int64_t x = 0; x < dv; ++x)
            want[x] += w[((bi * hq + h) * sq + r) * 3 + branch] * acc[x];
        };
        attendRow(qr, &ck[ckv * d], &cv[ckv * dv], n, d, dv,
                  [&](int64_t slot) { return slot * 2 + 3 <= p; }, acc);
        add(0);
        attendRow(qr, &k[kv * d], &v[kv * dv], skv, d, dv,
                  [&](int64_t t) {
                    return t <= p && std::count(list, list + slots,
                                                int32_t(t / 4)) > 0;
                  },
                  acc);
        if (bi == 1 && g == 0 && r / 4 == 2) // nothing valid listed
          EXPECT_EQ(std::count(acc.begin(), acc.end(), 0.0), dv);
        add(1);
        attendRow(qr, &k[kv * d], &v[kv * dv], skv, d, dv,
                  [&](int64_t t) { return t <= p && p - t <= 3; }, acc);
        add(2);
        for (int64_t x = 0; x < dv; ++x) {
          const double diff =
              std::abs(out[((bi * hq + h) * sq + r) * dv + x] - want[x]);
          // Written as a negation so that NaN (an unwritten element) fails.
          if (!(diff <= 1e-5))
            ++bad;
          worst = std::max(worst, diff);
        }
      }
  EXPECT_EQ(bad, 0) << "worst error " << worst;
}

TEST(CpuLaunch, OperandKernelsAndAttentionKernelsAreNotMixedUp) {
  CpuKernelInfo info;
  info.operands = true;
  CpuKernel select = loadFake("fake_select", info);
  CpuKernel dense = loadFake("fake_dense");
  ThreadPool pool(1);
  Problem p({1, 1, 1, 4, 4, 4});
  EXPECT_NE(select.launch(pool, p.q, p.k, p.v, p.o).message().find(
                "launch it with launchOperands"),
            std::string::npos);
  std::vector<StridedView> none;
  EXPECT_NE(dense.launchOperands(pool, none, none, 1, 1, 1).message().find(
                "is an attention kernel"),
            std::string::npos);
  std::vector<float> x(16);
  StridedView strided = StridedView::contiguous(x.data(), {4, 4});
  strided.strides[1] = 2;
  Status s = select.launchOperands(pool, {strided}, {}, 1, 1, 1);
  EXPECT_EQ(s.code(), ATTN_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(s.message().find("operand 0 must have innermost stride 1, found 2"),
            std::string::npos)
      << s.message();
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

#define EXPECT_ERROR(status, text)                                             \
  do {                                                                         \
    Status s_ = (status);                                                      \
    EXPECT_FALSE(s_.ok());                                                     \
    EXPECT_NE(s_.message().find(text), std::string::npos)                      \
        << "message: " << s_.message();                                        \
  } while (0)

TEST(CpuLaunchErrors, Loading) {
  CpuKernel kernel;
  EXPECT_ERROR(kernel.load("/nonexistent/k.so", "k"),
               "cannot open kernel library '/nonexistent/k.so': ");
  EXPECT_ERROR(kernel.load(ATTN_FAKE_KERNEL, "nope"),
               "has no symbol '_mlir_ciface_nope'");
  EXPECT_ERROR(kernel.load(ATTN_FAKE_KERNEL, "fake_broken"),
               "has no symbol 'fake_broken_work_items'");
  EXPECT_FALSE(kernel.loaded());
  ThreadPool pool(1);
  Problem p({1, 1, 1, 4, 4, 4});
  EXPECT_ERROR(kernel.launch(pool, p.q, p.k, p.v, p.o), "no kernel loaded");
}

TEST(CpuLaunchErrors, Shapes) {
  ThreadPool pool(2);
  CpuKernelInfo info;
  info.headDim = 8;
  CpuKernel kernel = loadFake("fake_dense", info);

  Problem gqa({1, 3, 2, 8, 8, 8});
  EXPECT_ERROR(kernel.launch(pool, gqa.q, gqa.k, gqa.v, gqa.o),
               "query heads (3) must be a multiple of key/value heads (2)");

  Problem wrongD({1, 2, 2, 8, 8, 4});
  EXPECT_ERROR(kernel.launch(pool, wrongD.q, wrongD.k, wrongD.v, wrongD.o),
               "head dim 4 does not match the 8 the kernel was compiled for");

  Problem one({1, 2, 2, 8, 8, 8}), two({2, 2, 2, 8, 8, 8});
  EXPECT_ERROR(kernel.launch(pool, two.q, one.k, one.v, two.o),
               "key has batch 1, expected 2 (the query's)");
  EXPECT_ERROR(kernel.launch(pool, one.q, one.k, one.v, two.o),
               "out has batch 2, expected 1 (the query's)");

  Problem other({1, 2, 2, 8, 9, 8});
  EXPECT_ERROR(kernel.launch(pool, one.q, one.k, other.v, one.o),
               "value [1, 2, 9, 8] must have the key's shape [1, 2, 8, 8]");

  TensorView transposed = one.q;
  std::swap(transposed.strides[2], transposed.strides[3]);
  EXPECT_ERROR(kernel.launch(pool, transposed, one.k, one.v, one.o),
               "query must have innermost stride 1, found 8");

  const int32_t active[] = {0};
  EXPECT_ERROR(kernel.launch(pool, one.q, one.k, one.v, one.o, active, 1),
               "an active list was given to a kernel that is not gated");

  // The oData sentinel survives every refused launch: nothing ran.
  EXPECT_TRUE(std::all_of(one.oData.begin(), one.oData.end(),
                          [](float x) { return x == 7.0f; }));
}

TEST(CpuLaunchErrors, ActiveList) {
  ThreadPool pool(2);
  CpuKernelInfo info;
  info.gated = true;
  CpuKernel kernel = loadFake("fake_gated", info);
  Problem p({2, 2, 2, 8, 8, 8});
  const int32_t outOfRange[] = {0, 4};
  EXPECT_ERROR(kernel.launch(pool, p.q, p.k, p.v, p.o, outOfRange, 2),
               "active[1] = 4 is not a pair b * Hq + h in [0, 4)");
  EXPECT_ERROR(kernel.launch(pool, p.q, p.k, p.v, p.o, nullptr, 2),
               "a gated kernel needs an active list");
}

} // namespace
