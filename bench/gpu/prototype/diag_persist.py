#!/usr/bin/env python3
"""Which work items of a persistent (--persistent) artifact come out wrong:
runs FUNCTION (dense or causal, Hq = Hkv = H, D = 128) at several shapes and
ATTN_PERSISTENT_BLOCKS values and prints, per run, the wrong
(batch, head, query tile) items with their item index and the block that
walked them (round k: items k G + (c or G - 1 - c)). That block is right
for artifacts built with --persistent-schedule=static; with the dynamic
schedule (the default) an item's block is whichever claimed it, and only
the item index holds.
usage: diag_persist.py ARTIFACT_DIR FUNCTION H [causal]"""
import math, os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "runtime", "python"))
import torch, attn_runtime

path, fn, H = sys.argv[1], sys.argv[2], int(sys.argv[3])
causal = len(sys.argv) > 4 and sys.argv[4] == "causal"
D, BR = 128, 128
art = attn_runtime.Artifact(path)
torch.manual_seed(0)
bf = torch.bfloat16

def ref(q, k, v):
    Sq, Skv = q.shape[2], k.shape[2]
    s = torch.einsum("bhqd,bhkd->bhqk", q.float(), k.float()) / math.sqrt(D)
    if causal:
        pos = torch.arange(Sq, device="cuda")[:, None] + (Skv - Sq)
        s = s.masked_fill(torch.arange(Skv, device="cuda")[None, :] > pos, float("-inf"))
    p = s.softmax(-1).nan_to_num(0.0)
    return torch.einsum("bhqk,bhkd->bhqd", p, v.float())

def block_of(w, G):
    k, i = divmod(w, G)
    return i if k % 2 == 0 else G - 1 - i

for B, Sq, Skv in ((1, 128, 1037), (1, 128, 1024), (1, 128, 896), (2, 1000, 1037), (2, 1000, 1000), (1, 256, 1037)):
    q = torch.randn(B, H, Sq, D, device="cuda", dtype=bf)
    k = torch.randn(B, H, Skv, D, device="cuda", dtype=bf)
    v = torch.randn(B, H, Skv, D, device="cuda", dtype=bf)
    r = ref(q, k, v)
    first = (Skv - Sq) // BR
    tiles = -(-Skv // BR) - first
    for G in (1, 2, 3, 132):
        os.environ["ATTN_PERSISTENT_BLOCKS"] = str(G)
        o = torch.full_like(q, float("nan"))
        try:
            art.call(fn, [q, k, v], [o]); torch.cuda.synchronize()
        except Exception as e:  # noqa
            print("B=%d Sq=%d Skv=%d G=%d: error %s" % (B, Sq, Skv, G, e)); continue
        e = (o.float() - r).abs().nan_to_num(99.0)
        bad, nrows = [], {}
        for b in range(B):
            for h in range(H):
                rows = e[b, h].max(-1).values
                for row in range(Sq):
                    if rows[row] > 2e-2:
                        t = (row + Skv - Sq) // BR - first
                        w = (b * H + h) * tiles + (tiles - 1 - t)
                        item = (b, h, t, w, block_of(w, min(G, tiles * B * H)))
                        if item not in bad:
                            bad.append(item)
                        nrows[item] = nrows.get(item, []) + [row]
        print("B=%d Sq=%d Skv=%d G=%d tiles=%d items=%d: max %.3f, %d bad items %s" % (
            B, Sq, Skv, G, tiles, tiles * B * H, e.max().item(), len(bad),
            " ".join("(b%d h%d t%d w%d blk%d)" % x for x in bad[:24])))
        for x in bad[:3]:
            rs = nrows[x]
            print("   ", x, "rows", len(rs), rs[0], "..", rs[-1], "err %.3f" % e[x[0], x[1], rs[0]].max().item())
