// attn-explore end to end on a synthetic calibration directory made by the
// tool itself (2 layers x 4 heads, head_dim 8, 6 sequences of 64 tokens):
// every output is written, the schedule IR compiles with attn-compile
// unchanged, the schedule JSON applies to it, its kernels run, and a run is
// reproducible from its seed.

// RUN: rm -rf %t && mkdir -p %t
// RUN: attn-explore %t/calib --make-synthetic --seed=3
// RUN: attn-explore %t/calib -o %t/out --budget=0.5 --seed=3 --jobs=2 --date=2026-12-06 2>%t/progress | FileCheck %s --check-prefix=CHOSEN
// RUN: FileCheck %s --check-prefix=PROGRESS < %t/progress
// RUN: FileCheck %s --check-prefix=CSV < %t/out/sweep.csv
// RUN: FileCheck %s --check-prefix=SVG < %t/out/front.svg
// RUN: FileCheck %s --check-prefix=CHOICE < %t/out/choice.json
// RUN: attn-compile %t/out/schedule.mlir --target=native -o %t/artifact
// RUN: attn-opt %t/out/schedule.mlir -attn-apply-schedule="schedule-file=%t/out/schedule.json" | FileCheck %s --check-prefix=APPLIED

// Same seed, fewer threads: the same sweep and choice.
// RUN: attn-explore %t/calib -o %t/again --budget=0.5 --seed=3 --jobs=1 --quiet > /dev/null
// RUN: diff %t/out/sweep.csv %t/again/sweep.csv
// RUN: diff %t/out/choice.json %t/again/choice.json
// RUN: diff %t/out/schedule.mlir %t/again/schedule.mlir

// CHOSEN: chosen at budget 0.5: cost fraction 0.{{[0-4][0-9]*|50*}}, mean relative error
// CHOSEN: layer 0: cost
// CHOSEN: layer 1: cost
// CHOSEN: wrote

// PROGRESS: attn-explore: synthetic, 2 layers, 6 of 6 sequences, 13 patterns/selections x 5 gates = 65 options per layer
// PROGRESS: layer 1/2: {{[0-9]+}}/6 sequences
// PROGRESS: layer 2/2: 6/6 sequences
// PROGRESS: attn-explore: front of

// CSV: kind,index,layer,option,pattern,gate,keep,top_k,cost_fraction,estimate_us,rel_error,recall,options
// CSV-NEXT: option,0,0,0,"#attn.dense",none,4,,1,{{[0-9.e+-]+}},0,1,
// CSV: "#attn.selected<query_block = 16, key_block = 16>",value_norm,3,16x16:2:0:1,
// CSV: front,0,,,,,,,
// CSV: uniform,0,,,,,,,
// CSV: chosen,0,,,,,,,{{0.[0-4]|0.50*,}}

// SVG: <svg xmlns="http://www.w3.org/2000/svg"
// SVG: synthetic: attention cost vs output error per schedule (2026-12-06)
// SVG: cost: attention FLOPs as a fraction of dense (cost model)
// SVG: mean relative error of the attention output
// SVG: budget 0.5
// SVG: <polyline fill="none" stroke="#1f5fbf"
// SVG: chosen: cost
// SVG: Pareto front (
// SVG: </svg>

// CHOICE: "budget": 0.5,
// CHOICE: "cost_fraction":
// CHOICE: "layers": [
// CHOICE: "functions": [
// CHOICE: "layer0
// CHOICE: "quality": {
// CHOICE: "per_layer": [

// APPLIED: func.func @layer0
// APPLIED: attn.attention {{.*}}layer = 0
// APPLIED: func.func @layer1
// APPLIED: attn.attention {{.*}}layer = 1

// Top-k selections with value-norm gates in every layer: two functions per
// layer, gates an argument; they compile and attn-run runs them.
// RUN: attn-explore %t/calib -o %t/topk --patterns= --top-k=16x16:2 --gates=value_norm --keep=2 --budget=1 --quiet | FileCheck %s --check-prefix=TOPK
// RUN: FileCheck %s --check-prefix=TOPK-IR < %t/topk/schedule.mlir
// RUN: FileCheck %s --check-prefix=TOPK-CHOICE < %t/topk/choice.json
// RUN: attn-compile %t/topk/schedule.mlir --target=native -o %t/topk-artifact
// RUN: attn-opt %t/topk/schedule.mlir -attn-apply-schedule="schedule-file=%t/topk/schedule.json" -o /dev/null
// TOPK: layer 0: cost {{.*}}top-2 of 16x16 blocks | value_norm 2/4
// TOPK-IR: func.func @layer0_select(%{{.*}}: tensor<?x4x?x8xf32>, %{{.*}}: tensor<?x4x?x8xf32>) -> tensor<?x4x?x2xi32>
// TOPK-IR: attn.select_blocks {{.*}}keep_local = 1 : i64, key_block = 16 : i64, query_block = 16 : i64, top_k = 2 : i64
// TOPK-IR: func.func @layer0_attend(%{{.*}}: tensor<?x4x?x8xf32>, %{{.*}}: tensor<?x4x?x8xf32>, %{{.*}}: tensor<?x4x?x8xf32>, %{{.*}}: tensor<?x4xi1>, %{{.*}}: tensor<?x4x?x2xi32>) -> tensor<?x4x?x8xf32>
// TOPK-IR: attn.attention {{.*}} gates({{.*}}) blocks({{.*}}) {layer = 0 : i64, pattern = #attn.selected<query_block = 16, key_block = 16>}
// TOPK-CHOICE: "functions": [
// TOPK-CHOICE-NEXT: "layer0_select",
// TOPK-CHOICE-NEXT: "layer0_attend"
// TOPK-CHOICE: "gate": {
// TOPK-CHOICE-NEXT: "keep": 2,
// TOPK-CHOICE-NEXT: "scores": "value_norm"
// TOPK-CHOICE: "top_k": {
// TOPK-CHOICE-NEXT: "keep_local": 1,
// TOPK-CHOICE-NEXT: "keep_sink": 0,
// TOPK-CHOICE-NEXT: "key_block": 16,
// TOPK-CHOICE-NEXT: "query_block": 16,
// TOPK-CHOICE-NEXT: "top_k": 2

// Importance gates write the measured scores.
// RUN: attn-explore %t/calib -o %t/imp --patterns="#attn.union<[#attn.global<tokens = 1>, #attn.local<window = 8>]>" --gates=importance --keep=3 --budget=1 --quiet > /dev/null
// RUN: FileCheck %s --check-prefix=IMP < %t/imp/choice.json
// RUN: attn-compile %t/imp/schedule.mlir --target=native -o %t/imp-artifact
// IMP: "gate": {
// IMP-NEXT: "importance": [
// IMP-NEXT: 0.
// IMP-NEXT: 0.
// IMP-NEXT: 0.
// IMP-NEXT: 0.
// IMP-NEXT: ],
// IMP-NEXT: "keep": 3,
// IMP-NEXT: "scores": "importance"
// IMP: "pattern": "#attn.union<[#attn.global<tokens = 1>, #attn.local<window = 8>]>"

// The compiled kernels run through attn-run against its reference.
// RUN: %if attn-run %{ %attn-run %t/imp-artifact --function layer0 --shape B=2,Sq=64,Skv=64 --gates 0,2,3 --check-reference --threads 2 --warmup 0 --reps 1 | FileCheck %s --check-prefix=EXEC %}
// RUN: %if attn-run %{ %attn-run %t/topk-artifact --function layer1_select --shape B=1,Sq=64,Skv=64 --check-reference --threads 2 --warmup 0 --reps 1 | FileCheck %s --check-prefix=EXEC %}
// RUN: %if attn-run %{ %attn-run %t/topk-artifact --function layer1_attend --shape B=1,Sq=64,Skv=64 --gates 1,3 --check-reference --threads 2 --warmup 0 --reps 1 | FileCheck %s --check-prefix=EXEC %}
// EXEC: "result": "pass"

// The uniform baseline: the same option in every layer.
// RUN: attn-explore %t/calib -o %t/uniform --uniform --budget=0.5 --quiet | FileCheck %s --check-prefix=UNIFORM
// RUN: grep '^chosen,' %t/uniform/sweep.csv | FileCheck %s --check-prefix=UNIFORM-CSV
// UNIFORM: chosen at budget 0.5 (uniform): cost fraction
// UNIFORM-CSV: chosen,0,,,,,,,{{[^,]+}},{{[^,]+}},{{[^,]+}},{{[^,]+}},[[OPTION:[0-9]+]] [[OPTION]]{{$}}

// Recall as the objective.
// RUN: attn-explore %t/calib -o %t/recall --objective=recall --quiet > /dev/null
// RUN: FileCheck %s --check-prefix=RECALL < %t/recall/front.svg
// RUN: FileCheck %s --check-prefix=RECALL-CHOICE < %t/recall/choice.json
// RECALL: mean attention-mass recall (higher is better)
// RECALL-CHOICE: "objective": "recall"

// A subsample of the sequences, drawn with the seed.
// RUN: attn-explore %t/calib -o %t/sub --sequences=3 --seed=5 --patterns="#attn.dense;#attn.local<window = 4>" --gates=none --budget=1 2>&1 >/dev/null | FileCheck %s --check-prefix=SUB
// SUB: attn-explore: synthetic, 2 layers, 3 of 6 sequences, 2 patterns/selections x 1 gates = 2 options per layer
