"""References of attn.select_blocks and of attention over selected blocks
(docs/sparse-projection.md, section 1), for bench/gpu/selected.py (torch on
the GPU) and bench/gpu/test_selected_reference.py (numpy, no GPU).

Selection, in float64:

  pool(q, k, qb, kb)               pooled queries [B, Hkv, nqb, D] (mean over
                                   the G heads of a group and the rows of a
                                   query block) and pooled keys [B, Hkv, nkb, D];
                                   numpy arrays or torch tensors (any device),
                                   float64 results of the same kind
  select(pq, pk, Sq, Skv, ...)     numpy only: the indices
                                   [B, Hkv, nqb, top_k] (increasing, -1 after)
                                   and, per row (b, g, i), how close the choice
                                   came to a tie (`gap`, `rel_gap`)
  select_blocks(q, k, ...)         both: pool, then select

The order of section 1, step 6 is one lexicographic sort per row: class
(0 forced, 1 a valid block with a number, 2 a valid block with NaN,
3 not valid), then decreasing score (class 1 only), then the block index.
The first min(top_k, #valid) entries are chosen; they are returned in
increasing block order.

Closeness to a tie. When the cut falls between two class-1 blocks (the last
chosen non-forced block and the first unchosen one), `gap` is their score
difference and `rel_gap` = gap / scale, scale = the row's largest
sum_d |pq[d]| |pk_j[d]| over its valid blocks (what bounds the rounding of
an f32 dot product); elsewhere gap = inf (no ambiguity: everything valid
fits, or the cut is next to a forced block, a NaN or an invalid one).
`compare` requires exact equality on rows whose rel_gap exceeds a tolerance
and, on the others (near ties, where f32 rounding may legitimately swap
blocks), that the difference only swaps valid, non-forced, non-NaN blocks
whose scores lie within the tolerance of the boundary.

Attention over selected blocks:

  block_mask(idx, nkb)             bool [B, Hkv, nqb, nkb] of the listed blocks
                                   (duplicates once; -1 and entries outside
                                   [0, nkb) ignored)
  attend_reference(q, k, v, idx, qb, kb, causal, scale, rows=None)
                                   float32 masked dense attention, numpy or
                                   torch; row r of head h sees key t iff
                                   block t // kb is listed for (b, h // G,
                                   r // qb) and (causal) t <= r + Skv - Sq;
                                   rows that see nothing give zeros.
"""

import math

import patterns


def _is_torch(x):
    return type(x).__module__.split(".")[0] == "torch"


def ceil_div(a, b):
    return -(-a // b)


# -- selection -----------------------------------------------------------------

def _pool_rows(x, block, axis_len):
    """Sum of x [..., L, D] over consecutive `block` rows: [..., ceil(L/block), D]
    (the last block partial), and the row count of each block."""
    n = ceil_div(axis_len, block)
    pad = n * block - axis_len
    if _is_torch(x):
        import torch
        if pad:
            x = torch.cat([x, x.new_zeros(x.shape[:-2] + (pad, x.shape[-1]))], dim=-2)
        s = x.reshape(x.shape[:-2] + (n, block, x.shape[-1])).sum(dim=-2)
    else:
        import numpy as np
        if pad:
            widths = [(0, 0)] * (x.ndim - 2) + [(0, pad), (0, 0)]
            x = np.pad(x, widths)
        s = x.reshape(x.shape[:-2] + (n, block, x.shape[-1])).sum(axis=-2)
    counts = [min(axis_len, (i + 1) * block) - i * block for i in range(n)]
    return s, counts


def pool(q, k, qb, kb):
    """Pooled queries [B, Hkv, nqb, D] and keys [B, Hkv, nkb, D], float64,
    of q [B, Hq, Sq, D] and k [B, Hkv, Skv, D] (numpy or torch)."""
    B, Hq, Sq, D = q.shape
    Hkv, Skv = k.shape[1], k.shape[2]
    if Hq % Hkv:
        raise ValueError("Hq = %d is not a multiple of Hkv = %d" % (Hq, Hkv))
    G = Hq // Hkv
    if _is_torch(q):
        import torch
        qd, kd = q.to(torch.float64), k.to(torch.float64)
        qg = qd.reshape(B, Hkv, G, Sq, D).sum(dim=2)
        as_counts = lambda c: torch.tensor(c, dtype=torch.float64,  # noqa: E731
                                           device=q.device)[:, None]
    else:
        import numpy as np
        qd, kd = q.astype(np.float64), k.astype(np.float64)
        qg = qd.reshape(B, Hkv, G, Sq, D).sum(axis=2)
        as_counts = lambda c: np.asarray(c, dtype=np.float64)[:, None]  # noqa: E731
    qs, qc = _pool_rows(qg, qb, Sq)
    ks, kc = _pool_rows(kd, kb, Skv)
    return qs / (as_counts(qc) * G), ks / as_counts(kc)


def _to_numpy(x):
    if _is_torch(x):
        return x.detach().cpu().numpy()
    return x


def select(pq, pk, Sq, Skv, qb, kb, top_k, keep_sink=0, keep_local=0, causal=False):
    """Section 1, steps 3-7, on pooled vectors (numpy or torch; computed in
    numpy float64). Returns a dict of numpy arrays:
      indices [B, Hkv, nqb, top_k] int64 (increasing, then -1),
      scores [B, Hkv, nqb, nkb] float64, valid and forced [.., nkb] bool,
      gap, rel_gap [B, Hkv, nqb] float64 (inf: no cut between two scores),
      cut_hi, cut_lo [B, Hkv, nqb]: the last chosen and first unchosen
      class-1 scores where gap is finite (nan elsewhere),
      scale [B, Hkv, nqb] (the row's largest sum |pq||pk|)."""
    import numpy as np
    pq = np.asarray(_to_numpy(pq), dtype=np.float64)
    pk = np.asarray(_to_numpy(pk), dtype=np.float64)
    B, Hkv, nqb, D = pq.shape
    nkb = pk.shape[2]
    if nqb != ceil_div(Sq, qb) or nkb != ceil_div(Skv, kb):
        raise ValueError("pooled shapes %s, %s do not match Sq=%d Skv=%d qb=%d kb=%d"
                         % (pq.shape, pk.shape, Sq, Skv, qb, kb))
    with np.errstate(invalid="ignore", over="ignore"):
        scores = np.matmul(pq, pk.swapaxes(-1, -2))                 # BLAS, float64
        mags = np.matmul(np.abs(pq), np.abs(pk).swapaxes(-1, -2))
    i = np.arange(nqb, dtype=np.int64)[:, None]
    j = np.arange(nkb, dtype=np.int64)[None, :]
    P = np.minimum(Sq, (i + 1) * qb) - 1 + Skv - Sq                 # [nqb, 1]
    if causal:
        valid = (j * kb <= P) & np.ones((nqb, nkb), bool)
    else:
        valid = np.ones((nqb, nkb), bool)
    L = np.minimum(np.floor_divide(P, kb), nkb - 1)
    forced = valid & ((j < keep_sink) | ((j >= L - keep_local + 1) & (j <= L)))
    valid = np.broadcast_to(valid, scores.shape)
    forced = np.broadcast_to(forced, scores.shape)
    isnan = np.isnan(scores)
    cls = np.where(forced, 0, np.where(~valid, 3, np.where(isnan, 2, 1)))
    negscore = np.where(cls == 1, -scores, 0.0)
    index = np.broadcast_to(j, scores.shape)
    # np.lexsort: the last key is the primary one.
    order = np.lexsort((index, negscore, cls), axis=-1)             # [B, Hkv, nqb, nkb]
    nvalid = valid.sum(axis=-1)
    nchosen = np.minimum(nvalid, top_k)
    rank = np.arange(nkb)
    sorted_cls = np.take_along_axis(cls, order, axis=-1)
    sorted_scores = np.take_along_axis(scores, order, axis=-1)
    chosen_sorted = rank < nchosen[..., None]                       # first nchosen in order
    # The chosen blocks in increasing index, then -1.
    chosen_mask = np.zeros(scores.shape, bool)
    np.put_along_axis(chosen_mask, order, chosen_sorted, axis=-1)
    idx = np.where(chosen_mask, index, nkb)
    idx = np.sort(idx, axis=-1)[..., :top_k] if nkb >= top_k else np.concatenate(
        [np.sort(idx, axis=-1), np.full(scores.shape[:-1] + (top_k - nkb,), nkb)], axis=-1)
    idx = np.where(idx == nkb, -1, idx).astype(np.int64)
    # The cut: last chosen (rank nchosen-1) and first unchosen (rank nchosen).
    gap = np.full(nchosen.shape, np.inf)
    cut_hi = np.full(nchosen.shape, np.nan)
    cut_lo = np.full(nchosen.shape, np.nan)
    has_cut = (nchosen >= 1) & (nchosen < nvalid)
    last = np.clip(nchosen - 1, 0, nkb - 1)[..., None]
    first = np.clip(nchosen, 0, nkb - 1)[..., None]
    cls_last = np.take_along_axis(sorted_cls, last, axis=-1)[..., 0]
    cls_first = np.take_along_axis(sorted_cls, first, axis=-1)[..., 0]
    s_last = np.take_along_axis(sorted_scores, last, axis=-1)[..., 0]
    s_first = np.take_along_axis(sorted_scores, first, axis=-1)[..., 0]
    tight = has_cut & (cls_last == 1) & (cls_first == 1)
    with np.errstate(invalid="ignore"):
        gap = np.where(tight, s_last - s_first, gap)
    cut_hi = np.where(tight, s_last, cut_hi)
    cut_lo = np.where(tight, s_first, cut_lo)
    scale = np.where(valid & ~np.isnan(mags), mags, 0.0).max(axis=-1, initial=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel_gap = np.where(tight, gap / np.where(scale > 0, scale, 1.0), np.inf)
    return dict(indices=idx, scores=scores, valid=np.array(valid), forced=np.array(forced),
                gap=gap, rel_gap=rel_gap, cut_hi=cut_hi, cut_lo=cut_lo, scale=scale,
                nchosen=nchosen)


def select_blocks(q, k, qb, kb, top_k, keep_sink=0, keep_local=0, causal=False,
                  pooled_keys=None):
    """attn.select_blocks's reference on q [B, Hq, Sq, D], k [B, Hkv, Skv, D]
    (pooled_keys: optional [B, Hkv, nkb, D]). See select()."""
    pq, pk = pool(q, k, qb, kb)
    if pooled_keys is not None:
        pk = pooled_keys
    return select(pq, pk, q.shape[2], k.shape[2], qb, kb, top_k, keep_sink, keep_local, causal)


def compare(got, ref, rel_tol=1e-3):
    """attn's indices `got` (numpy or torch, [B, Hkv, nqb, K]) against the
    reference `ref` (select()'s dict). Rows whose rel_gap > rel_tol must be
    equal; the others may differ only by swapping valid, non-forced, non-NaN
    blocks whose scores are within rel_tol * scale of the boundary. Returns
    a dict with the counts and result ('pass'/'fail')."""
    import numpy as np
    got = np.asarray(_to_numpy(got)).astype(np.int64)
    want = ref["indices"]
    res = dict(rows=int(np.prod(want.shape[:-1])), rel_tol=rel_tol)
    if got.shape != want.shape:
        res.update(result="fail", error="shape %s, expected %s" % (list(got.shape),
                                                                    list(want.shape)))
        return res
    equal_rows = (got == want).all(axis=-1)
    strict = ref["rel_gap"] > rel_tol
    finite = np.isfinite(ref["rel_gap"])
    res["rows_equal"] = int(equal_rows.sum())
    res["rows_strict"] = int(strict.sum())
    res["rows_near_tie"] = int((~strict).sum())
    res["strict_mismatches"] = int((strict & ~equal_rows).sum())
    relied = ref["rel_gap"][strict & finite]
    res["min_rel_gap_relied"] = float(relied.min()) if relied.size else None
    res["min_rel_gap"] = float(ref["rel_gap"][finite].min()) if finite.any() else None
    res["rows_with_cut"] = int(finite.sum())
    # Near-tie rows that differ: is the difference a legitimate swap?
    bad_near, ok_near = 0, 0
    nkb = ref["scores"].shape[-1]
    first_bad = None
    for pos in zip(*np.nonzero(~strict & ~equal_rows)):
        g, w = got[pos], want[pos]
        gs = set(int(x) for x in g if x >= 0)
        ws = set(int(x) for x in w if x >= 0)
        well_formed = (all(x == -1 or 0 <= x < nkb for x in g)
                       and list(g[:len(gs)]) == sorted(gs) and all(x == -1 for x in g[len(gs):]))
        tol = rel_tol * ref["scale"][pos]
        hi, lo = ref["cut_hi"][pos], ref["cut_lo"][pos]
        ok = well_formed and len(gs) == len(ws)
        for j in gs ^ ws:
            s = ref["scores"][pos + (j,)]
            if not (ref["valid"][pos + (j,)] and not ref["forced"][pos + (j,)]
                    and not math.isnan(s) and lo - tol <= s <= hi + tol):
                ok = False
        if ok:
            ok_near += 1
        else:
            bad_near += 1
            if first_bad is None:
                first_bad = "row %s: got %s, want %s" % (tuple(int(x) for x in pos),
                                                         g.tolist(), w.tolist())
    res["near_tie_swaps"] = ok_near
    res["near_tie_bad"] = bad_near
    if res["strict_mismatches"] and first_bad is None:
        pos = next(zip(*np.nonzero(strict & ~equal_rows)))
        first_bad = "row %s: got %s, want %s (rel gap %.3g)" % (
            tuple(int(x) for x in pos), got[pos].tolist(), want[pos].tolist(),
            ref["rel_gap"][pos])
    if first_bad:
        res["first_mismatch"] = first_bad
    res["result"] = "pass" if res["strict_mismatches"] == 0 and bad_near == 0 else "fail"
    return res


# -- attention over selected blocks ---------------------------------------------

def block_mask(idx, nkb):
    """bool [B, Hkv, nqb, nkb]: block j listed in idx[b, g, i, :] (numpy or
    torch; -1 and entries outside [0, nkb) ignored, duplicates once)."""
    if _is_torch(idx):
        import torch
        ii = idx.to(torch.int64)
        ii = torch.where((ii >= 0) & (ii < nkb), ii, torch.full_like(ii, nkb))
        m = torch.zeros(idx.shape[:-1] + (nkb + 1,), dtype=torch.bool, device=idx.device)
        m.scatter_(-1, ii, True)
        return m[..., :nkb]
    import numpy as np
    ii = np.asarray(idx).astype(np.int64)
    ii = np.where((ii >= 0) & (ii < nkb), ii, nkb)
    m = np.zeros(ii.shape[:-1] + (nkb + 1,), dtype=bool)
    np.put_along_axis(m, ii, True, axis=-1)
    return m[..., :nkb]


def visible_mask(idx, Sq, Skv, qb, kb, causal, G, rows=None):
    """bool [B, Hq, len(rows) or Sq, Skv]: what each query row sees."""
    ops = patterns._Ops(idx)
    nkb = ceil_div(Skv, kb)
    blk = block_mask(idx, nkb)                                  # [B, Hkv, nqb, nkb]
    r = ops.arange(Sq) if rows is None else ops.asindex(rows)
    t = ops.arange(Skv)
    m = blk[:, :, r // qb][..., t // kb]                        # [B, Hkv, R, Skv]
    if causal:
        m = m & (t[None, :] <= (r + (Skv - Sq))[:, None])
    return ops.repeat_heads(m, G)


def attend_reference(q, k, v, idx, qb, kb, causal, scale, rows=None):
    """float32 attention of q [B, Hq, Sq, D] over the selected blocks
    (k, v [B, Hkv, Skv, D]; float32 numpy arrays or torch tensors);
    [B, Hq, len(rows) or Sq, Dv]."""
    ops = patterns._Ops(q)
    B, Hq, Sq, D = q.shape
    Hkv, Skv = k.shape[1], k.shape[2]
    G = Hq // Hkv
    mask = visible_mask(idx, Sq, Skv, qb, kb, causal, G, rows)
    if rows is not None:
        q = q[:, :, ops.asindex(rows)]
    kk = ops.repeat_heads(k, G)
    vv = ops.repeat_heads(v, G)
    s = (q @ ops.transpose(kk)) * scale
    s = ops.where(mask, s, -math.inf)
    m = ops.amax(s)
    m = ops.where(ops.isfinite(m), m, 0.0)
    p = ops.exp(s - m)
    l = ops.sum(p)
    return (p @ vv) / ops.where(l > 0, l, 1.0)


def visited_work(idx, Sq, Skv, qb, kb, causal, G):
    """What attention over `idx` computes, counted per KV group and summed
    over the G query heads: (block pairs visited, (row, key) pairs visible).
    Block pairs: distinct listed blocks in [0, nkb) of every (b, g, i), times
    G; pairs: the visible (row, key) pairs of those blocks, causal masking
    and ragged edges counted exactly, times G. Numpy or torch."""
    nkb = ceil_div(Skv, kb)
    nqb = ceil_div(Sq, qb)
    blk = block_mask(idx, nkb)                                  # [B, Hkv, nqb, nkb]
    if _is_torch(idx):
        import torch
        ar = lambda n: torch.arange(n, device=idx.device, dtype=torch.int64)  # noqa: E731
        f = lambda x: x.to(torch.float64)  # noqa: E731
    else:
        import numpy as np
        ar = lambda n: np.arange(n, dtype=np.int64)  # noqa: E731
        f = lambda x: x.astype(np.float64)  # noqa: E731
    i, j = ar(nqb)[:, None], ar(nkb)[None, :]
    r0, r1 = i * qb, (i + 1) * qb                               # rows [r0, r1) clipped to Sq
    r1 = r1 - (r1 - Sq) * (r1 > Sq)
    t0, t1 = j * kb, (j + 1) * kb
    t1 = t1 - (t1 - Skv) * (t1 > Skv)
    nrows, nkeys = r1 - r0, t1 - t0
    if causal:
        # Row r sees keys t <= p = r + Skv - Sq within [t0, t1): clip(p - t0 + 1, 0, nkeys).
        # Summed over the rows of the block: exact, by a small loop over the
        # rows of a block (qb at most a few hundred).
        total = 0
        off = Skv - Sq
        for d in range(qb):
            r = r0 + d
            p = r + off
            n = p - t0 + 1
            n = n * (n > 0)
            n = n - (n - nkeys) * (n > nkeys)
            n = n * (r < r1)
            total = total + n
        per_block = total
    else:
        per_block = nrows * nkeys
    pairs = float((f(blk) * f(per_block)).sum()) * G
    blocks = float(f(blk).sum()) * G
    return blocks, pairs
