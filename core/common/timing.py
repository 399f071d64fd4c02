"""Time budgets and time left: what a web-UI run may cost, measured step costs, and ETA text.

A training endpoint estimates its run from a step cost measured on the server's own device
(core.dna.cost, core.spoken_qa.cost), refuses runs past UI_BUDGET_S before doing any work,
and shows time left from the pace it keeps (`Eta`). The command line has no budget.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from core.common.errors import InputError
from core.common.words import Say, english

# What one run started from the web UI may cost, in estimated wall seconds.
UI_BUDGET_S = 600.0


def duration_text(seconds: float, say: Say = english) -> str:
    """12.3 -> "12 s", 125 -> "2 min 05 s", 7300 -> "2 h 02 min" (in the language of `say`,
    core.common.words)."""
    s = max(0, round(seconds))
    if s < 60:
        return say("{s} s", s=s)
    if s < 3600:
        return say("{m} min {s:02d} s", m=s // 60, s=s % 60)
    return say("{h} h {m:02d} min", h=s // 3600, m=s % 3600 // 60)


def check_budget(estimate_s: float, budget_s: float, *, device: str, advice: str) -> None:
    """Raises InputError naming the estimate, the budget and what to do instead.

    Args:
        estimate_s: the run's estimated wall seconds on `device` ("cpu", "cuda", ...).
        advice: what would fit, e.g. "use fewer steps or seeds, or the command line (...)".
    """
    if estimate_s > budget_s:
        raise InputError(f"this run would take about {duration_text(estimate_s)} on this "
                         f"{device.upper()}; the web UI allows {duration_text(budget_s)}. "
                         f"{advice}")


@dataclass
class Eta:
    """Time left of a run of `total` units from the pace of those done so far.

        Eta(total=400).text(done=100, elapsed_s=90)  # -> "about 4 min 30 s left"
    """

    total: int
    t0: float = field(default_factory=time.perf_counter)

    def left_s(self, done: int, elapsed_s: float | None = None) -> float | None:
        """Seconds left after `done` units, `elapsed_s` after the start (default: since this
        object was made); None when there is nothing to go on yet."""
        elapsed = time.perf_counter() - self.t0 if elapsed_s is None else elapsed_s
        return None if done <= 0 else max(0.0, (self.total - done) * elapsed / done)

    def text(self, done: int, elapsed_s: float | None = None, say: Say = english) -> str:
        """"about 4 min 30 s left" ("starting" before the first unit), in the language of
        `say` (core.common.words)."""
        left = self.left_s(done, elapsed_s)
        if left is None:
            return say("starting")
        return say("about {duration} left", duration=duration_text(left, say))
