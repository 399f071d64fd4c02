"""Fake-data tab: pretrain small BERTs on artificial token streams, fine-tune on real English."""
from __future__ import annotations

import html

import gradio as gr

from core.common.timing import Eta
from core.pretrain import config, fake_data, view
from core.pretrain import transfer_view as tview
from core.text.tasks import ALL_TASKS
from demos.common import (
    LAUNCH,
    STOPS,
    LazyModule,
    download_panel,
    downloads,
    gpu,
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
from demos.i18n import current_locale, localize, rendered, speaker, t, text

pretrain_lab = LazyModule("core.pretrain.lab")  # torch loads on first use
bodies = LazyModule("core.pretrain.bodies")

def intro(reference: dict | None, locale: str = "en", transfer: dict | None = None) -> str:
    """The tab's opening text in `locale`: the finding, then what the committed runs show
    (the transfer reference when there is one, else the earlier reference; every number read
    from the record), then how to repeat it."""
    if transfer:
        measured = tview.transfer_finding(transfer, speaker(locale))
    elif reference:
        measured = view.reference_finding(reference, speaker(locale))
    else:
        measured = text("pre.no_reference_expect", locale)
    return (f"{text('pre.finding', locale)}\n\n{measured}\n\n"
            f"{text('pre.try_it', locale)}")


DEFAULTS = config.PretrainRunConfig()
PROBE_DEFAULTS = config.ProbeRunConfig()
REFERENCE = config.load_reference()
TRANSFER = config.load_transfer()
CHOICES = [config.ENGLISH] + fake_data.available_schemes()
SAMPLE_TOKENS = 40  # tokens of each line shown in the live samples
SIZE_INFO = ", ".join(f"{name} {s.layers}L-{s.hidden}H" for name, s in config.SIZES.items())


def _parse_schemes(chosen) -> tuple[str, ...]:
    if isinstance(chosen, str):
        chosen = chosen.split(",")
    names = [s.strip().lower() for s in (chosen or []) if s.strip()]
    return tuple(dict.fromkeys(names))  # keep order, drop repeats


@user_errors
def live_samples(chosen):
    """One line of each chosen scheme, readable, for the panel beside the scheme picker."""
    parts = []
    for name in _parse_schemes(chosen):
        if name == config.SCRATCH:
            continue
        ids, line = pretrain_lab.samples(name, n=1, seed=0)
        words = line.split()[:SAMPLE_TOKENS]
        about = localize(_about(name), current_locale())
        parts.append(f"<p><b>{html.escape(name)}</b> <i>{html.escape(about)}</i><br>"
                     f"<code>{html.escape(' '.join(words))} …</code><br>"
                     f"<small>ids: {' '.join(map(str, ids[0][:SAMPLE_TOKENS]))} …</small></p>")
    return "".join(parts) or text("pre.choose_scheme", current_locale())


def first_samples(chosen=DEFAULTS.schemes) -> str:
    """The chosen schemes' samples when a page opens (not while the page is built: drawing
    ids with English frequencies reads the tokenized prose, which must not delay start-up);
    the samples' model missing (paper profile, no hub) is said in the panel."""
    try:
        return live_samples(chosen)
    except gr.Error as exc:
        return text("pre.samples_unavailable", current_locale(),
                    message=html.escape(exc.message))


def _about(name: str) -> str:
    if name == config.ENGLISH:
        return ("real English text (the upper bound): State of the Union addresses, Moby-Dick "
                "and Shakespeare, none of it downstream task data")
    return fake_data.about(name)


@user_errors
def samples(scheme="flat-128", n=3, seed=0):
    """n lines of a scheme: token ids (one list per line) and a readable rendering."""
    ids, text = pretrain_lab.samples((scheme or "").strip().lower(),
                                     n=whole(n, "n", 1), seed=seed_of(seed))
    return ids, text


@gpu(duration=config.UI_BUDGET_S)
@user_errors
def run(schemes=DEFAULTS.schemes, size=DEFAULTS.size, steps=DEFAULTS.steps,
        task=DEFAULTS.task, seed=DEFAULTS.seed, seeds=DEFAULTS.seeds,
        finetune_steps=DEFAULTS.finetune_steps, request: gr.Request = None,
        progress=gr.Progress()):
    """Pretrains each scheme, fine-tunes it and scratch on the task; live curves, then gains."""
    cfg = config.PretrainRunConfig(schemes=_parse_schemes(schemes), size=size,
                                         steps=whole(steps, "steps"), task=task,
                                         seed=seed_of(seed), seeds=whole(seeds, "seeds"),
                                         finetune_steps=whole(finetune_steps,
                                                              "finetune_steps"))
    STOPS.clear(request)
    for state in pretrain_lab.run(cfg, budget_s=config.UI_BUDGET_S):
        metrics = dict(state.metrics(), mlm=state.mlm)  # curves too: the download holds them
        mlm_fig = view.mlm_figure(state.mlm, reference=(REFERENCE or {}).get("mlm"),
                                  floors=state.floors)
        gains_fig = view.gains_figure(metrics, f"{task}: gain over scratch")
        if STOPS.asked(request):  # keep what was drawn, say where it stopped
            yield (stopped_title(mlm_fig, state.done_steps), gains_fig,
                   dict(metrics, stopped_at=state.done_steps))
            return
        progress((state.done_steps, state.total_steps),
                 desc=progress_text(state.phase, Eta(total=state.total_steps),
                                    state.done_steps, state.elapsed_s), unit="steps")
        yield mlm_fig, gains_fig, metrics


@gpu(duration=config.UI_BUDGET_S)
@user_errors
def probe(arms=PROBE_DEFAULTS.arms, steps=PROBE_DEFAULTS.steps, seed=PROBE_DEFAULTS.seed,
          request: gr.Request = None, progress=gr.Progress()):
    """Probes the shipped pretrained bodies (fresh embeddings learn English on each frozen
    body); live held-out loss per arm over the reference's curves, then the metrics."""
    cfg = config.ProbeRunConfig(arms=_parse_schemes(arms), steps=whole(steps, "steps"),
                                seed=seed_of(seed))
    STOPS.clear(request)
    for state in bodies.probe_run(cfg, budget_s=config.UI_BUDGET_S):
        fig = tview.probe_curves_figure(state.curves, TRANSFER,
                                        title=f"Probe, seed {cfg.seed}: held-out English MLM "
                                              f"loss ({state.phase})")
        metrics = dict(state.metrics(), curves=state.curves)
        if STOPS.asked(request):
            yield stopped_title(fig, state.done_steps), dict(metrics,
                                                             stopped_at=state.done_steps)
            return
        progress((state.done_steps, state.total_steps),
                 desc=progress_text(state.phase, Eta(total=state.total_steps),
                                    state.done_steps, state.elapsed_s), unit="steps")
        yield fig, metrics


def _probe_choices() -> tuple[list[str], list[str]]:
    """(arms a probe may use, the default ones among them)."""
    arms = config.arms_available()
    return arms, [a for a in PROBE_DEFAULTS.arms if a in arms]


@user_errors
def table(metrics):
    """The final results table of a run, rounded, and its downloads."""
    if not metrics:
        return [], None
    return (table_value(view.results_table(metrics), view.TABLE_HEADERS),
            downloads(metrics, "fake-data-run"))


def _reference_panel(page: gr.Blocks) -> None:
    # The earlier protocol (one task, the 30k vocabulary): behind the transfer reference.
    with gr.Accordion(t("pre.reference_accordion"), open=TRANSFER is None):
        if REFERENCE is None:
            gr.Markdown(t("pre.no_reference"))
            return
        m = REFERENCE["metrics"]
        gr.Markdown(rendered("pre.reference_summary", lambda loc: view.reference_summary(
            REFERENCE, line_length=config.LINE_LENGTH, say=speaker(loc))))
        gains = view.gains_figure(m, f"Reference, {m['config']['task']}: gain over scratch")
        mlm = view.mlm_figure(REFERENCE["mlm"], "Reference MLM loss",
                              floors=view.floors_of(REFERENCE["metrics"]))
        with gr.Row():
            localized_plot(page, gr.Plot(gains, label=t("pre.reference_gains"),
                                         elem_id="pretrain-reference-gains"), gains)
            localized_plot(page, gr.Plot(mlm, label=t("pre.reference_mlm")), mlm)
        rows = view.results_table(m)
        localized_frame(page, gr.Dataframe(rows, headers=view.TABLE_HEADERS,
                                           label=t("pre.reference_accuracy"), interactive=False,
                                           elem_id="pretrain-reference-table"),
                        rows, view.TABLE_HEADERS)
        download_panel(REFERENCE, "fake-data-reference", t("pre.download_reference"))


def _transfer_panel(page: gr.Blocks) -> None:
    with gr.Accordion(t("pre.transfer_accordion"), open=True):
        if TRANSFER is None:
            gr.Markdown(t("pre.no_transfer"))
            return
        curves, floors = tview.pretrain_curves(TRANSFER)
        probe_fig, finetune_fig = tview.probe_figure(TRANSFER), tview.finetune_figure(TRANSFER)
        mlm = view.mlm_figure(curves, "Pretraining MLM loss, with each stream's floor",
                              floors=floors)
        with gr.Row():
            localized_plot(page, gr.Plot(probe_fig, label=t("pre.probe_gains"),
                                         elem_id="pretrain-transfer-probe"), probe_fig)
            localized_plot(page, gr.Plot(mlm, label=t("pre.pretraining_curves")), mlm)
        localized_plot(page, gr.Plot(finetune_fig, label=t("pre.finetune_gains"),
                                     elem_id="pretrain-transfer-finetune"), finetune_fig)
        rows = tview.transfer_rows(TRANSFER)
        localized_frame(page, gr.Dataframe(rows, headers=tview.TRANSFER_HEADERS,
                                           interactive=False, label=t("pre.transfer_table")),
                        rows, tview.TRANSFER_HEADERS)
        download_panel(TRANSFER, "fake-data-transfer", t("pre.download_transfer"))


def _probe_section() -> None:
    gr.Markdown(t("pre.probe_intro"))
    arms, chosen = _probe_choices()
    if not arms:
        gr.Markdown(t("pre.no_bodies"), elem_id="pretrain-no-bodies")
    with gr.Column(visible=bool(arms)):  # the endpoint stays, and says what is missing
        with gr.Row():
            probe_arms = gr.CheckboxGroup(arms, value=chosen, label=t("pre.arms"),
                                          elem_id="pretrain-probe-arms")
            probe_steps = gr.Slider(20, config.MAX_PROBE_STEPS, value=PROBE_DEFAULTS.steps,
                                    step=10, label=t("pre.probe_steps"))
            probe_seed = gr.Number(PROBE_DEFAULTS.seed, precision=0, label=t("common.seed"))
        with gr.Row():
            probe_btn = gr.Button(t("pre.probe"), variant="primary")
            probe_stop = gr.Button(t("common.stop"))
        probe_plot = gr.Plot(label=t("pre.probe_plot"),
                             elem_id="pretrain-probe-plot")
        with gr.Accordion(t("pre.probe_metrics_accordion"), open=False):
            probe_metrics = gr.JSON(label=t("common.metrics"), open=False)
    probe_btn.click(probe, [probe_arms, probe_steps, probe_seed], [probe_plot, probe_metrics],
                    api_name="pretrain_probe", concurrency_limit=1)
    probe_stop.click(stop, None, None, queue=False, api_visibility="private")


def build() -> gr.Blocks:
    """The tab as a page of its own (python -m demos.pretrain)."""
    return standalone(populate)


def populate(page: gr.Blocks) -> None:
    """The tab's components and events, built into the layout being built (a page of
    its own, or a tab of the lab); page-level events (load, unload) attach to `page`."""
    gr.Markdown(rendered("pre.intro", lambda loc: intro(REFERENCE, loc, TRANSFER)),
                elem_id="pretrain-intro")
    _transfer_panel(page)
    _probe_section()
    _reference_panel(page)
    gr.Markdown(t("pre.your_run_title"))
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            schemes = gr.Dropdown(CHOICES, value=list(DEFAULTS.schemes), multiselect=True,
                                  allow_custom_value=True,
                                  label=t("pre.schemes"), info=t("pre.schemes_info"))
            with gr.Row():
                size = gr.Radio(list(config.SIZES), value=DEFAULTS.size, label=t("pre.size"),
                                info=SIZE_INFO)
                task = gr.Dropdown(list(ALL_TASKS), value=DEFAULTS.task,
                                   label=t("pre.task"), info=t("pre.task_info"))
            with gr.Row():
                steps = gr.Slider(20, 5000, value=DEFAULTS.steps, step=20,
                                  label=t("pre.steps"))
                finetune_steps = gr.Slider(20, 2000, value=DEFAULTS.finetune_steps,
                                           step=10, label=t("pre.finetune_steps"))
            with gr.Row():
                seeds = gr.Slider(1, 5, value=DEFAULTS.seeds, step=1,
                                  label=t("pre.seeds"))
                seed = gr.Number(DEFAULTS.seed, precision=0, label=t("common.seed"))
            with gr.Row():
                run_btn = gr.Button(t("pre.run"), variant="primary")
                stop_btn = gr.Button(t("common.stop"))
        with gr.Column(scale=1):
            sample_view = gr.HTML(t("pre.drawing_samples"), label=t("pre.samples"),
                                  elem_id="pretrain-samples")
    with gr.Row():
        mlm_plot = gr.Plot(label=t("pre.mlm_plot"))
        gains_plot = gr.Plot(label=t("pre.gains_plot"))
    with gr.Row():
        results = localized_frame(page, gr.Dataframe(
            headers=view.TABLE_HEADERS, label=t("pre.accuracy"), interactive=False, scale=2),
            [], view.TABLE_HEADERS)
        files = gr.File(label=t("pre.files"),
                        file_count="multiple", interactive=False, scale=1)
    with gr.Accordion(t("common.metrics_accordion"), open=False):
        metrics = gr.JSON(label=t("common.metrics"), open=False)
    with gr.Accordion(t("pre.lines_accordion"), open=False):
        with gr.Row():
            one = gr.Dropdown(CHOICES, value="flat-128", allow_custom_value=True,
                              label=t("pre.scheme"))
            n = gr.Slider(1, 32, value=3, step=1, label=t("pre.lines"))
            sample_seed = gr.Number(0, precision=0, label=t("common.seed"))
            show_btn = gr.Button(t("pre.show"))
        rendering = gr.Textbox(label=t("pre.rendering"), lines=6)
        ids = gr.JSON(label=t("pre.ids"), open=False)

    schemes.change(live_samples, schemes, sample_view, api_visibility="private")
    page.load(first_samples, schemes, sample_view, api_visibility="private")
    run_event = run_btn.click(
        run, [schemes, size, steps, task, seed, seeds, finetune_steps],
        [mlm_plot, gains_plot, metrics],
        api_name="pretrain_run", concurrency_limit=1)
    run_event.success(table, metrics, [results, files], api_visibility="private")
    stop_btn.click(stop, None, None, queue=False, api_visibility="private")
    show_btn.click(samples, [one, n, sample_seed], [ids, rendering],
                   api_name="pretrain_samples")


if __name__ == "__main__":
    build().queue().launch(**LAUNCH)
