"""core.pretrain.floors: each stream's no-structure loss, and the verdict on a run's curve."""
from __future__ import annotations

import math

import numpy as np
import pytest

from core.pretrain import floors
from core.pretrain.data import tokenizer_for


def test_entropy_of_a_hand_sample():
    ids = np.array([3, 3, 5, 5, 7, 7, 9, 9])  # four ids, equally often
    assert floors.entropy_nats(ids) == pytest.approx(math.log(4) + 3 / 16)  # + Miller-Madow
    assert floors.entropy_nats(np.zeros(10, dtype=int)) == pytest.approx(0.0)


def test_the_floor_is_the_loss_of_the_best_frequencies_only_guess_under_berts_masking():
    """Simulate BERT's 80/10/10 masking on a Zipf-like stream over 1,000 ids and score the
    best guess that knows only the frequencies (and that a visible token is the true one
    half the time): its mean loss is the floor."""
    rng = np.random.default_rng(0)
    q = 1.0 / np.arange(1, 1001)
    q /= q.sum()
    y = rng.choice(1000, 400_000, p=q)  # true tokens at scored positions
    u = rng.random(y.size)
    shown = np.where(u < 0.8, -1, np.where(u < 0.9, rng.integers(0, 1000, y.size), y))
    a = 0.5  # P(true == shown | a real token is shown)
    p_true = np.where(shown < 0, q[y], (1 - a) * q[y] + a * (shown == y))
    assert floors.floor_of_sample(y) == pytest.approx(float(-np.log(p_true).mean()), abs=0.02)
    assert floors.floor_of_sample(y) < floors.entropy_nats(y) - 0.3  # kept tokens are copied


def test_floors_of_the_lab_vocabulary_streams():
    tok = tokenizer_for("lab")
    usable = len(tok) - len(tok.all_special_ids)
    got = floors.floors(["uniform", "english", "flat-2", "shuffle-4", "scratch"], "lab")
    assert "scratch" not in got  # no stream, no floor
    chance = 0.9 * math.log(usable) + 0.2 * math.log(2)  # uniform: only the copy to learn
    assert got["uniform"] == pytest.approx(chance, abs=0.02)
    # English and the structured schemes share the English id frequencies: similar floors,
    # well under chance (what a model gets from frequencies alone)
    assert got["english"] < got["uniform"] - 1.3
    assert got["flat-2"] == pytest.approx(got["english"], abs=0.3)
    assert got["shuffle-4"] < got["uniform"] - 1.0


def test_reached_needs_the_last_points_clearly_below_the_floor():
    assert floors.reached([9.0, 7.0, 6.0, 6.0, 6.0], 6.5) is True
    assert floors.reached([9.0, 7.0, 6.4, 6.4, 6.4], 6.5) is False  # below, not clearly
    assert floors.reached([9.0, 5.0, 7.0, 7.0, 7.0], 6.5) is False  # only an early dip
    assert floors.reached([], 6.5) is None and floors.reached([6.0], None) is None
