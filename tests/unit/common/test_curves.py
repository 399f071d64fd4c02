"""core.common.curves: convergence measures of a learning curve, on hand-computed curves."""
from __future__ import annotations

import pytest

from core.common import curves

FAST = [{"step": 25, "dev_accuracy": 0.8}, {"step": 50, "dev_accuracy": 0.9},
        {"step": 75, "loss": 0.3}, {"step": 100, "dev_accuracy": 0.9}]
SLOW = [{"step": 25, "dev_accuracy": 0.5}, {"step": 50, "dev_accuracy": 0.6},
        {"step": 100, "dev_accuracy": 0.9}]


def test_value_at_a_step_is_the_last_evaluation_before_it():
    assert curves.at_step(FAST, 60) == 0.9 and curves.at_step(SLOW, 99) == 0.6
    assert curves.at_step(FAST, 10) is None and curves.at_step(SLOW, 100) == 0.9


def test_steps_to_90_percent_of_the_final_value():
    assert curves.steps_to(FAST) == 50  # 0.8 < 0.9 * 0.9 = 0.81 <= 0.9
    assert curves.steps_to(SLOW) == 100 and curves.steps_to(SLOW, 0.5) == 25
    assert curves.steps_to([{"step": 1, "loss": 1.0}]) is None


def test_area_rewards_getting_there_sooner():
    # FAST: 25*0.8 + 25*(0.8+0.9)/2 + 50*0.9 = 20 + 21.25 + 45 = 86.25 -> /100
    assert curves.area(FAST) == pytest.approx(0.8625)
    # SLOW: 25*0.5 + 25*0.55 + 50*0.75 = 12.5 + 13.75 + 37.5 = 63.75 -> /100
    assert curves.area(SLOW) == pytest.approx(0.6375)
    assert curves.area([]) is None
