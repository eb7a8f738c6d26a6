//===- Report.cpp - What attn-explore writes ------------------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Explore/Report.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::explore;

double mlir::attn::explore::optionLoss(const OptionResult &result,
                                       Objective objective) {
  switch (objective) {
  case Objective::RelativeError:
    return result.quality.relativeError;
  case Objective::SquaredError:
    return result.quality.relativeError * result.quality.relativeError;
  case Objective::Recall:
    return 1.0 - result.quality.recall;
  }
  llvm_unreachable("unknown objective");
}

ScheduleSummary mlir::attn::explore::summarize(const Exploration &exploration,
                                               const Schedule &schedule) {
  ScheduleSummary summary;
  int64_t layers = schedule.options.size();
  for (auto [layer, option] : llvm::enumerate(schedule.options)) {
    const OptionResult &result = exploration.results[layer][option];
    summary.costFraction += result.cost.fraction;
    summary.relativeError += result.quality.relativeError;
    summary.recall += result.quality.recall;
  }
  if (layers > 0) {
    // Every layer's dense cost is the same (same shapes), so the fraction
    // of the summed dense cost is the mean of the layers' fractions.
    summary.costFraction /= layers;
    summary.relativeError /= layers;
    summary.recall /= layers;
  }
  return summary;
}

std::string mlir::attn::explore::patternText(PatternAttrInterface pattern) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << pattern;
  return text;
}

std::string mlir::attn::explore::optionLabel(const LayerOption &option,
                                             int64_t heads) {
  std::string label;
  llvm::raw_string_ostream os(label);
  if (const std::optional<TopKChoice> &topK = option.attend.topK)
    os << "top-" << topK->topK << " of " << topK->queryBlock << "x"
       << topK->keyBlock << " blocks";
  else if (auto perHead = dyn_cast<PerHeadAttr>(option.attend.pattern)) {
    // Count each distinct pattern: "per head: 7x local<window = 8>, ...".
    llvm::SmallVector<std::pair<std::string, int64_t>> counts;
    for (Attribute entry : perHead.getPatterns()) {
      std::string text = patternText(cast<PatternAttrInterface>(entry));
      auto *it = llvm::find_if(counts, [&](auto &c) { return c.first == text; });
      if (it == counts.end())
        counts.push_back({text, 1});
      else
        ++it->second;
    }
    os << "per head:";
    for (auto [i, count] : llvm::enumerate(counts))
      os << (i ? ", " : " ") << count.second << "x "
         << StringRef(count.first).drop_front(6);
  } else
    os << StringRef(patternText(option.attend.pattern)).drop_front(6);
  if (option.gate.kind != GateKind::None)
    os << " | " << stringifyGateKind(option.gate.kind) << " "
       << option.gate.keep << "/" << heads;
  return label;
}

std::optional<Schedule>
mlir::attn::explore::chooseSchedule(const Exploration &exploration,
                                    const std::vector<Schedule> &front,
                                    double budget) {
  std::optional<Schedule> best;
  for (const Schedule &schedule : front) {
    // A small tolerance: a schedule at exactly the budget must not fall out
    // by the rounding of a mean.
    if (summarize(exploration, schedule).costFraction > budget + 1e-12)
      continue;
    if (!best || schedule.loss < best->loss)
      best = schedule;
  }
  return best;
}

//===----------------------------------------------------------------------===//
// CSV
//===----------------------------------------------------------------------===//

static std::string csvQuote(StringRef text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"')
      out += '"';
    out += c;
  }
  return out + "\"";
}

static std::string number(double value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format("%.6g", value);
  return text;
}

/// "128", or "10-83 (mean 26.9)" for sequences of their own lengths.
static std::string lengthText(const Exploration &exploration) {
  const ModelDescription &model = exploration.model;
  if (model.lengths.empty())
    return std::to_string(model.seqLen);
  int64_t low = *llvm::min_element(model.lengths),
          high = *llvm::max_element(model.lengths);
  double mean = 0;
  for (int64_t length : model.lengths)
    mean += double(length);
  mean /= double(model.lengths.size());
  return llvm::formatv("{0}-{1} (mean {2:F1})", low, high, mean).str();
}

/// " (+ N per-head assignments per layer)" when --per-head added some.
static std::string perHeadText(const Exploration &exploration) {
  size_t extra = 0;
  for (const auto &options : exploration.layerOptions)
    extra = std::max(extra, options.size());
  return extra ? " (+ up to " + std::to_string(extra) +
                     " per-head assignments)"
               : std::string();
}

std::string
mlir::attn::explore::renderSweepCSV(const Exploration &exploration) {
  std::string csv;
  llvm::raw_string_ostream os(csv);
  os << "kind,index,layer,option,pattern,gate,keep,top_k,cost_fraction,"
        "estimate_us,rel_error,recall,options\n";
  const int64_t heads = exploration.model.heads;
  for (auto [layer, results] : llvm::enumerate(exploration.results))
    for (auto [o, result] : llvm::enumerate(results)) {
      const LayerOption &option = exploration.option(layer, o);
      std::string topK;
      if (option.attend.topK)
        topK = llvm::formatv(
                   "{0}x{1}:{2}:{3}:{4}", option.attend.topK->queryBlock,
                   option.attend.topK->keyBlock, option.attend.topK->topK,
                   option.attend.topK->keepSink, option.attend.topK->keepLocal)
                   .str();
      os << "option," << o << "," << layer << "," << o << ","
         << csvQuote(patternText(option.attend.pattern)) << ","
         << stringifyGateKind(option.gate.kind) << ","
         << (option.gate.kind == GateKind::None ? heads : option.gate.keep)
         << "," << topK << "," << number(result.cost.fraction) << ","
         << number(result.cost.estimateMicroseconds) << ","
         << number(result.quality.relativeError) << ","
         << number(result.quality.recall) << ",\n";
    }
  auto writeSchedules = [&](StringRef kind,
                            const std::vector<Schedule> &schedules) {
    for (auto [i, schedule] : llvm::enumerate(schedules)) {
      ScheduleSummary summary = summarize(exploration, schedule);
      double estimate = 0;
      for (auto [layer, option] : llvm::enumerate(schedule.options))
        estimate +=
            exploration.results[layer][option].cost.estimateMicroseconds;
      os << kind << "," << i << ",,,,,,," << number(summary.costFraction) << ","
         << number(estimate) << "," << number(summary.relativeError) << ","
         << number(summary.recall) << ",";
      llvm::interleave(schedule.options, os, " ");
      os << "\n";
    }
  };
  writeSchedules("front", exploration.front);
  writeSchedules("uniform", exploration.uniform);
  if (exploration.chosen)
    writeSchedules("chosen", {*exploration.chosen});
  return csv;
}

//===----------------------------------------------------------------------===//
// SVG
//===----------------------------------------------------------------------===//

namespace {
/// A step of 1, 2 or 5 times a power of ten giving about `count` ticks.
double niceStep(double range, int count) {
  double raw = range / count;
  double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw)
      return m * power;
  return 10 * power;
}

std::string escapeXML(StringRef text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '&':
      out += "&amp;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}
} // namespace

std::string mlir::attn::explore::renderFrontSVG(const Exploration &exploration,
                                                StringRef date) {
  const bool byError = exploration.objective != Objective::Recall;
  auto quality = [&](const Schedule &s) {
    ScheduleSummary summary = summarize(exploration, s);
    return std::pair<double, double>(
        summary.costFraction, byError ? summary.relativeError : summary.recall);
  };
  std::vector<std::pair<double, double>> samples, front, uniform;
  for (const Schedule &s : exploration.samples)
    samples.push_back(quality(s));
  for (const Schedule &s : exploration.front)
    front.push_back(quality(s));
  for (const Schedule &s : exploration.uniform)
    uniform.push_back(quality(s));

  double xMax = 1.0, yMin = byError ? 0.0 : 1.0, yMax = byError ? 0.0 : 1.0;
  for (const auto *set : {&samples, &front, &uniform})
    for (auto [x, y] : *set) {
      xMax = std::max(xMax, x);
      yMin = std::min(yMin, y);
      yMax = std::max(yMax, y);
    }
  if (yMax - yMin < 1e-9)
    yMax = yMin + 1e-3;
  double xStep = niceStep(xMax, 8), yStep = niceStep(yMax - yMin, 6);
  xMax = std::ceil(xMax / xStep - 1e-9) * xStep;
  if (byError)
    yMax = std::ceil(yMax / yStep - 1e-9) * yStep;
  else
    yMin = std::floor(yMin / yStep + 1e-9) * yStep;

  const double width = 900, height = 600, left = 90, right = 250, top = 60,
               bottom = 70;
  const double plotW = width - left - right, plotH = height - top - bottom;
  auto px = [&](double x) { return left + x / xMax * plotW; };
  auto py = [&](double y) {
    return top + plotH - (y - yMin) / (yMax - yMin) * plotH;
  };

  std::string svg;
  llvm::raw_string_ostream os(svg);
  auto fmt = [](double v) { return llvm::format("%.1f", v); };
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
     << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << " "
     << height << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << "<text x=\"" << width / 2 << "\" y=\"24\" text-anchor=\"middle\" "
     << "font-size=\"16\">"
     << escapeXML(exploration.model.model + ": attention cost vs " +
                  (byError ? "output error" : "attention-mass recall") +
                  " per schedule (" + date.str() + ")")
     << "</text>\n";
  os << "<text x=\"" << width / 2 << "\" y=\"44\" text-anchor=\"middle\" "
     << "fill=\"#555\">"
     << escapeXML(std::to_string(exploration.model.layers) + " layers x " +
                  std::to_string(exploration.model.heads) + " heads, " +
                  std::to_string(exploration.sequencesUsed) +
                  " calibration sequences of " + lengthText(exploration) +
                  " tokens, " + std::to_string(exploration.options.size()) +
                  " options per layer" + perHeadText(exploration) + ", seed " +
                  std::to_string(exploration.seed))
     << "</text>\n";

  // Axes, grid and ticks.
  os << "<g stroke=\"#ddd\">\n";
  for (double x = 0; x <= xMax + 1e-9; x += xStep)
    os << "<line x1=\"" << fmt(px(x)) << "\" y1=\"" << top << "\" x2=\""
       << fmt(px(x)) << "\" y2=\"" << top + plotH << "\"/>\n";
  for (double y = yMin; y <= yMax + 1e-9 * yStep; y += yStep)
    os << "<line x1=\"" << left << "\" y1=\"" << fmt(py(y)) << "\" x2=\""
       << left + plotW << "\" y2=\"" << fmt(py(y)) << "\"/>\n";
  os << "</g>\n";
  os << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plotW
     << "\" height=\"" << plotH << "\" fill=\"none\" stroke=\"black\"/>\n";
  for (double x = 0; x <= xMax + 1e-9; x += xStep)
    os << "<text x=\"" << fmt(px(x)) << "\" y=\"" << top + plotH + 18
       << "\" text-anchor=\"middle\">" << llvm::format("%g", x) << "</text>\n";
  for (double y = yMin; y <= yMax + 1e-9 * yStep; y += yStep)
    os << "<text x=\"" << left - 8 << "\" y=\"" << fmt(py(y) + 4)
       << "\" text-anchor=\"end\">" << llvm::format("%g", y) << "</text>\n";
  os << "<text x=\"" << left + plotW / 2 << "\" y=\"" << height - 25
     << "\" text-anchor=\"middle\">"
     << (exploration.pairsCost
             ? "cost: query-key pairs visited at the sequences' own lengths, "
               "as a fraction of dense"
             : "cost: attention FLOPs as a fraction of dense (cost model)")
     << "</text>\n";
  os << "<text transform=\"translate(25," << top + plotH / 2
     << ") rotate(-90)\" text-anchor=\"middle\">"
     << (byError ? "mean relative error of the attention output (lower is "
                   "better)"
                 : "mean attention-mass recall (higher is better)")
     << "</text>\n";

  // The budget.
  if (exploration.budget <= xMax)
    os << "<line x1=\"" << fmt(px(exploration.budget)) << "\" y1=\"" << top
       << "\" x2=\"" << fmt(px(exploration.budget)) << "\" y2=\"" << top + plotH
       << "\" stroke=\"#888\" stroke-dasharray=\"6,4\"/>\n<text x=\""
       << fmt(px(exploration.budget) + 4) << "\" y=\"" << top + 14
       << "\" fill=\"#555\">budget " << llvm::format("%g", exploration.budget)
       << "</text>\n";

  os << "<g fill=\"#bbb\">\n";
  for (auto [x, y] : samples)
    os << "<circle cx=\"" << fmt(px(x)) << "\" cy=\"" << fmt(py(y))
       << "\" r=\"1.8\"/>\n";
  os << "</g>\n";
  auto polyline = [&](const std::vector<std::pair<double, double>> &points,
                      StringRef color, double strokeWidth, double radius) {
    if (points.empty())
      return;
    os << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\""
       << strokeWidth << "\" points=\"";
    for (auto [x, y] : points)
      os << fmt(px(x)) << "," << fmt(py(y)) << " ";
    os << "\"/>\n<g fill=\"" << color << "\">\n";
    for (auto [x, y] : points)
      os << "<circle cx=\"" << fmt(px(x)) << "\" cy=\"" << fmt(py(y))
         << "\" r=\"" << radius << "\"/>\n";
    os << "</g>\n";
  };
  polyline(uniform, "#e08a00", 1.2, 2.5);
  polyline(front, "#1f5fbf", 2.0, 2.5);

  if (exploration.chosen) {
    auto [x, y] = quality(*exploration.chosen);
    ScheduleSummary summary = summarize(exploration, *exploration.chosen);
    os << "<circle cx=\"" << fmt(px(x)) << "\" cy=\"" << fmt(py(y))
       << "\" r=\"7\" fill=\"none\" stroke=\"#c00\" stroke-width=\"2.5\"/>\n";
    double labelX = std::min(px(x) + 12, left + plotW - 200);
    double labelY = std::max(py(y) - 12, top + 30);
    os << "<text x=\"" << fmt(labelX) << "\" y=\"" << fmt(labelY)
       << "\" fill=\"#c00\">chosen: cost "
       << llvm::format("%.3f", summary.costFraction) << ", error "
       << llvm::format("%.4f", summary.relativeError) << ", recall "
       << llvm::format("%.3f", summary.recall) << "</text>\n";
  }

  // Legend.
  double lx = left + plotW + 20, ly = top + 10;
  os << "<circle cx=\"" << lx + 8 << "\" cy=\"" << ly << "\" r=\"2\" "
     << "fill=\"#bbb\"/><text x=\"" << lx + 22 << "\" y=\"" << ly + 4
     << "\">random schedules (" << samples.size() << ")</text>\n";
  ly += 22;
  os << "<line x1=\"" << lx << "\" y1=\"" << ly << "\" x2=\"" << lx + 16
     << "\" y2=\"" << ly << "\" stroke=\"#1f5fbf\" stroke-width=\"2\"/>"
     << "<text x=\"" << lx + 22 << "\" y=\"" << ly + 4 << "\">Pareto front ("
     << front.size() << ")</text>\n";
  ly += 22;
  os << "<line x1=\"" << lx << "\" y1=\"" << ly << "\" x2=\"" << lx + 16
     << "\" y2=\"" << ly << "\" stroke=\"#e08a00\" stroke-width=\"1.2\"/>"
     << "<text x=\"" << lx + 22 << "\" y=\"" << ly + 4
     << "\">uniform schedules, front (" << uniform.size() << ")</text>\n";
  ly += 22;
  os << "<circle cx=\"" << lx + 8 << "\" cy=\"" << ly << "\" r=\"6\" "
     << "fill=\"none\" stroke=\"#c00\" stroke-width=\"2\"/><text x=\""
     << lx + 22 << "\" y=\"" << ly + 4 << "\">chosen at the budget</text>\n";
  if (exploration.chosen) {
    ly += 30;
    os << "<text x=\"" << lx << "\" y=\"" << ly
       << "\" font-weight=\"bold\">chosen, per layer:</text>\n";
    for (auto [layer, option] : llvm::enumerate(exploration.chosen->options)) {
      ly += 16;
      os << "<text x=\"" << lx << "\" y=\"" << ly << "\" font-size=\"10\">"
         << layer << ": "
         << escapeXML(optionLabel(exploration.option(layer, option),
                                  exploration.model.heads))
         << "</text>\n";
    }
  }
  os << "</svg>\n";
  return svg;
}

//===----------------------------------------------------------------------===//
// Schedule JSON, IR, choice.json
//===----------------------------------------------------------------------===//

std::string
mlir::attn::explore::renderScheduleJSON(const Exploration &exploration,
                                        const Schedule &schedule) {
  llvm::json::Array layers;
  for (auto [layer, option] : llvm::enumerate(schedule.options))
    layers.push_back(llvm::json::Object{
        {"layer", int64_t(layer)},
        {"pattern",
         patternText(exploration.option(layer, option).attend.pattern)}});
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", llvm::json::Value(llvm::json::Object{
                                   {"layers", std::move(layers)}}));
  os << "\n";
  return out;
}

std::string
mlir::attn::explore::renderScheduleIR(const Exploration &exploration,
                                      const Schedule &schedule) {
  const ModelDescription &model = exploration.model;
  std::string queryType =
      llvm::formatv("tensor<?x{0}x?x{1}xf32>", model.heads, model.headDim);
  std::string keyType =
      llvm::formatv("tensor<?x{0}x?x{1}xf32>", model.kvHeads, model.headDim);
  std::string gatesType = llvm::formatv("tensor<?x{0}xi1>", model.heads);

  std::string ir;
  llvm::raw_string_ostream os(ir);
  for (auto [layer, index] : llvm::enumerate(schedule.options)) {
    const LayerOption &option = exploration.option(layer, index);
    bool gated = option.gate.kind != GateKind::None;
    std::string name = "layer" + std::to_string(layer);
    std::string attrs =
        llvm::formatv("{{layer = {0} : i64, pattern = {1}}", layer,
                      patternText(option.attend.pattern));
    std::string gatesArg = gated ? ", %gates: " + gatesType : "";
    std::string gatesUse =
        gated ? " gates(%gates : " + gatesType + ")" : std::string();
    if (const std::optional<TopKChoice> &topK = option.attend.topK) {
      std::string blocksType =
          llvm::formatv("tensor<?x{0}x?x{1}xi32>", model.kvHeads, topK->topK);
      os << llvm::formatv(
          "func.func @{0}_select(%q: {1}, %k: {2}) -> {3} {{\n"
          "  %blocks = attn.select_blocks %q, %k {{query_block = {4} : i64, "
          "key_block = {5} : i64, top_k = {6} : i64, keep_sink = {7} : i64, "
          "keep_local = {8} : i64} : {1}, {2} -> {3}\n"
          "  return %blocks : {3}\n}\n",
          name, queryType, keyType, blocksType, topK->queryBlock,
          topK->keyBlock, topK->topK, topK->keepSink, topK->keepLocal);
      os << llvm::formatv(
          "func.func @{0}_attend(%q: {1}, %k: {2}, %v: {2}{3}, %blocks: {4}) "
          "-> {1} {{\n"
          "  %o = attn.attention %q, %k, %v{5} blocks(%blocks : {4}) {6} : "
          "{1}, {2}, {2} -> {1}\n"
          "  return %o : {1}\n}\n",
          name, queryType, keyType, gatesArg, blocksType, gatesUse, attrs);
    } else {
      os << llvm::formatv(
          "func.func @{0}(%q: {1}, %k: {2}, %v: {2}{3}) -> {1} {{\n"
          "  %o = attn.attention %q, %k, %v{4} {5} : {1}, {2}, {2} -> {1}\n"
          "  return %o : {1}\n}\n",
          name, queryType, keyType, gatesArg, gatesUse, attrs);
    }
  }
  return ir;
}

std::string
mlir::attn::explore::renderChoiceJSON(const Exploration &exploration,
                                      const Schedule &schedule) {
  ScheduleSummary summary = summarize(exploration, schedule);
  llvm::json::Array perLayer, layers;
  for (auto [layer, index] : llvm::enumerate(schedule.options)) {
    const LayerOption &option = exploration.option(layer, index);
    const OptionResult &result = exploration.results[layer][index];
    perLayer.push_back(
        llvm::json::Object{{"layer", int64_t(layer)},
                           {"cost_fraction", result.cost.fraction},
                           {"rel_error", result.quality.relativeError},
                           {"recall", result.quality.recall}});
    std::string name = "layer" + std::to_string(layer);
    llvm::json::Array functions;
    if (option.attend.topK) {
      functions.push_back(name + "_select");
      functions.push_back(name + "_attend");
    } else {
      functions.push_back(name);
    }
    llvm::json::Value gate = nullptr;
    if (option.gate.kind != GateKind::None) {
      llvm::json::Object object{{"scores", stringifyGateKind(option.gate.kind)},
                                {"keep", option.gate.keep}};
      if (option.gate.kind == GateKind::Importance)
        object["importance"] = llvm::json::Array(exploration.importance[layer]);
      gate = std::move(object);
    }
    llvm::json::Value topK = nullptr;
    if (const std::optional<TopKChoice> &t = option.attend.topK)
      topK = llvm::json::Object{{"query_block", t->queryBlock},
                                {"key_block", t->keyBlock},
                                {"top_k", t->topK},
                                {"keep_sink", t->keepSink},
                                {"keep_local", t->keepLocal}};
    layers.push_back(
        llvm::json::Object{{"layer", int64_t(layer)},
                           {"functions", std::move(functions)},
                           {"pattern", patternText(option.attend.pattern)},
                           {"gate", std::move(gate)},
                           {"top_k", std::move(topK)}});
  }
  llvm::json::Object quality{
      {"objective", exploration.objective == Objective::RelativeError
                        ? "rel_error"
                    : exploration.objective == Objective::SquaredError
                        ? "rel_error_squared"
                        : "recall"},
      {"rel_error", summary.relativeError},
      {"recall", summary.recall},
      {"per_layer", std::move(perLayer)}};
  llvm::json::Object choice{{"budget", exploration.budget},
                            {"cost_fraction", summary.costFraction},
                            {"quality", std::move(quality)},
                            {"layers", std::move(layers)}};
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(choice))) << "\n";
  return out;
}
