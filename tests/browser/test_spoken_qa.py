"""The spoken-QA tab served alone: the page in Chromium (its API: tests/api)."""
from __future__ import annotations

import time

import pytest

from core.speech import voice
from tests.helpers import open_page, wait_for_plot_title

pytestmark = [pytest.mark.embedded,
              pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)]


# How many lines an element's text is laid out on (its text's boxes at distinct heights).
TEXT_LINES = """el => { const r = document.createRange(); r.selectNodeContents(el);
  const tops = [...r.getClientRects()].filter(c => c.width > 0).map(c => Math.round(c.top));
  return new Set(tops).size; }"""


@pytest.fixture(scope="module")
def page(spoken_qa_url):
    yield from open_page(spoken_qa_url)


@pytest.mark.browser
def test_an_example_click_voices_it_and_the_answer_is_drawn(page, artifacts):
    page.get_by_text("Reference run: pretrained vs random").first.wait_for(timeout=60_000)
    page.locator("#sqa-reference-scores .js-plotly-plot").wait_for(timeout=60_000)
    page.locator("#sqa-examples tbody tr").first.click()  # voices passage and question
    for which in ("passage", "question"):
        page.locator(f"#sqa-{which}-audio a[download]").wait_for(timeout=60_000)
    page.get_by_role("button", name="Find the answer", exact=True).click()
    wait_for_plot_title(page, "t.textContent.startsWith('passage:')", timeout=120_000)
    start = page.get_by_label("answer starts (s)")
    assert float(start.input_value()) >= 0
    assert float(page.get_by_label("answer ends (s)").input_value()) > float(start.input_value())
    # the example's true answer is framed on the plot and the answer is judged against it
    page.locator("#sqa-answer-plot text", has_text="true answer").first.wait_for(timeout=30_000)
    verdict = page.locator("#sqa-verdict")
    verdict.get_by_text("mean frame F1").wait_for(timeout=30_000)
    assert verdict.inner_text().startswith(("Pretrained start: hit", "Pretrained start: miss"))
    assert "Random init: " in verdict.inner_text()  # both starts answer, both are judged
    page.locator("#sqa-answer-plot text", has_text="random init").first.wait_for(timeout=30_000)
    # each clip's voice warp, before what the text model read
    read = page.locator("#sqa-read")
    read.get_by_text("Voice normalisation.").wait_for(timeout=30_000)
    assert "What the text model read." in read.inner_text()
    page.get_by_role("button", name="Download the examples", exact=False).click()
    files = page.locator("#sqa-example-files")
    files.get_by_text("examples.json").wait_for(timeout=60_000)  # and a wav per clip
    assert files.get_by_text(".wav").count() == 6
    page.screenshot(path=str(artifacts / "spoken_qa_tab.png"), full_page=True)


@pytest.mark.browser
def test_every_column_of_the_runs_table_shows_without_scrolling(page):
    table = page.locator("#sqa-runs")
    table.get_by_text("test questions").first.wait_for(timeout=60_000)
    box = table.bounding_box()
    for header in ("extractor", "seed", "test questions"):
        cell = table.locator("th", has_text=header).first.bounding_box()
        assert box["x"] <= cell["x"] and cell["x"] + cell["width"] <= box["x"] + box["width"] + 1
    for header in ("extractor", "window", "seed"):  # one word, one line: never split
        label = table.locator("th", has_text=header).first.locator("span[data-editable]").first
        assert label.evaluate(TEXT_LINES) == 1, header


@pytest.mark.browser
def test_training_streams_curves_and_stop_ends_it(page):
    """Train, then Stop: the curves stay, the title says where it stopped, and nothing more
    is trained (the step slider's label names the measured cost of a step, so it is found by
    its id)."""
    box = page.locator("#sqa-steps input[type=number]")
    box.fill("10")
    box.press("Enter")
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_plot_title(page, "/training\\s*from\\s*pretrained\\s*init\\s*-\\s*\\d+\\s*"
                              "training\\s*windows,\\s*[1-9]\\d*\\/\\d+\\s*steps/"
                              ".test(t.textContent)", timeout=300_000)
    page.get_by_role("button", name="Stop", exact=True).click()
    wait_for_plot_title(page, "t.textContent.includes('stopped at step')", timeout=60_000)
    titles = "() => [...document.querySelectorAll('#sqa-train-plot .gtitle')]" \
             ".map(t => t.textContent).join()"
    stopped = page.evaluate(titles)
    time.sleep(15)  # a running job would have logged more steps by now
    assert page.evaluate(titles) == stopped and "done" not in stopped
    assert page.locator(".error").count() == 0  # stopping is not an error
    assert page.get_by_role("button", name="Train", exact=True).is_enabled()
