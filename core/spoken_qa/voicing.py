"""Spoken-QA audio: voicing the text set (core.spoken_qa.data) with exact answer spans.

The passage is voiced in chunks cut at the record's `cuts` - sentence ends, both edges of every
answer, and seeded word boundaries besides - one espeak-ng call a chunk, trimmed and joined with
short pauses, so the answer's time span is known to the sample. Audio lives in a cache folder
(FLAC + manifest.json), rebuilt deterministically, never committed.

    wave, question, start_s, end_s = voice_example(example)
    entries = build_voiced_set(records, cache_dir, progress=print)
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from core.common.errors import InputError
from core.speech.audio import SAMPLE_RATE, load_audio
from core.speech.voice import DEFAULT_SPEED, INSTALL_HINT, PITCHES, SPEEDS, voice
from core.speech.voice import espeak_available as voice_available
from core.spoken_qa.data import SPLITS, TAKE_POOLS, TEST_VOICES, answer_end_cut, examples

# Pauses put between chunks, measured on espeak-ng at 160 wpm: ~0.35 s after a sentence,
# ~0.18 s at a comma, and stop closures of ~0.04 s between words; scaled by 160 / speed.
SENTENCE_GAP_S, CLAUSE_GAP_S, WORD_GAP_S = 0.35, 0.18, 0.04
TRIM_FRAME_S = 0.005  # silence trimming looks at 5 ms frames
TRIM_DBFS = -45.0  # a frame quieter than this (RMS) at a chunk's edge is silence
TRIM_MARGIN_S = 0.01  # kept either side of the sound, so soft onsets survive
AUDIO_FORMAT = "flac"  # cache files: lossless, about half the size of wav


def trim(wave: np.ndarray) -> np.ndarray:
    """Drops leading/trailing 5 ms frames quieter than TRIM_DBFS (keeps TRIM_MARGIN_S)."""
    hop = int(SAMPLE_RATE * TRIM_FRAME_S)
    n = len(wave) // hop
    rms = np.sqrt((wave[: n * hop].astype(np.float64).reshape(n, hop) ** 2).mean(axis=1))
    loud = np.flatnonzero(20 * np.log10(np.maximum(rms, 1e-10)) > TRIM_DBFS)
    if len(loud) == 0:
        return wave
    margin = int(TRIM_MARGIN_S * SAMPLE_RATE)
    return wave[max(0, loud[0] * hop - margin): min(len(wave), (loud[-1] + 1) * hop + margin)]


def _gap_s(chunk: str, speed: int) -> float:
    gap = SENTENCE_GAP_S if chunk[-1] in ".!?" else CLAUSE_GAP_S if chunk[-1] in ",;:" \
        else WORD_GAP_S
    return gap * DEFAULT_SPEED / speed


def voice_chunks(text: str, cuts: list[int], voice_name: str, speed: int, pitch: int
                 ) -> tuple[np.ndarray, list[tuple[int, int, float, float]]]:
    """Voices text chunk by chunk; returns (wave, [(char_lo, char_hi, start_s, end_s)])."""
    bounds = [0] + [c for c in cuts if 0 < c < len(text)] + [len(text)]
    pieces, spans, t = [], [], 0
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        chunk = text[lo:hi].strip()
        if any(c.isalnum() for c in chunk):
            wave = trim(voice(chunk, voice_name, speed=speed, pitch=pitch))
        else:  # a lone dash between two answers: espeak-ng says nothing for it, the gap stays
            wave = np.zeros(0, dtype=np.float32)
        spans.append((lo, hi, t / SAMPLE_RATE, (t + len(wave)) / SAMPLE_RATE))
        gap = np.zeros(int(round(_gap_s(chunk, speed) * SAMPLE_RATE)), dtype=np.float32)
        pieces += [wave, gap]
        t += len(wave) + len(gap)
    return np.concatenate(pieces[:-1]), spans  # no pause after the last chunk


def answer_span(example: dict, spans: list[tuple[int, int, float, float]]
                ) -> tuple[float, float]:
    """The answer's (start_s, end_s) from the chunk timings of its passage."""
    start = example["answer_start"]
    end = answer_end_cut(example["text"], start, example["answer"])
    first = [s for s in spans if s[0] in (start - 1, start)]
    last = [s for s in spans if s[1] == end]
    if not first or not last:
        raise InputError(f"{example.get('id', 'the example')}: the answer is not on chunk "
                         "cuts; rebuild the text set")
    return first[0][2], last[0][3]


class VoicedExample(NamedTuple):
    """Unpacks as (passage wave, question wave, answer start_s, answer end_s)."""

    passage: np.ndarray  # (N,) float32 at 16 kHz
    question: np.ndarray  # (M,) float32 at 16 kHz
    start_s: float
    end_s: float


def voice_example(example: dict, voice_name: str | None = None, speed: int | None = None,
                  *, pitch: int | None = None) -> VoicedExample:
    """Voices one example (from `examples`); voice, speed and pitch default to its own."""
    voice_name = voice_name or example["voice"]
    speed = int(example["speed"] if speed is None else speed)
    pitch = int(example["pitch"] if pitch is None else pitch)
    passage, spans = voice_chunks(example["text"], example["cuts"], voice_name, speed, pitch)
    question = trim(voice(example["question"], voice_name, speed=speed, pitch=pitch))
    return VoicedExample(passage, question, *answer_span(example, spans))


def voicings(record: dict, n: int = 1, take_voices: str = "train"
             ) -> list[tuple[str, int, int]]:
    """n (voice, speed, pitch) takes of a passage: its own first, then seeded draws from its
    split's voices (more takes of the same text = more training audio); a train passage's
    extra takes draw from TAKE_POOLS[take_voices]."""
    pool = TEST_VOICES if record["split"] == "test" else TAKE_POOLS[take_voices]
    takes = [(record["voice"], int(record["speed"]), int(record["pitch"]))]
    for j in range(1, n):
        rng = random.Random(f"{record['passage_id']}:take{j}")
        takes.append((rng.choice(pool), rng.choice(SPEEDS), rng.choice(PITCHES)))
    return takes


def _voice_record(r: dict, n_takes: int, cache: Path, take_voices: str = "train"
                  ) -> list[dict]:
    """Voices one passage record (n_takes takes) and its questions into cache/audio; returns
    their build_voiced_set entries."""
    import soundfile as sf

    out = []
    for j, (name, speed, pitch) in enumerate(voicings(r, n_takes, take_voices)):
        wave, spans = voice_chunks(r["text"], r["cuts"], name, speed, pitch)
        p_path = cache / "audio" / f"{r['passage_id']}-t{j}.{AUDIO_FORMAT}"
        sf.write(str(p_path), wave, SAMPLE_RATE, format=AUDIO_FORMAT.upper())
        for ex in examples([r]):
            q = trim(voice(ex["question"], name, speed=speed, pitch=pitch))
            q_path = cache / "audio" / f"{ex['id']}-t{j}.{AUDIO_FORMAT}"
            sf.write(str(q_path), q, SAMPLE_RATE, format=AUDIO_FORMAT.upper())
            start_s, end_s = answer_span(ex, spans)
            out.append(dict(ex, id=f"{ex['id']}-t{j}", voice=name, speed=speed, pitch=pitch,
                            passage_path=str(p_path), question_path=str(q_path),
                            start_s=start_s, end_s=end_s, duration_s=len(wave) / SAMPLE_RATE))
    return out


def build_voiced_set(records: list[dict], cache_dir, *, splits=SPLITS,
                     limit_per_split: int | None = None, train_takes: int = 1,
                     take_voices: str = "train",
                     progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Voices passages and questions into cache_dir (FLAC) unless already there.

    Args:
        records: passage records (build_text_set / read_text_set).
        cache_dir: folder for audio and manifest.json; reused as it is when the records,
            options, voicing constants and espeak-ng version are the same.
        splits: which splits to voice.
        limit_per_split: at most this many passages of each split (the first ones).
        train_takes: takes of every train passage (see `voicings`); dev and test get one.
        take_voices: the voices of the extra takes (a key of TAKE_POOLS).
        progress: called as progress(passages done, passages in all).
    Returns:
        One dict per question and take: the example's fields (voice, speed, pitch of the
        take) plus passage_path, question_path, start_s, end_s (the answer span in the
        passage audio) and duration_s.
    """
    if not voice_available():
        raise InputError(INSTALL_HINT)
    chosen, count = [], {s: 0 for s in splits}
    for r in records:
        if r["split"] in count and (limit_per_split is None
                                    or count[r["split"]] < limit_per_split):
            count[r["split"]] += 1
            chosen.append(r)
    version = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True,
                             check=False).stdout.strip()
    pool = [] if take_voices == "train" else [take_voices]  # (sets voiced before it existed)
    key = hashlib.sha256(json.dumps([chosen, train_takes, SENTENCE_GAP_S, CLAUSE_GAP_S,
                                     WORD_GAP_S, TRIM_DBFS, TRIM_MARGIN_S, version, *pool],
                                    sort_keys=True).encode("utf-8")).hexdigest()
    cache = Path(cache_dir)
    manifest = cache / "manifest.json"
    if manifest.is_file():
        saved = json.loads(manifest.read_text(encoding="utf-8"))
        if saved.get("key") == key and all(Path(e[p]).is_file() for e in saved["examples"]
                                           for p in ("passage_path", "question_path")):
            return saved["examples"]
    (cache / "audio").mkdir(parents=True, exist_ok=True)
    out = []
    # espeak-ng runs as a subprocess, so threads voice passages side by side (one per core);
    # map keeps the records' order, so the manifest is the same whatever the number of workers
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        for done, entries in enumerate(pool.map(
                lambda r: _voice_record(r, train_takes if r["split"] == "train" else 1, cache,
                                        take_voices),
                chosen), 1):
            out += entries
            if progress is not None:
                progress(done, len(chosen))
    manifest.write_text(json.dumps({"key": key, "examples": out}), encoding="utf-8")
    return out


def load_voiced(entry: dict) -> VoicedExample:
    """The waves and span of one build_voiced_set entry."""
    return VoicedExample(load_audio(entry["passage_path"]), load_audio(entry["question_path"]),
                         float(entry["start_s"]), float(entry["end_s"]))
