"""The cross-lingual tab's data: the built-in parallel corpus and gold lexicon, or user text.

A `ParallelText` maps each language to its aligned units (unit id -> sentence) and to the
words whose vectors are wanted; `glosses` says which English meaning each word carries, so
any two languages can be scored against each other by pivoting through English.
"""
from __future__ import annotations

import csv
import functools
import re
from collections import defaultdict
from dataclasses import dataclass

from core.common.errors import InputError
from core.common.paths import ASSETS
from core.crosslingual.bible import FAKE_ENGLISH, fake_english
from core.text.spans import find_spans

ASSET_DIR = ASSETS / "crosslingual"
PIVOT = "en"  # the lexicons are English -> X

# Limits for pasted text (stated in the UI): enough for a few paragraphs per language while a
# 2-core CPU still embeds it in seconds.
DEFAULT_LANGUAGES = ["en", "de", "fr", "zh", "ja", "ru"]  # the map's defaults
DEFAULT_LAYER = 3  # e5-small still separates languages perfectly here (ARI 1.0 in layers 0-4)
MAX_TEXT_CHARS = 20_000
MAX_LINES = 400
MAX_LINE_CHARS = 1_000
MIN_LANGUAGES = 2

LANGUAGE_NAMES = {
    "en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "de": "German",
    "fr": "French", "es": "Spanish", "ru": "Russian", "ar": "Arabic", "hi": "Hindi",
    "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "tr": "Turkish", "sv": "Swedish",
    FAKE_ENGLISH: "fake English",
}
_LANG_CODE = re.compile(r"^[a-z]{2,3}$")
# A line of own text: a language code, then a tab, a colon or a bar (a tab cannot be typed into
# a browser's text box: Tab moves the focus), then the sentence.
_LINE = re.compile(r"^\s*([A-Za-z]{2,3})\s*(?:\t|:|\|)\s*(.*?)\s*$")
SEPARATORS_HELP = "`en: sentence`, `en | sentence` or `en<TAB>sentence`"


@dataclass(frozen=True)
class ParallelText:
    sentences: dict[str, tuple[tuple[str, str], ...]]  # lang -> ((unit id, text), ...)
    words: dict[str, tuple[str, ...]]  # lang -> words to embed (found in that lang's text)
    glosses: dict[tuple[str, str], frozenset[str]]  # (lang, word) -> English meanings
    builtin: bool  # True for the shipped UDHR corpus

    @property
    def languages(self) -> list[str]:
        return list(self.sentences)

    def texts(self, lang: str) -> list[str]:
        return [t for _, t in self.sentences[lang]]

    def units(self, lang: str) -> list[str]:
        return [u for u, _ in self.sentences[lang]]


def language_label(code: str) -> str:
    return f"{LANGUAGE_NAMES.get(code, code)} ({code})"


@functools.lru_cache(maxsize=1)
def _corpus() -> dict[str, tuple[tuple[str, str], ...]]:
    rows: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with open(ASSET_DIR / "corpus.tsv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            rows[row["lang"]].append((row["unit"], row["text"]))
    # the English text in letters that share no token with English (core.crosslingual.bible):
    # the language the lab's own BERTs learn beside English
    rows[FAKE_ENGLISH] = [(unit, fake_english(text)) for unit, text in rows[PIVOT]]
    return {lang: tuple(r) for lang, r in rows.items()}


@functools.lru_cache(maxsize=1)
def lexicon() -> tuple[tuple[str, str, str], ...]:
    """Gold translations as (english word, lang, word) rows."""
    with open(ASSET_DIR / "lexicon.tsv", encoding="utf-8", newline="") as f:
        rows = [(r["en"], r["lang"], r["word"])
                for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    english = sorted({en for en, _, _ in rows})
    return tuple(rows) + tuple((en, FAKE_ENGLISH, fake_english(en)) for en in english)


def builtin_languages(*, fake: bool = True) -> list[str]:
    """Language codes of the shipped corpus, English first (fake English last, unless
    fake=False)."""
    langs = sorted(l for l in _corpus() if l != FAKE_ENGLISH)
    langs = [PIVOT] + [l for l in langs if l != PIVOT] if PIVOT in langs else langs
    return langs + [FAKE_ENGLISH] if fake else langs


def _gloss_table() -> dict[tuple[str, str], set[str]]:
    table: dict[tuple[str, str], set[str]] = defaultdict(set)
    for en, lang, word in lexicon():
        table[(lang, word)].add(en)
        table[(PIVOT, en)].add(en)
    return table


def check_languages(languages: list[str], known: list[str]) -> list[str]:
    """Validates a language selection; returns it de-duplicated in the given order."""
    langs = list(dict.fromkeys(l.strip() for l in languages if l and l.strip()))
    unknown = [l for l in langs if l not in known]
    if unknown:
        raise InputError(f"unknown language(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(known)}")
    if len(langs) < MIN_LANGUAGES:
        raise InputError(f"pick at least {MIN_LANGUAGES} languages to compare "
                         f"(got {len(langs)}); the findings are about pairs of languages")
    return langs


def builtin_text(languages: list[str]) -> ParallelText:
    """The UDHR corpus restricted to `languages`, with the lexicon words of each."""
    langs = check_languages(languages, builtin_languages())
    corpus = _corpus()
    glosses = _gloss_table()
    words: dict[str, tuple[str, ...]] = {}
    for lang in langs:
        words[lang] = tuple(sorted({w for (l, w) in glosses if l == lang}))
    return ParallelText({l: corpus[l] for l in langs}, words,
                        {k: frozenset(v) for k, v in glosses.items() if k[0] in langs}, True)


def parse_user_text(text: str) -> ParallelText:
    """Parses own text, one `lang: sentence` line each (also `lang | sentence` or
    `lang<TAB>sentence`); the i-th line of each language is aligned with the others' i-th.

    Raises:
        InputError: empty, over the limits, malformed lines, or fewer than two languages.
    """
    if not text or not text.strip():
        raise InputError(f"the text is empty: write one line per sentence ({SEPARATORS_HELP}), "
                         "or leave the box empty to use the built-in corpus")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"the text has {len(text):,} characters; the limit is "
                         f"{MAX_TEXT_CHARS:,} (use the CLI for more)")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) > MAX_LINES:
        raise InputError(f"the text has {len(lines)} lines; the limit is {MAX_LINES}")
    per_lang: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for n, line in enumerate(lines, 1):
        m = _LINE.match(line)
        lang, sentence = (m.group(1).lower(), m.group(2)) if m else ("", "")
        if not _LANG_CODE.match(lang) or not sentence:
            raise InputError(f"line {n} is not a language code and a sentence ({SEPARATORS_HELP}"
                             f", e.g. `en: Hello`): {line[:60]!r}")
        if len(sentence) > MAX_LINE_CHARS:
            raise InputError(f"line {n} has {len(sentence)} characters; the limit is "
                             f"{MAX_LINE_CHARS}")
        per_lang[lang].append((f"line{len(per_lang[lang]) + 1}", sentence))
    if len(per_lang) < MIN_LANGUAGES:
        raise InputError(f"the text has only {', '.join(per_lang)}: give sentences in at least "
                         f"{MIN_LANGUAGES} languages")
    glosses = _gloss_table()
    words: dict[str, tuple[str, ...]] = {}
    for lang, rows in per_lang.items():
        joined = "\n".join(t for _, t in rows)
        vocab = {w for (l, w) in glosses if l == lang}
        words[lang] = tuple(sorted(w for w in vocab if find_spans(w, lang, joined)))
    return ParallelText({l: tuple(r) for l, r in per_lang.items()}, words,
                        {k: frozenset(v) for k, v in glosses.items() if k[0] in per_lang},
                        False)
