"""core.crosslingual.sizes and its figure: the corpus-size record read for the tab, every
number from the record (hand-made here, with hand-computed means and intervals)."""
from __future__ import annotations

import pytest

from core.crosslingual import sizes, view


def _cell(value: float, curve=()) -> dict:
    test = {m: value for m in sizes.MEASURES}
    return {"test": dict(test, language_ari=0.9), "tokens": {"en": 100, "fake": 100},
            "curve": [{"step": s, "loss": 5.0, "layer": 1.0, **{m: v for m in sizes.MEASURES}}
                      for s, v in curve]}


@pytest.fixture
def record() -> dict:
    config = {"languages": ["en", "ru"], "sizes": [1000, 0], "seeds": 3, "steps": 3000,
              "fake": True, "size": "narrow", "test_verses": 500, "train_verses": 23871,
              "architecture": "6 layers, 64 wide, 1 attention head, feed-forward 256"}
    cells = {}
    for seed, (small, big, floor, fake) in enumerate([(0.10, 0.30, 0.02, 0.20),
                                                      (0.12, 0.34, 0.03, 0.22),
                                                      (0.08, 0.32, 0.01, 0.18)]):
        cells[f"1000/{seed}"] = _cell(small, [(100, small / 2), (200, small)])
        cells[f"0/{seed}"] = _cell(big, [(100, big / 2), (200, big)])
        cells[f"untrained/{seed}"] = _cell(floor)
        cells[f"untrained-fake/{seed}"] = _cell(floor)
        cells[f"fake/{seed}"] = _cell(fake)
    return {"config": config, "cells": cells, "summary": sizes.aggregate(config, cells)}


def test_rows_run_from_the_smallest_corpus_to_all_of_it(record):
    rows = sizes.size_rows(record)
    assert [(r["size"], r["verses"]) for r in rows] == [(1000, 1000), (0, 23871)]
    assert rows[1]["mean"] == pytest.approx(0.32) and rows[1]["per_seed"] == [0.30, 0.34, 0.32]
    # the gain over the untrained net, seed by seed: 0.28, 0.31, 0.31
    assert rows[1]["gain"]["mean"] == pytest.approx(0.30)
    assert sizes.size_label(record, 0) == "all (23,871)" and sizes.size_label(record, 1000) \
        == "1,000"


def test_finding_reads_every_number_from_the_record(record):
    text = sizes.size_finding(record)
    # mean 0.32, sd 0.02, t(2) 4.303: half-width 4.303 * 0.02 / sqrt(3) = 0.0497
    assert "1,000: 0.100 ± 0.050, all (23,871): 0.320 ± 0.050" in text
    assert "3,000 steps on English (en) and Russian (ru)" in text and "500 held-out verses" in text
    assert "6 layers, 64 wide" in text and "mean over 3 seeds ± 95 % interval" in text
    assert "before pretraining scores 0.020" in text
    # largest - smallest, paired: 0.20, 0.22, 0.24 -> mean 0.22, half-width 0.0497
    assert "Largest corpus − smallest, paired by seed: +0.220 (± 0.050) — alignment grows" \
        in text
    assert "fake English" in text and "0.200 ± 0.050" in text
    assert "Still running" not in text and "not copied" not in text
    fake = dict(record, config=dict(record["config"], languages=["en", "fake"]))
    assert "on English (en) and fake English (fake)" in sizes.size_finding(fake)
    assert "learned, not copied" in sizes.size_finding(fake)
    flat = {**record, "summary": sizes.aggregate(record["config"], {
        k: (_cell(0.1) if not k.startswith("untrained") else v)
        for k, v in record["cells"].items()})}
    assert "no clear growth at this budget" in sizes.size_finding(flat)
    assert "xling-size-sweep" in sizes.size_finding(None)
    partial = dict(record, planned=["0/2", "fake/2"])
    assert "Still running: 2 of the sweep's runs (0/2, fake/2)." in sizes.size_finding(partial)


def test_figure_draws_sizes_seeds_floor_control_and_the_probe(record):
    fig = view.size_figure(record)
    names = [t.name for t in fig.data]
    assert names[:2] == ["lab-trained (mean)", "one seed"]
    assert {"untrained net", "English + fake English", "corpus: 1,000 verses",
            "corpus: all (23,871) verses"} <= set(names)
    mean = fig.data[0]
    assert list(mean.x) == [1000, 23871] and list(mean.y) == pytest.approx([0.10, 0.32])
    assert len(fig.data[1].x) == 6  # every seed's dot
    probe = next(t for t in fig.data if t.name == "corpus: all (23,871) verses")
    assert list(probe.x) == [100, 200] and list(probe.y) == pytest.approx([0.16, 0.32])
    assert fig.layout.xaxis.type == "log"
    floor = next(t for t in fig.data if t.name == "untrained net")
    assert floor.x[0] < 1000 and floor.x[1] > 23871  # across every size the sweep runs
