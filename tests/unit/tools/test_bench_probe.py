"""`python -m core bench probe` on stand-in bodies: the live probe's time and its losses."""
from __future__ import annotations

import pytest

from core.pretrain import config
from core.tools.bench import probe
from tests.helpers import ship_stand_in_bodies

pytestmark = pytest.mark.usefixtures("one_thread")


def test_bench_times_the_default_probe_on_the_arms_that_are_shipped(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "BODIES_DIR", ship_stand_in_bodies(tmp_path, ("english",)))
    monkeypatch.setattr(probe, "ProbeRunConfig",
                        lambda: config.ProbeRunConfig(arms=("scratch", "english", "nesting"),
                                                      steps=10))
    live = probe.run()["live_probe"]
    assert live["arms"] == ["scratch", "english"]  # nesting is not shipped: left out
    assert live["steps"] == 10 and 0 < live["wall_s"] and 0 < live["estimate_s"]
    assert live["s_per_step"] == pytest.approx(live["wall_s"] / 20, rel=0.05)
    runs = live["runs"]
    assert runs["english"]["gain"] == pytest.approx(runs["scratch"]["held_out_loss"]
                                                    - runs["english"]["held_out_loss"])
