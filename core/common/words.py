"""Sentences written for people (findings, summaries, verdicts), each built from an English
template through a `say` function, so that the page can write the same sentence in another
language with the same values.

    say(template, **values) -> str

`english` (the default everywhere) fills the template; the UI passes its own (demos.i18n
.speaker(locale)), which looks the template up in its translation tables and fills the
translation with the same values. Numbers are formatted by the template's own format specs
("{gap:+.3f}"), so they read the same in every language.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

Say = Callable[..., str]


def english(template: str, **values) -> str:
    """The template filled in: english("{n} seeds", n=5) -> "5 seeds"."""
    return template.format(**values)


def listing(items: Sequence[str], say: Say = english) -> str:
    """["a"] -> "a"; ["a", "b", "c"] -> "a, b and c" (in the language of `say`)."""
    items = [str(i) for i in items]
    if len(items) < 2:
        return items[0] if items else ""
    head = items[0]
    for item in items[1:-1]:
        head = say("{items}, {item}", items=head, item=item)
    return say("{items} and {last}", items=head, last=items[-1])
