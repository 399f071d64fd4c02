"""`python -m core bench probe`: the fake-data tab's live probe, timed.

Measures on this machine: wall time of the probe at the tab's defaults (its default arms that
the shipped bodies provide; the target is about 3 minutes on 2 CPU cores), the seconds per
probe step the tab's estimate should use, and each arm's held-out English MLM loss.
"""
from __future__ import annotations

import time
from dataclasses import replace

from core.common.device import machine_info, pick_device
from core.common.records import started_now
from core.pretrain import bodies
from core.pretrain.config import ProbeRunConfig, arms_available


def run() -> dict:
    """Runs the default probe on the shipped bodies; returns a JSON-ready dict."""
    default = ProbeRunConfig()
    cfg = replace(default, arms=tuple(a for a in default.arms if a in arms_available()))
    device = pick_device()
    t0 = time.perf_counter()
    state = None
    for state in bodies.probe_run(cfg):
        pass
    wall = time.perf_counter() - t0
    metrics = state.metrics()
    return {"benchmark": "probe", "machine": machine_info(), "started": started_now(),
            "device": str(device), "live_probe": {
                "arms": list(cfg.arms), "steps": cfg.steps, "seed": cfg.seed,
                "wall_s": round(wall, 1),
                "estimate_s": round(bodies.estimate_s(cfg, device.type), 1),
                "s_per_step": round(wall / (len(cfg.arms) * cfg.steps), 4),
                "runs": metrics["runs"]}}
