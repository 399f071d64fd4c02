"""The lab's own multilingual BERTs on a tiny scale: batches, a short run with its alignment
probe, and the retrieval measures."""
from __future__ import annotations

import numpy as np
import pytest

from core.common.errors import InputError
from core.crosslingual import bible, xlm
from core.crosslingual.analysis import paired_retrieval

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = dict(languages=("en", "fake"), per_language=300, vocab_size=1_000, batch_size=8,
            line_length=30)


def test_batches_are_masked_lines_of_one_language_each_and_a_pure_function_of_the_step():
    cfg = xlm.XlingConfig(steps=5, **TINY)
    tok = xlm.tokenizer_of(cfg)
    make = xlm.batch_maker(cfg, tok)
    a, b = make(3), make(3)
    assert a["input_ids"].shape == (8, 32) and a["masked_positions"].shape[0] == 8
    assert all((a[k] == b[k]).all() for k in a)
    assert not (make(4)["input_ids"] == a["input_ids"]).all()
    en = set(tok(bible.verses("en")["43.3.16"], add_special_tokens=False)["input_ids"])
    vocab = tok.convert_ids_to_tokens(list(range(len(tok))))
    fake_ids = {i for i, t in enumerate(vocab) if any(ord(c) >= 0xFF01 for c in t)}
    assert en and not en & fake_ids  # the control shares no token with English
    labels = a["labels"].numpy()
    for row, lab in zip(a["input_ids"].numpy(), labels):
        ids = np.where(lab >= 0, lab, row)[1:-1]  # the line as it was before masking
        words = [i for i in ids if i >= 5]
        in_fake = [i in fake_ids for i in words]
        assert all(in_fake) or not any(in_fake)  # a line never mixes languages


@pytest.mark.parametrize("packing", xlm.PACKINGS)
def test_verse_packing_starts_every_line_at_a_verse(packing):
    """Shared positions tie languages together only if a verse sits at the same positions
    in each: with packing "verse" every line starts at a verse's first id."""
    cfg = xlm.XlingConfig(steps=5, packing=packing, **dict(TINY, batch_size=64))
    tok = xlm.tokenizer_of(cfg)
    streams = xlm._streams(cfg.languages, cfg.per_language, cfg.seed, cfg.vocab_size)
    batch = xlm.batch_maker(cfg, tok)(0)
    at_verse = 0
    for row, lab in zip(batch["input_ids"].numpy(), batch["labels"].numpy()):
        line = np.where(lab >= 0, lab, row)[1:-1]  # the line as it was before masking
        cuts = [(s, int(i)) for s in streams for i in np.flatnonzero(
            (np.lib.stride_tricks.sliding_window_view(s, line.size) == line).all(axis=1))]
        assert cuts  # the line is a cut of one language's stream
        at_verse += any(i == 0 or s[i - 1] == tok.sep_token_id for s, i in cuts)
    assert at_verse == 64 if packing == "verse" else at_verse < 32


def test_bad_settings_are_refused_with_the_limit():
    with pytest.raises(InputError, match="unknown packing 'random'"):
        xlm.XlingConfig(packing="random")
    with pytest.raises(InputError, match="line_length must be 1 to 126"):
        xlm.XlingConfig(line_length=300)
    with pytest.raises(InputError, match="unknown model size"):
        xlm.XlingConfig(size="huge")
    with pytest.raises(InputError, match="at least two"):
        xlm.XlingConfig(languages=("en",))
    with pytest.raises(InputError, match="pretraining verses"):
        xlm.batch_maker(xlm.XlingConfig(**{**TINY, "per_language": 10**6}), None)


def test_a_short_run_lowers_the_loss_and_reports_alignment_along_the_way():
    cfg = xlm.XlingConfig(steps=30, log_every=10, lr=3e-3, **TINY)
    model, tok = xlm.build(cfg)
    events = list(xlm.pretrain(model, tok, cfg, eval_every=15,
                               evaluate=xlm.alignment_probe(tok, cfg.languages, n_verses=20)))
    assert [e.step for e in events] == [10, 15, 20, 30]
    assert events[-1].loss < events[0].loss
    probed = [e.metrics for e in events if e.metrics]
    assert len(probed) == 2
    for m in probed:
        assert 0 <= m["p_at_1_raw"] <= 1 and 0 < m["mrr_centered"] <= 1
        assert 1 <= m["layer"] <= 6  # narrow: 6 layers
    rows = xlm.alignment(model, tok, cfg.languages, n_verses=20)
    assert [r["layer"] for r in rows] == list(range(7))
    assert {(p["source"], p["target"]) for p in rows[3]["pairs"]} == {("en", "fake"),
                                                                       ("fake", "en")}


def test_retrieval_finds_the_same_verse_and_ranks_the_rest():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 16))
    assert paired_retrieval(x, x) == {"p_at_1": 1.0, "mrr": 1.0}
    shuffled = paired_retrieval(x, x[::-1])
    assert shuffled["p_at_1"] < 0.1 and shuffled["mrr"] < 0.3
    noisy = paired_retrieval(x, x + 0.3 * rng.normal(size=x.shape))
    assert noisy["p_at_1"] > 0.9


def test_a_text_longer_than_the_models_positions_is_cut_not_an_error():
    from core.text.embeddings import embed_language

    model, tok = xlm.build(xlm.XlingConfig(steps=1, **TINY))  # 128 positions
    emb = embed_language(xlm._loaded(model, tok), "en", ["and the LORD said " * 100, "Amen."])
    assert emb.sentence_vecs.shape[:2] == (7, 2)  # every layer, both texts
