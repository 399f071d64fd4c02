"""Stop a forward pass after a given layer: the layers after it never run.

Both the text encoders (embeddings at layer L of 12) and the speech encoders (HuBERT's layer L)
read intermediate layers; computing the rest of the network would be wasted work.

    outs = run_until([model.embeddings, *model.encoder.layer[:3]], lambda: model(**enc))
    # outs[0] = embedding output (B, T, H); outs[i] = output of layer i (B, T, H)
"""
from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# Hooks live on a shared model, so two passes over one model must not overlap.
_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


class _Stop(Exception):
    """Raised by the last hook: carries nothing, it only ends the pass."""


def _lock_for(module: torch.nn.Module) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(module, threading.Lock())


def run_until(modules: Sequence[torch.nn.Module], forward: Callable[[], object], *,
              owner: torch.nn.Module | None = None) -> list[torch.Tensor]:
    """Runs `forward()` under inference mode, collecting each module's output in call order,
    and stops the pass as soon as the last of `modules` has run.

    Args:
        modules: the submodules to read, in the order the forward pass calls them.
        forward: runs the model once (e.g. `lambda: model(**batch)`).
        owner: the model the hooks are put on, for the per-model lock (default modules[0]).
    Returns: one tensor per module (the first element when a module returns a tuple).
    Raises:
        RuntimeError: the pass ended without calling the last module.
    """
    import torch  # here, so importing this module stays light

    if not modules:
        raise ValueError("run_until needs at least one module to read")
    outs: list[torch.Tensor] = []

    def grab(_module, _inputs, output):
        outs.append(output[0] if isinstance(output, tuple) else output)
        if len(outs) == len(modules):
            raise _Stop

    with _lock_for(owner if owner is not None else modules[0]):
        handles = [m.register_forward_hook(grab) for m in modules]
        try:
            with torch.inference_mode():
                forward()
            raise RuntimeError("the forward pass ended before the last layer hook fired")
        except _Stop:
            pass
        finally:
            for h in handles:
                h.remove()
    return outs
