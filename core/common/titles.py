"""Plot titles that fit: long titles are broken into lines at word boundaries (plotly does
not wrap, and a title wider than its plot is cut off at the edges). Chinese and Japanese
characters count twice (they are about two Latin letters wide) and may break anywhere."""
from __future__ import annotations

import re
import textwrap
import unicodedata

TITLE_CHARS = 62  # characters a line holds at the title size in a half-page plot
# a wide character, a run of other non-space characters (a Latin word, a number), or spaces
_WIDE = r"\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"  # CJK, Hangul, full-width
_TOKENS = re.compile(rf"[{_WIDE}]|[^\s{_WIDE}]+|\s+")
_NO_LINE_START = set("，。、；：！？）」』】》,.;:!?)")  # punctuation kept on the line before


def display_width(text: str) -> int:
    """Columns `text` takes: 2 for a wide (East Asian) character, 1 for any other."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap_title(text: str, width: int = TITLE_CHARS) -> str:
    """'a long title ...' -> 'a long<br>title ...' (plotly's line break), each line <= width
    columns where words allow; text that already has line breaks is left as it is."""
    if "<br>" in text or display_width(text) <= width:
        return text
    if display_width(text) == len(text):  # no wide characters: break at spaces only
        return "<br>".join(textwrap.wrap(text, width, break_long_words=False))
    lines, line = [], ""
    for token in _TOKENS.findall(text):
        fits = display_width(line + token.rstrip()) <= width
        if fits or not line.strip() or token.isspace() or token in _NO_LINE_START:
            line += token
        else:
            lines.append(line.rstrip())
            line = token
    lines.append(line.rstrip())
    return "<br>".join(line for line in lines if line)
