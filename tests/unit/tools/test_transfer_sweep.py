"""`python -m core transfer-sweep` on a tiny setting: every arm probed and fine-tuned with
paired seeds, rates chosen on dev, and a resumed sweep that retrains nothing."""
from __future__ import annotations

import json

import pytest
import torch

from core.common.errors import InputError
from core.pretrain import mlm
from core.tools.sweeps import transfer

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = dict(schemes=("english", "flat-2"), tasks=("qnli",), steps=3, batch_size=4, seeds=2,
            probe_steps=2, finetune_steps=2, train_size=16, lr_grid=(1e-4, 1e-3))


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    folder = tmp_path_factory.mktemp("transfer")
    seen = []
    record = transfer.sweep(**TINY, workdir=folder / "work", progress_path=folder / "p.json",
                            on_cell=lambda k, c: seen.append(k))
    return folder, record, seen


def test_every_arm_is_probed_and_fine_tuned_on_paired_seeds(swept):
    _, rec, seen = swept
    arms = ["scratch", "matched", "english", "flat-2"]
    assert rec["config"]["arms"] == arms
    assert set(rec["pretrain"]) == {"english", "flat-2"}
    for scheme, p in rec["pretrain"].items():
        assert p["curve"][-1]["step"] == 3 and p["floor"] > 0 and p["learned"] is False
    assert set(rec["probe"]) == set(arms)
    assert rec["probe"]["scratch"]["gain"] is None
    assert rec["probe"]["english"]["gain"]["seeds"] == [0, 1]  # paired with scratch's seeds
    ft = rec["finetune"]["qnli"]
    for arm in arms:
        assert ft[arm]["n"] == 2 and all(0 <= a <= 1 for a in ft[arm]["per_seed"])
        assert ft[arm]["lr"] in (1e-4, 1e-3)  # chosen on dev from the grid
        assert rec["lrs"]["qnli"][arm] == ft[arm]["lr"]
    gain = ft["flat-2"]["gain"]
    assert gain["per_seed"] == pytest.approx([a - b for a, b in zip(
        ft["flat-2"]["per_seed"], ft["scratch"]["per_seed"])])
    assert len(rec["lr_search"]) == 4 * 2  # arms x rates
    assert seen.count("pretrain english") == 1
    walls = [p["wall_s"] for p in rec["pretrain"].values()]
    assert rec["compute_s"] > sum(walls) > 0  # pretraining and every cell, summed


def test_two_processes_measure_every_cell_as_one_does(swept, tmp_path):
    folder, rec, _ = swept
    seen = []  # the same checkpoints (pretraining is not redone), every cell run again
    two = transfer.sweep(**TINY, workdir=folder / "work", progress_path=tmp_path / "p.json",
                         on_cell=lambda k, c: seen.append(k), jobs=2)
    assert two["finetune"] == rec["finetune"] and two["probe"] == rec["probe"]
    assert two["lrs"] == rec["lrs"]
    assert list(two["pretrain"]) == list(rec["pretrain"]) == ["english", "flat-2"]
    assert all(two["pretrain"][s]["curve"] == rec["pretrain"][s]["curve"] for s in rec["pretrain"])
    assert sorted(k for k in seen if not k.startswith("pretrain")) == sorted(
        json.loads((tmp_path / "p.json").read_text())["cells"])  # each cell once


def test_a_resumed_sweep_reuses_every_cell(swept):
    folder, rec, _ = swept
    seen = []
    again = transfer.sweep(**TINY, workdir=folder / "work", progress_path=folder / "p.json",
                           resume=True, on_cell=lambda k, c: seen.append(k))
    assert [k for k in seen if not k.startswith("pretrain")] == []  # nothing trained again
    assert again["finetune"] == rec["finetune"] and again["probe"] == rec["probe"]
    with pytest.raises(InputError, match="jobs must be at least 1, got 0"):
        transfer.sweep(**TINY, workdir=folder / "work", jobs=0)
    with pytest.raises(ValueError, match="other settings"):
        transfer.sweep(**dict(TINY, seeds=3), workdir=folder / "work",
                       progress_path=folder / "p.json", resume=True)


def test_a_sweep_cut_off_mid_pretraining_resumes_with_the_curve_it_had(tmp_path,
                                                                        monkeypatch):
    real = transfer.loop.pretrain

    def cut_off(model, cfg, resume):  # the process dies after two logged steps
        for i, event in enumerate(real(model, cfg, resume=resume)):
            yield event
            if i == 1:
                raise KeyboardInterrupt

    small = dict(TINY, schemes=("english",), seeds=1, lr_grid=(1e-3,))
    paths = dict(workdir=tmp_path / "work", progress_path=tmp_path / "p.json")
    monkeypatch.setattr(transfer.loop, "pretrain", cut_off)
    with pytest.raises(KeyboardInterrupt):
        transfer.sweep(**small, **paths)
    monkeypatch.undo()
    # as an older sweep left it: the curve so far in the progress file, not beside the model
    kept = paths["workdir"] / "english" / transfer.CURVE_NAME
    so_far = json.loads(kept.read_text())
    kept.unlink()
    monkeypatch.setattr(transfer.records, "load_progress",
                        lambda path, config: {"config": config, "partial": {"english": so_far}})
    rec = transfer.sweep(**small, **paths, resume=True)
    monkeypatch.undo()
    assert [p["step"] for p in rec["pretrain"]["english"]["curve"]] == [1, 2, 3]
    kept = json.loads((paths["workdir"] / "english" / transfer.CURVE_NAME).read_text())
    assert kept["curve"] == rec["pretrain"]["english"]["curve"]  # kept beside the checkpoint
    assert "partial" not in json.loads(paths["progress_path"].read_text())


def test_stats_matched_keeps_each_tensors_mean_and_spread_but_not_its_values():
    model = mlm.build_mlm("tiny", vocab_size=500, seed=1)
    with torch.no_grad():
        model.encoder.encoder.layer[0].output.dense.weight.mul_(5.0).add_(0.3)
    twin = mlm.stats_matched(model, seed=0)
    for (name, a), (_, b) in zip(model.named_parameters(), twin.named_parameters()):
        a, b = a.detach(), b.detach()
        spread = float(a.std())
        if a.numel() > 100 and spread > 0:  # constant tensors (fresh LayerNorms) stay so
            assert float(b.mean()) == pytest.approx(float(a.mean()), abs=0.05 * spread), name
            assert float(b.std()) == pytest.approx(spread, rel=0.1), name
            assert not torch.allclose(a, b), name
    assert torch.equal(mlm.stats_matched(model, seed=0).head.bias, twin.head.bias)  # seeded


def test_shipped_bodies_reproduce_the_recorded_probe(swept, tmp_path):
    from core.common.errors import InputError
    from core.pretrain import bodies

    folder, rec, _ = swept
    meta = bodies.ship(folder / "work", rec["config"]["schemes"], rec["config"], tmp_path)
    assert set(meta["schemes"]) == {"english", "flat-2"}
    assert all(m["bytes"] < 10 * 2**20 for m in meta["schemes"].values())
    assert bodies.arms_available(tmp_path) == ["scratch", "matched", "english", "flat-2"]
    cfg = bodies.ProbeRunConfig(arms=("scratch", "matched", "english"),
                                steps=rec["config"]["probe_steps"], seed=0)
    seen = []
    for state in bodies.probe_run(cfg, folder=tmp_path):
        seen.append((state.phase, state.done_steps))
    assert seen[-1] == ("done", 3 * cfg.steps)
    assert [d for _, d in seen] == sorted(d for _, d in seen)  # progress only grows
    runs = state.metrics()["runs"]
    for arm in cfg.arms:  # float16 storage: the recorded loss within a few hundredths
        assert runs[arm]["held_out_loss"] == pytest.approx(
            rec["probe"][arm]["per_seed"][0], abs=0.02), arm
    assert runs["english"]["gain"] == pytest.approx(
        runs["scratch"]["held_out_loss"] - runs["english"]["held_out_loss"])
    with pytest.raises(InputError, match="unknown arm 'nesting'"):
        next(bodies.probe_run(bodies.ProbeRunConfig(arms=("nesting",)), folder=tmp_path))
    with pytest.raises(InputError, match="web UI allows"):
        next(bodies.probe_run(bodies.ProbeRunConfig(arms=("scratch", "english"), steps=2000),
                              folder=tmp_path, budget_s=60))
    with pytest.raises(InputError, match="no pretrained bodies are shipped"):
        next(bodies.probe_run(bodies.ProbeRunConfig(), folder=tmp_path / "none"))
