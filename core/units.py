"""Speech -> frame features -> k-means units -> deduplicated runs with timestamps.

The DUAL pipeline (Lin et al. 2022) before any text model:

    wave (16 kHz) --extractor--> (T, D) features, one frame every 20 ms
                  --codebook---> (T,) unit ids in [0, k)
                  --dedup------> runs: unit ids, run lengths, start_s, end_s

e.g. ids [7, 7, 7, 3, 3, 9] -> units [7, 3, 9], counts [3, 2, 1],
start_s [0.00, 0.06, 0.10], end_s [0.06, 0.10, 0.12].

Extractors (a registry; `register_extractor` adds more, e.g. the project's own HuBERT):
  - `mfcc`: 13 MFCCs + deltas + delta-deltas (39 dims), the targets HuBERT's first
    iteration clusters; numpy/scipy only.
  - `hubert-base` (paper profile): facebook/hubert-base-ls960 through transformers, the
    output of one transformer layer, chosen by measurement (core.hubert).
Both frame a 16 kHz wave identically (400-sample receptive field, 320-sample hop), so a clip
of N samples gives 1 + (N - 400) // 320 frames whichever extractor runs.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Protocol

import numpy as np

from core.audio import SAMPLE_RATE, load_audio
from core.errors import InputError
from core.hubert import HUBERT_BASE_REPO, layer_note, load_hubert

HOP_SAMPLES = 320  # 20 ms at 16 kHz: HuBERT's frame rate (50 Hz), DUAL's unit rate
HOP_S = HOP_SAMPLES / SAMPLE_RATE  # 0.02 s per frame
WIN_SAMPLES = 400  # 25 ms analysis window (= HuBERT's convolutional receptive field)
# MFCC front end (HTK/Kaldi-style values).
N_FFT = 512  # next power of two above the 400-sample window
N_MELS = 40  # triangular mel filters between MEL_LOW_HZ and MEL_HIGH_HZ
MEL_LOW_HZ = 20.0
MEL_HIGH_HZ = 7_600.0  # below Nyquist (8 kHz), where resamplers roll off
N_MFCC = 13  # cepstra kept, c0 included
PRE_EMPHASIS = 0.97  # first-order high-pass that flattens the speech spectrum tilt
DELTA_WIDTH = 2  # frames either side in the delta regression
LOG_FLOOR = 1e-10  # mel energies are floored before the log (digital silence)
MAX_FIT_FRAMES = 200_000  # frames k-means sees at most (~67 min of speech), drawn by seed
KMEANS_BATCH = 4_096  # MiniBatchKMeans batch size


class Extractor(Protocol):
    """wave (N,) float32 at 16 kHz -> (T, dims) float32, T = num_frames(N)."""

    name: str
    dims: int

    def __call__(self, wave: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ExtractorSpec:
    name: str  # registry key shown in the UI
    dims: int  # feature width
    profile: str  # "embedded" (no network) | "paper" (hub weights)
    about: str  # one line for the UI


class Runs(NamedTuple):
    """Deduplicated units; unpacks as (units, counts, start_s, end_s)."""

    units: np.ndarray  # (R,) int64 unit id of each run
    counts: np.ndarray  # (R,) int64 frames in each run; sums to T
    start_s: np.ndarray  # (R,) float64 start of each run in seconds
    end_s: np.ndarray  # (R,) float64 end of each run; end_s[i] == start_s[i + 1]


def num_frames(n_samples: int) -> int:
    """Frames a clip of n_samples yields (0 if shorter than one 25 ms window)."""
    return 0 if n_samples < WIN_SAMPLES else 1 + (n_samples - WIN_SAMPLES) // HOP_SAMPLES


def _check_wave(wave: np.ndarray) -> np.ndarray:
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1:
        raise InputError(f"expected a mono waveform, got shape {wave.shape}")
    if num_frames(len(wave)) == 0:
        raise InputError(f"the clip is {len(wave) / SAMPLE_RATE * 1000:.0f} ms long; one "
                         f"frame needs {WIN_SAMPLES / SAMPLE_RATE * 1000:.0f} ms")
    return wave


# -------------------------------------------------------------------------------- MFCC
@functools.lru_cache(maxsize=1)
def _mel_dct() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(window (400,), mel filterbank (N_MELS, N_FFT//2+1), DCT-II (N_MELS, N_MFCC))."""
    from scipy.fft import dct

    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges = hz(np.linspace(mel(MEL_LOW_HZ), mel(MEL_HIGH_HZ), N_MELS + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bank = np.maximum(0.0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))
    basis = dct(np.eye(N_MELS), type=2, norm="ortho", axis=0)[:, :N_MFCC]
    return np.hamming(WIN_SAMPLES), bank, basis


def _deltas(x: np.ndarray) -> np.ndarray:
    """Regression deltas over +-DELTA_WIDTH frames, edges repeated; (T, D) -> (T, D)."""
    pad = np.pad(x, ((DELTA_WIDTH, DELTA_WIDTH), (0, 0)), mode="edge")
    t = len(x)
    num = sum(n * (pad[DELTA_WIDTH + n: DELTA_WIDTH + n + t] - pad[DELTA_WIDTH - n:
                                                                   DELTA_WIDTH - n + t])
              for n in range(1, DELTA_WIDTH + 1))
    return num / (2 * sum(n * n for n in range(1, DELTA_WIDTH + 1)))


def log_mel(wave: np.ndarray) -> np.ndarray:
    """Log mel energies of every 20 ms frame: (T, N_MELS) float64, T = num_frames(len(wave)).
    The front end MFCCs and tiny-hubert share."""
    wave = _check_wave(wave).astype(np.float64)
    window, bank, _ = _mel_dct()
    emph = np.append(wave[0], wave[1:] - PRE_EMPHASIS * wave[:-1])
    frames = np.lib.stride_tricks.sliding_window_view(emph, WIN_SAMPLES)[::HOP_SAMPLES]
    frames = (frames - frames.mean(axis=1, keepdims=True)) * window  # (T, 400)
    power = np.abs(np.fft.rfft(frames, n=N_FFT)) ** 2  # (T, 257)
    return np.log(np.maximum(power @ bank.T, LOG_FLOOR))  # (T, 40)


class MfccExtractor:
    """13 MFCCs + deltas + delta-deltas per 20 ms, mean/variance-normalised per clip.

    The per-clip normalisation (CMVN) removes the recording channel and loudness, so the
    same words through a different microphone, gain or sample rate land on the same units.
    """

    name = "mfcc"
    dims = 3 * N_MFCC

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        cep = log_mel(wave) @ _mel_dct()[2]  # (T, 13)
        d1 = _deltas(cep)
        feats = np.concatenate([cep, d1, _deltas(d1)], axis=1)  # (T, 39)
        feats = (feats - feats.mean(axis=0)) / (feats.std(axis=0) + 1e-5)
        return feats.astype(np.float32)


# ---------------------------------------------------------------------------- registry
EXTRACTORS: dict[str, ExtractorSpec] = {
    "mfcc": ExtractorSpec("mfcc", 3 * N_MFCC, "embedded",
                          "13 MFCCs + deltas + delta-deltas (HuBERT's first-iteration "
                          "targets); no model"),
    "hubert-base": ExtractorSpec("hubert-base", 768, "paper",
                                 f"{HUBERT_BASE_REPO}, {layer_note()} (the papers' "
                                 "speech model)"),
}


def _load_tiny_hubert() -> Extractor:
    from core.tiny_hubert import load_extractor

    return load_extractor()


EXTRACTORS["tiny-hubert"] = ExtractorSpec(
    "tiny-hubert", 256, "embedded", "the lab's own HuBERT-style model (masked prediction of MFCC "
    "units on espeak-ng speech; assets/speech/tiny-hubert, `python -m core train-hubert`)")
_FACTORIES: dict[str, Callable[[], Extractor]] = {"mfcc": MfccExtractor,
                                                  "hubert-base": load_hubert,
                                                  "tiny-hubert": _load_tiny_hubert}
_LOAD_LOCK = threading.Lock()


def register_extractor(spec: ExtractorSpec, factory: Callable[[], Extractor]) -> None:
    """Adds (or replaces) an extractor; `factory()` builds it on first use."""
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


def load_codebook(path) -> np.ndarray:
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
        audio_paths: files in any format core.audio reads.
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
