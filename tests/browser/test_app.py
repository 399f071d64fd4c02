"""The page in headless Chromium: the tab's default example draws a real plotly map."""
from __future__ import annotations

import re

import pytest

from tests.helpers import open_page, set_sliders

pytestmark = [pytest.mark.browser, pytest.mark.embedded]


@pytest.fixture(scope="module")
def page(app_url):
    yield from open_page(app_url)


def test_header_badge_and_tab(page):
    page.get_by_text("SSL Magic Lab").first.wait_for(timeout=30_000)
    badge = page.locator("#device-badge")
    assert "Device:" in badge.inner_text() and "embedded" in badge.inner_text()
    # the page is built without torch; the device is filled in when the page opens
    page.wait_for_function("() => /Device:\\s*[A-Za-z]/"
                           ".test(document.querySelector('#device-badge').innerText)",
                           timeout=30_000)
    assert "…" not in badge.inner_text()
    assert page.get_by_role("tab", name="Cross-lingual").count() == 1
    assert page.get_by_role("tab", name="Spoken QA").count() == 1


def test_the_page_opens_with_the_headline_map_and_its_examples_beside_draw_map(page, artifacts):
    """No click: the default map (drawn at warm-up, or on the first load) is on the page, with
    its language-pair table; the map's examples sit next to the Draw map button."""
    page.wait_for_function(
        "() => { const p = document.querySelector('.js-plotly-plot');"
        " return p && p.data && p.data.length >= 6"
        " && p.querySelectorAll('.scatterlayer .point').length > 100; }",
        timeout=240_000)
    draw = page.get_by_role("button", name="Draw map", exact=True).bounding_box()
    example = page.get_by_text("sentences, raw", exact=True).bounding_box()
    translate = page.get_by_role("button", name="Translate", exact=True).bounding_box()
    assert draw["y"] < example["y"] < translate["y"]  # right below Draw map, above Translate
    assert abs(example["x"] - draw["x"]) < 300  # in the same column
    page.screenshot(path=str(artifacts / "crosslingual_first_visit.png"), full_page=True)


def test_an_example_draws_its_map(page, artifacts):
    """One click on "6 scripts, layer 1" redraws the map: six languages in six scripts."""
    page.get_by_text("6 scripts, layer 1", exact=True).click()
    page.wait_for_function(
        "() => { const t = document.querySelector('.js-plotly-plot .gtitle');"
        " const p = document.querySelector('.js-plotly-plot');"
        " return t && t.textContent.includes('layer 1') && p.data.length >= 6"
        " && p.querySelectorAll('.scatterlayer .point').length > 100; }", timeout=180_000)
    legend = page.locator(".js-plotly-plot").first.locator(".legendtext").evaluate_all(
        "els => els.map(e => e.textContent)")
    assert {"English (en)", "Chinese (zh)", "Arabic (ar)", "Korean (ko)"} <= set(legend)
    page.screenshot(path=str(artifacts / "crosslingual_map.png"), full_page=True)


def test_centered_example_dissolves_the_language_clusters(page, artifacts):
    page.get_by_text("sentences, centered + lines", exact=True).click()
    title = page.locator(".js-plotly-plot").first.locator(".gtitle")
    page.wait_for_function(
        "() => { const t = document.querySelector('.js-plotly-plot .gtitle');"
        " return t && t.textContent.includes('centered'); }", timeout=120_000)
    ari = float(re.search(r"(-?\d+\.\d+)\s*$", title.text_content()).group(1))
    assert ari < 0.2  # raw was ~1.0: subtracting the language means mixes the languages
    page.screenshot(path=str(artifacts / "crosslingual_centered.png"), full_page=True)


def test_bad_input_shows_an_error_toast(page):
    page.get_by_role("button", name="Translate", exact=True).click()  # "rights" en->de works
    # the top hit is the gold word; wait for it, since a click while pending is ignored
    page.get_by_text("Rechte", exact=True).first.wait_for(state="attached", timeout=120_000)
    page.get_by_label("Word", exact=True).fill("qwertyuiop")
    page.get_by_role("button", name="Translate", exact=True).click()
    page.get_by_text("does not occur").first.wait_for(timeout=60_000)


def test_the_corpus_size_section_trains_one_model_live(page, artifacts):
    """"Does alignment grow with data?": the finding read from the committed reference (or
    how to make one), then Pretrain one streams its dev probe and lands its test point."""
    section = page.get_by_text("Does alignment grow with data?", exact=False).first
    section.scroll_into_view_if_needed()
    finding = page.locator("#xl-size-finding")
    assert "xling-size-sweep" in finding.inner_text() or "verses per language" in \
        finding.inner_text()
    set_sliders(page, {"Pretraining steps": "20"})
    page.get_by_role("button", name="Pretrain one", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#xl-size-live .gtitle')]"
        ".some(t => t.textContent.includes('step 20 of 20, tested'))", timeout=240_000)
    legend = page.locator("#xl-size-live .legendtext").evaluate_all(
        "els => els.map(e => e.textContent)")
    assert any(t.startswith("your run:") and t.endswith("(test)") for t in legend)
    page.locator("#xl-size-live").screenshot(path=str(artifacts / "crosslingual_size_live.png"))


def test_the_lab_trained_model_draws_english_beside_fake_english(page, artifacts):
    """One click on the lab-trained example: the map of a BERT the lab pretrained itself."""
    page.get_by_text("lab-trained BERT: English + fake English", exact=True).click()
    page.wait_for_function(
        "() => { const t = document.querySelector('.js-plotly-plot .gtitle');"
        " return t && t.textContent.includes('lab-mbert-all'); }", timeout=180_000)
    legend = page.locator(".js-plotly-plot").first.locator(".legendtext").evaluate_all(
        "els => els.map(e => e.textContent)")
    assert {"English (en)", "fake English (fake)"} <= set(legend)
    page.locator(".js-plotly-plot").first.screenshot(path=str(artifacts / "crosslingual_lab.png"))


def test_plots_follow_the_dark_theme(page, app_url, artifacts):
    """In dark mode a plot is not a white box: its background shows the page through and its
    title takes the page's (light) text colour. (Last: it reloads the page in dark mode.)"""
    page.goto(app_url + "?__theme=dark", wait_until="domcontentloaded")
    page.wait_for_function(  # the map: the first plot on the page, once drawn with its title
        "() => { const p = document.querySelector('.js-plotly-plot');"
        " return p && p.data && p.data.length >= 6 && p.querySelector('.gtitle'); }",
        timeout=240_000)
    style = page.evaluate(
        "() => { const p = document.querySelector('.js-plotly-plot');"
        " const svg = getComputedStyle(p.querySelector('.main-svg')).backgroundColor;"
        " const title = getComputedStyle(p.querySelector('.gtitle')).fill;"
        " return {svg, title, dark: document.body.classList.contains('dark')"
        "  || document.documentElement.classList.contains('dark')}; }")
    assert style["dark"], style
    assert style["svg"] in ("rgba(0, 0, 0, 0)", "transparent"), style
    r, g, b = (int(v) for v in style["title"][style["title"].index("(") + 1:-1]
               .split(",")[:3])
    assert min(r, g, b) > 150, style  # light text on the dark page
    page.screenshot(path=str(artifacts / "crosslingual_dark.png"))
