"""core.spoken_qa.lab: window selection, settings checks, the training generator end to end on
a few voiced passages, and the committed run records it is compared with."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from core.common.errors import InputError
from core.common.records import RecordError
from core.speech import voice
from core.spoken_qa import lab
from core.spoken_qa import model as sqa
from core.spoken_qa.data import TEST_VOICES
from core.text.mlm_loop import load_checkpoint, save_checkpoint

needs_espeak = pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)
TINY_RUN = dict(steps=2, batch_size=2, eval_questions=2, test_questions=3, limit_per_split=2,
                eval_every=1)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_select_windows_keeps_every_answer_window_and_a_share_of_the_rest():
    starts = torch.tensor([0, 5, 0, 0, 7, 0, 0, 9, 0, 0])
    data = {"start_positions": starts, "input_ids": torch.arange(10)[:, None]}
    kept = lab.select_windows(data, 0.5, seed=0)
    assert (kept["start_positions"] > 0).sum() == 3
    assert (kept["start_positions"] == 0).sum() == 2  # round(0.5 x 3)
    assert kept["input_ids"].flatten().tolist() == sorted(kept["input_ids"].flatten().tolist())
    assert len(lab.select_windows(data, 10.0, seed=0)["input_ids"]) == 10  # all there is
    assert len(lab.select_windows(data, 0.0, seed=0)["input_ids"]) == 3


def test_bad_settings_are_refused_with_the_reason():
    with pytest.raises(InputError, match="starting points from pretrained, random"):
        lab.check_config(lab.SpokenQARunConfig(inits=("scratch",)))
    with pytest.raises(InputError, match="steps must be between 1"):
        lab.check_config(lab.SpokenQARunConfig(steps=0))
    with pytest.raises(InputError, match=f"steps must be between 1 and {lab.MAX_STEPS}"):
        lab.check_config(lab.SpokenQARunConfig(steps=lab.MAX_STEPS + 1))
    lab.check_config(lab.SpokenQARunConfig(steps=3000))  # a long reference run is allowed
    with pytest.raises(InputError, match="unknown unit map"):
        lab.check_config(lab.SpokenQARunConfig(unit_map="alphabet"))
    with pytest.raises(InputError, match="k=100"):
        lab.check_config(lab.SpokenQARunConfig(k=100))
    with pytest.raises(InputError, match="windows must hold 64 to 512 tokens"):
        lab.check_config(lab.SpokenQARunConfig(window=1024))
    with pytest.raises(InputError, match="the stride \\(64\\) must be smaller"):
        lab.check_config(lab.SpokenQARunConfig(window=128, question_tokens=96, stride=64))
    with pytest.raises(InputError, match="learning rates must lie between 0 and 1"):
        lab.check_config(lab.SpokenQARunConfig(lrs=(("scratch", 1e-4),)))
    with pytest.raises(InputError, match="learning rates must lie between 0 and 1"):
        lab.check_config(lab.SpokenQARunConfig(lrs=(("random", 3.0),)))
    assert lab.rate_of(lab.SpokenQARunConfig(lr=1e-4, lrs=(("random", 3e-4),)), "random") == 3e-4
    assert lab.rate_of(lab.SpokenQARunConfig(lr=1e-4), "pretrained") == 1e-4
    with pytest.raises(InputError, match="layers must be at least 1"):
        lab.check_config(lab.SpokenQARunConfig(layers=0))
    with pytest.raises(InputError, match="train takes must be 1 to 8, got 0"):
        lab.check_config(lab.SpokenQARunConfig(train_takes=0))
    with pytest.raises(InputError, match="take voices must be one of train, more, got 'all'"):
        lab.check_config(lab.SpokenQARunConfig(train_takes=3, take_voices="all"))
    lab.check_config(lab.LIVE_RUN)  # the live default is a valid run


@needs_espeak
def test_training_run_end_to_end_on_a_few_voiced_passages(cache):
    cfg = lab.SpokenQARunConfig(**TINY_RUN)
    phases, state = [], None
    for state in lab.run(cfg):
        phases.append(state.phase)
    assert phases[0].startswith("voicing") and phases[-1] == "done"
    assert any(p.startswith("training from random") for p in phases)
    for init in sqa.INITS:
        curve = state.curves[init]
        assert [p["step"] for p in curve] == [1, 2]
        assert all(np.isfinite(p["loss"]) and 0 <= p["dev_ff1"] <= 1 for p in curve)
        assert all(p["dev_loss"] > 0 for p in curve)  # held-out span loss at each evaluation
        assert state.test[init]["n"] == 3 and 0 <= state.test[init]["ff1"] <= 1
        by_voice = state.test[init]["by_voice"]  # the test voices apart, summing to the whole
        assert set(by_voice) <= set(TEST_VOICES) and sum(v["n"] for v in by_voice.values()) == 3
        assert np.isclose(sum(v["ff1"] * v["n"] for v in by_voice.values()) / 3,
                          state.test[init]["ff1"])
    assert state.done_steps == state.total_steps == 4
    metrics = json.loads(json.dumps(state.metrics()))  # JSON-ready for the API
    assert set(metrics["runs"]) == set(sqa.INITS) and metrics["windows"] > 0
    assert list(metrics) == ["runs", "config", "windows", "elapsed_s"]


@needs_espeak
def test_a_run_cut_off_continues_from_its_checkpoints_as_if_never_stopped(cache, tmp_path):
    cfg = lab.SpokenQARunConfig(**dict(TINY_RUN, steps=3, layers=1, window=128, question_tokens=32,
                                       stride=32))
    for state in lab.run(cfg):
        pass
    whole = json.loads(json.dumps(state.metrics()["runs"]))
    for state in lab.run(cfg, checkpoint_dir=tmp_path):  # cut off after random's step 1
        if len(state.curves.get("random", [])) == 1:
            break
    assert (tmp_path / "pretrained.pt").is_file() and (tmp_path / "random.pt").is_file()
    phases = []
    for state in lab.run(cfg, checkpoint_dir=tmp_path):
        phases.append(state.phase)
    assert "training from pretrained init" not in phases  # trained and scored already
    assert phases.count("training from random init") == 2  # steps 2 and 3 only
    resumed = json.loads(json.dumps(state.metrics()["runs"]))
    for init in sqa.INITS:  # same batches, same RNGs: the same curve and test scores
        assert [p["step"] for p in resumed[init]["curve"]] == [p["step"] for p in
                                                               whole[init]["curve"]]
        for a, b in zip(resumed[init]["curve"], whole[init]["curve"]):
            assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
            if "dev_loss" in b:  # an evaluation step
                assert a["dev_loss"] == pytest.approx(b["dev_loss"], rel=1e-4)
        for measure in ("ff1", "aos"):
            assert resumed[init][measure] == pytest.approx(whole[init][measure], rel=1e-4)
    assert state.done_steps == state.total_steps
    for init in sqa.INITS:  # each start's time, summed over the two processes that trained it
        assert 0 < resumed[init]["train_s"] and whole[init]["train_s"] > 0
    # each start's checkpoint serves a run of that start alone (starts run as two processes)
    alone = [s.phase for s in lab.run(replace(cfg, inits=("random",)), checkpoint_dir=tmp_path)]
    assert not any(p.startswith("training") for p in alone) and alone[-1] == "done"
    # a start scored before the test voices were scored apart is scored again, not retrained
    saved = load_checkpoint(tmp_path / "pretrained.pt")
    del saved["test"]["by_voice"]
    save_checkpoint(tmp_path / "pretrained.pt", saved)
    for state in lab.run(replace(cfg, inits=("pretrained",)), checkpoint_dir=tmp_path):
        pass
    again = state.metrics()["runs"]["pretrained"]
    assert again["train_s"] == round(saved["train_s"], 1)  # its training time, not rescoring
    assert again["ff1"] == pytest.approx(whole["pretrained"]["ff1"], rel=1e-4)
    assert len(again["curve"]) == len(whole["pretrained"]["curve"]) and again["by_voice"]
    assert "by_voice" in load_checkpoint(tmp_path / "pretrained.pt")["test"]
    with pytest.raises(InputError, match="made with other settings"):
        next(s for s in lab.run(replace(cfg, seed=1), checkpoint_dir=tmp_path)
             if s.phase.startswith("training"))


def test_committed_runs_load_as_they_are_on_disk():
    ref = lab.load_reference()
    assert ref == json.loads(lab.REFERENCE_PATH.read_text(encoding="utf-8"))
    runs = lab.load_runs()  # the reference first, then the other runs by file name
    on_disk = [json.loads(p.read_text(encoding="utf-8"))
               for p in sorted(lab.RUNS_DIR.glob("*.json"))]
    assert runs == [ref] + on_disk and len(runs) > 1
    assert lab.load_runs(ref)[0] is ref  # a reference already read is not read again


def test_a_missing_reference_is_none_and_a_stray_file_is_refused(tmp_path):
    assert lab.load_reference(tmp_path / "reference.json") is None
    stray = tmp_path / "stray.json"
    stray.write_text('{"runs": {}}', encoding="utf-8")
    with pytest.raises(RecordError, match="stray.json is not a run record"):
        lab.load_reference(stray)


def test_run_estimate_counts_the_windows_of_the_runs_own_setting():
    from core.spoken_qa import cost

    full = lab.SpokenQARunConfig(steps=100, eval_every=25)
    assert cost.windows_per_question(full) == pytest.approx((500 - 128) / (253 - 128))
    assert cost.windows_per_question(lab.LIVE_RUN) == pytest.approx((500 - 64) / (157 - 64))
    one = cost.estimate_s(full, 1.0)
    assert cost.estimate_s(replace(full, steps=200), 1.0) > one + 2 * 100  # both starts
    assert cost.estimate_s(replace(full, inits=("random",)), 1.0) == pytest.approx(one / 2)
    assert cost.estimate_s(full, 2.0) == pytest.approx(2 * one - 2 * cost.START_S)
