"""The fake-data tab served alone: the page in Chromium (its API: tests/api)."""
from __future__ import annotations

import pytest

from tests.helpers import open_page, set_sliders, wait_for_plot_title

pytestmark = pytest.mark.embedded


@pytest.fixture(scope="module")
def page(pretrain_url):
    yield from open_page(pretrain_url)


@pytest.mark.browser
def test_pretrain_tab_shows_samples_and_runs_live(page, artifacts):
    page.locator("#pretrain-samples").get_by_text("flat-128").first.wait_for(timeout=60_000)
    page.get_by_text("Reference run: every scheme").first.wait_for(timeout=30_000)
    set_sliders(page, {"Pretraining steps": "20", "Fine-tuning steps": "20"})
    page.get_by_role("button", name="Run", exact=True).click()
    wait_for_plot_title(page, "t.textContent.startsWith('sentiment: gain over scratch (scratch:')",
                        timeout=300_000)
    page.get_by_text("n/a (1 seed)").first.wait_for(state="attached", timeout=60_000)
    page.screenshot(path=str(artifacts / "pretrain_tab.png"), full_page=True)
