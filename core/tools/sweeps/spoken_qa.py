"""The spoken-QA reference run (`python -m core train-spoken-qa`): one full run of
core.spoken_qa.lab kept as a run record (core.common.records).

    record, state = sweep(SpokenQARunConfig(steps=500), on_state=print)
    records.write(lab.REFERENCE_PATH, record)   # or assets/spoken_qa/runs/<name>.json

The record is the run's metrics (runs with their curves, config, windows, elapsed_s) in the
envelope (machine, started, wall_s) plus the English model it started from.

    record = live_sweep(LIVE_RUN, [0, 1, 2, 3, 4])  # the live panel's default, paired seeds
    records.write(LIVE_PATH, record)                 # python -m core spoken-qa-live
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

from core.common import records
from core.spoken_qa import live
from core.spoken_qa.config import settings_of
from core.spoken_qa.lab import SpokenQARunConfig, SpokenQAState, run
from core.text.models import default_model


def sweep(cfg: SpokenQARunConfig, *, on_state: Callable[[SpokenQAState], None] | None = None,
          checkpoint_dir=None) -> tuple[dict, SpokenQAState]:
    """Runs every starting point of `cfg` to the end.

    Args:
        cfg: the run's settings.
        on_state: called with the state at every step of the run (progress logging).
        checkpoint_dir: checkpoints at every evaluation; a run cut off continues from them
            (core.spoken_qa.lab.run).
    Returns:
        (the JSON-ready run record, the final state: its models and unit map).
    """
    t0 = time.perf_counter()
    envelope = records.new_record()  # machine and start time, taken as the run begins
    state = None
    for state in run(cfg, checkpoint_dir=checkpoint_dir):
        if on_state is not None:
            on_state(state)
    record = dict(state.metrics(), **envelope, model=cfg.model or default_model("english"))
    return records.finish(record, t0), state


def live_sweep(cfg: SpokenQARunConfig, seeds: list[int], *, progress=None,
               resume: bool = False, on_state: Callable[[SpokenQAState], None] | None = None
               ) -> dict:
    """The live panel's default run, repeated over paired seeds (`python -m core
    spoken-qa-live`): what a user pressing Train should expect, with its spread.

    Args:
        cfg: the live run's settings (its seed is replaced by each of `seeds`).
        seeds: one run per seed; within a seed both starts see the same windows and batches.
        progress: a JSON file each finished seed is written to (resumable with `resume`).
        on_state: called with the state at every step (progress logging).
    Returns:
        The run record: config (with the seeds), "seeds" {seed: {"runs", "windows", "wall_s"}},
        "paired" (core.spoken_qa.live.paired_summary), in the envelope.
    """
    setting = settings_of(cfg)  # as it reads back from the file
    del setting["seed"]
    saved = records.load_progress(progress, setting) if resume else {}
    config = dict(setting, seeds=list(seeds))
    t0 = time.perf_counter()
    record = records.new_record(config)
    record["model"] = cfg.model or default_model("english")
    cells = saved.get("seeds", {})
    for seed in seeds:
        if str(seed) in cells:
            continue
        t_seed, state = time.perf_counter(), None
        for state in run(replace(cfg, seed=seed)):
            if on_state is not None:
                on_state(state)
        metrics = state.metrics()
        cells[str(seed)] = {"runs": metrics["runs"], "windows": metrics["windows"],
                            "wall_s": round(time.perf_counter() - t_seed, 1)}
        if progress:
            records.write(progress, {"config": setting, "seeds": cells}, indent=1)
    record["seeds"] = {str(s): cells[str(s)] for s in seeds}
    record["paired"] = live.paired_summary(record["seeds"])
    return records.finish(record, t0)
