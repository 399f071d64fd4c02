"""The artificial-data schemes of Chiang & Lee 2022: one small class per scheme.

Each class turns a numpy Generator into lines of token ids over a `Vocab` (the usable ids of an
English tokenizer). `batch(n, rng)` is the primitive, (n, length) int64; `sample(rng)` is
`batch(1, rng)[0]`, so one seed gives the same lines either way. Examples in the docstrings
use `Vocab.make(1020, avoid=range(1000))` (ids 1000..1019), length 12, `default_rng(0)`.
The registry (names, parsing of shuffle-N / zipf-a) lives in core.pretrain.fake_data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.common.errors import InputError

DEFAULT_LENGTH = 128  # tokens per line (the paper's max sequence length is 128)
FLAT_LINE_DISTINCT = (50, 61)  # flat-128: distinct ids per line of FLAT_REF_LENGTH tokens
FLAT_REF_LENGTH = 128  # other lengths scale the distinct-id range proportionally
NEST_P_OPEN = 0.5  # nesting: chance to open (when both opening and closing are allowed)
ZIPF_PERM_SEED = 0  # zipf-a: fixed seed of the id -> rank permutation (same ranking every run)


@dataclass(frozen=True, eq=False)
class Vocab:
    """The token ids a scheme may emit: 0..size-1 minus the avoided ones, sorted; with `p`,
    the structured schemes (flat, shuffle, nesting) draw their ids with those probabilities
    (the paper samples ids with English token frequencies), else uniformly."""

    size: int  # rows of the embedding matrix (tokenizer vocabulary size)
    ids: np.ndarray  # (U,) int64, sorted usable ids
    p: np.ndarray | None = None  # (U,) probabilities of the ids, or None (uniform)

    @classmethod
    def make(cls, size: int, *, avoid=()) -> "Vocab":
        """Usable ids = range(size) minus `avoid` (e.g. BERT_SPECIAL_IDS)."""
        if size < 1:
            raise InputError(f"vocab_size must be >= 1, got {size}")
        keep = np.ones(size, dtype=bool)
        avoid = np.fromiter((int(i) for i in avoid), dtype=np.int64)
        keep[avoid[(avoid >= 0) & (avoid < size)]] = False
        ids = np.flatnonzero(keep).astype(np.int64)
        if ids.size == 0:
            raise InputError(f"no usable ids: all {size} ids are avoided")
        return cls(size, ids)

    @classmethod
    def from_tokenizer(cls, tokenizer, *, avoid=()) -> "Vocab":
        """A tokenizer's vocabulary minus its special ids and `avoid`."""
        return cls.make(len(tokenizer), avoid=set(tokenizer.all_special_ids) | set(avoid))

    def weighted(self, freqs) -> "Vocab":
        """The same ids, drawn with probabilities ∝ freqs[id] (index = token id; ids past
        the vector's end or of frequency 0 are never drawn).

        Raises:
            InputError: no usable id has a positive frequency.
        """
        freqs = np.asarray(freqs, dtype=np.float64).reshape(-1)
        w = np.where(self.ids < freqs.size, freqs[np.minimum(self.ids, freqs.size - 1)], 0.0)
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise InputError("frequencies must be non-negative and give some weight to a "
                             "usable id")
        return Vocab(self.size, self.ids, w / w.sum())

    def draw_index(self, shape, rng: np.random.Generator) -> np.ndarray:
        """Positions into `ids` drawn i.i.d. (uniformly, or with `p`)."""
        if self.p is None:
            return rng.integers(0, len(self), shape)
        cdf = np.cumsum(self.p)
        return np.minimum(np.searchsorted(cdf, rng.random(shape) * cdf[-1], side="right"),
                          len(self) - 1)

    def __len__(self) -> int:
        return int(self.ids.size)


def unigram_from_counts(counts, size: int | None = None) -> np.ndarray:
    """Token counts -> a probability vector indexed by token id.

    Args:
        counts: {id: count} or a 1-d array of counts indexed by id.
        size: length of the result (default: the array's length, or max id + 1).
    Returns:
        (size,) float64, non-negative, summing to 1.
    """
    if isinstance(counts, dict):
        n = size if size is not None else max(counts, default=-1) + 1
        vec = np.zeros(n, dtype=np.float64)
        for i, c in counts.items():
            vec[int(i)] += c
    else:
        vec = np.asarray(counts, dtype=np.float64).reshape(-1)
        if size is not None:
            vec = np.pad(vec, (0, max(0, size - vec.size)))[:size]
    if (vec < 0).any() or not np.isfinite(vec).all():
        raise InputError("unigram counts must be finite and non-negative")
    if vec.sum() <= 0:
        raise InputError("unigram counts are all zero")
    return vec / vec.sum()


def _draw(values: np.ndarray, cdf: np.ndarray, shape, rng) -> np.ndarray:
    """i.i.d. draws of `values` with cumulative probabilities `cdf` (inverse-CDF sampling)."""
    idx = np.searchsorted(cdf, rng.random(shape) * cdf[-1], side="right")
    return values[np.minimum(idx, values.size - 1)]


def _renorm(w: np.ndarray) -> np.ndarray:
    """Weights -> probabilities (uniform when they are all zero)."""
    total = w.sum()
    return w / total if total > 0 else np.full(w.size, 1.0 / w.size)


def _even_length(length: int, what: str) -> None:
    if length % 2:
        raise InputError(f"{what} lines pair every token, so length must be even, got {length}")


class Scheme:
    """Base: name, about (one line for the UI), length, vocab; batch/sample."""

    about = ""
    has_context = True  # a line's ids depend on each other (False: drawn i.i.d.)

    def __init__(self, vocab: Vocab, *, length: int, name: str):
        if length < 1:
            raise InputError(f"length must be >= 1, got {length}")
        self.vocab, self.length, self.name = vocab, int(length), name

    def batch(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, length) int64 token ids."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """(length,) int64 token ids: one line."""
        return self.batch(1, rng)[0]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} length={self.length}>"


class Uniform(Scheme):
    """i.i.d. ids, each usable id equally likely. Example:

        1017 1012 1010 1005 1006 1000 1001 1000 1003 1016 1012 1018
    """

    about = "i.i.d. ids drawn uniformly from the vocabulary (no structure at all)"

    has_context = False

    def __init__(self, vocab: Vocab, *, length: int = DEFAULT_LENGTH, name: str = "uniform"):
        super().__init__(vocab, length=length, name=name)

    def batch(self, n, rng):
        return self.vocab.ids[rng.integers(0, len(self.vocab), (n, self.length))]


class Unigram(Scheme):
    """i.i.d. ids drawn from a unigram distribution (index = token id); avoided ids get 0.
    Example with freqs ∝ 1/(id - 999) (1000 most frequent):

        1005 1000 1000 1000 1009 1014 1004 1007 1003 1015 1010 1000
    """

    about = "i.i.d. ids drawn from English unigram frequencies (no order, no pairs)"

    has_context = False

    def __init__(self, vocab: Vocab, freqs, *, length: int = DEFAULT_LENGTH,
                 name: str = "unigram"):
        super().__init__(vocab, length=length, name=name)
        freqs = np.asarray(freqs, dtype=np.float64).reshape(-1)
        ids = vocab.ids[vocab.ids < freqs.size]
        p = freqs[ids]
        if not np.isfinite(p).all() or (p < 0).any() or p.sum() <= 0:
            raise InputError("unigram frequencies must be non-negative and give some weight to "
                             "a usable id")
        self.support, self.p = ids[p > 0], p[p > 0] / p.sum()  # (S,), (S,)
        self._cdf = np.cumsum(self.p)

    def batch(self, n, rng):
        return _draw(self.support, self._cdf, (n, self.length), rng)


class Zipf(Scheme):
    """i.i.d. ids with P(rank r) ∝ r^-a; ranks are a fixed seeded permutation of the usable ids
    (`ranked[0]` is rank 1). Example, zipf-1.0:

        1016 1004 1004 1004 1008 1018 1013 1011 1002 1017 1000 1004
    """

    has_context = False

    def __init__(self, vocab: Vocab, a: float, *, length: int = DEFAULT_LENGTH,
                 name: str | None = None, perm_seed: int = ZIPF_PERM_SEED):
        super().__init__(vocab, length=length, name=name or f"zipf-{a:g}")
        self.a = float(a)
        self.about = f"i.i.d. ids with Zipf's law, P(rank r) ∝ r^-{a:g} (word-like frequencies)"
        self.ranked = vocab.ids[np.random.default_rng(perm_seed).permutation(len(vocab))]
        w = np.arange(1, len(vocab) + 1, dtype=np.float64) ** -self.a
        self._cdf = np.cumsum(w / w.sum())

    def batch(self, n, rng):
        return _draw(self.ranked, self._cdf, (n, self.length), rng)


class FlatBlocks(Scheme):
    """flat-N: the line is cut into blocks of N tokens; each block holds N/2 ids drawn i.i.d.
    (uniformly), each written twice, and the N tokens are shuffled inside the block. When N does
    not divide the length, the last block is a shorter block of length % N tokens built the same
    way (so the length must be even). Every id occurs an even number of times in every block
    (twice, or 4, 6... times if the same id is drawn again). Example, flat-4 (blocks | marked):

        1017 1012 1017 1012 | 1005 1005 1010 1010 | 1006 1006 1000 1000
    """

    def __init__(self, vocab: Vocab, block: int, *, length: int = DEFAULT_LENGTH,
                 name: str | None = None):
        super().__init__(vocab, length=length, name=name or f"flat-{block}")
        if block < 2 or block % 2:
            raise InputError(f"flat-N needs an even block size N >= 2, got {block}")
        _even_length(length, self.name)
        self.block = block
        self.about = (f"blocks of {block} tokens holding {block // 2} pair(s) of equal ids, "
                      "shuffled inside the block")

    @property
    def block_bounds(self) -> list[tuple[int, int]]:
        """(start, stop) of every block of a line, the short last one included."""
        return [(s, min(s + self.block, self.length)) for s in range(0, self.length, self.block)]

    def _blocks(self, n, count, size, rng):  # -> (n, count * size)
        half = self.vocab.ids[self.vocab.draw_index((n, count, size // 2), rng)]
        pairs = np.concatenate([half, half], axis=2)  # (n, count, size)
        return rng.permuted(pairs, axis=2).reshape(n, count * size)

    def batch(self, n, rng):
        full, rest = divmod(self.length, self.block)
        parts = [self._blocks(n, full, self.block, rng)]
        if rest:
            parts.append(self._blocks(n, 1, rest, rng))
        return np.concatenate(parts, axis=1)


class FlatLine(Scheme):
    """flat-128 ("paired"): k distinct ids (k uniform in 50..61 for a 128-token line; the range
    scales with the length), each written twice; the length/2 - k pairs still missing go to ids
    chosen at random among the k (so an id may appear 4 or 6 times); the whole line is shuffled.
    Every id occurs an even number of times. Example (length 12: k in 5..6, ids 1000..1019):

        1004 1004 1009 1001 1005 1000 1009 1008 1001 1005 1008 1000
    """

    about = "paired: 50-61 distinct ids, each an even number of times, whole line shuffled"

    def __init__(self, vocab: Vocab, *, length: int = DEFAULT_LENGTH, name: str = "flat-128"):
        super().__init__(vocab, length=length, name=name)
        _even_length(length, name)
        pairs = length // 2
        lo, hi = (max(1, round(k * length / FLAT_REF_LENGTH)) for k in FLAT_LINE_DISTINCT)
        self.k_hi = min(hi, pairs, len(vocab))
        self.k_lo = min(lo, self.k_hi)

    def batch(self, n, rng):
        out = np.empty((n, self.length), dtype=np.int64)
        pairs = self.length // 2
        for row in range(n):
            k = int(rng.integers(self.k_lo, self.k_hi + 1))
            chosen = self.vocab.ids[rng.choice(len(self.vocab), k, replace=False,
                                               p=self.vocab.p)]
            per_id = 1 + np.bincount(rng.integers(0, k, pairs - k), minlength=k)  # (k,) pairs
            out[row] = rng.permutation(np.repeat(chosen, 2 * per_id))
        return out


class Shuffle(Scheme):
    """shuffle-N: blocks of N consecutive ids y, y+1, ..., y+N-1 (y uniform among the starts
    whose whole run is usable), each block shuffled; the line concatenates blocks and the last
    one is cut short when N does not divide the length (128 = 2 x 64, 4 x 32, ...; shuffle-6 ends
    with 2 tokens of a block). Every full block is a permutation of N consecutive ids.
    Example, shuffle-4:

        1016 1015 1017 1014 | 1010 1013 1012 1011 | 1011 1009 1010 1008
    """

    def __init__(self, vocab: Vocab, n: int, *, length: int = DEFAULT_LENGTH,
                 name: str | None = None):
        super().__init__(vocab, length=length, name=name or f"shuffle-{n}")
        ids = vocab.ids
        if ids.size < n:
            raise InputError(f"{self.name} needs {n} consecutive usable ids; the vocabulary "
                             f"has {ids.size} usable ids")
        run_ok = ids[n - 1:] - ids[: ids.size - n + 1] == n - 1  # ids sorted and distinct
        self.starts = ids[: ids.size - n + 1][run_ok]  # (S,) valid y
        if self.starts.size == 0:
            raise InputError(f"{self.name}: no run of {n} consecutive usable ids")
        self.n = n
        self.about = f"blocks of {n} consecutive ids, each block shuffled"
        self._starts = vocab if vocab.p is None else Vocab(
            vocab.size, self.starts, _renorm(vocab.p[np.searchsorted(ids, self.starts)]))

    def batch(self, n, rng):
        count = -(-self.length // self.n)  # blocks, the last maybe cut short
        y = self.starts[self._starts.draw_index((n, count), rng)] if self.vocab.p is not None \
            else self.starts[rng.integers(0, self.starts.size, (n, count))]  # (n, count)
        blocks = y[..., None] + np.arange(self.n)  # (n, count, N)
        return rng.permuted(blocks, axis=2).reshape(n, count * self.n)[:, : self.length]


class Nesting(Scheme):
    """Nested parentheses: usable ids are paired in order, (ids[0], ids[1]), (ids[2], ids[3]),
    ...: the first of a pair opens, the second closes. Walking along the line, an open token
    (pair chosen uniformly) is pushed with probability p_open, else the top of the stack is
    closed; the stack's being empty forces an open, and as many tokens left as open brackets
    forces a close, so every line (even length) is balanced. Example (pairs 1000/1001, ...,
    1018/1019; reads ( ) < > [ { } { } ( ) ] with ( ) = 1016/1017, [ ] = 1006/1007, ...):

        1016 1017 1010 1011 1006 1000 1001 1000 1001 1016 1017 1007
    """

    about = "nested parentheses: every close id matches the last open id (a stack)"

    def __init__(self, vocab: Vocab, *, length: int = DEFAULT_LENGTH, name: str = "nesting",
                 p_open: float = NEST_P_OPEN):
        super().__init__(vocab, length=length, name=name)
        _even_length(length, name)
        if len(vocab) < 2:
            raise InputError("nesting needs at least 2 usable ids (one open/close pair)")
        m = len(vocab) // 2
        self.opens, self.closes = vocab.ids[0: 2 * m: 2], vocab.ids[1: 2 * m: 2]  # (m,), (m,)
        self.p_open = float(p_open)
        self._pairs = None if vocab.p is None else Vocab(  # a pair weighs its two ids
            vocab.size, self.opens, _renorm(vocab.p[0: 2 * m: 2] + vocab.p[1: 2 * m: 2]))

    def batch(self, n, rng):
        out = np.empty((n, self.length), dtype=np.int64)
        for row in range(n):
            which = (rng.integers(0, self.opens.size, self.length) if self._pairs is None
                     else self._pairs.draw_index(self.length, rng))  # pair used if opening
            coins = rng.random(self.length)
            stack: list[int] = []
            for i in range(self.length):
                depth = len(stack)
                if depth == 0 or (depth < self.length - i and coins[i] < self.p_open):
                    stack.append(int(which[i]))
                    out[row, i] = self.opens[which[i]]
                else:
                    out[row, i] = self.closes[stack.pop()]
        return out
