//===- PlanBench.cpp - Benchmarks of block planning -----------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Times `BlockPlan::build` and the enumeration of every query tile's runs on
// a long sequence (Sq = Skv = 131072, Hq = 1, tiles of 128 x 128, so 1024 x
// 1024 tiles), for each analytic pattern kind and for irregular (table)
// patterns:
//
//   BM_BuildPlan/<pattern>  BlockPlan::build alone.
//   BM_AllRuns/<pattern>    build + appendRuns for all 1024 query tiles;
//                           counters: visited tiles, runs, time per query
//                           tile (`per_query_tile`, in seconds).
//
// Analytic plans do their work on demand (in appendRuns), table plans in
// build.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Plan/BlockPlan.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/ErrorHandling.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::attn;

namespace {

constexpr int64_t kSeqLen = 131072;
constexpr int64_t kTile = 128;
constexpr AttentionExtent kExtent{/*numHeads=*/1, kSeqLen, kSeqLen};
constexpr TileSizes kTiles{kTile, kTile};

MLIRContext &context() {
  static MLIRContext *ctx = [] {
    auto *ctx = new MLIRContext(MLIRContext::Threading::DISABLED);
    ctx->loadDialect<AttnDialect>();
    return ctx;
  }();
  return *ctx;
}

/// A lower-triangular band of blocks of 128: query block i sees key blocks
/// i - 7 .. i (a causal window of 1024 keys at block granularity), as an
/// explicit 1024 x 1024 layout.
PatternAttrInterface bandLayout(MLIRContext *ctx) {
  int64_t blocks = kSeqLen / kTile;
  std::vector<int8_t> layout(blocks * blocks, 0);
  for (int64_t i = 0; i < blocks; ++i)
    for (int64_t j = std::max<int64_t>(0, i - 7); j <= i; ++j)
      layout[i * blocks + j] = 1;
  const int64_t shape[] = {blocks, blocks};
  return BlockLayoutAttr::get(ctx, kTile, shape, layout);
}

struct NamedPattern {
  std::string name;
  std::function<PatternAttrInterface(MLIRContext *)> make;
};

std::vector<NamedPattern> patterns() {
  auto random = [](double density) {
    return [density](MLIRContext *ctx) -> PatternAttrInterface {
      return RandomBlocksAttr::get(ctx, llvm::APFloat(density), /*seed=*/1,
                                   /*block=*/128, /*diagonal=*/true);
    };
  };
  return {
      {"dense", [](MLIRContext *ctx) { return DenseAttr::get(ctx); }},
      {"causal", [](MLIRContext *ctx) { return CausalAttr::get(ctx); }},
      {"local<window=512>",
       [](MLIRContext *ctx) { return LocalAttr::get(ctx, 512, 1, false); }},
      {"local<window=1023,causal>",
       [](MLIRContext *ctx) { return LocalAttr::get(ctx, 1023, 1, true); }},
      {"local<window=512,dilation=2>",
       [](MLIRContext *ctx) { return LocalAttr::get(ctx, 512, 2, false); }},
      {"strided<stride=4,block=128>",
       [](MLIRContext *ctx) { return StridedAttr::get(ctx, 4, 128, false); }},
      {"strided<stride=128,causal>",
       [](MLIRContext *ctx) { return StridedAttr::get(ctx, 128, 1, true); }},
      {"global<tokens=64>",
       [](MLIRContext *ctx) { return GlobalAttr::get(ctx, 64); }},
      {"chunked<size=1024>",
       [](MLIRContext *ctx) { return ChunkedAttr::get(ctx, 1024, false); }},
      {"union<[global<tokens=64>,local<window=256>]>",
       [](MLIRContext *ctx) -> PatternAttrInterface {
         return UnionAttr::get(
             ctx, ArrayAttr::get(ctx, {GlobalAttr::get(ctx, 64),
                                       LocalAttr::get(ctx, 256, 1, false)}));
       }},
      {"random_blocks<density=0.25,seed=1,block=128>", random(0.25)},
      {"random_blocks<density=0.1,seed=1,block=128>", random(0.1)},
      {"block_layout<band=8x128,1024x1024>", bandLayout},
  };
}

BlockPlan buildPlan(PatternAttrInterface pattern) {
  MLIRContext *ctx = pattern.getContext();
  FailureOr<BlockPlan> plan = BlockPlan::build(
      pattern, kExtent, kTiles, [&] { return emitError(UnknownLoc::get(ctx)); });
  if (failed(plan))
    llvm::report_fatal_error("BlockPlan::build failed");
  return std::move(*plan);
}

void buildOnly(benchmark::State &state, PatternAttrInterface pattern) {
  for (auto _ : state) {
    BlockPlan plan = buildPlan(pattern);
    benchmark::DoNotOptimize(&plan);
  }
}

void buildAndEnumerate(benchmark::State &state, PatternAttrInterface pattern) {
  int64_t visited = 0, numRuns = 0, numQueryTiles = 0;
  TileRunList runs;
  for (auto _ : state) {
    BlockPlan plan = buildPlan(pattern);
    const HeadPlan &head = plan.forHead(0);
    numQueryTiles = plan.getShape().numQueryTiles();
    visited = numRuns = 0;
    for (int64_t t = 0; t < numQueryTiles; ++t) {
      runs.clear();
      head.appendRuns(t, runs);
      numRuns += runs.size();
      for (const TileRun &run : runs)
        visited += run.size();
    }
    benchmark::DoNotOptimize(visited);
  }
  state.counters["visited_tiles"] = double(visited);
  state.counters["runs"] = double(numRuns);
  state.counters["per_query_tile"] = benchmark::Counter(
      double(numQueryTiles),
      benchmark::Counter::kIsIterationInvariantRate |
          benchmark::Counter::kInvert);
  state.SetItemsProcessed(state.iterations() * numQueryTiles);
}

/// Registers both benchmarks for every pattern before benchmark_main runs.
const bool registered = [] {
  std::vector<NamedPattern> all = patterns();
  for (const NamedPattern &p : all) {
    auto make = p.make;
    benchmark::RegisterBenchmark(
        ("BM_BuildPlan/" + p.name).c_str(),
        [make](benchmark::State &state) { buildOnly(state, make(&context())); })
        ->Unit(benchmark::kMicrosecond);
  }
  for (const NamedPattern &p : all) {
    auto make = p.make;
    benchmark::RegisterBenchmark(
        ("BM_AllRuns/" + p.name).c_str(),
        [make](benchmark::State &state) {
          buildAndEnumerate(state, make(&context()));
        })
        ->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

} // namespace
