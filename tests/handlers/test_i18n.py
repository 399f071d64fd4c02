"""demos.i18n: three complete tables, every key in use, the request's locale, the boot script."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from core.common import words
from demos import i18n
from demos.i18n import in_locale

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "app.py", *sorted((ROOT / "demos").rglob("*.py"))]
FIELD = re.compile(r"\{(\w+)[^}]*\}")


def _keys_in_code() -> tuple[set[str], set[str]]:
    """(first arguments of every t("...") / text("...") call with a literal key, every
    string constant that names a key: e.g. the tab titles, listed before they are used)."""
    called, named = set(), set()
    known = set().union(*i18n.TABLES.values())
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("t", "text") and node.args
                    and isinstance(node.args[0], ast.Constant)):
                called.add(node.args[0].value)
            if isinstance(node, ast.Constant) and node.value in known:
                named.add(node.value)
    return called, named


def _said_in_code() -> set[str]:
    """The templates of every say("...") call in core and demos (core.common.words)."""
    said = set()
    for path in [*sorted((ROOT / "core").rglob("*.py")), *SOURCES]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "say"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                said.add(node.args[0].value)
    return said


def _built_in_code() -> set[str]:
    """msg.* / term.* keys (text built in core, localized by its English template) whose
    template's every literal part, or term's word, is written in the code; say.* keys whose
    template is said in the code."""
    code = "\n".join(p.read_text(encoding="utf-8") for p in
                     [*sorted((ROOT / "core").rglob("*.py")), *SOURCES])
    said = _said_in_code()
    found = set()
    for key, value in i18n.TABLES["en"].items():
        if key.startswith("say.") and value in said:
            found.add(key)
        elif key.startswith("msg."):
            # the template's words (a literal may be split over two lines in the code)
            words = [w for part in FIELD.split(value)[::2]
                     for w in re.findall(r"[A-Za-z]{3,}", part)]
            if (all(w in code for w in words) if words
                    else f'"{value}"' in code):  # a short header: "ms", "to", "95% CI"
                found.add(key)
        elif key.startswith("term."):
            word = re.sub(r" \(\w+\)$", "", value)  # "English (en)" is built from "English"
            if f'"{word}"' in code or f"'{word}'" in code or f" {word}" in code:
                found.add(key)
    return found


def test_every_key_used_is_in_all_three_tables_and_none_is_unused():
    called, named = _keys_in_code()
    assert {"app.header", "xl.intro"} <= called and "tab.crosslingual" in named
    used = named | _built_in_code()
    assert {"msg.xl_map_title_words", "term.centered", "term.lang_zh"} <= used
    for locale in i18n.LOCALES:
        table = i18n.TABLES[locale]
        assert not called - set(table), f"{locale} lacks {sorted(called - set(table))}"
        assert not set(table) - used, f"{locale} has unused {sorted(set(table) - used)}"


@pytest.mark.parametrize("locale", ["zh-TW", "zh-CN"])
def test_translations_keep_every_parameter_and_are_not_english(locale):
    english = i18n.TABLES["en"]
    for key, value in i18n.TABLES[locale].items():
        assert sorted(FIELD.findall(value)) == sorted(FIELD.findall(english[key])), key
    translated = [k for k in english if i18n.TABLES[locale][k] != english[k]]
    assert len(translated) >= len(english) - 2  # only names (e.g. "DNA") stay the same


def test_every_sentence_core_says_has_a_translation():
    english = i18n.TABLES["en"]
    known = {v for k, v in english.items() if k.startswith(("say.", "term."))}
    assert not _said_in_code() - known, sorted(_said_in_code() - known)


def _numbers(text: str) -> list[str]:
    return sorted(re.findall(r"[-+]?\d+(?:\.\d+)?", text))


@pytest.mark.parametrize("locale", ["zh-TW", "zh-CN"])
def test_findings_written_from_the_run_files_read_the_same_numbers_in_chinese(locale):
    """The tabs' "what to expect" texts and run summaries, written through speaker(locale):
    no English sentence left, every number as in English."""
    from core.dna import finding
    from core.dna import view as dna_view
    from core.dna.config import load_reference
    from core.pretrain import config as pretrain_config
    from core.pretrain import view as pretrain_view
    from core.spoken_qa import view as sqa_view
    from core.spoken_qa.config import load_reference as load_sqa_reference

    dna, pre, sqa = load_reference(), pretrain_config.load_reference(), load_sqa_reference()
    assert dna and pre and sqa
    say = i18n.speaker(locale)
    note = dna["config"].get("lr_note") or "no note"  # the sweep's words, kept as written
    texts = [
        (finding.reference_finding(dna), finding.reference_finding(dna, say)),
        (dna_view.reference_summary(dna), dna_view.reference_summary(dna, say)),
        (pretrain_view.reference_finding(pre), pretrain_view.reference_finding(pre, say)),
        (pretrain_view.reference_summary(pre, line_length=126),
         pretrain_view.reference_summary(pre, line_length=126, say=say)),
        (sqa_view.reference_summary(sqa), sqa_view.reference_summary(sqa, say)),
        (sqa_view.steps_label(sqa), sqa_view.steps_label(sqa, say)),
    ]
    for english, chinese in texts:
        assert _numbers(chinese) == _numbers(english), (english, chinese)
        prose = re.sub(r"`[^`]*`", "", chinese.replace(note, ""))  # code; the run's own note
        assert not re.search(r"[A-Za-z]{4,} [a-z]{3,} [a-z]{3,}", prose), chinese
    assert "在這裡可以預期什麼" in texts[0][1] or "在这里可以预期什么" in texts[0][1]
    assert i18n.speaker("en") is words.english


def test_say_lists_and_leaves_no_space_between_chinese_words():
    say = i18n.speaker("zh-TW")
    assert words.listing(["a", "b", "c"]) == "a, b and c"
    assert words.listing(["a", "b", "c"], say) == "a、b 和 c"
    assert words.listing(["英文", "中文"], say) == "英文和中文"
    assert say("{name} leads", name="random") == "隨機初始化領先"  # no space left between
    assert say("{name} leads", name="re-emb") == "re-emb 領先"
    assert say("a sentence no table has: {x}", x=1) == "a sentence no table has: 1"


def test_traditional_and_simplified_differ_where_usage_does():
    tw, cn = i18n.TABLES["zh-TW"], i18n.TABLES["zh-CN"]
    assert "資料" in tw["tab.pretrain"] and "数据" in cn["tab.pretrain"]
    assert "自督導式學習" in tw["app.header"] and "自监督学习" in cn["app.header"]


def test_a_message_keeps_its_numbers_in_every_language():
    filled = {loc: i18n.text("xl.text_info", loc, max_lines=400, max_chars=20000)
              for loc in i18n.LOCALES}
    for value in filled.values():
        assert "400" in value and "20,000" in value
    assert filled["en"].startswith("Empty = built-in corpus")
    assert "最多 400 行" in filled["zh-TW"] and "最多 400 行" in filled["zh-CN"]
    data = i18n.t("xl.text_info", max_lines=400, max_chars=20000)
    for loc in i18n.LOCALES:  # the browser gets the filled-in text under the data's key
        assert i18n.I18N.translations[loc][data.key] == filled[loc]


@pytest.mark.parametrize("headers, expected", [
    ({}, "en"),
    ({"accept-language": "zh-TW,zh;q=0.9,en;q=0.8"}, "zh-TW"),
    ({"accept-language": "zh-Hant-HK"}, "zh-TW"),
    ({"accept-language": "zh-CN,zh;q=0.9"}, "zh-CN"),
    ({"accept-language": "zh"}, "zh-CN"),
    ({"accept-language": "fr-FR,zh-TW;q=0.5"}, "en"),  # the browser's language is French
    ({"accept-language": "zh-TW", "cookie": "a=1; lab_locale=zh-CN"}, "zh-CN"),  # the switch
    ({"accept-language": "zh-TW", "cookie": "lab_locale=klingon"}, "zh-TW"),
])
def test_the_locale_of_a_request(headers, expected):
    class Request:
        pass

    request = Request()
    request.headers = headers
    assert i18n.locale_of(request) == expected
    assert i18n.locale_of(None) == "en"  # an API call without a request object


def test_the_boot_script_goes_first_in_html_pages_only():
    def page(request):
        return HTMLResponse("<!doctype html><html><head><title>x</title></head></html>")

    def data(request):
        return JSONResponse({"head": "<head>"})

    app = Starlette(routes=[Route("/", page), Route("/config", data)],
                    middleware=[Middleware(i18n.LocaleScript)])
    client = TestClient(app)
    html = client.get("/").text
    assert html.startswith("<!doctype html><html><head><script>") and "labSetLocale" in html
    assert html.index("labLocale") < html.index("<title>")
    assert client.get("/config").json() == {"head": "<head>"}  # untouched


def test_each_chinese_table_keeps_to_its_own_script():
    """zh-TW is written in traditional characters, zh-CN in simplified ones (GLOSSARY.md)."""
    simplified, traditional = "数据语层训练习权这们调", "數據語層訓練習權這們調"
    for key, value in i18n.TABLES["zh-TW"].items():
        assert not set(value) & set(simplified), (key, set(value) & set(simplified))
    for key, value in i18n.TABLES["zh-CN"].items():
        assert not set(value) & set(traditional), (key, set(value) & set(traditional))


def test_in_locale_reads_a_components_text_in_a_language():
    data = i18n.t("xl.draw")
    assert in_locale(data) == "Draw map" and in_locale(str(data), "zh-TW") == "畫出分布圖"
    assert in_locale("plain text") == "plain text" and in_locale(None) is None


@pytest.mark.parametrize("message, locale, expected", [
    ("multilingual-e5-small, layer 3, centered: 342 sentences; clustering by language (ARI) "
     "0.05", "zh-TW", "multilingual-e5-small，第 3 層，置中後：342 個句子；依語言分群（ARI）0.05"),
    ("'qwertyuiop' does not occur in the en text as a lexicon word; close ones: query",
     "zh-CN", "“qwertyuiop”不是 en 文本里的词表单词；相近的有：query"),
    ("English (en)", "zh-TW", "英文 (en)"),
    ("something no table knows", "zh-TW", "something no table knows"),
    ("reference training curves", "zh-TW", "參考實驗的訓練曲線"),  # not "reference {scheme}"
    ("reference flat-128", "zh-CN", "参考实验 flat-128"),
    ("word P@1 raw", "en", "word P@1 raw"),
])
def test_text_built_in_core_is_localized_with_the_same_values(message, locale, expected):
    assert i18n.localize(message, locale) == expected


def test_a_figure_is_localized_as_a_copy():
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], name="Chinese (zh)"))
    fig.update_layout(title="Language mean vectors: cosine similarity (layer 3)",
                      xaxis_title="layer (0 = embeddings)", yaxis_title="score")
    out = i18n.localize_figure(fig, "zh-CN")
    assert out.layout.title.text == "语言均值向量：余弦相似度（第 3 层）"
    assert out.layout.xaxis.title.text == "层（0 = 嵌入层）" and out.data[0].name == "中文 (zh)"
    assert fig.layout.title.text.startswith("Language mean")  # a cached figure stays English
    assert i18n.localize_figure(fig, "en") is fig
    heat = go.Figure(go.Heatmap(z=[[1, 0.8], [0.8, 1]], x=["English (en)", "German (de)"],
                                y=["English (en)", "German (de)"]))
    assert list(i18n.localize_figure(heat, "zh-TW").data[0].x) == ["英文 (en)", "德文 (de)"]


def test_an_error_in_chinese_keeps_its_numbers_and_the_api_error_is_unchanged(tmp_path):
    """The passage limit, refused from a 200-s file's header: in Chinese for a zh-TW page,
    in English (as before) for an API call, which carries no browser language."""
    import gradio as gr
    import numpy as np
    import soundfile as sf
    from gradio.context import LocalContext

    from demos import spoken_qa_handlers as h

    long = tmp_path / "long.wav"
    sf.write(long, np.zeros(200 * 16_000, dtype=np.float32), 16_000)

    class Browser:
        headers = {"accept-language": "zh-TW,zh;q=0.9"}

    token = LocalContext.request.set(Browser())
    try:
        with pytest.raises(gr.Error) as chinese:
            h.answer(str(long), str(long))
    finally:
        LocalContext.request.reset(token)
    with pytest.raises(gr.Error) as api:
        h.answer(str(long), str(long))
    assert api.value.message == "the passage (long.wav) is 200.0 s long; the limit is 180 s"
    assert chinese.value.message == "這段文章（long.wav）長 200.0 秒；上限是 180 秒"
    assert chinese.value.title == "無法執行" and api.value.title == "Cannot do that"


def test_wrapped_titles_and_span_labels_are_localized():
    from core.common.titles import TITLE_CHARS, display_width, wrap_title
    from core.spoken_qa import view as sqa_view

    title = wrap_title("Where pretraining helps: pretrained − random (test accuracy, paired, "
                       "95% CI)")
    assert "<br>" in title
    chinese = i18n._localize_title(title, "zh-TW")  # broken into lines again where it fits
    assert "".join(chinese.replace("<br>", " ").split()) == "".join(  # a break may take a space
        "預訓練在哪裡有幫助：預訓練 − 隨機初始化（測試正確率，成對，95% 信賴區間）".split())
    assert all(display_width(line) <= TITLE_CHARS for line in chinese.split("<br>"))
    ref = {"runs": {"pretrained": {"curve": [{"step": 1, "loss": 2.0, "dev_loss": 3.0,
                                               "dev_ff1": 0.1}]}}}
    fig = sqa_view.curves_figure({i: r["curve"] for i, r in ref["runs"].items()},
                                 "reference training curves")
    out = i18n.localize_figure(fig, "zh-CN")
    assert out.layout.title.text == "参考实验的训练曲线"
    assert [a.text for a in out.layout.annotations][:3] == ["训练损失", "保留数据上的答案片段损失",
                                                            "验证 FF1"]


def test_a_table_gets_headers_in_the_pages_language_and_the_same_numbers():
    from gradio.context import LocalContext

    from demos.common import table_value
    from demos.spoken_qa_handlers import STAGE_HEADERS

    rows = [["units", "87 runs", 12.5]]
    assert table_value(rows, STAGE_HEADERS) is rows  # English (an API call): as before

    class Browser:
        headers = {"cookie": "lab_locale=zh-CN"}

    token = LocalContext.request.set(Browser())
    try:
        value = table_value(rows, STAGE_HEADERS)
    finally:
        LocalContext.request.reset(token)
    assert value == {"data": rows, "headers": ["阶段", "输出", "毫秒"]}
