"""core.spoken_qa.model and core.spoken_qa.metrics: windows, labels, DUAL decoding, FF1/AOS,
and a short training run through the shared loop on a tiny random-init encoder."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.common.errors import InputError
from core.common.training import TrainConfig, batch_sampler, train
from core.speech import frames, units, voice
from core.speech.unit_tokens import OffsetMap
from core.spoken_qa import data, voicing
from core.spoken_qa import model as qa
from core.spoken_qa.metrics import aos, frame_f1, scores_by, span_scores

needs_espeak = pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)
# Windows that fit the tiny test encoder (128 positions).
TINY = qa.QAConfig(max_len=128, stride=24, max_question_tokens=40, max_answer_units=60)
K = 32  # units in the codebook fitted for the tests


pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------------------ metrics
@pytest.mark.parametrize("pred,gold,f1,overlap_over_union", [
    ((0.0, 1.0), (2.0, 3.0), 0.0, 0.0),  # disjoint
    ((0.0, 1.0), (1.0, 2.0), 0.0, 0.0),  # touching only
    ((1.0, 2.0), (0.0, 4.0), 0.4, 0.25),  # nested: P = 1, R = 1/4
    ((0.0, 4.0), (1.0, 2.0), 0.4, 0.25),  # nested the other way: P = 1/4, R = 1
    ((1.0, 3.0), (1.0, 3.0), 1.0, 1.0),  # identical
    ((1.0, 3.0), (2.0, 4.0), 0.5, 1 / 3),  # partial: overlap 1 s, union 3 s
    ((0.5, 2.5), (2.0, 3.0), 2 * 0.25 * 0.5 / 0.75, 0.5 / 2.5),  # P = .5/2, R = .5/1
    ((2.0, 2.0), (2.0, 2.0), 1.0, 0.0),  # DUAL's script: an exact empty match has F1 1
])
def test_ff1_and_aos_by_hand(pred, gold, f1, overlap_over_union):
    assert frame_f1(pred, gold) == pytest.approx(f1)
    assert aos(pred, gold) == pytest.approx(overlap_over_union)


def test_span_scores_average_and_reject_bad_spans():
    scores = span_scores([(1.0, 3.0), (0.0, 1.0)], [(2.0, 4.0), (0.0, 1.0)])
    assert scores == {"ff1": pytest.approx(0.75), "aos": pytest.approx(2 / 3), "n": 2}
    with pytest.raises(InputError, match="ends before it starts"):
        frame_f1((2.0, 1.0), (0.0, 1.0))
    with pytest.raises(InputError, match="2 predicted spans but 1 gold"):
        span_scores([(0, 1), (0, 1)], [(0, 1)])
    with pytest.raises(InputError, match="finite"):
        aos((0.0, math.nan), (0.0, 1.0))


def test_scores_by_group_score_each_group_alone():
    preds, golds = [(1.0, 3.0), (0.0, 1.0), (5.0, 6.0)], [(2.0, 4.0), (0.0, 1.0), (0.0, 1.0)]
    by = scores_by(preds, golds, ["b", "a", "b"])
    assert list(by) == ["a", "b"]
    assert by["a"] == span_scores(preds[1:2], golds[1:2]) and by["a"]["ff1"] == 1.0
    assert by["b"] == {"ff1": pytest.approx(0.25), "aos": pytest.approx(1 / 6), "n": 2}
    with pytest.raises(ValueError):
        scores_by(preds, golds, ["a"])  # a key for every pair


# ------------------------------------------------------------------------------ windows
def test_windows_fit_cover_the_passage_and_overlap_by_the_stride():
    q, p = np.arange(10) + 2000, np.arange(300) + 3000
    wins = qa.make_windows(q, p, cls_id=101, sep_id=102, config=TINY)
    assert len(wins) > 1
    covered = np.zeros(len(p), dtype=bool)
    for w in wins:
        assert len(w.input_ids) <= TINY.max_len
        assert w.input_ids[0] == 101 and w.input_ids[11] == 102 and w.input_ids[-1] == 102
        assert np.array_equal(w.input_ids[1:11], q)
        assert np.array_equal(w.input_ids[w.passage_offset: w.passage_offset + w.unit_count],
                              p[w.unit_start: w.unit_start + w.unit_count])
        assert w.token_type_ids[:12].sum() == 0 and w.token_type_ids[12:].all()
        covered[w.unit_start: w.unit_start + w.unit_count] = True
    assert covered.all()
    for a, b in zip(wins[:-1], wins[1:]):
        assert a.unit_start + a.unit_count - b.unit_start == TINY.stride
    # every answer no longer than stride + 1 units lies whole in some window, and its
    # labels point at its own tokens
    for first in range(0, len(p) - TINY.stride):
        last = first + TINY.stride
        hits = [(w, qa.window_labels(w, first, last)) for w in wins]
        hits = [(w, lab) for w, lab in hits if lab != (0, 0)]
        assert hits, (first, last)
        for w, (s, e) in hits:
            assert w.input_ids[s] == p[first] and w.input_ids[e] == p[last]


def test_a_window_too_small_for_the_stride_is_refused():
    wide = qa.QAConfig(max_len=128, stride=90, max_question_tokens=40)
    with pytest.raises(InputError, match="stride"):
        qa.make_windows(np.arange(100), np.arange(50), cls_id=101, sep_id=102, config=wide)
    with pytest.raises(InputError, match="stride"):
        qa.fit_config(wide, type("Cfg", (), {"max_position_embeddings": 512})())
    with pytest.raises(InputError, match="at least one unit"):
        qa.make_windows([], np.arange(50), cls_id=101, sep_id=102, config=TINY)


def test_labels_map_back_to_the_answer_seconds():
    runs = units.dedup(np.array([3, 3, 5, 5, 5, 7, 2, 2, 9, 9, 9, 9, 4]))  # 13 frames
    # 0.06-0.18 s = frames 3..8: runs 1 (frames 2-4) .. 4 (frames 8-11)
    first, last = qa.answer_units(runs, 0.06, 0.18)
    assert (first, last) == (1, 4)
    assert qa.units_to_seconds(runs, first, last) == pytest.approx((0.04, 0.24))
    # on run boundaries the span maps back exactly
    assert qa.units_to_seconds(runs, *qa.answer_units(runs, 0.10, 0.16)) == \
        pytest.approx((0.10, 0.16))
    with pytest.raises(InputError, match="end after it starts"):
        qa.answer_units(runs, 0.2, 0.1)


# ------------------------------------------------------------------------------ decoder
def test_decoder_picks_the_best_valid_pair_by_hand():
    start, end = np.full(12, -5.0), np.full(12, -5.0)
    start[9], end[5], end[10] = 4.0, 6.0, 3.0  # the best end comes before the best start
    score, s, e = qa.best_span(start, end, 4, 12, top_k=3)
    assert (s, e) == (9, 10)
    ls, le = torch.log_softmax(torch.tensor(start), 0), torch.log_softmax(torch.tensor(end), 0)
    assert score == pytest.approx(0.4 * float(ls[9]) + 0.6 * float(le[10]), abs=1e-5)
    # max span: start 4 and end 11 are each best but 8 units apart
    start, end = np.zeros(12), np.zeros(12)
    start[4], end[11], end[6] = 5.0, 5.0, 2.0
    assert qa.best_span(start, end, 4, 12, max_answer_units=3)[1:] == (4, 6)
    # the question part (positions < lo) is never chosen
    start, end = np.zeros(12), np.zeros(12)
    start[1], end[2] = 9.0, 9.0
    assert qa.best_span(start, end, 4, 12)[1] >= 4


def test_decode_takes_the_best_window_and_returns_passage_units():
    wins = qa.make_windows(np.arange(5) + 2000, np.arange(200) + 3000, cls_id=101,
                           sep_id=102, config=TINY)
    logits_s, logits_e = np.zeros((len(wins), 128)), np.zeros((len(wins), 128))
    w = wins[1]
    logits_s[1, w.passage_offset + 7] = logits_e[1, w.passage_offset + 9] = 8.0
    logits_s[0, wins[0].passage_offset + 3] = logits_e[0, wins[0].passage_offset + 4] = 4.0
    span = qa.decode(logits_s, logits_e, wins, TINY)
    assert span.window == 1 and (span.first, span.last) == (w.unit_start + 7,
                                                            w.unit_start + 9)


@pytest.fixture(scope="module")
def unit_map(tiny_model):
    return OffsetMap(tiny_model.tokenizer, K)


def test_tiny_random_model_returns_a_valid_span(tiny_model, unit_map):
    model = qa.build_qa_model("random", base=tiny_model.model, seed=0).eval()
    rng = np.random.default_rng(0)
    runs = units.dedup(rng.integers(0, K, size=900))
    pred = qa.predict(model, unit_map, rng.integers(0, K, size=30), runs, TINY)
    assert 0 <= pred.first <= pred.last < len(runs.units)
    assert pred.last - pred.first < TINY.max_answer_units
    assert (pred.start_s, pred.end_s) == qa.units_to_seconds(runs, pred.first, pred.last)
    assert 0.0 < pred.confidence <= 1.0


def test_inits_copy_or_redraw_the_encoder(tiny_model):
    base = tiny_model.model
    pre = qa.build_qa_model("pretrained", base=base, seed=1)
    rnd = qa.build_qa_model("random", base=base, seed=1)
    w = "embeddings.word_embeddings.weight"
    assert torch.equal(pre.encoder.state_dict()[w], base.state_dict()[w])
    assert not torch.equal(rnd.encoder.state_dict()[w], base.state_dict()[w])
    assert torch.equal(pre.head.weight, rnd.head.weight)  # same seed, same head
    assert pre.encoder.config.to_dict() == base.config.to_dict()
    with pytest.raises(InputError, match="unknown init 'mlm'"):
        qa.build_qa_model("mlm", base=base)


def test_a_cheaper_body_keeps_the_first_layers_for_both_starts(tiny_model):
    base = tiny_model.model
    n = base.config.num_hidden_layers
    pre = qa.build_qa_model("pretrained", base=base, seed=1, layers=1)
    rnd = qa.build_qa_model("random", base=base, seed=1, layers=1)
    assert len(pre.encoder.encoder.layer) == len(rnd.encoder.encoder.layer) == 1 < n
    first = "encoder.layer.0.attention.self.query.weight"
    assert torch.equal(pre.encoder.state_dict()[first], base.state_dict()[first])
    assert not torch.equal(rnd.encoder.state_dict()[first], base.state_dict()[first])
    assert base.config.num_hidden_layers == n  # the English model itself is untouched
    with pytest.raises(InputError, match=f"layers must be between 1 and {n}, got {n + 1}"):
        qa.build_qa_model("random", base=base, layers=n + 1)


# ---------------------------------------------------------------- voiced end to end
@pytest.fixture(scope="module")
def voiced_items():
    """Three voiced questions as MFCC units, with a codebook fitted on their passages."""
    records = data.build_text_set(data.DEFAULT_SEED)
    rec = next(r for r in records if len(r["questions"]) >= 3)
    voiced = [voicing.voice_example(ex) for ex in data.examples([rec])[:3]]
    ex = frames.MfccExtractor()
    codebook = units.fit_codebook(ex(voiced[0].passage), K, seed=0)
    return [qa.QAItem(units.speech_units(v.question, ex, codebook).units,
                      units.speech_units(v.passage, ex, codebook), v.start_s, v.end_s)
            for v in voiced]


@needs_espeak
def test_voiced_answer_units_cover_the_answer_span(voiced_items):
    for item in voiced_items:
        first, last = qa.answer_units(item.passage, item.start_s, item.end_s)
        start_s, end_s = qa.units_to_seconds(item.passage, first, last)
        assert start_s <= item.start_s + frames.HOP_S and end_s >= item.end_s - frames.HOP_S
        # off by at most the edge runs' own length
        assert item.start_s - start_s <= item.passage.end_s[first] - start_s
        assert end_s - item.end_s <= end_s - item.passage.start_s[last]


@needs_espeak
def test_short_training_run_lowers_the_loss(tiny_model, unit_map, voiced_items):
    batch = qa.encode_items(voiced_items, unit_map, TINY)
    n = len(batch["input_ids"])
    assert batch["input_ids"].shape[1] <= TINY.max_len
    assert (batch["start_positions"] > 0).sum() >= len(voiced_items)  # every answer in a window
    assert (batch["start_positions"] <= batch["end_positions"]).all()
    model = qa.build_qa_model("random", base=tiny_model.model, seed=0)
    config = TrainConfig(max_steps=30, batch_size=n, lr=2e-3, warmup_steps=3, seed=0)
    losses = [e.loss for e in train(model, batch_sampler(batch, n), config, device="cpu",
                                    evaluate=lambda m: qa.evaluate(m, unit_map,
                                                                   voiced_items, TINY))]
    assert all(math.isfinite(x) for x in losses)
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    metrics = qa.evaluate(model, unit_map, voiced_items, TINY)
    assert metrics["n"] == 3 and 0.0 <= metrics["aos"] <= metrics["ff1"] <= 1.0


@needs_espeak
def test_span_loss_is_the_mean_window_loss_of_the_answer_windows(tiny_model, unit_map,
                                                                  voiced_items):
    batch = qa.encode_items(voiced_items, unit_map, TINY)
    answers = qa.answer_windows(batch)
    assert (answers["start_positions"] > 0).all() and len(answers["input_ids"]) >= 3
    model = qa.build_qa_model("random", base=tiny_model.model, seed=0).train()
    with torch.no_grad():
        model.eval()
        by_hand = np.mean([float(model(**{k: v[i:i + 1] for k, v in answers.items()}).loss)
                           for i in range(len(answers["input_ids"]))])
    model.train()
    assert qa.span_loss(model, answers, batch_size=2) == pytest.approx(by_hand, rel=1e-5)
    assert model.training  # left as it was found
    assert math.isnan(qa.span_loss(model, {k: v[:0] for k, v in answers.items()}))
