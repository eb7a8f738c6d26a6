//===- Passes.td - attn transformation passes --------------*- tablegen -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD
#define ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnApplySchedule : Pass<"attn-apply-schedule", "::mlir::ModuleOp"> {
  let summary = "Copy per-layer budgets and patterns from a schedule onto ops";
  let description = [{
    Reads the schedule from the module's `attn.schedule` attribute, or from a
    JSON file given with `schedule-file` (which takes precedence), and, for
    every `attn.attention` and `attn.head_gate` that carries `layer = L`,
    sets the budget and/or pattern of schedule entry `L`:

    - `attn.attention` takes the entry's `budget` and `pattern`;
    - `attn.head_gate` takes the entry's `budget` (it must be gated by a
      budget attribute; a threshold or a runtime budget is left to the user
      and reported).

    It fails, naming the layer, when an op's layer has no entry, when an
    entry names a layer that no op carries, or when a scheduled pattern does
    not fit the op (e.g. a per-head list of the wrong length).

    The JSON form, which `attn-explore` writes:

    ```json
    {"layers": [
      {"layer": 0, "budget": 1.0},
      {"layer": 1, "budget": 0.5, "pattern": "#attn.local<window = 128>"}
    ]}
    ```
  }];
  let options = [
    Option<"scheduleFile", "schedule-file", "std::string", /*default=*/"\"\"",
           "JSON schedule to apply instead of the module's attn.schedule">
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

#endif // ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD
