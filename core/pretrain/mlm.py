"""The masked language model of the fake-data experiment (Chiang & Lee, AAAI 2022), and the
settings of one pretraining run.

A small BERT (or RoBERTa) over the English tokenizer's vocabulary learns to fill in masked
tokens of lines drawn from a core.pretrain.fake_data scheme, or from real English text (the
lines and the masking: core.pretrain.data; the training run: core.pretrain.loop). The
fine-tuning code then takes `model.encoder` and puts a classifier on it.

    tok = english_tokenizer()                                    # core.pretrain.data
    model = build_mlm("tiny", vocab_size=len(tok), seed=0)
    batch = mask_lines(line_source("flat-128", tok)(8, rng), rng, tokenizer_ids=tok)
    model(**batch)                                               # the mean MLM loss

The model and the masking are the lab's shared ones (core.text.mlm); this module adds the
experiment's sizes and rates, a run's settings, and the statistics-matched control.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from core.common.errors import InputError
from core.common.training import warmup_for
from core.pretrain.data import VOCABS
from core.text import mlm as _mlm
from core.text.mlm import (  # noqa: F401  (the experiment's names for the shared model)
    ARCHS,
    ROBERTA_POSITION_OFFSET,
    MaskedLM,
    MLMHead,
    ModelSize,
    build_mlm,
    check_shape,
    make_config,
    param_digest,
)

# Peak learning rate by size (AdamW, linear warm-up then decay): small models take larger steps.
DEFAULT_LR = {"tiny": 1e-3, "small": 5e-4, "medium": 5e-4}
# The experiment's model sizes (core.text.mlm.SIZES holds these and others); "medium" is the
# paper's (8 layers, 512 wide).
SIZES = {name: _mlm.SIZES[name] for name in DEFAULT_LR}


def _check(size: str, arch: str) -> ModelSize:
    return check_shape(size, arch, SIZES)


def stats_matched(model: MaskedLM, seed: int = 0) -> MaskedLM:
    """A copy of `model` whose every parameter tensor is redrawn i.i.d. normal with that
    tensor's own mean and standard deviation (Wu et al. 2022): a pretrained model's scale of
    weights, per matrix, LayerNorm and bias, with none of its structure. Against it, a gain
    of the pretrained model is structure, not the size of its weights.

    The global torch RNG is left as it was; `model` is not changed.
    """
    out = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(out.named_parameters(), key=lambda kv: kv[0]):
            x = p.detach().float()
            std = float(x.std()) if x.numel() > 1 else 0.0
            noise = torch.randn(p.shape, generator=gen)
            p.copy_((float(x.mean()) + std * noise).to(p.dtype))
    return out


# ------------------------------------------------------------------------ configuration
@dataclass(frozen=True)
class PretrainConfig:
    """One pretraining run. lr and warmup_steps left at None are filled in from the size and
    the steps, so a saved config (dataclasses.asdict) always holds the values used."""

    scheme: str  # line_source name: a fake-data scheme or "english"
    size: str = "tiny"  # key of SIZES
    arch: str = "bert"  # one of ARCHS
    steps: int = 1000  # optimizer steps
    batch_size: int = 32  # lines per step, per process (torchrun: times the world size)
    lr: float | None = None  # peak learning rate; None = DEFAULT_LR[size]
    warmup_steps: int | None = None  # None = training.warmup_for(steps): 10 %, >= 1
    seed: int = 0  # model-independent: data, dropout (the init is build_mlm's seed)
    log_every: int = 10  # a TrainEvent every N steps (and at the last)
    compile: bool | None = None  # torch.compile the model; None = only on CUDA
    fast: bool | None = None  # bf16 autocast + fused AdamW; None = only on CUDA (TrainConfig)
    checkpoint_dir: str | None = None  # where last.pt goes; None = no checkpoints
    checkpoint_every: int = 0  # save every N steps; 0 = at the end only (needs checkpoint_dir)
    vocab: str = "bert"  # core.pretrain.data.VOCABS: the ids lines are written in

    def __post_init__(self):
        _check(self.size, self.arch)
        if self.vocab not in VOCABS:
            raise InputError(f"unknown vocabulary {self.vocab!r}; choose one of "
                             f"{', '.join(VOCABS)}")
        for name in ("steps", "batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.checkpoint_every < 0:
            raise InputError(f"checkpoint_every must be >= 0, got {self.checkpoint_every}")
        if self.lr is None:
            object.__setattr__(self, "lr", DEFAULT_LR[self.size])
        if self.warmup_steps is None:
            object.__setattr__(self, "warmup_steps", warmup_for(self.steps))
