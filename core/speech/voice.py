"""Text -> speech with espeak-ng (a subprocess), returned as 16 kHz mono float32.

espeak-ng is a formant synthesiser: fast (~1,000x real time), offline, 100+ voices. The lab
uses it to voice typed passages and questions and to build spoken-QA data. Variants
("+f3", "+m3") change the synthetic speaker on top of an accent.

    voice("the cat sat on the mat", "en-gb-scotland", speed=140)  ->  (N,) float32 at 16 kHz
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np

from core.common.errors import InputError
from core.speech.audio import MAX_PASSAGE_S, check_speech, load_audio

ESPEAK = "espeak-ng"  # the executable looked up on PATH
INSTALL_HINT = "voicing needs espeak-ng: apt-get install espeak-ng"
# Voices shipped in espeak-ng-data (accents under lang/, variants under voices/!v).
VOICES: dict[str, str] = {
    "en-us": "American English",
    "en-gb": "British English",
    "en-gb-scotland": "Scottish English",
    "en-gb-x-rp": "British English, Received Pronunciation",
    "en-029": "Caribbean English",
    "en-us+f3": "American English, female variant f3",
    "en+f4": "British English, female variant f4",  # "en-gb+f4" ignores the variant
    "en-us+m3": "American English, male variant m3",
}
# More espeak-ng variants (female and male) voiced for training only, not offered in the UI.
# None is a spoken-QA test voice (not Scottish, not variant f3): core.spoken_qa.data.TAKE_POOLS.
TRAINING_VARIANTS = ("en-us+f1", "en-us+f2", "en-us+f4", "en-us+f5", "en+f1", "en+f2", "en+f5",
                     "en-029+f2", "en-us+m1", "en-us+m2", "en+m4", "en-us+m5", "en-us+m6",
                     "en+m7")
DEFAULT_VOICE = "en-us"
SPEEDS = (120, 160, 200)  # words per minute offered in the UI: slow, normal, fast
DEFAULT_SPEED = 160  # espeak-ng's own default is 175 wpm; a little slower is clearer
MIN_SPEED, MAX_SPEED = 80, 450  # espeak-ng's accepted range, words per minute
PITCHES = (35, 50, 65)  # base pitch 0-99 offered in the UI: low, normal, high
DEFAULT_PITCH = 50  # espeak-ng's default
MIN_PITCH, MAX_PITCH = 0, 99
# About MAX_PASSAGE_S of speech at MIN_SPEED: 180 s * 80 wpm / 60 * ~6 chars a word.
MAX_TEXT_CHARS = 1_500
TIMEOUT_S = 60.0  # espeak-ng voices 3 minutes of speech in well under a second


def espeak_available() -> bool:
    """True when the espeak-ng executable is on PATH."""
    return shutil.which(ESPEAK) is not None


def available_voices() -> list[str]:
    """Voice names for the UI, the default first."""
    return [DEFAULT_VOICE] + [v for v in VOICES if v != DEFAULT_VOICE]


def voice(text: str, voice_name: str = DEFAULT_VOICE, *, speed: int = DEFAULT_SPEED,
          pitch: int = DEFAULT_PITCH) -> np.ndarray:
    """Voices `text` with espeak-ng.

    Args:
        text: what to say (plain text; at most MAX_TEXT_CHARS characters).
        voice_name: one of VOICES (or TRAINING_VARIANTS).
        speed: words per minute, MIN_SPEED..MAX_SPEED.
        pitch: base pitch, MIN_PITCH..MAX_PITCH.
    Returns:
        (N,) float32 waveform at 16 kHz.
    Raises:
        InputError: espeak-ng missing, empty/over-long text, unknown voice, out-of-range
            speed or pitch, or a result that holds no sound.
    """
    exe = shutil.which(ESPEAK)
    if exe is None:
        raise InputError(INSTALL_HINT)
    text = " ".join(str(text).split())  # one line: newlines would end the utterance early
    if not text:
        raise InputError("there is no text to voice")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"the text is {len(text)} characters long; voicing takes at most "
                         f"{MAX_TEXT_CHARS} (about {MAX_PASSAGE_S:g} s of speech)")
    if voice_name not in VOICES and voice_name not in TRAINING_VARIANTS:
        raise InputError(f"unknown voice {voice_name!r}; choose one of "
                         f"{', '.join(available_voices())}")
    if not MIN_SPEED <= int(speed) <= MAX_SPEED:
        raise InputError(f"speed must be {MIN_SPEED}-{MAX_SPEED} words per minute, got {speed}")
    if not MIN_PITCH <= int(pitch) <= MAX_PITCH:
        raise InputError(f"pitch must be {MIN_PITCH}-{MAX_PITCH}, got {pitch}")
    # Text goes through stdin, so a leading '-' is never read as an option; -b 1 = UTF-8.
    cmd = [exe, "-v", voice_name, "-s", str(int(speed)), "-p", str(int(pitch)), "-b", "1",
           "--stdin", "--stdout"]
    try:
        done = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True,
                              timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise InputError(f"espeak-ng took longer than {TIMEOUT_S:g} s; try a shorter text")\
            from None
    if done.returncode != 0 or not done.stdout:
        err = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise InputError(f"espeak-ng could not voice the text with {voice_name!r}: {err}")
    wave = load_audio(done.stdout, name="the voiced text")
    try:
        check_speech(wave, name="the voiced text")
    except InputError:  # e.g. text that is only punctuation
        raise InputError("espeak-ng produced no sound for this text: give it words, not "
                         "only punctuation") from None
    return wave
