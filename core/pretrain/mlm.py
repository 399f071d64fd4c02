"""Masked-language-model pretraining on fake or real lines (Chiang & Lee, AAAI 2022).

A small BERT (or RoBERTa) over the English tokenizer's vocabulary learns to fill in masked
tokens of lines drawn from a core.pretrain.fake_data scheme, or from real English text; the fine-tuning
code then takes `model.encoder` and puts a classifier on it.

    tok = english_tokenizer()
    model = build_mlm("tiny", vocab_size=len(tok), seed=0)
    for event in pretrain(model, PretrainConfig(scheme="flat-128", steps=300)):
        print(event.step, event.loss)          # closing the generator stops training

A line of LINE_LENGTH ids becomes [CLS] line [SEP] (128 tokens); 15 % of the line's tokens are
chosen for prediction, BERT's way: 80 % of them become [MASK], 10 % a random id, 10 % stay.
The loss is computed at the chosen positions only: their hidden states are gathered before the
projection onto the 30522-id vocabulary, which is most of the saving over a stock
BertForMaskedLM (it projects every token). On CUDA the shared loop adds bf16 autocast and
fused AdamW, and `pretrain` adds torch.compile; attention is PyTorch's SDPA. Under `torchrun`
(WORLD_SIZE > 1) every process trains a DistributedDataParallel replica on its own data.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from core.common.device import pick_device
from core.common.errors import InputError
from core.common.training import TrainConfig, TrainEvent, capture_rng_state, train, warmup_for
from core.pretrain.data import (
    IGNORE_INDEX,
    LINE_LENGTH,
    MASK_PROB,
    MAX_POSITIONS,
    TokenIds,
    english_tokenizer,
    english_unigram,
    line_source,
    mask_lines,
    masked_count,
)

# The data side lives in core.pretrain.data; its public names are re-exported here so
# `core.pretrain.mlm` stays the one import for pretraining.
__all__ = ["ARCHS", "CHECKPOINT_NAME", "IGNORE_INDEX", "LINE_LENGTH", "MASK_PROB",
           "MAX_POSITIONS", "MLMHead", "MaskedLM", "ModelSize", "PretrainConfig", "SIZES",
           "TokenIds", "batch_maker", "build_mlm", "english_tokenizer", "english_unigram",
           "is_main_process", "line_source", "load_checkpoint", "make_config", "mask_lines",
           "masked_count", "param_digest", "pretrain"]

@dataclass(frozen=True)
class ModelSize:
    """The shape of one model size (see SIZES)."""

    layers: int  # transformer blocks
    hidden: int  # model width
    heads: int  # attention heads (hidden / heads = 64 per head for all three)
    ffn: int  # feed-forward inner width (4 x hidden)


# Model sizes; "medium" is the paper's (8 layers, 512 wide).
SIZES = {"tiny": ModelSize(2, 128, 2, 512), "small": ModelSize(4, 256, 4, 1024),
         "medium": ModelSize(8, 512, 8, 2048)}
ARCHS = ("bert", "roberta")
ROBERTA_POSITION_OFFSET = 2  # RoBERTa numbers positions from padding_idx + 1: two extra rows
# Peak learning rate by size (AdamW, linear warm-up then decay): small models take larger steps.
DEFAULT_LR = {"tiny": 1e-3, "small": 5e-4, "medium": 5e-4}
PREFETCH_BATCHES = 2  # CUDA only: batches generated ahead in a thread while the GPU works
CHECKPOINT_NAME = "last.pt"  # in PretrainConfig.checkpoint_dir
CHECKPOINT_FORMAT = 1  # bumped when the checkpoint's layout changes
# Fields that define a run: a resumed run must agree with its checkpoint on all of them.
RUN_FIELDS = ("scheme", "size", "arch", "steps", "batch_size", "lr", "warmup_steps", "seed")
# --------------------------------------------------------------------------------- model
def _check(size: str, arch: str) -> ModelSize:
    if size not in SIZES:
        raise InputError(f"unknown model size {size!r}; choose one of {', '.join(SIZES)}")
    if arch not in ARCHS:
        raise InputError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    return SIZES[size]


def make_config(size: str, arch: str = "bert", *, vocab_size: int,
                attn_implementation: str = "sdpa"):
    """A transformers BertConfig / RobertaConfig for SIZES[size].

    Padding id 0 is [PAD] of the English vocabulary; RoBERTa gets ROBERTA_POSITION_OFFSET
    extra position rows. Dropout and init are BERT's defaults (0.1, N(0, 0.02)).

    Raises:
        InputError: unknown size or arch (the message lists the choices).
    """
    from transformers import BertConfig, RobertaConfig

    s = _check(size, arch)
    common = dict(vocab_size=vocab_size, hidden_size=s.hidden, num_hidden_layers=s.layers,
                  num_attention_heads=s.heads, intermediate_size=s.ffn, pad_token_id=0,
                  attn_implementation=attn_implementation)
    if arch == "roberta":
        return RobertaConfig(**common, type_vocab_size=1,
                             max_position_embeddings=MAX_POSITIONS + ROBERTA_POSITION_OFFSET)
    return BertConfig(**common, max_position_embeddings=MAX_POSITIONS)


class MLMHead(nn.Module):
    """BERT's MLM head: transform (dense + activation + LayerNorm), then a decoder whose weight
    is the word-embedding matrix (tied), plus a bias per id."""

    def __init__(self, config, word_embeddings: nn.Embedding):
        super().__init__()
        from transformers.activations import ACT2FN

        h = config.hidden_size
        self.transform = nn.Sequential(nn.Linear(h, h), ACT2FN[config.hidden_act],
                                       nn.LayerNorm(h, eps=config.layer_norm_eps))
        self.decoder = nn.Linear(h, config.vocab_size, bias=False)
        self.decoder.weight = word_embeddings.weight  # tied: one tensor, two names
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        nn.init.normal_(self.transform[0].weight, std=config.initializer_range)
        nn.init.zeros_(self.transform[0].bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., H) hidden states -> (..., V) scores over the vocabulary."""
        return F.linear(self.transform(hidden), self.decoder.weight, self.bias)


class MaskedLM(nn.Module):
    """An encoder (`.encoder`, a plain BertModel / RobertaModel without pooler) and BERT's MLM
    head (`.head`, an MLMHead tied to the encoder's word embeddings)."""

    def __init__(self, config):
        super().__init__()
        from transformers import BertModel, RobertaModel

        encoder_cls = RobertaModel if config.model_type == "roberta" else BertModel
        self.encoder = encoder_cls(config, add_pooling_layer=False)
        self.head = MLMHead(config, self.encoder.get_input_embeddings())

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None,
                masked_positions: torch.Tensor | None = None) -> torch.Tensor:
        """The mean MLM cross-entropy over the predicted positions (a scalar).

        Args:
            input_ids: (B, T). attention_mask: (B, T) or None (= attend everywhere).
            labels: (B, T), IGNORE_INDEX where nothing is predicted. None: return the (B, T, V)
                logits of every position instead of a loss.
            masked_positions: (B, k) positions of the labelled tokens, as mask_lines gives
                them: a fixed shape (no host sync, torch.compile-friendly). Without it the
                labelled positions are found from `labels`.
        """
        hidden = self.encoder(input_ids=input_ids,
                              attention_mask=attention_mask).last_hidden_state  # (B, T, H)
        if labels is None:
            return self.head(hidden)
        if masked_positions is not None:
            idx = masked_positions.unsqueeze(-1).expand(-1, -1, hidden.shape[-1])  # (B, k, H)
            picked = hidden.gather(1, idx).flatten(0, 1)  # (B*k, H)
            target = labels.gather(1, masked_positions).flatten()  # (B*k,)
        else:
            keep = labels != IGNORE_INDEX  # (B, T)
            picked, target = hidden[keep], labels[keep]  # (M, H), (M,)
        return F.cross_entropy(self.head(picked).float(), target)


def build_mlm(size: str, arch: str = "bert", *, vocab_size: int, seed: int = 0,
              attn_implementation: str = "sdpa") -> MaskedLM:
    """A randomly initialised MaskedLM; the same arguments give the same weights.

    The global torch RNG is left as it was (the init draws from a forked one).
    """
    config = make_config(size, arch, vocab_size=vocab_size,
                         attn_implementation=attn_implementation)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MaskedLM(config)


def param_digest(model: nn.Module) -> str:
    """sha256 over the names and bytes of every tensor in model.state_dict() (hex).

    Two replicas (or a model and its checkpoint) agree exactly iff their digests are equal.
    """
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().to("cpu").contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


# ------------------------------------------------------------------------------ training
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
    checkpoint_dir: str | None = None  # where last.pt goes; None = no checkpoints
    checkpoint_every: int = 0  # save every N steps; 0 = at the end only (needs checkpoint_dir)

    def __post_init__(self):
        _check(self.size, self.arch)
        for name in ("steps", "batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.checkpoint_every < 0:
            raise InputError(f"checkpoint_every must be >= 0, got {self.checkpoint_every}")
        if self.lr is None:
            object.__setattr__(self, "lr", DEFAULT_LR[self.size])
        if self.warmup_steps is None:
            object.__setattr__(self, "warmup_steps", warmup_for(self.steps))


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


class _Ahead:
    """make_batch wrapper computing the next PREFETCH_BATCHES batches in a background thread
    (into pinned memory, for asynchronous copies to the GPU)."""

    def __init__(self, make_batch, last_step: int):
        self.make, self.last = make_batch, last_step
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlm-data")
        self.pending: dict[int, object] = {}

    def _pinned(self, step: int) -> dict[str, torch.Tensor]:
        return {k: v.pin_memory() for k, v in self.make(step).items()}

    def __call__(self, step: int, _rng=None) -> dict[str, torch.Tensor]:
        fut = self.pending.pop(step, None)
        batch = fut.result() if fut is not None else self._pinned(step)
        for s in range(step + 1, min(step + 1 + PREFETCH_BATCHES, self.last)):
            if s not in self.pending:
                self.pending[s] = self.pool.submit(self._pinned, s)
        return batch

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _process_group(device: torch.device):
    """(rank, world size, device); under torchrun a process group is up inside the block."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        yield 0, 1, device
        return
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    owner = not dist.is_initialized()
    if owner:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield dist.get_rank(), dist.get_world_size(), device
        # finished: leave together; a rank tearing its group down while another still works
        # (rank 0 saving the last checkpoint) can hang. After an error nobody waits.
        dist.barrier()
    finally:
        if owner:
            dist.destroy_process_group()


def is_main_process() -> bool:
    """False on torchrun ranks other than 0 (they neither log nor save)."""
    return os.environ.get("RANK", "0") == "0"


def _save(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)  # atomic: a crash leaves the previous checkpoint whole


def load_checkpoint(path: str | os.PathLike) -> dict:
    """A pretraining checkpoint: model, optimizer, step, rng (one per rank), config."""
    return torch.load(path, map_location="cpu", weights_only=True)


def pretrain(model: MaskedLM, cfg: PretrainConfig, *, device: torch.device | str | None = None,
             resume: bool = False) -> Iterator[TrainEvent]:
    """Pretrains `model` in place with MLM on cfg.scheme through core.common.training.train.

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
    tok = english_tokenizer()
    make_batch = batch_maker(cfg, tok)  # checks the scheme now
    if model.encoder.config.vocab_size < len(tok):
        raise InputError(f"the model has {model.encoder.config.vocab_size} embedding rows; the "
                         f"English tokenizer needs {len(tok)}")
    path = Path(cfg.checkpoint_dir) / CHECKPOINT_NAME if cfg.checkpoint_dir else None
    if resume and path is None:
        raise InputError("resume needs checkpoint_dir (where last.pt was saved)")
    saved = load_checkpoint(path) if resume and path.exists() else None
    if saved is not None:
        wanted = {k: getattr(cfg, k) for k in RUN_FIELDS}
        differ = {k: (saved["config"].get(k), v) for k, v in wanted.items()
                  if saved["config"].get(k) != v}
        if differ:
            raise InputError(f"{path} belongs to another run; differing (saved, now): {differ}")
        model.load_state_dict(saved["model"])
    device = torch.device(device) if device is not None else pick_device()
    return _run(model, cfg, tok, make_batch, device, path, saved)


def _run(model, cfg, tok, make_batch, device, path, saved) -> Iterator[TrainEvent]:
    with _process_group(device) as (rank, world, device):
        if rank:
            make_batch = batch_maker(cfg, tok, rank=rank)
        model.to(device)
        net = model
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None)
        if cfg.compile if cfg.compile is not None else device.type == "cuda":
            net = torch.compile(net)
        ahead = _Ahead(make_batch, cfg.steps) if device.type == "cuda" else None

        def on_checkpoint(step, _net, optimizer, rng):
            states = [capture_rng_state(rng)]
            if world > 1:
                import torch.distributed as dist

                states = [None] * world
                dist.all_gather_object(states, capture_rng_state(rng))
            if rank == 0:
                _save(path, {"format": CHECKPOINT_FORMAT, "step": step, "config": asdict(cfg),
                             "world_size": world, "model": model.state_dict(),
                             "optimizer": optimizer.state_dict(), "rng": states})

        rngs = saved["rng"] if saved is not None else []
        tcfg = TrainConfig(max_steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                           warmup_steps=cfg.warmup_steps, log_every=cfg.log_every,
                           seed=cfg.seed + rank)
        try:
            yield from train(net, ahead or make_batch, tcfg, device=device,
                             start_step=saved["step"] if saved is not None else 0,
                             optimizer_state=saved["optimizer"] if saved is not None else None,
                             rng_state=rngs[rank] if rank < len(rngs) else None,
                             on_checkpoint=on_checkpoint if path is not None else None,
                             checkpoint_every=cfg.checkpoint_every)
        finally:
            if ahead is not None:
                ahead.close()
            del net  # the DDP wrapper (its gradient reducer) goes before its process group
