"""The spoken-QA tab served alone: its public API through gradio_client (the page: tests/browser)."""
from __future__ import annotations

import pytest

from core.speech import audio, voice
from core.spoken_qa.data import examples, load_records

pytestmark = [pytest.mark.embedded,
              pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)]


def test_voice_answer_units_and_train_over_the_api(spoken_qa_url, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    ex = examples(load_records(), "test")[1]
    client = Client(spoken_qa_url, verbose=False)
    p = client.predict(ex["text"], ex["voice"], api_name="/speech_qa_voice")
    q = client.predict(ex["question"], ex["voice"], api_name="/speech_qa_voice")
    length = audio.duration_s(audio.load_audio(p))
    assert length > 5
    start, end, clip, fig, details = client.predict(handle_file(p), handle_file(q),
                                                    api_name="/speech_qa_answer")
    assert isinstance(start, float) and 0 <= start < end <= length + 1e-6
    assert abs(audio.duration_s(audio.load_audio(clip)) - (end - start)) < 0.002
    # + the voice warp (tiny-hubert-vtln) and the random-init twin's answer
    assert "plot" in fig and len(details["stages"]) == 6
    assert set(details["warp"]) == {"passage", "question"}
    assert details["spans"]["pretrained"]["start_s"] == start
    assert 0 <= details["spans"]["random"]["start_s"] < details["spans"]["random"]["end_s"]
    units = client.predict(handle_file(q), "mfcc", "128", api_name="/speech_qa_units")
    assert units["k"] == 128 and units["units"][0]["start_s"] == 0.0
    assert units["units"][-1]["end_s"] == pytest.approx(units["frames"] * 0.02)
    silence = audio.write_wav(tmp_path / "silence.wav", [0.0] * 16_000)
    with pytest.raises(AppError, match="silent"):
        client.predict(handle_file(str(silence)), handle_file(q), api_name="/speech_qa_answer")
    # the server is still up and answers the next request
    assert client.predict(handle_file(p), handle_file(q), api_name="/speech_qa_answer")[1] > 0
    fig, metrics = client.predict("pretrained", 5, 0, api_name="/speech_qa_train")
    assert metrics["init"] == "pretrained" and 0 <= metrics["ff1"] <= 1
    assert 0 <= metrics["aos"] <= 1 and metrics["runs"]["pretrained"]["n"] == 30


def test_the_examples_come_with_their_true_spans_and_audio_to_answer(spoken_qa_url):
    from pathlib import Path

    from gradio_client import Client, handle_file

    client = Client(spoken_qa_url, verbose=False)
    listing, files = client.predict(api_name="/speech_qa_examples")
    by_name = {Path(f).name: f for f in files}
    assert len(listing["examples"]) == listing["rule"]["n"] == 3 and "examples.json" in by_name
    ex = listing["examples"][0]
    passage = by_name[ex["passage_file"]]
    length = audio.duration_s(audio.load_audio(passage))
    assert 0 <= ex["start_s"] < ex["end_s"] <= length
    start, end, *_ = client.predict(handle_file(passage), handle_file(by_name[ex["question_file"]]),
                                    api_name="/speech_qa_answer")
    assert 0 <= start < end <= length + 1e-6  # a span of the passage, to compare with the true one


def test_uploads_are_capped_and_voicing_leaves_no_temporary_file(spoken_qa_url, tmp_path):
    import glob
    import os
    import tempfile

    import numpy as np
    import soundfile as sf
    from gradio_client import Client, handle_file

    from demos.common import MAX_UPLOAD_MB

    client = Client(spoken_qa_url, verbose=False)
    wavs = os.path.join(tempfile.gettempdir(), "*.wav")
    before = set(glob.glob(wavs))
    for _ in range(2):
        client.predict("The bank said profits rose.", "en-us", api_name="/speech_qa_voice")
    assert set(glob.glob(wavs)) <= before  # the answer lives in Gradio's swept cache only
    big = tmp_path / "big.wav"  # 16 kHz 16-bit mono: 32,000 bytes a second
    seconds = MAX_UPLOAD_MB * 2**20 // 32_000 + 60
    sf.write(big, np.zeros(16_000 * seconds, dtype=np.int16), 16_000)
    assert big.stat().st_size > MAX_UPLOAD_MB * 2**20
    with pytest.raises(Exception, match=r"(?i)too large|exceed|413|size"):
        client.predict(handle_file(str(big)), "mfcc", 128, api_name="/speech_qa_units")
