"""core.spoken_qa.ship: the shipped form of a trained model, and `python -m core
train-spoken-qa` writing a run record and a shipped model that scores like the trained one."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from core.common import records
from core.common.errors import InputError
from core.speech import voice
from core.spoken_qa import lab, ship
from core.spoken_qa import model as sqa
from core.text.models import default_model

needs_espeak = pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)
pytestmark = pytest.mark.usefixtures("one_thread")


def _perturbed(model: sqa.SpanQA, rank: int, seed: int = 0) -> sqa.SpanQA:
    """The model with a rank-`rank` change on every encoder matrix (a stand-in for
    fine-tuning) and a change on the used embedding rows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.encoder.named_parameters():
            if p.ndim == 2 and "word_embeddings" not in name:
                a = torch.randn(p.shape[0], rank, generator=g)
                b = torch.randn(rank, p.shape[1], generator=g)
                p += 0.01 * a @ b
            elif p.ndim == 1:
                p += 0.01
        model.encoder.embeddings.word_embeddings.weight[1996:2000] += 1.0
    return model


def test_shipped_form_rebuilds_a_low_rank_change_exactly(tiny_model):
    from core.speech.unit_tokens import OffsetMap

    base = tiny_model.model
    model = _perturbed(sqa.build_qa_model("pretrained", base=base), rank=3)
    unit_map = OffsetMap(tiny_model.tokenizer, 4)
    tensors = ship.compress(model, base.state_dict(), ship._used_ids(unit_map), rank=4)
    state = ship.expand(tensors, base.state_dict())
    for name, w in model.state_dict().items():
        assert torch.allclose(state[name], w, atol=2e-3), name  # float16 factors
    # unused embedding rows come from the base model, untouched
    emb = state[ship.EMBEDDING]
    assert torch.equal(emb[3000], base.state_dict()["embeddings.word_embeddings.weight"][3000])
    # a change of higher rank than stored is approximated, not dropped
    rough = ship.expand(ship.compress(_perturbed(sqa.build_qa_model("pretrained", base=base),
                                                 rank=8), base.state_dict(),
                                      ship._used_ids(unit_map), rank=4), base.state_dict())
    name = "encoder.encoder.layer.0.intermediate.dense.weight"
    delta = rough[name] - base.state_dict()[name.removeprefix("encoder.")]
    assert torch.linalg.matrix_rank(delta.double(), rtol=1e-3) == 4


def test_random_start_is_rebuilt_from_its_seed(tiny_model):
    """A model trained from random init is stored as a change over the net its seed draws."""
    from core.speech.unit_tokens import OffsetMap

    base = tiny_model.model
    start = ship.start_state(base, "random", seed=3)
    assert not torch.equal(start["encoder.layer.0.attention.self.query.weight"],
                           base.state_dict()["encoder.layer.0.attention.self.query.weight"])
    model = _perturbed(sqa.build_qa_model("random", base=base, seed=3), rank=3)
    used = ship._used_ids(OffsetMap(tiny_model.tokenizer, 4))
    tensors = ship.compress(model, start, used, rank=4)
    rebuilt = ship.expand(tensors, ship.start_state(base, "random", seed=3))
    for name, w in model.state_dict().items():
        assert torch.allclose(rebuilt[name], w, atol=2e-3), name
    other = ship.expand(tensors, ship.start_state(base, "random", seed=4))  # wrong seed
    name = "encoder.encoder.layer.0.attention.self.query.weight"
    assert not torch.allclose(other[name], model.state_dict()[name], atol=2e-3)


def test_missing_shipped_model_says_how_to_train_one(tmp_path):
    with pytest.raises(InputError, match="train-spoken-qa --save"):
        ship.load_shipped(tmp_path)


@needs_espeak
def test_cli_trains_saves_and_checks_the_shipped_form(cache, tmp_path):
    out, folder = tmp_path / "ref.json", tmp_path / "qa"
    cmd = [sys.executable, "-m", "core", "train-spoken-qa", "--inits", "pretrained",
           "--steps", "1", "--batch-size", "2", "--eval-questions", "1", "--test-questions",
           "2", "--limit-per-split", "2", "--out", str(out), "--save", str(folder),
           "--layers", "2", "--window", "128", "--question-tokens", "32", "--stride", "16",
           "--lrs", "pretrained=3e-4", "--train-takes", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    assert text.endswith("}\n") and "\n" not in text[:-1]  # compact JSON, one line
    ref = records.load(out)  # a run record: envelope and config
    assert list(ref) == list(lab.load_reference())  # the keys, in the committed order
    assert ref["runs"]["pretrained"]["n"] == 2 and ref["config"]["steps"] == 1
    assert ref["model"] == default_model("english") and ref["wall_s"] >= ref["elapsed_s"]
    meta = json.loads((folder / ship.META).read_text())
    assert meta["bytes"] < ship.MAX_FILE_BYTES
    assert meta["shipped_test"]["n"] == meta["trained_test"]["n"] == 2
    cfg = ref["config"]  # the run's shape, as asked
    assert (cfg["layers"], cfg["window"], cfg["question_tokens"], cfg["stride"]) == \
        (2, 128, 32, 16)
    assert cfg["lrs"] == [["pretrained", 3e-4]] and cfg["train_takes"] == 2
    model, unit_map, meta = ship.load_shipped(folder)
    assert unit_map.k == 128 and not model.training
    assert model.encoder.config.num_hidden_layers == 2  # the body it was trained with
    assert ship.qa_config_of(meta, model.encoder.config).max_len == 128  # and its windows
    # the shipped file answers as the trained model did, in the same windows
    assert meta["shipped_test"]["ff1"] == pytest.approx(meta["trained_test"]["ff1"], abs=0.05)
