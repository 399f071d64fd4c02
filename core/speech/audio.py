"""Audio in and out for the Spoken-QA tab: any common file -> 16 kHz mono float32.

Accepted sources (what a user or Gradio hands over):
  - a path (str / Path) to wav, flac, ogg (Vorbis/Opus) or mp3, any rate, mono or stereo;
  - the file's bytes (an upload read into memory);
  - a (rate, ndarray) tuple, as a Gradio `Audio(type="numpy")` gives: int16/int32/uint8 PCM
    or float, shape (samples,) or (samples, channels).

Every source becomes a 1-D float32 array at SAMPLE_RATE in [-1, 1]. Decoding is libsndfile
through `soundfile` (>= 1.1 reads mp3); rate conversion is polyphase (scipy resample_poly,
Kaiser-windowed anti-aliasing). Bad input raises core.common.errors.InputError with a message a
user can act on, never a decoder traceback.
"""
from __future__ import annotations

import io
import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from core.common.errors import InputError
from core.speech.frames import SAMPLE_RATE  # re-exported: audio.SAMPLE_RATE

MAX_PASSAGE_S = 180.0  # a spoken passage may run up to 3 minutes
MAX_QUESTION_S = 20.0  # a spoken question may run up to 20 s
MIN_CLIP_S = 0.3  # shorter than this holds no word (and gives HuBERT < 15 frames)
# Decoding stops looking at a file longer than this before reading its samples, so an hour
# of audio cannot tie up the server: well above every limit above.
MAX_DECODE_S = 600.0
# Silence test: the loudest 20 ms frame (DC removed) must exceed -50 dBFS. Speech peaks sit
# around -30..-10 dBFS; a muted microphone or digital silence stays below -60 dBFS.
SILENCE_FRAME_S = 0.02
SILENCE_DBFS = -50.0
FORMATS = ("wav", "flac", "ogg", "mp3")  # named in messages; libsndfile reads more
LIMITS = {"passage": MAX_PASSAGE_S, "question": MAX_QUESTION_S}  # kind -> longest, in s
_PCM_SCALE = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}


def load_audio(source, *, name: str | None = None, max_s: float = MAX_DECODE_S) -> np.ndarray:
    """Decodes `source` to a 16 kHz mono float32 waveform in [-1, 1].

    Args:
        source: a path, the bytes of an audio file, or a (rate, samples) tuple.
        name: how messages call the input (defaults to the file name or "the audio").
        max_s: refuse (before decoding, from the header) anything longer than this.
    Returns:
        (N,) float32 array at SAMPLE_RATE.
    Raises:
        InputError: missing file, not audio, empty, non-finite samples, or too long.
    """
    if isinstance(source, tuple):
        rate, samples = _from_tuple(source, name or "the recording")
    else:
        rate, samples = _decode(source, name, max_s)
    label = name or _label(source)
    if samples.shape[0] == 0:
        raise InputError(f"{label} holds no audio samples")
    if samples.shape[0] / rate > max_s:
        raise InputError(f"{label} is {samples.shape[0] / rate:.1f} s long; the limit is "
                         f"{max_s:g} s")
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples  # (N,) downmix
    return np.clip(resample(mono, rate, SAMPLE_RATE), -1.0, 1.0).astype(np.float32)


def resample(wave: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling of a 1-D signal from `rate` to `target` Hz (float32 out)."""
    if rate == target:
        return np.asarray(wave, dtype=np.float32)
    from scipy.signal import resample_poly

    ratio = Fraction(target, rate)  # e.g. 16000/44100 -> 160/441
    out = resample_poly(np.asarray(wave, dtype=np.float64), ratio.numerator,
                        ratio.denominator)
    return out.astype(np.float32)


def duration_s(wave: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """Length of a waveform in seconds."""
    return len(wave) / rate


def check_duration(wave: np.ndarray, kind: str) -> float:
    """Checks a loaded clip against the limits for `kind` ("passage" or "question").

    Returns:
        the duration in seconds.
    Raises:
        InputError: e.g. "the question is 25.3 s long; the limit is 20 s".
    """
    if kind not in LIMITS:
        raise ValueError(f"unknown clip kind {kind!r}; choose one of {', '.join(LIMITS)}")
    seconds = duration_s(wave)
    if seconds > LIMITS[kind]:
        raise InputError(f"the {kind} is {seconds:.1f} s long; the limit is "
                         f"{LIMITS[kind]:g} s")
    if seconds < MIN_CLIP_S:
        raise InputError(f"the {kind} is {seconds:.2f} s long; the minimum is "
                         f"{MIN_CLIP_S:g} s")
    return seconds


def peak_dbfs(wave: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """Level of the loudest SILENCE_FRAME_S frame in dB relative to full scale."""
    hop = max(1, int(rate * SILENCE_FRAME_S))
    n = len(wave) // hop
    if n == 0:
        frames = np.asarray(wave, dtype=np.float64)[None, :]
    else:
        frames = np.asarray(wave[: n * hop], dtype=np.float64).reshape(n, hop)  # (F, hop)
    frames = frames - frames.mean(axis=1, keepdims=True)  # a DC offset is not sound
    rms = float(np.sqrt((frames ** 2).mean(axis=1)).max())
    return 20.0 * math.log10(max(rms, 1e-10))


def check_speech(wave: np.ndarray, *, name: str = "the clip") -> None:
    """Raises InputError when no part of the clip rises above SILENCE_DBFS.

    Noise passes on purpose: only silence is certain to hold no speech.
    """
    level = peak_dbfs(wave)
    if level < SILENCE_DBFS:
        raise InputError(f"no speech found: {name} is silent (loudest part {level:.0f} dBFS; "
                         f"speech is usually above {SILENCE_DBFS + 20:.0f} dBFS)")


def load_clip(source, kind: str, *, name: str | None = None) -> np.ndarray:
    """load_audio + check_duration + check_speech for a passage or a question."""
    label = name or f"the {kind}"
    if kind not in LIMITS:
        raise InputError(f"unknown kind of clip {kind!r}; choose one of {', '.join(LIMITS)}")
    # refused from the header with the limit of its kind (a 30-minute passage: "180 s")
    wave = load_audio(source, name=label, max_s=LIMITS[kind])
    check_duration(wave, kind)
    check_speech(wave, name=label)
    return wave


def cut(wave: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    """The samples between start_s and end_s (clamped to the clip), e.g. an answer span."""
    if end_s < start_s:
        raise InputError(f"a span must end after it starts; got {start_s:.2f}-{end_s:.2f} s")
    lo = max(0, int(round(start_s * SAMPLE_RATE)))
    hi = min(len(wave), int(round(end_s * SAMPLE_RATE)))
    return np.asarray(wave[lo:hi], dtype=np.float32)


def write_wav(path, wave: np.ndarray, *, rate: int = SAMPLE_RATE) -> Path:
    """Writes a mono float waveform as 16-bit PCM wav; returns the path."""
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(np.asarray(wave, dtype=np.float32), -1.0, 1.0), rate,
             subtype="PCM_16", format="WAV")
    return path


def wav_bytes(wave: np.ndarray, *, rate: int = SAMPLE_RATE) -> bytes:
    """The waveform as the bytes of a 16-bit PCM wav file."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(np.asarray(wave, dtype=np.float32), -1.0, 1.0), rate,
             subtype="PCM_16", format="WAV")
    return buf.getvalue()


# ------------------------------------------------------------------------------ helpers
def _label(source) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    return "the uploaded audio"


def _decode(source, name: str | None, max_s: float) -> tuple[int, np.ndarray]:
    """libsndfile decode of a path or bytes -> (rate, (N, C) float32)."""
    import soundfile as sf

    label = name or _label(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"audio file not found: {path}")
        handle = str(path)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise InputError(f"{label} is empty (0 bytes)")
        handle = io.BytesIO(bytes(source))
    else:
        raise InputError(f"cannot read audio from a {type(source).__name__}; give a file, "
                         "its bytes, or a (rate, samples) pair")
    try:
        with sf.SoundFile(handle) as f:
            rate, frames = int(f.samplerate), int(f.frames)
            if 0 < frames and frames / rate > max_s:  # refuse before decoding
                raise InputError(f"{label} is {frames / rate:.1f} s long; the limit is "
                                 f"{max_s:g} s")
            samples = f.read(dtype="float32", always_2d=True)  # (N, C)
    except InputError:
        raise
    except Exception as exc:  # libsndfile errors, and TypeError for header-less data
        reason = getattr(exc, "error_string", None) or str(exc).strip() or type(exc).__name__
        reason = reason.strip().rstrip(".").lower()
        raise InputError(f"{label} is not a readable audio file ({', '.join(FORMATS)}): "
                         f"{reason}") from None
    if not np.isfinite(samples).all():
        raise InputError(f"{label} holds invalid (NaN or infinite) samples")
    return rate, samples


def _from_tuple(pair: tuple, label: str) -> tuple[int, np.ndarray]:
    """A Gradio (rate, samples) pair -> (rate, float32 samples scaled to [-1, 1])."""
    if len(pair) != 2:
        raise InputError(f"{label}: expected a (sample rate, samples) pair")
    rate, samples = pair
    if isinstance(rate, np.ndarray) and not isinstance(samples, np.ndarray):
        rate, samples = samples, rate  # tolerate (samples, rate)
    try:
        rate = int(rate)
    except (TypeError, ValueError):
        raise InputError(f"{label}: the sample rate must be a number, got {rate!r}") from None
    if rate <= 0:
        raise InputError(f"{label}: the sample rate must be positive, got {rate}")
    data = np.asarray(samples)
    if data.ndim == 2 and data.shape[0] < data.shape[1] and data.shape[0] <= 8:
        data = data.T  # (C, N) -> (N, C)
    if data.ndim not in (1, 2):
        raise InputError(f"{label}: samples must be 1-D (mono) or 2-D (stereo), got shape "
                         f"{data.shape}")
    if data.dtype in _PCM_SCALE:
        out = data.astype(np.float32) / _PCM_SCALE[data.dtype]
    elif data.dtype == np.uint8:
        out = (data.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(data.dtype, np.floating):
        out = data.astype(np.float32)
        if not np.isfinite(out).all():
            raise InputError(f"{label} holds invalid (NaN or infinite) samples")
    else:
        raise InputError(f"{label}: unsupported sample type {data.dtype}")
    return rate, out
