"""The public API through gradio_client against a launched app (real embedded model)."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.embedded


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


PUBLIC = {"/crosslingual_map", "/crosslingual_translate", "/crosslingual_layers",
          "/crosslingual_corpus_size", "/crosslingual_train_size", "/dna_train",
          "/dna_predict", "/speech_qa_answer", "/speech_qa_units", "/speech_qa_voice",
          "/speech_qa_examples", "/speech_qa_train", "/pretrain_samples", "/pretrain_run",
          "/pretrain_probe"}


def test_exactly_the_documented_endpoints_are_public_with_the_readme_argument_names(client):
    """No internal event leaks as a public endpoint, and the README's API table names each
    argument as the endpoint does (in order)."""
    import re

    from core.common.paths import ROOT

    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(endpoints) == PUBLIC
    rows = {m[1]: m[2] for m in re.finditer(r"^\| `(/\w+)` \| (.*?) \| ",
                                            (ROOT / "README.md").read_text(), re.M)}
    assert set(rows) == PUBLIC
    for name, info in endpoints.items():
        where = [rows[name].find(f"`{p['parameter_name']}`") for p in info["parameters"]]
        assert -1 not in where and where == sorted(where), (name, rows[name])
    # the API is described in English: labels are text, not the page's translation keys
    labels = [p["label"] for p in endpoints["/dna_train"]["parameters"]]
    assert all(isinstance(label, str) for label in labels) and "Task" in labels, labels


def test_map_returns_plotly_figure_and_metrics(client):
    fig, metrics = client.predict(["en", "de", "zh"], api_name="/crosslingual_map")
    assert fig["type"] == "plotly"
    traces = json.loads(fig["plot"])["data"]
    assert [t["name"] for t in traces] == ["English (en)", "German (de)", "Chinese (zh)"]
    assert sum(len(t["text"]) for t in traces) == metrics["n_points"] > 30
    assert set(metrics["word_p_at_1"]) >= {"raw", "centered"}
    assert set(metrics["sentence_p_at_1"]) >= {"raw", "centered"}
    assert 0.0 <= metrics["word_p_at_1"]["centered"] <= 1.0
    assert -1.0 <= metrics["language_ari"] <= 1.0
    assert metrics["languages"] == ["en", "de", "zh"]
    assert len(metrics["pairs"]) == 6


def test_map_with_all_arguments_and_own_text(client):
    text = "en\tThe law protects everyone.\nen\tFreedom matters.\n" \
           "de\tDas Gesetz schützt alle.\nde\tFreiheit ist wichtig."
    _, metrics = client.predict(["en"], "multilingual-e5-small", 2, True, "pca-2d", text,
                                "sentences", True, api_name="/crosslingual_map")
    assert metrics["corpus"] == "your text" and metrics["n_points"] == 4
    assert metrics["sentence_p_at_1"]["centered"] == 1.0


def test_translate_and_layers(client):
    table = client.predict("rights", "en", "de", api_name="/crosslingual_translate")
    rows = table["data"] if isinstance(table, dict) else table
    assert len(rows) == 5 and [r[0] for r in rows] == [1, 2, 3, 4, 5]
    fig, sweep = client.predict(["en", "de"], api_name="/crosslingual_layers")
    assert len(sweep["layers"]) == 13  # embeddings + 12 layers
    assert 0 <= sweep["language_ari_peak_layer"] <= 12


def test_corpus_size_reference_and_a_live_run_of_one_size(client):
    from gradio_client.exceptions import AppError

    from core.crosslingual.sizes import load_sizes

    reference = load_sizes()
    if reference is None:  # the page says how to make one
        with pytest.raises(AppError, match="no corpus-size reference is committed yet"):
            client.predict("p_at_1_centered", api_name="/crosslingual_corpus_size")
    else:
        fig, ref = client.predict("mrr_raw", api_name="/crosslingual_corpus_size")
        assert ref["config"] == reference["config"] and "plot" in fig
        assert [r["mean"] for r in ref["rows"]] == [reference["summary"][str(r["size"])][
            "mrr_raw"]["mean"] for r in ref["rows"]]
    fig, run = client.predict(777, 10, 3, api_name="/crosslingual_train_size")
    assert run["config"]["per_language"] == 777 and run["config"]["seed"] == 3
    assert run["done_steps"] == 10 and 0 <= run["test"]["p_at_1_centered"] <= 1
    assert "your run" in json.dumps(fig)
    with pytest.raises(AppError, match="the web UI allows 10 min 00 s. Use fewer steps"):
        client.predict(777, 5000, 0, api_name="/crosslingual_train_size")  # refused up front


def test_bad_input_gets_a_message_and_the_server_stays_up(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="at least 2 languages"):
        client.predict(["en"], api_name="/crosslingual_map")
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict(["en", "xx"], api_name="/crosslingual_map")
    with pytest.raises(AppError, match="does not occur"):
        client.predict("qwertyuiop", "en", "de", api_name="/crosslingual_translate")
    with pytest.raises(AppError, match="multilingual-e5-small"):
        client.predict(["en", "de"], "bert-base-multilingual-cased",
                       api_name="/crosslingual_map")
    _, metrics = client.predict(["en", "fr"], api_name="/crosslingual_map")
    assert metrics["languages"] == ["en", "fr"]
