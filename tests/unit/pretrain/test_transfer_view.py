"""core.pretrain.transfer_view: the transfer reference's figures, table and text, from a
record built by the sweep's own aggregation of hand-made cells."""
from __future__ import annotations

import pytest

from core.pretrain import transfer_view as tv
from core.tools.sweeps import transfer


@pytest.fixture(scope="module")
def rec():
    arms = ["scratch", "matched", "english", "uniform"]
    config = {"schemes": ["english", "uniform"], "tasks": ["qnli", "sentiment"], "size": "tiny",
              "vocab": "lab", "steps": 800, "batch_size": 32, "seeds": 3, "probe_steps": 200,
              "finetune_steps": 150, "train_size": None, "lr_grid": [1e-4, 1e-3],
              "lr_seed": 100, "init_seed": 0, "arms": arms}
    probe = {"scratch": [6.9, 6.95, 6.92], "matched": [6.9, 6.96, 6.9],
             "english": [6.5, 6.55, 6.52], "uniform": [7.0, 7.05, 7.02]}
    acc = {"qnli": {"scratch": [0.60, 0.62, 0.61], "matched": [0.61, 0.60, 0.63],
                    "english": [0.70, 0.71, 0.73], "uniform": [0.55, 0.56, 0.54]},
           "sentiment": {a: [0.70, 0.71, 0.72] for a in arms}}
    cells = {f"probe/{a}/{s}": {"held_out_loss": v[s], "curve": [{"step": 200,
                                                                   "held_out_loss": v[s]}]}
             for a, v in probe.items() for s in range(3)}
    cells.update({f"ft/{t}/{a}/{s}": {"test": v[s]} for t, rows in acc.items()
                  for a, v in rows.items() for s in range(3)})
    progress = {"config": config, "cells": cells,
                "lrs": {t: {a: 1e-4 for a in arms} for t in acc},
                "pretrain": {"english": {"curve": [{"step": 800, "loss": 5.0}], "floor": 6.65,
                                         "learned": True, "wall_s": 3000.0},
                             "uniform": {"curve": [{"step": 800, "loss": 8.99}],
                                         "floor": 8.99, "learned": False, "wall_s": 3000.0}}}
    cells["probe/scratch/0"]["wall_s"] = 1200.0  # the compute: pretraining and cells summed
    return dict(transfer.aggregate(progress), config=config, wall_s=60.0,
                machine={"device": "CPU (2 threads)"})


def test_probe_figure_puts_the_best_reader_of_english_first(rec):
    fig = tv.probe_figure(rec)
    bars = fig.data[0]
    assert list(bars.x) == ["english", "matched", "uniform"]  # scratch is the baseline
    assert bars.y[0] == pytest.approx(0.4, abs=1e-9)  # 6.92 - 6.52, paired
    assert "scratch: 6.923 nats" in fig.layout.title.text


def test_finetune_figure_and_rows_sit_beside_the_papers_gains(rec):
    fig = tv.finetune_figure(rec)
    qnli = next(t for t in fig.data if t.name == "qnli")
    assert list(qnli.x) == ["matched", "english", "uniform"]
    assert qnli.y[1] == pytest.approx(10.333, abs=1e-3)
    paper = next(t for t in fig.data if t.name == "paper (QNLI)")
    assert list(paper.y) == [None, 22.4, -1.7]
    rows = tv.transfer_rows(rec)
    eng = next(r for r in rows if r[:2] == ["qnli", "english"])
    assert eng[2] == pytest.approx(0.713, abs=1e-3) and eng[4] == pytest.approx(10.3)
    assert eng[6] == 1e-4 and eng[7] == "+22.4" and len(eng) == len(tv.TRANSFER_HEADERS)


def test_finding_reads_its_numbers_from_the_record(rec):
    text = tv.transfer_finding(rec)
    assert "**The reference** (CPU (2 threads), 2.0 h): a `tiny` BERT with the `lab` " \
           "vocabulary pretrained 800 steps" in text  # the compute, not the last process's
    assert "learned its structure) for `english`; not for none" in text
    assert "`uniform`: ids drawn i.i.d., no structure to learn" in text  # a control
    assert "held-out English loss of 6.923; lower than scratch with the interval clear of " \
           "zero: `english`; higher: `uniform`" in text
    assert "**qnli** (closest GLUE task: QNLI): scratch 0.610; above scratch with the interval" \
           " clear of zero: `english`; below: `uniform`" in text
    assert "**sentiment** (closest GLUE task: SST-2): scratch 0.710; above scratch with the " \
           "interval clear of zero: none; below: none" in text
    assert "largest fine-tuning rate" not in text  # rates chosen inside the grid
    edge = dict(rec, lrs={t: {a: 1e-3 for a in arms} for t, arms in rec["lrs"].items()})
    assert "Every arm chose the grid's largest fine-tuning rate (0.001) on every task: 150 " \
           "steps leave these runs short of training" in tv.transfer_finding(edge)
    curves, floors = tv.pretrain_curves(rec)
    # floors are the sweep's own (core.pretrain.floors), whatever the progress file held
    assert floors == {"english": pytest.approx(6.13, abs=0.02),
                      "uniform": pytest.approx(8.23, abs=0.02)}
    assert curves["english"][0]["loss"] == 5.0


def test_a_live_probe_is_drawn_over_the_references_curves_of_the_same_arms(rec):
    live = {"scratch": [{"step": 100, "held_out_loss": 7.0}, {"step": 200, "held_out_loss": 6.9}],
            "english": [{"step": 100, "held_out_loss": 6.6}]}
    fig = tv.probe_curves_figure(live, rec)
    names = [t.name for t in fig.data]
    assert names == ["reference scratch", "reference english", "scratch", "english"]
    assert fig.data[0].line.dash == "dash" and fig.data[0].line.color == fig.data[2].line.color
    assert list(fig.data[2].y) == [7.0, 6.9]
    assert [t.name for t in tv.probe_curves_figure(live).data] == ["scratch", "english"]
