"""The committed transfer reference and the bodies shipped with it: what the tab reads and
probes is what the sweep measured."""
from __future__ import annotations

import pytest

from core.pretrain import bodies, config
from core.pretrain import transfer_view as tview

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def rec():
    record = config.load_transfer()
    assert record is not None, "assets/pretrain/transfer.json is committed"
    return record


def test_every_arm_of_the_reference_is_shipped_and_measured_with_paired_seeds(rec):
    arms = rec["config"]["arms"]
    assert config.arms_available() == arms  # scratch, matched and every pretrained scheme
    seeds = list(range(rec["config"]["seeds"]))
    assert len(seeds) >= 5
    for arm in arms[1:]:
        assert rec["probe"][arm]["gain"]["seeds"] == seeds
        for task in rec["config"]["tasks"]:
            assert rec["finetune"][task][arm]["gain"]["seeds"] == seeds
            assert rec["finetune"][task][arm]["lr"] in rec["config"]["lr_grid"]
    assert rec["pretrain"]["english"]["learned"] is True  # English was learned before transfer
    assert rec["compute_s"] > rec["wall_s"]


def test_the_shipped_bodies_probe_as_the_reference_recorded(rec):
    cfg = config.ProbeRunConfig(arms=("english",), steps=rec["config"]["probe_steps"], seed=0)
    state = None
    for state in bodies.probe_run(cfg):
        pass
    loss = state.metrics()["runs"]["english"]["held_out_loss"]
    # float16 storage: within a few hundredths of a nat of the reference's seed 0
    assert loss == pytest.approx(rec["probe"]["english"]["per_seed"][0], abs=0.02)
    assert loss < min(rec["probe"]["scratch"]["per_seed"])  # reads English better than scratch
    assert tview.probe_figure(rec).data[0].x  # the tab's figure has its bars
