"""core.tools.sweeps.dna (the reference run) and `python -m core dna-sweep`'s file."""
from __future__ import annotations

import argparse
import json

import pytest

from core.common import records
from core.dna import lab as dna_lab
from core.dna import view as dna_view
from core.tools import cli
from core.tools.sweeps import dna as dna_sweep

RECORD_KEYS = ["config", "machine", "started", "datasets", "wall_s"]  # as in reference.json


@pytest.fixture(scope="module")
def small_sweep(tiny_english, tmp_path_factory):
    out = dna_sweep.sweep(datasets=("promoters", "coding"), inits=("re-emb", "random"),
                          steps=2, seeds=2, train_size=16, k=2, model=tiny_english)
    path = records.write(tmp_path_factory.mktemp("ref") / "reference.json", out)
    return out, path


def test_sweep_covers_every_dataset_and_start(small_sweep, tiny_english):
    out, _ = small_sweep
    assert set(out["datasets"]) == {"promoters", "coding"}
    for m in out["datasets"].values():
        assert set(m["runs"]) == {"re-emb", "random"}
        assert all(len(r["per_seed"]) == 2 for r in m["runs"].values())
        assert len(m["curves"]) == 4 and all(len(c) == 2 for c in m["curves"].values())
    assert out["config"]["model"] == tiny_english and out["wall_s"] > 0
    assert out["config"]["eval_every"] == 1  # 0 -> every(2 steps, 20 points)


def test_sweep_record_has_the_reference_file_shape(small_sweep):
    out, path = small_sweep
    committed = dna_lab.load_reference()
    assert list(out) == RECORD_KEYS == list(committed)
    assert list(out["config"]) == list(committed["config"])
    assert set(committed["machine"]) <= set(out["machine"])
    assert dna_lab.load_reference(path) == json.loads(json.dumps(out))
    assert "--steps 2 --seeds 2 --train-size 16 --k 2" in dna_view.reference_summary(out)


def test_cmd_dna_sweep_writes_compact_json(monkeypatch, tmp_path, capsys):
    record = {"config": {"steps": 1}, "machine": {"device": "cpu"}, "started": "now",
              "datasets": {"splice": {"runs": {}}}, "wall_s": 1.5}
    seen = {}

    def fake_sweep(**kwargs):
        seen.update(kwargs)
        return record

    monkeypatch.setattr(dna_sweep, "sweep", fake_sweep)
    out = tmp_path / "sub" / "reference.json"
    args = argparse.Namespace(steps=7, seeds=2, k=1, train_size=0, eval_every=0, out=str(out))
    assert cli.cmd_dna_sweep(args) == 0
    assert out.read_text(encoding="utf-8") == json.dumps(record, ensure_ascii=False) + "\n"
    assert seen["steps"] == 7 and seen["train_size"] is None
    assert f"written to {out} (1.5 s)" in capsys.readouterr().out
