"""The fake-data tab's figures, tables and reference text, from plain numbers (no torch).

Every function reads the numbers a run reports (PretrainState.metrics() and .mlm, or the
committed reference record), so the tab's prose quotes the record instead of retyping it.

    mlm_figure(state.mlm)                        # MLM loss per scheme against step
    gains_figure(metrics, "sentiment")           # gain over scratch beside the paper's Table 1
    results_table(metrics)                       # rows under TABLE_HEADERS
    reference_summary(ref, line_length=126)      # how the reference was made (one line)
    reference_finding(ref)                       # what it shows (Markdown paragraphs)
"""
from __future__ import annotations

import math

import plotly.graph_objects as go

from core.common.records import config_of
from core.common.stats import ci_text, paired_difference
from core.common.titles import wrap_title
from core.common.words import Say, english, listing
from core.pretrain.fake_data import BOUNDS

ENGLISH, SCRATCH = BOUNDS  # real text (the upper bound) and no pretraining (the baseline)
# Chiang & Lee 2022, Table 1: GLUE average gain over scratch (points) of a medium model
# pretrained on each kind of data. Only the schemes the paper reports appear here.
PAPER_GAINS = {"english": 20.5, "flat-128": 14.5, "shuffle-64": 12.4, "nesting": 12.0,
               "flat-2": 7.2, "unigram": 1.3, "uniform": -0.2}
TABLE_HEADERS = ["scheme", "test accuracy", "95% CI", "gain (points)", "paper gain",
                 "final MLM loss"]
VOCAB_SIZE = 30522  # the bert-base-uncased vocabulary every scheme draws from
# A scheme whose logged MLM loss fell by more than this learned something beyond chance
# (ln(VOCAB_SIZE)); the structured schemes of a short run stay within a few tenths of it.
LEARNED_NATS = 1.0
PALETTE = ("#EF553B", "#636EFA", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692",
           "#B6E880", "#FF97FF", "#FECB52", "#1F77B4", "#8C564B")


def _color(scheme: str, order: list[str]) -> str:
    return PALETTE[order.index(scheme) % len(PALETTE)] if scheme in order else "#444"


# --------------------------------------------------------------------------------- figures
def mlm_figure(mlm: dict[str, list[dict]], title: str = "MLM loss while pretraining",
               reference: dict[str, list[dict]] | None = None,
               floors: dict[str, float] | None = None) -> go.Figure:
    """Masked-language-modelling loss per scheme against step.

    Args:
        mlm: scheme -> [{"step", "loss"}] (PretrainState.mlm, or a record's "mlm").
        title: the figure's title.
        reference: the reference run's curves (a record's "mlm"); those of the schemes in
            `mlm` are drawn dashed and faint behind them.
        floors: scheme -> its stream's no-structure loss (core.pretrain.floors), drawn as a
            dotted level in the scheme's colour: a curve must get below it to have learned
            the scheme's structure.
    """
    order = list(mlm)
    fig = go.Figure()
    for scheme in order:
        curve = (reference or {}).get(scheme)
        if curve:
            fig.add_trace(go.Scatter(
                x=[p["step"] for p in curve], y=[p["loss"] for p in curve],
                name=f"reference {scheme}", mode="lines", opacity=0.45,
                line=dict(color=_color(scheme, order), dash="dash", width=1.5)))
    for scheme, curve in mlm.items():
        fig.add_trace(go.Scatter(x=[p["step"] for p in curve], y=[p["loss"] for p in curve],
                                 name=scheme, mode="lines", legendgroup=scheme,
                                 line=dict(color=_color(scheme, order))))
        floor = (floors or {}).get(scheme)
        if floor is not None and curve:
            fig.add_trace(go.Scatter(
                x=[0, max(p["step"] for p in curve)], y=[floor, floor], mode="lines",
                name=f"{scheme} floor {floor:.2f}", legendgroup=scheme, opacity=0.8,
                line=dict(color=_color(scheme, order), dash="dot", width=1.5),
                hovertemplate=f"{scheme}: frequencies-only loss {floor:.2f}<extra></extra>"))
    fig.update_layout(title=wrap_title(title), xaxis_title="pretraining step",
                      yaxis_title="MLM loss (masked positions)", height=360,
                      margin=dict(l=10, r=10, t=50, b=10), template="plotly_white")
    return fig


def floors_of(metrics: dict | None) -> dict[str, float]:
    """scheme -> floor, from PretrainState.metrics() or a record's "metrics" (runs made
    before floors were recorded have none)."""
    return {s: r["floor"] for s, r in ((metrics or {}).get("runs") or {}).items()
            if r.get("floor") is not None}


def floor_sentence(metrics: dict | None, say: Say = english) -> str:
    """Which schemes ended clearly below their floor (learned their structure), which not."""
    runs = (metrics or {}).get("runs") or {}
    judged = {s: r["learned"] for s, r in runs.items() if r.get("learned") is not None}
    if not judged:
        return ""
    yes = [s for s, v in judged.items() if v]
    no = [s for s, v in judged.items() if not v]
    parts = [say("Each dotted line is a scheme's floor: the loss of a model that knows only how "
                 "often each id occurs.")]
    if yes:
        parts.append(say("Ended clearly below it (learned structure): {names}.",
                         names=_names(yes, say)))
    if no:
        parts.append(say("Did not: {names}.", names=_names(no, say)))
    return say(" ").join(parts)


def gains_figure(metrics: dict, title: str) -> go.Figure:
    """Gain in test accuracy over scratch per scheme (points, with 95% error bars where there
    are seeds), beside the paper's Table 1 gains (GLUE average) as reference bars.

    Args:
        metrics: PretrainState.metrics() (or a record's "metrics").
        title: the figure's title; scratch's accuracy is appended.
    """
    runs = metrics["runs"]
    schemes = [s for s in runs if s != SCRATCH and "gain_over_scratch" in runs[s]]
    gains = [100 * runs[s]["gain_over_scratch"] for s in schemes]
    errs = [100 * (runs[s].get("ci95") or 0.0) for s in schemes]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=schemes, y=gains, name="this run",
                         error_y=dict(type="data", array=errs, visible=any(errs)),
                         text=[f"{g:+.1f}" for g in gains], textposition="outside",
                         marker_color="#EF553B"))
    fig.add_trace(go.Bar(x=schemes, y=[PAPER_GAINS.get(s) for s in schemes],
                         name="paper, Table 1 (GLUE avg.)", marker_color="#BBBBBB",
                         text=[f"{PAPER_GAINS[s]:+.1f}" if s in PAPER_GAINS else "" for s in
                               schemes], textposition="outside"))
    base = runs.get(SCRATCH, {}).get("test_accuracy")
    sub = f" (scratch: {100 * base:.1f}%)" if base is not None else ""
    fig.update_layout(title=wrap_title(title + sub), barmode="group",
                      yaxis_title="test accuracy gain over scratch (points)", height=380,
                      margin=dict(l=10, r=10, t=50, b=10), template="plotly_white")
    return fig


def results_table(metrics: dict) -> list[list]:
    """Rows under TABLE_HEADERS: scheme, test accuracy, 95% CI, gain over scratch, paper
    gain, final MLM loss; only schemes with a test accuracy."""
    rows = []
    for scheme, r in metrics["runs"].items():
        if "test_accuracy" not in r:
            continue
        ci = ci_text(r.get("ci95"))
        gain = r.get("gain_over_scratch")
        rows.append([scheme, round(r["test_accuracy"], 3), ci,
                     "" if gain is None else f"{100 * gain:+.1f}",
                     "" if scheme not in PAPER_GAINS else f"{PAPER_GAINS[scheme]:+.1f}",
                     "" if not r["mlm_loss"] else round(r["mlm_loss"][-1], 3)])
    return rows


# ------------------------------------------------------------------- the reference, as text
def reference_summary(ref: dict, *, line_length: int, say: Say = english) -> str:
    """One Markdown line: how, where and when the reference was made.

    Args:
        ref: the reference record (core.pretrain.lab.load_reference()).
        line_length: tokens per pretraining line (core.pretrain.data.LINE_LENGTH).
    """
    c = config_of(ref)
    command = (f"python -m core pretrain-sweep --schemes {','.join(c['schemes'])} --size "
               f"{c['size']} --steps {c['steps']} --batch-size {c['batch_size']} --seeds "
               f"{c['seeds']} --task {c['task']} --finetune-steps {c['finetune_steps']}")
    return say("`{command}` on {device} (torch {torch}), started {started}, {minutes:.0f} min "
               "in all; lines of {tokens} tokens, {examples}.",
               command=command, device=ref["machine"]["device"], torch=ref["machine"]["torch"],
               started=ref["started"], minutes=ref["wall_s"] / 60, tokens=line_length,
               examples=say("{n} labelled examples", n=c["train_size"]) if c["train_size"]
               else say("all labelled examples"))


def gain_ci95(runs: dict, scheme: str) -> tuple[float, float]:
    """A scheme's gain in test accuracy over scratch, in points, with its 95% half-width.

    Scheme and scratch are fine-tuned with the same seeds, so the interval is taken over the
    per-seed differences (paired); without matching seeds it is NaN.

    Args:
        runs: metrics["runs"] of a run or record.
        scheme: a key of `runs` with a gain_over_scratch.
    Returns:
        (gain, half_width) in points.
    """
    ours, base = runs[scheme].get("per_seed") or [], runs[SCRATCH].get("per_seed") or []
    gain = 100 * runs[scheme]["gain_over_scratch"]
    if len(ours) != len(base) or len(ours) < 2:
        return gain, math.nan
    half = paired_difference(dict(enumerate(ours)), dict(enumerate(base)))["ci95"]
    return gain, 100 * half


def _pm(half: float, digits: int) -> str:
    return "" if half != half else f" ± {half:.{digits}f}"


def _names(schemes: list[str], say: Say = english) -> str:
    return listing([f"`{s}`" for s in schemes], say)


def _verdict(gains: dict[str, tuple[float, float]], say: Say = english) -> str:
    """Whether any scheme beats scratch, and which intervals leave no doubt either way."""
    ahead = [s for s, (g, _) in gains.items() if g > 0]
    above = [s for s, (g, h) in gains.items() if g - h > 0]  # NaN half-widths compare False
    below = [s for s, (g, h) in gains.items() if g + h < 0]
    # intervals: the paired interval of the gain (seed against seed), not the figure's bars
    if not ahead:
        text = say("At this scale **no scheme beats scratch**")
    else:
        text = (say("**{names} beats scratch**", names=_names(ahead, say)) if len(ahead) == 1
                else say("**{names} beat scratch**", names=_names(ahead, say)))
        if not above:
            text = say("{text} (within the intervals)", text=text)
        elif len(above) == 1:
            text = say("{text} ({names} beyond its paired interval)", text=text,
                       names=_names(above, say))
        else:
            text = say("{text} ({names} beyond their paired intervals)", text=text,
                       names=_names(above, say))
    if len(below) == 1:
        text = say("{text}; {names} is worse than scratch beyond its paired interval",
                   text=text, names=_names(below, say))
    elif below:
        text = say("{text}; {names} are worse than scratch beyond their paired intervals",
                   text=text, names=_names(below, say))
    return text + say(".")


def _loss_sentence(runs: dict, gains: dict[str, tuple[float, float]], say: Say = english
                   ) -> str:
    """MLM loss first -> last per scheme, and how the schemes that learned transferred."""
    curves = {s: r["mlm_loss"] for s, r in runs.items() if s != SCRATCH and r.get("mlm_loss")}
    if not curves:
        return ""
    chance = math.log(VOCAB_SIZE)
    text = say("MLM loss from the first to the last logged point (a model that has learned "
               "nothing sits at ln({vocab}) = {chance:.1f}): {losses}.", vocab=VOCAB_SIZE,
               chance=chance,
               losses=say(", ").join(f"`{s}` {c[0]:.1f} → {c[-1]:.1f}" for s, c in curves.items()))
    learned = [s for s, c in curves.items() if c[0] - c[-1] > LEARNED_NATS and s in gains]
    flat = [s for s, c in curves.items() if c[0] - c[-1] <= LEARNED_NATS and s in gains]
    if learned and flat:
        mean_l = sum(gains[s][0] for s in learned) / len(learned)
        mean_f = sum(gains[s][0] for s in flat) / len(flat)
        values = dict(nats=LEARNED_NATS, learned=_names(learned, say), mean_l=mean_l,
                      flat=_names(flat, say), mean_f=mean_f)
        text += say(" ") + (say(
            "The schemes whose loss fell by more than {nats:g} nat ({learned}) gained "
            "{mean_l:+.1f} points on average, those that stayed near chance ({flat}) "
            "{mean_f:+.1f}: here a lower MLM loss went with a lower accuracy after "
            "fine-tuning.", **values) if mean_l < mean_f else say(
            "The schemes whose loss fell by more than {nats:g} nat ({learned}) gained "
            "{mean_l:+.1f} points on average, those that stayed near chance ({flat}) "
            "{mean_f:+.1f}: here a lower MLM loss went with a higher accuracy after "
            "fine-tuning.", **values))
    return text


def reference_finding(ref: dict, say: Say = english) -> str:
    """What the reference run shows, in Markdown, every number read from the record.

    Args:
        ref: the reference record (core.pretrain.lab.load_reference()): its settings
            (metrics.config), machine, and per-scheme accuracies and MLM curves.
    Returns:
        The settings and scratch's accuracy; each scheme's gain over scratch with its 95%
        interval (best first) and whether any beats scratch; each scheme's MLM loss from the
        first to the last logged point.
    """
    c, runs = config_of(ref), ref["metrics"]["runs"]
    base = runs[SCRATCH]
    seeds = (say("{n} seeds", n=c["seeds"]) if c["seeds"] != 1 else say("{n} seed", n=1))
    text = say("**What to expect here.** The reference below ran on {device}: the `{size}` "
               "model, {steps} MLM steps of {batch} lines per scheme, then {finetune} "
               "fine-tuning steps on {task} with {seeds} (the paper pretrains a medium "
               "model for 100k steps of 300 lines). "
               "Scratch reaches {accuracy} test accuracy.", device=ref["machine"]["device"],
               size=c["size"], steps=c["steps"], batch=c["batch_size"],
               finetune=c["finetune_steps"], task=c["task"], seeds=seeds,
               accuracy=f"{base['test_accuracy']:.3f}"
               f"{_pm(base.get('ci95') or math.nan, 3)}")
    gains = {s: gain_ci95(runs, s) for s, r in runs.items()
             if s != SCRATCH and "gain_over_scratch" in r}
    if gains:
        order = sorted(gains, key=lambda s: -gains[s][0])
        listed = say(", ").join(f"`{s}` {gains[s][0]:+.1f}{_pm(gains[s][1], 1)}" for s in order)
        text += "\n\n" + _verdict(gains, say) + say(" ") + (
            say("Gain over scratch in points (95% intervals over the seeds, each seed "
                "against scratch's): {gains}.", gains=listed) if c["seeds"] > 1
            else say("Gain over scratch in points: {gains}.", gains=listed))
        if not any(g > 0 for g, _ in gains.values()):
            text += say(" ") + say("Read it as the starting point of the paper's curves, not "
                                   "their end.")
    loss = say(" ").join(t for t in (_loss_sentence(runs, gains, say),
                                     floor_sentence(ref["metrics"], say)) if t)
    return text + (f"\n\n{loss}" if loss else "")
