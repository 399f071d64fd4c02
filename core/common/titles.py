"""Plot titles that fit: long titles are broken into lines at word boundaries (plotly does
not wrap, and a title wider than its plot is cut off at the edges)."""
from __future__ import annotations

import textwrap

TITLE_CHARS = 62  # characters a line holds at the title size in a half-page plot


def wrap_title(text: str, width: int = TITLE_CHARS) -> str:
    """'a long title ...' -> 'a long<br>title ...' (plotly's line break), each line <= width
    characters where words allow; text that already has line breaks is left as it is."""
    if "<br>" in text or len(text) <= width:
        return text
    return "<br>".join(textwrap.wrap(text, width, break_long_words=False))
