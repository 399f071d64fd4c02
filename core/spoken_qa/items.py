"""The questions a spoken-QA run learns from: the text set voiced into the cache, unit codebooks
fitted on its train passages, and every question read as units.

    entries = voiced_entries()                      # espeak-ng audio in the cache (built once)
    fit_codebooks("mfcc", (64, 128, 512), entries)  # assets/speech/mfcc-k64.npy, ...
    items = unit_items("tiny-hubert", 128)          # {"train": [QAItem], "dev": ..., "test": ...}

Only train passages reach k-means: the dev and test voices stay unheard until scoring.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from core.common.errors import InputError
from core.common.paths import cache_dir
from core.speech.extractors import (
    CodebookInfo,
    codebook_path,
    fit_unit_codebooks,
    load_codebook,
)
from core.spoken_qa.data import SPLITS, load_records

if TYPE_CHECKING:
    from core.spoken_qa.model import QAItem


def voiced_dir(limit_per_split: int | None = None, train_takes: int = 1) -> Path:
    """Args: limit_per_split, train_takes as in voiced_entries.
    Returns: the cache folder of that voiced set (one folder per choice of both)."""
    return (cache_dir() / "spoken_qa" /
            f"voiced-{limit_per_split or 'all'}-t{train_takes}")


def voiced_entries(*, limit_per_split: int | None = None, train_takes: int = 1,
                   progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """The committed text set voiced by espeak-ng: voices what the cache lacks (~1 s a passage
    on one core) and reuses it after that.

    Args:
        limit_per_split: voice only the first N passages of each split (None = all).
        train_takes: voicings of every train passage (dev and test get one).
        progress: called as progress(passages done, passages in all) while voicing.
    Returns:
        One dict per question and take (see core.spoken_qa.voicing.build_voiced_set).
    """
    from core.spoken_qa.voicing import build_voiced_set  # needs soundfile only when voicing

    return build_voiced_set(load_records(), voiced_dir(limit_per_split, train_takes),
                            limit_per_split=limit_per_split, train_takes=train_takes,
                            progress=progress)


def train_passage_paths(entries: list[dict]) -> list[str]:
    """Args: voiced_entries.
    Returns: the train passages' audio files, each once, sorted (never dev or test voices)."""
    return sorted({e["passage_path"] for e in entries if e["split"] == "train"})


def fit_codebooks(extractor: str, ks, entries: list[dict], *, seed: int = 0
                  ) -> list[CodebookInfo]:
    """k-means codebooks on the train passages' audio, written where load_codebook reads them.

    Args:
        extractor: a registered extractor name.
        ks: unit counts, one codebook each (all from one pass of feature extraction).
        entries: voiced_entries.
        seed: k-means and frame-subsample seed.
    Returns:
        One CodebookInfo per k.
    """
    paths = train_passage_paths(entries)
    if not paths:
        raise InputError("no voiced train passages to fit units on")
    return fit_unit_codebooks(extractor, {int(k): codebook_path(extractor, int(k)) for k in ks},
                              paths, seed=seed)


# Keyed by the codebook's digest as well, so a codebook refitted in this process is not
# answered with units of the old one.
@functools.lru_cache(maxsize=4)
def _items(extractor: str, k: int, limit_per_split: int | None, train_takes: int,
           codebook_digest: str) -> dict[str, list[QAItem]]:
    from core.speech.extractors import load_extractor
    from core.spoken_qa.model import items_from_voiced

    entries = voiced_entries(limit_per_split=limit_per_split, train_takes=train_takes)
    codebook = load_codebook(extractor, k)
    extract = load_extractor(extractor)
    return {split: items_from_voiced([e for e in entries if e["split"] == split], extract,
                                     codebook)
            for split in SPLITS}


def unit_items(extractor: str, k: int, *, limit_per_split: int | None = None,
               train_takes: int = 1) -> dict[str, list[QAItem]]:
    """The voiced set in units, computed once per process.

    Args:
        extractor, k: the registered extractor and the size of its codebook.
        limit_per_split, train_takes: which voiced set (see voiced_entries).
    Returns:
        Split ("train", "dev", "test") -> its questions as QAItems.
    """
    digest = hashlib.sha256(load_codebook(extractor, k).tobytes()).hexdigest()
    return _items(extractor, int(k), limit_per_split, int(train_takes), digest)
