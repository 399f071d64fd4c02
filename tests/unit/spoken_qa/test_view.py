"""core.spoken_qa.view: the tab's figures, tables and summary, from plain numbers."""
from __future__ import annotations

import numpy as np
import pytest

from core.speech.units import Runs, dedup
from core.spoken_qa import view


def _ref() -> dict:
    curve = [{"step": 5, "loss": 4.0, "dev_ff1": 0.2, "dev_aos": 0.1}]
    return {"runs": {"pretrained": {"ff1": 0.41, "aos": 0.33, "n": 177, "curve": curve},
                     "random": {"ff1": 0.05, "aos": 0.03, "n": 177, "curve": curve}},
            "config": {"extractor": "mfcc", "k": 128, "unit_map": "offset", "steps": 5,
                       "batch_size": 8, "lr": 1e-4, "seed": 0, "eval_every": 5,
                       "eval_questions": 40},
            "model": "all-minilm-l6-v2", "machine": {"device": "CPU (2 threads)"},
            "wall_s": 600.0, "started": "2026-11-24 23:00:00 UTC"}


def test_envelope_keeps_the_peaks_of_a_long_clip():
    wave = np.zeros(16_000 * 60, dtype=np.float32)
    wave[123_456] = 0.9
    wave[654_321] = -0.7
    t, y = view.envelope(wave)
    assert len(t) == len(y) == 2 * view.ENVELOPE_POINTS
    assert y.max() == pytest.approx(0.9) and y.min() == pytest.approx(-0.7)
    assert np.all(np.diff(t) >= 0) and t[-1] < 60


def test_answer_figure_draws_one_bar_per_unit_run_and_shades_the_answer():
    runs: Runs = dedup(np.array([3, 3, 5, 5, 5, 1, 1, 2]))
    wave = np.random.default_rng(0).normal(0, 0.1, 8 * 320).astype(np.float32)
    fig = view.answer_figure(wave, runs, (0.04, 0.10), tokens=["a", "b", "c", "d"], k=8)
    bars = [t for t in fig.data if t.type == "bar"][0]
    assert len(bars.x) == 4 and list(bars.base) == pytest.approx([0, 0.04, 0.10, 0.14])
    assert "'b'" in bars.hovertext[1] and "3 frames" in bars.hovertext[1]
    shaded = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(shaded) == 2 and shaded[0].x0 == 0.04 and shaded[0].x1 == 0.10
    assert "8 frames -> 4 units" in fig.layout.title.text
    # another model's span and the true one: all three shaded or framed, labels stacked
    fig = view.answer_figure(wave, runs, (0.04, 0.10), others={"random": (0.12, 0.16)},
                             gold=(0.05, 0.09))
    shaded = [(s.x0, s.x1) for s in fig.layout.shapes if s.type == "rect"]
    assert shaded.count((0.12, 0.16)) == 2 and shaded.count((0.04, 0.10)) == 2
    labels = {a.text.split()[0]: a.yshift for a in fig.layout.annotations}
    assert labels == {"random": 0, "pretrained": 16, "true": 32}  # none on top of another
    assert fig.layout.margin.t == 40 + 3 * 16


def test_reference_figure_table_and_summary_put_ours_beside_dual():
    ref = _ref()
    fig = view.reference_figure(ref)
    ff1 = fig.data[0]
    assert list(ff1.x) == ["pretrained", "random", "DUAL (NMSQA)"]
    assert list(ff1.y) == [0.41, 0.05, view.DUAL_NMSQA["ff1"]]
    rows = view.reference_table(ref)
    assert rows[0] == ["pretrained", 0.41, 0.33, 177, 0.2] and rows[-1][1] == 0.56
    text = view.reference_summary(ref)
    assert "**pretrained** FF1 0.410" in text and "177 held-out test questions" in text
    assert "all-minilm-l6-v2 on CPU (2 threads), 10 min" in text
    assert ("train-spoken-qa --extractor mfcc --k 128 --unit-map offset --steps 5 --eval-every 5 "
            "--eval-questions 40") in text
    assert "by voice" not in text  # a record scored before the voices were scored apart
    ref["runs"]["pretrained"]["by_voice"] = {"en-gb-scotland": {"ff1": 0.5, "aos": 0.4, "n": 2},
                                             "en-us+f3": {"ff1": 0.25, "aos": 0.2, "n": 1}}
    assert ("**random** FF1 0.050, AOS 0.030 (test FF1 by voice: pretrained en-gb-scotland "
            "0.500, en-us+f3 0.250) on 177") in view.reference_summary(ref)


def test_comparison_has_a_row_per_run_with_both_starts():
    other = _ref()
    other["config"] = {**other["config"], "extractor": "tiny-hubert", "k": 64,
                       "window": 256, "train_takes": 3, "take_voices": "more"}
    del other["runs"]["random"]
    rows = view.comparison_rows([_ref(), other])
    assert [len(r) for r in rows] == [len(view.RUN_COLUMNS)] * 2
    assert len(view.RUN_WIDTHS) == len(view.RUN_COLUMNS)  # a width for every column
    assert sum(float(w.rstrip("%")) for w in view.RUN_WIDTHS) == 100
    assert rows[0] == ["mfcc", 128, "offset", 5, 512, 1, 6, 0, 0.41, 0.33, 0.05, 0.03, 177]
    assert rows[1][:2] == ["tiny-hubert", 64] and rows[1][4:7] == [256, 3, 20]
    assert rows[1][10:12] == [None, None]  # no random start
    assert "--train-takes 3 --take-voices more" in view.run_command(other["config"])
    assert "--inits" not in view.run_command(other["config"])
    one = view.run_command({**other["config"], "inits": ["pretrained"]})
    assert one.startswith("python -m core train-spoken-qa --extractor tiny-hubert --k 64 ") \
        and " --inits pretrained " in one


def test_curves_figure_draws_loss_span_loss_and_dev_ff1_per_start():
    curve = [{"step": 5, "loss": 4.0, "dev_loss": 3.5, "dev_ff1": 0.2, "dev_aos": 0.1}]
    curves = {"pretrained": curve, "random": curve}
    fig = view.curves_figure(curves, "reference training curves")
    assert [t.name for t in fig.data] == ["pretrained"] * 3 + ["random"] * 3
    assert [list(t.y) for t in fig.data[:3]] == [[4.0], [3.5], [0.2]]  # one panel each
    assert [a.text for a in fig.layout.annotations] == ["training loss", "held-out span loss",
                                                         "dev FF1"]
    assert fig.layout.title.text == "reference training curves"
    live = view.curves_figure({"random": [{"step": 1, "loss": 5.0}]}, "live",
                              reference=curves)  # a run drawn over the reference's curves
    assert [t.name for t in live.data] == ["reference pretrained"] * 3 \
        + ["reference random"] * 3 + ["random"] * 3
    assert live.data[0].line.dash == "dash" and live.data[6].line.dash is None
    seeds = {f"{i}/{s}": [{"step": 5, "loss": 4.0 + s, "dev_loss": 3.0 + s}]
             for i in ("pretrained", "random") for s in (0, 1)}
    banded = view.curves_figure({"random": [{"step": 1, "loss": 5.0}]}, "live", bands=seeds)
    means = [t for t in banded.data if (t.name or "").startswith("reference random (mean")]
    assert len(means) == 2 and list(means[1].y) == [3.5]  # the mean of the two seeds
    assert list(means[0].y) == [4.5] and means[-1].showlegend  # named once, last panel
    # no curve has dev FF1 (the live default): no empty FF1 panel
    assert [a.text for a in banded.layout.annotations] == ["training loss",
                                                           "held-out span loss"]
    old = view.curves_figure({"random": [{"step": 5, "loss": 4.0, "dev_ff1": 0.2}]}, "ref")
    assert [a.text for a in old.layout.annotations] == ["training loss", "dev FF1"]


def test_steps_label_reads_the_cost_of_a_step_from_the_reference():
    ref = {"config": {"steps": 100, "inits": ["pretrained", "random"]}, "wall_s": 1000.0,
           "machine": {"device": "CPU (2 threads)"}, "runs": {"pretrained": {}, "random": {}}}
    assert view.steps_label(ref) == "Steps (~5 s each in the reference run, on CPU (2 threads))"
    assert view.steps_label(dict(ref, wall_s=1800.0)).startswith("Steps (~9 s each")
    timed = {"pretrained": {"train_s": 1000.0}, "random": {"train_s": 1000.0}}  # resumed or apart
    assert view.steps_label(dict(ref, runs=timed)).startswith("Steps (~10 s each")
    part = dict(timed, random={})  # one start untimed: the process's wall time
    assert view.steps_label(dict(ref, runs=part)).startswith("Steps (~5 s each")
    assert view.steps_label(None) == "Steps"
