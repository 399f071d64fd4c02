"""The DNA experiment as a generator: remap bases to English words, fine-tune each starting
point on a real DNA task, and report curves and test accuracy over seeds.

Kao & Lee 2021: an English-pretrained BERT learns DNA through arbitrary word tokens better
than the same network from random init. The effect is largest with few labelled examples,
so the run subsamples the training set (`train_size`).
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from core.common.errors import InputError
from core.common.paths import ASSETS
from core.common.stats import ci_text, mean_ci95
from core.common.training import TrainConfig, batch_sampler, every, train, warmup_for
from core.dna import encode as dna
from core.dna.data import DATASETS, cv_splits, load_dataset
from core.text.models import default_model, load_model

# Bounds a UI run must respect (the CLI may go beyond): a 2-core CPU does ~1 step/s at k=1.
MAX_STEPS = 2000
MAX_SEEDS = 5
COLORS = {"pretrained": "#EF553B", "re-emb": "#FFA15A", "random": "#636EFA"}


@dataclass(frozen=True)
class DnaRunConfig:
    dataset: str = "splice"  # one of core.dna.data.DATASETS
    # Defaults = the measured CPU regime where the finding shows (splice, 3 seeds, 80 steps:
    # pretrained 0.70 +/- 0.20 vs random 0.57 +/- 0.02 test accuracy at k=1, 200 examples;
    # at k=3 the two were level). One base per token is the paper's mapping.
    k: int = 1  # bases per token (1..6); each k-mer -> one arbitrary English word
    mapping_seed: int = 0  # which arbitrary words
    inits: tuple[str, ...] = ("pretrained", "random")  # starting points to compare
    steps: int = 40  # optimizer steps per run (~1.1 s each at k=1 on 2 CPU cores)
    seeds: int = 1  # runs per starting point (seed, seed+1, ...); promoters: one fold each
    seed: int = 0  # first seed
    train_size: int | None = 200  # labelled training examples drawn (None = all)
    batch_size: int = 32
    lr: float = 2e-4  # peak AdamW rate, same for every starting point
    eval_every: int = 20  # dev accuracy every N steps (the live curve)
    model: str | None = None  # english role model (default: the profile's)


@dataclass
class DnaState:
    """Everything the UI draws, updated as the runs go."""

    config: DnaRunConfig
    curves: dict[str, list[dict]] = field(default_factory=dict)  # "init/seed" -> events
    test: dict[str, list[float]] = field(default_factory=dict)  # init -> per-seed accuracy
    done_steps: int = 0
    total_steps: int = 0
    elapsed_s: float = 0.0
    model: torch.nn.Module | None = None  # the last trained model of the best init
    mapping: dna.KmerMapping | None = None

    def metrics(self) -> dict:
        runs = {}
        for init, accs in self.test.items():
            mean, half = mean_ci95(accs)
            runs[init] = {"test_accuracy": float(mean),
                          "ci95": None if half != half else float(half),
                          "per_seed": [float(a) for a in accs],
                          "final_dev_accuracy": [c[-1]["dev_accuracy"] for key, c in
                                                 self.curves.items()
                                                 if key.startswith(init + "/") and c
                                                 and "dev_accuracy" in c[-1]]}
        return {"runs": runs, "config": asdict(self.config), "elapsed_s": round(self.elapsed_s, 1),
                "labels": list(load_dataset(self.config.dataset).labels)}


def check_config(cfg: DnaRunConfig) -> None:
    """Raises InputError for settings out of range."""
    if cfg.dataset not in DATASETS:
        raise InputError(f"unknown dataset {cfg.dataset!r}; choose one of {', '.join(DATASETS)}")
    if not cfg.inits:
        raise InputError("choose at least one starting point")
    bad = [i for i in cfg.inits if i not in dna.INITS]
    if bad:
        raise InputError(f"unknown starting point(s) {', '.join(bad)}; "
                         f"choose from {', '.join(dna.INITS)}")
    if not 1 <= cfg.k <= dna.MAX_K:
        raise InputError(f"k must be between 1 and {dna.MAX_K}, got {cfg.k}")
    if not 1 <= cfg.steps <= MAX_STEPS:
        raise InputError(f"steps must be between 1 and {MAX_STEPS}, got {cfg.steps}")
    if not 1 <= cfg.seeds <= MAX_SEEDS:
        raise InputError(f"seeds must be between 1 and {MAX_SEEDS}, got {cfg.seeds}")
    if cfg.train_size is not None and cfg.train_size < 8:
        raise InputError(f"train_size must be at least 8, got {cfg.train_size}")


def _splits(cfg: DnaRunConfig, run: int):
    ds = load_dataset(cfg.dataset)
    if cfg.dataset == "promoters":  # 106 sequences: each run is one cross-validation fold
        return cv_splits(ds, (cfg.seed + run) % len(ds.folds))
    return ds.train, ds.dev, ds.test


def _subsample(rows, size: int | None, seed: int):
    if size is None or size >= len(rows):
        return list(rows)
    rng = np.random.default_rng(seed)
    return [rows[i] for i in sorted(rng.choice(len(rows), size=size, replace=False))]


def _accuracy(model, rows, mapping) -> float:
    probs = dna.predict_proba_many(model, [s for s, _ in rows], mapping)
    return float(np.mean(probs.argmax(1) == np.array([y for _, y in rows])))


def run(cfg: DnaRunConfig) -> Iterator[DnaState]:
    """Trains every starting point for every seed; yields the state after each logged step.

    Raises:
        InputError: settings out of range (see check_config).
    """
    check_config(cfg)
    model_name = cfg.model or default_model("english")
    tokenizer = load_model(model_name).tokenizer
    mapping = dna.make_mapping(tokenizer, k=cfg.k, seed=cfg.mapping_seed)
    state = DnaState(cfg, total_steps=cfg.steps * cfg.seeds * len(cfg.inits), mapping=mapping)
    t0 = time.perf_counter()
    best = -1.0
    for r in range(cfg.seeds):
        seed = cfg.seed + r
        train_rows, dev_rows, test_rows = _splits(cfg, r)
        train_rows = _subsample(train_rows, cfg.train_size, seed)
        data = dna.encode_batch([s for s, _ in train_rows], mapping)
        data["labels"] = torch.tensor([y for _, y in train_rows])
        for init in cfg.inits:
            model = dna.build_classifier(init, len(load_dataset(cfg.dataset).labels),
                                         model_name=model_name, seed=seed)
            tc = TrainConfig(max_steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                             warmup_steps=warmup_for(cfg.steps), eval_every=cfg.eval_every,
                             log_every=every(cfg.steps), seed=seed)
            curve = state.curves.setdefault(f"{init}/{seed}", [])
            for event in train(model, batch_sampler(data, cfg.batch_size), tc,
                               evaluate=lambda m: {"dev_accuracy": _accuracy(m, dev_rows,
                                                                             mapping)}):
                point = {"step": event.step, "loss": event.loss}
                if event.metrics:
                    point.update(event.metrics)
                curve.append(point)
                state.done_steps += event.step - (curve[-2]["step"] if len(curve) > 1 else 0)
                state.elapsed_s = time.perf_counter() - t0
                yield state
            acc = _accuracy(model, test_rows, mapping)
            state.test.setdefault(init, []).append(acc)
            if acc > best:
                best, state.model = acc, model
            state.elapsed_s = time.perf_counter() - t0
            yield state


def _curves_figure(curves: dict[str, list[dict]], title: str, *, mean: bool = False
                   ) -> go.Figure:
    """Loss and dev accuracy per starting point; one thin line per seed (key "init/seed"),
    plus the mean over seeds as a thick line when `mean`."""
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


def curves_figure(state: DnaState) -> go.Figure:
    """Training loss and dev accuracy per starting point (one line per seed)."""
    cfg = state.config
    return _curves_figure(state.curves,
                          f"{cfg.dataset}: {cfg.train_size or 'all'} training sequences, "
                          f"k={cfg.k}, {state.done_steps}/{state.total_steps} steps")


# --- The committed reference run (`python -m core dna-sweep`), shown before any training ---

REFERENCE_PATH = ASSETS / "dna" / "reference.json"
# Kao & Lee 2021, splice test accuracy (%) per starting point, for the table's last column.
PAPER_SPLICE = {"pretrained": 97.5, "re-emb": 95.6, "random": 95.0}


def load_reference(path: Path = REFERENCE_PATH) -> dict | None:
    """The reference sweep as written by `sweep`, or None when none is committed."""
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def reference_figure(ref: dict, dataset: str) -> go.Figure:
    """The reference curves of one dataset: every seed thin, the mean over seeds thick."""
    if dataset not in ref["datasets"]:
        raise InputError(f"the reference run has no {dataset!r}; it has "
                         f"{', '.join(ref['datasets'])}")
    cfg = ref["config"]
    return _curves_figure(ref["datasets"][dataset]["curves"],
                          f"Reference, {dataset}: {cfg['train_size'] or 'all'} training "
                          f"sequences, k={cfg['k']}, {cfg['steps']} steps, "
                          f"{cfg['seeds']} seeds", mean=True)


def reference_table(ref: dict) -> list[list]:
    """Rows: dataset, starting point, mean test accuracy, 95% interval, per seed, paper."""
    rows = []
    for name, result in ref["datasets"].items():
        for init, r in result["runs"].items():
            ci = ci_text(r["ci95"])
            paper = PAPER_SPLICE.get(init) if name == "splice" else None
            rows.append([name, init, round(r["test_accuracy"], 3), ci,
                         ", ".join(f"{a:.3f}" for a in r["per_seed"]),
                         "" if paper is None else f"{paper / 100:.3f}"])
    return rows


def reference_summary(ref: dict) -> str:
    """One Markdown line: how, where and when the reference run was made."""
    cfg, machine = ref["config"], ref["machine"]
    return (f"`python -m core dna-sweep --steps {cfg['steps']} --seeds {cfg['seeds']} "
            f"--train-size {cfg['train_size'] or 0} --k {cfg['k']}` on {machine['device']} "
            f"(torch {machine['torch']}), started {ref['started']}, "
            f"{ref['wall_s'] / 60:.0f} min in all; model {cfg['model']}, lr {cfg['lr']}, "
            f"batch {cfg['batch_size']}.")


BASE_COLORS = {"A": "#2CA02C", "C": "#1F77B4", "G": "#FF7F0E", "T": "#D62728", "N": "#999999"}


def predict(model: torch.nn.Module, mapping: dna.KmerMapping, labels: list[str], text: str
            ) -> tuple[dict[str, float], go.Figure, str]:
    """Class probabilities, a per-base occlusion importance figure, and the mapped tokens.

    Raises:
        InputError: bad letters (with positions), empty input, or too long for the model.
    """
    from core.dna.data import clean_sequence

    seq = clean_sequence(text)
    probs = dna.predict_proba(model, seq, mapping)
    scores = dna.importance(model, seq, mapping)
    target = int(np.argmax(probs))
    words = [mapping.table.get(seq[i:i + mapping.k], "[UNK]")
             for i in range(0, len(seq) - mapping.k + 1, mapping.k)]
    word_of_base = [words[i // mapping.k] if i // mapping.k < len(words) else "" for i in
                    range(len(seq))]
    fig = go.Figure(go.Bar(
        x=list(range(1, len(seq) + 1)), y=scores,
        marker_color=[BASE_COLORS.get(b, "#999") for b in seq],
        text=list(seq), textposition="outside",
        customdata=np.array(word_of_base, dtype=object),
        hovertemplate="base %{x}: %{text} (token '%{customdata}')<br>"
                      "importance %{y:.3f}<extra></extra>"))
    fig.update_layout(title=f"Which bases drive '{labels[target]}' (p = {probs[target]:.2f}): "
                            "drop in probability when each token is hidden",
                      xaxis_title="position (bp)", yaxis_title="importance",
                      height=340, margin=dict(l=10, r=10, t=50, b=10), template="plotly_white")
    return ({lab: float(p) for lab, p in zip(labels, probs)}, fig, " ".join(words))


def results_table(state: DnaState) -> list[list]:
    """Rows: starting point, mean test accuracy, 95% interval, per-seed values."""
    rows = []
    for init, r in state.metrics()["runs"].items():
        ci = ci_text(r["ci95"])
        rows.append([init, round(r["test_accuracy"], 3), ci,
                     ", ".join(f"{a:.3f}" for a in r["per_seed"])])
    return rows


def sweep(*, datasets: tuple[str, ...] = DATASETS, inits: tuple[str, ...] = dna.INITS,
          steps: int = 300, seeds: int = 3, train_size: int | None = None, k: int = 1,
          eval_every: int = 0, model: str | None = None, on_run=None) -> dict:
    """Every dataset x starting point x seed with full curves: the reference run.

    Args:
        eval_every: dev accuracy every N steps (0 = 20 points per curve).
        on_run: called with (dataset, DnaState) after each dataset (progress logging).
    Returns:
        JSON-ready {"config", "machine", "started", "wall_s", "datasets": {name: metrics +
        "curves"}}.
    """
    from core.common.device import machine_info

    t0 = time.perf_counter()
    eval_every = eval_every or every(steps, 20)
    out = {"config": {"datasets": list(datasets), "inits": list(inits), "steps": steps,
                      "seeds": seeds, "train_size": train_size, "k": k,
                      "eval_every": eval_every, "lr": DnaRunConfig.lr,
                      "batch_size": DnaRunConfig.batch_size,
                      "model": model or default_model("english")},
           "machine": machine_info(),
           "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "datasets": {}}
    for name in datasets:
        cfg = DnaRunConfig(dataset=name, inits=tuple(inits), steps=steps, seeds=seeds,
                           train_size=train_size, k=k, model=model,
                           eval_every=eval_every)
        state = None
        for state in run(cfg):
            pass
        out["datasets"][name] = dict(state.metrics(), curves=state.curves)
        if on_run:
            on_run(name, state)
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    return out
