"""The page in the browser's language: zh-TW, zh-CN and English, and the switch between them."""
from __future__ import annotations

import pytest

from demos.i18n import TABLES
from tests.helpers import open_page, wait_for_plot_title

pytestmark = [pytest.mark.browser, pytest.mark.embedded]

TABS = ("tab.crosslingual", "tab.dna", "tab.spoken_qa", "tab.pretrain")


@pytest.mark.parametrize("browser_locale, locale", [("zh-TW", "zh-TW"), ("zh-CN", "zh-CN"),
                                                    ("en-US", "en")])
def test_the_page_opens_in_the_browsers_language(app_url, artifacts, browser_locale, locale):
    table = TABLES[locale]
    for page in open_page(app_url, browser_locale):
        page.get_by_role("tab", name=table["tab.crosslingual"]).wait_for(timeout=60_000)
        names = [tab.inner_text().strip() for tab in page.get_by_role("tab").all()]
        assert names == [table[key] for key in TABS]
        intro = table["xl.intro"].replace("*", "")[:20]  # the first tab's "Finding"
        page.get_by_text(intro).first.wait_for(timeout=10_000)
        page.get_by_role("button", name=table["xl.draw"], exact=True).wait_for(timeout=10_000)
        # the badge is written on the server, in the page's language
        badge = table["app.badge"].split("{")[0]
        page.wait_for_function(f"() => document.querySelector('#device-badge').innerText"
                               f".includes({badge.replace('*', '').strip()!r})",
                               timeout=30_000)
        checked = page.locator("#language-switch input:checked")
        assert checked.evaluate("e => e.value") == locale
        # one example: the map's title is written in the page's language
        layer = {"en": "layer 1,", "zh-TW": "第 1 層，", "zh-CN": "第 1 层，"}[locale]
        wait_for_plot_title(page, "t.textContent.includes('ARI')", timeout=240_000)  # drawn
        page.get_by_text(table["xl.ex_scripts"], exact=True).click()  # relabelled
        wait_for_plot_title(page, f"t.textContent.includes({layer!r})", timeout=180_000)
        page.screenshot(path=str(artifacts / f"i18n_{locale}.png"), full_page=True)
        page.get_by_role("tab", name=table["tab.dna"]).click()  # the next tab: its labels
        page.get_by_role("button", name=table["dna.train"], exact=True).wait_for(timeout=10_000)
        page.get_by_text(table["dna.finding"].replace("*", "")[:12]).first.wait_for(
            timeout=10_000)
        # the reference figure, drawn when the page was built, is redrawn in this language
        reference = {"en": "Reference, splice", "zh-TW": "參考實驗，splice",
                     "zh-CN": "参考实验，splice"}[locale]
        wait_for_plot_title(page, f"t.textContent.includes({reference!r})", timeout=30_000)
        header = {"en": "starting point", "zh-TW": "起點", "zh-CN": "起点"}[locale]
        page.locator("#dna-reference-table").get_by_text(header, exact=True).first.wait_for(
            timeout=30_000)
        # the "what to expect" written from the run file, in this language
        expect = table["say.dna_expect"].replace("*", "").split("{")[0].strip()
        page.get_by_text(expect).first.wait_for(timeout=10_000)
        page.screenshot(path=str(artifacts / f"i18n_{locale}_dna.png"), full_page=True)
        page.get_by_role("tab", name=table["tab.pretrain"]).click()  # its transfer figure
        gains = table["msg.pre_finetune_title"][:10]  # its start: before any line break
        wait_for_plot_title(page, f"t.textContent.includes({gains!r})", timeout=30_000)
        # no text anywhere shows a translation key (e.g. an examples table's headers)
        for key in TABS:
            page.get_by_role("tab", name=table[key]).click()
            page.wait_for_timeout(1_000)
            assert "__i18n__" not in page.locator("body").inner_text(), key


def test_the_switch_changes_the_language_and_keeps_it(app_url):
    for page in open_page(app_url, "zh-TW"):
        page.get_by_role("tab", name="跨語言").wait_for(timeout=60_000)
        page.locator("#language-switch").get_by_text("简体中文", exact=True).click()
        page.get_by_role("tab", name="假数据预训练").wait_for(timeout=60_000)  # every tab
        page.get_by_text(TABLES["zh-CN"]["xl.intro"].replace("*", "")[:12]).first.wait_for(timeout=10_000)
        page.reload()  # the choice outlives the page
        page.get_by_role("tab", name="语音问答").wait_for(timeout=60_000)
        page.locator("#language-switch").get_by_text("English", exact=True).click()
        page.get_by_role("tab", name="Fake-data pretraining").wait_for(timeout=60_000)
