"""core.text.models: registries, profiles, and loading (tiny local configs; no download)."""
from __future__ import annotations

import time

import pytest

from core.common import hub
from core.text import models as M


def test_every_role_lists_its_models(monkeypatch):
    monkeypatch.delenv("SSL_LAB_PROFILE", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert M.current_profile() == "embedded"
    assert M.available_multilingual()[0] == "multilingual-e5-small"
    assert set(M.available_multilingual()) == set(M.MULTILINGUAL_MODELS)
    assert M.available_english()[0] == "all-minilm-l6-v2"
    for role, registry in M.REGISTRIES.items():
        for name, spec in registry.items():
            assert spec.role == role and spec.name == name and spec.profile in M.PROFILES
            assert M.get_spec(name) is spec


def test_profiles(monkeypatch):
    monkeypatch.delenv("SSL_LAB_PROFILE", raising=False)
    monkeypatch.setenv("SPACE_ID", "someone/ssl-magic-lab")
    assert M.current_profile() == "paper"
    assert M.default_model("multilingual") == "bert-base-multilingual-cased"
    assert M.default_model("english") == "bert-base-uncased"
    monkeypatch.setenv("SSL_LAB_PROFILE", "embedded")
    assert M.current_profile() == "embedded"
    monkeypatch.setenv("SSL_LAB_PROFILE", "fast")
    with pytest.raises(ValueError, match="choose one of embedded, paper"):
        M.current_profile()


def test_unknown_names_list_the_choices():
    with pytest.raises(KeyError, match="xlm-roberta-base"):
        M.get_spec("gpt-2")
    with pytest.raises(KeyError, match="multilingual, english"):
        M.available_models("vision")


def test_paper_model_without_network_fails_fast_naming_the_embedded_one(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty hub cache
    t0 = time.perf_counter()
    with pytest.raises(M.ModelUnavailable, match="multilingual-e5-small"):
        M.load_model("bert-base-multilingual-cased")
    with pytest.raises(M.ModelUnavailable, match="all-minilm-l6-v2"):
        M.load_model("bert-base-uncased")
    assert time.perf_counter() - t0 < 10


def test_hub_unreachable_is_detected_quickly(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    t0 = time.perf_counter()
    assert hub.hub_reachable(timeout_s=2) is False
    assert time.perf_counter() - t0 < 5


def test_paper_loader_on_a_tiny_local_config(monkeypatch, tmp_path, tiny_model):
    """The hub code path, given a folder in place of a repo id, loads a tiny mBERT-like model."""
    tiny_model.model.save_pretrained(tmp_path, safe_serialization=True)
    tiny_model.tokenizer.save_pretrained(tmp_path)
    spec = M.ModelSpec("tiny-paper", "multilingual", "paper", "hub", str(tmp_path), "tiny")
    monkeypatch.setitem(M.MULTILINGUAL_MODELS, "tiny-paper", spec)
    loaded = M.load_model("tiny-paper")
    assert loaded.num_layers == 2 and loaded.tokenizer.is_fast
    assert M.load_model("tiny-paper") is loaded  # cached once
    assert not any(p.suffix == ".bin" for p in tmp_path.iterdir())  # safetensors only


@pytest.mark.embedded
def test_packaged_english_model_loads_offline():
    loaded = M.load_model("all-minilm-l6-v2")
    assert loaded.num_layers == 6
    assert loaded.model.config.hidden_size == 384
    enc = loaded.tokenizer("Self-supervised models learn.", return_offsets_mapping=True)
    assert enc["offset_mapping"][1] == (0, 4)  # "self"
