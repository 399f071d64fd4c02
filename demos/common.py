"""What every tab's handlers share: error mapping, progress adapter, ZeroGPU wrapper."""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import gradio as gr

from core.common.errors import InputError, ModelUnavailable

# Errors whose message is written for the user; anything else is a bug and shows its type.
USER_ERRORS = (InputError, ModelUnavailable, KeyError, ValueError)

try:  # Hugging Face ZeroGPU: a GPU is attached only inside functions wrapped by spaces.GPU
    import spaces  # type: ignore

    def gpu(fn: Callable) -> Callable:
        return spaces.GPU(fn)
except ImportError:
    def gpu(fn: Callable) -> Callable:
        return fn


def _message(exc: Exception) -> str:
    # KeyError str() wraps the message in quotes
    return exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)


def user_errors(fn: Callable) -> Callable:
    """Turns the core's input/model errors into gr.Error so the user sees the message."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except USER_ERRORS as exc:
                raise gr.Error(_message(exc), title="Cannot do that") from exc
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            raise gr.Error(_message(exc), title="Cannot do that") from exc
    return wrapper


def progress_callback(progress: gr.Progress) -> Callable[[float, str], None]:
    """Adapts core's on_progress(fraction, message) to a gr.Progress bar."""
    def on_progress(fraction: float, message: str) -> None:
        progress(min(max(fraction, 0.0), 1.0), desc=message)
    return on_progress
