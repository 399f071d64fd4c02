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
