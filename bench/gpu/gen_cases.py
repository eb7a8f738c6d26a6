#!/usr/bin/env python3
"""Writes the attn functions of the GPU correctness + benchmark suite.

    python3 bench/gpu/gen_cases.py            # (re)writes bench/gpu/cases/
    python3 bench/gpu/gen_cases.py --check    # exit 1 if the files are stale

One .mlir file per case, one function per file (named like the case), so
that scripts/prepare-device.sh compiles each into its own artifact and one
case that does not compile yet (gating on the GPU) fails alone. Batch and
sequence lengths are dynamic (tensor<?xHx?xDxbf16>): one artifact runs every
B, Sq and Skv, which is what bench/gpu/bench.py exercises (no recompilation
when the sequence length changes).

The patterns are those of the FlexAttention table of /work/shared/ANCHORS.md
(bench/peers.py there), written so that attn's pattern equals the peer's
mask exactly when Sq = Skv (attn defines patterns on positions q + Skv - Sq,
docs/design.md; the peers' masks on indices):

  dense            #attn.dense                                   qi >= 0
  causal           #attn.causal                                  qi >= ki
  sliding_window   #attn.local<window = 512>   (|p - k| <= 512)  (qi - ki).abs() <= 512
  causal_window    #attn.local<window = 1023, causal>            (qi >= ki) & (qi - ki < 1024)
                   (0 <= p - k <= 1023)
  global_local     #attn.union<[#attn.global<tokens = 64>,       (|qi - ki| <= 256) | (ki < 64) | (qi < 64)
                                #attn.local<window = 256>]>
                   (global: k < 64, or 0 <= p < 64: the same for p >= 0)
  strided          #attn.strided<stride = 4, block = 128>        (qi // 128 - ki // 128) % 4 == 0
                   ((floor(p/128) - floor(k/128)) mod 4 == 0, mod non-negative:
                   torch's % is Python's floor modulo, so they agree)
  gated            dense with gates(%g : tensor<?xHxi1>)         half / a quarter of the heads
  gqa_dense        dense, Hq / Hkv = 8 (16/2 at D = 128, 32/4 at D = 64)
  random_blocks_0.25  #attn.random_blocks<density = 0.25, seed = 1,   lay[h, qi // 128, ki // 128]
                      block = 128, diagonal = true>
  random_blocks_0.10  the same with density = 0.1

Random blocks are ANCHORS' two random rows ("density ~0.27", "~0.12": there
Flex drew torch.rand layouts with the diagonal). Here the layout is attn's
own (per query head, from its splitmix stream: patterns.random_block_layout,
a port of PatternQueries.cpp), and Flex gets that very layout as a bool
[H, S/128, S/128] tensor (peer mask "attn_layout", patterns.layout_mask_mod):
both compute the same attention. Their file, function and artifact names
spell the density's '.' as 'p' (random_blocks_0p25_h16d128): a '.' is a
valid MLIR symbol but not a PTX identifier.

cases.json lists every case with what bench.py needs: the function, heads,
head dim, the pattern in attn's text and as a spec bench/gpu/patterns.py
evaluates, the ANCHORS row and the peer mask: a name of peers.py
(patterns.PEER_MASKS) or "attn_layout" (the case's own block layout).
"""

import argparse
import json
import os
import sys
from common import write_case_files  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, "cases")

# (family, Hq, D, GQA key heads): the ANCHORS shapes (4,16,4096,128) and
# (1,16,16384,128) use the first, (4,32,4096,64) the second.
FAMILIES = [("h16d128", 16, 128, 2), ("h32d64", 32, 64, 4)]

# name -> (attn pattern text or None for dense, spec for patterns.py,
#          peers.py mask name, ANCHORS row label)
PATTERNS = [
    ("dense", "#attn.dense", {"kind": "dense"}, "dense", "dense"),
    ("causal", "#attn.causal", {"kind": "causal"}, "causal", "causal"),
    ("sliding_window", "#attn.local<window = 512>",
     {"kind": "local", "window": 512, "causal": False},
     "sliding_window_1024", "sliding window ±512"),
    ("causal_window", "#attn.local<window = 1023, causal>",
     {"kind": "local", "window": 1023, "causal": True},
     "causal_window_1024", "causal window 1024"),
    ("global_local",
     "#attn.union<[#attn.global<tokens = 64>, #attn.local<window = 256>]>",
     {"kind": "union", "members": [{"kind": "global", "tokens": 64},
                                   {"kind": "local", "window": 256, "causal": False}]},
     "global64_local512", "64 global tokens + local ±256"),
    ("strided", "#attn.strided<stride = 4, block = 128>",
     {"kind": "strided", "stride": 4, "block": 128, "causal": False},
     "block_strided_4", "every 4th block (strided)"),
    ("random_blocks_0.25",
     "#attn.random_blocks<density = 0.25, seed = 1, block = 128, diagonal = true>",
     {"kind": "random_blocks", "density": 0.25, "seed": 1, "block": 128, "diagonal": True},
     "attn_layout", "random blocks, density ~0.27"),
    ("random_blocks_0.10",
     "#attn.random_blocks<density = 0.1, seed = 1, block = 128, diagonal = true>",
     {"kind": "random_blocks", "density": 0.1, "seed": 1, "block": 128, "diagonal": True},
     "attn_layout", "random blocks, density ~0.12"),
]


def symbol(pattern_name):
    """A file, function and artifact name for a pattern name: '.' is no PTX
    identifier character."""
    return pattern_name.replace(".", "p")


def function_text(name, hq, hkv, d, pattern, gated):
    qt = "tensor<?x%dx?x%dxbf16>" % (hq, d)
    kt = "tensor<?x%dx?x%dxbf16>" % (hkv, d)
    args = "%%q: %s, %%k: %s, %%v: %s" % (qt, kt, kt)
    gates = ""
    if gated:
        gt = "tensor<?x%dxi1>" % hq
        args += ", %%g: %s" % gt
        gates = " gates(%%g : %s)" % gt
    attr = " {pattern = %s}" % pattern
    return ("func.func @{name}({args}) -> {qt} {{\n"
            "  %o = attn.attention %q, %k, %v{gates}{attr}\n"
            "      : {qt}, {kt}, {kt} -> {qt}\n"
            "  return %o : {qt}\n"
            "}}\n").format(name=name, args=args, qt=qt, kt=kt, gates=gates, attr=attr)


def cases():
    out = []
    for family, hq, d, gqa_kv in FAMILIES:
        entries = []
        for pname, text, spec, peer, label in PATTERNS:
            entries.append((pname, hq, text, spec, peer, label, False))
            if pname == "dense":
                entries.append(("gqa_dense", gqa_kv, text, spec, "dense",
                                "dense, GQA %d/%d" % (hq, gqa_kv), False))
        entries.append(("gated", hq, "#attn.dense", {"kind": "dense"}, None,
                        "head gating (dense)", True))
        for pname, hkv, text, spec, peer, label, gated in entries:
            name = "%s_%s" % (symbol(pname), family)
            out.append({
                "name": name, "file": name + ".mlir", "function": name,
                "family": family, "pattern_name": pname,
                "query_heads": hq, "key_heads": hkv, "head_dim": d,
                "dtype": "bf16", "gated": gated, "pattern": text,
                "spec": spec, "peer_mask": peer, "anchor": label,
                "mlir": function_text(name, hq, hkv, d, text, gated)})
    return out


HEADER = ("// Generated by bench/gpu/gen_cases.py; do not edit. One case of the GPU\n"
          "// correctness + benchmark suite (bench/gpu/bench.py): bf16, dynamic batch and\n"
          "// sequence lengths. Compile: attn-compile FILE --target=sm_90 -o DIR\n"
          "// ({anchor}; Hq = {hq}, Hkv = {hkv}, D = {d})\n")


def files():
    result = {}
    index = []
    for c in cases():
        result[c["file"]] = HEADER.format(anchor=c["anchor"], hq=c["query_heads"],
                                          hkv=c["key_heads"], d=c["head_dim"]) + c["mlir"]
        entry = dict(c)
        del entry["mlir"]
        index.append(entry)
    result["cases.json"] = json.dumps({
        "generator": "bench/gpu/gen_cases.py",
        "not_lowered": [],
        "cases": index}, indent=1) + "\n"
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if bench/gpu/cases/ differs from what this writes")
    ap.add_argument("--dir", default=CASES_DIR)
    args = ap.parse_args()
    return write_case_files("gen_cases.py", files(), args.dir, args.check)

if __name__ == "__main__":
    sys.exit(main())
