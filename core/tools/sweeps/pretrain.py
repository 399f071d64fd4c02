"""`python -m core pretrain-sweep`: the fake-data reference run (assets/pretrain/reference.json).

Every scheme (+ scratch) at one size, pretrained and fine-tuned by core.pretrain.lab.run, in
one run record (core.common.records): {"metrics", "mlm", "finetune", "machine", "started",
"wall_s"}. The settings travel inside "metrics" (metrics.config, as PretrainState.metrics()
reports them), which records.config_of reads.
"""
from __future__ import annotations

import time

from core.common import records
from core.pretrain.lab import DEFAULT_BATCH, PretrainRunConfig, run

# The reference sweep: the bounds and schemes of Table 1, plus the lecture's power-law idea.
REFERENCE_SCHEMES = ("english", "uniform", "unigram", "flat-2", "flat-128", "shuffle-4",
                     "shuffle-64", "nesting", "zipf-1.0")


def sweep(*, schemes: tuple[str, ...] = REFERENCE_SCHEMES, size: str = "tiny",
          steps: int = 1000, seeds: int = 3, task: str = "sentiment",
          finetune_steps: int = 200, train_size: int | None = None,
          batch_size: int = DEFAULT_BATCH, vocab: str = "bert", on_state=None) -> dict:
    """Every scheme (+ scratch) at one size: the reference run.

    Args:
        schemes: pretraining data (english and fake-data schemes); scratch always runs.
        size, steps, batch_size: the MLM model size, steps per scheme and lines per step.
        seeds, task, finetune_steps, train_size: fine-tuning (see PretrainRunConfig).
        vocab: the ids models read (core.pretrain.data.VOCABS).
        on_state: called with every live PretrainState (progress logging).
    Returns:
        The run record, JSON-ready: {"metrics": PretrainState.metrics(), "mlm": the MLM
        curves, "finetune": the fine-tuning curves, "machine", "started", "wall_s"}.
    """
    cfg = PretrainRunConfig(schemes=tuple(schemes), size=size, steps=steps, seeds=seeds,
                            task=task, finetune_steps=finetune_steps, train_size=train_size,
                            batch_size=batch_size, vocab=vocab)
    envelope = records.new_record()  # machine and start time; the config is in metrics
    t0 = time.perf_counter()
    state = None
    for state in run(cfg):
        if on_state:
            on_state(state)
    record = {"metrics": state.metrics(), "mlm": state.mlm, "finetune": state.finetune,
              **envelope}
    return records.finish(record, t0)
