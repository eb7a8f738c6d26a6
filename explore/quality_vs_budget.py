#!/usr/bin/env python3
"""Quality vs budget on MiniLM: attn-explore's schedule and the uniform
head-pruning baseline at each budget, end to end on the evaluation text.

For each budget B: attn-explore (on a calibration directory made by
`extract_minilm.py --per-sentence` from the held-out calibration text, with
the options below) picks its schedule, attn-compile compiles schedule.mlir
unchanged, and minilm_e2e.py runs it on the evaluation sentences; the
uniform baseline keeps round(12 B) heads by the value-norm router in every
layer (make_schedule.py budget B). Writes OUT/quality_vs_budget.{json,md,svg}.

  python3 explore/quality_vs_budget.py --calibration build/minilm-calib-sent \\
      --layer-weights "$(cat build/weights.txt)" -o build/qvb \\
      --attn-explore build/bin/attn-explore --attn-compile build/bin/attn-compile
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_schedule  # noqa: E402
import minilm_e2e  # noqa: E402


def search_patterns():
    """The static patterns of docs/explore.md's measured search space."""
    g = "#attn.union<[#attn.global<tokens = 1>, {}]>"
    p = ["#attn.dense"] + [f"#attn.local<window = {w}>" for w in (1, 2, 3, 4, 6, 8, 12, 16)]
    p += [g.format(f"#attn.local<window = {w}>")
          for w in (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32)]
    p += [g.format(f"#attn.chunked<size = {c}>") for c in (4, 8, 16)]
    return p


def parse_budgets(text):
    out = []
    for item in text.split(","):
        try:
            b = float(item)
        except ValueError:
            raise SystemExit(f"quality_vs_budget: expected budgets in (0, 1] separated by ',', "
                             f"found {item!r}") from None
        if not 0 < b <= 1:
            raise SystemExit(f"quality_vs_budget: expected budgets in (0, 1], found {b}")
        out.append(b)
    return out


def markdown(rows):
    md = ["| budget | explorer cosine mean | explorer cosine min | explorer NN agreement | "
          "explorer work on the sentences | uniform cosine mean | uniform NN agreement |",
          "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        e, u = r["explorer"], r["uniform"]
        work = "n/a" if e["work_fraction"] is None else f"{e['work_fraction']:.3f}"
        md.append(f"| {r['budget']} | {e['cosine_mean']:.4f} | {e['cosine_min']:.4f} | "
                  f"{e['nn_agreement']:.3f} | {work} | {u['cosine_mean']:.4f} | "
                  f"{u['nn_agreement']:.3f} |")
    return "\n".join(md) + "\n"


def svg(rows, title):
    """Cosine mean vs budget: the explorer (blue) and the uniform baseline."""
    W, H, L, T, R, B = 640, 420, 70, 50, 20, 60
    pw, ph = W - L - R, H - T - B
    ys = [r[k]["cosine_mean"] for r in rows for k in ("explorer", "uniform")]
    lo = min(0.5, min(ys)) if ys else 0.5
    px = lambda b: L + b * pw
    py = lambda c: T + (1 - (c - lo) / (1 - lo)) * ph
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="24" text-anchor="middle" font-size="15">{title}</text>',
           f'<line x1="{L}" y1="{T + ph}" x2="{L + pw}" y2="{T + ph}" stroke="#333"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{T + ph}" stroke="#333"/>',
           f'<text x="{L + pw / 2}" y="{H - 20}" text-anchor="middle">budget (fraction of '
           f'dense attention work)</text>',
           f'<text transform="translate(20,{T + ph / 2}) rotate(-90)" text-anchor="middle">'
           f'mean embedding cosine vs dense</text>']
    for i in range(5):
        b = i / 4
        out.append(f'<text x="{px(b):.1f}" y="{T + ph + 16}" text-anchor="middle">{b:g}</text>')
        c = lo + (1 - lo) * i / 4
        out.append(f'<line x1="{L}" y1="{py(c):.1f}" x2="{L + pw}" y2="{py(c):.1f}" '
                   f'stroke="#ddd"/><text x="{L - 6}" y="{py(c) + 4:.1f}" '
                   f'text-anchor="end">{c:.3g}</text>')
    out.append(f'<line x1="{L}" y1="{py(0.98):.1f}" x2="{L + pw}" y2="{py(0.98):.1f}" '
               f'stroke="#c00" stroke-dasharray="4,3"/><text x="{L + 4}" '
               f'y="{py(0.98) - 4:.1f}" fill="#c00">0.98</text>')
    for key, color, label, dy in (("explorer", "#1f5fbf", "attn-explore", 0),
                                  ("uniform", "#e08a00", "uniform head pruning", 18)):
        pts = sorted((r["budget"], r[key]["cosine_mean"]) for r in rows)
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="' +
                   " ".join(f"{px(b):.1f},{py(c):.1f}" for b, c in pts) + '"/>')
        for b, c in pts:
            out.append(f'<circle cx="{px(b):.1f}" cy="{py(c):.1f}" r="4" fill="{color}"/>'
                       f'<text x="{px(b) + 6:.1f}" y="{py(c) + (14 if key == "uniform" else -6):.1f}" '
                       f'fill="{color}" font-size="10">{c:.4f}</text>')
        out.append(f'<line x1="{L + 20}" y1="{T + ph - 40 + dy}" x2="{L + 40}" '
                   f'y2="{T + ph - 40 + dy}" stroke="{color}" stroke-width="2"/>'
                   f'<text x="{L + 46}" y="{T + ph - 36 + dy}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"quality_vs_budget: {' '.join(cmd[:2])} failed:\n{r.stderr.strip()}")
    return r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calibration", required=True,
                    help="extract_minilm.py --per-sentence directory (held-out text)")
    ap.add_argument("--layer-weights", default="", help="layer_sensitivity.py's list")
    ap.add_argument("--attn-explore", required=True)
    ap.add_argument("--attn-compile", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--budgets", default="1.0,0.75,0.5,0.25")
    ap.add_argument("--max-sentences", default="0")
    ap.add_argument("--date", default="2026-12-06")
    args = ap.parse_args(argv)
    budgets = parse_budgets(args.budgets)
    if not (Path(args.calibration) / "model.json").is_file():
        raise SystemExit(f"quality_vs_budget: expected a calibration directory with "
                         f"model.json at {args.calibration}, not found")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for b in budgets:
        row = {"budget": b}
        d = out / f"explore-{b}"
        cmd = [args.attn_explore, args.calibration, "-o", str(d), f"--budget={b}",
               "--cost=pairs", "--per-head", "--objective=error2",
               "--patterns=" + ";".join(search_patterns()), "--gates=none,importance",
               "--keep=9,6", f"--date={args.date}", "--quiet"]
        if args.layer_weights:
            cmd.append("--layer-weights=" + args.layer_weights)
        run(cmd)
        u = out / f"uniform-{b}"
        make_schedule.main(["budget", str(b), "-o", str(u)])
        for key, path in (("explorer", d), ("uniform", u)):
            rc = minilm_e2e.main([str(path), "--attn-compile", args.attn_compile,
                                  "--threads", "1", "--max-sentences", args.max_sentences,
                                  "--dense-cache", str(out / "cache"),
                                  "--json", str(path / "e2e.json")])
            if rc:
                return rc
            r = json.loads((path / "e2e.json").read_text())
            row[key] = {**r["quality"], "work_fraction": r["work_fraction"],
                        "cost_fraction": r["cost_fraction"]}
        rows.append(row)
    (out / "quality_vs_budget.json").write_text(json.dumps(rows, indent=2) + "\n")
    (out / "quality_vs_budget.md").write_text(markdown(rows))
    (out / "quality_vs_budget.svg").write_text(
        svg(rows, f"all-MiniLM-L6-v2: embedding quality vs budget ({args.date})"))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
