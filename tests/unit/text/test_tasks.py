"""The committed English text tasks (assets/text/): sizes, stratification, no leaks."""
from __future__ import annotations

from collections import Counter

import pytest

from core.text.tasks import TASKS, english_corpus, load_task

# (train, dev, test) sizes written by `python -m core build-assets text`
SIZES = {"sentiment": (7674, 959, 959), "bbc": (1691, 211, 211)}


@pytest.mark.parametrize("name", TASKS)
def test_split_sizes(name):
    task = load_task(name)
    assert (len(task.train), len(task.dev), len(task.test)) == SIZES[name]


@pytest.mark.parametrize("name", TASKS)
def test_stratified_and_balanced(name):
    task = load_task(name)
    total = Counter(y for split in (task.train, task.dev, task.test) for _, y in split)
    assert set(total) == set(range(len(task.labels)))
    n = sum(total.values())
    for split, share in ((task.train, 0.8), (task.dev, 0.1), (task.test, 0.1)):
        counts = Counter(y for _, y in split)
        for y, c in total.items():  # each class is cut 80/10/10 on its own
            assert abs(counts[y] - share * c) <= 1.5
    # balanced-ish: no class under half its even share
    assert min(total.values()) >= 0.5 * n / len(task.labels)


@pytest.mark.parametrize("name", TASKS)
def test_no_text_in_two_splits(name):
    task = load_task(name)
    seen = [{t for t, _ in split} for split in (task.train, task.dev, task.test)]
    assert sum(map(len, seen)) == len(task.train) + len(task.dev) + len(task.test)
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert all(t and t == " ".join(t.split()) for s in seen for t in s)


def test_labels():
    assert load_task("sentiment").labels == ("negative", "positive")
    assert load_task("bbc").labels == ("business", "entertainment", "politics", "sports", "tech")
    assert max(len(t.split()) for t, _ in load_task("bbc").train) <= 100


def test_unknown_task():
    with pytest.raises(KeyError, match="sentiment, bbc"):
        load_task("imdb")


def test_english_corpus():
    corpus = english_corpus()
    assert len(corpus) == SIZES["sentiment"][0] + SIZES["bbc"][0]
    words = Counter(w.lower() for t in corpus for w in t.split())
    assert words.most_common(1)[0][0] == "the"
