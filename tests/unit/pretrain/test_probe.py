"""The probe: fresh embeddings on a frozen body learn English; the model probed is untouched."""
from __future__ import annotations

import pytest
import torch

from core.common.errors import InputError
from core.pretrain.mlm import build_mlm, param_digest
from core.pretrain.probe import ProbeConfig, prepare, probe


def test_only_fresh_embeddings_and_the_output_bias_learn():
    model = build_mlm("tiny", vocab_size=8_000, seed=0)
    learner = prepare(model, seed=3)
    learning = {n for n, p in learner.named_parameters() if p.requires_grad}
    assert learning == {"encoder.embeddings.word_embeddings.weight", "head.bias"}
    words = learner.encoder.get_input_embeddings().weight
    assert learner.head.decoder.weight is words  # still tied
    assert not torch.equal(words, model.encoder.get_input_embeddings().weight)
    assert torch.equal(words, prepare(model, seed=3).encoder.get_input_embeddings().weight)
    layer = "encoder.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(learner.state_dict()[layer], model.state_dict()[layer])


def test_the_probe_lowers_the_held_out_loss_and_leaves_the_model_as_it_was():
    model = build_mlm("tiny", vocab_size=8_000, seed=0)
    before = param_digest(model)
    events = list(probe(model, ProbeConfig(steps=40, eval_every=20, vocab="lab",
                                           held_out_lines=16), device="cpu"))
    losses = [e.metrics["held_out_loss"] for e in events if e.metrics]
    assert len(losses) == 2 and losses[0] < 9.2  # ln(8000) = 9.0 at the start
    assert losses[1] < losses[0] - 0.1, losses
    assert param_digest(model) == before
    with pytest.raises(InputError, match="30522 embedding rows"):
        list(probe(build_mlm("tiny", vocab_size=30_522), ProbeConfig(vocab="lab")))
    with pytest.raises(InputError, match="steps must be at least 1"):
        list(probe(model, ProbeConfig(steps=0, vocab="lab")))


def test_the_command_line_probes_a_checkpoint_or_scratch(tmp_path, capsys):
    from core.tools.cli import main

    ck = tmp_path / "ck"
    assert main(["pretrain", "--scheme", "english", "--vocab", "lab", "--steps", "4",
                 "--batch-size", "2", "--checkpoint-dir", str(ck)]) == 0
    capsys.readouterr()
    assert main(["probe", "--checkpoint", str(ck / "last.pt"), "--steps", "4",
                 "--eval-every", "4"]) == 0
    assert "english" in capsys.readouterr().out.splitlines()[-1]
    assert main(["probe", "--steps", "2", "--eval-every", "2"]) == 0
    assert "scratch: step 2/2  held-out English MLM loss" in capsys.readouterr().out
    assert main(["probe", "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "no checkpoint at" in capsys.readouterr().err
