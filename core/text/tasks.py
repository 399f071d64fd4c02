"""The fake-data tab's downstream English tasks (assets/text/, built by core/tools/build/text.py).

    >>> task = load_task("bbc")
    >>> task.labels
    ('business', 'entertainment', 'politics', 'sports', 'tech')

Every split is a tuple of (text, label index) pairs. `sentiment` is binary (negative = 0,
positive = 1; Rotten Tomatoes snippets binarised as SST-2); `bbc` is BBC News in 5 topics
(first 100 words of each article). The sentence-pair tasks (PAIR_TASKS: `paraphrase`, KJV /
WEB verses, same or nearby; `qnli`, does the sentence answer the question) load with
`load_pair_task`; their examples are ((a, b), label index). Reads only committed files; never
downloads.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from core.common.paths import ASSETS

ASSET_DIR = ASSETS / "text"
TASKS = ("sentiment", "bbc")
PAIR_TASKS = ("paraphrase", "qnli")  # sentence pairs: [CLS] a [SEP] b [SEP]
ALL_TASKS = TASKS + PAIR_TASKS  # what fine-tuning accepts
SPLITS = ("train", "dev", "test")

Example = tuple[str, int]  # (text, label index)
PairExample = tuple[tuple[str, str], int]  # ((a, b), label index)


@dataclass(frozen=True)
class TextTask:
    """One labelled English text set, split three ways."""

    name: str
    labels: tuple[str, ...]  # class names, sorted; an example's label index points into this
    train: tuple[Example, ...]
    dev: tuple[Example, ...]  # for early stopping / model choice
    test: tuple[Example, ...]


def _read(name: str, known: tuple[str, ...], kind: str, example) -> dict:
    """name's CSV as {"name", "labels", "train", "dev", "test"}; example(row, label index)
    makes one example."""
    if name not in known:
        raise KeyError(f"unknown {kind} {name!r}; choose one of {', '.join(known)}")
    with open(ASSET_DIR / f"{name}.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    labels = tuple(sorted({r["label"] for r in rows}))
    index = {lab: i for i, lab in enumerate(labels)}
    splits: dict[str, list] = {s: [] for s in SPLITS}
    for r in rows:
        splits[r["split"]].append(example(r, index[r["label"]]))
    return dict(name=name, labels=labels, **{s: tuple(ex) for s, ex in splits.items()})


@lru_cache(maxsize=None)
def load_task(name: str) -> TextTask:
    """The task `name` (one of TASKS) from assets/text/<name>.csv.

    Raises:
        KeyError: name is not one of TASKS (the message lists them).
    """
    return TextTask(**_read(name, TASKS, "text task", lambda r, y: (r["text"], y)))


@dataclass(frozen=True)
class PairTask:
    """One labelled set of English sentence pairs, split three ways."""

    name: str
    labels: tuple[str, ...]  # class names, sorted
    train: tuple[PairExample, ...]
    dev: tuple[PairExample, ...]
    test: tuple[PairExample, ...]


@lru_cache(maxsize=None)
def load_pair_task(name: str) -> PairTask:
    """The pair task `name` (one of PAIR_TASKS) from assets/text/<name>.csv (split, label,
    a, b).

    Raises:
        KeyError: name is not one of PAIR_TASKS (the message lists them).
    """
    return PairTask(**_read(name, PAIR_TASKS, "pair task", lambda r, y: ((r["a"], r["b"]), y)))


def load_any_task(name: str) -> TextTask | PairTask:
    """A single-text or pair task by name (one of ALL_TASKS).

    Raises:
        KeyError: name is none of ALL_TASKS (the message lists them).
    """
    if name in PAIR_TASKS:
        return load_pair_task(name)
    if name in TASKS:
        return load_task(name)
    raise KeyError(f"unknown text task {name!r}; choose one of {', '.join(ALL_TASKS)}")
