"""`python -m core bench speech`: answering time over a long passage, and how fast each unit
extractor reads audio.

Measures on this machine: the time to answer a question over a ~60 s passage with the shipped
QA model (target <= 5 s on 2 CPU cores), split by stage; the real-time factor of every
registered extractor (seconds of compute per second of audio; < 1 is faster than real time);
and each extractor's unit quality with each shipped codebook (core.speech.quality: the same word
in 8 voices, edit distance within vs between words; ratio 1.0 = chance, lower is better), overall
and by voice (how far one voice's units sit from the others' for the same word).
An extractor whose model cannot be had here (hubert-base offline) is reported as unavailable.
"""
from __future__ import annotations

import time

import numpy as np

from core.common.device import machine_info
from core.common.errors import ModelUnavailable
from core.common.records import started_now
from core.speech.audio import SAMPLE_RATE
from core.speech.extractors import available_extractors, load_extractor
from core.speech.voice import voice
from core.spoken_qa.data import examples, load_records

QUALITY_WORDS = ("water", "garden", "market", "minister", "seven", "profit", "government",
                 "company", "people", "london", "music", "thursday")  # each in every voice
TARGET_PASSAGE_S = 60.0  # the passage length the answering target is stated for
REPEATS = 3  # answers timed after one warm-up


def long_passage(records: list[dict]) -> tuple[np.ndarray, np.ndarray, dict]:
    """Test passages read one after another, cut at 60 s, and a question about the first."""
    tests = [r for r in records if r["split"] == "test"]
    first = examples(tests[:1])[0]
    text, waves = "", []
    for r in tests:
        waves.append(voice(r["text"], first["voice"]))
        text += r["text"] + " "
        if sum(len(w) for w in waves) >= TARGET_PASSAGE_S * SAMPLE_RATE:
            break
    gap = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    passage = np.concatenate([x for w in waves for x in (w, gap)][:-1])
    question = voice(first["question"], first["voice"])
    return passage[: int(TARGET_PASSAGE_S * SAMPLE_RATE)], question, first


def _answer_times(passage: np.ndarray, question: np.ndarray) -> dict:
    from core.spoken_qa.pipeline import answer

    answer(passage, question)  # warm-up: loads the model, the codebook, the extractor
    walls, stages = [], {}
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        res = answer(passage, question)
        walls.append(time.perf_counter() - t0)
        for s in res.stages:
            stages.setdefault(s["stage"], []).append(s["ms"])
    return {"passage_s": round(len(passage) / SAMPLE_RATE, 1), "windows": res.windows,
            "passage_units": int(len(res.passage.units)),
            "wall_s_median": round(float(np.median(walls)), 3),
            "wall_s_all": [round(w, 3) for w in walls],
            "stage_ms_median": {k: round(float(np.median(v)), 1) for k, v in stages.items()},
            "target_s": 5.0}


def _rtf(passage: np.ndarray) -> dict:
    out = {}
    seconds = len(passage) / SAMPLE_RATE
    for name in available_extractors():
        try:
            extract = load_extractor(name)
        except ModelUnavailable as exc:
            out[name] = {"available": False, "why": str(exc)}
            continue
        extract(passage[: SAMPLE_RATE])  # warm-up
        t0 = time.perf_counter()
        feats = extract(passage)
        wall = time.perf_counter() - t0
        out[name] = {"available": True, "audio_s": round(seconds, 1), "wall_s": round(wall, 3),
                     "real_time_factor": round(wall / seconds, 5), "frames": int(len(feats))}
    return out


def _unit_quality() -> dict:
    """Returns: core.speech.quality.word_consistency of every extractor x shipped codebook
    ({name}-k{k}: within, between, ratio; lower ratio = better)."""
    from core.speech.extractors import CODEBOOK_KS, codebook_path, load_codebook
    from core.speech.quality import word_consistency
    from core.speech.voice import VOICES

    out = {}
    for name in available_extractors():
        try:
            extract = load_extractor(name)
        except ModelUnavailable:
            continue
        for k in CODEBOOK_KS:
            if codebook_path(name, k).is_file():
                c = word_consistency(extract, load_codebook(name, k),
                                     list(QUALITY_WORDS), list(VOICES))
                out[f"{name}-k{k}"] = {"within": round(c.within, 3),
                                       "between": round(c.between, 3),
                                       "ratio": round(c.ratio, 3), "words": c.words,
                                       "takes": c.takes, "by_voice": c.by_voice}
    return out


def run() -> dict:
    """Times answering and unit extraction here; returns a JSON-ready dict."""
    passage, question, example = long_passage(load_records())
    return {
        "benchmark": "speech",
        "when": started_now(),
        "machine": machine_info(),
        "question": example["question"],
        "answer": _answer_times(passage, question),
        "extractors": _rtf(passage),
        "unit_quality": _unit_quality(),
    }
