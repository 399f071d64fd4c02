"""The DNA experiment as a generator: remap bases to English words, fine-tune each starting
point on a real DNA task, and report curves and test accuracy over seeds. Figures, tables and
the tab's text are in core.dna.view; the reference sweep is core.tools.sweeps.dna.

Kao & Lee 2021: an English-pretrained BERT learns DNA through arbitrary word tokens better
than the same network from random init. The effect is largest with few labelled examples,
so the run subsamples the training set (`train_size`).
"""
from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from core.common import curves as curve_measures
from core.common import records
from core.common.device import pick_device
from core.common.errors import InputError
from core.common.stats import paired_difference, summary
from core.common.timing import check_budget
from core.common.training import TrainConfig, batch_sampler, every, train, warmup_for
from core.dna import cost
from core.dna import encode as dna
from core.dna.config import (  # noqa: F401 - the settings are part of this API
    BASELINE,
    CONVERGENCE_SHARE,
    CONVERGENCE_STEPS,
    FALLBACK_LRS,
    MAX_SEEDS,
    MAX_STEPS,
    REFERENCE_PATH,
    DnaRunConfig,
    load_reference,
)
from core.dna.data import DATASETS, clean_sequence, cv_splits, load_dataset
from core.text.models import default_model, load_model


@dataclass
class DnaState:
    """Everything the UI draws, updated as the runs go. Within a seed every start sees the
    same training subsample, batch order, head init and evaluation sets (paired design)."""

    config: DnaRunConfig
    curves: dict[str, list[dict]] = field(default_factory=dict)  # "init/seed" -> events
    test: dict[str, dict[int, float]] = field(default_factory=dict)  # init -> seed -> acc
    lrs: dict[str, float] = field(default_factory=dict)  # the peak rate each start used
    done_steps: int = 0
    total_steps: int = 0
    elapsed_s: float = 0.0
    model: torch.nn.Module | None = None  # the last trained model of the best init
    mapping: dna.KmerMapping | None = None

    def metrics(self) -> dict:
        """Returns: JSON-ready {"runs": init -> {test_accuracy, ci95, per_seed, seeds, lr,
        final_dev_accuracy, convergence}, "paired": "init - random" -> differences, "config",
        "elapsed_s", "labels"} (what core.dna.view draws)."""
        out = summarise(self.test, self.curves, self.lrs, steps=self.config.steps)
        out.update(config=asdict(self.config), elapsed_s=round(self.elapsed_s, 1),
                   labels=list(load_dataset(self.config.dataset).labels))
        return out


def _seed_curves(curves: dict[str, list[dict]], init: str) -> dict[int, list[dict]]:
    return {int(key.split("/")[1]): c for key, c in curves.items()
            if key.split("/")[0] == init}


def _per_seed(curves: dict[int, list[dict]], measure) -> dict[int, float]:
    """seed -> measure(curve), leaving out seeds where it is undefined (None)."""
    values = {s: measure(c) for s, c in curves.items()}
    return {s: v for s, v in values.items() if v is not None}


def _curve_measures(steps: int) -> dict[str, object]:
    """Name -> curve -> value: dev accuracy at each CONVERGENCE_STEPS count within the run,
    updates to CONVERGENCE_SHARE of the final dev accuracy, area under the dev curve."""
    at = {f"dev_at_{n}": functools.partial(curve_measures.at_step, step=n)
          for n in CONVERGENCE_STEPS if n <= steps}
    return {**at, "steps_to_90": functools.partial(curve_measures.steps_to,
                                                   share=CONVERGENCE_SHARE),
            "auc": curve_measures.area}


def convergence(curves: dict[int, list[dict]], steps: int) -> dict:
    """Per-seed dev curves -> summaries of dev accuracy at CONVERGENCE_STEPS (those within the
    run), updates to CONVERGENCE_SHARE of the final dev accuracy, and area under the curve."""
    measures = {name: summary(_per_seed(curves, fn).values())
                for name, fn in _curve_measures(steps).items()}
    return {"dev_at": {name.removeprefix("dev_at_"): s for name, s in measures.items()
                       if name.startswith("dev_at_")},
            "steps_to_90": measures["steps_to_90"], "auc": measures["auc"]}


def summarise(test: dict[str, dict[int, float]], curves: dict[str, list[dict]],
              lrs: dict[str, float], *, steps: int, baseline: str = BASELINE) -> dict:
    """Plain numbers -> the metrics of a run: every start's test accuracy over seeds with its
    interval and convergence, and the paired differences against `baseline` (test accuracy,
    area under the dev curve, dev accuracy at CONVERGENCE_STEPS).

    Args:
        test: init -> seed -> test accuracy. curves: "init/seed" -> training events.
        lrs: init -> the peak rate it used. steps: updates per run.
    """
    runs, paired = {}, {}
    for init, by_seed in test.items():
        seeds = sorted(by_seed)
        acc = summary([by_seed[s] for s in seeds])
        per_curve = _seed_curves(curves, init)
        runs[init] = {"test_accuracy": acc["mean"], "ci95": acc["ci95"],
                      "per_seed": acc["per_seed"], "seeds": seeds, "lr": lrs.get(init),
                      "final_dev_accuracy": [per_curve[s][-1]["dev_accuracy"] for s in seeds
                                             if s in per_curve and per_curve[s]
                                             and "dev_accuracy" in per_curve[s][-1]],
                      "convergence": convergence(per_curve, steps)}
    if baseline in test:
        base = _seed_curves(curves, baseline)
        for init in test:
            if init == baseline:
                continue
            mine = _seed_curves(curves, init)
            diffs = {"test_accuracy": paired_difference(test[init], test[baseline])}
            for name, fn in _curve_measures(steps).items():
                if name != "steps_to_90":
                    diffs[name] = paired_difference(_per_seed(mine, fn), _per_seed(base, fn))
            paired[f"{init} - {baseline}"] = diffs
    return {"runs": runs, "paired": paired}


def resolve_lrs(cfg: DnaRunConfig, chosen: dict[str, float] | None = None) -> dict[str, float]:
    """The peak rate of every start in cfg: cfg.lr for all, else cfg.lrs, else `chosen` (the
    reference run's choice on dev), else FALLBACK_LRS."""
    given = dict(cfg.lrs)
    chosen = chosen if chosen is not None else reference_lrs()
    return {init: float(cfg.lr if cfg.lr is not None else
                        given.get(init, chosen.get(init, FALLBACK_LRS[init])))
            for init in cfg.inits}


def reference_lrs() -> dict[str, float]:
    """The per-start rates the committed reference run chose on dev ({} if it chose none)."""
    ref = _reference_cached()
    lrs = (records.config_of(ref) or {}).get("lrs") if ref else None
    return dict(lrs) if isinstance(lrs, dict) else {}


@functools.lru_cache(maxsize=1)
def _reference_cached() -> dict | None:
    try:
        return load_reference()
    except records.RecordError:
        return None


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
    rates = ([cfg.lr] if cfg.lr is not None else []) + [lr for _, lr in cfg.lrs]
    bad_rates = [lr for lr in rates if not (isinstance(lr, (int, float)) and 0 < lr <= 1e-2)]
    if bad_rates:
        raise InputError(f"learning rates must be in (0, 0.01], got {bad_rates}")
    unknown = [i for i, _ in cfg.lrs if i not in dna.INITS]
    if unknown:
        raise InputError(f"learning rate for unknown starting point(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(dna.INITS)}")
    if cfg.layers is not None and cfg.layers < 1:
        raise InputError(f"layers must be at least 1, got {cfg.layers}")
    if cfg.eval_every < 1:
        raise InputError(f"eval_every must be at least 1, got {cfg.eval_every}")


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


def run(cfg: DnaRunConfig, *, budget_s: float | None = None) -> Iterator[DnaState]:
    """Trains every starting point for every seed; yields the state after each logged step.

    Args:
        budget_s: refuse runs estimated (core.dna.cost, from a step measured here) to take
            longer; the web UI passes core.common.timing.UI_BUDGET_S.
    Raises:
        InputError: settings out of range (see check_config), or a run past `budget_s`.
    """
    check_config(cfg)
    if budget_s is not None:
        estimate, _ = cost.run_estimate(cfg)
        check_budget(estimate, budget_s, device=pick_device().type, advice=(
            "Use fewer steps, seeds or starting points, or the command line (python -m core "
            "dna-sweep --tasks TASK --sizes N --steps STEPS --seeds SEEDS)."))
    model_name = cfg.model or default_model("english")
    tokenizer = load_model(model_name).tokenizer
    mapping = dna.make_mapping(tokenizer, k=cfg.k, seed=cfg.mapping_seed)
    state = DnaState(cfg, total_steps=cfg.steps * cfg.seeds * len(cfg.inits), mapping=mapping,
                     lrs=resolve_lrs(cfg))
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
                                         model_name=model_name, seed=seed, layers=cfg.layers)
            # same seed for every start: same subsample, batch order, head and dropout draws
            schedule = max(cfg.steps, cfg.schedule_steps or 0)
            tc = TrainConfig(max_steps=cfg.steps, batch_size=cfg.batch_size, lr=state.lrs[init],
                             warmup_steps=warmup_for(schedule), schedule_steps=schedule,
                             eval_every=cfg.eval_every,
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
            state.test.setdefault(init, {})[seed] = acc
            if acc > best:
                best, state.model = acc, model
            state.elapsed_s = time.perf_counter() - t0
            yield state


def predict(model: torch.nn.Module, mapping: dna.KmerMapping, labels: list[str], text: str
            ) -> dict:
    """Class probabilities and per-base occlusion importance of one sequence.

    Returns:
        {"sequence": cleaned bases, "k", "probs": label -> p, "importance": one float per
        base, "tokens": the word of each k-mer, "window": k-mers hidden together (1 but for
        sequences longer than the occlusion budget)} (view.importance_figure draws it).
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
            "importance": [float(x) for x in scores], "tokens": words,
            "window": dna.occlusion_window(len(words))}
