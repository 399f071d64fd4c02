"""Convergence of a learning curve: how fast, not only how far.

A curve is a list of points {"step": updates done, <metric>: value} (e.g. dev accuracy every
25 updates), as the training loop's events give them.

    at_step(curve, 100)        # the metric at 100 updates (the last point at or before it)
    steps_to(curve, 0.9)       # updates until the metric first reaches 90 % of its final value
    area(curve)                # mean of the metric over the run (area under the curve / steps)
"""
from __future__ import annotations

KEY = "dev_accuracy"  # the metric measured, unless told otherwise


def _points(curve: list[dict], key: str) -> list[tuple[int, float]]:
    return [(int(p["step"]), float(p[key])) for p in curve if key in p]


def at_step(curve: list[dict], step: int, key: str = KEY) -> float | None:
    """The metric at `step` updates: the last evaluation at or before it (None if none yet)."""
    before = [v for s, v in _points(curve, key) if s <= step]
    return before[-1] if before else None


def steps_to(curve: list[dict], share: float = 0.9, key: str = KEY) -> int | None:
    """Updates until the metric first reaches `share` of its final value (None: no points)."""
    pts = _points(curve, key)
    if not pts:
        return None
    target = share * pts[-1][1]
    return next(s for s, v in pts if v >= target)


def area(curve: list[dict], key: str = KEY) -> float | None:
    """Area under the metric's curve over [0, last step], divided by the last step: the mean
    value over the run, trapezoids between evaluations, the first value held back to step 0.
    Two runs ending at the same accuracy differ here when one got there sooner."""
    pts = _points(curve, key)
    if not pts:
        return None
    steps, vals = [0] + [s for s, _ in pts], [pts[0][1]] + [v for _, v in pts]
    total = sum((steps[i + 1] - steps[i]) * (vals[i] + vals[i + 1]) / 2
                for i in range(len(steps) - 1))
    return total / steps[-1] if steps[-1] > 0 else vals[-1]
