"""Figures, tables and text of the DNA tab, from plain numbers (plotly; no torch, no gradio).

    run_figure(curves, config, done, total)     live loss and dev accuracy of a run
    results_table(runs)                         test accuracy per starting point
    importance_figure(prediction)               per-base occlusion importance
    reference_figure(ref, dataset) / reference_table(ref) / reference_summary(ref)
    reference_finding(ref)                      "what to expect", written from the record

`curves` map "init/seed" to [{"step", "loss", "dev_accuracy"?}, ...]; `runs` map a starting
point to {"test_accuracy", "ci95", "per_seed"} (DnaState.metrics()["runs"]); `ref` is the
record `python -m core dna-sweep` writes (assets/dna/reference.json).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.common.errors import InputError
from core.common.stats import ci_text
from core.common.titles import wrap_title
from core.common.view import add_seed_bands
from core.common.words import Say, english
from core.dna.finding import comparison_name, measures_of, rate_name

COLORS = {"pretrained": "#EF553B", "re-emb": "#FFA15A", "random": "#636EFA"}
BASE_COLORS = {"A": "#2CA02C", "C": "#1F77B4", "G": "#FF7F0E", "T": "#D62728", "N": "#999999"}
# Kao & Lee 2021, splice test accuracy (%) per starting point, for the table's last column.
PAPER_SPLICE = {"pretrained": 97.5, "re-emb": 95.6, "random": 95.0}


def curves_figure(curves: dict[str, list[dict]], title: str, *,
                  bands: dict[str, list[dict]] | None = None, band_label: str = "reference"
                  ) -> go.Figure:
    """Loss and dev accuracy per starting point, one line per seed, optionally over bands.

    Args:
        curves: "init/seed" -> points {"step", "loss", "dev_accuracy"?}; one line each.
        bands: curves of another run (the reference) drawn underneath as each start's mean
            and seed range, so a live run can be read against it.
    Returns:
        A two-panel figure (training loss | dev accuracy).
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", "dev accuracy"))
    if bands:
        add_seed_bands(fig, bands, panels=((1, "loss"), (2, "dev_accuracy")), colors=COLORS,
                       label=band_label)
    shown = set()
    for key, curve in curves.items():
        init = key.split("/")[0]
        color = COLORS.get(init, "#444")
        line = dict(color=color, width=2)
        fig.add_trace(go.Scatter(x=[p["step"] for p in curve], y=[p["loss"] for p in curve],
                                 name=f"{init} (this run)", legendgroup=init,
                                 showlegend=init not in shown, line=line), row=1, col=1)
        shown.add(init)
        dev = [p for p in curve if "dev_accuracy" in p]
        fig.add_trace(go.Scatter(x=[p["step"] for p in dev], y=[p["dev_accuracy"] for p in dev],
                                 name=init, legendgroup=init, showlegend=False,
                                 mode="lines+markers", line=line), row=1, col=2)
    fig.update_layout(title=wrap_title(title), height=400, margin=dict(l=10, r=10, t=60, b=10),
                      template="plotly_white", legend=dict(font=dict(size=10)))
    fig.update_xaxes(title_text="updates")
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    return fig


def run_figure(curves: dict[str, list[dict]], config: dict, done_steps: int,
               total_steps: int, reference: dict | None = None) -> go.Figure:
    """The live curves of a run (one line per seed), titled with its settings and progress,
    over the reference run's bands for the same task when there is one.

    Args:
        config: the run's settings (DnaState.metrics()["config"]): dataset, train_size, k.
        reference: the reference record (lab.load_reference()) or None.
    """
    task = (reference or {}).get("datasets", {}).get(config["dataset"])
    label, bands = None, None
    if task:
        size = task.get("size", (reference["config"].get("train_size") or 0))
        label = f"reference ({size or 'all'} seqs)"
        # the reference over this run's updates (a short run is its early phase), and at least
        # up to its first dev evaluation (so the shortest runs still get their bands)
        points = [p for c in task["curves"].values() for p in c]
        first_dev = min((p["step"] for p in points if "dev_accuracy" in p), default=0)
        last = max(config.get("steps") or max(p["step"] for p in points), first_dev)
        bands = {key: [p for p in curve if p["step"] <= last]
                 for key, curve in task["curves"].items()}
    return curves_figure(curves, f"{config['dataset']}: {config['train_size'] or 'all'} "
                                 f"training sequences, k={config['k']}, "
                                 f"{done_steps}/{total_steps} steps",
                         bands=bands, band_label=label or "")


def results_table(runs: dict[str, dict]) -> list[list]:
    """Returns: rows of starting point, mean test accuracy, 95% interval, per-seed values."""
    return [[init, round(r["test_accuracy"], 3), ci_text(r["ci95"]),
             ", ".join(f"{a:.3f}" for a in r["per_seed"])] for init, r in runs.items()]


def importance_figure(prediction: dict) -> go.Figure:
    """Per-base occlusion importance, bars coloured by base, hover naming the token.

    Args:
        prediction: lab.predict's dict: sequence, k, probs (label -> p), importance (one
            value per base), tokens (one word per k-mer).
    """
    seq, k, words = prediction["sequence"], prediction["k"], prediction["tokens"]
    label, p = max(prediction["probs"].items(), key=lambda kv: kv[1])
    word_of_base = [words[i // k] if i // k < len(words) else "" for i in range(len(seq))]
    fig = go.Figure(go.Bar(
        x=list(range(1, len(seq) + 1)), y=list(prediction["importance"]),
        marker_color=[BASE_COLORS.get(b, "#999") for b in seq],
        text=list(seq), textposition="outside",
        customdata=np.array(word_of_base, dtype=object),
        hovertemplate="base %{x}: %{text} (token '%{customdata}')<br>"
                      "importance %{y:.3f}<extra></extra>"))
    window = prediction.get("window", 1)
    hidden = ("each token is hidden" if window == 1 else
              f"each window of {window * k} bases is hidden (long input)")
    fig.update_layout(title=f"Which bases drive '{label}' (p = {p:.2f}):<br>"
                            f"drop in probability when {hidden}",
                      xaxis_title="position (bp)", yaxis_title="importance",
                      height=360, margin=dict(l=10, r=10, t=70, b=10), template="plotly_white")
    return fig


# --- The committed reference run, shown before any training ---

def reference_figure(ref: dict, dataset: str) -> go.Figure:
    """The reference curves of one dataset: every seed thin, the mean over seeds thick.

    Raises:
        InputError: the record has no such dataset.
    """
    if dataset not in ref["datasets"]:
        raise InputError(f"the reference run has no {dataset!r}; it has "
                         f"{', '.join(ref['datasets'])}")
    cfg, task = ref["config"], ref["datasets"][dataset]
    size = task.get("size", cfg.get("train_size") or 0)
    return curves_figure({}, f"Reference, {dataset}: {size or 'all'} training sequences, "
                             f"k={cfg['k']}, {cfg['steps']} updates, {cfg['seeds']} seeds",
                         bands=task["curves"], band_label="")


def reference_table(ref: dict) -> list[list]:
    """Returns: rows of dataset, starting point, mean test accuracy, 95% interval, per seed,
    paper (splice only)."""
    rows = []
    for name, result in ref["datasets"].items():
        for init, r in result["runs"].items():
            paper = PAPER_SPLICE.get(init) if name == "splice" else None
            rows.append([name, init, round(r["test_accuracy"], 3), ci_text(r["ci95"]),
                         ", ".join(f"{a:.3f}" for a in r["per_seed"]),
                         "" if paper is None else f"{paper / 100:.3f}"])
    return rows


def _sizes_arg(sizes) -> str:
    if isinstance(sizes, dict):
        return "'" + " ".join(f"{t}={','.join(map(str, s))}" for t, s in sizes.items()) + "'"
    return ",".join(str(s) for s in sizes)


def reference_summary(ref: dict, say: Say = english) -> str:
    """Returns: one Markdown line on how, where and when the reference run was made (the
    command that makes it again, machine, wall time, model and rates)."""
    cfg, machine = ref["config"], ref["machine"]
    if "sizes" in cfg:
        lrs = cfg.get("lrs") or {}
        given = "" if cfg.get("lr_search") else " --lrs " + ",".join(f"{i}={v:g}"
                                                                     for i, v in lrs.items())
        command = (f"python -m core dna-sweep --tasks {','.join(cfg['datasets'])} --sizes "
                   f"{_sizes_arg(cfg['sizes'])} --steps {cfg['steps']} --seeds "
                   f"{cfg['seeds']} --k {cfg['k']} --layers {cfg.get('layers') or 0} "
                   f"--eval-every {cfg['eval_every']}{given}")
        rates = say(", ").join(f"{say(i)} {v:g}" for i, v in lrs.items())
    else:
        command = (f"python -m core dna-sweep --steps {cfg['steps']} --seeds {cfg['seeds']} "
                   f"--train-size {cfg['train_size'] or 0} --k {cfg['k']}")
        rates = f"{cfg['lr']}"
    text = say("`{command}` on {device} (torch {torch}), started {started}, {minutes:.0f} min "
               "in all; model {model}, lr {rates}, batch {batch}.", command=command,
               device=machine["device"], torch=machine["torch"], started=ref["started"],
               minutes=ref["wall_s"] / 60, model=cfg["model"], rates=rates,
               batch=cfg["batch_size"])
    if cfg.get("planned_sizes"):
        text += say(" ") + say("Results so far: the sweep is planned for sizes {sizes}; shown "
                               "are the sizes whose every seed has finished.",
                               sizes=_sizes_arg(cfg["planned_sizes"]))
    return text


def size_figure(ref: dict, measure: str = "test_accuracy") -> go.Figure | None:
    """Gap vs labelled sequences: the paired difference pretrained - random at every training
    size, one line per task, with 95 % intervals (None when the record has one size only).

    Args:
        measure: a paired measure of lab.summarise ("test_accuracy", "auc", "dev_at_100").
    """
    key = "pretrained - random"
    fig = go.Figure()
    for name, result in ref["datasets"].items():
        points = sorted(((int(s), m["paired"][key][measure])
                         for s, m in result.get("by_size", {}).items()
                         if measure in m.get("paired", {}).get(key, {})),
                        key=lambda sp: sp[0] or 10**9)
        if len(points) < 2:
            continue
        fig.add_trace(go.Scatter(
            x=[str(s) if s else "all" for s, _ in points], y=[d["mean"] for _, d in points],
            error_y=dict(type="data", array=[d["ci95"] or 0 for _, d in points]),
            mode="lines+markers", name=name))
    if not fig.data:
        return None
    fig.add_hline(y=0, line=dict(color="#888", dash="dash"))
    what = measure.replace("_", " ")
    fig.update_layout(title=wrap_title(f"Where pretraining helps: pretrained − random "
                                       f"({what}, paired, 95% CI)"),
                      xaxis_title="labelled training sequences", yaxis_title="difference",
                      xaxis_type="category", height=380,
                      margin=dict(l=10, r=10, t=60, b=10), template="plotly_white")
    return fig


def rate_figure(ref: dict) -> go.Figure | None:
    """The rate search: mean area under the dev curve (± 95 % interval over its seeds)
    against the learning rate, one line per start, the rate each start then used ringed;
    None when the record's rates were given, not searched."""
    table, chosen = ref.get("lr_search") or {}, ref["config"].get("lrs") or {}
    if not table:
        return None
    fig = go.Figure()
    for init, rows in table.items():
        lrs = sorted(rows, key=float)
        color = COLORS.get(init, "#444")
        fig.add_trace(go.Scatter(
            x=[float(lr) for lr in lrs], y=[rows[lr]["mean"] for lr in lrs], name=init,
            error_y=dict(type="data", array=[rows[lr]["ci95"] or 0 for lr in lrs]),
            mode="lines+markers", line=dict(color=color)))
        if init in chosen and f"{chosen[init]:g}" in rows:
            fig.add_trace(go.Scatter(x=[chosen[init]], y=[rows[f"{chosen[init]:g}"]["mean"]],
                                     mode="markers", showlegend=False, hoverinfo="skip",
                                     marker=dict(size=16, color="rgba(0,0,0,0)",
                                                 line=dict(color=color, width=2))))
    search = ref["config"].get("lr_search") or {}
    ticks = sorted({float(lr) for rows in table.values() for lr in rows})
    fig.update_layout(title=wrap_title(f"Rate search on dev: {search.get('task', '')}, "
                                       f"{search.get('size', '')} sequences (ringed: the rate "
                                       f"used)"),
                      xaxis=dict(type="log", title="learning rate", tickvals=ticks,
                                 ticktext=[rate_name(lr) for lr in ticks]),
                      yaxis_title="area under the dev curve", height=360,
                      margin=dict(l=10, r=10, t=60, b=10), template="plotly_white")
    return fig


def paired_table(ref: dict, say: Say = english) -> list[list]:
    """Rows of task, training size, comparison, measure, mean difference, 95 % interval, n:
    every paired difference of the record (empty for records without them), in words (in
    the language of `say`): "pretrained − random", "dev accuracy at 50 updates"."""
    rows = []
    for name, result in ref["datasets"].items():
        by_size = result.get("by_size") or {str(result.get("size", 0)): result}
        for size, m in by_size.items():
            for comparison, measures in m.get("paired", {}).items():
                labels = measures_of(measures, say)
                for measure, d in measures.items():
                    rows.append([name, int(size) or say("all"),
                                 comparison_name(comparison, say), labels.get(measure, measure),
                                 round(d["mean"], 3), ci_text(d["ci95"]), d["n"]])
    return rows
