"""`python -m core dna-sweep`: the DNA reference run (assets/dna/reference.json).

Two phases, both paired by seed (within a seed every start sees the same subsample, batch
order, head init and evaluation sets):
  1. learning rate per start, chosen on dev: splice at LR_SEARCH_SIZE sequences, every rate
     of the start's grid over LR_SEARCH_SEEDS seeds (their own seeds, not the main ones), the
     rate with the best mean dev area under the curve wins;
  2. every task x training size x seed with the chosen rates, full dev curves.
Each (task, size, seed) cell is saved to a progress file as soon as it ends, so an
interrupted sweep resumes where it stopped (`--resume`) and gives the same record.

The record (core.common.records): {"config", "machine", "started", "lr_search", "datasets",
"wall_s"}; datasets[task] is the metrics + curves at the task's default size (what the tab
draws), and datasets[task]["by_size"][size] the metrics at every size (the data-size curve).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from core.common import curves as curve_measures
from core.common import records
from core.common.stats import summary
from core.dna.data import DATASETS, load_dataset
from core.dna.encode import INITS
from core.dna.lab import DnaRunConfig, run, summarise
from core.text.models import default_model

# Rates tried per start: BERT fine-tuning rates for a pretrained body, larger ones for a
# random one (the grids overlap at 1e-4 to 1e-3 so either may win). Each grid reaches one
# step past the rate a 3-layer body chose from the earlier 3-point grids (the top of both).
LR_GRID = {"pretrained": (3e-5, 1e-4, 3e-4, 1e-3), "random": (1e-4, 3e-4, 1e-3, 3e-3)}
LR_SEARCH_TASK = "splice"
LR_SEARCH_SIZE = 400  # training sequences in the rate search
LR_SEARCH_SEEDS = (100, 101)  # disjoint from the main seeds (0, 1, ...)
# Training sequences per run and task (0 = the whole training split): the data-size curve on
# splice, the shown size and all on coding; promoters has 85 sequences (about 2.8 CPU-hours
# in all on 2 cores with the full body).
TASK_SIZES = {"splice": (400, 100, 0), "promoters": (0,), "coding": (100, 0)}
# Controls run at each task's default size only, with the rate of the start they control
# (re-emb is the pretrained body with fresh word embeddings: pretrained's rate).
CONTROLS = {"re-emb": "pretrained"}
# What the tab shows per task (and where the controls run). Splice at 400 sequences: the size
# where pilots (3 paired seeds, 300 updates) saw the pretrained start ahead early on.
DEFAULT_SIZES = {"splice": 400, "promoters": 0, "coding": 100}


def _cell_key(task: str, size: int, seed: int) -> str:
    return f"{task}/{size}/{seed}"


def _train_cell(task: str, size: int, seed: int, lrs: dict[str, float], *, inits, steps,
                eval_every, layers, k, model, batch_size=DnaRunConfig.batch_size) -> dict:
    """One seed of every start on one task and size: {"test", "curves"} (plain numbers)."""
    cfg = DnaRunConfig(dataset=task, inits=tuple(inits), steps=steps, seeds=1, seed=seed,
                       train_size=size or None, k=k, lrs=tuple(lrs.items()), layers=layers,
                       eval_every=eval_every, model=model, batch_size=batch_size,
                       schedule_steps=None)  # each cell is a whole run
    state = None
    t0 = time.perf_counter()
    for state in run(cfg):
        pass
    return {"test": {i: v[seed] for i, v in state.test.items()}, "curves": state.curves,
            "wall_s": round(time.perf_counter() - t0, 1)}


def _finished(per_task: dict, config: dict, cells: dict, seeds: int) -> tuple[dict, dict]:
    """The tasks and sizes whose every seed is in `cells`, and the config reporting them."""
    done = {t: tuple(s for s in _sizes_of(t, sizes)
                     if all(_cell_key(t, s, seed) in cells for seed in range(seeds)))
            for t, sizes in per_task.items()}
    done = {t: s for t, s in done.items() if s}
    if not done:
        raise ValueError(f"no task has a size with all {seeds} seeds finished yet")
    planned = config["sizes"]
    config = dict(config, datasets=list(done), sizes={t: list(s) for t, s in done.items()},
                  default_sizes={t: config["default_sizes"][t] for t in done},
                  planned_sizes=planned)
    return done, config


def _sizes_of(task: str, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Sizes that make sense for a task: those below its training split, then 0 (all)."""
    n = len(load_dataset(task).train)
    return tuple(dict.fromkeys(s if 0 < s < n else 0 for s in sizes))


def _aggregate(cells: dict[str, dict], task: str, size: int, seeds, lrs, steps) -> dict:
    test: dict[str, dict[int, float]] = {}
    curves: dict[str, list[dict]] = {}
    for seed in seeds:
        cell = cells[_cell_key(task, size, seed)]
        for init, acc in cell["test"].items():
            test.setdefault(init, {})[seed] = acc
        curves.update(cell["curves"])
    return dict(summarise(test, curves, lrs, steps=steps), curves=curves)


def sweep(*, datasets: tuple[str, ...] = DATASETS, inits: tuple[str, ...] = INITS,
          sizes: tuple[int, ...] | dict[str, tuple[int, ...]] = TASK_SIZES, steps: int = 200,
          seeds: int = 5,
          eval_every: int = 25, layers: int | None = None, k: int = 1,
          batch_size: int = DnaRunConfig.batch_size,
          lrs: dict[str, float] | None = None, lr_note: str = "",
          model: str | None = None, progress_path: str | Path | None = None,
          resume: bool = False, report_only: bool = False,
          on_cell: Callable[[str, dict], None] | None = None) -> dict:
    """The reference run (see the module docstring).

    Args:
        sizes: training sequences per run (0 = all), for every task or per task ({task:
            sizes}); promoters (85 training sequences) runs at its full size, one
            cross-validation fold per seed.
        layers: keep the English model's first N layers for every start (None = all).
        batch_size: sequences per update.
        lrs: per-start rates to use instead of searching them on dev.
        lr_note: where given rates come from (recorded in the config; the tab shows it).
        progress_path: JSON file holding every finished cell (and the rate search).
        resume: reuse the cells already in progress_path (same settings required).
        report_only: train nothing: the record of the sizes whose every seed is finished in
            progress_path (an interrupted sweep's results so far; the record's config names
            those sizes, so its command reproduces them, and "planned_sizes" the rest).
        on_cell: called with (cell key, cell) after each cell is trained (logging).
    Returns:
        The run record, JSON-ready.
    """
    t0 = time.perf_counter()
    model = model or default_model("english")
    per_task = {t: tuple(sizes.get(t, (0,)) if isinstance(sizes, dict) else sizes)
                for t in datasets}
    config = {"datasets": list(datasets), "inits": list(inits),
              "sizes": ({t: list(s) for t, s in per_task.items()} if isinstance(sizes, dict)
                        else list(sizes)),
              "steps": steps, "seeds": seeds, "eval_every": eval_every, "layers": layers,
              "k": k, "batch_size": batch_size, "model": model,
              "lr_grid": ({i: list(LR_GRID[i]) for i in inits if i not in CONTROLS}
                          if lrs is None else None),
              **({"lr_note": lr_note} if lr_note else {}),
              "controls": {c: of for c, of in CONTROLS.items() if c in inits},
              "lr_search": {"task": LR_SEARCH_TASK, "size": LR_SEARCH_SIZE,
                            "seeds": list(LR_SEARCH_SEEDS)} if lrs is None else None,
              "default_sizes": {t: DEFAULT_SIZES.get(t, 0) for t in datasets}}
    progress = records.load_progress(progress_path, config) if resume or report_only else {}
    progress.setdefault("config", config)
    progress.setdefault("started", records.started_now())
    cells = progress.setdefault("cells", {})
    if report_only:
        per_task, config = _finished(per_task, config, cells, seeds)
        datasets = tuple(per_task)

    def save():
        if progress_path:
            records.write(progress_path, progress)

    common = dict(steps=steps, eval_every=eval_every, layers=layers, k=k, model=model,
                  batch_size=batch_size)
    searched = [i for i in inits if i not in CONTROLS]
    if lrs is None:
        search = progress.setdefault("lr_search", {})
        for init in searched:
            for lr in LR_GRID[init]:
                for seed in LR_SEARCH_SEEDS:
                    key = f"{init}/{lr:g}/{seed}"
                    if key not in search and report_only:
                        raise ValueError("the rate search is not finished; resume the sweep")
                    if key not in search:
                        cell = _train_cell(LR_SEARCH_TASK, LR_SEARCH_SIZE, seed, {init: lr},
                                           inits=(init,), **common)
                        search[key] = curve_measures.area(cell["curves"][f"{init}/{seed}"])
                        save()
                        if on_cell:
                            on_cell(f"lr {key}", {"dev_auc": search[key]})
        lrs = choose_lrs(search, searched)
    lrs = dict(lrs)
    for control, of in CONTROLS.items():
        if control in inits and control not in lrs and of in lrs:
            lrs[control] = lrs[of]
    record = records.new_record(dict(config, lrs=lrs))
    record["lr_search"] = lr_table(progress.get("lr_search", {}), inits)
    record["datasets"] = {}
    for task in datasets:
        task_sizes = _sizes_of(task, per_task[task])
        preferred = _sizes_of(task, (DEFAULT_SIZES.get(task, 0),))[0]
        default = preferred if preferred in task_sizes else task_sizes[0]
        for size in task_sizes:
            cell_inits = tuple(i for i in inits if i not in CONTROLS or size == default)
            for seed in range(seeds):
                key = _cell_key(task, size, seed)
                if key not in cells:
                    cells[key] = _train_cell(task, size, seed, lrs, inits=cell_inits,
                                             **common)
                    save()
                    if on_cell:
                        on_cell(key, cells[key])
        by_size = {str(size): _aggregate(cells, task, size, range(seeds), lrs, steps)
                   for size in task_sizes}
        entry = dict(by_size[str(default)], size=int(default))
        entry["by_size"] = {s: {k: v for k, v in m.items() if k != "curves"}
                            for s, m in by_size.items()}
        record["datasets"][task] = entry
    record["started"] = progress["started"]
    record = records.finish(record, t0)
    walls = [cells[_cell_key(t, size, seed)].get("wall_s") for t in datasets
             for size in _sizes_of(t, per_task[t]) for seed in range(seeds)]
    if all(w is not None for w in walls) and (report_only or resume):
        record["wall_s"] = round(sum(walls), 1)  # the cells' own time, over every session
    return record


def choose_lrs(search: dict[str, float], inits) -> dict[str, float]:
    """The rate with the best mean dev area under the curve, per start.

    Args:
        search: "init/lr/seed" -> dev area under the curve.
    """
    table = lr_table(search, inits)
    return {init: float(max(rows, key=lambda lr: rows[lr]["mean"]))
            for init, rows in table.items() if rows}


def lr_table(search: dict[str, float], inits) -> dict[str, dict[str, dict]]:
    """init -> lr (as text) -> summary of the dev area under the curve over the search seeds."""
    table: dict[str, dict[str, list[float]]] = {}
    for key, value in search.items():
        init, lr, _seed = key.split("/")
        if init in inits and value is not None:
            table.setdefault(init, {}).setdefault(lr, []).append(value)
    return {init: {lr: summary(v) for lr, v in rows.items()} for init, rows in table.items()}
