//===- Schedule.cpp - Per-layer schedules: JSON form and application ------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/Transforms/Schedule.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/JSON.h"

#include "attn/Support/Format.h"
#include "mlir/IR/Verifier.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

//===----------------------------------------------------------------------===//
// JSON form
//===----------------------------------------------------------------------===//

ScheduleAttr mlir::attn::parseScheduleJSON(StringRef text, MLIRContext *context,
                                           std::string &error) {
  context->getOrLoadDialect<AttnDialect>();
  // llvm::json recurses per nesting level; a schedule nests four deep, so
  // refuse absurd nesting before it can exhaust the stack.
  int depth = 0, deepest = 0;
  bool inString = false, escaped = false;
  for (char c : text) {
    if (inString) {
      escaped = !escaped && c == '\\';
      if (c == '"' && !escaped)
        inString = false;
      continue;
    }
    if (c == '"')
      inString = true;
    else if (c == '[' || c == '{')
      deepest = std::max(deepest, ++depth);
    else if (c == ']' || c == '}')
      --depth;
  }
  if (deepest > 64) {
    error = "nesting deeper than 64 levels (" + std::to_string(deepest) +
            "); a schedule is an object with a \"layers\" array of objects";
    return {};
  }
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(text);
  if (!parsed) {
    error = "invalid JSON: " + llvm::toString(parsed.takeError());
    return {};
  }
  const llvm::json::Object *root = parsed->getAsObject();
  const llvm::json::Array *layers = root ? root->getArray("layers") : nullptr;
  if (!layers) {
    error = "expected an object with a \"layers\" array";
    return {};
  }

  // Diagnostics from attribute verifiers land in `error` instead of stderr.
  std::string diagnostics;
  ScopedDiagnosticHandler handler(context, [&](Diagnostic &diag) {
    diagnostics = diag.str();
    return success();
  });
  auto fail = [&](size_t index, const Twine &message) {
    error = ("layers[" + Twine(index) + "]: " + message).str();
    return ScheduleAttr();
  };

  SmallVector<Attribute> entries;
  for (auto [i, value] : llvm::enumerate(*layers)) {
    const llvm::json::Object *entry = value.getAsObject();
    if (!entry)
      return fail(i, "expected an object");
    for (const auto &kv : *entry)
      if (kv.first != "layer" && kv.first != "budget" &&
          kv.first != "pattern" && kv.first != "threshold")
        return fail(i, "unknown field \"" + kv.first.str() +
                           "\" (expected layer, budget, pattern, threshold)");
    std::optional<int64_t> index = entry->getInteger("layer");
    std::optional<double> number =
        entry->get("layer") ? entry->get("layer")->getAsNumber() : std::nullopt;
    if (!index || !number || *number < 0 || *number >= 2147483648.0)
      return fail(i, "expected an integer \"layer\" in [0, 2^31)");
    BudgetAttr budget;
    if (const llvm::json::Value *b = entry->get("budget")) {
      std::optional<double> fraction = b->getAsNumber();
      if (!fraction)
        return fail(i, "expected a number for \"budget\"");
      budget = BudgetAttr::getChecked(
          [&]() { return emitError(UnknownLoc::get(context)); }, context,
          llvm::APFloat(*fraction));
      if (!budget)
        return fail(i, diagnostics);
    }
    PatternAttrInterface pattern;
    if (const llvm::json::Value *p = entry->get("pattern")) {
      std::optional<StringRef> source = p->getAsString();
      if (!source)
        return fail(i, "expected a string for \"pattern\" (an attn pattern "
                       "attribute such as \"#attn.causal\")");
      Attribute attr = parseAttribute(*source, context);
      if (!attr)
        return fail(i, "cannot parse pattern \"" + *source + "\": " +
                           diagnostics);
      pattern = dyn_cast<PatternAttrInterface>(attr);
      if (!pattern)
        return fail(i, "\"" + *source + "\" is not an attn pattern");
    }
    FloatAttr threshold;
    if (const llvm::json::Value *t = entry->get("threshold")) {
      std::optional<double> value = t->getAsNumber();
      if (!value)
        return fail(i, "expected a number for \"threshold\"");
      threshold = FloatAttr::get(Float64Type::get(context), *value);
    }
    LayerAttr layer = LayerAttr::getChecked(
        [&]() { return emitError(UnknownLoc::get(context)); }, context, *index,
        budget, pattern, threshold);
    if (!layer)
      return fail(i, diagnostics);
    entries.push_back(layer);
  }
  ScheduleAttr schedule = ScheduleAttr::getChecked(
      [&]() { return emitError(UnknownLoc::get(context)); }, context,
      ArrayAttr::get(context, entries));
  if (!schedule)
    error = diagnostics;
  return schedule;
}

std::string mlir::attn::printScheduleJSON(ScheduleAttr schedule) {
  llvm::json::Array layers;
  for (LayerAttr layer : schedule.getEntries()) {
    llvm::json::Object entry{{"layer", layer.getIndex()}};
    if (layer.getBudget())
      entry["budget"] = layer.getBudget().getValue();
    if (layer.getThreshold())
      entry["threshold"] = layer.getThreshold().getValueAsDouble();
    if (layer.getPattern()) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << layer.getPattern();
      entry["pattern"] = text;
    }
    layers.push_back(std::move(entry));
  }
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}",
                      llvm::json::Value(llvm::json::Object{
                          {"layers", std::move(layers)}}));
  return out;
}

//===----------------------------------------------------------------------===//
// Application
//===----------------------------------------------------------------------===//

/// The layer index of an attn op, if it carries one.
static std::optional<int64_t> getLayerIndex(Operation *op) {
  if (auto attention = dyn_cast<AttentionOp>(op))
    return attention.getLayer();
  if (auto gate = dyn_cast<HeadGateOp>(op))
    return gate.getLayer();
  return std::nullopt;
}

static std::string listLayers(ScheduleAttr schedule) {
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleaveComma(schedule.getEntries(), os,
                        [&](LayerAttr l) { os << l.getIndex(); });
  return s;
}

LogicalResult mlir::attn::applySchedule(ModuleOp module,
                                        ScheduleAttr schedule) {
  // First check everything, then change anything: a failed application
  // leaves the module as it was.
  SmallVector<std::pair<Operation *, LayerAttr>> work;
  llvm::DenseSet<int64_t> usedLayers;
  bool failedAny = false;
  module.walk([&](Operation *op) {
    std::optional<int64_t> index = getLayerIndex(op);
    if (!index)
      return;
    usedLayers.insert(*index);
    LayerAttr entry = schedule.lookup(*index);
    if (!entry) {
      op->emitError() << "layer " << *index
                      << " has no entry in the schedule (scheduled layers: "
                      << listLayers(schedule) << ")";
      failedAny = true;
      return;
    }
    if (auto attention = dyn_cast<AttentionOp>(op)) {
      if (PatternAttrInterface pattern = entry.getPattern()) {
        AttentionShape shape{attention.getNumQueryHeads(),
                             attention.getQueryType().getDimSize(2),
                             attention.getKeyType().getDimSize(2)};
        if (failed(pattern.verifyForShape(
                [&]() {
                  return op->emitError()
                         << "layer " << *index << "'s pattern does not fit: ";
                },
                shape))) {
          failedAny = true;
          return;
        }
        if (pattern.isRuntimeSelected() && !attention.getBlocks()) {
          op->emitError() << "layer " << *index << "'s pattern " << pattern
                          << " needs a blocks operand, which this op lacks";
          failedAny = true;
          return;
        }
        if (!pattern.isRuntimeSelected() && attention.getBlocks()) {
          op->emitError() << "layer " << *index << "'s pattern " << pattern
                          << " has no #attn.selected for this op's blocks "
                             "operand";
          failedAny = true;
          return;
        }
        // Anything else the op's verifier would refuse (e.g. selected block
        // sizes that do not match the blocks operand), checked on a copy.
        Operation *copy = op->clone();
        cast<AttentionOp>(copy).setPatternAttr(pattern);
        std::string message;
        {
          ScopedDiagnosticHandler capture(op->getContext(),
                                          [&](Diagnostic &diag) {
                                            if (message.empty())
                                              message = diag.str();
                                            return success();
                                          });
          if (failed(mlir::verify(copy, /*verifyRecursively=*/false)) &&
              message.empty())
            message = "the op would not verify";
        }
        copy->destroy();
        if (!message.empty()) {
          op->emitError() << "layer " << *index << "'s pattern " << pattern
                          << " does not fit this op: " << message;
          failedAny = true;
          return;
        }
      }
    } else if (auto gate = dyn_cast<HeadGateOp>(op)) {
      if (entry.getThreshold() &&
          !std::isfinite(float(entry.getThreshold().getValueAsDouble()))) {
        op->emitError() << "layer " << *index << "'s threshold "
                        << formatReal(entry.getThreshold().getValueAsDouble())
                        << " does not fit the gate's f32 threshold";
        failedAny = true;
        return;
      }
      if (entry.getThreshold() && !gate.getThresholdAttr()) {
        op->emitError() << "layer " << *index
                        << " schedules a threshold, but this attn.head_gate "
                           "is gated by "
                        << (gate.getBudgetAttr() ? "a budget"
                                                 : "a runtime budget")
                        << "; give it a threshold to schedule it";
        failedAny = true;
        return;
      }
      if (entry.getBudget() && !gate.getBudgetAttr() &&
          !gate.getThresholdAttr()) {
        op->emitError() << "layer " << *index
                        << " schedules a budget, but this attn.head_gate is "
                           "gated by a runtime budget; give it a budget "
                           "attribute to schedule it";
        failedAny = true;
        return;
      }
      if (entry.getBudget() && gate.getThresholdAttr() &&
          !entry.getThreshold()) {
        op->emitError() << "layer " << *index
                        << " schedules a budget, but this attn.head_gate is "
                           "gated by a threshold; give it a budget attribute "
                           "to schedule it";
        failedAny = true;
        return;
      }
    }
    work.emplace_back(op, entry);
  });

  for (LayerAttr entry : schedule.getEntries())
    if (!usedLayers.contains(entry.getIndex())) {
      module.emitError() << "schedule names layer " << entry.getIndex()
                         << ", but no attn op carries layer = "
                         << entry.getIndex();
      failedAny = true;
    }
  if (failedAny)
    return failure();

  for (auto [op, entry] : work) {
    if (auto attention = dyn_cast<AttentionOp>(op)) {
      if (entry.getBudget())
        attention.setBudgetAttr(entry.getBudget());
      if (entry.getPattern())
        attention.setPatternAttr(entry.getPattern());
    } else if (auto gate = dyn_cast<HeadGateOp>(op)) {
      if (entry.getThreshold())
        gate.setThresholdAttr(FloatAttr::get(
            Float32Type::get(op->getContext()),
            entry.getThreshold().getValueAsDouble()));
      else if (entry.getBudget())
        gate.setBudgetAttr(entry.getBudget());
    }
  }
  return success();
}
