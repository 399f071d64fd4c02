"""core.dna.view from plain dicts: figures, tables and the text written from a run record."""
from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest

from core.common.errors import InputError
from core.common.paths import ROOT
from core.dna import finding, view
from core.dna import lab as dna_lab


def _run(per_seed: list[float], ci95: float | None) -> dict:
    return {"test_accuracy": float(np.mean(per_seed)), "ci95": ci95, "per_seed": per_seed,
            "final_dev_accuracy": per_seed}


def _curve(dev: list[float]) -> list[dict]:
    return [{"step": i + 1, "loss": 1.0 / (i + 1), "dev_accuracy": a} for i, a in enumerate(dev)]


@pytest.fixture
def record() -> dict:
    """A two-task, two-start, two-seed record shaped like assets/dna/reference.json."""
    def task(pre, rnd):
        return {"runs": {"pretrained": _run(pre, 0.05), "random": _run(rnd, 0.04)},
                "curves": {"pretrained/0": _curve([0.5, pre[0]]),
                           "random/0": _curve([0.4, rnd[0]]),
                           "pretrained/1": _curve([0.6, pre[1]]),
                           "random/1": _curve([0.5, rnd[1]])},
                "labels": ["a", "b"], "elapsed_s": 1.0}

    return {"config": {"datasets": ["promoters", "coding"], "inits": ["pretrained", "random"],
                       "steps": 2, "seeds": 2, "train_size": 16, "k": 2, "eval_every": 1,
                       "lr": 2e-4, "batch_size": 32, "model": "tiny"},
            "machine": {"device": "CPU (1 thread)", "platform": "x", "torch": "9.9"},
            "started": "2030-01-01 00:00:00 UTC",
            "datasets": {"promoters": task([0.8, 0.9], [0.6, 0.7]),
                         "coding": task([0.55, 0.65], [0.7, 0.72])},
            "wall_s": 120.0}


def test_view_imports_no_torch():
    code = "import sys, core.dna.view; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_run_figure_and_results_table_from_plain_numbers(record):
    curves = record["datasets"]["coding"]["curves"]
    config = {"dataset": "coding", "train_size": None, "k": 3}
    fig = view.run_figure(curves, config, 3, 8)
    assert len(fig.data) == 2 * len(curves)  # loss + dev accuracy per run
    assert fig.layout.title.text == "coding: all training sequences, k=3, 3/8 steps"
    # over the reference's bands, cut to this run's updates (a short run is its early phase)
    with_bands = view.run_figure(curves, dict(config, steps=1), 1, 8, reference=record)
    bands = [t for t in with_bands.data if "this run" not in (t.name or "")
             and t.name not in ("pretrained", "random")]
    assert bands and max(x for t in bands for x in t.x if x is not None) == 1
    assert max(x for t in view.run_figure(curves, dict(config, steps=2), 1, 8,
                                          reference=record).data for x in t.x) == 2
    # a run shorter than the reference's first dev evaluation still gets its bands (and legend)
    late = {k: [dict(p, step=p["step"] * 10) for p in c] for k, c in curves.items()}
    ref = dict(record, datasets={"coding": dict(record["datasets"]["coding"], curves=late)})
    short = view.run_figure(curves, dict(config, steps=1), 1, 8, reference=ref)
    assert any((t.name or "").startswith("reference") for t in short.data)
    runs = {"pretrained": _run([0.7, 0.8], 0.6353), "random": _run([0.5], None)}
    assert view.results_table(runs) == [["pretrained", 0.75, "± 0.635", "0.700, 0.800"],
                                        ["random", 0.5, "n/a (1 seed)", "0.500"]]


def test_importance_figure_from_a_prediction_dict():
    pred = {"sequence": "ACGTA", "k": 2, "probs": {"EI": 0.2, "IE": 0.7, "N": 0.1},
            "importance": [0.1, 0.1, -0.2, -0.2, 0.0], "tokens": ["cat", "dog"]}
    fig = view.importance_figure(pred)
    assert list(fig.data[0].y) == pred["importance"]
    assert list(fig.data[0].customdata) == ["cat", "cat", "dog", "dog", ""]
    assert fig.layout.title.text.startswith("Which bases drive 'IE' (p = 0.70)")


def test_reference_figure_table_and_summary(record):
    fig = view.reference_figure(record, "coding")
    # per init and panel (loss, dev): the seeds' range (shaded) and their mean
    assert len(fig.data) == 2 * 2 * 2
    mean_random = next(t for t in fig.data if t.name == "random (mean, range of 2 seeds)"
                       and t.xaxis == "x2")
    assert mean_random.y[-1] == pytest.approx(np.mean([0.7, 0.72]))
    band = next(t for t in fig.data if t.fill == "toself" and t.legendgroup == "random"
                and t.xaxis == "x2")
    assert max(band.y) == pytest.approx(0.72) and min(band.y) == pytest.approx(0.4)
    rows = view.reference_table(record)
    assert [(r[0], r[1]) for r in rows] == [(d, i) for d in ("promoters", "coding")
                                            for i in ("pretrained", "random")]
    assert rows[0][2:5] == [0.85, "± 0.050", "0.800, 0.900"] and rows[0][5] == ""
    summary = view.reference_summary(record)
    assert "--steps 2 --seeds 2 --train-size 16 --k 2" in summary and "2 min in all" in summary
    with pytest.raises(InputError, match="has no 'splice'"):
        view.reference_figure(record, "splice")


def test_paper_column_only_on_splice(record):
    record["datasets"] = {"splice": record["datasets"]["coding"]}
    assert [r[5] for r in view.reference_table(record)] == ["0.975", "0.950"]


def test_finding_is_computed_from_the_record(record):
    text = finding.reference_finding(record)
    assert "2 seeds per starting point, at most 16 labelled training sequences per task, " \
           "2 bases per word, 2 steps" in text and "CPU (1 thread)" in text
    assert "- **promoters**: pretrained 0.850 ± 0.050, random 0.650 ± 0.040. " \
           "pretrained leads, 0.200 ahead of random; their 95% intervals do not overlap." in text
    assert "- **coding**: pretrained 0.600 ± 0.050, random 0.710 ± 0.040. " \
           "random leads, 0.110 ahead of pretrained; their 95% intervals do not overlap." in text
    assert "ahead of random init on promoters, but not on coding." in text
    assert "re-emb" not in text  # no such start in this record


def test_finding_follows_changed_numbers(record):
    before = finding.reference_finding(record)
    record["datasets"]["promoters"]["runs"]["random"] = _run([0.95, 0.97], 0.1)
    after = finding.reference_finding(record)
    assert after != before
    assert "random 0.960 ± 0.100. random leads, 0.110 ahead of pretrained; " \
           "their 95% intervals overlap." in after
    assert "not ahead of random init on promoters and coding." in after


def test_finding_names_ties_and_single_seeds(record):
    runs = record["datasets"]["coding"]["runs"]
    runs["pretrained"] = _run([0.7], None)
    runs["random"] = _run([0.7], None)
    assert finding.task_verdict(runs) == "pretrained and random tie."
    runs["re-emb"] = _run([0.6], None)
    assert finding.task_verdict(runs) == ("pretrained and random tie for the lead, 0.100 ahead of "
                                       "re-emb; one seed gives no 95% interval.")
    runs["pretrained"]["ci95"] = runs["random"]["ci95"] = runs["re-emb"]["ci95"] = 0.04
    assert finding.task_verdict(runs).endswith("their 95% intervals do not overlap.")
    runs["re-emb"]["ci95"] = 0.07
    assert finding.task_verdict(runs).endswith("their 95% intervals overlap.")
    runs["re-emb"]["ci95"] = runs["pretrained"]["ci95"] = None
    text = finding.reference_finding(record)
    assert "pretrained 0.700 n/a (1 seed)" in text
    assert "re-emb and pretrained" not in text  # no intervals to compare on coding


def test_finding_quotes_the_committed_reference():
    ref = dna_lab.load_reference()
    text = finding.reference_finding(ref)
    for name, result in ref["datasets"].items():
        runs = result["runs"]
        for init, r in runs.items():
            assert f"{init} {r['test_accuracy']:.3f} ± {r['ci95']:.3f}" in text, (name, init)
        leader = max(runs, key=lambda i: runs[i]["test_accuracy"])
        line = next(ln for ln in text.splitlines() if ln.startswith(f"- **{name}**"))
        assert f"{leader} leads" in line
    splice = ref["datasets"]["splice"]["runs"]["pretrained"]["test_accuracy"]
    assert f"pretrained {splice:.3f}" in text
    cfg = ref["config"]
    assert f"{cfg['seeds']} seeds" in text and f"{cfg['steps']} steps" in text
    changed = copy.deepcopy(ref)
    changed["datasets"]["splice"]["runs"]["pretrained"]["test_accuracy"] = 0.123
    line = next(ln for ln in finding.reference_finding(changed).splitlines()
                if ln.startswith("- **splice**"))
    assert "pretrained 0.123" in line and f"pretrained {splice:.3f}" not in line


def test_finding_without_a_reference():
    assert "No reference run is committed" in finding.reference_finding(None)


def test_view_output_is_json_ready(record):
    json.dumps(view.reference_table(record))
    json.dumps(view.results_table(record["datasets"]["coding"]["runs"]))


def _diff(mean: float, ci: float | None, n: int = 5) -> dict:
    return {"mean": mean, "ci95": ci, "per_seed": [mean] * n, "n": n, "seeds": list(range(n))}


def _sized_record(record) -> dict:
    """The record with sizes: paired differences at 100, 400 and all sequences."""
    rec = copy.deepcopy(record)
    rec["config"].update(sizes=[100, 400, 0], layers=3, lrs={"pretrained": 1e-4,
                                                            "random": 3e-4},
                         lr_search={"task": "splice", "size": 400, "seeds": [100, 101]},
                         datasets=["coding"])
    del rec["config"]["train_size"]
    task = rec["datasets"]["coding"]
    task["size"] = 100
    gaps = {"100": (0.08, 0.03), "400": (0.03, 0.02), "0": (-0.01, 0.02)}
    task["by_size"] = {s: {"runs": task["runs"], "paired": {"pretrained - random": {
        "test_accuracy": _diff(*g), "auc": _diff(g[0] * 2, 0.01)}}} for s, g in gaps.items()}
    task["paired"] = task["by_size"]["100"]["paired"]
    rec["datasets"] = {"coding": task}
    return rec


def test_size_figure_and_paired_table_from_the_record(record):
    rec = _sized_record(record)
    fig = view.size_figure(rec)
    assert list(fig.data[0].x) == ["100", "400", "all"]
    assert list(fig.data[0].y) == pytest.approx([0.08, 0.03, -0.01])
    assert list(fig.data[0].error_y.array) == pytest.approx([0.03, 0.02, 0.02])
    rows = view.paired_table(rec)
    assert ["coding", 100, "pretrained − random", "test accuracy", 0.08, "± 0.030", 5] in rows
    assert len(rows) == 3 * 2
    assert view.size_figure(record) is None and view.paired_table(record) == []


def test_finding_quotes_paired_gaps_sizes_and_rates(record):
    text = finding.reference_finding(_sized_record(record))
    assert ("*pretrained − random*, paired over 5 seeds: test accuracy +0.080 ± 0.030 "
            "(interval above zero); area under the dev curve +0.160 ± 0.010") in text
    assert "coding: 100 +0.080 ± 0.030, 400 +0.030 ± 0.020, all -0.010 ± 0.020 " \
           "(largest with 100)" in text
    assert "the first 3 of its layers" in text and "coding 100" in text
    assert "chosen on dev (splice, 400 sequences, 2 seeds of their own" in text
    assert "pretrained 1e-4, random 3e-4" in text
    assert finding.paired_text({"x - random": {"test_accuracy": _diff(-0.05, 0.02)}}) == \
        "*x − random*, paired over 5 seeds: test accuracy -0.050 ± 0.020 (interval below zero)."


def test_finding_quotes_every_dev_checkpoint_and_says_when_pretrained_is_ahead_early():
    paired = {"test_accuracy": _diff(-0.05, 0.1), "dev_at_100": _diff(-0.12, 0.1),
              "dev_at_50": _diff(0.08, 0.05), "auc": _diff(-0.04, 0.07)}
    text = finding.paired_text({"pretrained - random": paired})
    order = [text.index(w) for w in ("test accuracy", "dev accuracy at 50 updates +0.080",
                                     "dev accuracy at 100 updates -0.120", "area under")]
    assert order == sorted(order)  # test, then dev by updates (earliest first), then area
    ref = {"datasets": {"splice": {"paired": {"pretrained - random": paired}}}}
    assert finding.early_text(ref) == (
        "**Early in training** (paired dev accuracy, 95% interval clear of zero), pretrained "
        "vs random init: splice: ahead after 50 updates, behind after 100.")
    level = {"dev_at_50": _diff(0.02, 0.05)}  # spans zero: nothing to say
    assert finding.early_text({"datasets": {"splice": {"paired": {
        "pretrained - random": level}}}}) == ""


def _searched(rec) -> dict:
    """The record with its rate search: pretrained ahead at the two low rates, not at 1e-3."""
    rec = copy.deepcopy(rec)
    aucs = {"pretrained": {"3e-05": 0.62, "0.0001": 0.70, "0.0003": 0.75, "0.001": 0.76},
            "random": {"0.0001": 0.60, "0.0003": 0.71, "0.001": 0.78, "0.003": 0.56}}
    rec["lr_search"] = {i: {lr: _diff(v, 0.02, 2) for lr, v in rows.items()}
                        for i, rows in aucs.items()}
    rec["config"]["lrs"] = {"pretrained": 1e-3, "random": 1e-3}
    return rec


def test_rate_search_figure_and_text_from_the_record(record):
    rec = _searched(_sized_record(record))
    assert [lr for lr, _ in finding.rate_gaps(rec)] == [1e-4, 3e-4, 1e-3]
    text = finding.rate_text(rec)
    assert ("the pretrained start is ahead at 1e-4 (+0.100) and 3e-4 (+0.040); not at 1e-3 "
            "(-0.020). Each start's best rate: pretrained 1e-3 (0.760), random 1e-3 (0.780).") \
        in text
    assert text in finding.reference_finding(rec)
    fig = view.rate_figure(rec)
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in lines] == ["pretrained", "random"]
    assert list(lines[0].x) == [3e-5, 1e-4, 3e-4, 1e-3] and fig.layout.xaxis.type == "log"
    assert list(fig.layout.xaxis.ticktext) == ["3e-5", "1e-4", "3e-4", "1e-3", "3e-3"]  # no "100μ"
    rings = [t for t in fig.data if t.mode == "markers"]
    assert [(list(t.x), list(t.y)) for t in rings] == [([1e-3], [0.76]), ([1e-3], [0.78])]
    assert view.rate_figure(_sized_record(record)) is None  # rates given, not searched
    assert finding.rate_text(_sized_record(record)) == ""
    assert finding.rate_name(3e-05) == "3e-5" and finding.rate_name(0.002) == "2e-3"
    assert finding.rate_name(2.5e-4) == "2.5e-4"


def test_one_rate_record_is_said_with_its_rate_and_paired_differences(record):
    rec = _sized_record(record)
    rec["config"]["lrs"] = {"pretrained": 1e-4, "re-emb": 1e-4, "random": 1e-4}
    text = finding.shared_finding(rec)
    assert text.startswith("**One learning rate for every start, as in the paper** (1e-4; "
                           "coding, 100 labelled sequences, ")
    assert "*pretrained − random*, paired over 5 seeds: test accuracy +0.080 ± 0.030 " \
           "(interval above zero)" in text
    assert finding.shared_finding(None) == ""
