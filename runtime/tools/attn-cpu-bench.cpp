//===- attn-cpu-bench.cpp - Time one attn CPU kernel ----------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Loads one kernel from a library that attn-compile emitted, runs it through
// the runtime's launch path on random inputs and prints one JSON line:
//
//   attn-cpu-bench --lib K.so --kernel NAME --Hq 8 --Sq 2048 --D 64 ...
//
// The time is that of CpuKernel::launch, what a caller of the runtime pays
// (the zero fill of gated kernels included). Throughput counts the useful
// work only: 4 * B * Hq * Sq * Skv * D * density * active_fraction.
// `--check` compares a sample of rows with a double-precision reference for
// plain dense or causal kernels.
//
//===----------------------------------------------------------------------===//

#include "attn_runtime/cpu_launch.h"

#include "half_float.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace attn::rt;

namespace {

const char *kUsage = R"(usage: attn-cpu-bench --lib K.so --kernel NAME [options]
  --dtype f32|f16|bf16   element type the kernel was compiled for (f32)
  --B --Hq --Hkv --Sq --Skv --D   shape (1, 8, Hq, 2048, Sq, 64)
  --head-dim N           the kernel's compiled D, checked against --D (0: no)
  --threads N            threads, the caller's included; 0 = all (1)
  --gated-heads LIST     the kernel is gated; LIST ("0,2,5-7") names the
                         heads it computes, in every batch; "" or none: none
  --density X            fraction of each computed head's scores the pattern
                         keeps (1; with --pattern: that pattern's exact value)
  --pattern dense|causal the kernel's pattern, for --density and --check
  --check                compare sampled rows with a reference (needs --pattern)
  --reps N               timed runs after 0.2 s of warm-up (5)
  --time-budget S        fewer reps if N runs would take longer than S seconds
  --grain N              work items per grab of a thread (1)
  --label TEXT           copied to the output
)";

std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", c);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

[[noreturn]] void die(const std::string &label, const std::string &message) {
  std::fprintf(stderr, "attn-cpu-bench: %s\n", message.c_str());
  // Still one JSON line on stdout, so that a driver records the failure.
  std::printf("{\"label\": %s, \"error\": %s}\n", jsonString(label).c_str(),
              jsonString(message).c_str());
  std::exit(1);
}

//===----------------------------------------------------------------------===//
// Element conversions (round to nearest even)
//===----------------------------------------------------------------------===//

using namespace attn::rt::tools; // f16/bf16 conversions (half_float.h)

/// A 64-byte aligned buffer of n elements of `type`.
struct Buffer {
  Buffer(int64_t n, ElementType type) : n(n), type(type) {
    size_t bytes = (n * elementBytes(type) + 63) / 64 * 64;
    data.reset(static_cast<char *>(std::aligned_alloc(64, bytes)));
  }
  float get(int64_t i) const {
    const char *p = data.get() + i * elementBytes(type);
    uint16_t h;
    switch (type) {
    case ElementType::F32:
      return reinterpret_cast<const float *>(p)[0];
    case ElementType::F16:
      std::memcpy(&h, p, 2);
      return fromHalf(h);
    case ElementType::BF16:
      std::memcpy(&h, p, 2);
      return floatOf(uint32_t(h) << 16);
    }
    return 0;
  }
  void set(int64_t i, float f) {
    char *p = data.get() + i * elementBytes(type);
    uint16_t h = type == ElementType::F16 ? toHalf(f) : toBf16(f);
    if (type == ElementType::F32)
      std::memcpy(p, &f, 4);
    else
      std::memcpy(p, &h, 2);
  }
  void randomize(uint64_t seed) {
    std::mt19937_64 gen(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (int64_t i = 0; i < n; ++i)
      set(i, dist(gen));
  }
  int64_t n;
  ElementType type;
  std::unique_ptr<char, decltype(&std::free)> data{nullptr, &std::free};
};

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

struct Options {
  std::string lib, kernel, label, pattern, gatedHeads;
  ElementType dtype = ElementType::F32;
  int64_t b = 1, hq = 8, hkv = -1, sq = 2048, skv = -1, d = 64, headDim = 0;
  int threads = 1, reps = 5;
  int64_t grain = 1;
  double density = -1, timeBudget = 0;
  bool gated = false, check = false;
};

int64_t toInt(const std::string &label, const std::string &flag,
              const std::string &text) {
  char *end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end)
    die(label, flag + " takes an integer, got '" + text + "'");
  return value;
}

Options parse(int argc, char **argv) {
  std::map<std::string, std::string> values;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (flag == "--check") {
      check = true;
      continue;
    }
    if (flag.rfind("--", 0) != 0 || i + 1 >= argc) {
      std::fputs(kUsage, stderr);
      die("", "bad argument '" + flag + "'");
    }
    values[flag] = argv[++i];
  }
  Options o;
  o.check = check;
  auto take = [&](const char *flag, auto apply) {
    auto it = values.find(flag);
    if (it == values.end())
      return;
    apply(it->second);
    values.erase(it);
  };
  take("--label", [&](const std::string &v) { o.label = v; });
  auto integer = [&](const char *flag, int64_t &field) {
    take(flag, [&](const std::string &v) { field = toInt(o.label, flag, v); });
  };
  take("--lib", [&](const std::string &v) { o.lib = v; });
  take("--kernel", [&](const std::string &v) { o.kernel = v; });
  take("--pattern", [&](const std::string &v) { o.pattern = v; });
  take("--dtype", [&](const std::string &v) {
    if (!parseElementType(v, o.dtype))
      die(o.label, "--dtype takes f32, f16 or bf16, got '" + v + "'");
  });
  take("--gated-heads", [&](const std::string &v) {
    o.gated = true;
    o.gatedHeads = v;
  });
  take("--density",
       [&](const std::string &v) { o.density = std::atof(v.c_str()); });
  take("--time-budget",
       [&](const std::string &v) { o.timeBudget = std::atof(v.c_str()); });
  int64_t threads = o.threads, reps = o.reps;
  integer("--B", o.b);
  integer("--Hq", o.hq);
  integer("--Hkv", o.hkv);
  integer("--Sq", o.sq);
  integer("--Skv", o.skv);
  integer("--D", o.d);
  integer("--head-dim", o.headDim);
  integer("--threads", threads);
  integer("--reps", reps);
  integer("--grain", o.grain);
  o.threads = static_cast<int>(threads);
  o.reps = static_cast<int>(std::max<int64_t>(1, reps));
  if (!values.empty())
    die(o.label, "unknown option '" + values.begin()->first + "'");
  if (o.lib.empty() || o.kernel.empty())
    die(o.label, "--lib and --kernel are required");
  if (o.hkv < 0)
    o.hkv = o.hq;
  if (o.skv < 0)
    o.skv = o.sq;
  if (!o.pattern.empty() && o.pattern != "dense" && o.pattern != "causal")
    die(o.label, "--pattern takes dense or causal, got '" + o.pattern + "'");
  if (o.check && o.pattern.empty())
    die(o.label, "--check needs --pattern dense|causal");
  return o;
}

/// Keys row q sees: all, or k <= q + Skv - Sq (attn's position convention).
int64_t visibleKeys(const Options &o, int64_t row) {
  if (o.pattern != "causal")
    return o.skv;
  return std::clamp<int64_t>(row + o.skv - o.sq + 1, 0, o.skv);
}

/// The active pairs b * Hq + h for the heads named in `list`.
std::vector<int32_t> activePairs(const Options &o) {
  std::vector<bool> on(o.hq, false);
  std::string list = o.gatedHeads == "none" ? "" : o.gatedHeads;
  std::stringstream parts(list);
  for (std::string part; std::getline(parts, part, ',');) {
    if (part.empty())
      continue;
    size_t dash = part.find('-', 1);
    int64_t first = toInt(o.label, "--gated-heads", part.substr(0, dash));
    int64_t last = dash == std::string::npos
                       ? first
                       : toInt(o.label, "--gated-heads", part.substr(dash + 1));
    if (first < 0 || last >= o.hq || first > last)
      die(o.label, "--gated-heads: '" + part + "' is not within heads [0, " +
                       std::to_string(o.hq) + ")");
    for (int64_t h = first; h <= last; ++h)
      on[h] = true;
  }
  std::vector<int32_t> pairs;
  for (int64_t b = 0; b < o.b; ++b)
    for (int64_t h = 0; h < o.hq; ++h)
      if (on[h])
        pairs.push_back(static_cast<int32_t>(b * o.hq + h));
  return pairs;
}

/// Largest |out - reference| over a sample of rows: a few pairs spread over
/// B * Hq, and the first, middle, last and some random rows of each.
double checkRows(const Options &o, const Buffer &q, const Buffer &k,
                 const Buffer &v, const Buffer &out,
                 const std::vector<int32_t> &active) {
  const int64_t pairs = o.b * o.hq, group = o.hq / o.hkv;
  std::vector<int64_t> pairSample, rowSample = {0, o.sq / 2, o.sq - 1};
  for (int64_t i = 0; i < std::min<int64_t>(8, pairs); ++i)
    pairSample.push_back(
        pairs == 1 ? 0 : i * (pairs - 1) / std::min<int64_t>(7, pairs - 1));
  std::mt19937 gen(7);
  for (int i = 0; i < 5; ++i)
    rowSample.push_back(
        std::uniform_int_distribution<int64_t>(0, o.sq - 1)(gen));
  double worst = 0.0;
  std::vector<double> scores(o.skv), expected(o.d);
  for (int64_t pair : pairSample) {
    const int64_t b = pair / o.hq, h = pair % o.hq, kvh = h / group;
    const bool computed = !o.gated || std::find(active.begin(), active.end(),
                                                pair) != active.end();
    for (int64_t r : rowSample) {
      const int64_t qBase = ((b * o.hq + h) * o.sq + r) * o.d;
      const int64_t kvBase = (b * o.hkv + kvh) * o.skv * o.d;
      const int64_t visible = computed ? visibleKeys(o, r) : 0;
      double max = -INFINITY, sum = 0.0;
      for (int64_t j = 0; j < visible; ++j) {
        double dot = 0.0;
        for (int64_t x = 0; x < o.d; ++x)
          dot += double(q.get(qBase + x)) * k.get(kvBase + j * o.d + x);
        scores[j] = dot / std::sqrt(double(o.d));
        max = std::max(max, scores[j]);
      }
      for (int64_t j = 0; j < visible; ++j)
        sum += scores[j] = std::exp(scores[j] - max);
      std::fill(expected.begin(), expected.end(), 0.0);
      for (int64_t j = 0; j < visible; ++j)
        for (int64_t x = 0; x < o.d; ++x)
          expected[x] += scores[j] / sum * v.get(kvBase + j * o.d + x);
      for (int64_t x = 0; x < o.d; ++x) {
        double err = std::abs(out.get(qBase + x) - expected[x]);
        worst = std::isnan(err) ? INFINITY : std::max(worst, err);
      }
    }
  }
  return worst;
}

} // namespace

int main(int argc, char **argv) {
  Options o = parse(argc, argv);
  if (o.threads <= 0)
    o.threads = 0; // ThreadPool: one per hardware thread

  CpuKernelInfo info;
  info.gated = o.gated;
  info.headDim = o.headDim;
  info.elementType = o.dtype;
  CpuKernel kernel;
  Status status = kernel.load(o.lib, o.kernel, info);
  if (!status.ok())
    die(o.label, status.message());

  Buffer q(o.b * o.hq * o.sq * o.d, o.dtype),
      out(o.b * o.hq * o.sq * o.d, o.dtype),
      k(o.b * o.hkv * o.skv * o.d, o.dtype),
      v(o.b * o.hkv * o.skv * o.d, o.dtype);
  q.randomize(1);
  k.randomize(2);
  v.randomize(3);
  std::memset(out.data.get(), 0, out.n * elementBytes(o.dtype));
  TensorView qv = TensorView::contiguous(q.data.get(), o.b, o.hq, o.sq, o.d),
             kv = TensorView::contiguous(k.data.get(), o.b, o.hkv, o.skv, o.d),
             vv = TensorView::contiguous(v.data.get(), o.b, o.hkv, o.skv, o.d),
             ov = TensorView::contiguous(out.data.get(), o.b, o.hq, o.sq, o.d);
  std::vector<int32_t> active =
      o.gated ? activePairs(o) : std::vector<int32_t>();

  ThreadPool pool(o.threads);
  auto run = [&] {
    auto start = std::chrono::steady_clock::now();
    Status s =
        kernel.launch(pool, qv, kv, vv, ov, o.gated ? active.data() : nullptr,
                      static_cast<int64_t>(active.size()), o.grain);
    if (!s.ok())
      die(o.label, s.message());
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now() - start)
        .count();
  };

  // Warm up for at least 0.2 s (one run if it is longer): it faults in the
  // output pages and wakes the workers; the last run sizes the rep count.
  double warmMs = 0, warmTotal = 0;
  do {
    warmMs = run();
    warmTotal += warmMs;
  } while (warmTotal < 200);
  int reps = o.reps;
  if (o.timeBudget > 0)
    reps = std::clamp(static_cast<int>(o.timeBudget * 1e3 / warmMs), 1, reps);
  std::vector<double> times;
  for (int i = 0; i < reps; ++i)
    times.push_back(run());
  std::sort(times.begin(), times.end());
  const double best = times.front();
  const double median =
      times.size() % 2
          ? times[times.size() / 2]
          : 0.5 * (times[times.size() / 2 - 1] + times[times.size() / 2]);

  double density = o.density;
  if (density < 0) {
    density = 1.0;
    if (o.pattern == "causal") {
      double visible = 0;
      for (int64_t r = 0; r < o.sq; ++r)
        visible += visibleKeys(o, r);
      density = visible / (double(o.sq) * o.skv);
    }
  }
  const double activeFraction =
      o.gated ? double(active.size()) / double(o.b * o.hq) : 1.0;
  const double flops =
      4.0 * o.b * o.hq * o.sq * o.skv * o.d * density * activeFraction;

  std::ostringstream js;
  js.precision(6);
  js << "{\"label\": " << jsonString(o.label)
     << ", \"kernel\": " << jsonString(o.kernel) << ", \"dtype\": \""
     << elementTypeName(o.dtype) << "\""
     << ", \"threads\": " << pool.size() << ", \"shape\": {\"B\": " << o.b
     << ", \"Hq\": " << o.hq << ", \"Hkv\": " << o.hkv << ", \"Sq\": " << o.sq
     << ", \"Skv\": " << o.skv << ", \"D\": " << o.d << "}"
     << ", \"density\": " << density
     << ", \"active_fraction\": " << activeFraction << ", \"items\": "
     << kernel.workItems(o.gated ? active.size() : o.b * o.hq, o.sq, o.skv)
     << ", \"reps\": " << reps << ", \"ms_median\": " << median
     << ", \"ms_best\": " << best << ", \"gflops\": " << flops / (median * 1e6)
     << ", \"gflops_best\": " << flops / (best * 1e6);
  int rc = 0;
  if (o.check) {
    const double err = checkRows(o, q, k, v, out, active);
    const double tolerance = o.dtype == ElementType::F32   ? 2e-3
                             : o.dtype == ElementType::F16 ? 2e-2
                                                           : 6e-2;
    js << ", \"max_abs_err\": " << err << ", \"check\": \""
       << (err <= tolerance ? "pass" : "fail") << "\"";
    rc = err <= tolerance ? 0 : 3;
  }
  js << "}";
  std::printf("%s\n", js.str().c_str());
  return rc;
}
