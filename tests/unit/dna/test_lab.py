"""core.dna.lab on a tiny random-init 'English' model registered for the test."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.common.errors import InputError
from core.common.paths import ASSETS
from core.common.records import RecordError
from core.dna import lab as dna_lab


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
    assert m["config"]["k"] == 3 and tuple(m["config"]["inits"]) == ("pretrained", "random")
    # every curve has its dev-accuracy points at steps 3 and 6
    for curve in last.curves.values():
        assert [p["step"] for p in curve if "dev_accuracy" in p] == [3, 6]


def test_predict_gives_probabilities_and_one_importance_per_base(finished):
    _, states = finished
    last = states[-1]
    seq = "ACGT" * 15
    pred = dna_lab.predict(last.model, last.mapping, ["EI", "IE", "N"],
                           ">my seq\n" + seq.lower())
    json.dumps(pred)  # plain numbers: core.dna.view draws it
    assert pred["sequence"] == seq and pred["k"] == 3
    assert set(pred["probs"]) == {"EI", "IE", "N"}
    assert sum(pred["probs"].values()) == pytest.approx(1.0, abs=1e-5)
    assert len(pred["importance"]) == 60 and np.isfinite(pred["importance"]).all()
    assert len(pred["tokens"]) == 20  # k = 3
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


def test_load_reference_reads_the_committed_file_unchanged(tmp_path):
    ref = dna_lab.load_reference()
    assert dna_lab.REFERENCE_PATH == ASSETS / "dna" / "reference.json"
    assert ref == json.loads(dna_lab.REFERENCE_PATH.read_text(encoding="utf-8"))
    assert dna_lab.load_reference(tmp_path / "missing.json") is None
    bad = tmp_path / "bad.json"
    bad.write_text('{"datasets": {}}', encoding="utf-8")
    with pytest.raises(RecordError, match="not a run record"):
        dna_lab.load_reference(bad)


def test_committed_reference_covers_its_tasks_every_start_and_five_paired_seeds():
    from core.dna import encode as dna
    from core.dna.data import DATASETS

    ref = dna_lab.load_reference()
    assert ref is not None, "assets/dna/reference.json is missing (python -m core dna-sweep)"
    cfg = ref["config"]
    assert "splice" in ref["datasets"] and set(ref["datasets"]) == set(cfg["datasets"])
    assert set(cfg["datasets"]) <= set(DATASETS) and cfg["seeds"] >= 5
    assert isinstance(cfg["lrs"], dict)  # a rate per start, stated with how it was chosen
    assert cfg.get("lr_search") or cfg.get("lr_note")
    for name, result in ref["datasets"].items():
        assert set(result["runs"]) == set(dna.INITS), name
        for init, r in result["runs"].items():
            assert len(r["per_seed"]) == cfg["seeds"]
            assert all(0 <= a <= 1 for a in r["per_seed"])
            assert r["test_accuracy"] == pytest.approx(np.mean(r["per_seed"]))
        for key, curve in result["curves"].items():
            assert curve[-1]["step"] == cfg["steps"], key
            assert all(np.isfinite(p["loss"]) for p in curve)
        paired = result["paired"]["pretrained - random"]  # same seeds, same data
        assert paired["test_accuracy"]["seeds"] == list(range(cfg["seeds"]))
        assert "dev_at_50" in paired and "auc" in paired


def test_every_start_sees_the_same_batches_within_a_seed(tiny_english, monkeypatch):
    """The paired design: same subsample and batch order for every start of a seed."""
    seen: dict[int, list] = {}
    original = dna_lab.batch_sampler

    def recording(data, batch_size):
        draw = original(data, batch_size)
        calls = seen.setdefault(len(seen), [])

        def make_batch(step, rng):
            batch = draw(step, rng)
            calls.append(batch["input_ids"].clone())
            return batch
        return make_batch

    monkeypatch.setattr(dna_lab, "batch_sampler", recording)
    cfg = dna_lab.DnaRunConfig(k=3, steps=4, seeds=1, seed=5, train_size=24, batch_size=8,
                               eval_every=2, inits=("pretrained", "re-emb", "random"),
                               model=tiny_english)
    list(dna_lab.run(cfg))
    assert len(seen) == 3 and all(len(calls) == 4 for calls in seen.values())
    for calls in list(seen.values())[1:]:
        assert all((a == b).all() for a, b in zip(seen[0], calls))


def test_paired_differences_and_convergence_in_the_metrics(finished):
    _, states = finished
    m = states[-1].metrics()
    pre, rnd = m["runs"]["pretrained"], m["runs"]["random"]
    diff = m["paired"]["pretrained - random"]
    assert diff["test_accuracy"]["per_seed"] == pytest.approx(
        [a - b for a, b in zip(pre["per_seed"], rnd["per_seed"])])
    assert diff["test_accuracy"]["seeds"] == pre["seeds"] == [0, 1]
    assert set(diff) == {"test_accuracy", "auc"}  # 6 steps: no 50-update point yet
    conv = pre["convergence"]
    assert conv["auc"]["n"] == 2 and 0 <= conv["auc"]["mean"] <= 1
    assert conv["steps_to_90"]["per_seed"] and all(s in (3, 6)
                                                   for s in conv["steps_to_90"]["per_seed"])
    assert pre["lr"] == dna_lab.resolve_lrs(states[-1].config)["pretrained"]


def test_learning_rates_per_start():
    cfg = dna_lab.DnaRunConfig(inits=("pretrained", "random"))
    chosen = {"pretrained": 5e-5, "random": 7e-4}
    assert dna_lab.resolve_lrs(cfg, chosen) == chosen
    assert dna_lab.resolve_lrs(cfg, {}) == {i: dna_lab.FALLBACK_LRS[i] for i in cfg.inits}
    mixed = dna_lab.DnaRunConfig(inits=("pretrained", "random"), lrs=(("random", 1e-3),))
    assert dna_lab.resolve_lrs(mixed, chosen) == {"pretrained": 5e-5, "random": 1e-3}
    assert set(dna_lab.resolve_lrs(dna_lab.DnaRunConfig(lr=2e-4), chosen).values()) == {2e-4}
    with pytest.raises(InputError, match="learning rates must be in"):
        dna_lab.check_config(dna_lab.DnaRunConfig(lrs=(("random", 0.5),)))
    with pytest.raises(InputError, match="unknown starting point"):
        dna_lab.check_config(dna_lab.DnaRunConfig(lrs=(("bert", 1e-4),)))


def test_a_truncated_body_keeps_the_first_layers(tiny_english):
    from core.dna import model as dna_model
    from core.text.models import load_model

    full = load_model(tiny_english).model
    one = dna_model.build_classifier("pretrained", 3, model_name=tiny_english, layers=1)
    assert one.encoder.config.num_hidden_layers == 1 and len(one.encoder.encoder.layer) == 1
    a = one.encoder.encoder.layer[0].attention.self.query.weight
    assert (a == full.encoder.layer[0].attention.self.query.weight).all()
    with pytest.raises(KeyError, match="layers must be between 1 and 2"):
        dna_model.build_classifier("random", 3, model_name=tiny_english, layers=3)


def test_the_one_rate_record_matches_the_reference_but_for_the_rate():
    """assets/dna/shared-rate.json: the reference's body, budget and paired seeds, every start
    at one rate, at the tab's default size; the live default repeats it."""
    from core.dna.config import SHARED_PATH, live_config, load_live_reference, load_shared

    shared, ref = load_shared(), dna_lab.load_reference()
    assert SHARED_PATH == ASSETS / "dna" / "shared-rate.json" and shared is not None
    cfg, ref_cfg = shared["config"], ref["config"]
    for key in ("layers", "steps", "k", "batch_size", "eval_every", "model"):
        assert cfg[key] == ref_cfg[key], key
    assert len(set(cfg["lrs"].values())) == 1 and cfg["lr_note"] and cfg["seeds"] >= 5
    splice = shared["datasets"]["splice"]
    assert splice["size"] == dna_lab.DnaRunConfig().train_size
    assert splice["paired"]["pretrained - random"]["dev_at_50"]["seeds"] == \
        list(range(cfg["seeds"]))
    assert load_live_reference() == shared
    assert dict(live_config(shared).lrs) == cfg["lrs"]
