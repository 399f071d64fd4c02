"""Fine-tune an encoder on a real English task and measure test accuracy (the downstream half
of the fake-data tab, Chiang & Lee 2022).

    tok = load_model(default_model("english")).tokenizer
    for p in finetune(encoder, FinetuneConfig(task="sentiment", steps=200), tokenizer=tok):
        show(p.step, p.loss, p.dev_accuracy)     # break out of the loop to cancel
    p.test_accuracy                              # set on the last progress only

The encoder is any transformers `BertModel` or `RobertaModel` (pooler or not) whose vocabulary
is the tokenizer's; it is deep-copied, so the caller's object never changes. The classifier
reads the first token's ([CLS]) last hidden state, as BERT fine-tuning does. `scratch_encoder`
gives the "no pretraining" baseline: same class and config, fresh weights.
"""
from __future__ import annotations

import copy
import inspect
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.common.errors import InputError
from core.common.training import TrainConfig, batch_sampler, every, train, warmup_for
from core.text.tasks import ALL_TASKS, PAIR_TASKS, SPLITS, load_any_task

MAX_LENGTH = 128  # tokens per example, [CLS] and [SEP] included (the encoders' positions)
MIN_LENGTH = 2  # room for [CLS] and [SEP]
DEV_EVAL_MAX = 500  # dev examples scored at each evaluation (~0.3 s at 2 x 128, one CPU thread)
DEV_SUBSAMPLE_SEED = 0  # the same dev subsample for every run, so curves compare
EVAL_BATCH = 256  # examples per forward pass when scoring (no gradients kept)
# Models whose position ids start after the pad id (transformers' create_position_ids_from_
# input_ids): a row of T tokens needs positions up to T + pad_token_id.
OFFSET_POSITION_TYPES = ("roberta", "xlm-roberta", "camembert")


@dataclass(frozen=True)
class FinetuneConfig:
    task: str = "sentiment"  # one of core.text.tasks.ALL_TASKS (pair tasks read a and b)
    steps: int = 200  # optimizer steps (no epochs)
    batch_size: int = 32  # examples per step
    # Peak AdamW rate, ~10x BERT-base's: a 2 x 128 encoder from scratch on sentiment, 200
    # steps, reached test accuracy 0.50 / 0.72 / 0.76 / 0.78 / 0.78 / 0.59 at lr 1e-4 / 3e-4 /
    # 5e-4 / 1e-3 / 2e-3 / 3e-3 (seed 0); 5e-4 keeps clear of divergence for the larger
    # (8 x 512) encoders and of washing out what pretraining put in.
    lr: float = 5e-4
    warmup_steps: int | None = None  # None = training.warmup_for(steps): 10 %, >= 1
    eval_every: int = 50  # dev accuracy every N steps (and after the last); 0 = last only
    seed: int = 0  # seeds the training subsample, the head, dropout and batch order
    train_size: int | None = None  # labelled training examples drawn (seeded); None = all
    max_length: int = MAX_LENGTH  # tokens per example; capped to what the encoder can read

    def warmup(self) -> int:
        """Warm-up steps actually used."""
        if self.warmup_steps is not None:
            return self.warmup_steps
        return warmup_for(self.steps)


@dataclass(frozen=True)
class FinetuneProgress:
    step: int  # optimizer steps done (1..max_steps)
    max_steps: int
    loss: float  # mean training loss since the previous progress
    dev_accuracy: float | None  # on the fixed dev subsample, when evaluated at this step
    elapsed_s: float  # wall seconds since fine-tuning started (evaluation included)
    test_accuracy: float | None = None  # full test split, final model; last progress only
    model: nn.Module | None = None  # the fine-tuned SequenceClassifier; last progress only


class SequenceClassifier(nn.Module):
    """encoder -> first-token state (B, H) -> dropout -> linear (B, C)."""

    def __init__(self, encoder: nn.Module, num_labels: int, dropout: float = 0.1, *,
                 seed: int = 0):
        """
        Args:
            encoder: a BertModel / RobertaModel (used as is: copy it first to keep yours).
            num_labels: classes.
            dropout: on the pooled state, during training only.
            seed: seeds the head's weights; the global torch RNG is left as it was.
        """
        super().__init__()
        if num_labels < 2:
            raise ValueError(f"a classifier needs at least 2 labels, got {num_labels}")
        cfg = encoder.config
        self.encoder = encoder
        self.num_labels = num_labels
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(cfg.hidden_size, num_labels)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            nn.init.normal_(self.head.weight, std=getattr(cfg, "initializer_range", 0.02))
        nn.init.zeros_(self.head.bias)
        param = next(encoder.parameters())
        self.head.to(param.device)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """input_ids, attention_mask: (B, T); labels: (B,) class ids; token_type_ids: (B, T)
        segment ids of a pair (0 for a, 1 for b), None for single texts.

        Returns:
            the mean cross-entropy (scalar) when labels are given, else logits (B, C).
        """
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        segments = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              **segments).last_hidden_state  # (B, T, H)
        pooled = hidden[:, 0].to(self.head.weight.dtype)  # (B, H): [CLS] / <s>
        logits = self.head(self.dropout(pooled))  # (B, C)
        if labels is None:
            return logits
        return nn.functional.cross_entropy(logits.float(), labels)


def usable_length(encoder: nn.Module) -> int:
    """Most tokens per row the encoder's position table can index.

    BERT: max_position_embeddings. RoBERTa counts positions from pad_token_id + 1, so a
    row of T tokens reaches position T + pad_token_id (whether or not the tokenizer pads
    with that id): max_position_embeddings - pad_token_id - 1.
    """
    cfg = encoder.config
    limit = cfg.max_position_embeddings
    if getattr(cfg, "model_type", "") in OFFSET_POSITION_TYPES:
        limit -= (cfg.pad_token_id or 0) + 1
    return limit


_ENCODED: dict[tuple, dict[str, dict[str, torch.Tensor]]] = {}
_ENCODED_LOCK = threading.Lock()


def encode_task(task_name: str, tokenizer, max_length: int = MAX_LENGTH
                ) -> dict[str, dict[str, torch.Tensor]]:
    """Every split of a task as tensors, cached per (task, tokenizer, max_length).

    Args:
        task_name: one of core.text.tasks.ALL_TASKS.
        tokenizer: a fast tokenizer; adds [CLS] ... [SEP] ([CLS] a [SEP] b [SEP] for pairs).
        max_length: tokens per example incl. specials; longer texts are cut (end kept as [SEP];
            a pair loses tokens from its longer side first).
    Returns:
        split -> {"input_ids": (N, T) long, "attention_mask": (N, T) long (1 = token),
        "labels": (N,) long, and for pair tasks "token_type_ids": (N, T) long (1 = b)},
        right-padded to the split's longest example (T <= max_length).
        The tensors are shared by every caller: index them, never write into them.
    Raises:
        KeyError: unknown task (the message lists ALL_TASKS).
        ValueError: max_length < 2.
    """
    if max_length < MIN_LENGTH:
        raise ValueError(f"max_length must be at least {MIN_LENGTH} ([CLS] and [SEP]), "
                         f"got {max_length}")
    task = load_any_task(task_name)  # KeyError listing the tasks
    pair = task_name in PAIR_TASKS
    key = (task_name, getattr(tokenizer, "name_or_path", type(tokenizer).__name__),
           len(tokenizer), max_length)
    with _ENCODED_LOCK:
        if key not in _ENCODED:
            out = {}
            for split in SPLITS:
                rows = getattr(task, split)
                texts = ([[a for (a, _), _ in rows], [b for (_, b), _ in rows]] if pair
                         else [[text for text, _ in rows]])
                enc = tokenizer(*texts, truncation=True, max_length=max_length,
                                padding="longest", padding_side="right",
                                return_token_type_ids=pair, return_tensors="pt")
                out[split] = {"input_ids": enc["input_ids"].long(),
                              "attention_mask": enc["attention_mask"].long(),
                              "labels": torch.tensor([y for _, y in rows], dtype=torch.long)}
                if pair:
                    out[split]["token_type_ids"] = enc["token_type_ids"].long()
            _ENCODED[key] = out
        return _ENCODED[key]


def _trim(batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drops padding columns past the batch's longest row (right padding; same result)."""
    width = max(int(batch["attention_mask"].sum(1).max()), 1)
    return {k: (v[:, :width] if v.ndim == 2 else v) for k, v in batch.items()}


def _rows(tensors: Mapping[str, torch.Tensor], idx: torch.Tensor) -> dict[str, torch.Tensor]:
    return {k: v[idx] for k, v in tensors.items()}


def subsample(tensors: Mapping[str, torch.Tensor], size: int | None, seed: int
              ) -> dict[str, torch.Tensor]:
    """`size` rows drawn without replacement by `seed`, in their original order (None = all)."""
    n = len(tensors["labels"])
    if size is None or size >= n:
        return dict(tensors)
    idx = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
    return _rows(tensors, torch.from_numpy(idx))


@torch.no_grad()
def accuracy(model: nn.Module, tensors: Mapping[str, torch.Tensor],
             batch_size: int = EVAL_BATCH) -> float:
    """Share of rows whose arg-max logit is the label, in eval mode, on the model's device.

    Rows are scored in length order so each batch carries little padding; the model's
    train/eval mode is restored afterwards.

    Args:
        model: a SequenceClassifier (model(input_ids, attention_mask) -> (B, C) logits).
        tensors: {"input_ids", "attention_mask", "labels"[, "token_type_ids"]} as from
            encode_task.
    Returns:
        accuracy in [0, 1]; nan for no rows.
    """
    n = len(tensors["labels"])
    if n == 0:
        return float("nan")
    device = next(model.parameters()).device
    order = torch.argsort(tensors["attention_mask"].sum(1), stable=True)
    was_training = model.training
    model.eval()
    correct = 0
    try:
        for i in range(0, n, batch_size):
            batch = _trim(_rows(tensors, order[i:i + batch_size]))
            inputs = {k: batch[k].to(device) for k in ("input_ids", "attention_mask",
                                                        "token_type_ids") if k in batch}
            logits = model(**inputs)  # (B, C)
            correct += int((logits.argmax(-1).cpu() == batch["labels"]).sum())
    finally:
        model.train(was_training)
    return correct / n


def check_config(cfg: FinetuneConfig) -> None:
    """Raises InputError (a ValueError) for settings out of range."""
    if cfg.task not in ALL_TASKS:
        raise InputError(f"unknown task {cfg.task!r}; choose one of {', '.join(ALL_TASKS)}")
    if cfg.steps < 1:
        raise InputError(f"steps must be at least 1, got {cfg.steps}")
    if cfg.batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {cfg.batch_size}")
    if not cfg.lr > 0:
        raise InputError(f"lr must be positive, got {cfg.lr}")
    if cfg.warmup_steps is not None and cfg.warmup_steps < 0:
        raise InputError(f"warmup_steps must be >= 0, got {cfg.warmup_steps}")
    if cfg.eval_every < 0:
        raise InputError(f"eval_every must be >= 0 (0 = only after the last step), "
                         f"got {cfg.eval_every}")
    labels = len(load_any_task(cfg.task).labels)
    if cfg.train_size is not None and cfg.train_size < labels:
        raise InputError(f"train_size must be at least {labels} (one per label) or None "
                         f"for all, got {cfg.train_size}")
    if cfg.max_length < MIN_LENGTH:
        raise InputError(f"max_length must be at least {MIN_LENGTH}, got {cfg.max_length}")


def finetune(encoder: nn.Module, cfg: FinetuneConfig, *, tokenizer,
             device: torch.device | str | None = None) -> Iterator[FinetuneProgress]:
    """Fine-tunes a copy of `encoder` with a fresh head on cfg.task; yields progress.

    The settings are checked at once (before the first progress is asked for).

    Args:
        encoder: BertModel / RobertaModel over the tokenizer's vocabulary; never modified.
        cfg: the run's FinetuneConfig.
        tokenizer: the encoder's tokenizer (e.g. the packaged MiniLM one).
        device: defaults to core.common.device.pick_device().
    Yields:
        FinetuneProgress about every steps/50 steps and at each evaluation; the last one
        (step == steps) carries test_accuracy and the fine-tuned model. Closing the
        generator stops training.
    Raises:
        InputError: settings out of range (see check_config).
    """
    check_config(cfg)
    return _run(encoder, cfg, tokenizer, device)


def _run(encoder: nn.Module, cfg: FinetuneConfig, tokenizer, device
         ) -> Iterator[FinetuneProgress]:
    max_length = min(cfg.max_length, usable_length(encoder))
    data = encode_task(cfg.task, tokenizer, max_length)
    if getattr(encoder.config, "type_vocab_size", 2) < 2:  # RoBERTa: one segment embedding
        data = {s: {k: v for k, v in t.items() if k != "token_type_ids"} for s, t in data.items()}
    train_rows = subsample(data["train"], cfg.train_size, cfg.seed)
    dev_rows = subsample(data["dev"], DEV_EVAL_MAX, DEV_SUBSAMPLE_SEED)
    model = SequenceClassifier(copy.deepcopy(encoder), len(load_any_task(cfg.task).labels),
                               seed=cfg.seed)
    tc = TrainConfig(max_steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                     warmup_steps=cfg.warmup(), eval_every=cfg.eval_every,
                     log_every=every(cfg.steps), seed=cfg.seed)
    sample = batch_sampler(train_rows, cfg.batch_size)

    def make_batch(step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        return _trim(sample(step, rng))

    t0 = time.perf_counter()
    events = train(model, make_batch, tc, device=device,
                   evaluate=lambda m: {"dev_accuracy": accuracy(m, dev_rows)})
    try:
        for event in events:
            dev = (event.metrics or {}).get("dev_accuracy")
            if event.step < event.max_steps:
                yield FinetuneProgress(event.step, event.max_steps, event.loss, dev,
                                       time.perf_counter() - t0)
                continue
            test = accuracy(model, data["test"])
            yield FinetuneProgress(event.step, event.max_steps, event.loss, dev,
                                   time.perf_counter() - t0, test_accuracy=test, model=model)
    finally:
        events.close()  # a consumer that stops early stops the training loop too


def scratch_encoder(like: nn.Module, seed: int) -> nn.Module:
    """A freshly initialised encoder of like's class and config (the "no pretraining" bound).

    Args:
        like: the encoder to mirror (BertModel / RobertaModel); not modified.
        seed: seeds the new weights; the global torch RNG is left as it was.
    Returns:
        The new encoder, in eval mode, on like's device, with a pooler iff like has one.
    """
    kwargs = {}
    if "add_pooling_layer" in inspect.signature(type(like).__init__).parameters:
        kwargs["add_pooling_layer"] = getattr(like, "pooler", None) is not None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = type(like)(copy.deepcopy(like.config), **kwargs)
    return fresh.to(next(like.parameters()).device).eval()
