"""Helpers shared by test modules (fixtures live in conftest.py; no test module imports another)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")  # Debian pocketsphinx-testdata


def librivox_files() -> list[Path]:
    """The packaged utterances; a clear skip (a failure under CI) when not installed."""
    files = sorted(LIBRIVOX.glob("*.wav"))
    if not files:
        msg = "needs Debian pocketsphinx-testdata (apt-get install pocketsphinx-testdata)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return files


def tiny_hubert_model(layers: int = 2):
    """A random-init HubertModel, 32 wide, with HuBERT's real 20 ms framing."""
    import torch
    from transformers import HubertConfig, HubertModel

    torch.manual_seed(0)
    cfg = HubertConfig(hidden_size=32, num_hidden_layers=layers, num_attention_heads=2,
                       intermediate_size=64, conv_dim=(16,) * 7, num_conv_pos_embeddings=16,
                       num_conv_pos_embedding_groups=2)
    return HubertModel(cfg).eval()


CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"]


def ship_stand_in_bodies(folder: Path, schemes=("english", "flat-2")) -> Path:
    """Tiny lab-vocabulary bodies (fresh weights, a seed each) shipped as the transfer sweep
    ships pretrained ones, into folder/"bodies"; returns that folder."""
    import torch

    from core.pretrain import bodies, loop, mlm
    from core.pretrain.data import tokenizer_for

    size = len(tokenizer_for("lab"))
    for i, scheme in enumerate(schemes):
        (folder / "work" / scheme).mkdir(parents=True)
        torch.save({"model": mlm.build_mlm("tiny", vocab_size=size, seed=i + 1).state_dict()},
                   folder / "work" / scheme / loop.CHECKPOINT_NAME)
    bodies.ship(folder / "work", list(schemes),
                {"size": "tiny", "vocab": "lab", "steps": 1, "batch_size": 1, "init_seed": 0},
                folder / "bodies")
    return folder / "bodies"


def open_page(url: str, locale: str | None = None):
    """Yields a Playwright page on `url` in Debian's headless Chromium (never downloads one);
    `locale` (e.g. "zh-TW") sets the browser's language and its Accept-Language."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS,
                                     headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100},
                                **({"locale": locale} if locale else {}))
        page.goto(url, wait_until="domcontentloaded")
        yield page
        browser.close()


def set_sliders(page, values: dict[str, str]) -> None:
    """Types each value into the number box of the slider with that label (then Enter)."""
    for label, value in values.items():
        box = page.get_by_label(f"number input for {label}", exact=True)
        box.fill(value)
        box.press("Enter")


def wait_for_plot_title(page, condition_js: str, timeout: int) -> None:
    """Waits until some plotly title `t` satisfies the JS expression `condition_js`."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
        f".some(t => {condition_js})", timeout=timeout)

