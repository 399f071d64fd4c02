"""The DNA tab served alone: its public API through gradio_client, and the page in Chromium."""
from __future__ import annotations

import json

import pytest

from conftest import open_page, set_sliders, wait_for_plot_title

pytestmark = pytest.mark.embedded


def test_dna_train_then_predict_in_one_session(dna_url):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(dna_url, verbose=False)
    with pytest.raises(AppError, match="Train a model first"):
        client.predict("ACGTACGT", api_name="/dna_predict")
    fig, metrics = client.predict("splice", 0, 3, ["pretrained", "random"], 10, 1, 0, 64,
                                  api_name="/dna_train")
    assert fig["type"] == "plotly"
    assert set(metrics["runs"]) == {"pretrained", "random"}
    assert 0.0 <= metrics["runs"]["pretrained"]["test_accuracy"] <= 1.0
    label, importance = client.predict("GT" * 30, api_name="/dna_predict")
    assert {c["label"] for c in label["confidences"]} == {"EI", "IE", "N"}
    assert len(json.loads(importance["plot"])["data"][0]["x"]) == 60
    with pytest.raises(AppError, match="not a DNA base"):
        client.predict("ACGU", api_name="/dna_predict")


@pytest.fixture(scope="module")
def page(dna_url):
    yield from open_page(dna_url)



@pytest.mark.browser
def test_dna_tab_trains_live_and_predicts(page, artifacts):
    # the committed reference run is on the page before anything is trained
    page.wait_for_function(
        "() => [...document.querySelectorAll('#dna-reference-plot .gtitle')]"
        ".some(t => t.textContent.includes('Reference, splice'))", timeout=60_000)
    page.locator("#dna-reference-table").get_by_text("coding").first.wait_for(
        state="attached", timeout=30_000)
    page.locator("#dna-reference-which").get_by_text("promoters").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#dna-reference-plot .gtitle')]"
        ".some(t => t.textContent.includes('Reference, promoters'))", timeout=60_000)
    set_sliders(page, {"Bases per token (k)": "3", "Steps": "10"})
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_plot_title(page, "t.textContent.includes('k=3') && "
                              "t.textContent.includes('20/20 steps')", timeout=240_000)
    # the results table fills in once both runs have been scored on the test set
    page.get_by_text("n/a (1 seed)").first.wait_for(state="attached", timeout=120_000)
    page.get_by_text("splice test, EI").first.click()
    page.get_by_role("button", name="Predict", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
        ".some(t => t.textContent.includes('Which bases drive'))", timeout=120_000)
    page.screenshot(path=str(artifacts / "dna_tab.png"), full_page=True)
