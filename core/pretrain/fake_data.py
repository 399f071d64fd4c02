"""Artificial pretraining data of Chiang & Lee 2022 (AAAI), "On the Transferability of
Pre-trained Language Models: A Study from Artificial Datasets".

Every scheme emits lines of token ids over an English model's vocabulary: integer k means
embedding row k of the English tokenizer (the paper reuses BERT's vocabulary so the fake
pretrained model can later be fine-tuned on English). Ids to avoid (special and [unusedK]
tokens) are left out through `Vocab`. All randomness comes from a numpy Generator.

    vocab = Vocab.make(30522, avoid=BERT_SPECIAL_IDS)
    scheme = make_scheme("shuffle-4", vocab, length=128)
    scheme.sample(np.random.default_rng(0))   # (128,) int64
    scheme.batch(32, rng)                     # (32, 128) int64
    render(scheme.sample(rng), tokenizer)     # "w1 w2 ..."

The scheme classes live in core.pretrain.schemes; this module holds the vocabulary helper and the
registry. The bounds of the paper's Table 1, `english` (real text) and `scratch` (no
pretraining), are not data schemes: the pretraining code handles them (see BOUNDS).
"""
from __future__ import annotations

import math
import re

import numpy as np

from core.common.errors import InputError
from core.pretrain.schemes import (
    DEFAULT_LENGTH,
    FlatBlocks,
    FlatLine,
    Nesting,
    Scheme,
    Shuffle,
    Uniform,
    Unigram,
    Vocab,
    Zipf,
    unigram_from_counts,
)

__all__ = ["BERT_SPECIAL_IDS", "BOUNDS", "DEFAULT_LENGTH", "SCHEMES", "SHUFFLE_RANGE",
           "ZIPF_RANGE", "Scheme", "Vocab", "about", "available_schemes", "has_context",
           "make_scheme", "render", "unigram_from_counts"]

# bert-base-uncased (and MiniLM, same vocabulary): ids 0..998 are [PAD], [unused0..993],
# [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103; id 999 is "!", the first real token.
BERT_SPECIAL_IDS = range(999)

# The two reference points of the paper's Table 1, handled by the pretraining code, not here:
# "english" = pretrain on real English text (upper bound), "scratch" = no pretraining at all
# (random init, lower bound). They are listed so the UI can offer them next to the schemes.
BOUNDS = ("english", "scratch")

SHUFFLE_RANGE = (4, 64)  # shuffle-N accepts 4 <= N <= 64 (block size, in tokens)
ZIPF_RANGE = (0.0, 3.0)  # zipf-a accepts 0 < a <= 3 (exponent of P(rank r) ~ r^-a)
PATTERN_EXAMPLES = ("shuffle-4", "shuffle-8", "shuffle-16", "shuffle-32", "shuffle-64",
                    "zipf-1.0", "zipf-1.2")
_SHUFFLE = re.compile(r"^shuffle-(.*)$")
_ZIPF = re.compile(r"^zipf-(.*)$")

# name -> builder(vocab, length, unigram_freqs) -> Scheme; each scheme carries its own `about`
SCHEMES = {
    "uniform": lambda v, n, f: Uniform(v, length=n),
    "unigram": lambda v, n, f: Unigram(v, _need_freqs(f), length=n),
    "flat-2": lambda v, n, f: FlatBlocks(v, 2, length=n),
    "flat-4": lambda v, n, f: FlatBlocks(v, 4, length=n),
    "flat-6": lambda v, n, f: FlatBlocks(v, 6, length=n),
    "flat-128": lambda v, n, f: FlatLine(v, length=n),
    "nesting": lambda v, n, f: Nesting(v, length=n),
}


def _need_freqs(freqs) -> np.ndarray:
    if freqs is None:
        raise InputError("the unigram scheme needs unigram_freqs: a frequency vector over token "
                         "ids (build one with unigram_from_counts(counts))")
    return freqs


def available_schemes() -> list[str]:
    """Fixed scheme names, then examples of the parametrised ones (shuffle-N, zipf-a)."""
    return list(SCHEMES) + list(PATTERN_EXAMPLES)


def _parse_shuffle(arg: str, name: str) -> int:
    lo, hi = SHUFFLE_RANGE
    try:
        n = int(arg)
    except ValueError:
        raise InputError(f"{name!r}: shuffle-N needs an integer block size N with "
                         f"{lo} <= N <= {hi}, e.g. shuffle-4") from None
    if not lo <= n <= hi:
        raise InputError(f"{name!r}: shuffle-N needs {lo} <= N <= {hi}, got N={n}")
    return n


def _parse_zipf(arg: str, name: str) -> float:
    lo, hi = ZIPF_RANGE
    try:
        a = float(arg)
    except ValueError:
        raise InputError(f"{name!r}: zipf-a needs a number a with {lo:g} < a <= {hi:g}, "
                         "e.g. zipf-1.0") from None
    if not (math.isfinite(a) and lo < a <= hi):
        raise InputError(f"{name!r}: zipf-a needs {lo:g} < a <= {hi:g}, got a={arg}")
    return a


def make_scheme(name: str, vocab: Vocab, *, length: int = DEFAULT_LENGTH,
                unigram_freqs=None) -> Scheme:
    """Build the scheme registered under `name`.

    Args:
        name: a key of SCHEMES, or `shuffle-<N>` (4 <= N <= 64), or `zipf-<a>` (0 < a <= 3).
        vocab: the usable token ids.
        length: tokens per line.
        unigram_freqs: frequency vector over token ids (index = id); required by "unigram".
    Returns:
        a Scheme with .sample(rng) -> (length,) and .batch(n, rng) -> (n, length), int64.
    Raises:
        KeyError for an unknown name (the message lists the choices); InputError for a bad
        parameter (shuffle-3, zipf-0) or a missing frequency vector.
    """
    key = name.strip().lower()
    if key in SCHEMES:
        return SCHEMES[key](vocab, length, unigram_freqs)
    if m := _SHUFFLE.match(key):
        return Shuffle(vocab, _parse_shuffle(m.group(1), name), length=length, name=key)
    if m := _ZIPF.match(key):
        return Zipf(vocab, _parse_zipf(m.group(1), name), length=length, name=key)
    raise KeyError(f"unknown fake-data scheme {name!r}; choose one of "
                   f"{', '.join(SCHEMES)}, shuffle-<N> (4 <= N <= 64) or zipf-<a> (0 < a <= 3)")


def about(name: str) -> str:
    """The one-line description of scheme `name`; validates the name like make_scheme.

    Raises:
        KeyError / InputError: as make_scheme.
    """
    return _stand_in(name).about


def has_context(name: str) -> bool:
    """Whether a scheme's ids depend on each other (flat, shuffle, nesting: a masked id can be
    read from its line) or are drawn i.i.d. (uniform, unigram, zipf: nothing to learn beyond
    the frequencies, so their MLM loss cannot go below its floor). English has context.

    Raises:
        KeyError / InputError: as make_scheme.
    """
    return name.strip().lower() == BOUNDS[0] or _stand_in(name).has_context


def _stand_in(name: str) -> Scheme:
    size = BERT_SPECIAL_IDS.stop + 1000  # a small stand-in vocabulary: only the name matters
    vocab = Vocab.make(size, avoid=BERT_SPECIAL_IDS)
    return make_scheme(name, vocab, unigram_freqs=np.ones(size))


def render(ids, tokenizer=None) -> str:
    """One line, readable: tokens joined by spaces via the tokenizer, else the integers.

    Args:
        ids: a 1-d sequence of token ids.
        tokenizer: anything with convert_ids_to_tokens (a transformers tokenizer), or None.
    """
    ids = [int(i) for i in np.asarray(ids).reshape(-1)]
    if tokenizer is None:
        return " ".join(map(str, ids))
    return " ".join(tokenizer.convert_ids_to_tokens(ids))
