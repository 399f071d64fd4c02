"""core.dna.lab on a tiny random-init 'English' model registered for the test."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.common.errors import InputError
from core.dna import lab as dna_lab
from core.text import models


@pytest.fixture(scope="module")
def tiny_english(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("tiny-english")
    tiny_model.model.save_pretrained(folder, safe_serialization=True)
    tiny_model.tokenizer.save_pretrained(folder)
    spec = models.ModelSpec("tiny-english", "english", "paper", "hub", str(folder), "tiny")
    models.ENGLISH_MODELS["tiny-english"] = spec
    yield "tiny-english"
    del models.ENGLISH_MODELS["tiny-english"]


@pytest.fixture(scope="module")
def finished(tiny_english):
    cfg = dna_lab.DnaRunConfig(k=3, steps=6, seeds=2, train_size=32, eval_every=3,
                               batch_size=8, inits=("pretrained", "random"), model=tiny_english)
    states = list(dna_lab.run(cfg))
    return cfg, states


def test_run_yields_live_progress_then_test_accuracy(finished):
    cfg, states = finished
    last = states[-1]
    assert last.done_steps == last.total_steps == 6 * 2 * 2
    m = last.metrics()
    json.dumps(m)
    assert set(m["runs"]) == {"pretrained", "random"}
    for r in m["runs"].values():
        assert len(r["per_seed"]) == 2 and all(0 <= a <= 1 for a in r["per_seed"])
        assert r["ci95"] is not None and r["ci95"] >= 0
    assert m["labels"] == ["EI", "IE", "N"]
    # every curve has its dev-accuracy points at steps 3 and 6
    for curve in last.curves.values():
        assert [p["step"] for p in curve if "dev_accuracy" in p] == [3, 6]
    fig = dna_lab.curves_figure(last)
    assert len(fig.data) == 2 * len(last.curves)  # loss + dev accuracy per run
    rows = dna_lab.results_table(last)
    assert [r[0] for r in rows] == ["pretrained", "random"]


def test_predict_gives_probabilities_and_one_importance_per_base(finished):
    _, states = finished
    last = states[-1]
    seq = "ACGT" * 15
    probs, fig, tokens = dna_lab.predict(last.model, last.mapping, ["EI", "IE", "N"],
                                         ">my seq\n" + seq.lower())
    assert set(probs) == {"EI", "IE", "N"}
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
    assert len(fig.data[0].y) == 60 and np.isfinite(fig.data[0].y).all()
    assert len(tokens.split()) == 20  # k = 3
    with pytest.raises(InputError, match="'X' at 3"):
        dna_lab.predict(last.model, last.mapping, ["EI", "IE", "N"], "ACXGT")


@pytest.mark.parametrize("change, message", [
    (dict(dataset="rna"), "choose one of splice"),
    (dict(inits=()), "at least one"),
    (dict(inits=("pretrained", "gpt")), "unknown starting point"),
    (dict(k=7), "between 1 and 6"),
    (dict(steps=0), "steps must be"),
    (dict(seeds=99), "seeds must be"),
    (dict(train_size=2), "at least 8"),
])
def test_out_of_range_settings(change, message):
    with pytest.raises(InputError, match=message):
        dna_lab.check_config(dna_lab.DnaRunConfig(**change))


@pytest.fixture(scope="module")
def small_sweep(tiny_english, tmp_path_factory):
    out = dna_lab.sweep(datasets=("promoters", "coding"), inits=("re-emb", "random"), steps=2,
                        seeds=2, train_size=16, k=2, model=tiny_english)
    path = tmp_path_factory.mktemp("ref") / "reference.json"
    path.write_text(json.dumps(out), encoding="utf-8")
    return out, path


def test_sweep_covers_every_dataset_and_start(small_sweep, tiny_english):
    out, _ = small_sweep
    assert set(out["datasets"]) == {"promoters", "coding"}
    for m in out["datasets"].values():
        assert set(m["runs"]) == {"re-emb", "random"}
        assert all(len(r["per_seed"]) == 2 for r in m["runs"].values())
        assert len(m["curves"]) == 4 and all(len(c) == 2 for c in m["curves"].values())
    assert out["config"]["model"] == tiny_english and out["wall_s"] > 0


def test_reference_figure_table_and_summary_come_from_the_sweep_file(small_sweep):
    out, path = small_sweep
    ref = dna_lab.load_reference(path)
    fig = dna_lab.reference_figure(ref, "coding")
    # per init: 2 seeds x (loss, dev) thin lines + (loss, dev) mean lines
    assert len(fig.data) == 2 * (2 * 2 + 2)
    means = [t for t in fig.data if t.name.endswith("(mean of 2)") and t.xaxis == "x2"]
    curve_pts = [p["dev_accuracy"] for k, c in out["datasets"]["coding"]["curves"].items()
                 if k.startswith("random/") for p in c if p["step"] == 2]
    mean_random = next(t for t in means if t.name.startswith("random"))
    assert mean_random.y[-1] == pytest.approx(np.mean(curve_pts))
    rows = dna_lab.reference_table(ref)
    assert [(r[0], r[1]) for r in rows] == [(d, i) for d in ("promoters", "coding")
                                            for i in ("re-emb", "random")]
    assert rows[0][2] == round(out["datasets"]["promoters"]["runs"]["re-emb"]["test_accuracy"], 3)
    assert "--steps 2 --seeds 2 --train-size 16 --k 2" in dna_lab.reference_summary(ref)
    with pytest.raises(InputError, match="has no 'splice'"):
        dna_lab.reference_figure(ref, "splice")
    assert dna_lab.load_reference(path.parent / "missing.json") is None


def test_committed_reference_covers_every_task_start_and_three_seeds():
    from core.dna import encode as dna
    from core.dna.data import DATASETS

    ref = dna_lab.load_reference()
    assert ref is not None, "assets/dna/reference.json is missing (python -m core dna-sweep)"
    cfg = ref["config"]
    assert set(ref["datasets"]) == set(DATASETS) and cfg["seeds"] >= 3
    for name, result in ref["datasets"].items():
        assert set(result["runs"]) == set(dna.INITS), name
        for init, r in result["runs"].items():
            assert len(r["per_seed"]) == cfg["seeds"]
            assert all(0 <= a <= 1 for a in r["per_seed"])
            assert r["test_accuracy"] == pytest.approx(np.mean(r["per_seed"]))
        for key, curve in result["curves"].items():
            assert curve[-1]["step"] == cfg["steps"], key
            assert all(np.isfinite(p["loss"]) for p in curve)
