"""`python -m core dna-sweep`: the DNA reference run (assets/dna/reference.json).

Every task x starting point x seed, trained by core.dna.lab.run with full curves, in one run
record (core.common.records): {"config", "machine", "started", "datasets", "wall_s"}, where
"datasets" maps each task to DnaState.metrics() plus its "curves".
"""
from __future__ import annotations

import time

from core.common import records
from core.common.training import every
from core.dna.data import DATASETS
from core.dna.encode import INITS
from core.dna.lab import DnaRunConfig, run
from core.text.models import default_model

CURVE_POINTS = 20  # dev-accuracy points per curve when eval_every is not given


def sweep(*, datasets: tuple[str, ...] = DATASETS, inits: tuple[str, ...] = INITS,
          steps: int = 300, seeds: int = 3, train_size: int | None = None, k: int = 1,
          eval_every: int = 0, model: str | None = None, on_run=None) -> dict:
    """Every dataset x starting point x seed with full curves: the reference run.

    Args:
        eval_every: dev accuracy every N steps (0 = CURVE_POINTS points per curve).
        model: English role model (default: the profile's).
        on_run: called with (dataset, DnaState) after each dataset (progress logging).
    Returns:
        The run record: {"config", "machine", "started", "datasets": {name: metrics +
        "curves"}, "wall_s"}, JSON-ready.
    """
    t0 = time.perf_counter()
    eval_every = eval_every or every(steps, CURVE_POINTS)
    record = records.new_record({
        "datasets": list(datasets), "inits": list(inits), "steps": steps, "seeds": seeds,
        "train_size": train_size, "k": k, "eval_every": eval_every, "lr": DnaRunConfig.lr,
        "batch_size": DnaRunConfig.batch_size, "model": model or default_model("english")})
    record["datasets"] = {}
    for name in datasets:
        cfg = DnaRunConfig(dataset=name, inits=tuple(inits), steps=steps, seeds=seeds,
                           train_size=train_size, k=k, model=model, eval_every=eval_every)
        state = None
        for state in run(cfg):
            pass
        record["datasets"][name] = dict(state.metrics(), curves=state.curves)
        if on_run:
            on_run(name, state)
    return records.finish(record, t0)
