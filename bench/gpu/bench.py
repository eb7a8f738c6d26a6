#!/usr/bin/env python3
"""Correctness and speed of attn's generated GPU kernels, in one run.

    ATTN_RUNTIME_LIB=/tmp/attn-runtime-device/libattn_runtime.so OUT=/tmp/o \\
        /usr/bin/python3 bench/gpu/bench.py [--artifacts build/device/gpu-kernels]

(scripts/device-gpu-bench.sh does exactly this on the GPU machine; the
artifacts come from scripts/prepare-device.sh, which compiles
bench/gpu/cases/*.mlir with attn-compile --target=sm_90, one artifact per
case, through bench/gpu/compile-cases.sh.)

1. Correctness. Each case's one artifact (dynamic B, Sq, Skv: never
   recompiled) runs at small and ragged shapes, CHECK_SHAPES (Sq != Skv,
   Sq > Skv, decode Sq = 1), on random bf16 inputs, against a float32
   PyTorch reference with the pattern's dense boolean mask
   (bench/gpu/patterns.py: query row q at position q + Skv - Sq, rows that
   see no key give zeros, gated-off heads zeros, kv_head = h // (Hq/Hkv)).
   Outputs are pre-filled with NaN, so an unwritten row fails. At every
   benchmark shape, a sample of query rows (first, middle and last 128, of
   the first and last batch) of the benchmark's own output is checked the
   same way. Tolerance: max |err| <= 2e-2, mean |err| <= 2e-3, no NaN/inf,
   gated-off heads exactly 0. A case that did not compile
   (build/device/gpu-kernels/<case>.error) is a failed row.
2. Benchmark at ANCHORS.md's shapes (4,16,4096,128), (4,32,4096,64),
   (1,16,16384,128): attn, and on the same tensors in the same run SDPA
   flash and cuDNN (dense, causal, GQA with K/V repeated to the query
   heads), FlexAttention (torch.compile'd, BLOCK_SIZE = 128, peers.py's
   masks, one block mask per shape and pattern; random blocks: attn's own
   layout as a bool [H, S/128, S/128] tensor, patterns.layout_mask_mod, so
   Flex visits exactly attn's blocks, checked against the block mask), SDPA
   flash on sliced heads (gating). Times: triton.testing.do_bench(warmup=25,
   rep=100), the mean, as /work/shared/bench/peers.py. TFLOP/s over visited work,
   4·B·H·S²·D·density, density = fraction of 128x128 blocks visited (Flex's
   block mask; attn uses the same; SDPA causal 0.5 and gating's active
   fraction as peers.py); ratio = attn time / peer time (< 1: attn faster).

Writes $OUT/gpu_bench.json and $OUT/gpu_bench.md. Exit status: 0 every check
passed; 1 a numerical check or a run failed; 3 the only failures are cases
that did not compile (gating on the GPU, until it lands); 2 bad usage or no
CUDA/torch.
"""

import argparse
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

import patterns  # noqa: E402
from common import (artifact_error, environment, event_bench, fmt,  # noqa: E402
                    import_cuda_torch, load_case_index, now_iso, read_compile_status)

# (B, Sq, Skv): ragged tails, Sq != Skv both ways (Sq > Skv: negative
# positions, rows that see nothing under causal-type patterns), one tile,
# decode.
CHECK_SHAPES = [(2, 1000, 1037), (1, 1037, 1000), (1, 300, 300), (1, 128, 128),
                (2, 1, 1037), (1, 77, 300)]
# ANCHORS.md's shapes (B, H, S, D) and the case family that has H and D;
# S = 16384 last, so a time budget cuts its Flex runs first.
BENCH_SHAPES = [(4, 16, 4096, 128, "h16d128"), (4, 32, 4096, 64, "h32d64"),
                (1, 16, 16384, 128, "h16d128")]
MAX_ABS_TOL = 2e-2
MEAN_ABS_TOL = 2e-3
GATE_FRACTIONS = (0.5, 0.25)
SAMPLE_ROWS = 128          # per sampled region at the benchmark shapes
BLOCK = 128                # Flex BLOCK_SIZE and the density's block


def gate_tensor(torch, B, H, fraction, device, vary_by_batch):
    """[B, H] bool: every (1/fraction)-th head on (as peers.py's
    active_heads = h % 2 == 0); with vary_by_batch, shifted per batch row."""
    step = int(round(1 / fraction))
    h = torch.arange(H, device=device)
    rows = [((h + (b if vary_by_batch else 0)) % step) == 0 for b in range(B)]
    return torch.stack(rows).contiguous()


class Suite:
    def __init__(self, args):
        self.args = args
        self.t0 = time.time()
        self.checks = []
        self.perf = []
        self.gating = []
        self.notes = []
        self.arts = {}          # case name -> Artifact
        self.cases = []
        self.compile_status = {}
        self.progress = None    # called after each benchmark shape (partial reports)
        self.not_lowered = []
        self.host_gates = set()
        self.compiler = None

    # -- setup ---------------------------------------------------------------

    def load(self):
        index, base_cases = load_case_index(self.args.cases, self.args.only)
        self.not_lowered = index.get("not_lowered", [])
        self.compiler, self.compile_status = read_compile_status(self.args.artifacts,
                                                                 self.notes)
        # --variant LABEL=DIR: the same cases compiled another way (sm_90a's
        # wgmma kernels), each right after its base case, named CASE@LABEL,
        # checked and timed in the same run against the same peers.
        variants = []
        for spec in self.args.variant:
            label, _, adir = spec.partition("=")
            if not label or not adir:
                raise SystemExit("bench.py: --variant takes LABEL=DIR, found %r" % spec)
            _, status = read_compile_status(adir, self.notes)
            variants.append((label, adir, status))
        self.cases = []
        for c in base_cases:
            self.cases.append(dict(c, artifacts=self.args.artifacts, base=c["name"],
                                   status=self.compile_status))
            for label, adir, status in variants:
                self.cases.append(dict(c, name="%s@%s" % (c["name"], label), variant=label,
                                       artifacts=adir, base=c["name"], status=status))
        import attn_runtime
        for c in self.cases:
            name = c["name"]
            path = os.path.join(c["artifacts"], c["base"])
            error = artifact_error(c["artifacts"], c["base"], c["status"])
            if error is None:
                try:
                    self.arts[name] = attn_runtime.Artifact(path)
                except Exception as e:  # AttnError: corrupt/missing artifact
                    error = "attn_runtime.Artifact: %s" % e
            if error is not None:
                self.checks.append(dict(case=name, kind="compile", result="fail",
                                        compile_failure=True, error=error[-1500:]))
                print("compile FAIL %s: %s" % (name, error.splitlines()[0] if error else ""),
                      flush=True)

    def scale(self, case):
        art = self.arts[case["name"]]
        kernels = art.signature(case["function"]).kernels
        if kernels and kernels[0].get("scale") is not None:
            return float(kernels[0]["scale"])
        return 1.0 / math.sqrt(case["head_dim"])

    # -- calling attn ----------------------------------------------------------

    def call(self, case, q, k, v, o, gates=None):
        """One call; gates are tried on the device first, then on the host
        (the runtime's rule for CUDA gates lands with gating on the GPU).
        Returns the gates' device used ('cuda', 'cpu' or None)."""
        art = self.arts[case["name"]]
        fn = case["function"]
        if gates is None:
            art.call(fn, [q, k, v], [o])
            return None
        first_error = None
        for g in (gates, gates.cpu()):
            try:
                art.call(fn, [q, k, v, g], [o])
                if first_error is not None and fn not in self.host_gates:
                    self.host_gates.add(fn)
                    self.notes.append("%s refused CUDA gates (%s) and took them on the host"
                                      % (fn, first_error))
                return g.device.type
            except Exception as e:
                if first_error is None:
                    first_error = e
                else:
                    raise RuntimeError("with CUDA gates: %s; with CPU gates: %s"
                                       % (first_error, e))
        return None

    # -- correctness -------------------------------------------------------------

    def compare(self, torch, out, ref, gates):
        diff = (out.float() - ref).abs()
        finite = torch.isfinite(out.float())
        nonfinite = int((~finite).sum())
        diff = torch.where(finite, diff, torch.zeros_like(diff))
        res = dict(max_abs_err=float(diff.max()) if diff.numel() else 0.0,
                   mean_abs_err=float(diff.mean()) if diff.numel() else 0.0,
                   nonfinite=nonfinite)
        if gates is not None:
            off = ~gates.to(device=out.device)
            res["off_head_max"] = float(out[off].float().abs().max()) if bool(off.any()) else 0.0
            res["active_fraction"] = float(gates.float().mean())
        ok = (nonfinite == 0 and res["max_abs_err"] <= MAX_ABS_TOL
              and res["mean_abs_err"] <= MEAN_ABS_TOL and res.get("off_head_max", 0.0) == 0.0)
        res["result"] = "pass" if ok else "fail"
        return res

    def check_small(self, torch):
        dev = "cuda"
        for case in self.cases:
            name = case["name"]
            if name not in self.arts:
                continue
            hq, hkv, d = case["query_heads"], case["key_heads"], case["head_dim"]
            scale = self.scale(case)
            gate_settings = [None] + (list(GATE_FRACTIONS) if case["gated"] else [])
            for (B, Sq, Skv) in CHECK_SHAPES:
                for frac in gate_settings:
                    row = dict(case=name, kind="small", B=B, Hq=hq, Hkv=hkv, Sq=Sq, Skv=Skv,
                               D=d, gates=frac)
                    if case["gated"] and frac is None:
                        continue  # a gated function always takes gates
                    try:
                        gen = torch.Generator(device=dev).manual_seed(1000 * B + Sq + 7 * Skv)
                        q = torch.randn(B, hq, Sq, d, device=dev, generator=gen).to(torch.bfloat16)
                        k = torch.randn(B, hkv, Skv, d, device=dev, generator=gen).to(torch.bfloat16)
                        v = torch.randn(B, hkv, Skv, d, device=dev, generator=gen).to(torch.bfloat16)
                        o = torch.full((B, hq, Sq, d), float("nan"), device=dev, dtype=torch.bfloat16)
                        gates = (gate_tensor(torch, B, hq, frac, dev, vary_by_batch=True)
                                 if frac is not None else None)
                        gdev = self.call(case, q, k, v, o, gates)
                        torch.cuda.synchronize()
                        ref = patterns.reference(q.float(), k.float(), v.float(), case["spec"],
                                                 scale, gates)
                        row.update(self.compare(torch, o, ref, gates))
                        if gdev:
                            row["gates_device"] = gdev
                        del ref
                    except Exception as e:
                        row.update(result="fail", error="%s: %s" % (type(e).__name__, e))
                        traceback.print_exc()
                    self.checks.append(row)
                    print("check %-26s B=%d %5d x %-5d gates=%-5s %s max %.2e mean %.2e%s" % (
                        name, B, Sq, Skv, frac, row["result"], row.get("max_abs_err", float("nan")),
                        row.get("mean_abs_err", float("nan")),
                        (" " + row["error"][:200]) if "error" in row else ""), flush=True)

    def check_sample(self, torch, case, q, k, v, o, gates, frac):
        """The benchmark output `o` on sampled rows of the first and last
        batch row, against the reference of those rows."""
        B, hq, S, d = q.shape
        rows = sorted(set(list(range(0, SAMPLE_ROWS))
                          + list(range(S // 2 - SAMPLE_ROWS // 2, S // 2 + SAMPLE_ROWS // 2))
                          + list(range(S - SAMPLE_ROWS, S))))
        row = dict(case=case["name"], kind="bench-sample", B=B, Hq=hq, Hkv=k.shape[1], Sq=S,
                   Skv=k.shape[2], D=d, gates=frac, rows=len(rows))
        try:
            results = []
            idx = torch.as_tensor(rows, device=o.device)
            for b in sorted({0, B - 1}):
                g = gates[b:b + 1] if gates is not None else None
                ref = patterns.reference(q[b:b + 1].float(), k[b:b + 1].float(),
                                         v[b:b + 1].float(), case["spec"], self.scale(case),
                                         g, rows=rows)
                results.append(self.compare(torch, o[b:b + 1][:, :, idx], ref, g))
                del ref
            # The first failing batch row, else the one with the largest error.
            failing = [r for r in results if r["result"] != "pass"]
            row.update(failing[0] if failing else max(results, key=lambda r: r["max_abs_err"]))
        except Exception as e:
            row.update(result="fail", error="%s: %s" % (type(e).__name__, e))
            traceback.print_exc()
        self.checks.append(row)
        print("check %-26s bench %s gates=%s: %s max %.2e mean %.2e" % (
            case["name"], (B, hq, S, d), frac, row["result"], row.get("max_abs_err", float("nan")),
            row.get("mean_abs_err", float("nan"))), flush=True)

    # -- benchmark ---------------------------------------------------------------

    def over_budget(self):
        return time.time() - self.t0 > self.args.budget_s

    def bench(self, torch):
        import torch.nn.functional as F
        from torch.nn.attention import sdpa_kernel, SDPBackend
        try:
            import triton.testing
            do_bench = lambda fn: triton.testing.do_bench(fn, warmup=25, rep=100)  # noqa: E731
            self.timer = "triton.testing.do_bench(warmup=25, rep=100), mean"
        except Exception:
            do_bench = event_bench(torch)
            self.timer = "CUDA events (no triton), mean of the timed calls"
        try:
            from torch.nn.attention.flex_attention import flex_attention, create_block_mask
            torch._dynamo.config.recompile_limit = 1000
            torch._dynamo.config.cache_size_limit = 1000
            flex = torch.compile(flex_attention, dynamic=False)
        except Exception as e:
            flex = None
            self.notes.append("FlexAttention unavailable: %r" % e)

        def timed(fn):
            fn()
            torch.cuda.synchronize()
            return float(do_bench(fn))

        def tflops(B, H, S, D, ms, density):
            return 4.0 * B * H * S * S * D * density / ms / 1e9

        dev = "cuda"
        block_masks = {}
        for (B, H, S, D, family) in BENCH_SHAPES:
            fam = [c for c in self.cases if c["family"] == family]
            if not fam:
                continue
            shape = [B, H, S, D]
            print("== bench %s (%.0fs elapsed)" % (shape, time.time() - self.t0), flush=True)
            torch.manual_seed(0)
            q = torch.randn(B, H, S, D, device=dev, dtype=torch.bfloat16)
            k = torch.randn_like(q)
            v = torch.randn_like(q)
            o = torch.empty_like(q)
            hkv = next((c["key_heads"] for c in fam if c["pattern_name"] == "gqa_dense"), H)
            kg = torch.randn(B, hkv, S, D, device=dev, dtype=torch.bfloat16)
            vg = torch.randn_like(kg)
            kr = kg.repeat_interleave(H // hkv, dim=1)
            vr = vg.repeat_interleave(H // hkv, dim=1)

            # SDPA peers, run once per shape.
            sdpa = {}
            for backend, label in ((SDPBackend.FLASH_ATTENTION, "sdpa_flash"),
                                   (SDPBackend.CUDNN_ATTENTION, "sdpa_cudnn")):
                for what, (kk, vv, causal) in (("dense", (k, v, False)), ("causal", (k, v, True)),
                                               ("gqa_dense", (kr, vr, False))):
                    try:
                        with sdpa_kernel(backend):
                            fn = lambda: F.scaled_dot_product_attention(q, kk, vv, is_causal=causal)  # noqa: E731,E501
                            ms = timed(fn)
                            out = fn()
                        sdpa[(label, what)] = dict(ms=ms, density=0.5 if causal else 1.0, out=out)
                    except Exception as e:
                        sdpa[(label, what)] = dict(skipped=repr(e)[:200])
            sliced = {}
            for frac in GATE_FRACTIONS:
                h = max(1, int(H * frac))
                qs, ks, vs = q[:, :h].contiguous(), k[:, :h].contiguous(), v[:, :h].contiguous()
                try:
                    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                        sliced[frac] = timed(lambda: F.scaled_dot_product_attention(qs, ks, vs))
                except Exception as e:
                    sliced[frac] = None
                    self.notes.append("sdpa_flash sliced heads %s at %s: %r" % (frac, shape, e))
                qs = ks = vs = None

            attn_dense_ms = {}   # variant (None: the base artifacts) -> ms
            # Block masks depend on S only (B = H = None), layout masks on S,
            # H and the spec too: kept across the shapes of one S,
            # (S, peer mask name[, H, pattern name]) -> (BlockMask, seconds).
            block_masks = {key: val for key, val in block_masks.items() if key[0] == S}
            for case in fam:
                if case["gated"]:
                    continue
                name = case["name"]
                row = dict(shape=shape, case=name, pattern=case["pattern"],
                           pattern_name=case["pattern_name"], anchor=case["anchor"],
                           variant=case.get("variant"), Hkv=case["key_heads"], peers={})
                gqa = case["key_heads"] != H
                kk, vv = (kg, vg) if gqa else (k, v)
                # attn
                if name in self.arts:
                    try:
                        row["attn_ms"] = timed(lambda: self.call(case, q, kk, vv, o))
                        if case["pattern_name"] == "dense":
                            attn_dense_ms[case.get("variant")] = row["attn_ms"]
                        torch.cuda.synchronize()
                        self.check_sample(torch, case, q, kk, vv, o, None, None)
                    except Exception as e:
                        row["attn_error"] = "%s: %s" % (type(e).__name__, e)
                        self.checks.append(dict(case=name, kind="bench-run", B=B, Hq=H, Sq=S,
                                                Skv=S, D=D, result="fail", error=row["attn_error"]))
                        traceback.print_exc()
                else:
                    row["attn_error"] = "not compiled"
                # SDPA
                for label in ("sdpa_flash", "sdpa_cudnn"):
                    key = (label, case["pattern_name"])
                    if key in sdpa:
                        row["peers"][label] = {x: y for x, y in sdpa[key].items() if x != "out"}
                # Flex
                density, source = None, None
                mask_name = case.get("peer_mask")
                if flex is not None and mask_name:
                    if self.args.skip_flex_16k and S >= 16384:
                        row["peers"]["flex"] = dict(skipped="--skip-flex-16k")
                    elif self.over_budget():
                        row["peers"]["flex"] = dict(skipped="time budget (%ss) spent"
                                                    % self.args.budget_s)
                    else:
                        try:
                            layout_peer = mask_name == patterns.LAYOUT_PEER
                            bm_key = ((S, mask_name, H, case["pattern_name"]) if layout_peer
                                      else (S, mask_name))
                            if bm_key not in block_masks:
                                t = time.time()
                                block_masks[bm_key] = (create_block_mask(
                                    patterns.peer_mask_mod(mask_name, case["spec"], H, S, like=q),
                                    B=None, H=H if layout_peer else None, Q_LEN=S, KV_LEN=S,
                                    device=dev, BLOCK_SIZE=BLOCK, _compile=True),
                                    time.time() - t)
                            bm, mask_s = block_masks[bm_key]
                            if layout_peer:
                                row["flex_layout_equal"] = self.same_layout(torch, bm, case,
                                                                            H, S)
                            kwargs = dict(block_mask=bm)
                            if gqa:
                                kwargs["enable_gqa"] = True
                            t = time.time()
                            out = flex(q, kk, vv, **kwargs)
                            torch.cuda.synchronize()
                            first_s = time.time() - t
                            ms = timed(lambda: flex(q, kk, vv, **kwargs))
                            density, source = 1.0 - float(bm.sparsity()) / 100.0, "flex block mask"
                            row["peers"]["flex"] = dict(ms=ms, density=density,
                                                        block_mask_s=round(mask_s, 2),
                                                        first_call_s=round(first_s, 2))
                            if "attn_ms" in row:
                                row["max_abs_diff_vs_flex"] = float((o.float() - out.float()).abs().max())
                            del out
                        except Exception as e:
                            row["peers"]["flex"] = dict(skipped=repr(e)[:300])
                            traceback.print_exc()
                if density is None:
                    density = patterns.block_density(
                        case["spec"], S, BLOCK, like=q,
                        heads=H if patterns.depends_on_head(case["spec"]) else None)
                    source = "computed (patterns.block_density)"
                row["density"] = density
                row["density_source"] = source
                if "attn_ms" in row:
                    row["attn_tflops"] = tflops(B, H, S, D, row["attn_ms"], density)
                for p in row["peers"].values():
                    if "ms" in p:
                        p["tflops"] = tflops(B, H, S, D, p["ms"], p["density"])
                        if "attn_ms" in row:
                            p["ratio"] = row["attn_ms"] / p["ms"]
                sd = sdpa.get(("sdpa_flash", case["pattern_name"]))
                if sd and "out" in sd and "attn_ms" in row:
                    row["max_abs_diff_vs_sdpa_flash"] = float((o.float() - sd["out"].float()).abs().max())
                self.perf.append(row)
                print("perf %-26s %s" % (name, json.dumps(
                    {x: (round(y, 4) if isinstance(y, float) else y) for x, y in row.items()
                     if x not in ("peers",)})), flush=True)
                print("     peers %s" % json.dumps(row["peers"]), flush=True)

            # Gating: the gated function at a half and a quarter of the heads.
            for case in (c for c in fam if c["gated"]):
                for frac in GATE_FRACTIONS:
                    dense_ms = attn_dense_ms.get(case.get("variant"))
                    row = dict(shape=shape, case=case["name"], fraction=frac,
                               variant=case.get("variant"),
                               sdpa_flash_sliced_ms=sliced.get(frac), attn_dense_ms=dense_ms)
                    if case["name"] not in self.arts:
                        row["attn_error"] = "not compiled"
                    else:
                        gates = gate_tensor(torch, B, H, frac, dev, vary_by_batch=False)
                        try:
                            gdev = self.call(case, q, k, v, o, gates)
                            g_used = gates if gdev != "cpu" else gates.cpu()
                            row["gates_device"] = gdev
                            row["attn_ms"] = timed(lambda: self.call_fixed(case, q, k, v, o, g_used))
                            row["attn_tflops"] = tflops(B, H, S, D, row["attn_ms"], frac)
                            if dense_ms:
                                row["vs_attn_dense"] = row["attn_ms"] / dense_ms
                            if sliced.get(frac):
                                row["vs_sdpa_flash_sliced"] = row["attn_ms"] / sliced[frac]
                                row["sdpa_flash_sliced_tflops"] = tflops(B, H, S, D, sliced[frac], frac)
                            torch.cuda.synchronize()
                            self.check_sample(torch, case, q, k, v, o, gates, frac)
                        except Exception as e:
                            row["attn_error"] = "%s: %s" % (type(e).__name__, e)
                            self.checks.append(dict(case=case["name"], kind="bench-run", B=B, Hq=H,
                                                    Sq=S, Skv=S, D=D, gates=frac, result="fail",
                                                    error=row["attn_error"]))
                            traceback.print_exc()
                    self.gating.append(row)
                    print("gate %-26s %s" % (case["name"], json.dumps(row)), flush=True)
            # Free this shape's tensors before the next one.
            q = k = v = o = kg = vg = kr = vr = sdpa = None
            torch.cuda.empty_cache()
            if self.progress:
                self.progress()

    def same_layout(self, torch, bm, case, H, S):
        """Whether Flex's block mask visits exactly attn's blocks of a
        layout case (its 128-blocks equal to the spec's blocks); a
        difference is a failed check (the comparison would be unfair)."""
        try:
            nb = (S + BLOCK - 1) // BLOCK
            want = torch.as_tensor(patterns.block_layout(case["spec"], H, nb, nb).copy(),
                                   device=bm.kv_num_blocks.device)
            got = bm.to_dense()[0, :, :nb, :nb] != 0
            equal = bool(torch.equal(got, want))
        except Exception as e:  # noqa: BLE001 - a note, not a failure
            self.notes.append("%s at S=%d: Flex block mask not compared with attn's layout (%r)"
                              % (case["name"], S, e))
            return None
        if not equal:
            self.checks.append(dict(case=case["name"], kind="flex-layout", B=None, Hq=H, Sq=S,
                                    Skv=S, D=case["head_dim"], result="fail",
                                    error="Flex's block mask differs from attn's layout in %d of "
                                          "%d blocks" % (int((got != want).sum()), want.numel())))
        return equal

    def call_fixed(self, case, q, k, v, o, gates):
        self.arts[case["name"]].call(case["function"], [q, k, v, gates], [o])

# -- reports -------------------------------------------------------------------

def peer_cell(p):
    if p is None:
        return "—"
    if "ms" not in p:
        return "skipped: " + str(p.get("skipped", "?")).replace("|", "/")[:80]
    cell = "%.3f ms, %.0f TF/s" % (p["ms"], p["tflops"])
    if "ratio" in p:
        cell += ", **%.2fx**" % p["ratio"]
    return cell


def write_reports(suite, report, out):
    with open(os.path.join(out, "gpu_bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    L = []
    L.append("# attn's generated GPU kernels: correctness and speed (%s)\n" % report["date"])
    L.append("Device: %s; torch %s, triton %s; artifacts: `attn-compile --target=sm_90`, one per "
             "case (%s), each called at every shape below without recompiling (dynamic B, Sq, "
             "Skv). Run took %.0f s.\n" % (report["device"], report["torch"], report["triton"],
                                          report.get("compiler") or "compiler unknown",
                                          report["seconds"]))
    for label in sorted({c["variant"] for c in suite.cases if c.get("variant")}):
        L.append("Rows and cases marked [%s] / @%s: the same cases compiled another way "
                 "(prepare-device.sh; sm_90a: `attn-compile --target=sm_90a`, wgmma "
                 "kernels at D = 128, docs/gpu-notes.md section 5a), "
                 "same tensors and peers.\n" % (label, label))
    # Correctness
    L.append("## Correctness\n")
    L.append("bf16 outputs against a float32 PyTorch reference with the pattern's dense boolean "
             "mask (query row q at position q + Skv − Sq; rows that see no key and gated-off "
             "heads give zeros; kv_head = h // (Hq/Hkv)); random normal inputs; outputs "
             "pre-filled with NaN. Pass: max |err| ≤ %g, mean |err| ≤ %g, no NaN/inf, gated-off "
             "heads exactly 0. Cells: max / mean |err|. `bench` = sampled rows (first, middle, "
             "last %d; first and last batch row) of the benchmark shape's own output.\n"
             % (MAX_ABS_TOL, MEAN_ABS_TOL, SAMPLE_ROWS))
    shapes = ["%d×%d×%d" % s for s in CHECK_SHAPES]
    L.append("Columns: B×Sq×Skv.\n")
    L.append("| case | pattern | Hq/Hkv, D | gates | " + " | ".join(shapes)
             + " | bench shapes | result |")
    L.append("|---|---|---|---|" + "---|" * len(shapes) + "---|---|")
    by_case = {}
    for c in report["checks"]:
        by_case.setdefault(c["case"], []).append(c)
    for case in suite.cases:
        rows = by_case.get(case["name"], [])
        comp = [r for r in rows if r["kind"] == "compile"]
        head = "| %s | `%s` | %d/%d, %d |" % (case["name"], case["pattern"], case["query_heads"],
                                              case["key_heads"], case["head_dim"])
        if comp:
            msg = comp[0]["error"].splitlines()
            msg = next((m for m in msg if "error" in m), msg[0] if msg else "")
            L.append(head + " %s | " % ("½, ¼" if case["gated"] else "—")
                     + " | ".join("—" for _ in shapes)
                     + " | — | **FAIL: did not compile** (%s) |"
                     % msg.replace("|", "/").strip()[:160])
            continue
        settings = list(GATE_FRACTIONS) if case["gated"] else [None]
        for frac in settings:
            cells = []
            for s in CHECK_SHAPES:
                r = next((r for r in rows if r["kind"] == "small" and r.get("gates") == frac
                          and (r["B"], r["Sq"], r["Skv"]) == s), None)
                cells.append(check_cell(r))
            bench_rows = [r for r in rows if r["kind"] in ("bench-sample", "bench-run")
                          and r.get("gates") == frac]
            bench_cell = ("; ".join("S=%d: %s" % (r["Sq"], check_cell(r)) for r in bench_rows)
                          if bench_rows else "—")
            mine = [r for r in rows if r.get("gates") == frac and r["kind"] != "compile"]
            ok = mine and all(r["result"] == "pass" for r in mine)
            L.append(head + " %s | " % (frac if frac is not None else "—") + " | ".join(cells)
                     + " | %s | %s |" % (bench_cell, "pass" if ok else "**FAIL**"))
    fails = [c for c in report["checks"] if c["result"] != "pass"]
    if fails:
        L.append("\nFailures:\n")
        for c in fails:
            what = c.get("error") or ("max %.3g mean %.3g nonfinite %s off-heads %s" % (
                c.get("max_abs_err", float("nan")), c.get("mean_abs_err", float("nan")),
                c.get("nonfinite"), c.get("off_head_max")))
            L.append("- %s (%s%s): %s" % (c["case"], c["kind"],
                                          "" if c["kind"] == "compile" else
                                          " B=%s Sq=%s Skv=%s gates=%s" % (c.get("B"), c.get("Sq"),
                                                                           c.get("Skv"), c.get("gates")),
                                          what.replace("\n", " ")[:400]))
    L.append("\nChecks: %d passed, %d failed (%d of them: did not compile).\n"
             % (sum(c["result"] == "pass" for c in report["checks"]), len(fails),
                sum(bool(c.get("compile_failure")) for c in fails)))
    # Performance
    if report["perf"] or report["gating"]:
        L.append("## Performance (%s, %s)\n" % (report["date"][:10], report["device"]))
        L.append("Timer: %s, as /work/shared/bench/peers.py. TF/s over visited work "
                 "4·B·H·S²·D·density, density = fraction of 128×128 blocks visited (Flex's block "
                 "mask; attn counted with the same density; SDPA causal 0.5 as peers.py). Bold: "
                 "attn time / peer time (< 1: attn faster). Same tensors, same run.\n"
                 % report.get("timer", "?"))
        if any(c.get("peer_mask") == patterns.LAYOUT_PEER for c in suite.cases):
            L.append("Random blocks (†): the layout is attn's own `#attn.random_blocks` stream "
                     "(seed 1, per query head, diagonal kept), and FlexAttention gets that same "
                     "layout as its mask (a bool [H, S/128, S/128] tensor), so both visit the "
                     "same blocks (`flex_layout_equal` in the JSON: Flex's block mask compared "
                     "with the layout). ANCHORS.md's random rows drew torch.rand layouts "
                     "instead: same densities, other blocks.\n")
        L.append("| pattern | shape B,H,S,D | density | attn | SDPA flash | SDPA cuDNN | "
                 "FlexAttention | max abs diff attn vs peer |")
        L.append("|---|---|---:|---|---|---|---|---:|")
        order = []
        for c in suite.cases:
            if c["pattern_name"] not in order:
                order.append(c["pattern_name"])
        for r in sorted(report["perf"], key=lambda r: (order.index(r["pattern_name"]),
                                                      BENCH_ORDER.index(tuple(r["shape"])))):
            attn = ("%.3f ms, %.0f TF/s" % (r["attn_ms"], r["attn_tflops"]) if "attn_ms" in r
                    else "FAIL: " + r.get("attn_error", "?").replace("|", "/")[:100])
            label = r["anchor"] + (" [%s]" % r["variant"] if r.get("variant") else "")
            if r.get("flex_layout_equal") is not None or r["pattern"].startswith(
                    "#attn.random_blocks"):
                label += " †" + ("" if r.get("flex_layout_equal") is not False
                                 else " (**Flex's block mask differs**)")
            diff = r.get("max_abs_diff_vs_flex", r.get("max_abs_diff_vs_sdpa_flash"))
            L.append("| %s | %s | %.3f | %s | %s | %s | %s | %s |" % (
                label, ",".join(map(str, r["shape"])), r["density"], attn,
                peer_cell(r["peers"].get("sdpa_flash")), peer_cell(r["peers"].get("sdpa_cudnn")),
                peer_cell(r["peers"].get("flex")), fmt(diff, 4)))
        for nl in suite.not_lowered:
            L.append("| %s | all | — | %s | — | — | — (see ANCHORS.md) | — |"
                     % (nl["anchor"], nl["reason"]))
        L.append("\nHead gating (the gated dense function; ideal: the active fraction of the "
                 "ungated dense kernel's time, and SDPA flash on the sliced heads):\n")
        L.append("| heads on | shape B,H,S,D | attn gated | attn dense (ungated) | gated / dense "
                 "| SDPA flash on sliced heads | attn / sliced |")
        L.append("|---|---|---|---|---:|---|---:|")
        for r in sorted(report["gating"], key=lambda r: r.get("variant") or ""):
            attn = ("%.3f ms, %.0f TF/s" % (r["attn_ms"], r["attn_tflops"]) if "attn_ms" in r
                    else "FAIL: " + r.get("attn_error", "?").replace("|", "/")[:100])
            sl = r.get("sdpa_flash_sliced_ms")
            L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                "%s%s" % (r["fraction"], " [%s]" % r["variant"] if r.get("variant") else ""),
                ",".join(map(str, r["shape"])), attn,
                fmt(r.get("attn_dense_ms")) + " ms" if r.get("attn_dense_ms") else "—",
                fmt(r.get("vs_attn_dense"), 2), ("%.3f ms" % sl) if sl else "—",
                fmt(r.get("vs_sdpa_flash_sliced"), 2)))
    if report["notes"]:
        L.append("\nNotes:\n")
        for n in report["notes"]:
            L.append("- " + n)
    text = "\n".join(L) + "\n"
    with open(os.path.join(out, "gpu_bench.md"), "w") as f:
        f.write(text)
    return text


BENCH_ORDER = [tuple(s[:4]) for s in BENCH_SHAPES]


def check_cell(r):
    if r is None:
        return "—"
    if "error" in r:
        return "**FAIL** " + r["error"].replace("|", "/").replace("\n", " ")[:80]
    cell = "%.1e / %.1e" % (r["max_abs_err"], r["mean_abs_err"])
    if r.get("nonfinite"):
        cell += ", %d NaN" % r["nonfinite"]
    if r.get("off_head_max"):
        cell += ", off-heads %.1e" % r["off_head_max"]
    return cell if r["result"] == "pass" else "**FAIL** " + cell


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifacts", default=os.path.join(ROOT, "build", "device", "gpu-kernels"),
                    help="one artifact directory per case (scripts/prepare-device.sh)")
    ap.add_argument("--cases", default=os.path.join(HERE, "cases", "cases.json"))
    ap.add_argument("--out", default=os.environ.get("OUT") or "/tmp/attn-gpu-bench")
    ap.add_argument("--no-bench", action="store_true", help="correctness at small shapes only")
    ap.add_argument("--budget-s", type=float, default=300.0,
                    help="after this many seconds, FlexAttention runs are skipped (default 300)")
    ap.add_argument("--skip-flex-16k", action="store_true",
                    help="no FlexAttention at S = 16384 (its block masks take longest)")
    ap.add_argument("--only", action="append", default=[],
                    help="only cases whose name contains this (repeatable)")
    ap.add_argument("--variant", action="append", default=[], metavar="LABEL=DIR",
                    help="the same cases compiled another way (e.g. sm_90a=build/device/"
                         "gpu-kernels-90a): checked and timed next to the base artifacts, "
                         "rows labelled [LABEL] (repeatable)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch = import_cuda_torch("bench.py")
    if torch is None:
        return 2
    suite = Suite(args)
    import attn_runtime
    try:
        info = attn_runtime.cuda_device(0)
    except Exception as e:
        info = {"error": str(e)}
    device_name, triton_version = environment(torch)
    state = {"stage": "starting"}

    def finish(final):
        """Writes gpu_bench.json/.md from what is done so far; returns the
        exit status they imply."""
        failed = [c for c in suite.checks if c["result"] != "pass"]
        notes = list(suite.notes)
        if not final:
            notes.append("PARTIAL report: the run stopped during %s" % state["stage"])
        report = dict(date=now_iso(), device=device_name, cuda_device=info,
                      torch=torch.__version__, triton=triton_version, compiler=suite.compiler,
                      timer=getattr(suite, "timer", None),
                      seconds=round(time.time() - suite.t0, 1), complete=final,
                      tolerance=dict(max_abs_err=MAX_ABS_TOL, mean_abs_err=MEAN_ABS_TOL),
                      check_shapes=CHECK_SHAPES, bench_shapes=[s[:4] for s in BENCH_SHAPES],
                      checks=suite.checks, perf=suite.perf, gating=suite.gating,
                      not_lowered=getattr(suite, "not_lowered", []), notes=notes,
                      passed=final and not failed)
        write_reports(suite, report, args.out)
        if not final:
            return 1
        if not failed:
            return 0
        return 3 if all(c.get("compile_failure") for c in failed) else 1

    def on_term(signum, frame):
        raise SystemExit(124)   # e.g. timeout(1): write what is done, below

    signal.signal(signal.SIGTERM, on_term)
    suite.progress = lambda: finish(False)
    final = False
    try:
        state["stage"] = "loading the artifacts"
        suite.load()
        state["stage"] = "the correctness checks"
        suite.check_small(torch)
        finish(False)
        if not args.no_bench:
            state["stage"] = "the benchmark"
            suite.bench(torch)
        else:
            suite.notes.append("--no-bench: correctness at small shapes only")
        final = True
    finally:
        rc = finish(final)
        print(open(os.path.join(args.out, "gpu_bench.md")).read())
        failed = [c for c in suite.checks if c["result"] != "pass"]
        no_compile = sorted({c["case"] for c in failed if c.get("compile_failure")})
        print("bench.py: %s%d checks passed, %d failed%s; %s/gpu_bench.{json,md}" % (
            "" if final else "STOPPED during %s (partial report): " % state["stage"],
            sum(c["result"] == "pass" for c in suite.checks), len(failed),
            " (did not compile: %s)" % ", ".join(no_compile) if no_compile else "",
            args.out), flush=True)
    return rc

if __name__ == "__main__":
    sys.exit(main())
