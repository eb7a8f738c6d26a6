#!/usr/bin/env python3
"""attn.sparse_branches (NSA's combined form, issue 8) on the GPU: checks
against a float32 PyTorch reference and a benchmark against dense SDPA
flash and FlexAttention running the same three branches, in one run.

    ATTN_RUNTIME_LIB=/tmp/attn-runtime-device/libattn_runtime.so \\
        /usr/bin/python3 bench/gpu/branches.py --artifacts build/device/gpu-branches --out /tmp/o

(scripts/device-branches-bench.sh does this on the GPU machine; the
artifacts come from scripts/prepare-device.sh: one per function file of
bench/gpu/cases_branches/, written by gen_branches_cases.py.)

The op: out = w0 O_cmp + w1 O_sel + w2 O_win per row, each branch a softmax
of its own over (compressed slots whose window ends at or before the row's
position | the listed key blocks | the window pattern); a branch that sees
nothing contributes 0 (docs/sparse-projection.md).

1. Checks (every case; shapes CHECK_SHAPES): random normal q, k, v, ck, cv
   (ck/cv random like k/v: the op takes them as inputs), weights uniform in
   [-0.25, 1], block lists of distinct valid blocks in increasing order
   (random top-k of the valid ones, -1 padded), and once per case a messy
   list (shuffled, a duplicate, -1 and out-of-range entries, which the op
   ignores). attn's output (pre-filled with NaN) against the float32
   reference on every row: max |err| <= 2e-2, mean |err| <= 2e-3, no NaN.
2. Benchmark (B = 1, Sq = Skv = S, S in --seqs): attn's one kernel against
   SDPA flash dense (causal flag as the case; GQA K/V repeated outside the
   timing) and FlexAttention doing NSA as a Flex user would: three
   torch.compile'd flex_attention calls (compressed: a mask_mod on slot
   positions over ck/cv; selected: BlockMask.from_kv_blocks of the same
   lists, built per input and timed; window: the window's mask_mod) and the
   weighted sum. Static masks (compressed, window) are built once, not
   timed per call. TF/s over the (row, key) pairs each branch's softmax
   covers, summed: 4 D per pair. Timer: CUDA events as bench.py.

Writes $OUT/branches_bench.json and $OUT/branches_bench.md. Exit status 0
every check passed, 1 a check or a run failed, 3 the only failures are
functions that did not compile, 2 no CUDA/torch.
"""

import argparse
import json
import math
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "runtime", "python"))
sys.path.insert(0, HERE)

from common import (artifact_error, environment, event_bench, fmt,  # noqa: E402
                    import_cuda_torch, load_case_index, now_iso, read_compile_status)

CHECK_SHAPES = [(2, 1000, 1000), (1, 300, 1000), (1, 1000, 300), (1, 1, 777), (1, 4096, 4096)]
MAX_ABS_TOL = 2e-2
MEAN_ABS_TOL = 2e-3


def ceil_div(a, b):
    return -(-a // b)


class Masks:
    """The three branches' visibility for one case and shape, as boolean
    tensors over (row, key): compressed [Sq, N], window [Sq, Skv]; the
    selected branch's [B, Hkv, Sq, Skv] from a list."""

    def __init__(self, torch, c, Sq, Skv, device):
        self.torch, self.c = torch, c
        self.Sq, self.Skv = Sq, Skv
        self.N = (Skv - c["compress_block"]) // c["compress_stride"] + 1
        p = torch.arange(Sq, device=device) + (Skv - Sq)
        self.p = p
        n = torch.arange(self.N, device=device)
        if c["causal"]:
            self.compressed = (n[None, :] * c["compress_stride"] + c["compress_block"] - 1
                               <= p[:, None])
        else:
            self.compressed = torch.ones(Sq, self.N, dtype=torch.bool, device=device)
        t = torch.arange(Skv, device=device)
        w = c["window_spec"]
        d = p[:, None] - t[None, :]
        win = (d <= w["window"]) & (d >= -w["window"])
        if w["causal"]:
            win &= d >= 0
        if w["global_tokens"]:
            # Rows before position 0 (Sq > Skv) are not global tokens.
            g = w["global_tokens"]
            win |= (t[None, :] < g) | ((p[:, None] >= 0) & (p[:, None] < g))
        self.window = win

    def listed(self, idx):
        """[B, Hkv, nqb, nkb]: blocks the list names (valid entries)."""
        torch = self.torch
        nkb = ceil_div(self.Skv, self.c["key_block"])
        ids = idx.long()
        ok = (ids >= 0) & (ids < nkb)
        ids = torch.where(ok, ids, torch.full_like(ids, nkb))
        out = torch.zeros(idx.shape[:3] + (nkb + 1,), dtype=torch.bool, device=idx.device)
        out.scatter_(-1, ids, True)
        return out[..., :nkb]

    def selected(self, idx):
        torch = self.torch
        c = self.c
        rows = torch.arange(self.Sq, device=idx.device) // c["query_block"]
        keys = torch.arange(self.Skv, device=idx.device) // c["key_block"]
        sel = self.listed(idx)[:, :, rows][..., keys]
        if c["causal"]:
            t = torch.arange(self.Skv, device=idx.device)
            sel = sel & (t[None, :] <= self.p[:, None])
        return sel

    def pairs(self, idx):
        """Visible (row, key) pairs per branch, summed over rows and the
        query heads of each KV head's group: (compressed, selected, window)."""
        torch = self.torch
        c = self.c
        G = c["query_heads"] // c["key_heads"]
        B = idx.shape[0]
        cmp = int(self.compressed.sum()) * B * c["query_heads"]
        win = int(self.window.sum()) * B * c["query_heads"]
        # Selected: per row, the keys of each listed block up to the row.
        kb = c["key_block"]
        nkb = ceil_div(self.Skv, kb)
        starts = torch.arange(nkb, device=idx.device) * kb
        ends = torch.clamp(starts + kb, max=self.Skv)
        if c["causal"]:
            ends = torch.minimum(ends[None, :], self.p[:, None] + 1)
        else:
            ends = ends[None, :].expand(self.Sq, nkb)
        per = torch.clamp(ends - starts[None, :], min=0)                  # [Sq, nkb]
        rows = torch.arange(self.Sq, device=idx.device) // c["query_block"]
        listed = self.listed(idx).float()                                 # [B, Hkv, nqb, nkb]
        sel = float((listed[:, :, rows] * per.float()[None, None]).sum()) * G
        return cmp, int(sel), win


def make_blocks(torch, c, B, Sq, Skv, gen, device):
    """Distinct valid blocks of each query block in increasing order, -1
    padded: a random top-k of the valid ones (causal: blocks starting at or
    before the query block's last position)."""
    qb, kb, K = c["query_block"], c["key_block"], c["top_k"]
    nqb, nkb = ceil_div(Sq, qb), ceil_div(Skv, kb)
    i = torch.arange(nqb, device=device)
    last = torch.clamp((i + 1) * qb, max=Sq) - 1 + (Skv - Sq)
    j = torch.arange(nkb, device=device)
    valid = (j[None, :] * kb <= last[:, None]) if c["causal"] else torch.ones(
        nqb, nkb, dtype=torch.bool, device=device)
    score = torch.rand(B, c["key_heads"], nqb, nkb, generator=gen, device=device)
    score = torch.where(valid, score, torch.full_like(score, -1.0))
    take = min(K, nkb)
    top = score.topk(take, dim=-1)
    ids = torch.where(top.values >= 0, top.indices, torch.full_like(top.indices, nkb))
    ids = ids.sort(dim=-1).values
    ids = torch.where(ids == nkb, torch.full_like(ids, -1), ids)
    if take < K:
        ids = torch.cat([ids, ids.new_full(ids.shape[:-1] + (K - take,), -1)], dim=-1)
    return ids.to(torch.int32).contiguous()


def messy(torch, idx, nkb, gen):
    """The same blocks shuffled, one slot a duplicate of another, and -1 and
    out-of-range entries where a slot was already unused or duplicated."""
    perm = torch.randperm(idx.shape[-1], generator=gen, device="cpu").to(idx.device)
    out = idx[..., perm].clone()
    if out.shape[-1] >= 2:
        out[..., -1] = torch.where(out[..., -1] < 0, torch.full_like(out[..., -1], nkb + 3),
                                   out[..., -1])
        out[..., 0] = torch.where(out[..., 0] < 0, out[..., 1], out[..., 0])
    return out.contiguous()


class Run:
    def __init__(self, args, torch):
        self.args, self.torch = args, torch
        self.checks, self.perf, self.notes = [], [], []
        self.arts, self.compile_errors = {}, {}
        self.cases, self.compiler = [], None

    def load(self):
        _, self.cases = load_case_index(self.args.cases, self.args.only)
        self.compiler, status = read_compile_status(self.args.artifacts, self.notes)
        try:
            import attn_runtime
        except Exception as e:  # noqa: BLE001
            attn_runtime = None
            self.notes.append("attn_runtime does not import: %r" % e)
        for c in self.cases:
            fn = c["name"]
            error = artifact_error(self.args.artifacts, fn, status)
            if error is None and attn_runtime is None:
                error = "attn_runtime does not import"
            if error is None:
                try:
                    self.arts[fn] = attn_runtime.Artifact(os.path.join(self.args.artifacts, fn))
                except Exception as e:  # noqa: BLE001
                    error = "attn_runtime.Artifact: %s" % e
            if error is not None:
                self.compile_errors[fn] = error
                self.checks.append(dict(case=fn, kind="compile", result="fail",
                                        compile_failure=True, error=error[-1500:]))
                print("compile FAIL %s: %s" % (fn, error.splitlines()[0] if error else ""),
                      flush=True)

    def scale(self, c):
        try:
            ks = self.arts[c["name"]].signature(c["name"]).kernels
            if ks and ks[0].get("scale") is not None:
                return float(ks[0]["scale"])
        except Exception:  # noqa: BLE001
            pass
        return 1.0 / math.sqrt(c["head_dim"])

    def inputs(self, c, B, Sq, Skv, seed):
        torch = self.torch
        gen = torch.Generator(device="cuda").manual_seed(seed)
        dt = dict(bf16=torch.bfloat16, f16=torch.float16, f32=torch.float32)
        e, we = dt[c["dtype"]], dt[c["weights_dtype"]]
        Hq, Hkv, D = c["query_heads"], c["key_heads"], c["head_dim"]
        N = (Skv - c["compress_block"]) // c["compress_stride"] + 1

        def rnd(*shape):
            return torch.randn(*shape, generator=gen, device="cuda").to(e)
        q, k, v = rnd(B, Hq, Sq, D), rnd(B, Hkv, Skv, D), rnd(B, Hkv, Skv, D)
        ck, cv = rnd(B, Hkv, N, D), rnd(B, Hkv, N, D)
        w = (torch.rand(B, Hq, Sq, 3, generator=gen, device="cuda") * 1.25 - 0.25).to(we)
        idx = make_blocks(torch, c, B, Sq, Skv, gen, "cuda")
        return q, k, v, ck, cv, idx, w

    def call(self, c, q, k, v, ck, cv, idx, w, out=None):
        if out is None:
            out = self.torch.full(q.shape, float("nan"), dtype=q.dtype, device=q.device)
        self.arts[c["name"]].call(c["name"], [q, k, v, ck, cv, idx, w], [out])
        return out

    def reference(self, c, masks, q, k, v, ck, cv, idx, w):
        torch = self.torch
        G = c["query_heads"] // c["key_heads"]
        scale = self.scale(c)
        qf = q.float()

        def attend(keys, vals, mask):
            keys = keys.float().repeat_interleave(G, dim=1)
            vals = vals.float().repeat_interleave(G, dim=1)
            s = scale * (qf @ keys.transpose(-1, -2))
            s = s.masked_fill(~mask, float("-inf"))
            m = s.amax(dim=-1, keepdim=True)
            m = torch.where(torch.isinf(m), torch.zeros_like(m), m)
            e = torch.exp(s - m)
            l = e.sum(dim=-1, keepdim=True)
            return (e @ vals) / torch.where(l > 0, l, torch.ones_like(l))
        o_cmp = attend(ck, cv, masks.compressed[None, None])
        sel = masks.selected(idx).repeat_interleave(G, dim=1)
        o_sel = attend(k, v, sel)
        o_win = attend(k, v, masks.window[None, None])
        wf = w.float()
        return wf[..., 0:1] * o_cmp + wf[..., 1:2] * o_sel + wf[..., 2:3] * o_win

    def compare(self, out, ref):
        torch = self.torch
        o = out.float()
        finite = torch.isfinite(o)
        diff = torch.where(finite, (o - ref).abs(), torch.zeros_like(o))
        res = dict(max_abs_err=float(diff.max()), mean_abs_err=float(diff.mean()),
                   nonfinite=int((~finite).sum()), ref_max=float(ref.abs().max()))
        ok = (res["nonfinite"] == 0 and res["max_abs_err"] <= MAX_ABS_TOL
              and res["mean_abs_err"] <= MEAN_ABS_TOL)
        res["result"] = "pass" if ok else "fail"
        return res

    def check(self):
        torch = self.torch
        for c in self.cases:
            if c["name"] not in self.arts:
                continue
            for n, (B, Sq, Skv) in enumerate(CHECK_SHAPES):
                for kind in (("lists", "messy") if n == 0 else ("lists",)):
                    row = dict(case=c["name"], kind=kind, B=B, Sq=Sq, Skv=Skv)
                    try:
                        q, k, v, ck, cv, idx, w = self.inputs(c, B, Sq, Skv, 1000 + n)
                        masks = Masks(torch, c, Sq, Skv, "cuda")
                        ref = self.reference(c, masks, q, k, v, ck, cv, idx, w)
                        if kind == "messy":
                            gen = torch.Generator().manual_seed(7)
                            idx = messy(torch, idx, ceil_div(Skv, c["key_block"]), gen)
                        out = self.call(c, q, k, v, ck, cv, idx, w)
                        torch.cuda.synchronize()
                        row.update(self.compare(out, ref))
                        del q, k, v, ck, cv, out, ref
                    except Exception as e:  # noqa: BLE001
                        row.update(result="fail", error="%s: %s" % (type(e).__name__, e))
                        traceback.print_exc()
                    self.checks.append(row)
                    print("check %-16s %-6s B=%d %5d x %-5d %s  max %s mean %s (|ref| <= %s)%s" % (
                        c["name"], kind, B, Sq, Skv, row["result"], fmt(row.get("max_abs_err"), 4),
                        fmt(row.get("mean_abs_err"), 5), fmt(row.get("ref_max"), 2),
                        " " + row.get("error", "")[:200] if "error" in row else ""), flush=True)
                    torch.cuda.empty_cache()

    def bench(self):
        torch = self.torch
        import torch.nn.functional as F
        timed = event_bench(torch)
        flex = None
        if not self.args.no_flex:
            try:
                # Each case's mask_mods are new closures: without room for
                # their recompiles, Flex falls back to its unfused path.
                import torch._dynamo
                torch._dynamo.config.recompile_limit = 64
                torch._dynamo.config.accumulated_recompile_limit = 512
                from torch.nn.attention.flex_attention import (BlockMask, create_block_mask,
                                                               flex_attention)
                flex = torch.compile(flex_attention, dynamic=False)
            except Exception as e:  # noqa: BLE001
                self.notes.append("FlexAttention unavailable: %r" % e)
        for S in self.args.seqs:
            for c in self.cases:
                if c["name"] not in self.arts:
                    continue
                row = dict(case=c["name"], S=S)
                try:
                    q, k, v, ck, cv, idx, w = self.inputs(c, 1, S, S, 7)
                    masks = Masks(torch, c, S, S, "cuda")
                    pairs = masks.pairs(idx)
                    row["pairs"] = dict(compressed=pairs[0], selected=pairs[1], window=pairs[2])
                    total_pairs = sum(pairs)
                    D = c["head_dim"]
                    out = self.call(c, q, k, v, ck, cv, idx, w)
                    row["attn_ms"] = timed(lambda: self.call(c, q, k, v, ck, cv, idx, w, out))
                    row["attn_tflops"] = 4.0 * D * total_pairs / row["attn_ms"] / 1e9
                    G = c["query_heads"] // c["key_heads"]
                    kr, vr = k.repeat_interleave(G, 1), v.repeat_interleave(G, 1)
                    from torch.nn.attention import SDPBackend, sdpa_kernel
                    with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
                        def sdpa():
                            return F.scaled_dot_product_attention(q, kr, vr,
                                                                  is_causal=c["causal"])
                        sdpa()
                        row["flash_ms"] = timed(sdpa)
                    dense_pairs = (S * (S + 1) // 2 if c["causal"] else S * S) * c["query_heads"]
                    row["flash_tflops"] = 4.0 * D * dense_pairs / row["flash_ms"] / 1e9
                    row["speedup_vs_flash"] = row["flash_ms"] / row["attn_ms"]
                    kr = vr = None
                    if flex is not None:
                        row["flex"] = self.bench_flex(c, q, k, v, ck, cv, idx, w, out, masks,
                                                      flex, BlockMask, create_block_mask,
                                                      timed, total_pairs)
                        if "ms_incl_mask" in row["flex"]:
                            row["speedup_vs_flex"] = row["flex"]["ms_incl_mask"] / row["attn_ms"]
                except Exception as e:  # noqa: BLE001
                    row["error"] = "%s: %s" % (type(e).__name__, str(e)[:400])
                    traceback.print_exc()
                self.perf.append(row)
                print("bench %-16s S=%-6d attn %s ms (%s TF/s)  flash %s ms  x%s  flex+mask %s ms  x%s%s" % (
                    c["name"], S, fmt(row.get("attn_ms")), fmt(row.get("attn_tflops"), 1),
                    fmt(row.get("flash_ms")), fmt(row.get("speedup_vs_flash"), 2),
                    fmt(row.get("flex", {}).get("ms_incl_mask")),
                    fmt(row.get("speedup_vs_flex"), 2),
                    " " + row["error"] if "error" in row else ""), flush=True)
                torch.cuda.empty_cache()

    def bench_flex(self, c, q, k, v, ck, cv, idx, w, out, masks, flex, BlockMask,
                   create_block_mask, timed, total_pairs):
        torch = self.torch
        res = {}
        try:
            S, D = q.shape[2], q.shape[3]
            G = c["query_heads"] // c["key_heads"]
            qb, kb, causal = c["query_block"], c["key_block"], c["causal"]
            cb, cs = c["compress_block"], c["compress_stride"]
            N = ck.shape[2]
            spec = c["window_spec"]
            W, g = spec["window"], spec["global_tokens"]

            def cmp_mod(b, h, qi, ki):
                return ki * cs + cb - 1 <= qi

            def win_mod(b, h, qi, ki):
                d = qi - ki
                ok = (d <= W) & (d >= -W)
                if spec["causal"]:
                    ok = ok & (d >= 0)
                if g:
                    ok = ok | (ki < g) | (qi < g)   # Sq = Skv here: no negative positions
                return ok

            t0 = time.time()
            cmp_mask = create_block_mask(cmp_mod, None, None, S, N, device="cuda") if causal else None
            win_mask = create_block_mask(win_mod, None, None, S, S, device="cuda")
            torch.cuda.synchronize()
            res["static_masks_s"] = round(time.time() - t0, 3)
            nkb = ceil_div(S, kb)

            def sel_mask():
                j = idx.to(torch.int64)
                valid = (j >= 0) & (j < nkb)
                j = j.clamp(0, nkb - 1)
                if causal:
                    first = torch.arange(idx.shape[2], device=idx.device)[:, None] * qb
                    full = valid & (j * kb + kb - 1 <= first)
                    partial = valid & ~full
                else:
                    full, partial = valid, torch.zeros_like(valid)

                def pack(sel):
                    key = torch.where(sel, j, torch.full_like(j, nkb)).sort(dim=-1).values
                    key = torch.where(key == nkb, torch.zeros_like(key), key)
                    if nkb > key.shape[-1]:
                        key = torch.cat([key, key.new_zeros(key.shape[:-1] + (nkb - key.shape[-1],))],
                                        dim=-1)
                    return (sel.sum(dim=-1).to(torch.int32).repeat_interleave(G, dim=1).contiguous(),
                            key[..., :nkb].to(torch.int32).repeat_interleave(G, dim=1).contiguous())
                kv_num, kv_ind = pack(partial)
                full_num, full_ind = pack(full)
                return BlockMask.from_kv_blocks(
                    kv_num, kv_ind, full_num, full_ind, BLOCK_SIZE=(qb, kb),
                    mask_mod=(lambda b, h, qi, ki: qi >= ki) if causal else None,
                    seq_lengths=(S, S))
            opts = {"BLOCK_M": min(qb, 128), "BLOCK_N": min(kb, 128)}
            sm = sel_mask()
            wf = w.float()

            def nsa():
                o1 = flex(q, ck, cv, block_mask=cmp_mask, enable_gqa=True)
                o2 = flex(q, k, v, block_mask=sm, enable_gqa=True, kernel_options=opts)
                o3 = flex(q, k, v, block_mask=win_mask, enable_gqa=True)
                return (wf[..., 0:1] * o1.float() + wf[..., 1:2] * o2.float()
                        + wf[..., 2:3] * o3.float()).to(q.dtype)
            t0 = time.time()
            got = nsa()
            torch.cuda.synchronize()
            res["first_call_s"] = round(time.time() - t0, 2)

            def wall(fn, n=10):
                fn()
                torch.cuda.synchronize()
                t = time.time()
                for _ in range(n):
                    fn()
                torch.cuda.synchronize()
                return (time.time() - t) * 1000 / n
            res["mask_ms"] = wall(sel_mask)
            res["ms"] = timed(nsa)
            res["ms_incl_mask"] = res["ms"] + res["mask_ms"]
            res["tflops"] = 4.0 * D * total_pairs / res["ms"] / 1e9
            diff = (got.float() - out.float()).abs()
            res["max_abs_diff_vs_attn"] = float(torch.nan_to_num(diff, nan=1e9).max())
            res["nonfinite"] = int((~torch.isfinite(got)).sum())
        except Exception as e:  # noqa: BLE001
            res["skipped"] = "%s: %s" % (type(e).__name__, str(e)[:300])
            traceback.print_exc()
        return res


def write_reports(run, out, device, triton_version, started):
    checks_ok = all(r["result"] == "pass" for r in run.checks)
    report = dict(tool="bench/gpu/branches.py", started=started, finished=now_iso(),
                  device=device, triton=triton_version, compiler=run.compiler,
                  torch=run.torch.__version__, checks=run.checks, perf=run.perf,
                  notes=run.notes, checks_passed=sum(r["result"] == "pass" for r in run.checks),
                  checks_total=len(run.checks), all_checks_pass=checks_ok)
    with open(os.path.join(out, "branches_bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    lines = ["# attn.sparse_branches (NSA's combined form) on %s" % device, "",
             "%s; torch %s, triton %s; %s" % (started, run.torch.__version__, triton_version,
                                              run.compiler or ""), "",
             "Checks: %d of %d pass (max |err| <= %g, mean <= %g, float32 reference)." % (
                 report["checks_passed"], report["checks_total"], MAX_ABS_TOL, MEAN_ABS_TOL), ""]
    bad = [r for r in run.checks if r["result"] != "pass"]
    for r in bad:
        lines.append("- FAIL %s %s B=%s %sx%s: %s" % (
            r["case"], r.get("kind"), r.get("B"), r.get("Sq"), r.get("Skv"),
            r.get("error") or "max %s mean %s nonfinite %s" % (
                fmt(r.get("max_abs_err"), 4), fmt(r.get("mean_abs_err"), 5), r.get("nonfinite"))))
    lines += ["", "| case | S | attn ms | attn TF/s | flash ms | flash TF/s | flash / attn "
              "| Flex ms | Flex mask ms | Flex TF/s | (Flex + mask) / attn | max \\|attn - Flex\\| |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in run.perf:
        fx = r.get("flex", {})
        lines.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["case"], r["S"], fmt(r.get("attn_ms")), fmt(r.get("attn_tflops"), 1),
            fmt(r.get("flash_ms")), fmt(r.get("flash_tflops"), 1),
            fmt(r.get("speedup_vs_flash"), 2), fmt(fx.get("ms")), fmt(fx.get("mask_ms")),
            fmt(fx.get("tflops"), 1), fmt(r.get("speedup_vs_flex"), 2),
            fmt(fx.get("max_abs_diff_vs_attn"), 3)
            if "skipped" not in fx else "skipped: " + fx["skipped"][:80]))
        if "error" in r:
            lines.append("| %s | %d | error: %s |" % (r["case"], r["S"], r["error"][:200]))
    if run.notes:
        lines += [""] + ["- " + n for n in run.notes]
    with open(os.path.join(out, "branches_bench.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return checks_ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--artifacts", default=os.path.join(ROOT, "build", "device", "gpu-branches"))
    ap.add_argument("--cases", default=os.path.join(HERE, "cases_branches", "cases.json"))
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/attn-branches-bench"))
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--seqs", nargs="*", type=int, default=[16384])
    ap.add_argument("--no-bench", action="store_true")
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--no-flex", action="store_true")
    args = ap.parse_args()
    torch = import_cuda_torch("branches.py")
    if torch is None:
        return 2
    os.makedirs(args.out, exist_ok=True)
    started = now_iso()
    device, triton_version = environment(torch)
    run = Run(args, torch)
    run.load()
    if not args.no_check:
        run.check()
    if not args.no_bench:
        run.bench()
    ok = write_reports(run, args.out, device, triton_version, started)
    failures = [r for r in run.checks if r["result"] != "pass"]
    if ok and not any("error" in r for r in run.perf):
        return 0
    if failures and all(r.get("compile_failure") for r in failures):
        return 3
    return 1


if __name__ == "__main__":
    sys.exit(main())
