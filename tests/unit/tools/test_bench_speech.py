"""`python -m core bench speech` on this machine: answering a minute of passage, extractor
speed and unit quality (uses the shipped QA model)."""
from __future__ import annotations

import pytest

from core.speech import voice
from core.speech.frames import num_frames

pytestmark = [pytest.mark.embedded, pytest.mark.usefixtures("one_thread")]
needs_espeak = pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)


@needs_espeak
def test_bench_speech_times_a_minute_of_passage_and_each_extractor():
    from core.tools.bench import speech as bench_speech

    result = bench_speech.run()
    ans = result["answer"]
    assert ans["passage_s"] == pytest.approx(60.0, abs=0.1) and ans["windows"] >= 5
    assert ans["wall_s_median"] > 0 and len(ans["wall_s_all"]) == bench_speech.REPEATS
    for name in ("mfcc", "tiny-hubert"):  # both ship; both read faster than real time
        ex = result["extractors"][name]
        assert ex["available"] and 0 < ex["real_time_factor"] < 1, name
        assert ex["frames"] == num_frames(60 * 16_000)
    hubert = result["extractors"]["hubert-base"]
    assert hubert["available"] or "embedded 'tiny-hubert'" in hubert["why"]
    quality = result["unit_quality"]
    assert set(quality) >= {f"{e}-k{k}" for e in ("mfcc", "tiny-hubert") for k in (64, 128, 512)}
    assert all(0 < q["ratio"] < 1 and q["takes"] == 96 for q in quality.values())
    assert all(set(q["by_voice"]) == set(voice.VOICES) for q in quality.values())
