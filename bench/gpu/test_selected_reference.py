#!/usr/bin/env python3
"""Checks bench/gpu/selection.py without a GPU (numpy only): the references
that bench/gpu/selected.py checks attn's select_blocks and selected
attention against.

1. selection.select_blocks against a literal transcription of
   docs/sparse-projection.md section 1 (loops per (b, g, i): pooled means,
   dot products, valid and forced blocks, then a greedy pick of the best
   remaining block by an explicit comparison), on tiny random inputs:
   causal or not, Sq = Skv, Sq < Skv, Sq > Skv (query blocks before
   position 0), ragged last blocks, query block 1x/2x the key block,
   keep_sink / keep_local 0..3, top_k below, at and above the number of
   valid blocks; inputs with exact ties (repeated key blocks, zero keys)
   and NaN (a key block of NaN, a query block of NaN).
2. selection.compare: equal indices pass; a changed row with a clear gap
   fails; a swap at an exact tie passes; a swap of a block far from the
   boundary, a missing forced block, an unsorted row or a wrong shape fail.
3. selection.attend_reference against a literal per-row softmax over the
   visible keys (listed blocks, duplicates, -1 and out-of-range entries,
   causal, Sq != Skv, GQA), and the `rows=` subset.
4. selection.visited_work against a direct count of visible (row, key)
   pairs.

    python3 bench/gpu/test_selected_reference.py      # exit 1 on a failure
"""

import itertools
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import selection  # noqa: E402

FAILS = []
PASSES = [0]


def check(cond, what):
    if cond:
        PASSES[0] += 1
    else:
        FAILS.append(what)
        print("FAIL: " + what, flush=True)


# -- 1. the literal transcription of section 1 -------------------------------------

def literal_select(q, k, qb, kb, top_k, keep_sink, keep_local, causal):
    B, Hq, Sq, D = q.shape
    Hkv, Skv = k.shape[1], k.shape[2]
    G = Hq // Hkv
    nqb, nkb = -(-Sq // qb), -(-Skv // kb)
    out = np.full((B, Hkv, nqb, top_k), -1, dtype=np.int64)
    for b in range(B):
        for g in range(Hkv):
            for i in range(nqb):
                rows = range(i * qb, min(Sq, (i + 1) * qb))
                pq = [0.0] * D
                n = 0
                for h in range(g * G, (g + 1) * G):
                    for r in rows:
                        n += 1
                        for d in range(D):
                            pq[d] += float(q[b, h, r, d])
                pq = [x / n for x in pq]
                P = min(Sq, (i + 1) * qb) - 1 + Skv - Sq
                L = min(math.floor(P / kb), nkb - 1)
                score, valid, forced = {}, [], []
                for j in range(nkb):
                    keys = range(j * kb, min(Skv, (j + 1) * kb))
                    pk = [sum(float(k[b, g, t, d]) for t in keys) / len(keys) for d in range(D)]
                    score[j] = sum(pq[d] * pk[d] for d in range(D))
                    if causal and not j * kb <= P:
                        continue
                    valid.append(j)
                    if j < keep_sink or L - keep_local + 1 <= j <= L:
                        forced.append(j)
                chosen = list(forced)[:top_k]
                rest = [j for j in valid if j not in forced]

                def better(a, c):
                    sa, sc = score[a], score[c]
                    if math.isnan(sa) != math.isnan(sc):
                        return not math.isnan(sa)
                    if math.isnan(sa):
                        return a < c
                    if sa != sc:
                        return sa > sc
                    return a < c
                while len(chosen) < top_k and rest:
                    best = rest[0]
                    for c in rest[1:]:
                        if better(c, best):
                            best = c
                    chosen.append(best)
                    rest.remove(best)
                chosen.sort()
                out[b, g, i, :len(chosen)] = chosen
    return out


def tiny_inputs(rng, B, Hq, Hkv, Sq, Skv, D, kind, kb):
    q = rng.standard_normal((B, Hq, Sq, D))
    k = rng.standard_normal((B, Hkv, Skv, D))
    if kind == "ties":
        # Every full key block a copy of the first: equal pooled keys, equal
        # scores (exactly, in float64); the partial last block differs.
        nfull = Skv // kb
        for j in range(1, nfull):
            k[:, :, j * kb:(j + 1) * kb] = k[:, :, :kb]
    elif kind == "zeros":
        k[:, :, :] = 0.0                       # every score exactly 0
    elif kind == "nan_key":
        k[:, 0, kb:2 * kb] = np.nan            # block 1 of KV head 0: NaN
    elif kind == "nan_query":
        q[:, :, :min(Sq, 3)] = np.nan          # query block 0: every score NaN
    elif kind == "small_ints":
        # Integers: exact sums, many exact ties among scores.
        q = rng.integers(-1, 2, size=q.shape).astype(np.float64)
        k = rng.integers(-1, 2, size=k.shape).astype(np.float64)
    return q, k


def test_select():
    rng = np.random.default_rng(7)
    configs = []
    for (Sq, Skv) in [(13, 13), (9, 20), (20, 9), (1, 17), (16, 16), (5, 3)]:
        for (qb, kb) in [(4, 4), (8, 4), (2, 3)]:
            for causal in (False, True):
                configs.append((Sq, Skv, qb, kb, causal))
    kinds = ["normal", "ties", "zeros", "nan_key", "nan_query", "small_ints"]
    n = 0
    rounding_ties = [0]
    for (Sq, Skv, qb, kb, causal), kind in itertools.product(configs, kinds):
        nkb = -(-Skv // kb)
        for top_k in sorted({1, 2, max(1, nkb // 2), nkb, nkb + 2}):
            for keep_sink, keep_local in [(0, 0), (1, 2), (2, 1), (0, 3)]:
                B, Hq, Hkv, D = 2, 4, 2, 3
                q, k = tiny_inputs(rng, B, Hq, Hkv, Sq, Skv, D, kind, kb)
                want = literal_select(q, k, qb, kb, top_k, keep_sink, keep_local, causal)
                ref = selection.select_blocks(q, k, qb, kb, top_k, keep_sink, keep_local, causal)
                got = ref["indices"]
                n += 1
                ok = got.shape == want.shape and (got == want).all()
                if not ok and kind == "small_ints" and (kb & (kb - 1) or Skv % kb):
                    # Integer inputs tie exactly in rational arithmetic; means
                    # over 3 keys round in float64, in another order here than
                    # in the literal loops: a tie broken by rounding. Allowed
                    # only at a relative gap of 1e-12 around the boundary.
                    tol_res = selection.compare(want, ref, rel_tol=1e-12)
                    ok = tol_res["result"] == "pass" and tol_res["strict_mismatches"] == 0
                    rounding_ties[0] += not (got == want).all()
                check(ok, "select %s Sq=%d Skv=%d qb=%d kb=%d causal=%s top_k=%d sink=%d "
                      "local=%d: got %s want %s" % (kind, Sq, Skv, qb, kb, causal, top_k,
                                                    keep_sink, keep_local,
                                                    got.reshape(-1, top_k).tolist()[:4],
                                                    want.reshape(-1, top_k).tolist()[:4]))
                # The reference agrees with itself through compare (all rows).
                res = selection.compare(want, ref)
                check(res["result"] == "pass", "compare(literal, ref) %s: %s" % (kind, res))
    print("select: %d configurations against the literal transcription (%d small-integer "
          "ones differ only by float64 rounding at exact ties)" % (n, rounding_ties[0]))


# -- 2. compare ----------------------------------------------------------------------

def test_compare():
    rng = np.random.default_rng(3)
    B, Hq, Hkv, S, D, qb, kb, top_k = 1, 4, 2, 64, 8, 4, 4, 5
    q = rng.standard_normal((B, Hq, S, D))
    k = rng.standard_normal((B, Hkv, S, D))
    ref = selection.select_blocks(q, k, qb, kb, top_k, 1, 1, causal=True)
    idx = ref["indices"]
    check(selection.compare(idx, ref)["result"] == "pass", "compare: equal indices pass")
    # A clear-gap row changed: replace its best non-forced block by an unchosen valid one.
    rel = ref["rel_gap"]
    pos = tuple(int(x) for x in np.argwhere(np.isfinite(rel) & (rel > 1e-2))[-1])
    row = idx[pos]
    forced = set(np.nonzero(ref["forced"][pos])[0].tolist())
    chosen = [int(x) for x in row if x >= 0]
    unchosen = [j for j in np.nonzero(ref["valid"][pos])[0].tolist() if j not in chosen]
    free = [j for j in chosen if j not in forced]
    best = max(free, key=lambda j: ref["scores"][pos + (j,)])
    worst_unchosen = min(unchosen, key=lambda j: ref["scores"][pos + (j,)])
    bad = idx.copy()
    newrow = sorted([j for j in chosen if j != best] + [worst_unchosen])
    bad[pos][:len(newrow)] = newrow
    res = selection.compare(bad, ref)
    check(res["result"] == "fail" and res["strict_mismatches"] == 1,
          "compare: a changed clear-gap row fails (%s)" % res)
    # The boundary swap at a tolerance that makes the row a near tie passes.
    last = min(free, key=lambda j: ref["scores"][pos + (j,)])
    first = max(unchosen, key=lambda j: ref["scores"][pos + (j,)])
    swap = idx.copy()
    newrow = sorted([j for j in chosen if j != last] + [first])
    swap[pos][:len(newrow)] = newrow
    loose = rel[pos] * 1.01
    res = selection.compare(swap, ref, rel_tol=loose)
    check(res["result"] == "pass" and res["near_tie_swaps"] >= 1,
          "compare: a boundary swap within the tolerance passes (%s)" % res)
    res = selection.compare(swap, ref, rel_tol=rel[pos] * 0.99)
    check(res["result"] == "fail", "compare: the same swap outside the tolerance fails")
    # A far swap fails even with that tolerance.
    res = selection.compare(bad, ref, rel_tol=loose)
    check(res["result"] == "fail", "compare: a far swap fails at a near-tie tolerance (%s)" % res)
    # A forced block dropped fails.
    drop = idx.copy()
    f = min(forced)
    newrow = sorted([j for j in chosen if j != f] + [first])
    drop[pos][:len(newrow)] = newrow
    check(selection.compare(drop, ref, rel_tol=1.0)["result"] == "fail",
          "compare: a dropped forced block fails at any tolerance")
    # Unsorted row fails at any tolerance.
    uns = idx.copy()
    uns[pos][:len(chosen)] = chosen[::-1]
    check(selection.compare(uns, ref, rel_tol=1.0)["result"] == "fail",
          "compare: an unsorted row fails")
    # Exact ties: the reference's row and another tie order.
    kt = k.copy()
    for j in range(1, S // kb):
        kt[:, :, j * kb:(j + 1) * kb] = kt[:, :, :kb]
    reft = selection.select_blocks(q, kt, qb, kb, top_k, 1, 1, causal=False)
    check(np.isfinite(reft["gap"]).any() and np.nanmin(reft["gap"]) == 0.0,
          "compare: repeated key blocks give exact ties (gap 0)")
    check(selection.compare(reft["indices"], reft)["result"] == "pass", "compare: ties, equal")
    other = reft["indices"].copy()
    p2 = tuple(int(x) for x in np.argwhere(reft["gap"] == 0.0)[0])
    chosen = [int(x) for x in other[p2] if x >= 0]
    forced2 = set(np.nonzero(reft["forced"][p2])[0].tolist())
    unch = [j for j in range(S // kb) if j not in chosen]
    movable = [j for j in chosen if j not in forced2]
    newrow = sorted([j for j in chosen if j != movable[-1]] + [unch[-1]])
    other[p2][:len(newrow)] = newrow
    res = selection.compare(other, reft)
    check(res["result"] == "pass" and res["near_tie_swaps"] == 1,
          "compare: another order of exactly tied blocks passes (%s)" % res)
    # Shape mismatch.
    check(selection.compare(idx[..., :-1], ref)["result"] == "fail", "compare: shape mismatch")


# -- 3. attention over selected blocks -------------------------------------------

def literal_attend(q, k, v, idx, qb, kb, causal, scale):
    B, Hq, Sq, D = q.shape
    Hkv, Skv = k.shape[1], k.shape[2]
    G = Hq // Hkv
    nkb = -(-Skv // kb)
    out = np.zeros((B, Hq, Sq, v.shape[3]))
    for b, h, r in itertools.product(range(B), range(Hq), range(Sq)):
        listed = {int(x) for x in idx[b, h // G, r // qb] if 0 <= x < nkb}
        keys = [t for t in range(Skv) if t // kb in listed
                and (not causal or t <= r + Skv - Sq)]
        if not keys:
            continue
        s = [scale * float(np.dot(q[b, h, r], k[b, h // G, t])) for t in keys]
        m = max(s)
        w = [math.exp(x - m) for x in s]
        tot = sum(w)
        out[b, h, r] = sum(wi * v[b, h // G, t] for wi, t in zip(w, keys)) / tot
    return out


def test_attend():
    rng = np.random.default_rng(11)
    for (Sq, Skv, qb, kb, causal) in [(13, 13, 4, 4, True), (9, 20, 4, 4, True),
                                      (20, 9, 8, 4, True), (13, 17, 4, 4, False),
                                      (7, 7, 2, 3, False)]:
        B, Hq, Hkv, D, K = 2, 4, 2, 5, 4
        nkb, nqb = -(-Skv // kb), -(-Sq // qb)
        q = rng.standard_normal((B, Hq, Sq, D)).astype(np.float32)
        k = rng.standard_normal((B, Hkv, Skv, D)).astype(np.float32)
        v = rng.standard_normal((B, Hkv, Skv, D)).astype(np.float32)
        # Random lists with -1, duplicates and out-of-range entries.
        idx = rng.integers(-1, nkb + 2, size=(B, Hkv, nqb, K)).astype(np.int32)
        idx[0, 0, 0] = [1, 1, -1, nkb + 5] if nkb > 1 else [0, 0, -1, 7]
        idx[-1, -1, -1] = -1                    # a query block that sees nothing
        scale = 1 / math.sqrt(D)
        got = selection.attend_reference(q, k, v, idx, qb, kb, causal, scale)
        want = literal_attend(q, k, v, idx, qb, kb, causal, scale)
        err = float(np.abs(got - want).max())
        check(err < 1e-5, "attend Sq=%d Skv=%d qb=%d kb=%d causal=%s: max err %.3g"
              % (Sq, Skv, qb, kb, causal, err))
        rows = [0, Sq // 2, Sq - 1]
        sub = selection.attend_reference(q, k, v, idx, qb, kb, causal, scale, rows=rows)
        err = float(np.abs(sub - want[:, :, rows]).max())
        check(err < 1e-5, "attend rows= Sq=%d Skv=%d: max err %.3g" % (Sq, Skv, err))
        check(not np.abs(got[-1, -Hq // Hkv:, (nqb - 1) * qb:]).any(),
              "attend: a query block with no listed block gives zeros")
        # visited_work against a direct count.
        blocks, pairs = selection.visited_work(idx, Sq, Skv, qb, kb, causal, Hq // Hkv)
        mask = selection.visible_mask(idx, Sq, Skv, qb, kb, causal, Hq // Hkv)
        want_blocks = sum(len({int(x) for x in idx[b, g, i] if 0 <= x < nkb})
                          for b in range(B) for g in range(Hkv) for i in range(nqb)) * (Hq // Hkv)
        check(pairs == float(mask.sum()), "visited_work pairs %s vs mask %s" % (pairs, mask.sum()))
        check(blocks == want_blocks, "visited_work blocks %s vs %s" % (blocks, want_blocks))


def main():
    test_select()
    test_compare()
    test_attend()
    print("test_selected_reference.py: %d passed, %d failed" % (PASSES[0], len(FAILS)))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
