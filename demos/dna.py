"""DNA tab: an English-pretrained BERT learns DNA through bases remapped to English words."""
from __future__ import annotations

import uuid

import gradio as gr

from core.common.errors import InputError
from core.common.timing import UI_BUDGET_S, Eta
from core.dna import finding as dna_finding
from core.dna import view as dna_view
from core.dna.config import (
    FALLBACK_LRS,
    INITS,
    MAX_K,
    MAX_SEEDS,
    MAX_STEPS,
    DnaRunConfig,
    live_config,
    load_live_reference,
    load_reference,
    load_shared,
)
from core.dna.data import DATASETS, load_dataset
from demos.common import (
    LAUNCH,
    STOPS,
    LazyModule,
    Shelf,
    download_panel,
    downloads,
    gpu,
    localized_choices,
    localized_examples,
    localized_frame,
    localized_plot,
    progress_text,
    seed_of,
    standalone,
    stop,
    stopped_title,
    table_value,
    user_errors,
    whole,
)
from demos.i18n import current_locale, rendered, speaker, t, term_in, text

dna = LazyModule("core.dna.encode")  # torch and the models load on first use
dna_lab = LazyModule("core.dna.lab")

DEFAULTS = DnaRunConfig()
REFERENCE = load_reference()
SHARED = load_shared()  # one rate for every start
LIVE_REFERENCE = load_live_reference()  # what the live default repeats


def _live_rates(locale: str) -> str:
    """The rates the live default trains at (those of the run it repeats), in words."""
    cfg = live_config(LIVE_REFERENCE)
    rates = {**FALLBACK_LRS, **dict(cfg.lrs)}  # as the run resolves them, without torch
    say = speaker(locale)
    return say(", ").join(f"{say(init)} {dna_finding.rate_name(rates[init])}"
                          for init in cfg.inits if init in rates)


def _your_run(locale: str) -> str:
    return text("dna.your_run", locale, dataset=DEFAULTS.dataset, size=DEFAULTS.train_size,
                steps=DEFAULTS.steps, rates=_live_rates(locale))


def intro(locale: str = "en") -> str:
    """The finding, what the committed reference shows (read from its file) and what a live
    run repeats, in `locale`."""
    say = speaker(locale)
    parts = [text("dna.finding", locale), dna_finding.reference_finding(REFERENCE, say)]
    if SHARED:
        parts += ["", dna_finding.shared_finding(SHARED, say)]
    return "\n".join(parts + ["", _your_run(locale)])

# Trained models kept on the server (~90 MB each with the embedded model): the newest ones
# across all sessions; a session whose model left is told so when it predicts.
MAX_MODELS = 4
MODELS = Shelf(MAX_MODELS)
REFERENCE_HEADERS = ["task", "starting point", "test accuracy", "95% CI", "per seed",
                     "paper (splice)"]
PAIRED_HEADERS = ["task", "sequences", "comparison", "measure", "mean difference", "95% CI",
                  "seeds"]
RESULT_HEADERS = ["starting point", "test accuracy", "95% CI", "per seed"]
MAPPING_HEADERS = ["k-mer", "word", "token id"]
TRAIN_SIZES = [("64", 64), ("100", 100), ("200", 200), ("400", 400), (t("dna.size_all"), 0)]


def _train_size(value) -> int | None:
    """200, "200" -> 200; 0, "all" -> None (every training sequence)."""
    if str(value).strip().lower() == "all":
        return None
    return whole(value, "train_size", 0) or None


def _parse_lrs(text) -> tuple[tuple[str, float], ...]:
    """"pretrained=1e-4, random=3e-4" -> (("pretrained", 1e-4), ("random", 3e-4)); "" = the
    reference run's rates."""
    pairs = []
    for part in str(text or "").replace(";", ",").split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        try:
            pairs.append((name.strip(), float(value)))
        except ValueError:
            raise InputError(f"learning rates look like 'pretrained=1e-4, random=3e-4'; "
                             f"could not read {part.strip()!r}") from None
    return tuple(pairs)


@gpu(duration=UI_BUDGET_S)
@user_errors
def train(dataset="splice", mapping=DEFAULTS.mapping_seed, k=DEFAULTS.k,
          inits=DEFAULTS.inits, steps=DEFAULTS.steps, seeds=DEFAULTS.seeds,
          seed=DEFAULTS.seed, train_size=DEFAULTS.train_size, lrs="",
          request: gr.Request = None, progress=gr.Progress()):
    """Fine-tunes each starting point; yields live curves, then metrics with test accuracy."""
    cfg = live_config(LIVE_REFERENCE, dataset=dataset, k=whole(k, "k", 1, MAX_K),
                      mapping_seed=seed_of(mapping, "mapping seed"),
                      inits=tuple(inits or ()),
                      steps=whole(steps, "steps", 1, MAX_STEPS),
                      seeds=whole(seeds, "seeds", 1, MAX_SEEDS),
                      seed=seed_of(seed), train_size=_train_size(train_size),
                      lrs=_parse_lrs(lrs))
    STOPS.clear(request)
    state = None
    for state in dna_lab.run(cfg, budget_s=UI_BUDGET_S):
        if STOPS.asked(request):  # keep the curves so far and the model trained before
            fig, metrics = _live(state)
            yield (stopped_title(fig, state.done_steps),
                   dict(metrics, stopped_at=state.done_steps), gr.skip())
            return
        progress((state.done_steps, state.total_steps),
                 desc=progress_text("fine-tuning", Eta(total=state.total_steps),
                                    state.done_steps, state.elapsed_s),
                 unit="steps")
        # the model trained before stays in the session until this run finishes
        yield (*_live(state), gr.skip())
    key = f"{_session(request)}/{uuid.uuid4().hex[:8]}"
    MODELS.put(key, state)  # the session keeps a key; the model lives on the shelf
    yield (*_live(state), key)


def _session(request) -> str:
    return getattr(request, "session_hash", None) or "no-session"


def release(request: gr.Request):
    """Frees the models of a closed page."""
    MODELS.drop_prefix(_session(request) + "/")


def _live(state: dna_lab.DnaState):
    """The two live outputs of a run so far: its curves figure and its metrics."""
    metrics = dict(state.metrics(), curves=state.curves)
    return dna_view.run_figure(state.curves, metrics["config"], state.done_steps,
                               state.total_steps, LIVE_REFERENCE), metrics


@user_errors
def tables(metrics, key=None):
    """The results table and downloads of the run just ended (finished, or stopped: then
    the seeds scored so far), and the base -> word mapping of the session's model."""
    if not metrics:
        return [], [], None
    state = MODELS.get(key)
    mapping = dna.mapping_table(state.mapping) if state is not None else []
    return (table_value(dna_view.results_table(metrics["runs"]), RESULT_HEADERS),
            table_value(mapping, MAPPING_HEADERS), downloads(metrics, "dna-run"))


@gpu
@user_errors
def predict(sequence, key=None):
    """Class probabilities and per-base importance from this session's last trained model."""
    state, locale = MODELS.get(key), current_locale()
    if key and state is None:
        raise gr.Error(text("dna.model_released", locale, n=MODELS.capacity),
                       title=text("dna.model_released_title", locale))
    if state is None or state.model is None:
        raise gr.Error(text("dna.no_model", locale), title=text("dna.no_model_title", locale))
    prediction = dna_lab.predict(state.model, state.mapping, state.metrics()["labels"],
                                 sequence or "")
    return prediction["probs"], dna_view.importance_figure(prediction)


def _example_sequences() -> list[list[str]]:
    ds = load_dataset("splice")
    picks = []
    for want in range(len(ds.labels)):
        seq = next(s for s, y in ds.test if y == want)
        picks.append([f">splice test, {ds.labels[want]}\n{seq}"])
    return picks


@user_errors
def reference_curves(dataset):
    """The committed reference run's curves for one dataset."""
    return dna_view.reference_figure(REFERENCE, dataset)


def _reference_panel(page: gr.Blocks) -> None:
    """The reference run (its tasks x starting points x seeds), visible before any training."""
    tasks = ", ".join((REFERENCE or {}).get("datasets", {}))
    title = (t("dna.reference_accordion", tasks=tasks) if tasks
             else t("dna.reference_accordion_none"))
    with gr.Accordion(title, open=True):
        if REFERENCE is None:
            gr.Markdown(t("dna.no_reference"))
            return
        gr.Markdown(rendered("dna.reference_summary",
                             lambda loc: dna_view.reference_summary(REFERENCE, speaker(loc))))
        names = list(REFERENCE["datasets"])
        with gr.Row():
            with gr.Column(scale=2):
                which = gr.Radio(names, value=names[0], label=t("dna.curves_of"),
                                 elem_id="dna-reference-which")
                first = dna_view.reference_figure(REFERENCE, names[0])
                plot = gr.Plot(first,
                               label=t("dna.reference_curves"), elem_id="dna-reference-plot")
            rows = dna_view.reference_table(REFERENCE)
            localized_frame(page, gr.Dataframe(
                rows, headers=REFERENCE_HEADERS, label=t("dna.reference_accuracy"),
                interactive=False, scale=2, elem_id="dna-reference-table"),
                rows, REFERENCE_HEADERS)
        sizes = dna_view.size_figure(REFERENCE)
        paired = dna_view.paired_table(REFERENCE)
        if sizes is not None or paired:
            with gr.Row():
                if sizes is not None:
                    localized_plot(page, gr.Plot(sizes, label=t("dna.sizes"),
                                                 elem_id="dna-sizes"), sizes)
                if paired:
                    localized_frame(page, gr.Dataframe(
                        paired, headers=PAIRED_HEADERS, label=t("dna.paired"),
                        interactive=False, elem_id="dna-paired"), paired, PAIRED_HEADERS,
                        lambda locale: dna_view.paired_table(REFERENCE, speaker(locale)))
        rates = dna_view.rate_figure(REFERENCE)
        shared = (dna_view.reference_figure(SHARED, "splice")
                  if SHARED and "splice" in SHARED["datasets"] else None)
        if rates is not None or shared is not None:
            with gr.Row():
                if rates is not None:
                    localized_plot(page, gr.Plot(rates, label=t("dna.rates"),
                                                 elem_id="dna-rates"), rates)
                if shared is not None:
                    localized_plot(page, gr.Plot(shared, label=t("dna.shared_curves"),
                                                 elem_id="dna-shared"), shared)
        download_panel(REFERENCE, "dna-reference", t("dna.download_reference"))
        which.change(reference_curves, which, plot, api_visibility="private")
        localized_plot(page, plot, first)


def build() -> gr.Blocks:
    """The tab as a page of its own (python -m demos.dna)."""
    return standalone(populate)


def populate(page: gr.Blocks) -> None:
    """The tab's components and events, built into the layout being built (a page of
    its own, or a tab of the lab); page-level events (load, unload) attach to `page`."""
    gr.Markdown(rendered("dna.intro", intro))
    _reference_panel(page)
    gr.Markdown(t("dna.your_run_title"))
    model_state = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            dataset = gr.Dropdown(list(DATASETS), value=DEFAULTS.dataset, label=t("dna.task"),
                                  info=t("dna.task_info"))
            inits = gr.CheckboxGroup(list(INITS), value=list(DEFAULTS.inits),
                                     label=t("dna.inits"))
            localized_choices(page, inits, lambda locale: [(term_in(i, locale), i)
                                                           for i in INITS])
            with gr.Row():
                k = gr.Slider(1, MAX_K, value=DEFAULTS.k, step=1,
                              label=t("dna.k"))
                mapping = gr.Number(DEFAULTS.mapping_seed, precision=0,
                                    label=t("dna.mapping"))
            train_size = gr.Dropdown(TRAIN_SIZES, value=DEFAULTS.train_size,
                                     label=t("dna.train_size"),
                                     allow_custom_value=True,  # 200, "200", "all" in the API
                                     info=t("dna.train_size_info"))
            with gr.Row():
                steps = gr.Slider(10, MAX_STEPS, value=DEFAULTS.steps, step=10,
                                  label=t("dna.steps"))
                seeds = gr.Slider(1, MAX_SEEDS, value=DEFAULTS.seeds, step=1,
                                  label=t("dna.seeds"))
                seed = gr.Number(DEFAULTS.seed, precision=0, label=t("dna.first_seed"))
            lrs = gr.Textbox("", label=t("dna.lrs"), placeholder="pretrained=1e-4, random=3e-4",
                             info=rendered("dna.lrs_info_now",
                                           lambda loc: text("dna.lrs_info", loc,
                                                            rates=_live_rates(loc))))
            with gr.Row():
                run_btn = gr.Button(t("dna.train"), variant="primary")
                stop_btn = gr.Button(t("common.stop"))
        with gr.Column(scale=2):
            curves = gr.Plot(label=t("dna.curves"))
            results = localized_frame(page, gr.Dataframe(
                headers=RESULT_HEADERS, label=t("dna.accuracy"), interactive=False),
                [], RESULT_HEADERS)
            with gr.Accordion(t("common.metrics_accordion"), open=False):
                metrics = gr.JSON(label=t("common.metrics"), open=False)
            files = gr.File(label=t("dna.files"),
                            file_count="multiple", interactive=False)
    with gr.Accordion(t("dna.mapping_accordion"), open=False):
        table = localized_frame(page, gr.Dataframe(headers=MAPPING_HEADERS, interactive=False),
                                [], MAPPING_HEADERS)
    with gr.Accordion(t("dna.predict_accordion"), open=True):
        with gr.Row():
            sequence = gr.Textbox(lines=3, label=t("dna.sequence"),
                                  scale=2)
            probs = gr.Label(label=t("dna.probs"), scale=1)
        predict_btn = gr.Button(t("dna.predict"))
        importance = gr.Plot(label=t("dna.importance"))
        gr.Markdown(t("dna.importance_note"))
        localized_examples(page, gr.Examples(_example_sequences(), [sequence],
                                             label=t("dna.examples")))

    train_inputs = [dataset, mapping, k, inits, steps, seeds, seed, train_size, lrs]
    train_event = run_btn.click(
        train, train_inputs, [curves, metrics, model_state], api_name="dna_train",
        concurrency_limit=1)
    page.unload(release)
    train_event.success(tables, [metrics, model_state], [results, table, files],
                        api_visibility="private")
    stop_btn.click(stop, None, None, queue=False, api_visibility="private")
    predict_btn.click(predict, [sequence, model_state], [probs, importance],
                      api_name="dna_predict", concurrency_limit=2)


if __name__ == "__main__":
    build().queue().launch(**LAUNCH)
