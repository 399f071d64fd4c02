"""core.pretrain.view: figures, tables and the reference's text, from plain numbers."""
from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest

from core.common import records
from core.common.paths import ASSETS, ROOT
from core.common.stats import mean_ci95
from core.pretrain import view

REFERENCE = ASSETS / "pretrain" / "reference.json"


def _run(per_seed: list[float], losses: list[float]) -> dict:
    return {"mlm_loss": losses, "mlm_steps": list(range(1, len(losses) + 1)),
            "test_accuracy": float(np.mean(per_seed)), "per_seed": per_seed,
            "ci95": None if len(per_seed) < 2 else mean_ci95(per_seed)[1]}


def _metrics(runs: dict[str, tuple[list[float], list[float]]], seeds: int) -> dict:
    """PretrainState.metrics()'s shape: runs (scratch last) with gains, and the config."""
    out = {name: _run(*r) for name, r in runs.items()}
    base = out["scratch"]["test_accuracy"]
    for name, r in out.items():
        if name != "scratch":
            r["gain_over_scratch"] = r["test_accuracy"] - base
    schemes = [s for s in runs if s != "scratch"]
    return {"runs": out, "elapsed_s": 1.0,
            "config": {"schemes": schemes, "size": "tiny", "arch": "bert", "steps": 40,
                       "batch_size": 8, "task": "sentiment", "finetune_steps": 20,
                       "train_size": None, "seeds": seeds, "seed": 0}}


@pytest.fixture
def metrics() -> dict:
    return _metrics({"flat-128": ([0.80, 0.84], [10.3, 10.2, 10.2]),
                     "zipf-1.2": ([0.70, 0.71], [10.3, 8.0, 7.1]),
                     "scratch": ([0.75, 0.76], [])}, seeds=2)


def _record(metrics: dict) -> dict:
    return {"metrics": metrics, "mlm": {}, "finetune": {},
            "machine": {"device": "CPU (2 threads)", "platform": "Linux", "torch": "2.0"},
            "started": "2026-01-01 00:00:00 UTC", "wall_s": 600.0}


def test_figures_and_table_show_the_run_beside_the_paper(metrics):
    fig = view.gains_figure(metrics, "sentiment")
    ours, paper = fig.data
    assert list(ours.x) == ["flat-128", "zipf-1.2"]
    assert ours.y[0] == pytest.approx(100 * metrics["runs"]["flat-128"]["gain_over_scratch"])
    assert list(ours.error_y.array) == pytest.approx(
        [100 * metrics["runs"][s]["ci95"] for s in ("flat-128", "zipf-1.2")])
    assert paper.y[0] == view.PAPER_GAINS["flat-128"] and paper.y[1] is None  # not in the paper
    assert fig.layout.title.text == "sentiment (scratch: 75.5%)"
    mlm = {"flat-128": [{"step": 1, "loss": 10.3}, {"step": 2, "loss": 10.2}]}
    curves = view.mlm_figure(mlm)
    assert [t.name for t in curves.data] == ["flat-128"] and list(curves.data[0].y) == [10.3, 10.2]
    ref = {"flat-128": [{"step": 100, "loss": 9.0}], "english": [{"step": 100, "loss": 7.0}]}
    over = view.mlm_figure(mlm, reference=ref)  # only the run's schemes, dashed, behind it
    assert [t.name for t in over.data] == ["reference flat-128", "flat-128"]
    assert over.data[0].line.dash == "dash" and over.data[0].line.color == over.data[1].line.color
    rows = view.results_table(metrics)
    assert [r[0] for r in rows] == ["flat-128", "zipf-1.2", "scratch"]
    assert len(rows[0]) == len(view.TABLE_HEADERS)
    assert rows[0][1:] == [0.82, rows[0][2], "+6.5", "+14.5", 10.2]
    assert rows[0][2].startswith("± ") and rows[2][3] == rows[2][4] == rows[2][5] == ""


def test_single_seed_runs_show_no_interval():
    m = _metrics({"uniform": ([0.7], [10.4, 10.3]), "scratch": ([0.75], [])}, seeds=1)
    assert view.results_table(m)[0][2] == "n/a (1 seed)"
    assert not view.gains_figure(m, "t").data[0].error_y.visible
    text = view.reference_finding(_record(m))
    assert "with 1 seed " in text and "`uniform` -5.0." in text and "±" not in text


def test_reference_figure_lists_the_schemes_in_the_record_order():
    ref = records.load(REFERENCE)
    cfg = records.config_of(ref)
    fig = view.gains_figure(ref["metrics"], "reference")
    assert list(fig.data[0].x) == [s for s in cfg["schemes"] if s != "scratch"]


def _quoted(ref: dict) -> list[str]:
    """The numbers the finding must quote, computed here from the record's raw numbers."""
    c, runs = records.config_of(ref), ref["metrics"]["runs"]
    base = runs["scratch"]["per_seed"]
    want = [f"{c['steps']} MLM steps of {c['batch_size']} lines", f"with {c['seeds']} seeds",
            f"{c['finetune_steps']} fine-tuning steps on {c['task']}",
            f"{runs['scratch']['test_accuracy']:.3f}", ref["machine"]["device"]]
    for scheme, r in runs.items():
        if scheme == "scratch":
            continue
        _, half = mean_ci95([100 * (a - b) for a, b in zip(r["per_seed"], base)])
        want.append(f"`{scheme}` {100 * (np.mean(r['per_seed']) - np.mean(base)):+.1f} "
                    f"± {half:.1f}")
        want.append(f"`{scheme}` {r['mlm_loss'][0]:.1f} → {r['mlm_loss'][-1]:.1f}")
    return want


def test_reference_finding_quotes_the_record():
    ref = records.load(REFERENCE)
    text = view.reference_finding(ref)
    for piece in _quoted(ref):
        assert piece in text, piece
    gains = [r["gain_over_scratch"] for s, r in ref["metrics"]["runs"].items() if s != "scratch"]
    assert ("**no scheme beats scratch**" in text) == (max(gains) <= 0)


def test_reference_finding_follows_the_record_when_it_changes():
    ref = records.load(REFERENCE)
    before = view.reference_finding(ref)
    changed = copy.deepcopy(ref)
    runs = changed["metrics"]["runs"]
    base = runs["scratch"]["per_seed"]
    flat = runs["flat-128"]
    flat["per_seed"] = [a + 0.2 for a in base]  # flat-128 now 20 points above scratch
    flat["test_accuracy"] = float(np.mean(flat["per_seed"]))
    flat["gain_over_scratch"] = flat["test_accuracy"] - float(np.mean(base))
    flat["mlm_loss"] = [10.3, 4.31]
    changed["metrics"]["config"]["steps"] = 1234
    text = view.reference_finding(changed)
    assert text != before
    for piece in _quoted(changed):
        assert piece in text, piece
    assert "**no scheme beats scratch**" not in text
    assert "**`flat-128` beats scratch** (`flat-128` beyond its paired interval)" in text
    assert "`flat-128` +20.0" in text and "1234 MLM steps" in text and "10.3 → 4.3" in text
    assert "600 MLM steps" in before and "`flat-128` -4.0" in before


def test_reference_summary_says_how_the_reference_was_made():
    ref = records.load(REFERENCE)
    c = records.config_of(ref)
    line = view.reference_summary(ref, line_length=126)
    assert f"--schemes {','.join(c['schemes'])} --size {c['size']} --steps {c['steps']}" in line
    assert ref["machine"]["device"] in line and "lines of 126 tokens" in line


def test_view_imports_no_torch():
    code = "import sys, core.pretrain.view; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "False"


def test_floors_are_drawn_dotted_per_scheme_and_the_verdict_names_who_got_below():
    from core.pretrain import view as v

    curves = {"flat-2": [{"step": 10, "loss": 9.0}, {"step": 20, "loss": 5.0},
                         {"step": 30, "loss": 5.0}, {"step": 40, "loss": 5.0}],
              "uniform": [{"step": 10, "loss": 9.1}, {"step": 40, "loss": 9.0}]}
    metrics = {"runs": {"flat-2": {"floor": 6.6, "learned": True},
                        "uniform": {"floor": 8.99, "learned": False}, "scratch": {}}}
    fig = v.mlm_figure(curves, floors=v.floors_of(metrics))
    dotted = [t for t in fig.data if t.line.dash == "dot"]
    assert [t.name for t in dotted] == ["flat-2 floor 6.60", "uniform floor 8.99"]
    assert list(dotted[0].y) == [6.6, 6.6] and list(dotted[0].x) == [0, 40]
    assert dotted[0].line.color == fig.data[0].line.color  # the scheme's own colour
    text = v.floor_sentence(metrics)
    assert "below it (learned structure): `flat-2`" in text and "Did not: `uniform`" in text
    assert v.floor_sentence({"runs": {"flat-2": {}}}) == ""  # old records: nothing claimed
