"""The fake-data tab's view of the transfer reference (python -m core transfer-sweep): probe
and fine-tune gains over scratch with 95% intervals, beside the paper's per-task gains.

    probe_figure(rec)          # held-out English MLM loss: scratch minus each arm (nats)
    finetune_figure(rec)       # per task: gain over scratch (points), the paper's beside it
    transfer_rows(rec)         # rows under TRANSFER_HEADERS
    transfer_finding(rec)      # what it shows, every number read from the record
    pretrain_curves(rec)       # (curves, floors) for core.pretrain.view.mlm_figure
    probe_curves_figure(state.curves, rec)   # a live probe run over the reference's curves
"""
from __future__ import annotations

import plotly.graph_objects as go

from core.common.titles import wrap_title
from core.common.words import Say, english

SCRATCH = "scratch"
# Chiang & Lee 2022, Table 1: gain over scratch (points) per GLUE task of a model pretrained on
# each kind of data (MRPC: F1; the others accuracy). Quoted, not measured here.
PAPER_TASK_GAINS = {
    "MRPC": {"english": 11.3, "uniform": 1.4, "unigram": 5.1, "flat-2": 8.0, "flat-4": -6.6,
             "flat-6": 1.0, "flat-128": 7.5, "nesting": 3.2, "shuffle-64": 8.4,
             "shuffle-32": 8.5, "shuffle-16": 7.2, "shuffle-8": 5.8, "shuffle-6": 9.3,
             "shuffle-4": 7.1},
    "QNLI": {"english": 22.4, "uniform": -1.7, "unigram": -0.6, "flat-2": 13.7, "flat-4": 16.2,
             "flat-6": 16.3, "flat-128": 16.0, "nesting": 17.3, "shuffle-64": 13.5,
             "shuffle-32": 14.2, "shuffle-16": 14.6, "shuffle-8": 13.0, "shuffle-6": 13.8,
             "shuffle-4": 9.0},
    "SST-2": {"english": 4.3, "uniform": -0.3, "unigram": -1.0, "flat-2": -2.7, "flat-4": -0.9,
              "flat-6": 0.3, "flat-128": -1.1, "nesting": -1.1, "shuffle-64": -1.7,
              "shuffle-32": -0.9, "shuffle-16": -3.1, "shuffle-8": -0.0, "shuffle-6": -1.2,
              "shuffle-4": -0.4},
}
PAPER_TASK = {"paraphrase": "MRPC", "qnli": "QNLI", "sentiment": "SST-2"}  # the closest task
TRANSFER_HEADERS = ["task", "arm", "test accuracy", "95% CI", "gain over scratch (points)",
                    "gain 95% CI", "rate", "paper gain"]
ARM_NAMES = {"matched": "matched (English model's weight statistics, no structure)"}


def _paper_gain(task: str, arm: str) -> float | None:
    return PAPER_TASK_GAINS.get(PAPER_TASK.get(task, ""), {}).get(arm)


def _ci(x) -> float:
    return float(x) if x is not None else 0.0


def pretrain_curves(rec: dict) -> tuple[dict[str, list[dict]], dict[str, float]]:
    """The record's MLM curves and floors, as core.pretrain.view.mlm_figure takes them."""
    pre = rec.get("pretrain", {})
    return ({s: p["curve"] for s, p in pre.items()},
            {s: p["floor"] for s, p in pre.items() if p.get("floor") is not None})


def probe_figure(rec: dict) -> go.Figure:
    """Held-out English MLM loss gain over scratch per arm (nats, scratch minus arm: higher
    is better), with the paired 95% interval; best first."""
    probe = {a: p for a, p in rec.get("probe", {}).items() if p.get("gain")}
    arms = sorted(probe, key=lambda a: -probe[a]["gain"]["mean"])
    gains = [probe[a]["gain"]["mean"] for a in arms]
    fig = go.Figure(go.Bar(
        x=arms, y=gains, marker_color=["#00CC96" if g > 0 else "#AB63FA" for g in gains],
        error_y=dict(type="data", array=[_ci(probe[a]["gain"]["ci95"]) for a in arms]),
        hovertext=[f"{a}: held-out loss {probe[a]['mean']:.3f}" for a in arms]))
    # each gain under its arm's name: a label on the bar would sit on its error bar
    fig.update_xaxes(tickmode="array", tickvals=arms,
                     ticktext=[f"{a}<br>{g:+.3f}" for a, g in zip(arms, gains)])
    base = rec.get("probe", {}).get(SCRATCH, {}).get("mean")
    steps = rec["config"]["probe_steps"]
    sub = f" (scratch: {base:.3f} nats)" if base is not None else ""
    fig.update_layout(title=wrap_title(f"Probe: held-out English MLM loss after {steps} steps "
                                       f"of fresh embeddings, gain over scratch{sub}"),
                      yaxis=dict(title="gain over scratch (nats)",
                                 automargin=True),
                      height=380, margin=dict(l=60, r=10, t=60, b=10), template="plotly_white")
    return fig


def finetune_figure(rec: dict) -> go.Figure:
    """Per task, the gain in test accuracy over scratch of every arm (points, paired 95%
    interval), with the paper's gain on the closest GLUE task as a grey marker."""
    fig = go.Figure()
    palette = ("#EF553B", "#636EFA", "#00CC96")
    for i, (task, arms) in enumerate(rec.get("finetune", {}).items()):
        names = [a for a in arms if arms[a].get("gain")]
        fig.add_trace(go.Bar(
            x=names, y=[100 * arms[a]["gain"]["mean"] for a in names], name=task,
            marker_color=palette[i % len(palette)],
            error_y=dict(type="data", array=[100 * _ci(arms[a]["gain"]["ci95"]) for a in names])))
        paper = [_paper_gain(task, a) for a in names]
        if any(p is not None for p in paper):
            fig.add_trace(go.Scatter(
                x=names, y=paper, mode="markers", name=f"paper ({PAPER_TASK[task]})",
                marker=dict(symbol="line-ew-open", size=18, color=palette[i % len(palette)],
                            line=dict(width=3)), opacity=0.6))
    fig.update_layout(title=wrap_title("Fine-tuning: test accuracy gain over scratch per task "
                                       "(bars: here, paired seeds; dashes: the paper)"),
                      barmode="group", yaxis_title="gain over scratch (points)", height=400,
                      margin=dict(l=10, r=10, t=60, b=10), template="plotly_white")
    return fig


def transfer_rows(rec: dict) -> list[list]:
    """One row per task and arm: accuracy, interval, paired gain, its interval, the rate
    chosen on dev, and the paper's gain on the closest task (blank where it has none)."""
    rows = []
    for task, arms in rec.get("finetune", {}).items():
        for arm, r in arms.items():
            g = r.get("gain")
            paper = _paper_gain(task, arm)
            rows.append([task, arm, round(r["mean"], 3),
                         round(r["ci95"], 3) if r.get("ci95") is not None else None,
                         round(100 * g["mean"], 1) if g else None,
                         round(100 * g["ci95"], 1) if g and g.get("ci95") is not None else None,
                         r.get("lr"), f"{paper:+.1f}" if paper is not None else ""])
    return rows


def _above(g: dict | None) -> bool:
    return bool(g) and g.get("ci95") is not None and g["mean"] - g["ci95"] > 0


def _below(g: dict | None) -> bool:
    return bool(g) and g.get("ci95") is not None and g["mean"] + g["ci95"] < 0


def _list(names: list[str], say: Say = english) -> str:
    return say(", ").join(f"`{n}`" for n in names) if names else say("none")


def transfer_finding(rec: dict, say: Say = english) -> str:
    """What the reference shows, in Markdown; every number read from the record."""
    c = rec["config"]
    parts = [say("**The reference** ({device}, {hours:.1f} h): a `{size}` BERT with the "
                 "`{vocab}` vocabulary pretrained {steps} steps of {batch} lines on each scheme "
                 "(all from the same initial weights), then every arm probed for {probe_steps} "
                 "steps and fine-tuned for {finetune_steps} steps on each task, with {seeds} "
                 "paired seeds.", device=rec["machine"]["device"],
                 hours=rec.get("compute_s", rec["wall_s"]) / 3600,
                 size=c["size"], vocab=c["vocab"], steps=c["steps"], batch=c["batch_size"],
                 probe_steps=c["probe_steps"], finetune_steps=c["finetune_steps"],
                 seeds=c["seeds"])]
    pre = rec.get("pretrain", {})
    learned = [s for s, p in pre.items() if p.get("learned")]
    not_learned = [s for s, p in pre.items() if p.get("learned") is False]
    iid = [s for s, p in pre.items() if p.get("context") is False]
    if learned or not_learned:
        parts.append(say("Pretraining ended clearly below its floor (learned its structure) "
                         "for {learned}; not for {not_learned}.", learned=_list(learned, say),
                         not_learned=_list(not_learned, say)))
    if iid:
        parts.append(say("{iid}: ids drawn i.i.d., no structure to learn; their loss stays at "
                         "the floor by design (controls for frequency and scale).",
                         iid=_list(iid, say)))
    probe = rec.get("probe", {})
    if probe.get(SCRATCH):
        better = [a for a, p in probe.items() if _above(p.get("gain"))]
        worse = [a for a, p in probe.items() if _below(p.get("gain"))]
        parts.append(say("**Probe** (fresh embeddings on the frozen body, {steps} steps): "
                         "scratch reaches a held-out English loss of {loss:.3f}; lower than "
                         "scratch with the interval clear of zero: {better}; higher: {worse}.",
                         steps=c["probe_steps"], loss=probe[SCRATCH]["mean"],
                         better=_list(better, say), worse=_list(worse, say)))
    for task, arms in rec.get("finetune", {}).items():
        base = arms.get(SCRATCH)
        if not base:
            continue
        above = [a for a, r in arms.items() if _above(r.get("gain"))]
        below = [a for a, r in arms.items() if _below(r.get("gain"))]
        parts.append(say("**{task}** (closest GLUE task: {glue}): scratch {scratch:.3f}; above "
                         "scratch with the interval clear of zero: {above}; below: {below}.",
                         task=task, glue=PAPER_TASK.get(task, "-"), scratch=base["mean"],
                         above=_list(above, say), below=_list(below, say)))
    chosen = [lr for arms in rec.get("lrs", {}).values() for lr in arms.values()]
    if chosen and c.get("lr_grid") and all(lr == max(c["lr_grid"]) for lr in chosen):
        parts.append(say("Every arm chose the grid's largest fine-tuning rate ({lr:g}) on every "
                         "task: {steps} steps leave these runs short of training, so their gains "
                         "measure this budget (how easily a body is optimised) more than what "
                         "pretraining put in it.", lr=max(c["lr_grid"]),
                         steps=c["finetune_steps"]))
    return "\n\n".join(parts)


def probe_curves_figure(curves: dict[str, list[dict]], reference: dict | None = None,
                        title: str = "Probe: held-out English MLM loss") -> go.Figure:
    """Held-out English MLM loss against probe step, a line per arm; with a transfer
    record, its seed-0 curves of the same arms drawn dashed and faint behind them."""
    fig = go.Figure()
    palette = ("#EF553B", "#636EFA", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692",
               "#B6E880", "#FF97FF", "#FECB52", "#1F77B4")
    color = {a: palette[i % len(palette)] for i, a in enumerate(curves)}
    for arm in curves:
        ref = ((reference or {}).get("probe", {}).get(arm) or {}).get("curve")
        if ref:
            fig.add_trace(go.Scatter(x=[p["step"] for p in ref],
                                     y=[p["held_out_loss"] for p in ref], mode="lines",
                                     name=f"reference {arm}", opacity=0.45,
                                     line=dict(color=color[arm], dash="dash", width=1.5)))
    for arm, curve in curves.items():
        fig.add_trace(go.Scatter(x=[p["step"] for p in curve],
                                 y=[p["held_out_loss"] for p in curve], mode="lines+markers",
                                 name=ARM_NAMES.get(arm, arm).split(" (")[0],
                                 line=dict(color=color[arm])))
    fig.update_layout(title=wrap_title(title), xaxis_title="probe step (only the fresh "
                      "embeddings and output bias learn)", yaxis_title="held-out MLM loss (nats)",
                      height=380, margin=dict(l=10, r=10, t=50, b=10), template="plotly_white")
    return fig
