"""core.pretrain.data: BERT's masking and the lines of English and fake-data schemes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from core.common.errors import InputError
from core.pretrain import data

N_LINES = 2000  # lines for the masking statistics: rates within +-0.02 of their target


# ------------------------------------------------------------------------------- masking
def test_mask_lines_invariants(tok, ids):
    lines = data.line_source("uniform", tok)(N_LINES, np.random.default_rng(0))  # (N, 126)
    b = data.mask_lines(lines, np.random.default_rng(1), tokenizer_ids=ids)
    inp, lab, pos = (b[k].numpy() for k in ("input_ids", "labels", "masked_positions"))
    assert inp.shape == lab.shape == (N_LINES, data.MAX_POSITIONS)
    assert (b["attention_mask"].numpy() == 1).all()
    assert (inp[:, 0] == tok.cls_token_id).all() and (inp[:, -1] == tok.sep_token_id).all()
    assert (lab[:, [0, -1]] == data.IGNORE_INDEX).all()  # [CLS]/[SEP] never predicted

    chosen = lab != data.IGNORE_INDEX
    per_line = chosen.sum(1)
    assert (per_line == data.masked_count(data.LINE_LENGTH)).all() and per_line.min() >= 1
    assert 0.14 < chosen[:, 1:-1].mean() < 0.16  # 19 of 126 = 15.1 %
    # labels sit exactly at masked_positions and hold the original ids
    by_pos = np.zeros_like(chosen)
    np.put_along_axis(by_pos, pos, True, axis=1)
    assert (by_pos == chosen).all()
    assert (lab[:, 1:-1][chosen[:, 1:-1]] == lines[chosen[:, 1:-1]]).all()
    assert (inp[:, 1:-1][~chosen[:, 1:-1]] == lines[~chosen[:, 1:-1]]).all()
    # every position of the line is chosen about equally often
    col = chosen[:, 1:-1].mean(0)
    assert col.min() > 0.10 and col.max() < 0.20, (col.min(), col.max())

    got, orig = inp[chosen], lab[chosen]
    masked = got == tok.mask_token_id
    same = got == orig
    other = ~masked & ~same
    assert masked.mean() == pytest.approx(0.8, abs=0.02)
    assert same.mean() == pytest.approx(0.1, abs=0.02)
    assert other.mean() == pytest.approx(0.1, abs=0.02)
    assert np.isin(got[other], ids.usable).all()  # random ids are real tokens

    again = data.mask_lines(lines, np.random.default_rng(1), tokenizer_ids=ids)
    other_seed = data.mask_lines(lines, np.random.default_rng(2), tokenizer_ids=ids)
    assert all(torch.equal(b[k], again[k]) for k in b)
    assert not torch.equal(b["labels"], other_seed["labels"])


def test_special_ids_inside_a_line_are_not_chosen_and_short_lines_get_one(tok, ids):
    lines = data.line_source("uniform", tok, length=20)(500, np.random.default_rng(0))
    lines[:, 7] = tok.sep_token_id  # like the [SEP] between English documents
    b = data.mask_lines(lines, np.random.default_rng(0), tokenizer_ids=ids)
    assert (b["labels"][:, 8] == data.IGNORE_INDEX).all()  # column 7 of the line, after [CLS]
    short = data.mask_lines(lines[:, :2], np.random.default_rng(0), tokenizer_ids=ids)
    assert ((short["labels"] != data.IGNORE_INDEX).sum(1) == 1).all()


# ------------------------------------------------------------------------------- sources
def test_english_lines_read_as_english(tok):
    uni = data.english_unigram(tok)
    assert uni.shape == (len(tok),) and uni.sum() == pytest.approx(1.0)
    assert (uni[tok.all_special_ids] == 0).all()
    top = set(tok.convert_ids_to_tokens(np.argsort(uni)[::-1][:10].tolist()))
    assert {"the", ".", ",", "a"} <= top, top
    common = np.argsort(uni)[::-1][:2000]

    lines = data.line_source("english", tok)(50, np.random.default_rng(0))
    assert lines.shape == (50, data.LINE_LENGTH) and lines.dtype == np.int64
    assert np.isin(lines, common).mean() > 0.6  # mostly everyday words
    noise = data.line_source("uniform", tok)(50, np.random.default_rng(0))
    assert np.isin(noise, common).mean() < 0.1
    text = tok.decode(lines[0])
    words = text.split()
    assert len(words) > 40 and sum(w in {"the", "a", "and", "of", "to", "is"} for w in words) >= 3
    assert (lines == tok.sep_token_id).any()  # documents are joined by [SEP]


def test_unigram_source_follows_english_frequencies(tok):
    uni = data.english_unigram(tok)
    lines = data.line_source("unigram", tok)(400, np.random.default_rng(0))
    assert not np.isin(lines, tok.all_special_ids).any()
    counts = np.bincount(lines.ravel(), minlength=len(tok))
    top = np.argsort(uni)[::-1][:200]
    rho = spearmanr(uni[top], counts[top]).statistic
    assert rho > 0.5, rho


def test_bad_inputs_give_clear_errors(tok):
    with pytest.raises(KeyError, match="flat-128.*english"):
        data.line_source("nonsense", tok)
    with pytest.raises(InputError, match="no-pretraining baseline"):
        data.line_source("scratch", tok)
    with pytest.raises(InputError, match="shape"):
        data.mask_lines(np.zeros(5, dtype=np.int64), np.random.default_rng(0),
                        tokenizer_ids=data.TokenIds.from_tokenizer(tok))


def test_the_lab_vocabulary_keeps_its_frequent_ids_and_avoids_only_its_specials(tok):
    assert data.avoided_ids(tok) == tuple(range(999))  # bert-base-uncased: 0-998
    lab = data.tokenizer_for("lab")
    assert len(lab) == 8_000 and data.avoided_ids(lab) == (0, 1, 2, 3, 4)
    uniform = data.line_source("uniform", lab)(64, np.random.default_rng(0))
    assert uniform.min() >= 5 and uniform.max() < 8_000
    assert np.isin(np.arange(5, 1_000), uniform).mean() > 0.5  # frequent ids are used
    english = data.line_source("english", lab)(20, np.random.default_rng(0))
    assert (english != lab.unk_token_id).mean() > 0.99
    assert {"the", "and", "of", "to", "i", "a", "we"} & set(lab.decode(english[0]).split())
    batch = data.mask_lines(english, np.random.default_rng(0),
                            tokenizer_ids=data.TokenIds.from_tokenizer(lab))
    assert batch["input_ids"].max() < 8_000 and (batch["input_ids"] == 4).any()  # [MASK] = 4
    with pytest.raises(InputError, match="bert, lab"):
        data.tokenizer_for("gpt2")
