"""core.pretrain.loop: batches per rank, training, resume from a checkpoint, torchrun.

Everything runs on CPU with the tiny size (2 layers, 128 wide) and a handful of steps.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from core.common.errors import InputError
from core.common.paths import ROOT
from core.pretrain import loop
from core.pretrain.data import tokenizer_for
from core.pretrain.mlm import PretrainConfig, build_mlm, param_digest

pytestmark = pytest.mark.usefixtures("one_thread")
TORCHRUN_TIMEOUT_S = 180  # two CPU workers normally finish in 10-20 s


def test_each_rank_gets_its_own_data(tok):
    cfg = PretrainConfig(scheme="shuffle-4", batch_size=4)
    r0, r1 = loop.batch_maker(cfg, tok, rank=0), loop.batch_maker(cfg, tok, rank=1)
    assert torch.equal(r0(3)["input_ids"], r0(3, None)["input_ids"])  # pure in the step
    assert not torch.equal(r0(3)["input_ids"], r1(3)["input_ids"])
    assert not torch.equal(r0(3)["input_ids"], r0(4)["input_ids"])
    assert "attention_mask" not in r0(0)  # nothing is padded


# ------------------------------------------------------------------------------ training
def test_pretraining_lowers_the_mlm_loss(tok):
    model = build_mlm("tiny", vocab_size=len(tok), seed=0)
    cfg = PretrainConfig(scheme="zipf-1.2", steps=30, batch_size=4, warmup_steps=3,
                         log_every=1)
    events = list(loop.pretrain(model, cfg, device="cpu"))
    assert [e.step for e in events] == list(range(1, 31))
    first = np.mean([e.loss for e in events[:3]])
    last = np.mean([e.loss for e in events[-5:]])
    assert first > 9.5 and last < first - 1.5, (first, last)
    assert model.training is False


def test_the_lab_vocabulary_pretrains_a_four_times_smaller_table():
    lab = tokenizer_for("lab")
    model = build_mlm("tiny", vocab_size=len(lab), seed=0)
    bert_rows = build_mlm("tiny", vocab_size=30_522, seed=0).encoder.embeddings
    assert model.encoder.embeddings.word_embeddings.weight.numel() * 3.8 < \
        bert_rows.word_embeddings.weight.numel()
    cfg = PretrainConfig(scheme="english", steps=30, batch_size=4, warmup_steps=3,
                         log_every=1, vocab="lab")
    events = list(loop.pretrain(model, cfg, device="cpu"))
    first, last = np.mean([e.loss for e in events[:3]]), np.mean([e.loss for e in events[-5:]])
    assert first > 8.5 and last < first - 1.0, (first, last)  # from ln(8000) = 9.0 down
    with pytest.raises(InputError, match="bert, lab"):
        PretrainConfig(scheme="english", vocab="gpt2")


def _params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_resume_ends_where_the_uninterrupted_run_ends(tok, tmp_path):
    def cfg(folder):
        return PretrainConfig(scheme="shuffle-4", steps=6, batch_size=2, warmup_steps=2,
                              log_every=1, checkpoint_dir=str(tmp_path / folder),
                              checkpoint_every=3)

    whole = build_mlm("tiny", vocab_size=len(tok), seed=0)
    whole_losses = [e.loss for e in loop.pretrain(whole, cfg("a"), device="cpu")]

    part = build_mlm("tiny", vocab_size=len(tok), seed=0)
    gen = loop.pretrain(part, cfg("b"), device="cpu")
    losses = [next(gen).loss for _ in range(3)]
    gen.close()  # stopped after step 3, the checkpoint of step 3 on disk
    saved = loop.load_checkpoint(tmp_path / "b" / loop.CHECKPOINT_NAME)
    assert saved["step"] == 3 and saved["config"]["steps"] == 6
    assert param_digest(part) != param_digest(whole)

    again = build_mlm("tiny", vocab_size=len(tok), seed=0)
    losses += [e.loss for e in loop.pretrain(again, cfg("b"), device="cpu", resume=True)]
    assert losses == pytest.approx(whole_losses, abs=1e-5)
    a, b = _params(whole), _params(again)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6, msg=k)
    end = loop.load_checkpoint(tmp_path / "b" / loop.CHECKPOINT_NAME)
    assert end["step"] == 6
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "b").iterdir())

    with pytest.raises(InputError, match="another run"):  # a different run's checkpoint
        loop.pretrain(again, PretrainConfig(**{**vars(cfg("b")), "seed": 1}), resume=True)


def test_torchrun_two_processes(tok, tmp_path):
    ck, digests = tmp_path / "ck", tmp_path / "digests"
    env = dict(os.environ, OMP_NUM_THREADS="1", SSL_LAB_DEVICE="cpu", HF_HUB_OFFLINE="1",
               PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "core", "pretrain", "--scheme", "shuffle-4", "--steps", "4",
           "--batch-size", "4", "--log-every", "1", "--checkpoint-dir", str(ck),
           "--checkpoint-every", "2", "--digest-dir", str(digests)]
    # own session: on a timeout the launcher and both workers go together
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TORCHRUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"torchrun did not finish in {TORCHRUN_TIMEOUT_S} s:\n{out[-2000:]}"
                    f"\n{err[-2000:]}")
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    steps = [line for line in out.splitlines() if line.startswith("step ")]
    assert len(steps) == 4 and steps[-1].startswith("step 4/4")  # rank 0 alone logs
    d0, d1 = ((digests / f"rank{r}.txt").read_text().strip() for r in (0, 1))
    assert d0 == d1  # the replicas stayed identical
    saved = loop.load_checkpoint(ck / loop.CHECKPOINT_NAME)
    assert saved["step"] == 4 and saved["world_size"] == 2 and len(saved["rng"]) == 2
    assert not torch.equal(saved["rng"][0]["torch"], saved["rng"][1]["torch"])
    model = build_mlm("tiny", vocab_size=len(tok), seed=0)
    init = param_digest(model)
    model.load_state_dict(saved["model"])
    assert param_digest(model) == d0 != init  # rank 0 saved what both ranks ended with


# ---------------------------------------------------------------------------- bad inputs
def test_bad_inputs_give_clear_errors(tok, capsys):
    model = build_mlm("tiny", vocab_size=len(tok))
    with pytest.raises(KeyError, match="unknown fake-data scheme"):  # at call time
        loop.pretrain(model, PretrainConfig(scheme="nope"))
    with pytest.raises(InputError, match="checkpoint_dir"):
        loop.pretrain(model, PretrainConfig(scheme="flat-128"), resume=True)
    with pytest.raises(InputError, match="embedding rows"):
        loop.pretrain(build_mlm("tiny", vocab_size=1000), PretrainConfig(scheme="uniform"))
    from core.tools.cli import main  # the command line says what is wrong, no traceback

    assert main(["pretrain", "--scheme", "scratch", "--steps", "1"]) == 2
    assert "no-pretraining baseline" in capsys.readouterr().err
    assert main(["pretrain", "--scheme", "flat-128", "--size", "huge"]) == 2
    assert "choose one of tiny, small, medium" in capsys.readouterr().err


def test_the_gpu_paths_run_on_cpu_compile_bf16_autocast_and_fused_adamw(tok):
    """What a CUDA run switches on by itself, forced on here (torch has all three on CPU)."""
    import torch

    from core.common.training import TrainConfig, make_optimizer

    model = build_mlm("tiny", vocab_size=len(tok), seed=0)
    assert make_optimizer(model, TrainConfig(fast=True), torch.device("cpu")).defaults["fused"]
    assert not make_optimizer(model, TrainConfig(), torch.device("cpu")).defaults["fused"]
    seen = []
    hook = model.encoder.encoder.layer[0].output.dense.register_forward_hook(
        lambda _m, _i, out: seen.append(out.dtype))
    eager = PretrainConfig(scheme="shuffle-4", steps=2, batch_size=2, warmup_steps=1,
                           log_every=1, compile=False, fast=True)
    assert all(np.isfinite(e.loss) for e in loop.pretrain(model, eager, device="cpu"))
    hook.remove()
    assert seen and set(seen) == {torch.bfloat16}  # the layers ran under bf16 autocast
    compiled = PretrainConfig(scheme="shuffle-4", steps=3, batch_size=2, warmup_steps=1,
                              log_every=1, compile=True, fast=True)
    events = list(loop.pretrain(build_mlm("tiny", vocab_size=len(tok), seed=0), compiled,
                                device="cpu"))
    assert [e.step for e in events] == [1, 2, 3]
    assert all(np.isfinite(e.loss) and 8 < e.loss < 12 for e in events)
