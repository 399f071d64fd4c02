"""Unit quality: how consistently the same word maps to the same units across voices.

    takes = {"water": [units_voice1, units_voice2], "garden": [...]}
    unit_consistency(takes)   # Consistency(within=0.6, between=0.8, ratio=0.75, ...)

A ratio of 1.0 means the units carry nothing about the word (chance); lower is better. It
compares extractors (mfcc vs a self-supervised model), not codebooks: with the same features,
random centroids score about the same as k-means ones. `score_layers` uses it to choose the
feature layer of a speech model (tiny-hubert's, hubert-base's).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from core.common.errors import InputError
from core.speech.frames import Extractor
from core.speech.units import fit_codebook, speech_units

PICK_AUDIO_FILES = 60  # train passages whose features fit each layer's trial codebook
# Words a feature layer is chosen on; bench speech scores unit quality on other words
# (bench_speech.QUALITY_WORDS), so the reported quality is not the one the choice was made on.
LAYER_WORDS = ("morning", "police", "number", "football", "winter", "country", "health",
               "station", "twenty", "director", "money", "village")


@dataclass(frozen=True)
class Consistency:
    """How consistently one word maps to one unit string across voices.

    within: mean normalised edit distance between takes of the same word (lower is better);
    between: the same between takes of different words (the chance level);
    ratio: within / between (1.0 = units carry no word identity; 0 = perfect).
    """

    within: float
    between: float
    ratio: float
    words: int
    takes: int
    by_voice: dict[str, float] | None = None  # word_consistency: each voice's takes' mean
    # distance to the same word in the other voices / between (a voice the units miss: ~1.0)


def edit_distance(a, b) -> int:
    """Levenshtein distance between two id sequences (one numpy pass per row of `a`)."""
    a, b = np.asarray(a), np.asarray(b)
    cols = np.arange(len(b) + 1)
    row = cols.copy()
    for i in range(1, len(a) + 1):
        sub = row[:-1] + (b != a[i - 1])  # diagonal: substitute or match
        best = np.minimum(np.r_[i, sub], row + 1)  # vs deletion from the row above
        row = np.minimum.accumulate(best - cols) + cols  # insertions along the row
    return int(row[-1])


def normalised_edit_distance(a, b) -> float:
    """edit_distance / the longer length, in [0, 1]."""
    longest = max(len(a), len(b))
    return 0.0 if longest == 0 else edit_distance(a, b) / longest


def unit_consistency(takes: dict[str, list], voices: list[str] | None = None) -> Consistency:
    """Scores deduplicated unit strings grouped by word: {word: [units of each take]}; with
    `voices` (take i of every word is in voices[i]) also each voice's own ratio (by_voice)."""
    items = [(w, i, np.asarray(u)) for w, group in takes.items() for i, u in enumerate(group)]
    if len(takes) < 2 or any(len(g) < 2 for g in takes.values()):
        raise InputError("unit consistency needs at least 2 words with 2 takes each")
    within, between = [], []
    by_take: dict[int, list[float]] = {}
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            d = normalised_edit_distance(items[i][2], items[j][2])
            if items[i][0] == items[j][0]:
                within.append(d)
                by_take.setdefault(items[i][1], []).append(d)
                by_take.setdefault(items[j][1], []).append(d)
            else:
                between.append(d)
    w, b = float(np.mean(within)), float(np.mean(between))
    per_voice = None
    if voices is not None and b:
        per_voice = {v: round(float(np.mean(by_take[i])) / b, 4) for i, v in enumerate(voices)}
    return Consistency(w, b, w / b if b else float("nan"), len(takes), len(items), per_voice)


def word_consistency(extractor: Extractor, codebook: np.ndarray, words: list[str],
                     voices: list[str], *, speed: int | None = None) -> Consistency:
    """Voices every word in every voice (espeak-ng), then scores unit_consistency."""
    from core.speech import voice

    kwargs = {} if speed is None else {"speed": speed}
    takes = {w: [speech_units(voice.voice(w, v, **kwargs), extractor, codebook).units
                 for v in voices] for w in words}
    return unit_consistency(takes, list(voices))


def score_layers(make_extractor: Callable[[int], Extractor], layers: Iterable[int], fit_paths,
                 words, voices, *, k: int = 128, seed: int = 0) -> dict[int, float]:
    """Word-consistency ratio of every layer (lower = better units).

    Args:
        make_extractor: layer number -> an Extractor reading that layer.
        layers: the layer numbers to score.
        fit_paths: audio files; the first PICK_AUDIO_FILES fit each layer's own k-means units.
        words, voices: what word_consistency voices (espeak-ng) and scores.
    Returns:
        {layer: ratio}, rounded to 4 places.
    """
    from core.speech.audio import load_audio

    waves = [load_audio(p) for p in list(fit_paths)[:PICK_AUDIO_FILES]]
    ratios = {}
    for layer in layers:
        ex = make_extractor(layer)
        codebook = fit_codebook(np.concatenate([ex(w) for w in waves]), k, seed)  # (k, D)
        ratios[int(layer)] = round(word_consistency(ex, codebook, list(words),
                                                    list(voices)).ratio, 4)
    return ratios


def pick_layer(make_extractor: Callable[[int], Extractor], layers: Iterable[int], fit_paths,
               words, voices, *, k: int = 128, seed: int = 0) -> tuple[int, dict[int, float]]:
    """score_layers, then the best layer (lowest ratio): (best, {layer: ratio}).

    One chooser for every speech model, e.g. hubert-base's
    `pick_layer(lambda i: HubertExtractor(model, layer=i), range(1, 13), ...)`.
    """
    ratios = score_layers(make_extractor, layers, fit_paths, words, voices, k=k, seed=seed)
    return min(ratios, key=ratios.get), ratios
