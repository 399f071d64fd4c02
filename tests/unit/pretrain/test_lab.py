"""core.pretrain.lab: the fake-data experiment end to end on the smallest settings."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.common.errors import InputError
from core.common.records import RecordError
from core.pretrain import floors
from core.pretrain import lab as pretrain_lab
from core.pretrain.data import LINE_LENGTH


@pytest.fixture(scope="module")
def finished():
    cfg = pretrain_lab.PretrainRunConfig(schemes=("flat-128",), size="tiny", steps=6,
                                         batch_size=8, finetune_steps=4, train_size=32,
                                         seeds=2, task="sentiment")
    states = []
    for state in pretrain_lab.run(cfg):
        states.append((state.phase, state.done_steps, len(state.test)))
    return cfg, state, states


def test_run_reports_mlm_curves_then_test_accuracy_with_gain(finished):
    cfg, state, seen = finished
    m = state.metrics()
    json.dumps(m)
    assert list(m["runs"]) == ["flat-128", "scratch"]
    flat, scratch = m["runs"]["flat-128"], m["runs"]["scratch"]
    assert flat["mlm_steps"][-1] == cfg.steps and all(np.isfinite(flat["mlm_loss"]))
    assert scratch["mlm_loss"] == []  # no pretraining
    # flat-128's floor (frequencies only) is recorded; 6 steps learn no structure
    assert flat["floor"] == pytest.approx(floors.mlm_floor("flat-128", cfg.vocab), abs=1e-3)
    assert flat["learned"] is False and "floor" not in scratch
    for r in (flat, scratch):
        assert len(r["per_seed"]) == 2 and all(0 <= a <= 1 for a in r["per_seed"])
        assert r["test_accuracy"] == pytest.approx(np.mean(r["per_seed"]))
        assert r["ci95"] is not None
    assert flat["gain_over_scratch"] == pytest.approx(flat["test_accuracy"]
                                                      - scratch["test_accuracy"])
    # live: progress only grows, pretraining comes before the first test accuracy
    done = [d for _, d, _ in seen]
    assert done == sorted(done) and done[-1] == state.total_steps
    first_test = next(i for i, (_, _, n) in enumerate(seen) if n)
    assert any(p.startswith("pretraining") for p, _, _ in seen[:first_test])
    assert seen[-1][0] == "done"
    assert set(state.finetune) == {"flat-128/0", "flat-128/1", "scratch/0", "scratch/1"}


@pytest.mark.parametrize("change, message", [
    (dict(schemes=()), "choose at least one scheme"),
    (dict(schemes=("flat-128", "flat-128")), "once"),
    (dict(schemes=("shuffle-3",)), "4 <= N <= 64"),
    (dict(size="huge"), "unknown size 'huge'"),
    (dict(arch="gpt"), "unknown architecture"),
    (dict(steps=0), "steps must be between 1"),
    (dict(seeds=0), "seeds must be between 1"),
    (dict(train_size=4), "train_size must be at least 16"),
])
def test_bad_settings_are_refused_with_a_reason(change, message):
    with pytest.raises(InputError, match=message):
        pretrain_lab.check_config(pretrain_lab.PretrainRunConfig(**change))


def test_unknown_scheme_lists_the_choices():
    with pytest.raises(KeyError, match="choose one of uniform, unigram"):
        pretrain_lab.check_config(pretrain_lab.PretrainRunConfig(schemes=("banana",)))


def test_ui_budget_refuses_runs_too_long_for_the_device():
    big = pretrain_lab.PretrainRunConfig(steps=5000, seeds=5)
    with pytest.raises(InputError, match="the web UI allows 10 min"):
        pretrain_lab.check_config(big, budget_s=pretrain_lab.UI_BUDGET_S)
    pretrain_lab.check_config(big)  # the CLI has no budget
    pretrain_lab.check_config(pretrain_lab.PretrainRunConfig(),
                              budget_s=pretrain_lab.UI_BUDGET_S)  # the default fits
    est = pretrain_lab.estimate_s(pretrain_lab.PretrainRunConfig(), "cpu")
    assert 0 < est <= 180  # the CPU default run's target


def test_samples_are_lines_of_the_scheme():
    ids, text = pretrain_lab.samples("flat-128", n=3, seed=1)
    assert len(ids) == 3 and all(len(line) == LINE_LENGTH for line in ids)
    for line in ids:  # paired: every id an even number of times
        assert all(c % 2 == 0 for c in np.unique(line, return_counts=True)[1])
    assert len(text.split("\n\n")) == 3
    assert pretrain_lab.samples("flat-128", n=3, seed=1)[0] == ids
    english, words = pretrain_lab.samples("english", n=1)
    assert len(english[0]) == LINE_LENGTH
    assert {"the", "and", "of", "to", "i", "a", "we"} & set(words.split())
    lab_ids, lab_words = pretrain_lab.samples("english", n=1, vocab="lab")
    assert max(lab_ids[0]) < 8_000 and {"the", "and", "of", "to", "i", "a", "we"} & set(
        lab_words.split())
    with pytest.raises(InputError, match="no data"):
        pretrain_lab.samples("scratch")
    with pytest.raises(InputError, match="n must be between 1 and 32"):
        pretrain_lab.samples("uniform", n=0)


def test_committed_reference_has_every_scheme_scratch_and_three_seeds():
    ref = pretrain_lab.load_reference()
    assert ref is not None, "assets/pretrain/reference.json is missing (python -m core " \
                            "pretrain-sweep)"
    assert ref == json.loads(pretrain_lab.REFERENCE_PATH.read_text(encoding="utf-8"))
    cfg, runs = ref["metrics"]["config"], ref["metrics"]["runs"]
    assert cfg["seeds"] >= 3 and set(runs) == set(cfg["schemes"]) | {"scratch"}
    base = np.mean(runs["scratch"]["per_seed"])
    for scheme, r in runs.items():
        assert len(r["per_seed"]) == cfg["seeds"] and all(0 <= a <= 1 for a in r["per_seed"])
        if scheme != "scratch":
            assert r["mlm_steps"][-1] == cfg["steps"] and all(np.isfinite(r["mlm_loss"]))
            assert r["gain_over_scratch"] == pytest.approx(np.mean(r["per_seed"]) - base)


def test_load_reference_tells_a_missing_file_from_a_broken_one(tmp_path):
    assert pretrain_lab.load_reference(tmp_path / "none.json") is None
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"metrics": {"runs": {}}}), encoding="utf-8")
    with pytest.raises(RecordError, match="not a run record"):
        pretrain_lab.load_reference(broken)
