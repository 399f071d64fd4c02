"""The training loop every tab shares, written out minGPT-style.

    config = TrainConfig(max_steps=200, batch_size=32)
    make_batch = batch_sampler(train_tensors, config.batch_size)
    for event in train(model, make_batch, config, evaluate=dev_accuracy):
        show(event)              # a UI updates a progress bar / loss curve here
        if user_pressed_stop:
            break                # leaving the loop closes the generator: training stops

Contract with the model: `model(**batch)` returns the loss (a scalar tensor), or an object
with `.loss` (transformers outputs), or a mapping with "loss". The batch carries its labels.

Contract with the data: `make_batch(step, rng) -> dict[str, Tensor]` is a plain callable (not
an iterator) so a run is a pure function of (model init, config.seed): the loop hands it the
0-based step and a numpy Generator seeded from config.seed. `train` never reads
`config.batch_size` itself; it records the run, and `batch_sampler` (or the caller) uses it.

Checkpoints: `on_checkpoint(step, model, optimizer, rng)` runs every `checkpoint_every` steps
and after the last one; it saves what it wants (`capture_rng_state(rng)` takes every RNG).
A run handed back `start_step`, `optimizer_state` and `rng_state` (with the model's weights
loaded by the caller) continues exactly where the saved one was, as if it had never stopped.
"""
from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

import numpy as np
import torch

from core.common.device import pick_device

AUTOCAST_DTYPE = torch.bfloat16  # CUDA only; CPU stays float32 (bf16 matmuls are slow there)
NO_DECAY_NDIM = 1  # parameters with <= 1 dims (biases, LayerNorm) get no weight decay
WARMUP_DIVISOR = 10  # default warm-up: a tenth of the steps (BERT's 10 %), at least one
LOG_POINTS = 50  # default progress events per run: a loss curve, not a log


@dataclass(frozen=True)
class TrainConfig:
    max_steps: int = 300  # optimizer steps; the run ends here (no epochs)
    batch_size: int = 32  # examples per step (used by batch_sampler / the caller's make_batch)
    lr: float = 5e-5  # peak learning rate, reached at the end of warm-up (BERT fine-tuning)
    warmup_steps: int = 30  # linear warm-up from lr/warmup_steps to lr; then linear decay
    weight_decay: float = 0.01  # AdamW decoupled decay, on matrices only (not biases/norms)
    grad_clip: float = 1.0  # max global grad norm; 0 disables clipping
    eval_every: int = 0  # run `evaluate` every N steps; 0 = only after the last step
    log_every: int = 1  # yield a TrainEvent every N steps (and always on eval / last step)
    seed: int = 0  # seeds python, numpy (the batch rng) and torch (dropout, sampling)
    # length of the learning-rate schedule (None = max_steps); longer: the run is the first
    # max_steps updates of a longer run (the same rates, step for step)
    schedule_steps: int | None = None
    # bf16 autocast and fused AdamW: None = on CUDA only (where they pay); True = on any device
    # (CPU has both, so tests run the GPU path there); False = never.
    fast: bool | None = None


@dataclass(frozen=True)
class TrainEvent:
    step: int  # optimizer steps done so far (1..max_steps)
    max_steps: int  # so a progress bar needs nothing else
    loss: float  # mean training loss over the steps since the previous event
    lr: float  # learning rate used by this step
    elapsed_s: float  # wall seconds since the loop started (evaluation included)
    metrics: dict[str, float] | None = field(default=None)  # evaluate(model) when it ran


def lr_at(step: int, config: TrainConfig) -> float:
    """Learning rate for the 0-based `step`: linear warm-up, then linear decay.

    Warm-up gives step s < W the rate lr*(s+1)/W (the first step already learns, unlike a
    schedule that starts at 0); decay gives lr*(S-s)/(S-W), so the last step s=S-1 still uses
    lr/(S-W) > 0 and every step does some work.
    """
    s, w, total = step, config.warmup_steps, config.schedule_steps or config.max_steps
    if s < w:
        return config.lr * (s + 1) / w
    return config.lr * max(total - s, 0) / max(total - w, 1)


def warmup_for(steps: int) -> int:
    """The default warm-up of a run of `steps` steps: a tenth of them, at least one."""
    return max(1, steps // WARMUP_DIVISOR)


def every(steps: int, points: int = LOG_POINTS) -> int:
    """An interval that gives about `points` events over `steps` steps (at least 1): the one
    rule for log_every / eval_every derived from a run's length."""
    return max(1, steps // points)


def batch_sampler(data: Mapping[str, torch.Tensor], batch_size: int
                  ) -> Callable[[int, np.random.Generator], dict[str, torch.Tensor]]:
    """A make_batch that draws `batch_size` rows (without replacement) from equal-length tensors.

    Args:
        data: name -> tensor with the examples on dim 0, e.g. input_ids (N, T), labels (N,).
        batch_size: rows per batch (capped at N).
    Returns:
        make_batch(step, rng) -> dict of (B, ...) tensors.
    """
    sizes = {len(t) for t in data.values()}
    if len(sizes) != 1:
        raise ValueError(f"tensors disagree on the number of examples: {sorted(sizes)}")
    n = sizes.pop()

    def make_batch(step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        idx = torch.from_numpy(rng.choice(n, size=min(batch_size, n), replace=False))
        return {k: t[idx] for k, t in data.items()}

    return make_batch


def seed_everything(seed: int) -> np.random.Generator:
    """Seeds python, numpy and torch (all devices); returns a fresh numpy Generator.

    torch's RNG is process-global: two runs training at once in different threads share it,
    so they stay correct but are not bit-reproducible.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return np.random.default_rng(seed)


def capture_rng_state(rng: np.random.Generator) -> dict:
    """Every RNG a run draws from: the batch Generator, numpy's, python's and torch's (CPU and,
    once CUDA is in use, the current CUDA device's: a process trains on one device, and asking
    every device would wake them all). Pass the result back to `train(rng_state=...)`.

    Only plain Python containers, numbers and tensors, so torch.load(weights_only=True) reads it.
    """
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"numpy_generator": rng.bit_generator.state,
             "numpy_global": (kind, keys.tolist(), pos, has_gauss, gauss),
             "python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _restore_rng(state: Mapping, rng: np.random.Generator) -> None:
    rng.bit_generator.state = state["numpy_generator"]
    kind, keys, pos, has_gauss, gauss = state["numpy_global"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def fast_paths(config: TrainConfig, device: torch.device) -> bool:
    """Whether a run uses bf16 autocast and fused AdamW (see TrainConfig.fast)."""
    return device.type == "cuda" if config.fast is None else bool(config.fast)


def make_optimizer(model: torch.nn.Module, config: TrainConfig,
                   device: torch.device) -> torch.optim.AdamW:
    """AdamW with decay on matrices only; fused kernels where fast_paths says so."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim > NO_DECAY_NDIM],
         "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.ndim <= NO_DECAY_NDIM], "weight_decay": 0.0},
    ]
    fused = {"fused": True} if fast_paths(config, device) else {}
    return torch.optim.AdamW(groups, lr=lr_at(0, config), **fused)


def _loss_of(out) -> torch.Tensor:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, Mapping):
        return out["loss"]
    return out.loss


def _autocast(device: torch.device, config: TrainConfig):
    """bf16 autocast where fast_paths says so (by default CUDA's tensor cores only; CPU and
    MPS run in float32)."""
    if fast_paths(config, device):
        return torch.autocast(device.type, dtype=AUTOCAST_DTYPE)
    return contextlib.nullcontext()


def train(model: torch.nn.Module,
          make_batch: Callable[[int, np.random.Generator], dict[str, torch.Tensor]],
          config: TrainConfig, *,
          evaluate: Callable[[torch.nn.Module], dict[str, float]] | None = None,
          device: torch.device | str | None = None,
          on_step: Callable[[TrainEvent], None] | None = None,
          start_step: int = 0,
          optimizer_state: Mapping | None = None,
          rng_state: Mapping | None = None,
          on_checkpoint: Callable[[int, torch.nn.Module, torch.optim.Optimizer,
                                   np.random.Generator], None] | None = None,
          checkpoint_every: int = 0) -> Iterator[TrainEvent]:
    """Trains `model` in place for config.max_steps steps, yielding progress.

    Args:
        model: returns its loss from model(**batch) (see the module docstring). It is moved to
            `device` and left there, in eval mode, when the loop ends, fails or is closed.
        make_batch: (0-based step, seeded numpy Generator) -> dict of tensors (CPU is fine).
        config: the run's TrainConfig.
        evaluate: model -> {name: value}; called in eval mode under no_grad every
            config.eval_every steps and after the last step; its result is TrainEvent.metrics.
        device: defaults to core.common.device.pick_device().
        on_step: called with every event before it is yielded (logging).
        start_step: steps already done (resuming); the loop runs start_step..max_steps-1 with
            the same learning rates and step numbers the uninterrupted run would use.
        optimizer_state: an optimizer.state_dict() to continue from (resuming).
        rng_state: a `capture_rng_state(rng)` saved at start_step (resuming); restored after
            seeding.
        on_checkpoint: (steps done, model, optimizer, batch rng) -> None, called after the
            optimizer step every `checkpoint_every` steps and after the last step, before
            that step's event is yielded.
        checkpoint_every: 0 = only after the last step.
    Yields:
        TrainEvent every config.log_every steps, on evaluation steps and on the last step.
        Closing the generator (or breaking out of a for loop over it) stops training; the
        optimizer state and gradients are released either way.
    """
    if config.max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {config.max_steps}")
    if not 0 <= start_step <= config.max_steps:
        raise ValueError(f"start_step must be in 0..{config.max_steps}, got {start_step}")
    device = torch.device(device) if device is not None else pick_device()
    rng = seed_everything(config.seed)
    if rng_state is not None:
        _restore_rng(rng_state, rng)
    model.to(device)
    optimizer = make_optimizer(model, config, device)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)  # moves the moments onto the params' device
    t0 = time.perf_counter()
    loss_sum = torch.zeros((), device=device)  # summed on device: no sync until we report
    n_since = 0
    try:
        for step in range(start_step, config.max_steps):
            model.train()
            lr = lr_at(step, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = {k: v.to(device, non_blocking=True) for k, v in make_batch(step, rng).items()}
            with _autocast(device, config):
                loss = _loss_of(model(**batch))
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            loss_sum += loss.detach().float()
            n_since += 1

            done = step + 1
            last = done == config.max_steps
            if on_checkpoint is not None and (
                    last or (checkpoint_every > 0 and done % checkpoint_every == 0)):
                on_checkpoint(done, model, optimizer, rng)
            eval_now = evaluate is not None and (
                last or (config.eval_every > 0 and done % config.eval_every == 0))
            if not (last or eval_now or done % max(config.log_every, 1) == 0):
                continue
            metrics = None
            if eval_now:
                model.eval()
                with torch.no_grad():
                    metrics = dict(evaluate(model))
            event = TrainEvent(step=done, max_steps=config.max_steps,
                               loss=loss_sum.item() / n_since, lr=lr,
                               elapsed_s=time.perf_counter() - t0, metrics=metrics)
            loss_sum.zero_()
            n_since = 0
            if on_step is not None:
                on_step(event)
            yield event  # GeneratorExit lands here when the consumer closes us
    finally:
        # Closed, failed or finished: leave the model ready for inference and free the
        # optimizer's two moment buffers (2x the model's size) and any gradients.
        optimizer.zero_grad(set_to_none=True)
        optimizer.state.clear()
        model.eval()
