//===- ApplySchedule.cpp - attn-apply-schedule pass -----------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Dialect/Attn/Transforms/Schedule.h"

#include "llvm/Support/MemoryBuffer.h"

namespace mlir {
namespace attn {
#define GEN_PASS_DEF_ATTNAPPLYSCHEDULE
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace attn
} // namespace mlir

using namespace mlir;
using namespace mlir::attn;

namespace {
struct ApplySchedulePass
    : public mlir::attn::impl::AttnApplyScheduleBase<ApplySchedulePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    ScheduleAttr schedule;
    if (!scheduleFile.empty()) {
      auto buffer = llvm::MemoryBuffer::getFile(scheduleFile);
      if (!buffer) {
        module.emitError() << "cannot read schedule file '" << scheduleFile
                           << "': " << buffer.getError().message();
        return signalPassFailure();
      }
      std::string error;
      schedule = parseScheduleJSON((*buffer)->getBuffer(), &getContext(),
                                   error);
      if (!schedule) {
        module.emitError() << "invalid schedule file '" << scheduleFile
                           << "': " << error;
        return signalPassFailure();
      }
    } else {
      schedule = dyn_cast_or_null<ScheduleAttr>(
          module->getAttr(AttnDialect::kScheduleAttrName));
      if (!schedule) {
        module.emitError() << "attn-apply-schedule found no schedule: the "
                              "module has no '"
                           << AttnDialect::kScheduleAttrName
                           << "' attribute and no schedule-file was given";
        return signalPassFailure();
      }
    }
    if (failed(applySchedule(module, schedule)))
      signalPassFailure();
  }
};
} // namespace
