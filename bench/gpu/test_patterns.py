#!/usr/bin/env python3
"""Checks bench/gpu/patterns.py without a GPU (numpy only):

1. peers.py's FlexAttention masks (patterns.PEER_MASKS, and for random
   blocks patterns.layout_mask_mod over attn's layout) equal attn's pattern
   of each case (patterns.visible on positions; random blocks: their first
   CHECKED_HEADS heads) at Sq = Skv,
   element by element: the Flex peer computes the same attention as the
   attn case.
2. patterns.block_density against a direct count over the peer masks.
3. The random-block port: the vectorised layout builder against the
   literal port of RandomBlockRow / isBlockKept (several densities, seeds
   past 2^63, block sizes, without the diagonal), and explicit layouts.
4. patterns.reference against attn's own CPU kernels: every case compiled
   for this CPU with attn-compile (bf16, the same .mlir files as the GPU
   artifacts) and run through attn_runtime on numpy at bench.py's
   CHECK_SHAPES, gated cases with bench.py's gates. This pins the position
   convention (Sq != Skv, Sq > Skv, decode), global tokens with negative
   positions, strided floor semantics, GQA head mapping, gated zeros and
   attn's random-block layouts (per head). Plus EXTRA_FUNCTIONS, compiled
   the same way: random blocks at block 64 without the diagonal, a seed past
   2^63 and GQA, and explicit block layouts (shared and per head), at more
   blocks per row (EXTRA_SHAPES). Skipped when attn-compile or
   libattn_runtime.so is missing.

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


# Heads checked of a head-dependent pattern (rows of different heads are
# different streams; more heads only repeat the same code path).
CHECKED_HEADS = 4


def peer_key(c):
    """Cases with this key have the same peer mask (a layout peer depends on
    the spec; CHECKED_HEADS heads of it are checked)."""
    name = c["peer_mask"]
    if name == patterns.LAYOUT_PEER:
        return (name, json.dumps(c["spec"], sort_keys=True))
    return name


def heads_of(c):
    """The number of query heads checked: CHECKED_HEADS for a head-dependent
    pattern, one otherwise."""
    return min(c["query_heads"], CHECKED_HEADS) if patterns.depends_on_head(c["spec"]) else 1


def check_peer_masks(cases):
    bad = 0
    for S in (1000, 1037, 4096):
        i = np.arange(S, dtype=np.int64)
        qi, ki = i[:, None], i[None, :]
        seen = set()
        for c in cases:
            name = c["peer_mask"]
            if not name or peer_key(c) in seen:
                continue
            seen.add(peer_key(c))
            mod = patterns.peer_mask_mod(name, c["spec"], heads_of(c), S)
            diff = 0
            for h in range(heads_of(c)):
                peer = np.broadcast_to(mod(0, h, qi, ki), (S, S))
                mine = np.broadcast_to(patterns.visible(c["spec"], qi, ki, np.int64(h)), (S, S))
                diff += int((peer != mine).sum())
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
            if not name or peer_key(c) in seen:
                continue
            seen.add(peer_key(c))
            nb = S // 128
            i = np.arange(S, dtype=np.int64)
            mod = patterns.peer_mask_mod(name, c["spec"], heads_of(c), S)
            direct = np.mean([np.broadcast_to(mod(0, h, i[:, None], i[None, :]), (S, S))
                              .reshape(nb, 128, nb, 128).any(axis=(1, 3)).mean()
                              for h in range(heads_of(c))])
            heads = heads_of(c) if patterns.depends_on_head(c["spec"]) else None
            mine = patterns.block_density(c["spec"], S, 128, chunk_blocks=5, heads=heads,
                                          fast=False)
            fast = patterns.block_density(c["spec"], S, 128, heads=heads)
            ok = abs(direct - mine) < 1e-12 and abs(direct - fast) < 1e-12
            print("density %-20s S=%5d: %.4f (direct %.4f, fast %.4f) %s" % (
                name if heads is None else "%s, %d heads" % (c["pattern_name"], heads), S,
                mine, direct, fast,
                "ok" if ok else "DIFFERS"))
            bad += not ok
    for S in (16384,):
        for c in cases:
            if c["family"] == "h16d128" and not c["gated"]:
                heads = c["query_heads"] if patterns.depends_on_head(c["spec"]) else None
                print("density %-20s S=%5d: %.4f" % (c["pattern_name"], S,
                                                     patterns.block_density(c["spec"], S,
                                                                            heads=heads)))
    return bad


def check_block_layouts():
    """The vectorised builder against the literal port, cell by cell."""
    bad = 0
    specs = [dict(kind="random_blocks", density=d, seed=seed, block=block, diagonal=diag)
             for d, seed, block, diag in ((0.25, 1, 128, True), (0.1, 1, 128, True),
                                          (0.3, 12345678901234567890, 64, False),
                                          (0.05, 7, 64, True), (0.9, 2 ** 64 - 1, 128, False),
                                          (1.0, 3, 128, False), (1e-6, 5, 128, False))]
    H, nqb, nkb = 6, 21, 40
    for spec in specs:
        lay = patterns.random_block_layout(spec, H, nqb, nkb)
        ref = np.array([[[patterns.random_block_kept(spec, h, i, j) for j in range(nkb)]
                         for i in range(nqb)] for h in range(H)])
        # A wider or taller build agrees on the common part (rows are
        # independent of their length).
        big = patterns.random_block_layout(spec, H + 1, nqb + 3, nkb + 20)[:H, :nqb, :nkb]
        diff = int((lay != ref).sum()) + int((big != ref).sum())
        print("layout random_blocks density=%g seed=%d block=%d diagonal=%s: %s (kept %.3f)" % (
            spec["density"], spec["seed"], spec["block"], spec["diagonal"],
            "equal" if diff == 0 else "%d cells differ" % diff, lay.mean()))
        bad += diff != 0
    for spec in EXTRA_LAYOUTS:
        nl, R, C = ([1] + spec["shape"])[-3:]
        mats = np.array(spec["layout"]).reshape(nl, R, C)
        lay = patterns.block_layout(spec, 5, R + 2, C + 1)
        ok = True
        for h in range(5):
            for i in range(R + 2):
                for j in range(C + 1):
                    want = (i < R and j < C and (nl == 1 or h < nl)
                            and bool(mats[0 if nl == 1 else h, i, j]))
                    ok = ok and bool(lay[h, i, j]) == want
        print("layout block_layout shape=%s: %s" % (spec["shape"], "ok" if ok else "DIFFERS"))
        bad += not ok
    return bad


def _layout_text(spec):
    return "#attn.block_layout<block = %d, shape = [%s], layout = [%s]>" % (
        spec["block"], ", ".join(map(str, spec["shape"])), ", ".join(map(str, spec["layout"])))


def _lcg_bits(n, seed):
    """n fixed 0/1 entries (about a third ones), with a 1 on every 8th."""
    out, x = [], seed
    for i in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) % 2 ** 64
        out.append(1 if (x >> 33) % 3 == 0 or i % 8 == 0 else 0)
    return out


# Explicit layouts: one shared 20 x 18 matrix of 64-blocks, and one per head
# (4 heads, 12 x 12 of 128-blocks).
EXTRA_LAYOUTS = [dict(kind="block_layout", block=64, shape=[20, 18], layout=_lcg_bits(360, 1)),
                 dict(kind="block_layout", block=128, shape=[4, 12, 12],
                      layout=_lcg_bits(576, 2))]
# (name, Hq, Hkv, D, pattern text, spec): patterns the suite's cases do not
# reach, checked against the CPU kernels here only.
EXTRA_FUNCTIONS = [
    ("rb_b64_nodiag_gqa", 4, 2, 64,
     "#attn.random_blocks<density = 0.3, seed = 12345678901234567890, block = 64, diagonal = false>",
     dict(kind="random_blocks", density=0.3, seed=12345678901234567890, block=64, diagonal=False)),
    ("rb_b128_d05_seed7", 3, 3, 64, "#attn.random_blocks<density = 0.05, seed = 7>",
     dict(kind="random_blocks", density=0.05, seed=7, block=128, diagonal=True)),
    ("layout_shared_b64", 2, 1, 64, _layout_text(EXTRA_LAYOUTS[0]), EXTRA_LAYOUTS[0]),
    ("layout_per_head_b128", 4, 2, 64, _layout_text(EXTRA_LAYOUTS[1]), EXTRA_LAYOUTS[1]),
]
# Within the explicit layouts' bounds (Skv <= 18 * 64 = 1152; 12 * 128).
EXTRA_SHAPES = [(2, 1100, 1150), (1, 1150, 1000), (1, 700, 700), (2, 1, 1150), (1, 130, 515)]


def bf16_bits(x):
    """float32 -> bf16 bits (round to nearest even) as uint16, and back."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return u


def from_bits(u):
    return (u.astype(np.uint32) << 16).view(np.float32)


def extra_cases(tmp):
    """EXTRA_FUNCTIONS as cases (their .mlir written into `tmp`)."""
    out = []
    for name, hq, hkv, d, text, spec in EXTRA_FUNCTIONS:
        qt = "tensor<?x%dx?x%dxbf16>" % (hq, d)
        kt = "tensor<?x%dx?x%dxbf16>" % (hkv, d)
        path = os.path.join(tmp, name + ".mlir")
        with open(path, "w") as f:
            f.write("func.func @%s(%%q: %s, %%k: %s, %%v: %s) -> %s {\n"
                    "  %%o = attn.attention %%q, %%k, %%v {pattern = %s}\n"
                    "      : %s, %s, %s -> %s\n  return %%o : %s\n}\n"
                    % (name, qt, kt, kt, qt, text, qt, kt, kt, qt, qt))
        out.append(dict(name=name, function=name, path=path, query_heads=hq, key_heads=hkv,
                        head_dim=d, gated=False, spec=spec, shapes=EXTRA_SHAPES))
    return out


def check_against_cpu_kernels(cases, compiler, families, extra=True):
    import attn_runtime
    bad = 0
    tmp = tempfile.mkdtemp(prefix="attn-gpu-cases-cpu-")
    rng = np.random.default_rng(0)
    todo = [c for c in cases if c["family"] in families]
    if extra:
        todo += extra_cases(tmp)
    for c in todo:
        art_dir = os.path.join(tmp, c["name"])
        src = c.get("path") or os.path.join(HERE, "cases", c["file"])
        r = subprocess.run([compiler, src, "--target=native", "-o", art_dir],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("cpu compile FAIL %s: %s" % (c["name"], r.stderr.strip()[:300]))
            bad += 1
            continue
        art = attn_runtime.Artifact(art_dir)
        scale = float(art.signature(c["function"]).kernels[0]["scale"])
        hq, hkv, d = c["query_heads"], c["key_heads"], c["head_dim"]
        for (B, Sq, Skv) in c.get("shapes", CHECK_SHAPES):
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
    ap.add_argument("--only", action="append", default=[],
                    help="CPU kernels: only cases whose name contains this (repeatable)")
    ap.add_argument("--no-extra", action="store_true",
                    help="CPU kernels: not the EXTRA_FUNCTIONS (random blocks, layouts)")
    args = ap.parse_args()
    cases = load_cases()
    bad = check_peer_masks(cases)
    bad += check_density(cases)
    bad += check_block_layouts()
    if not os.path.exists(args.attn_compile):
        print("skip: no attn-compile at %s" % args.attn_compile)
    else:
        try:
            import attn_runtime  # noqa: F401
            attn_runtime.Runtime(0)
        except Exception as e:  # OSError: no libattn_runtime.so
            print("skip CPU kernels: %s" % e)
        else:
            cpu_cases = [c for c in cases
                         if not args.only or any(o in c["name"] for o in args.only)]
            bad += check_against_cpu_kernels(cpu_cases, args.attn_compile,
                                             args.families.split(","), not args.no_extra)
    print("test_patterns.py: %s" % ("all passed" if bad == 0 else "%d FAILED" % bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
