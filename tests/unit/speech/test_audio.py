"""core.speech.audio: every common format and rate -> 16 kHz mono float32; limits and bad input.

Real speech comes from Debian `pocketsphinx-testdata` (5 LibriVox utterances, 16 kHz).
"""
from __future__ import annotations

import io

import numpy as np
import pytest

from core.common.errors import InputError
from core.common.paths import ROOT
from core.speech import audio
from tests.helpers import librivox_files

SR = audio.SAMPLE_RATE


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """'he was not an ill disposed young man' (2.99 s)."""
    return audio.load_audio(librivox_files()[1])


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def test_librivox_loads_as_16k_mono_float():
    import soundfile as sf

    for path in librivox_files():
        wave = audio.load_audio(path)
        info = sf.info(str(path))
        assert wave.dtype == np.float32 and wave.ndim == 1
        assert len(wave) == info.frames  # already 16 kHz: untouched length
        assert np.abs(wave).max() <= 1.0
        assert audio.peak_dbfs(wave) > audio.SILENCE_DBFS + 10  # clearly speech
        assert audio.check_duration(wave, "question") == pytest.approx(info.duration)


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
@pytest.mark.parametrize("channels", [1, 2])
def test_any_rate_and_channels_give_the_same_clip(tmp_path, speech, rate, channels):
    import soundfile as sf

    other = audio.resample(speech, SR, rate)
    data = other if channels == 1 else np.stack([other, 0.5 * other], axis=1)  # (N, 2)
    path = tmp_path / f"clip_{rate}_{channels}.wav"
    sf.write(str(path), data, rate, subtype="PCM_16")
    back = audio.load_audio(path)
    assert abs(len(back) - len(speech)) <= 1  # same duration, to the sample
    scale = 1.0 if channels == 1 else 0.75  # the stereo downmix is (x + x/2) / 2
    # 8 kHz keeps only the band below 4 kHz; the higher rates keep everything
    assert _corr(back / scale, speech) > (0.9 if rate == 8_000 else 0.995)
    assert np.abs(back).max() <= 1.0


def test_gradio_tuple_int16_stereo_and_float(speech):
    pcm = (audio.resample(speech, SR, 48_000) * 32767).astype(np.int16)
    stereo = np.stack([pcm, pcm], axis=1)  # Gradio's (samples, channels)
    back = audio.load_audio((48_000, stereo))
    assert abs(len(back) - len(speech)) <= 1 and _corr(back, speech) > 0.995
    half = audio.load_audio((SR, np.full(8000, 16384, dtype=np.int16)))
    assert half == pytest.approx(np.full(8000, 0.5), abs=1e-6)  # int16 full scale = 1.0
    same = audio.load_audio((SR, speech.astype(np.float64)))
    assert np.allclose(same, speech, atol=1e-6)
    with pytest.raises(InputError, match="NaN"):
        audio.load_audio((SR, np.array([0.1, np.nan] * 4000)))
    with pytest.raises(InputError, match="sample rate"):
        audio.load_audio((0, speech))


@pytest.mark.parametrize("fmt,subtype,ext", [
    ("WAV", "PCM_16", "wav"), ("FLAC", "PCM_16", "flac"), ("OGG", "VORBIS", "ogg"),
    ("OGG", "OPUS", "opus"), ("MP3", "MPEG_LAYER_III", "mp3")])
def test_format_round_trip(tmp_path, speech, fmt, subtype, ext):
    import soundfile as sf

    rate = 48_000 if subtype == "OPUS" else SR  # Opus encodes at 48 kHz only
    data = audio.resample(speech, SR, rate)
    path = tmp_path / f"clip.{ext}"
    try:
        sf.write(str(path), data, rate, format=fmt, subtype=subtype)
    except (sf.LibsndfileError, TypeError, ValueError) as exc:
        if fmt == "MP3":  # libsndfile < 1.1 cannot encode mp3; wav/flac/ogg must work
            pytest.skip(f"this libsndfile cannot write mp3: {exc}")
        raise
    for source in (path, path.read_bytes()):
        back = audio.load_audio(source)
        assert abs(len(back) - len(speech)) <= 0.01 * SR  # codecs may pad a few ms
        lossless = subtype == "PCM_16"
        assert _corr(back, speech) > (0.9999 if lossless else 0.95)


@pytest.mark.parametrize("payload,label", [
    (b"this is not audio at all\n" * 20, "notes.wav"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "cut.wav"),
    (bytes(range(256)) * 8, "noise.mp3")])
def test_corrupt_files_name_the_file(tmp_path, payload, label):
    path = tmp_path / label
    path.write_bytes(payload)
    with pytest.raises(InputError, match=label) as err:
        audio.load_audio(path)
    assert "not a readable audio file" in str(err.value)
    with pytest.raises(InputError, match="not a readable audio file"):
        audio.load_audio(payload)  # the same bytes uploaded


def test_text_file_missing_file_and_empty_upload(tmp_path):
    readme = ROOT / "README.md"
    with pytest.raises(InputError, match="README.md is not a readable audio file"):
        audio.load_audio(readme)
    with pytest.raises(InputError, match="not found"):
        audio.load_audio(tmp_path / "nowhere.wav")
    with pytest.raises(InputError, match="empty"):
        audio.load_audio(b"")
    with pytest.raises(InputError, match="cannot read audio from a dict"):
        audio.load_audio({"path": "x.wav"})


def test_silence_is_refused_and_noise_passes():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="no speech found: the question is silent"):
        audio.load_clip((SR, np.zeros(2 * SR, dtype=np.float32)), "question")
    hum = (0.3 + 10 ** (-70 / 20) * rng.standard_normal(2 * SR)).astype(np.float32)
    with pytest.raises(InputError, match="no speech found"):  # DC offset + -70 dB hiss
        audio.load_clip((SR, hum), "question")
    noise = (0.1 * rng.standard_normal(2 * SR)).astype(np.float32)  # -20 dBFS
    assert len(audio.load_clip((SR, noise), "question")) == 2 * SR


def test_duration_limits_state_the_numbers():
    rng = np.random.default_rng(1)

    def clip(seconds: float) -> tuple[int, np.ndarray]:
        return SR, (0.1 * rng.standard_normal(int(seconds * SR))).astype(np.float32)

    with pytest.raises(InputError, match=r"the question is 25\.3 s long; the limit is 20 s"):
        audio.load_clip(clip(25.3), "question")
    with pytest.raises(InputError, match=r"the passage is 181\.0 s long; the limit is 180 s"):
        audio.load_clip(clip(181.0), "passage")
    with pytest.raises(InputError, match=r"0\.20 s long; the minimum is 0\.3 s"):
        audio.load_clip(clip(0.2), "passage")
    assert audio.check_duration(audio.load_audio(clip(25.3)), "passage") == pytest.approx(25.3)


@pytest.mark.parametrize("kind, seconds, limit", [("passage", 1800, 180), ("question", 700, 20)])
def test_a_long_file_is_refused_with_the_limit_of_its_kind(tmp_path, kind, seconds, limit):
    """A 30-minute passage or a 700 s question names its own limit (not the decoder's)."""
    import soundfile as sf

    path = tmp_path / f"{kind}.wav"
    sf.write(path, np.zeros(seconds * 1000, dtype=np.int16), 1000)  # 1 kHz keeps it small
    with pytest.raises(InputError, match=rf"the {kind} is {seconds}\.0 s long; the limit is "
                                         rf"{limit} s$"):
        audio.load_clip(str(path), kind)


def test_long_file_refused_from_its_header(tmp_path):
    path = librivox_files()[0]  # 7.1 s
    with pytest.raises(InputError, match=r"7\.1 s long; the limit is 5 s"):
        audio.load_audio(path, max_s=5.0)


def test_write_wav_and_cut(tmp_path, speech):
    path = audio.write_wav(tmp_path / "answers" / "a.wav", speech)
    assert np.allclose(audio.load_audio(path), speech, atol=1.5 / 32768)
    assert np.allclose(audio.load_audio(io.BytesIO(audio.wav_bytes(speech)).getvalue()),
                       speech, atol=1.5 / 32768)
    part = audio.cut(speech, 1.0, 2.5)
    assert len(part) == int(1.5 * SR) and np.array_equal(part, speech[SR: int(2.5 * SR)])
    assert len(audio.cut(speech, 2.5, 99.0)) == len(speech) - int(2.5 * SR)  # clamped
    with pytest.raises(InputError, match="must end after it starts"):
        audio.cut(speech, 2.0, 1.0)
