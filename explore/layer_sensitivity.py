#!/usr/bin/env python3
"""How much the sentence embedding moves per unit of attention error, layer
by layer: weights for attn-explore's --layer-weights with --objective=error2.

For each layer L and each probe pattern P (default: the [CLS] token plus a
local window of 2, 4 and 8), the model runs on the calibration sentences
with P in layer L only (every other layer dense, numpy, float64 attention
with the pattern's mask) and records

  x = the layer's squared relative attention-output error
      (sum over sentences and heads of |O_P - O_dense|^2 / sum of |O_dense|^2,
      as attn-explore's error2 objective counts it)
  y = mean over sentences of 1 - cosine(embedding, dense embedding)

The layer's weight is the least-squares slope of y on x through the origin,
sum(x y) / sum(x^2), normalized so the weights average 1. attn-explore's
error2 objective with these weights is then a first-order model of the mean
embedding loss of a schedule (the sum of the layers' predicted losses).

Use the calibration text (held out from the evaluation):

  python3 explore/layer_sensitivity.py --text explore/data/pride_and_prejudice_calib.txt \\
      --json build/sensitivity.json        # prints the --layer-weights list
"""
import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import minilm  # noqa: E402
import minilm_e2e  # noqa: E402

DEFAULT_PROBES = ["#attn.union<[#attn.global<tokens = 1>, #attn.local<window = %d>]>" % w
                  for w in (2, 4, 8)]


def masked_attention(q, k, v, mask):
    s = np.matmul(q.astype(np.float64), np.swapaxes(k, -1, -2).astype(np.float64))
    s = np.where(mask, s / math.sqrt(q.shape[-1]), -np.inf)
    s -= s.max(-1, keepdims=True)
    p = np.exp(s)
    return np.matmul(p / p.sum(-1, keepdims=True), v.astype(np.float64))


def measure(model, ids_list, layer, pattern):
    """(squared relative error of the layer, mean 1 - cosine)."""
    err = dense_sq = 0.0
    losses = []
    for ids in ids_list:
        mask = minilm_e2e._pattern_mask(pattern, len(ids))

        def attention(l, q, k, v):
            nonlocal err, dense_sq
            if l != layer:
                return minilm.dense_attention(l, q, k, v)
            full = masked_attention(q, k, v, True)
            out = masked_attention(q, k, v, mask)
            err += float(((out - full) ** 2).sum())
            dense_sq += float((full ** 2).sum())
            return out.astype(np.float32)
        e = model.embed(ids, attention=attention)
        d = model.embed(ids)
        losses.append(1.0 - float(np.dot(e, d) / (np.linalg.norm(e) * np.linalg.norm(d))))
    return err / dense_sq, float(np.mean(losses))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--text", default=str(HERE / "data" / "pride_and_prejudice_calib.txt"),
                    help="sentences, one a line (default: the held-out calibration text)")
    ap.add_argument("--max-sentences", type=int, default=0, help="first N only (0: all)")
    ap.add_argument("--probes", default=";".join(DEFAULT_PROBES),
                    help="patterns separated by ';' (each must have a numpy mask)")
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--json", help="write the measurements and weights here")
    args = ap.parse_args(argv)
    try:
        model = minilm.MiniLM.load(args.model_dir)
        sents = minilm_e2e.read_sentences(args.text)
    except (minilm.ModelError, minilm_e2e.E2EError) as e:
        print(f"layer_sensitivity: {e}", file=sys.stderr)
        return 1
    if args.max_sentences < 0:
        print(f"layer_sensitivity: expected --max-sentences >= 0, found {args.max_sentences}",
              file=sys.stderr)
        return 1
    if args.max_sentences:
        sents = sents[:args.max_sentences]
    probes = [p.strip() for p in args.probes.split(";") if p.strip()]
    if not probes:
        print("layer_sensitivity: expected at least one probe pattern in --probes",
              file=sys.stderr)
        return 1
    for p in probes:
        m = minilm_e2e._pattern_mask(p, 4)
        if m is None or m.ndim != 2:
            print(f"layer_sensitivity: probe {p!r}: expected a pattern with a numpy mask "
                  f"(dense, local, chunked, global or their unions)", file=sys.stderr)
            return 1
    ids_list = [model.tokenizer.encode(s) for s in sents]
    layers = []
    for layer in range(model.layers):
        points = [measure(model, ids_list, layer, p) for p in probes]
        sxy = sum(x * y for x, y in points)
        sxx = sum(x * x for x, _ in points)
        slope = sxy / sxx if sxx > 0 else 0.0
        layers.append({"layer": layer, "slope": slope,
                       "probes": [{"pattern": p, "rel_error_squared": x, "one_minus_cosine": y}
                                  for p, (x, y) in zip(probes, points)]})
        print(f"layer_sensitivity: layer {layer}: " +
              ", ".join(f"err2 {x:.4f} -> loss {y:.5f}" for x, y in points) +
              f"; slope {slope:.4f}", file=sys.stderr)
    mean = sum(l["slope"] for l in layers) / len(layers)
    if not mean > 0:
        print("layer_sensitivity: every slope is 0 (the probes change nothing); "
              "expected some sensitivity", file=sys.stderr)
        return 1
    weights = [max(l["slope"] / mean, 1e-3) for l in layers]
    report = {"text": str(args.text), "sentences": len(sents), "probes": probes,
              "layers": layers, "weights": weights}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(",".join(f"{w:.4f}" for w in weights))
    return 0


if __name__ == "__main__":
    sys.exit(main())
