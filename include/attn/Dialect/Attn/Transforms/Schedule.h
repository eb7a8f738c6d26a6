//===- Schedule.h - Per-layer schedules: JSON form and application -*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_TRANSFORMS_SCHEDULE_H
#define ATTN_DIALECT_ATTN_TRANSFORMS_SCHEDULE_H

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace mlir {
namespace attn {

/// Parses a schedule from its JSON form
/// (`{"layers": [{"layer": 0, "budget": 0.5, "pattern": "#attn.causal"}]}`).
/// On failure returns null and sets `error` to a message naming the offending
/// entry and field.
ScheduleAttr parseScheduleJSON(llvm::StringRef json, MLIRContext *context,
                               std::string &error);

/// Prints `schedule` in the JSON form `parseScheduleJSON` reads.
std::string printScheduleJSON(ScheduleAttr schedule);

/// Sets the budget/pattern of every attn op with a `layer` attribute from
/// `schedule`. Emits diagnostics (on the op or the module) and fails when an
/// op's layer has no entry, an entry matches no op, or an entry does not fit
/// its op. Ops are left untouched on failure.
LogicalResult applySchedule(ModuleOp module, ScheduleAttr schedule);

} // namespace attn
} // namespace mlir

#endif // ATTN_DIALECT_ATTN_TRANSFORMS_SCHEDULE_H
