"""The Cross-lingual tab's figures, from plain numbers (no model, no torch).

    map_figure(coords, labels, hover, groups, ...)   # the language map (points by language)
    means_heatmap(similarity, names, layer)          # language mean vectors, cosine
    sweep_figure(rows, model, languages)             # every metric at every layer
    size_figure(record)                              # alignment vs pretraining corpus size
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from core.common import projection
from core.crosslingual import sizes

SWEEP_SERIES = [  # (metric path, label, dash)
    (("word_p_at_1", "raw"), "word P@1 raw", "solid"),
    (("word_p_at_1", "centered"), "word P@1 centered", "dash"),
    (("word_p_at_1", "shift"), "word P@1 shifted", "dot"),
    (("sentence_p_at_1", "raw"), "sentence P@1 raw", "solid"),
    (("sentence_p_at_1", "centered"), "sentence P@1 centered", "dash"),
    (("language_ari",), "language ARI raw", "solid"),
    (("language_ari_centered",), "language ARI centered", "dash"),
]


def map_title(model: str, layer: int, state: str, n_points: int, points: str,
              ari: float | None) -> str:
    """The map's title: model, layer, raw/centered, and how well k-means finds the languages."""
    return (f"{model}, layer {layer}, {state}: {n_points} {points}; "
            f"clustering by language (ARI) {'n/a' if ari is None else f'{ari:.2f}'}")


def map_figure(coords: np.ndarray, labels: Sequence[str], hover: Sequence[str],
               groups: Sequence[str], *, lines: bool, title: str,
               color_order: Sequence[str]) -> go.Figure:
    """Projected points (N, 2 or 3) coloured by language; `lines` joins translation groups."""
    return projection.scatter(coords, list(labels), list(hover), groups=list(groups),
                              lines=lines, title=title, color_order=list(color_order))


def means_heatmap(similarity: np.ndarray, names: Sequence[str], layer: int) -> go.Figure:
    """(L, L) cosine similarities between language mean vectors, labelled by language."""
    names = list(names)
    fig = go.Figure(go.Heatmap(z=similarity, x=names, y=names, colorscale="Viridis",
                               texttemplate="%{z:.2f}",
                               hovertemplate="%{y} vs %{x}: %{z:.3f}<extra></extra>"))
    fig.update_layout(title=f"Language mean vectors: cosine similarity (layer {layer})",
                      height=420, margin=dict(l=10, r=10, t=40, b=10), template="plotly_white")
    fig.update_yaxes(autorange="reversed")
    return fig


def sweep_figure(rows: list[dict], model: str, languages: Sequence[str]) -> go.Figure:
    """One line per SWEEP_SERIES metric over layers; rows as analysis.layer_sweep gives them."""
    layers = [r["layer"] for r in rows]
    fig = go.Figure()
    for path, label, dash in SWEEP_SERIES:
        ys = []
        for r in rows:
            v = r
            for key in path:
                v = v[key]
            ys.append(v)
        fig.add_trace(go.Scatter(x=layers, y=ys, name=label, mode="lines+markers",
                                 line=dict(dash=dash)))
    fig.update_layout(title=f"{model}: metrics by layer ({', '.join(languages)})",
                      xaxis_title="layer (0 = embeddings)", yaxis_title="score",
                      height=420, margin=dict(l=10, r=10, t=40, b=10), template="plotly_white")
    return fig


LIVE_COLOR = "#e377c2"  # a live run: clear on the light and the dark theme
SIZE_COLORS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b")


def size_figure(record: dict, measure: str = sizes.HEADLINE) -> go.Figure:
    """Left: the test measure against verses per language (log axis), mean ± 95 % interval
    over seeds, each seed a faint dot; the untrained net as a dashed line; the fake-English
    control as a diamond at its corpus size. Right: the dev probe along pretraining, one
    line per corpus size (mean over the seeds that reached each step)."""
    from plotly.subplots import make_subplots

    name = sizes.MEASURE_NAMES[measure]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=(
        f"Test {name} vs corpus size", f"Dev {name} along pretraining"))
    rows = sizes.size_rows(record, measure)
    xs = [r["verses"] for r in rows]
    fig.add_trace(go.Scatter(
        x=xs, y=[r["mean"] for r in rows], mode="lines+markers", name="lab-trained (mean)",
        error_y=dict(type="data", array=[r["ci95"] or 0 for r in rows]),
        text=[sizes.size_label(record, r["size"]) for r in rows],
        hovertemplate="%{text} verses: %{y:.3f}<extra></extra>",
        line=dict(color=SIZE_COLORS[0], width=2)), row=1, col=1)
    seeds_x = [r["verses"] for r in rows for _ in r["per_seed"]]
    fig.add_trace(go.Scatter(x=seeds_x, y=[v for r in rows for v in r["per_seed"]],
                             mode="markers", name="one seed", hoverinfo="skip",
                             marker=dict(color=SIZE_COLORS[0], opacity=0.35, size=6)),
                  row=1, col=1)
    summ = record.get("summary") or {}
    planned = [sizes.size_verses(record, v) for v in record["config"]["sizes"]] or xs
    span = [min(planned + xs) / 1.3, max(planned + xs) * 1.3] if planned + xs else []
    if sizes.UNTRAINED in summ and span:  # across every size the sweep runs, done or not
        floor = summ[sizes.UNTRAINED][measure]["mean"]
        fig.add_trace(go.Scatter(x=span, y=[floor, floor], mode="lines",
                                 name="untrained net", line=dict(color="#777", dash="dash")),
                      row=1, col=1)
    if sizes.FAKE in summ:
        fake = summ[sizes.FAKE][measure]
        at = sizes.size_verses(record, record["config"]["sizes"][-1])
        fig.add_trace(go.Scatter(x=[at], y=[fake["mean"]], mode="markers",
                                 name="English + fake English",
                                 error_y=dict(type="data", array=[fake["ci95"] or 0]),
                                 marker=dict(symbol="diamond", size=12, color="#9467bd")),
                      row=1, col=1)
    for i, r in enumerate(rows):
        steps, mean = _probe_mean(record, str(r["size"]), measure)
        if steps:
            fig.add_trace(go.Scatter(x=steps, y=mean, mode="lines+markers",
                                     name=f"corpus: {sizes.size_label(record, r['size'])} verses",
                                     line=dict(color=SIZE_COLORS[(i + 1) % len(SIZE_COLORS)])),
                          row=1, col=2)
    fig.update_xaxes(type="log", title_text="verses per language (pretraining)", row=1, col=1,
                     **({"range": [np.log10(v) for v in span]} if span else {}))
    fig.update_xaxes(title_text="pretraining step", row=1, col=2)
    fig.update_yaxes(title_text=name, rangemode="tozero")
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=50, b=10),
                      template="plotly_white", legend=dict(orientation="h", y=-0.25))
    return fig


def _probe_mean(record: dict, group: str, measure: str) -> tuple[list[int], list[float]]:
    """Steps and the mean dev probe over the group's seeds at each step they all reached."""
    curves = [[p for p in cell.get("curve", []) if measure in p]
              for key, cell in (record.get("cells") or {}).items()
              if key.rsplit("/", 1)[0] == group]
    curves = [c for c in curves if c]
    if not curves:
        return [], []
    steps = sorted(set.intersection(*({p["step"] for p in c} for c in curves)))
    at = [{p["step"]: p[measure] for p in c} for c in curves]
    return steps, [float(np.mean([a[s] for a in at])) for s in steps]


def live_size_figure(record: dict | None, run: dict, measure: str = sizes.HEADLINE
                     ) -> go.Figure:
    """The reference's size figure (when one is committed) with a live run on top: its
    test point (a star at its corpus size) and its dev probe along pretraining (LIVE_COLOR).

    Args:
        run: core.crosslingual.size_lab.SizeRun.metrics() (curve, test, config).
    """
    fig = size_figure(record, measure) if record else size_figure(
        {"config": {"sizes": []}, "summary": {}, "cells": {}}, measure)
    c = run["config"]
    label = (f"your run: {sizes.size_label(record or {'config': {}}, c['per_language'])} "
             f"verses, {c['steps']:,} steps")
    points = [p for p in run.get("curve", []) if measure in p]
    if points:
        fig.add_trace(go.Scatter(x=[p["step"] for p in points], y=[p[measure] for p in points],
                                 mode="lines+markers", name=label,
                                 line=dict(color=LIVE_COLOR, width=3)), row=1, col=2)
    test = run.get("test")
    if test:
        verses = sizes.size_verses(record, c["per_language"]) if record else c["per_language"]
        fig.add_trace(go.Scatter(x=[verses or 1], y=[test[measure]], mode="markers",
                                 name=f"{label} (test)",
                                 marker=dict(symbol="star", size=16, color=LIVE_COLOR)),
                      row=1, col=1)
        lo, hi = fig.layout.xaxis.range or (None, None)  # log10 of the reference's span
        at = np.log10(verses or 1)
        if lo is not None and not lo <= at <= hi:  # a size far from the reference's: in view
            fig.update_xaxes(range=[min(lo, at - 0.11), max(hi, at + 0.11)], row=1, col=1)
    fig.update_layout(title=f"Your run: step {run.get('done_steps', 0):,} of {c['steps']:,}"
                            + (", tested" if test else ""),
                      margin=dict(t=80))
    return fig
