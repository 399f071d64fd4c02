"""The committed Bible corpus (assets/crosslingual/bible/) and how pretraining and evaluation
read it: public-domain translations only, books split whole, verses aligned by id."""
from __future__ import annotations

from collections import Counter

import pytest

from core.common.errors import InputError
from core.crosslingual import bible
from core.tools.build.bible import TRANSLATIONS

MAX_FILE_BYTES = 10 * 1024 * 1024


def test_files_are_small_and_every_shipped_translation_is_one_of_the_checked_ones():
    m = bible.manifest()
    assert bible.bible_languages() == list(TRANSLATIONS)
    for lang, info in m["languages"].items():
        assert info["bbName"] == TRANSLATIONS[lang][0]
        assert "public domain" in info["licence"]
        path = bible.BIBLE_DIR / f"{lang}.tsv.gz"
        assert path.stat().st_size == info["bytes"] <= MAX_FILE_BYTES
        assert len(bible.verses(lang)) == info["verses"] > 31_000
    scripts = {"ru": "\u0400", "ar": "\u0600"}  # at least two non-Latin scripts
    for lang, block in scripts.items():
        text = bible.verses(lang)["43.3.16"]
        assert sum(block <= ch <= chr(ord(block) + 0xFF) for ch in text) > len(text) / 2
    assert (bible.BIBLE_DIR / "SOURCES.md").exists()


def test_books_are_split_whole_and_the_splits_have_the_stated_sizes():
    m = bible.manifest()
    assert sorted(map(int, m["books"])) == list(range(1, 67))
    langs = bible.bible_languages()
    sizes = {s: len(bible.split_ids(s, langs)) for s in bible.SPLITS}
    assert sizes == m["shared_verses"]
    assert sizes["test"] > 0.1 * sum(sizes.values()) and sizes["dev"] > 1_000
    books = {s: {v.split(".")[0] for v in bible.split_ids(s, langs)} for s in bible.SPLITS}
    assert not (books["train"] & books["test"]) and not (books["train"] & books["dev"])


def test_a_verse_id_holds_the_same_verse_in_every_language():
    # John 3:16 names God and the world in each language
    words = {"en": "God", "de": "Gott", "fr": "Dieu", "es": "Dios", "it": "Iddio",
             "ru": "Бог", "ar": "الله", "fa": "خدا"}
    for lang, word in words.items():
        assert word in bible.verses(lang)["43.3.16"], lang
    assert "\u200e" not in "".join(bible.verses("ar").values())  # bidi marks removed
    assert not any(t.startswith("(ADDED") for t in bible.verses("ru").values())


def test_pretraining_lines_come_from_train_books_mixed_and_drawn_per_language():
    lines = bible.pretraining_lines(["en", "de"], 300, seed=0)
    assert Counter(lang for lang, _ in lines) == {"en": 300, "de": 300}
    assert {lang for lang, _ in lines[:40]} == {"en", "de"}  # mixed, not one block each
    train = {lang: {t for v, t in bible.verses(lang).items() if bible.split_of(v) == "train"}
             for lang in ("en", "de")}
    assert all(t in train[lang] for lang, t in lines)
    ids = bible.pretraining_ids(["en", "de"], 300, seed=0)
    assert all(bible.split_of(v) == "train" for v in ids["en"] + ids["de"])
    assert len(set(ids["en"]) & set(ids["de"])) < 20  # not the same verses in both (~4 by chance)
    assert sorted(lines) == sorted((lang, bible.verses(lang)[v]) for lang in ids for v in ids[lang])
    assert bible.pretraining_lines(["en", "de"], 300, seed=0) == lines
    assert bible.pretraining_lines(["en", "de"], 300, seed=1) != lines
    assert len(bible.pretraining_ids(["en"], 0, seed=0)["en"]) == bible.manifest()[
        "shared_verses"]["train"]
    with pytest.raises(InputError, match="pretraining verses"):
        bible.pretraining_lines(["en"], 10**6, seed=0)


def test_languages_are_checked_with_a_message_that_lists_them():
    assert bible.check_bible_languages(["EN", "ru", "en"]) == ("en", "ru")
    with pytest.raises(InputError, match="choose from en, de"):
        bible.check_bible_languages(["en", "zh"])
    with pytest.raises(InputError, match="at least two"):
        bible.check_bible_languages(["en"])
    with pytest.raises(InputError, match="unknown split"):
        bible.split_ids("validation", ["en"])


def test_one_shared_vocabulary_covers_every_language_with_few_unknowns():
    tok = bible.bible_tokenizer(("en", "ru", "ar"), 4_000)
    assert len(tok) == 4_000
    assert tok.convert_tokens_to_ids(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]) == [0, 1, 2,
                                                                                        3, 4]
    for lang in ("en", "ru", "ar"):
        ids = tok(bible.verses(lang)["43.3.16"])["input_ids"]
        assert ids[0] == 2 and ids[-1] == 3 and max(ids) < 4_000
        assert ids.count(1) <= 1, lang  # [UNK] is rare
