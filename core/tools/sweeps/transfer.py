"""`python -m core transfer-sweep`: the fake-data reference measured two ways, paired by seed.

    1. pretrain every scheme once (the same random init, seed 0; checkpoints in a work folder,
       so an interrupted sweep resumes mid-scheme), with its MLM curve and floor
       (core.pretrain.floors);
    2. probe every arm (core.pretrain.probe: fresh embeddings on the frozen body learn English
       MLM; held-out loss) with seeds 0..n-1;
    3. fine-tune every arm on every task: the peak rate chosen per (task, arm) on dev from
       LR_GRID with a search seed of its own, then seeds 0..n-1 with that rate; within a seed
       every arm sees the same examples in the same order and the same head init.

Arms: scratch (the random init every scheme started from), matched (that init redrawn with
the English-pretrained model's per-tensor mean and std: scale without structure; only when
english is a scheme) and every scheme. Gains are paired differences against scratch.

Every finished piece is saved to the progress file at once (a scheme's MLM curve at every
logged step, in <workdir>/<scheme>/curve.json); --resume continues there. With jobs > 1 the
schemes pretrain, then the cells run, in that many processes at once (a cell's numbers do not
depend on where or when it runs: each seeds itself). The
record (core.common.records): {"config", "machine", "started", "pretrain", "probe",
"finetune", "lr_search", "compute_s" (the pretraining and cell times summed), "wall_s"}.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    as_completed,
    wait,
)
from multiprocessing import get_context
from pathlib import Path

from core.common import records
from core.common.curves import area
from core.common.errors import InputError
from core.common.stats import paired_difference, summary
from core.common.training import every
from core.pretrain import fake_data, floors, loop, mlm
from core.pretrain.data import tokenizer_for
from core.pretrain.probe import ProbeConfig, probe
from core.text import finetune

SCRATCH, MATCHED = "scratch", "matched"
SCHEMES = ("english", "uniform", "unigram", "flat-2", "shuffle-4", "shuffle-64", "flat-128",
           "nesting", "zipf-1")
TASKS = ("paraphrase", "qnli", "sentiment")  # sentiment: the paper's own null control
LR_GRID = (1e-4, 3e-4, 1e-3)
LR_SEED = 100  # the rate search's seed (the main seeds are 0, 1, ...)
INIT_SEED = 0  # every scheme's starting weights and scratch's


def arms(schemes) -> list[str]:
    """scratch, matched (with english), then the schemes."""
    return [SCRATCH] + ([MATCHED] if "english" in schemes else []) + list(schemes)


def _save(path, progress: dict) -> None:
    if path:
        records.write(path, progress)


CURVE_NAME = "curve.json"  # a scheme's MLM curve so far, beside its checkpoint


def _train_scheme(scheme: str, c: dict, workdir: str | Path) -> dict:
    """Pretrains a scheme from INIT_SEED (resuming its checkpoint); returns {"curve",
    "wall_s"}. The curve so far is kept beside the checkpoint at every logged step, so a
    sweep cut off mid-scheme resumes with the points logged before it."""
    folder = Path(workdir) / scheme
    tok = tokenizer_for(c["vocab"])
    model = mlm.build_mlm(c["size"], vocab_size=len(tok), seed=INIT_SEED)
    pcfg = mlm.PretrainConfig(scheme=scheme, size=c["size"], steps=c["steps"],
                              batch_size=c["batch_size"], seed=INIT_SEED,
                              log_every=every(c["steps"], 40), vocab=c["vocab"],
                              checkpoint_dir=str(folder),
                              checkpoint_every=max(1, c["steps"] // 10))
    checkpoint, kept = folder / loop.CHECKPOINT_NAME, folder / CURVE_NAME
    so_far = json.loads(kept.read_text()) if kept.is_file() and checkpoint.is_file() else {}
    start = loop.load_checkpoint(checkpoint)["step"] if so_far else 0
    curve = [p for p in so_far.get("curve", []) if p["step"] <= start]
    t0 = time.perf_counter() - so_far.get("wall_s", 0.0)
    for e in loop.pretrain(model, pcfg, resume=True):
        curve.append({"step": e.step, "loss": e.loss})
        records.write(kept, {"curve": curve, "wall_s": round(time.perf_counter() - t0, 1)})
    return {"curve": curve, "wall_s": round(time.perf_counter() - t0, 1)}


_BODIES: dict[tuple, object] = {}  # (workdir, size, vocab, arm) -> body, per process


def _body(arm: str, c: dict, workdir: str | Path):
    """An arm's starting model: scratch's init, matched (from the English body) or a
    pretrained scheme's last checkpoint; loaded once per process."""
    key = (str(workdir), c["size"], c["vocab"], arm)
    if key not in _BODIES:
        if arm == MATCHED:
            body = mlm.stats_matched(_body("english", c, workdir), seed=INIT_SEED)
        else:
            body = mlm.build_mlm(c["size"], vocab_size=len(tokenizer_for(c["vocab"])),
                                 seed=INIT_SEED)
            if arm != SCRATCH:
                body.load_state_dict(loop.load_checkpoint(
                    Path(workdir) / arm / loop.CHECKPOINT_NAME)["model"])
        _BODIES[key] = body
    return _BODIES[key]


def _cell(key: str, c: dict, workdir: str | Path, lr: float | None = None) -> dict:
    """Runs one cell by its key: probe/<arm>/<seed>, lr/<task>/<arm>/<rate> (at `lr`, that
    rate of the grid) or ft/<task>/<arm>/<seed> (at `lr`, the rate chosen for that task and
    arm)."""
    kind, *rest = key.split("/")
    if kind == "probe":
        arm, seed = rest[0], int(rest[1])
        return _probe_cell(_body(arm, c, workdir), c, seed)
    task, arm, last = rest
    seed = LR_SEED if kind == "lr" else int(last)
    return _finetune_cell(_encoder(_body(arm, c, workdir), arm, seed), c, task, seed, lr)


def _probe_cell(model, c: dict, seed: int) -> dict:
    t0 = time.perf_counter()
    cfg = ProbeConfig(steps=c["probe_steps"], vocab=c["vocab"], seed=seed,
                      eval_every=max(1, c["probe_steps"] // 4))
    curve = [{"step": e.step, "held_out_loss": e.metrics["held_out_loss"]}
             for e in probe(model, cfg) if e.metrics]
    return {"held_out_loss": curve[-1]["held_out_loss"], "curve": curve,
            "wall_s": round(time.perf_counter() - t0, 1)}


def _finetune_cell(encoder, c: dict, task: str, seed: int, lr: float) -> dict:
    t0 = time.perf_counter()
    fcfg = finetune.FinetuneConfig(task=task, steps=c["finetune_steps"], seed=seed, lr=lr,
                                   train_size=c["train_size"],
                                   eval_every=every(c["finetune_steps"], 5))
    curve, test = [], None
    for p in finetune.finetune(encoder, fcfg, tokenizer=tokenizer_for(c["vocab"])):
        if p.dev_accuracy is not None:
            curve.append({"step": p.step, "dev_accuracy": p.dev_accuracy})
        test = p.test_accuracy if p.test_accuracy is not None else test
    return {"test": test, "dev": curve[-1]["dev_accuracy"] if curve else None,
            "dev_auc": area(curve), "curve": curve, "wall_s": round(time.perf_counter() - t0, 1)}


def _encoder(body, arm: str, seed: int):
    """The encoder an arm fine-tunes from; scratch is redrawn per seed, like the lab's."""
    if arm == SCRATCH:
        return finetune.scratch_encoder(body.encoder, seed)
    return body.encoder


class _Here:
    """An executor that runs each job at once, in this process (jobs=1)."""

    def submit(self, fn, *args) -> Future:
        future = Future()
        future.set_result(fn(*args))
        return future

    def shutdown(self, cancel_futures: bool = False) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _executor(jobs: int):
    """jobs=1: this process; else a pool whose workers share the cores (and at most this
    process's thread count each, so a run set to one thread stays one)."""
    import torch

    if jobs <= 1:
        return _Here()
    return ProcessPoolExecutor(jobs, mp_context=get_context("spawn"),
                               initializer=_set_threads,
                               initargs=(max(1, min(torch.get_num_threads(),
                                                    (os.cpu_count() or 1) // jobs)),))


def sweep(*, schemes: tuple[str, ...] = SCHEMES, tasks: tuple[str, ...] = TASKS,
          size: str = "tiny", vocab: str = "lab", steps: int = 800, batch_size: int = 32,
          seeds: int = 5, probe_steps: int = 200, finetune_steps: int = 150,
          train_size: int | None = None, lr_grid: tuple[float, ...] = LR_GRID,
          workdir: str | Path = "bench-results/transfer", progress_path: str | Path | None = None,
          resume: bool = False, on_cell: Callable[[str, dict], None] | None = None,
          jobs: int = 1) -> dict:
    """The reference (see the module docstring); `jobs` processes at once. Returns the run
    record, JSON-ready."""
    if jobs < 1:
        raise InputError(f"jobs must be at least 1, got {jobs}")
    t0 = time.perf_counter()
    config = {"schemes": list(schemes), "tasks": list(tasks), "size": size, "vocab": vocab,
              "steps": steps, "batch_size": batch_size, "seeds": seeds,
              "probe_steps": probe_steps, "finetune_steps": finetune_steps,
              "train_size": train_size, "lr_grid": list(lr_grid), "lr_seed": LR_SEED,
              "init_seed": INIT_SEED, "arms": arms(schemes)}
    progress = records.load_progress(progress_path, config) if resume else {}
    progress["config"] = config
    workdir = Path(workdir)
    for scheme, so_far in progress.pop("partial", {}).items():  # older progress files kept
        kept = workdir / scheme / CURVE_NAME                    # them here: moved beside
        if so_far and not kept.is_file():                       # the checkpoints
            records.write(kept, so_far)
    done = progress.setdefault("pretrain", {})
    cells = progress.setdefault("cells", {})
    chosen = progress.setdefault("lrs", {})

    def log(key, cell):
        _save(progress_path, progress)
        if on_cell:
            on_cell(key, cell)

    def rate_keys(task, arm):
        return [f"lr/{task}/{arm}/{lr:g}" for lr in lr_grid]

    def rate_cells(task, arm) -> list[tuple[str, float]]:
        return list(zip(rate_keys(task, arm), lr_grid))

    def next_cells(key: str) -> list[tuple[str, float | None]]:
        """The cells a finished rate search unlocks: its seeds, at the rate chosen on dev."""
        _, task, arm, _ = key.split("/")
        if any(k not in cells for k in rate_keys(task, arm)):
            return []
        best = max(lr_grid, key=lambda lr: cells[f"lr/{task}/{arm}/{lr:g}"]["dev_auc"])
        chosen.setdefault(task, {})[arm] = best
        return [(f"ft/{task}/{arm}/{seed}", best) for seed in range(seeds)]

    _BODIES.clear()  # checkpoints may have changed since another sweep in this process
    with _executor(jobs) as pool:
        running: dict[Future, str] = {}

        def pretrained(future: Future) -> None:
            scheme = running.pop(future)
            done[scheme] = future.result()
            log(f"pretrain {scheme}", done[scheme])

        reused = [s for s in schemes if s in done]
        for scheme in schemes:
            if scheme not in done:
                future = pool.submit(_train_scheme, scheme, config, workdir)
                running[future] = scheme
                if future.done():  # run here, at once: saved before the next starts
                    pretrained(future)
        for future in as_completed(list(running)):
            pretrained(future)
        for scheme in reused:
            if on_cell:
                on_cell(f"pretrain {scheme}", done[scheme])

        def finished(future: Future) -> None:
            key = running.pop(future)
            cells[key] = future.result()
            log(key, {k: v for k, v in cells[key].items()
                      if k in ("held_out_loss", "dev_auc", "test")})
            if key.startswith("lr/"):
                todo.extend(next_cells(key))

        todo = [(f"probe/{arm}/{seed}", None) for arm in config["arms"] for seed in range(seeds)]
        for task in tasks:
            for arm in config["arms"]:
                todo += rate_cells(task, arm)
                todo += next_cells(rate_keys(task, arm)[0])  # searched already (a resume)
        try:
            while todo or running:
                while todo:
                    key, lr = todo.pop(0)
                    if key in cells or key in running.values():
                        continue
                    future = pool.submit(_cell, key, config, workdir, lr)
                    running[future] = key
                    if future.done():
                        finished(future)
                if running:
                    for future in wait(list(running), return_when=FIRST_COMPLETED)[0]:
                        finished(future)
        except BaseException:  # a failed cell (or Ctrl-C): the queued ones are not run
            pool.shutdown(cancel_futures=True)
            raise
    _save(progress_path, progress)
    record = records.new_record(config)
    record.update(aggregate(progress))
    return records.finish(record, t0)


def _order(names: list[str], name: str) -> int:
    return names.index(name) if name in names else len(names)


def aggregate(progress: dict) -> dict:
    """Progress -> {"pretrain", "probe", "finetune", "lrs", "lr_search"}: per arm summaries
    (mean, 95% interval, per seed) and paired differences against scratch."""
    c, cells = progress["config"], progress.get("cells", {})
    seeds = range(c["seeds"])

    def per_seed(prefix: str, arm: str, field: str) -> dict[int, float]:
        return {s: cells[f"{prefix}/{arm}/{s}"][field] for s in seeds
                if f"{prefix}/{arm}/{s}" in cells}

    probe_out = {}
    base = per_seed("probe", SCRATCH, "held_out_loss")
    for arm in c["arms"]:
        vals = per_seed("probe", arm, "held_out_loss")
        if vals:  # lower is better: the gain is scratch minus the arm
            probe_out[arm] = dict(summary(vals.values()),
                                  gain=paired_difference(base, vals) if arm != SCRATCH else None,
                                  curve=cells[f"probe/{arm}/0"]["curve"] if 0 in vals else [])
    ft_out = {}
    for task in c["tasks"]:
        base = per_seed(f"ft/{task}", SCRATCH, "test")
        for arm in c["arms"]:
            vals = per_seed(f"ft/{task}", arm, "test")
            if vals:
                ft_out.setdefault(task, {})[arm] = dict(
                    summary(vals.values()), lr=progress.get("lrs", {}).get(task, {}).get(arm),
                    gain=paired_difference(vals, base) if arm != SCRATCH else None)
    search = {k.removeprefix("lr/"): v["dev_auc"] for k, v in cells.items()
              if k.startswith("lr/")}
    pretrain = {}
    done = progress.get("pretrain", {})
    for scheme, p in sorted(done.items(), key=lambda kv: _order(c["schemes"], kv[0])):
        # floors: core.pretrain.floors
        floor = floors.mlm_floor(scheme, c["vocab"])
        context = fake_data.has_context(scheme)  # i.i.d. streams have nothing to learn
        pretrain[scheme] = dict(
            {k: v for k, v in p.items() if k not in ("floor", "learned", "context")},
            floor=round(floor, 4), context=context,
            learned=floors.reached([q["loss"] for q in p["curve"]], floor) if context else None)
    # The sweep's compute: every pretraining and every cell (they may have run in several
    # processes and sessions, so the record's own wall_s says little).
    compute = (sum(p.get("wall_s", 0.0) for p in progress.get("pretrain", {}).values())
               + sum(v.get("wall_s", 0.0) for v in cells.values()))
    return {"pretrain": pretrain, "probe": probe_out, "finetune": ft_out,
            "lrs": progress.get("lrs", {}), "lr_search": search,
            "compute_s": round(compute, 1)}
