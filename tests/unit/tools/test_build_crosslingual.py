"""The committed cross-lingual assets (corpus, lexicon) and the span rule they are built on.

Reads only assets/crosslingual/; never downloads. Rebuild with
`python -m core build-assets crosslingual`.
"""
from __future__ import annotations

import csv
from collections import Counter, defaultdict

import pytest

from core.common.paths import ASSETS
from core.text.spans import find_spans, occurs
from core.tools.build.crosslingual import REQUIRED
from core.tools.build.lexicons import clean_word, english_word
from core.tools.build.pairs import MAX_TARGETS, SOURCE_ORDER
from core.tools.build.udhr import _length_alignment, align_units

ASSET_DIR = ASSETS / "crosslingual"
MAX_FILE_BYTES = 10 * 1024 * 1024


def _read(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(ASSET_DIR / name, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def corpus() -> dict[str, dict[str, str]]:
    header, rows = _read("corpus.tsv")
    assert header == ["unit", "lang", "text"]
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for r in rows:
        assert r["unit"] not in out[r["lang"]], f"{r['unit']} twice for {r['lang']}"
        out[r["lang"]][r["unit"]] = r["text"]
    return out


@pytest.fixture(scope="module")
def lexicon() -> list[dict[str, str]]:
    header, rows = _read("lexicon.tsv")
    assert header == ["en", "lang", "word", "source"]
    return rows


# ------------------------------------------------------------------------------ the files
def test_files_are_small_utf8_lf():
    for name in ("corpus.tsv", "lexicon.tsv", "SOURCES.md"):
        data = (ASSET_DIR / name).read_bytes()
        assert 0 < len(data) < MAX_FILE_BYTES
        assert b"\r" not in data and data.endswith(b"\n")
        data.decode("utf-8")


def test_corpus_units_align_across_languages(corpus):
    assert len(corpus) >= 10 and set(REQUIRED) <= set(corpus)
    units = list(corpus["en"])
    assert len(units) >= 31  # at least the preamble and 30 articles
    for lang, texts in corpus.items():
        assert list(texts) == units, f"{lang} has different units"
        assert all(t.strip() == t and t and "  " not in t for t in texts.values()), lang
    # Every article is present, whole or as paragraphs.
    assert {u.split(".")[0] for u in units} == {"preamble"} | {f"a{i:02d}" for i in range(1, 31)}


def test_corpus_is_the_right_script(corpus):
    assert "人人" in corpus["zh"]["a03"] and "権利" in corpus["ja"]["a03"]
    assert "권리" in corpus["ko"]["a03"] and "Recht" in corpus["de"]["a03"]
    assert "right" in corpus["en"]["a03"].lower()


def test_lexicon_pairs_occur_in_the_corpus(corpus, lexicon):
    joined = {lang: "\n".join(texts.values()) for lang, texts in corpus.items()}
    assert len(lexicon) > 500
    for r in lexicon:
        assert r["lang"] in corpus and r["lang"] != "en"
        assert r["en"].isalpha() and r["en"] == r["en"].lower() and len(r["en"]) >= 3
        assert " " not in r["word"] and r["word"]
        assert occurs(r["en"], "en", joined["en"]), r
        assert occurs(r["word"], r["lang"], joined[r["lang"]]), r
        assert r["source"] and all(s in SOURCE_ORDER for s in r["source"].split(";")), r


def test_lexicon_limits_and_coverage(lexicon):
    per_pair = Counter((r["en"], r["lang"]) for r in lexicon)
    assert max(per_pair.values()) <= MAX_TARGETS
    assert len({(r["en"], r["lang"], r["word"]) for r in lexicon}) == len(lexicon)
    en_words = defaultdict(set)
    for r in lexicon:
        en_words[r["lang"]].add(r["en"])
    for lang in REQUIRED[1:]:
        assert len(en_words[lang]) >= 40, f"{lang}: only {len(en_words[lang])} English words"
    # A few translations any decent lexicon of the UDHR has.
    pairs = {(r["en"], r["lang"], r["word"].lower()) for r in lexicon}
    for expected in [("freedom", "de", "freiheit"), ("family", "fr", "famille"),
                     ("education", "zh", "教育"), ("marriage", "ko", "혼인")]:
        assert expected in pairs, expected


# ----------------------------------------------------------------------------- find_spans
def test_english_is_whole_word():
    assert find_spans("art", "en", "article") == []
    assert find_spans("art", "en", "the art, Art.") == [(4, 7), (9, 12)]
    assert not occurs("right", "en", "rights")


def test_chinese_and_japanese_are_substrings():
    assert find_spans("权利", "zh", "人人有权利") == [(3, 5)]
    assert find_spans("権利", "ja", "すべて人は権利を有する") == [(5, 7)]


def test_korean_is_a_token_prefix():
    text = "모든 권리를 보권리 (권리)"
    assert find_spans("권리", "ko", text) == [(3, 5), (12, 14)]
    assert not occurs("리를", "ko", text)


def test_german_is_case_insensitive():
    assert find_spans("recht", "de", "Das Recht ist RECHT, nicht Rechte") == [(4, 9), (14, 19)]


def test_combining_marks_stay_inside_words():
    # The vowel sign of कि is a combining mark, not a word boundary.
    assert find_spans("क", "hi", "कि क") == [(3, 4)]


def test_rejected_candidates_do_not_hide_overlapping_matches():
    assert find_spans("aa", "en", "aaa aa") == [(4, 6)]
    assert find_spans("", "en", "text") == []


# ----------------------------------------------------------------------- builder helpers
def test_cleaning_dictionary_glosses():
    assert clean_word("Recht {n} [jur.]") == "Recht"
    assert clean_word("「自由」") == "自由"
    assert clean_word("in der Familie") == ""
    assert english_word("to marry") == "marry" and english_word("(of a) Family") == "family"
    assert english_word("human rights") == ""


def test_alignment_merges_where_a_language_merges():
    en = [("Whereas one. " * 8).strip(), ("Whereas two two two. " * 8).strip(),
          ("Whereas three three. " * 8).strip()]
    xx = [("Weil eins. " * 9).strip(),
          ("Weil zwei zwei zwei. " * 8 + "Weil drei drei. " * 9).strip()]
    assert _length_alignment(en, xx, 1.0) == {3: 2, 1: 1, 0: 0}
    decl = {"en": {"preamble": en, "a01": ["A."]}, "xx": {"preamble": xx, "a01": ["B."]}}
    units = align_units(decl)
    assert [u for u, _ in units["en"]] == [u for u, _ in units["xx"]]
    assert units["xx"][1] == ("preamble.p2", xx[1])
    assert units["en"][1] == ("preamble.p2", f"{en[1]} {en[2]}")
