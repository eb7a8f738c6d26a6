# -*- Python -*-
# lit configuration for attn: FileCheck tests of attn-opt and friends.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "attn"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.attn_obj_root, "test")
# Inputs for RUN lines, not tests of their own.
config.excludes = ["Inputs", "lib", "unit", "fuzz", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py"]

config.substitutions.append(("%attn_src_root", config.attn_src_root))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(["attn-opt", "attn-compile", "attn-explore"],
                                  [config.attn_tools_dir])

# ptxas (CUDA toolkit) checks whether generated PTX assembles for a chip; the
# GPU tests that need it are skipped on machines without the toolkit.
ptxas = os.environ.get("ATTN_PTXAS", "/usr/local/cuda/bin/ptxas")
if os.path.exists(ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))

# attn-run (the runtime's command-line tool) runs compiled artifacts.
attn_run = os.path.join(config.attn_obj_root, "runtime", "attn-run")
if os.path.exists(attn_run):
    config.available_features.add("attn-run")
    config.substitutions.append(("%attn-run", attn_run))
