"""A tiny synthetic BERT (2 layers, 12 heads of 32, random weights, a
40-word vocabulary) through the whole Python half: safetensors reading,
tokenizer, extraction and the end-to-end script with attn's kernels. It
needs neither the model package nor its size, and shows the scripts take
the layer count from the model."""
import contextlib
import io
import json
import struct
import subprocess
import sys
import unittest
from pathlib import Path

import numpy as np

from common import EXPLORE, artifacts, minilm, tmpdir

import minilm_e2e  # noqa: E402

WORDS = ["the", "a", "man", "wife", "house", "fortune", "single", "good", "is", "of", "in",
         "must", "be", "want", "truth", "##s", "##ly", "dear", "said", "she", "he", "park"]
TEXT = ["The single man is in want of a good wife.", "She said the park is good.",
        "A truth: he must be in the house!", "The houses of a fortune.",
        "Dear wife, the man is single.", "He said she must want the park."]


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header).encode()
    Path(path).write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def synthetic_model(d, layers=2, hidden=384, heads=12, inter=64, positions=64, seed=0):
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!", ":"] + WORDS
    (d / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (d / "config.json").write_text(json.dumps({
        "num_hidden_layers": layers, "num_attention_heads": heads, "hidden_size": hidden,
        "intermediate_size": inter, "vocab_size": len(vocab), "max_position_embeddings": positions,
        "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12}))
    rng = np.random.default_rng(seed)

    def r(*shape, scale=0.2):
        return rng.normal(0, scale, shape).astype(np.float32)
    t = {"embeddings.word_embeddings.weight": r(len(vocab), hidden, scale=1.0),
         "embeddings.position_embeddings.weight": r(positions, hidden, scale=0.5),
         "embeddings.token_type_embeddings.weight": r(2, hidden),
         "embeddings.LayerNorm.weight": 1 + r(hidden, scale=0.1),
         "embeddings.LayerNorm.bias": r(hidden, scale=0.1)}
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for n in ("query", "key", "value"):
            t[p + f"attention.self.{n}.weight"] = r(hidden, hidden, scale=0.15)
            t[p + f"attention.self.{n}.bias"] = r(hidden, scale=0.1)
        t[p + "attention.output.dense.weight"] = r(hidden, hidden, scale=0.05)
        t[p + "attention.output.dense.bias"] = r(hidden, scale=0.05)
        t[p + "intermediate.dense.weight"] = r(inter, hidden, scale=0.05)
        t[p + "intermediate.dense.bias"] = r(inter, scale=0.05)
        t[p + "output.dense.weight"] = r(hidden, inter, scale=0.1)
        t[p + "output.dense.bias"] = r(hidden, scale=0.05)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            t[p + ln + ".weight"] = 1 + r(hidden, scale=0.1)
            t[p + ln + ".bias"] = r(hidden, scale=0.1)
    write_safetensors(d / "model.safetensors", t)
    (d / "text.txt").write_text("\n".join(TEXT) + "\n")
    return d


class SyntheticModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = synthetic_model(tmpdir("synthetic"))

    def test_tokenizer(self):
        m = minilm.MiniLM.load(self.dir)
        v = m.tokenizer.vocab
        self.assertEqual(m.tokenizer.encode("The HOUSES, truthly!"),
                         [v["[CLS]"], v["the"], v["house"], v["##s"], v[","], v["truth"],
                          v["##ly"], v["!"], v["[SEP]"]])
        self.assertEqual(m.tokenizer.tokenize("zebra"), [v["[UNK]"]])

    def test_extract(self):
        out = Path(tmpdir("synth-calib"))
        r = subprocess.run([sys.executable, str(EXPLORE / "extract_minilm.py"), "-o", str(out),
                            "--model-dir", str(self.dir), "--text", str(self.dir / "text.txt"),
                            "--seq-len", "16", "--text-source", "synthetic"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        d = json.loads((out / "model.json").read_text())
        self.assertEqual((d["layers"], d["heads"], d["head_dim"], d["seq_len"], d["text"]),
                         (2, 12, 32, 16, "synthetic"))
        # 55 text tokens, 14 a window: 4 windows, the last moved back.
        self.assertEqual(d["sequences"], 4)
        self.assertEqual(np.load(out / "layer1_k.npy").shape, (4, 12, 16, 32))
        self.assertFalse((out / "layer2_q.npy").exists())

    def test_wrong_weight_shape(self):
        bad = synthetic_model(tmpdir("bad"), inter=64)
        cfg = json.loads((bad / "config.json").read_text())
        cfg["intermediate_size"] = 65
        (bad / "config.json").write_text(json.dumps(cfg))
        with self.assertRaisesRegex(minilm.ModelError,
                                    r"encoder.layer.0.intermediate.dense.weight: expected shape "
                                    r"\[65, 384\], found \[64, 384\]"):
            minilm.MiniLM.load(bad)

    @unittest.skipUnless(artifacts(), "ATTN_EXPLORE_ARTIFACTS is not set (ctest sets it)")
    def test_e2e(self):
        """Two of the six compiled layer functions serve the 2-layer model."""
        for name, emulate in (("dense", False), ("uniform6", True), ("local8", True)):
            src = json.loads((artifacts() / name / "choice.json").read_text())
            d = Path(tmpdir("synth-" + name))
            src["layers"] = src["layers"][:2]
            (d / "choice.json").write_text(json.dumps(src))
            out = d / "report.json"
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                rc = minilm_e2e.main([str(d), "--artifact", str(artifacts() / name / "artifact"),
                                      "--model-dir", str(self.dir), "--text",
                                      str(self.dir / "text.txt"), "--json", str(out)]
                                     + (["--emulate"] if emulate else []))
            self.assertEqual(rc, 0, err.getvalue())
            report = json.loads(out.read_text())
            self.assertEqual(report["sentences"], len(TEXT))
            if emulate:
                self.assertLess(report["emulation"]["max_abs_diff"], 1e-4, name)
                self.assertLess(report["quality"]["cosine_min"], 0.9999, name)
            else:
                self.assertGreater(report["quality"]["cosine_min"], 0.99999)


if __name__ == "__main__":
    unittest.main()
