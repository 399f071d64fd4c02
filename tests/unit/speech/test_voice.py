"""core.speech.voice: espeak-ng voicing -> 16 kHz float32; a missing espeak-ng gives the message."""
from __future__ import annotations

import numpy as np
import pytest

from core.common.errors import InputError
from core.speech import audio, voice

SENTENCE = "the quick brown fox jumps over the lazy dog"  # 9 words
needs_espeak = pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)


@needs_espeak
def test_sentence_has_the_expected_duration():
    wave = voice.voice(SENTENCE, "en-us", speed=160)
    expected = 9 / 160 * 60  # words / (words per minute) -> 3.4 s
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert 0.7 * expected < audio.duration_s(wave) < 1.3 * expected
    assert audio.peak_dbfs(wave) > audio.SILENCE_DBFS + 20
    assert np.abs(wave).max() <= 1.0


@needs_espeak
def test_speed_and_pitch_change_the_audio():
    slow = voice.voice(SENTENCE, speed=120)
    fast = voice.voice(SENTENCE, speed=200)
    assert 0.45 < len(fast) / len(slow) < 0.8  # 120/200 = 0.6
    low, high = (voice.voice("hello", pitch=p) for p in (voice.PITCHES[0], voice.PITCHES[-1]))
    n = min(len(low), len(high))
    assert not np.allclose(low[:n], high[:n], atol=1e-3)
    assert np.array_equal(voice.voice("hello"), voice.voice("hello"))  # deterministic


@needs_espeak
def test_every_listed_voice_exists_and_differs():
    takes = {v: voice.voice("seven yellow windows", v) for v in voice.available_voices()}
    assert voice.available_voices()[0] == voice.DEFAULT_VOICE
    for v, wave in takes.items():
        assert 0.5 < audio.duration_s(wave) < 3.0, v
    distinct = {(len(w), round(float(np.abs(w).sum()), 2)) for w in takes.values()}
    assert len(distinct) == len(takes)  # no two voices give the same waveform


@needs_espeak
def test_training_variants_are_real_voices_of_their_own():
    """espeak-ng ignores a variant it cannot apply ("en-gb+f4" sounds as "en-gb"): each training
    variant must sound unlike its accent and unlike every other voice."""
    names = [*voice.VOICES, *voice.TRAINING_VARIANTS]
    assert not set(voice.TRAINING_VARIANTS) & set(voice.VOICES)
    takes = {v: voice.voice("seven yellow windows", v) for v in names}
    distinct = {(len(w), round(float(np.abs(w).sum()), 2)) for w in takes.values()}
    assert len(distinct) == len(names)


@needs_espeak
def test_text_is_never_read_as_an_option():
    wave = voice.voice("-v xx hello there")
    assert audio.duration_s(wave) > 0.5


def test_missing_espeak_gives_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no espeak-ng anywhere
    assert not voice.espeak_available()
    with pytest.raises(InputError) as err:
        voice.voice("hello")
    assert str(err.value) == "voicing needs espeak-ng: apt-get install espeak-ng"


@needs_espeak
@pytest.mark.parametrize("kwargs,message", [
    ({"text": "   \n "}, "no text to voice"),
    ({"text": "... ?!"}, "no sound for this text"),
    ({"text": "word " * 400}, "voicing takes at most 1500"),
    ({"text": "hi", "voice_name": "klingon"}, "unknown voice 'klingon'; choose one of en-us"),
    ({"text": "hi", "speed": 10}, "speed must be 80-450"),
    ({"text": "hi", "pitch": 150}, "pitch must be 0-99")])
def test_bad_requests_say_what_would_work(kwargs, message):
    with pytest.raises(InputError, match=message):
        voice.voice(**kwargs)
