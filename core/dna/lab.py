"""The DNA experiment as a generator: remap bases to English words, fine-tune each starting
point on a real DNA task, and report curves and test accuracy over seeds. Figures, tables and
the tab's text are in core.dna.view; the reference sweep is core.tools.sweeps.dna.

Kao & Lee 2021: an English-pretrained BERT learns DNA through arbitrary word tokens better
than the same network from random init. The effect is largest with few labelled examples,
so the run subsamples the training set (`train_size`).
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.common import records
from core.common.errors import InputError
from core.common.paths import ASSETS
from core.common.stats import mean_ci95
from core.common.training import TrainConfig, batch_sampler, every, train, warmup_for
from core.dna import encode as dna
from core.dna.data import DATASETS, clean_sequence, cv_splits, load_dataset
from core.text.models import default_model, load_model

# Bounds a UI run must respect (the CLI may go beyond): a 2-core CPU does ~1 step/s at k=1.
MAX_STEPS = 2000
MAX_SEEDS = 5
REFERENCE_PATH = ASSETS / "dna" / "reference.json"  # python -m core dna-sweep


@dataclass(frozen=True)
class DnaRunConfig:
    dataset: str = "splice"  # one of core.dna.data.DATASETS
    # Defaults: the reference run's regime (assets/dna/reference.json: k=1, 200 examples),
    # shortened so a UI run on a CPU stays short. One base per token is the paper's mapping.
    k: int = 1  # bases per token (1..6); each k-mer -> one arbitrary English word
    mapping_seed: int = 0  # which arbitrary words
    inits: tuple[str, ...] = ("pretrained", "random")  # starting points to compare
    steps: int = 40  # optimizer steps per run (`python -m core bench dna` times them)
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
        """Returns: JSON-ready {"runs": init -> {test_accuracy, ci95, per_seed,
        final_dev_accuracy}, "config", "elapsed_s", "labels"} (what core.dna.view draws)."""
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


def load_reference(path: Path = REFERENCE_PATH) -> dict | None:
    """The reference sweep (core.tools.sweeps.dna), or None when none is committed.

    Raises:
        records.RecordError: the file is there but is not a run record.
    """
    return records.load(path)


def predict(model: torch.nn.Module, mapping: dna.KmerMapping, labels: list[str], text: str
            ) -> dict:
    """Class probabilities and per-base occlusion importance of one sequence.

    Returns:
        {"sequence": cleaned bases, "k", "probs": label -> p, "importance": one float per
        base, "tokens": the word of each k-mer} (view.importance_figure draws it).
    Raises:
        InputError: bad letters (with positions), empty input, or too long for the model.
    """
    seq = clean_sequence(text)
    probs = dna.predict_proba(model, seq, mapping)
    scores = dna.importance(model, seq, mapping)
    words = [mapping.table.get(seq[i:i + mapping.k], "[UNK]")
             for i in range(0, len(seq) - mapping.k + 1, mapping.k)]
    return {"sequence": seq, "k": mapping.k,
            "probs": {lab: float(p) for lab, p in zip(labels, probs)},
            "importance": [float(x) for x in scores], "tokens": words}
