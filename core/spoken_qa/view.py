"""Figures, tables and text of the spoken-QA tab, from plain numbers and run records
(plotly; no torch, no gradio).

    answer_figure(wave, runs, (start_s, end_s))   waveform over the unit timeline, answer shaded
                                                  (and the true answer framed, where known)
    curves_figure(curves, title)                  training loss, held-out span loss, dev FF1
    reference_figure(ref) / reference_table(ref)  the committed run's test FF1 / AOS beside DUAL's
    reference_summary(ref)                        its scores and settings, and how to run it again
    comparison_rows(runs)                         one row (RUN_COLUMNS) per committed run
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.common.titles import wrap_title
from core.common.view import add_seed_bands
from core.common.words import Say, english
from core.speech.audio import SAMPLE_RATE
from core.speech.units import Runs
from core.spoken_qa.config import MAX_LEN, SpokenQARunConfig, settings_of
from core.spoken_qa.data import TAKE_POOLS, TEST_VOICES

COLORS = {"pretrained": "#EF553B", "random": "#636EFA"}
ENVELOPE_POINTS = 1_500  # min/max pairs drawn for the waveform, whatever its length
ANSWER_FILL = "rgba(0, 170, 80, 0.25)"
OTHER_FILL = "rgba(99, 110, 250, 0.35)"  # the random-init twin's span (its curve colour)
GOLD_LINE = "#B8860B"  # the true answer's frame (dark gold: visible on light and dark pages)
# DUAL (Lin et al. 2022), NMSQA test, HuBERT-128 units + Longformer, pretrained init.
DUAL_NMSQA = {"ff1": 0.560, "aos": 0.491}
DUAL_TRAIN_QUESTIONS = 87_599  # NMSQA train: the SQuAD v1.1 train questions, spoken
RUN_COLUMNS = ["extractor", "k", "unit map", "steps", "window", "train voicings",
               "train voices", "seed", "pretrained FF1", "pretrained AOS", "random FF1",
               "random AOS", "test questions"]
# Shares of the table's width (sum 100 %): every column shows at 1,000 px, no word split.
RUN_WIDTHS = ["11%", "4%", "7%", "6%", "7%", "8%", "7%", "6%", "9%", "9%", "8%", "8%", "10%"]


def envelope(wave: np.ndarray, points: int = ENVELOPE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Args: a 16 kHz wave and how many slices to cut it into.
    Returns: (times in s, values): the min and max of each slice, interleaved, so a 3-minute
    clip draws as 3,000 points with its peaks intact."""
    wave = np.asarray(wave, dtype=np.float32)
    n = max(1, min(points, len(wave)))
    edges = np.linspace(0, len(wave), n + 1).astype(int)
    lo = np.minimum.reduceat(wave, edges[:-1])
    hi = np.maximum.reduceat(wave, edges[:-1])
    t = edges[:-1] / SAMPLE_RATE
    return np.repeat(t, 2), np.column_stack([lo, hi]).ravel()


def answer_figure(wave: np.ndarray, runs: Runs, span: tuple[float, float] | None = None, *,
                  tokens: list[str] | None = None, k: int | None = None,
                  title: str = "passage", gold: tuple[float, float] | None = None,
                  others: dict[str, tuple[float, float]] | None = None) -> go.Figure:
    """Waveform (top) and deduplicated units as coloured bars (bottom, one bar per run,
    hover: unit, token, frames), with the answer span shaded across both.

    Args:
        wave, runs: the passage audio (16 kHz) and its deduplicated units.
        span: the answer's (start_s, end_s), shaded when given.
        tokens, k: the unit map's token of every run, and the codebook size (colour scale).
        gold: the true answer's (start_s, end_s) where it is known, drawn as a dashed frame.
        others: other models' spans (start -> (start_s, end_s)), shaded in their own colour
            and labelled below the waveform; `span` is then labelled "pretrained".
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35],
                        vertical_spacing=0.04)
    t, y = envelope(wave)
    fig.add_trace(go.Scatter(x=t, y=y, mode="lines", line=dict(color="#555", width=1),
                             name="waveform", hoverinfo="skip"), row=1, col=1)
    dur = runs.end_s - runs.start_s
    hover = [f"unit {u}" + (f" -> {tokens[i]!r}" if tokens else "") + f", {c} frames"
             for i, (u, c) in enumerate(zip(runs.units, runs.counts))]
    fig.add_trace(go.Bar(x=dur, base=runs.start_s, y=["units"] * len(dur), orientation="h",
                         marker=dict(color=runs.units, colorscale="Turbo", cmin=0,
                                     cmax=max(int(k or 0) - 1, int(runs.units.max(initial=0)))),
                         hovertext=hover, hoverinfo="text", name="units", width=0.9),
                  row=2, col=1)
    # labels stacked above the waveform: other models, then this span, then the true answer
    labels = 0
    for name, (a, b) in (others or {}).items():
        for row in (1, 2):
            fig.add_vrect(x0=a, x1=b, fillcolor=OTHER_FILL, line_width=0, row=row, col=1)
        fig.add_annotation(x=(a + b) / 2, y=1, yref="y domain", showarrow=False,
                           text=f"{name} init {a:.2f}-{b:.2f} s", yanchor="bottom",
                           yshift=16 * labels, font=dict(color=COLORS.get(name, "#636EFA")),
                           row=1, col=1)
        labels += 1
    if span is not None:
        for row in (1, 2):
            fig.add_vrect(x0=span[0], x1=span[1], fillcolor=ANSWER_FILL, line_width=0,
                          row=row, col=1)
        fig.add_annotation(x=(span[0] + span[1]) / 2, y=1, yref="y domain", showarrow=False,
                           text=("pretrained " if others else "answer ")
                           + f"{span[0]:.2f}-{span[1]:.2f} s", yanchor="bottom",
                           yshift=16 * labels,
                           font=dict(color="#00873f") if others else None, row=1, col=1)
        labels += 1
    if gold is not None:
        for row in (1, 2):
            fig.add_vrect(x0=gold[0], x1=gold[1], fillcolor="rgba(0,0,0,0)", line_width=2,
                          line_dash="dash", line_color=GOLD_LINE, row=row, col=1)
        fig.add_annotation(x=(gold[0] + gold[1]) / 2, y=1, yref="y domain", showarrow=False,
                           text=f"true answer {gold[0]:.2f}-{gold[1]:.2f} s", yanchor="bottom",
                           yshift=16 * labels, font=dict(color=GOLD_LINE), row=1, col=1)
        labels += 1
    fig.update_layout(title=wrap_title(f"{title}: {len(wave) / SAMPLE_RATE:.1f} s, "
                                       f"{int(runs.counts.sum())} frames -> "
                                       f"{len(runs.units)} units"),
                      height=330, showlegend=False, bargap=0, template="plotly_white",
                      margin=dict(l=10, r=10, t=40 + 16 * labels, b=10))
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    fig.update_yaxes(showticklabels=False, row=1, col=1)
    return fig


PANELS = (("loss", "training loss"), ("dev_loss", "held-out span loss"),
          ("dev_ff1", "dev FF1"))  # the panels a run may fill: metric, title


def curves_figure(curves: dict[str, list[dict]], title: str,
                  reference: dict[str, list[dict]] | None = None, *,
                  bands: dict[str, list[dict]] | None = None) -> go.Figure:
    """Args: starting point -> [{step, loss, and at eval steps dev_loss and/or dev_ff1}], the
    title; the reference run's curves in the same form (drawn dashed and faint, behind a live
    run), and/or several seeds of the live setting as "init/seed" -> curve (drawn as each
    start's mean and seed range).
    Returns: training loss, then held-out span loss and dev FF1 against step where any curve
    has them, a line per start."""
    every = [c for group in (curves, reference or {}, bands or {}) for c in group.values()]
    panels = [(key, name) for key, name in PANELS
              if key == "loss" or any(key in p for c in every for p in c)]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[n for _, n in panels])
    cols = [(i + 1, key) for i, (key, _) in enumerate(panels)]
    if bands:
        add_seed_bands(fig, bands, panels=tuple(cols), colors=COLORS, label="reference")
    layers = [(f"reference {i}", c, dict(dash="dash", width=1.5), 0.45)
              for i, c in (reference or {}).items() if c]
    layers += [(i, c, {}, 1.0) for i, c in curves.items()]
    for name, curve, style, opacity in layers:
        line = dict(color=COLORS.get(name.removeprefix("reference "), "#444"), **style)
        for col, key in cols:
            pts = [p for p in curve if key in p]
            fig.add_trace(go.Scatter(x=[p["step"] for p in pts], y=[p[key] for p in pts],
                                     name=name, legendgroup=name, showlegend=col == 1,
                                     mode="lines" if key == "loss" else "lines+markers",
                                     line=line, opacity=opacity), row=1, col=col)
    fig.update_layout(title=wrap_title(title), height=380, template="plotly_white",
                      margin=dict(l=10, r=10, t=60, b=10))
    fig.update_xaxes(title_text="step")
    for col, key in cols:
        if key == "dev_ff1":
            fig.update_yaxes(range=[0, 1], row=1, col=col)
    return fig


def reference_figure(ref: dict) -> go.Figure:
    """Args: a run record (lab.load_reference).
    Returns: bars of the test FF1 and AOS of each start, beside DUAL's NMSQA numbers (grey)."""
    runs = ref["runs"]
    inits = [i for i in runs if "ff1" in runs[i]]
    names = inits + ["DUAL (NMSQA)"]
    fig = go.Figure()
    for metric, label, color in (("ff1", "FF1", "#EF553B"), ("aos", "AOS", "#636EFA")):
        ys = [runs[i][metric] for i in inits] + [DUAL_NMSQA[metric]]
        fig.add_trace(go.Bar(x=names, y=ys, name=label, text=[f"{y:.3f}" for y in ys],
                             textposition="outside",
                             marker_color=[color] * len(inits) + ["#BBBBBB"]))
    cfg = ref["config"]
    fig.update_layout(title=wrap_title(f"test voices: {cfg['extractor']} k={cfg['k']}, "
                                       f"{cfg['steps']} steps (grey: the paper)"),
                      barmode="group",
                      height=360, yaxis=dict(range=[0, 1], title="score"),
                      template="plotly_white", margin=dict(l=10, r=10, t=50, b=10))
    return fig


def reference_table(ref: dict) -> list[list]:
    """Args: a run record (lab.load_reference).
    Returns: rows of starting point, test FF1, test AOS, questions, final dev FF1; then
    DUAL's."""
    rows = []
    for init, r in ref["runs"].items():
        dev = [p["dev_ff1"] for p in r.get("curve", []) if "dev_ff1" in p]
        rows.append([init, round(r["ff1"], 3), round(r["aos"], 3), int(r["n"]),
                     round(dev[-1], 3) if dev else None])
    rows.append(["DUAL (NMSQA, HuBERT-128)", DUAL_NMSQA["ff1"], DUAL_NMSQA["aos"], None, None])
    return rows


def _test_questions(ref: dict) -> int:
    return next((r["n"] for r in ref["runs"].values() if "n" in r), 0)


def reference_summary(ref: dict, say: Say = english) -> str:
    """Args: a run record (lab.load_reference).
    Returns: Markdown: the test scores per starting point, the run's settings, machine and
    wall time, and the command that makes it again."""
    cfg = ref["config"]
    scores = say("; ").join(f"**{say(init)}** FF1 {r['ff1']:.3f}, AOS {r['aos']:.3f}"
                            for init, r in ref["runs"].items() if "ff1" in r)
    by_voice = say("; ").join(
        f"{say(init)} " + ", ".join(f"{v} {s['ff1']:.3f}" for v, s in r["by_voice"].items())
        for init, r in ref["runs"].items() if r.get("by_voice"))
    if by_voice:  # records scored since the voices were scored apart
        scores += say(" (test FF1 by voice: {by_voice})", by_voice=by_voice)
    return say("{scores} on {questions} held-out test questions (voices {voices}). {extractor} "
               "units, k={k}, {unit_map} map; {steps} steps of {batch} windows of {window} "
               "tokens, lr {lr:g}, seed {seed}; {model} on {device}, {minutes:.0f} min, started "
               "{started}. Again: `{command}`", scores=scores, questions=_test_questions(ref),
               voices=", ".join(TEST_VOICES), extractor=cfg["extractor"], k=cfg["k"],
               unit_map=cfg["unit_map"], steps=cfg["steps"], batch=cfg["batch_size"],
               window=cfg.get("window") or MAX_LEN, lr=cfg["lr"], seed=cfg["seed"],
               model=ref["model"],
               device=ref["machine"]["device"], minutes=run_seconds(ref) / 60,
               started=ref["started"], command=run_command(cfg))


# Settings the command names whenever a run's value is not the CLI's default.
_OPTIONAL_FLAGS = ("seed", "batch_size", "lr", "layers", "window", "question_tokens", "stride",
                   "train_takes", "take_voices")


def run_command(cfg: dict) -> str:
    """The `python -m core train-spoken-qa` line that makes a run of these settings again."""
    default = settings_of(SpokenQARunConfig())
    flags = [f"--{name.replace('_', '-')} {value:g}" if isinstance(value, float)
             else f"--{name.replace('_', '-')} {value}"
             for name in _OPTIONAL_FLAGS
             if (value := cfg.get(name, default[name])) != default[name] and value is not None]
    if list(cfg.get("inits", default["inits"])) != default["inits"]:  # one start only
        flags.insert(0, "--inits " + ",".join(cfg["inits"]))
    if cfg.get("lrs"):
        flags.append("--lrs " + ",".join(f"{init}={lr:g}" for init, lr in cfg["lrs"]))
    return " ".join([f"python -m core train-spoken-qa --extractor {cfg['extractor']} --k "
                     f"{cfg['k']} --unit-map {cfg['unit_map']} --steps {cfg['steps']} "
                     f"--eval-every {cfg['eval_every']} --eval-questions "
                     f"{cfg['eval_questions']}", *flags])


def run_seconds(record: dict) -> float:
    """Seconds a run record's training took: the sum of its starts' own times where each start
    has one (they survive resumes and starts run as separate processes), else the wall time of
    the process that wrote it."""
    times = [r.get("train_s") for r in record["runs"].values()]
    return sum(times) if times and None not in times else record["wall_s"]


def steps_label(ref: dict | None, say: Say = english) -> str:
    """The live panel's step slider label, with the cost of one step measured by the reference
    run (its training time over its training steps, evaluation included)."""
    if not ref:
        return say("Steps")
    steps = ref["config"]["steps"] * max(1, len(ref["config"].get("inits", ())))
    return say("Steps (~{seconds:.0f} s each in the reference run, on {device})",
               seconds=run_seconds(ref) / steps, device=ref["machine"]["device"])


def comparison_rows(runs: list[dict]) -> list[list]:
    """Args: run records (lab.load_runs).
    Returns: one row per run (RUN_COLUMNS): its units, length, tokens per window, voicings of
    each train passage, the voices they draw from (one voicing: the train voices), seed and the
    test scores of both starts (None where a start was not run)."""
    rows = []
    for record in runs:
        cfg = record["config"]
        takes = cfg.get("train_takes") or 1
        pool = cfg.get("take_voices", "train") if takes > 1 else "train"
        scores = [round(record["runs"][init][m], 3) if init in record["runs"] else None
                  for init in ("pretrained", "random") for m in ("ff1", "aos")]
        rows.append([cfg["extractor"], cfg["k"], cfg["unit_map"], cfg["steps"],
                     cfg.get("window") or MAX_LEN, takes, len(TAKE_POOLS[pool]), cfg["seed"],
                     *scores, _test_questions(record)])
    return rows
