//===- Report.cpp - attn-report pass --------------------------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "PlanSupport.h"
#include "attn/Cost/CostModel.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Gate/HeadGate.h"

#include "mlir/IR/Matchers.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir {
namespace attn {
#define GEN_PASS_DEF_ATTNREPORT
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace attn
} // namespace mlir

using namespace mlir;
using namespace mlir::attn;

namespace {
/// One op's row of the report.
struct ReportRow {
  int64_t index;
  /// "attention" or "sparse_branches".
  std::string opKind = "attention";
  std::string location;
  std::string pattern;
  AttentionProblem problem;
  std::string elementType;
  TileSizes tiles;
  PlanKind kind;
  /// How gates were counted: "none", "static" (constant gates: the heads
  /// some batch row activates), "budget" (an attn.head_gate with a budget:
  /// the most expensive heads it could keep) or "dynamic" (all heads).
  std::string gates;
  AttentionCost cost;
};

std::string printed(Attribute attr) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << attr;
  return s;
}

std::string printed(Location loc) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    os << file.getFilename().getValue() << ":" << file.getLine() << ":"
       << file.getColumn();
  else
    loc.print(os);
  return s;
}

struct ReportPass : public mlir::attn::impl::AttnReportBase<ReportPass> {
  using Base::Base;

  /// The call's B, Sq and Skv (static, or the options' assumed values).
  struct CallSizes {
    int64_t b, sq, skv;
  };

  /// `op`'s call sizes, refused when its query-key pairs would not fit the
  /// 64-bit counts (rather than print wrapped numbers).
  template <typename OpT>
  FailureOr<CallSizes> callSizes(OpT op) {
    RankedTensorType q = op.getQueryType(), k = op.getKeyType();
    auto size = [&](int64_t value, int64_t assumed, StringRef what,
                    StringRef option) {
      return staticOrAssumed(op, value, assumed, "attn-report", what, option);
    };
    FailureOr<int64_t> b = size(q.getDimSize(0) != ShapedType::kDynamic
                                    ? q.getDimSize(0)
                                    : k.getDimSize(0),
                                batch, "batch size", "batch");
    FailureOr<int64_t> sq =
        size(q.getDimSize(2), queryLen, "query length (Sq)", "query-len");
    FailureOr<int64_t> skv =
        size(k.getDimSize(2), keyLen, "key length (Skv)", "key-len");
    if (failed(b) || failed(sq) || failed(skv))
      return failure();
    double elements = double(*b) * double(op.getNumQueryHeads()) *
                      double(*sq) * double(*skv);
    if (elements > 0x1p62)
      return op.emitError() << "attn-report cannot count " << *b << " x "
                            << op.getNumQueryHeads() << " x " << *sq << " x "
                            << *skv << " query-key pairs in 64 bits";
    return CallSizes{*b, *sq, *skv};
  }

  /// The cost model's problem of `op` at `sizes`; `blockSlots` is the
  /// selected blocks per query block (0: none).
  template <typename OpT>
  static AttentionProblem problemOf(OpT op, const CallSizes &sizes,
                                    int64_t blockSlots) {
    RankedTensorType q = op.getQueryType();
    auto v = cast<RankedTensorType>(op.getValue().getType());
    return {sizes.b,
            op.getNumQueryHeads(),
            op.getNumKeyValueHeads(),
            sizes.sq,
            sizes.skv,
            op.getHeadDim(),
            v.getDimSize(3),
            q.getElementType().getIntOrFloatBitWidth() / 8,
            blockSlots};
  }

  FailureOr<ReportRow> analyze(AttentionOp op, int64_t index,
                               const TargetDescription &desc) {
    RankedTensorType q = op.getQueryType();
    FailureOr<CallSizes> sizes = callSizes(op);
    if (failed(sizes))
      return failure();
    FailureOr<TileSizes> tiles = chooseTiles(op, desc, queryTile, keyTile);
    if (failed(tiles))
      return failure();
    FailureOr<BlockPlan> plan = BlockPlan::build(
        op.getEffectivePattern(),
        {op.getNumQueryHeads(), sizes->sq, sizes->skv}, *tiles,
        [&] { return op.emitError(); });
    if (failed(plan))
      return failure();

    ReportRow row;
    row.index = index;
    row.location = printed(op.getLoc());
    row.pattern = printed(op.getEffectivePattern());
    {
      std::string s;
      llvm::raw_string_ostream os(s);
      os << q.getElementType();
      row.elementType = s;
    }
    row.problem = problemOf(op, *sizes, 0);
    if (Value blocks = op.getBlocks()) {
      // Each slot names one key block of key_block keys: that many key
      // tiles (the kernels visit whole tiles of a listed block).
      int64_t slots = cast<RankedTensorType>(blocks.getType()).getDimSize(3);
      int64_t tilesPerBlock = 1;
      if (auto selected = dyn_cast<SelectedAttr>(op.getEffectivePattern()))
        tilesPerBlock = ceilDiv(selected.getKeyBlock(), tiles->key);
      row.problem.selectedTilesPerQueryTile =
          ShapedType::isDynamic(slots) ? 0 : slots * tilesPerBlock;
    }
    row.tiles = *tiles;
    row.kind = plan->getOverallKind();
    SmallVector<bool> active;
    row.gates = countedHeads(op, active);
    row.cost = estimateCost(*plan, row.problem, desc, [&](int64_t h) {
      return active.empty() || active[h];
    });
    return row;
  }

  /// NSA's combined form: one row whose counts are the three branches'
  /// (estimateSparseBranchesCost), on the kernels' tiles: the selected
  /// branch's query blocks by its key blocks.
  FailureOr<ReportRow> analyzeBranches(SparseBranchesOp op, int64_t index,
                                       const TargetDescription &desc) {
    RankedTensorType q = op.getQueryType();
    FailureOr<CallSizes> sizes = callSizes(op);
    if (failed(sizes))
      return failure();
    SelectedAttr selected = op.getSelected();
    TileSizes tiles{selected.getQueryBlock(), selected.getKeyBlock()};
    AttentionExtent planProblem{op.getNumQueryHeads(), sizes->sq, sizes->skv};
    auto emitError = [&] { return op.emitError(); };
    FailureOr<BlockPlan> selectedPlan =
        BlockPlan::build(selected, planProblem, tiles, emitError);
    if (failed(selectedPlan))
      return failure();
    FailureOr<BlockPlan> windowPlan =
        BlockPlan::build(op.getWindow(), planProblem, tiles, emitError);
    if (failed(windowPlan))
      return failure();

    const int64_t block = op.getCompressBlock();
    const int64_t stride = op.getEffectiveCompressStride();
    const int64_t topK = op.getBlocks().getType().getDimSize(3);
    SparseBranchesProblem problem;
    problem.attention = problemOf(op, *sizes, topK);
    problem.compressBlock = block;
    problem.compressStride = stride;
    problem.slots =
        sizes->skv < block ? 0 : (sizes->skv - block) / stride + 1;
    problem.causal = op.getCausal();
    problem.topK = topK;
    problem.weightBytes =
        op.getWeights().getType().getElementType().getIntOrFloatBitWidth() / 8;

    ReportRow row;
    row.index = index;
    row.opKind = "sparse_branches";
    row.location = printed(op.getLoc());
    {
      std::string s;
      llvm::raw_string_ostream os(s);
      os << "branches(compressed " << block << "/" << stride
         << (problem.causal ? " causal" : "") << ", top-" << topK << " of "
         << selected.getKeyBlock() << ", " << op.getWindow() << ")";
      row.pattern = s;
      s.clear();
      os << q.getElementType();
      row.elementType = s;
    }
    row.problem = problem.attention;
    row.tiles = tiles;
    row.kind = PlanKind::Runtime;
    row.gates = "none";
    row.cost = estimateSparseBranchesCost(problem, *selectedPlan, *windowPlan,
                                          desc);
    return row;
  }

  /// Which heads to count for `op`'s gates (empty `active`: all), and how.
  static std::string countedHeads(AttentionOp op, SmallVector<bool> &active) {
    Value gates = op.getGates();
    if (Value active = op.getActive())
      if (auto list = active.getDefiningOp<ActiveHeadsOp>())
        gates = list.getGates(); // The same heads, compacted.
    if (!gates)
      return op.getActive() ? "dynamic" : "none";
    int64_t heads = op.getNumQueryHeads();
    DenseElementsAttr constant;
    if (matchPattern(gates, m_Constant(&constant))) {
      active.assign(heads, false);
      auto it = constant.value_begin<bool>();
      for (int64_t i = 0, e = constant.getNumElements(); i < e; ++i, ++it)
        active[i % heads] = active[i % heads] || *it;
      return "static";
    }
    auto gate = gates.getDefiningOp<HeadGateOp>();
    if (!gate || !gate.getBudgetAttr())
      return "dynamic";
    // The router may pick any heads within the gate's budget: count the
    // costliest set it could keep (heads by cost, the prefix that fits, at
    // least min_active).
    SmallVector<double> costs(heads, 1.0);
    if (std::optional<ArrayRef<int64_t>> given = gate.getHeadCosts())
      for (int64_t h = 0; h < heads; ++h)
        costs[h] = double((*given)[h]);
    SmallVector<bool> keep(heads);
    selectHeads(costs, gate.getHeadCosts() ? ArrayRef<double>(costs)
                                           : ArrayRef<double>(),
                HeadGateRule::budget(gate.getBudgetAttr().getValue(),
                                     gate.getMinActive()),
                keep);
    active.assign(keep.begin(), keep.end());
    return "budget";
  }

  void runOnOperation() override {
    const TargetDescription *desc =
        lookupTargetOrError(getOperation(), target);
    if (!desc)
      return signalPassFailure();
    if (format != "table" && format != "json") {
      getOperation().emitError()
          << "attn-report format must be 'table' or 'json', found '"
          << format << "'";
      return signalPassFailure();
    }
    std::vector<ReportRow> rows;
    int64_t index = 0;
    WalkResult result = getOperation().walk([&](Operation *op) {
      FailureOr<ReportRow> row;
      if (auto attention = dyn_cast<AttentionOp>(op))
        row = analyze(attention, index++, *desc);
      else if (auto branches = dyn_cast<SparseBranchesOp>(op))
        row = analyzeBranches(branches, index++, *desc);
      else
        return WalkResult::advance();
      if (failed(row))
        return WalkResult::interrupt();
      rows.push_back(std::move(*row));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    // Selection and compression: their own cost entries (static shapes
    // only; a dynamic size is reported as not counted).
    projections.clear();
    getOperation().walk([&](Operation *op) {
      if (auto select = dyn_cast<SelectBlocksOp>(op))
        analyzeSelect(select, *desc);
      else if (auto compress = dyn_cast<CompressKVOp>(op))
        analyzeCompress(compress, *desc);
    });
    if (format == "json")
      printJSON(rows, *desc);
    else
      printTable(rows, *desc);
  }

  /// One attn.select_blocks or attn.compress_kv op of the report.
  struct ProjectionRow {
    std::string kind, location, shape;
    bool counted = false;
    ProjectionCost cost;
  };
  std::vector<ProjectionRow> projections;

  static std::string shapeText(ArrayRef<int64_t> dims) {
    std::string text;
    llvm::raw_string_ostream os(text);
    llvm::interleave(
        dims, os,
        [&](int64_t d) {
          if (ShapedType::isDynamic(d))
            os << "?";
          else
            os << d;
        },
        "x");
    return text;
  }

  void analyzeSelect(SelectBlocksOp op, const TargetDescription &desc) {
    auto q = cast<RankedTensorType>(op.getQuery().getType());
    auto k = cast<RankedTensorType>(op.getKey().getType());
    ProjectionRow row{"select_blocks", printed(op.getLoc()),
                      shapeText(q.getShape()) + " / " + shapeText(k.getShape()),
                      q.hasStaticShape() && k.hasStaticShape(), {}};
    if (row.counted)
      row.cost = estimateSelectCost(
          {q.getDimSize(0), q.getDimSize(1), k.getDimSize(1), q.getDimSize(2),
           k.getDimSize(2), q.getDimSize(3), int64_t(op.getQueryBlock()),
           int64_t(op.getKeyBlock()), int64_t(op.getTopK()),
           static_cast<bool>(op.getPooledKeys()),
           q.getElementType().getIntOrFloatBitWidth() / 8},
          desc);
    projections.push_back(std::move(row));
  }

  void analyzeCompress(CompressKVOp op, const TargetDescription &desc) {
    auto k = cast<RankedTensorType>(op.getKey().getType());
    auto v = cast<RankedTensorType>(op.getValue().getType());
    ProjectionRow row{"compress_kv", printed(op.getLoc()),
                      shapeText(k.getShape()) + " / " + shapeText(v.getShape()),
                      k.hasStaticShape() && v.hasStaticShape(), {}};
    if (row.counted)
      row.cost = estimateCompressCost(
          {k.getDimSize(0), k.getDimSize(1), k.getDimSize(2), k.getDimSize(3),
           v.getDimSize(3), int64_t(op.getBlock()), op.getEffectiveStride(),
           k.getElementType().getIntOrFloatBitWidth() / 8},
          desc);
    projections.push_back(std::move(row));
  }

  void printJSON(ArrayRef<ReportRow> rows, const TargetDescription &desc) {
    llvm::json::Array ops;
    for (const ReportRow &row : rows) {
      llvm::json::Object entry{
          {"op", row.index},
          {"kind", row.opKind},
          {"location", row.location},
          {"pattern", row.pattern},
          {"shape",
           llvm::json::Object{{"batch", row.problem.batch},
                              {"query_heads", row.problem.queryHeads},
                              {"kv_heads", row.problem.keyValueHeads},
                              {"query_len", row.problem.querySeqLen},
                              {"key_len", row.problem.keySeqLen},
                              {"head_dim", row.problem.headDim},
                              {"value_dim", row.problem.valueDim},
                              {"element_type", row.elementType}}},
          {"tile", llvm::json::Object{{"query", row.tiles.query},
                                      {"key", row.tiles.key}}},
          {"plan", stringifyPlanKind(row.kind)},
          {"gates", row.gates},
      };
      llvm::json::Object cost = costToJSON(row.cost);
      for (auto &kv : cost)
        entry[kv.first] = std::move(kv.second);
      ops.push_back(std::move(entry));
    }
    llvm::json::Array projected;
    for (const ProjectionRow &row : projections) {
      llvm::json::Object entry{{"kind", row.kind},
                               {"location", row.location},
                               {"shape", row.shape},
                               {"counted", row.counted}};
      if (row.counted)
        for (auto &kv : projectionCostToJSON(row.cost))
          entry[kv.first] = std::move(kv.second);
      projected.push_back(std::move(entry));
    }
    llvm::json::Object report{
        {"version", 1},
        {"target", llvm::json::Object{{"name", desc.name},
                                      {"description", desc.description}}},
        {"ops", std::move(ops)},
        {"projections", std::move(projected)}};
    llvm::outs() << llvm::formatv("{0:2}", llvm::json::Value(std::move(report)))
                 << "\n";
  }

  void printTable(ArrayRef<ReportRow> rows, const TargetDescription &desc) {
    llvm::raw_ostream &os = llvm::outs();
    os << "attn-report: target " << desc.name << " (" << desc.description
       << ")\n";
    os << llvm::formatv("{0,-3} {1,-44} {2,-26} {3,-9} {4,-8} {5,8} {6,17} "
                        "{7,10} {8,10} {9,10} {10,-7}\n",
                        "op", "pattern", "B x Hq/Hkv x Sq x Skv x D", "tiles",
                        "plan", "density", "tiles visited", "GFLOP",
                        "MB", "est. us", "bound");
    for (const ReportRow &row : rows) {
      std::string pattern = row.pattern.size() > 44
                                ? row.pattern.substr(0, 41) + "..."
                                : row.pattern;
      std::string shape = llvm::formatv(
          "{0}x{1}/{2}x{3}x{4}x{5}", row.problem.batch, row.problem.queryHeads,
          row.problem.keyValueHeads, row.problem.querySeqLen,
          row.problem.keySeqLen, row.problem.headDim);
      std::string tiles =
          llvm::formatv("{0}x{1}", row.tiles.query, row.tiles.key);
      std::string visited = llvm::formatv("{0}/{1}", row.cost.visitedTiles(),
                                          row.cost.totalTiles);
      os << llvm::formatv(
          "{0,-3} {1,-44} {2,-26} {3,-9} {4,-8} {5,8:F4} {6,17} {7,10:F3} "
          "{8,10:F3} {9,10:F2} {10,-7}{11}\n",
          row.index, pattern, shape, tiles, stringifyPlanKind(row.kind),
          row.cost.density, visited,
          (row.cost.matmulFlops + row.cost.softmaxFlops) / 1e9,
          row.cost.totalBytes() / 1e6, row.cost.estimateSeconds * 1e6,
          row.cost.bound,
          row.gates == "dynamic" ? " (runtime gates: all heads counted)"
          : row.gates == "budget" ? " (gate budget: costliest heads counted)"
          : row.gates == "static" ? " (static gates)"
                                  : "");
    }
    for (const ProjectionRow &row : projections) {
      if (!row.counted) {
        os << llvm::formatv("{0,-14} {1,-40} not counted: dynamic sizes\n",
                            row.kind, row.shape);
        continue;
      }
      os << llvm::formatv(
          "{0,-14} {1,-40} {2,10:F3} GFLOP {3,10:F3} MB {4,10:F2} est. us "
          "{5}\n",
          row.kind, row.shape,
          (row.cost.poolFlops + row.cost.scoreFlops + row.cost.compareOps) /
              1e9,
          row.cost.totalBytes() / 1e6, row.cost.estimateSeconds * 1e6,
          row.cost.bound);
    }
  }
};
} // namespace
