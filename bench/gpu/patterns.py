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
  {"kind": "random_blocks", "density": d, "seed": s, "block": b, "diagonal": g}
                                                      kept(h, floor(p/b), floor(k/b)): attn's
                                                      RandomBlockRow stream (below), per head
  {"kind": "block_layout", "block": b, "shape": [R, C] or [H, R, C], "layout": [0/1, ...]}
                                                      p >= 0 and entry (h, floor(p/b), floor(k/b)),
                                                      false outside the matrix

`//` and `%` are floor division and floor modulo for both numpy and torch
integer arrays, as floorDiv/positiveMod in the C++ (a positive divisor).

The two block kinds depend on the query head h (random blocks always, a
layout when it has one matrix per head): `visible` takes the head index as
a third array that broadcasts with p and k, and `reference` passes
arange(Hq) (the query head, also under GQA). Their masks come from a block
layout [H, nqb, nkb] (`block_layout`, numpy bool, cached), which is also
what FlexAttention's mask_mod indexes (`layout_mask_mod`), so attn and Flex
see the same blocks.

Random blocks port PatternQueries.cpp exactly: splitMix64 on uint64
(wrapping); a row's stream state = splitMix64(splitMix64(splitMix64(seed)
^ head) ^ queryBlock); each draw state = splitMix64(state), u = ((state >>
11) + 1) * 2^-53, gap = floor(log(u) / log1p(-density)) capped at 2^42, last
+= 1 + gap (last starts at -1); density >= 1 keeps every block; negative
blocks are never kept; with `diagonal` block (i, i) always is. Logarithms
are Python's math.log / math.log1p: the C library's, as std::log in the C++.
"""

import functools
import math


def _is_torch(x):
    return type(x).__module__.split(".")[0] == "torch"


def depends_on_head(spec):
    """Whether `spec` means something else for another query head (as
    dependsOnHeadIndex in the C++)."""
    kind = spec["kind"]
    if kind == "union":
        return any(depends_on_head(m) for m in spec["members"])
    if kind == "random_blocks":
        return True
    if kind == "block_layout":
        return len(spec["shape"]) == 3 and spec["shape"][0] > 1
    return False


def visible(spec, p, k, head=None):
    """Boolean mask: query position(s) `p` see key(s) `k` (for query head(s)
    `head`). `p`, `k` and `head` are integer arrays that broadcast (e.g.
    p[:, None], k[None, :], head[:, None, None]); `head` may be None for
    patterns that do not depend on it. The result broadcasts with them (a
    head-independent pattern gives no head axis)."""
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
        m = visible(members[0], p, k, head)
        for member in members[1:]:
            m = m | visible(member, p, k, head)
        return m
    if kind in BLOCK_KINDS:
        return _layout_visible(spec, p, k, head)
    raise ValueError("patterns.py: no semantics for pattern kind %r" % kind)


# -- block-granular patterns: random blocks and explicit layouts ---------------

BLOCK_KINDS = ("random_blocks", "block_layout")
_M64 = (1 << 64) - 1


def splitmix64(x):
    """splitMix64 of PatternQueries.cpp on a Python int (uint64, wrapping)."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _splitmix64_np(x):
    """splitmix64 on a numpy uint64 array (numpy's uint64 arrays wrap)."""
    import numpy as np
    u = np.uint64
    with np.errstate(over="ignore"):
        x = x + u(0x9E3779B97F4A7C15)
        x = (x ^ (x >> u(30))) * u(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> u(27))) * u(0x94D049BB133111EB)
        return x ^ (x >> u(31))


_GAP_CAP = float(1 << 42)   # kFar: past any sequence


class RandomBlockRow:
    """A literal port of RandomBlockRow (one row's stream of kept key
    blocks, increasing, unbounded). The scalar reference the vectorised
    `random_block_layout` is tested against."""

    def __init__(self, seed, head, query_block, density):
        self.keep_all = density >= 1.0
        h = splitmix64(seed & _M64)
        h = splitmix64(h ^ (head & _M64))          # static_cast<uint64_t>(int64)
        self.state = splitmix64(h ^ (query_block & _M64))
        self.log_miss = 0.0 if self.keep_all else math.log1p(-density)
        self.last = -1

    def next(self):
        if self.keep_all:
            self.last += 1
            return self.last
        self.state = splitmix64(self.state)
        u = float((self.state >> 11) + 1) * 2.0 ** -53
        gap = math.floor(math.log(u) / self.log_miss)
        self.last += 1 + int(min(gap, _GAP_CAP))
        return self.last


def random_block_kept(spec, head, qb, kb):
    """RandomBlocksAttr::isBlockKept for one (head, query block, key block)."""
    if qb < 0 or kb < 0:
        return False
    if spec.get("diagonal", True) and qb == kb:
        return True
    row = RandomBlockRow(spec["seed"], head, qb, spec["density"])
    kept = row.next()
    while kept < kb:
        kept = row.next()
    return kept == kb


@functools.lru_cache(maxsize=32)
def _random_layout(density, seed, diagonal, heads, nqb, nkb):
    import numpy as np
    rows = heads * nqb
    lay = np.zeros((rows, max(nkb, 0)), dtype=bool)
    if density >= 1.0:
        lay[:] = True
    elif rows and nkb > 0:
        log_miss = math.log1p(-density)
        h0 = np.uint64(splitmix64(seed & _M64))
        hh = _splitmix64_np(h0 ^ np.arange(heads, dtype=np.uint64))
        state = _splitmix64_np(hh[:, None] ^ np.arange(nqb, dtype=np.uint64)[None, :]).ravel()
        last = np.full(rows, -1, dtype=np.int64)
        active = np.arange(rows)
        # Every row draws until its stream passes nkb: all rows step at
        # once; only the logarithm is per element (math.log, the C library's).
        while active.size:
            st = _splitmix64_np(state[active])
            state[active] = st
            u = ((st >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * 2.0 ** -53
            logs = np.fromiter(map(math.log, u.tolist()), dtype=np.float64, count=u.size)
            gap = np.minimum(np.floor(logs / log_miss), _GAP_CAP)
            nxt = last[active] + 1 + gap.astype(np.int64)
            last[active] = nxt
            hit = nxt < nkb
            active = active[hit]
            lay[active, nxt[hit]] = True
    lay = lay.reshape(heads, nqb, max(nkb, 0))
    if diagonal:
        d = np.arange(min(nqb, nkb))
        lay[:, d, d] = True
    lay.setflags(write=False)
    return lay


def random_block_layout(spec, heads, nqb, nkb):
    """[heads, nqb, nkb] numpy bool: key block kb kept for query block qb of
    head h (heads 0..heads-1, blocks from 0). Each (head, qb) stream is
    walked once up to nkb, all rows together. Read-only (cached)."""
    return _random_layout(float(spec["density"]), int(spec["seed"]),
                          bool(spec.get("diagonal", True)), int(heads), int(nqb), int(nkb))


def explicit_block_layout(spec, heads, nqb, nkb):
    """[heads, nqb, nkb] numpy bool of a block_layout spec
    (BlockLayoutAttr::isBlockVisible: false outside the matrix, one matrix
    shared by all heads or one per head, heads past them see nothing)."""
    import numpy as np
    shape = list(spec["shape"])
    mats = np.asarray(spec["layout"], dtype=np.int64).reshape(
        [shape[0] if len(shape) == 3 else 1] + shape[-2:]) != 0
    nl, R, C = mats.shape
    lay = np.zeros((heads, nqb, nkb), dtype=bool)
    r, c = min(R, nqb), min(C, nkb)
    for h in range(heads):
        if nl == 1:
            lay[h, :r, :c] = mats[0, :r, :c]
        elif h < nl:
            lay[h, :r, :c] = mats[h, :r, :c]
    lay.setflags(write=False)
    return lay


def block_layout(spec, heads, nqb, nkb):
    """The [heads, nqb, nkb] block layout (numpy bool) of a random_blocks or
    block_layout spec, in the spec's own block size."""
    if spec["kind"] == "random_blocks":
        return random_block_layout(spec, heads, nqb, nkb)
    if spec["kind"] == "block_layout":
        return explicit_block_layout(spec, heads, nqb, nkb)
    raise ValueError("patterns.py: %r has no block layout" % spec["kind"])


def _as_like(layout, like):
    """The numpy layout as an array of `like`'s kind (and device)."""
    if _is_torch(like):
        import torch
        return torch.as_tensor(layout.copy(), device=like.device)  # a writable copy
    return layout


def _numel(x):
    return x.numel() if _is_torch(x) else x.size


def _layout_visible(spec, p, k, head):
    b = int(spec.get("block", 128))
    qb, kb = p // b, k // b
    valid = (p >= 0) & (k >= 0)
    if head is None:
        if depends_on_head(spec):
            raise ValueError("patterns.py: %s depends on the head index; pass head="
                             % spec["kind"])
        head = 0
    if _numel(valid) == 0:
        return valid
    nheads = 1 if isinstance(head, int) else int(head.max()) + 1
    nqb = max(int(qb.max()), 0) + 1
    nkb = max(int(kb.max()), 0) + 1
    lay = _as_like(block_layout(spec, nheads, nqb, nkb), p)
    if _is_torch(p):
        qb, kb = qb.clamp(min=0), kb.clamp(min=0)
    else:
        import numpy as np
        qb, kb = np.maximum(qb, 0), np.maximum(kb, 0)
    return lay[head, qb, kb] & valid


def layout_mask_mod(spec, heads, S, like=None):
    """FlexAttention mask_mod (b, h, q_idx, kv_idx) of a block kind at
    Sq = Skv = S (indices are positions): a bool [heads, nb, nb] layout of
    `block_layout`, as a tensor like `like` (torch on its device; numpy by
    default), indexed [h, q_idx // block, kv_idx // block]. The same blocks
    as attn's pattern, head by head."""
    b = int(spec.get("block", 128))
    nb = (S + b - 1) // b
    if like is None:
        import numpy
        like = numpy.zeros(1)
    lay = _as_like(block_layout(spec, heads, nb, nb), like)
    return lambda bi, h, qi, ki: lay[h, qi // b, ki // b]


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
    heads = ops.arange(Hq)
    mask = visible(spec, positions[:, None], keys[None, :],
                   heads[:, None, None])                          # [(Hq,) rows, Skv]
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


def block_density(spec, S, block=128, chunk_blocks=16, like=None, heads=None, fast=True):
    """Fraction of (query block, key block) pairs of `block` x `block` at
    Sq = Skv = S that have at least one visible pair: what FlexAttention's
    block mask visits (1 - BlockMask.sparsity() / 100), and what peers.py
    counts as density; for a head-dependent pattern, over `heads` query
    heads (Flex's block mask with H = heads). `like`: an array/tensor whose
    kind and device to use (default numpy). `fast`: a block kind whose block
    equals `block` is its layout's mean (tests compare with fast=False)."""
    if like is None:
        import numpy
        like = numpy.zeros(1)
    head_dep = depends_on_head(spec)
    if head_dep and not heads:
        raise ValueError("patterns.py: %s depends on the head index; pass heads=" % spec["kind"])
    nb = (S + block - 1) // block
    if fast and spec["kind"] in BLOCK_KINDS and int(spec.get("block", 128)) == block:
        return float(block_layout(spec, heads or 1, nb, nb).mean())
    ops = _Ops(like)
    keys = ops.arange(nb * block)
    visited = 0
    for h in (range(heads) if head_dep else [None]):
        head = None if h is None else ops.asindex([h])[:, None, None]
        for qb0 in range(0, nb, chunk_blocks):
            qb1 = min(nb, qb0 + chunk_blocks)
            pos = ops.arange(qb0 * block, qb1 * block)
            m = visible(spec, pos[:, None], keys[None, :], head)
            # Positions and keys past S are not real; at S a multiple of the
            # block there are none.
            m = m & (pos[:, None] < S) & (keys[None, :] < S)
            m = m.reshape(qb1 - qb0, block, nb, block)
            visited += int(m.any(3).any(1).sum())
    return visited / float(nb * nb * (heads if head_dep else 1))


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

# cases.json's "peer_mask" of the block kinds (random blocks): no fixed
# mask_mod, but attn's own layout for the case's spec, heads and S
# (layout_mask_mod), so that Flex visits exactly attn's blocks. peers.py's
# random rows drew torch.rand layouts instead (same densities, other blocks).
LAYOUT_PEER = "attn_layout"


def peer_mask_mod(name, spec, heads, S, like=None):
    """The FlexAttention mask_mod of cases.json's peer mask `name` for a case
    with `spec` at Sq = Skv = S with `heads` query heads."""
    if name == LAYOUT_PEER:
        return layout_mask_mod(spec, heads, S, like)
    return PEER_MASKS[name]
