"""Spoken-QA tab: the answer to a spoken question, found in spoken audio with no text at all.

The page; its handlers (and API endpoints) are in demos.spoken_qa_handlers."""
from __future__ import annotations

import gradio as gr

from core.speech import audio, voice
from core.speech.extractors import CODEBOOK_KS, available_extractors
from core.spoken_qa import config, held_out, view
from core.spoken_qa.config import RANDOM_SHIP_DIR, shipped_meta, twin_folder
from core.spoken_qa.data import load_records
from demos import spoken_qa_handlers as h
from demos.common import LAUNCH, MAX_UPLOAD_MB, download_panel, standalone, stop

FINDING = """
**Finding.** Turn speech into discrete units (k-means clusters of 20 ms frames), merge repeats,
write each unit as a word of a *text* model's vocabulary, and fine-tune that text model to mark
the answer span: it finds answers in spoken passages without any speech recognition, and it
works only when the text model starts from its English pretraining; the same network from
random init barely learns (Lin et al. 2022, *DUAL: Discrete Spoken Unit Adaptive Learning for
Textless Spoken Question Answering*).
"""


def intro(ref: dict | None, meta: dict | None, twin: dict | None = None) -> str:
    """The finding, then what this lab's committed run and model actually show (read from
    reference.json and the shipped models' qa.json, never typed in); twin: qa.json of the
    shipped random-init model, when there is one."""
    parts = [FINDING.strip()]
    if meta is not None:
        parts.append(f"**Here.** {meta['extractor']} units (k={meta['k']}), DUAL's "
                     f"{meta['unit_map']} unit -> token map, {meta['model']} (English) and a span "
                     "head, trained on BBC News passages and generated questions voiced by "
                     "espeak-ng; the test voices are never heard in training.")
    expect = ["**What to expect here.**"]
    if ref is not None and {"pretrained", "random"} <= set(ref["runs"]):
        p, r, cfg = ref["runs"]["pretrained"], ref["runs"]["random"], ref["config"]
        dual = view.DUAL_NMSQA
        expect.append(f"The reference run below ({cfg['steps']} steps of {cfg['batch_size']} "
                      f"windows from each start) scores test FF1 {p['ff1']:.3f} / AOS "
                      f"{p['aos']:.3f} from the pretrained start against {r['ff1']:.3f} / "
                      f"{r['aos']:.3f} from random init. DUAL reports {dual['ff1']:.3f} / "
                      f"{dual['aos']:.3f} on NMSQA, with HuBERT units and full fine-tuning on "
                      f"{view.DUAL_TRAIN_QUESTIONS:,} questions.")
    if meta is not None and "shipped_test" in meta:
        expect.append(f"The model answering your questions is that pretrained run, shipped as "
                      f"a {meta['bytes'] / 1e6:.1f} MB change over the packaged model (test FF1 "
                      f"{meta['shipped_test']['ff1']:.3f}).")
        if twin is not None and "shipped_test" in twin:
            expect.append(f"Beside it answers the random-init run of the same settings, "
                          f"shipped the same way (test FF1 {twin['shipped_test']['ff1']:.3f}): "
                          "both spans are drawn on every passage, so you can see which start "
                          "finds answers.")
    expect.append("Your own training run below is the short version (the first "
                  f"{h.UI_RUN['limit_per_split']} passages of each split).")
    return "\n\n".join(parts + [" ".join(expect)])


def _examples() -> list[list[str]]:
    """The held-out test questions of core.spoken_qa.held_out.pick, to voice in a click."""
    return [[e["text"], e["question"], e["voice"]] for e in h.examples()]


def examples_label() -> str:
    """How the examples were chosen and how often to expect a hit (read from the shipped
    model's test score)."""
    return (f"Held-out test questions: {held_out.rule_text(load_records())}. A click voices "
            "one as the test set is voiced, so the true answer is known and drawn. "
            + h.expect_text()).strip()


def _reference_panel(ref: dict | None) -> None:
    with gr.Accordion("Reference run: pretrained vs random init on the test voices", open=True):
        if ref is None:
            gr.Markdown("No reference run is committed yet: `python -m core train-spoken-qa`.")
            return
        gr.Markdown(view.reference_summary(ref))
        with gr.Row():
            gr.Plot(view.reference_figure(ref), label="Test FF1 / AOS",
                    elem_id="sqa-reference-scores")
            gr.Plot(view.curves_figure({i: r["curve"] for i, r in ref["runs"].items()},
                                       "reference training curves"),
                    label="Reference curves", elem_id="sqa-reference-curves")
        gr.Dataframe(view.reference_table(ref), headers=["starting point", "test FF1",
                                                          "test AOS", "questions", "dev FF1"],
                     interactive=False, label="Reference scores")
        download_panel(ref, "spoken-qa-reference",
                       "Download the reference run (JSON, CSV: scores, curves, config)")
        runs = config.load_runs(ref)
        if len(runs) > 1:
            gr.Dataframe(view.comparison_rows(runs), headers=view.RUN_COLUMNS,
                         interactive=False,
                         label="Every committed run: units, codebook and test scores "
                               "(python -m core train-spoken-qa --out assets/spoken_qa/runs/...)",
                         elem_id="sqa-runs")


def build() -> gr.Blocks:
    """The tab as a page of its own (python -m demos.spoken_qa)."""
    return standalone(populate)


def populate(page: gr.Blocks) -> None:
    """The tab's components and events, built into the layout being built (a page of
    its own, or a tab of the lab); page-level events (load, unload) attach to `page`."""
    voices = voice.available_voices()
    ref = config.load_reference()  # read once for the intro and the panel
    meta = shipped_meta()
    twin = shipped_meta(RANDOM_SHIP_DIR) if meta and twin_folder(meta) else None
    gr.Markdown(intro(ref, meta, twin))
    _reference_panel(ref)
    gr.Markdown("### Ask a spoken question")
    can_voice = voice.espeak_available()
    if not can_voice:
        gr.Markdown(f"**Voicing is off:** {voice.INSTALL_HINT}. Upload or record the passage "
                    "and the question instead; answering works without it.",
                    elem_id="sqa-no-espeak")
    with gr.Row():
        with gr.Column():
            p_audio = gr.Audio(sources=["upload", "microphone"], type="filepath",
                               label=f"Spoken passage (up to {audio.MAX_PASSAGE_S:.0f} s, "
                                     f"{MAX_UPLOAD_MB} MB)",
                               elem_id="sqa-passage-audio")
            p_text = gr.Textbox(lines=3, label="...or type a passage to voice")
            p_btn = gr.Button("Voice passage", interactive=can_voice)
        with gr.Column():
            q_audio = gr.Audio(sources=["upload", "microphone"], type="filepath",
                               label=f"Spoken question (up to {audio.MAX_QUESTION_S:.0f} s, "
                                     f"{MAX_UPLOAD_MB} MB)",
                               elem_id="sqa-question-audio")
            q_text = gr.Textbox(lines=2, label="...or type a question to voice")
            voice_name = gr.Dropdown(voices, value=voice.DEFAULT_VOICE, label="Voice")
            q_btn = gr.Button("Voice question", interactive=can_voice)
    gold = gr.State(None)  # the true span of a voiced built-in example
    gr.Examples(_examples(), [p_text, q_text, voice_name], [p_audio, q_audio, gold],
                fn=h.voice_pair, run_on_click=True, cache_examples=False,
                label=examples_label(), elem_id="sqa-examples")
    ask = gr.Button("Find the answer", variant="primary")
    with gr.Row():
        start = gr.Number(label="answer starts (s)", precision=2)
        end = gr.Number(label="answer ends (s)", precision=2)
        clip = gr.Audio(label="The answer, cut from the passage", type="filepath")
    figure = gr.Plot(label="Passage waveform, units and answer", elem_id="sqa-answer-plot")
    judged = gr.Markdown(elem_id="sqa-verdict")
    read = gr.Markdown(elem_id="sqa-read")
    with gr.Accordion("Every stage, from audio to span", open=False):
        stages = gr.Dataframe(headers=["stage", "output", "ms"], interactive=False)
        details = gr.JSON(label="Units, tokens and confidence")
    with gr.Accordion("Units -> text tokens: how the text model reads speech", open=False):
        gr.Markdown("Each unit id u is written as token id u + 1996 (DUAL's offset map: "
                    "1996 is *the*, where BERT's whole words begin). The words mean nothing "
                    "here; the pretrained model only brings what it learned about reading "
                    "token sequences. `python -m core train-spoken-qa --unit-map random` "
                    "trains with randomly drawn whole words instead.")
        unit_map = gr.Dataframe(headers=["unit", "token id", "token", "kind"],
                                interactive=False, max_height=300, elem_id="sqa-unit-map")
    with gr.Accordion("Read any clip as units", open=False):
        with gr.Row():
            u_audio = gr.Audio(sources=["upload", "microphone"], type="filepath",
                               label="Clip")
            extractor = gr.Dropdown(available_extractors(), value=config.DEFAULT_EXTRACTOR,
                                    label="Extractor")
            k = gr.Dropdown(list(CODEBOOK_KS), value=config.DEFAULT_K, label="k",
                            allow_custom_value=True,  # "128" and 128 both work in the API
                            info="units in the codebook: "
                                 + ", ".join(map(str, CODEBOOK_KS)))
        u_btn = gr.Button("Units")
        u_json = gr.JSON(label="Units with times")
    gr.Markdown("### Train it yourself")
    with gr.Row():
        init = gr.Radio(h.INIT_CHOICES, value="both", label="Starting point")
        steps = gr.Slider(5, 200, value=20, step=5, label=view.steps_label(ref),
                          elem_id="sqa-steps")
        seed = gr.Number(0, precision=0, label="Seed")
    with gr.Row():
        run_btn = gr.Button("Train", variant="primary")
        stop_btn = gr.Button("Stop")
    curves = gr.Plot(label="Training curves", elem_id="sqa-train-plot")
    with gr.Row():
        scores = gr.Dataframe(headers=["starting point", "test FF1", "test AOS",
                                       "questions", "dev FF1"], interactive=False,
                              label="Scores on the held-out test voices", scale=2)
        files = gr.File(label="Download this run (JSON, CSV: scores, curves, config)",
                        file_count="multiple", interactive=False, scale=1)
    with gr.Accordion("Metrics (full precision, as the API returns them)", open=False):
        metrics = gr.JSON(label="Metrics", open=False)

    p_btn.click(h.voice_text, [p_text, voice_name], p_audio, api_name="speech_qa_voice")
    q_btn.click(h.voice_text, [q_text, voice_name], q_audio, api_visibility="private")
    answered = ask.click(h.answer, [p_audio, q_audio, gold],
                         [start, end, clip, figure, details],
                         api_name="speech_qa_answer", concurrency_limit=2)
    answered.success(h.stage_rows, details, stages, api_visibility="private")
    answered.success(h.verdict, details, judged, api_visibility="private")
    answered.success(h.tokens_read, details, read, api_visibility="private")
    # filled on page load (the shipped model loads lazily), not a public endpoint
    page.load(h.unit_map_rows, None, unit_map, api_visibility="private")
    page.load(h.steps_slider, None, steps, api_visibility="private")
    u_btn.click(h.units, [u_audio, extractor, k], u_json, api_name="speech_qa_units")
    run_event = run_btn.click(h.train, [init, steps, seed], [curves, metrics],
                              api_name="speech_qa_train", concurrency_limit=1)
    run_event.success(h.run_tables, metrics, [scores, files], api_visibility="private")
    stop_btn.click(stop, None, None, queue=False, api_visibility="private")


if __name__ == "__main__":
    build().queue().launch(**LAUNCH)
