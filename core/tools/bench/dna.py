"""`python -m core bench dna`: the tab's default run, timed, and training throughput.

Measures on this machine: wall time of the default run (splice, pretrained vs random; the
target is <= 120 s on 2 CPU cores), its test accuracies, and fine-tuning throughput in
sequences/s at batch 32 (k=1: 62 tokens per sequence).
"""
from __future__ import annotations

import time
from dataclasses import asdict

import torch

from core.common.device import machine_info, pick_device
from core.common.records import started_now
from core.common.training import TrainConfig, batch_sampler, train
from core.dna import encode as dna
from core.dna.config import DnaRunConfig, live_config, load_live_reference
from core.dna.data import load_dataset
from core.dna.lab import run as run_dna
from core.text.models import default_model, load_model

THROUGHPUT_STEPS = 10  # timed steps after 2 warm-up steps


def _throughput(cfg: DnaRunConfig) -> dict:
    tok = load_model(default_model("english")).tokenizer
    mapping = dna.make_mapping(tok, k=cfg.k, seed=cfg.mapping_seed)
    rows = load_dataset(cfg.dataset).train
    data = dna.encode_batch([s for s, _ in rows], mapping)
    data["labels"] = torch.tensor([y for _, y in rows])
    model = dna.build_classifier("pretrained", 3, layers=cfg.layers)
    times = []
    tc = TrainConfig(max_steps=THROUGHPUT_STEPS + 2, batch_size=cfg.batch_size, warmup_steps=1)
    last = time.perf_counter()
    for event in train(model, batch_sampler(data, cfg.batch_size), tc):
        now = time.perf_counter()
        if event.step > 2:
            times.append(now - last)
        last = now
    per_step = sum(times) / len(times)
    return {"device": str(pick_device()), "batch": cfg.batch_size,
            "tokens_per_sequence": int(data["input_ids"].shape[1]),
            "s_per_step": round(per_step, 3),
            "sequences_per_s": round(cfg.batch_size / per_step, 1)}


def run() -> dict:
    """Times the tab's default run (on the reference's body and schedule) and the training
    throughput; returns a JSON-ready dict."""
    cfg = live_config(load_live_reference())
    load_model(default_model("english"))  # loading is the app's start-up, not the run
    t0 = time.perf_counter()
    state = None
    for state in run_dna(cfg):
        pass
    wall = time.perf_counter() - t0
    runs = state.metrics()["runs"]
    return {
        "benchmark": "dna",
        "when": started_now(),
        "machine": machine_info(),
        "default_run": {"config": asdict(cfg), "wall_s": round(wall, 1),
                        "test_accuracy": {i: round(r["test_accuracy"], 3)
                                          for i, r in runs.items()}},
        "throughput": _throughput(cfg),
    }
