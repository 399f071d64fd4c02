"""core.spoken_qa.live (the live default's reference over paired seeds) and the sweep that
makes it (`python -m core spoken-qa-live`)."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, replace

import pytest

from core.common import records
from core.speech import voice
from core.spoken_qa import config, live
from core.tools.sweeps.spoken_qa import live_sweep

needs_espeak = pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)
pytestmark = pytest.mark.usefixtures("one_thread")


def _cell(p_loss, r_loss, p_ff1, r_ff1, wall=100.0):
    def run(early, loss, ff1):
        return {"ff1": ff1, "aos": ff1 / 2, "n": 30,
                "curve": [{"step": 0, "loss": 6.0, "dev_loss": 5.5},
                          {"step": 25, "loss": 5.0, "dev_loss": early, "dev_ff1": 0.0},
                          {"step": 50, "loss": 4.0, "dev_loss": loss, "dev_ff1": ff1}]}
    return {"runs": {"pretrained": run(5.0, p_loss, p_ff1), "random": run(4.5, r_loss, r_ff1)},
            "windows": 90, "wall_s": wall}


CELLS = {"0": _cell(3.8, 4.3, 0.20, 0.05), "1": _cell(3.9, 4.1, 0.10, 0.12),
         "2": _cell(4.4, 4.2, 0.15, 0.00, wall=140.0)}


def test_paired_summary_counts_seeds_where_pretrained_is_better_by_hand():
    p = live.paired_summary(CELLS)
    loss = p["dev_loss"]
    assert loss["wins"] == 2 and loss["n"] == 3 and loss["better"] == "lower"
    assert loss["advantage"]["per_seed"] == pytest.approx([0.5, 0.2, -0.2])  # random - pre
    assert loss["pretrained"]["mean"] == pytest.approx(4.0333, abs=1e-4)
    ff1 = p["test_ff1"]
    assert ff1["wins"] == 2 and ff1["advantage"]["per_seed"] == pytest.approx([0.15, -0.02, 0.15])
    assert p["dev_ff1"]["wins"] == 2  # the last dev evaluation
    assert p["wall_s"]["mean"] == pytest.approx(113.333, abs=1e-3)


def _record(cfg=config.LIVE_RUN, cells=CELLS):
    conf = dict(json.loads(json.dumps(asdict(cfg))), seeds=[int(s) for s in cells])
    del conf["seed"]
    return {"config": conf, "seeds": cells, "paired": live.paired_summary(cells),
            "machine": {"device": "CPU (2 threads)"}, "started": "now", "wall_s": 340.0}


def test_the_finding_reads_every_number_from_the_record():
    text = live.live_finding(_record())
    assert "(3 paired seeds, 80 steps, about 1 min 53 s a run on CPU (2 threads))" in text
    assert "lower held-out span loss in 2 of 3 seeds (4.03 vs 4.20" in text
    assert "random − pretrained +0.17 ±" in text and "higher test FF1 in 2 of 3" in text
    assert "(0.150 vs 0.057 on 30 test questions)" in text
    assert "Random init's loss falls faster at first (4.50 vs 5.00 after 25 steps)" in text
    assert live.steps_label(_record()) == \
        "Steps (~0.7 s each in the live reference, on CPU (2 threads))"  # 113.3 s / (80 x 2)
    later = {s: json.loads(json.dumps(c).replace('"dev_loss": 4.5', '"dev_loss": 5.2'))
             for s, c in CELLS.items()}  # random no faster early: that sentence is left out
    assert "faster at first" not in live.live_finding(_record(cells=later))


def test_bands_are_drawn_only_under_a_run_of_the_same_setting():
    rec = _record()
    assert live.same_setting(rec, config.LIVE_RUN)
    assert live.same_setting(rec, replace(config.LIVE_RUN, steps=40, seed=3,
                                          inits=("random",)))
    assert not live.same_setting(rec, replace(config.LIVE_RUN, window=512))
    assert not live.same_setting(rec, replace(config.LIVE_RUN, lrs=(("random", 3e-4),)))
    rates = replace(config.LIVE_RUN, lrs=(("random", 3e-4),))
    assert live.same_setting(json.loads(json.dumps(_record(rates))), rates)  # read back
    assert not live.same_setting(None, config.LIVE_RUN)
    assert sorted(live.seed_curves(rec, ("random",))) == ["random/0", "random/1", "random/2"]


@needs_espeak
def test_live_sweep_runs_paired_seeds_and_resumes(cache, tmp_path):
    cfg = replace(config.LIVE_RUN, steps=2, batch_size=2, eval_questions=2, test_questions=2,
                  limit_per_split=2, eval_every=1)
    progress = tmp_path / "progress.json"
    first = live_sweep(cfg, [0], progress=progress)
    assert list(first["seeds"]) == ["0"] and first["config"]["seeds"] == [0]
    rec = live_sweep(cfg, [0, 1], progress=progress, resume=True)
    assert rec["seeds"]["0"] == first["seeds"]["0"]  # seed 0 reused, not trained again
    assert json.loads(progress.read_text())["seeds"].keys() == {"0", "1"}
    path = records.write(tmp_path / "live.json", rec)
    back = live.load_live(path)
    assert live.same_setting(back, cfg) and back["paired"]["dev_loss"]["n"] == 2
    for cell in back["seeds"].values():
        for run in cell["runs"].values():
            assert [p["step"] for p in run["curve"] if "dev_loss" in p] == [1, 2]
            assert run["n"] == 2 and 0 <= run["ff1"] <= 1
    assert not math.isnan(back["paired"]["dev_loss"]["advantage"]["mean"])
    assert "paired seeds, 2 steps" in live.live_finding(back)
    with pytest.raises(ValueError, match="other settings"):
        live_sweep(replace(cfg, lr=3e-4), [0], progress=progress, resume=True)
