"""Drawing shared by the findings' views (plotly; no torch): several seeds of a run as bands.

    add_seed_bands(fig, curves, panels=((1, "loss"), (2, "dev_accuracy")), colors=COLORS)

`curves` map "init/seed" to [{"step", <metric>: value, ...}, ...], one curve per seed.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def stack(runs: list[list[dict]], key: str) -> tuple[list[int], np.ndarray]:
    """Steps where every run has `key`, and the (runs, steps) values there."""
    steps = sorted(set.intersection(*({p["step"] for p in c if key in p} for c in runs)))
    vals = np.array([[next(p[key] for p in c if p["step"] == s and key in p) for s in steps]
                     for c in runs], dtype=float)
    return steps, vals


def by_init(curves: dict[str, list[dict]]) -> dict[str, list[list[dict]]]:
    """"init/seed" -> curve, grouped as init -> [curve of each seed] (empty curves left out)."""
    out: dict[str, list[list[dict]]] = {}
    for key, curve in curves.items():
        if curve:
            out.setdefault(key.split("/")[0], []).append(curve)
    return out


def add_seed_bands(fig: go.Figure, curves: dict[str, list[dict]], *,
                   panels: tuple[tuple[int, str], ...], colors: dict[str, str],
                   label: str = "") -> None:
    """Per start: the mean over seeds (dotted) and the range of the seeds (shaded), in each
    panel (subplot column, metric); the legend names them once, in the last panel."""
    for init, runs in by_init(curves).items():
        color = colors.get(init, "#444")
        for col, key in panels:
            steps, vals = stack(runs, key)
            if not steps:
                continue
            group = f"{label} {init}".strip()
            fig.add_trace(go.Scatter(x=steps + steps[::-1],
                                     y=list(vals.max(0)) + list(vals.min(0))[::-1],
                                     fill="toself", fillcolor=color, opacity=0.18, mode="lines",
                                     line=dict(width=0), hoverinfo="skip", legendgroup=group,
                                     showlegend=False), row=1, col=col)
            fig.add_trace(go.Scatter(x=steps, y=list(vals.mean(0)), legendgroup=group,
                                     name=f"{group} (mean, range of {len(runs)} seeds)",
                                     showlegend=col == panels[-1][0],
                                     line=dict(color=color, width=2, dash="dot")),
                          row=1, col=col)
