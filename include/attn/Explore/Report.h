//===- Report.h - What attn-explore writes ----------------------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The outputs of an exploration (docs/explore.md): the sweep table (CSV),
// the cost/quality plot (SVG), the chosen schedule as attn's schedule JSON,
// as attn IR that attn-compile accepts, and as choice.json for the Python
// side of issue 9.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EXPLORE_REPORT_H
#define ATTN_EXPLORE_REPORT_H

#include "attn/Explore/Explore.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir {
namespace attn {
namespace explore {

/// What the front minimizes besides cost.
enum class Objective {
  RelativeError,
  /// The relative error squared: the layer's squared output error over its
  /// squared dense output. Sums over layers like a small perturbation's
  /// effect on the model's output (to first order, 1 - cosine grows with
  /// the square of the perturbation).
  SquaredError,
  Recall
};

struct OptionResult {
  OptionCost cost;
  OptionQuality quality;
};

/// Everything an exploration found.
struct Exploration {
  ModelDescription model;
  int64_t sequencesUsed = 0;
  uint64_t seed = 0;
  Objective objective = Objective::RelativeError;
  CostSettings costSettings;
  /// Cost counted as visited query-key pairs at the calibration sequences'
  /// real lengths (--cost=pairs) instead of the cost model's FLOPs.
  bool pairsCost = false;
  /// The options every layer has (the search space).
  llvm::SmallVector<LayerOption> options;
  /// [layer]: options of that layer only, numbered after `options`
  /// (--per-head: per-head pattern assignments).
  std::vector<llvm::SmallVector<LayerOption>> layerOptions;
  /// Option `index` of layer `layer`: a shared one, then the layer's own.
  const LayerOption &option(int64_t layer, int64_t index) const {
    if (index < int64_t(options.size()))
      return options[index];
    return layerOptions[layer][index - options.size()];
  }
  /// [layer][option].
  std::vector<std::vector<OptionResult>> results;
  /// [layer][head]: measured importance (LayerStatistics::importance).
  std::vector<std::vector<double>> importance;
  /// The exact front, the uniform front (same option in every layer), and
  /// random schedules for the plot's background (all by increasing cost).
  std::vector<Schedule> front, uniform, samples;
  double budget = 1.0;
  bool uniformOnly = false;
  std::optional<Schedule> chosen;
};

/// The loss an option contributes to the front: the relative error, or one
/// minus the recall.
double optionLoss(const OptionResult &result, Objective objective);

/// Schedule totals: cost fraction and mean quality over layers.
struct ScheduleSummary {
  double costFraction = 0;
  double relativeError = 0;
  double recall = 0;
};
ScheduleSummary summarize(const Exploration &exploration,
                          const Schedule &schedule);

/// The attribute's text, e.g. `#attn.local<window = 8>`.
std::string patternText(PatternAttrInterface pattern);
/// A short human label of an option: `local<window = 8> | value_norm 9/12`.
std::string optionLabel(const LayerOption &option, int64_t heads);

/// The best-loss schedule of `front` whose cost fraction is at most `budget`
/// (none when even the cheapest exceeds it).
std::optional<Schedule> chooseSchedule(const Exploration &exploration,
                                       const std::vector<Schedule> &front,
                                       double budget);

std::string renderSweepCSV(const Exploration &exploration);
std::string renderFrontSVG(const Exploration &exploration,
                           llvm::StringRef date);
/// The schedule JSON of passes/Schedule.cpp: one entry per layer with its
/// pattern.
std::string renderScheduleJSON(const Exploration &exploration,
                               const Schedule &schedule);
/// The schedule as attn IR text (not yet verified: the tool parses and
/// verifies it before writing).
std::string renderScheduleIR(const Exploration &exploration,
                             const Schedule &schedule);
std::string renderChoiceJSON(const Exploration &exploration,
                             const Schedule &schedule);

} // namespace explore
} // namespace attn
} // namespace mlir

#endif // ATTN_EXPLORE_REPORT_H
