#!/usr/bin/env python3
"""End-to-end quality of an attention schedule on all-MiniLM-L6-v2.

Reads an attn-explore output directory (choice.json, and the artifact that
`attn-compile --target=native` made from its schedule.mlir), runs the
MiniLM forward pass (explore/minilm.py) on every sentence of the text, batch
1 at the sentence's own length, with each layer's attention replaced by the
artifact's kernels through attn's Python binding, and compares the sentence
embeddings with the dense model's:

  cosine      per sentence, between the scheduled and the dense embedding
              (mean, min, 5th percentile)
  nn_agree    fraction of sentences whose nearest neighbour among the other
              sentences (cosine) is the same under the schedule as dense

Gates follow the router rule shared with attn-explore (docs/explore.md):
value-norm scores (mean over t of ||V[0, h, t, :]||_2 of the sentence) or the
fixed importance scores in choice.json; the `keep` best fire, ties to the
lower head index.

  python3 explore/minilm_e2e.py build/explore-out \
      --attn-compile build/bin/attn-compile --json e2e.json --markdown e2e.md

With --attn-compile the script compiles schedule.mlir into DIR/artifact
first (--target, default native); otherwise DIR/artifact (or --artifact)
must exist. --emulate also runs the schedule's numpy emulation (dense,
causal and local patterns, gates) and reports how far the kernels are from
it: a check of the kernels and of the gating, not of the schedule.
"""
import argparse
import hashlib
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import minilm  # noqa: E402

DEFAULT_TEXT = HERE / "data" / "pride_and_prejudice.txt"


class E2EError(Exception):
    """Bad input: says what was expected and what was found."""


# --------------------------------------------------------------------------
# choice.json
# --------------------------------------------------------------------------

def load_choice(path, layers, heads):
    """The layers of choice.json, checked against the model, sorted by layer."""
    path = Path(path)
    if not path.is_file():
        raise E2EError(f"expected attn-explore's choice.json at {path}, not found")
    try:
        choice = json.loads(path.read_text())
    except ValueError as e:
        raise E2EError(f"{path}: expected JSON, found a syntax error: {e}") from None
    if not isinstance(choice, dict) or not isinstance(choice.get("layers"), list):
        raise E2EError(f"{path}: expected an object with a 'layers' list")
    entries = {}
    for i, e in enumerate(choice["layers"]):
        where = f"{path}: layers[{i}]"
        if not isinstance(e, dict):
            raise E2EError(f"{where}: expected an object, found {type(e).__name__}")
        layer = e.get("layer")
        if not isinstance(layer, int) or not 0 <= layer < layers:
            raise E2EError(f"{where}: expected 'layer' in [0, {layers}), found {layer!r}")
        if layer in entries:
            raise E2EError(f"{where}: layer {layer} appears twice")
        fns = e.get("functions")
        if not isinstance(fns, list) or len(fns) not in (1, 2) or \
                not all(isinstance(f, str) for f in fns):
            raise E2EError(f"{where}: expected 'functions' of one name or two "
                           f"(select, attend), found {fns!r}")
        top_k = e.get("top_k")
        if (len(fns) == 2) != (top_k is not None):
            raise E2EError(f"{where}: expected two functions exactly when 'top_k' is set; "
                           f"found {len(fns)} function(s) and top_k {top_k!r}")
        gate = e.get("gate")
        if gate is not None:
            if not isinstance(gate, dict):
                raise E2EError(f"{where}: expected 'gate' null or an object, found {gate!r}")
            keep = gate.get("keep")
            if not isinstance(keep, int) or isinstance(keep, bool) or not 0 <= keep <= heads:
                raise E2EError(f"{where}: expected gate.keep in [0, {heads}], found {keep!r}")
            scores = gate.get("scores")
            if scores == "importance":
                imp = gate.get("importance")
                if not isinstance(imp, list) or len(imp) != heads or \
                        not all(isinstance(x, (int, float)) for x in imp):
                    raise E2EError(f"{where}: expected gate.importance of {heads} numbers, "
                                   f"found {imp!r}")
            elif scores != "value_norm":
                raise E2EError(f"{where}: expected gate.scores 'value_norm' or 'importance', "
                               f"found {scores!r}")
        entries[layer] = e
    missing = [l for l in range(layers) if l not in entries]
    if missing:
        raise E2EError(f"{path}: expected an entry for each of the model's {layers} layers; "
                       f"missing {missing}")
    return choice, [entries[l] for l in range(layers)]


# --------------------------------------------------------------------------
# Gates: the router rule shared with attn-explore
# --------------------------------------------------------------------------

def value_norm_scores(v):
    """[B, H]: mean over t of ||v[b, h, t, :]||_2."""
    return np.sqrt((v.astype(np.float32) ** 2).sum(-1)).mean(-1)


def top_k_gates(scores, keep):
    """bool [B, H]: the `keep` highest scores per row, ties to the lower head."""
    scores = np.asarray(scores)
    gates = np.zeros(scores.shape, dtype=bool)
    for b in range(scores.shape[0]):
        order = sorted(range(scores.shape[1]), key=lambda h: (-float(scores[b, h]), h))
        gates[b, order[:keep]] = True
    return gates


def layer_gates(entry, v):
    gate = entry.get("gate")
    if gate is None:
        return None
    if gate["scores"] == "value_norm":
        scores = value_norm_scores(v)
    else:
        scores = np.tile(np.asarray(gate["importance"], dtype=np.float64), (v.shape[0], 1))
    return top_k_gates(scores, gate["keep"])


# --------------------------------------------------------------------------
# The schedule through the artifact
# --------------------------------------------------------------------------

def import_runtime():
    try:
        import attn_runtime
    except ImportError:
        sys.path.insert(0, str(HERE.parent / "runtime" / "python"))
        import attn_runtime
    return attn_runtime


def _selected_pairs(blocks, top_k, S, gates):
    """Query-key pairs the attention over `blocks` ([B, Hkv, nqb, K], the
    selection's output) visits at length S, per (batch, head) on average:
    each query block's distinct listed blocks, whole, times its rows, for the
    heads that fire (as the mask path counts heads on x visible pairs)."""
    qb, kb = int(top_k["query_block"]), int(top_k["key_block"])
    B, hkv, nqb, _ = blocks.shape
    H = gates.shape[1]
    group = H // hkv
    nkb = -(-S // kb)
    total = 0.0
    for b in range(B):
        for g in range(hkv):
            on = float(gates[b, g * group:(g + 1) * group].sum())
            if on == 0:
                continue
            for i in range(nqb):
                rows = min(qb, S - i * qb)
                listed = {int(j) for j in blocks[b, g, i] if 0 <= j < nkb}
                keys = sum(min(kb, S - j * kb) for j in listed)
                total += on * rows * keys
    return total / (B * H)


class ScheduledAttention:
    """attention(layer, q, k, v) through the artifact's functions."""

    def __init__(self, artifact, entries, heads, head_dim):
        self.art, self.entries = artifact, entries
        self.active = []  # fraction of heads on, per call
        # Attention work done / dense work, weighted by S^2 per call: heads on
        # times the pattern's density at the call's length (None where the
        # pattern has no numpy mask: top-k, tables).
        self.work, self.dense_work = 0.0, 0.0
        names = artifact.functions
        self.specs = []
        for e in entries:
            specs = []
            for fn in e["functions"]:
                if fn not in names:
                    raise E2EError(f"choice.json: layer {e['layer']} names function {fn!r}, which "
                                   f"the artifact {artifact.path} does not have "
                                   f"(it has: {', '.join(names)})")
                specs.append(artifact.signature(fn))
            self._check(e, specs, heads, head_dim)
            self.specs.append(specs)

    @staticmethod
    def _check(entry, specs, heads, head_dim):
        attend = specs[-1]
        roles = [a.name for a in attend.inputs]
        for role in ("query", "key", "value"):
            if role not in roles:
                raise E2EError(f"function {attend.name}: expected a {role} input, found roles {roles}")
        for a in attend.inputs:
            if a.name in ("query", "key", "value"):
                want = ("B", heads, "S", head_dim)
                ok = (len(a.shape) == 4 and a.shape[1] == heads and a.shape[3] == head_dim
                      and isinstance(a.shape[0], str) and isinstance(a.shape[2], str)
                      and a.dtype == "f32")
                if not ok:
                    raise E2EError(f"function {attend.name}: {a.name} is {a.dtype} "
                                   f"{list(a.shape)}; the model needs f32 "
                                   f"[{want[0]}, {heads}, {want[2]}, {head_dim}] with dynamic "
                                   f"batch and length")
            elif a.name not in ("gates", "active", "blocks"):
                raise E2EError(f"function {attend.name}: input role {a.name!r} is not one "
                               f"the end-to-end script can supply (query, key, value, gates, "
                               f"active, blocks)")
        gated = any(r in ("gates", "active") for r in roles)
        if entry.get("gate") is not None and not gated:
            raise E2EError(f"choice.json: layer {entry['layer']} has a gate but function "
                           f"{attend.name} takes no gates")
        if len(specs) == 2 and "blocks" not in roles:
            raise E2EError(f"function {attend.name}: expected a blocks input (the top-k "
                           f"selection of {specs[0].name}), found roles {roles}")

    def __call__(self, layer, q, k, v):
        entry, specs = self.entries[layer], self.specs[layer]
        gates = layer_gates(entry, v)
        if gates is None:
            gates = np.ones(q.shape[:2], dtype=bool)
        self.active.append(float(gates.mean()))
        mask = None if entry.get("top_k") else _pattern_mask(entry["pattern"], q.shape[2])
        if mask is not None and mask.ndim == 3 and mask.shape[0] != q.shape[1]:
            raise E2EError(f"choice.json: layer {entry['layer']}: a per-head pattern of "
                           f"{mask.shape[0]} heads; the model has {q.shape[1]}")
        if self.work is not None and mask is not None:
            self.work += _visited(mask, gates)
            self.dense_work += float(q.shape[2]) ** 2
        elif self.work is not None and not entry.get("top_k"):
            self.work = None
        if not gates.any():
            if entry.get("top_k") and self.work is not None:
                self.dense_work += float(q.shape[2]) ** 2
            return np.zeros_like(q)
        blocks = None
        if len(specs) == 2:
            sel = specs[0]
            args = []
            for a in sel.inputs:
                if a.name not in ("query", "key"):
                    raise E2EError(f"function {sel.name}: expected inputs query and key, "
                                   f"found {a.name!r}")
                args.append(q if a.name == "query" else k)
            blocks = self.art(sel.name, *args)
            if self.work is not None:
                self.work += _selected_pairs(blocks, entry["top_k"], q.shape[2], gates)
                self.dense_work += float(q.shape[2]) ** 2
        attend = specs[-1]
        args = []
        for a in attend.inputs:
            args.append({"query": q, "key": k, "value": v, "blocks": blocks,
                         "gates": gates,
                         "active": np.flatnonzero(gates.reshape(-1)).astype(np.int32)}[a.name])
        return self.art(attend.name, *args)


# --------------------------------------------------------------------------
# numpy emulation of simple schedules (a check of the kernels)
# --------------------------------------------------------------------------

def _pattern_mask(pattern, s):
    p = pattern.replace(" ", "")
    pos = np.arange(s)
    diff = pos[:, None] - pos[None, :]
    if p == "#attn.dense":
        return np.ones((s, s), dtype=bool)
    if p == "#attn.causal":
        return diff >= 0
    if p.startswith("#attn.local<window=") and p.endswith(">"):
        params = p[len("#attn.local<window="):-1].split(",")
        window = int(params[0])
        causal = "causal" in params[1:]
        if any(x not in ("causal",) for x in params[1:]):
            return None
        m = np.abs(diff) <= window
        return m & (diff >= 0) if causal else m
    if p.startswith("#attn.chunked<size=") and p.endswith(">") and p[19:-1].isdigit():
        size = int(p[19:-1])
        return (pos[:, None] // size) == (pos[None, :] // size)
    if p.startswith("#attn.global<tokens=") and p.endswith(">") and p[20:-1].isdigit():
        tokens = int(p[20:-1])
        return (pos[:, None] < tokens) | (pos[None, :] < tokens)
    for head in ("#attn.union<[", "#attn.per_head<["):
        if not (p.startswith(head) and p.endswith("]>")):
            continue
        members, depth, start = [], 0, 0
        body = p[len(head):-2]
        for i, ch in enumerate(body):
            depth += ch in "<[" and 1 or (-1 if ch in ">]" else 0)
            if ch == "," and depth == 0:
                members.append(body[start:i])
                start = i + 1
        members.append(body[start:])
        masks = [_pattern_mask(m, s) for m in members]
        if any(m is None or m.ndim != 2 for m in masks):
            return None
        # A union: keys any member sees; per head: [H, s, s], one per head.
        return np.logical_or.reduce(masks) if head == "#attn.union<[" else np.stack(masks)
    return None


def _visited(mask, gates):
    """Query-key pairs a pattern's mask ([s, s], or [H, s, s] per head)
    visits per (batch, head) on average, for the heads that fire."""
    on = gates.mean(0)  # [H]: fraction of the batch each head fires in
    if mask.ndim == 3:
        return float((on * mask.sum((1, 2))).sum()) / gates.shape[1]
    return float(on.mean()) * float(mask.sum())


class EmulatedAttention:
    """The schedule in numpy float64 (patterns without tables only)."""

    def __init__(self, entries):
        self.entries = entries
        for e in entries:
            if e.get("top_k") is not None or _pattern_mask(e["pattern"], 2) is None:
                raise E2EError(f"--emulate: layer {e['layer']}: pattern {e['pattern']!r}"
                               + (" with top-k selection" if e.get("top_k") else "")
                               + " has no numpy emulation (dense, causal, local, chunked, "
                               "global, their unions and per-head lists only)")

    def __call__(self, layer, q, k, v):
        entry = self.entries[layer]
        mask = _pattern_mask(entry["pattern"], q.shape[2])
        s = np.matmul(q.astype(np.float64), np.swapaxes(k, -1, -2).astype(np.float64))
        s = np.where(mask, s / math.sqrt(q.shape[-1]), -np.inf)
        s -= s.max(-1, keepdims=True)
        p = np.exp(s)
        o = np.matmul(p / p.sum(-1, keepdims=True), v.astype(np.float64))
        gates = layer_gates(entry, v)
        if gates is not None:
            o *= gates[:, :, None, None]
        return o.astype(np.float32)


# --------------------------------------------------------------------------
# Metrics and reports
# --------------------------------------------------------------------------

def nearest_neighbours(emb):
    sim = emb @ emb.T
    np.fill_diagonal(sim, -np.inf)
    return sim.argmax(1)


def compare(dense, other):
    cos = (dense * other).sum(1) / (np.linalg.norm(dense, axis=1) * np.linalg.norm(other, axis=1))
    nn_d, nn_o = nearest_neighbours(dense), nearest_neighbours(other)
    return {"cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
            "cosine_p5": float(np.percentile(cos, 5)),
            "nn_agreement": float((nn_d == nn_o).mean())}


def markdown(report):
    q = report["quality"]
    lines = [f"## MiniLM end to end: {report['schedule']}", "",
             f"{report['sentences']} sentences ({report['text']}), {report['tokens']} tokens; "
             f"budget {report['budget']}, cost fraction {report['cost_fraction']}; "
             f"heads on: {report['active_heads_fraction']:.3f}; attention work on these "
             f"sentences: " + ("n/a" if report["work_fraction"] is None
                               else f"{report['work_fraction']:.3f}") + " of dense.", "",
             "| cosine mean | cosine min | cosine p5 | NN agreement |",
             "|---:|---:|---:|---:|",
             f"| {q['cosine_mean']:.6f} | {q['cosine_min']:.6f} | {q['cosine_p5']:.6f} | "
             f"{q['nn_agreement']:.3f} |", ""]
    if "emulation" in report:
        em = report["emulation"]
        lines += [f"Kernels vs the numpy emulation of the schedule: embedding cosine min "
                  f"{em['cosine_min']:.7f}, max |difference| {em['max_abs_diff']:.2e}.", ""]
    lines += ["| layer | functions | pattern | gate |", "|---:|---|---|---|"]
    for e in report["layers"]:
        g = e.get("gate")
        gate = "none" if g is None else f"{g['scores']} keep {g['keep']}"
        lines.append(f"| {e['layer']} | {', '.join(e['functions'])} | `{e['pattern']}` | {gate} |")
    return "\n".join(lines) + "\n"


def read_sentences(path):
    path = Path(path)
    try:
        sents = [s.strip() for s in path.read_text(encoding="utf-8").splitlines() if s.strip()]
    except OSError as e:
        raise E2EError(f"cannot read the text {path}: {e.strerror}") from None
    if len(sents) < 2:
        raise E2EError(f"{path}: expected at least 2 sentences (one a line) for nearest "
                       f"neighbours, found {len(sents)}")
    return sents


def run(args):
    explore = Path(args.explore_dir)
    if not explore.is_dir():
        raise E2EError(f"expected an attn-explore output directory at {explore}, not found")
    model = minilm.MiniLM.load(args.model_dir)
    choice, entries = load_choice(explore / "choice.json", model.layers, model.heads)

    artifact_dir = Path(args.artifact) if args.artifact else explore / "artifact"
    if args.attn_compile:
        mlir = explore / "schedule.mlir"
        if not mlir.is_file():
            raise E2EError(f"expected {mlir} to compile, not found")
        cmd = [args.attn_compile, str(mlir), f"--target={args.target}", "-o", str(artifact_dir)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            raise E2EError(f"attn-compile failed ({' '.join(cmd)}):\n{r.stderr.strip()}")
    if not (artifact_dir / "manifest.json").is_file():
        raise E2EError(f"expected an artifact (manifest.json) at {artifact_dir}; compile "
                       f"{explore / 'schedule.mlir'} with attn-compile --target=native -o "
                       f"{artifact_dir}, or pass --attn-compile")
    rt = import_runtime()
    runtime = rt.Runtime(threads=args.threads)
    try:
        art = rt.Artifact(str(artifact_dir), runtime=runtime)
    except rt.AttnError as e:
        raise E2EError(f"cannot open the artifact {artifact_dir}: {e}") from None
    scheduled = ScheduledAttention(art, entries, model.heads, model.head_dim)
    emulated = EmulatedAttention(entries) if args.emulate else None

    sents = read_sentences(args.text)
    if args.max_sentences:
        sents = sents[:args.max_sentences]
        if len(sents) < 2:
            raise E2EError(f"expected --max-sentences >= 2, found {args.max_sentences}")
    cached = None
    if args.dense_cache:
        key = hashlib.sha256(json.dumps([str(model.model_dir), model.config, sents])
                             .encode()).hexdigest()[:16]
        cache = Path(args.dense_cache) / f"dense-{key}.npy"
        if cache.is_file():
            cached = np.load(cache)
    dense, sched, emul = [], [], []
    tokens = 0
    t0 = time.time()
    for i, s in enumerate(sents):
        ids = model.tokenizer.encode(s)
        tokens += len(ids)
        dense.append(cached[i] if cached is not None else model.embed(ids))
        sched.append(model.embed(ids, attention=scheduled))
        if emulated:
            emul.append(model.embed(ids, attention=emulated))
    seconds = time.time() - t0
    dense, sched = np.stack(dense), np.stack(sched)
    if args.dense_cache and cached is None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, dense)
    report = {
        "model": minilm.MODEL_NAME,
        "package": f"{minilm.PACKAGE}=={minilm.PACKAGE_VERSION}",
        "schedule": (choice.get("quality") or {}).get("schedule", str(explore))
                    if isinstance(choice.get("quality") or {}, dict) else str(explore),
        "explore_dir": str(explore), "artifact": str(artifact_dir),
        "text": str(args.text), "sentences": len(sents), "tokens": tokens,
        "budget": choice.get("budget"), "cost_fraction": choice.get("cost_fraction"),
        "active_heads_fraction": float(np.mean(scheduled.active)),
        "work_fraction": (None if scheduled.work is None
                          else scheduled.work / scheduled.dense_work),
        "quality": compare(dense, sched),
        "seconds": round(seconds, 2), "threads": runtime.threads,
        "layers": entries,
    }
    if emulated:
        emul = np.stack(emul)
        cos = (emul * sched).sum(1)
        report["emulation"] = {"cosine_min": float(cos.min()),
                               "max_abs_diff": float(np.abs(emul - sched).max()),
                               "quality": compare(dense, emul)}
    art.close()
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(description="MiniLM sentence-embedding quality of an attn "
                                             "schedule vs the dense model.")
    ap.add_argument("explore_dir", help="attn-explore output: choice.json, schedule.mlir")
    ap.add_argument("--artifact", help="the compiled schedule (default: EXPLORE_DIR/artifact)")
    ap.add_argument("--attn-compile", help="compile schedule.mlir with this attn-compile first")
    ap.add_argument("--target", default="native", help="attn-compile target (default native)")
    ap.add_argument("--text", default=str(DEFAULT_TEXT), help="sentences, one a line")
    ap.add_argument("--max-sentences", type=int, default=0, help="first N sentences only")
    ap.add_argument("--model-dir", help="model directory (default: the installed package)")
    ap.add_argument("--threads", type=int, default=0, help="runtime threads (0: all cores)")
    ap.add_argument("--emulate", action="store_true",
                    help="also run the schedule's numpy emulation and compare the kernels with it")
    ap.add_argument("--dense-cache", help="directory to keep the dense embeddings in, keyed by "
                                          "model and sentences (saves a forward pass per run)")
    ap.add_argument("--json", help="write the report here (default: stdout)")
    ap.add_argument("--markdown", help="write a markdown summary here")
    args = ap.parse_args(argv)
    try:
        report = run(args)
    except (E2EError, minilm.ModelError) as e:
        print(f"minilm_e2e: {e}", file=sys.stderr)
        return 1
    text = json.dumps(report, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n")
    else:
        print(text)
    if args.markdown:
        Path(args.markdown).write_text(markdown(report))
    q = report["quality"]
    print(f"minilm_e2e: {report['schedule']}: cosine mean {q['cosine_mean']:.5f} min "
          f"{q['cosine_min']:.5f}, NN agreement {q['nn_agreement']:.3f} "
          f"({report['sentences']} sentences, {report['seconds']} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
