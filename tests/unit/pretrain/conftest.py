"""Fixtures of the fake-data tests: the English tokenizer and the ids masking needs."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tok():
    from core.pretrain.data import english_tokenizer

    return english_tokenizer()


@pytest.fixture(scope="session")
def ids(tok):
    from core.pretrain.data import TokenIds

    return TokenIds.from_tokenizer(tok)
