"""The lab's English prose and vocabulary (assets/pretrain/english/)."""
from __future__ import annotations

import numpy as np
import pytest

from core.text import english
from core.text.tasks import load_task


def test_the_prose_is_millions_of_words_in_files_under_10_mb():
    lines = english.english_lines()
    assert sum(len(line.split()) for line in lines) > 2_500_000
    assert all(line == " ".join(line.split()) for line in lines[:1000])
    for name in english.SOURCES:
        assert (english.ENGLISH_DIR / f"{name}.txt.gz").stat().st_size <= 10_000_000
    assert english.english_lines(("moby_dick",))[0].startswith("Call me Ishmael.")
    with pytest.raises(KeyError, match="sotu, moby_dick, shakespeare"):
        english.english_lines(("brown",))


def test_the_vocabulary_ranks_ids_by_frequency_and_reads_english():
    tok = english.lab_tokenizer()
    counts = english.lab_vocab_counts()
    assert len(tok) == len(counts) == 8_000
    assert [tok.convert_ids_to_tokens(i) for i in range(5)] == ["[PAD]", "[UNK]", "[CLS]",
                                                                "[SEP]", "[MASK]"]
    assert tok.pad_token_id == 0 and tok.mask_token_id == 4
    assert np.all(np.diff(counts[5:]) <= 0)  # id rank = frequency rank
    assert tok.convert_ids_to_tokens(int(np.argmax(counts))) in {",", "the", "."}
    ids = tok("The Secretary of the Treasury will report to Congress.")["input_ids"]
    assert tok.unk_token_id not in ids and ids[0] == tok.cls_token_id
    # downstream text (not in the corpus) is still read in pieces, never as unknowns
    review = load_task("sentiment").test[0][0]
    assert tok(review)["input_ids"].count(tok.unk_token_id) <= 1


def test_pairs_are_cls_a_sep_b_sep_with_segment_ids():
    tok = english.lab_tokenizer()
    enc = tok("In the beginning", "the word")
    ids, segments = enc["input_ids"], enc["token_type_ids"]
    assert ids[0] == tok.cls_token_id and ids.count(tok.sep_token_id) == 2
    first_sep = ids.index(tok.sep_token_id)
    assert set(segments[:first_sep + 1]) == {0} and set(segments[first_sep + 1:]) == {1}
    assert tok.decode(ids, skip_special_tokens=True) == "in the beginning the word"
