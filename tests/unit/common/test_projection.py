"""core.common.projection: shapes, caching, errors, and what the figure holds."""
from __future__ import annotations

import numpy as np
import pytest

from core.common import projection as P


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(1)
    # two well separated blobs
    return np.concatenate([rng.normal(size=(20, 10)), rng.normal(size=(20, 10)) + 6])


@pytest.mark.parametrize("method", P.METHODS)
@pytest.mark.parametrize("dim", P.DIMS)
def test_shapes(points, method, dim):
    coords = P.project(points, method, dim)
    assert coords.shape == (40, dim)
    assert np.isfinite(coords).all()


def test_cached_by_content(points):
    a = P.project(points, "pca", 2)
    assert P.project(points.copy(), "pca", 2) is a
    assert P.project(points + 1e-3, "pca", 2) is not a


def test_blobs_stay_apart_in_umap(points):
    coords = P.project(points, "umap", 2)
    a, b = coords[:20].mean(0), coords[20:].mean(0)
    spread = max(coords[:20].std(0).max(), coords[20:].std(0).max())
    assert np.linalg.norm(a - b) > 2 * spread


def test_errors(points):
    with pytest.raises(ValueError, match="choose one of umap, pca"):
        P.project(points, "tsne", 2)
    with pytest.raises(ValueError, match="at least 3 points"):
        P.project(points[:2], "pca", 2)


def test_scatter_traces(points):
    coords = P.project(points, "pca", 2)
    labels = ["English (en)"] * 20 + ["German (de)"] * 20
    groups = [f"g{i % 20}" for i in range(40)]
    fig = P.scatter(coords, labels, [f"w{i}" for i in range(40)], groups=groups, lines=True)
    names = [t.name for t in fig.data]
    assert names == ["translations", "English (en)", "German (de)"]
    # 20 groups of 2 points: each drawn as 2 vertices and a None break
    assert len(fig.data[0].x) == 60
    fig3 = P.scatter(P.project(points, "pca", 3), labels, ["w"] * 40)
    assert fig3.data[0].type == "scatter3d"
