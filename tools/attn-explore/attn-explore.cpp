//===- attn-explore.cpp - Search per-layer sparsity schedules -------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Reads a model description and calibration activations, evaluates a
// per-layer search space of patterns, top-k selections and head gates
// (cost from the cost model, quality against dense attention), finds the
// exact Pareto front of schedules, and writes the sweep (CSV), the plot
// (SVG) and the schedule chosen at a budget as schedule JSON, attn IR and
// choice.json. See docs/explore.md.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/Transforms/Schedule.h"
#include "attn/Explore/Explore.h"
#include "attn/Explore/Report.h"
#include "attn/Support/Format.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Chrono.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <random>
#include <thread>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::explore;
namespace cl = llvm::cl;

static cl::OptionCategory category("attn-explore options");

static cl::opt<std::string> calibrationDir(cl::Positional, cl::Required,
                                           cl::desc("<calibration directory>"),
                                           cl::cat(category));
static cl::opt<std::string>
    outputDir("o",
              cl::desc("Output directory (created): sweep.csv, front.svg, "
                       "schedule.json, schedule.mlir, choice.json"),
              cl::value_desc("dir"), cl::cat(category));
static cl::opt<double>
    budget("budget",
           cl::desc("Pick the best schedule whose cost fraction is at "
                    "most this (default 0.5)"),
           cl::init(0.5), cl::cat(category));
static cl::opt<Objective> objective(
    "objective", cl::desc("Quality the front trades against cost"),
    cl::values(clEnumValN(Objective::RelativeError, "error",
                          "mean relative error of the attention output "
                          "(default)"),
               clEnumValN(Objective::SquaredError, "error2",
                          "mean squared relative error of the attention "
                          "output (with --layer-weights: a model of the "
                          "embedding's loss)"),
               clEnumValN(Objective::Recall, "recall",
                          "mean attention-mass recall")),
    cl::init(Objective::RelativeError), cl::cat(category));
static cl::opt<bool>
    uniform("uniform",
            cl::desc("Choose among uniform schedules only (the same "
                     "option in every layer): the baseline"),
            cl::cat(category));
static cl::opt<uint64_t>
    seed("seed",
         cl::desc("Seed of sequence subsampling and of the plot's random "
                  "schedules (default 1)"),
         cl::init(1), cl::cat(category));
static cl::opt<int64_t>
    sequences("sequences",
              cl::desc("Evaluate this many sequences, drawn with --seed "
                       "(default 0: all)"),
              cl::init(0), cl::cat(category));
// Not --threads: LLVM's libraries register an option of that name.
static cl::opt<int64_t>
    threads("jobs",
            cl::desc("Worker threads (default: the machine's cores); "
                     "results do not depend on it"),
            cl::init(0), cl::cat(category));
static cl::opt<std::string>
    targetName("target", cl::desc("Cost model target (default x86-64-v3)"),
               cl::init("x86-64-v3"), cl::cat(category));
static cl::opt<int64_t>
    queryTile("query-tile",
              cl::desc("Query tile of the cost model's plans (default 16)"),
              cl::init(16), cl::cat(category));
static cl::opt<int64_t>
    keyTile("key-tile",
            cl::desc("Key tile of the cost model's plans (default 16)"),
            cl::init(16), cl::cat(category));
static cl::list<std::string>
    patterns("patterns",
             cl::desc("Patterns to try, separated by ';' (replaces the "
                      "default list)"),
             cl::value_desc("p1;p2"), cl::CommaSeparated, cl::cat(category));
static cl::list<std::string>
    topK("top-k",
         cl::desc("Top-k selections to try: QBxKB:K[:SINK:LOCAL], "
                  "separated by ',' (replaces the default list)"),
         cl::CommaSeparated, cl::cat(category));
static cl::list<std::string>
    gates("gates", cl::desc("Gates to try: none, value_norm, importance"),
          cl::CommaSeparated, cl::cat(category));
static cl::list<int64_t>
    keep("keep", cl::desc("Head counts the gates keep (default 3H/4 and H/2)"),
         cl::CommaSeparated, cl::cat(category));
enum class CostMode { Model, Pairs };
static cl::opt<CostMode> costMode(
    "cost", cl::desc("How an option's cost is counted"),
    cl::values(clEnumValN(CostMode::Model, "model",
                          "the cost model's FLOPs at seq_len, planned at "
                          "--query-tile x --key-tile (default)"),
               clEnumValN(CostMode::Pairs, "pairs",
                          "query-key pairs visited at each calibration "
                          "sequence's real length (model.json's lengths), "
                          "over dense attention's")),
    cl::init(CostMode::Model), cl::cat(category));
static cl::opt<bool> perHead(
    "per-head",
    cl::desc("Also give each layer per-head assignments of the static "
             "patterns (#attn.per_head), from the front of the heads' "
             "pairs and errors; needs --cost=pairs"),
    cl::cat(category));
static cl::opt<int64_t> perHeadPoints(
    "per-head-points",
    cl::desc("Per-head assignments kept per layer, spread over cost "
             "(default 64)"),
    cl::init(64), cl::cat(category));
static cl::list<double> layerWeights(
    "layer-weights",
    cl::desc("Weight of each layer's loss in the front's sum (one per "
             "layer; default all 1)"),
    cl::CommaSeparated, cl::cat(category));
static cl::opt<int64_t>
    samples("samples",
            cl::desc("Random schedules drawn (with --seed) for the plot's "
                     "background (default 2000)"),
            cl::init(2000), cl::cat(category));
static cl::opt<std::string>
    date("date", cl::desc("Date in the plot's title (default: today, UTC)"),
         cl::cat(category));
static cl::opt<bool> quiet("quiet", cl::desc("No progress on stderr"),
                           cl::cat(category));
static cl::opt<bool> makeSynthetic(
    "make-synthetic",
    cl::desc("Write a synthetic calibration directory at the positional "
             "path instead of exploring (tests, trying the tool)"),
    cl::cat(category));
static cl::opt<std::string> syntheticShape(
    "synthetic-shape",
    cl::desc("layers,heads,kv_heads,head_dim,seq_len,sequences of "
             "--make-synthetic (default 2,4,4,8,64,6)"),
    cl::init("2,4,4,8,64,6"), cl::cat(category));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "attn-explore: error: " << message << "\n";
  return 1;
}

static int fail(llvm::Error error) {
  return fail(llvm::toString(std::move(error)));
}

/// `patterns` is comma-split by the command line; patterns contain commas,
/// so rejoin them and split at ';' instead.
static std::vector<std::string> patternList() {
  std::string joined = llvm::join(patterns, ",");
  llvm::SmallVector<StringRef> parts;
  StringRef(joined).split(parts, ';');
  std::vector<std::string> result;
  for (StringRef part : parts)
    result.push_back(part.str());
  return result;
}

static std::string todayUTC() {
  std::time_t now = std::time(nullptr);
  char text[16];
  std::strftime(text, sizeof(text), "%Y-%m-%d", std::gmtime(&now));
  return text;
}

static llvm::Error writeFile(StringRef dir, StringRef name,
                             StringRef contents) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError(ec, "%s: cannot write: %s", path.c_str(),
                                   ec.message().c_str());
  os << contents;
  return llvm::Error::success();
}

static int writeSynthetic() {
  llvm::SmallVector<StringRef> fields;
  StringRef(syntheticShape).split(fields, ',');
  ModelDescription model;
  model.model = "synthetic";
  int64_t *targets[] = {&model.layers,  &model.heads,  &model.kvHeads,
                        &model.headDim, &model.seqLen, &model.sequences};
  bool bad = fields.size() != 6;
  for (size_t i = 0; !bad && i < 6; ++i)
    bad = fields[i].trim().getAsInteger(10, *targets[i]) || *targets[i] < 1 ||
          *targets[i] > 4096;
  if (bad || model.heads % model.kvHeads != 0)
    return fail("--synthetic-shape: expected six integers in [1, 4096], "
                "layers,heads,kv_heads,head_dim,seq_len,sequences with heads "
                "a multiple of kv_heads; found '" +
                syntheticShape + "'");
  model.hidden = model.heads * model.headDim;
  if (llvm::Error error =
          writeSyntheticCalibration(calibrationDir, model, seed))
    return fail(std::move(error));
  return 0;
}

/// `count` distinct sequence ids out of `total`, drawn with `seed`, sorted.
static std::vector<int64_t> drawSequences(int64_t total, int64_t count,
                                          uint64_t seed) {
  std::vector<int64_t> ids(total);
  for (int64_t i = 0; i < total; ++i)
    ids[i] = i;
  if (count <= 0 || count >= total)
    return ids;
  std::mt19937_64 engine(seed);
  for (int64_t i = 0; i < count; ++i)
    std::swap(ids[i], ids[i + int64_t(engine() % uint64_t(total - i))]);
  ids.resize(count);
  llvm::sort(ids);
  return ids;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "attn-explore: search per-layer sparsity schedules on calibration "
      "activations\n\n"
      "  attn-explore <calibration dir> -o <out dir> [--budget=0.5]\n"
      "  attn-explore <dir> --make-synthetic [--synthetic-shape=...]\n");
  if (makeSynthetic)
    return writeSynthetic();
  if (outputDir.empty())
    return fail("-o <dir> is required (the directory to write the results "
                "to)");
  if (!(budget > 0 && budget <= 1))
    return fail("--budget expects a fraction in (0, 1], found " +
                formatReal(budget));
  if (queryTile < 1 || keyTile < 1)
    return fail("--query-tile and --key-tile expect positive sizes");
  if (sequences < 0 || samples < 0)
    return fail("--sequences and --samples expect counts >= 0");
  if (perHead && costMode != CostMode::Pairs)
    return fail("--per-head needs --cost=pairs (a per-head pattern's work "
                "is counted in visited pairs)");
  if (perHeadPoints < 2)
    return fail("--per-head-points expects at least 2, found " +
                llvm::Twine(perHeadPoints.getValue()));
  for (double weight : layerWeights)
    if (!(weight > 0) || !std::isfinite(weight))
      return fail("--layer-weights expects positive finite weights, found " +
                  formatReal(weight));

  DialectRegistry registry;
  registry.insert<AttnDialect, func::FuncDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  Exploration exploration;
  exploration.seed = seed;
  exploration.objective = objective;
  exploration.budget = budget;
  exploration.uniformOnly = uniform;
  exploration.costSettings.target = lookupTarget(targetName);
  exploration.costSettings.queryTile = queryTile;
  exploration.costSettings.keyTile = keyTile;
  if (!exploration.costSettings.target)
    return fail("unknown --target '" + targetName +
                "' (expected one of: " + listTargetNames() + ")");

  // Everything that can be wrong with the input is checked before the long
  // part: the description, every file's shape, the search space.
  llvm::Expected<ModelDescription> model = readModelDescription(calibrationDir);
  if (!model)
    return fail(model.takeError());
  exploration.model = *model;
  if (llvm::Error error = checkCalibration(calibrationDir, *model))
    return fail(std::move(error));
  if (!layerWeights.empty() && int64_t(layerWeights.size()) != model->layers)
    return fail("--layer-weights: expected one weight per layer (" +
                llvm::Twine(model->layers) + "), found " +
                llvm::Twine(layerWeights.size()));
  exploration.pairsCost = costMode == CostMode::Pairs;

  SearchLists lists = defaultSearchLists(*model);
  if (patterns.getNumOccurrences() || topK.getNumOccurrences()) {
    lists.patterns = patterns.getNumOccurrences() ? patternList()
                                                  : std::vector<std::string>{};
    lists.topK = std::vector<std::string>(topK.begin(), topK.end());
  }
  if (gates.getNumOccurrences())
    lists.gates = std::vector<std::string>(gates.begin(), gates.end());
  if (keep.getNumOccurrences())
    lists.keep = std::vector<int64_t>(keep.begin(), keep.end());
  llvm::Expected<SearchSpace> space = parseSearchSpace(
      &context, *model, lists.patterns, lists.topK, lists.gates, lists.keep);
  if (!space)
    return fail(space.takeError());
  if (llvm::Error error = verifySearchSpace(*space, *model))
    return fail(std::move(error));
  exploration.options = space->options();

  std::vector<OptionCost> costs;
  for (const LayerOption &option : exploration.options) {
    llvm::Expected<OptionCost> cost =
        optionCost(option, *model, exploration.costSettings);
    if (!cost)
      return fail(cost.takeError());
    costs.push_back(*cost);
  }

  std::vector<int64_t> ids = drawSequences(model->sequences, sequences, seed);
  exploration.sequencesUsed = ids.size();
  int64_t numThreads =
      threads > 0 ? threads
                  : std::max<int64_t>(1, std::thread::hardware_concurrency());
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  if (!quiet)
    llvm::errs() << "attn-explore: " << model->model << ", " << model->layers
                 << " layers, " << ids.size() << " of " << model->sequences
                 << " sequences, " << space->attends.size()
                 << " patterns/selections x " << space->gates.size()
                 << " gates = " << exploration.options.size()
                 << " options per layer, " << numThreads << " threads\n";
  for (int64_t layer = 0; layer < model->layers; ++layer) {
    llvm::Expected<LayerActivations> activations =
        loadLayer(calibrationDir, *model, layer, ids);
    if (!activations)
      return fail(activations.takeError());
    int64_t lastShown = 0;
    LayerStatistics stats =
        evaluateLayer(*activations, *model, space->attends, numThreads,
                      [&](int64_t done, int64_t total) {
                        int64_t quarter = done * 4 / total;
                        if (quiet || quarter == lastShown)
                          return;
                        lastShown = quarter;
                        llvm::errs() << llvm::format(
                            "  layer %lld/%lld: %lld/%lld sequences (%.1f s)\n",
                            (long long)layer + 1, (long long)model->layers,
                            (long long)done, (long long)total, elapsed());
                      });
    std::vector<OptionResult> results;
    for (auto [o, option] : llvm::enumerate(exploration.options)) {
      OptionCost cost = costs[o];
      if (exploration.pairsCost) {
        cost.fraction =
            optionPairsFraction(stats, option.attendIndex, option.gate);
        cost.flops = 0; // Not the cost model's count any more.
      }
      results.push_back(
          {cost, optionQuality(stats, option.attendIndex, option.gate)});
    }
    exploration.layerOptions.emplace_back();
    if (perHead) {
      llvm::SmallVector<int64_t> statics;
      for (auto [a, attend] : llvm::enumerate(space->attends))
        if (!attend.topK)
          statics.push_back(a);
      llvm::Expected<std::vector<PerHeadOption>> assignments =
          perHeadFront(stats, statics, perHeadPoints);
      if (!assignments)
        return fail(assignments.takeError());
      for (const PerHeadOption &assignment : *assignments) {
        if (llvm::all_equal(assignment.attendOfHead))
          continue; // The same pattern everywhere: a shared option already.
        llvm::SmallVector<Attribute> heads;
        for (int64_t a : assignment.attendOfHead)
          heads.push_back(space->attends[a].pattern);
        LayerOption option;
        option.attend.pattern = cast<PatternAttrInterface>(PerHeadAttr::get(
            &context, ArrayAttr::get(&context, heads)));
        option.attendIndex = -1;
        llvm::Expected<OptionCost> cost =
            optionCost(option, *model, exploration.costSettings);
        if (!cost)
          return fail(cost.takeError());
        cost->fraction = assignment.pairsFraction;
        cost->flops = 0;
        results.push_back({*cost, assignment.quality});
        exploration.layerOptions.back().push_back(option);
      }
    }
    exploration.results.push_back(std::move(results));
    exploration.importance.push_back(stats.importance);
  }

  // Fronts: per-layer points -> exact front by merging; uniform schedules.
  std::vector<std::vector<Point>> points;
  for (auto [layer, results] : llvm::enumerate(exploration.results)) {
    double weight = layerWeights.empty() ? 1.0 : layerWeights[layer];
    std::vector<Point> layerPoints;
    for (const OptionResult &result : results)
      layerPoints.push_back(
          {result.cost.fraction, weight * optionLoss(result, objective)});
    points.push_back(std::move(layerPoints));
  }
  llvm::Expected<std::vector<Schedule>> front = paretoFront(points);
  if (!front)
    return fail(front.takeError());
  exploration.front = std::move(*front);
  // Uniform schedules use the options every layer has.
  std::vector<std::vector<Point>> shared;
  for (const std::vector<Point> &layer : points)
    shared.emplace_back(layer.begin(),
                        layer.begin() + exploration.options.size());
  exploration.uniform = uniformFront(shared);
  std::mt19937_64 engine(seed);
  for (int64_t s = 0; s < samples; ++s) {
    Schedule schedule;
    for (const std::vector<Point> &layer : points) {
      int64_t option = int64_t(engine() % layer.size());
      schedule.options.push_back(option);
      schedule.cost += layer[option].cost;
      schedule.loss += layer[option].loss;
    }
    exploration.samples.push_back(std::move(schedule));
  }
  exploration.chosen = chooseSchedule(
      exploration, uniform ? exploration.uniform : exploration.front, budget);
  if (!quiet)
    llvm::errs() << llvm::format(
        "attn-explore: front of %zu schedules (uniform: %zu) in %.1f s\n",
        exploration.front.size(), exploration.uniform.size(), elapsed());

  if (std::error_code ec = llvm::sys::fs::create_directories(outputDir))
    return fail(outputDir + ": cannot create the directory: " + ec.message());
  if (llvm::Error error =
          writeFile(outputDir, "sweep.csv", renderSweepCSV(exploration)))
    return fail(std::move(error));
  if (llvm::Error error = writeFile(
          outputDir, "front.svg",
          renderFrontSVG(exploration, date.empty() ? todayUTC() : date)))
    return fail(std::move(error));
  if (!exploration.chosen) {
    const std::vector<Schedule> &candidates =
        uniform ? exploration.uniform : exploration.front;
    double cheapest =
        candidates.empty()
            ? 0.0
            : summarize(exploration, candidates.front()).costFraction;
    return fail("no " + llvm::Twine(uniform ? "uniform " : "") +
                "schedule fits the budget " + formatReal(budget) +
                ": the cheapest costs " + formatReal(cheapest) +
                " (sweep.csv and front.svg are written)");
  }
  const Schedule &chosen = *exploration.chosen;

  // The schedule's IR and JSON must be what attn-compile and
  // attn-apply-schedule accept: parse, verify and apply them here first.
  std::string ir = renderScheduleIR(exploration, chosen);
  std::string scheduleJSON = renderScheduleJSON(exploration, chosen);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBuffer(ir, "schedule.mlir"), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module || failed(verify(*module)))
    return fail("internal error: the emitted schedule IR does not verify:\n" +
                ir);
  std::string error;
  ScheduleAttr schedule = parseScheduleJSON(scheduleJSON, &context, error);
  if (!schedule)
    return fail("internal error: the emitted schedule JSON does not parse: " +
                error);
  if (failed(applySchedule(*module, schedule)))
    return fail("internal error: the emitted schedule JSON does not apply to "
                "the emitted IR");

  ScheduleSummary summary = summarize(exploration, chosen);
  std::string mlirText;
  llvm::raw_string_ostream mlirOS(mlirText);
  mlirOS << "// attn-explore schedule for " << model->model
         << llvm::format(" at budget %g: cost fraction %.4f, mean relative "
                         "error %.5f, mean recall %.4f",
                         budget.getValue(), summary.costFraction,
                         summary.relativeError, summary.recall)
         << "\n// One function per layer (top-k layers: _select, then _attend"
            " with its blocks); gated layers take the gates (B x H i1) as an"
            " argument.\n";
  module->print(mlirOS);
  mlirOS << "\n";
  std::string choiceJSON = renderChoiceJSON(exploration, chosen);
  for (auto [name, text] :
       {std::pair<StringRef, StringRef>{"schedule.mlir", mlirText},
        {"schedule.json", scheduleJSON},
        {"choice.json", choiceJSON}})
    if (llvm::Error error = writeFile(outputDir, name, text))
      return fail(std::move(error));

  llvm::outs() << llvm::format(
      "chosen at budget %g%s: cost fraction %.4f, mean relative error %.5f, "
      "mean recall %.4f\n",
      budget.getValue(), uniform ? " (uniform)" : "", summary.costFraction,
      summary.relativeError, summary.recall);
  for (auto [layer, option] : llvm::enumerate(chosen.options)) {
    const OptionResult &result = exploration.results[layer][option];
    llvm::outs() << llvm::format(
                        "  layer %zu: cost %.3f  error %.5f  recall %.4f  ",
                        layer, result.cost.fraction,
                        result.quality.relativeError, result.quality.recall)
                 << optionLabel(exploration.option(layer, option),
                                model->heads)
                 << "\n";
  }
  llvm::outs() << "wrote " << outputDir
               << "/{sweep.csv, front.svg, schedule.json, schedule.mlir, "
                  "choice.json}\n";
  return 0;
}
