"""The Cross-lingual tab's figures, from plain numbers (no model, no torch).

    map_figure(coords, labels, hover, groups, ...)   # the language map (points by language)
    means_heatmap(similarity, names, layer)          # language mean vectors, cosine
    sweep_figure(rows, model, languages)             # every metric at every layer
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from core.common import projection

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
