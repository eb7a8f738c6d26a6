"""attn's pattern semantics and a float32 attention reference, on numpy
arrays or torch tensors (CPU or CUDA): the same code checks the GPU kernels
in bench/gpu/bench.py (torch) and is tested against attn's CPU kernels here
(numpy, bench/gpu/test_patterns.py).

Patterns are the specs of bench/gpu/cases/cases.json, evaluated exactly as
dialects/Attn/IR/PatternQueries.cpp's isVisible does (docs/reference/
AttnDialect.md), on *positions*: query row q of Sq rows against Skv keys
sits at p = q + (Skv - Sq) (docs/design.md), so a decode row (Sq = 1) is at
Skv - 1 and with Sq > Skv the first rows have negative positions.

  {"kind": "dense"}                                   every key
  {"kind": "causal"}                                  k <= p
  {"kind": "local", "window": W, "causal": c[, "dilation": d]}
                                                      -W <= p - k <= W (0 <= p - k <= W if c),
                                                      (p - k) mod d == 0
  {"kind": "global", "tokens": T}                     k < T or 0 <= p < T
  {"kind": "strided", "stride": s, "block": b, "causal": c}
                                                      (floor(p/b) - floor(k/b)) mod s == 0 (and k <= p if c)
  {"kind": "chunked", "size": C, "causal": c}         floor(p/C) == floor(k/C) (and k <= p if c)
  {"kind": "union", "members": [...]}                 any member

`//` and `%` are floor division and floor modulo for both numpy and torch
integer arrays, as floorDiv/positiveMod in the C++ (a positive divisor).
"""

import math


def _is_torch(x):
    return type(x).__module__.split(".")[0] == "torch"


def visible(spec, p, k):
    """Boolean mask: query position(s) `p` see key(s) `k`. `p` and `k` are
    integer arrays that broadcast (e.g. p[:, None], k[None, :])."""
    kind = spec["kind"]
    if kind == "dense":
        return (p - k) == (p - k)
    if kind == "causal":
        return k <= p
    if kind == "local":
        d = p - k
        w = spec["window"]
        m = (d <= w) & (d >= (0 if spec.get("causal") else -w))
        dil = spec.get("dilation", 1)
        if dil > 1:
            m = m & (d % dil == 0)
        return m
    if kind == "global":
        t = spec["tokens"]
        return (k < t) | ((p >= 0) & (p < t))
    if kind == "strided":
        b, s = spec.get("block", 1), spec["stride"]
        m = ((p // b - k // b) % s) == 0
        if spec.get("causal"):
            m = m & (k <= p)
        return m
    if kind == "chunked":
        c = spec["size"]
        m = (p // c) == (k // c)
        if spec.get("causal"):
            m = m & (k <= p)
        return m
    if kind == "union":
        members = spec["members"]
        m = visible(members[0], p, k)
        for member in members[1:]:
            m = m | visible(member, p, k)
        return m
    raise ValueError("patterns.py: no semantics for pattern kind %r" % kind)


class _Ops:
    """The few array operations the reference needs, for numpy or torch."""

    def __init__(self, like):
        self.torch = _is_torch(like)
        if self.torch:
            import torch
            self.m = torch
            self.device = like.device
        else:
            import numpy
            self.m = numpy
            self.device = None

    def arange(self, *args):
        if self.torch:
            return self.m.arange(*args, device=self.device, dtype=self.m.int64)
        return self.m.arange(*args, dtype=self.m.int64)

    def asindex(self, rows):
        if self.torch:
            return self.m.as_tensor(rows, device=self.device, dtype=self.m.int64)
        return self.m.asarray(rows, dtype=self.m.int64)

    def repeat_heads(self, x, group):
        if group == 1:
            return x
        if self.torch:
            return x.repeat_interleave(group, dim=1)
        return self.m.repeat(x, group, axis=1)

    def amax(self, x):
        if self.torch:
            return x.amax(dim=-1, keepdim=True)
        return x.max(axis=-1, keepdims=True)

    def sum(self, x):
        if self.torch:
            return x.sum(dim=-1, keepdim=True)
        return x.sum(axis=-1, keepdims=True)

    def where(self, c, a, b):
        """where(c, a, b), `b` an array or a Python float."""
        if self.torch and not _is_torch(b):
            b = self.m.tensor(float(b), dtype=a.dtype, device=a.device)
        return self.m.where(c, a, b)

    def exp(self, x):
        return self.m.exp(x)

    def isfinite(self, x):
        return self.m.isfinite(x)

    def transpose(self, x):
        return x.swapaxes(-1, -2)


def reference(q, k, v, spec, scale, gates=None, rows=None):
    """Float32 attention of `spec` with attn's conventions.

    q [B, Hq, Sq, D], k and v [B, Hkv, Skv, D]: float32 numpy arrays or torch
    tensors (Hq a multiple of Hkv; query head h reads K/V head h // (Hq/Hkv)).
    gates: optional bool [B, Hq]; off heads give zeros. rows: optional 1-D
    list/array of query row indices to compute (their positions still count
    from the full Sq), e.g. a sample of a long sequence. Rows that see no key
    give zeros. Returns [B, Hq, len(rows) or Sq, D] float32.
    """
    ops = _Ops(q)
    B, Hq, Sq, D = q.shape
    Hkv, Skv = k.shape[1], k.shape[2]
    if Hq % Hkv:
        raise ValueError("Hq = %d is not a multiple of Hkv = %d" % (Hq, Hkv))
    group = Hq // Hkv
    row_index = ops.arange(Sq) if rows is None else ops.asindex(rows)
    if rows is not None:
        q = q[:, :, row_index]
    positions = row_index + (Skv - Sq)
    keys = ops.arange(Skv)
    mask = visible(spec, positions[:, None], keys[None, :])      # [rows, Skv]
    kk = ops.repeat_heads(k, group)
    vv = ops.repeat_heads(v, group)
    s = (q @ ops.transpose(kk)) * scale                           # [B, Hq, rows, Skv]
    neg_inf = -math.inf
    s = ops.where(mask, s, neg_inf)
    m = ops.amax(s)
    m = ops.where(ops.isfinite(m), m, 0.0)                        # rows that see nothing
    p = ops.exp(s - m)                                            # exp(-inf) = 0
    l = ops.sum(p)
    o = (p @ vv) / ops.where(l > 0, l, 1.0)                       # no key: 0 / 1 = 0
    if gates is not None:
        o = ops.where(gates[:, :, None, None], o, 0.0)
    return o


def block_density(spec, S, block=128, chunk_blocks=16, like=None):
    """Fraction of (query block, key block) pairs of `block` x `block` at
    Sq = Skv = S that have at least one visible pair: what FlexAttention's
    block mask visits (1 - BlockMask.sparsity() / 100), and what peers.py
    counts as density. `like`: an array/tensor whose kind and device to use
    (default numpy)."""
    if like is None:
        import numpy
        like = numpy.zeros(1)
    ops = _Ops(like)
    nb = (S + block - 1) // block
    keys = ops.arange(nb * block)
    visited = 0
    for qb0 in range(0, nb, chunk_blocks):
        qb1 = min(nb, qb0 + chunk_blocks)
        pos = ops.arange(qb0 * block, qb1 * block)
        m = visible(spec, pos[:, None], keys[None, :])
        # Positions and keys past S are not real; at S a multiple of the
        # block there are none.
        m = m & (pos[:, None] < S) & (keys[None, :] < S)
        m = m.reshape(qb1 - qb0, block, nb, block)
        visited += int(m.any(3).any(1).sum())
    return visited / float(nb * nb)


# The masks of /work/shared/bench/peers.py (the ANCHORS.md run) as
# FlexAttention mask_mods (b, h, q_idx, kv_idx), on indices as there, in a
# form numpy evaluates too: |q - k| <= w is two comparisons, no abs() (plain
# tensor ops under create_block_mask's vmap and compile). The tests compare
# them with `visible` at Sq = Skv, where indices are positions. Keys are
# cases.json's "peer_mask".
PEER_BLOCK = 128
PEER_MASKS = {
    "dense": lambda b, h, qi, ki: qi >= 0,
    "causal": lambda b, h, qi, ki: qi >= ki,
    "sliding_window_1024": lambda b, h, qi, ki: (qi - ki <= 512) & (ki - qi <= 512),
    "causal_window_1024": lambda b, h, qi, ki: (qi >= ki) & (qi - ki < 1024),
    "global64_local512": lambda b, h, qi, ki: ((qi - ki <= 256) & (ki - qi <= 256)) | (ki < 64) | (qi < 64),
    "block_strided_4": lambda b, h, qi, ki: ((qi // PEER_BLOCK - ki // PEER_BLOCK) % 4 == 0),
}
