#!/usr/bin/env python3
"""Checks bench/gpu/patterns.py without a GPU (numpy only):

1. peers.py's FlexAttention masks (patterns.PEER_MASKS) equal attn's
   pattern of each case (patterns.visible on positions) at Sq = Skv, element
   by element: the Flex peer computes the same attention as the attn case.
2. patterns.block_density against a direct count over the peer masks.
3. patterns.reference against attn's own CPU kernels: every case compiled
   for this CPU with attn-compile (bf16, the same .mlir files as the GPU
   artifacts) and run through attn_runtime on numpy at bench.py's
   CHECK_SHAPES, gated cases with bench.py's gates. This pins the position
   convention (Sq != Skv, Sq > Skv, decode), global tokens with negative
   positions, strided floor semantics, GQA head mapping and gated zeros.
   Skipped when attn-compile or libattn_runtime.so is missing.

    ATTN_RUNTIME_LIB=build/runtime/libattn_runtime.so \\
        /usr/bin/python3 bench/gpu/test_patterns.py [--attn-compile build/bin/attn-compile]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "runtime", "python"))

import patterns  # noqa: E402

CHECK_SHAPES = [(2, 1000, 1037), (1, 1037, 1000), (1, 300, 300), (1, 128, 128),
                (2, 1, 1037), (1, 77, 300)]


def load_cases():
    with open(os.path.join(HERE, "cases", "cases.json")) as f:
        return json.load(f)["cases"]


def check_peer_masks(cases):
    bad = 0
    for S in (1000, 1037, 4096):
        i = np.arange(S, dtype=np.int64)
        qi, ki = i[:, None], i[None, :]
        seen = set()
        for c in cases:
            name = c["peer_mask"]
            if not name or name in seen:
                continue
            seen.add(name)
            peer = np.broadcast_to(patterns.PEER_MASKS[name](0, 0, qi, ki), (S, S))
            mine = np.broadcast_to(patterns.visible(c["spec"], qi, ki), (S, S))
            diff = int((peer != mine).sum())
            print("peer mask %-20s vs %-70s S=%5d: %s" % (
                name, c["pattern"], S, "equal" if diff == 0 else "%d pairs differ" % diff))
            bad += diff != 0
    return bad


def check_density(cases):
    bad = 0
    for S in (2048, 4096):
        seen = set()
        for c in cases:
            name = c["peer_mask"]
            if not name or name in seen:
                continue
            seen.add(name)
            nb = S // 128
            i = np.arange(S, dtype=np.int64)
            m = np.broadcast_to(patterns.PEER_MASKS[name](0, 0, i[:, None], i[None, :]), (S, S))
            direct = m.reshape(nb, 128, nb, 128).any(axis=(1, 3)).mean()
            mine = patterns.block_density(c["spec"], S, 128, chunk_blocks=5)
            ok = abs(direct - mine) < 1e-12
            print("density %-20s S=%5d: %.4f (direct %.4f) %s" % (name, S, mine, direct,
                                                                "ok" if ok else "DIFFERS"))
            bad += not ok
    for S in (16384,):
        for c in cases:
            if c["family"] == "h16d128" and not c["gated"]:
                print("density %-20s S=%5d: %.4f" % (c["pattern_name"], S,
                                                     patterns.block_density(c["spec"], S)))
    return bad


def bf16_bits(x):
    """float32 -> bf16 bits (round to nearest even) as uint16, and back."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return u


def from_bits(u):
    return (u.astype(np.uint32) << 16).view(np.float32)


def check_against_cpu_kernels(cases, compiler, families):
    import attn_runtime
    bad = 0
    tmp = tempfile.mkdtemp(prefix="attn-gpu-cases-cpu-")
    rng = np.random.default_rng(0)
    for c in cases:
        if c["family"] not in families:
            continue
        art_dir = os.path.join(tmp, c["name"])
        r = subprocess.run([compiler, os.path.join(HERE, "cases", c["file"]), "--target=native",
                            "-o", art_dir], capture_output=True, text=True)
        if r.returncode != 0:
            print("cpu compile FAIL %s: %s" % (c["name"], r.stderr.strip()[:300]))
            bad += 1
            continue
        art = attn_runtime.Artifact(art_dir)
        scale = float(art.signature(c["function"]).kernels[0]["scale"])
        hq, hkv, d = c["query_heads"], c["key_heads"], c["head_dim"]
        for (B, Sq, Skv) in CHECK_SHAPES:
            for frac in ((0.5, 0.25) if c["gated"] else (None,)):
                q = bf16_bits(rng.standard_normal((B, hq, Sq, d)))
                k = bf16_bits(rng.standard_normal((B, hkv, Skv, d)))
                v = bf16_bits(rng.standard_normal((B, hkv, Skv, d)))
                inputs = [q, k, v]
                gates = None
                if frac is not None:
                    step = int(round(1 / frac))
                    gates = np.stack([((np.arange(hq) + b) % step) == 0 for b in range(B)])
                    inputs.append(gates)
                o = art.call(c["function"], inputs)[0]
                out = from_bits(o)
                ref = patterns.reference(from_bits(q), from_bits(k), from_bits(v), c["spec"],
                                         scale, gates)
                err = np.abs(out - ref)
                # The CPU kernel rounds only its output to bf16: |err| is
                # bf16 rounding of |ref| <= 4 (2^-9 relative) and a little.
                ok = err.max() <= 1e-2 and err.mean() <= 1e-3 and np.isfinite(out).all()
                if gates is not None:
                    ok = ok and np.all(out[~gates] == 0)
                # Rows that see no key are zeros in both.
                print("cpu %-26s B=%d %5d x %-5d gates=%-5s max %.2e mean %.2e %s" % (
                    c["name"], B, Sq, Skv, frac, err.max(), err.mean(), "ok" if ok else "FAIL"))
                bad += not ok
        art.close()
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attn-compile", default=os.path.join(ROOT, "build", "bin", "attn-compile"))
    ap.add_argument("--families", default="h32d64,h16d128",
                    help="case families to run on the CPU kernels (comma-separated)")
    args = ap.parse_args()
    cases = load_cases()
    bad = check_peer_masks(cases)
    bad += check_density(cases)
    if not os.path.exists(args.attn_compile):
        print("skip: no attn-compile at %s" % args.attn_compile)
    else:
        try:
            import attn_runtime  # noqa: F401
            attn_runtime.Runtime(0)
        except Exception as e:  # OSError: no libattn_runtime.so
            print("skip CPU kernels: %s" % e)
        else:
            bad += check_against_cpu_kernels(cases, args.attn_compile,
                                             args.families.split(","))
    print("test_patterns.py: %s" % ("all passed" if bad == 0 else "%d FAILED" % bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
