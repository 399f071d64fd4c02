"""The DNA tab served alone: its public API through gradio_client (the page: tests/browser)."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.embedded


def test_dna_train_then_predict_in_one_session(dna_url):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(dna_url, verbose=False)
    with pytest.raises(AppError, match="Train a model first"):
        client.predict("ACGTACGT", api_name="/dna_predict")
    fig, metrics = client.predict("splice", 0, 3, ["pretrained", "random"], 10, 1, 0, "64",
                                  api_name="/dna_train")
    assert fig["type"] == "plotly"
    assert set(metrics["runs"]) == {"pretrained", "random"}
    assert 0.0 <= metrics["runs"]["pretrained"]["test_accuracy"] <= 1.0
    assert metrics["config"]["train_size"] == 64  # the schema's text form is accepted
    label, importance = client.predict("GT" * 30, api_name="/dna_predict")
    assert {c["label"] for c in label["confidences"]} == {"EI", "IE", "N"}
    assert len(json.loads(importance["plot"])["data"][0]["x"]) == 60
    with pytest.raises(AppError, match="not a DNA base"):
        client.predict("ACGU", api_name="/dna_predict")


def test_long_runs_are_refused_and_a_cancelled_run_frees_the_worker_within_seconds(dna_url):
    """The issue's 8-hour request answers at once with the estimate; a cancelled run (the
    API's Stop) gives its one training slot back within seconds, not after its step."""
    import time

    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(dna_url, verbose=False)
    t0 = time.perf_counter()
    with pytest.raises(AppError, match="would take about .* the web UI allows 10 min"):
        client.predict("splice", 0, 1, ["pretrained", "re-emb", "random"], 2000, 5, 0, 0,
                       api_name="/dna_train")
    assert time.perf_counter() - t0 < 60
    job = client.submit("splice", 0, 3, ["pretrained", "random"], 60, 1, 0, 64,
                        api_name="/dna_train")
    while len(job.outputs()) < 2:  # training has started
        time.sleep(0.2)
    job.cancel()
    t1 = time.perf_counter()
    fig, metrics = client.predict("splice", 0, 3, ["random"], 10, 1, 0, 64,
                                  api_name="/dna_train")  # needs the same (only) slot
    assert metrics["runs"]["random"]["test_accuracy"] >= 0
    assert time.perf_counter() - t1 < 90  # a 10-step run plus the wait for the slot
