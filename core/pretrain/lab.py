"""The fake-data experiment as a generator (Chiang & Lee, AAAI 2022).

For every chosen scheme: pretrain a small BERT with masked-language modelling on that scheme's
artificial token streams, then fine-tune it on a real English task; `scratch` (no pretraining)
is always run as the baseline, and `english` (real text) is the upper bound. The result is each
scheme's test accuracy and its gain over scratch; core.pretrain.view draws it beside the
paper's Table 1.

    cfg = PretrainRunConfig(schemes=("flat-128", "shuffle-64"), size="tiny", steps=300)
    for state in run(cfg):        # live: MLM curves, then fine-tuning progress
        draw(state)
    state.metrics()               # {"runs": {scheme: {"mlm_loss": [...], "test_accuracy": ...}}}
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

from core.common import timing
from core.common.device import pick_device
from core.common.errors import InputError
from core.common.stats import mean_ci95
from core.common.training import every
from core.pretrain import fake_data, floors, mlm
from core.pretrain.config import (  # noqa: F401 - the settings are part of this API
    DEFAULT_BATCH,
    DEFAULT_SCHEMES,
    ENGLISH,
    FINETUNE_STEP_S,
    MAX_STEPS,
    REFERENCE_PATH,
    SCRATCH,
    STEP_S,
    TRANSFER_PATH,
    UI_BUDGET_S,
    PretrainRunConfig,
    load_reference,
    load_transfer,
)
from core.pretrain.data import LINE_LENGTH, VOCABS, line_source, tokenizer_for
from core.pretrain.loop import pretrain
from core.text import finetune
from core.text.tasks import ALL_TASKS


@dataclass
class PretrainState:
    """Everything the UI draws, updated as the runs go."""

    config: PretrainRunConfig
    mlm: dict[str, list[dict]] = field(default_factory=dict)  # scheme -> [{step, loss}]
    finetune: dict[str, list[dict]] = field(default_factory=dict)  # "scheme/seed" -> points
    test: dict[str, list[float]] = field(default_factory=dict)  # scheme -> per-seed accuracy
    floors: dict[str, float] = field(default_factory=dict)  # scheme -> no-structure MLM loss
    phase: str = ""  # what runs now, for the progress bar
    done_steps: int = 0
    total_steps: int = 0
    elapsed_s: float = 0.0

    def metrics(self) -> dict:
        """JSON-ready results so far.

        Returns:
            {"runs": {scheme: {mlm_loss, mlm_steps, floor (the stream's unigram entropy)
            and learned (the run ended clearly below it), and once tested: test_accuracy, ci95,
            per_seed, gain_over_scratch}}, "config": the PretrainRunConfig, "elapsed_s"}.
        """
        runs = {}
        base = self.test.get(SCRATCH)
        for scheme in all_runs(self.config):
            entry: dict = {"mlm_loss": [p["loss"] for p in self.mlm.get(scheme, [])],
                           "mlm_steps": [p["step"] for p in self.mlm.get(scheme, [])]}
            if scheme in self.floors:  # see core.pretrain.floors
                entry["floor"] = self.floors[scheme]
                entry["learned"] = floors.reached(entry["mlm_loss"], self.floors[scheme])
            accs = self.test.get(scheme)
            if accs:
                mean, half = mean_ci95(accs)
                entry.update(test_accuracy=float(mean),
                             ci95=None if half != half else float(half),
                             per_seed=[float(a) for a in accs])
                if base and scheme != SCRATCH:
                    entry["gain_over_scratch"] = float(mean - np.mean(base))
            runs[scheme] = entry
        return {"runs": runs, "config": asdict(self.config), "elapsed_s": round(self.elapsed_s, 1)}


def all_runs(cfg: PretrainRunConfig) -> list[str]:
    """The schemes in the order they run: the chosen ones, then scratch."""
    return [s for s in cfg.schemes if s != SCRATCH] + [SCRATCH]


def estimate_s(cfg: PretrainRunConfig, device_type: str) -> float | None:
    """Rough wall seconds of a run on this kind of device; None if the size is not measured."""
    key = (device_type, cfg.size)
    if key not in STEP_S:
        return None
    n_pre = len(all_runs(cfg)) - 1
    scale = cfg.batch_size / DEFAULT_BATCH
    return (n_pre * cfg.steps * STEP_S[key] * scale
            + (n_pre + 1) * cfg.seeds * cfg.finetune_steps * FINETUNE_STEP_S[key])


def check_config(cfg: PretrainRunConfig, *, budget_s: float | None = None) -> None:
    """Raises InputError for bad settings; with `budget_s`, also for runs too long for the UI."""
    names = [s for s in cfg.schemes if s != SCRATCH]
    if not names and SCRATCH not in cfg.schemes:
        raise InputError("choose at least one scheme (scratch, the baseline, always runs)")
    for name in names:
        if name != ENGLISH:
            fake_data.about(name)  # raises for an unknown or badly parametrised name
    if len(set(cfg.schemes)) != len(cfg.schemes):
        raise InputError("each scheme may be chosen once")
    if cfg.vocab not in VOCABS:
        raise InputError(f"unknown vocabulary {cfg.vocab!r}; choose one of {', '.join(VOCABS)}")
    if cfg.task not in ALL_TASKS:
        raise InputError(f"unknown text task {cfg.task!r}; "
                         f"choose one of {', '.join(ALL_TASKS)}")
    if cfg.size not in mlm.SIZES:
        raise InputError(f"unknown size {cfg.size!r}; choose one of {', '.join(mlm.SIZES)}")
    if cfg.arch not in mlm.ARCHS:
        raise InputError(f"unknown architecture {cfg.arch!r}; choose one of "
                         f"{', '.join(mlm.ARCHS)}")
    for what, value, lo in (("steps", cfg.steps, 1), ("finetune_steps", cfg.finetune_steps, 1),
                            ("seeds", cfg.seeds, 1), ("batch_size", cfg.batch_size, 2)):
        if not lo <= value <= MAX_STEPS:
            raise InputError(f"{what} must be between {lo} and {MAX_STEPS}, got {value}")
    if cfg.train_size is not None and cfg.train_size < 16:
        raise InputError(f"train_size must be at least 16, got {cfg.train_size}")
    if budget_s is not None:
        dev = pick_device().type
        est = estimate_s(cfg, dev)
        if est is None:
            raise InputError(f"size {cfg.size!r} is too big for this {dev.upper()} in the web "
                             f"UI; run it from the command line: python -m core pretrain-sweep "
                             f"--size {cfg.size}")
        timing.check_budget(est, budget_s, device=dev, advice=(
            "Use fewer schemes, steps or seeds, a smaller size, or the command line "
            "(python -m core pretrain-sweep)."))


def samples(scheme: str, n: int = 3, seed: int = 0, length: int = LINE_LENGTH,
            vocab: str = "bert") -> tuple[list[list[int]], str]:
    """n lines of a scheme (token ids) and a readable rendering (one line per sample).

    Raises:
        KeyError / InputError: unknown or badly parametrised scheme; `scratch` has no data.
    """
    if scheme == SCRATCH:
        raise InputError("scratch means no pretraining: it has no data to show")
    if not 1 <= n <= 32:
        raise InputError(f"n must be between 1 and 32, got {n}")
    tok = tokenizer_for(vocab)
    lines = line_source(scheme, tok, length=length)(n, np.random.default_rng(seed))
    ids = [[int(i) for i in line] for line in lines]
    return ids, "\n\n".join(fake_data.render(line, tok) for line in ids)


def _finetune_one(state: PretrainState, scheme: str, encoder, t0: float) -> Iterator[None]:
    cfg = state.config
    tok = tokenizer_for(cfg.vocab)
    for r in range(cfg.seeds):
        seed = cfg.seed + r
        enc = finetune.scratch_encoder(encoder, seed) if scheme == SCRATCH else encoder
        fcfg = finetune.FinetuneConfig(task=cfg.task, steps=cfg.finetune_steps, seed=seed,
                                       train_size=cfg.train_size,
                                       eval_every=every(cfg.finetune_steps, 5))
        curve = state.finetune.setdefault(f"{scheme}/{seed}", [])
        state.phase = f"fine-tuning {scheme} (seed {seed})"
        last = 0
        for p in finetune.finetune(enc, fcfg, tokenizer=tok):
            point = {"step": p.step, "loss": p.loss}
            if p.dev_accuracy is not None:
                point["dev_accuracy"] = p.dev_accuracy
            curve.append(point)
            state.done_steps += p.step - last
            last = p.step
            state.elapsed_s = time.perf_counter() - t0
            if p.test_accuracy is not None:
                state.test.setdefault(scheme, []).append(float(p.test_accuracy))
            yield


def run(cfg: PretrainRunConfig, *, budget_s: float | None = None) -> Iterator[PretrainState]:
    """Pretrains each scheme, fine-tunes it (and scratch) on the task; yields live state.

    Args:
        budget_s: refuse runs estimated to take longer (the web UI passes UI_BUDGET_S).
    Raises:
        InputError / KeyError: bad settings (see check_config).
    """
    check_config(cfg, budget_s=budget_s)
    tok = tokenizer_for(cfg.vocab)
    runs = all_runs(cfg)
    state = PretrainState(cfg, total_steps=(len(runs) - 1) * cfg.steps
                          + len(runs) * cfg.seeds * cfg.finetune_steps)
    t0 = time.perf_counter()
    state.floors = floors.floors(runs, cfg.vocab)
    like = None
    for scheme in runs:
        if scheme == SCRATCH:
            if like is None:
                like = mlm.build_mlm(cfg.size, cfg.arch, vocab_size=len(tok),
                                     seed=cfg.seed).encoder
            for _ in _finetune_one(state, scheme, like, t0):
                yield state
            continue
        model = mlm.build_mlm(cfg.size, cfg.arch, vocab_size=len(tok), seed=cfg.seed)
        pcfg = mlm.PretrainConfig(scheme=scheme, size=cfg.size, arch=cfg.arch,
                                  steps=cfg.steps, batch_size=cfg.batch_size,
                                  seed=cfg.seed, log_every=every(cfg.steps), vocab=cfg.vocab)
        curve = state.mlm.setdefault(scheme, [])
        state.phase = f"pretraining on {scheme}"
        last = 0
        for event in pretrain(model, pcfg):
            curve.append({"step": event.step, "loss": event.loss})
            state.done_steps += event.step - last
            last = event.step
            state.elapsed_s = time.perf_counter() - t0
            yield state
        like = model.encoder
        for _ in _finetune_one(state, scheme, model.encoder, t0):
            yield state
        del model
    state.phase = "done"
    state.elapsed_s = time.perf_counter() - t0
    yield state
