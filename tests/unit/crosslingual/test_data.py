"""core.crosslingual.data: own text typed in a browser box."""
from __future__ import annotations

import pytest

from core.common.errors import InputError
from core.crosslingual.data import parse_user_text

TAB = "en\tThe house is big.\nde\tDas Haus ist groß.\nen\tI love you.\nde\tIch liebe dich."


@pytest.mark.parametrize("sep", [": ", " | ", ":", "|", "\t", " :  "])
def test_every_typed_separator_gives_the_same_text(sep):
    typed = TAB.replace("\t", sep)
    assert parse_user_text(typed).sentences == parse_user_text(TAB).sentences
    assert parse_user_text(typed).languages == ["en", "de"]


def test_a_colon_inside_the_sentence_stays_and_codes_are_case_free():
    pt = parse_user_text("EN: Time: now\nDe: Zeit: jetzt")
    assert pt.sentences["en"] == (("line1", "Time: now"),)
    assert pt.sentences["de"] == (("line1", "Zeit: jetzt"),)


@pytest.mark.parametrize("text", ["en Hello\nde Hallo", "english: Hello\nde: Hallo", "en:\nde: x"])
def test_lines_without_a_code_and_a_separator_say_what_works(text):
    with pytest.raises(InputError, match="line 1 is not a language code and a sentence "
                                         r"\(`en: sentence`, `en \| sentence`"):
        parse_user_text(text)
