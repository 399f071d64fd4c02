"""What the Cross-lingual tab shows, as plain functions: data -> embeddings -> figures + JSON.

The tab's handlers only translate UI values into these calls. Progress is reported through
an optional `on_progress(fraction, message)` callback.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go

from core.common import projection
from core.crosslingual import analysis as xl
from core.crosslingual.data import (
    InputError,
    ParallelText,
    builtin_text,
    language_label,
    parse_user_text,
)
from core.text.embeddings import LanguageEmbedding, cached_embed_language
from core.text.models import load_model

OnProgress = Callable[[float, str], None]
PROJECTIONS = {"umap-2d": ("umap", 2), "umap-3d": ("umap", 3),
               "pca-2d": ("pca", 2), "pca-3d": ("pca", 3)}
POINTS = ("sentences", "words")
DEFAULT_LANGUAGES = ["en", "de", "fr", "zh", "ja", "ru"]
DEFAULT_LAYER = 3  # e5-small still separates languages perfectly here (ARI 1.0 in layers 0-4)


@dataclass(frozen=True)
class MapRequest:
    languages: tuple[str, ...]
    model: str
    layer: int
    center: bool = False  # subtract each language's mean vector before projecting
    projection: str = "umap-2d"  # a key of PROJECTIONS
    text: str = ""  # empty = the built-in UDHR corpus; else `lang<TAB>sentence` lines
    points: str = "sentences"  # "sentences" (cluster by language clearly) or "words"
    lines: bool = False  # join translation groups on the map


def _noop(_f: float, _m: str) -> None:
    pass


def _finite(v: float) -> float | None:
    return None if v != v else float(v)  # NaN -> None keeps the JSON valid


def load_text(languages: list[str], text: str) -> ParallelText:
    """The built-in corpus for `languages`, or the user's text (its own languages)."""
    if text and text.strip():
        return parse_user_text(text)
    return builtin_text(list(languages))


def embed_all(pt: ParallelText, model_name: str, on_progress: OnProgress = _noop, *,
              depth: int | None = None) -> dict[str, LanguageEmbedding]:
    """Embeds every language of pt up to layer `depth` (default all; cached per language).

    Raises:
        InputError: depth beyond the model's layers.
    """
    on_progress(0.0, f"loading {model_name}")
    loaded = load_model(model_name)
    if depth is not None and not 0 <= int(depth) <= loaded.num_layers:
        raise InputError(f"layer must be between 0 (embeddings) and {loaded.num_layers}, "
                         f"got {depth}")
    total = sum(len(pt.sentences[l]) for l in pt.languages)
    done_before = 0
    embs = {}
    for lang in pt.languages:
        def on_batch(done: int, _n: int, base: int = done_before, lang: str = lang) -> None:
            on_progress((base + done) / max(total, 1),
                        f"embedding {language_label(lang)} with {model_name}")
        embs[lang] = cached_embed_language(loaded, lang, pt.texts(lang), pt.words[lang],
                                           depth=depth, on_batch=on_batch)
        done_before += len(pt.sentences[lang])
    return embs


def _points(pt: ParallelText, embs: dict[str, LanguageEmbedding], req: MapRequest):
    """Stacks the vectors to draw with their language labels, hover texts and groups."""
    mats, labels, hover, groups = [], [], [], []
    if req.points == "sentences":
        for lang, emb in embs.items():
            mats.append(xl.sentence_matrix(emb, req.layer, req.center))
            for unit, text in pt.sentences[lang]:
                labels.append(language_label(lang))
                hover.append(f"{unit}: {text[:70]}")
                groups.append(unit)
    else:
        langs_of_gloss: dict[str, set[str]] = {}
        for lang, emb in embs.items():
            for w in emb.word_vecs:
                for g in pt.glosses.get((lang, w), ()):
                    langs_of_gloss.setdefault(g, set()).add(lang)
        for lang, emb in embs.items():
            words, mat = xl.word_matrix(emb, req.layer, req.center)
            keep = [i for i, w in enumerate(words)  # words with a translation on the map
                    if any(len(langs_of_gloss[g]) > 1 for g in pt.glosses.get((lang, w), ()))]
            mats.append(mat[keep])
            for i in keep:
                gl = sorted(pt.glosses.get((lang, words[i]), ()))
                labels.append(language_label(lang))
                hover.append(f"{words[i]}  [{', '.join(gl[:3])}]")
                groups.append(gl[0] if gl else "")
    return mats, labels, hover, groups


def crosslingual_map(req: MapRequest, on_progress: OnProgress = _noop
                     ) -> tuple[go.Figure, dict, dict[str, LanguageEmbedding], ParallelText]:
    """The map of word or sentence vectors, and the metrics at the chosen layer.

    Returns:
        (figure, metrics, embeddings, text) - the last two let the caller draw more views
        without embedding again.
    Raises:
        InputError: bad languages, text, layer, projection or point type.
    """
    if req.projection not in PROJECTIONS:
        raise InputError(f"unknown projection {req.projection!r}; choose one of "
                         f"{', '.join(PROJECTIONS)}")
    if req.points not in POINTS:
        raise InputError(f"points must be one of {', '.join(POINTS)}")
    pt = load_text(list(req.languages), req.text)
    layer = int(req.layer)
    embs = embed_all(pt, req.model, lambda f, m: on_progress(0.8 * f, m), depth=layer)
    mats, labels, hover, groups = _points(pt, embs, req)
    x = np.concatenate(mats)
    if len(x) < 3:
        raise InputError(f"only {len(x)} {req.points} with translations were found in this text; "
                         "try `sentences`, more text, or the built-in corpus")
    method, dim = PROJECTIONS[req.projection]
    on_progress(0.85, f"projecting {len(x)} points with {method.upper()}")
    coords = projection.project(x, method, dim)
    on_progress(0.95, "scoring")
    metrics = xl.evaluate(pt, embs, layer)
    other = _points(pt, embs, replace(req, center=not req.center))[0]
    map_ari = {("centered" if req.center else "raw"): xl.cluster_ari(mats),
               ("raw" if req.center else "centered"): xl.cluster_ari(other)}
    metrics.update(model=req.model, points=req.points, n_points=int(len(x)),
                   center=bool(req.center), languages=pt.languages,
                   map_language_ari={k: _finite(v) for k, v in sorted(map_ari.items())},
                   corpus="UDHR (built-in)" if pt.builtin else "your text")
    state = "centered" if req.center else "raw"
    ari = metrics["map_language_ari"][state]
    title = (f"{req.model}, layer {layer}, {state}: {len(x)} {req.points}; "
             f"clustering by language (ARI) {'n/a' if ari is None else f'{ari:.2f}'}")
    fig = projection.scatter(coords, labels, hover, groups=groups, lines=req.lines,
                             title=title, color_order=[language_label(l) for l in embs])
    return fig, metrics, embs, pt


def means_heatmap(embs: dict[str, LanguageEmbedding], layer: int) -> go.Figure:
    """Cosine similarity between the language mean vectors at `layer`."""
    sim = xl.mean_similarity(embs, layer)
    names = [language_label(l) for l in embs]
    fig = go.Figure(go.Heatmap(z=sim, x=names, y=names, colorscale="Viridis",
                               texttemplate="%{z:.2f}",
                               hovertemplate="%{y} vs %{x}: %{z:.3f}<extra></extra>"))
    fig.update_layout(title=f"Language mean vectors: cosine similarity (layer {layer})",
                      height=420, margin=dict(l=10, r=10, t=40, b=10), template="plotly_white")
    fig.update_yaxes(autorange="reversed")
    return fig


SWEEP_SERIES = [  # (metric path, label, dash)
    (("word_p_at_1", "raw"), "word P@1 raw", "solid"),
    (("word_p_at_1", "centered"), "word P@1 centered", "dash"),
    (("word_p_at_1", "shift"), "word P@1 shifted", "dot"),
    (("sentence_p_at_1", "raw"), "sentence P@1 raw", "solid"),
    (("sentence_p_at_1", "centered"), "sentence P@1 centered", "dash"),
    (("language_ari",), "language ARI raw", "solid"),
    (("language_ari_centered",), "language ARI centered", "dash"),
]


def layer_sweep(languages: list[str], model: str, text: str = "",
                on_progress: OnProgress = _noop) -> tuple[go.Figure, dict]:
    """Every metric at every layer, raw vs centered, as a figure and JSON."""
    pt = load_text(languages, text)
    embs = embed_all(pt, model, lambda f, m: on_progress(0.7 * f, m))
    on_progress(0.75, "scoring every layer")
    rows = xl.layer_sweep(pt, embs)
    layers = [r["layer"] for r in rows]
    fig = go.Figure()
    for path, label, dash in SWEEP_SERIES:
        ys = []
        for r in rows:
            v = r
            for p in path:
                v = v[p]
            ys.append(v)
        fig.add_trace(go.Scatter(x=layers, y=ys, name=label, mode="lines+markers",
                                 line=dict(dash=dash)))
    fig.update_layout(title=f"{model}: metrics by layer ({', '.join(pt.languages)})",
                      xaxis_title="layer (0 = embeddings)", yaxis_title="score",
                      height=420, margin=dict(l=10, r=10, t=40, b=10), template="plotly_white")
    peak = max(rows, key=lambda r: r["language_ari"])
    best = max(rows, key=lambda r: r["word_p_at_1"]["centered"] or -1)
    summary = {"model": model, "languages": pt.languages, "layers": rows,
               "language_ari_peak_layer": peak["layer"],
               "best_centered_word_p_at_1_layer": best["layer"]}
    return fig, summary


def translate(word: str, source: str, target: str, model: str, layer: int, shift: bool,
              text: str = "") -> list[dict]:
    """Top-5 target words for `word`, with or without the mean-difference shift."""
    if source == target:
        raise InputError("source and target languages are the same")
    pt = load_text([source, target], text)
    for lang in (source, target):
        if lang not in pt.languages:
            raise InputError(f"the text has no {lang} sentences")
    layer = int(layer)
    embs = embed_all(pt, model, depth=layer)
    hits = xl.translate({l: embs[l] for l in (source, target)}, word, source, target, layer,
                        shift=shift)
    gold = pt.glosses.get((source, word.strip()), frozenset())
    return [{"rank": i + 1, "word": w, "similarity": round(s, 4),
             "gold": bool(gold & pt.glosses.get((target, w), frozenset()))}
            for i, (w, s) in enumerate(hits)]
