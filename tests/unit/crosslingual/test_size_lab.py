"""core.crosslingual.size_lab: one corpus-size model pretrained live in the reference's
setting, probed along the way, tested at the end, refused up front past a budget."""
from __future__ import annotations

import pytest

from core.common.errors import InputError
from core.crosslingual import size_lab, sizes, view

pytestmark = pytest.mark.usefixtures("one_thread")
RECORD = {"config": {"languages": ["en", "fake"], "vocab_size": 1_000, "batch_size": 8,
                     "line_length": 30, "size": "narrow", "lr": 3e-3, "packing": "verse",
                     "sizes": [300, 0], "train_verses": 23_871},
          "summary": {}, "cells": {}}


def test_live_config_takes_the_references_setting_and_checks_the_ranges():
    cfg = size_lab.live_config(RECORD, per_language=300, steps=40, seed=2)
    assert (cfg.languages, cfg.vocab_size, cfg.batch_size, cfg.lr) == (("en", "fake"), 1_000,
                                                                       8, 3e-3)
    assert (cfg.per_language, cfg.steps, cfg.seed, cfg.packing) == (300, 40, 2, "verse")
    assert size_lab.live_config(None, per_language=0).languages == ("en", "de", "ru")
    with pytest.raises(InputError, match="verses per language must be between 0 \\(all\\) "
                                         "and 23,"):
        size_lab.live_config(RECORD, per_language=10**6)
    with pytest.raises(InputError, match="steps must be between 1 and 5000, got 0"):
        size_lab.live_config(RECORD, per_language=300, steps=0)


def test_a_live_run_probes_along_the_way_and_lands_a_test_point():
    cfg = size_lab.live_config(RECORD, per_language=300, steps=12)
    phases, last = [], None
    for last in size_lab.run(cfg):
        phases.append(last.phase)
    assert phases[-1] == "done" and phases[-2] == "testing on held-out verses"
    assert phases.count("pretraining") >= 6  # yielded as it went
    m = last.metrics()
    probes = [p for p in m["curve"] if "layer" in p]
    assert [p["step"] for p in probes] == [2, 4, 6, 8, 10, 12]  # PROBES = 6
    assert set(sizes.MEASURES) <= set(m["test"]) and 1 <= m["test"]["layer"] <= 6
    assert m["test"]["layer"] == probes[-1]["layer"]  # the layer the last probe chose
    assert m["tokens"]["en"] > 0 and m["config"]["per_language"] == 300
    fig = view.live_size_figure(RECORD, m)
    names = [t.name for t in fig.data]
    assert "your run: 300 verses, 12 steps" in names
    assert "your run: 300 verses, 12 steps (test)" in names


def test_a_run_past_the_budget_is_refused_before_it_starts():
    cfg = size_lab.live_config(RECORD, per_language=300, steps=5_000)
    s_step = size_lab.step_seconds(cfg, "cpu")
    assert 0 < s_step < 5
    assert size_lab.estimate_s(cfg, s_step) > 5_000 * s_step
    with pytest.raises(InputError, match="the web UI allows 1 s. Use fewer steps"):
        next(size_lab.run(cfg, budget_s=1.0))


def test_a_live_point_far_from_the_reference_sizes_stays_in_view():
    test = {m: 0.05 for m in sizes.MEASURES} | {"layer": 2}
    run = {"config": {"per_language": 50, "steps": 40}, "curve": [], "test": test,
           "done_steps": 40}
    lo, hi = view.live_size_figure(RECORD, run).layout.xaxis.range
    assert lo < 1.69 < 4.38 < hi  # log10(50 verses) and log10(23,871) both on the axis
    lo_ref, hi_ref = view.size_figure(RECORD).layout.xaxis.range
    assert lo_ref > 1.69  # the reference alone starts past 50 verses


def test_the_estimate_counts_the_probes_a_run_makes_and_the_verses_it_reads():
    short = size_lab.live_config(RECORD, per_language=300, steps=3)  # a probe at each step
    long = size_lab.live_config(RECORD, per_language=300, steps=600)  # PROBES probes
    def reads(cfg, **kw):  # seconds beyond the steps: the probes and the test pass
        return size_lab.estimate_s(cfg, 1.0, **kw) - size_lab.START_S - cfg.steps

    assert reads(short) == pytest.approx(reads(long) * (3 * 200 + 500) / (6 * 200 + 500))
    assert reads(long, test_verses=1_000) > reads(long)
    assert size_lab.verses_of({"config": {"test_verses": 80}}) == {
        "probe_verses": size_lab.PROBE_VERSES, "test_verses": 80}
    assert size_lab.verses_of(None) == {"probe_verses": size_lab.PROBE_VERSES,
                                        "test_verses": size_lab.TEST_VERSES}
