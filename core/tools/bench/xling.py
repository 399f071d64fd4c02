"""`python -m core bench xling`: the Cross-lingual tab's live corpus-size run, timed, and the
pretraining throughput of its model.

Measures on this machine: wall time of a live run at the default steps (the reference's
setting at its smallest corpus; the target is about 3 minutes on 2 CPU cores), its test
alignment, and MLM pretraining throughput in tokens/s ([CLS] line [SEP] per row).
"""
from __future__ import annotations

import time

from core.common.device import machine_info, pick_device
from core.common.records import started_now
from core.crosslingual import size_lab, sizes


def run() -> dict:
    """Times the live default run and the pretraining throughput; returns a JSON-ready dict."""
    record = sizes.load_sizes()
    smallest = min((record or {}).get("config", {}).get("sizes") or [1_000],
                   key=lambda s: int(s) or 10**9)
    cfg = size_lab.live_config(record, per_language=int(smallest), steps=sizes.LIVE_STEPS)
    s_per_step = size_lab.step_seconds(cfg, pick_device().type)
    t0 = time.perf_counter()
    state = None
    verses = size_lab.verses_of(record)
    for state in size_lab.run(cfg, **verses):
        pass
    wall = time.perf_counter() - t0
    tokens = cfg.batch_size * (cfg.line_length + 2)
    return {"benchmark": "xling", "machine": machine_info(), "started": started_now(),
            "device": str(pick_device()), "live_run": {
                "languages": list(cfg.languages), "per_language": cfg.per_language,
                "steps": cfg.steps, "wall_s": round(wall, 1),
                "estimate_s": round(size_lab.estimate_s(cfg, s_per_step, **verses), 1),
                "test": {m: state.test[m] for m in sizes.MEASURES}},
            "pretraining": {"size": cfg.size, "batch": cfg.batch_size,
                            "tokens_per_step": tokens, "s_per_step": round(s_per_step, 3),
                            "tokens_per_s": round(tokens / s_per_step)}}
