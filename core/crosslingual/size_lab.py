"""Pretrain one of the corpus-size models live: the committed reference's setting
(core.crosslingual.sizes; languages, vocabulary, model, batch, rate, packing) at a corpus size
and a number of steps a visitor picks, its dev alignment probed along the way and its test
alignment at the end — the point a user adds to the reference's curve.

    cfg = live_config(load_sizes(), per_language=1_000, steps=400, seed=0)
    for state in run(cfg, budget_s=600):      # refused up front past the budget
        print(state.phase, state.done_steps, state.curve[-1:] , state.test)

A live run is shorter than the reference's (its warm-up and decay fit its own steps), so its
probe curve is compared with the reference's at the same steps, not its end point.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import torch

from core.common.device import pick_device
from core.common.errors import InputError
from core.common.timing import check_budget
from core.crosslingual import bible, xlm
from core.crosslingual.sizes import LIVE_MAX_STEPS as MAX_STEPS
from core.crosslingual.sizes import LIVE_STEPS as DEFAULT_STEPS
from core.crosslingual.sizes import MEASURES

PROBES = 6  # dev probes along a live run
PROBE_VERSES = xlm.PROBE_VERSES  # dev verses per probe, as the reference's (comparable)
TEST_VERSES = xlm.EVAL_VERSES  # as the reference: its test point is comparable
MEASURED_STEPS = 2  # timed after one warm-up step
FORWARD_SHARE = 1 / 3  # a forward pass costs about a third of a training step
START_S = 3.0  # tokenizer, streams and the model, before the first step
# The setting when no reference is committed (the sweep's defaults with verse packing).
FALLBACK = xlm.XlingConfig(languages=("en", "de", "ru"), vocab_size=8_000)
SETTING = ("vocab_size", "size", "batch_size", "line_length", "lr", "packing")


def live_config(record: dict | None, *, per_language: int, steps: int = DEFAULT_STEPS,
                seed: int = 0) -> xlm.XlingConfig:
    """The reference's setting (its languages, vocabulary, model, batch, rate and packing) at
    `per_language` verses (0 = all) and `steps`.

    Raises:
        InputError: steps or verses out of range.
    """
    if not 1 <= int(steps) <= MAX_STEPS:
        raise InputError(f"steps must be between 1 and {MAX_STEPS}, got {steps}")
    base = FALLBACK
    if record:
        c = record["config"]
        base = replace(FALLBACK, languages=tuple(c["languages"]),
                       **{k: c[k] for k in SETTING if k in c and k != "packing"},
                       packing=c.get("packing", "stream"))  # records before packing: stream
    available = len(bible.split_ids("train", base.languages))
    if not 0 <= int(per_language) <= available:
        raise InputError(f"verses per language must be between 0 (all) and {available:,}, "
                         f"got {int(per_language):,}")
    return replace(base, per_language=int(per_language), steps=int(steps), seed=int(seed),
                   warmup_steps=None, log_every=max(1, int(steps) // 50))


def step_seconds(cfg: xlm.XlingConfig, device_type: str) -> float:
    """Measured wall seconds of one pretraining step of cfg's model and batch on this machine
    (once per model, batch and corpus size, whatever the run's steps or seed: ~3 steps)."""
    return _step_seconds(replace(cfg, steps=MEASURED_STEPS + 1, log_every=1, warmup_steps=1,
                                 seed=0, checkpoint_dir=None), device_type)


@functools.lru_cache(maxsize=4)
def _step_seconds(probe: xlm.XlingConfig, device_type: str) -> float:
    model, tok = xlm.build(probe)
    stamps = [time.perf_counter() for _ in xlm.pretrain(model, tok, probe)]
    return (stamps[-1] - stamps[0]) / MEASURED_STEPS


def estimate_s(cfg: xlm.XlingConfig, s_per_step: float,
               probe_verses: int = PROBE_VERSES, test_verses: int = TEST_VERSES) -> float:
    """Wall seconds of a live run: its steps, its probes and the test pass (a probe or test
    reads every language's verses once, forward only)."""
    s_per_line = s_per_step / cfg.batch_size * FORWARD_SHARE
    probes = cfg.steps // eval_every(cfg.steps)
    reads = (probes * probe_verses + test_verses) * len(cfg.languages)
    return START_S + cfg.steps * s_per_step + reads * s_per_line


@dataclass
class SizeRun:
    """A live run as it goes (yielded again and again by `run`)."""

    config: xlm.XlingConfig
    phase: str = "starting"
    done_steps: int = 0
    elapsed_s: float = 0.0
    curve: list[dict] = field(default_factory=list)  # {step, loss[, layer, measures]}
    test: dict | None = None  # at the last probe's layer: measures, language ARI, pairs
    tokens: dict[str, int] = field(default_factory=dict)  # pretraining ids per language

    def metrics(self) -> dict:
        """JSON-ready: the run's setting, curve, test scores and time."""
        return {"config": {k: getattr(self.config, k) for k in
                           ("languages", "per_language", "steps", "seed", *SETTING)},
                "curve": self.curve, "test": self.test, "tokens": self.tokens,
                "done_steps": self.done_steps, "elapsed_s": round(self.elapsed_s, 1)}


def eval_every(steps: int) -> int:
    """Steps between a live run's dev probes (PROBES of them, or one a step if fewer)."""
    return max(1, steps // PROBES)


def verses_of(record: dict | None) -> dict[str, int]:
    """The dev verses the reference's probes read and the held-out verses it is tested on,
    as `run` and `estimate_s` take them (a live run reads as many)."""
    c = (record or {}).get("config") or {}
    return {"probe_verses": int(c.get("probe_verses") or PROBE_VERSES),
            "test_verses": int(c.get("test_verses") or TEST_VERSES)}


def run(cfg: xlm.XlingConfig, *, budget_s: float | None = None,
        probe_verses: int = PROBE_VERSES, test_verses: int = TEST_VERSES
        ) -> Iterator[SizeRun]:
    """Pretrains cfg's model, yielding its state after every logged step and probe, then
    its test alignment (closing the generator stops it).

    Raises:
        InputError: a run estimated (from a step measured here) past `budget_s`.
    """
    device = pick_device()
    if budget_s is not None:
        estimate = estimate_s(cfg, step_seconds(cfg, device.type), probe_verses, test_verses)
        check_budget(estimate, budget_s, device=device.type, advice=(
            "Use fewer steps, or the command line (python -m core xling-size-sweep)."))
    t0 = time.perf_counter()
    state = SizeRun(cfg, phase="pretraining")
    model, tok = xlm.build(cfg)
    state.tokens = xlm.corpus_tokens(cfg)
    probe = xlm.alignment_probe(tok, cfg.languages, n_verses=probe_verses)
    for event in xlm.pretrain(model, tok, cfg, device=device, evaluate=probe,
                              eval_every=eval_every(cfg.steps)):
        state.curve.append({"step": event.step, "loss": event.loss, **(event.metrics or {})})
        state.done_steps = event.step
        state.elapsed_s = time.perf_counter() - t0
        yield state
    state.phase = "testing on held-out verses"
    yield state
    layer = int(next(p["layer"] for p in reversed(state.curve) if "layer" in p))
    with torch.no_grad():
        rows = xlm.alignment(model, tok, cfg.languages, n_verses=test_verses)
    at = rows[layer]
    state.test = {"layer": layer, **{m: at[m] for m in MEASURES},
                  "language_ari": at["language_ari"], "pairs": at["pairs"]}
    state.phase = "done"
    state.elapsed_s = time.perf_counter() - t0
    yield state
