//===- AttnAttrs.cpp - attn attribute syntax and verification -------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Parsing, printing and parameter verification of attn attributes. What the
// patterns *mean* (which keys they make visible) lives in PatternQueries.cpp.
//
//===----------------------------------------------------------------------===//

#include "AttrParams.h"
#include "attn/Dialect/Attn/IR/AttnAttrs.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::attn;
using syntax::AttrParam;
using syntax::AttrParamPrinter;
using syntax::parseAngledAttrParams;

#include "attn/Dialect/Attn/IR/AttnAttrInterfaces.cpp.inc"
#include "attn/Dialect/Attn/IR/AttnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "attn/Dialect/Attn/IR/AttnAttrs.cpp.inc"

void AttnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "attn/Dialect/Attn/IR/AttnAttrs.cpp.inc"
      >();
}

/// Pattern sizes (windows, strides, blocks, tokens) are positions, and attn
/// plans sequences of at most 2^40 positions: larger sizes mean nothing and
/// would overflow position arithmetic, so they are rejected.
static constexpr int64_t kMaxPatternSize = int64_t(1) << 40;

static LogicalResult
verifySize(function_ref<InFlightDiagnostic()> emitError, StringRef attr,
           StringRef name, int64_t value) {
  if (value < 1)
    return emitError() << "#attn." << attr << " expects " << name
                       << " >= 1, found " << value;
  if (value > kMaxPatternSize)
    return emitError() << "#attn." << attr << " expects " << name
                       << " <= 2^40, found " << value;
  return success();
}

//===----------------------------------------------------------------------===//
// Parameter-free patterns
//===----------------------------------------------------------------------===//

Attribute DenseAttr::parse(AsmParser &parser, Type) {
  return DenseAttr::get(parser.getContext());
}
void DenseAttr::print(AsmPrinter &) const {}

Attribute CausalAttr::parse(AsmParser &parser, Type) {
  return CausalAttr::get(parser.getContext());
}
void CausalAttr::print(AsmPrinter &) const {}

//===----------------------------------------------------------------------===//
// #attn.local
//===----------------------------------------------------------------------===//

Attribute LocalAttr::parse(AsmParser &parser, Type) {
  int64_t window = 0, dilation = 1;
  bool causal = false;
  AttrParam params[] = {AttrParam::integer("window", window, true),
                        AttrParam::integer("dilation", dilation, false),
                        AttrParam::flag("causal", causal)};
  if (parseAngledAttrParams(parser, "local", params))
    return {};
  return parser.getChecked<LocalAttr>(parser.getContext(), window, dilation,
                                      causal);
}

void LocalAttr::print(AsmPrinter &printer) const {
  printer << '<';
  AttrParamPrinter p(printer);
  p.integer("window", getWindow());
  if (getDilation() != 1)
    p.integer("dilation", getDilation());
  p.flag("causal", getCausal());
  printer << '>';
}

LogicalResult LocalAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                int64_t window, int64_t dilation, bool) {
  if (failed(verifySize(emitError, "local", "window", window)) ||
      failed(verifySize(emitError, "local", "dilation", dilation)))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// #attn.strided
//===----------------------------------------------------------------------===//

Attribute StridedAttr::parse(AsmParser &parser, Type) {
  int64_t stride = 0, block = 1;
  bool causal = false;
  AttrParam params[] = {AttrParam::integer("stride", stride, true),
                        AttrParam::integer("block", block, false),
                        AttrParam::flag("causal", causal)};
  if (parseAngledAttrParams(parser, "strided", params))
    return {};
  return parser.getChecked<StridedAttr>(parser.getContext(), stride, block,
                                        causal);
}

void StridedAttr::print(AsmPrinter &printer) const {
  printer << '<';
  AttrParamPrinter p(printer);
  p.integer("stride", getStride());
  if (getBlock() != 1)
    p.integer("block", getBlock());
  p.flag("causal", getCausal());
  printer << '>';
}

LogicalResult StridedAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t stride, int64_t block, bool) {
  if (failed(verifySize(emitError, "strided", "stride", stride)) ||
      failed(verifySize(emitError, "strided", "block", block)))
    return failure();
  // The period is stride x block keys; planning steps through periods, so a
  // product past 2^40 would overflow there (found by the catalogue: a union
  // with such a member planned for minutes and gigabytes).
  if (stride > kMaxPatternSize / block)
    return emitError() << "#attn.strided expects stride x block <= 2^40 (its "
                          "period in keys), found "
                       << stride << " x " << block;
  return success();
}

//===----------------------------------------------------------------------===//
// #attn.global
//===----------------------------------------------------------------------===//

Attribute GlobalAttr::parse(AsmParser &parser, Type) {
  int64_t tokens = 0;
  AttrParam params[] = {AttrParam::integer("tokens", tokens, true)};
  if (parseAngledAttrParams(parser, "global", params))
    return {};
  return parser.getChecked<GlobalAttr>(parser.getContext(), tokens);
}

void GlobalAttr::print(AsmPrinter &printer) const {
  printer << '<';
  AttrParamPrinter(printer).integer("tokens", getTokens());
  printer << '>';
}

LogicalResult GlobalAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 int64_t tokens) {
  return verifySize(emitError, "global", "tokens", tokens);
}

//===----------------------------------------------------------------------===//
// #attn.chunked
//===----------------------------------------------------------------------===//

Attribute ChunkedAttr::parse(AsmParser &parser, Type) {
  int64_t size = 0;
  bool causal = false;
  AttrParam params[] = {AttrParam::integer("size", size, true),
                        AttrParam::flag("causal", causal)};
  if (parseAngledAttrParams(parser, "chunked", params))
    return {};
  return parser.getChecked<ChunkedAttr>(parser.getContext(), size, causal);
}

void ChunkedAttr::print(AsmPrinter &printer) const {
  printer << '<';
  AttrParamPrinter(printer).integer("size", getSize()).flag("causal",
                                                            getCausal());
  printer << '>';
}

LogicalResult ChunkedAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t size, bool) {
  return verifySize(emitError, "chunked", "size", size);
}

//===----------------------------------------------------------------------===//
// #attn.random_blocks
//===----------------------------------------------------------------------===//

Attribute RandomBlocksAttr::parse(AsmParser &parser, Type) {
  double density = 0;
  uint64_t seed = 0;
  int64_t block = 128;
  bool diagonal = true;
  AttrParam params[] = {AttrParam::floating("density", density, true),
                        AttrParam::unsignedInteger("seed", seed, true),
                        AttrParam::integer("block", block, false),
                        AttrParam::flag("diagonal", diagonal)};
  if (parseAngledAttrParams(parser, "random_blocks", params))
    return {};
  return parser.getChecked<RandomBlocksAttr>(
      parser.getContext(), llvm::APFloat(density), seed, block, diagonal);
}

void RandomBlocksAttr::print(AsmPrinter &printer) const {
  printer << '<';
  AttrParamPrinter p(printer);
  p.floating("density", getDensityValue());
  p.next() << "seed = " << getSeed();
  if (getBlock() != 128)
    p.integer("block", getBlock());
  if (!getDiagonal())
    p.next() << "diagonal = false";
  printer << '>';
}

LogicalResult
RandomBlocksAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                         llvm::APFloat densityValue, uint64_t, int64_t block,
                         bool) {
  double density = densityValue.convertToDouble();
  if (!(density > 0.0 && density <= 1.0))
    return emitError() << "#attn.random_blocks expects density in (0, 1], "
                          "found "
                       << syntax::formatReal(density);
  return verifySize(emitError, "random_blocks", "block", block);
}

//===----------------------------------------------------------------------===//
// #attn.block_layout
//===----------------------------------------------------------------------===//

Attribute BlockLayoutAttr::parse(AsmParser &parser, Type) {
  int64_t block = 0;
  SmallVector<int64_t> shape, layout;
  AttrParam params[] = {AttrParam::integer("block", block, true),
                        AttrParam::intList("shape", shape, true),
                        AttrParam::intList("layout", layout, true)};
  if (parseAngledAttrParams(parser, "block_layout", params))
    return {};
  // Entries are checked by verify(); narrow without losing out-of-range
  // values so that verify() can name them.
  SmallVector<int8_t> entries;
  entries.reserve(layout.size());
  for (int64_t v : layout)
    entries.push_back(v == 0 || v == 1 ? static_cast<int8_t>(v) : int8_t(-1));
  return parser.getChecked<BlockLayoutAttr>(parser.getContext(), block, shape,
                                            entries);
}

void BlockLayoutAttr::print(AsmPrinter &printer) const {
  SmallVector<int64_t> entries(getLayout().begin(), getLayout().end());
  printer << '<';
  AttrParamPrinter(printer)
      .integer("block", getBlock())
      .intList("shape", getShape())
      .intList("layout", entries);
  printer << '>';
}

LogicalResult
BlockLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        int64_t block, ArrayRef<int64_t> shape,
                        ArrayRef<int8_t> layout) {
  if (failed(verifySize(emitError, "block_layout", "block", block)))
    return failure();
  if (shape.size() != 2 && shape.size() != 3)
    return emitError() << "#attn.block_layout expects shape [rows, cols] or "
                          "[heads, rows, cols], found "
                       << shape.size() << " dimensions";
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 1)
      return emitError() << "#attn.block_layout expects positive shape "
                            "dimensions, found "
                         << d;
    // A product that overflows certainly exceeds the entries given.
    if (llvm::MulOverflow(count, d, count))
      return emitError() << "#attn.block_layout of shape [" << shape
                         << "] needs more layout entries than the "
                         << layout.size() << " given";
  }
  if (static_cast<int64_t>(layout.size()) != count)
    return emitError() << "#attn.block_layout of shape [" << shape
                       << "] needs " << count << " layout entries, found "
                       << layout.size();
  for (auto [i, v] : llvm::enumerate(layout))
    if (v != 0 && v != 1)
      return emitError() << "#attn.block_layout entries must be 0 or 1; "
                            "entry "
                         << i << " is not";
  return success();
}

bool BlockLayoutAttr::isBlockVisible(int64_t head, int64_t row,
                                     int64_t col) const {
  int64_t rows = getNumRows(), cols = getNumCols();
  if (row < 0 || col < 0 || row >= rows || col >= cols)
    return false;
  int64_t matrix = getNumLayoutHeads() == 1 ? 0 : head;
  if (matrix < 0 || matrix >= getNumLayoutHeads())
    return false;
  return getLayout()[(matrix * rows + row) * cols + col] != 0;
}

//===----------------------------------------------------------------------===//
// #attn.selected
//===----------------------------------------------------------------------===//

Attribute SelectedAttr::parse(AsmParser &parser, Type) {
  int64_t queryBlock = 0, keyBlock = 0;
  bool causal = false;
  AttrParam params[] = {AttrParam::integer("query_block", queryBlock, true),
                        AttrParam::integer("key_block", keyBlock, true),
                        AttrParam::flag("causal", causal)};
  if (parseAngledAttrParams(parser, "selected", params))
    return {};
  return parser.getChecked<SelectedAttr>(parser.getContext(), queryBlock,
                                         keyBlock, causal);
}

void SelectedAttr::print(AsmPrinter &printer) const {
  printer << '<';
  AttrParamPrinter(printer)
      .integer("query_block", getQueryBlock())
      .integer("key_block", getKeyBlock())
      .flag("causal", getCausal());
  printer << '>';
}

LogicalResult SelectedAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   int64_t queryBlock, int64_t keyBlock,
                                   bool) {
  if (queryBlock < 1 || keyBlock < 1)
    return emitError() << "#attn.selected expects query_block and key_block "
                          ">= 1, found "
                       << queryBlock << " and " << keyBlock;
  if (failed(verifySize(emitError, "selected", "query_block", queryBlock)) ||
      failed(verifySize(emitError, "selected", "key_block", keyBlock)))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// #attn.union, #attn.per_head
//===----------------------------------------------------------------------===//

/// Members of a union or per-head list: patterns, never per_head.
static LogicalResult
verifyPatternMembers(function_ref<InFlightDiagnostic()> emitError,
                     StringRef kind, ArrayAttr patterns) {
  if (!patterns || patterns.empty())
    return emitError() << "#attn." << kind << " expects at least one pattern";
  for (auto [i, member] : llvm::enumerate(patterns)) {
    if (!isa<PatternAttrInterface>(member))
      return emitError() << "#attn." << kind << " entry " << i
                         << " must be an attn pattern, found " << member;
    if (isa<PerHeadAttr>(member))
      return emitError() << "#attn." << kind << " entry " << i
                         << " is a #attn.per_head, which may only appear "
                            "as the outermost pattern";
  }
  return success();
}

LogicalResult UnionAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                ArrayAttr patterns) {
  return verifyPatternMembers(emitError, "union", patterns);
}

LogicalResult PerHeadAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  ArrayAttr patterns) {
  return verifyPatternMembers(emitError, "per_head", patterns);
}

//===----------------------------------------------------------------------===//
// #attn.block_plan
//===----------------------------------------------------------------------===//

Attribute BlockPlanAttr::parse(AsmParser &parser, Type) {
  int64_t queryTile = 0, keyTile = 0;
  std::string kind;
  SmallVector<int64_t> heads, offsets, runs;
  AttrParam params[] = {AttrParam::integer("query_tile", queryTile, true),
                        AttrParam::integer("key_tile", keyTile, true),
                        AttrParam::keyword("kind", kind, true),
                        AttrParam::intList("heads", heads, false),
                        AttrParam::intList("offsets", offsets, false),
                        AttrParam::intList("runs", runs, false)};
  if (parseAngledAttrParams(parser, "block_plan", params))
    return {};
  return parser.getChecked<BlockPlanAttr>(parser.getContext(), queryTile,
                                          keyTile, kind, heads, offsets, runs);
}

void BlockPlanAttr::print(AsmPrinter &printer) const {
  printer << '<';
  AttrParamPrinter p(printer);
  p.integer("query_tile", getQueryTile()).integer("key_tile", getKeyTile());
  p.next() << "kind = " << getKind();
  if (hasTable())
    p.intList("heads", getHeads())
        .intList("offsets", getOffsets())
        .intList("runs", getRuns());
  printer << '>';
}

LogicalResult
BlockPlanAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      int64_t queryTile, int64_t keyTile, StringRef kind,
                      ArrayRef<int64_t> heads, ArrayRef<int64_t> offsets,
                      ArrayRef<int64_t> runs) {
  if (queryTile < 1 || keyTile < 1)
    return emitError() << "#attn.block_plan expects tiles >= 1, found "
                       << queryTile << " x " << keyTile;
  if (kind != "analytic" && kind != "table" && kind != "runtime")
    return emitError() << "#attn.block_plan kind must be analytic, table or "
                          "runtime, found '"
                       << kind << "'";
  bool anyTable = !heads.empty() || !offsets.empty() || !runs.empty();
  if (kind != "table" && anyTable)
    return emitError() << "#attn.block_plan of kind " << kind
                       << " has no table (heads, offsets, runs)";
  if (!anyTable)
    return success();
  if (heads.empty() || offsets.empty())
    return emitError() << "#attn.block_plan table needs heads, offsets and "
                          "runs together";
  if (runs.size() % 3 != 0)
    return emitError() << "#attn.block_plan runs are (begin, end, partial) "
                          "triples; found "
                       << runs.size() << " entries";
  int64_t plans = 0;
  for (int64_t h : heads) {
    // Plans are numbered densely, so there are at most as many as heads.
    if (h < 0 || h >= static_cast<int64_t>(heads.size()))
      return emitError() << "#attn.block_plan head plan index " << h
                         << " is outside [0, " << heads.size() << ")";
    plans = std::max(plans, h + 1);
  }
  if (offsets.size() % plans != 0 || offsets.size() / plans < 2)
    return emitError() << "#attn.block_plan has " << offsets.size()
                       << " offsets, not a multiple of (query tiles + 1) for "
                       << plans << " plans";
  int64_t perPlan = offsets.size() / plans;
  int64_t numRuns = runs.size() / 3;
  for (int64_t p = 0; p < plans; ++p) {
    ArrayRef<int64_t> own = offsets.slice(p * perPlan, perPlan);
    for (size_t i = 0; i < own.size(); ++i)
      if (own[i] < 0 || own[i] > numRuns || (i && own[i] < own[i - 1]))
        return emitError() << "#attn.block_plan offsets of plan " << p
                           << " must rise within [0, " << numRuns << "]";
  }
  for (int64_t r = 0; r < numRuns; ++r)
    if (runs[3 * r] < 0 || runs[3 * r + 1] <= runs[3 * r] ||
        (runs[3 * r + 2] != 0 && runs[3 * r + 2] != 1))
      return emitError() << "#attn.block_plan run " << r
                         << " is not (begin < end, partial in {0, 1})";
  return success();
}

//===----------------------------------------------------------------------===//
// #attn.budget
//===----------------------------------------------------------------------===//

Attribute BudgetAttr::parse(AsmParser &parser, Type) {
  double fraction = 0;
  if (parser.parseLess() || syntax::parseReal(parser, fraction) ||
      parser.parseGreater())
    return {};
  return parser.getChecked<BudgetAttr>(parser.getContext(),
                                       llvm::APFloat(fraction));
}

void BudgetAttr::print(AsmPrinter &printer) const {
  printer << '<';
  syntax::printReal(printer.getStream(), getValue());
  printer << '>';
}

LogicalResult BudgetAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 llvm::APFloat fractionValue) {
  double fraction = fractionValue.convertToDouble();
  // Written so that NaN fails too.
  if (!(fraction > 0.0 && fraction <= 1.0))
    return emitError() << "budget must be a fraction of dense cost in (0, 1], "
                          "found "
                       << syntax::formatReal(fraction);
  return success();
}

//===----------------------------------------------------------------------===//
// #attn.layer, #attn.schedule
//===----------------------------------------------------------------------===//

Attribute LayerAttr::parse(AsmParser &parser, Type) {
  int64_t index = 0;
  double budget = 0, threshold = 0;
  Attribute pattern;
  AttrParam params[] = {AttrParam::floating("budget", budget, false),
                        AttrParam::attribute("pattern", pattern, false),
                        AttrParam::floating("threshold", threshold, false)};
  if (parser.parseLess() || parser.parseInteger(index))
    return {};
  if (succeeded(parser.parseOptionalComma()) &&
      syntax::parseAttrParams(parser, "layer", params))
    return {};
  if (parser.parseGreater())
    return {};
  MLIRContext *ctx = parser.getContext();
  BudgetAttr budgetAttr;
  if (params[0].seen) {
    budgetAttr = parser.getChecked<BudgetAttr>(ctx, llvm::APFloat(budget));
    if (!budgetAttr)
      return {};
  }
  auto patternAttr = dyn_cast_or_null<PatternAttrInterface>(pattern);
  if (pattern && !patternAttr) {
    parser.emitError(parser.getNameLoc())
        << "#attn.layer pattern must be an attn pattern, found " << pattern;
    return {};
  }
  FloatAttr thresholdAttr;
  if (params[2].seen)
    thresholdAttr = FloatAttr::get(Float64Type::get(ctx), threshold);
  return parser.getChecked<LayerAttr>(ctx, index, budgetAttr, patternAttr,
                                      thresholdAttr);
}

void LayerAttr::print(AsmPrinter &printer) const {
  printer << '<' << getIndex();
  if (getBudget()) {
    printer << ", budget = ";
    syntax::printReal(printer.getStream(), getBudget().getValue());
  }
  if (getPattern()) {
    printer << ", pattern = ";
    printer.printAttribute(getPattern());
  }
  if (getThreshold()) {
    printer << ", threshold = ";
    syntax::printReal(printer.getStream(),
                      getThreshold().getValueAsDouble());
  }
  printer << '>';
}

LogicalResult LayerAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                int64_t index, BudgetAttr budget,
                                PatternAttrInterface pattern,
                                FloatAttr threshold) {
  // Bounded so that indices are ordinary keys of hash sets.
  if (index < 0 || index > std::numeric_limits<int32_t>::max())
    return emitError() << "#attn.layer index must be in [0, 2^31), found "
                       << index;
  if (!budget && !pattern && !threshold)
    return emitError() << "#attn.layer " << index
                       << " sets no budget, pattern or threshold";
  if (threshold && !std::isfinite(threshold.getValueAsDouble()))
    return emitError() << "#attn.layer " << index
                       << " threshold must be finite, found "
                       << syntax::formatReal(threshold.getValueAsDouble());
  return success();
}

LogicalResult
ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                     ArrayAttr layers) {
  llvm::DenseSet<int64_t> seen;
  for (auto [i, entry] : llvm::enumerate(layers)) {
    auto layer = dyn_cast<LayerAttr>(entry);
    if (!layer)
      return emitError() << "#attn.schedule entry " << i
                         << " must be an #attn.layer, found " << entry;
    if (!seen.insert(layer.getIndex()).second)
      return emitError() << "#attn.schedule names layer " << layer.getIndex()
                         << " more than once";
  }
  return success();
}

LayerAttr ScheduleAttr::lookup(int64_t index) const {
  for (LayerAttr layer : getEntries())
    if (layer.getIndex() == index)
      return layer;
  return {};
}
