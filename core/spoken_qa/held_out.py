"""The tab's one-click questions: held-out test questions drawn by a stated seeded rule (not
picked for success), voiced as the test set is, so the true answer span is known to the sample;
and how a predicted span scores against it.

    picked = pick(load_records())                  # EXAMPLE_COUNT test questions, seed EXAMPLE_SEED
    gold = voice_gold(picked[0])                   # (passage, question, {start_s, end_s, ...})
    if matches(gold, passage_wave): judge((start_s, end_s), gold)  # {"ff1", "aos", "hit"}

A gold span travels with the audio it belongs to: `matches` checks that the passage being
answered is the one that was voiced (its length and a coarse loudness signature), so a span is
never scored against a recording the user swapped in.
"""
from __future__ import annotations

import random

import numpy as np

from core.spoken_qa.data import examples
from core.spoken_qa.metrics import aos, frame_f1

EXAMPLE_SEED = 2022  # the seed of the draw (the lecture's year); any seed gives a fair draw
EXAMPLE_COUNT = 3
SIGNATURE_SLICES = 64  # mean |sample| over this many equal slices of the passage
SIGNATURE_TOLERANCE = 2e-3  # 16-bit rounding moves a slice's mean by ~3e-5


def pick(records: list[dict], n: int = EXAMPLE_COUNT, seed: int = EXAMPLE_SEED) -> list[dict]:
    """n test questions (from core.spoken_qa.data.examples) drawn uniformly at random with
    `seed`, in draw order: whatever the model makes of them."""
    test = sorted(examples(records, "test"), key=lambda e: e["id"])
    return random.Random(seed).sample(test, min(n, len(test)))


def rule(records: list[dict], n: int = EXAMPLE_COUNT, seed: int = EXAMPLE_SEED) -> dict:
    """How the examples were chosen: {"n", "total" (test questions), "seed"} (for the tab)."""
    return {"n": n, "total": len(examples(records, "test")), "seed": seed}


def signature(wave: np.ndarray, slices: int = SIGNATURE_SLICES) -> list[float]:
    """Mean absolute amplitude of `slices` equal parts of a wave (a fingerprint that survives
    writing the wave as 16-bit audio and reading it back)."""
    wave = np.abs(np.asarray(wave, dtype=np.float64))
    parts = np.array_split(wave, min(slices, max(1, len(wave))))
    return [float(p.mean()) if len(p) else 0.0 for p in parts]


def voice_gold(example: dict) -> tuple[np.ndarray, np.ndarray, dict]:
    """Voices an example the way the test set is voiced (its voice, speed, pitch and chunk cuts).

    Returns:
        (passage wave, question wave, gold): gold = {"id", "answer", "start_s", "end_s",
        "samples", "signature"}; JSON-ready, for `matches` and `judge`.
    """
    from core.spoken_qa.voicing import voice_example  # espeak-ng only when voicing

    voiced = voice_example(example)
    gold = {"id": example["id"], "answer": example["answer"],
            "start_s": float(voiced.start_s), "end_s": float(voiced.end_s),
            "samples": int(len(voiced.passage)), "signature": signature(voiced.passage)}
    return voiced.passage, voiced.question, gold


def matches(gold: dict | None, wave: np.ndarray) -> bool:
    """True when `wave` is the passage `gold` was voiced for (same length, same signature)."""
    if not gold or len(wave) != gold.get("samples"):
        return False
    theirs = np.asarray(gold.get("signature", []), dtype=np.float64)
    mine = np.asarray(signature(wave, len(theirs)), dtype=np.float64)
    return len(theirs) > 0 and bool(np.max(np.abs(mine - theirs)) <= SIGNATURE_TOLERANCE)


def judge(pred: tuple[float, float], gold: dict) -> dict:
    """A predicted span against the gold one: {"ff1", "aos", "hit"}; a hit is any overlap with
    the true answer (FF1 > 0)."""
    span = (gold["start_s"], gold["end_s"])
    ff1 = frame_f1(pred, span)
    return {"ff1": ff1, "aos": aos(pred, span), "hit": ff1 > 0.0}
