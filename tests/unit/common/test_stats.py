"""core.common.stats: means over seeds with 95 % intervals."""
from __future__ import annotations

import math

import pytest

from core.common.stats import ci_text, mean_ci95


def test_mean_ci95_hand_values():
    mean, hw = mean_ci95([1.0, 2.0, 3.0])
    # s = 1, sem = 1/sqrt(3), t_{0.975, 2} = 4.302653
    assert mean == pytest.approx(2.0)
    assert hw == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    mean, hw = mean_ci95([0.8, 0.9])  # t_{0.975, 1} = 12.7062, s = 0.0707, sem = 0.05
    assert mean == pytest.approx(0.85) and hw == pytest.approx(12.7062 * 0.05, rel=1e-4)
    assert mean_ci95([0.5, 0.5, 0.5]) == (pytest.approx(0.5), 0.0)
    mean, hw = mean_ci95([0.7])
    assert mean == 0.7 and math.isnan(hw)
    assert all(math.isnan(v) for v in mean_ci95([]))


def test_ci_text_for_tables():
    assert ci_text(mean_ci95([0.5])[1]) == "n/a (1 seed)" and ci_text(None) == "n/a (1 seed)"
    assert ci_text(0.01234) == "± 0.012"


def test_paired_difference_uses_the_seeds_both_have():
    from core.common.stats import paired_difference

    a = {0: 0.80, 1: 0.70, 2: 0.90, 3: 0.5}
    b = {0: 0.70, 1: 0.65, 2: 0.80}
    d = paired_difference(a, b)
    assert d["seeds"] == [0, 1, 2] and d["n"] == 3
    assert d["per_seed"] == pytest.approx([0.10, 0.05, 0.10])
    assert d["mean"] == pytest.approx(0.25 / 3)
    # sd of (0.10, 0.05, 0.10) = 0.028868; t(0.975, 2) = 4.302653; / sqrt(3)
    assert d["ci95"] == pytest.approx(4.302653 * 0.0288675 / 3 ** 0.5, rel=1e-4)
    # the same gaps with the seed noise unpaired would give a far wider interval
    _, unpaired = mean_ci95([0.80, 0.70, 0.90])
    assert d["ci95"] < unpaired


def test_summary_of_one_value_has_no_interval():
    from core.common.stats import summary

    assert summary([0.7]) == {"mean": 0.7, "ci95": None, "per_seed": [0.7], "n": 1}
