"""The committed English text tasks (assets/text/): sizes, stratification, no leaks."""
from __future__ import annotations

from collections import Counter

import pytest

from core.text.tasks import PAIR_TASKS, TASKS, load_pair_task, load_task

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


PAIR_SIZES = {"paraphrase": (7986, 1000, 2000), "qnli": (2896, 358, 342)}


@pytest.mark.parametrize("name", PAIR_TASKS)
def test_pair_tasks_are_balanced_pairs_with_nothing_shared_across_splits(name):
    task = load_pair_task(name)
    splits = (task.train, task.dev, task.test)
    assert tuple(map(len, splits)) == PAIR_SIZES[name]
    for split in splits:
        counts = Counter(y for _, y in split)
        assert len(counts) == 2 and abs(counts[0] - counts[1]) <= 0.01 * len(split)
        assert all(a and b and a == " ".join(a.split()) for (a, b), _ in split)
    pairs = [{p for p, _ in split} for split in splits]
    assert not (pairs[0] & pairs[1] or pairs[0] & pairs[2] or pairs[1] & pairs[2])


def test_qnli_is_split_by_passage_and_paraphrase_pairs_kjv_with_web():
    questions = [{a for (a, _), _ in split} for split in
                 (load_pair_task("qnli").train, load_pair_task("qnli").test)]
    assert not questions[0] & questions[1]  # a passage's questions stay in its split
    para = load_pair_task("paraphrase")
    assert para.labels == ("different", "same")
    same = [(a, b) for (a, b), y in para.test if y == 1]
    assert any("thou" in a.lower().split() or "ye" in a.lower().split() for a, _ in same)
    assert not any("`" in b or "[" in b for _, b in same)  # WEB's marks are cleaned
    with pytest.raises(KeyError, match="paraphrase, qnli"):
        load_pair_task("mrpc")
