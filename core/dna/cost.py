"""What a DNA run costs on this machine: one fine-tuning step measured on the server's own
device, and a run's estimate from it (the web UI refuses runs past its budget)."""
from __future__ import annotations

import functools
import time

import numpy as np
import torch

from core.common.device import pick_device
from core.common.training import TrainConfig, batch_sampler, train
from core.dna import encode as dna
from core.dna.data import load_dataset
from core.text.models import default_model, load_model

MEASURED_STEPS = 2  # timed after one warm-up step
# One forward pass costs about a third of a training step (forward + backward + update).
FORWARD_SHARE = 1 / 3
START_S = 1.0  # building a classifier and its optimizer, per run


_MEASURED: dict[str, float] = {}  # device type -> the last step measured here


def measured(device_type: str) -> float | None:
    """Seconds a step took when last measured on this server's device (None: not yet)."""
    return _MEASURED.get(device_type)


@functools.lru_cache(maxsize=8)
def step_seconds(model_name: str, k: int, layers: int | None, batch_size: int,
                 device_type: str) -> float:
    """Measured wall seconds of one fine-tuning step of the longest task's sequences (60
    bases) at `batch_size`, on this machine; measured once per setting (~3 steps)."""
    mapping = dna.make_mapping(load_model(model_name).tokenizer, k=k, seed=0)
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list(dna.BASES), 60)) for _ in range(batch_size)]
    data = dna.encode_batch(seqs, mapping)
    data["labels"] = torch.zeros(batch_size, dtype=torch.long)
    model = dna.build_classifier("pretrained", 3, model_name=model_name, layers=layers)
    tc = TrainConfig(max_steps=MEASURED_STEPS + 1, batch_size=batch_size, warmup_steps=1)
    stamps = [time.perf_counter() for _ in train(model, batch_sampler(data, batch_size), tc)]
    _MEASURED[device_type] = (stamps[-1] - stamps[0]) / MEASURED_STEPS
    return _MEASURED[device_type]


def estimate_s(cfg, s_per_step: float) -> float:
    """Wall seconds of a run (core.dna.lab.DnaRunConfig) from the cost of one step: training
    steps, a dev evaluation every eval_every steps and one test pass, for every start and seed."""
    ds = load_dataset(cfg.dataset)
    dev_n, test_n = len(ds.dev) or len(ds.train) // 5, len(ds.test) or len(ds.train) // 5
    s_per_seq = s_per_step / cfg.batch_size * FORWARD_SHARE
    evals = cfg.steps // max(cfg.eval_every, 1) + 1
    per_run = START_S + cfg.steps * s_per_step + (evals * dev_n + test_n) * s_per_seq
    return cfg.seeds * len(cfg.inits) * per_run


def run_estimate(cfg) -> tuple[float, float]:
    """(estimated run seconds, measured seconds a step) of `cfg` on this machine."""
    step = step_seconds(cfg.model or default_model("english"), cfg.k, cfg.layers,
                        cfg.batch_size, pick_device().type)
    return estimate_s(cfg, step), step
