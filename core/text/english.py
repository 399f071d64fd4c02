"""Public-domain English prose and the lab's own WordPiece vocabulary (assets/pretrain/english/,
built by `python -m core build-assets english`): the fake-data tab's `english` pretraining text,
which is none of the downstream tasks' data.

    lines = english_lines()            # every paragraph, sources in SOURCES order
    tok = lab_tokenizer()              # 8,000 ids; id rank = frequency rank in these lines
    counts = lab_vocab_counts()        # (8000,) int64, the corpus count of every id
"""
from __future__ import annotations

import functools
import gzip

import numpy as np

from core.common.paths import ASSETS
from core.text.wordpiece import tokenizer_from_vocab

ENGLISH_DIR = ASSETS / "pretrain" / "english"
SOURCES = ("sotu", "moby_dick", "shakespeare")  # as core/tools/build/english.py writes them
VOCAB_FILE = ENGLISH_DIR / "vocab.txt"
COUNTS_FILE = ENGLISH_DIR / "vocab-counts.tsv"


def english_lines(sources: tuple[str, ...] = SOURCES) -> list[str]:
    """The paragraphs of the named sources (one a line in their .txt.gz), in order.

    Raises:
        KeyError: a name that is not one of SOURCES.
    """
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise KeyError(f"unknown English source(s) {', '.join(unknown)}; "
                       f"choose from {', '.join(SOURCES)}")
    lines: list[str] = []
    for name in sources:
        with gzip.open(ENGLISH_DIR / f"{name}.txt.gz", "rt", encoding="utf-8") as f:
            lines += [line.rstrip("\n") for line in f if line.strip()]
    return lines


@functools.lru_cache(maxsize=1)
def lab_tokenizer():
    """A fast BERT-style tokenizer over the lab vocabulary (core.text.wordpiece: lower-cased,
    accents stripped, [CLS] text [SEP]; [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4)."""
    return tokenizer_from_vocab(VOCAB_FILE.read_text(encoding="utf-8").splitlines())


@functools.lru_cache(maxsize=1)
def lab_vocab_counts() -> np.ndarray:
    """(vocabulary size,) int64: how often each id occurs in english_lines() (its unigram
    counts, for the fake-data schemes that sample ids with English frequencies)."""
    rows = COUNTS_FILE.read_text(encoding="utf-8").splitlines()
    return np.array([int(r.rsplit("\t", 1)[1]) for r in rows], dtype=np.int64)
