"""One pretraining run of the fake-data experiment: its batches, through the lab's shared MLM
loop (core.text.mlm_loop: checkpoints, torchrun, compile, prefetch).

    tok = english_tokenizer()                    # core.pretrain.data
    model = build_mlm("tiny", vocab_size=len(tok), seed=0)          # core.pretrain.mlm
    for event in pretrain(model, PretrainConfig(scheme="flat-128", steps=300)):
        print(event.step, event.loss)            # closing the generator stops training

Every batch is a pure function of (seed, rank, step), so a resumed run sees the data the
uninterrupted one would have. Under `torchrun` (WORLD_SIZE > 1) every process trains a
DistributedDataParallel replica on its own data; rank 0 alone writes checkpoints.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch

from core.common.errors import InputError
from core.common.training import TrainEvent
from core.pretrain.data import TokenIds, line_source, mask_lines, tokenizer_for
from core.pretrain.mlm import MaskedLM, PretrainConfig
from core.text.mlm_loop import (  # noqa: F401  (checkpoint names, as the experiment's)
    CHECKPOINT_NAME,
    is_main_process,
    load_checkpoint,
    run_mlm,
)

# Fields that define a run: a resumed run must agree with its checkpoint on all of them.
RUN_FIELDS = ("scheme", "size", "arch", "steps", "batch_size", "lr", "warmup_steps", "seed",
              "vocab")


def batch_maker(cfg: PretrainConfig, tokenizer, *, rank: int = 0
                ) -> Callable[[int, object], dict[str, torch.Tensor]]:
    """make_batch(step, _) for the shared loop: a pure function of (cfg.seed, rank, step).

    Each step draws from its own Generator, so batches can be made ahead in a thread and a
    resumed run sees the same data; every rank of a torchrun job gets different lines. Lines
    are never padded, so the attention mask is left out (SDPA then uses its fastest kernel).
    """
    source = line_source(cfg.scheme, tokenizer)
    ids = TokenIds.from_tokenizer(tokenizer)

    def make_batch(step: int, _rng=None) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([cfg.seed, rank, step])
        batch = mask_lines(source(cfg.batch_size, rng), rng, tokenizer_ids=ids)
        del batch["attention_mask"]
        return batch

    return make_batch


def pretrain(model: MaskedLM, cfg: PretrainConfig, *, device: torch.device | str | None = None,
             resume: bool = False) -> Iterator[TrainEvent]:
    """Pretrains `model` in place with MLM on cfg.scheme (core.text.mlm_loop.run_mlm).

    Args:
        model: a MaskedLM over the English tokenizer's vocabulary (build_mlm).
        cfg: the run. With cfg.checkpoint_dir, rank 0 writes <dir>/last.pt (model, optimizer,
            step, every rank's RNG state, config) every cfg.checkpoint_every steps and at the end.
        device: defaults to pick_device(); under torchrun with CUDA, cuda:LOCAL_RANK.
        resume: continue from <checkpoint_dir>/last.pt when it exists (else start afresh); with
            the same world size the result equals the uninterrupted run's (exactly on CPU; on
            CUDA up to its non-deterministic kernels).
    Returns:
        a generator of TrainEvents (every rank yields them; loss is the local rank's). Closing
        it stops training (under torchrun, every rank must close it). Settings are checked
        here, before it starts.
    Raises:
        InputError / KeyError: bad scheme, a model of the wrong vocabulary size, resume without
        checkpoint_dir, or a checkpoint from a different run.
    """
    tok = tokenizer_for(cfg.vocab)
    first = batch_maker(cfg, tok)  # checks the scheme now
    if model.encoder.config.vocab_size < len(tok):
        raise InputError(f"the model has {model.encoder.config.vocab_size} embedding rows; the "
                         f"{cfg.vocab} vocabulary needs {len(tok)}")
    return run_mlm(model, cfg, lambda rank: batch_maker(cfg, tok, rank=rank) if rank else first,
                   device=device, resume=resume, run_fields=RUN_FIELDS)
