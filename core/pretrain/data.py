"""Pretraining data: lines of token ids from a fake-data scheme or real English, and BERT's
masking (Chiang & Lee, AAAI 2022).

    tok = english_tokenizer()
    lines = line_source("flat-128", tok)(32, np.random.default_rng(0))   # (32, 126) int64
    batch = mask_lines(lines, rng, tokenizer_ids=TokenIds.from_tokenizer(tok))

A line of LINE_LENGTH ids becomes [CLS] line [SEP] (MAX_POSITIONS tokens); MASK_PROB of the
line's tokens are chosen for prediction: 80 % become [MASK], 10 % a random id, 10 % stay.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from core.common.errors import InputError
from core.pretrain.fake_data import Vocab, make_scheme, unigram_from_counts

MAX_POSITIONS = 128  # tokens per input: [CLS] + line + [SEP]
LINE_LENGTH = MAX_POSITIONS - 2  # tokens of data per line
HELD_OUT_EVERY = 20  # every 20th English paragraph is held out of pretraining (the probe's)
MASK_PROB = 0.15  # share of a line's tokens chosen for prediction (a fixed count per line)
MASK_TOKEN_SHARE = 0.8  # of the chosen: replaced by [MASK]
RANDOM_TOKEN_SHARE = 0.1  # of the chosen: replaced by a random usable id (the rest stay as is)
IGNORE_INDEX = -100  # label of positions that are not predicted (torch's cross-entropy default)


# Vocabularies a model can be pretrained and fine-tuned over: "bert" = the English role model's
# (bert-base-uncased / MiniLM, 30,522 ids, the paper's), "lab" = the lab's own 8,000-entry
# WordPiece trained on its English prose (core.text.english; ids ranked by frequency): a tiny
# model's embedding table and its AdamW update shrink about fourfold.
VOCABS = ("bert", "lab")


def tokenizer_for(vocab: str = "bert"):
    """The fast tokenizer of a vocabulary in VOCABS.

    Raises:
        InputError: an unknown vocabulary (the message lists VOCABS).
    """
    if vocab == "bert":
        return english_tokenizer()
    if vocab == "lab":
        from core.text.english import lab_tokenizer

        return lab_tokenizer()
    raise InputError(f"unknown vocabulary {vocab!r}; choose one of {', '.join(VOCABS)}")


@functools.lru_cache(maxsize=4)
def avoided_ids(tokenizer) -> tuple[int, ...]:
    """Ids fake data never uses: the special tokens and BERT's [unusedN] rows (for the
    bert-base-uncased vocabulary that is ids 0-998, fake_data.BERT_SPECIAL_IDS)."""
    special = set(tokenizer.all_special_tokens)
    return tuple(sorted(i for t, i in tokenizer.get_vocab().items()
                        if t in special or t.startswith("[unused")))


@functools.lru_cache(maxsize=1)
def english_tokenizer():
    """The english-role model's fast tokenizer (bert-base-uncased vocabulary, 30522 ids)."""
    from transformers import AutoTokenizer

    from core.text.models import default_model, get_spec, resolve_weights

    return AutoTokenizer.from_pretrained(resolve_weights(get_spec(default_model("english"))),
                                         use_fast=True)


@functools.lru_cache(maxsize=2)
def _english_docs(tokenizer) -> tuple[np.ndarray, ...]:
    """The lab's English prose (core.text.english: State of the Union, Moby-Dick,
    Shakespeare; none of it downstream task data), one array of ids a paragraph.

    Tokenizing its 2.9 M words takes ~10 s, so the ids are kept in the cache folder, keyed
    by the vocabulary and the text files (a changed file or vocabulary tokenizes afresh)."""
    from core.common.paths import cache_dir
    from core.text.english import ENGLISH_DIR, SOURCES, english_lines

    key = hashlib.sha256(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    for name in SOURCES:
        key.update((ENGLISH_DIR / f"{name}.txt.gz").read_bytes())
    path = cache_dir() / "pretrain" / f"english-ids-{key.hexdigest()[:16]}.npz"
    if path.is_file():
        with np.load(path) as saved:
            flat, ends = saved["ids"], saved["ends"]
    else:
        ids = [d for d in tokenizer(english_lines(), add_special_tokens=False,
                                    verbose=False)["input_ids"] if d]
        flat = np.fromiter((i for d in ids for i in d), dtype=np.int64)
        ends = np.cumsum([len(d) for d in ids])
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, ids=flat, ends=ends)
        tmp.replace(path)  # whole or absent: a parallel reader never sees half a file
    return tuple(np.split(flat, ends[:-1]))


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False  # cached and shared: nobody may edit it in place
    return a


@functools.lru_cache(maxsize=2)
def english_unigram(tokenizer) -> np.ndarray:
    """Token frequencies of the train part of the lab's English prose (core.text.english).

    Returns:
        (len(tokenizer),) float64 probabilities indexed by token id; special tokens get 0.
    """
    counts = np.bincount(np.concatenate(_part(_english_docs(tokenizer), "train")),
                         minlength=len(tokenizer))
    counts[list(tokenizer.all_special_ids)] = 0
    return _read_only(unigram_from_counts(counts, size=len(tokenizer)))


def _part(docs: tuple[np.ndarray, ...], part: str) -> list[np.ndarray]:
    """The paragraphs of a part: every HELD_OUT_EVERY-th is "held_out" (never pretrained on;
    the probe scores English there), the rest "train"."""
    held = part == "held_out"
    return [d for i, d in enumerate(docs) if (i % HELD_OUT_EVERY == 0) == held]


@functools.lru_cache(maxsize=4)
def _english_stream(tokenizer, part: str = "train") -> np.ndarray:
    """The part's paragraphs' ids, one after the other, each followed by [SEP]: (N,) int64."""
    sep = np.array([tokenizer.sep_token_id], dtype=np.int64)
    return _read_only(np.concatenate([piece for doc in _part(_english_docs(tokenizer), part)
                                      for piece in (doc, sep)]))


def english_source(tokenizer, part: str = "train", *, length: int = LINE_LENGTH
                   ) -> Callable[[int, np.random.Generator], np.ndarray]:
    """Random contiguous chunks of `length` ids from a part ("train" or "held_out") of the
    lab's English prose: source(n, rng) -> (n, length) int64."""
    if part not in ("train", "held_out"):
        raise InputError(f"part must be 'train' or 'held_out', got {part!r}")
    stream = _english_stream(tokenizer, part)
    if stream.size < length:
        raise InputError(f"the English texts hold {stream.size} tokens, fewer than {length}")

    def english(n: int, rng: np.random.Generator) -> np.ndarray:
        starts = rng.integers(0, stream.size - length + 1, n)  # (n,)
        return stream[starts[:, None] + np.arange(length)]  # (n, length)

    return english


def line_source(name: str, tokenizer, *, length: int = LINE_LENGTH
                ) -> Callable[[int, np.random.Generator], np.ndarray]:
    """Lines of token ids for pretraining.

    Args:
        name: a core.pretrain.fake_data scheme ("flat-128", "shuffle-64", ...; every one but
            uniform and zipf-a draws its ids with the English unigram frequencies, as the
            paper does) or "english" (random contiguous chunks of the train part of the
            lab's English prose, paragraphs joined by [SEP]; see english_source).
        tokenizer: the English tokenizer whose vocabulary the ids index.
        length: tokens per line.
    Returns:
        source(n, rng) -> (n, length) int64.
    Raises:
        KeyError for an unknown name (the message lists the choices); InputError for "scratch"
        (no pretraining: it has no data) or a bad scheme parameter.
    """
    key = name.strip().lower()
    if key == "english":
        return english_source(tokenizer, "train", length=length)
    if key == "scratch":
        raise InputError("'scratch' is the no-pretraining baseline (random init): it has no "
                         "data to pretrain on. Choose 'english' or a fake-data scheme.")
    freqs = english_unigram(tokenizer)  # unigram draws from it; flat, shuffle, nesting too
    vocab = Vocab.from_tokenizer(tokenizer, avoid=avoided_ids(tokenizer)).weighted(freqs)
    try:
        scheme = make_scheme(key, vocab, length=length, unigram_freqs=freqs)
    except KeyError as exc:
        raise KeyError(f"{exc.args[0]}; or 'english' (real text)") from None
    return scheme.batch


# ------------------------------------------------------------------------------- masking
@dataclass(frozen=True, eq=False)
class TokenIds:
    """The ids masking needs, read from a tokenizer (RoBERTa reuses them as <s>, </s>)."""

    cls: int
    sep: int
    mask: int
    special: np.ndarray  # (S,) ids never chosen for prediction while others remain
    usable: np.ndarray  # (U,) ids a chosen token may be swapped for (no special/unused ids)

    @classmethod
    def from_tokenizer(cls, tokenizer) -> "TokenIds":
        """The tokenizer's [CLS], [SEP], [MASK], special ids and usable ids."""
        special = np.array(sorted(tokenizer.all_special_ids), dtype=np.int64)
        usable = Vocab.from_tokenizer(tokenizer, avoid=avoided_ids(tokenizer)).ids
        return cls(tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.mask_token_id,
                   special, usable)


def masked_count(length: int) -> int:
    """Tokens chosen per line of `length` (original BERT: a fixed round(15 %), at least 1)."""
    return max(1, round(MASK_PROB * length))


def mask_lines(lines: np.ndarray, rng: np.random.Generator, *,
               tokenizer_ids: TokenIds) -> dict[str, torch.Tensor]:
    """BERT's masking of a batch of lines.

    Every line gets [CLS] before and [SEP] after; masked_count(L) of its own positions are
    chosen uniformly (special ids inside a line, e.g. the [SEP] between English documents, only
    if nothing else is left); of those, 80 % become [MASK], 10 % a random usable id, 10 % stay.

    Args:
        lines: (n, L) token ids.
        rng: the only source of randomness: same state, same result.
        tokenizer_ids: TokenIds.from_tokenizer(tokenizer) (a tokenizer is converted).
    Returns:
        input_ids (n, L+2), attention_mask (n, L+2) all ones, labels (n, L+2) = the original id
        at chosen positions and IGNORE_INDEX elsewhere, masked_positions (n, k) sorted, int64.
    """
    lines = np.asarray(lines, dtype=np.int64)
    if lines.ndim != 2 or lines.shape[1] < 1:
        raise InputError(f"lines must be (n, length >= 1), got shape {lines.shape}")
    n, length = lines.shape
    ids = (tokenizer_ids if isinstance(tokenizer_ids, TokenIds)
           else TokenIds.from_tokenizer(tokenizer_ids))
    k = masked_count(length)
    keys = rng.random((n, length)) + np.isin(lines, ids.special)  # specials sort last
    chosen = np.sort(np.argpartition(keys, k - 1, axis=1)[:, :k], axis=1)  # (n, k) in the line
    pos = chosen + 1  # (n, k) in the input, after [CLS]
    rows = np.arange(n)[:, None]
    input_ids = np.concatenate([np.full((n, 1), ids.cls), lines, np.full((n, 1), ids.sep)],
                               axis=1)  # (n, L+2)
    original = input_ids[rows, pos]  # (n, k)
    labels = np.full_like(input_ids, IGNORE_INDEX)
    labels[rows, pos] = original
    u = rng.random((n, k))
    swap = ids.usable[rng.integers(0, ids.usable.size, (n, k))]
    input_ids[rows, pos] = np.where(u < MASK_TOKEN_SHARE, ids.mask,
                                    np.where(u < MASK_TOKEN_SHARE + RANDOM_TOKEN_SHARE,
                                             swap, original))
    return {"input_ids": torch.from_numpy(input_ids),
            "attention_mask": torch.ones(input_ids.shape, dtype=torch.int64),
            "labels": torch.from_numpy(labels), "masked_positions": torch.from_numpy(pos)}
