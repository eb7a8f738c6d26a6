//===- Explore.h - Searching per-layer sparsity schedules -------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The library behind attn-explore (docs/explore.md). It reads a model
// description and calibration activations (Q, K, V per layer), evaluates
// every option of a per-layer search space once on them -- its cost from the
// cost model (lib/Cost) and its quality against dense attention -- and finds
// the exact Pareto front of schedules (one option per layer) by merging the
// layers' fronts, without enumerating the cross product.
//
// An option is a pattern (any attn pattern without run-time blocks) or a
// top-k block selection (attn.select_blocks semantics, lib/Reference), times
// a head gate: none, or keep k heads by the value-norm router or by a
// measured per-head importance.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EXPLORE_EXPLORE_H
#define ATTN_EXPLORE_EXPLORE_H

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Explore/Npy.h"
#include "attn/Reference/Reference.h"
#include "attn/Target/Targets.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
namespace attn {
namespace explore {

//===----------------------------------------------------------------------===//
// Model and calibration data
//===----------------------------------------------------------------------===//

/// model.json of a calibration directory (docs/explore.md).
struct ModelDescription {
  std::string model;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kvHeads = 0;
  int64_t headDim = 0;
  int64_t hidden = 0;
  int64_t sequences = 0;
  int64_t seqLen = 0;
  bool causal = false;
  /// Optional "lengths": sequence n holds lengths[n] real tokens (its first
  /// positions; the rest of its seq_len rows are padding, never read). Empty:
  /// every sequence is seq_len long.
  std::vector<int64_t> lengths;
  /// The real length of sequence `n`.
  int64_t lengthOf(int64_t n) const {
    return lengths.empty() ? seqLen : lengths[n];
  }
};

/// Parses model.json's text; `name` names it in errors.
llvm::Expected<ModelDescription> parseModelDescription(llvm::StringRef json,
                                                       llvm::StringRef name);
/// Reads `<dir>/model.json`.
llvm::Expected<ModelDescription> readModelDescription(llvm::StringRef dir);

/// The path of `layer<L>_<tensor>.npy` in `dir`.
std::string activationPath(llvm::StringRef dir, int64_t layer,
                           llvm::StringRef tensor);

/// Checks that every activation file of every layer exists, is a float32
/// C-order .npy and has the shape model.json implies, before any long work.
llvm::Error checkCalibration(llvm::StringRef dir,
                             const ModelDescription &model);

/// One layer's Q, K, V, restricted to the sequences being evaluated.
struct LayerActivations {
  int64_t sequences = 0;
  /// The real length of each loaded sequence (model.json's lengths).
  std::vector<int64_t> lengths;
  NpyArray query, key, value; ///< [N, H or Hkv, S, D] each.
};

/// Loads layer `layer`, keeping the sequences listed in `sequenceIds`.
llvm::Expected<LayerActivations> loadLayer(llvm::StringRef dir,
                                           const ModelDescription &model,
                                           int64_t layer,
                                           llvm::ArrayRef<int64_t> sequenceIds);

/// Writes a synthetic calibration directory (for tests and trying the tool):
/// random Q/K with a positional component (so nearby keys score higher), a
/// first token every query likes (a "sink"), and heads whose values differ
/// in norm. Deterministic in `seed`.
llvm::Error writeSyntheticCalibration(llvm::StringRef dir,
                                      const ModelDescription &model,
                                      uint64_t seed);

//===----------------------------------------------------------------------===//
// Search space
//===----------------------------------------------------------------------===//

/// attn.select_blocks parameters of a top-k option (not causal: the explorer
/// handles bidirectional encoders).
struct TopKChoice {
  int64_t queryBlock = 16;
  int64_t keyBlock = 16;
  int64_t topK = 2;
  int64_t keepSink = 0;
  int64_t keepLocal = 1;
};

enum class GateKind { None, ValueNorm, Importance };
llvm::StringRef stringifyGateKind(GateKind kind);

/// How a layer's heads are gated: `keep` heads fire per sequence.
struct GateChoice {
  GateKind kind = GateKind::None;
  int64_t keep = 0; ///< Unused for GateKind::None.
};

/// What the attention of one layer computes: a pattern or a top-k selection.
struct AttendChoice {
  /// The pattern (a static one), or `#attn.selected<...>` for top-k.
  PatternAttrInterface pattern;
  std::optional<TopKChoice> topK;
};

struct LayerOption {
  AttendChoice attend;
  GateChoice gate;
  /// Index of `attend` in SearchSpace::attends.
  int64_t attendIndex = 0;
};

struct SearchSpace {
  llvm::SmallVector<AttendChoice> attends;
  llvm::SmallVector<GateChoice> gates;
  /// attends x gates, in that order (attend-major).
  llvm::SmallVector<LayerOption> options() const;
};

/// A search space as the command line gives it (see parseSearchSpace).
struct SearchLists {
  std::vector<std::string> patterns, topK, gates;
  std::vector<int64_t> keep;
};

/// The default search space for `model` (docs/explore.md): dense, local
/// windows, global + local unions, a dilated window, local + strided, chunks,
/// top-k selections at blocks of S/8 and S/4, and gates keeping 3/4 and 1/2
/// of the heads by either score.
SearchLists defaultSearchLists(const ModelDescription &model);

/// Parses the command line's lists: `patterns` separated by ';', `topK` as
/// `QBxKB:K[:sink:local]` separated by ',', `gates` from none, value_norm,
/// importance, and `keep` counts. Fails naming the offending item; an empty
/// resulting space is an error too.
llvm::Expected<SearchSpace> parseSearchSpace(
    MLIRContext *context, const ModelDescription &model,
    llvm::ArrayRef<std::string> patterns, llvm::ArrayRef<std::string> topK,
    llvm::ArrayRef<std::string> gates, llvm::ArrayRef<int64_t> keep);

/// Checks that every pattern fits the model's shapes and that gates keep
/// between 1 and heads - 1 heads; errors name the option.
llvm::Error verifySearchSpace(const SearchSpace &space,
                              const ModelDescription &model);

//===----------------------------------------------------------------------===//
// Evaluation
//===----------------------------------------------------------------------===//

/// Per (attend choice, sequence, head) statistics of one layer, from which
/// every gate's metrics follow without recomputing attention.
struct LayerStatistics {
  int64_t sequences = 0, heads = 0;
  /// [attend][n * heads + h]: squared error of the head's output vs dense.
  std::vector<std::vector<double>> errorSquared;
  /// [attend][n * heads + h]: mean over rows of the dense softmax mass on
  /// the keys the choice lets the row see.
  std::vector<std::vector<double>> recall;
  /// [n * heads + h]: squared Frobenius norm of the dense output.
  std::vector<double> denseSquared;
  /// [n * heads + h]: the value-norm router score, mean_t ||V[n, h, t, :]||.
  std::vector<double> routerScore;
  /// [h]: measured importance: mean over sequences of the head's share of
  /// the dense output norm, ||O_h|| / sum_h' ||O_h'||.
  std::vector<double> importance;
  /// [attend][n * heads + h]: query-key pairs the choice visits for the
  /// head at the sequence's real length (top-k: its listed blocks, whole).
  std::vector<std::vector<double>> pairs;
  /// [n]: pairs of dense attention at the sequence's real length, S_n^2.
  std::vector<double> densePairs;
};

/// Computes the statistics of every attend choice on one layer's
/// activations, on `threads` threads (results do not depend on it).
/// `progress(done, total)` is called as sequences finish.
LayerStatistics
evaluateLayer(const LayerActivations &activations,
              const ModelDescription &model,
              llvm::ArrayRef<AttendChoice> attends, int64_t threads,
              const std::function<void(int64_t, int64_t)> &progress = {});

/// The quality of one option on one layer.
struct OptionQuality {
  /// sqrt(sum of squared errors / sum of squared dense outputs) over the
  /// layer's attention output (all sequences and heads); a gated-off head
  /// contributes its whole dense output.
  double relativeError = 0;
  /// Mean over sequences, heads and rows; a gated-off head counts 0.
  double recall = 0;
};

/// The heads a gate keeps for sequence `sequence` (true = fires). Scores by
/// kind; the `keep` highest fire, ties to the lower index (lib/Gate's order).
llvm::SmallVector<bool> gateHeads(const LayerStatistics &stats,
                                  const GateChoice &gate, int64_t sequence);

OptionQuality optionQuality(const LayerStatistics &stats, int64_t attendIndex,
                            const GateChoice &gate);

/// The cost of one option on one layer, for a batch of one sequence.
struct OptionCost {
  /// FLOPs (attention matmuls and softmax, plus selection) over those of
  /// dense attention with every head.
  double fraction = 0;
  double flops = 0;
  /// The cost model's roofline estimate on the target (attention plus
  /// selection).
  double estimateMicroseconds = 0;
};

struct CostSettings {
  const TargetDescription *target = nullptr;
  /// Tiles at which patterns are planned (top-k options plan at their
  /// blocks).
  int64_t queryTile = 16, keyTile = 16;
};

llvm::Expected<OptionCost> optionCost(const LayerOption &option,
                                      const ModelDescription &model,
                                      const CostSettings &settings);

/// The work an option does on the calibration sequences themselves: query-key
/// pairs visited by the heads that fire, at each sequence's real length,
/// over those of dense attention with every head (sum over sequences of
/// S_n^2 x heads). This is what the kernels do on inputs of those lengths,
/// counted in pairs rather than tiles.
double optionPairsFraction(const LayerStatistics &stats, int64_t attendIndex,
                           const GateChoice &gate);

/// A per-head option of one layer: each head's attend choice (static
/// patterns only), no gate.
struct PerHeadOption {
  llvm::SmallVector<int64_t> attendOfHead;
  double pairsFraction = 0;
  OptionQuality quality;
};

/// The Pareto front (pairs fraction vs the layer's squared output error) of
/// per-head assignments of the static attend choices `attends` (indices into
/// the layer's statistics), merged head by head like layers
/// (paretoFront), then thinned to at most `maxPoints` points spread evenly
/// over cost (the cheapest and the dearest kept). Needs pair counts
/// (evaluateLayer fills them).
llvm::Expected<std::vector<PerHeadOption>>
perHeadFront(const LayerStatistics &stats, llvm::ArrayRef<int64_t> attends,
             int64_t maxPoints);

//===----------------------------------------------------------------------===//
// Pareto front
//===----------------------------------------------------------------------===//

/// One option's place on a layer's trade-off: both are minimized.
struct Point {
  double cost = 0;
  double loss = 0;
};

/// A schedule: an option per layer and its summed cost and loss.
struct Schedule {
  llvm::SmallVector<int64_t> options;
  double cost = 0;
  double loss = 0;
};

/// The exact Pareto front (minimal summed cost and summed loss) over all
/// schedules choosing one point per layer, ordered by increasing cost (and
/// strictly decreasing loss). Layer fronts are merged one layer at a time:
/// a schedule dominated on its first layers stays dominated whatever the
/// remaining layers choose, so only front members are extended. Of schedules
/// with equal cost and loss, the one with the lexicographically smallest
/// options is kept. Fails when an intermediate front would exceed
/// `maxCandidates` pairs.
llvm::Expected<std::vector<Schedule>>
paretoFront(llvm::ArrayRef<std::vector<Point>> layers,
            uint64_t maxCandidates = uint64_t(1) << 27);

/// The front of schedules that choose the same option index in every layer.
std::vector<Schedule> uniformFront(llvm::ArrayRef<std::vector<Point>> layers);

/// The points of `schedules` on no other's Pareto dominance, by cost.
std::vector<Schedule> nondominated(std::vector<Schedule> schedules);

} // namespace explore
} // namespace attn
} // namespace mlir

#endif // ATTN_EXPLORE_EXPLORE_H
