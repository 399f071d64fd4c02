"""What the Cross-lingual tab shows, as plain functions: data -> embeddings -> metrics + JSON;
the figures are drawn by core.crosslingual.view.

The tab's handlers only translate UI values into these calls. Progress is reported through
an optional `on_progress(fraction, message)` callback.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from core.common import projection
from core.common.errors import InputError
from core.crosslingual import analysis as xl
from core.crosslingual import view
from core.crosslingual.data import (  # noqa: F401 - the defaults are part of this API
    DEFAULT_LANGUAGES,
    DEFAULT_LAYER,
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
                     ) -> tuple[object, dict, dict[str, LanguageEmbedding], ParallelText]:
    """The map of word or sentence vectors, and the metrics at the chosen layer.

    Returns:
        (plotly figure, metrics, embeddings, text) - the last two let the caller draw more views
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
    fig = view.map_figure(coords, labels, hover, groups, lines=req.lines,
                          color_order=[language_label(l) for l in embs],
                          title=view.map_title(req.model, layer, state, len(x), req.points,
                                               metrics["map_language_ari"][state]))
    return fig, metrics, embs, pt


def means_heatmap(embs: dict[str, LanguageEmbedding], layer: int):
    """Cosine similarity between the language mean vectors at `layer`, as a heatmap."""
    return view.means_heatmap(xl.mean_similarity(embs, layer),
                              [language_label(l) for l in embs], layer)


def layer_sweep(languages: list[str], model: str, text: str = "",
                on_progress: OnProgress = _noop) -> tuple[object, dict]:
    """Every metric at every layer, raw vs centered, as a figure and JSON."""
    pt = load_text(languages, text)
    embs = embed_all(pt, model, lambda f, m: on_progress(0.7 * f, m))
    on_progress(0.75, "scoring every layer")
    rows = xl.layer_sweep(pt, embs)
    fig = view.sweep_figure(rows, model, pt.languages)
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
