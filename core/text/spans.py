"""Where a lexicon word occurs in a text, without a word segmenter.

One rule per writing system, shared by the asset builder (which keeps only lexicon pairs that
occur in the corpus) and the embedding code (which pools the sub-word vectors under each span):
  - zh, ja (and other scripts written without spaces): plain substring match;
  - ko: the word starts a space-separated token (Korean glues particles onto words:
        "권리" matches in "권리를" but not in "보권리");
  - everything else: whole word with Unicode word boundaries ("art" does not match "article").
All matching ignores case. A word character is a letter, digit, "_", combining mark or
zero-width (non-)joiner, so Devanagari vowel signs and viramas do not end a word.
"""
from __future__ import annotations

import functools
import re
import unicodedata

# Scripts written without spaces between words: a word is any substring.
SUBSTRING_LANGS = frozenset({"zh", "ja", "yue", "wuu", "th", "lo", "km", "my", "bo"})
# Languages that attach particles/endings to words inside a space-separated token.
PREFIX_LANGS = frozenset({"ko"})
# Joiners sit inside words in Indic and Arabic-script text.
_JOINERS = frozenset({"\u200c", "\u200d"})


def _is_word_char(ch: str) -> bool:
    # str.isalnum() is False for combining marks (e.g. Hindi matras), which would otherwise
    # count as word boundaries and let "क" match inside "कि".
    return ch.isalnum() or ch == "_" or ch in _JOINERS or unicodedata.category(ch)[0] == "M"


@functools.lru_cache(maxsize=4096)
def _pattern(word: str) -> re.Pattern[str]:
    return re.compile(re.escape(word), re.IGNORECASE)


def match_mode(lang: str) -> str:
    """The matching rule used for a language.

    Args:
        lang: ISO 639-1 code (a region or script suffix such as "zh-Hans" is ignored).
    Returns:
        "substring", "prefix" or "word".
    """
    base = lang.lower().replace("_", "-").split("-")[0]
    if base in SUBSTRING_LANGS:
        return "substring"
    if base in PREFIX_LANGS:
        return "prefix"
    return "word"


def find_spans(word: str, lang: str, text: str) -> list[tuple[int, int]]:
    """Character spans of `word` in `text` under the rule for `lang` (see module docstring).

    Args:
        word: the word to find (NFC; surrounding whitespace is ignored).
        lang: ISO 639-1 code of the text.
        text: the text (NFC).
    Returns:
        Non-overlapping (start, end) spans in text order, `text[start:end]` being the word
        as written (its case may differ). Empty if the word is empty or absent.
    """
    word = unicodedata.normalize("NFC", word.strip())
    if not word:
        return []
    mode = match_mode(lang)
    pattern = _pattern(word)
    spans: list[tuple[int, int]] = []
    pos = 0
    while True:
        m = pattern.search(text, pos)
        if m is None:
            return spans
        start, end = m.span()
        ok_left = start == 0 or not _is_word_char(text[start - 1])
        ok_right = end == len(text) or not _is_word_char(text[end])
        if mode == "substring" or (ok_left and (mode == "prefix" or ok_right)):
            spans.append((start, end))
            pos = end
        else:
            # A rejected candidate may overlap a valid match that starts inside it.
            pos = start + 1


def occurs(word: str, lang: str, text: str) -> bool:
    """Whether `word` occurs in `text` under the rule for `lang`.

    Args:
        word: the word to find.
        lang: ISO 639-1 code of the text.
        text: the text.
    Returns:
        True if `find_spans` finds at least one span.
    """
    return bool(find_spans(word, lang, text))
