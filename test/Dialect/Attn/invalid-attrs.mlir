// Every attribute parameter check and every syntax error of the shared
// `<name = value, flag>` form yields a diagnostic naming the parameter.
// RUN: attn-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{#attn.local expects window >= 1, found 0}}
func.func private @f() attributes {p = #attn.local<window = 0>}

// -----

// expected-error @+1 {{#attn.local expects dilation >= 1, found -2}}
func.func private @f() attributes {p = #attn.local<window = 4, dilation = -2>}

// -----

// expected-error @+1 {{#attn.local needs parameter 'window'}}
func.func private @f() attributes {p = #attn.local<causal>}

// -----

// expected-error @+1 {{unknown parameter 'size' of #attn.local; expected one of: window, dilation, causal}}
func.func private @f() attributes {p = #attn.local<size = 4>}

// -----

// expected-error @+1 {{parameter 'window' of #attn.local given twice}}
func.func private @f() attributes {p = #attn.local<window = 4, window = 8>}

// -----

// expected-error @+1 {{expected 'true' or 'false' for flag 'causal' of #attn.local}}
func.func private @f() attributes {p = #attn.local<window = 4, causal = 1>}

// -----

// expected-error @+1 {{expected a parameter name of #attn.local (one of: window, dilation, causal)}}
func.func private @f() attributes {p = #attn.local<4>}

// -----

// expected-error @+1 {{#attn.strided expects stride >= 1, found 0}}
func.func private @f() attributes {p = #attn.strided<stride = 0>}

// -----

// expected-error @+1 {{#attn.strided expects block >= 1, found 0}}
func.func private @f() attributes {p = #attn.strided<stride = 2, block = 0>}

// -----

// expected-error @+1 {{#attn.global expects tokens >= 1, found 0}}
func.func private @f() attributes {p = #attn.global<tokens = 0>}

// -----

// expected-error @+1 {{#attn.chunked expects size >= 1, found -1}}
func.func private @f() attributes {p = #attn.chunked<size = -1>}

// -----

// expected-error @+1 {{#attn.random_blocks expects density in (0, 1], found 0.0}}
func.func private @f() attributes {p = #attn.random_blocks<density = 0.0, seed = 1>}

// -----

// expected-error @+1 {{#attn.random_blocks expects density in (0, 1], found 1.5}}
func.func private @f() attributes {p = #attn.random_blocks<density = 1.5, seed = 1>}

// -----

// expected-error @+1 {{#attn.random_blocks expects block >= 1, found 0}}
func.func private @f() attributes {p = #attn.random_blocks<density = 0.5, seed = 1, block = 0>}

// -----

// expected-error @+1 {{#attn.random_blocks needs parameter 'seed'}}
func.func private @f() attributes {p = #attn.random_blocks<density = 0.5>}

// -----

// expected-error @+1 {{#attn.block_layout expects block >= 1, found 0}}
func.func private @f() attributes {p = #attn.block_layout<block = 0, shape = [1, 1], layout = [1]>}

// -----

// expected-error @+1 {{#attn.block_layout expects shape [rows, cols] or [heads, rows, cols], found 1 dimensions}}
func.func private @f() attributes {p = #attn.block_layout<block = 4, shape = [4], layout = [1, 1, 1, 1]>}

// -----

// expected-error @+1 {{#attn.block_layout expects positive shape dimensions, found 0}}
func.func private @f() attributes {p = #attn.block_layout<block = 4, shape = [0, 4], layout = [1]>}

// -----

// expected-error @+1 {{#attn.block_layout of shape [2, 2] needs 4 layout entries, found 3}}
func.func private @f() attributes {p = #attn.block_layout<block = 4, shape = [2, 2], layout = [1, 0, 1]>}

// -----

// expected-error @+1 {{#attn.block_layout entries must be 0 or 1; entry 2 is not}}
func.func private @f() attributes {p = #attn.block_layout<block = 4, shape = [2, 2], layout = [1, 0, 2, 1]>}

// -----

// expected-error @+1 {{#attn.selected expects query_block and key_block >= 1, found 0 and 64}}
func.func private @f() attributes {p = #attn.selected<query_block = 0, key_block = 64>}

// -----

// expected-error @+1 {{#attn.union expects at least one pattern}}
func.func private @f() attributes {p = #attn.union<[]>}

// -----

// expected-error @+1 {{#attn.union entry 1 must be an attn pattern, found #attn.budget<0.5>}}
func.func private @f() attributes {p = #attn.union<[#attn.causal, #attn.budget<0.5>]>}

// -----

// expected-error @+1 {{#attn.union entry 0 is a #attn.per_head, which may only appear as the outermost pattern}}
func.func private @f() attributes {p = #attn.union<[#attn.per_head<[#attn.causal]>]>}

// -----

// expected-error @+1 {{#attn.per_head expects at least one pattern}}
func.func private @f() attributes {p = #attn.per_head<[]>}

// -----

// expected-error @+1 {{#attn.per_head entry 0 must be an attn pattern, found 3 : i64}}
func.func private @f() attributes {p = #attn.per_head<[3]>}

// -----

// expected-error @+1 {{budget must be a fraction of dense cost in (0, 1], found 0.0}}
func.func private @f() attributes {b = #attn.budget<0.0>}

// -----

// expected-error @+1 {{budget must be a fraction of dense cost in (0, 1], found 1.5}}
func.func private @f() attributes {b = #attn.budget<1.5>}

// -----

// expected-error @+1 {{budget must be a fraction of dense cost in (0, 1], found -0.5}}
func.func private @f() attributes {b = #attn.budget<-0.5>}

// -----

// expected-error @+1 {{#attn.layer index must be in [0, 2^31), found -1}}
func.func private @f() attributes {l = #attn.layer<-1, budget = 0.5>}

// -----

// expected-error @+1 {{#attn.layer 2 sets no budget, pattern or threshold}}
func.func private @f() attributes {l = #attn.layer<2>}

// -----

// expected-error @+1 {{#attn.layer 2 threshold must be finite, found inf}}
func.func private @f() attributes {l = #attn.layer<2, threshold = 0x7FF0000000000000>}

// -----

// expected-error @+1 {{budget must be a fraction of dense cost in (0, 1], found 2.0}}
func.func private @f() attributes {l = #attn.layer<2, budget = 2.0>}

// -----

// expected-error @+1 {{#attn.layer pattern must be an attn pattern, found #attn.budget<0.5>}}
func.func private @f() attributes {l = #attn.layer<2, pattern = #attn.budget<0.5>>}

// -----

// expected-error @+1 {{#attn.schedule entry 0 must be an #attn.layer, found #attn.causal}}
module attributes {attn.schedule = #attn.schedule<[#attn.causal]>} {}

// -----

// expected-error @+1 {{#attn.schedule names layer 1 more than once}}
module attributes {attn.schedule = #attn.schedule<[#attn.layer<1, budget = 0.5>, #attn.layer<1, budget = 0.25>]>} {}

// -----

// expected-error @+2 {{expected ::mlir::attn::CompressionMethod to be one of: mean, linear}}
// expected-error @+1 {{failed to parse Attn_CompressionMethodAttr parameter 'value'}}
func.func private @f() attributes {m = #attn.compression<max>}

// -----

// expected-error @+1 {{#attn.block_plan expects tiles >= 1, found 0 x 64}}
func.func private @f() attributes {p = #attn.block_plan<query_tile = 0, key_tile = 64, kind = analytic>}

// -----

// expected-error @+1 {{#attn.block_plan kind must be analytic, table or runtime, found 'magic'}}
func.func private @f() attributes {p = #attn.block_plan<query_tile = 64, key_tile = 64, kind = magic>}

// -----

// expected-error @+1 {{#attn.block_plan of kind analytic has no table (heads, offsets, runs)}}
func.func private @f() attributes {p = #attn.block_plan<query_tile = 64, key_tile = 64, kind = analytic, heads = [0]>}

// -----

// expected-error @+1 {{#attn.block_plan table needs heads, offsets and runs together}}
func.func private @f() attributes {p = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table, runs = [0, 1, 0]>}

// -----

// expected-error @+1 {{#attn.block_plan runs are (begin, end, partial) triples; found 2 entries}}
func.func private @f() attributes {p = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table, heads = [0], offsets = [0, 1], runs = [0, 1]>}

// -----

// expected-error @+1 {{#attn.block_plan head plan index -1 is outside [0, 1)}}
func.func private @f() attributes {p = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table, heads = [-1], offsets = [0, 1], runs = [0, 1, 0]>}

// -----

// expected-error @+1 {{#attn.block_plan has 3 offsets, not a multiple of (query tiles + 1) for 2 plans}}
func.func private @f() attributes {p = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table, heads = [0, 1], offsets = [0, 1, 1], runs = [0, 1, 0]>}

// -----

// expected-error @+1 {{#attn.block_plan offsets of plan 0 must rise within [0, 1]}}
func.func private @f() attributes {p = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table, heads = [0], offsets = [0, 2], runs = [0, 1, 0]>}

// -----

// expected-error @+1 {{#attn.block_plan run 0 is not (begin < end, partial in {0, 1})}}
func.func private @f() attributes {p = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table, heads = [0], offsets = [0, 1], runs = [1, 1, 0]>}

// -----

// Hexadecimal reals are bit patterns, as elsewhere in MLIR.
// expected-error @+1 {{budget must be a fraction of dense cost in (0, 1], found nan}}
func.func private @f() attributes {b = #attn.budget<0x7FF8000000000000>}

// -----

// expected-error @+1 {{#attn.block_plan head plan index 9223372036854775807 is outside [0, 1)}}
func.func private @f() attributes {p = #attn.block_plan<query_tile = 1, key_tile = 1, kind = table, heads = [9223372036854775807], offsets = [0], runs = []>}

// -----

// expected-error @+1 {{#attn.block_layout of shape [4294967296, 4294967296] needs more layout entries than the 1 given}}
func.func private @f() attributes {p = #attn.block_layout<block = 1, shape = [4294967296, 4294967296], layout = [1]>}

// -----

// Pattern sizes are positions; beyond 2^40 they would overflow position
// arithmetic (found by fuzzing).
// expected-error @+1 {{#attn.local expects window <= 2^40, found 9223372036854775807}}
func.func private @f() attributes {p = #attn.local<window = 9223372036854775807>}

// -----

// Layer indices are bounded so that they are ordinary hash keys (found by
// fuzzing: INT64_MAX is DenseSet's empty key).
// expected-error @+2 {{#attn.layer index must be in [0, 2^31), found 9223372036854775807}}
// expected-error @+1 {{failed to parse Attn_ScheduleAttr parameter 'layers'}}
module attributes {attn.schedule = #attn.schedule<[#attn.layer<9223372036854775807, budget = 0.5>]>} {}

// -----

// expected-error @+1 {{write reals with a dot before the exponent, e.g. 1.0e-3}}
func.func private @f() attributes {b = #attn.budget<1e-3>}
