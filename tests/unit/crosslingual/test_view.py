"""core.crosslingual.view: the tab's figures from plain numbers, no model needed."""
from __future__ import annotations

import numpy as np

from core.crosslingual import view


def _row(layer: int, base: float) -> dict:
    return {"layer": layer, "word_p_at_1": {"raw": base, "centered": base + 0.1, "shift": base},
            "sentence_p_at_1": {"raw": base, "centered": base + 0.2},
            "language_ari": 1.0 - base, "language_ari_centered": 0.0}


def test_sweep_figure_has_one_line_per_metric_over_the_layers():
    fig = view.sweep_figure([_row(0, 0.3), _row(1, 0.5), _row(2, 0.7)], "m", ["en", "de"])
    assert [t.name for t in fig.data] == [label for _, label, _ in view.SWEEP_SERIES]
    centered = next(t for t in fig.data if t.name == "sentence P@1 centered")
    assert list(centered.x) == [0, 1, 2] and np.allclose(centered.y, [0.5, 0.7, 0.9])
    assert "en, de" in fig.layout.title.text


def test_heatmap_keeps_the_language_order_and_the_values():
    sim = np.array([[1.0, 0.4], [0.4, 1.0]])
    fig = view.means_heatmap(sim, ["English", "German"], 3)
    assert list(fig.data[0].x) == ["English", "German"]
    assert np.allclose(fig.data[0].z, sim) and "layer 3" in fig.layout.title.text


def test_map_title_and_figure():
    assert view.map_title("e5", 3, "raw", 12, "sentences", None).endswith("(ARI) n/a")
    assert "(ARI) 0.87" in view.map_title("e5", 3, "centered", 12, "sentences", 0.866)
    coords = np.random.default_rng(0).normal(size=(6, 2))
    fig = view.map_figure(coords, ["English"] * 3 + ["German"] * 3, [str(i) for i in range(6)],
                          ["a", "b", "c"] * 2, lines=False, title="t",
                          color_order=["English", "German"])
    assert sum(len(t.x) for t in fig.data if t.x is not None) >= 6
