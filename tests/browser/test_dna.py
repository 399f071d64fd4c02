"""The DNA tab served alone: the page in Chromium (its API: tests/api)."""
from __future__ import annotations

import pytest

from tests.helpers import open_page, set_sliders, wait_for_plot_title

pytestmark = pytest.mark.embedded


@pytest.fixture(scope="module")
def page(dna_url):
    yield from open_page(dna_url)


@pytest.mark.browser
def test_dna_tab_trains_live_and_predicts(page, artifacts):
    # the committed reference run is on the page before anything is trained
    page.wait_for_function(
        "() => [...document.querySelectorAll('#dna-reference-plot .gtitle')]"
        ".some(t => t.textContent.includes('Reference, splice'))", timeout=60_000)
    page.locator("#dna-reference-table").get_by_text("re-emb").first.wait_for(
        state="attached", timeout=30_000)
    # the paired differences, early (dev after 50 updates) and at the end, are in a table
    page.locator("#dna-paired").get_by_text("dev accuracy at 50 updates").first.wait_for(
        state="attached", timeout=30_000)
    set_sliders(page, {"Bases per token (k)": "3", "Steps": "10"})
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_plot_title(page, "t.textContent.includes('k=3') && "
                              "t.textContent.includes('20/20 steps')", timeout=240_000)
    # the live run is drawn over the reference's bands, in the same plot
    legend = page.locator(".js-plotly-plot .legendtext").evaluate_all(
        "els => els.map(e => e.textContent)")
    assert any(t.startswith("reference") for t in legend) and "pretrained (this run)" in legend
    # the results table fills in once both runs have been scored on the test set
    page.get_by_text("n/a (1 seed)").first.wait_for(state="attached", timeout=120_000)
    page.get_by_text("splice test, EI").first.click()
    page.get_by_role("button", name="Predict", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
        ".some(t => t.textContent.includes('Which bases drive'))", timeout=120_000)
    page.screenshot(path=str(artifacts / "dna_tab.png"), full_page=True)


@pytest.mark.browser
def test_stop_keeps_the_curves_says_where_and_keeps_the_model(page, artifacts):
    """Stop during a run: within seconds the plot says 'stopped at step N' (no error badge),
    and Predict still answers with the model trained before."""
    import time

    set_sliders(page, {"Steps": "60"})
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_plot_title(page, "t.textContent.includes('/120 steps') && "
                              "!t.textContent.includes(' 0/120')", timeout=120_000)
    t0 = time.perf_counter()
    page.get_by_role("button", name="Stop", exact=True).click()
    wait_for_plot_title(page, "t.textContent.includes('stopped at step')", timeout=60_000)
    assert time.perf_counter() - t0 < 30
    assert page.locator(".error").count() == 0  # no red Error badge on any output
    page.get_by_role("button", name="Predict", exact=True).click()  # the earlier model
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
        ".some(t => t.textContent.includes('Which bases drive'))", timeout=120_000)
    assert page.get_by_text("Train a model first").count() == 0
    page.screenshot(path=str(artifacts / "dna_stopped.png"), full_page=True)
