#!/usr/bin/env bash
# Times attn's CPU kernels against PyTorch SDPA on the GPU machine's host CPU.
#
# Runs ON the GPU machine, from the repository root (the `run` tool's cwd):
#   bash scripts/device-cpu-bench.sh [CONFIGS.json]
# There is no LLVM there, so it builds runtime/ alone (CMake, -O2); the kernel
# libraries come prebuilt in the repository, named by the configs. Then, in
# one run so that every number shares the machine's state:
#   - attn-cpu-bench for each config of bench/cpu/configs.json, at 1 thread
#     and at all cores (nproc);
#   - PyTorch SDPA, dense and causal, on the same shapes and thread counts
#     (bench/cpu/cpu_peers_inline.py);
# and writes $OUT/cpu_bench.json (every row, host info), $OUT/cpu_bench.md
# (the table) and $OUT/cpu_bench.log (build and stderr).
#
# configs.json: [{"label", "lib", "kernel", "dtype", "B", "Hq", "Hkv", "Sq",
#   "Skv", "D", "density", "gated_heads"?, "pattern"?}]; "lib" is relative to
#   the repository root; "gated_heads" is a list of the heads a gated kernel
#   computes (in every batch); "pattern": "dense"|"causal" adds a correctness
#   check of sampled rows and picks the SDPA row the ratio compares with.
#
# Locally this is a dry run: OUT defaults to /tmp/attn-cpu-bench; without a
# configs file it times the runtime's fake kernel on small shapes, and
# without torch it leaves the SDPA columns empty with a note.
#
# Time: about 6 minutes at most. ATTN_CPU_BENCH_SECONDS (default 300) bounds
# the measurements; each run's reps shrink to fit a per-run budget.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/attn-cpu-bench}
build=${ATTN_RUNTIME_BUILD_DIR:-/tmp/attn-runtime-build}
configs=${1:-$root/bench/cpu/configs.json}
mkdir -p "$out"
log=$out/cpu_bench.log
: >"$log"

# Release at -O2: the runtime's own code is not the hot loop (the kernels
# are), so a fast build matters more than the last optimization.
start=$(date +%s)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
{
  cmake "${generator[@]}" -S "$root/runtime" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG"
  cmake --build "$build" --target attn-cpu-bench fake_attn_kernel -j "$(nproc)"
} >>"$log" 2>&1 || { tail -30 "$log"; echo "runtime build failed" >&2; exit 1; }
echo "built runtime in $(( $(date +%s) - start )) s"

python3 - "$root" "$build" "$configs" "$out" "${ATTN_CPU_BENCH_SECONDS:-300}" <<'PY'
import datetime, json, os, shlex, subprocess, sys, tempfile, time

root, build, configs_path, out, seconds = sys.argv[1:6]
seconds = float(seconds)
bench = os.path.join(build, "attn-cpu-bench")
log = open(os.path.join(out, "cpu_bench.log"), "a")
notes = []
start = time.time()

if os.path.exists(configs_path):
    configs = json.load(open(configs_path))
else:
    fake = os.path.join(build, "fake_attn_kernel.so")
    notes.append(f"no {os.path.relpath(configs_path, root)}: a dry run on the "
                 "runtime's naive fake kernel (its numbers mean nothing)")
    base = dict(lib=fake, dtype="f32", B=1, Hq=4, Hkv=4, Sq=512, Skv=512, D=64)
    configs = [dict(base, label="fake dense", kernel="fake_dense", density=1.0,
                    pattern="dense"),
               dict(base, label="fake causal", kernel="fake_causal",
                    density=(512 * 513 / 2) / 512**2, pattern="causal"),
               dict(base, label="fake gated 2/4", kernel="fake_gated",
                    density=1.0, gated_heads=[0, 2], pattern="dense"),
               dict(base, label="fake causal GQA 4:1, Sq < Skv", kernel="fake_causal",
                    Hq=8, Hkv=2, Sq=256, density=(256 * 256 + 256 * 257 / 2) / (256 * 512),
                    pattern="causal")]

cores = os.cpu_count() or 1
threads_list = sorted({1, cores})

def lscpu():
    info = {}
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    flags = info.get("Flags", "").split()
    return {"model": info.get("Model name", "?"), "cpus": info.get("CPU(s)", str(cores)),
            "threads_per_core": info.get("Thread(s) per core", "?"),
            "cores_per_socket": info.get("Core(s) per socket", "?"),
            "sockets": info.get("Socket(s)", "?"), "nproc": cores,
            "avx512f": "avx512f" in flags, "avx512_bf16": "avx512_bf16" in flags,
            "amx_tile": "amx_tile" in flags,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}

host = lscpu()

# attn kernels: most of the time budget; one warm-up plus up to 5 reps each,
# fewer when a run is slow (the big shapes at one thread get 2-3).
attn_rows = []
attn_deadline = 0.6 * seconds
for c in configs:
    for threads in threads_list:
        row_base = dict(label=c["label"], threads=threads, config=c)
        if time.time() - start > attn_deadline:
            attn_rows.append(dict(row_base, skipped="time budget")); continue
        lib = c["lib"] if os.path.isabs(c["lib"]) else os.path.join(root, c["lib"])
        cmd = [bench, "--lib", lib, "--kernel", c["kernel"], "--dtype", c.get("dtype", "f32"),
               "--threads", str(threads), "--reps", "5",
               "--time-budget", "6" if threads == 1 else "3", "--label", c["label"]]
        for key in ("B", "Hq", "Hkv", "Sq", "Skv", "D"):
            if key in c:
                cmd += [f"--{key}", str(c[key])]
        if "density" in c:
            cmd += ["--density", str(c["density"])]
        if c.get("gated_heads") is not None:
            heads = c["gated_heads"]
            cmd += ["--gated-heads", ",".join(map(str, heads)) if isinstance(heads, list) else str(heads)]
        if c.get("pattern") in ("dense", "causal"):
            cmd += ["--pattern", c["pattern"], "--check"]
        print("+", shlex.join(cmd), file=log, flush=True)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
            log.write(p.stderr)
            lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
            row = json.loads(lines[-1]) if lines else dict(row_base, error=f"exit {p.returncode}, no output")
            if p.returncode and "error" not in row and row.get("check") != "fail":
                row["error"] = f"exit {p.returncode}"
        except subprocess.TimeoutExpired:
            row = dict(row_base, error="timed out after 150 s")
        row.setdefault("threads", threads)
        row["config"] = c
        attn_rows.append(row)
        print(json.dumps(row), flush=True)

# PyTorch SDPA on the same shapes, dense and causal, same thread counts.
sdpa = {"rows": []}
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    json.dump(configs, f)
    shapes_file = f.name
peers_out = os.path.join(tempfile.gettempdir(), "attn_cpu_peers.json")
left = max(20.0, seconds - (time.time() - start))
cmd = [sys.executable, os.path.join(root, "bench/cpu/cpu_peers_inline.py"),
       "--shapes", shapes_file, "--threads", ",".join(map(str, threads_list)),
       "--reps", "5", "--time-budget", "4", "--deadline", str(left - 10), "--out", peers_out]
print("+", shlex.join(cmd), file=log, flush=True)
try:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=left + 60)
    log.write(p.stdout + p.stderr)
    if p.returncode == 2:
        notes.append("no torch on this machine: SDPA not measured")
    elif p.returncode:
        notes.append(f"cpu_peers_inline.py failed (exit {p.returncode}); see cpu_bench.log")
    else:
        sdpa = json.load(open(peers_out))
except subprocess.TimeoutExpired:
    notes.append("cpu_peers_inline.py timed out")

# Join: each attn row with the SDPA rows of its shape, dtype and threads.
def shape_of(c):
    return (c["B"], c["Hq"], c.get("Hkv", c["Hq"]), c["Sq"], c.get("Skv", c["Sq"]),
            c["D"], c.get("dtype", "f32"))
peer = {}
for r in sdpa["rows"]:
    if "gflops" in r:
        peer[(r["B"], r["Hq"], r["Hkv"], r["Sq"], r["Skv"], r["D"], r["dtype"],
              r["threads"], r["causal"])] = r

def fmt(x, digits=1):
    return "" if x is None else f"{x:.{digits}f}"

table = ["| label | shape B,Hq,Hkv,Sq,Skv,D dtype | threads | attn ms (median) | attn GFLOP/s (best) "
         "| SDPA dense GFLOP/s | SDPA causal GFLOP/s | ratio | time vs SDPA dense | check |",
         "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
for r in attn_rows:
    c = r["config"]
    key = shape_of(c) + (r["threads"],)
    dense, causal = peer.get(key + (False,)), peer.get(key + (True,))
    shape = "{},{},{},{},{},{} {}".format(*shape_of(c))
    if "ms_median" not in r:
        why = r.get("error") or r.get("skipped", "?")
        table.append(f"| {r['label']} | {shape} | {r['threads']} | {why} | | "
                     f"{fmt(dense and dense['gflops'])} | {fmt(causal and causal['gflops'])} | | | |")
        continue
    # Compare throughput with SDPA on the same kind of work: causal kernels
    # with causal SDPA, the rest (dense, sparse, gated) with dense SDPA.
    is_causal = c.get("pattern") == "causal" or "causal" in c["label"].lower()
    ref = causal if is_causal else dense
    ratio = r["gflops_best"] / ref["gflops"] if ref else None
    # What a user gains by running this kernel instead of dense SDPA.
    speedup = dense["ms"] / r["ms_best"] if dense else None
    check = r.get("check", "")
    if "max_abs_err" in r:
        check += f" ({r['max_abs_err']:.1e})"
    table.append(f"| {r['label']} | {shape} | {r['threads']} | {fmt(r['ms_median'], 2)} | "
                 f"{fmt(r['gflops_best'])} | {fmt(dense and dense['gflops'])} | "
                 f"{fmt(causal and causal['gflops'])} | {fmt(ratio, 2)} | "
                 f"{fmt(speedup, 2) + 'x' if speedup else ''} | {check} |")

md = [f"# attn CPU kernels vs PyTorch SDPA ({host['date']})", "",
      f"Host: {host['model']}; {host['cpus']} CPUs ({host['sockets']} socket(s) x "
      f"{host['cores_per_socket']} cores x {host['threads_per_core']} threads); "
      f"avx512f: {'yes' if host['avx512f'] else 'no'}; avx512_bf16: "
      f"{'yes' if host['avx512_bf16'] else 'no'}; amx: {'yes' if host['amx_tile'] else 'no'}. "
      f"torch {sdpa.get('torch', 'absent')}.", "",
      "GFLOP/s count useful work, 4·B·Hq·Sq·Skv·D · density · active heads, over the best "
      "of the reps; attn ms is the median. ratio: attn GFLOP/s over SDPA's on the same "
      "kind of work (causal for causal kernels, dense otherwise); time vs SDPA dense: "
      "SDPA dense ms / attn ms.", ""] + table
if notes:
    md += [""] + [f"- {n}" for n in notes]
open(os.path.join(out, "cpu_bench.md"), "w").write("\n".join(md) + "\n")
json.dump(dict(host=host, notes=notes, attn=attn_rows, sdpa=sdpa,
               seconds=round(time.time() - start, 1)),
          open(os.path.join(out, "cpu_bench.json"), "w"), indent=1)
print("\n".join(md))
PY
