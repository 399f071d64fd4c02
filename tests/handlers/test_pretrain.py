"""The fake-data tab's handlers (short runs on the tiny model)."""
from __future__ import annotations

import gradio as gr
import plotly.graph_objects as go
import pytest

from core.pretrain import view
from demos import pretrain as tab
from demos.i18n import text
from tests.helpers import ship_stand_in_bodies

pytestmark = pytest.mark.embedded


def test_run_streams_mlm_curves_then_gains_and_a_table():
    outputs = list(tab.run(["shuffle-4"], "tiny", 4, "sentiment", 0, 1, 20))
    assert len(outputs) >= 3  # live updates before the last
    mlm, gains, metrics = outputs[-1]
    assert isinstance(mlm, go.Figure) and isinstance(gains, go.Figure)
    assert list(metrics["runs"]) == ["shuffle-4", "scratch"]
    assert len(metrics["runs"]["shuffle-4"]["mlm_loss"]) >= 1
    assert all(0 <= r["test_accuracy"] <= 1 for r in metrics["runs"].values())
    rows, files = tab.table(metrics)
    assert [r[0] for r in rows] == ["shuffle-4", "scratch"]
    assert "mlm.shuffle-4.0.loss" in open(files[1]).read()  # the download holds the curves
    assert tab.table(None) == ([], None)


@pytest.mark.parametrize("args, message", [
    (([], "tiny", 20, "sentiment", 0), "choose at least one scheme"),
    ((["banana"], "tiny", 20, "sentiment", 0), "unknown fake-data scheme 'banana'"),
    ((["flat-128"], "medium", 5000, "sentiment", 0, 5), "web UI allows|too big"),
    ((["flat-128"], "tiny", 20, "poetry", 0), "unknown text task 'poetry'"),
])
def test_bad_runs_explain_themselves(args, message):
    with pytest.raises(gr.Error, match=message):
        list(tab.run(*args))


def test_probe_says_how_to_make_bodies_while_none_are_shipped(monkeypatch, tmp_path):
    monkeypatch.setattr(tab.config, "BODIES_DIR", tmp_path)  # an empty assets folder
    with pytest.raises(gr.Error, match="no pretrained bodies are shipped; make them with "
                                       "`python -m core transfer-sweep`"):
        list(tab.probe(["scratch", "english"], 20, 0))


def test_probe_streams_each_arms_held_out_loss_from_shipped_bodies(monkeypatch, tmp_path):
    monkeypatch.setattr(tab.config, "BODIES_DIR", ship_stand_in_bodies(tmp_path))
    assert tab._probe_choices() == (["scratch", "matched", "english", "flat-2"],
                                    ["scratch", "matched", "english"])  # defaults shipped
    outputs = list(tab.probe(["scratch", "english"], 20, 0))
    fig, metrics = outputs[-1]
    assert [t.name for t in fig.data][-2:] == ["scratch", "english"]  # over the reference's
    runs = metrics["runs"]
    assert runs["english"]["gain"] == pytest.approx(runs["scratch"]["held_out_loss"]
                                                    - runs["english"]["held_out_loss"])
    assert metrics["curves"]["english"][-1]["step"] == 20
    with pytest.raises(gr.Error, match="unknown arm 'nesting'"):
        list(tab.probe(["nesting"], 20, 0))


def test_the_samples_panel_is_filled_when_a_page_opens():
    html = tab.first_samples()
    assert all(f"<b>{s}</b>" in html for s in tab.DEFAULTS.schemes)
    assert "Samples unavailable:</b> unknown fake-data scheme &#x27;banana&#x27;" in \
        tab.first_samples(["banana"])


def test_samples_and_live_samples():
    ids, text = tab.samples("shuffle-4", 2, 0)
    assert len(ids) == 2 and len(text.split("\n\n")) == 2
    for line in ids:  # each block of 4 is a permutation of 4 consecutive ids
        for i in range(0, 124, 4):
            block = sorted(line[i:i + 4])
            assert block == list(range(block[0], block[0] + 4))
    html = tab.live_samples(["flat-128", "zipf-1.2", "scratch"])
    assert "<b>flat-128</b>" in html and "<b>zipf-1.2</b>" in html and "scratch" not in html
    assert "Choose a scheme" in tab.live_samples([])
    with pytest.raises(gr.Error, match="4 <= N <= 64"):
        tab.live_samples(["shuffle-99"])
    with pytest.raises(gr.Error, match="no data"):
        tab.samples("scratch", 1, 0)


def test_intro_quotes_the_reference_and_the_tab_builds_without_one(monkeypatch):
    intro = tab.intro(tab.REFERENCE)
    assert tab.REFERENCE is not None and intro.startswith(text("pre.finding"))
    assert tab.intro(tab.REFERENCE, "zh-TW").startswith("**發現。** 先用*人造*資料")
    assert view.reference_finding(tab.REFERENCE) in intro
    scratch = tab.REFERENCE["metrics"]["runs"]["scratch"]["test_accuracy"]
    assert f"{scratch:.3f}" in intro
    bare = tab.intro(None)
    assert "No reference run is committed yet" in bare and f"{scratch:.3f}" not in bare
    monkeypatch.setattr(tab, "REFERENCE", None)
    assert isinstance(tab.build(), gr.Blocks)


def test_intro_leads_with_the_transfer_reference_once_it_is_committed():
    from core.pretrain import transfer_view as tview

    assert tab.TRANSFER is not None
    intro = tab.intro(tab.REFERENCE, "en", tab.TRANSFER)
    assert intro.startswith(text("pre.finding"))
    assert tview.transfer_finding(tab.TRANSFER) in intro
    assert view.reference_finding(tab.REFERENCE) not in intro  # the earlier run folds away
    scratch = tab.TRANSFER["finetune"]["paraphrase"]["scratch"]["mean"]
    assert f"scratch {scratch:.3f}" in intro
    assert "**探測**" in tab.intro(tab.REFERENCE, "zh-TW", tab.TRANSFER)
