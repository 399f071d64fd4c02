"""core.spoken_qa.lab / spoken_qa_ship / spoken_qa_view: the committed text set and codebooks,
window selection, the training generator end to end on a few voiced passages, the shipped
form of a trained model, and the tab's figures."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from core.common.errors import InputError
from core.speech import extractors, voice
from core.speech.units import Runs, dedup
from core.spoken_qa import lab, ship, view
from core.spoken_qa import model as sqa
from core.spoken_qa.data import build_text_set

needs_espeak = pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)
TINY_RUN = dict(steps=2, batch_size=2, eval_questions=2, test_questions=3, limit_per_split=2,
                eval_every=1)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A private cache folder: voicing in tests never touches the user's."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SSL_LAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    lab._items.cache_clear()
    yield
    lab._items.cache_clear()
    mp.undo()


def test_committed_text_set_is_what_build_spoken_qa_makes():
    assert lab.load_records() == build_text_set(0)


@pytest.mark.parametrize("extractor,dims", [("mfcc", 39), ("tiny-hubert", 256)])
def test_committed_codebooks_cover_every_k(extractor, dims):
    for k in extractors.CODEBOOK_KS:
        cb = extractors.load_codebook(extractor, k)
        assert cb.shape == (k, dims) and np.isfinite(cb).all()
        assert len(np.unique(cb.round(4), axis=0)) == k  # no two centroids alike
        assert extractors.codebook_path(extractor, k).stat().st_size < 10 * 2**20
    with pytest.raises(InputError, match="fit-units --extractor mfcc --k 7"):
        extractors.load_codebook("mfcc", 7)
    with pytest.raises(InputError, match="choose one of .*mfcc"):
        extractors.load_codebook("wav2vec", 128)


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
    with pytest.raises(InputError, match="unknown unit map"):
        lab.check_config(lab.SpokenQARunConfig(unit_map="alphabet"))
    with pytest.raises(InputError, match="k=100"):
        lab.check_config(lab.SpokenQARunConfig(k=100))


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
        assert state.test[init]["n"] == 3 and 0 <= state.test[init]["ff1"] <= 1
    assert state.done_steps == state.total_steps == 4
    metrics = json.loads(json.dumps(state.metrics()))  # JSON-ready for the API
    assert set(metrics["runs"]) == set(sqa.INITS) and metrics["windows"] > 0


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


def test_missing_shipped_model_says_how_to_train_one(tmp_path):
    with pytest.raises(InputError, match="train-spoken-qa --save"):
        ship.load_shipped(tmp_path)


def test_envelope_keeps_the_peaks_of_a_long_clip():
    wave = np.zeros(16_000 * 60, dtype=np.float32)
    wave[123_456] = 0.9
    wave[654_321] = -0.7
    t, y = view.envelope(wave)
    assert len(t) == len(y) == 2 * view.ENVELOPE_POINTS
    assert y.max() == pytest.approx(0.9) and y.min() == pytest.approx(-0.7)
    assert np.all(np.diff(t) >= 0) and t[-1] < 60


def test_answer_figure_draws_one_bar_per_unit_run_and_shades_the_answer():
    runs: Runs = dedup(np.array([3, 3, 5, 5, 5, 1, 1, 2]))
    wave = np.random.default_rng(0).normal(0, 0.1, 8 * 320).astype(np.float32)
    fig = view.answer_figure(wave, runs, (0.04, 0.10), tokens=["a", "b", "c", "d"], k=8)
    bars = [t for t in fig.data if t.type == "bar"][0]
    assert len(bars.x) == 4 and list(bars.base) == pytest.approx([0, 0.04, 0.10, 0.14])
    assert "'b'" in bars.hovertext[1] and "3 frames" in bars.hovertext[1]
    shaded = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(shaded) == 2 and shaded[0].x0 == 0.04 and shaded[0].x1 == 0.10
    assert "8 frames -> 4 units" in fig.layout.title.text


@needs_espeak
def test_cli_trains_saves_and_checks_the_shipped_form(cache, tmp_path):
    out, folder = tmp_path / "ref.json", tmp_path / "qa"
    cmd = [sys.executable, "-m", "core", "train-spoken-qa", "--inits", "pretrained",
           "--steps", "1", "--batch-size", "2", "--eval-questions", "1", "--test-questions",
           "2", "--limit-per-split", "2", "--out", str(out), "--save", str(folder)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    ref = json.loads(out.read_text())
    assert ref["runs"]["pretrained"]["n"] == 2 and ref["config"]["steps"] == 1
    meta = json.loads((folder / ship.META).read_text())
    assert meta["bytes"] < ship.MAX_FILE_BYTES
    assert meta["shipped_test"]["n"] == meta["trained_test"]["n"] == 2
    model, unit_map, _ = ship.load_shipped(folder)
    assert unit_map.k == 128 and not model.training


def _ref() -> dict:
    curve = [{"step": 5, "loss": 4.0, "dev_ff1": 0.2, "dev_aos": 0.1}]
    return {"runs": {"pretrained": {"ff1": 0.41, "aos": 0.33, "n": 177, "curve": curve},
                     "random": {"ff1": 0.05, "aos": 0.03, "n": 177, "curve": curve}},
            "config": {"extractor": "mfcc", "k": 128, "unit_map": "offset", "steps": 5,
                       "batch_size": 8, "lr": 1e-4, "seed": 0, "eval_every": 5,
                       "eval_questions": 40},
            "model": "all-minilm-l6-v2", "machine": {"device": "CPU (2 threads)"},
            "wall_s": 600.0, "started": "2026-11-24 23:00:00 UTC"}


def test_reference_figure_table_and_summary_put_ours_beside_dual():
    ref = _ref()
    fig = view.reference_figure(ref)
    ff1 = fig.data[0]
    assert list(ff1.x) == ["pretrained", "random", "DUAL (NMSQA)"]
    assert list(ff1.y) == [0.41, 0.05, view.DUAL_NMSQA["ff1"]]
    rows = view.reference_table(ref)
    assert rows[0] == ["pretrained", 0.41, 0.33, 177, 0.2] and rows[-1][1] == 0.56
    text = lab.reference_summary(ref)
    assert "**pretrained** FF1 0.410" in text and "177 held-out test questions" in text
    assert ("train-spoken-qa --extractor mfcc --k 128 --unit-map offset --steps 5 --eval-every 5 "
            "--eval-questions 40") in text


def test_comparison_has_a_row_per_run_with_both_starts():
    other = _ref()
    other["config"] = {**other["config"], "extractor": "tiny-hubert", "k": 64}
    del other["runs"]["random"]
    rows = lab.comparison_rows([_ref(), other])
    assert [len(r) for r in rows] == [len(lab.RUN_COLUMNS)] * 2
    assert rows[0] == ["mfcc", 128, "offset", 5, 0.41, 0.33, 0.05, 0.03, 177]
    assert rows[1][:2] == ["tiny-hubert", 64] and rows[1][6:8] == [None, None]
    runs = lab.load_runs()  # the committed ones: the reference first
    assert runs and runs[0] == lab.load_reference()
    assert all({"config", "runs"} <= set(r) for r in runs)
