"""The lab in English, 繁體中文 (zh-TW, the lecture's) and 简体中文 (zh-CN).

Two routes, one table per language (demos/i18n/<locale>.json, keys named by what they say):
  - component text (labels, info lines, buttons, tab names, Markdown) is a key the browser
    translates: `t("dna.train")` -> gradio's I18n, passed at launch (LAUNCH["i18n"]);
  - text built on the server for one request (messages, titles) is `text(key, locale,
    **params)`, with the locale of the request (`locale_of`): the parameters (limits, names,
    numbers) are the same in every language.
The page opens in the browser's language (zh-TW / zh-CN / English for the rest); the switch
in the header stores the choice in a cookie that both the page and the server read. Public
API names, argument names and JSON keys stay English: an API call without a browser (no
cookie, no Accept-Language) gets English.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import gradio as gr
from gradio.context import LocalContext
from gradio.i18n import I18nData

from core.common.titles import wrap_title
from core.common.words import english

LOCALES = ("en", "zh-TW", "zh-CN")
DEFAULT = "en"
NAMES = {"en": "English", "zh-TW": "繁體中文", "zh-CN": "简体中文"}
COOKIE = "lab_locale"
FOLDER = Path(__file__).parent


def _load(locale: str) -> dict[str, str]:
    return json.loads((FOLDER / f"{locale}.json").read_text(encoding="utf-8"))


TABLES: dict[str, dict[str, str]] = {loc: _load(loc) for loc in LOCALES}
# what the browser gets: the tables, plus the filled-in texts of keys with parameters
I18N = gr.I18n(**{loc: dict(table) for loc, table in TABLES.items()})


def t(key: str, **params):
    """A key the browser shows in its language (a component's label, info, value...).
    With params, the text is filled in on the server, once per language (the same numbers
    in each), and sent under a key of its own."""
    if key not in TABLES[DEFAULT]:
        raise KeyError(f"no translation key {key!r} in demos/i18n/en.json")
    if not params:
        return I18N(key)
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode())
    filled = f"{key}~{digest.hexdigest()[:10]}"  # plain characters: the page looks keys up
    for loc in LOCALES:
        I18N.translations[loc][filled] = text(key, loc, **params)
    return I18N(filled)


def rendered(key: str, render) -> object:
    """A text built per language on the server (e.g. a finding read from a run file):
    render(locale) -> str, sent under `key` (a name for it, not in the tables)."""
    for loc in LOCALES:
        I18N.translations[loc][key] = render(loc)
    return I18N(key)


def text(key: str, locale: str = DEFAULT, **params) -> str:
    """The text of `key` in `locale` (English where that table lacks it), filled with params."""
    table = TABLES.get(locale, TABLES[DEFAULT])
    return (table.get(key) or TABLES[DEFAULT][key]).format(**params)


def in_locale(value, locale: str = DEFAULT):
    """What a component's text reads in `locale`: a key from t() or rendered() (as the
    object, or as the string gradio keeps) is looked up; anything else is returned as is."""
    key = getattr(value, "key", None)
    if key is None and isinstance(value, str) and value.startswith("__i18n__"):
        key = json.loads(value[len("__i18n__"):]).get("key")
    if key is None:
        return value
    return I18N.translations[locale].get(key, I18N.translations[DEFAULT][key])


_FIELD = re.compile(r"\{(\w+)(?:[:!][^}]*)?\}")


def _pattern(template: str) -> re.Pattern:
    """An English template ("layer {layer}, {state}") as a regex whose groups are its fields."""
    out, seen, last = [], set(), 0
    for m in _FIELD.finditer(template):
        out.append(re.escape(template[last:m.start()]))
        name = m.group(1)
        out.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        last = m.end()
    out.append(re.escape(template[last:]))
    return re.compile("^" + "".join(out) + "$", re.S)


# Text built in core (messages, titles) is English; `msg.*` keys hold its templates, `term.*`
# the words that fill them (raw, centered...). localize() finds the template a text was built
# from and writes it in another language with the same values.
# Tried most specific first (fewest fields, then the most fixed text), so that "reference
# training curves" is its own template before it is "reference {scheme}".
_MESSAGES = [(key, _pattern(value)) for key, value in sorted(
    ((k, v) for k, v in TABLES[DEFAULT].items() if k.startswith("msg.")),
    key=lambda kv: (len(_FIELD.findall(kv[1])), -len(_FIELD.sub("", kv[1]))))]
_TERMS = {value: key for key, value in TABLES[DEFAULT].items() if key.startswith("term.")}


def term_in(value, locale: str):
    """A word of the tables (term.*: "pretrained", "random") in `locale`; anything else
    (names, numbers, sentences) as it is."""
    if locale == DEFAULT or not isinstance(value, str) or value not in _TERMS:
        return value
    return text(_TERMS[value], locale)


def localize(message: str, locale: str) -> str:
    """An English text built in core, in `locale`: the translation of the template it was
    built from, with the same values (numbers, names, limits); unknown texts stay English."""
    if locale == DEFAULT or not isinstance(message, str) or not message:
        return message
    if message in _TERMS:
        return text(_TERMS[message], locale)
    for key, pattern in _MESSAGES:
        match = pattern.match(message)
        if match:
            values = {name: localize(v, locale) for name, v in match.groupdict().items()}
            return _FIELD.sub(lambda f: values[f.group(1)], TABLES[locale].get(key) or
                              TABLES[DEFAULT][key])
    return message


# a space between two Chinese characters (or full-width punctuation): a template's space
# kept for a Latin value ("{name} 領先" with "re-emb"), not wanted for a Chinese one
_CJK_GAP = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]) +"
                      r"(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])")
# Sentences core writes through `say` (core.common.words): `say.*` keys hold their English
# templates, looked up exactly (not by matching), with the values core gives.
_SAID = {value: key for key, value in TABLES[DEFAULT].items() if key.startswith("say.")}


def speaker(locale: str):
    """The `say` of core.common.words for `locale`: the translation of an English template,
    filled with the same values (words among them, such as "pretrained", translated too);
    a template the tables lack stays English."""
    if locale == DEFAULT:
        return english

    def say(template: str, **values) -> str:
        key = _SAID.get(template)
        if key is None:  # a word (a term: "pretrained") or a message template, else English
            return localize(template.format(**values), locale)
        values = {k: localize(v, locale) if isinstance(v, str) else v for k, v in values.items()}
        said = TABLES[locale].get(key)
        return _CJK_GAP.sub("", (template if said is None else said).format(**values))

    return say


def _localize_title(title: str, locale: str) -> str:
    """A title, also when core broke it into lines (core.common.titles.wrap_title): the
    lines are joined to find its template (a translation needs no English line breaks)."""
    out = localize(title, locale)
    if out == title and "<br>" in title:
        flat = title.replace("<br>", " ")
        joined = localize(flat, locale)
        if joined != flat:
            out = joined
    return wrap_title(out) if out != title else out  # broken into lines again if long


def localize_figure(fig, locale: str):
    """A copy of a plotly figure with its title, axis titles, legend names and text
    annotations (subplot titles, span labels) in `locale`; the figure itself (e.g. a cached
    one) is left as it is."""
    if fig is None or locale == DEFAULT or not hasattr(fig, "layout"):
        return fig
    fig = type(fig)(fig)
    if fig.layout.title.text:
        fig.layout.title.text = _localize_title(fig.layout.title.text, locale)
    for name in ("xaxis", "yaxis", "xaxis2", "yaxis2"):
        axis = getattr(fig.layout, name, None)
        if axis is not None and axis.title.text:
            axis.title.text = localize(axis.title.text, locale)
    for note in fig.layout.annotations or ():
        if note.text:
            note.text = _localize_title(note.text, locale)
    for trace in fig.data:
        if getattr(trace, "name", None):
            trace.name = localize(trace.name, locale)
        for axis in ("x", "y"):  # categories that are words of the tables (language names)
            values = getattr(trace, axis, None) if trace.type in ("heatmap", "bar") else None
            if values is not None and any(isinstance(v, str) and v in _TERMS for v in values):
                setattr(trace, axis, [term_in(v, locale) for v in values])
    return fig


def _english(value):
    """API info with every translation (a label, an info line) as its English text."""
    if isinstance(value, I18nData):
        return I18N.translations[DEFAULT].get(value.key, value.key)
    if isinstance(value, dict):
        return {k: _english(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_english(v) for v in value]
    return value


def english_api(blocks: gr.Blocks) -> gr.Blocks:
    """The app's API description (/gradio_api/info, gradio_client's view_api) in English:
    the labels of translated components read as text, not as translation keys."""
    info = blocks.get_api_info

    def get_api_info(*args, **kwargs):
        return _english(info(*args, **kwargs))

    blocks.get_api_info = get_api_info
    return blocks


def current_locale() -> str:
    """The locale of the request being handled (gradio keeps it for the event), else English."""
    return locale_of(LocalContext.request.get(None))


def normalize(tag: str | None) -> str | None:
    """A language tag -> one of LOCALES, or None when it names none of them: zh-TW, zh-HK,
    zh-MO and zh-Hant* -> zh-TW; zh, zh-CN, zh-SG and zh-Hans* -> zh-CN; en* -> en."""
    tag = (tag or "").strip().replace("_", "-").lower()
    if not tag:
        return None
    if tag.startswith("zh"):
        parts = tag.split("-")[1:]
        return "zh-TW" if ("hant" in parts or {"tw", "hk", "mo"} & set(parts)) else "zh-CN"
    if tag.split("-")[0] == "en":
        return "en"
    return None


_COOKIE_RE = re.compile(rf"(?:^|;\s*){COOKIE}=([^;]+)")


def locale_of(request: gr.Request | None) -> str:
    """The locale a request asks for: the switch's cookie, else the browser's language (the
    first Accept-Language entry, as the page itself takes navigator.language) when it is one
    of LOCALES, else English (API calls, other languages)."""
    headers = getattr(request, "headers", None) or {}
    match = _COOKIE_RE.search(headers.get("cookie", "") or "")
    if match and normalize(match.group(1)):
        return normalize(match.group(1))
    first = (headers.get("accept-language", "") or "").split(",")[0].split(";")[0]
    return normalize(first) or DEFAULT


# Put at the top of the page's <head> (by LocaleScript, before gradio's own scripts run):
# the page is drawn in the language of the switch's cookie, else in the lab's reading of the
# browser's language (zh-Hant-TW, zh-HK -> zh-TW; zh, zh-SG, zh-Hans-CN -> zh-CN), through
# navigator.language, which gradio's i18n reads when it starts. labSetLocale stores a choice
# and reloads, so that the page and the text the server builds for it follow the choice.
BOOT_SCRIPT = """<script>
(function () {
  function pick(tag) {
    tag = (tag || "").toLowerCase();
    if (tag.indexOf("zh") !== 0) return tag.indexOf("en") === 0 ? "en" : null;
    return /(^|-)(hant|tw|hk|mo)(-|$)/.test(tag) ? "zh-TW" : "zh-CN";
  }
  var m = document.cookie.match(/(?:^|;\\s*)%(cookie)s=([^;]+)/);
  var chosen = (m && pick(decodeURIComponent(m[1]))) || pick(navigator.language);
  if (chosen && chosen !== navigator.language) {
    try {
      Object.defineProperty(navigator, "language", {get: function () { return chosen; }});
      Object.defineProperty(navigator, "languages", {get: function () { return [chosen]; }});
    } catch (e) {}
  }
  window.labLocale = function () { return chosen || "en"; };
  window.labSetLocale = function (loc) {
    document.cookie = "%(cookie)s=" + encodeURIComponent(loc) +
      "; path=/; max-age=31536000; SameSite=Lax";
    location.reload();
  };
})();
</script>""" % {"cookie": COOKIE}


class LocaleScript:
    """ASGI middleware: puts BOOT_SCRIPT first in the <head> of every HTML page the app
    serves (launch(app_kwargs={"middleware": [Middleware(LocaleScript)]}))."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: dict | None = None
        passing = False
        chunks: list[bytes] = []

        async def inject(message):
            nonlocal start, passing
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                html = headers.get(b"content-type", b"").startswith(b"text/html")
                passing = not html or b"content-encoding" in headers
                if passing:
                    await send(message)
                else:
                    start = message
                return
            if passing or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks).replace(b"<head>", b"<head>" + BOOT_SCRIPT.encode(), 1)
            headers = [(k, v) for k, v in start.get("headers", [])
                       if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send(dict(start, headers=headers))
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, inject)


def language_switch() -> gr.Radio:
    """The header's switch: shows the page's language on load; a choice reloads the page in
    the chosen one (and tells the server, through the cookie)."""
    switch = gr.Radio([(NAMES[loc], loc) for loc in LOCALES], value=DEFAULT,
                      label=t("app.language"), elem_id="language-switch",
                      container=False, scale=0, min_width=360)
    switch.input(None, switch, None, js="(loc) => { window.labSetLocale(loc); return []; }")
    return switch
