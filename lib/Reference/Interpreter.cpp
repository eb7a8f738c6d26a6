//===- Interpreter.cpp - Evaluate attn IR on host tensors -----------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Runs a func.func op by op on HostTensors: attn.attention (with gates,
// active lists or selected blocks), attn.select_blocks, attn.compress_kv and
// attn.sparse_branches through the reference above, attn.head_gate through lib/Gate, and the
// tensor, linalg and arith ops that attn's passes and users' projections
// produce. Unknown ops are reported, never guessed.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Gate/HeadGate.h"
#include "attn/Reference/Reference.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

namespace {
class Evaluator {
public:
  explicit Evaluator(std::string &error) : error(error) {}

  FailureOr<std::vector<HostTensor>> run(func::FuncOp func,
                                         ArrayRef<HostTensor> arguments) {
    Block &body = func.getBody().front();
    if (body.getNumArguments() != arguments.size())
      return fail(func, "expects " + std::to_string(body.getNumArguments()) +
                            " arguments, found " +
                            std::to_string(arguments.size()));
    for (auto [arg, value] : llvm::zip(body.getArguments(), arguments))
      values[arg] = value;
    for (Operation &op : body) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        std::vector<HostTensor> results;
        for (Value v : ret.getOperands())
          results.push_back(values.lookup(v));
        return results;
      }
      if (failed(step(&op)))
        return failure();
    }
    return fail(func, "has no func.return");
  }

private:
  LogicalResult fail(Operation *op, const std::string &message) {
    std::string name = op->getName().getStringRef().str();
    error = "'" + name + "' " + message;
    return failure();
  }

  static HostTensor scalar(double v) {
    HostTensor t;
    t.data = {v};
    return t;
  }

  int64_t resolve(OpFoldResult ofr) {
    if (auto attr = dyn_cast<Attribute>(ofr))
      return cast<IntegerAttr>(attr).getInt();
    return static_cast<int64_t>(values.lookup(cast<Value>(ofr)).data[0]);
  }

  static FailureOr<HostTensor> fromElements(DenseElementsAttr attr) {
    auto type = cast<ShapedType>(attr.getType());
    HostTensor t(type.getShape());
    Type element = type.getElementType();
    int64_t i = 0;
    if (isa<FloatType>(element)) {
      for (APFloat v : attr.getValues<APFloat>())
        t.data[i++] = v.convertToDouble();
    } else if (element.isInteger(1)) {
      for (bool v : attr.getValues<bool>())
        t.data[i++] = v ? 1.0 : 0.0;
    } else if (element.isIntOrIndex()) {
      for (APInt v : attr.getValues<APInt>())
        t.data[i++] = double(v.getSExtValue());
    } else {
      return failure();
    }
    return t;
  }

  LogicalResult step(Operation *op) {
    return llvm::TypeSwitch<Operation *, LogicalResult>(op)
        .Case([&](arith::ConstantOp c) -> LogicalResult {
          Attribute value = c.getValue();
          if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
            FailureOr<HostTensor> t = fromElements(dense);
            if (failed(t))
              return fail(op, "has elements of an unsupported type");
            values[c] = *t;
          } else if (auto f = dyn_cast<FloatAttr>(value)) {
            values[c] = scalar(f.getValueAsDouble());
          } else if (auto i = dyn_cast<IntegerAttr>(value)) {
            values[c] = scalar(double(i.getValue().getSExtValue()));
          } else {
            return fail(op, "has an unsupported value");
          }
          return success();
        })
        .Case([&](tensor::EmptyOp e) {
          SmallVector<int64_t> shape;
          unsigned dynamic = 0;
          for (int64_t d : e.getType().getShape())
            shape.push_back(ShapedType::isDynamic(d)
                                ? int64_t(values.lookup(e.getDynamicSizes()[dynamic++]).data[0])
                                : d);
          values[e] = HostTensor(shape);
          return success();
        })
        .Case([&](tensor::DimOp d) {
          const HostTensor &source = values.lookup(d.getSource());
          int64_t index = int64_t(values.lookup(d.getIndex()).data[0]);
          values[d] = scalar(double(source.shape[index]));
          return success();
        })
        .Case([&](linalg::FillOp f) {
          HostTensor out = values.lookup(f.getOutputs()[0]);
          double v = values.lookup(f.getInputs()[0]).data[0];
          std::fill(out.data.begin(), out.data.end(), v);
          values[f.getResult(0)] = out;
          return success();
        })
        .Case([&](tensor::ExtractSliceOp s) { return extractSlice(s); })
        .Case([&](tensor::InsertSliceOp s) { return insertSlice(s); })
        .Case([&](tensor::ConcatOp c) { return concat(c); })
        .Case([&](linalg::GenericOp g) { return generic(g); })
        .Case([&](ActiveHeadsOp a) {
          const HostTensor &gates = values.lookup(a.getGates());
          HostTensor pairs;
          for (int64_t i = 0, e = gates.numElements(); i < e; ++i)
            if (gates.data[i] != 0.0)
              pairs.data.push_back(double(i));
          pairs.shape = {int64_t(pairs.data.size())};
          values[a] = pairs;
          return success();
        })
        .Case([&](AttentionOp a) {
          const HostTensor *gates =
              a.getGates() ? &values[a.getGates()] : nullptr;
          HostTensor fromPairs;
          if (Value active = a.getActive()) {
            const HostTensor &query = values.lookup(a.getQuery());
            fromPairs = HostTensor(
                ArrayRef<int64_t>{query.shape[0], query.shape[1]});
            for (double pair : values.lookup(active).data)
              fromPairs.data[int64_t(pair)] = 1.0;
            gates = &fromPairs;
          }
          const HostTensor *blocks =
              a.getBlocks() ? &values[a.getBlocks()] : nullptr;
          values[a] = referenceAttention(
              values.lookup(a.getQuery()), values.lookup(a.getKey()),
              values.lookup(a.getValue()), a.getEffectivePattern(),
              a.getEffectiveScale(), gates, blocks);
          return success();
        })
        .Case([&](HeadGateOp g) { return headGate(g); })
        .Case([&](SelectBlocksOp s) {
          SelectBlocksParams params;
          params.queryBlock = s.getQueryBlock();
          params.keyBlock = s.getKeyBlock();
          params.topK = s.getTopK();
          params.keepSink = s.getKeepSink();
          params.keepLocal = s.getKeepLocal();
          params.causal = s.getCausal();
          const HostTensor *pooled =
              s.getPooledKeys() ? &values[s.getPooledKeys()] : nullptr;
          values[s] = referenceSelectBlocks(values.lookup(s.getQuery()),
                                            values.lookup(s.getKey()), pooled,
                                            params);
          return success();
        })
        .Case([&](CompressKVOp c) {
          const HostTensor *weights =
              c.getWeights() ? &values[c.getWeights()] : nullptr;
          auto [key, value] = referenceCompressKV(
              values.lookup(c.getKey()), values.lookup(c.getValue()), weights,
              c.getBlock(), c.getEffectiveStride());
          values[c.getCompressedKey()] = std::move(key);
          values[c.getCompressedValue()] = std::move(value);
          return success();
        })
        .Case([&](SparseBranchesOp s) {
          SparseBranchesParams params;
          params.compressBlock = s.getCompressBlock();
          params.compressStride = s.getEffectiveCompressStride();
          params.causal = s.getCausal();
          params.selected = s.getSelected();
          params.window = s.getWindow();
          values[s] = referenceSparseBranches(
              values.lookup(s.getQuery()), values.lookup(s.getKey()),
              values.lookup(s.getValue()), values.lookup(s.getCompressedKey()),
              values.lookup(s.getCompressedValue()),
              values.lookup(s.getBlocks()), values.lookup(s.getWeights()),
              params, s.getEffectiveScale());
          return success();
        })
        .Default([&](Operation *) -> LogicalResult {
          // Scalar arithmetic outside linalg ops (budgets, thresholds).
          if (op->getNumResults() == 1 &&
              !isa<ShapedType>(op->getResult(0).getType()) &&
              op->getNumRegions() == 0) {
            llvm::DenseMap<Value, double> none;
            FailureOr<double> v = scalarOp(op, none, {});
            if (failed(v))
              return failure();
            values[op->getResult(0)] = scalar(*v);
            return success();
          }
          return fail(op, "is not known to the reference evaluator");
        });
  }

  /// Calls `visit(sourceIndex, sliceIndex)` for every element of a unit-
  /// stride slice given by offsets and sizes.
  template <typename Fn>
  static void forEachInSlice(ArrayRef<int64_t> offsets,
                             ArrayRef<int64_t> sizes, Fn visit) {
    SmallVector<int64_t> local(sizes.size(), 0), global(offsets);
    int64_t total = 1;
    for (int64_t s : sizes)
      total *= s;
    for (int64_t n = 0; n < total; ++n) {
      visit(ArrayRef<int64_t>(global), ArrayRef<int64_t>(local));
      for (int64_t d = sizes.size() - 1; d >= 0; --d) {
        if (++local[d] < sizes[d]) {
          ++global[d];
          break;
        }
        local[d] = 0;
        global[d] = offsets[d];
      }
    }
  }

  LogicalResult sliceParams(Operation *op, OffsetSizeAndStrideOpInterface s,
                            SmallVector<int64_t> &offsets,
                            SmallVector<int64_t> &sizes) {
    for (OpFoldResult o : s.getMixedOffsets())
      offsets.push_back(resolve(o));
    for (OpFoldResult o : s.getMixedSizes())
      sizes.push_back(resolve(o));
    for (OpFoldResult o : s.getMixedStrides())
      if (resolve(o) != 1)
        return fail(op, "with a stride other than 1 is not supported");
    return success();
  }

  LogicalResult extractSlice(tensor::ExtractSliceOp s) {
    SmallVector<int64_t> offsets, sizes;
    if (failed(sliceParams(s, s, offsets, sizes)))
      return failure();
    if (s.getType().getRank() != static_cast<int64_t>(sizes.size()))
      return fail(s, "that drops dimensions is not supported");
    const HostTensor &source = values.lookup(s.getSource());
    HostTensor out(sizes);
    forEachInSlice(offsets, sizes, [&](ArrayRef<int64_t> g,
                                       ArrayRef<int64_t> l) {
      out.at(l) = source.at(g);
    });
    values[s] = out;
    return success();
  }

  LogicalResult insertSlice(tensor::InsertSliceOp s) {
    SmallVector<int64_t> offsets, sizes;
    if (failed(sliceParams(s, s, offsets, sizes)))
      return failure();
    const HostTensor &source = values.lookup(s.getSource());
    HostTensor out = values.lookup(s.getDest());
    forEachInSlice(offsets, sizes, [&](ArrayRef<int64_t> g,
                                       ArrayRef<int64_t> l) {
      out.at(g) = source.at(l);
    });
    values[s] = out;
    return success();
  }

  LogicalResult concat(tensor::ConcatOp c) {
    int64_t dim = c.getDim();
    SmallVector<int64_t> shape(values.lookup(c.getInputs()[0]).shape);
    shape[dim] = 0;
    for (Value in : c.getInputs())
      shape[dim] += values.lookup(in).shape[dim];
    HostTensor out(shape);
    SmallVector<int64_t> offsets(shape.size(), 0);
    for (Value in : c.getInputs()) {
      const HostTensor &piece = values.lookup(in);
      forEachInSlice(offsets, piece.shape, [&](ArrayRef<int64_t> g,
                                               ArrayRef<int64_t> l) {
        out.at(g) = piece.at(l);
      });
      offsets[dim] += piece.shape[dim];
    }
    values[c] = out;
    return success();
  }

  LogicalResult generic(linalg::GenericOp g) {
    SmallVector<AffineMap> maps = g.getIndexingMapsArray();
    unsigned numLoops = g.getNumLoops();
    SmallVector<int64_t> bounds(numLoops, -1);
    SmallVector<HostTensor> operands;
    for (OpOperand &operand : g->getOpOperands())
      operands.push_back(values.lookup(operand.get()));
    for (auto [map, tensor] : llvm::zip(maps, operands))
      for (auto [i, expr] : llvm::enumerate(map.getResults())) {
        auto dim = dyn_cast<AffineDimExpr>(expr);
        if (!dim)
          return fail(g, "with indexing maps other than permutations and "
                         "projections is not supported");
        bounds[dim.getPosition()] = tensor.shape[i];
      }
    if (llvm::is_contained(bounds, -1))
      return fail(g, "has a loop no operand bounds");

    unsigned numInputs = g.getNumDpsInputs();
    SmallVector<HostTensor> outputs(operands.begin() + numInputs,
                                    operands.end());
    Block &body = g.getRegion().front();
    SmallVector<int64_t> point(numLoops, 0), index;
    int64_t total = 1;
    for (int64_t b : bounds)
      total *= b;
    llvm::DenseMap<Value, double> scalars;
    for (int64_t n = 0; n < total; ++n) {
      auto indexOf = [&](AffineMap map) {
        index.clear();
        for (AffineExpr e : map.getResults())
          index.push_back(point[cast<AffineDimExpr>(e).getPosition()]);
        return ArrayRef<int64_t>(index);
      };
      for (unsigned i = 0; i < operands.size(); ++i) {
        const HostTensor &t = i < numInputs ? operands[i]
                                            : outputs[i - numInputs];
        scalars[body.getArgument(i)] = t.at(indexOf(maps[i]));
      }
      for (Operation &op : body) {
        if (auto yield = dyn_cast<linalg::YieldOp>(op)) {
          for (unsigned o = 0; o < outputs.size(); ++o)
            outputs[o].at(indexOf(maps[numInputs + o])) =
                scalars.lookup(yield.getOperand(o));
          break;
        }
        FailureOr<double> v = scalarOp(&op, scalars, point);
        if (failed(v))
          return failure();
        scalars[op.getResult(0)] = *v;
      }
      for (int64_t d = numLoops - 1; d >= 0; --d) {
        if (++point[d] < bounds[d])
          break;
        point[d] = 0;
      }
    }
    for (auto [result, out] : llvm::zip(g.getResults(), outputs))
      values[result] = out;
    return success();
  }

  FailureOr<double> scalarOp(Operation *op,
                             llvm::DenseMap<Value, double> &scalars,
                             ArrayRef<int64_t> point) {
    // Operands are block values, or scalars defined above the linalg op.
    auto arg = [&](unsigned i) {
      Value v = op->getOperand(i);
      auto it = scalars.find(v);
      return it != scalars.end() ? it->second : values.lookup(v).data[0];
    };
    auto truth = [](bool b) { return b ? 1.0 : 0.0; };
    if (auto cmp = dyn_cast<arith::CmpFOp>(op)) {
      double x = arg(0), y = arg(1);
      bool unordered = std::isnan(x) || std::isnan(y);
      using P = arith::CmpFPredicate;
      switch (cmp.getPredicate()) {
      case P::OEQ: return truth(!unordered && x == y);
      case P::OGT: return truth(!unordered && x > y);
      case P::OGE: return truth(!unordered && x >= y);
      case P::OLT: return truth(!unordered && x < y);
      case P::OLE: return truth(!unordered && x <= y);
      case P::ONE: return truth(!unordered && x != y);
      case P::UNO: return truth(unordered);
      case P::ORD: return truth(!unordered);
      default:
        return fail(op, "with this predicate is not known to the reference "
                        "evaluator");
      }
    }
    if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
      int64_t x = int64_t(arg(0)), y = int64_t(arg(1));
      using P = arith::CmpIPredicate;
      switch (cmp.getPredicate()) {
      case P::eq: return truth(x == y);
      case P::ne: return truth(x != y);
      case P::ult: case P::slt: return truth(x < y);
      case P::ule: case P::sle: return truth(x <= y);
      case P::ugt: case P::sgt: return truth(x > y);
      case P::uge: case P::sge: return truth(x >= y);
      }
    }
    return llvm::TypeSwitch<Operation *, FailureOr<double>>(op)
        .Case([&](linalg::IndexOp i) { return double(point[i.getDim()]); })
        .Case([&](arith::AndIOp) { return truth(arg(0) != 0 && arg(1) != 0); })
        .Case([&](arith::OrIOp) { return truth(arg(0) != 0 || arg(1) != 0); })
        .Case([&](arith::XOrIOp) { return truth((arg(0) != 0) != (arg(1) != 0)); })
        .Case([&](arith::SelectOp) { return arg(0) != 0 ? arg(1) : arg(2); })
        .Case<arith::UIToFPOp, arith::SIToFPOp, arith::ExtFOp, arith::TruncFOp,
              arith::ExtUIOp, arith::IndexCastOp>(
            [&](auto) { return arg(0); })
        .Case([&](math::FloorOp) { return std::floor(arg(0)); })
        .Case([&](arith::MulFOp) { return arg(0) * arg(1); })
        .Case([&](arith::AddFOp) { return arg(0) + arg(1); })
        .Case([&](arith::SubFOp) { return arg(0) - arg(1); })
        .Case([&](arith::DivFOp) { return arg(0) / arg(1); })
        .Case([&](arith::NegFOp) { return -arg(0); })
        .Case<arith::MaximumFOp, arith::MaxNumFOp>(
            [&](auto) { return std::max(arg(0), arg(1)); })
        .Case<arith::MinimumFOp, arith::MinNumFOp>(
            [&](auto) { return std::min(arg(0), arg(1)); })
        .Case([&](math::ExpOp) { return std::exp(arg(0)); })
        .Case([&](arith::ConstantOp c) -> FailureOr<double> {
          if (auto f = dyn_cast<FloatAttr>(c.getValue()))
            return f.getValueAsDouble();
          if (auto i = dyn_cast<IntegerAttr>(c.getValue()))
            return double(i.getValue().getZExtValue() && i.getType().isInteger(1)
                              ? 1
                              : i.getValue().getSExtValue());
          return fail(op, "inside linalg.generic must be a number");
        })
        .Default([&](Operation *) -> FailureOr<double> {
          return fail(op, "inside linalg.generic is not known to the "
                          "reference evaluator");
        });
  }

  LogicalResult headGate(HeadGateOp g) {
    const HostTensor &scores = values.lookup(g.getScores());
    int64_t batch = scores.shape[0], heads = scores.shape[1];
    HeadGateRule rule;
    if (g.getThresholdAttr())
      rule = HeadGateRule::threshold(g.getThresholdAttr().getValueAsDouble(),
                                     g.getMinActive());
    else if (g.getBudgetAttr())
      rule = HeadGateRule::budget(g.getBudgetAttr().getValue(),
                                  g.getMinActive());
    else
      rule = HeadGateRule::budget(values.lookup(g.getBudgetValue()).data[0],
                                  g.getMinActive());
    SmallVector<double> costs;
    if (std::optional<ArrayRef<int64_t>> given = g.getHeadCosts())
      for (int64_t c : *given)
        costs.push_back(double(c));
    HostTensor out(ArrayRef<int64_t>{batch, heads});
    SmallVector<double> row(heads);
    SmallVector<bool> active(heads);
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t h = 0; h < heads; ++h)
        row[h] = scores.at({b, h});
      selectHeads(row, costs, rule, active);
      for (int64_t h = 0; h < heads; ++h)
        out.at({b, h}) = active[h] ? 1.0 : 0.0;
    }
    values[g] = out;
    return success();
  }

  std::string &error;
  llvm::DenseMap<Value, HostTensor> values;
};
} // namespace

FailureOr<std::vector<HostTensor>>
mlir::attn::evaluate(func::FuncOp func, ArrayRef<HostTensor> arguments,
                     std::string &error) {
  return Evaluator(error).run(func, arguments);
}
