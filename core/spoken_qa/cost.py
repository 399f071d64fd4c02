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
# A voiced passage runs ~500 passage units (tiny-hubert k=128, dedup): ~3 windows of 512
# tokens with a 256-unit question and stride 128; shorter windows need more of them.
PASSAGE_UNITS = 500
START_S = 3.0  # building a model and its optimizer, per starting point
ALL_TEST_QUESTIONS = 177  # assets/spoken_qa/text.jsonl, test split (test_questions=None)
ALL_DEV_QUESTIONS = 181  # its dev split (the span loss reads the answer windows of all)
QUESTIONS_PER_PASSAGE = 1.6  # dev questions per passage (limit_per_split counts passages)


_MEASURED: dict[str, float] = {}  # device type -> the last step measured here


def measured(device_type: str) -> float | None:
    """Seconds a step took when last measured on this server's device (None: not yet)."""
    return _MEASURED.get(device_type)


@functools.lru_cache(maxsize=8)
def step_seconds(model_name: str, batch_size: int, device_type: str,
                 window: int = sqa.MAX_LEN, layers: int | None = None) -> float:
    """Measured wall seconds of one step on `batch_size` windows of `window` tokens (through
    the encoder's first `layers` layers; None = all), here."""
    base = load_model(model_name).model
    qa_cfg = sqa.fit_config(sqa.QAConfig(max_len=window, max_question_tokens=1, stride=0),
                            base.config)
    shape = (batch_size, qa_cfg.max_len)
    gen = torch.Generator().manual_seed(0)
    data = {"input_ids": torch.randint(1000, 2000, shape, generator=gen),
            "attention_mask": torch.ones(shape, dtype=torch.long),
            "token_type_ids": torch.zeros(shape, dtype=torch.long),
            "start_positions": torch.full((batch_size,), 5),
            "end_positions": torch.full((batch_size,), 9)}
    model = sqa.build_qa_model("pretrained", base=base, layers=layers)
    tc = TrainConfig(max_steps=MEASURED_STEPS + 1, batch_size=batch_size, warmup_steps=1)
    stamps = [time.perf_counter() for _ in train(model, batch_sampler(data, batch_size), tc)]
    _MEASURED[device_type] = (stamps[-1] - stamps[0]) / MEASURED_STEPS
    return _MEASURED[device_type]


def windows_per_question(cfg) -> float:
    """Windows a voiced passage is read in with the run's window, question and stride."""
    room = cfg.window - 3 - cfg.question_tokens
    return max(1.0, (PASSAGE_UNITS - cfg.stride) / max(1, room - cfg.stride))


def estimate_s(cfg, s_per_step: float) -> float:
    """Wall seconds of a run (core.spoken_qa.lab.SpokenQARunConfig): training steps, dev
    scoring at every evaluation and test scoring, for every starting point (voicing the
    passages on first use is not counted: it happens once per machine)."""
    test_questions = cfg.test_questions or ALL_TEST_QUESTIONS
    s_per_window = s_per_step / cfg.batch_size * FORWARD_SHARE
    s_per_question = windows_per_question(cfg) * s_per_window
    evals = cfg.steps // cfg.eval_every + 1 if cfg.eval_every else 4
    dev_questions = min(ALL_DEV_QUESTIONS,
                        QUESTIONS_PER_PASSAGE * (cfg.limit_per_split or ALL_DEV_QUESTIONS))
    per_init = (START_S + cfg.steps * s_per_step  # dev: FF1, and the span loss (~1 window)
                + (evals * cfg.eval_questions + test_questions) * s_per_question
                + evals * dev_questions * s_per_window)
    return len(cfg.inits) * per_init


def run_estimate(cfg) -> tuple[float, float]:
    """(estimated run seconds, measured seconds a step) of `cfg` on this machine."""
    step = step_seconds(cfg.model or default_model("english"), cfg.batch_size,
                        pick_device().type, cfg.window, cfg.layers)
    return estimate_s(cfg, step), step
