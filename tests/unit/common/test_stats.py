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
