#!/usr/bin/env python3
"""CPU peer anchor: PyTorch SDPA on the CPU, at given thread counts.

The logic of /work/shared/bench/cpu_peers.py (best of n after a warm-up,
4*B*H*Sq*Skv*D FLOPs, halved-ish for causal), kept in the repository because
only the repository travels to the GPU machine, and extended to:

- take the shapes of attn's benchmark configs (bench/cpu/configs.json:
  B, Hq, Hkv, Sq, Skv, D, dtype; other keys ignored), dense and causal each;
  without --shapes, cpu_peers.py's three fp32 shapes;
- GQA (Hq != Hkv) through enable_gqa, and causal with Sq != Skv aligned to
  the end of the keys (attn's convention, FlashAttention's), with FLOPs
  counted over the keys each row really sees;
- report the median as well as the best, and stop early under a deadline.

Prints one JSON line per measurement and writes
{"torch", "parallel_info", "rows"} to --out. Exits 2 if torch is missing.
"""
import argparse
import json
import os
import statistics
import sys
import time


def visible_pairs(sq, skv, causal):
    """(query, key) pairs a causal row set sees: key k <= q + skv - sq."""
    if not causal:
        return sq * skv
    return sum(min(max(q + skv - sq + 1, 0), skv) for q in range(sq))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", help="JSON list of {B,Hq,Hkv,Sq,Skv,D[,dtype]}")
    ap.add_argument("--threads", default=f"1,{os.cpu_count()}")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--time-budget", type=float, default=0,
                    help="fewer reps when reps runs would take longer (s)")
    ap.add_argument("--deadline", type=float, default=0,
                    help="skip what is left after this many seconds")
    ap.add_argument("--out", default=os.path.join(os.environ.get("OUT", "/tmp"),
                                                  "cpu_peers.json"))
    args = ap.parse_args()

    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print(f"cpu_peers_inline: no torch ({e}); SDPA not measured", file=sys.stderr)
        sys.exit(2)

    if args.shapes:
        shapes = []
        for c in json.load(open(args.shapes)):
            key = (c["B"], c["Hq"], c.get("Hkv", c["Hq"]), c["Sq"],
                   c.get("Skv", c["Sq"]), c["D"], c.get("dtype", "f32"))
            if key not in shapes:
                shapes.append(key)
    else:
        shapes = [(B, H, H, S, S, D, "f32") for (B, H, S, D) in
                  [(1, 8, 2048, 64), (1, 12, 512, 32), (1, 16, 4096, 128)]]
    dtypes = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}

    def measure(fn):
        # Warm up for at least 0.2 s: right after set_num_threads, OpenMP's
        # team is still starting and the first few short calls run slow.
        began = time.perf_counter()
        while True:
            t0 = time.perf_counter(); fn(); warm = time.perf_counter() - t0
            if time.perf_counter() - began >= 0.2:
                break
        reps = args.reps
        if args.time_budget > 0:
            reps = max(1, min(reps, int(args.time_budget / max(warm, 1e-9))))
        times = []
        for _ in range(reps):
            t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
        return min(times), statistics.median(times), reps

    start = time.perf_counter()
    rows = []
    for threads in sorted({int(t) for t in args.threads.split(",")}):
        torch.set_num_threads(threads)
        for (B, Hq, Hkv, Sq, Skv, D, dtype) in shapes:
            gen = torch.Generator().manual_seed(0)
            q = torch.randn(B, Hq, Sq, D, generator=gen).to(dtypes[dtype])
            k = torch.randn(B, Hkv, Skv, D, generator=gen).to(dtypes[dtype])
            v = torch.randn(B, Hkv, Skv, D, generator=gen).to(dtypes[dtype])
            for causal in (False, True):
                r = dict(threads=threads, B=B, Hq=Hq, Hkv=Hkv, Sq=Sq, Skv=Skv, D=D,
                         dtype=dtype, causal=causal)
                if args.deadline and time.perf_counter() - start > args.deadline:
                    r["skipped"] = "deadline"
                    rows.append(r); print(json.dumps(r), flush=True)
                    continue
                kw = {"enable_gqa": True} if Hq != Hkv else {}
                if causal and Sq != Skv:
                    from torch.nn.attention.bias import causal_lower_right
                    kw["attn_mask"] = causal_lower_right(Sq, Skv)
                elif causal:
                    kw["is_causal"] = True
                try:
                    best, median, reps = measure(
                        lambda: F.scaled_dot_product_attention(q, k, v, **kw))
                except Exception as e:  # an unsupported combination: record it
                    r["error"] = f"{type(e).__name__}: {e}"
                    rows.append(r); print(json.dumps(r), flush=True)
                    continue
                flops = 4.0 * B * Hq * visible_pairs(Sq, Skv, causal) * D
                r.update(reps=reps, ms=round(best * 1e3, 3),
                         ms_median=round(median * 1e3, 3),
                         gflops=round(flops / best / 1e9, 1),
                         gflops_median=round(flops / median / 1e9, 1))
                rows.append(r); print(json.dumps(r), flush=True)
    result = dict(torch=torch.__version__,
                  parallel_info=torch.__config__.parallel_info(), rows=rows)
    json.dump(result, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
