"""The probe: how much of a pretrained body's structure helps it read English, in minutes on a
CPU (Papadimitriou & Jurafsky 2020; Ri & Tsuruoka 2022).

A copy of the model gets fresh word embeddings and a fresh MLM output bias (the same draw for
every model, from cfg.seed); everything else (positions, layers, the head's transform) is
frozen. Only the embeddings and the bias learn English MLM on the train part of the lab's prose
(core.pretrain.data.english_source); the score is the MLM loss on held-out paragraphs, never
pretrained on. A body whose pretraining left structure English can use reaches a lower loss in
the same steps than a random body (`scratch`).

    for event in probe(model, ProbeConfig(steps=200, vocab="lab")):
        event.step, event.loss, event.metrics      # {"held_out_loss": ...} at evaluations
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from core.common.errors import InputError
from core.common.training import TrainConfig, TrainEvent, train, warmup_for
from core.pretrain.data import VOCABS, TokenIds, english_source, mask_lines, tokenizer_for
from core.pretrain.mlm import MaskedLM

HELD_OUT_SEED = 12345  # the held-out lines and their masks: the same for every model


@dataclass(frozen=True)
class ProbeConfig:
    steps: int = 200  # updates of the embeddings and the output bias
    batch_size: int = 16  # lines per update
    lr: float = 1e-3  # peak AdamW rate (only embeddings and a bias learn)
    eval_every: int = 50  # held-out loss every N steps (and after the last)
    held_out_lines: int = 64  # lines the held-out loss averages over
    vocab: str = "bert"  # core.pretrain.data.VOCABS: the model's vocabulary
    seed: int = 0  # the fresh embeddings, batch order and masks


def check_config(cfg: ProbeConfig) -> None:
    """Raises InputError for settings out of range."""
    for name in ("steps", "batch_size", "eval_every", "held_out_lines"):
        if getattr(cfg, name) < 1:
            raise InputError(f"{name} must be at least 1, got {getattr(cfg, name)}")
    if not 0 < cfg.lr <= 1e-1:
        raise InputError(f"lr must be in (0, 0.1], got {cfg.lr}")
    if cfg.vocab not in VOCABS:
        raise InputError(f"unknown vocabulary {cfg.vocab!r}; choose one of {', '.join(VOCABS)}")


def prepare(model: MaskedLM, seed: int) -> MaskedLM:
    """A copy of `model` with fresh word embeddings (N(0, initializer_range), seeded) and a zero
    output bias, everything else frozen: the probe's learner. `model` is not changed."""
    learner = copy.deepcopy(model)
    for p in learner.parameters():
        p.requires_grad_(False)
    words = learner.encoder.get_input_embeddings().weight  # tied to the head's decoder
    std = getattr(learner.encoder.config, "initializer_range", 0.02)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        words.copy_(torch.randn(words.shape, generator=gen) * std)
        learner.head.bias.zero_()
    words.requires_grad_(True)
    learner.head.bias.requires_grad_(True)
    return learner


@torch.no_grad()
def held_out_loss(model: MaskedLM, batch: dict[str, torch.Tensor]) -> float:
    """Mean MLM loss on a fixed masked batch, in eval mode (the mode is restored)."""
    was = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        loss = model(**{k: v.to(device) for k, v in batch.items() if k != "attention_mask"})
        return float(loss)
    finally:
        model.train(was)


def probe(model: MaskedLM, cfg: ProbeConfig = ProbeConfig(), *,
          device: torch.device | str | None = None) -> Iterator[TrainEvent]:
    """Trains a prepared copy of `model` (see the module docstring); `model` is not changed.

    Yields:
        TrainEvents; evaluation events carry metrics {"held_out_loss"}.
    Raises:
        InputError: settings out of range, or a model of another vocabulary size.
    """
    check_config(cfg)
    tok = tokenizer_for(cfg.vocab)
    if model.encoder.config.vocab_size != len(tok):
        raise InputError(f"the model has {model.encoder.config.vocab_size} embedding rows; "
                         f"the {cfg.vocab} vocabulary has {len(tok)}")
    ids = TokenIds.from_tokenizer(tok)
    train_lines = english_source(tok, "train")
    rng = np.random.default_rng(HELD_OUT_SEED)
    held = mask_lines(english_source(tok, "held_out")(cfg.held_out_lines, rng), rng,
                      tokenizer_ids=ids)

    def make_batch(step: int, _rng=None) -> dict[str, torch.Tensor]:
        r = np.random.default_rng([cfg.seed, step])
        batch = mask_lines(train_lines(cfg.batch_size, r), r, tokenizer_ids=ids)
        return {k: v for k, v in batch.items() if k != "attention_mask"}

    learner = prepare(model, cfg.seed)
    tc = TrainConfig(max_steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                     warmup_steps=warmup_for(cfg.steps), weight_decay=0.0,
                     eval_every=cfg.eval_every, log_every=cfg.eval_every, seed=cfg.seed)
    return train(learner, make_batch, tc, device=device,
                 evaluate=lambda m: {"held_out_loss": held_out_loss(m, held)})
