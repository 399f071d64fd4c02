"""core.crosslingual.analysis on synthetic vectors where the answer is known.

Each word vector = meaning vector + a large per-language offset, so raw nearest neighbours
are dominated by language while centering and shifting recover the meaning exactly.
"""
from __future__ import annotations

import numpy as np
import pytest

from core.common.errors import InputError
from core.crosslingual import analysis as xl
from core.crosslingual.data import ParallelText
from core.text.embeddings import LanguageEmbedding

LANGS = ["en", "de", "fr"]
MEANINGS = [f"m{i}" for i in range(12)]
H, LAYERS = 16, 2


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(0)
    meaning = {m: rng.normal(size=H) for m in MEANINGS}
    sentence_meaning = rng.normal(size=(6, H))
    embs, sentences, words, glosses = {}, {}, {}, {}
    for k, lang in enumerate(LANGS):
        offset = rng.normal(size=H) * 8.0
        wv = {f"{lang}_{m}": np.stack([meaning[m] + offset + rng.normal(size=H) * 0.05
                                       for _ in range(LAYERS + 1)]) for m in MEANINGS}
        sv = np.stack([sentence_meaning + offset] * (LAYERS + 1))  # (L+1, S, H)
        # token_sum/count chosen so that the language mean is exactly the offset
        emb = LanguageEmbedding(lang, sv.astype(np.float32),
                                np.stack([offset] * (LAYERS + 1)) * 10, 10,
                                {w: v.astype(np.float32) for w, v in wv.items()},
                                {w: 1 for w in wv})
        embs[lang] = emb
        sentences[lang] = tuple((f"u{i}", f"{lang} sentence {i}") for i in range(6))
        words[lang] = tuple(wv)
        for m in MEANINGS:
            glosses[(lang, f"{lang}_{m}")] = frozenset({m})
    return ParallelText(sentences, words, glosses, builtin=False), embs


def test_centering_and_shift_recover_translations(synthetic):
    pt, embs = synthetic
    raw = xl.word_translation_scores(pt, embs, "en", "de", 1, "raw")
    cen = xl.word_translation_scores(pt, embs, "en", "de", 1, "centered")
    sh = xl.word_translation_scores(pt, embs, "en", "de", 1, "shift")
    assert cen["n"] == len(MEANINGS)
    assert cen["p_at_1"] == 1.0 and cen["mrr"] == 1.0
    assert sh["p_at_1"] == 1.0
    assert raw["p_at_1"] < cen["p_at_1"]
    assert raw["p_at_1"] <= raw["mrr"] <= 1.0 and raw["p_at_1"] <= raw["p_at_5"]


def test_language_ari_drops_when_centered(synthetic):
    _, embs = synthetic
    assert xl.language_ari(embs, 1, center=False) == pytest.approx(1.0)
    assert xl.language_ari(embs, 1, center=True) < 0.2


def test_sentence_retrieval(synthetic):
    pt, embs = synthetic
    assert xl.sentence_retrieval_p1(pt, embs, "en", "fr", 0, center=True) == 1.0


def test_mean_similarity_matrix(synthetic):
    _, embs = synthetic
    sim = xl.mean_similarity(embs, 0)
    assert sim.shape == (3, 3)
    np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-6)
    np.testing.assert_allclose(sim, sim.T, atol=1e-6)


def test_evaluate_is_json_ready_and_averages_pairs(synthetic):
    import json

    pt, embs = synthetic
    m = xl.evaluate(pt, embs, 1)
    json.dumps(m)  # serialisable
    assert len(m["pairs"]) == 6  # ordered pairs of 3 languages
    assert m["word_p_at_1"]["centered"] == 1.0
    assert set(m["sentence_p_at_1"]) == {"raw", "centered"}
    sweep = xl.layer_sweep(pt, embs)
    assert [r["layer"] for r in sweep] == [0, 1, 2]


def test_translate_with_shift_and_unknown_word(synthetic):
    _, embs = synthetic
    top = xl.translate(embs, "en_m3", "en", "fr", 1, shift=True)
    assert top[0][0] == "fr_m3" and len(top) == 5
    assert top[0][1] >= top[1][1]
    with pytest.raises(InputError, match="close ones: en_m3"):
        xl.translate(embs, "en_m3x", "en", "fr", 1, shift=True)
    with pytest.raises(InputError, match="type one word") as err:
        xl.translate(embs, "x" * 10_000, "en", "fr", 1, shift=True)
    assert len(str(err.value)) < 120  # the input is not echoed whole


def test_cluster_ari_edge_cases():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(10, 4)) + 20, rng.normal(size=(10, 4)) - 20
    assert xl.cluster_ari([a, b]) == pytest.approx(1.0)
    assert np.isnan(xl.cluster_ari([a]))  # one group cannot cluster
    assert np.isnan(xl.cluster_ari([a[:1], b[:1]]))  # too few points
