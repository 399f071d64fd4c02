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

COLORS = {"pretrained": "#EF553B", "re-emb": "#FFA15A", "random": "#636EFA"}
BASE_COLORS = {"A": "#2CA02C", "C": "#1F77B4", "G": "#FF7F0E", "T": "#D62728", "N": "#999999"}
# Kao & Lee 2021, splice test accuracy (%) per starting point, for the table's last column.
PAPER_SPLICE = {"pretrained": 97.5, "re-emb": 95.6, "random": 95.0}
BASELINE = "random"  # the start the finding is measured against
NO_REFERENCE = ("**What to expect here.** No reference run is committed yet: "
                "`python -m core dna-sweep` makes one (it writes assets/dna/reference.json).")


def curves_figure(curves: dict[str, list[dict]], title: str, *, mean: bool = False
                  ) -> go.Figure:
    """Loss and dev accuracy per starting point.

    Args:
        curves: "init/seed" -> points; one thin line each.
        mean: also draw the mean over seeds of each starting point as a thick line.
    Returns:
        A two-panel figure (training loss | dev accuracy).
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", "dev accuracy"))
    shown = set()
    by_init: dict[str, list[list[dict]]] = {}
    for key, curve in curves.items():
        init = key.split("/")[0]
        by_init.setdefault(init, []).append(curve)
        color = COLORS.get(init, "#444")
        legend = not mean and init not in shown
        shown.add(init)
        thin = dict(color=color, width=1 if mean else 1.5)
        opacity = 0.35 if mean else 1.0
        fig.add_trace(go.Scatter(x=[p["step"] for p in curve], y=[p["loss"] for p in curve],
                                 name=init, legendgroup=init, showlegend=legend,
                                 opacity=opacity, line=thin), row=1, col=1)
        dev = [p for p in curve if "dev_accuracy" in p]
        fig.add_trace(go.Scatter(x=[p["step"] for p in dev], y=[p["dev_accuracy"] for p in dev],
                                 name=init, legendgroup=init, showlegend=False, opacity=opacity,
                                 mode="lines" if mean else "lines+markers", line=thin),
                      row=1, col=2)
    if mean:
        for init, runs in by_init.items():
            color = COLORS.get(init, "#444")
            for col, key in ((1, "loss"), (2, "dev_accuracy")):
                steps = sorted({p["step"] for c in runs for p in c if key in p})
                ys = [float(np.mean([p[key] for c in runs for p in c
                                     if p["step"] == s and key in p])) for s in steps]
                fig.add_trace(go.Scatter(x=steps, y=ys, name=f"{init} (mean of {len(runs)})",
                                         legendgroup=init, showlegend=col == 1,
                                         line=dict(color=color, width=3)), row=1, col=col)
    fig.update_layout(title=title, height=380, margin=dict(l=10, r=10, t=60, b=10),
                      template="plotly_white")
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    return fig


def run_figure(curves: dict[str, list[dict]], config: dict, done_steps: int,
               total_steps: int) -> go.Figure:
    """The live curves of a run (one line per seed), titled with its settings and progress.

    Args:
        config: the run's settings (DnaState.metrics()["config"]): dataset, train_size, k.
    """
    return curves_figure(curves, f"{config['dataset']}: {config['train_size'] or 'all'} "
                                 f"training sequences, k={config['k']}, "
                                 f"{done_steps}/{total_steps} steps")


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
    fig.update_layout(title=f"Which bases drive '{label}' (p = {p:.2f}): "
                            "drop in probability when each token is hidden",
                      xaxis_title="position (bp)", yaxis_title="importance",
                      height=340, margin=dict(l=10, r=10, t=50, b=10), template="plotly_white")
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
    cfg = ref["config"]
    return curves_figure(ref["datasets"][dataset]["curves"],
                         f"Reference, {dataset}: {cfg['train_size'] or 'all'} training "
                         f"sequences, k={cfg['k']}, {cfg['steps']} steps, "
                         f"{cfg['seeds']} seeds", mean=True)


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


def reference_summary(ref: dict) -> str:
    """Returns: one Markdown line on how, where and when the reference run was made."""
    cfg, machine = ref["config"], ref["machine"]
    return (f"`python -m core dna-sweep --steps {cfg['steps']} --seeds {cfg['seeds']} "
            f"--train-size {cfg['train_size'] or 0} --k {cfg['k']}` on {machine['device']} "
            f"(torch {machine['torch']}), started {ref['started']}, "
            f"{ref['wall_s'] / 60:.0f} min in all; model {cfg['model']}, lr {cfg['lr']}, "
            f"batch {cfg['batch_size']}.")


def accuracy_text(run: dict) -> str:
    """Returns: "0.707 ± 0.111", the mean test accuracy and its 95% half-width (as tables)."""
    return f"{run['test_accuracy']:.3f} {ci_text(run['ci95'])}"


def _overlap(a: dict, b: dict) -> bool | None:
    """Whether two runs' 95% intervals overlap; None when one has none (a single seed)."""
    if a["ci95"] is None or b["ci95"] is None:
        return None
    return abs(a["test_accuracy"] - b["test_accuracy"]) <= a["ci95"] + b["ci95"]


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def task_verdict(runs: dict[str, dict]) -> str:
    """Which start leads one task, by how much, and whether the seeds separate it.

    Args:
        runs: starting point -> {"test_accuracy", "ci95", ...}.
    Returns:
        A sentence such as "re-emb leads, 0.018 ahead of pretrained; their 95% intervals
        overlap." (ties name every leader).
    """
    order = sorted(runs, key=lambda i: runs[i]["test_accuracy"], reverse=True)
    top = runs[order[0]]["test_accuracy"]
    leaders = [i for i in order if runs[i]["test_accuracy"] == top]
    rest = [i for i in order if i not in leaders]
    if not rest:
        return f"{_names(leaders)} {'tie' if len(leaders) > 1 else 'is the only start'}."
    runner = rest[0]
    lead = (f"{_names(leaders)} tie for the lead" if len(leaders) > 1
            else f"{leaders[0]} leads")
    gap = top - runs[runner]["test_accuracy"]
    overlaps = [_overlap(runs[i], runs[runner]) for i in leaders]
    if None in overlaps:
        return f"{lead}, {gap:.3f} ahead of {runner}; one seed gives no 95% interval."
    apart = "overlap" if any(overlaps) else "do not overlap"
    return f"{lead}, {gap:.3f} ahead of {runner}; their 95% intervals {apart}."


def _config_text(ref: dict) -> str:
    cfg = ref["config"]
    size = (f"at most {cfg['train_size']}" if cfg["train_size"] else "all") + " labelled"
    bases = "one base" if cfg["k"] == 1 else f"{cfg['k']} bases"
    return (f"{cfg['seeds']} seeds per starting point, {size} training sequences per task, "
            f"{bases} per word, {cfg['steps']} steps")


def _split(ref: dict, a: str, b: str, same) -> tuple[list[str], list[str]]:
    """Tasks where `same(runs[a], runs[b])` is true, and where it is false; tasks without
    both starts, or where it is None (cannot tell), are in neither."""
    yes, no = [], []
    for name, result in ref["datasets"].items():
        runs = result["runs"]
        verdict = same(runs[a], runs[b]) if a in runs and b in runs else None
        if verdict is not None:
            (yes if verdict else no).append(name)
    return yes, no


def _baseline_text(ref: dict) -> str:
    """Where the pretrained start is ahead of random init and where it is not."""
    ahead, behind = _split(ref, "pretrained", BASELINE,
                           lambda p, r: p["test_accuracy"] > r["test_accuracy"])
    head = "At this budget the pretrained start is, on the mean over seeds,"
    if ahead and behind:
        return f"{head} ahead of random init on {_names(ahead)}, but not on {_names(behind)}."
    if ahead:
        return f"{head} ahead of random init on {_names(ahead)}."
    if behind:
        return f"{head} not ahead of random init on {_names(behind)}."
    return ""


def _control_text(ref: dict) -> str:
    """Where re-emb (the pretrained body with fresh word embeddings) is level with pretrained."""
    level, apart = _split(ref, "re-emb", "pretrained", _overlap)
    parts = []
    if level:
        parts.append(f"re-emb and pretrained are level (overlapping 95% intervals) on "
                     f"{_names(level)}")
    if apart:
        parts.append(f"their intervals are apart on {_names(apart)}" if level else
                     f"re-emb and pretrained are apart (95% intervals) on {_names(apart)}")
    return ("; ".join(parts) + ".") if parts else ""


def reference_finding(ref: dict | None) -> str:
    """The "what to expect" Markdown, written from the reference record: its settings, the
    test accuracy of every starting point on every task, and which start leads where.

    Args:
        ref: the record (lab.load_reference()), or None when none is committed.
    Returns:
        Markdown; with no record, a sentence saying so and how to make one.
    """
    if ref is None:
        return NO_REFERENCE
    lines = [f"**What to expect here.** The reference run below was made on "
             f"{ref['machine']['device']}: {_config_text(ref)}. Its test accuracy per task "
             "(mean ± 95% interval over seeds):", ""]
    for name, result in ref["datasets"].items():
        runs = result["runs"]
        scores = ", ".join(f"{init} {accuracy_text(r)}" for init, r in runs.items())
        lines.append(f"- **{name}**: {scores}. {task_verdict(runs)}")
    summary = " ".join(t for t in (_baseline_text(ref), _control_text(ref)) if t)
    if summary:
        lines += ["", summary]
    return "\n".join(lines)
