"""explore/minilm_e2e.py: the router rule, choice.json checks, and the
real model end to end through attn's compiled kernels (the schedules of
make_artifacts.py, compiled by the ctest fixture explore-artifacts)."""
import contextlib
import io
import json
import shutil
import unittest
from pathlib import Path

import numpy as np

from common import artifacts, tmpdir

import minilm_e2e  # noqa: E402

SENTENCES = "6"


def e2e(explore_dir, *extra):
    """(exit status, report or None, stderr) of minilm_e2e.main."""
    out = Path(tmpdir("e2e")) / "report.json"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = minilm_e2e.main([str(explore_dir), "--max-sentences", SENTENCES,
                              "--json", str(out), "--threads", "2", *extra])
    report = json.loads(out.read_text()) if rc == 0 else None
    return rc, report, err.getvalue()


class RouterTest(unittest.TestCase):
    def test_value_norm(self):
        v = np.zeros((1, 3, 2, 4), np.float32)
        v[0, 0, 0, :2] = 3, 4          # norms 5 and 0: mean 2.5
        v[0, 2, :, 0] = 1              # norms 1 and 1: mean 1
        np.testing.assert_allclose(minilm_e2e.value_norm_scores(v), [[2.5, 0, 1]])

    def test_top_k_ties_go_to_the_lower_head(self):
        g = minilm_e2e.top_k_gates(np.array([[1.0, 2.0, 2.0, 0.0], [3.0, 5.0, 5.0, 5.0]]), 2)
        self.assertEqual(g.tolist(), [[False, True, True, False], [False, True, True, False]])
        self.assertEqual(minilm_e2e.top_k_gates(np.array([[1.0, 1.0]]), 0).tolist(),
                         [[False, False]])

    def test_importance_scores(self):
        entry = {"gate": {"scores": "importance", "keep": 1, "importance": [0.1, 0.9, 0.5]}}
        g = minilm_e2e.layer_gates(entry, np.ones((2, 3, 4, 8), np.float32))
        self.assertEqual(g.tolist(), [[False, True, False]] * 2)


def write_choice(d, layers):
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    (d / "choice.json").write_text(json.dumps({"budget": 1.0, "layers": layers}))
    return d / "choice.json"


def dense_layers(n=6):
    return [{"layer": i, "functions": [f"layer{i}"], "pattern": "#attn.dense", "gate": None,
             "top_k": None} for i in range(n)]


class ChoiceErrorsTest(unittest.TestCase):
    def check(self, layers, message):
        path = write_choice(tmpdir("choice"), layers)
        with self.assertRaisesRegex(minilm_e2e.E2EError, message):
            minilm_e2e.load_choice(path, 6, 12)

    def test_missing(self):
        with self.assertRaisesRegex(minilm_e2e.E2EError, "expected attn-explore's choice.json"):
            minilm_e2e.load_choice(Path(tmpdir("c")) / "choice.json", 6, 12)

    def test_missing_layer(self):
        self.check(dense_layers(5), r"each of the model's 6 layers; missing \[5\]")

    def test_layer_out_of_range(self):
        self.check(dense_layers(6) + [dict(dense_layers(1)[0], layer=6)],
                   r"expected 'layer' in \[0, 6\), found 6")

    def test_duplicate_layer(self):
        self.check(dense_layers(6) + dense_layers(1), "layer 0 appears twice")

    def test_bad_keep(self):
        layers = dense_layers()
        layers[2]["gate"] = {"scores": "value_norm", "keep": 13}
        self.check(layers, r"layers\[2\]: expected gate.keep in \[0, 12\], found 13")

    def test_bad_importance(self):
        layers = dense_layers()
        layers[1]["gate"] = {"scores": "importance", "keep": 3, "importance": [1.0] * 11}
        self.check(layers, "expected gate.importance of 12 numbers")

    def test_top_k_needs_two_functions(self):
        layers = dense_layers()
        layers[0]["top_k"] = {"query_block": 64, "key_block": 64, "top_k": 2}
        self.check(layers, "two functions exactly when 'top_k' is set")


@unittest.skipUnless(artifacts(), "ATTN_EXPLORE_ARTIFACTS is not set (ctest sets it)")
class EndToEndTest(unittest.TestCase):
    def test_dense_schedule_is_the_dense_model(self):
        rc, report, err = e2e(artifacts() / "dense")
        self.assertEqual(rc, 0, err)
        q = report["quality"]
        self.assertGreater(q["cosine_min"], 0.99999)
        self.assertEqual(q["nn_agreement"], 1.0)
        self.assertEqual(report["active_heads_fraction"], 1.0)
        self.assertEqual(report["sentences"], int(SENTENCES))

    def test_uniform_pruning_matches_its_emulation(self):
        rc, report, err = e2e(artifacts() / "uniform6", "--emulate")
        self.assertEqual(rc, 0, err)
        self.assertEqual(report["active_heads_fraction"], 0.5)
        self.assertEqual(report["work_fraction"], 0.5)
        # The kernels and gating equal the numpy emulation ...
        self.assertLess(report["emulation"]["max_abs_diff"], 1e-4)
        # ... and pruning half the heads does change the embeddings.
        self.assertLess(report["quality"]["cosine_mean"], 0.999)

    def test_local_window_matches_its_emulation(self):
        rc, report, err = e2e(artifacts() / "local8", "--emulate")
        self.assertEqual(rc, 0, err)
        self.assertTrue(0.3 < report["work_fraction"] < 0.9, report["work_fraction"])
        self.assertLess(report["emulation"]["max_abs_diff"], 1e-4)
        self.assertLess(report["quality"]["cosine_mean"], 0.9999)

    def test_selected_pairs_counts_listed_blocks_once(self):
        """S = 40 in blocks of 16 (keys 16, 16, 8), two heads of one KV group,
        the second gated off: duplicates, -1 and out-of-range entries add
        nothing; rows 16, 16, 8 see 24, 16, 8 keys -> 704 pairs for the one
        head on, 352 per (batch, head)."""
        _selected_pairs = minilm_e2e._selected_pairs
        blocks = np.array([[[[0, 2], [1, -1], [2, 2]]]], dtype=np.int32)
        blocks_out_of_range = np.array([[[[0, 2], [1, 7], [2, -1]]]], dtype=np.int32)
        gates = np.array([[True, False]])
        top_k = {"query_block": 16, "key_block": 16, "top_k": 2}
        self.assertEqual(_selected_pairs(blocks, top_k, 40, gates), 352.0)
        self.assertEqual(_selected_pairs(blocks_out_of_range, top_k, 40, gates), 352.0)
        self.assertEqual(_selected_pairs(blocks, top_k, 40, np.array([[False, False]])), 0.0)

    def test_top_k_selection(self):
        """Two functions a layer: the select kernel's indices feed the attend kernel."""
        rc, report, err = e2e(artifacts() / "topk")
        self.assertEqual(rc, 0, err)
        # Counted from the selections the kernel made: some blocks skipped.
        self.assertTrue(0.0 < report["work_fraction"] < 1.0, report["work_fraction"])
        self.assertLess(report["quality"]["cosine_mean"], 0.99)
        self.assertGreater(report["quality"]["cosine_min"], 0.0)
        rc, _, err = e2e(artifacts() / "topk", "--emulate")
        self.assertEqual(rc, 1)
        self.assertIn("with top-k selection has no numpy emulation", err)

    def test_markdown(self):
        md = Path(tmpdir("md")) / "e2e.md"
        rc, _, err = e2e(artifacts() / "dense", "--markdown", str(md))
        self.assertEqual(rc, 0, err)
        self.assertIn("| cosine mean | cosine min | cosine p5 | NN agreement |", md.read_text())

    # Bad input: each a clear message and exit status 1.
    def test_missing_artifact(self):
        d = Path(tmpdir("noart"))
        shutil.copy(artifacts() / "dense" / "choice.json", d)
        rc, _, err = e2e(d)
        self.assertEqual(rc, 1)
        self.assertIn("expected an artifact (manifest.json) at", err)

    def test_missing_explore_dir(self):
        rc, _, err = e2e("/no/such/explore-out")
        self.assertEqual(rc, 1)
        self.assertIn("expected an attn-explore output directory at /no/such/explore-out", err)

    def test_unknown_function(self):
        d = Path(tmpdir("fn"))
        layers = dense_layers()
        layers[3]["functions"] = ["layer9"]
        write_choice(d, layers)
        rc, _, err = e2e(d, "--artifact", str(artifacts() / "dense" / "artifact"))
        self.assertEqual(rc, 1)
        self.assertIn("layer 3 names function 'layer9', which the artifact", err)

    def test_gate_on_an_ungated_function(self):
        d = Path(tmpdir("gate"))
        shutil.copy(artifacts() / "uniform6" / "choice.json", d)
        rc, _, err = e2e(d, "--artifact", str(artifacts() / "dense" / "artifact"))
        self.assertEqual(rc, 1)
        self.assertIn("layer 0 has a gate but function layer0 takes no gates", err)

    def test_shape_mismatch_with_the_model(self):
        d = Path(tmpdir("heads"))
        shutil.copy(artifacts() / "dense" / "choice.json", d)
        rc, _, err = e2e(d, "--artifact", str(artifacts() / "heads8" / "artifact"))
        self.assertEqual(rc, 1)
        self.assertIn("function layer0: query is f32 ['B', 8, 'Sq', 32]; the model needs f32 "
                      "[B, 12, S, 32]", err)


if __name__ == "__main__":
    unittest.main()
