"""SSL Magic Lab: see and reproduce surprising abilities of self-supervised models.

`demo = build_app()` at module level is what Hugging Face Spaces imports; `python app.py`
launches it with the queue on (host/port from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT) and
then warms the models up in the background.
"""
from __future__ import annotations

import threading

import gradio as gr

from core.common.device import device_info
from core.text.models import current_profile, default_model, load_model, profile_note
from demos import crosslingual, dna, pretrain, spoken_qa
from demos.common import BLOCKS, LAUNCH
from demos.i18n import english_api, language_switch, locale_of, localize, rendered, t, text

TABS = [  # (translation key of the title, module with populate(page) and build())
    ("tab.crosslingual", crosslingual),
    ("tab.dna", dna),
    ("tab.spoken_qa", spoken_qa),
    ("tab.pretrain", pretrain),
]


def badge(device: str | None = None, locale: str = "en") -> str:
    """The device and model profile in use, shown under the header. The page is built with
    `device` "…" and fills it in when it opens (asking torch costs a second at start-up)."""
    device = device_info().name if device is None else device
    note = profile_note()
    line = text("app.badge", locale, device=localize(device, locale), profile=current_profile(),
                multilingual=default_model("multilingual"), english=default_model("english"))
    return line + (f"<br>{note}" if note else "")


def badge_for(request: gr.Request) -> str:
    """The badge in the language of the page that asks."""
    return badge(locale=locale_of(request))


def warm_up_async() -> None:
    """Compiles UMAP, loads the default models and draws the headline map in the background,
    once the port answers: the page opens with its map and the first click is fast."""
    from core.common import projection

    projection.warm_up_async()

    def load() -> None:
        for role in ("multilingual", "english"):
            try:
                load_model(default_model(role))
            except Exception as exc:  # the tab reports it properly on the first click
                print(f"warm-up: {role} model not loaded ({exc})")
        try:
            crosslingual.default_map()
        except Exception as exc:  # drawn (and its error shown) on the first page load instead
            print(f"warm-up: the default map was not drawn ({exc})")
        pretrain.first_samples()  # reads the tokenized prose once (the fake-data samples)

    threading.Thread(target=load, name="model-warm-up", daemon=True).start()


def _populate_tab(key: str, module, page: gr.Blocks) -> None:
    """The tab's page, built into the lab's own (one web app, not one per tab); a tab that
    cannot be built says why: one missing model or file must not take the whole lab down."""
    try:
        module.populate(page)
    except Exception as exc:  # noqa: BLE001 - any failure is shown, the other tabs still work
        message = getattr(exc, "message", None) or str(exc)
        error = f"{type(exc).__name__}: {message}"
        gr.Markdown(rendered(f"app.tab_unavailable.{key}", lambda locale: text(
            "app.tab_unavailable", locale, title=text(key, locale), error=error)),
                    elem_id="tab-unavailable")


def build_app() -> gr.Blocks:
    with gr.Blocks(title="SSL Magic Lab", **BLOCKS) as app:
        with gr.Row(equal_height=True):
            gr.Markdown(t("app.header"), elem_id="header")
            switch = language_switch()
        device_badge = gr.Markdown(badge("…"), elem_id="device-badge")
        with gr.Tabs():
            for key, module in TABS:  # each also runs alone: python -m demos.<tab>
                with gr.Tab(t(key)):
                    _populate_tab(key, module, app)
        app.load(badge_for, None, device_badge, api_visibility="private", queue=False)
        app.load(None, None, switch, js="() => window.labLocale()", api_visibility="private")
    return english_api(app)


demo = build_app()

if __name__ == "__main__":
    demo.queue().launch(prevent_thread_lock=True, **LAUNCH)
    warm_up_async()  # after the port answers: warming up does not slow the start
    demo.block_thread()
