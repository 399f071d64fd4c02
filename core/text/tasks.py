"""The fake-data tab's downstream English tasks (assets/text/, built by core/tools/build/text.py).

    >>> task = load_task("bbc")
    >>> task.labels
    ('business', 'entertainment', 'politics', 'sports', 'tech')

Every split is a tuple of (text, label index) pairs. `sentiment` is binary (negative = 0,
positive = 1; Rotten Tomatoes snippets binarised as SST-2); `bbc` is BBC News in 5 topics
(first 100 words of each article). Reads only committed files; never downloads.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from core.common.paths import ASSETS

ASSET_DIR = ASSETS / "text"
TASKS = ("sentiment", "bbc")
SPLITS = ("train", "dev", "test")

Example = tuple[str, int]  # (text, label index)


@dataclass(frozen=True)
class TextTask:
    """One labelled English text set, split three ways."""

    name: str
    labels: tuple[str, ...]  # class names, sorted; an example's label index points into this
    train: tuple[Example, ...]
    dev: tuple[Example, ...]  # for early stopping / model choice
    test: tuple[Example, ...]


@lru_cache(maxsize=None)
def load_task(name: str) -> TextTask:
    """The task `name` (one of TASKS) from assets/text/<name>.csv.

    Raises:
        KeyError: name is not one of TASKS (the message lists them).
    """
    if name not in TASKS:
        raise KeyError(f"unknown text task {name!r}; choose one of {', '.join(TASKS)}")
    with open(ASSET_DIR / f"{name}.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    labels = tuple(sorted({r["label"] for r in rows}))
    index = {lab: i for i, lab in enumerate(labels)}
    splits: dict[str, list[Example]] = {s: [] for s in SPLITS}
    for r in rows:
        splits[r["split"]].append((r["text"], index[r["label"]]))
    return TextTask(name=name, labels=labels,
                    **{s: tuple(examples) for s, examples in splits.items()})


def english_corpus() -> list[str]:
    """The training texts of every task, in TASKS order (for English unigram frequencies)."""
    return [text for name in TASKS for text, _ in load_task(name).train]
