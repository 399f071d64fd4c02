"""DUAL's two span metrics for spoken QA (Lin et al. 2022), on time spans in seconds.

With the predicted span P = [ps, pe] and the gold span G = [gs, ge]:

    overlap   = max(0, min(pe, ge) - max(ps, gs))
    FF1       = 2 * precision * recall / (precision + recall),
                precision = overlap / (pe - ps),  recall = overlap / (ge - gs)
    AOS       = overlap / (max(pe, ge) - min(ps, gs))      (overlap over the union)

Both are 0 when the spans do not overlap. "Frame-level" F1: on spans that lie on the 20 ms
frame grid this is exactly the F1 of the two sets of frames; like DUAL's evaluation script
(utils.py, Frame_F1_score / AOS_score) it is computed on the seconds directly. Edge cases
follow that script too: an empty span (start == end) overlaps nothing, except that FF1 is 1
when it equals the gold span exactly.

    >>> frame_f1((1.0, 3.0), (2.0, 4.0)), aos((1.0, 3.0), (2.0, 4.0))
    (0.5, 0.3333333333333333)
"""
from __future__ import annotations

import math

from core.common.errors import InputError

Span = tuple[float, float]  # (start_s, end_s)


def _check(span, name: str) -> Span:
    """A (start, end) pair of finite seconds with start <= end, as floats."""
    try:
        start, end = (float(x) for x in span)
    except (TypeError, ValueError):
        raise InputError(f"the {name} span must be a (start_s, end_s) pair of numbers, got "
                         f"{span!r}") from None
    if not (math.isfinite(start) and math.isfinite(end)):
        raise InputError(f"the {name} span must be finite seconds, got {span!r}")
    if end < start:
        raise InputError(f"the {name} span ends before it starts: {start:.3f}-{end:.3f} s")
    return start, end


def overlap_s(pred, gold) -> float:
    """Seconds shared by the two spans (0 when they are disjoint or only touch)."""
    (ps, pe), (gs, ge) = _check(pred, "predicted"), _check(gold, "gold")
    return max(0.0, min(pe, ge) - max(ps, gs))


def frame_f1(pred, gold) -> float:
    """FF1: harmonic mean of overlap / predicted length and overlap / gold length."""
    (ps, pe), (gs, ge) = _check(pred, "predicted"), _check(gold, "gold")
    shared = overlap_s((ps, pe), (gs, ge))
    if shared <= 0.0:
        return 1.0 if (ps, pe) == (gs, ge) else 0.0
    precision, recall = shared / (pe - ps), shared / (ge - gs)
    return 2.0 * precision * recall / (precision + recall)


def aos(pred, gold) -> float:
    """AOS: overlap over the union of the two spans (0 when they do not overlap)."""
    (ps, pe), (gs, ge) = _check(pred, "predicted"), _check(gold, "gold")
    shared = overlap_s((ps, pe), (gs, ge))
    return 0.0 if shared <= 0.0 else shared / (max(pe, ge) - min(ps, gs))


def span_scores(preds, golds) -> dict[str, float]:
    """Mean FF1 and AOS over paired spans: {"ff1", "aos", "n"}.

    Raises:
        InputError: different numbers of predictions and gold spans, or none at all.
    """
    preds, golds = list(preds), list(golds)
    if len(preds) != len(golds):
        raise InputError(f"{len(preds)} predicted spans but {len(golds)} gold spans")
    if not preds:
        raise InputError("no spans to score")
    f1s = [frame_f1(p, g) for p, g in zip(preds, golds)]
    overlaps = [aos(p, g) for p, g in zip(preds, golds)]
    return {"ff1": sum(f1s) / len(f1s), "aos": sum(overlaps) / len(overlaps), "n": len(f1s)}


def scores_by(preds, golds, keys) -> dict[str, dict[str, float]]:
    """span_scores of each group of the paired spans: {key: {"ff1", "aos", "n"}}, keys
    sorted; keys[i] names the group of the i-th pair (a test question's voice, say)."""
    groups: dict[str, tuple[list, list]] = {}
    for pred, gold, key in zip(preds, golds, keys, strict=True):
        groups.setdefault(key, ([], []))
        groups[key][0].append(pred)
        groups[key][1].append(gold)
    return {key: span_scores(*groups[key]) for key in sorted(groups)}
