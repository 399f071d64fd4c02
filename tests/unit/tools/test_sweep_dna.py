"""core.tools.sweeps.dna (the reference run) and `python -m core dna-sweep`'s file."""
from __future__ import annotations

import argparse
import json

import pytest

from core.common import records
from core.dna import finding as dna_finding
from core.dna import lab as dna_lab
from core.dna import view as dna_view
from core.tools import cli
from core.tools.sweeps import dna as dna_sweep

SMALL = dict(datasets=("promoters", "coding"), inits=("pretrained", "random"), sizes=(16, 0),
             steps=4, seeds=2, eval_every=2, k=2)
LRS = {"pretrained": 1e-4, "random": 3e-4}


@pytest.fixture(scope="module")
def small_sweep(tiny_english, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ref")
    out = dna_sweep.sweep(**SMALL, lrs=LRS, model=tiny_english,
                          progress_path=folder / "progress.json")
    return out, records.write(folder / "reference.json", out), folder / "progress.json"


def test_sweep_covers_every_task_size_start_and_seed(small_sweep, tiny_english):
    out, _, _ = small_sweep
    assert set(out["datasets"]) == {"promoters", "coding"}
    coding = out["datasets"]["coding"]
    assert set(coding["by_size"]) == {"16", "0"} and coding["size"] == 16
    for task in out["datasets"].values():
        for m in task["by_size"].values():
            assert set(m["runs"]) == {"pretrained", "random"}
            assert all(r["seeds"] == [0, 1] for r in m["runs"].values())
            assert m["runs"]["pretrained"]["lr"] == 1e-4 and m["runs"]["random"]["lr"] == 3e-4
            diff = m["paired"]["pretrained - random"]["test_accuracy"]
            pre, rnd = m["runs"]["pretrained"]["per_seed"], m["runs"]["random"]["per_seed"]
            assert diff["per_seed"] == pytest.approx([a - b for a, b in zip(pre, rnd)])
        assert len(task["curves"]) == 4  # the shown size: 2 starts x 2 seeds
    # promoters has 85 training sequences: 16 is a subsample, 0 the whole split
    assert set(out["datasets"]["promoters"]["by_size"]) == {"16", "0"}
    assert out["config"]["model"] == tiny_english and out["config"]["lrs"] == LRS
    assert out["config"]["lr_search"] is None and out["wall_s"] > 0


def test_record_loads_and_is_described(small_sweep):
    out, path, _ = small_sweep
    assert dna_lab.load_reference(path) == json.loads(json.dumps(out))
    summary = dna_view.reference_summary(out)
    assert "--sizes 16,0 --steps 4 --seeds 2 --k 2" in summary
    assert "--lrs pretrained=0.0001,random=0.0003" in summary
    text = dna_finding.reference_finding(out)
    assert "paired over 2 seeds" in text and "**By labelled sequences**" in text
    assert dna_view.size_figure(out) is not None and dna_view.paired_table(out)


def test_an_interrupted_sweep_resumes_without_training_again(small_sweep, tiny_english,
                                                             monkeypatch):
    out, _, progress = small_sweep

    def no_training(*args, **kwargs):
        raise AssertionError("a finished cell was trained again")

    monkeypatch.setattr(dna_sweep, "_train_cell", no_training)
    again = dna_sweep.sweep(**SMALL, lrs=LRS, model=tiny_english, progress_path=progress,
                            resume=True)
    assert again["datasets"] == json.loads(json.dumps(out["datasets"]))
    with pytest.raises(ValueError, match="other settings"):
        dna_sweep.sweep(**dict(SMALL, steps=5), lrs=LRS, model=tiny_english,
                        progress_path=progress, resume=True)


def test_rates_are_chosen_on_dev_per_start(tiny_english, monkeypatch):
    monkeypatch.setattr(dna_sweep, "LR_GRID", {"pretrained": (1e-5, 1e-3),
                                               "random": (1e-5, 1e-3)})
    monkeypatch.setattr(dna_sweep, "LR_SEARCH_SEEDS", (100,))
    monkeypatch.setattr(dna_sweep, "LR_SEARCH_SIZE", 16)
    out = dna_sweep.sweep(**dict(SMALL, datasets=("coding",), sizes=(16,), seeds=1),
                          model=tiny_english)
    table = out["lr_search"]
    assert set(table) == {"pretrained", "random"} and set(table["random"]) == {"1e-05", "0.001"}
    for init, rows in table.items():
        best = max(rows, key=lambda lr: rows[lr]["mean"])
        assert out["config"]["lrs"][init] == float(best)
    assert dna_finding.lr_text(out).startswith("Learning rate per start, chosen on dev")


def test_choose_lrs_takes_the_best_mean_area():
    search = {"random/0.001/100": 0.7, "random/0.001/101": 0.5, "random/0.0003/100": 0.62,
              "random/0.0003/101": 0.62, "pretrained/0.0001/100": 0.9}
    assert dna_sweep.choose_lrs(search, ("pretrained", "random")) == {"pretrained": 1e-4,
                                                                     "random": 3e-4}


def test_cmd_dna_sweep_writes_compact_json(monkeypatch, tmp_path, capsys):
    record = {"config": {"steps": 1}, "machine": {"device": "cpu"}, "started": "now",
              "datasets": {"splice": {"runs": {}}}, "wall_s": 1.5}
    seen = {}

    def fake_sweep(**kwargs):
        seen.update(kwargs)
        return record

    monkeypatch.setattr(dna_sweep, "sweep", fake_sweep)
    out = tmp_path / "sub" / "reference.json"
    args = argparse.Namespace(tasks="splice", sizes="100,0", steps=7, seeds=2, k=1, layers=3,
                              batch_size=16, eval_every=25, lrs="pretrained=1e-4,random=3e-4",
                              lr_note="a pilot", report=False, progress=str(tmp_path / "p.json"), resume=False, out=str(out))
    assert cli.cmd_dna_sweep(args) == 0
    assert out.read_text(encoding="utf-8") == json.dumps(record, ensure_ascii=False) + "\n"
    assert seen["steps"] == 7 and seen["sizes"] == (100, 0) and seen["layers"] == 3
    assert seen["batch_size"] == 16
    assert seen["lrs"] == {"pretrained": 1e-4, "random": 3e-4}
    assert seen["lr_note"] == "a pilot"  # kept in the record's config
    assert f"written to {out} (1.5 s)" in capsys.readouterr().out


def test_the_control_runs_at_the_shown_size_with_pretrained_s_rate(tiny_english):
    out = dna_sweep.sweep(**dict(SMALL, datasets=("coding",), inits=("pretrained", "re-emb",
                                                                      "random"), seeds=2),
                          lrs=LRS, model=tiny_english)
    coding = out["datasets"]["coding"]
    assert set(coding["by_size"]["16"]["runs"]) == {"pretrained", "re-emb", "random"}
    assert set(coding["by_size"]["0"]["runs"]) == {"pretrained", "random"}
    assert coding["runs"]["re-emb"]["lr"] == LRS["pretrained"]
    assert "re-emb - random" in coding["paired"]


def test_sizes_per_task(tiny_english):
    out = dna_sweep.sweep(**dict(SMALL, sizes={"promoters": (0,), "coding": (16, 0)}, seeds=1),
                          lrs=LRS, model=tiny_english)
    assert set(out["datasets"]["promoters"]["by_size"]) == {"0"}
    assert set(out["datasets"]["coding"]["by_size"]) == {"16", "0"}
    assert out["config"]["sizes"] == {"promoters": [0], "coding": [16, 0]}
    assert "--sizes 'promoters=0 coding=16,0'" in dna_view.reference_summary(out)
    assert cli._sizes("splice=100,400,0 coding=100,0") == {"splice": (100, 400, 0),
                                                           "coding": (100, 0)}
    assert cli._sizes("100,0") == (100, 0)


def test_given_rates_carry_their_note_into_the_config(tiny_english):
    out = dna_sweep.sweep(**dict(SMALL, datasets=("coding",), seeds=1), lrs=LRS,
                          lr_note="from a pilot", model=tiny_english)
    assert out["config"]["lr_note"] == "from a pilot" and out["config"]["lr_grid"] is None
    assert dna_finding.lr_text(out) == ("Learning rates as given: pretrained 1e-4, random 3e-4 "
                                        "(from a pilot).")


def test_a_report_of_an_unfinished_sweep_names_only_its_finished_sizes(small_sweep, tiny_english,
                                                                       tmp_path):
    out, _, progress = small_sweep
    saved = json.loads(progress.read_text())
    del saved["cells"]["coding/0/1"]  # coding at all sequences: one seed still to run
    partial = tmp_path / "p.json"
    partial.write_text(json.dumps(saved))
    rep = dna_sweep.sweep(**SMALL, lrs=LRS, model=tiny_english, progress_path=partial,
                          report_only=True, on_cell=lambda *a: pytest.fail("trained a cell"))
    assert set(rep["datasets"]["coding"]["by_size"]) == {"16"}
    assert set(rep["datasets"]["promoters"]["by_size"]) == {"16", "0"}
    assert rep["config"]["sizes"] == {"promoters": [16, 0], "coding": [16]}
    assert rep["config"]["planned_sizes"] == [16, 0]
    assert rep["datasets"]["coding"]["runs"] == out["datasets"]["coding"]["runs"]
    walls = [c["wall_s"] for k, c in saved["cells"].items() if k != "coding/0/0"]
    assert rep["wall_s"] == pytest.approx(sum(walls), abs=0.2)  # the cells' own time
    assert rep["started"] == saved["started"]
    summary = dna_view.reference_summary(rep)
    assert "--sizes 'promoters=16,0 coding=16'" in summary
    assert "planned for sizes 16,0; shown are the sizes whose every seed has finished" in summary
    saved["cells"] = {}
    partial.write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="no task has a size with all 2 seeds finished"):
        dna_sweep.sweep(**SMALL, lrs=LRS, model=tiny_english, progress_path=partial,
                        report_only=True)
