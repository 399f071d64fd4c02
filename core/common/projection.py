"""UMAP / PCA projections to 2-D or 3-D, and plotly figures of them.

Fitted projections are cached by a frozen key (method, dim, seed, hash of the data) under a
lock: umap-learn is not thread-safe, and the same map is often asked for twice (map click,
then a toggle of the lines). The first UMAP fit JIT-compiles numba code (~10-20 s), so
`warm_up_async()` runs a tiny fit in a background thread at start-up.
"""
from __future__ import annotations

import hashlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from core.common.titles import wrap_title

METHODS = ("umap", "pca")
DIMS = (2, 3)
SEED = 42
UMAP_NEIGHBORS = 15  # umap-learn's default; capped below the number of points
UMAP_MIN_DIST = 0.1
PRECOMPUTE_MAX = 4096  # up to here umap-learn takes a full distance matrix (its small-data path)
UMAP_EPOCHS = 200  # umap-learn uses 500 below 10k points; 200 looks the same here, 2x faster
CACHE_ENTRIES = 32
PALETTE = ("#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692",
           "#B6E880", "#FF97FF", "#FECB52", "#1F77B4", "#8C564B", "#7F7F7F", "#BCBD22",
           "#17BECF")  # plotly's qualitative colours, then more: one per built-in language
MAX_LINES = 400  # translation-pair lines drawn at most (beyond that the map is a hairball)

_CACHE: OrderedDict["ProjectionKey", np.ndarray] = OrderedDict()
_LOCK = threading.Lock()
_warm = threading.Event()


@dataclass(frozen=True)
class ProjectionKey:
    method: str
    dim: int
    seed: int
    digest: str  # sha1 of the input matrix bytes and shape


def _digest(x: np.ndarray) -> str:
    h = hashlib.sha1(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    h.update(str(x.shape).encode())
    return h.hexdigest()


def project(x: np.ndarray, method: str = "umap", dim: int = 2, seed: int = SEED) -> np.ndarray:
    """Projects rows of x (N, H) to (N, dim) with UMAP (cosine) or PCA; cached.

    Raises:
        ValueError: unknown method or dim, or fewer than 3 points.
    """
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; choose one of {', '.join(METHODS)}")
    if dim not in DIMS:
        raise ValueError(f"dim must be one of {DIMS}, got {dim}")
    if len(x) < 3:
        raise ValueError(f"need at least 3 points to project, got {len(x)}")
    key = ProjectionKey(method, dim, seed, _digest(x))
    with _LOCK:  # one fit at a time: UMAP/numba are not thread-safe
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        coords = _fit(x, method, dim, seed)
        _CACHE[key] = coords
        while len(_CACHE) > CACHE_ENTRIES:
            _CACHE.popitem(last=False)
        return coords


def _fit(x: np.ndarray, method: str, dim: int, seed: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if method == "pca" or len(x) <= dim + 2:  # UMAP's spectral init needs more points
        from sklearn.decomposition import PCA

        return PCA(n_components=dim, random_state=seed).fit_transform(x).astype(np.float32)
    import umap

    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    metric = "cosine"
    if len(x) <= PRECOMPUTE_MAX:
        # umap-learn computes small inputs' distances pair by pair through a Python callable
        # (3 s for 1,250 points); one matrix product gives the same cosine distances at once.
        x = np.clip(1.0 - x @ x.T, 0.0, 2.0)
        np.fill_diagonal(x, 0.0)
        metric = "precomputed"
    reducer = umap.UMAP(n_components=dim, n_neighbors=min(UMAP_NEIGHBORS, len(x) - 1),
                        min_dist=UMAP_MIN_DIST, n_epochs=UMAP_EPOCHS, metric=metric,
                        random_state=seed,
                        n_jobs=1)  # a seed implies one job; say so to silence the warning
    with warnings.catch_warnings():  # "precomputed: no inverse_transform" - we never use it
        warnings.filterwarnings("ignore", message=".*precomputed metric.*")
        return reducer.fit_transform(x).astype(np.float32)


def warm_up_async() -> threading.Thread:
    """Compiles UMAP's numba kernels in the background so the first real map is fast."""

    def run() -> None:
        try:
            rng = np.random.default_rng(0)
            project(rng.normal(size=(40, 8)).astype(np.float32), "umap", 2)
        finally:
            _warm.set()

    t = threading.Thread(target=run, name="umap-warm-up", daemon=True)
    t.start()
    return t


def is_warm() -> bool:
    return _warm.is_set()


def scatter(
    coords: np.ndarray, labels: Sequence[str], hover: Sequence[str], *,
    groups: Sequence[str] | None = None, lines: bool = False, title: str = "",
    color_order: Sequence[str] | None = None,
) -> go.Figure:
    """A plotly scatter of projected points coloured by label (language).

    Args:
        coords: (N, 2) or (N, 3).
        labels: per point colour label, e.g. "German (de)".
        hover: per point text, e.g. "Recht  [right]".
        groups: per point translation group; with `lines`, points of a group are joined.
        color_order: the order of labels in the legend.
    """
    dim = coords.shape[1]
    fig = go.Figure()
    order = list(color_order) if color_order else list(dict.fromkeys(labels))
    labels_arr = np.asarray(labels)
    hover_arr = np.asarray(hover)
    if lines and groups is not None:
        _add_group_lines(fig, coords, groups)
    for i, label in enumerate(order):
        m = labels_arr == label
        if not m.any():
            continue
        color = PALETTE[i % len(PALETTE)]  # fixed per legend slot: raw and centered maps match
        common = dict(mode="markers", name=label, text=hover_arr[m],
                      hovertemplate="%{text}<extra>" + label + "</extra>")
        if dim == 3:
            fig.add_trace(go.Scatter3d(x=coords[m, 0], y=coords[m, 1], z=coords[m, 2],
                                       marker=dict(size=3, color=color), **common))
        else:
            fig.add_trace(go.Scatter(x=coords[m, 0], y=coords[m, 1],
                                     marker=dict(size=7, opacity=0.8, color=color), **common))
    fig.update_layout(title=wrap_title(title, 90), height=560, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(itemsizing="constant"), template="plotly_white")
    if dim == 2:
        fig.update_xaxes(showticklabels=False)
        fig.update_yaxes(showticklabels=False, scaleanchor="x")
    return fig


def _add_group_lines(fig: go.Figure, coords: np.ndarray, groups: Sequence[str]) -> None:
    """Joins the members of each translation group with a faint polyline (one trace)."""
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        if g:
            members.setdefault(g, []).append(i)
    xs, ys, zs = [], [], []
    drawn = 0
    for idx in members.values():
        if len(idx) < 2 or drawn >= MAX_LINES:
            continue
        for i in idx:
            xs.append(coords[i, 0]), ys.append(coords[i, 1])
            if coords.shape[1] == 3:
                zs.append(coords[i, 2])
        xs.append(None), ys.append(None), zs.append(None)
        drawn += 1
    style = dict(mode="lines", name="translations", hoverinfo="skip",
                 line=dict(color="rgba(120,120,120,0.35)", width=1))
    if coords.shape[1] == 3:
        fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, **style))
    else:
        fig.add_trace(go.Scatter(x=xs, y=ys, **style))
