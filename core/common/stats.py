"""Numbers over seeds: means with 95 % Student-t intervals, and their text for tables.

    mean_ci95([0.71, 0.74, 0.69])   # (0.7133, 0.0627): mean and half-width
    ci_text(0.0627)                 # "± 0.063"
"""
from __future__ import annotations

import math

import numpy as np

CI_LEVEL = 0.95  # mean_ci95: two-sided confidence level of the t-interval


def mean_ci95(values) -> tuple[float, float]:
    """Mean and the half-width of its two-sided 95 % Student-t confidence interval.

    Used for "accuracy over seeds": mean +- t_{0.975, n-1} * s / sqrt(n), with s the sample
    standard deviation (ddof=1).

    Args:
        values: numbers (e.g. one accuracy per seed); NaNs are not filtered.
    Returns:
        (mean, half_width). One value: (value, nan) - an interval cannot be estimated from a
        single run (the UI shows "n = 1"). No values: (nan, nan).
    """
    x = np.asarray(list(values), dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan
    mean = float(x.mean())
    if x.size == 1:
        return mean, math.nan
    # Student's t quantile; scipy comes with scikit-learn (a runtime requirement), and its
    # special functions load in a fraction of scipy.stats' time (tables are drawn at start-up)
    from scipy.special import stdtrit

    sem = float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, float(stdtrit(x.size - 1, 0.5 + CI_LEVEL / 2)) * sem


def ci_text(half_width: float | None) -> str:
    """A 95% half-width for tables: "± 0.012", or "n/a (1 seed)" when it could not be
    estimated (None or NaN, as mean_ci95 gives for a single run)."""
    if half_width is None or half_width != half_width:
        return "n/a (1 seed)"
    return f"± {half_width:.3f}"


def summary(values) -> dict:
    """{"mean", "ci95" (None for one value), "per_seed", "n"}: one measure over seeds, JSON-ready."""
    vals = [float(v) for v in values]
    mean, half = mean_ci95(vals)
    return {"mean": mean, "ci95": None if half != half else half, "per_seed": vals,
            "n": len(vals)}


def paired_difference(a: dict, b: dict) -> dict:
    """a - b seed by seed, over the seeds both have, as `summary`: the interval of the paired
    differences, which is narrower than comparing two means when seeds share their data.

    Args:
        a, b: seed -> value (e.g. test accuracy of two starting points trained on the same
            subsample, batch order and evaluation set).
    Returns:
        summary() of the differences, plus "seeds" (the seeds used, sorted).
    """
    seeds = sorted(set(a) & set(b))
    out = summary([a[s] - b[s] for s in seeds])
    out["seeds"] = seeds
    return out
