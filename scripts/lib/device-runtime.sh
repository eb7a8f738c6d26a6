# Sourced by the device scripts (scripts/device-gpu-bench.sh,
# scripts/device-selected-bench.sh, scripts/device-tests.sh): what each
# needs before its Python runs.
# Expects $root (the repository), $out (the report directory) and $rt (the
# runtime build directory) to be set.

# Builds the runtime's shared library (the runtime alone: no LLVM on the GPU
# machine) into $rt, logging to $out/runtime_build.log; on failure says so
# as $1 and returns 2.
attn_build_runtime_shared() {
  local tool=$1 start gen=()
  start=$(date +%s)
  command -v ninja >/dev/null && gen=(-G Ninja)
  if ! { cmake "${gen[@]}" -S "$root/runtime" -B "$rt" -DCMAKE_BUILD_TYPE=Release &&
         cmake --build "$rt" -j "$(nproc)" --target attn_runtime_shared; } >"$out/runtime_build.log" 2>&1; then
    echo "$tool: the runtime did not build ($out/runtime_build.log):" >&2
    tail -30 "$out/runtime_build.log" >&2
    return 2
  fi
  echo "runtime built in $(( $(date +%s) - start ))s: $rt/libattn_runtime.so"
}

# A Python with torch: $ATTN_PYTHON, /usr/bin/python3, or python3 on PATH.
attn_torch_python() {
  local py=${ATTN_PYTHON:-/usr/bin/python3}
  "$py" -c "import torch" 2>/dev/null || py=python3
  echo "$py"
}

# bench.py's --variant arguments for the sm_90a sets prepare-device.sh made
# under $art: the default [sm_90a] and the alternatives [pipe] (cp.async
# copies), [tma] (no ping-pong), [fa2] (FA2's order), [persist] (the
# persistent grid); into the array named
# $1.
attn_sm90a_variants() {
  local -n into=$1
  local label set
  into=()
  for set in sm_90a=gpu-kernels-90a pipe=gpu-kernels-90a-pipe \
    tma=gpu-kernels-90a-tma fa2=gpu-kernels-90a-fa2 persist=gpu-kernels-90a-persist \
    store=gpu-kernels-90a-store pstore=gpu-kernels-90a-pstore d64=gpu-kernels-90a-d64; do
    label=${set%%=*}
    [[ -d $art/${set#*=} ]] && into+=(--variant "$label=$art/${set#*=}")
  done
  return 0
}

# The GPU's name, driver, memory and clock, to the terminal and
# $out/nvidia-smi.txt.
attn_log_gpu() {
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 |
    tee "$out/nvidia-smi.txt"
}
