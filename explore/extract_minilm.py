#!/usr/bin/env python3
"""Writes a calibration directory for attn-explore from all-MiniLM-L6-v2.

The text (one sentence a line; default explore/data/pride_and_prejudice.txt)
is tokenized as one stream and cut into N windows of exactly S tokens:
[CLS] + S-2 consecutive text tokens + [SEP], no padding. Windows start every
S-2 tokens; the last one is moved back to end at the text's last token, so
the whole text is used and every window is full (N = ceil(T / (S-2))). Each
window runs through the numpy forward pass (explore/minilm.py) as is, and
per layer L the script writes

  layer<L>_q.npy, layer<L>_k.npy, layer<L>_v.npy   float32 [N, heads, S, head_dim]
      (after the projection and bias, before any scaling)
  layer<L>_x.npy                                    float32 [N, S, hidden]
      (the layer's input hidden states: the router inputs)

and model.json (docs/explore.md). Deterministic: the same text and model
give the same bytes.

  python3 explore/extract_minilm.py -o build/minilm-calib
  python3 explore/extract_minilm.py -o /tmp/slice --seq-len 32 --max-sequences 2
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import minilm  # noqa: E402

DEFAULT_TEXT = Path(__file__).resolve().parent / "data" / "pride_and_prejudice.txt"
TEXT_SOURCE = ("Jane Austen, Pride and Prejudice (1813; public domain), the first "
               "sentences as shipped in explore/data/pride_and_prejudice.txt, from "
               "Debian's r-cran-janeaustenr 1.0.0-1 (Project Gutenberg's text)")


def read_sentences(path):
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise SystemExit(f"extract_minilm: cannot read the text {path}: {e.strerror}")
    sentences = [ln.strip() for ln in lines if ln.strip()]
    if not sentences:
        raise SystemExit(f"extract_minilm: expected sentences (one a line) in {path}, found none")
    return sentences


def windows(tokens, seq_len, cls, sep):
    """[N, seq_len] token ids: [CLS] + seq_len-2 text tokens + [SEP]."""
    body = seq_len - 2
    if len(tokens) < body:
        raise SystemExit(f"extract_minilm: the text has {len(tokens)} tokens, fewer than "
                         f"the {body} one window of --seq-len {seq_len} needs")
    n = -(-len(tokens) // body)
    starts = [min(i * body, len(tokens) - body) for i in range(n)]
    return np.array([[cls] + tokens[s:s + body] + [sep] for s in starts], dtype=np.int64)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Extract per-layer Q/K/V and router inputs "
                                             "of all-MiniLM-L6-v2 for attn-explore.")
    ap.add_argument("-o", "--output", required=True, help="calibration directory to write")
    ap.add_argument("--text", default=str(DEFAULT_TEXT), help="sentences, one a line")
    ap.add_argument("--text-source", default=None,
                    help="model.json's 'text' (default: the shipped text's source)")
    ap.add_argument("--seq-len", type=int, default=128, help="tokens per window S (default 128)")
    ap.add_argument("--max-sequences", type=int, default=0,
                    help="keep only the first N windows (a slice for tests; 0: all)")
    ap.add_argument("--model-dir", default=None,
                    help="model directory (default: the installed " + minilm.PACKAGE + ")")
    args = ap.parse_args(argv)

    if args.seq_len < 3:
        raise SystemExit(f"extract_minilm: expected --seq-len >= 3 ([CLS] + a token + [SEP]), "
                         f"found {args.seq_len}")
    if args.max_sequences < 0:
        raise SystemExit(f"extract_minilm: expected --max-sequences >= 0, found {args.max_sequences}")
    try:
        model = minilm.MiniLM.load(args.model_dir)
    except minilm.ModelError as e:
        raise SystemExit(f"extract_minilm: {e}")
    max_pos = model.w["pos"].shape[0]
    if args.seq_len > max_pos:
        raise SystemExit(f"extract_minilm: --seq-len {args.seq_len} exceeds the model's "
                         f"{max_pos} positions")
    sentences = read_sentences(args.text)
    tokens = [t for s in sentences for t in model.tokenizer.tokenize(s)]
    ids = windows(tokens, args.seq_len, model.tokenizer.cls, model.tokenizer.sep)
    if args.max_sequences:
        ids = ids[:args.max_sequences]
    n, s = ids.shape
    L, H, D, hid = model.layers, model.heads, model.head_dim, model.hidden

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for layer in range(L):
        for name, shape in (("q", (n, H, s, D)), ("k", (n, H, s, D)), ("v", (n, H, s, D)),
                            ("x", (n, s, hid))):
            arrays[layer, name] = np.lib.format.open_memmap(
                out / f"layer{layer}_{name}.npy", mode="w+", dtype=np.float32, shape=shape)

    for i in range(n):
        def record(layer, x, q, k, v, i=i):
            arrays[layer, "x"][i] = x
            arrays[layer, "q"][i] = q[0]
            arrays[layer, "k"][i] = k[0]
            arrays[layer, "v"][i] = v[0]
        model.encode_layers(ids[i], record=record)
    for a in arrays.values():
        a.flush()
    del arrays

    desc = {"model": minilm.MODEL_NAME,
            "source": {"package": minilm.PACKAGE, "version": minilm.PACKAGE_VERSION},
            "text": args.text_source or (TEXT_SOURCE if Path(args.text).resolve() == DEFAULT_TEXT
                                         else str(args.text)),
            **model.describe(),
            "sequences": int(n), "seq_len": int(s), "causal": False}
    (out / "model.json").write_text(json.dumps(desc, indent=2) + "\n")
    np.save(out / "token_ids.npy", ids.astype(np.int32))
    print(f"extract_minilm: {n} windows of {s} tokens ({len(tokens)} text tokens, "
          f"{len(sentences)} sentences), {L} layers -> {out}")


if __name__ == "__main__":
    main()
