#!/usr/bin/env python3
"""The uniform head-pruning baseline curve: for each budget B, every layer
keeps round(B * 12) heads by the value-norm router (explore/make_schedule.py
budget B), compiled with attn-compile and measured end to end with
explore/minilm_e2e.py. Writes OUT/budget-<B>/{choice.json, schedule.mlir,
artifact/, e2e.json, e2e.md} and OUT/uniform_baseline.{json,md}.

  python3 explore/uniform_baseline.py --attn-compile build/bin/attn-compile \
      -o build/uniform-baseline --budgets 1.0,0.75,0.5,0.25
"""
import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_schedule  # noqa: E402
import minilm_e2e  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--attn-compile", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--budgets", default="1.0,0.75,0.5,0.25")
    ap.add_argument("--max-sentences", default="0")
    ap.add_argument("--threads", default="0")
    ap.add_argument("--extra", nargs="*", default=[], help="more schedules: dense, local:W")
    args = ap.parse_args(argv)
    out = Path(args.output)
    runs = [("budget", b.strip()) for b in args.budgets.split(",") if b.strip()]
    runs += [("dense", None) if x == "dense" else tuple(x.split(":", 1)) for x in args.extra]
    rows = []
    for kind, value in runs:
        d = out / (f"{kind}-{value}" if value else kind)
        make_schedule.main([kind] + ([value] if value else []) + ["-o", str(d)])
        rc = minilm_e2e.main([str(d), "--attn-compile", args.attn_compile,
                              "--max-sentences", args.max_sentences, "--threads", args.threads,
                              "--dense-cache", str(out / "cache"),
                              "--json", str(d / "e2e.json"), "--markdown", str(d / "e2e.md")])
        if rc:
            return rc
        r = json.loads((d / "e2e.json").read_text())
        rows.append({"schedule": r["schedule"], "budget": r["budget"],
                     "cost_fraction": r["cost_fraction"], "work_fraction": r["work_fraction"],
                     **r["quality"],
                     "sentences": r["sentences"], "seconds": r["seconds"]})
    (out / "uniform_baseline.json").write_text(json.dumps(rows, indent=2) + "\n")
    md = ["| schedule | budget | cost fraction (S = 128) | work on the sentences | cosine mean "
          "| cosine min | cosine p5 | NN agreement |",
          "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        work = "n/a" if r["work_fraction"] is None else f"{r['work_fraction']:.3f}"
        md.append(f"| {r['schedule']} | {r['budget']} | {r['cost_fraction']:.3f} | {work} | "
                  f"{r['cosine_mean']:.4f} | {r['cosine_min']:.4f} | {r['cosine_p5']:.4f} | "
                  f"{r['nn_agreement']:.3f} |")
    (out / "uniform_baseline.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
