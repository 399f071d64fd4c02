"""Spoken-QA tab: the answer to a spoken question, found in spoken audio with no text at all.

The page; its handlers (and API endpoints) are in demos.spoken_qa_handlers."""
from __future__ import annotations

import gradio as gr

from core.speech import audio, voice
from core.speech.extractors import CODEBOOK_KS, VTLN, available_extractors
from core.spoken_qa import config, held_out, view
from core.spoken_qa.config import RANDOM_SHIP_DIR, shipped_meta, twin_folder
from core.spoken_qa.data import load_records
from demos import spoken_qa_handlers as h
from demos.common import (
    LAUNCH,
    MAX_UPLOAD_MB,
    download_panel,
    localized_examples,
    localized_frame,
    localized_plot,
    standalone,
    stop,
)
from demos.i18n import rendered, speaker, t, text


def intro(ref: dict | None, meta: dict | None, twin: dict | None = None,
          locale: str = "en") -> str:
    """The finding, then what this lab's committed run and model actually show (read from
    reference.json and the shipped models' qa.json, never typed in), in `locale`; twin:
    qa.json of the shipped random-init model, when there is one."""
    parts = [text("sqa.finding", locale)]
    if meta is not None:
        parts.append(text("sqa.here", locale, extractor=meta["extractor"], k=meta["k"],
                          unit_map=meta["unit_map"], model=meta["model"])
                     + (text("sqa.here_vtln", locale) if meta["extractor"] == VTLN else ""))
    expect = [text("sqa.expect_title", locale)]
    if ref is not None and {"pretrained", "random"} <= set(ref["runs"]):
        p, r, cfg = ref["runs"]["pretrained"], ref["runs"]["random"], ref["config"]
        dual = view.DUAL_NMSQA
        expect.append(text("sqa.expect_reference", locale, steps=cfg["steps"],
                           batch=cfg["batch_size"], p_ff1=p["ff1"], p_aos=p["aos"],
                           r_ff1=r["ff1"], r_aos=r["aos"], dual_ff1=dual["ff1"],
                           dual_aos=dual["aos"], dual_questions=view.DUAL_TRAIN_QUESTIONS))
    if meta is not None and "shipped_test" in meta:
        expect.append(text("sqa.expect_shipped", locale, mb=meta["bytes"] / 1e6,
                           ff1=meta["shipped_test"]["ff1"]))
        if twin is not None and "shipped_test" in twin:
            expect.append(text("sqa.expect_twin", locale, ff1=twin["shipped_test"]["ff1"]))
    expect.append(text("sqa.expect_own", locale, limit=h.LIVE.limit_per_split,
                       layers=h.LIVE.layers, window=h.LIVE.window, steps=h.LIVE.steps))
    return "\n\n".join(parts + [" ".join(expect)])


def _examples() -> list[list[str]]:
    """The held-out test questions of core.spoken_qa.held_out.pick, to voice in a click."""
    return [[e["text"], e["question"], e["voice"]] for e in h.examples()]


def examples_label(locale: str = "en") -> str:
    """How the examples were chosen and how often to expect a hit (read from the shipped
    model's test score), in `locale`."""
    rule = held_out.rule(load_records())
    return (text("sqa.examples_rule", locale, **rule) + " " + h.expect_text(locale)).strip()


def _reference_panel(ref: dict | None, page: gr.Blocks) -> None:
    with gr.Accordion(t("sqa.reference_accordion"), open=True):
        if ref is None:
            gr.Markdown(t("sqa.no_reference"))
            return
        gr.Markdown(rendered("sqa.reference_summary",
                             lambda loc: view.reference_summary(ref, speaker(loc))))
        with gr.Row():
            scores = view.reference_figure(ref)
            localized_plot(page, gr.Plot(scores, label=t("sqa.reference_scores_plot"),
                                         elem_id="sqa-reference-scores"), scores)
            curves = view.curves_figure({i: r["curve"] for i, r in ref["runs"].items()},
                                        "reference training curves")
            localized_plot(page, gr.Plot(curves, label=t("sqa.reference_curves"),
                                         elem_id="sqa-reference-curves"), curves)
        rows = view.reference_table(ref)
        localized_frame(page, gr.Dataframe(rows, headers=h.SCORE_HEADERS, interactive=False,
                                           label=t("sqa.reference_scores")),
                        rows, h.SCORE_HEADERS)
        download_panel(ref, "spoken-qa-reference", t("sqa.download_reference"))
        runs = config.load_runs(ref)
        if len(runs) > 1:
            rows = view.comparison_rows(runs)
            localized_frame(page, gr.Dataframe(rows, headers=view.RUN_COLUMNS,
                                               interactive=False, label=t("sqa.runs"),
                                               wrap=True, column_widths=view.RUN_WIDTHS,
                                               elem_id="sqa-runs"), rows, view.RUN_COLUMNS)


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
    gr.Markdown(rendered("sqa.intro", lambda loc: intro(ref, meta, twin, loc)))
    _reference_panel(ref, page)
    gr.Markdown(t("sqa.ask_title"))
    can_voice = voice.espeak_available()
    if not can_voice:
        gr.Markdown(t("sqa.no_espeak", hint=voice.INSTALL_HINT), elem_id="sqa-no-espeak")
    with gr.Row():
        with gr.Column():
            p_audio = gr.Audio(sources=["upload", "microphone"], type="filepath",
                               label=t("sqa.passage_audio", seconds=audio.MAX_PASSAGE_S,
                                       mb=MAX_UPLOAD_MB),
                               elem_id="sqa-passage-audio")
            p_text = gr.Textbox(lines=3, label=t("sqa.passage_text"))
            p_btn = gr.Button(t("sqa.voice_passage"), interactive=can_voice)
        with gr.Column():
            q_audio = gr.Audio(sources=["upload", "microphone"], type="filepath",
                               label=t("sqa.question_audio", seconds=audio.MAX_QUESTION_S,
                                       mb=MAX_UPLOAD_MB),
                               elem_id="sqa-question-audio")
            q_text = gr.Textbox(lines=2, label=t("sqa.question_text"))
            voice_name = gr.Dropdown(voices, value=voice.DEFAULT_VOICE, label=t("sqa.voice"))
            q_btn = gr.Button(t("sqa.voice_question"), interactive=can_voice)
    gold = gr.State(None)  # the true span of a voiced built-in example
    localized_examples(page, gr.Examples(
        _examples(), [p_text, q_text, voice_name], [p_audio, q_audio, gold],
        fn=h.voice_pair, run_on_click=True, cache_examples=False,
        label=rendered("sqa.examples", examples_label), elem_id="sqa-examples"))
    ex_btn = gr.Button(t("sqa.examples_download"), size="sm", interactive=can_voice)
    ex_json = gr.JSON(visible=False)
    ex_files = gr.File(label=t("sqa.examples_files"), file_count="multiple", interactive=False,
                       visible=False, elem_id="sqa-example-files")
    ask = gr.Button(t("sqa.ask"), variant="primary")
    with gr.Row():
        start = gr.Number(label=t("sqa.start"), precision=2)
        end = gr.Number(label=t("sqa.end"), precision=2)
        clip = gr.Audio(label=t("sqa.clip"), type="filepath")
    figure = gr.Plot(label=t("sqa.answer_plot"), elem_id="sqa-answer-plot")
    judged = gr.Markdown(elem_id="sqa-verdict")
    read = gr.Markdown(elem_id="sqa-read")
    with gr.Accordion(t("sqa.stages_accordion"), open=False):
        stages = localized_frame(page, gr.Dataframe(headers=h.STAGE_HEADERS, interactive=False),
                                 [], h.STAGE_HEADERS)
        details = gr.JSON(label=t("sqa.details"))
    with gr.Accordion(t("sqa.unit_map_accordion"), open=False):
        gr.Markdown(t("sqa.unit_map_note"))
        unit_map = gr.Dataframe(headers=h.UNIT_MAP_HEADERS,  # filled on load, in its language
                                interactive=False, max_height=300, elem_id="sqa-unit-map")
    with gr.Accordion(t("sqa.units_accordion"), open=False):
        with gr.Row():
            u_audio = gr.Audio(sources=["upload", "microphone"], type="filepath",
                               label=t("sqa.clip_in"))
            extractor = gr.Dropdown(available_extractors(), value=config.DEFAULT_EXTRACTOR,
                                    label=t("sqa.extractor"))
            k = gr.Dropdown(list(CODEBOOK_KS), value=config.DEFAULT_K, label="k",
                            allow_custom_value=True,  # "128" and 128 both work in the API
                            info=t("sqa.k_info", ks=", ".join(map(str, CODEBOOK_KS))))
        u_btn = gr.Button(t("sqa.units"))
        u_json = gr.JSON(label=t("sqa.units_json"))
    gr.Markdown(t("sqa.train_title"))
    gr.Markdown(rendered("sqa.live_finding", h.live_text), elem_id="sqa-live-finding")
    with gr.Row():
        init = gr.Radio(list(zip([t("sqa.init_pretrained"), t("sqa.init_random"),
                                   t("sqa.init_both")], h.INIT_CHOICES)),
                        value="both", label=t("sqa.init"))
        steps = gr.Slider(5, 200, value=h.LIVE.steps, step=5, elem_id="sqa-steps", label=rendered(
            "sqa.steps_label", lambda loc: h.steps_text(loc, ref)))
        seed = gr.Number(0, precision=0, label=t("common.seed"))
    with gr.Row():
        run_btn = gr.Button(t("sqa.train"), variant="primary")
        stop_btn = gr.Button(t("common.stop"))
    curves = gr.Plot(label=t("sqa.curves"), elem_id="sqa-train-plot")
    with gr.Row():
        scores = localized_frame(page, gr.Dataframe(headers=h.SCORE_HEADERS, interactive=False,
                                                    label=t("sqa.scores"), scale=2),
                                 [], h.SCORE_HEADERS)
        files = gr.File(label=t("sqa.files"),
                        file_count="multiple", interactive=False, scale=1)
    with gr.Accordion(t("common.metrics_accordion"), open=False):
        metrics = gr.JSON(label=t("common.metrics"), open=False)

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
    ex_btn.click(h.example_set, None, [ex_json, ex_files], api_name="speech_qa_examples") \
        .success(lambda: gr.File(visible=True), None, ex_files, api_visibility="private")
    run_event = run_btn.click(h.train, [init, steps, seed], [curves, metrics],
                              api_name="speech_qa_train", concurrency_limit=1)
    run_event.success(h.run_tables, metrics, [scores, files], api_visibility="private")
    stop_btn.click(stop, None, None, queue=False, api_visibility="private")


if __name__ == "__main__":
    build().queue().launch(**LAUNCH)
