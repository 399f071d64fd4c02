"""core.speech.hubert: HuBERT as a unit extractor and the measured choice of its layer, on tiny
random-init HubertModels (tests never download; hubert-base itself is checked to fail with a
clear message when it is not cached and the hub is off)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from core.common.errors import InputError, ModelUnavailable
from core.speech import audio, extractors, frames, hubert, quality, voice
from core.speech.quality import LAYER_WORDS
from tests.helpers import librivox_files, tiny_hubert_model

SR = audio.SAMPLE_RATE
needs_espeak = pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)
pytestmark = pytest.mark.usefixtures("one_thread")


def test_hubert_layer_hook_matches_hidden_states_and_chunks():
    model = tiny_hubert_model(layers=3)
    ex = hubert.HubertExtractor(model, layer=2)
    wave = (0.1 * np.random.default_rng(0).standard_normal(SR * 2)).astype(np.float32)
    with torch.inference_mode():
        ref = model(torch.from_numpy(wave)[None], output_hidden_states=True)
    assert np.allclose(ex(wave), ref.hidden_states[2][0].numpy(), atol=1e-5)
    long = np.tile(wave, 12)  # 24 s: more than one HUBERT_CHUNK_FRAMES chunk
    assert len(ex(long)) == frames.num_frames(len(long))
    with pytest.raises(InputError, match="between 1 and 3"):
        hubert.HubertExtractor(model, layer=4)
    with pytest.raises(InputError, match="one frame needs 25 ms"):
        ex(np.zeros(100, dtype=np.float32))


def test_hubert_loader_reads_safetensors_folder(tmp_path):
    model = tiny_hubert_model()
    model.save_pretrained(tmp_path / "tiny", safe_serialization=True)
    ex = extractors.load_hubert(str(tmp_path / "tiny"), layer=2, name="tiny")
    wave = (0.1 * np.random.default_rng(1).standard_normal(SR)).astype(np.float32)
    assert np.allclose(ex(wave), hubert.HubertExtractor(model, layer=2)(wave), atol=1e-5)


def test_hubert_base_offline_says_what_to_do(tmp_path, monkeypatch):
    import huggingface_hub.constants as hub_constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path))  # an empty cache
    with pytest.raises(ModelUnavailable, match="Hub cannot be reached: use the embedded 'tiny-hubert'"):
        extractors.load_hubert(cache_dir=str(tmp_path))
    extractors._load_cached.cache_clear()
    with pytest.raises(ModelUnavailable, match="hubert-base-ls960"):
        extractors.load_extractor("hubert-base")  # the registry entry goes the same way


def test_layer_is_the_measured_one_for_its_repo_else_the_middle(tmp_path, monkeypatch):
    folder = str(tmp_path / "tiny4")
    tiny_hubert_model(layers=4).save_pretrained(folder, safe_serialization=True)
    monkeypatch.setattr(hubert, "LAYER_FILE", tmp_path / "choice.json")
    assert hubert.load_hubert(folder).layer == 2  # nothing measured: the middle of 4
    assert "layer 6 of 12 (the middle layer" in hubert.layer_note()
    hubert.write_layer_choice(tmp_path / "choice.json", folder, 3, {1: 0.9, 2: 0.8, 3: 0.7,
                              4: 0.75}, words=["a"], voices=["en-us"], k=8, fit_files=1,
                              wall_s=1.0)
    assert hubert.load_hubert(folder).layer == 3
    assert hubert.load_hubert(folder, layer=1).layer == 1  # an explicit layer wins
    assert hubert.measured_layer("another/repo") is None  # a choice belongs to one repo
    assert "layer 3 of 4 (measured" in hubert.layer_note(folder, 4)


@needs_espeak
def test_pick_layer_scores_every_layer_and_keeps_the_best():
    model = tiny_hubert_model(layers=3)
    best, ratios = quality.pick_layer(lambda i: hubert.HubertExtractor(model, layer=i),
                                      range(1, 4), librivox_files(), ["water", "garden", "seven"],
                                      ["en-us", "en-gb", "en-us+f3"], k=8)
    assert set(ratios) == {1, 2, 3} and ratios[best] == min(ratios.values())
    assert all(0 < r < 1.5 for r in ratios.values())


@needs_espeak
def test_pick_layer_command_writes_the_choice_the_loader_uses(tmp_path, monkeypatch):
    folder = str(tmp_path / "tiny")
    tiny_hubert_model(layers=2).save_pretrained(folder, safe_serialization=True)
    out = tmp_path / "layer.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SSL_LAB_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "core", "pick-layer", "--model", folder, "--k", "8",
           "--limit-per-split", "1", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    choice = json.loads(out.read_text())
    assert choice["repo"] == folder and set(choice["ratios"]) == {"1", "2"}
    assert choice["ratios"][str(choice["layer"])] == min(choice["ratios"].values())
    assert choice["words"] == list(LAYER_WORDS) and len(choice["voices"]) == 8
    assert choice["fit_files"] == 1 and choice["machine"]["cpu_count"] >= 1
    monkeypatch.setattr(hubert, "LAYER_FILE", out)
    assert hubert.load_hubert(folder).layer == choice["layer"]
    assert f"best: layer {choice['layer']}" in done.stdout


def test_hubert_base_comes_from_the_revision_with_safetensors(tmp_path, monkeypatch):
    """The repo's main branch has pickles only: the loader asks for the safetensors revision
    (and would refuse a folder without safetensors)."""
    import huggingface_hub

    asked = []

    def fake_snapshot(repo, **kwargs):
        asked.append((repo, kwargs))
        folder = tmp_path / "snap"
        tiny_hubert_model().save_pretrained(folder, safe_serialization=True)
        return str(folder)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    monkeypatch.setattr(hubert, "LAYER_FILE", tmp_path / "none.json")  # not measured
    ex = hubert.load_hubert()
    repo, kwargs = asked[0]
    assert repo == "facebook/hubert-base-ls960" and kwargs["revision"] == "refs/pr/2"
    assert kwargs["allow_patterns"] == ["*.json", "*.safetensors"] and ex.layer == 1
    (tmp_path / "pickled").mkdir()
    (tmp_path / "pickled" / "config.json").write_text("{}")
    with pytest.raises(ModelUnavailable, match="no safetensors weights"):
        hubert.load_model(str(tmp_path / "pickled"))
