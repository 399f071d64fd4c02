"""Pretrained bodies the lab ships, and the probe run on them (the tab's fast measure).

The transfer reference (python -m core transfer-sweep) pretrains one small model per scheme;
`ship` copies them into assets/pretrain/bodies/ (float16 safetensors, each well under 10 MB,
with their sha256 and the settings in bodies.json), so a user can probe them in minutes
without pretraining anything. Two arms are rebuilt, not shipped: scratch (the initial weights
every scheme started from, drawn from the sweep's init seed) and matched (the English body's
per-tensor statistics, redrawn; core.pretrain.mlm.stats_matched).

    for state in probe_run(ProbeRunConfig(arms=("english", "flat-2"), steps=200)):
        state.curves        # arm -> [{step, held_out_loss}]
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.common import timing
from core.common.device import pick_device
from core.common.errors import InputError
from core.pretrain import loop, mlm
from core.pretrain.config import (  # noqa: F401 - the settings are part of this API
    BODIES_DIR,
    MATCHED,
    MAX_PROBE_STEPS,
    META,
    PROBE_STEP_S,
    SCRATCH,
    ProbeRunConfig,
    arms_available,
    bodies_folder,
    shipped,
)
from core.pretrain.data import tokenizer_for
from core.pretrain.probe import ProbeConfig, probe


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ship(workdir, schemes, config: dict, folder=None) -> dict:
    """Copies each scheme's pretrained weights from a transfer sweep's work folder
    (<workdir>/<scheme>/last.pt) into `folder` as float16 safetensors; writes bodies.json.

    Args:
        config: the sweep's config (size, vocab, steps, batch_size, init_seed are kept).
    Returns:
        The metadata written.
    """
    from safetensors.torch import save_file

    folder = bodies_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {k: config[k] for k in ("size", "vocab", "steps", "batch_size", "init_seed")}
    meta["schemes"] = {}
    for scheme in schemes:
        state = loop.load_checkpoint(Path(workdir) / scheme / loop.CHECKPOINT_NAME)["model"]
        path = folder / f"{scheme}.safetensors"
        save_file({k: v.half().contiguous() for k, v in state.items()
                   if k != "head.decoder.weight"}, str(path))  # tied to the word embeddings
        meta["schemes"][scheme] = {"file": path.name, "bytes": path.stat().st_size,
                                   "sha256": _sha256(path)}
    (folder / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def load_body(arm: str, folder=None) -> mlm.MaskedLM:
    """The body of an arm (float32, eval mode).

    Raises:
        InputError: no shipped bodies, or an arm that is not among them.
    """
    from safetensors.torch import load_file

    meta = shipped(folder)
    if meta is None:
        raise InputError("no pretrained bodies are shipped; make them with `python -m core "
                         "transfer-sweep` and its --ship option")
    if arm not in arms_available(folder):
        raise InputError(f"unknown arm {arm!r}; choose from {', '.join(arms_available(folder))}")
    model = mlm.build_mlm(meta["size"], vocab_size=len(tokenizer_for(meta["vocab"])),
                          seed=meta["init_seed"])
    if arm == SCRATCH:
        return model.eval()
    if arm == MATCHED:
        return mlm.stats_matched(load_body("english", folder), seed=meta["init_seed"]).eval()
    tensors = load_file(str(bodies_folder(folder) / meta["schemes"][arm]["file"]))
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in tensors.items()},
                                                strict=False)
    if unexpected or [k for k in missing if k != "head.decoder.weight"]:
        raise InputError(f"{arm}: the shipped weights do not fit a {meta['size']} model")
    return model.eval()


@dataclass
class ProbeState:
    config: ProbeRunConfig
    curves: dict[str, list[dict]] = field(default_factory=dict)  # arm -> [{step, loss}]
    phase: str = ""
    done_steps: int = 0
    total_steps: int = 0
    elapsed_s: float = 0.0

    def metrics(self) -> dict:
        """{"runs": arm -> {"held_out_loss" (last), "gain" (scratch minus arm, when scratch
        ran)}, "config", "elapsed_s"}."""
        last = {a: c[-1]["held_out_loss"] for a, c in self.curves.items() if c}
        base = last.get(SCRATCH) if len(self.curves.get(SCRATCH, [])) else None
        runs = {a: {"held_out_loss": v, "gain": (base - v) if base is not None else None}
                for a, v in last.items()}
        return {"runs": runs, "config": asdict(self.config),
                "elapsed_s": round(self.elapsed_s, 1)}


def estimate_s(cfg: ProbeRunConfig, device_type: str) -> float:
    return len(cfg.arms) * cfg.steps * PROBE_STEP_S.get(device_type, PROBE_STEP_S["cpu"])


def probe_run(cfg: ProbeRunConfig, *, budget_s: float | None = None, folder=None
              ) -> Iterator[ProbeState]:
    """Probes each arm's shipped body in turn (core.pretrain.probe); yields live state.

    Raises:
        InputError: no bodies, an unknown arm, steps out of range, or over `budget_s`.
    """
    meta = shipped(folder)
    if meta is None:
        load_body(SCRATCH, folder)  # raises the "no bodies" message
    if not cfg.arms or len(set(cfg.arms)) != len(cfg.arms):
        raise InputError("choose one or more different arms")
    for arm in cfg.arms:
        if arm not in arms_available(folder):
            raise InputError(f"unknown arm {arm!r}; choose from "
                             f"{', '.join(arms_available(folder))}")
    if not 1 <= cfg.steps <= MAX_PROBE_STEPS:
        raise InputError(f"steps must be between 1 and {MAX_PROBE_STEPS}, got {cfg.steps}")
    if budget_s is not None:
        dev = pick_device().type
        timing.check_budget(estimate_s(cfg, dev), budget_s, device=dev, advice=(
            "Use fewer arms or steps, or the command line (python -m core probe)."))
    state = ProbeState(cfg, total_steps=len(cfg.arms) * cfg.steps)
    t0 = time.perf_counter()
    for arm in cfg.arms:
        state.phase = f"probing {arm}"
        curve = state.curves.setdefault(arm, [])
        yield state
        pcfg = ProbeConfig(steps=cfg.steps, vocab=meta["vocab"], seed=cfg.seed,
                           eval_every=max(1, cfg.steps // 5))
        last = 0
        for event in probe(load_body(arm, folder), pcfg):
            state.done_steps += event.step - last
            last = event.step
            state.elapsed_s = time.perf_counter() - t0
            if event.metrics:
                curve.append({"step": event.step,
                              "held_out_loss": event.metrics["held_out_loss"]})
            yield state
    state.phase = "done"
    state.elapsed_s = time.perf_counter() - t0
    yield state
