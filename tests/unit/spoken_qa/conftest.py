"""Fixtures of the spoken-QA unit tests."""
from __future__ import annotations

import pytest

from core.common.paths import CACHE_ENV
from core.spoken_qa import items


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A private cache folder for a module: voicing in tests never touches the user's, and no
    unit items of another cache are reused."""
    mp = pytest.MonkeyPatch()
    mp.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("cache")))
    items._items.cache_clear()
    yield
    items._items.cache_clear()
    mp.undo()
