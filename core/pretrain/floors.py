"""Each pretraining stream's no-structure level, and whether a run got clearly below it.

A model that has learned nothing but how often each id occurs, and that a scored position
showing a real token holds that very token half the time, reaches this MLM loss with BERT's
masking (core.pretrain.data: of the scored positions MASK_TOKEN_SHARE show [MASK],
RANDOM_TOKEN_SHARE a random id, the rest their own token):

    floor = m H + r (H - ln(1 - a)) + k E_x[-ln(a + (1 - a) q(x))],   a = k / (k + r)

with q the stream's unigram distribution and H its entropy: a masked token costs H, a
replaced one H plus the doubt whether it was replaced, a kept one little (it can be copied).
That is the level to beat: English, flat-N, shuffle-N and nesting can only go below it by
using context (the word's neighbours, the masked twin, the block's missing id, the matching
bracket); uniform and unigram streams have no context to use, so their loss stays there.

    floor = mlm_floor("flat-2", "lab")             # nats, estimated from sampled lines
    reached(curve_losses, floor)                     # the run's last points are clearly below

q is estimated from FLOOR_LINES lines of the stream (ids a scored position can hold: special
tokens are never predicted), H with the Miller-Madow correction for the unseen ids.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from core.pretrain.data import (
    MASK_TOKEN_SHARE,
    RANDOM_TOKEN_SHARE,
    line_source,
    tokenizer_for,
)

FLOOR_LINES = 4_000  # about half a million ids per estimate
FLOOR_SEED = 12_345  # the lines drawn for the estimate (not any run's seed)
CLEARLY_BELOW = 0.25  # nats under the floor a run must end at to have learned structure
TAIL_POINTS = 3  # the last logged MLM losses averaged for that verdict (one point is noisy)


def entropy_nats(ids: np.ndarray) -> float:
    """Unigram entropy (nats) of a sample of ids, Miller-Madow corrected."""
    counts = np.bincount(np.asarray(ids, dtype=np.int64).ravel())
    counts = counts[counts > 0]
    n = counts.sum()
    p = counts / n
    return float(-(p * np.log(p)).sum() + (len(counts) - 1) / (2 * n))


def floor_of_sample(ids: np.ndarray) -> float:
    """The no-structure MLM loss (module docstring) of a stream sampled as `ids`."""
    m, r = MASK_TOKEN_SHARE, RANDOM_TOKEN_SHARE
    k = 1.0 - m - r
    h = entropy_nats(ids)
    if k <= 0:  # nothing kept: masked and replaced positions only
        return (m + r) * h
    a = k / (k + r)
    counts = np.bincount(np.asarray(ids, dtype=np.int64).ravel())
    q = counts[counts > 0] / counts.sum()
    kept = float(-(q * np.log(a + (1 - a) * q)).sum())
    return float(m * h + r * (h - np.log(1 - a)) + k * kept)


def _stream_sample(scheme: str, vocab: str, lines: int) -> np.ndarray:
    tok = tokenizer_for(vocab)
    ids = line_source(scheme, tok)(lines, np.random.default_rng(FLOOR_SEED)).ravel()
    return ids[~np.isin(ids, np.array(sorted(tok.all_special_ids)))]


@functools.lru_cache(maxsize=64)
def unigram_entropy(scheme: str, vocab: str = "bert", *, lines: int = FLOOR_LINES) -> float:
    """H: the unigram entropy (nats) of `scheme`'s stream.

    Raises:
        KeyError / InputError: an unknown scheme, or "scratch" (no stream).
    """
    return entropy_nats(_stream_sample(scheme, vocab, lines))


@functools.lru_cache(maxsize=64)
def mlm_floor(scheme: str, vocab: str = "bert", *, lines: int = FLOOR_LINES) -> float:
    """The MLM loss of a model that knows only the id frequencies of `scheme`'s stream
    (see the module docstring).

    Raises:
        KeyError / InputError: an unknown scheme, or "scratch" (no stream).
    """
    return floor_of_sample(_stream_sample(scheme, vocab, lines))


def floors(schemes, vocab: str = "bert") -> dict[str, float]:
    """scheme -> its floor, for every scheme that has a stream (scratch has none)."""
    return {s: round(float(mlm_floor(s, vocab)), 4) for s in schemes if s != "scratch"}


def reached(losses, floor: float, *, margin: float = CLEARLY_BELOW,
            tail: int = TAIL_POINTS) -> bool | None:
    """Whether the mean of the last `tail` logged losses is `margin` nats under the floor;
    None when there is no curve or no floor."""
    losses = [x for x in (losses or []) if x is not None and math.isfinite(x)]
    if not losses or floor is None:
        return None
    return bool(float(np.mean(losses[-tail:])) < floor - margin)
