"""core.dna_lab on a tiny random-init 'English' model registered for the test."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core import dna_lab, models
from core.errors import InputError


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


def test_sweep_covers_every_dataset_and_start(tiny_english):
    out = dna_lab.sweep(datasets=("promoters", "coding"), inits=("re-emb", "random"), steps=2,
                        seeds=1, train_size=16, k=2, model=tiny_english)
    json.dumps(out)
    assert set(out["datasets"]) == {"promoters", "coding"}
    for m in out["datasets"].values():
        assert set(m["runs"]) == {"re-emb", "random"}
        assert all(len(c) == 2 for c in m["curves"].values())
    assert out["config"]["model"] == tiny_english and out["wall_s"] > 0
