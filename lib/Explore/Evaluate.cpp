//===- Evaluate.cpp - Search space, per-option quality and cost -----------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Quality is measured once per (layer, attend choice): for every sequence
// and head the dense logits and exponentials are computed once, and each
// choice's output is the dense exponentials restricted to the keys it sees,
// renormalized. Gates only switch whole heads off, so every gate's metrics
// follow from per-(sequence, head) sums without recomputing attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Cost/CostModel.h"
#include "attn/Explore/Explore.h"
#include "attn/Gate/HeadGate.h"
#include "attn/Plan/BlockPlan.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::explore;
using llvm::StringRef;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message.str());
}

llvm::StringRef mlir::attn::explore::stringifyGateKind(GateKind kind) {
  switch (kind) {
  case GateKind::None:
    return "none";
  case GateKind::ValueNorm:
    return "value_norm";
  case GateKind::Importance:
    return "importance";
  }
  llvm_unreachable("unknown gate kind");
}

//===----------------------------------------------------------------------===//
// Search space
//===----------------------------------------------------------------------===//

llvm::SmallVector<LayerOption> SearchSpace::options() const {
  llvm::SmallVector<LayerOption> result;
  for (auto [index, attend] : llvm::enumerate(attends))
    for (const GateChoice &gate : gates)
      result.push_back({attend, gate, int64_t(index)});
  return result;
}

/// Parses an attn pattern attribute, capturing the parser's message.
static llvm::Expected<PatternAttrInterface> parsePattern(StringRef text,
                                                         MLIRContext *context) {
  std::string message;
  Attribute attr;
  {
    ScopedDiagnosticHandler capture(context, [&](Diagnostic &diag) {
      if (message.empty())
        message = diag.str();
      return success();
    });
    attr = parseAttribute(text, context);
  }
  if (!attr)
    return makeError("cannot parse pattern '" + text + "': " + message);
  auto pattern = dyn_cast<PatternAttrInterface>(attr);
  if (!pattern)
    return makeError("'" + text + "' is not an attn pattern attribute");
  return pattern;
}

/// Top-k query blocks are a multiple of this (see parseSearchSpace).
static constexpr int64_t kQueryBlockMultiple = 16;

static AttendChoice topKAttend(MLIRContext *context, const TopKChoice &topK) {
  auto pattern = cast<PatternAttrInterface>(SelectedAttr::get(
      context, topK.queryBlock, topK.keyBlock, /*causal=*/false));
  return {pattern, topK};
}

SearchLists
mlir::attn::explore::defaultSearchLists(const ModelDescription &model) {
  const int64_t S = model.seqLen;
  auto atLeast1 = [](int64_t x) {
    return std::to_string(std::max<int64_t>(1, x));
  };
  std::string w16 = atLeast1(S / 16), w8 = atLeast1(S / 8),
              w4 = atLeast1(S / 4), w2 = atLeast1(S / 2);
  auto globalAnd = [](const std::string &pattern) {
    return "#attn.union<[#attn.global<tokens = 1>, " + pattern + "]>";
  };
  SearchLists lists;
  lists.patterns = {
      "#attn.dense",
      "#attn.local<window = " + w16 + ">",
      "#attn.local<window = " + w8 + ">",
      "#attn.local<window = " + w4 + ">",
      globalAnd("#attn.local<window = " + w16 + ">"),
      globalAnd("#attn.local<window = " + w8 + ">"),
      globalAnd("#attn.local<window = " + w4 + ">"),
      globalAnd("#attn.local<window = " + w4 + ", dilation = 2>"),
      "#attn.union<[#attn.local<window = " + w16 +
          ">, #attn.strided<stride = 4, block = " + w16 + ">]>",
      globalAnd("#attn.chunked<size = " + w4 + ">"),
      "#attn.chunked<size = " + w2 + ">",
  };
  // Query blocks are the CPU kernels' query tiles: multiples of 16 lanes.
  auto block = [&](int64_t size) {
    return std::to_string((std::max<int64_t>(16, size) + 15) / 16 * 16);
  };
  std::string small = block(S / 8), large = block(S / 4);
  if (std::stoll(small) <= S) {
    lists.topK = {small + "x" + small + ":2:0:1",
                  small + "x" + small + ":4:0:1"};
    if (large != small && std::stoll(large) <= S)
      lists.topK.push_back(large + "x" + large + ":2:0:1");
  }
  lists.gates = {"none", "value_norm", "importance"};
  for (int64_t keep : {model.heads * 3 / 4, model.heads / 2})
    if (keep >= 1 && keep < model.heads &&
        !llvm::is_contained(lists.keep, keep))
      lists.keep.push_back(keep);
  if (lists.keep.empty())
    lists.gates = {"none"};
  return lists;
}

llvm::Expected<SearchSpace> mlir::attn::explore::parseSearchSpace(
    MLIRContext *context, const ModelDescription &model,
    llvm::ArrayRef<std::string> patterns, llvm::ArrayRef<std::string> topK,
    llvm::ArrayRef<std::string> gates, llvm::ArrayRef<int64_t> keep) {
  SearchSpace space;
  for (const std::string &text : patterns) {
    if (StringRef(text).trim().empty())
      continue;
    llvm::Expected<PatternAttrInterface> pattern =
        parsePattern(StringRef(text).trim(), context);
    if (!pattern)
      return makeError("--patterns: " + llvm::toString(pattern.takeError()));
    if (pattern->isRuntimeSelected())
      return makeError("--patterns: '" + text +
                       "' selects blocks at run time; give top-k selections "
                       "with --top-k=QBxKB:K instead");
    space.attends.push_back({*pattern, std::nullopt});
  }
  for (const std::string &item : topK) {
    StringRef rest = StringRef(item).trim();
    if (rest.empty())
      continue;
    // QBxKB:K[:SINK:LOCAL]
    llvm::SmallVector<StringRef> fields;
    rest.split(fields, ':');
    auto [qb, kb] = fields[0].split('x');
    TopKChoice choice;
    bool bad = fields.size() != 2 && fields.size() != 4;
    bad = bad || qb.getAsInteger(10, choice.queryBlock) ||
          kb.getAsInteger(10, choice.keyBlock) ||
          fields[1].getAsInteger(10, choice.topK);
    if (!bad && fields.size() == 4)
      bad = fields[2].getAsInteger(10, choice.keepSink) ||
            fields[3].getAsInteger(10, choice.keepLocal);
    if (bad)
      return makeError("--top-k: cannot parse '" + item +
                       "' (expected QBxKB:K or QBxKB:K:SINK:LOCAL, e.g. "
                       "16x16:2 or 16x16:4:0:1)");
    if (choice.queryBlock % kQueryBlockMultiple != 0)
      return makeError("--top-k: '" + item + "' has query_block " +
                       llvm::Twine(choice.queryBlock) +
                       "; expected a multiple of " +
                       llvm::Twine(kQueryBlockMultiple) +
                       " (CPU kernels take the query block as their query "
                       "tile, a multiple of the vector lanes: 16 f32 on "
                       "x86-64-v4)");
    if (choice.queryBlock < 1 || choice.keyBlock < 1 || choice.topK < 1 ||
        choice.keepSink < 0 || choice.keepLocal < 0 ||
        choice.queryBlock > model.seqLen || choice.keyBlock > model.seqLen)
      return makeError(
          "--top-k: '" + item +
          "' needs blocks in [1, seq_len = " + llvm::Twine(model.seqLen) +
          "], top_k >= 1 and non-negative sink/local counts");
    space.attends.push_back(topKAttend(context, choice));
  }
  for (const std::string &item : gates) {
    StringRef name = StringRef(item).trim();
    if (name.empty())
      continue;
    if (name == "none") {
      space.gates.push_back({GateKind::None, 0});
      continue;
    }
    GateKind kind;
    if (name == "value_norm")
      kind = GateKind::ValueNorm;
    else if (name == "importance")
      kind = GateKind::Importance;
    else
      return makeError("--gates: unknown gate '" + name +
                       "' (expected none, value_norm or importance)");
    if (keep.empty())
      return makeError("--gates: '" + name +
                       "' needs at least one head count in --keep");
    for (int64_t k : keep) {
      if (k < 1 || k >= model.heads)
        return makeError(
            "--keep: " + llvm::Twine(k) + " heads (expected 1 to heads - 1 = " +
            llvm::Twine(model.heads - 1) + "; all heads is the gate 'none')");
      space.gates.push_back({kind, k});
    }
  }
  if (space.attends.empty() || space.gates.empty())
    return makeError(
        "empty search space: " +
        llvm::Twine(space.attends.empty()
                        ? "no pattern and no top-k selection (give "
                          "--patterns and/or --top-k)"
                        : "no gate (give --gates, e.g. none)"));
  return space;
}

llvm::Error
mlir::attn::explore::verifySearchSpace(const SearchSpace &space,
                                       const ModelDescription &model) {
  if (space.attends.empty() || space.gates.empty())
    return makeError("empty search space");
  for (const AttendChoice &attend : space.attends) {
    std::string message;
    MLIRContext *context = attend.pattern.getContext();
    {
      ScopedDiagnosticHandler capture(context, [&](Diagnostic &diag) {
        if (message.empty())
          message = diag.str();
        return success();
      });
      AttentionShape shape{model.heads, model.seqLen, model.seqLen};
      (void)attend.pattern.verifyForShape(
          [&] { return emitError(UnknownLoc::get(context)); }, shape);
    }
    if (!message.empty()) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << attend.pattern;
      return makeError("pattern " + text + " does not fit the model (" +
                       llvm::Twine(model.heads) + " heads, seq_len " +
                       llvm::Twine(model.seqLen) + "): " + message);
    }
  }
  for (const GateChoice &gate : space.gates)
    if (gate.kind != GateKind::None &&
        (gate.keep < 1 || gate.keep >= model.heads))
      return makeError("a gate keeping " + llvm::Twine(gate.keep) +
                       " heads (expected 1 to " + llvm::Twine(model.heads - 1) +
                       ")");
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Quality
//===----------------------------------------------------------------------===//

namespace {
/// The keys each query row sees, as CSR.
struct RowKeys {
  std::vector<int32_t> offsets; ///< S + 1 entries.
  std::vector<int32_t> keys;
};

RowKeys staticRowKeys(PatternAttrInterface pattern, int64_t heads, int64_t S,
                      int64_t head) {
  AttentionExtent extent{heads, S, S};
  RowKeys rows;
  rows.offsets.push_back(0);
  for (int64_t q = 0; q < S; ++q) {
    for (int64_t k = 0; k < S; ++k)
      if (pattern.isVisible(extent, head, q, k))
        rows.keys.push_back(k);
    rows.offsets.push_back(rows.keys.size());
  }
  return rows;
}

/// The keys of each row under a top-k selection of one sequence, for KV head
/// `group`: blocks listed (valid, once each) for the row's query block.
RowKeys selectedRowKeys(const HostTensor &indices, const TopKChoice &topK,
                        int64_t group, int64_t S) {
  int64_t slots = indices.shape[3];
  int64_t numKeyBlocks = (S + topK.keyBlock - 1) / topK.keyBlock;
  RowKeys rows;
  rows.offsets.push_back(0);
  for (int64_t q = 0; q < S; ++q) {
    int64_t block = q / topK.queryBlock;
    assert(block < indices.shape[2] && "query block out of range");
    llvm::SmallVector<bool> listed(numKeyBlocks, false);
    for (int64_t s = 0; s < slots; ++s) {
      double j = indices.at({0, group, block, s});
      if (j >= 0 && j < numKeyBlocks)
        listed[int64_t(j)] = true;
    }
    for (int64_t j = 0; j < numKeyBlocks; ++j)
      if (listed[j])
        for (int64_t k = j * topK.keyBlock;
             k < std::min(S, (j + 1) * topK.keyBlock); ++k)
          rows.keys.push_back(k);
    rows.offsets.push_back(rows.keys.size());
  }
  return rows;
}

/// Scratch space of one worker.
struct Workspace {
  std::vector<double> logits, exps, rowSum, dense, acc;
};
} // namespace

LayerStatistics mlir::attn::explore::evaluateLayer(
    const LayerActivations &activations, const ModelDescription &model,
    llvm::ArrayRef<AttendChoice> attends, int64_t threads,
    const std::function<void(int64_t, int64_t)> &progress) {
  const int64_t N = activations.sequences, H = model.heads, Hkv = model.kvHeads,
                S = model.seqLen, D = model.headDim;
  const int64_t group = H / Hkv;
  const double scale = 1.0 / std::sqrt(double(D));

  LayerStatistics stats;
  stats.sequences = N;
  stats.heads = H;
  stats.errorSquared.assign(attends.size(), std::vector<double>(N * H));
  stats.recall.assign(attends.size(), std::vector<double>(N * H));
  stats.denseSquared.assign(N * H, 0.0);
  stats.routerScore.assign(N * H, 0.0);

  stats.pairs.assign(attends.size(), std::vector<double>(N * H));
  stats.densePairs.assign(N, 0.0);
  // Sequences of their own lengths (model.json's "lengths") use their first
  // S_n positions; the rest of the S rows is padding and never read.
  auto lengthOf = [&](int64_t n) {
    return activations.lengths.empty() ? S : activations.lengths[n];
  };

  // Static patterns see the same keys in every sequence of a length: their
  // row lists are computed once per length (per head only for
  // #attn.per_head).
  std::vector<int64_t> lengthSlot(S + 1, -1);
  int64_t numLengths = 0;
  for (int64_t n = 0; n < N; ++n) {
    assert(lengthOf(n) >= 1 && lengthOf(n) <= S && "length out of range");
    if (lengthSlot[lengthOf(n)] < 0)
      lengthSlot[lengthOf(n)] = numLengths++;
  }
  // [attend][length slot][head or 0].
  std::vector<std::vector<std::vector<RowKeys>>> staticKeys(
      attends.size(), std::vector<std::vector<RowKeys>>(numLengths));
  for (int64_t length = 1; length <= S; ++length) {
    if (lengthSlot[length] < 0)
      continue;
    for (auto [a, attend] : llvm::enumerate(attends)) {
      if (attend.topK)
        continue;
      bool perHead = isa<PerHeadAttr>(attend.pattern);
      for (int64_t h = 0; h < (perHead ? H : 1); ++h)
        staticKeys[a][lengthSlot[length]].push_back(
            staticRowKeys(attend.pattern, H, length, h));
    }
  }

  // Sequence n's first `length` rows of every head, as [1, heads, length, D].
  auto tensorOf = [](const NpyArray &array, int64_t n, int64_t length) {
    int64_t heads = array.shape[1], rows = array.shape[2], dim = array.shape[3];
    HostTensor t({1, heads, length, dim});
    for (int64_t h = 0; h < heads; ++h)
      std::copy_n(array.data.begin() + ((n * heads + h) * rows) * dim,
                  length * dim, t.data.begin() + h * length * dim);
    return t;
  };

  auto evaluateSequence = [&](int64_t n, Workspace &ws) {
    const int64_t Sn = lengthOf(n);
    stats.densePairs[n] = double(Sn) * double(Sn);
    // Top-k selections of this sequence (shared by a KV head's group).
    std::vector<std::vector<RowKeys>> selectedKeys(attends.size());
    for (auto [a, attend] : llvm::enumerate(attends)) {
      if (!attend.topK)
        continue;
      SelectBlocksParams params;
      params.queryBlock = attend.topK->queryBlock;
      params.keyBlock = attend.topK->keyBlock;
      params.topK = attend.topK->topK;
      params.keepSink = attend.topK->keepSink;
      params.keepLocal = attend.topK->keepLocal;
      HostTensor indices = referenceSelectBlocks(
          tensorOf(activations.query, n, Sn), tensorOf(activations.key, n, Sn),
          nullptr, params);
      for (int64_t g = 0; g < Hkv; ++g)
        selectedKeys[a].push_back(
            selectedRowKeys(indices, *attend.topK, g, Sn));
    }

    ws.logits.resize(Sn * Sn);
    ws.exps.resize(Sn * Sn);
    ws.rowSum.resize(Sn);
    ws.dense.resize(Sn * D);
    ws.acc.resize(D);
    for (int64_t h = 0; h < H; ++h) {
      const int64_t kvh = h / group;
      const float *Q = activations.query.data.data() + (n * H + h) * S * D;
      const float *K = activations.key.data.data() + (n * Hkv + kvh) * S * D;
      const float *V = activations.value.data.data() + (n * Hkv + kvh) * S * D;

      // Dense logits, exponentials against the row maximum, dense output.
      double denseSquared = 0;
      for (int64_t q = 0; q < Sn; ++q) {
        double rowMax = -INFINITY;
        for (int64_t k = 0; k < Sn; ++k) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += double(Q[q * D + d]) * double(K[k * D + d]);
          ws.logits[q * Sn + k] = dot * scale;
          rowMax = std::max(rowMax, dot * scale);
        }
        double sum = 0;
        std::fill(ws.acc.begin(), ws.acc.end(), 0.0);
        for (int64_t k = 0; k < Sn; ++k) {
          double e = std::exp(ws.logits[q * Sn + k] - rowMax);
          ws.exps[q * Sn + k] = e;
          sum += e;
          for (int64_t d = 0; d < D; ++d)
            ws.acc[d] += e * double(V[k * D + d]);
        }
        ws.rowSum[q] = sum;
        for (int64_t d = 0; d < D; ++d) {
          ws.dense[q * D + d] = ws.acc[d] / sum;
          denseSquared += ws.dense[q * D + d] * ws.dense[q * D + d];
        }
      }
      stats.denseSquared[n * H + h] = denseSquared;

      double norms = 0;
      for (int64_t t = 0; t < Sn; ++t) {
        double squared = 0;
        for (int64_t d = 0; d < D; ++d)
          squared += double(V[t * D + d]) * double(V[t * D + d]);
        norms += std::sqrt(squared);
      }
      stats.routerScore[n * H + h] = norms / double(Sn);

      for (size_t a = 0; a < attends.size(); ++a) {
        const std::vector<RowKeys> *byHead =
            attends[a].topK ? nullptr : &staticKeys[a][lengthSlot[Sn]];
        const RowKeys &rows =
            attends[a].topK ? selectedKeys[a][kvh]
                            : (*byHead)[byHead->size() > 1 ? h : 0];
        stats.pairs[a][n * H + h] = double(rows.keys.size());
        double errorSquared = 0, recall = 0;
        for (int64_t q = 0; q < Sn; ++q) {
          const int32_t *begin = rows.keys.data() + rows.offsets[q];
          const int32_t *end = rows.keys.data() + rows.offsets[q + 1];
          std::fill(ws.acc.begin(), ws.acc.end(), 0.0);
          double mass = 0;
          for (const int32_t *k = begin; k != end; ++k) {
            double e = ws.exps[q * Sn + *k];
            mass += e;
            for (int64_t d = 0; d < D; ++d)
              ws.acc[d] += e * double(V[*k * D + d]);
          }
          recall += mass / ws.rowSum[q];
          double norm = mass;
          if (mass == 0 && begin != end) {
            // Every visible key's exponential underflowed against the row's
            // maximum: renormalize against the visible maximum instead.
            double visibleMax = -INFINITY;
            for (const int32_t *k = begin; k != end; ++k)
              visibleMax = std::max(visibleMax, ws.logits[q * Sn + *k]);
            for (const int32_t *k = begin; k != end; ++k) {
              double e = std::exp(ws.logits[q * Sn + *k] - visibleMax);
              norm += e;
              for (int64_t d = 0; d < D; ++d)
                ws.acc[d] += e * double(V[*k * D + d]);
            }
          }
          // A row that sees nothing outputs zeros.
          for (int64_t d = 0; d < D; ++d) {
            double out = norm > 0 ? ws.acc[d] / norm : 0.0;
            double diff = out - ws.dense[q * D + d];
            errorSquared += diff * diff;
          }
        }
        stats.errorSquared[a][n * H + h] = errorSquared;
        stats.recall[a][n * H + h] = recall / double(Sn);
      }
    }
  };

  std::atomic<int64_t> next{0};
  int64_t done = 0;
  std::mutex progressMutex;
  auto worker = [&] {
    Workspace ws;
    for (int64_t n = next++; n < N; n = next++) {
      evaluateSequence(n, ws);
      std::lock_guard<std::mutex> lock(progressMutex);
      ++done;
      if (progress)
        progress(done, N);
    }
  };
  int64_t numThreads = std::max<int64_t>(1, std::min(threads, N));
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < numThreads; ++t)
    pool.emplace_back(worker);
  worker();
  for (std::thread &thread : pool)
    thread.join();

  // Measured importance: each head's share of the output norm, averaged
  // over sequences (in sequence order, so independent of the threads).
  stats.importance.assign(H, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    double total = 0;
    for (int64_t h = 0; h < H; ++h)
      total += std::sqrt(stats.denseSquared[n * H + h]);
    for (int64_t h = 0; h < H; ++h)
      stats.importance[h] +=
          total > 0 ? std::sqrt(stats.denseSquared[n * H + h]) / total : 0.0;
  }
  for (double &share : stats.importance)
    share /= double(std::max<int64_t>(N, 1));
  return stats;
}

llvm::SmallVector<bool>
mlir::attn::explore::gateHeads(const LayerStatistics &stats,
                               const GateChoice &gate, int64_t sequence) {
  const int64_t H = stats.heads;
  if (gate.kind == GateKind::None)
    return llvm::SmallVector<bool>(H, true);
  llvm::ArrayRef<double> scores =
      gate.kind == GateKind::Importance
          ? llvm::ArrayRef<double>(stats.importance)
          : llvm::ArrayRef<double>(stats.routerScore).slice(sequence * H, H);
  llvm::SmallVector<bool> active(H, false);
  llvm::SmallVector<int64_t> order = orderHeadsByScore(scores);
  for (int64_t i = 0; i < std::min(gate.keep, H); ++i)
    active[order[i]] = true;
  return active;
}

OptionQuality mlir::attn::explore::optionQuality(const LayerStatistics &stats,
                                                 int64_t attendIndex,
                                                 const GateChoice &gate) {
  const int64_t N = stats.sequences, H = stats.heads;
  double errorSquared = 0, denseSquared = 0, recall = 0;
  for (int64_t n = 0; n < N; ++n) {
    llvm::SmallVector<bool> active = gateHeads(stats, gate, n);
    for (int64_t h = 0; h < H; ++h) {
      int64_t i = n * H + h;
      denseSquared += stats.denseSquared[i];
      errorSquared += active[h] ? stats.errorSquared[attendIndex][i]
                                : stats.denseSquared[i];
      recall += active[h] ? stats.recall[attendIndex][i] : 0.0;
    }
  }
  OptionQuality quality;
  quality.relativeError =
      denseSquared > 0 ? std::sqrt(errorSquared / denseSquared) : 0.0;
  quality.recall = N * H > 0 ? recall / double(N * H) : 0.0;
  return quality;
}

double mlir::attn::explore::optionPairsFraction(const LayerStatistics &stats,
                                                int64_t attendIndex,
                                                const GateChoice &gate) {
  const int64_t N = stats.sequences, H = stats.heads;
  assert(!stats.pairs.empty() && "no pair counts");
  double visited = 0, dense = 0;
  for (int64_t n = 0; n < N; ++n) {
    llvm::SmallVector<bool> active = gateHeads(stats, gate, n);
    dense += stats.densePairs[n] * double(H);
    for (int64_t h = 0; h < H; ++h)
      if (active[h])
        visited += stats.pairs[attendIndex][n * H + h];
  }
  return dense > 0 ? visited / dense : 0.0;
}

llvm::Expected<std::vector<PerHeadOption>>
mlir::attn::explore::perHeadFront(const LayerStatistics &stats,
                                  llvm::ArrayRef<int64_t> attends,
                                  int64_t maxPoints) {
  const int64_t N = stats.sequences, H = stats.heads;
  if (attends.empty())
    return makeError("--per-head needs at least one static pattern");
  double denseSquared = 0, densePairs = 0;
  for (int64_t i = 0; i < N * H; ++i)
    denseSquared += stats.denseSquared[i];
  for (int64_t n = 0; n < N; ++n)
    densePairs += stats.densePairs[n] * double(H);
  // Per head: (pairs share of the layer, squared error share of the layer).
  // Both sum over heads, so the layer's front is the merge of the heads'.
  std::vector<std::vector<Point>> heads(H);
  std::vector<std::vector<double>> recall(H);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t a : attends) {
      double pairs = 0, error = 0, rec = 0;
      for (int64_t n = 0; n < N; ++n) {
        pairs += stats.pairs[a][n * H + h];
        error += stats.errorSquared[a][n * H + h];
        rec += stats.recall[a][n * H + h];
      }
      heads[h].push_back({densePairs > 0 ? pairs / densePairs : 0.0,
                          denseSquared > 0 ? error / denseSquared : 0.0});
      recall[h].push_back(N > 0 ? rec / double(N * H) : 0.0);
    }
  llvm::Expected<std::vector<Schedule>> merged = paretoFront(heads);
  if (!merged)
    return merged.takeError();
  // Thin to at most maxPoints, evenly spread over cost.
  std::vector<Schedule> kept;
  if (int64_t(merged->size()) <= maxPoints || maxPoints < 2) {
    kept = std::move(*merged);
  } else {
    double low = merged->front().cost, high = merged->back().cost;
    size_t i = 0;
    for (int64_t p = 0; p < maxPoints; ++p) {
      double target = low + (high - low) * double(p) / double(maxPoints - 1);
      // The front is by increasing cost and decreasing loss: take the last
      // point at or below the target (the best that fits it).
      while (i + 1 < merged->size() && (*merged)[i + 1].cost <= target + 1e-12)
        ++i;
      if (kept.empty() || kept.back().options != (*merged)[i].options)
        kept.push_back((*merged)[i]);
    }
  }
  std::vector<PerHeadOption> result;
  for (const Schedule &schedule : kept) {
    PerHeadOption option;
    for (auto [h, index] : llvm::enumerate(schedule.options)) {
      option.attendOfHead.push_back(attends[index]);
      option.quality.recall += recall[h][index];
    }
    option.pairsFraction = schedule.cost;
    option.quality.relativeError = std::sqrt(std::max(0.0, schedule.loss));
    result.push_back(std::move(option));
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Cost
//===----------------------------------------------------------------------===//

llvm::Expected<OptionCost>
mlir::attn::explore::optionCost(const LayerOption &option,
                                const ModelDescription &model,
                                const CostSettings &settings) {
  assert(settings.target && "no target");
  MLIRContext *context = option.attend.pattern.getContext();
  std::string message;
  ScopedDiagnosticHandler capture(context, [&](Diagnostic &diag) {
    if (message.empty())
      message = diag.str();
    return success();
  });
  auto emit = [&] { return emitError(UnknownLoc::get(context)); };

  AttentionExtent extent{model.heads, model.seqLen, model.seqLen};
  AttentionProblem problem;
  problem.queryHeads = model.heads;
  problem.keyValueHeads = model.kvHeads;
  problem.querySeqLen = problem.keySeqLen = model.seqLen;
  problem.headDim = problem.valueDim = model.headDim;
  problem.elementBytes = 4;

  TileSizes tiles{settings.queryTile, settings.keyTile};
  auto dense = BlockPlan::build(DenseAttr::get(context), extent, tiles, emit);
  if (failed(dense))
    return makeError("cannot plan dense attention: " + message);
  AttentionCost denseCost = estimateCost(*dense, problem, *settings.target);
  double denseFlops = denseCost.matmulFlops + denseCost.softmaxFlops;

  double selectFlops = 0, selectSeconds = 0;
  if (const std::optional<TopKChoice> &topK = option.attend.topK) {
    tiles = {topK->queryBlock, topK->keyBlock};
    problem.selectedTilesPerQueryTile = topK->topK;
    SelectProblem select;
    select.queryHeads = model.heads;
    select.keyValueHeads = model.kvHeads;
    select.querySeqLen = select.keySeqLen = model.seqLen;
    select.headDim = model.headDim;
    select.queryBlock = topK->queryBlock;
    select.keyBlock = topK->keyBlock;
    select.topK = topK->topK;
    select.elementBytes = 4;
    ProjectionCost cost = estimateSelectCost(select, *settings.target);
    selectFlops = cost.poolFlops + cost.scoreFlops + cost.compareOps;
    selectSeconds = cost.estimateSeconds;
  }
  auto plan = BlockPlan::build(option.attend.pattern, extent, tiles, emit);
  if (failed(plan)) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << option.attend.pattern;
    return makeError("cannot plan " + text + ": " + message);
  }
  const GateChoice &gate = option.gate;
  // Heads of one option share its pattern, so any `keep` of them cost the
  // same: count the first ones.
  AttentionCost cost =
      estimateCost(*plan, problem, *settings.target, [&](int64_t head) {
        return gate.kind == GateKind::None || head < gate.keep;
      });
  OptionCost result;
  result.flops = cost.matmulFlops + cost.softmaxFlops + selectFlops;
  result.fraction = denseFlops > 0 ? result.flops / denseFlops : 0.0;
  result.estimateMicroseconds = (cost.estimateSeconds + selectSeconds) * 1e6;
  return result;
}
