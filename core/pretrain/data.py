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
from typing import Callable

import numpy as np

from core.common.errors import InputError
from core.pretrain.config import LINE_LENGTH
from core.pretrain.fake_data import Vocab, make_scheme, unigram_from_counts
from core.text.mlm import (  # noqa: F401  (BERT's masking, shared: core.text.mlm)
    IGNORE_INDEX,
    MASK_PROB,
    MASK_TOKEN_SHARE,
    MAX_POSITIONS,
    RANDOM_TOKEN_SHARE,
    TokenIds,
    mask_lines,
    masked_count,
)

HELD_OUT_EVERY = 20  # every 20th English paragraph is held out of pretraining (the probe's)


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
