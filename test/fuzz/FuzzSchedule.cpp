//===- FuzzSchedule.cpp - libFuzzer target for schedule JSON --------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary bytes to parseScheduleJSON, the reader behind
// `attn-apply-schedule="schedule-file=..."` and `attn-compile --schedule`.
// A failure must come with a message; a schedule that parses must print
// (printScheduleJSON) and parse back to the same attribute, and is applied
// to a fixed module of three layers (two attention ops with different
// shapes, one head gate), which either succeeds or fails with a diagnostic.
// A crash, a sanitizer report or a violated property (__builtin_trap) is a
// bug.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/Transforms/Schedule.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace mlir;
using namespace mlir::attn;

namespace {

constexpr const char *kModule = R"mlir(
func.func @layers(%s: tensor<2x4xf32>, %q: tensor<2x4x64x16xf16>,
                  %k: tensor<2x2x80x16xf16>, %v: tensor<2x2x80x16xf16>,
                  %q1: tensor<1x8x?x32xf32>, %k1: tensor<1x8x?x32xf32>)
    -> (tensor<2x4x64x16xf16>, tensor<1x8x?x32xf32>) {
  %g = attn.head_gate %s {budget = #attn.budget<0.5>, layer = 2}
      : tensor<2x4xf32> -> tensor<2x4xi1>
  %o = attn.attention %q, %k, %v gates(%g : tensor<2x4xi1>)
      {layer = 0, pattern = #attn.causal}
      : tensor<2x4x64x16xf16>, tensor<2x2x80x16xf16>, tensor<2x2x80x16xf16>
        -> tensor<2x4x64x16xf16>
  %o1 = attn.attention %q1, %k1, %k1 {layer = 1}
      : tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>
        -> tensor<1x8x?x32xf32>
  return %o, %o1 : tensor<2x4x64x16xf16>, tensor<1x8x?x32xf32>
}
)mlir";

struct State {
  MLIRContext context{MLIRContext::Threading::DISABLED};
  OwningOpRef<ModuleOp> module;
  State() {
    context.loadDialect<AttnDialect, func::FuncDialect>();
    context.getDiagEngine().registerHandler([](Diagnostic &) {});
    module = parseSourceString<ModuleOp>(kModule, &context);
    if (!module)
      __builtin_trap();
  }
};

State &getState() {
  static State *state = new State();
  return *state;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  State &state = getState();
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  std::string error;
  ScheduleAttr schedule = parseScheduleJSON(text, &state.context, error);
  if (!schedule) {
    if (error.empty())
      __builtin_trap();
    return 0;
  }
  std::string printed = printScheduleJSON(schedule);
  std::string again;
  if (parseScheduleJSON(printed, &state.context, again) != schedule)
    __builtin_trap();

  OwningOpRef<ModuleOp> module = state.module->clone();
  (void)applySchedule(*module, schedule);
  return 0;
}
