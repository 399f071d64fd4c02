"""The speech front end every extractor shares: 16 kHz waves cut into 20 ms frames.

    wave (N,) float32 at 16 kHz -> num_frames(N) = 1 + (N - 400) // 320 frames
    log_mel(wave)        (T, 40)  log mel energies (MFCC's first stage, tiny-hubert's input)
    MfccExtractor()(wave) (T, 39) 13 MFCCs + deltas + delta-deltas, normalised per clip

Every extractor (MFCC, hubert-base, tiny-hubert) frames a wave identically (400-sample
receptive field, 320-sample hop), so a clip gives the same frame count whichever one runs.
"""
from __future__ import annotations

import functools
from typing import Protocol

import numpy as np

from core.common.errors import InputError

SAMPLE_RATE = 16_000  # Hz; what every speech model here (HuBERT included) expects
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


class Extractor(Protocol):
    """wave (N,) float32 at 16 kHz -> (T, dims) float32, T = num_frames(N)."""

    name: str
    dims: int

    def __call__(self, wave: np.ndarray) -> np.ndarray: ...


def num_frames(n_samples: int) -> int:
    """Frames a clip of n_samples yields (0 if shorter than one 25 ms window)."""
    return 0 if n_samples < WIN_SAMPLES else 1 + (n_samples - WIN_SAMPLES) // HOP_SAMPLES


def check_wave(wave: np.ndarray) -> np.ndarray:
    """A mono float32 wave at least one frame long, else an InputError saying why."""
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1:
        raise InputError(f"expected a mono waveform, got shape {wave.shape}")
    if num_frames(len(wave)) == 0:
        raise InputError(f"the clip is {len(wave) / SAMPLE_RATE * 1000:.0f} ms long; one "
                         f"frame needs {WIN_SAMPLES / SAMPLE_RATE * 1000:.0f} ms")
    return wave


def mel(f):
    """Hz -> mel (HTK's formula)."""
    return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)


def hz(m):
    """mel -> Hz."""
    return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)


def _mel_edges_hz() -> np.ndarray:
    """(N_MELS + 2,) the filters' edges in Hz, evenly spaced in mel; filter i peaks at i + 1."""
    return hz(np.linspace(mel(MEL_LOW_HZ), mel(MEL_HIGH_HZ), N_MELS + 2))


def mel_centres_hz() -> np.ndarray:
    """(N_MELS,) the frequency where each mel filter peaks."""
    return _mel_edges_hz()[1:-1]


@functools.lru_cache(maxsize=1)
def _mel_dct() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(window (400,), mel filterbank (N_MELS, N_FFT//2+1), DCT-II (N_MELS, N_MFCC))."""
    from scipy.fft import dct

    freqs = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges = _mel_edges_hz()
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
    wave = check_wave(wave).astype(np.float64)
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
