"""core.speech.tiny_hubert(_train): masking, masked-unit pretraining on real LibriVox speech, saving
and loading, the layer choice, the registry entry and the train-hubert command (tiny sizes)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from core.common.errors import ModelUnavailable
from core.common.training import TrainConfig
from core.speech import audio, extractors, frames, quality, units, voice
from core.speech import tiny_hubert as th
from core.tools import train_hubert as tht
from core.tools.bench.speech import QUALITY_WORDS

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.skipif(not tht.librivox_paths(),
                                 reason="needs Debian pocketsphinx-testdata")]
needs_espeak = pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)
TINY = th.TinyHubertConfig(hidden=32, layers=2, heads=2, ffn=64, pos_groups=4, targets=16,
                           pos_kernel=9)
K = 16


@pytest.fixture(scope="module")
def features():
    """LibriVox log mels and their MFCC units (k=16 fitted on the same clips)."""
    paths = tht.librivox_paths()
    mfcc = extractors.load_extractor("mfcc")
    feats = np.concatenate([mfcc(audio.load_audio(p)) for p in paths])
    codebook = units.fit_codebook(feats, K, seed=0)
    return tht.clip_features(paths, codebook)


def test_span_masks_cover_about_half_the_frames_in_spans():
    rng = np.random.default_rng(0)
    mask = th.span_mask(rng, 64, 400, 0.08, 10)
    assert mask.shape == (64, 400) and mask.any(axis=1).all()
    expected = 1 - (1 - 0.08) ** 10  # a frame is masked unless no span started in the 10 before
    assert abs(mask.mean() - expected) < 0.03
    runs = units.dedup(mask[0].astype(int))
    assert (runs.counts[runs.units == 1] >= 10).all() or mask[0, -10:].any()


def test_warping_moves_the_spectrum_along_frequency_and_leaves_the_targets(features):
    mels, targets, _ = features
    crops = torch.from_numpy(mels[:400].astype(np.float32))[None].repeat(3, 1, 1)
    warped = th.warp_mels(crops, np.array([1.0, 0.85, 1.15]))
    assert torch.allclose(warped[0], crops[0], atol=1e-6)  # factor 1: the crop as it was
    centre = frames.mel_centres_hz()

    def centroid_hz(x):  # each frame's energy-weighted frequency, averaged
        energy = torch.softmax(x, dim=-1).numpy()
        return float((energy @ centre).mean())

    assert centroid_hz(warped[1]) < centroid_hz(crops[0]) < centroid_hz(warped[2])
    plain = th.batch_maker(mels, targets, TINY, 4)(0, np.random.default_rng(3))
    warp_cfg = th.TinyHubertConfig(**{**TINY.__dict__, "warp": 0.15})
    perturbed = th.batch_maker(mels, targets, warp_cfg, 4)(0, np.random.default_rng(3))
    assert torch.equal(plain["targets"], perturbed["targets"])  # the unwarped audio's units
    assert torch.equal(plain["mask"], perturbed["mask"])
    assert not torch.allclose(plain["mels"], perturbed["mels"])


def test_features_line_up_with_targets(features):
    mels, targets, seconds = features
    assert mels.shape == (len(targets), 40) and mels.dtype == np.float16
    assert 0 <= targets.min() and targets.max() < K and seconds == pytest.approx(24.73, abs=0.05)
    total = sum(frames.num_frames(len(audio.load_audio(p))) for p in tht.librivox_paths())
    assert len(targets) == total


def test_a_second_iteration_predicts_the_units_of_a_trained_models_own_features():
    torch.manual_seed(0)
    model = th.TinyHubert(TINY).eval()
    extract = th.TinyHubertExtractor(model, 1)
    paths = tht.librivox_paths()[:2]
    feats = np.concatenate([extract(audio.load_audio(p)) for p in paths])
    codebook = units.fit_codebook(feats, K, seed=0)
    mels, targets, _ = tht.clip_features(paths, codebook, target_extractor=extract)
    assert len(mels) == len(targets) == len(feats)
    assert np.array_equal(targets, units.units(feats, codebook))  # its units, not MFCC's
    with pytest.raises(ValueError, match="target frames for"):
        tht.clip_features(paths, codebook, target_extractor=lambda wave: extract(wave)[:-1])


def test_cli_refuses_targets_it_has_no_codebook_for(capsys):
    from core.tools.cli import main

    assert main(["train-hubert", "--targets-from", "wav2vec", "--steps", "1"]) == 2
    assert "choose one of mfcc, tiny-hubert" in capsys.readouterr().err
    assert main(["train-hubert", "--targets-from", "tiny-hubert", "--targets", "7"]) == 2
    assert "fit-units --extractor tiny-hubert --k 7" in capsys.readouterr().err
    assert main(["train-hubert", "--warp", "1.5", "--steps", "1"]) == 2  # factors below 0
    assert "0.25: factors 0.75-1.25); got 1.5" in capsys.readouterr().err


def test_masked_prediction_learns_on_real_speech(features):
    mels, targets, _ = features
    tc = TrainConfig(max_steps=60, batch_size=4, lr=2e-3, warmup_steps=5, eval_every=60,
                     seed=0)
    model, log = tht.pretrain(mels, targets, TINY, tc)
    losses = [p["loss"] for p in log["curve"]]
    assert np.mean(losses[-5:]) < losses[0] - 0.3  # from ~ln(16) = 2.77 down
    assert log["curve"][-1]["masked_accuracy"] > 1.5 / K  # better than guessing
    ex = th.TinyHubertExtractor(model)
    wave = audio.load_audio(tht.librivox_paths()[0])
    feats = ex(wave)
    assert feats.shape == (frames.num_frames(len(wave)), 32) and np.isfinite(feats).all()


def test_long_clips_are_read_in_chunks_with_the_same_frame_count():
    model = th.TinyHubert(TINY).eval()
    wave = np.random.default_rng(0).normal(0, 0.1, 16_000 * 25).astype(np.float32)  # 1250 frames
    feats = th.TinyHubertExtractor(model, layer=1)(wave)
    assert feats.shape == (frames.num_frames(len(wave)), 32)


def test_saved_model_loads_back_with_the_same_features(tmp_path):
    torch.manual_seed(0)
    model = th.TinyHubert(TINY).eval()
    th.save(model, tmp_path, {"curve": []})
    again = th.load(tmp_path)
    wave = audio.load_audio(tht.librivox_paths()[1])
    a, b = th.TinyHubertExtractor(model)(wave), th.TinyHubertExtractor(again)(wave)
    assert np.allclose(a, b, atol=2e-2)  # float16 weights on disk
    assert json.loads((tmp_path / th.CONFIG).read_text())["hidden"] == 32
    assert (tmp_path / th.WEIGHTS).stat().st_size < 10 * 2**20
    with pytest.raises(ModelUnavailable, match="train-hubert"):
        th.load(tmp_path / "nothing-here")


def test_registry_entry_loads_the_shipped_model():
    extractors._load_cached.cache_clear()
    ex = extractors.load_extractor("tiny-hubert")
    wave = audio.load_audio(tht.librivox_paths()[0])
    feats = ex(wave)
    assert feats.shape == (frames.num_frames(len(wave)), ex.dims) and np.isfinite(feats).all()
    assert ex.layer == th.load().config.feature_layer


def test_shipped_model_is_small_and_its_log_shows_it_learned():
    files = [th.MODEL_DIR / f for f in (th.WEIGHTS, th.CONFIG, th.LOG)]
    assert all(f.is_file() and f.stat().st_size <= 10 * 2**20 for f in files)
    log = json.loads((th.MODEL_DIR / th.LOG).read_text())
    curve = log["curve"]
    first, last = curve[0]["loss"], np.mean([p["loss"] for p in curve[-5:]])
    assert last < first - 0.5  # masked-unit loss fell
    acc = [p["masked_accuracy"] for p in curve if "masked_accuracy" in p]
    chance = 1 / log["config"]["targets"]
    assert acc[-1] > 10 * chance and acc[-1] > acc[0]  # held-back masked frames
    ratios = {int(k): v for k, v in log["layer_consistency_ratio"].items()}
    layer = th.load().config.feature_layer
    assert set(ratios) == set(range(1, log["config"]["layers"] + 1))
    assert ratios[layer] == min(ratios.values()) < 1.0  # the chosen layer is the best one
    assert log["layer_words"] and not set(log["layer_words"]) & set(QUALITY_WORDS)


@needs_espeak
def test_pick_layer_scores_every_layer_and_keeps_the_best():
    torch.manual_seed(0)
    model = th.TinyHubert(TINY).eval()
    before = model.config
    best, ratios = quality.pick_layer(lambda i: th.TinyHubertExtractor(model, i), range(1, 3),
                                      tht.librivox_paths(), ["water", "garden", "seven"],
                                      ["en-us", "en-gb", "en-us+f3"], k=16)
    assert set(ratios) == {1, 2} and ratios[best] == min(ratios.values())
    assert model.config is before and all(0 < r < 1.5 for r in ratios.values())


def test_cli_exports_features_and_trains_from_them(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SSL_LAB_CACHE": str(tmp_path / "cache")}
    feats = tmp_path / "f.npz"
    mels, targets = np.zeros((900, 40), np.float16), np.arange(900, dtype=np.int16) % 128
    tht.save_features(feats, mels, targets, 18.0)
    out = tmp_path / "model"
    cmd = [sys.executable, "-m", "core", "train-hubert", "--features", str(feats), "--steps",
           "3", "--batch-size", "2", "--hidden", "32", "--layers", "2", "--heads", "2",
           "--warp", "0.2", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "layer not measured here" in done.stdout
    log = json.loads((out / th.LOG).read_text())
    assert [p["step"] for p in log["curve"]][-1] == 3 and log["hours_of_audio"] == 0.01
    assert th.load(out).config.layers == 2 and th.load(out).config.warp == 0.2
