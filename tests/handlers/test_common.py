"""What every tab's handlers share: numbers read from the UI or API, and error mapping."""
from __future__ import annotations

import gradio as gr
import pytest

from core.common.errors import InputError
from demos.common import MAX_SEED, seed_of, user_errors, whole


@pytest.mark.parametrize("value, want", [(3, 3), (3.0, 3), ("128", 128), (" 7 ", 7),
                                         ("1e2", 100)])
def test_whole_numbers_are_read_from_numbers_and_their_text(value, want):
    assert whole(value, "k") == want


@pytest.mark.parametrize("value, message", [
    (2.5, "layer must be a whole number between 0 and 12, got 2.5"),
    ("two", "layer must be a whole number between 0 and 12, got 'two'"),
    (None, "must be a whole number"),
    (float("nan"), "must be a whole number"),
    (13, "layer must be between 0 and 12, got 13"),
    ("x" * 10_000, "got 'xxxxxxxx"),
])
def test_fractions_text_and_out_of_range_values_are_named(value, message):
    with pytest.raises(InputError, match=message) as err:
        whole(value, "layer", 0, 12)
    assert len(str(err.value)) < 120  # a 10,000-character input is not echoed whole


@pytest.mark.parametrize("value", [-1, 2**70, MAX_SEED + 1])
def test_seeds_outside_32_bits_are_refused_with_the_range(value):
    with pytest.raises(InputError, match=f"seed must be between 0 and {MAX_SEED}"):
        seed_of(value)
    assert seed_of(MAX_SEED) == MAX_SEED and seed_of(0) == 0


def test_a_gr_error_passes_through_unchanged():
    """gr.Error is a ValueError: it keeps its own message and title, not re-wrapped."""
    @user_errors
    def plain():
        raise gr.Error("Train a model first", title="No model yet")

    @user_errors
    def streaming():
        yield 1
        raise gr.Error("Train a model first", title="No model yet")

    @user_errors
    def core_error():
        raise InputError("k must be between 1 and 6")

    for call in (plain, lambda: list(streaming())):
        with pytest.raises(gr.Error) as err:
            call()
        assert err.value.message == "Train a model first" and err.value.title == "No model yet"
    with pytest.raises(gr.Error) as err:
        core_error()
    assert err.value.message == "k must be between 1 and 6"
    assert err.value.title == "Cannot do that"


def test_gpu_holds_are_sized_to_each_event():
    """On ZeroGPU a call longer than its hold is cut off: training endpoints hold the GPU for
    their whole time budget; the map's details (cached vectors) take no GPU at all."""
    from core.common.timing import UI_BUDGET_S
    from demos import crosslingual, dna, pretrain, spoken_qa_handlers
    from demos.common import GPU_S, gpu

    for train in (dna.train, pretrain.run, spoken_qa_handlers.train):
        assert train.gpu_duration >= UI_BUDGET_S
    assert dna.predict.gpu_duration == crosslingual.draw_map.gpu_duration == GPU_S
    assert not hasattr(crosslingual.map_details, "gpu_duration")
    assert gpu(lambda: 1)() == 1 and gpu(duration=5)(lambda: 2).gpu_duration == 5
