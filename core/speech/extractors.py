"""The speech extractors (a registry) and their unit codebooks: wave -> deduplicated runs.

    runs, warp = runs_of(wave, "tiny-hubert", 128)  # extractor + codebook + dedup, one call
    runs.units, runs.start_s                        # (R,) unit ids, (R,) seconds; warp: None
                                                    # (a factor for tiny-hubert-vtln)

Extractors (`register_extractor` adds more):
  - `mfcc`: 13 MFCCs + deltas + delta-deltas (39 dims), the targets HuBERT's first
    iteration clusters; numpy/scipy only.
  - `tiny-hubert`: the lab's own HuBERT-style model (core.speech.tiny_hubert).
  - `tiny-hubert-vtln`: the same model after a per-clip frequency warp that normalises the
    voice (core.speech.vtln); it reads tiny-hubert's codebooks.
  - `hubert-base` (paper profile): facebook/hubert-base-ls960 through transformers, the
    output of one transformer layer, chosen by measurement (core.speech.hubert).
Codebooks: assets/speech/<extractor>-k<k>.npy, fitted by `python -m core fit-units`.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from core.common.errors import InputError
from core.speech.audio import load_audio
from core.speech.frames import N_MFCC, SAMPLE_RATE, Extractor, MfccExtractor
from core.speech.hubert import HUBERT_BASE_REPO, LAYER_FILE, layer_note, load_hubert
from core.speech.units import (
    MAX_FIT_FRAMES,
    Runs,
    codebook_file,
    fit_codebook,
    read_codebook,
    save_codebook,
)

CODEBOOK_KS = (64, 128, 512)  # DUAL's unit inventories


@dataclass(frozen=True)
class ExtractorSpec:
    name: str  # registry key shown in the UI
    dims: int  # feature width
    profile: str  # "embedded" (no network) | "paper" (hub weights)
    about: str  # one line for the UI
    codebooks_of: str = ""  # another extractor whose codebooks it reads (same feature space)
    files: Callable[[], tuple[Path, ...]] | None = None  # besides the codebook, the files that
    #   decide its units (weights): cached units are keyed on their bytes (core.spoken_qa.items)


def _tiny_hubert_files() -> tuple[Path, ...]:
    from core.speech import tiny_hubert

    return tiny_hubert.MODEL_DIR / tiny_hubert.WEIGHTS, tiny_hubert.MODEL_DIR / tiny_hubert.CONFIG


def _vtln_files() -> tuple[Path, ...]:
    from core.speech import vtln  # the warp is judged by a codebook the units may not come from

    return _tiny_hubert_files() + (vtln.reference_codebook_path(),)


EXTRACTORS: dict[str, ExtractorSpec] = {
    "mfcc": ExtractorSpec("mfcc", 3 * N_MFCC, "embedded",
                          "13 MFCCs + deltas + delta-deltas (HuBERT's first-iteration "
                          "targets); no model"),
    "hubert-base": ExtractorSpec("hubert-base", 768, "paper",
                                 f"{HUBERT_BASE_REPO}, {layer_note()} (the papers' "
                                 "speech model)", files=lambda: (LAYER_FILE,)),
}


def _load_tiny_hubert() -> Extractor:
    from core.speech.tiny_hubert import load_extractor

    return load_extractor()


EXTRACTORS["tiny-hubert"] = ExtractorSpec(
    "tiny-hubert", 256, "embedded", "the lab's own HuBERT-style model (masked prediction of MFCC "
    "units on espeak-ng speech; assets/speech/tiny-hubert, `python -m core train-hubert`)",
    files=_tiny_hubert_files)


def _load_vtln() -> Extractor:
    from core.speech.vtln import load_extractor

    return load_extractor()


VTLN = "tiny-hubert-vtln"  # core.speech.vtln.NAME (that module loads torch; this one does not)
EXTRACTORS[VTLN] = ExtractorSpec(
    VTLN, 256, "embedded", "tiny-hubert after vocal-tract-length normalisation: "
    "each clip's frequency axis warped by the factor (0.75-1.1) whose features sit closest to "
    "tiny-hubert's k=512 codebook (core.speech.vtln)", codebooks_of="tiny-hubert",
    files=_vtln_files)
_FACTORIES: dict[str, Callable[[], Extractor]] = {"mfcc": MfccExtractor,
                                                  "hubert-base": load_hubert,
                                                  "tiny-hubert": _load_tiny_hubert,
                                                  VTLN: _load_vtln}
_LOAD_LOCK = threading.Lock()


def register_extractor(spec: ExtractorSpec, factory: Callable[[], Extractor]) -> None:
    """Adds (or replaces) an extractor; `factory()` builds it on first use. Give the spec
    `files` (its weights) so that units cached for a voiced set follow a retrained model."""
    EXTRACTORS[spec.name] = spec
    _FACTORIES[spec.name] = factory
    _load_cached.cache_clear()


def available_extractors() -> list[str]:
    """Registered extractor names, embedded ones first."""
    return sorted(EXTRACTORS, key=lambda n: (EXTRACTORS[n].profile != "embedded", n))


def load_extractor(name: str) -> Extractor:
    """Builds (once) a registered extractor; unknown names list the choices."""
    if name not in EXTRACTORS:
        raise InputError(f"unknown extractor {name!r}; choose one of "
                         f"{', '.join(available_extractors())}")
    with _LOAD_LOCK:
        return _load_cached(name)


@functools.lru_cache(maxsize=4)
def _load_cached(name: str) -> Extractor:
    return _FACTORIES[name]()


# --------------------------------------------------------------------------- codebooks
def codebook_path(extractor: str, k: int) -> Path:
    """Where the codebook of `extractor` with k units lives (shipped or fitted locally)."""
    spec = EXTRACTORS.get(extractor)
    return codebook_file((spec and spec.codebooks_of) or extractor, k)


def load_codebook(extractor: str, k: int) -> np.ndarray:
    """The shipped (or locally fitted) codebook; a clear error names the command that fits it."""
    if extractor not in EXTRACTORS:
        raise InputError(f"unknown extractor {extractor!r}; choose one of "
                         f"{', '.join(available_extractors())}")
    path = codebook_path(extractor, k)
    if not path.is_file():
        owner = EXTRACTORS[extractor].codebooks_of or extractor  # whose codebooks it reads
        raise InputError(f"no {extractor} codebook with k={k} (looked for {path}); fit it with "
                         f"`python -m core fit-units --extractor {owner} --k {k}`")
    return read_codebook(path)


def runs_of(wave: np.ndarray, extractor: str, k: int) -> tuple[Runs, float | None]:
    """wave -> the registered extractor's features -> its k-unit codebook -> runs, one call;
    with the clip's warp factor where the extractor normalises the voice (else None:
    core.speech.vtln)."""
    from core.speech.vtln import clip_factor, runs_at

    ex = load_extractor(extractor)
    factor = clip_factor(ex, wave)
    return runs_at(wave, ex, load_codebook(extractor, k), factor), factor


@dataclass(frozen=True)
class CodebookInfo:
    path: Path  # where the .npy was written
    extractor: str  # extractor name the centroids belong to
    k: int  # number of units
    files: int  # audio files read
    frames: int  # frames k-means was fitted on (after subsampling)
    seconds: float  # total audio read


def fit_units(extractor, k: int, audio_paths, out_path, *, seed: int = 0,
              max_frames: int = MAX_FIT_FRAMES) -> CodebookInfo:
    """Extracts features from audio files, fits k units, saves the codebook as .npy.

    Args:
        extractor: a registered name or an Extractor.
        k: number of units (DUAL uses 64 / 128 / 512).
        audio_paths: files in any format core.speech.audio reads.
        out_path: destination .npy.
        seed: k-means seed and frame subsample seed.
        max_frames: at most this many frames (drawn by seed) go into k-means.
    """
    return fit_unit_codebooks(extractor, {k: out_path}, audio_paths, seed=seed,
                              max_frames=max_frames)[0]


def fit_unit_codebooks(extractor, outputs: dict, audio_paths, *, seed: int = 0,
                       max_frames: int = MAX_FIT_FRAMES) -> list[CodebookInfo]:
    """fit_units for several k ({k: out_path}) from one pass of feature extraction."""
    ex = load_extractor(extractor) if isinstance(extractor, str) else extractor
    owner = EXTRACTORS.get(ex.name)
    if owner and owner.codebooks_of:
        raise InputError(f"{ex.name} reads {owner.codebooks_of}'s codebooks; fit those with "
                         f"`python -m core fit-units --extractor {owner.codebooks_of}`")
    paths = [Path(p) for p in audio_paths]
    if not paths:
        raise InputError("fit-units needs at least one audio file")
    feats, seconds = [], 0.0
    for path in paths:
        wave = load_audio(path)
        seconds += len(wave) / SAMPLE_RATE
        feats.append(ex(wave))
    stacked = np.concatenate(feats, axis=0)  # (T_total, D)
    del feats
    if len(stacked) > max_frames:
        keep = np.random.default_rng(seed).choice(len(stacked), max_frames, replace=False)
        stacked = stacked[np.sort(keep)]
    return [CodebookInfo(save_codebook(out, fit_codebook(stacked, int(k), seed)), ex.name,
                         int(k), len(paths), len(stacked), seconds)
            for k, out in outputs.items()]
