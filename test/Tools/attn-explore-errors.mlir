// attn-explore refuses bad input with a message naming what it expected and
// what it found, before any long work.

// RUN: rm -rf %t && mkdir -p %t
// RUN: attn-explore %t/calib --make-synthetic --synthetic-shape=2,4,4,8,32,3

// No model description.
// RUN: not attn-explore %t/nothing -o %t/out 2>&1 | FileCheck %s --check-prefix=NO-MODEL
// NO-MODEL: attn-explore: error: {{.*}}nothing/model.json: cannot read the model description

// A missing activation file.
// RUN: cp -r %t/calib %t/missing && rm %t/missing/layer1_v.npy
// RUN: not attn-explore %t/missing -o %t/out 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: attn-explore: error: {{.*}}missing/layer1_v.npy: missing activation file (model.json declares 2 layers, each with layer<L>_q/k/v/x.npy)

// A file whose shape does not match model.json (another head_dim).
// RUN: attn-explore %t/other --make-synthetic --synthetic-shape=2,4,4,16,32,3
// RUN: cp -r %t/calib %t/mismatch && cp %t/other/layer0_k.npy %t/mismatch/layer0_k.npy
// RUN: not attn-explore %t/mismatch -o %t/out 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: attn-explore: error: {{.*}}mismatch/layer0_k.npy: shape [3, 4, 32, 16] does not match model.json: expected [3, 4, 32, 8] ([sequences, heads, seq_len, head_dim], kv_heads for k and v)

// A file that is not float32 .npy.
// RUN: cp -r %t/calib %t/corrupt && echo garbage > %t/corrupt/layer0_x.npy
// RUN: not attn-explore %t/corrupt -o %t/out 2>&1 | FileCheck %s --check-prefix=CORRUPT
// CORRUPT: attn-explore: error: {{.*}}corrupt/layer0_x.npy: not a .npy file (expected the magic string \x93NUMPY at its start)

// An empty search space, and bad items in it.
// RUN: not attn-explore %t/calib -o %t/out --patterns= 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: attn-explore: error: empty search space: no pattern and no top-k selection (give --patterns and/or --top-k)
// RUN: not attn-explore %t/calib -o %t/out --gates= 2>&1 | FileCheck %s --check-prefix=NO-GATE
// NO-GATE: attn-explore: error: empty search space: no gate (give --gates, e.g. none)
// RUN: not attn-explore %t/calib -o %t/out --patterns="#attn.local<size = 3>" 2>&1 | FileCheck %s --check-prefix=PATTERN
// PATTERN: attn-explore: error: --patterns: cannot parse pattern '#attn.local<size = 3>': unknown parameter 'size' of #attn.local
// RUN: not attn-explore %t/calib -o %t/out --keep=4 2>&1 | FileCheck %s --check-prefix=KEEP
// KEEP: attn-explore: error: --keep: 4 heads (expected 1 to heads - 1 = 3; all heads is the gate 'none')
// RUN: not attn-explore %t/calib -o %t/out --top-k=8x8 2>&1 | FileCheck %s --check-prefix=TOPK
// RUN: not attn-explore %t/calib -o %t/out --top-k=8x8:2 2>&1 | FileCheck %s --check-prefix=TOPK-TILE
// TOPK-TILE: attn-explore: error: --top-k: '8x8:2' has query_block 8; expected a multiple of 16 (CPU kernels take the query block as their query tile, a multiple of the vector lanes: 16 f32 on x86-64-v4)
// TOPK: attn-explore: error: --top-k: cannot parse '8x8' (expected QBxKB:K or QBxKB:K:SINK:LOCAL, e.g. 16x16:2 or 16x16:4:0:1)

// Budgets outside (0, 1], and one nothing fits.
// RUN: not attn-explore %t/calib -o %t/out --budget=0 2>&1 | FileCheck %s --check-prefix=BUDGET
// BUDGET: attn-explore: error: --budget expects a fraction in (0, 1], found 0
// RUN: not attn-explore %t/calib -o %t/tight --budget=0.01 --quiet 2>&1 | FileCheck %s --check-prefix=TIGHT
// TIGHT: attn-explore: error: no schedule fits the budget 0.01: the cheapest costs 0.{{[0-9]+}} (sweep.csv and front.svg are written)
// RUN: test -f %t/tight/sweep.csv && test -f %t/tight/front.svg && not test -f %t/tight/schedule.mlir

// Unsupported: causal models.
// RUN: cp -r %t/calib %t/causal && sed -i 's/"causal":false/"causal":true/' %t/causal/model.json
// RUN: not attn-explore %t/causal -o %t/out 2>&1 | FileCheck %s --check-prefix=CAUSAL
// CAUSAL: attn-explore: error: {{.*}}causal/model.json: "causal": true is not supported yet

// Sequences of their own lengths: "lengths" must list one length in
// [1, seq_len] per sequence.
// RUN: cp -r %t/calib %t/len && sed -i 's/"causal":false/"causal":false,"lengths":[3, 40, 5]/' %t/len/model.json
// RUN: not attn-explore %t/len -o %t/out 2>&1 | FileCheck %s --check-prefix=LENGTH
// LENGTH: error: {{.*}}model.json: expected "lengths"[1] to be an integer in [1, seq_len = 32], found 40
// RUN: cp -r %t/calib %t/len2 && sed -i 's/"causal":false/"causal":false,"lengths":[3]/' %t/len2/model.json
// RUN: not attn-explore %t/len2 -o %t/out 2>&1 | FileCheck %s --check-prefix=LENGTHS
// LENGTHS: error: {{.*}}model.json: expected "lengths" to be an array of "sequences" = 3 integers, found an array of 1

// Per-head search needs pair costs; layer weights one per layer.
// RUN: not attn-explore %t/calib -o %t/out --per-head 2>&1 | FileCheck %s --check-prefix=PER-HEAD
// PER-HEAD: error: --per-head needs --cost=pairs
// RUN: not attn-explore %t/calib -o %t/out --layer-weights=1,2,3 2>&1 | FileCheck %s --check-prefix=WEIGHTS
// WEIGHTS: error: --layer-weights: expected one weight per layer (2), found 3

// A valid run of both, on sequences of their own lengths.
// RUN: cp -r %t/calib %t/len3 && sed -i 's/"causal":false/"causal":false,"lengths":[20, 32, 9]/' %t/len3/model.json
// RUN: attn-explore %t/len3 -o %t/len3-out --cost=pairs --per-head --objective=error2 --layer-weights=1,2 --gates=none --budget=0.5 --quiet | FileCheck %s --check-prefix=LENOUT
// LENOUT: chosen at budget 0.5: cost fraction 0.{{[0-4]}}
// RUN: FileCheck %s --check-prefix=LEN-CHOICE < %t/len3-out/choice.json
// LEN-CHOICE: "objective": "rel_error_squared"
