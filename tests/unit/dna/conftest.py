"""Fixtures of the DNA tests: the shared tiny encoder registered as an English model."""
from __future__ import annotations

import pytest

from core.text import models


@pytest.fixture(scope="module")
def tiny_english(tmp_path_factory, tiny_model):
    """The name of a tiny random-init 'English' model, registered for one test module."""
    folder = tmp_path_factory.mktemp("tiny-english")
    tiny_model.model.save_pretrained(folder, safe_serialization=True)
    tiny_model.tokenizer.save_pretrained(folder)
    spec = models.ModelSpec("tiny-english", "english", "paper", "hub", str(folder), "tiny")
    models.ENGLISH_MODELS["tiny-english"] = spec
    yield "tiny-english"
    del models.ENGLISH_MODELS["tiny-english"]
