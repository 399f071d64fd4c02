"""Where the lab's files live: the repository root, committed assets, and the cache.

    ASSETS / "dna" / "splice.csv"        # committed data, rebuilt by `python -m core build-assets`
    cache_dir() / "spoken_qa"            # things made at run time (converted models, voiced audio)
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository: core/common/paths.py -> ../../
ASSETS = ROOT / "assets"  # small committed data and checkpoints, each with a SOURCES.md
CACHE_ENV = "SSL_LAB_CACHE"  # overrides the cache root
DEFAULT_CACHE = Path("~/.cache/ssl-magic-lab")


def cache_dir() -> Path:
    """Returns: the lab's cache root ($SSL_LAB_CACHE, else ~/.cache/ssl-magic-lab), read at call
    time so a test or a Space can point it elsewhere."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()
