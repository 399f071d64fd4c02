"""The fake-data tab served alone: its public API through gradio_client (the page: tests/browser)."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.embedded


def test_pretrain_samples_and_run_over_the_api(pretrain_url):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(pretrain_url, verbose=False)
    ids, text = client.predict("flat-128", 2, 3, api_name="/pretrain_samples")
    assert len(ids) == 2 and all(len(line) == 126 for line in ids)
    assert len(text.split("\n\n")) == 2
    with pytest.raises(AppError, match="unknown fake-data scheme"):
        client.predict("banana", 1, 0, api_name="/pretrain_samples")
    mlm, gains, metrics = client.predict(["nesting"], "tiny", 20, "sentiment", 0, 1, 20,
                                         api_name="/pretrain_run")
    assert set(metrics["runs"]) == {"nesting", "scratch"}
    assert len(metrics["runs"]["nesting"]["mlm_loss"]) >= 1
    assert 0 <= metrics["runs"]["nesting"]["test_accuracy"] <= 1
    bars = json.loads(gains["plot"])["data"]
    assert bars[0]["x"] == ["nesting"] and bars[1]["name"].startswith("paper")
    with pytest.raises(AppError, match="choose at least one scheme"):
        client.predict([], "tiny", 20, "sentiment", 0, api_name="/pretrain_run")
    # the server is still up and answers
    assert client.predict("uniform", 1, 0, api_name="/pretrain_samples")[0]
