"""Frame features -> k-means units -> deduplicated runs with timestamps (DUAL, Lin et al. 2022).

    features (T, D) --codebook--> (T,) unit ids in [0, k) --dedup--> runs

e.g. ids [7, 7, 7, 3, 3, 9] -> units [7, 3, 9], counts [3, 2, 1],
start_s [0.00, 0.06, 0.10], end_s [0.06, 0.10, 0.12].
Which extractor makes the features, and where each one's codebooks live: core.speech.extractors.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from core.common.errors import InputError
from core.common.paths import ASSETS
from core.speech.frames import HOP_S, Extractor

CODEBOOK_DIR = ASSETS / "speech"  # <extractor>-k<k>.npy: python -m core fit-units
MAX_FIT_FRAMES = 200_000  # frames k-means sees at most (~67 min of speech), drawn by seed
KMEANS_BATCH = 4_096  # MiniBatchKMeans batch size


class Runs(NamedTuple):
    """Deduplicated units; unpacks as (units, counts, start_s, end_s)."""

    units: np.ndarray  # (R,) int64 unit id of each run
    counts: np.ndarray  # (R,) int64 frames in each run; sums to T
    start_s: np.ndarray  # (R,) float64 start of each run in seconds
    end_s: np.ndarray  # (R,) float64 end of each run; end_s[i] == start_s[i + 1]


def codebook_file(owner: str, k: int) -> Path:
    """The .npy of `owner`'s codebook with k units (core.speech.extractors.codebook_path says
    which extractor owns the codebooks another one reads)."""
    return CODEBOOK_DIR / f"{owner}-k{k}.npy"


def fit_codebook(features: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """k-means centroids of (T, D) frames; MiniBatchKMeans, deterministic by seed.

    Returns:
        (k, D) float32 centroids.
    """
    from sklearn.cluster import MiniBatchKMeans

    feats = np.asarray(features, dtype=np.float32)
    if feats.ndim != 2 or not np.isfinite(feats).all():
        raise InputError(f"features must be a finite (frames, dims) array, got {feats.shape}")
    if k < 2 or len(feats) < k:
        raise InputError(f"fitting {k} units needs at least {max(k, 2)} frames and k >= 2; "
                         f"got {len(feats)} frames")
    km = MiniBatchKMeans(n_clusters=k, random_state=seed, batch_size=KMEANS_BATCH, n_init=3,
                         max_iter=100)
    return km.fit(feats).cluster_centers_.astype(np.float32)


def save_codebook(path, centroids: np.ndarray) -> Path:
    """Writes (k, D) centroids as .npy; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(centroids, dtype=np.float32))
    return path


def read_codebook(path) -> np.ndarray:
    """Reads (k, D) float32 centroids from .npy (no pickles)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"codebook not found: {path} (fit one with `python -m core "
                         "fit-units`)")
    cb = np.load(path, allow_pickle=False)
    if cb.ndim != 2 or cb.shape[0] < 2 or not np.isfinite(cb).all():
        raise InputError(f"{path.name} is not a codebook: expected finite (k, dims) "
                         f"centroids, got shape {cb.shape}")
    return cb.astype(np.float32)


def units(features: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """Nearest centroid (Euclidean) of every frame: (T, D), (k, D) -> (T,) int64."""
    feats = np.asarray(features, dtype=np.float32)
    if feats.ndim != 2 or feats.shape[1] != codebook.shape[1]:
        raise InputError(f"features have {feats.shape[-1]} dims but the codebook expects "
                         f"{codebook.shape[1]} (fitted for another extractor?)")
    # |f - c|^2 = |f|^2 - 2 f.c + |c|^2; |f|^2 is the same for every centroid
    dist = (codebook ** 2).sum(axis=1)[None, :] - 2.0 * feats @ codebook.T  # (T, k)
    return dist.argmin(axis=1).astype(np.int64)


def dedup(ids: np.ndarray, hop_s: float = HOP_S) -> Runs:
    """Collapses repeats: frame ids -> (units, run lengths, start_s, end_s)."""
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    if len(ids) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Runs(empty, empty.copy(), np.zeros(0), np.zeros(0))
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])  # first frame of each run
    counts = np.diff(np.r_[starts, len(ids)])
    return Runs(ids[starts], counts, starts * hop_s, (starts + counts) * hop_s)


def speech_units(wave: np.ndarray, extractor: Extractor, codebook: np.ndarray) -> Runs:
    """wave -> features -> unit ids -> runs, in one call."""
    return dedup(units(extractor(wave), codebook))
