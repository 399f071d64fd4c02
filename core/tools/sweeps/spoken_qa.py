"""The spoken-QA reference run (`python -m core train-spoken-qa`): one full run of
core.spoken_qa.lab kept as a run record (core.common.records).

    record, state = sweep(SpokenQARunConfig(steps=500), on_state=print)
    records.write(lab.REFERENCE_PATH, record)   # or assets/spoken_qa/runs/<name>.json

The record is the run's metrics (runs with their curves, config, windows, elapsed_s) in the
envelope (machine, started, wall_s) plus the English model it started from.
"""
from __future__ import annotations

import time
from typing import Callable

from core.common import records
from core.spoken_qa.lab import SpokenQARunConfig, SpokenQAState, run
from core.text.models import default_model


def sweep(cfg: SpokenQARunConfig, *, on_state: Callable[[SpokenQAState], None] | None = None
          ) -> tuple[dict, SpokenQAState]:
    """Runs every starting point of `cfg` to the end.

    Args:
        cfg: the run's settings.
        on_state: called with the state at every step of the run (progress logging).
    Returns:
        (the JSON-ready run record, the final state: its models and unit map).
    """
    t0 = time.perf_counter()
    envelope = records.new_record()  # machine and start time, taken as the run begins
    state = None
    for state in run(cfg):
        if on_state is not None:
            on_state(state)
    record = dict(state.metrics(), **envelope, model=cfg.model or default_model("english"))
    return records.finish(record, t0), state
