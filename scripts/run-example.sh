#!/usr/bin/env bash
# Sets everything up and runs attn's main job on an example: installs the
# system packages (a no-op when present), builds, then
#   1. analyses the example with attn-opt: verification, the per-layer
#      schedule, block plans and the cost of each op on the target;
#   2. compiles it with attn-compile into an artifact (kernels.so +
#      manifest.json) for the CPU target;
#   3. runs every kernel with attn's runtime (attn-cpu-bench) on random
#      inputs: a reference check where it has one (dense, causal), and time.
#
#   scripts/run-example.sh [examples/NAME.mlir] [cpu-target]
#
# The default example is examples/cpu_attention.mlir and the target `native`
# (this machine's CPU). Examples with ops the CPU back end does not compile
# yet (routers, projections, runtime-selected blocks) stop after step 1 with
# the compiler's diagnostic.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_BUILD_DIR:-$root/build}
example=${1:-$root/examples/cpu_attention.mlir}
target=${2:-native}
if [[ ! -f $example ]]; then
  echo "run-example: no such example: $example (see $root/examples/)" >&2
  exit 1
fi

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" attn-opt attn-compile attn-cpu-bench
opt=$build/bin/attn-opt
# Plans and costs use attn's table entry for the CPU (native: this host).
plan_target=$target
if [[ $target == native ]]; then
  plan_target=x86-64-v3
  grep -qw avx512f /proc/cpuinfo 2>/dev/null && plan_target=x86-64-v4
  [[ $(uname -m) == aarch64 ]] && plan_target=aarch64
fi

echo "== verify and print: $example"
"$opt" "$example"

schedule=()
if grep -q "attn.schedule" "$example"; then
  echo "== apply the per-layer schedule"
  "$opt" "$example" -attn-apply-schedule
  schedule=(-attn-apply-schedule)
fi

echo "== block plans for $plan_target"
"$opt" "$example" "${schedule[@]}" -attn-plan-blocks="target=$plan_target" \
  | grep -o "plan = #attn.block_plan<query_tile = [0-9]*, key_tile = [0-9]*, kind = [a-z]*" \
  | sort | uniq -c

echo "== cost on $plan_target (dynamic sizes assumed: batch 1, Sq = Skv = 4096)"
"$opt" "$example" "${schedule[@]}" -attn-plan-blocks="target=$plan_target" \
  -attn-report="target=$plan_target batch=1 query-len=4096 key-len=4096" -o /dev/null

artifact=${ATTN_EXAMPLE_OUT:-$build/example-artifact}
echo "== compile for $target: $artifact"
rm -rf "$artifact"
if ! "$build/bin/attn-compile" "$example" --target="$target" -o "$artifact"; then
  echo "run-example: this example does not compile to CPU kernels yet (see above);" \
       "try examples/cpu_attention.mlir" >&2
  exit 0
fi
ls -l "$artifact"

echo "== run each kernel (B = 1, Sq = Skv = 1024, all cores)"
python3 - "$artifact/manifest.json" "$build/runtime/attn-cpu-bench" "$opt" "$plan_target" "$build/runtime/attn-run" <<'PY'
import json, subprocess, sys
manifest = json.load(open(sys.argv[1]))
bench, opt, plan_target, attn_run = sys.argv[2:6]

def tile_density(k, s):
    """Fraction of key tiles the kernel visits at length s (attn-report)."""
    t = f"tensor<1x{k['query_heads']}x{s}x{k['head_dim']}x{k['dtype']}>"
    kv = f"tensor<1x{k['key_heads']}x{s}x{k['head_dim']}x{k['dtype']}>"
    ir = (f"func.func @f(%q: {t}, %k: {kv}, %v: {kv}) -> {t} {{\n"
          f"  %o = attn.attention %q, %k, %v {{pattern = {k['pattern']}}} : {t}, {kv}, {kv} -> {t}\n"
          f"  return %o : {t}\n}}\n")
    r = subprocess.run([opt, "-", f"--attn-report=target={plan_target} format=json",
                        "-o", "/dev/null"], input=ir, capture_output=True, text=True)
    return json.loads(r.stdout or r.stderr)["ops"][0]["density"]

lib = sys.argv[1].rsplit("/", 1)[0] + "/" + manifest["library"]
failed = False
# Selection, compression and attention over selected blocks take inputs
# attn-cpu-bench does not make (block lists, weights): attn-run calls their
# functions with valid random inputs and checks them against its references.
by_run = set()
for k in manifest["kernels"]:
    if k.get("op", "attention") != "attention" or "blocks" in k:
        fn = k["source"]
        if fn in by_run:
            continue
        by_run.add(fn)
        func = next(f for f in manifest["functions"] if f["name"] == fn)
        names = {d for t in func["inputs"] for d in t["shape"] if isinstance(d, str)}
        shape = ",".join(f"{n}={v}" for n, v in (("B", 1), ("Sq", 1024), ("Skv", 1024))
                         if n in names)
        run = subprocess.run([attn_run, sys.argv[1].rsplit("/", 1)[0], "--function", fn,
                              "--shape", shape, "--check-reference",
                              "--threads", "0", "--reps", "5"],
                             capture_output=True, text=True)
        try:
            r = json.loads(run.stdout)
        except ValueError:
            r = {}
        if run.returncode != 0 or r.get("result") not in ("pass", None):
            failed = True
            print(run.stdout + run.stderr, end="")
            continue
        what = k.get("op", "attention") + (" over selected blocks" if "blocks" in k else "")
        print(f"{fn:<22} {what:<60.60} {r['ms_median']:8.3f} ms  "
              f"{r['gflops']:7.1f} GFLOP/s, check {r.get('result', 'none')}")
        continue
    hq, hkv, d = k["query_heads"], k["key_heads"], k["head_dim"]
    cmd = [bench, "--lib", lib, "--kernel", k["name"], "--dtype", k["dtype"],
           "--B", "1", "--Hq", str(hq), "--Hkv", str(hkv), "--Sq", "1024",
           "--Skv", "1024", "--D", str(d), "--head-dim", str(d), "--threads", "0",
           "--reps", "5", "--label", k["name"],
           "--density", str(tile_density(k, 1024))]
    pattern = k["pattern"]
    if pattern in ("#attn.dense", "#attn.causal"):
        cmd += ["--check", "--pattern", pattern.split(".")[1]]
    if k["gated"]:
        cmd += ["--gated-heads", ",".join(str(h) for h in range(0, hq, 2))]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        failed = True
        print(run.stdout + run.stderr, end="")
        continue
    r = json.loads(run.stdout)
    check = f", check {r['check']} (max |err| {r['max_abs_err']:.1e})" if "check" in r else ""
    gated = f", {r['active_fraction']:.0%} of heads active" if k["gated"] else ""
    print(f"{k['name']:<22} {pattern:<60.60} {r['ms_median']:8.3f} ms  "
          f"{r['gflops']:7.1f} GFLOP/s over the {r['density']:.0%} of tiles visited{gated}{check}")
sys.exit(1 if failed else 0)
PY
