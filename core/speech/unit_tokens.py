"""Speech units written with a text model's vocabulary (DUAL, Lin et al. 2022).

A unit id u in [0, k) becomes a token id the pretrained text encoder already has an
embedding for, so the text model reads a unit sequence as if it were (odd) text:

  - OffsetMap (DUAL's own scheme): u -> u + offset.
  - RandomWordMap: u -> a whole English word drawn by seed, e.g. with k=4, seed=0
        OffsetMap(tok, 4).table()      -> rows (0, 1996, "the", "word"), (1, 1997, "of", ...)
        RandomWordMap(tok, 4).table()  -> rows (0, <id>, "<word>", "word"), ...

Why DEFAULT_OFFSET = 1996 for the BERT uncased vocabulary (MiniLM and bert-base-uncased
share it): ids 0-998 are [PAD], [unused*], [UNK], [CLS], [SEP], [MASK]; 999-1995 are single
characters (punctuation, digits, letters, CJK); 1996 ("the") starts the whole words, which
run roughly from most to least frequent. DUAL adds 5 to land just past the ids its code
treats as special in Longformer's vocabulary, i.e. on its most frequent tokens; 1996 is the
same choice here. '##' continuation pieces are interleaved with words all through the
vocabulary, so no contiguous block of 64 is pure words: at 1996 the block holds 2 pieces
for k=64, 13 for k=128 and 36 for k=512 (table() marks each row's kind). The best block of
the whole vocabulary is barely better (e.g. 7 non-words instead of 13 for k=128, and its
words are rare ones), so 1996 stays. RandomWordMap draws whole words only.
"""
from __future__ import annotations

import random
import re

import numpy as np

from core.common.errors import InputError

DEFAULT_OFFSET = 1996  # id of "the", the first whole word of the BERT uncased vocabulary
DEFAULT_SEED = 0  # which random draw of words
MAP_KINDS = ("offset", "random")  # the two schemes the UI offers
MIN_WORD_CHARS = 3  # random words: at least 3 letters (shorter entries are mostly letters)
_WORD = re.compile(r"^[a-z]+$")  # ASCII lower-case letters only: an ordinary word
_SPECIAL = re.compile(r"^\[.*\]$")  # [PAD], [unused7], [CLS], ...


def token_kind(token: str, special: set[str]) -> str:
    """'special' | 'piece' ('##' continuation) | 'word' | 'number' | 'other'."""
    if token in special or _SPECIAL.match(token):
        return "special"
    if token.startswith("##"):
        return "piece"
    if _WORD.match(token):
        return "word"
    if token.isdigit():
        return "number"
    return "other"


class _UnitMap:
    """Shared parts: k units -> self.ids (k,) token ids of `tokenizer`."""

    kind = ""

    def __init__(self, tokenizer, k: int):
        if k < 1:
            raise InputError(f"the number of units k must be positive, got {k}")
        self.tokenizer = tokenizer
        self.k = int(k)
        self.ids = np.zeros(0, dtype=np.int64)  # (k,) set by the subclass

    def token_ids(self, units) -> np.ndarray:
        """Unit ids (any int array-like) -> token ids, (R,) int64."""
        u = np.asarray(units, dtype=np.int64).reshape(-1)
        if len(u) and (u.min() < 0 or u.max() >= self.k):
            bad = int(u[(u < 0) | (u >= self.k)][0])
            raise InputError(f"unit {bad} is outside this map's 0..{self.k - 1} "
                             f"(a codebook with another k?)")
        return self.ids[u]

    def tokens(self, units) -> list[str]:
        """Unit ids -> the tokens' text, e.g. for showing a unit sequence as 'words'."""
        return self.tokenizer.convert_ids_to_tokens(self.token_ids(units).tolist())

    def table(self) -> list[tuple[int, int, str, str]]:
        """One row per unit: (unit, token id, token, kind) for the UI."""
        special = set(self.tokenizer.all_special_tokens)
        toks = self.tokenizer.convert_ids_to_tokens(self.ids.tolist())
        return [(u, int(i), t, token_kind(t, special))
                for u, (i, t) in enumerate(zip(self.ids, toks))]


class OffsetMap(_UnitMap):
    """DUAL's fixed map: unit u -> token id u + offset."""

    kind = "offset"

    def __init__(self, tokenizer, k: int, *, offset: int = DEFAULT_OFFSET):
        super().__init__(tokenizer, k)
        vocab = len(tokenizer)
        if offset < 0 or offset + self.k > vocab:
            raise InputError(f"offset {offset} + k {self.k} runs past the vocabulary "
                             f"({vocab} tokens)")
        self.offset = int(offset)
        self.ids = np.arange(self.offset, self.offset + self.k, dtype=np.int64)
        special = set(tokenizer.all_special_tokens)
        hit = [t for t in tokenizer.convert_ids_to_tokens(self.ids.tolist())
               if token_kind(t, special) == "special"]
        if hit:  # a unit must never read as [CLS], [SEP], [PAD] or [MASK]
            raise InputError(f"offset {offset} puts units on special tokens "
                             f"({', '.join(hit[:3])}); use an offset >= {DEFAULT_OFFSET}")


def whole_words(tokenizer) -> list[str]:
    """Vocabulary entries that are ordinary words: lower-case ASCII letters, at least
    MIN_WORD_CHARS long, no '##' piece, no special token; sorted."""
    special = set(tokenizer.all_special_tokens)
    return sorted(w for w in tokenizer.get_vocab()
                  if len(w) >= MIN_WORD_CHARS and token_kind(w, special) == "word")


class RandomWordMap(_UnitMap):
    """Unit u -> a distinct whole word drawn by seed (same tokenizer, k, seed -> same map)."""

    kind = "random"

    def __init__(self, tokenizer, k: int, *, seed: int = DEFAULT_SEED):
        super().__init__(tokenizer, k)
        words = whole_words(tokenizer)
        if self.k > len(words):
            raise InputError(f"the vocabulary has {len(words)} whole words; k={self.k} "
                             "needs one per unit")
        self.seed = int(seed)
        chosen = random.Random(self.seed).sample(words, self.k)  # distinct by construction
        self.ids = np.asarray(tokenizer.convert_tokens_to_ids(chosen), dtype=np.int64)


def make_unit_map(kind: str, tokenizer, k: int, *, offset: int = DEFAULT_OFFSET,
                  seed: int = DEFAULT_SEED) -> _UnitMap:
    """Builds an OffsetMap ("offset") or a RandomWordMap ("random")."""
    if kind == "offset":
        return OffsetMap(tokenizer, k, offset=offset)
    if kind == "random":
        return RandomWordMap(tokenizer, k, seed=seed)
    raise InputError(f"unknown unit map {kind!r}; choose one of {', '.join(MAP_KINDS)}")
