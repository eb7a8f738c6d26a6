"""What bench.py and selected.py share: the timer, the report's clock and
number format, and the GPU environment lines of a report.

torch is imported by the callers (it is only on the GPU machine); nothing
here imports it at module level, so the CPU-side tests can import the
benchmark modules.
"""
import datetime
import sys


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def event_bench(torch):
    """A timer like triton.testing.do_bench(warmup=25, rep=100) by CUDA
    events: an estimate from 5 calls sizes the warmup and the timed run;
    returns the mean milliseconds per call."""
    def run(fn, warmup_ms=25, rep_ms=100):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(5):
            fn()
        end.record()
        torch.cuda.synchronize()
        est = max(start.elapsed_time(end) / 5, 1e-3)
        for _ in range(max(1, int(warmup_ms / est))):
            fn()
        n = max(1, int(rep_ms / est))
        start.record()
        for _ in range(n):
            fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / n
    return run


def fmt(x, digits=3):
    """A report cell: "—" for None, fixed digits for floats (scientific when
    that would hide the value), str otherwise."""
    if x is None:
        return "—"
    if isinstance(x, float):
        if x != 0 and (abs(x) < 10 ** -digits or abs(x) >= 1e6):
            return "%.2e" % x
        return ("%%.%df" % digits) % x
    return str(x)


def import_cuda_torch(tool):
    """torch with a CUDA device, or None after saying why on stderr."""
    try:
        import torch
    except ImportError as e:
        print("%s: needs torch: %s" % (tool, e), file=sys.stderr)
        return None
    if not torch.cuda.is_available():
        print("%s: no CUDA device" % tool, file=sys.stderr)
        return None
    return torch


def environment(torch):
    """(device name, triton version) for a report; never raises."""
    try:
        import triton
        triton_version = triton.__version__
    except Exception:  # noqa: BLE001 - the report must still be written
        triton_version = "none"
    try:
        device_name = torch.cuda.get_device_name()
    except Exception as e:  # noqa: BLE001
        device_name = "unknown (%s)" % e
    return device_name, triton_version


def write_case_files(tool, want, directory, check):
    """Writes the generated case files `want` (name -> text) into
    `directory`, removing .mlir files it no longer generates; with `check`,
    writes nothing and returns 1 if the directory differs (stale or extra
    files), naming them. The generators' shared main."""
    import os
    if check:
        stale = [n for n, text in want.items()
                 if not os.path.exists(os.path.join(directory, n))
                 or open(os.path.join(directory, n)).read() != text]
        extra = sorted(set(f for f in os.listdir(directory) if f.endswith(".mlir"))
                       - set(want)) if os.path.isdir(directory) else []
        if stale or extra:
            print("%s --check: stale %s, unexpected %s; run python3 bench/gpu/%s"
                  % (tool, stale, extra, tool), file=sys.stderr)
            return 1
        print("%s --check: %d files up to date" % (tool, len(want)))
        return 0
    os.makedirs(directory, exist_ok=True)
    for f in os.listdir(directory):
        if f.endswith(".mlir") and f not in want:
            os.remove(os.path.join(directory, f))
    for name, text in want.items():
        with open(os.path.join(directory, name), "w") as f:
            f.write(text)
    print("wrote %d files to %s" % (len(want), directory))
    return 0


def load_case_index(path, only):
    """The case index (cases.json) and its cases, those whose name contains
    one of `only` when given."""
    import json
    with open(path) as f:
        index = json.load(f)
    cases = [c for c in index["cases"] if not only or any(s in c["name"] for s in only)]
    return index, cases


def read_compile_status(artifacts, notes):
    """(compiler, {function: status}) from compile-cases.sh's compile.json
    in `artifacts`; without one, a note and nothing."""
    import json
    import os
    path = os.path.join(artifacts, "compile.json")
    if not os.path.exists(path):
        notes.append("no %s: compile status taken from the artifact directories" % path)
        return None, {}
    with open(path) as f:
        compiled = json.load(f)
    return compiled.get("compiler"), {r["case"]: r for r in compiled["cases"]}


def artifact_error(artifacts, name, status):
    """Why function `name` has no artifact to load (its compile failure, its
    .error file, or no directory), or None when it has one."""
    import os
    path = os.path.join(artifacts, name)
    st = status.get(name)
    if st is not None and st["result"] != "ok":
        return st.get("error") or "attn-compile failed"
    if not os.path.isdir(path):
        err_file = path + ".error"
        return (open(err_file).read().strip() if os.path.exists(err_file)
                else "no artifact at %s (run scripts/prepare-device.sh)" % path)
    return None
