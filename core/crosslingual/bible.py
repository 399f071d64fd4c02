"""Verse-aligned Bibles in the public domain (assets/crosslingual/bible/, built by
`python -m core build-assets bible`): the text the lab's own multilingual BERTs are pretrained
on, and the held-out verses their alignment is measured on.

    bible_languages()                        # ['en', 'de', 'fr', 'es', 'it', 'ru', 'ar', 'fa']
    verses("fake")["43.3.16"]                # English in fullwidth forms: no shared token
    verses("fr")["43.3.16"]                  # 'Car Dieu a tant aimé le monde ...'
    ids = split_ids("test", ["en", "ru"])    # verses of the test books present in both
    lines = pretraining_lines(["en", "ru"], 2_000, seed=0)   # [(lang, text)], mixed
    tok = bible_tokenizer(("en", "ru"), 8_000)

Books are split whole into train / dev / test (bible.json): pretraining reads train books only,
so no held-out verse, nor any verse of its chapter, is ever seen in pretraining.
"""
from __future__ import annotations

import functools
import gzip
import json
import zlib

import numpy as np

from core.common.errors import InputError
from core.common.paths import ASSETS
from core.text.wordpiece import tokenizer_from_vocab, train_vocab

BIBLE_DIR = ASSETS / "crosslingual" / "bible"
SPLITS = ("train", "dev", "test")
# Dufter & Schuetze's control: English written so that it shares no token with English (here
# every printable ASCII character -> its fullwidth form, U+FF01-FF5E, after lower-casing: the
# same words, sub-words and punctuation classes, and not one id in common). Whatever aligns it
# with English was learned, not copied from shared tokens.
FAKE_ENGLISH = "fake"
_FULLWIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


def fake_english(text: str) -> str:
    """English text as the `fake` language writes it ('God' -> 'ｇｏｄ')."""
    return text.lower().translate(_FULLWIDTH)


@functools.lru_cache(maxsize=1)
def manifest() -> dict:
    """bible.json: languages (edition, licence, verse count), the split of each book."""
    return json.loads((BIBLE_DIR / "bible.json").read_text(encoding="utf-8"))


def bible_languages(*, fake: bool = False) -> list[str]:
    """The shipped languages (and, with fake, the FAKE_ENGLISH control last)."""
    return list(manifest()["languages"]) + ([FAKE_ENGLISH] if fake else [])


def check_bible_languages(languages) -> tuple[str, ...]:
    """The languages as a tuple, each once, in the given order.

    Raises:
        InputError: fewer than two, or one the corpus does not hold (the message lists them).
    """
    langs = tuple(dict.fromkeys(str(x).strip().lower() for x in languages or ()))
    known = bible_languages(fake=True)
    unknown = [x for x in langs if x not in known]
    if unknown:
        raise InputError(f"no Bible text for {', '.join(unknown)}; choose from "
                         f"{', '.join(known)}")
    if len(langs) < 2:
        raise InputError("choose at least two languages: alignment is between languages")
    return langs


@functools.lru_cache(maxsize=16)
def verses(lang: str) -> dict[str, str]:
    """Verse id ('book.chapter.verse') -> text, in canonical order."""
    if lang == FAKE_ENGLISH:
        return {v: fake_english(t) for v, t in verses("en").items()}
    if lang not in bible_languages():
        raise InputError(f"no Bible text for {lang!r}; choose from "
                         f"{', '.join(bible_languages(fake=True))}")
    with gzip.open(BIBLE_DIR / f"{lang}.tsv.gz", "rt", encoding="utf-8") as f:
        return dict(line.rstrip("\n").split("\t", 1) for line in f)


def split_of(verse: str) -> str:
    """The split ('train', 'dev' or 'test') of the book a verse id belongs to."""
    return manifest()["books"][verse.split(".", 1)[0]]


def split_ids(split: str, languages) -> list[str]:
    """The ids of `split`'s verses that every one of `languages` holds, in canonical order."""
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    common = set.intersection(*(set(verses(x)) for x in languages))
    return [v for v in verses(languages[0]) if v in common and split_of(v) == split]


def _lang_seed(seed: int, lang: str) -> int:
    return zlib.crc32(f"{seed}/{lang}".encode())


def pretraining_ids(languages, per_language: int, seed: int) -> dict[str, list[str]]:
    """lang -> the ids of `per_language` train-book verses (0 = all), in canonical order; each
    language's verses drawn on their own (not the same verses in every language: the corpus
    is comparable, not parallel line by line).

    Raises:
        InputError: per_language negative or more than a language's train verses.
    """
    out = {}
    for lang in languages:
        pool = [v for v in verses(lang) if split_of(v) == "train"]
        if per_language < 0 or per_language > len(pool):
            raise InputError(f"{lang} has {len(pool):,} pretraining verses; ask for 1 to "
                             f"{len(pool):,} (or 0 for all), not {per_language:,}")
        take = np.random.default_rng(_lang_seed(seed, lang)).permutation(len(pool))
        out[lang] = [pool[i] for i in sorted(take[:per_language or len(pool)])]
    return out


def pretraining_lines(languages, per_language: int, seed: int) -> list[tuple[str, str]]:
    """(lang, verse text) lines to pretrain on: pretraining_ids' verses of every language,
    mixed in seeded order."""
    out = [(lang, verses(lang)[v])
           for lang, ids in pretraining_ids(languages, per_language, seed).items() for v in ids]
    order = np.random.default_rng(seed).permutation(len(out))
    return [out[i] for i in order]


@functools.lru_cache(maxsize=4)
def bible_tokenizer(languages: tuple[str, ...], vocab_size: int):
    """One WordPiece vocabulary shared by `languages` (core.text.wordpiece), trained on all
    their train-book verses: the same tokenizer for every corpus size, so models trained on
    more or less text differ in nothing else. Ids 0-4 are the shared specials."""
    lines = [t for lang in languages for v, t in verses(lang).items() if split_of(v) == "train"]
    return tokenizer_from_vocab([t for t, _ in train_vocab(lines, vocab_size)])
