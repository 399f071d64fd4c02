"""The cross-lingual findings as numbers: centering, shift translation, and their scores.

Liu et al. 2020 / Libovicky et al. 2020: each language has a mean vector mu_lang; the
difference between two languages' vectors is largely mu_a - mu_b, so
  - centering  v - mu_lang        removes language identity (clusters mix, retrieval improves)
  - shifting   v + mu_tgt - mu_src "translates" v into the target language's region.
All functions take per-language embeddings (core.text.embeddings.LanguageEmbedding) and a layer.
"""
from __future__ import annotations

import difflib
import itertools
from collections.abc import Sequence

import numpy as np

from core.common.errors import InputError
from core.crosslingual.data import ParallelText
from core.text.embeddings import LanguageEmbedding

MODES = ("raw", "centered", "shift")
TOP_K = 5
KMEANS_SEED = 0
MAX_WORD_CHARS = 40  # a word to translate; longer input is refused, not echoed back


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def language_means(embs: dict[str, LanguageEmbedding], layer: int) -> np.ndarray:
    """(n_langs, H) language vectors at `layer`, in the order of `embs`."""
    return np.stack([e.mean[layer] for e in embs.values()])


def mean_similarity(embs: dict[str, LanguageEmbedding], layer: int) -> np.ndarray:
    """(n_langs, n_langs) cosine similarity between language vectors."""
    m = _unit(language_means(embs, layer))
    return m @ m.T


def word_matrix(emb: LanguageEmbedding, layer: int, center: bool) -> tuple[list[str], np.ndarray]:
    """A language's words and their (n_words, H) vectors at `layer`, optionally centered."""
    words = sorted(emb.word_vecs)
    if not words:
        return [], np.zeros((0, emb.token_sum.shape[1]), np.float32)
    mat = np.stack([emb.word_vecs[w][layer] for w in words])
    return words, mat - emb.mean[layer] if center else mat


def sentence_matrix(emb: LanguageEmbedding, layer: int, center: bool) -> np.ndarray:
    mat = emb.sentence_vecs[layer]
    return mat - emb.mean[layer] if center else mat


def _queries(src: LanguageEmbedding, tgt: LanguageEmbedding, layer: int, mode: str):
    """Source and target word matrices prepared for one of MODES."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    s_words, s_mat = word_matrix(src, layer, center=(mode == "centered"))
    t_words, t_mat = word_matrix(tgt, layer, center=(mode == "centered"))
    if mode == "shift":
        s_mat = s_mat + (tgt.mean[layer] - src.mean[layer])
    return s_words, s_mat, t_words, t_mat


def word_translation_scores(
    pt: ParallelText, embs: dict[str, LanguageEmbedding], src: str, tgt: str, layer: int,
    mode: str,
) -> dict[str, float]:
    """Bilingual lexicon induction by nearest neighbour, scored against the gold lexicon.

    A source word's gold targets are the target words sharing one of its English glosses.
    Returns:
        {"p_at_1", "p_at_5", "mrr", "n"}; n = number of source words with a gold target
        (scores are NaN when n == 0).
    """
    s_words, s_mat, t_words, t_mat = _queries(embs[src], embs[tgt], layer, mode)
    by_gloss: dict[str, list[int]] = {}  # English meaning -> target word indices
    for j, t in enumerate(t_words):
        for g in pt.glosses.get((tgt, t), ()):
            by_gloss.setdefault(g, []).append(j)
    gold = [sorted({j for g in pt.glosses.get((src, s), ()) for j in by_gloss.get(g, ())})
            for s in s_words]
    rows = [i for i, g in enumerate(gold) if g]
    if not rows:
        return {"p_at_1": float("nan"), "p_at_5": float("nan"), "mrr": float("nan"), "n": 0}
    sims = _unit(s_mat[rows]) @ _unit(t_mat).T  # (Q, n_target_words)
    ranks = []
    for q, i in enumerate(rows):
        order = np.argsort(-sims[q], kind="stable")
        pos = np.nonzero(np.isin(order, gold[i]))[0]
        ranks.append(int(pos[0]) + 1)
    ranks = np.array(ranks)
    return {"p_at_1": float(np.mean(ranks == 1)), "p_at_5": float(np.mean(ranks <= TOP_K)),
            "mrr": float(np.mean(1.0 / ranks)), "n": int(len(rows))}


def paired_retrieval(src: np.ndarray, tgt: np.ndarray) -> dict[str, float]:
    """P@1 and MRR of finding row i of `tgt` for row i of `src` by cosine similarity.

    Args:
        src, tgt: (n, H) vectors of the same n units (verses) in two languages.
    """
    sim = _unit(src) @ _unit(tgt).T  # (n, n)
    rank = 1 + (sim > np.diag(sim)[:, None]).sum(axis=1)  # (n,) rank of the true match
    return {"p_at_1": float(np.mean(rank == 1)), "mrr": float(np.mean(1.0 / rank))}


def sentence_retrieval_p1(
    pt: ParallelText, embs: dict[str, LanguageEmbedding], src: str, tgt: str, layer: int,
    center: bool,
) -> float:
    """P@1 of finding each source unit's aligned target unit by cosine (NaN if none shared)."""
    s_units, t_units = pt.units(src), pt.units(tgt)
    shared = sorted(set(s_units) & set(t_units))
    if not shared:
        return float("nan")
    s_idx = [s_units.index(u) for u in shared]
    t_idx = [t_units.index(u) for u in shared]
    return paired_retrieval(sentence_matrix(embs[src], layer, center)[s_idx],
                            sentence_matrix(embs[tgt], layer, center)[t_idx])["p_at_1"]


def cluster_ari(mats: Sequence[np.ndarray]) -> float:
    """How strongly points cluster by group: adjusted Rand index of k-means (k = number of
    groups, cosine geometry) against the group labels. ~1 = separate clusters, ~0 = mixed.

    Args:
        mats: one (n_i, H) matrix per group (language).
    """
    mats = [m for m in mats if len(m)]
    labels = np.concatenate([np.full(len(m), i) for i, m in enumerate(mats)])
    if len(mats) < 2 or len(labels) <= len(mats):
        return float("nan")
    from sklearn.cluster import KMeans  # imported on first use: the page starts without it
    from sklearn.metrics import adjusted_rand_score

    pred = KMeans(len(mats), n_init=4, random_state=KMEANS_SEED).fit_predict(
        _unit(np.concatenate(mats)))
    return float(adjusted_rand_score(labels, pred))


def language_ari(embs: dict[str, LanguageEmbedding], layer: int, center: bool) -> float:
    """cluster_ari of the sentence vectors by language."""
    return cluster_ari([sentence_matrix(e, layer, center) for e in embs.values()])


def _nanmean(values: Sequence[float]) -> float | None:
    vals = [v for v in values if v == v]  # drop NaN
    return float(np.mean(vals)) if vals else None


def evaluate(pt: ParallelText, embs: dict[str, LanguageEmbedding], layer: int) -> dict:
    """All metrics at one layer, JSON-serialisable.

    Returns:
        {"layer", "word_p_at_1": {raw, centered, shift}, "word_p_at_5": {...},
         "word_mrr": {...}, "sentence_p_at_1": {raw, centered}, "language_ari": raw,
         "language_ari_centered", "pairs": [{source, target, mode scores...}]}
        Means run over ordered language pairs; None where no pair can be scored.
    """
    langs = list(embs)
    pairs = []
    for src, tgt in itertools.permutations(langs, 2):
        row = {"source": src, "target": tgt}
        for mode in MODES:
            sc = word_translation_scores(pt, embs, src, tgt, layer, mode)
            row[f"word_p_at_1_{mode}"] = sc["p_at_1"]
            row[f"word_p_at_5_{mode}"] = sc["p_at_5"]
            row[f"word_mrr_{mode}"] = sc["mrr"]
            row["word_pairs"] = sc["n"]
        for center in (False, True):
            key = "sentence_p_at_1_" + ("centered" if center else "raw")
            row[key] = sentence_retrieval_p1(pt, embs, src, tgt, layer, center)
        pairs.append(row)

    def mean_of(key: str) -> float | None:
        return _nanmean([p[key] for p in pairs])

    out = {"layer": int(layer)}
    for metric in ("word_p_at_1", "word_p_at_5", "word_mrr"):
        out[metric] = {m: mean_of(f"{metric}_{m}") for m in MODES}
    out["sentence_p_at_1"] = {m: mean_of(f"sentence_p_at_1_{m}") for m in ("raw", "centered")}
    out["language_ari"] = language_ari(embs, layer, center=False)
    out["language_ari_centered"] = language_ari(embs, layer, center=True)
    out["pairs"] = [{k: (None if isinstance(v, float) and v != v else v) for k, v in p.items()}
                    for p in pairs]
    return out


def layer_sweep(pt: ParallelText, embs: dict[str, LanguageEmbedding]) -> list[dict]:
    """evaluate() at every layer (0 = embedding output); per-pair rows are dropped."""
    n_layers = min(e.depth for e in embs.values()) + 1
    rows = []
    for layer in range(n_layers):
        r = evaluate(pt, embs, layer)
        r.pop("pairs")
        rows.append(r)
    return rows


def translate(
    embs: dict[str, LanguageEmbedding], word: str, src: str, tgt: str, layer: int, *,
    shift: bool, k: int = TOP_K,
) -> list[tuple[str, float]]:
    """Nearest target-language words to `word`, optionally shifted by mu_tgt - mu_src.

    Raises:
        InputError: the word has no vector in the source language (suggests close ones).
    """
    word = word.strip()
    if len(word) > MAX_WORD_CHARS:
        raise InputError(f"type one word (at most {MAX_WORD_CHARS} characters); got "
                         f"{len(word):,} characters starting {word[:20]!r}")
    emb_s, emb_t = embs[src], embs[tgt]
    if word not in emb_s.word_vecs:
        lower = {w.lower(): w for w in emb_s.word_vecs}
        if word.lower() in lower:
            word = lower[word.lower()]
        else:
            near = difflib.get_close_matches(word, list(emb_s.word_vecs), n=5, cutoff=0.5)
            hint = f"; close ones: {', '.join(near)}" if near else ""
            raise InputError(f"'{word}' does not occur in the {src} text as a lexicon "
                             f"word{hint}")
    v = emb_s.word_vecs[word][layer]
    if shift:
        v = v + emb_t.mean[layer] - emb_s.mean[layer]
    t_words, t_mat = word_matrix(emb_t, layer, center=False)
    if not t_words:
        raise InputError(f"no {tgt} words to translate into")
    sims = _unit(t_mat) @ _unit(v)
    order = np.argsort(-sims, kind="stable")[:k]
    return [(t_words[i], float(sims[i])) for i in order]
