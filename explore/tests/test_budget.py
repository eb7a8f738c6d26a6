"""Fast checks of the quality-vs-budget pieces (no model run): the table and
plot of quality_vs_budget.py, its argument errors, per-head masks and work in
minilm_e2e.py, make_text.py's argument checks, and the held-out calibration
text (no sentence shared with the evaluation text)."""
import io
import subprocess
import sys
import unittest
from contextlib import redirect_stderr
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
EXPLORE = HERE.parent
sys.path.insert(0, str(EXPLORE))
import minilm_e2e  # noqa: E402
import quality_vs_budget as qvb  # noqa: E402


def row(budget, e, u, work=0.5):
    q = lambda c: {"cosine_mean": c, "cosine_min": c - 0.1, "cosine_p5": c - 0.05,
                   "nn_agreement": 0.5, "work_fraction": work, "cost_fraction": budget}
    return {"budget": budget, "explorer": q(e), "uniform": q(u)}


class QualityVsBudget(unittest.TestCase):
    def test_table_and_plot(self):
        rows = [row(1.0, 1.0, 1.0, 1.0), row(0.5, 0.9802, 0.7642, 0.478)]
        md = qvb.markdown(rows)
        self.assertIn("| 0.5 | 0.9802 | 0.8802 | 0.500 | 0.478 | 0.7642 | 0.500 |", md)
        self.assertEqual(len(md.strip().splitlines()), 4)
        svg = qvb.svg(rows, "t")
        self.assertTrue(svg.startswith("<svg") and svg.strip().endswith("</svg>"))
        self.assertIn(">0.9802<", svg)
        self.assertIn(">0.7642<", svg)
        self.assertEqual(svg.count("<polyline"), 2)

    def test_budget_errors(self):
        self.assertEqual(qvb.parse_budgets("1.0,0.25"), [1.0, 0.25])
        for bad, what in (("0.5,x", "found 'x'"), ("1.5", "found 1.5"), ("0", "found 0.0")):
            with self.assertRaises(SystemExit) as cm:
                qvb.parse_budgets(bad)
            self.assertIn(what, str(cm.exception))

    def test_missing_calibration(self):
        with self.assertRaises(SystemExit) as cm:
            qvb.main(["--calibration", "/nonexistent", "--attn-explore", "x",
                      "--attn-compile", "y", "-o", "/tmp/never"])
        self.assertIn("expected a calibration directory with model.json at /nonexistent",
                      str(cm.exception))

    def test_search_patterns_are_masked(self):
        for p in qvb.search_patterns():
            self.assertIsNotNone(minilm_e2e._pattern_mask(p, 9), p)


class PerHead(unittest.TestCase):
    def test_mask_and_work(self):
        p = ("#attn.per_head<[#attn.dense, #attn.local<window = 1>, "
             "#attn.union<[#attn.global<tokens = 1>, #attn.local<window = 1>]>]>")
        m = minilm_e2e._pattern_mask(p, 5)
        self.assertEqual(m.shape, (3, 5, 5))
        self.assertEqual([int(x) for x in m.sum((1, 2))], [25, 13, 19])  # 13 + 9 - 3 shared
        gates = np.array([[True, True, False]])
        self.assertAlmostEqual(minilm_e2e._visited(m, gates), (25 + 13) / 3)
        self.assertAlmostEqual(minilm_e2e._visited(m[1], gates), 13 * 2 / 3)
        self.assertIsNone(minilm_e2e._pattern_mask("#attn.per_head<[#attn.strided<stride = 2>]>", 4))


class CalibrationText(unittest.TestCase):
    def test_held_out(self):
        data = EXPLORE / "data"
        ev = set((data / "pride_and_prejudice.txt").read_text().splitlines())
        cal = (data / "pride_and_prejudice_calib.txt").read_text().splitlines()
        self.assertEqual(len(cal), 320)
        self.assertFalse(ev & set(cal))

    def test_make_text_arguments(self):
        r = subprocess.run([sys.executable, str(EXPLORE / "data" / "make_text.py"), "/nonexistent",
                            "-o", "/tmp/never.txt", "--skip", "-1"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("expected --sentences >= 1, --skip >= 0", r.stderr)


if __name__ == "__main__":
    unittest.main()
