"""Fake-data tab: pretrain small BERTs on artificial token streams, fine-tune on real English."""
from __future__ import annotations

import html

import gradio as gr

from core.pretrain import fake_data
from core.pretrain import lab as pretrain_lab
from core.pretrain import mlm as pretrain
from core.text.tasks import TASKS
from demos.common import gpu, user_errors

INTRO = """
**Finding.** Pretrain a BERT on *artificial* data (token streams with no meaning, only a
structure such as paired or shuffled ids), then fine-tune it on a real English task: some kinds
of fake data help almost as much as real English, others not at all (Chiang & Lee 2022,
*On the Transferability of Pre-trained Language Models: A Study from Artificial Datasets*).
Paired tokens (`flat-128`) and shuffled blocks of consecutive ids (`shuffle-64`) transfer; i.i.d.
tokens (`uniform`, and even `unigram` with English word frequencies) do not. The lecture ends on
the idea of data whose frequencies follow a power law (`zipf-a`).
**What to expect here.** The reference below is a CPU-sized replication (`tiny` model, 600
MLM steps of 16 lines per scheme, 3 fine-tuning seeds; the paper pretrains a medium model for
100k steps of 300 lines). At that scale **no scheme beats scratch** (0.758 on sentiment):
English only learns the word frequencies (its MLM loss falls from 10.3 to 6.9, exactly as far as
`unigram`'s) and those frequency-only models transfer worst (English -6.4, unigram -5.5,
zipf-1.0 -9.3 points), while the structured schemes' losses hardly move from ln(30522) = 10.3
and they cost less (-3.5 to -4.0); `uniform` -1.0. Read it as the starting point of the paper's
curves, not its end: the Run button repeats a small version live (~2 minutes on 2 CPU cores);
on a GPU, `python -m core pretrain-sweep --size medium` runs the paper's setting.
"""
DEFAULTS = pretrain_lab.PretrainRunConfig()
REFERENCE = pretrain_lab.load_reference()
CHOICES = [pretrain_lab.ENGLISH] + fake_data.available_schemes()
SAMPLE_TOKENS = 40  # tokens of each line shown in the live samples


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
        if name == pretrain_lab.SCRATCH:
            continue
        ids, text = pretrain_lab.samples(name, n=1, seed=0)
        words = text.split()[:SAMPLE_TOKENS]
        about = _about(name)
        parts.append(f"<p><b>{html.escape(name)}</b> <i>{html.escape(about)}</i><br>"
                     f"<code>{html.escape(' '.join(words))} …</code><br>"
                     f"<small>ids: {' '.join(map(str, ids[0][:SAMPLE_TOKENS]))} …</small></p>")
    return "".join(parts) or "<p>Choose a scheme to see what its lines look like.</p>"


def _about(name: str) -> str:
    if name == pretrain_lab.ENGLISH:
        return "real English text (the upper bound)"
    return fake_data.about(name)


@user_errors
def samples(scheme="flat-128", n=3, seed=0):
    """n lines of a scheme: token ids (one list per line) and a readable rendering."""
    ids, text = pretrain_lab.samples((scheme or "").strip().lower(), n=int(n), seed=int(seed))
    return ids, text


@gpu
@user_errors
def run(schemes=DEFAULTS.schemes, size=DEFAULTS.size, steps=DEFAULTS.steps,
        task=DEFAULTS.task, seed=DEFAULTS.seed, seeds=DEFAULTS.seeds,
        finetune_steps=DEFAULTS.finetune_steps, progress=gr.Progress()):
    """Pretrains each scheme, fine-tunes it and scratch on the task; live curves, then gains."""
    cfg = pretrain_lab.PretrainRunConfig(schemes=_parse_schemes(schemes), size=size,
                                         steps=int(steps), task=task, seed=int(seed),
                                         seeds=int(seeds), finetune_steps=int(finetune_steps))
    state = None
    for state in pretrain_lab.run(cfg, budget_s=pretrain_lab.UI_BUDGET_S):
        progress((state.done_steps, state.total_steps), desc=state.phase, unit="steps")
        metrics = state.metrics()
        yield (pretrain_lab.mlm_figure(state.mlm),
               pretrain_lab.gains_figure(metrics, f"{task}: gain over scratch"), metrics)


@user_errors
def table(metrics):
    """The final results table of a run."""
    return pretrain_lab.results_table(metrics) if metrics else []


def _reference_panel() -> None:
    with gr.Accordion("Reference run: every scheme, with seeds", open=True):
        if REFERENCE is None:
            gr.Markdown("No reference run is committed yet: make one with "
                        "`python -m core pretrain-sweep` (it writes "
                        "assets/pretrain/reference.json).")
            return
        m = REFERENCE["metrics"]
        gr.Markdown(pretrain_lab.reference_summary(REFERENCE))
        with gr.Row():
            gr.Plot(pretrain_lab.gains_figure(m, f"Reference, {m['config']['task']}: gain "
                                                 "over scratch"),
                    label="Reference gains", elem_id="pretrain-reference-gains")
            gr.Plot(pretrain_lab.mlm_figure(REFERENCE["mlm"], "Reference MLM loss"),
                    label="Reference MLM curves")
        gr.Dataframe(pretrain_lab.results_table(m), headers=HEADERS,
                     label="Reference test accuracy", interactive=False,
                     elem_id="pretrain-reference-table")


HEADERS = ["scheme", "test accuracy", "95% CI", "gain (points)", "paper gain", "final MLM loss"]


def build() -> gr.Blocks:
    with gr.Blocks() as tab:
        gr.Markdown(INTRO)
        _reference_panel()
        gr.Markdown("### Your own run")
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                schemes = gr.Dropdown(CHOICES, value=list(DEFAULTS.schemes), multiselect=True,
                                      allow_custom_value=True,
                                      label="Pretraining data (scratch always runs)",
                                      info="pick, or type e.g. shuffle-12 or zipf-1.5")
                with gr.Row():
                    size = gr.Radio(list(pretrain.SIZES), value=DEFAULTS.size, label="Size",
                                    info="tiny 2L-128H, small 4L-256H, medium 8L-512H")
                    task = gr.Dropdown(list(TASKS), value=DEFAULTS.task,
                                       label="English task")
                with gr.Row():
                    steps = gr.Slider(20, 5000, value=DEFAULTS.steps, step=20,
                                      label="Pretraining steps")
                    finetune_steps = gr.Slider(20, 2000, value=DEFAULTS.finetune_steps,
                                               step=10, label="Fine-tuning steps")
                with gr.Row():
                    seeds = gr.Slider(1, 5, value=DEFAULTS.seeds, step=1,
                                      label="Fine-tuning seeds")
                    seed = gr.Number(DEFAULTS.seed, precision=0, label="Seed")
                with gr.Row():
                    run_btn = gr.Button("Run", variant="primary")
                    stop_btn = gr.Button("Stop")
            with gr.Column(scale=1):
                sample_view = gr.HTML(live_samples(DEFAULTS.schemes), label="Live samples",
                                      elem_id="pretrain-samples")
        with gr.Row():
            mlm_plot = gr.Plot(label="MLM loss (live)")
            gains_plot = gr.Plot(label="Downstream gain over scratch")
        results = gr.Dataframe(headers=HEADERS, label="Test accuracy", interactive=False)
        metrics = gr.JSON(label="Metrics", open=False)
        with gr.Accordion("Look at a scheme's lines", open=False):
            with gr.Row():
                one = gr.Dropdown(CHOICES, value="flat-128", allow_custom_value=True,
                                  label="Scheme")
                n = gr.Slider(1, 32, value=3, step=1, label="Lines")
                sample_seed = gr.Number(0, precision=0, label="Seed")
                show_btn = gr.Button("Show")
            rendering = gr.Textbox(label="Lines (as tokens)", lines=6)
            ids = gr.JSON(label="Token ids", open=False)

        schemes.change(live_samples, schemes, sample_view, api_visibility="private")
        run_event = run_btn.click(
            run, [schemes, size, steps, task, seed, seeds, finetune_steps],
            [mlm_plot, gains_plot, metrics],
            api_name="pretrain_run", concurrency_limit=1)
        run_event.success(table, metrics, results, api_visibility="private")
        stop_btn.click(None, None, None, cancels=[run_event], api_visibility="private")
        show_btn.click(samples, [one, n, sample_seed], [ids, rendering],
                       api_name="pretrain_samples")
    return tab


if __name__ == "__main__":
    build().queue().launch()
