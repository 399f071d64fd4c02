"""What every tab's handlers share: error mapping, progress adapter, ZeroGPU wrapper."""
from __future__ import annotations

import functools
import importlib
import inspect
import os
import threading
from collections import OrderedDict
from collections.abc import Callable

import gradio as gr
from starlette.middleware import Middleware

from core.common.errors import InputError, ModelUnavailable
from core.common.export import write_exports
from core.common.timing import Eta
from demos.i18n import (
    I18N,
    LocaleScript,
    current_locale,
    english_api,
    in_locale,
    localize,
    localize_figure,
    speaker,
    term_in,
    text,
)

# Uploads larger than this are refused by the server before they reach a handler: a 3-minute
# passage as 48 kHz 16-bit stereo WAV is ~35 MB.
MAX_UPLOAD_MB = 50
# Gradio's cache (uploads, generated audio) is swept hourly of files older than an hour.
DELETE_CACHE = (3600, 3600)
# Gradio's usage analytics stay off unless GRADIO_ANALYTICS_ENABLED=True is set.
ANALYTICS = os.environ.get("GRADIO_ANALYTICS_ENABLED", "").strip().lower() == "true"
BLOCKS = dict(delete_cache=DELETE_CACHE, analytics_enabled=ANALYTICS)  # every gr.Blocks
# Plots follow the page theme: in dark mode their backgrounds turn transparent and their
# titles, axes, legends and labels take the page's text colour (cell and bar labels keep
# the contrast plotly chose for them).
PLOT_CSS = """
.dark .js-plotly-plot .main-svg { background: transparent !important; }
.dark .js-plotly-plot .bg { fill: transparent !important; }
.dark .js-plotly-plot :is(.infolayer, .legend, .xaxislayer-above, .yaxislayer-above,
  .xaxislayer-below, .yaxislayer-below, .annotation, .cbaxis) text {
  fill: var(--body-text-color) !important; }
.dark .js-plotly-plot :is(.gridlayer, .zerolinelayer) path { stroke: #4b5563 !important; }
.dark .js-plotly-plot .legend .bg { fill: transparent !important; }
"""
# every launch() (one per process): the page's languages (demos.i18n) come with it
LAUNCH = dict(max_file_size=f"{MAX_UPLOAD_MB}mb", css=PLOT_CSS, i18n=I18N,
              app_kwargs={"middleware": [Middleware(LocaleScript)]})


class LazyModule:
    """Stands for a module that is imported when one of its names is first read: the tabs
    build (and the port answers) before torch and the models' code load; the warm-up thread
    or the first click imports them. Importing is thread-safe (Python's module locks)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}>"


# Errors whose message is written for the user; anything else is a bug and shows its type.
USER_ERRORS = (InputError, ModelUnavailable, KeyError, ValueError)

try:  # Hugging Face ZeroGPU: a GPU is attached only inside functions wrapped by spaces.GPU
    import spaces  # type: ignore
except ImportError:
    spaces = None

GPU_S = 60  # ZeroGPU's default hold: enough for one map, answer or prediction


def gpu(fn: Callable | None = None, *, duration: float = GPU_S) -> Callable:
    """Holds a ZeroGPU for the call, at most `duration` seconds (a longer call is cut off:
    training endpoints pass their time budget). Elsewhere the function is returned as it is.
    Use as @gpu or @gpu(duration=...); the hold is recorded as fn.gpu_duration."""
    def wrap(f: Callable) -> Callable:
        wrapped = spaces.GPU(duration=int(duration))(f) if spaces is not None else f
        wrapped.gpu_duration = int(duration)
        return wrapped
    return wrap(fn) if fn is not None else wrap


MAX_SEED = 2**32 - 1  # numpy and torch seeds are unsigned 32-bit


def whole(value, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """A whole number from a UI or API value (int, integral float, or its text: "128"), in
    [lo, hi] when given; anything else raises InputError naming the field and the range."""
    span = (f" between {lo} and {hi}" if lo is not None and hi is not None else
            f" of at least {lo}" if lo is not None else "")
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number.is_integer():  # NaN, infinities and fractions
        shown = repr(value[:40]) if isinstance(value, str) else value
        raise InputError(f"{name} must be a whole number{span}, got {shown}")
    number = int(number)
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise InputError(f"{name} must be{span}, got {number}")
    return number


def seed_of(value, name: str = "seed") -> int:
    """A random seed from a UI or API value: a whole number in [0, 2**32 - 1]."""
    return whole(value, name, 0, MAX_SEED)


class Stops:
    """Stop requests, one per browser or API session. Stop sets one; the running training
    generator sees it at its next update (seconds: core runs yield every step or so), ends
    cleanly keeping what it drew, and says where it stopped. Nothing is killed mid-step, so
    nothing turns into an error."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._asked: set[str] = set()

    @staticmethod
    def _key(request: gr.Request | None) -> str:
        return getattr(request, "session_hash", None) or "no-session"

    def ask(self, request: gr.Request | None) -> None:
        with self._lock:
            self._asked.add(self._key(request))

    def clear(self, request: gr.Request | None) -> None:
        """Called when a run starts: a Stop pressed before it belongs to an older run."""
        with self._lock:
            self._asked.discard(self._key(request))

    def asked(self, request: gr.Request | None) -> bool:
        with self._lock:
            return self._key(request) in self._asked


STOPS = Stops()


class Shelf:
    """The newest `capacity` values by key (least recently used leave first): per-session
    models kept on the server, so memory stays bounded however many sessions train."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._items: OrderedDict[str, object] = OrderedDict()

    def put(self, key: str, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def get(self, key: str | None):
        """The value, or None when it was never put or has been released."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def drop_prefix(self, prefix: str) -> None:
        """Releases every key starting with `prefix` (a closed session's models)."""
        with self._lock:
            for key in [k for k in self._items if k.startswith(prefix)]:
                del self._items[key]

    def __len__(self) -> int:
        return len(self._items)


def stop(request: gr.Request):
    """The Stop buttons' handler: asks this session's run to stop at its next update."""
    STOPS.ask(request)


def stopped_title(fig, step: int):
    """A live figure whose title says the run was stopped at `step` (not an error)."""
    if fig is not None:
        title = fig.layout.title.text or ""
        fig.update_layout(title_text=f"{title} · stopped at step {step}")
    return fig


def standalone(populate: Callable[[gr.Blocks], None]) -> gr.Blocks:
    """A tab as a page of its own (python -m demos.<tab>): its populate(page) in a Blocks."""
    with gr.Blocks(**BLOCKS) as page:
        populate(page)
    return english_api(page)


def downloads(record: dict | None, stem: str) -> list[str] | None:
    """[JSON, CSV] files of a run or reference record for a gr.File (None: nothing yet)."""
    return list(write_exports(record, stem)) if record else None


def download_panel(record: dict | None, stem: str, label: str) -> None:
    """A button that writes the record's JSON and CSV when pressed (on demand: nothing is
    written at start-up) and the file list it fills."""
    if not record:
        return
    button = gr.Button(label, size="sm")
    files = gr.File(label=label, file_count="multiple", interactive=False, visible=False)
    button.click(lambda: gr.File(downloads(record, stem), visible=True), None, files,
                 api_visibility="private")


def _message(exc: Exception) -> str:
    # KeyError str() wraps the message in quotes
    return exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)


def _localized(value, locale: str):
    """Return values in the user's language: figures (a copy), in a tuple or alone."""
    if locale == "en":
        return value
    if isinstance(value, tuple):
        return tuple(localize_figure(v, locale) for v in value)
    return localize_figure(value, locale)


def on_open_in_language(page: gr.Blocks, component, render: Callable[[str], object]) -> None:
    """A component filled when the page is built (English) gets render(locale) when a page
    in another language opens (nothing is sent to an English page)."""
    def redraw():
        locale = current_locale()
        return gr.skip() if locale == "en" else render(locale)

    page.load(redraw, None, component, api_visibility="private", queue=False)


def localized_choices(page: gr.Blocks, component, choices_in: Callable[[str], list]) -> None:
    """A choice component (dropdown, radio, checkbox group) whose choices are named in each
    page's language when it opens: choices_in(locale) -> [(name, value)]. The chosen value
    is sent again with the new names, so that a multiselect's chips are renamed too."""
    def rename(value):
        locale = current_locale()
        return gr.skip() if locale == "en" else gr.update(choices=choices_in(locale),
                                                          value=value)

    page.load(rename, component, component, api_visibility="private", queue=False)


def localized_plot(page: gr.Blocks, plot: gr.Plot, fig) -> None:
    """A figure drawn when the page is built (a reference run's), in each page's language."""
    on_open_in_language(page, plot, lambda locale: localize_figure(fig, locale))


def table_value(rows: list, headers: list[str], locale: str | None = None):
    """A gr.Dataframe value in the page's language (default: the request's): the rows as
    they are for English (what the API returns); otherwise translated headers, and cells
    that are a word of the tables (a starting point: "pretrained") translated too (the
    numbers are the same)."""
    locale = locale or current_locale()
    if locale == "en":
        return rows
    return {"data": [[term_in(cell, locale) for cell in row] for row in rows],
            "headers": [localize(h, locale) for h in headers]}


def localized_frame(page: gr.Blocks, frame: gr.Dataframe, rows: list, headers: list[str],
                    rows_in: Callable[[str], list] | None = None) -> gr.Dataframe:
    """A table filled when the page is built (`rows`, or none), with its headers in each
    page's language; rows_in(locale), when given, writes the rows in that language."""
    on_open_in_language(page, frame, lambda locale: table_value(
        rows_in(locale) if rows_in else rows, headers, locale))
    return frame


def localized_examples(page: gr.Blocks, examples: gr.Examples,
                       keys: list[str] | None = None) -> None:
    """gr.Examples in each page's language: its table's headers (the inputs' labels, which
    gradio does not translate there) and, when given, the buttons' labels (translation keys);
    English when built."""
    def headers(locale: str) -> list:
        return [in_locale(component.label, locale) for component in examples.inputs]

    examples.dataset.headers = headers("en")
    on_open_in_language(page, examples.dataset, lambda locale: gr.update(
        headers=headers(locale),
        **({"sample_labels": [text(key, locale) for key in keys]} if keys else {})))


def _user_error(exc: Exception, locale: str) -> gr.Error:
    return gr.Error(localize(_message(exc), locale), title=text("common.cannot", locale))


def user_errors(fn: Callable) -> Callable:
    """Turns the core's input/model errors into gr.Error so the user sees the message, and
    speaks the user's language: messages and figures built in core are localized to the
    request's locale (demos.i18n; an API call without a browser gets them unchanged)."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            locale = current_locale()
            values = fn(*args, **kwargs)
            try:
                for value in values:
                    yield _localized(value, locale)
            except gr.Error:  # already written for the user (gr.Error is a ValueError)
                raise
            except USER_ERRORS as exc:
                raise _user_error(exc, locale) from exc
            finally:  # a cancelled run ends its work now
                values.close()
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        locale = current_locale()
        try:
            return _localized(fn(*args, **kwargs), locale)
        except gr.Error:  # already written for the user (gr.Error is a ValueError)
            raise
        except USER_ERRORS as exc:
            raise _user_error(exc, locale) from exc
    return wrapper


def progress_text(phase: str, eta: Eta | None = None, done: int = 0,
                  elapsed_s: float | None = None) -> str:
    """A progress bar's text in the page's language: what the run is doing (a phase core
    wrote in English) and, with `eta`, the time left at the pace kept so far."""
    locale = current_locale()
    phase = localize(phase, locale)
    return phase if eta is None else f"{phase} · {eta.text(done, elapsed_s, speaker(locale))}"


def progress_callback(progress: gr.Progress) -> Callable[[float, str], None]:
    """Adapts core's on_progress(fraction, message) to a gr.Progress bar whose text ends with
    the time left at the pace kept so far."""
    eta = Eta(total=1000)

    def on_progress(fraction: float, message: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        progress(fraction, desc=progress_text(message, eta if fraction >= 0.05 else None,
                                              round(fraction * 1000)))
    return on_progress
