"""The spoken-QA tab served alone: its public API through gradio_client, the page in Chromium."""
from __future__ import annotations

import time

import pytest

from conftest import open_page, set_sliders, wait_for_plot_title
from core import audio, spoken_qa_lab as lab, voice
from core.spoken_qa_data import examples

pytestmark = [pytest.mark.embedded,
              pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)]


def test_voice_answer_units_and_train_over_the_api(spoken_qa_url, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    ex = examples(lab.load_records(), "test")[1]
    client = Client(spoken_qa_url, verbose=False)
    p = client.predict(ex["text"], ex["voice"], api_name="/speech_qa_voice")
    q = client.predict(ex["question"], ex["voice"], api_name="/speech_qa_voice")
    length = audio.duration_s(audio.load_audio(p))
    assert length > 5
    start, end, clip, fig, details = client.predict(handle_file(p), handle_file(q),
                                                    api_name="/speech_qa_answer")
    assert isinstance(start, float) and 0 <= start < end <= length + 1e-6
    assert abs(audio.duration_s(audio.load_audio(clip)) - (end - start)) < 0.002
    assert "plot" in fig and len(details["stages"]) == 4
    units = client.predict(handle_file(q), "mfcc", 128, api_name="/speech_qa_units")
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


@pytest.fixture(scope="module")
def page(spoken_qa_url):
    yield from open_page(spoken_qa_url)


@pytest.mark.browser
def test_an_example_click_voices_it_and_the_answer_is_drawn(page, artifacts):
    page.get_by_text("Reference run: pretrained vs random").first.wait_for(timeout=60_000)
    page.locator("#sqa-reference-scores .js-plotly-plot").wait_for(timeout=60_000)
    page.locator("#sqa-examples tbody tr").first.click()  # voices passage and question
    for which in ("passage", "question"):
        page.locator(f"#sqa-{which}-audio a[download]").wait_for(timeout=60_000)
    page.get_by_role("button", name="Find the answer", exact=True).click()
    wait_for_plot_title(page, "t.textContent.startsWith('passage:')", timeout=120_000)
    start = page.get_by_label("answer starts (s)")
    assert float(start.input_value()) >= 0
    assert float(page.get_by_label("answer ends (s)").input_value()) > float(start.input_value())
    page.screenshot(path=str(artifacts / "spoken_qa_tab.png"), full_page=True)


@pytest.mark.browser
def test_training_streams_curves_and_stop_ends_it(page):
    set_sliders(page, {"Steps (~5 s each on 2 CPU cores)": "200"})
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_plot_title(page, "/training from pretrained init - \\d+ training windows, [1-9]"
                              "\\d*\\/400 steps/.test(t.textContent)", timeout=300_000)
    page.get_by_role("button", name="Stop", exact=True).click()
    titles = "() => [...document.querySelectorAll('#sqa-train-plot .gtitle')]" \
             ".map(t => t.textContent).join()"
    time.sleep(2)
    stopped = page.evaluate(titles)
    time.sleep(30)  # a running job would have logged ~6 more steps by now
    assert page.evaluate(titles) == stopped and "done" not in stopped
    assert page.get_by_role("button", name="Train", exact=True).is_enabled()
