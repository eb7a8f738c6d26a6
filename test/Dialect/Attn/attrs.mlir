// Every attn attribute round-trips, in its shortest printed form: defaults
// are elided, flags print bare, parameters print in a fixed order.
// RUN: attn-opt %s | attn-opt | FileCheck %s

// CHECK-LABEL: func.func private @dense()
// CHECK-SAME: attn_test = #attn.dense}
func.func private @dense() attributes {attn_test = #attn.dense}

// CHECK-LABEL: func.func private @causal()
// CHECK-SAME: attn_test = #attn.causal}
func.func private @causal() attributes {attn_test = #attn.causal}

// CHECK-LABEL: func.func private @local()
// CHECK-SAME: attn_test = #attn.local<window = 512>}
func.func private @local() attributes {attn_test = #attn.local<window = 512>}

// CHECK-LABEL: func.func private @local_causal()
// CHECK-SAME: attn_test = #attn.local<window = 1023, causal>}
func.func private @local_causal() attributes {attn_test = #attn.local<causal, window = 1023>}

// CHECK-LABEL: func.func private @local_dilated()
// CHECK-SAME: attn_test = #attn.local<window = 256, dilation = 4, causal>}
func.func private @local_dilated() attributes {attn_test = #attn.local<window = 256, dilation = 4, causal = true>}

// CHECK-LABEL: func.func private @local_flag_false()
// CHECK-SAME: attn_test = #attn.local<window = 8>}
func.func private @local_flag_false() attributes {attn_test = #attn.local<window = 8, dilation = 1, causal = false>}

// CHECK-LABEL: func.func private @strided()
// CHECK-SAME: attn_test = #attn.strided<stride = 4, block = 128>}
func.func private @strided() attributes {attn_test = #attn.strided<block = 128, stride = 4>}

// CHECK-LABEL: func.func private @strided_causal()
// CHECK-SAME: attn_test = #attn.strided<stride = 128, causal>}
func.func private @strided_causal() attributes {attn_test = #attn.strided<stride = 128, causal>}

// CHECK-LABEL: func.func private @global()
// CHECK-SAME: attn_test = #attn.global<tokens = 64>}
func.func private @global() attributes {attn_test = #attn.global<tokens = 64>}

// CHECK-LABEL: func.func private @chunked()
// CHECK-SAME: attn_test = #attn.chunked<size = 256, causal>}
func.func private @chunked() attributes {attn_test = #attn.chunked<size = 256, causal>}

// CHECK-LABEL: func.func private @random()
// CHECK-SAME: attn_test = #attn.random_blocks<density = 0.25, seed = 7>}
func.func private @random() attributes {attn_test = #attn.random_blocks<density = 0.25, seed = 7, block = 128, diagonal>}

// CHECK-LABEL: func.func private @random_full()
// CHECK-SAME: attn_test = #attn.random_blocks<density = 1.0, seed = 18446744073709551615, block = 64, diagonal = false>}
func.func private @random_full() attributes {attn_test = #attn.random_blocks<density = 1, seed = 18446744073709551615, block = 64, diagonal = false>}

// CHECK-LABEL: func.func private @layout()
// CHECK-SAME: attn_test = #attn.block_layout<block = 64, shape = [2, 2], layout = [1, 0, 1, 1]>}
func.func private @layout() attributes {attn_test = #attn.block_layout<block = 64, shape = [2, 2], layout = [1, 0, 1, 1]>}

// CHECK-LABEL: func.func private @layout_per_head()
// CHECK-SAME: attn_test = #attn.block_layout<block = 16, shape = [2, 1, 2], layout = [1, 1, 0, 1]>}
func.func private @layout_per_head() attributes {attn_test = #attn.block_layout<block = 16, shape = [2, 1, 2], layout = [1, 1, 0, 1]>}

// CHECK-LABEL: func.func private @selected()
// CHECK-SAME: attn_test = #attn.selected<query_block = 64, key_block = 32>}
func.func private @selected() attributes {attn_test = #attn.selected<query_block = 64, key_block = 32>}

// CHECK-LABEL: func.func private @union()
// CHECK-SAME: attn_test = #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 256>]>}
func.func private @union() attributes {attn_test = #attn.union<[#attn.global<tokens = 64>, #attn.local<window = 256>]>}

// CHECK-LABEL: func.func private @per_head()
// CHECK-SAME: attn_test = #attn.per_head<[#attn.causal, #attn.union<[#attn.causal, #attn.global<tokens = 4>]>]>}
func.func private @per_head() attributes {attn_test = #attn.per_head<[#attn.causal, #attn.union<[#attn.causal, #attn.global<tokens = 4>]>]>}

// CHECK-LABEL: func.func private @budget()
// CHECK-SAME: attn_test = #attn.budget<0.5>}
func.func private @budget() attributes {attn_test = #attn.budget<0.5>}

// CHECK-LABEL: func.func private @budget_int()
// CHECK-SAME: attn_test = #attn.budget<1.0>}
func.func private @budget_int() attributes {attn_test = #attn.budget<1>}

// CHECK-LABEL: func.func private @compression()
// CHECK-SAME: attn_test = #attn.compression<linear>}
func.func private @compression() attributes {attn_test = #attn.compression<linear>}
// A schedule whose budgets fall with depth: deeper layers prune more.
// CHECK: attn.schedule = #attn.schedule<[#attn.layer<0, budget = 1.0>, #attn.layer<1, budget = 0.75>, #attn.layer<2, budget = 0.5, pattern = #attn.local<window = 128>>, #attn.layer<5, pattern = #attn.causal>, #attn.layer<6, threshold = 0.2>]>
module attributes {attn.schedule = #attn.schedule<[
    #attn.layer<0, budget = 1.0>, #attn.layer<1, budget = 0.75>,
    #attn.layer<2, pattern = #attn.local<window = 128>, budget = 0.5>,
    #attn.layer<5, pattern = #attn.causal>, #attn.layer<6, threshold = 0.2>]>} {}

// CHECK-LABEL: func.func private @plans()
// CHECK-SAME: analytic = #attn.block_plan<query_tile = 128, key_tile = 64, kind = analytic>
// CHECK-SAME: table = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table, heads = [0, 0], offsets = [0, 1, 2], runs = [0, 1, 1, 0, 2, 0]>
func.func private @plans() attributes {
  analytic = #attn.block_plan<kind = analytic, query_tile = 128, key_tile = 64>,
  table = #attn.block_plan<query_tile = 64, key_tile = 64, kind = table, heads = [0, 0], offsets = [0, 1, 2], runs = [0, 1, 1, 0, 2, 0]>}
