"""The questions a spoken-QA run learns from: the text set voiced into the cache, unit codebooks
fitted on its train passages, and every question read as units.

    entries = voiced_entries()                      # espeak-ng audio in the cache (built once)
    fit_codebooks("mfcc", (64, 128, 512), entries)  # assets/speech/mfcc-k64.npy, ...
    items = unit_items("tiny-hubert", 128)          # {"train": [QAItem], "dev": ..., "test": ...}

Only train passages reach k-means: the dev and test voices stay unheard until scoring.
Units are read once per audio file: a file beside the voiced set keeps every file's runs for
one extractor and codebook (saved as they are read, so a process stopped midway loses little).
"""
from __future__ import annotations

import functools
import hashlib
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from core.common.errors import InputError
from core.common.paths import cache_dir
from core.speech.extractors import (
    EXTRACTORS,
    CodebookInfo,
    codebook_path,
    fit_unit_codebooks,
    load_codebook,
)
from core.speech.units import Runs
from core.spoken_qa.data import SPLITS, load_records

if TYPE_CHECKING:
    from core.spoken_qa.model import QAItem


def voiced_dir(limit_per_split: int | None = None, train_takes: int = 1,
               take_voices: str = "train") -> Path:
    """Args: limit_per_split, train_takes, take_voices as in voiced_entries.
    Returns: the cache folder of that voiced set (one folder per choice of them)."""
    pool = "" if take_voices == "train" else f"-{take_voices}"
    return (cache_dir() / "spoken_qa" /
            f"voiced-{limit_per_split or 'all'}-t{train_takes}{pool}")


def voiced_entries(*, limit_per_split: int | None = None, train_takes: int = 1,
                   take_voices: str = "train",
                   progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """The committed text set voiced by espeak-ng: voices what the cache lacks (~1 s a passage
    on one core) and reuses it after that.

    Args:
        limit_per_split: voice only the first N passages of each split (None = all).
        train_takes: voicings of every train passage (dev and test get one).
        take_voices: the voices of a train passage's extra voicings (a key of TAKE_POOLS).
        progress: called as progress(passages done, passages in all) while voicing.
    Returns:
        One dict per question and take (see core.spoken_qa.voicing.build_voiced_set).
    """
    from core.spoken_qa.voicing import build_voiced_set  # needs soundfile only when voicing

    return build_voiced_set(load_records(), voiced_dir(limit_per_split, train_takes, take_voices),
                            limit_per_split=limit_per_split, train_takes=train_takes,
                            take_voices=take_voices, progress=progress)


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


SAVE_EVERY = 200  # audio files read between saves of the unit cache


def _extractor_files(extractor: str) -> tuple[Path, ...]:
    """The files besides the codebook that decide an extractor's units (its weights)."""
    spec = EXTRACTORS.get(extractor)
    return tuple(spec.files()) if spec is not None and spec.files is not None else ()


class UnitCache:
    """The runs of a voiced set's audio files for one extractor and codebook, kept in one .npz.

    A file's runs are reused while its size and modification time are those it was read at
    (a re-voiced file is read again). Saving replaces the file whole.
    """

    FIELDS = Runs._fields

    def __init__(self, path: Path, root: Path):
        self.path, self.root, self.unsaved = Path(path), Path(root), 0
        self.runs: dict[str, tuple[tuple[int, int], Runs]] = {}
        try:
            with np.load(self.path) as z:
                arrays = {f: z[f] for f in (*self.FIELDS, "names", "sizes", "mtimes",
                                            "lengths")}  # each read once
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # none, or unreadable
            return
        bounds = np.r_[0, np.cumsum(arrays["lengths"])]
        for i, (name, size, mtime) in enumerate(zip(arrays["names"].tolist(),
                                                    arrays["sizes"].tolist(),
                                                    arrays["mtimes"].tolist())):
            lo, hi = bounds[i], bounds[i + 1]
            self.runs[name] = ((size, mtime), Runs(*(arrays[f][lo:hi] for f in self.FIELDS)))

    def read(self, audio_path: str, compute: Callable[[str], Runs]) -> Runs:
        """audio_path's runs from the cache, else compute(audio_path) (kept, saved now and
        then)."""
        name = os.path.relpath(audio_path, self.root)
        st = os.stat(audio_path)
        stamp = (st.st_size, st.st_mtime_ns)
        kept = self.runs.get(name)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        runs = compute(audio_path)
        self.runs[name] = (stamp, runs)
        self.unsaved += 1
        if self.unsaved >= SAVE_EVERY:
            self.save()
        return runs

    def save(self) -> None:
        """Writes what was read since the last save (a no-op when nothing was)."""
        if not self.unsaved:
            return
        names = sorted(self.runs)
        arrays = {f: np.concatenate([self.runs[n][1][i] for n in names] or [np.zeros(0)])
                  for i, f in enumerate(self.FIELDS)}
        tmp = self.path.with_name(f"{self.path.stem}.{os.getpid()}.tmp.npz")  # one per process
        np.savez(tmp, names=np.array(names, dtype=str),
                 sizes=np.array([self.runs[n][0][0] for n in names], dtype=np.int64),
                 mtimes=np.array([self.runs[n][0][1] for n in names], dtype=np.int64),
                 lengths=np.array([len(self.runs[n][1].units) for n in names], dtype=np.int64),
                 **arrays)
        os.replace(tmp, self.path)
        self.unsaved = 0


def unit_cache_path(extractor: str, codebook_digest: str, limit_per_split: int | None = None,
                    train_takes: int = 1, take_voices: str = "train") -> Path:
    """Where a voiced set's units for one extractor, its weights and a codebook are kept."""
    digest = hashlib.sha256(codebook_digest.encode())
    for path in _extractor_files(extractor):  # retrained weights: other units
        if Path(path).is_file():
            digest.update(Path(path).read_bytes())
    return (voiced_dir(limit_per_split, train_takes, take_voices) /
            f"units-{extractor}-{digest.hexdigest()[:16]}.npz")


# Keyed by the codebook's digest as well, so a codebook refitted in this process is not
# answered with units of the old one.
@functools.lru_cache(maxsize=4)
def _items(extractor: str, k: int, limit_per_split: int | None, train_takes: int,
           take_voices: str, codebook_digest: str) -> dict[str, list[QAItem]]:
    from core.speech.audio import load_audio
    from core.speech.extractors import load_extractor
    from core.speech.units import speech_units
    from core.spoken_qa.model import items_from_voiced

    entries = voiced_entries(limit_per_split=limit_per_split, train_takes=train_takes,
                             take_voices=take_voices)
    codebook = load_codebook(extractor, k)
    cache = UnitCache(unit_cache_path(extractor, codebook_digest, limit_per_split, train_takes,
                                      take_voices),
                      voiced_dir(limit_per_split, train_takes, take_voices))
    extract = None

    def compute(path: str) -> Runs:
        nonlocal extract
        if extract is None:  # not loaded when every file is cached
            extract = load_extractor(extractor)
        return speech_units(load_audio(path), extract, codebook)

    try:
        return {split: items_from_voiced([e for e in entries if e["split"] == split],
                                         lambda path: cache.read(path, compute))
                for split in SPLITS}
    finally:
        cache.save()


def unit_items(extractor: str, k: int, *, limit_per_split: int | None = None,
               train_takes: int = 1, take_voices: str = "train") -> dict[str, list[QAItem]]:
    """The voiced set in units, computed once per process.

    Args:
        extractor, k: the registered extractor and the size of its codebook.
        limit_per_split, train_takes, take_voices: which voiced set (see voiced_entries).
    Returns:
        Split ("train", "dev", "test") -> its questions as QAItems.
    """
    return _items(extractor, int(k), limit_per_split, int(train_takes), take_voices,
                  codebook_digest(extractor, k))


def codebook_digest(extractor: str, k: int) -> str:
    """sha256 of the codebook's centroids: names the units a codebook makes."""
    return hashlib.sha256(load_codebook(extractor, k).tobytes()).hexdigest()
