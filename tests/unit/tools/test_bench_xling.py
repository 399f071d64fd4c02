"""`python -m core bench xling` on a tiny setting: the live run's time and the throughput."""
from __future__ import annotations

import pytest

from core.crosslingual import sizes
from core.tools.bench import xling

pytestmark = pytest.mark.usefixtures("one_thread")


def test_bench_times_the_live_run_at_the_references_smallest_size(monkeypatch):
    record = {"config": {"languages": ["en", "fake"], "vocab_size": 1_000, "batch_size": 8,
                         "line_length": 30, "size": "narrow", "sizes": [300, 0],
                         "probe_verses": 20}, "summary": {}, "cells": {}}
    monkeypatch.setattr(sizes, "load_sizes", lambda: record)
    monkeypatch.setattr(sizes, "LIVE_STEPS", 6)
    out = xling.run()
    live = out["live_run"]
    assert (live["per_language"], live["steps"], live["languages"]) == (300, 6, ["en", "fake"])
    assert 0 < live["wall_s"] and 0 < live["estimate_s"]
    assert set(live["test"]) == set(sizes.MEASURES)
    assert out["pretraining"]["tokens_per_step"] == 8 * 32
    assert out["pretraining"]["tokens_per_s"] == pytest.approx(
        256 / out["pretraining"]["s_per_step"], rel=0.05)  # s_per_step is rounded
