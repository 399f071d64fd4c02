"""What a spoken-QA run costs on this machine: one fine-tuning step (a batch of full-length
windows) measured on the server's own device, and a run's estimate from it."""
from __future__ import annotations

import functools
import time

import torch

from core.common.device import pick_device
from core.common.training import TrainConfig, batch_sampler, train
from core.spoken_qa import model as sqa
from core.text.models import default_model, load_model

MEASURED_STEPS = 1  # timed after one warm-up step: a CPU step is seconds long
FORWARD_SHARE = 1 / 3  # one forward pass costs about a third of a training step
WINDOWS_PER_QUESTION = 3  # a voiced passage is read in ~2-4 windows at scoring
START_S = 3.0  # building a model and its optimizer, per starting point
ALL_TEST_QUESTIONS = 177  # assets/spoken_qa/text.jsonl, test split (test_questions=None)


_MEASURED: dict[str, float] = {}  # device type -> the last step measured here


def measured(device_type: str) -> float | None:
    """Seconds a step took when last measured on this server's device (None: not yet)."""
    return _MEASURED.get(device_type)


@functools.lru_cache(maxsize=8)
def step_seconds(model_name: str, batch_size: int, device_type: str) -> float:
    """Measured wall seconds of one step on `batch_size` windows of full length, here."""
    base = load_model(model_name).model
    qa_cfg = sqa.fit_config(sqa.QAConfig(), base.config)
    shape = (batch_size, qa_cfg.max_len)
    gen = torch.Generator().manual_seed(0)
    data = {"input_ids": torch.randint(1000, 2000, shape, generator=gen),
            "attention_mask": torch.ones(shape, dtype=torch.long),
            "token_type_ids": torch.zeros(shape, dtype=torch.long),
            "start_positions": torch.full((batch_size,), 5),
            "end_positions": torch.full((batch_size,), 9)}
    model = sqa.build_qa_model("pretrained", base=base)
    tc = TrainConfig(max_steps=MEASURED_STEPS + 1, batch_size=batch_size, warmup_steps=1)
    stamps = [time.perf_counter() for _ in train(model, batch_sampler(data, batch_size), tc)]
    _MEASURED[device_type] = (stamps[-1] - stamps[0]) / MEASURED_STEPS
    return _MEASURED[device_type]


def estimate_s(cfg, s_per_step: float) -> float:
    """Wall seconds of a run (core.spoken_qa.lab.SpokenQARunConfig): training steps, dev
    scoring at every evaluation and test scoring, for every starting point (voicing the
    passages on first use is not counted: it happens once per machine)."""
    test_questions = cfg.test_questions or ALL_TEST_QUESTIONS
    s_per_question = WINDOWS_PER_QUESTION * s_per_step / cfg.batch_size * FORWARD_SHARE
    evals = cfg.steps // cfg.eval_every + 1 if cfg.eval_every else 4
    per_init = (START_S + cfg.steps * s_per_step
                + (evals * cfg.eval_questions + test_questions) * s_per_question)
    return len(cfg.inits) * per_init


def run_estimate(cfg) -> tuple[float, float]:
    """(estimated run seconds, measured seconds a step) of `cfg` on this machine."""
    step = step_seconds(cfg.model or default_model("english"), cfg.batch_size,
                        pick_device().type)
    return estimate_s(cfg, step), step
