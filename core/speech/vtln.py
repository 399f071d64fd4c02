"""Vocal-tract-length normalisation (VTLN) in front of tiny-hubert: one warp factor per clip.

    ex = load_extractor()                   # registered as "tiny-hubert-vtln"
    factor = ex.factor(wave)                # e.g. 0.8 for a high female voice, 1.0 for most
    feats = ex.features(wave, factor)       # tiny-hubert features of the warped clip
    runs = runs_at(wave, ex, codebook, factor)   # its units (the tab shows the factor)

Why: tiny-hubert's units are sensitive to formant scale. A voice with a shorter vocal tract
(espeak-ng's `en-us+f3` raises F1-F3 by 20-35 %) lands on other units for the same words, and
a QA model trained on other voices reads it as another dialect (`python -m core bench speech`,
unit consistency by voice: the female voices sit at chance). Squeezing such a clip's
frequency axis (core.speech.tiny_hubert.warp_mels, factor < 1 moves formants down) before
tiny-hubert puts its formants where the train voices' are.

Which factor: no labels, no speaker identity. For each factor of `GRID`, the clip's first
`PROBE_FRAMES` frames are warped and passed through tiny-hubert; the factor whose features lie
closest to the shipped k=512 codebook (mean squared distance to the nearest centroid) wins —
the classic maximum-likelihood VTLN choice, with the codebook standing in for the acoustic
model. Train voices mostly keep 1.0; the whole clip is then warped by the winner.

Units use tiny-hubert's own codebooks (the features live in the same space).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.common.errors import ModelUnavailable
from core.speech.frames import Extractor
from core.speech.tiny_hubert import (
    MODEL_DIR,
    TinyHubertExtractor,
    load,
    normalised_mels,
    warp_mels,
)
from core.speech.units import Runs, codebook_file, dedup, read_codebook, speech_units, units

NAME = "tiny-hubert-vtln"
BASE = "tiny-hubert"  # whose model and codebooks it uses
GRID = (0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1)  # factors tried (1.0 = unchanged)
PROBE_FRAMES = 500  # the first 10 s of a clip decide its factor
REFERENCE_K = 512  # the codebook the factor is judged against


def reference_codebook_path() -> Path:
    return codebook_file(BASE, REFERENCE_K)


class VtlnExtractor:
    """tiny-hubert features of each clip warped by its own factor (see the module doc)."""

    name = NAME

    def __init__(self, base: TinyHubertExtractor, reference: np.ndarray,
                 grid: tuple[float, ...] = GRID, probe_frames: int = PROBE_FRAMES):
        if not grid or min(grid) <= 0:
            raise ValueError(f"warp factors must be positive; got {grid}")
        self.base, self.grid, self.probe_frames = base, tuple(grid), int(probe_frames)
        self.reference = torch.from_numpy(np.asarray(reference, dtype=np.float32))
        self.dims = base.dims

    def distances(self, wave: np.ndarray) -> np.ndarray:
        """(len(grid),) mean squared distance of the warped probe's features to the nearest
        reference centroid, one per factor (lower = the codebook knows this voice better)."""
        return self._distances(torch.from_numpy(normalised_mels(wave)))

    def factor(self, wave: np.ndarray) -> float:
        """The grid factor this clip is warped by."""
        return self._best(self.distances(wave))

    def features(self, wave: np.ndarray, factor: float) -> np.ndarray:
        """(T, H) tiny-hubert features of the clip warped by `factor`."""
        return self._warped(torch.from_numpy(normalised_mels(wave)), factor)

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        mels = torch.from_numpy(normalised_mels(wave))  # once: it picks the factor and is read
        return self._warped(mels, self._best(self._distances(mels)))

    def _distances(self, mels: torch.Tensor) -> np.ndarray:
        probe = mels[: self.probe_frames]
        return np.array([float(torch.cdist(torch.from_numpy(self._warped(probe, f)),
                                           self.reference).min(dim=1).values.pow(2).mean())
                         for f in self.grid])

    def _best(self, distances: np.ndarray) -> float:
        return float(self.grid[int(np.argmin(distances))])

    def _warped(self, mels: torch.Tensor, factor: float) -> np.ndarray:
        return self.base.from_mels(warp_mels(mels[None], np.array([float(factor)]))[0])


def clip_factor(extractor: Extractor, wave: np.ndarray) -> float | None:
    """The clip's warp factor, or None for an extractor that does not warp."""
    return extractor.factor(wave) if isinstance(extractor, VtlnExtractor) else None


def runs_at(wave: np.ndarray, extractor: Extractor, codebook: np.ndarray,
            factor: float | None = None) -> Runs:
    """The clip's runs; a warping extractor uses `factor` (None: its own estimate)."""
    if factor is None or not isinstance(extractor, VtlnExtractor):
        return speech_units(wave, extractor, codebook)
    return dedup(units(extractor.features(wave, factor), codebook))


def load_extractor(folder=MODEL_DIR) -> VtlnExtractor:
    """The shipped tiny-hubert behind a per-clip warp judged by its k=512 codebook."""
    path = reference_codebook_path()
    if not path.is_file():
        raise ModelUnavailable(f"{NAME} judges warps by {path.name}, which is missing: fit it with "
                               f"`python -m core fit-units --extractor {BASE} --k {REFERENCE_K}`")
    return VtlnExtractor(TinyHubertExtractor(load(folder)), read_codebook(path))
