#!/usr/bin/env python3
"""Issue 8's benchmark: attn's sparse projection (select_blocks + attention
over the selected blocks) against dense FA2 (SDPA flash), SDPA cuDNN and
FlexAttention given the same blocks, with its correctness checks, in one run.

    ATTN_RUNTIME_LIB=/tmp/attn-runtime-device/libattn_runtime.so OUT=/tmp/o \\
        /usr/bin/python3 bench/gpu/selected.py [--artifacts build/device/gpu-selected]

(scripts/device-selected-bench.sh does this on the GPU machine; the
artifacts come from scripts/prepare-device.sh through
bench/gpu/compile-selected.sh: one artifact per function file of
bench/gpu/cases_selected/, written by gen_selected_cases.py.)

Cases: bf16, Hq = 16, Hkv = 2, D = 128, key blocks of 64, keep_sink = 1,
keep_local = 2; S in {16384, 65536} x density {1/8, 1/16} (top_k = density
* ceil(S/64)) x query block {64, 128} x causal or not. Each case has two
functions (two artifacts): @select_<case>(q, k) -> idx [B, 2, nqb, K] and
@attend_<case>(q, k, v, idx).

1. Correctness, at small and ragged shapes (CHECK_SHAPES plus, per case, a
   square shape of 3 K blocks + 37 so that the choice is a real top-k), on
   random normal bf16 inputs:
   - select: attn's indices (output pre-filled with -7) against
     bench/gpu/selection.py (float64 pooling and scores, section 1 of
     docs/sparse-projection.md exactly). Rows whose top-k boundary has a
     relative score gap above --gap-tol (default 1e-3 of the row's
     sum |pq||pk|) must be equal; near-tie rows may only swap blocks within
     the tolerance of the boundary. Reported: rows compared exactly,
     mismatches, near-tie swaps, the smallest gap relied on. Plus inputs
     with a NaN key block (NaN scores after every number) and with repeated
     key blocks (exact ties: lower index first).
   - attend: attn's output (pre-filled with NaN) against a float32 masked
     dense reference (selection.attend_reference) with the reference's
     indices (so attend is checked even when select does not compile) and
     with a "messy" list of the same blocks (shuffled, duplicated, -1 and
     out-of-range entries: section 1 says they are ignored). Full rows
     when small, else sampled rows (first, middle, last 128). Tolerance as
     bench.py: max |err| <= 2e-2, mean |err| <= 2e-3, no NaN.
2. Benchmark at B = 1, Sq = Skv = S: attn select, attn attend (on attn's
   own indices; the reference's when select failed, said so), their sum;
   SDPA flash and cuDNN, dense, causal flag matching the case (GQA K/V
   repeated to the query heads outside the timing); FlexAttention
   (torch.compile'd flex_attention, enable_gqa) with a BlockMask built
   from the same indices by BlockMask.from_kv_blocks (blocks wholly below
   the diagonal as full blocks, diagonal blocks with a causal mask_mod,
   BLOCK_SIZE = (qb, 64)); the mask building is timed on its own (what a
   user pays per input) and added. At the benchmark shape: attn's indices
   against the reference, and attn's and Flex's outputs on sampled rows
   against the reference. Timer: triton.testing.do_bench(warmup=25,
   rep=100) mean, as bench.py (attn calls include the Python binding's
   per-call cost, as a user pays it); mask building: wall time of the
   build plus synchronize, mean of 10 after a warm-up.
   TF/s: 4 * D * (visible (row, key) pairs, summed over the query heads) /
   time; causal diagonals and dense causal counted exactly (S(S+1)/2 per
   head). attn also by tiles: 4 * qb * kb * D * (visited block pairs).
   Ratios: flash / (select + attend) (acceptance >= 4 at S = 16384,
   density 1/8) and (Flex mask + Flex attention) / (select + attend)
   (acceptance > 1).

Writes $OUT/selected_bench.json and $OUT/selected_bench.md. Exit status:
0 every check passed and the acceptance lines hold; 4 every check passed
but an acceptance line does not; 1 a check or a run failed; 3 the only
failures are functions that did not compile; 2 bad usage or no
CUDA/torch; 124 stopped (partial report).
"""

import argparse
import inspect
import json
import math
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "runtime", "python"))
sys.path.insert(0, HERE)

import selection  # noqa: E402
from common import (artifact_error, environment, event_bench, fmt,  # noqa: E402
                    import_cuda_torch, load_case_index, now_iso, read_compile_status)

# (B, Sq, Skv): square ragged, two batch rows, Sq < Skv, Sq > Skv (query
# blocks at negative positions), a 4096 square. Per case one more: square
# 3 * K * 64 + 37 (K of 3K + 1 key blocks chosen).
CHECK_SHAPES = [(2, 1000, 1000), (1, 4096, 4096), (1, 300, 1000), (1, 1000, 300)]
MAX_ABS_TOL = 2e-2
MEAN_ABS_TOL = 2e-3
SAMPLE_ROWS = 128
FULL_REF_LIMIT = 6e8          # B * Hq * rows * Skv above this: sampled rows
ACCEPT_S, ACCEPT_DENSITY = 16384, 1.0 / 8
ACCEPT_FLASH = 4.0


def causal_mask_mod(b, h, q_idx, kv_idx):
    """Flex's mask inside the diagonal blocks (Sq = Skv at the benchmark)."""
    return q_idx >= kv_idx


def sample_rows(S):
    n = min(SAMPLE_ROWS, S)
    return sorted(set(list(range(0, n)) + list(range(max(0, S // 2 - n // 2), min(S, S // 2 + n // 2)))
                      + list(range(S - n, S))))


class Run:
    def __init__(self, args, torch):
        self.args = args
        self.torch = torch
        self.t0 = time.time()
        self.cases = []
        self.arts = {}            # function name -> Artifact
        self.compile_errors = {}  # function name -> message
        self.checks = []
        self.perf = []
        self.notes = []
        self.compiler = None
        self.timer = None
        self.progress = None

    # -- setup -------------------------------------------------------------------

    def load(self):
        _, self.cases = load_case_index(self.args.cases, self.args.only)
        self.compiler, status = read_compile_status(self.args.artifacts, self.notes)
        try:
            import attn_runtime
        except Exception as e:  # noqa: BLE001 - every function then fails, reported
            attn_runtime = None
            self.notes.append("attn_runtime does not import: %r" % e)
        for c in self.cases:
            for fn in (c["select_function"], c["attend_function"]):
                art_path = os.path.join(self.args.artifacts, fn)
                error = artifact_error(self.args.artifacts, fn, status)
                if error is None and attn_runtime is None:
                    error = "attn_runtime does not import"
                if error is None:
                    try:
                        self.arts[fn] = attn_runtime.Artifact(art_path)
                    except Exception as e:  # noqa: BLE001
                        error = "attn_runtime.Artifact: %s" % e
                if error is not None:
                    self.compile_errors[fn] = error
                    self.checks.append(dict(case=c["name"], function=fn, kind="compile",
                                            result="fail", compile_failure=True,
                                            error=error[-1500:]))
                    first = next((ln for ln in error.splitlines() if "error" in ln),
                                 error.splitlines()[0] if error else "")
                    print("compile FAIL %s: %s" % (fn, first), flush=True)

    # -- calls ---------------------------------------------------------------------

    def call_select(self, c, q, k, out=None):
        torch = self.torch
        B, Sq = q.shape[0], q.shape[2]
        if out is None:
            out = torch.full((B, c["key_heads"], selection.ceil_div(Sq, c["query_block"]),
                              c["top_k"]), -7, dtype=torch.int32, device=q.device)
        self.arts[c["select_function"]].call(c["select_function"], [q, k], [out])
        return out

    def call_attend(self, c, q, k, v, idx, out=None):
        torch = self.torch
        if out is None:
            out = torch.full(q.shape[:3] + (v.shape[3],), float("nan"), dtype=q.dtype,
                             device=q.device)
        self.arts[c["attend_function"]].call(c["attend_function"], [q, k, v, idx], [out])
        return out

    def scale(self, c):
        art = self.arts.get(c["attend_function"])
        if art is not None:
            try:
                ks = art.signature(c["attend_function"]).kernels
                if ks and ks[0].get("scale") is not None:
                    return float(ks[0]["scale"])
            except Exception:  # noqa: BLE001
                pass
        return 1.0 / math.sqrt(c["head_dim"])

    # -- checks ----------------------------------------------------------------------

    def reference_select(self, c, q, k):
        return selection.select_blocks(q, k, c["query_block"], c["key_block"], c["top_k"],
                                       c["keep_sink"], c["keep_local"], c["causal"])

    def check_select(self, c, q, k, kind, ref=None, got=None, exact=False):
        """attn's select on (q, k) against the reference; appends a check
        row; returns (attn's indices or None, the reference's dict). exact:
        every row must be equal (inputs whose ties are exact in any
        implementation that pools equal blocks equally)."""
        B, Sq, Skv = q.shape[0], q.shape[2], k.shape[2]
        row = dict(case=c["name"], function=c["select_function"], kind=kind, B=B, Sq=Sq,
                   Skv=Skv)
        if ref is None:
            ref = self.reference_select(c, q, k)
        if c["select_function"] not in self.arts:
            return None, ref
        try:
            if got is None:
                got = self.call_select(c, q, k)
                self.torch.cuda.synchronize()
            row.update(selection.compare(got, ref, -1.0 if exact else self.args.gap_tol))
        except Exception as e:  # noqa: BLE001
            got = None
            row.update(result="fail", error="%s: %s" % (type(e).__name__, e))
            traceback.print_exc()
        self.checks.append(row)
        print("check %-22s %-12s B=%d %5d x %-5d %s%s" % (
            c["name"], kind, B, Sq, Skv, row["result"],
            "  exact rows %s/%s, mismatches %s, near-tie swaps %s (bad %s), min gap relied %s" % (
                row.get("rows_strict"), row.get("rows"), row.get("strict_mismatches"),
                row.get("near_tie_swaps"), row.get("near_tie_bad"),
                fmt(row.get("min_rel_gap_relied"), 5)) if "rows" in row
            else " " + row.get("error", "")[:200]), flush=True)
        return got, ref

    def compare_out(self, out, ref):
        torch = self.torch
        o = out.float()
        finite = torch.isfinite(o)
        diff = torch.where(finite, (o - ref).abs(), torch.zeros_like(o))
        res = dict(max_abs_err=float(diff.max()) if diff.numel() else 0.0,
                   mean_abs_err=float(diff.mean()) if diff.numel() else 0.0,
                   nonfinite=int((~finite).sum()))
        ok = (res["nonfinite"] == 0 and res["max_abs_err"] <= MAX_ABS_TOL
              and res["mean_abs_err"] <= MEAN_ABS_TOL)
        res["result"] = "pass" if ok else "fail"
        return res

    def check_attend(self, c, q, k, v, idx, kind, out=None, who="attn"):
        """attn's attend (or `out`, e.g. Flex's) on idx against the float32
        reference, on every row when small, else sampled rows."""
        torch = self.torch
        B, Hq, Sq, D = q.shape
        Skv = k.shape[2]
        fn = c["attend_function"]
        row = dict(case=c["name"], function=fn if who == "attn" else who, kind=kind, B=B,
                   Sq=Sq, Skv=Skv)
        if who == "attn" and fn not in self.arts:
            return None
        try:
            if out is None:
                out = self.call_attend(c, q, k, v, idx)
                torch.cuda.synchronize()
            rows = None if B * Hq * Sq * Skv <= FULL_REF_LIMIT else sample_rows(Sq)
            row["rows"] = Sq if rows is None else len(rows)
            res = []
            for b in range(B):
                ref = selection.attend_reference(
                    q[b:b + 1].float(), k[b:b + 1].float(), v[b:b + 1].float(), idx[b:b + 1],
                    c["query_block"], c["key_block"], c["causal"], self.scale(c), rows=rows)
                o = out[b:b + 1] if rows is None else out[b:b + 1][:, :, torch.as_tensor(
                    rows, device=out.device)]
                res.append(self.compare_out(o, ref))
                del ref
            bad = [r for r in res if r["result"] != "pass"]
            row.update(bad[0] if bad else max(res, key=lambda r: r["max_abs_err"]))
        except Exception as e:  # noqa: BLE001
            row.update(result="fail", error="%s: %s" % (type(e).__name__, e))
            traceback.print_exc()
        self.checks.append(row)
        print("check %-22s %-12s B=%d %5d x %-5d %s%s" % (
            c["name"], kind, B, Sq, Skv, row["result"],
            "  max %.2e mean %.2e%s" % (row["max_abs_err"], row["mean_abs_err"],
                                         " nonfinite %d" % row["nonfinite"]
                                         if row["nonfinite"] else "")
            if "max_abs_err" in row else " " + row.get("error", "")[:200]), flush=True)
        return out

    def messy(self, idx, nkb, gen):
        """The same blocks as idx, listed in a shuffled order with a
        duplicate, -1 and out-of-range entries where slots allow (-1 slots
        of idx become duplicates or bad entries; nothing is dropped)."""
        torch = self.torch
        perm = torch.argsort(torch.rand(idx.shape, generator=gen, device=idx.device), dim=-1)
        m = torch.gather(idx, -1, perm)
        first = m.max(dim=-1, keepdim=True).values.expand_as(m)   # a listed block (or -1)
        junk = torch.randint(0, 3, m.shape, generator=gen, device=idx.device)
        filler = torch.where(junk == 0, first, torch.where(
            junk == 1, torch.full_like(m, nkb + 3), torch.full_like(m, -5)))
        return torch.where(m < 0, filler, m).to(torch.int32).contiguous()

    def check_small(self):
        torch = self.torch
        dev = "cuda"
        for c in self.cases:
            have_sel = c["select_function"] in self.arts
            have_att = c["attend_function"] in self.arts
            if not (have_sel or have_att):
                continue
            hq, hkv, d = c["query_heads"], c["key_heads"], c["head_dim"]
            L = 3 * c["top_k"] * c["key_block"] + 37
            for (B, Sq, Skv) in CHECK_SHAPES + [(1, L, L)]:
                gen = torch.Generator(device=dev).manual_seed(1000 * B + Sq + 7 * Skv + c["top_k"])
                q = torch.randn(B, hq, Sq, d, device=dev, generator=gen).to(torch.bfloat16)
                k = torch.randn(B, hkv, Skv, d, device=dev, generator=gen).to(torch.bfloat16)
                v = torch.randn(B, hkv, Skv, d, device=dev, generator=gen).to(torch.bfloat16)
                try:
                    _, ref = self.check_select(c, q, k, "select")
                except Exception as e:  # noqa: BLE001 - the reference itself failed
                    self.checks.append(dict(case=c["name"], function=c["select_function"],
                                            kind="select", B=B, Sq=Sq, Skv=Skv, result="fail",
                                            error="reference: %r" % e))
                    traceback.print_exc()
                    continue
                if have_att:
                    idx = torch.as_tensor(ref["indices"], dtype=torch.int32, device=dev)
                    self.check_attend(c, q, k, v, idx, "attend")
                    nkb = selection.ceil_div(Skv, c["key_block"])
                    self.check_attend(c, q, k, v, self.messy(idx, nkb, gen), "attend-messy")
                del q, k, v
            if have_sel:
                # NaN scores (a NaN key block) and exact ties (repeated key blocks).
                B, S = 1, 3 * c["top_k"] * c["key_block"]
                gen = torch.Generator(device=dev).manual_seed(99 + c["top_k"])
                q = torch.randn(B, hq, S, d, device=dev, generator=gen).to(torch.bfloat16)
                k = torch.randn(B, hkv, S, d, device=dev, generator=gen).to(torch.bfloat16)
                kn = k.clone()
                kb = c["key_block"]
                kn[:, 0, 5 * kb:6 * kb] = float("nan")
                kn[:, 1, 2 * kb + 3] = float("nan")
                self.check_select(c, q, kn, "select-nan")
                kt = k[:, :, :kb].repeat(1, 1, S // kb, 1).contiguous()
                self.check_select(c, q, kt, "select-ties", exact=True)

    # -- benchmark ---------------------------------------------------------------------

    def over_budget(self):
        return time.time() - self.t0 > self.args.budget_s

    def flex_block_mask(self, idx, S_q, S_kv, qb, kb, causal, G, mode="exact"):
        """A BlockMask of the blocks of idx [B, Hkv, nqb, K] for the
        Hq = G * Hkv query heads.

        mode "exact": BLOCK_SIZE (qb, kb), exactly the listed blocks: full
        blocks need no mask_mod; with causal, blocks reaching past the query
        block's first position are partial (causal mask_mod).
        mode "lookup": (fallback when Flex refuses 64-row query blocks)
        BLOCK_SIZE (2 qb, kb), the union of two query blocks' lists as
        partial blocks and a mask_mod that looks the (row, key) block up in
        the indices: the same attention, more blocks visited."""
        torch = self.torch
        from torch.nn.attention.flex_attention import BlockMask
        B, Hkv, nqb, K = idx.shape
        nkb = selection.ceil_div(S_kv, kb)
        kwargs = dict(seq_lengths=(S_q, S_kv))
        if self.flex_compute_q:
            kwargs["compute_q_blocks"] = False
        if mode == "lookup":
            blk = selection.block_mask(idx, nkb)                     # [B, Hkv, nqb, nkb]
            if nqb % 2:
                blk2 = torch.cat([blk, torch.zeros_like(blk[:, :, :1])], dim=2)
            else:
                blk2 = blk
            u = blk2.reshape(B, Hkv, -1, 2, nkb).any(dim=3).repeat_interleave(G, dim=1)
            num = u.sum(dim=-1).to(torch.int32).contiguous()
            ind = torch.argsort(u.to(torch.int32), dim=-1, descending=True,
                                stable=True).to(torch.int32).contiguous()
            table = blk.contiguous()
            off = S_kv - S_q

            def lookup_mod(b, h, q_idx, kv_idx):
                ok = table[b, h // G, q_idx // qb, kv_idx // kb]
                if causal:
                    ok = ok & (q_idx + off >= kv_idx)
                return ok
            return BlockMask.from_kv_blocks(num, ind, BLOCK_SIZE=(2 * qb, kb),
                                            mask_mod=lookup_mod, **kwargs)
        j = idx.to(torch.int64)
        valid = (j >= 0) & (j < nkb)
        j = j.clamp(0, nkb - 1)
        if causal:
            first_pos = torch.arange(nqb, device=idx.device)[:, None] * qb + (S_kv - S_q)
            full = valid & (j * kb + kb - 1 <= first_pos)
            partial = valid & ~full
        else:
            full, partial = valid, torch.zeros_like(valid)

        def pack(sel):
            key = torch.where(sel, j, torch.full_like(j, nkb)).sort(dim=-1).values
            key = torch.where(key == nkb, torch.zeros_like(key), key)
            if nkb > K:
                key = torch.cat([key, key.new_zeros(key.shape[:-1] + (nkb - K,))], dim=-1)
            num = sel.sum(dim=-1)
            return (num.to(torch.int32).repeat_interleave(G, dim=1).contiguous(),
                    key[..., :nkb].to(torch.int32).repeat_interleave(G, dim=1).contiguous())

        kv_num, kv_ind = pack(partial)
        full_num, full_ind = pack(full)
        return BlockMask.from_kv_blocks(kv_num, kv_ind, full_num, full_ind,
                                        BLOCK_SIZE=(qb, kb),
                                        mask_mod=causal_mask_mod if causal else None, **kwargs)

    def bench(self):
        torch = self.torch
        import torch.nn.functional as F
        from torch.nn.attention import sdpa_kernel, SDPBackend
        try:
            import triton.testing
            do_bench = lambda fn: triton.testing.do_bench(fn, warmup=25, rep=100)  # noqa: E731
            self.timer = "triton.testing.do_bench(warmup=25, rep=100), mean"
        except Exception:  # noqa: BLE001
            do_bench = event_bench(torch)
            self.timer = "CUDA events (no triton), mean of the timed calls"
        flex = None
        self.flex_compute_q = False
        if not self.args.no_flex:
            try:
                from torch.nn.attention.flex_attention import flex_attention, BlockMask
                torch._dynamo.config.recompile_limit = 1000
                torch._dynamo.config.cache_size_limit = 1000
                flex = torch.compile(flex_attention, dynamic=False)
                self.flex_compute_q = ("compute_q_blocks"
                                       in inspect.signature(BlockMask.from_kv_blocks).parameters)
                if self.flex_compute_q:
                    self.notes.append("Flex block masks: BlockMask.from_kv_blocks(..., "
                                      "compute_q_blocks=False) (forward only, the cheapest build)")
            except Exception as e:  # noqa: BLE001
                self.notes.append("FlexAttention unavailable: %r" % e)

        def timed(fn):
            fn()
            torch.cuda.synchronize()
            return float(do_bench(fn))

        def wall_ms(fn, n=10):
            fn()
            torch.cuda.synchronize()
            total = 0.0
            for _ in range(n):
                torch.cuda.synchronize()
                t = time.perf_counter()
                fn()
                torch.cuda.synchronize()
                total += time.perf_counter() - t
            return 1000.0 * total / n

        dev = "cuda"
        seqs = sorted({c["S"] for c in self.cases})
        if self.args.seqs:
            seqs = [s for s in seqs if s in self.args.seqs]
        for S in seqs:
            cases = [c for c in self.cases if c["S"] == S]
            # qb = 64 first, causal first: the acceptance rows before the variants.
            cases.sort(key=lambda c: (c["query_block"], -c["density"], not c["causal"]))
            B, hq, hkv, D = 1, cases[0]["query_heads"], cases[0]["key_heads"], cases[0]["head_dim"]
            G = hq // hkv
            print("== bench B=%d Hq=%d Hkv=%d S=%d D=%d (%.0fs elapsed)"
                  % (B, hq, hkv, S, D, time.time() - self.t0), flush=True)
            gen = torch.Generator(device=dev).manual_seed(S)
            q = torch.randn(B, hq, S, D, device=dev, generator=gen).to(torch.bfloat16)
            k = torch.randn(B, hkv, S, D, device=dev, generator=gen).to(torch.bfloat16)
            v = torch.randn(B, hkv, S, D, device=dev, generator=gen).to(torch.bfloat16)
            kr = k.repeat_interleave(G, dim=1)
            vr = v.repeat_interleave(G, dim=1)
            o = torch.empty_like(q)
            dense_pairs = {False: float(S) * S * hq * B, True: S * (S + 1) / 2.0 * hq * B}
            sdpa = {}
            for backend, label in ((SDPBackend.FLASH_ATTENTION, "sdpa_flash"),
                                   (SDPBackend.CUDNN_ATTENTION, "sdpa_cudnn")):
                for causal in (True, False):
                    try:
                        with sdpa_kernel(backend):
                            fn = lambda: F.scaled_dot_product_attention(q, kr, vr, is_causal=causal)  # noqa: E731,E501
                            ms = timed(fn)
                        sdpa[(label, causal)] = dict(
                            ms=ms, tflops=4.0 * D * dense_pairs[causal] / ms / 1e9)
                    except Exception as e:  # noqa: BLE001
                        sdpa[(label, causal)] = dict(skipped=repr(e)[:200])
                    print("     %s causal=%s %s" % (label, causal, json.dumps(sdpa[(label, causal)])),
                          flush=True)
            pooled = {}
            for c in cases:
                row = self.bench_case(c, q, k, v, o, sdpa, pooled, flex, timed, wall_ms)
                self.perf.append(row)
                print("perf %s" % json.dumps(row), flush=True)
                if self.progress:
                    self.progress()
            q = k = v = kr = vr = o = pooled = None
            torch.cuda.empty_cache()

    def bench_case(self, c, q, k, v, o, sdpa, pooled, flex, timed, wall_ms):
        torch = self.torch
        B, hq, S, D = q.shape
        G = hq // c["key_heads"]
        qb, kb, causal = c["query_block"], c["key_block"], c["causal"]
        row = dict(case=c["name"], S=S, B=B, Hq=hq, Hkv=c["key_heads"], D=D, top_k=c["top_k"],
                   density=c["density"], density_label=c["density_label"], query_block=qb,
                   key_block=kb, causal=causal, peers={})
        # The reference selection at this shape (pooling on the GPU in float64).
        ref = None
        try:
            if qb not in pooled:
                pooled[qb] = selection.pool(q, k, qb, kb)
            pq, pk = pooled[qb]
            ref = selection.select(pq, pk, S, S, qb, kb, c["top_k"], c["keep_sink"],
                                   c["keep_local"], causal)
        except Exception as e:  # noqa: BLE001
            row["reference_error"] = repr(e)
            traceback.print_exc()
        # attn select
        idx = None
        if c["select_function"] in self.arts:
            try:
                idx = self.call_select(c, q, k)
                row["select_ms"] = timed(lambda: self.call_select(c, q, k, idx))
                torch.cuda.synchronize()
                if ref is not None:
                    self.check_select(c, q, k, "bench-select", ref=ref, got=idx)
                row["indices_from"] = "attn select_blocks"
            except Exception as e:  # noqa: BLE001
                idx = None
                row["select_error"] = "%s: %s" % (type(e).__name__, e)
                self.checks.append(dict(case=c["name"], function=c["select_function"],
                                        kind="bench-run", B=B, Sq=S, Skv=S, result="fail",
                                        error=row["select_error"]))
                traceback.print_exc()
        else:
            row["select_error"] = "not compiled"
        if idx is None and ref is not None:
            idx = torch.as_tensor(ref["indices"], dtype=torch.int32, device=q.device)
            row["indices_from"] = "reference (attn's select did not run)"
        if idx is None:
            row["attend_error"] = "no indices"
            return row
        nkb, nqb = selection.ceil_div(S, kb), selection.ceil_div(S, qb)
        blocks, pairs = selection.visited_work(idx, S, S, qb, kb, causal, G)
        row["visited_block_pairs"] = blocks
        row["visible_pairs"] = pairs
        row["visited_fraction"] = blocks / (B * hq * nqb * nkb)
        row["visible_fraction"] = pairs / (float(S) * S * hq * B)
        # attn attend
        if c["attend_function"] in self.arts:
            try:
                self.call_attend(c, q, k, v, idx, o)
                row["attend_ms"] = timed(lambda: self.call_attend(c, q, k, v, idx, o))
                torch.cuda.synchronize()
                self.check_attend_sampled(c, q, k, v, idx, o, "bench-attend", "attn")
            except Exception as e:  # noqa: BLE001
                row["attend_error"] = "%s: %s" % (type(e).__name__, e)
                self.checks.append(dict(case=c["name"], function=c["attend_function"],
                                        kind="bench-run", B=B, Sq=S, Skv=S, result="fail",
                                        error=row["attend_error"]))
                traceback.print_exc()
        else:
            row["attend_error"] = "not compiled"
        if "attend_ms" in row:
            row["attend_tflops"] = 4.0 * D * pairs / row["attend_ms"] / 1e9
            row["attend_tile_tflops"] = 4.0 * qb * kb * D * blocks / row["attend_ms"] / 1e9
        if "attend_ms" in row and "select_ms" in row:
            row["total_ms"] = row["select_ms"] + row["attend_ms"]
            row["total_tflops"] = 4.0 * D * pairs / row["total_ms"] / 1e9
        # SDPA (shared per S and causal flag)
        for label in ("sdpa_flash", "sdpa_cudnn"):
            p = dict(sdpa.get((label, causal), {}))
            if "ms" in p and "total_ms" in row:
                p["speedup"] = p["ms"] / row["total_ms"]      # > 1: attn faster
            row["peers"][label] = p
        # Flex
        if flex is None:
            row["peers"]["flex"] = dict(skipped="FlexAttention unavailable or --no-flex")
        elif self.over_budget():
            row["peers"]["flex"] = dict(skipped="time budget (%ss) spent" % self.args.budget_s)
        else:
            row["peers"]["flex"] = self.bench_flex(c, q, k, v, idx, o, row, flex, timed, wall_ms)
        # Acceptance lines: against dense SDPA flash, so on the non-causal
        # cases (a causal case's SDPA peer is causal flash, half the work:
        # reported in the performance table, not judged here).
        if (S == ACCEPT_S and abs(c["density"] - ACCEPT_DENSITY) < 1e-12
                and not c["causal"]):
            fl = row["peers"]["sdpa_flash"].get("speedup")
            fx = row["peers"]["flex"].get("speedup_incl_mask")
            row["acceptance"] = dict(
                flash=dict(need=">= %g" % ACCEPT_FLASH, got=fl,
                           result="pass" if fl is not None and fl >= ACCEPT_FLASH else "fail"),
                flex=dict(need="> 1", got=fx,
                          result="pass" if fx is not None and fx > 1.0 else "fail"))
        return row

    def check_attend_sampled(self, c, q, k, v, idx, out, kind, who):
        """Sampled rows of a benchmark-shape output against the reference."""
        torch = self.torch
        B, hq, S, D = q.shape
        rows = sample_rows(S)
        row = dict(case=c["name"], function=c["attend_function"] if who == "attn" else who,
                   kind=kind, B=B, Sq=S, Skv=k.shape[2], rows=len(rows))
        try:
            ref = selection.attend_reference(q.float(), k.float(), v.float(), idx,
                                             c["query_block"], c["key_block"], c["causal"],
                                             self.scale(c), rows=rows)
            row.update(self.compare_out(out[:, :, torch.as_tensor(rows, device=out.device)], ref))
            del ref
        except Exception as e:  # noqa: BLE001
            row.update(result="fail", error="%s: %s" % (type(e).__name__, e))
            traceback.print_exc()
        self.checks.append(row)
        print("check %-22s %-12s S=%d (%s, %d rows) %s%s" % (
            c["name"], kind, S, who, len(rows), row["result"],
            "  max %.2e mean %.2e" % (row["max_abs_err"], row["mean_abs_err"])
            if "max_abs_err" in row else " " + row.get("error", "")[:200]), flush=True)
        return row

    def bench_flex(self, c, q, k, v, idx, o, row, flex, timed, wall_ms):
        torch = self.torch
        B, hq, S, D = q.shape
        G = hq // c["key_heads"]
        qb, kb, causal = c["query_block"], c["key_block"], c["causal"]
        res = {}
        try:
            out, errors = None, []
            # Exactly attn's blocks first; then (64-row query blocks refused)
            # 128-row blocks with a lookup mask_mod. Flex's kernel tile must
            # divide the mask's blocks: BLOCK_M = query block, BLOCK_N = 64.
            attempts = [("exact", {"BLOCK_M": min(qb, 128), "BLOCK_N": kb}), ("exact", None)]
            if qb < 128:
                attempts.append(("lookup", {"BLOCK_M": 2 * qb, "BLOCK_N": kb}))
                attempts.append(("lookup", None))
            for mode, opts in attempts:
                try:
                    build = lambda: self.flex_block_mask(idx, S, S, qb, kb, causal, G, mode)  # noqa: E731,E501
                    t = time.time()
                    bm = build()
                    torch.cuda.synchronize()
                    first_mask_s = round(time.time() - t, 3)
                    kwargs = dict(block_mask=bm, enable_gqa=True)
                    if opts:
                        kwargs["kernel_options"] = opts
                    t = time.time()
                    out = flex(q, k, v, **kwargs)
                    torch.cuda.synchronize()
                    res.update(mode=mode, kernel_options=opts, first_mask_s=first_mask_s,
                               first_call_s=round(time.time() - t, 2))
                    break
                except Exception as e:  # noqa: BLE001
                    errors.append("%s %s: %s: %s" % (mode, opts, type(e).__name__, str(e)[:200]))
                    out = None
            if errors:
                res["errors"] = errors
            if out is None:
                raise RuntimeError("; ".join(errors))
            res["mask_ms"] = wall_ms(build)
            if res["mode"] == "exact":
                # Flex visits exactly attn's blocks: its block mask against idx.
                res["block_mask_equal"] = self.same_blocks(bm, idx, S, qb, kb, G, c["name"])
            else:
                self.notes.append("%s: Flex refused %d-row query blocks; it ran 128-row blocks "
                                  "(the union of two query blocks' lists) with a mask_mod "
                                  "looking the blocks up in the indices" % (c["name"], qb))
            res["ms"] = timed(lambda: flex(q, k, v, **kwargs))
            res["tflops"] = 4.0 * D * row["visible_pairs"] / res["ms"] / 1e9
            res["ms_incl_mask"] = res["ms"] + res["mask_ms"]
            if "total_ms" in row:
                res["speedup"] = res["ms"] / row["total_ms"]
                res["speedup_incl_mask"] = res["ms_incl_mask"] / row["total_ms"]
            if "attend_ms" in row:
                res["max_abs_diff_vs_attn"] = float((o.float() - out.float()).abs().max())
            chk = self.check_attend_sampled(c, q, k, v, idx, out, "bench-flex", "flex")
            res["sample_check"] = chk["result"]
            del out
        except Exception as e:  # noqa: BLE001
            res["skipped"] = "%s: %s" % (type(e).__name__, str(e)[:300])
            traceback.print_exc()
        return res

    def same_blocks(self, bm, idx, S, qb, kb, G, name):
        """Whether the block mask lists exactly the blocks of idx (partial
        and full together); a difference is a failed check."""
        torch = self.torch
        try:
            nkb = selection.ceil_div(S, kb)
            want = selection.block_mask(idx, nkb).repeat_interleave(G, dim=1)
            got = torch.zeros_like(want)
            ar = torch.arange(nkb, device=idx.device)
            for num, ind in ((bm.kv_num_blocks, bm.kv_indices),
                             (bm.full_kv_num_blocks, bm.full_kv_indices)):
                if num is None:
                    continue
                listed = ar[None, None, None, :] < num[..., None]
                sel = torch.zeros(want.shape[:-1] + (nkb + 1,), dtype=torch.bool,
                                  device=idx.device)
                sel.scatter_(-1, torch.where(listed, ind[..., :nkb].long(),
                                             torch.full_like(ind[..., :nkb].long(), nkb)), True)
                got |= sel[..., :nkb]
            equal = bool(torch.equal(got, want))
        except Exception as e:  # noqa: BLE001
            self.notes.append("Flex block mask not compared with attn's indices at S=%d: %r"
                              % (S, e))
            return None
        if not equal:
            self.checks.append(dict(case=name, function="flex", kind="flex-blocks", B=1, Sq=S,
                                    Skv=S, result="fail",
                                    error="Flex's block mask differs from attn's indices in %d "
                                          "of %d blocks" % (int((got != want).sum()), want.numel())))
        return equal


# -- reports ---------------------------------------------------------------------------

def ms_cell(ms, tflops=None):
    if ms is None:
        return "—"
    return "%.3f ms%s" % (ms, ", %.0f TF/s" % tflops if tflops is not None else "")


def check_cell(r):
    if r is None:
        return "—"
    if "error" in r:
        return "**FAIL** " + r["error"].replace("|", "/").replace("\n", " ")[:80]
    if "rows" in r and "strict_mismatches" in r:
        cell = "%d/%d exact, %d mism., %d swaps" % (r["rows_strict"], r["rows"],
                                                     r["strict_mismatches"], r["near_tie_swaps"])
        if r["near_tie_bad"]:
            cell += ", %d bad" % r["near_tie_bad"]
        cell += ", gap %s" % fmt(r.get("min_rel_gap_relied"), 4)
    else:
        cell = "%.1e / %.1e" % (r.get("max_abs_err", float("nan")),
                                r.get("mean_abs_err", float("nan")))
        if r.get("nonfinite"):
            cell += ", %d NaN" % r["nonfinite"]
    return cell if r["result"] == "pass" else "**FAIL** " + cell


def write_reports(run, report, out):
    with open(os.path.join(out, "selected_bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    L = []
    L.append("# Sparse projection (issue 8): select_blocks + selected attention (%s)\n"
             % report["date"])
    L.append("Device: %s; torch %s, triton %s; artifacts: `attn-compile --target=sm_90`, one per "
             "function (%s). bf16, Hq = 16, Hkv = 2 (one selection per group of 8 query heads), "
             "D = 128, key blocks of 64, keep_sink = 1, keep_local = 2. Run took %.0f s.\n"
             % (report["device"], report["torch"], report["triton"],
                report.get("compiler") or "compiler unknown", report["seconds"]))
    # Acceptance
    L.append("## Acceptance (issue 8)\n")
    acc = [r for r in report["perf"] if "acceptance" in r]
    if not acc:
        L.append("Not measured (no S = %d, density 1/8 row).\n" % ACCEPT_S)
    else:
        L.append("| case | (select + attend) | SDPA flash (dense) | flash / attn (need ≥ %g) | "
                 "Flex mask + attn | Flex / attn (need > 1) |" % ACCEPT_FLASH)
        L.append("|---|---|---|---|---|---|")
        for r in acc:
            a = r["acceptance"]
            fl, fx = r["peers"].get("sdpa_flash", {}), r["peers"].get("flex", {})
            L.append("| %s | %s | %s | %s **%s** | %s | %s **%s** |" % (
                r["case"], ms_cell(r.get("total_ms")), ms_cell(fl.get("ms")),
                fmt(a["flash"]["got"], 2), a["flash"]["result"].upper(),
                ms_cell(fx.get("ms_incl_mask")), fmt(a["flex"]["got"], 2),
                a["flex"]["result"].upper()))
        L.append("")
    L.append("Numerics and exact selection: **%s** (%d checks passed, %d failed).\n" % (
        "PASS" if report["checks_passed"] else "FAIL",
        sum(c["result"] == "pass" for c in report["checks"]),
        sum(c["result"] != "pass" for c in report["checks"])))
    # Correctness
    L.append("## Correctness\n")
    L.append("select: attn's indices against a float64 reference of docs/sparse-projection.md "
             "section 1 (bench/gpu/selection.py); rows whose top-k boundary gap exceeds %g of "
             "the row's sum|pq||pk| must be equal (\"exact\"), near-tie rows may only swap "
             "blocks within that tolerance (\"swaps\"); \"gap\": the smallest relative gap relied "
             "on. `select-nan`: a NaN key block (NaN scores go last); `select-ties`: every key "
             "block equal (ties to the lower index). attend: bf16 output against float32 "
             "masked dense attention (max / mean |err|, pass ≤ %g / %g) with the reference's "
             "indices, and with the same blocks listed shuffled with duplicates, -1 and "
             "out-of-range entries (`messy`). `bench`: at the benchmark shape (sampled rows "
             "for attend and Flex).\n" % (report["gap_tol"], MAX_ABS_TOL, MEAN_ABS_TOL))
    kinds = ["select", "attend", "attend-messy"]
    by_case = {}
    for ch in report["checks"]:
        by_case.setdefault(ch["case"], []).append(ch)
    L.append("| case | function / kind | " + " | ".join(
        "%d×%d×%d" % s for s in CHECK_SHAPES) + " | 3K blocks + 37 | other | result |")
    L.append("|---|---|" + "---|" * len(CHECK_SHAPES) + "---|---|---|")
    for c in run.cases:
        rows = by_case.get(c["name"], [])
        for fn_kind in kinds:
            fn = c["select_function"] if fn_kind == "select" else c["attend_function"]
            comp = [r for r in rows if r["kind"] == "compile" and r["function"] == fn]
            if comp:
                if fn_kind == "attend-messy":
                    continue
                msg = comp[0]["error"].splitlines()
                msg = next((m for m in msg if "error" in m), msg[0] if msg else "")
                L.append("| %s | %s | " % (c["name"], fn_kind) + " | ".join(
                    "—" for _ in CHECK_SHAPES) + " | — | — | **FAIL: did not compile** (%s) |"
                    % msg.replace("|", "/").strip()[:140])
                continue
            mine = [r for r in rows if r["kind"] == fn_kind]
            cells = []
            for s in CHECK_SHAPES:
                r = next((r for r in mine if (r["B"], r["Sq"], r["Skv"]) == s), None)
                cells.append(check_cell(r))
            big = [r for r in mine if (r["B"], r["Sq"], r["Skv"]) not in CHECK_SHAPES]
            other = [r for r in rows if r["kind"].startswith(fn_kind + "-") and fn_kind == "select"
                     or (r["kind"] == "bench-" + fn_kind.split("-")[0] and fn_kind != "attend-messy")
                     or (fn_kind == "attend" and r["kind"] == "bench-flex")]
            other_cell = "; ".join("%s: %s" % (r["kind"], check_cell(r)) for r in other) or "—"
            allr = mine + other
            ok = bool(allr) and all(r["result"] == "pass" for r in allr)
            L.append("| %s | %s | %s | %s | %s | %s |" % (
                c["name"], fn_kind, " | ".join(cells), check_cell(big[0]) if big else "—",
                other_cell, "pass" if ok else ("—" if not allr else "**FAIL**")))
    fails = [ch for ch in report["checks"] if ch["result"] != "pass"]
    if fails:
        L.append("\nFailures:\n")
        for ch in fails:
            what = ch.get("error") or ch.get("first_mismatch") or (
                "max %s mean %s nonfinite %s" % (fmt(ch.get("max_abs_err")),
                                                 fmt(ch.get("mean_abs_err")), ch.get("nonfinite")))
            L.append("- %s %s (%s B=%s Sq=%s Skv=%s): %s" % (
                ch["case"], ch.get("function"), ch["kind"], ch.get("B"), ch.get("Sq"),
                ch.get("Skv"), str(what).replace("\n", " ")[:400]))
    # Performance
    if report["perf"]:
        L.append("\n## Performance (%s, %s)\n" % (report["date"][:10], report["device"]))
        L.append("B = 1, Sq = Skv = S. Timer: %s. TF/s over visible (row, key) pairs: 4·D·pairs / "
                 "time (causal diagonals and dense causal S(S+1)/2 counted exactly); attn "
                 "attend also over visited tiles (4·qb·64·D·block pairs). visited = fraction of "
                 "(qb × 64) block pairs of all heads that attend walks; visible = fraction of "
                 "the S² (row, key) pairs. SDPA: dense with the case's causal flag (K/V repeated "
                 "to 16 heads outside the timing). Flex: the same blocks as a BlockMask "
                 "(from_kv_blocks, BLOCK_SIZE (qb, 64)); \"mask\": building it from the indices, "
                 "per input. Speedups: peer time / attn (select + attend); > 1: attn faster.\n"
                 % report.get("timer"))
        L.append("| case | S | density | qb | causal | visited / visible | attn select | "
                 "attn attend | attn total | SDPA flash | ×flash | SDPA cuDNN | ×cuDNN | "
                 "Flex mask | Flex attn | ×Flex (incl. mask) | Flex diff vs attn |")
        L.append("|---|---:|---|---:|---|---|---|---|---|---|---:|---|---:|---|---|---:|---:|")
        for r in report["perf"]:
            fl, cu, fx = (r["peers"].get(x, {}) for x in ("sdpa_flash", "sdpa_cudnn", "flex"))
            sel = ms_cell(r.get("select_ms")) if "select_ms" in r else \
                "FAIL: " + str(r.get("select_error", "?")).replace("|", "/")[:60]
            att = (ms_cell(r.get("attend_ms"), r.get("attend_tflops"))
                   + (" (%.0f tile TF/s)" % r["attend_tile_tflops"]
                      if "attend_tile_tflops" in r else "")) if "attend_ms" in r else \
                "FAIL: " + str(r.get("attend_error", "?")).replace("|", "/")[:60]
            if r.get("indices_from", "").startswith("reference"):
                att += " (reference indices)"
            flex_attn = ms_cell(fx.get("ms"), fx.get("tflops")) if "ms" in fx else \
                ("skipped: " + str(fx.get("skipped", "?")).replace("|", "/")[:80])
            L.append("| %s | %d | %s | %d | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s "
                     "| %s | %s | %s |" % (
                         r["case"], r["S"], r["density_label"], r["query_block"],
                         "yes" if r["causal"] else "no", fmt(r.get("visited_fraction"), 4),
                         fmt(r.get("visible_fraction"), 4), sel, att,
                         ms_cell(r.get("total_ms"), r.get("total_tflops")),
                         ms_cell(fl.get("ms"), fl.get("tflops")) if "ms" in fl else "—",
                         fmt(fl.get("speedup"), 2),
                         ms_cell(cu.get("ms"), cu.get("tflops")) if "ms" in cu else "—",
                         fmt(cu.get("speedup"), 2),
                         ms_cell(fx.get("mask_ms")) if "mask_ms" in fx else "—", flex_attn,
                         "%s (%s)" % (fmt(fx.get("speedup"), 2), fmt(fx.get("speedup_incl_mask"), 2)),
                         fmt(fx.get("max_abs_diff_vs_attn"), 4)))
    if report["notes"]:
        L.append("\nNotes:\n")
        for n in report["notes"]:
            L.append("- " + n)
    text = "\n".join(L) + "\n"
    with open(os.path.join(out, "selected_bench.md"), "w") as f:
        f.write(text)
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifacts", default=os.path.join(ROOT, "build", "device", "gpu-selected"),
                    help="one artifact directory per function (scripts/prepare-device.sh)")
    ap.add_argument("--cases", default=os.path.join(HERE, "cases_selected", "cases.json"))
    ap.add_argument("--out", default=os.environ.get("OUT") or "/tmp/attn-selected-bench")
    ap.add_argument("--no-bench", action="store_true", help="correctness at small shapes only")
    ap.add_argument("--no-check", action="store_true",
                    help="skip the small-shape checks (the benchmark still checks its outputs)")
    ap.add_argument("--no-flex", action="store_true", help="no FlexAttention")
    ap.add_argument("--budget-s", type=float, default=240.0,
                    help="after this many seconds, FlexAttention runs are skipped (default 240)")
    ap.add_argument("--gap-tol", type=float, default=1e-3,
                    help="relative score gap above which selection rows must match exactly")
    ap.add_argument("--seqs", type=int, action="append", default=[],
                    help="benchmark only this S (repeatable; default 16384 and 65536)")
    ap.add_argument("--only", action="append", default=[],
                    help="only cases whose name contains this (repeatable)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch = import_cuda_torch("selected.py")
    if torch is None:
        return 2
    run = Run(args, torch)
    device_name, triton_version = environment(torch)
    state = {"stage": "starting"}

    def finish(final):
        failed = [c for c in run.checks if c["result"] != "pass"]
        notes = list(run.notes)
        if not final:
            notes.append("PARTIAL report: the run stopped during %s" % state["stage"])
        acc = [r["acceptance"] for r in run.perf if "acceptance" in r]
        acceptance_met = bool(acc) and all(a["flash"]["result"] == "pass"
                                           and a["flex"]["result"] == "pass" for a in acc)
        report = dict(date=now_iso(), device=device_name, torch=torch.__version__,
                      triton=triton_version, compiler=run.compiler, timer=run.timer,
                      seconds=round(time.time() - run.t0, 1), complete=final,
                      gap_tol=args.gap_tol,
                      tolerance=dict(max_abs_err=MAX_ABS_TOL, mean_abs_err=MEAN_ABS_TOL),
                      check_shapes=CHECK_SHAPES, cases=run.cases, checks=run.checks,
                      perf=run.perf, notes=notes, checks_passed=not failed,
                      acceptance_met=acceptance_met)
        write_reports(run, report, args.out)
        if not final:
            return 124
        if failed:
            return 3 if all(c.get("compile_failure") for c in failed) else 1
        return 0 if (acceptance_met or args.no_bench) else 4

    def on_term(signum, frame):
        raise SystemExit(124)

    signal.signal(signal.SIGTERM, on_term)
    run.progress = lambda: finish(False)
    final = False
    rc = 1
    try:
        state["stage"] = "loading the artifacts"
        run.load()
        if not args.no_check:
            state["stage"] = "the correctness checks"
            run.check_small()
            finish(False)
        if not args.no_bench:
            state["stage"] = "the benchmark"
            run.bench()
        final = True
    finally:
        rc = finish(final)
        print(open(os.path.join(args.out, "selected_bench.md")).read())
        failed = [c for c in run.checks if c["result"] != "pass"]
        print("selected.py: %s%d checks passed, %d failed; exit %d; %s/selected_bench.{json,md}" % (
            "" if final else "STOPPED during %s (partial report): " % state["stage"],
            sum(c["result"] == "pass" for c in run.checks), len(failed), rc, args.out), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
