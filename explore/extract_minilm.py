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

With --per-sentence each sentence is one sequence instead, at its own
length ([CLS] + its tokens + [SEP], as the end-to-end evaluation runs it):
the arrays are padded with zeros to S = the longest sentence (or
--seq-len, which must hold it), and model.json gets "lengths", each
sentence's real token count (attn-explore reads only those rows). This is
how calibration matches the evaluation's length distribution; calibrate on
explore/data/pride_and_prejudice_calib.txt, held out from the evaluation.

  python3 explore/extract_minilm.py -o build/minilm-calib
  python3 explore/extract_minilm.py -o /tmp/slice --seq-len 32 --max-sequences 2
  python3 explore/extract_minilm.py -o build/minilm-calib-sent --per-sentence \
      --text explore/data/pride_and_prejudice_calib.txt
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import minilm  # noqa: E402

DEFAULT_TEXT = Path(__file__).resolve().parent / "data" / "pride_and_prejudice.txt"
CALIB_TEXT = Path(__file__).resolve().parent / "data" / "pride_and_prejudice_calib.txt"
CALIB_SOURCE = ("Jane Austen, Pride and Prejudice (1813; public domain), sentences 321-640 "
                "(held out from the evaluation's first 320) as shipped in "
                "explore/data/pride_and_prejudice_calib.txt, from Debian's "
                "r-cran-janeaustenr 1.0.0-1 (Project Gutenberg's text)")
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
    ap.add_argument("--seq-len", type=int, default=None,
                    help="tokens per window S (default 128; with --per-sentence: the "
                         "padded length, default the longest sentence)")
    ap.add_argument("--per-sentence", action="store_true",
                    help="one sequence per sentence at its own length, padded; "
                         "model.json lists the lengths")
    ap.add_argument("--max-sequences", type=int, default=0,
                    help="keep only the first N windows (a slice for tests; 0: all)")
    ap.add_argument("--model-dir", default=None,
                    help="model directory (default: the installed " + minilm.PACKAGE + ")")
    args = ap.parse_args(argv)

    if args.seq_len is None and not args.per_sentence:
        args.seq_len = 128
    if args.seq_len is not None and args.seq_len < 3:
        raise SystemExit(f"extract_minilm: expected --seq-len >= 3 ([CLS] + a token + [SEP]), "
                         f"found {args.seq_len}")
    if args.max_sequences < 0:
        raise SystemExit(f"extract_minilm: expected --max-sequences >= 0, found {args.max_sequences}")
    try:
        model = minilm.MiniLM.load(args.model_dir)
    except minilm.ModelError as e:
        raise SystemExit(f"extract_minilm: {e}")
    max_pos = model.w["pos"].shape[0]
    if args.seq_len is not None and args.seq_len > max_pos:
        raise SystemExit(f"extract_minilm: --seq-len {args.seq_len} exceeds the model's "
                         f"{max_pos} positions")
    sentences = read_sentences(args.text)
    tokens = [t for s in sentences for t in model.tokenizer.tokenize(s)]
    lengths = None
    if args.per_sentence:
        seqs = [model.tokenizer.encode(s) for s in sentences]
        if args.max_sequences:
            seqs = seqs[:args.max_sequences]
        longest = max(len(x) for x in seqs)
        if longest > max_pos:
            raise SystemExit(f"extract_minilm: a sentence has {longest} tokens, more than "
                             f"the model's {max_pos} positions")
        width = args.seq_len if args.seq_len is not None else longest
        if width < longest:
            raise SystemExit(f"extract_minilm: --seq-len {width} is shorter than the longest "
                             f"sentence ({longest} tokens); expected at least {longest}")
        lengths = [len(x) for x in seqs]
        ids = np.zeros((len(seqs), width), dtype=np.int64)
        for i, x in enumerate(seqs):
            ids[i, :len(x)] = x
    else:
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
        t = s if lengths is None else lengths[i]

        # Padding rows (t and after) stay zero: open_memmap zero-fills.
        def record(layer, x, q, k, v, i=i, t=t):
            arrays[layer, "x"][i, :t] = x
            arrays[layer, "q"][i, :, :t] = q[0]
            arrays[layer, "k"][i, :, :t] = k[0]
            arrays[layer, "v"][i, :, :t] = v[0]
        model.encode_layers(ids[i, :t], record=record)
    for a in arrays.values():
        a.flush()
    del arrays

    desc = {"model": minilm.MODEL_NAME,
            "source": {"package": minilm.PACKAGE, "version": minilm.PACKAGE_VERSION},
            "text": args.text_source or {DEFAULT_TEXT: TEXT_SOURCE, CALIB_TEXT: CALIB_SOURCE}
                    .get(Path(args.text).resolve(), str(args.text)),
            **model.describe(),
            "sequences": int(n), "seq_len": int(s), "causal": False}
    if lengths is not None:
        desc["lengths"] = lengths
    (out / "model.json").write_text(json.dumps(desc, indent=2) + "\n")
    np.save(out / "token_ids.npy", ids.astype(np.int32))
    if lengths is None:
        print(f"extract_minilm: {n} windows of {s} tokens ({len(tokens)} text tokens, "
              f"{len(sentences)} sentences), {L} layers -> {out}")
    else:
        print(f"extract_minilm: {n} sentences of their own lengths ({min(lengths)}-"
              f"{max(lengths)} tokens, {sum(lengths)} in all; padded to {s}), {L} layers "
              f"-> {out}")


if __name__ == "__main__":
    main()
