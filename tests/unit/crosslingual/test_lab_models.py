"""The lab-trained multilingual BERTs committed under assets/crosslingual/models/ (python -m
core xling-export): registry entries that score as their sweep recorded, and that every map
control works on (English beside fake English: clustered by language, aligned once centered)."""
from __future__ import annotations

import json

import pytest

from core.crosslingual import data, xlm
from core.text import models

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.embedded]
LAB = sorted(models.lab_specs())


def test_the_size_sweep_ships_its_largest_and_a_small_model():
    assert {"lab-mbert-all", "lab-mbert-1k"} <= set(LAB)
    assert set(LAB) <= set(models.available_multilingual())
    assert models.default_model("multilingual") not in LAB  # the page still opens on e5


@pytest.mark.parametrize("name", LAB)
def test_a_shipped_model_scores_as_its_sweep_recorded(name):
    folder = models.LAB_MODEL_DIR / name
    meta = json.loads((folder / models.LAB_META).read_text(encoding="utf-8"))
    assert sum(f.stat().st_size for f in folder.iterdir()) < 10 * 2**20
    recorded = meta["recorded_test"]
    rows = xlm.alignment_of(models.load_model(name), meta["languages"],
                            n_verses=meta["config"]["test_verses"])
    for m in ("p_at_1_raw", "p_at_1_centered", "mrr_raw", "mrr_centered"):
        assert rows[recorded["layer"]][m] == pytest.approx(recorded[m], abs=1e-3), m


def test_the_map_of_a_lab_model_clusters_english_and_fake_english_and_centering_aligns():
    from core.crosslingual import lab

    assert data.builtin_languages()[-1] == "fake" and "fake" not in \
        data.builtin_languages(fake=False)
    text = data.builtin_text(["en", "fake"])
    assert text.texts("fake")[0] == "ｗｈｅｒｅａｓ " + text.texts("fake")[0].split(" ", 1)[1]
    req = lab.MapRequest(("en", "fake"), "lab-mbert-all", 1, False, "pca-2d", "",
                         "sentences", False)
    _, metrics, _, _ = lab.crosslingual_map(req)
    assert metrics["language_ari"] > 0.9 and metrics["language_ari_centered"] < 0.2
    assert metrics["sentence_p_at_1"]["centered"] > 2 * metrics["sentence_p_at_1"]["raw"]
