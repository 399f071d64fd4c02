"""One masked-language-model pretraining run, whatever its lines: checkpoints, torchrun, the
loop (core.common.training.train underneath). core.pretrain.loop (fake data, English) and the
cross-lingual tab's own BERTs (Bible verses) give it their batches.

    events = run_mlm(model, cfg, lambda rank: make_batch, resume=True,
                     run_fields=("steps", "seed"))
    for event in events:
        print(event.step, event.loss)            # closing the generator stops training

On CUDA the shared loop adds bf16 autocast and fused AdamW, this adds torch.compile, and batches
are made ahead in a thread. Under `torchrun` (WORLD_SIZE > 1) every process trains a
DistributedDataParallel replica on its own data (batches_for(rank)); rank 0 alone writes
checkpoints.
"""
from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn

from core.common.device import pick_device
from core.common.errors import InputError
from core.common.training import TrainConfig, TrainEvent, capture_rng_state, train

PREFETCH_BATCHES = 2  # CUDA only: batches generated ahead in a thread while the GPU works
CHECKPOINT_NAME = "last.pt"  # in cfg.checkpoint_dir
CHECKPOINT_FORMAT = 1  # bumped when the checkpoint's layout changes


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


def save_checkpoint(path: Path, payload: dict) -> None:
    """torch.save beside `path`, then renamed over it (a crash leaves the previous one whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)  # atomic: a crash leaves the previous checkpoint whole


def load_checkpoint(path: str | os.PathLike) -> dict:
    """A pretraining checkpoint: model, optimizer, step, rng (one per rank), config."""
    return torch.load(path, map_location="cpu", weights_only=True)


def run_mlm(model: nn.Module, cfg, batches_for: Callable[[int], Callable], *,
            device: torch.device | str | None = None, resume: bool = False,
            run_fields: tuple[str, ...] = (),
            evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
            eval_every: int = 0) -> Iterator[TrainEvent]:
    """Pretrains `model` (a core.text.mlm.MaskedLM) in place through core.common.training.train.

    Args:
        cfg: a frozen dataclass with steps, batch_size, lr, warmup_steps, log_every, seed,
            fast, compile, checkpoint_dir and checkpoint_every (core.pretrain.mlm.PretrainConfig
            is one). With checkpoint_dir, rank 0 writes <dir>/last.pt (model, optimizer, step,
            every rank's RNG state, config) every checkpoint_every steps and at the end.
        batches_for: rank -> make_batch(step, _) for that rank, a pure function of the step
            (so a resumed run sees the data the uninterrupted one would have).
        device: defaults to pick_device(); under torchrun with CUDA, cuda:LOCAL_RANK.
        resume: continue from <checkpoint_dir>/last.pt when it exists (else start afresh); with
            the same world size the result equals the uninterrupted run's (exactly on CPU; on
            CUDA up to its non-deterministic kernels).
        run_fields: cfg fields a checkpoint must agree on to be resumed.
        evaluate, eval_every: model -> {name: value}, called on `model` (not its DDP or
            compiled wrapper) every eval_every steps and after the last (TrainEvent.metrics).
    Returns:
        a generator of TrainEvents (every rank yields them; loss is the local rank's). Closing
        it stops training (under torchrun, every rank must close it). The checkpoint is read
        and checked here, before it starts.
    Raises:
        InputError: resume without checkpoint_dir, or a checkpoint from a different run.
    """
    path = Path(cfg.checkpoint_dir) / CHECKPOINT_NAME if cfg.checkpoint_dir else None
    if resume and path is None:
        raise InputError("resume needs checkpoint_dir (where last.pt was saved)")
    saved = load_checkpoint(path) if resume and path.exists() else None
    if saved is not None:
        differ = {k: (saved["config"].get(k), getattr(cfg, k)) for k in run_fields
                  if saved["config"].get(k) != getattr(cfg, k)}
        if differ:
            raise InputError(f"{path} belongs to another run; differing (saved, now): {differ}")
        model.load_state_dict(saved["model"])
    device = torch.device(device) if device is not None else pick_device()
    return _run(model, cfg, batches_for, device, path, saved, evaluate, eval_every)


def _run(model, cfg, batches_for, device, path, saved, evaluate, eval_every
         ) -> Iterator[TrainEvent]:
    with _process_group(device) as (rank, world, device):
        make_batch = batches_for(rank)
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
                save_checkpoint(path, {"format": CHECKPOINT_FORMAT, "step": step, "config": asdict(cfg),
                             "world_size": world, "model": model.state_dict(),
                             "optimizer": optimizer.state_dict(), "rng": states})

        rngs = saved["rng"] if saved is not None else []
        tcfg = TrainConfig(max_steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                           warmup_steps=cfg.warmup_steps, log_every=cfg.log_every,
                           seed=cfg.seed + rank, fast=cfg.fast, eval_every=eval_every)
        try:
            yield from train(net, ahead or make_batch, tcfg, device=device,
                             start_step=saved["step"] if saved is not None else 0,
                             optimizer_state=saved["optimizer"] if saved is not None else None,
                             rng_state=rngs[rank] if rank < len(rngs) else None,
                             on_checkpoint=on_checkpoint if path is not None else None,
                             checkpoint_every=cfg.checkpoint_every,
                             evaluate=(lambda _net: evaluate(model)) if evaluate else None)
        finally:
            if ahead is not None:
                ahead.close()
            del net  # the DDP wrapper (its gradient reducer) goes before its process group
