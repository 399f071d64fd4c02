"""Fake-data schemes (Chiang & Lee 2022): each scheme's defining invariant, seeding, registry."""
from __future__ import annotations

import re

import numpy as np
import pytest

from core.common.errors import InputError
from core.pretrain.fake_data import (
    BERT_SPECIAL_IDS,
    BOUNDS,
    SCHEMES,
    Vocab,
    available_schemes,
    make_scheme,
    render,
    unigram_from_counts,
)

BERT_VOCAB = Vocab.make(30522, avoid=BERT_SPECIAL_IDS)
SMALL = Vocab.make(1050, avoid=range(1000))  # ids 1000..1049
FREQS = unigram_from_counts({1000 + i: 1000.0 / (i + 1) for i in range(50)}, size=1050)


def _spearman(a, b) -> float:
    """Rank correlation (ties broken by order; fine for a threshold)."""
    ra, rb = (np.argsort(np.argsort(v)).astype(float) for v in (a, b))
    return float(np.corrcoef(ra, rb)[0, 1])


def _rng(seed=0):
    return np.random.default_rng(seed)


def _all_names():
    return available_schemes() + ["shuffle-5", "shuffle-63", "zipf-0.5", "zipf-3"]


@pytest.mark.parametrize("name", _all_names())
def test_shape_dtype_range_and_seeding(name):
    s = make_scheme(name, BERT_VOCAB, unigram_freqs=FREQS if name == "unigram" else None,
                    length=128)
    x = s.batch(8, _rng(1))
    assert x.shape == (8, 128) and x.dtype == np.int64
    vocab = SMALL if name == "unigram" else BERT_VOCAB
    assert np.isin(x, vocab.ids).all()  # never a special / avoided id
    assert np.array_equal(x, s.batch(8, _rng(1)))  # same seed, same lines
    assert not np.array_equal(x, s.batch(8, _rng(2)))
    assert np.array_equal(s.sample(_rng(3)), s.batch(1, _rng(3))[0])
    assert s.name == name and s.about and "\n" not in s.about


def test_flat_128_even_counts_and_distinct_range():
    s = make_scheme("flat-128", BERT_VOCAB)
    seen = set()
    for line in s.batch(200, _rng()):
        ids, counts = np.unique(line, return_counts=True)
        assert (counts % 2 == 0).all()
        assert 50 <= ids.size <= 61
        seen.add(ids.size)
    assert len(seen) > 5  # the distinct count varies over its range
    assert BERT_VOCAB.ids.size > 0 and len(BERT_VOCAB) == 30522 - 999


@pytest.mark.parametrize("block", [2, 4, 6])
def test_flat_blocks_even_counts_within_each_block(block):
    s = make_scheme(f"flat-{block}", SMALL, length=128)
    x = s.batch(50, _rng())
    bounds = s.block_bounds
    assert bounds[0] == (0, block) and bounds[-1][1] == 128
    assert sum(b - a for a, b in bounds) == 128
    for line in x:
        for a, b in bounds:
            _, counts = np.unique(line[a:b], return_counts=True)
            assert (counts % 2 == 0).all(), (block, line[a:b])
    # shuffled inside blocks: pairs are not always adjacent (for N > 2)
    if block > 2:
        assert (x[:, 0] != x[:, 1]).any()


@pytest.mark.parametrize("n", [4, 6, 16, 64])
def test_shuffle_blocks_are_permutations_of_consecutive_ids(n):
    s = make_scheme(f"shuffle-{n}", BERT_VOCAB, length=128)
    x = s.batch(20, _rng())
    full = 128 // n
    for line in x:
        for b in range(full):
            block = np.sort(line[b * n:(b + 1) * n])
            assert np.array_equal(block, np.arange(block[0], block[0] + n))
        tail = line[full * n:]  # truncated block: distinct consecutive-run members
        assert len(set(tail.tolist())) == tail.size
        if tail.size:
            assert tail.max() - tail.min() < n
    # the blocks really are shuffled
    assert not all(np.array_equal(line[:n], np.sort(line[:n])) for line in x)


def test_shuffle_avoids_runs_crossing_avoided_ids():
    vocab = Vocab.make(1100, avoid=set(range(1000)) | {1050})
    x = make_scheme("shuffle-8", vocab, length=64).batch(100, _rng())
    assert not (x == 1050).any() and np.isin(x, vocab.ids).all()


def _depths(line, opens, closes):
    close_to_open = dict(zip(closes.tolist(), opens.tolist()))
    stack, depths = [], []
    for t in line.tolist():
        if t in close_to_open:
            assert stack and stack[-1] == close_to_open[t], "close does not match the last open"
            stack.pop()
        else:
            assert t in set(opens.tolist())
            stack.append(t)
        depths.append(len(stack))
    assert not stack, "unbalanced line"
    return depths


def test_nesting_balanced_stack_with_real_depth():
    s = make_scheme("nesting", BERT_VOCAB)
    x = s.batch(30, _rng())
    assert np.array_equal(s.closes - s.opens, np.ones_like(s.opens))  # pairs (2i, 2i+1) here
    max_depths = [max(_depths(line, s.opens, s.closes)) for line in x]
    assert max(max_depths) >= 6 and min(max_depths) >= 2
    assert len(np.unique(x)) > 500  # many different bracket kinds


def test_unigram_follows_source_frequencies():
    s = make_scheme("unigram", SMALL, unigram_freqs=FREQS)
    x = s.batch(200, _rng()).ravel()
    got = np.bincount(x - 1000, minlength=50)[:50]
    rho = _spearman(got, FREQS[1000:1050])
    assert rho >= 0.9
    assert set(np.unique(x)) <= set(range(1000, 1050))


def test_unigram_without_freqs_is_a_clear_error():
    with pytest.raises(InputError, match="unigram_freqs"):
        make_scheme("unigram", SMALL)
    with pytest.raises(InputError):
        unigram_from_counts([0, 0, 0])


@pytest.mark.parametrize("a", [0.8, 1.0, 1.5])
def test_zipf_log_log_slope(a):
    s = make_scheme(f"zipf-{a}", Vocab.make(3000, avoid=range(1000)))
    x = s.batch(1000, _rng()).ravel()  # 128k tokens
    counts = np.sort(np.bincount(x))[::-1][:50].astype(float)  # top-50 ranks
    slope = np.polyfit(np.log(np.arange(1, 51)), np.log(counts), 1)[0]
    assert abs(slope + a) < 0.15, slope
    # ranking follows the scheme's fixed permutation
    assert np.bincount(x).argmax() == s.ranked[0]


def test_uniform_is_flat():
    x = make_scheme("uniform", SMALL).batch(100, _rng()).ravel()  # 12,800 over 50 ids
    counts = np.bincount(x - 1000, minlength=50)
    expected = x.size / 50
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 49 + 5 * np.sqrt(2 * 49)  # df = 49: mean 49, sd ~ 9.9


def test_registry_errors_list_choices():
    with pytest.raises(KeyError) as err:
        make_scheme("parens", SMALL)
    msg = str(err.value)
    for name in SCHEMES:
        assert name in msg
    assert "shuffle-<N>" in msg and "zipf-<a>" in msg
    for name in ("english", "scratch"):  # bounds, not schemes
        assert name in BOUNDS and name not in available_schemes()


@pytest.mark.parametrize("bad, words", [("shuffle-3", "4 <= N <= 64"),
                                        ("shuffle-65", "4 <= N <= 64"),
                                        ("shuffle-x", "integer"),
                                        ("zipf-0", "0 < a <= 3"),
                                        ("zipf-3.5", "0 < a <= 3"),
                                        ("zipf-nan", "0 < a <= 3"),
                                        ("zipf-", "number")])
def test_bad_parameters_rejected(bad, words):
    with pytest.raises(InputError, match=re.escape(words)):
        make_scheme(bad, SMALL)


def test_paired_schemes_need_even_length():
    for name in ("flat-128", "flat-4", "nesting"):
        with pytest.raises(InputError, match="even"):
            make_scheme(name, SMALL, length=101)
    make_scheme("shuffle-6", SMALL, length=101)  # odd lengths are fine where nothing pairs


def test_vocab_and_render(tiny_model):
    tok = tiny_model.tokenizer
    vocab = Vocab.from_tokenizer(tok, avoid=BERT_SPECIAL_IDS)
    assert vocab.ids[0] == 999 and not set(tok.all_special_ids) & set(vocab.ids.tolist())
    line = make_scheme("shuffle-4", vocab, length=8).sample(_rng())
    text = render(line, tok)
    assert len(text.split()) == 8 and "[" not in text
    assert render(np.array([1000, 1001])) == "1000 1001"
    with pytest.raises(InputError):
        Vocab.make(10, avoid=range(10))


def test_about_describes_every_listed_scheme_and_rejects_bad_names():
    from core.pretrain.fake_data import about

    texts = {name: about(name) for name in available_schemes()}
    assert all(len(t) > 10 for t in texts.values())
    assert "64 consecutive ids" in texts["shuffle-64"] and "r^-1.2" in texts["zipf-1.2"]
    with pytest.raises(KeyError, match="unknown fake-data scheme 'banana'"):
        about("banana")
    with pytest.raises(InputError, match="4 <= N <= 64"):
        about("shuffle-2")


def test_only_iid_streams_are_said_to_have_no_context():
    from core.pretrain.fake_data import has_context

    iid = {name for name in available_schemes() if not has_context(name)}
    assert iid == {"uniform", "unigram"} | {n for n in available_schemes() if n.startswith("zipf")}
    assert has_context("english") and has_context("shuffle-12")
    with pytest.raises(KeyError, match="unknown fake-data scheme"):
        has_context("banana")


@pytest.mark.parametrize("name", ["flat-2", "flat-6", "flat-128", "shuffle-4", "nesting"])
def test_structured_schemes_draw_ids_with_the_given_frequencies_and_keep_their_structure(name):
    """With a weighted vocabulary (the paper samples ids with English frequencies) frequent
    ids are drawn more, and every structural invariant still holds; uniform stays uniform."""
    weighted = SMALL.weighted(FREQS)
    x = make_scheme(name, weighted, length=64).batch(200, _rng())
    counts = np.bincount(x.ravel() - 1000, minlength=50)
    assert _spearman(counts, FREQS[1000:]) > 0.6  # frequent ids drawn most
    plain = np.bincount(make_scheme(name, SMALL, length=64).batch(200, _rng()).ravel() - 1000,
                        minlength=50)
    assert counts.max() / counts.sum() > 1.5 * plain.max() / plain.sum()
    if name.startswith("flat"):
        block = 64 if name == "flat-128" else int(name.split("-")[1])
        for line in x:
            for s in range(0, 64, block):
                assert (np.bincount(line[s:s + block]) % 2 == 0).all()
    elif name.startswith("shuffle"):
        blocks = x.reshape(-1, 4)
        assert (np.sort(blocks, axis=1) == blocks.min(1, keepdims=True) + np.arange(4)).all()
    else:
        s = make_scheme(name, weighted, length=64)
        for line in x:
            assert _depths(line, s.opens, s.closes)[-1] == 0  # balanced
    uniform = np.bincount(make_scheme("uniform", weighted).batch(400, _rng()).ravel() - 1000)
    assert uniform.max() < 1.5 * uniform.mean()  # uniform ignores the weights


def test_weighted_vocab_rejects_frequencies_that_miss_every_usable_id():
    with pytest.raises(InputError, match="some weight to a usable id"):
        SMALL.weighted(np.ones(1000))  # ids 0..999 only: all avoided
