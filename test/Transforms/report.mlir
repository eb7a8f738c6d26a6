// attn-report prints the cost model's view of every attn.attention, as a
// table or as JSON with stable field names (docs/cost-model.md).
// RUN: attn-opt %s -attn-report -o /dev/null | FileCheck %s --check-prefix=TABLE
// RUN: attn-opt %s -attn-report="format=json" -o /dev/null | FileCheck %s --check-prefix=JSON
// RUN: attn-opt %S/Inputs/report-decode.mlir -attn-report="format=json target=x86-64-v4 batch=2 query-len=1 key-len=4096" -o /dev/null | FileCheck %s --check-prefix=DECODE
// RUN: not attn-opt %S/Inputs/report-decode.mlir -attn-report -o /dev/null 2>&1 | FileCheck %s --check-prefix=DYNAMIC
// RUN: not attn-opt %s -attn-report="format=xml" -o /dev/null 2>&1 | FileCheck %s --check-prefix=FORMAT
// Selection and compression get their own cost entries (docs/cost-model.md,
// "Selection and compression"); dynamic sizes are listed, not counted.
// RUN: attn-opt %S/Inputs/report-projection.mlir -attn-report -o /dev/null | FileCheck %s --check-prefix=PROJ
// RUN: attn-opt %S/Inputs/report-projection.mlir -attn-report="format=json" -o /dev/null | FileCheck %s --check-prefix=PROJJSON
// NSA's combined form (attn.sparse_branches): one row, the three branches'
// work summed (docs/cost-model.md, "NSA's combined form").
// RUN: attn-opt %S/Inputs/report-branches.mlir -attn-report -o /dev/null | FileCheck %s --check-prefix=BRANCHES
// RUN: attn-opt %S/Inputs/report-branches.mlir -attn-report="format=json" -o /dev/null | FileCheck %s --check-prefix=BRANCHESJSON

// BRANCHES: 0 branches(compressed 32/16 causal, top-16 ... 1x16/2x16384x16384x128 64x64 runtime 0.0632 136640/2162688 288.785 155.221 323.15 compute

// Per head: compressed, query tile t's last row sees 4t + 3 of the 1023
// slots, in tiles of 64 (8,911,872 pairs); selected, 256 query blocks x 16
// listed blocks x 64 x 64 (16,777,216, an upper bound); the causal window
// of 511, 9 key tiles per query tile from the 9th on (9,289,728). x 16 heads.
// BRANCHESJSON: "exponentials": 559661056,
// BRANCHESJSON: "dense_matmul": 2199023255552,
// BRANCHESJSON: "kind": "sparse_branches",
// BRANCHESJSON: "pattern": "branches(compressed 32/16 causal, top-16 of 64, #attn.local<window = 511, causal>)",
// BRANCHESJSON: "plan": "runtime",
// BRANCHESJSON: "visited_elements": 559661056

// PROJ: select_blocks 1x16x16384x128 / 1x2x16384x128 0.075 GFLOP 75.563 MB 22.56 est. us memory
// PROJ-NEXT: compress_kv 1x2x16384x128 / 1x2x16384x128 0.034 GFLOP 17.825 MB 5.32 est. us memory
// PROJ-NEXT: compress_kv ?x2x?x128 / ?x2x?x128 not counted: dynamic sizes

// 2 x 256 query blocks x 256 key blocks x 32 rounds compared; Q and K read.
// PROJJSON: "projections": [
// PROJJSON:   "compare": 4194304,
// PROJJSON:   "pool": 37748736,
// PROJJSON:   "score": 33554432
// PROJJSON:   "kind": "select_blocks",
// PROJJSON:   "outputs_per_head": 8192,
// PROJJSON:   "kind": "compress_kv",
// PROJJSON:   "outputs_per_head": 1023,
// PROJJSON:   "counted": false,

// TABLE: attn-report: target sm_90 (H100 SXM 80GB
// TABLE: op pattern B x Hq/Hkv x Sq x Skv x D tiles plan density tiles visited GFLOP MB est. us bound
// TABLE-NEXT: 0 #attn.dense 4x16/16x4096x4096x128 128x64 analytic 1.0000 131072/131072 554.051 268.435 619.97 compute
// TABLE-NEXT: 1 #attn.causal 4x16/16x4096x4096x128 128x64 analytic 0.5156 67584/131072 285.682 268.435 319.67 compute
// TABLE-NEXT: 2 #attn.union<{{\[}}#attn.local<window = 512>, #... 4x16/16x4096x4096x128 128x64 table 0.3359 44024/131072

// One decode row against 4096 keys under a causal window of 1024 on the CPU:
// 16 of the 64 key tiles of 64 are visited (the 1024 keys of the window),
// all full, for each of 2 x 8 (batch, head) pairs.
// DECODE: "pattern": "#attn.local<window = 1023, causal>"
// DECODE: "element_type": "f32"
// DECODE: "query_len": 1
// DECODE: "full": 256,
// DECODE-NEXT: "partial": 0,
// DECODE-NEXT: "skipped": 768,
// DECODE-NEXT: "total": 1024,
// DECODE-NEXT: "visited": 256
// DECODE: "name": "x86-64-v4"
// DYNAMIC: error: attn-report needs the batch size, which is dynamic; pass batch=N
// FORMAT: error: attn-report format must be 'table' or 'json', found 'xml'

// (llvm::json prints keys sorted; op 1 is the causal one.)
// JSON: "density": 0.515625
// JSON: "flops": {
// JSON-NEXT: "dense_matmul": 549755813888,
// JSON-NEXT: "matmul": 283467841536,
// JSON-NEXT: "softmax": 2214592512,
// JSON: "op": 1
// JSON: "plan": "analytic"
// JSON: "tiles": {
// JSON-NEXT: "full": 63488,
// JSON-NEXT: "partial": 4096,
// JSON-NEXT: "skipped": 63488,
// JSON-NEXT: "total": 131072,
// JSON-NEXT: "visited": 67584
// JSON: "target": {
// JSON: "name": "sm_90"
// JSON: "version": 1

func.func @ops(%q: tensor<4x16x4096x128xbf16>) -> tensor<4x16x4096x128xbf16> {
  %d = attn.attention %q, %q, %q : tensor<4x16x4096x128xbf16>, tensor<4x16x4096x128xbf16>, tensor<4x16x4096x128xbf16> -> tensor<4x16x4096x128xbf16>
  %c = attn.attention %d, %q, %q {pattern = #attn.causal} : tensor<4x16x4096x128xbf16>, tensor<4x16x4096x128xbf16>, tensor<4x16x4096x128xbf16> -> tensor<4x16x4096x128xbf16>
  %l = attn.attention %c, %q, %q {pattern = #attn.union<[#attn.local<window = 512>, #attn.random_blocks<density = 0.1, seed = 1>]>} : tensor<4x16x4096x128xbf16>, tensor<4x16x4096x128xbf16>, tensor<4x16x4096x128xbf16> -> tensor<4x16x4096x128xbf16>
  return %l : tensor<4x16x4096x128xbf16>
}
