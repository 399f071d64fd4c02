"""Cross-lingual tab: language clusters, language mean vectors, centering and shift translation."""
from __future__ import annotations

import threading

import gradio as gr

from core.common.errors import InputError
from core.common.timing import UI_BUDGET_S, Eta
from core.crosslingual import sizes as corpus_sizes
from core.crosslingual import view as xl_view
from core.crosslingual.data import (
    DEFAULT_LANGUAGES,
    DEFAULT_LAYER,
    MAX_LINES,
    MAX_TEXT_CHARS,
    builtin_languages,
    language_label,
)
from core.text.models import available_multilingual, default_model, get_spec
from demos.common import (
    LAUNCH,
    STOPS,
    LazyModule,
    downloads,
    gpu,
    localized_choices,
    localized_examples,
    localized_frame,
    localized_plot,
    progress_callback,
    progress_text,
    seed_of,
    standalone,
    stop,
    stopped_title,
    table_value,
    user_errors,
    whole,
)
from demos.i18n import TABLES, localize, rendered, speaker, t

lab = LazyModule("core.crosslingual.lab")  # torch and the models load on first use
size_lab = LazyModule("core.crosslingual.size_lab")

SAMPLE_TEXT = "\n".join([
    "en: The cat sleeps on the warm roof.", "en: Water is life.",
    "en: Children have the right to education.",
    "de: Die Katze schläft auf dem warmen Dach.", "de: Wasser ist Leben.",
    "de: Kinder haben das Recht auf Bildung.",
    "fr: Le chat dort sur le toit chaud.", "fr: L'eau, c'est la vie.",
    "fr: Les enfants ont droit à l'éducation.",
    "zh: 猫睡在温暖的屋顶上。", "zh: 水是生命。", "zh: 儿童有受教育的权利。",
])
SAMPLE_LANGUAGES = ["en", "de", "fr", "zh"]  # the languages of SAMPLE_TEXT, in its order


def _lang_choices(locale: str = "en") -> list[tuple[str, str]]:
    """(name in `locale`, code) for every built-in language. Plain text, not a translation
    key: the examples table shows a choice's name as it was built, and gradio does not
    translate it there; a page in another language gets its names when it opens."""
    return [(localize(language_label(c), locale), c) for c in builtin_languages()]


def _localized_languages(page: gr.Blocks, *dropdowns: gr.Dropdown) -> None:
    for dropdown in dropdowns:
        localized_choices(page, dropdown, _lang_choices)


@gpu
@user_errors
def draw_map(languages, model=None, layer=DEFAULT_LAYER, center=False, projection="umap-2d",
             text="", points="sentences", lines=False, progress=gr.Progress()):
    """Map of word/sentence vectors coloured by language, plus metrics at the layer."""
    req = lab.MapRequest(tuple(languages or ()), model or default_model("multilingual"),
                         whole(layer, "layer", 0), bool(center), projection, text or "",
                         points, bool(lines))
    fig, metrics, _, _ = lab.crosslingual_map(req, progress_callback(progress))
    return fig, metrics


_default_lock = threading.Lock()
_default_map: tuple | None = None


@user_errors
def default_map():
    """The headline map at the tab's defaults: drawn once (by the app's warm-up, or on the
    first page load) and shared by every visitor, so the page opens with a map in it."""
    global _default_map
    with _default_lock:  # concurrent first visitors wait for one drawing, not one each
        if _default_map is None:
            req = lab.MapRequest(tuple(DEFAULT_LANGUAGES), default_model("multilingual"),
                                 DEFAULT_LAYER, False, "umap-2d", "", "sentences", False)
            fig, metrics, _, _ = lab.crosslingual_map(req)
            _default_map = (fig, metrics)
        return _default_map


@user_errors  # no GPU: the map's vectors are cached, this only reads them
def map_details(metrics, text=""):
    """Language-mean heatmap and per-pair table for the map just drawn (no re-scoring)."""
    if not metrics:
        return None, [], None
    pt = lab.load_text(metrics["languages"], text or "")
    embs = lab.embed_all(pt, metrics["model"], depth=metrics["layer"])  # cached by the map
    keys = ("word_p_at_1_raw", "word_p_at_1_centered", "word_p_at_1_shift",
            "sentence_p_at_1_raw", "sentence_p_at_1_centered")
    rows = [[p["source"], p["target"], p["word_pairs"]]
            + [None if p[k] is None else round(p[k], 3) for k in keys]
            for p in metrics["pairs"]]
    return (lab.means_heatmap(embs, metrics["layer"]), table_value(rows, PAIR_HEADERS),
            downloads(metrics, "crosslingual-map"))


@gpu(duration=120)  # every layer of up to 15 languages
@user_errors
def layers(languages, model=None, text="", progress=gr.Progress()):
    """Every metric at every layer, raw and centered."""
    return lab.layer_sweep(list(languages or ()), model or default_model("multilingual"),
                           text or "", progress_callback(progress))


@gpu
@user_errors
def translate(word, source="en", target="de", model=None, layer=DEFAULT_LAYER, shift=True,
              text=""):
    """Top-5 nearest target words, with or without the mean-difference shift."""
    rows = lab.translate(word or "", source, target, model or default_model("multilingual"),
                         whole(layer, "layer", 0), bool(shift), text or "")
    return table_value([[r["rank"], r["word"], r["similarity"], "yes" if r["gold"] else ""]
                        for r in rows], TOP_HEADERS)


SIZE_RECORD = corpus_sizes.load_sizes()  # the committed corpus-size reference, or None


def size_finding(locale: str = "en") -> str:
    """What the corpus-size reference shows, read from its file, in `locale`."""
    return corpus_sizes.size_finding(SIZE_RECORD, speaker(locale))


@user_errors
def corpus_size(measure=corpus_sizes.HEADLINE):
    """Alignment vs pretraining corpus size in the committed reference: figure and numbers."""
    if measure not in corpus_sizes.MEASURES:
        raise InputError(f"unknown measure {measure!r}; choose one of "
                         f"{', '.join(corpus_sizes.MEASURES)}")
    if SIZE_RECORD is None:
        raise InputError("no corpus-size reference is committed yet; make one with "
                         "python -m core xling-size-sweep")
    return xl_view.size_figure(SIZE_RECORD, measure), _size_metrics(measure)


def _size_metrics(measure: str = corpus_sizes.HEADLINE) -> dict | None:
    """The reference's numbers as the API returns them (None: no reference)."""
    if SIZE_RECORD is None:
        return None
    metrics = {k: SIZE_RECORD[k] for k in ("config", "summary", "machine", "started", "wall_s",
                                           "planned") if k in SIZE_RECORD}
    return dict(metrics, rows=corpus_sizes.size_rows(SIZE_RECORD, measure))


def _size_choices(locale: str = "en") -> list[tuple[str, int]]:
    """The reference's corpus sizes (verses per language), smallest first, "all" last."""
    sizes_ = (SIZE_RECORD or {}).get("config", {}).get("sizes") or [1_000, 4_000, 0]
    say = speaker(locale)
    return [(corpus_sizes.size_label(SIZE_RECORD or {"config": {}}, s, say), int(s))
            for s in sorted(sizes_, key=lambda s: int(s) or 10**9)]


@gpu(duration=UI_BUDGET_S)
@user_errors
def train_size(sentences=1_000, steps=corpus_sizes.LIVE_STEPS, seed=0,
               measure=corpus_sizes.HEADLINE, request: gr.Request = None,
               progress=gr.Progress()):
    """Pretrains one corpus-size model live; yields the figure with its dev probe as it
    goes, then its test point (refused up front past the UI's time budget)."""
    if measure not in corpus_sizes.MEASURES:
        measure = corpus_sizes.HEADLINE
    cfg = size_lab.live_config(SIZE_RECORD, per_language=whole(sentences, "sentences", 0),
                               steps=whole(steps, "steps", 1, corpus_sizes.LIVE_MAX_STEPS),
                               seed=seed_of(seed))
    STOPS.clear(request)
    eta = Eta(total=cfg.steps)
    for state in size_lab.run(cfg, budget_s=UI_BUDGET_S, **size_lab.verses_of(SIZE_RECORD)):
        metrics = state.metrics()
        fig = xl_view.live_size_figure(SIZE_RECORD, metrics, measure)
        if STOPS.asked(request):  # keep the curve so far
            yield stopped_title(fig, state.done_steps), dict(metrics,
                                                              stopped_at=state.done_steps)
            return
        progress((state.done_steps, cfg.steps), unit="steps",
                 desc=progress_text(state.phase, eta, state.done_steps, state.elapsed_s))
        yield fig, metrics


TOP_HEADERS = ["rank", "word", "cosine", "gold"]
# the map examples' labels (translation keys), in the order of their rows
MAP_EXAMPLES = ["xl.ex_raw", "xl.ex_centered", "xl.ex_words", "xl.ex_scripts", "xl.ex_own"]
# a BERT the lab pretrained itself (the corpus-size sweep's largest), when one is shipped
LAB_MODEL = "lab-mbert-all"
LAB_EXAMPLE = ([[["en", "fake"], LAB_MODEL, 1, True, "pca-2d", "", "sentences", True]]
               if LAB_MODEL in available_multilingual() else [])
MAP_EXAMPLES += ["xl.ex_lab"] if LAB_EXAMPLE else []
PAIR_HEADERS = ["from", "to", "words", "word P@1 raw", "word P@1 centered",
                "word P@1 shifted", "sentence P@1 raw", "sentence P@1 centered"]


def build() -> gr.Blocks:
    """The tab as a page of its own (python -m demos.crosslingual)."""
    return standalone(populate)


def populate(page: gr.Blocks) -> None:
    """The tab's components and events, built into the layout being built (a page of
    its own, or a tab of the lab); page-level events (load, unload) attach to `page`."""
    models = available_multilingual()
    gr.Markdown(t("xl.intro"))
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            languages = gr.Dropdown(_lang_choices(), value=DEFAULT_LANGUAGES,
                                    multiselect=True, label=t("xl.languages"),
                                    info=t("xl.languages_info"))
            model = gr.Dropdown([(f"{m} ({get_spec(m).profile})", m) for m in models],
                                value=models[0], label=t("xl.model"))
            layer = gr.Slider(0, 12, value=DEFAULT_LAYER, step=1,
                              label=t("xl.layer"))
            center = gr.Checkbox(False, label=t("xl.center"))
            projection = gr.Dropdown([("UMAP 2-D", "umap-2d"), ("UMAP 3-D", "umap-3d"),
                                      ("PCA 2-D", "pca-2d"), ("PCA 3-D", "pca-3d")],
                                     value="umap-2d", label=t("xl.projection"))
            points = gr.Radio([(t("xl.points_sentences"), "sentences"),
                               (t("xl.points_words"), "words")], value="sentences",
                              label=t("xl.points"), info=t("xl.points_info"))
            lines = gr.Checkbox(False, label=t("xl.lines"))
            text = gr.Textbox("", lines=4, label=t("xl.text"),
                              placeholder=t("xl.text_placeholder"),
                              info=t("xl.text_info", max_lines=MAX_LINES,
                                     max_chars=MAX_TEXT_CHARS))
            run = gr.Button(t("xl.draw"), variant="primary")
            map_inputs = [languages, model, layer, center, projection, text, points,
                          lines]
            map_examples = gr.Examples(
                [[DEFAULT_LANGUAGES, models[0], DEFAULT_LAYER, False, "umap-2d", "",
                  "sentences", False],
                 [DEFAULT_LANGUAGES, models[0], DEFAULT_LAYER, True, "umap-2d", "",
                  "sentences", True],
                 [DEFAULT_LANGUAGES, models[0], 12, True, "umap-2d", "", "words", True],
                 [["en", "de", "zh", "ar", "hi", "ko"], models[0], 1, False, "pca-2d", "",
                  "sentences", False],
                 [SAMPLE_LANGUAGES, models[0], DEFAULT_LAYER, True, "pca-2d", SAMPLE_TEXT,
                  "sentences", True]] + LAB_EXAMPLE,
                map_inputs, example_labels=[TABLES["en"][key] for key in MAP_EXAMPLES],
                label=t("xl.examples"), api_visibility="private")
            localized_examples(page, map_examples, MAP_EXAMPLES)
        with gr.Column(scale=2):
            plot = gr.Plot(label=t("xl.map"))
            with gr.Accordion(t("xl.metrics_accordion"), open=False):
                metrics = gr.JSON(label=t("xl.metrics"), open=False)
    with gr.Row():
        heatmap = gr.Plot(label=t("xl.means"))
        pairs = localized_frame(page, gr.Dataframe(headers=PAIR_HEADERS, label=t("xl.pairs"),
                                                   interactive=False, wrap=True),
                                [], PAIR_HEADERS)
    map_files = gr.File(label=t("xl.map_files"),
                        file_count="multiple", interactive=False)
    with gr.Accordion(t("xl.sweep_accordion"), open=False):
        sweep_btn = gr.Button(t("xl.sweep"))
        sweep_plot = gr.Plot(label=t("xl.sweep_plot"))
        with gr.Accordion(t("xl.sweep_json_accordion"), open=False):
            sweep_json = gr.JSON(label=t("xl.sweep_json"), open=False)
        sweep_files = gr.File(label=t("xl.sweep_files"),
                              file_count="multiple", interactive=False)
    with gr.Accordion(t("xl.size_accordion"), open=True):
        gr.Markdown(t("xl.size_intro"))
        gr.Markdown(rendered("xl.size_finding", size_finding), elem_id="xl-size-finding")
        size_measure = gr.Radio([(corpus_sizes.MEASURE_NAMES[m], m)
                                 for m in corpus_sizes.MEASURES],
                                value=corpus_sizes.HEADLINE, label=t("xl.size_measure"))
        size_fig = xl_view.size_figure(SIZE_RECORD) if SIZE_RECORD else None
        size_plot = gr.Plot(size_fig, label=t("xl.size_plot"), elem_id="xl-size-plot")
        if size_fig is not None:
            localized_plot(page, size_plot, size_fig)
        with gr.Accordion(t("xl.size_json_accordion"), open=False):
            size_json = gr.JSON(_size_metrics(), label=t("xl.size_json"), open=False)
        gr.Markdown(t("xl.size_train_intro", steps=corpus_sizes.LIVE_STEPS))
        with gr.Row():
            size_sentences = gr.Dropdown(_size_choices(), value=_size_choices()[0][1],
                                         allow_custom_value=True,
                                         label=t("xl.size_sentences"),
                                         info=t("xl.size_sentences_info"))
            localized_choices(page, size_sentences, _size_choices)
            size_steps = gr.Slider(10, corpus_sizes.LIVE_MAX_STEPS, step=10,
                                   value=corpus_sizes.LIVE_STEPS, label=t("xl.size_steps"))
            size_seed = gr.Number(0, precision=0, label=t("xl.size_seed"))
        with gr.Row():
            size_train = gr.Button(t("xl.size_train"), variant="primary")
            size_stop = gr.Button(t("common.stop"))
        size_live = gr.Plot(label=t("xl.size_live"), elem_id="xl-size-live")
        with gr.Accordion(t("xl.size_run_accordion"), open=False):
            size_run = gr.JSON(label=t("xl.size_run"), open=False)
    with gr.Accordion(t("xl.translate_accordion"), open=True):
        with gr.Row():
            word = gr.Textbox("rights", label=t("xl.word"))
            source = gr.Dropdown(_lang_choices(), value="en", label=t("xl.from"))
            target = gr.Dropdown(_lang_choices(), value="de", label=t("xl.to"))
            shift = gr.Checkbox(True, label=t("xl.shift"))
            _localized_languages(page, languages, source, target)
            tr_btn = gr.Button(t("xl.translate"))
        tr_out = localized_frame(page, gr.Dataframe(headers=TOP_HEADERS, label=t("xl.top5"),
                                                    interactive=False), [], TOP_HEADERS)

    details = dict(fn=map_details, inputs=[metrics, text],
                   outputs=[heatmap, pairs, map_files], api_name="crosslingual_map_details",
                   api_visibility="undocumented")
    run.click(draw_map, map_inputs, [plot, metrics], api_name="crosslingual_map",
              concurrency_limit=2).success(**details)
    # the page opens with the headline map (cached at warm-up; the rest of the page is
    # usable while the first one is drawn)
    page.load(default_map, None, [plot, metrics], api_visibility="private"
             ).success(**dict(details, api_visibility="private", api_name=None))
    sweep_btn.click(layers, [languages, model, text], [sweep_plot, sweep_json],
                    api_name="crosslingual_layers", concurrency_limit=1
                    ).success(lambda m: downloads(m, "crosslingual-layers"), sweep_json,
                              sweep_files, api_visibility="private")
    size_measure.change(corpus_size, size_measure, [size_plot, size_json],
                        api_name="crosslingual_corpus_size")
    size_train.click(train_size, [size_sentences, size_steps, size_seed, size_measure],
                     [size_live, size_run], api_name="crosslingual_train_size",
                     concurrency_limit=1)
    size_stop.click(stop, None, None, queue=False, api_visibility="private")
    tr_btn.click(translate, [word, source, target, model, layer, shift, text], tr_out,
                 api_name="crosslingual_translate", concurrency_limit=2)
    map_examples.load_input_event.then(
        draw_map, map_inputs, [plot, metrics], api_visibility="private",
        concurrency_limit=2).success(**details)
    tr_inputs = [word, source, target, shift]
    tr_examples = gr.Examples([["rights", "en", "de", True], ["freedom", "en", "fr", True],
                               ["law", "en", "zh", True], ["law", "en", "zh", False]],
                              tr_inputs, label=t("xl.translate_examples"),
                              api_visibility="private")
    localized_examples(page, tr_examples)
    tr_examples.load_input_event.then(
        translate, [word, source, target, model, layer, shift, text], tr_out,
        api_visibility="private", concurrency_limit=2)


if __name__ == "__main__":
    build().queue().launch(**LAUNCH)
