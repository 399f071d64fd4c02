from core.common.titles import display_width, wrap_title


def test_long_titles_break_at_words_and_short_ones_stay():
    title = "Reference, promoters: 106 training sequences, k=1, 100 updates, 5 seeds"
    wrapped = wrap_title(title, width=40)
    lines = wrapped.split("<br>")
    assert len(lines) == 2 and all(len(line) <= 40 for line in lines)
    assert " ".join(lines) == title
    assert wrap_title("short") == "short" and wrap_title("a<br>b", width=1) == "a<br>b"


def test_chinese_titles_count_wide_characters_twice_and_break_between_them():
    title = ("探測：全新詞嵌入訓練 200 步後，保留英文上的 MLM 損失相對 scratch 的增益"
             "（scratch：6.772 nats）")
    assert display_width("探測 ab") == 7
    lines = wrap_title(title).split("<br>")
    assert len(lines) == 2 and "".join(lines) == title.replace("相對 scratch", "相對scratch")
    assert all(display_width(line) <= 62 for line in lines)
    assert not lines[1].startswith(("，", "）"))  # punctuation stays on the line it ends
    assert "scratch" in lines[1] and "MLM" in lines[0]  # Latin words are not cut
