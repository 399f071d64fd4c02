"""The Cross-lingual tab's handlers called directly (real embedded model, no server)."""
from __future__ import annotations

import gradio as gr
import plotly.graph_objects as go
import pytest

from demos import crosslingual as tab

pytestmark = pytest.mark.embedded
LANGS = ["en", "de", "ja"]


def test_draw_map_defaults():
    fig, metrics = tab.draw_map(LANGS)
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == ["English (en)", "German (de)", "Japanese (ja)"]
    assert metrics["layer"] == tab.DEFAULT_LAYER and metrics["points"] == "sentences"
    assert metrics["n_points"] == 3 * 57  # one point per aligned UDHR unit
    assert metrics["map_language_ari"]["raw"] > 0.9 > 0.2 > metrics["map_language_ari"]["centered"]
    # at the default layer the embedded model separates languages, centering mixes them
    assert metrics["language_ari"] > 0.9
    assert metrics["language_ari_centered"] < 0.2
    assert metrics["sentence_p_at_1"]["centered"] > metrics["sentence_p_at_1"]["raw"]


def test_map_lines_3d_and_details():
    fig, metrics = tab.draw_map(LANGS, None, 2, True, "pca-3d", "", "words", True)
    assert fig.data[0].name == "translations" and fig.data[1].type == "scatter3d"
    heat, rows, files = tab.map_details(metrics)
    assert heat.data[0].z.shape == (3, 3)
    assert len(rows) == 6 and all(len(r) == len(tab.PAIR_HEADERS) for r in rows)
    assert "language_ari" in open(files[1]).read() and files[0].endswith(".json")


def test_the_default_map_is_drawn_once_and_shared():
    first = tab.default_map()
    assert tab.default_map() is first  # every page load gets the same cached map
    fig, metrics = first
    assert metrics["languages"] == list(tab.DEFAULT_LANGUAGES) and len(fig.data) >= 6


def test_translate_finds_the_gold_word_with_shift():
    rows = tab.translate("rights", "en", "de", None, tab.DEFAULT_LAYER, True)
    assert len(rows) == 5 and rows[0][3] == "yes"  # the top hit is a gold translation
    assert rows[0][2] >= rows[-1][2]


@pytest.mark.parametrize("call, message", [
    (lambda: tab.draw_map(["en"]), "at least 2 languages"),
    (lambda: tab.draw_map(["en", "klingon"]), "unknown language"),
    (lambda: tab.draw_map(LANGS, None, 99), "between 0 (embeddings) and 12"),
    (lambda: tab.draw_map(LANGS, None, 3, False, "tsne"), "unknown projection"),
    (lambda: tab.draw_map(LANGS, None, 3, False, "pca-2d", "en\tHi"), "at least 2 languages"),
    (lambda: tab.draw_map(LANGS, None, 3, False, "pca-2d", "hello world"), "a language code and a sentence"),
    (lambda: tab.draw_map(LANGS, None, 3, False, "pca-2d", "en\tx\n" * 20_000), "limit"),
    (lambda: tab.draw_map(LANGS, "gpt-2"), "choose one of"),
    (lambda: tab.translate("right", "en", "en"), "same"),
    (lambda: tab.translate("rihgts", "en", "de"), "close ones: rights"),
])
def test_bad_input_becomes_a_readable_error(call, message):
    with pytest.raises(gr.Error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def _size_record() -> dict:
    from core.crosslingual import sizes

    config = {"languages": ["en", "ru"], "sizes": [1000, 0], "seeds": 2, "steps": 100,
              "fake": False, "size": "narrow", "test_verses": 50, "train_verses": 23871}
    cells = {f"{size}/{seed}": {"test": {**{m: v + 0.01 * seed for m in sizes.MEASURES},
                                         "language_ari": 0.9}}
             for size, v in ((1000, 0.1), (0, 0.3), ("untrained", 0.02)) for seed in (0, 1)}
    return {"config": config, "cells": cells, "summary": sizes.aggregate(config, cells)}


def test_corpus_size_draws_the_reference_in_any_measure_and_in_chinese(monkeypatch):
    from demos.i18n import localize_figure

    monkeypatch.setattr(tab, "SIZE_RECORD", _size_record())
    fig, metrics = tab.corpus_size("mrr_raw")
    assert list(fig.data[0].y) == pytest.approx([0.105, 0.305])  # the mean over both seeds
    assert [r["verses"] for r in metrics["rows"]] == [1000, 23871]
    assert metrics["config"]["languages"] == ["en", "ru"]
    assert "1,000: 0.105 ± 0.064, all (23,871): 0.305 ± 0.064" in tab.size_finding()
    zh = localize_figure(fig, "zh-TW")
    assert zh.layout.annotations[0].text == "測試 MRR raw 與語料大小"
    assert zh.layout.xaxis.title.text == "每種語言的經文節數（預訓練）"
    assert [t.name for t in zh.data] == ["本實驗室訓練（平均）", "一個種子", "未訓練的網路"]
    with pytest.raises(gr.Error, match="unknown measure 'accuracy'"):
        tab.corpus_size("accuracy")
    monkeypatch.setattr(tab, "SIZE_RECORD", None)
    with pytest.raises(gr.Error, match="no corpus-size reference is committed yet"):
        tab.corpus_size()
    assert "xling-size-sweep" in tab.size_finding("zh-CN")


TINY_SIZE_RECORD = {"config": {"languages": ["en", "fake"], "vocab_size": 1_000,
                               "batch_size": 8, "line_length": 30, "size": "narrow",
                               "lr": 3e-3, "packing": "verse", "sizes": [300, 0],
                               "train_verses": 23_871}, "summary": {}, "cells": {}}


def test_train_size_streams_its_probe_then_lands_a_test_point(monkeypatch):
    monkeypatch.setattr(tab, "SIZE_RECORD", TINY_SIZE_RECORD)
    outs = list(tab.train_size(300, 6, 1))
    fig, metrics = outs[-1]
    assert metrics["config"]["per_language"] == 300 and metrics["config"]["seed"] == 1
    assert metrics["done_steps"] == 6 and 0 <= metrics["test"]["p_at_1_centered"] <= 1
    star = next(t for t in fig.data if t.name.endswith("(test)"))
    assert list(star.x) == [300] and star.marker.symbol == "star"
    assert len(outs) > 3  # the curve was drawn as it grew
    assert [c[1] for c in tab._size_choices()] == [300, 0]  # the reference's sizes
    run = tab.train_size(300, 200, 0)
    next(run)
    tab.STOPS.ask(None)  # Stop pressed (no browser session: the API's key)
    rest = list(run)
    fig, metrics = rest[-1]
    assert len(rest) == 1 and metrics["stopped_at"] < 200  # ends at once, keeping its curve
    assert "stopped at step" in fig.layout.title.text and metrics["test"] is None
    with pytest.raises(gr.Error, match="verses per language must be between 0"):
        next(tab.train_size(10**6, 6, 0))
    with pytest.raises(gr.Error, match="steps must be between 1 and 5000"):
        next(tab.train_size(300, 0, 0))
