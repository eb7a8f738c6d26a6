#!/usr/bin/env python3
"""Writes a hand-made schedule in attn-explore's output format (choice.json +
schedule.mlir), for tests and baselines of explore/minilm_e2e.py:

  dense             every layer #attn.dense, no gates
  uniform KEEP      every layer keeps KEEP of the heads by the value-norm
                    router (#attn.dense, gates as an argument)
  local W           every layer #attn.local<window = W>, no gates
  budget B          uniform with KEEP = round(B * heads): the uniform
                    head-pruning baseline at budget B
  topk BLOCK:K      every layer selects the K best key blocks of BLOCK
                    for each query block of BLOCK (attn.select_blocks,
                    then #attn.selected: two functions a layer)

  python3 explore/make_schedule.py uniform 6 -o build/uniform-6
  build/bin/attn-compile build/uniform-6/schedule.mlir --target=native -o build/uniform-6/artifact

The model shape comes from a calibration directory's model.json
(--calibration) or the flags (MiniLM's by default). cost_fraction is the
fraction of dense attention work at --seq-len tokens.
"""
import argparse
import json
import sys
from pathlib import Path


def local_density(window, seq_len):
    """Fraction of (query, key) pairs with |p - k| <= window."""
    w = min(window, seq_len - 1)
    kept = seq_len * (2 * w + 1) - w * (w + 1)
    return kept / (seq_len * seq_len)


def layer_mlir(layer, heads, head_dim, pattern, gated):
    t = f"tensor<?x{heads}x?x{head_dim}xf32>"
    gate_arg = f", %gates: tensor<?x{heads}xi1>" if gated else ""
    gate_use = f" gates(%gates : tensor<?x{heads}xi1>)" if gated else ""
    return (f"func.func @layer{layer}(%q: {t}, %k: {t}, %v: {t}{gate_arg}) -> {t} {{\n"
            f"  %o = attn.attention %q, %k, %v{gate_use} {{pattern = {pattern}}}\n"
            f"      : {t}, {t}, {t} -> {t}\n"
            f"  return %o : {t}\n"
            f"}}\n")


def topk_mlir(layer, heads, head_dim, block, top_k):
    t = f"tensor<?x{heads}x?x{head_dim}xf32>"
    idx = f"tensor<?x{heads}x?x{top_k}xi32>"
    return (f"func.func @layer{layer}_select(%q: {t}, %k: {t}) -> {idx} {{\n"
            f"  %b = attn.select_blocks %q, %k {{query_block = {block}, key_block = {block}, "
            f"top_k = {top_k}}}\n"
            f"      : {t}, {t} -> {idx}\n"
            f"  return %b : {idx}\n"
            f"}}\n\n"
            f"func.func @layer{layer}_attend(%q: {t}, %k: {t}, %v: {t}, %b: {idx}) -> {t} {{\n"
            f"  %o = attn.attention %q, %k, %v blocks(%b : {idx})\n"
            f"      {{pattern = #attn.selected<query_block = {block}, key_block = {block}>}}\n"
            f"      : {t}, {t}, {t} -> {t}\n"
            f"  return %o : {t}\n"
            f"}}\n")


def make(kind, value, layers, heads, head_dim, seq_len):
    """(choice dict, schedule.mlir text)."""
    keep, pattern, density, top_k = None, "#attn.dense", 1.0, None
    if kind == "dense":
        name = "dense"
    elif kind in ("uniform", "budget"):
        keep = int(value) if kind == "uniform" else int(round(float(value) * heads))
        if not 0 < keep <= heads:
            raise SystemExit(f"make_schedule: expected a keep count in [1, {heads}], found {keep}"
                             + (f" (budget {value})" if kind == "budget" else ""))
        name = f"uniform value-norm keep {keep}/{heads}"
    elif kind == "local":
        window = int(value)
        if window < 0:
            raise SystemExit(f"make_schedule: expected a window >= 0, found {window}")
        pattern, density = f"#attn.local<window = {window}>", local_density(window, seq_len)
        name = f"local window {window}"
    elif kind == "topk":
        try:
            block, k = (int(x) for x in str(value).split(":"))
        except ValueError:
            raise SystemExit(f"make_schedule: topk expects BLOCK:K, found {value!r}") from None
        if block < 1 or k < 1:
            raise SystemExit(f"make_schedule: topk expects BLOCK >= 1 and K >= 1, found {value}")
        nb = -(-seq_len // block)
        top_k = {"query_block": block, "key_block": block, "top_k": k}
        pattern = f"#attn.selected<query_block = {block}, key_block = {block}>"
        density = min(k, nb) / nb
        name = f"top-{k} key blocks of {block}"
    else:
        raise SystemExit(f"make_schedule: unknown schedule kind {kind!r}; expected dense, "
                         f"uniform KEEP, local W, budget B or topk BLOCK:K")
    fraction = (keep / heads if keep else 1.0) * density
    choice = {"budget": float(value) if kind == "budget" else round(fraction, 6),
              "cost_fraction": round(fraction, 6),
              "quality": {"schedule": name, "made_by": "explore/make_schedule.py"},
              "layers": []}
    mlir = [f"// {name}: written by explore/make_schedule.py\n"]
    for layer in range(layers):
        gated = keep is not None
        fns = [f"layer{layer}_select", f"layer{layer}_attend"] if top_k else [f"layer{layer}"]
        choice["layers"].append({
            "layer": layer, "functions": fns, "pattern": pattern,
            "gate": {"scores": "value_norm", "keep": keep} if gated else None,
            "top_k": top_k})
        mlir.append(topk_mlir(layer, heads, head_dim, top_k["query_block"], top_k["top_k"])
                    if top_k else layer_mlir(layer, heads, head_dim, pattern, gated))
    return choice, "\n".join(mlir)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write choice.json + schedule.mlir for a "
                                             "dense, uniform-pruning or local schedule.")
    ap.add_argument("kind", choices=["dense", "uniform", "local", "budget", "topk"])
    ap.add_argument("value", nargs="?", default=None, help="KEEP, W, B or BLOCK:K")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--calibration", help="take layers/heads/head_dim from its model.json")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--head-dim", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=128)
    args = ap.parse_args(argv)
    if (args.kind == "dense") != (args.value is None):
        raise SystemExit(f"make_schedule: {args.kind} " +
                         ("takes no value" if args.kind == "dense" else "needs a value"))
    layers, heads, head_dim = args.layers, args.heads, args.head_dim
    if args.calibration:
        path = Path(args.calibration) / "model.json"
        try:
            m = json.loads(path.read_text())
            layers, heads, head_dim = int(m["layers"]), int(m["heads"]), int(m["head_dim"])
        except (OSError, ValueError, KeyError) as e:
            raise SystemExit(f"make_schedule: expected {path} with layers, heads and head_dim: {e}")
    choice, mlir = make(args.kind, args.value, layers, heads, head_dim, args.seq_len)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "choice.json").write_text(json.dumps(choice, indent=2) + "\n")
    (out / "schedule.mlir").write_text(mlir)
    print(f"make_schedule: {choice['quality']['schedule']} ({layers} layers) -> {out}")


if __name__ == "__main__":
    sys.exit(main())
