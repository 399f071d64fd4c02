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

HEADER = """
# SSL Magic Lab
Self-supervised models learn more than their training task asks for. Each tab reproduces one
published finding with real models and real data, on your CPU or a GPU.
"""

TABS = [  # (title, module with populate(page) and build())
    ("Cross-lingual", crosslingual),
    ("DNA", dna),
    ("Spoken QA", spoken_qa),
    ("Fake-data pretraining", pretrain),
]


def badge(device: str | None = None) -> str:
    """The device and model profile in use, shown under the header. The page is built with
    `device` "…" and fills it in when it opens (asking torch costs a second at start-up)."""
    device = device_info().name if device is None else device
    note = profile_note()
    text = (f"**Device:** {device} &nbsp;·&nbsp; **Profile:** `{current_profile()}` "
            f"(models: `{default_model('multilingual')}`, `{default_model('english')}`)")
    return text + (f"<br>{note}" if note else "")


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


def _populate_tab(title: str, module, page: gr.Blocks) -> None:
    """The tab's page, built into the lab's own (one web app, not one per tab); a tab that
    cannot be built says why: one missing model or file must not take the whole lab down."""
    try:
        module.populate(page)
    except Exception as exc:  # noqa: BLE001 - any failure is shown, the other tabs still work
        message = getattr(exc, "message", None) or str(exc)
        gr.Markdown(f"**The {title} tab could not be built here:** "
                    f"{type(exc).__name__}: {message}", elem_id="tab-unavailable")


def build_app() -> gr.Blocks:
    with gr.Blocks(title="SSL Magic Lab", **BLOCKS) as app:
        gr.Markdown(HEADER)
        device_badge = gr.Markdown(badge("…"), elem_id="device-badge")
        with gr.Tabs():
            for title, module in TABS:  # each also runs alone: python -m demos.<tab>
                with gr.Tab(title):
                    _populate_tab(title, module, app)
        app.load(badge, None, device_badge, api_visibility="private", queue=False)
    return app


demo = build_app()

if __name__ == "__main__":
    demo.queue().launch(prevent_thread_lock=True, **LAUNCH)
    warm_up_async()  # after the port answers: warming up does not slow the start
    demo.block_thread()
