from core.common.titles import wrap_title


def test_long_titles_break_at_words_and_short_ones_stay():
    title = "Reference, promoters: 106 training sequences, k=1, 100 updates, 5 seeds"
    wrapped = wrap_title(title, width=40)
    lines = wrapped.split("<br>")
    assert len(lines) == 2 and all(len(line) <= 40 for line in lines)
    assert " ".join(lines) == title
    assert wrap_title("short") == "short" and wrap_title("a<br>b", width=1) == "a<br>b"
