"""The tab's built-in questions: a seeded draw from the test split, and gold spans that stay
with the audio they were voiced for."""
from __future__ import annotations

import numpy as np
import pytest

from core.spoken_qa import held_out
from core.spoken_qa.data import examples, load_records


def test_examples_are_a_seeded_draw_of_test_questions_only():
    records = load_records()
    picked = held_out.pick(records)
    test_ids = {e["id"] for e in examples(records, "test")}
    assert len(picked) == held_out.EXAMPLE_COUNT
    assert all(e["id"] in test_ids for e in picked)
    assert [e["id"] for e in held_out.pick(records)] == [e["id"] for e in picked]  # stable
    assert [e["id"] for e in held_out.pick(records, seed=1)] != [e["id"] for e in picked]
    assert held_out.rule(records) == {"n": held_out.EXAMPLE_COUNT, "total": len(test_ids),
                                      "seed": held_out.EXAMPLE_SEED}


def test_a_gold_span_matches_its_audio_after_16_bit_rounding_and_nothing_else():
    rng = np.random.default_rng(0)
    wave = (rng.standard_normal(48_000) * 0.1).astype(np.float32)
    gold = {"start_s": 1.0, "end_s": 1.5, "samples": len(wave),
            "signature": held_out.signature(wave)}
    rounded = np.round(np.clip(wave, -1, 1) * 32767).astype(np.int16) / 32768.0
    assert held_out.matches(gold, rounded)
    louder_end = wave.copy()
    louder_end[-8_000:] *= 3
    assert not held_out.matches(gold, louder_end)  # same length, other audio
    assert not held_out.matches(gold, wave[:-1])  # one sample shorter
    assert not held_out.matches(None, wave) and not held_out.matches({}, wave)


@pytest.mark.parametrize("pred, ff1, aos, hit", [
    ((1.0, 1.5), 1.0, 1.0, True),  # exact
    ((1.25, 1.75), 0.5, 1 / 3, True),  # half of each: P = R = 0.5, overlap 0.25 of 0.75
    ((2.0, 3.0), 0.0, 0.0, False),  # disjoint
    ((0.0, 1.0), 0.0, 0.0, False),  # touching is no overlap
])
def test_judging_a_span_against_the_true_one(pred, ff1, aos, hit):
    got = held_out.judge(pred, {"start_s": 1.0, "end_s": 1.5})
    assert got["ff1"] == pytest.approx(ff1) and got["aos"] == pytest.approx(aos)
    assert got["hit"] is hit
