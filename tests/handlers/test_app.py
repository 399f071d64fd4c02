"""The whole page: built with a model missing (paper profile on Spaces, no hub) it still works."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.common.paths import ROOT

PROBE = """
import app
from demos import pretrain
panel = pretrain.first_samples()  # what the samples panel shows when a page opens
print("samples-unavailable", "Samples unavailable" in panel and "all-minilm-l6-v2" in panel)
print("tabs", sum(type(b).__name__ == "Tab" for b in app.demo.blocks.values()))
print("analytics", app.demo.analytics_enabled)
"""


@pytest.mark.usefixtures("one_thread")
def test_import_app_on_spaces_with_no_hub_and_no_cached_paper_model(tmp_path):
    env = dict(os.environ, SPACE_ID="someone/ssl-magic-lab", HF_HUB_OFFLINE="1",
               HF_HOME=str(tmp_path), HF_HUB_CACHE=str(tmp_path / "hub"))
    env.pop("SSL_LAB_PROFILE", None)  # SPACE_ID alone picks the paper profile
    env.pop("GRADIO_ANALYTICS_ENABLED", None)  # an offline lab does not call home by default
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "samples-unavailable True" in out.stdout  # the control says what is missing
    assert "tabs 4" in out.stdout and "analytics False" in out.stdout


HEAVY = ("torch", "transformers", "sklearn", "umap", "scipy.stats")
START_PROBE = f"""
import sys
import app
print("loaded", sorted(m for m in {HEAVY!r} if m in sys.modules))
print("tabs-built", sum(type(b).__name__ == "Tab" for b in app.demo.blocks.values()))
print("tab-errors", sum(getattr(b, "elem_id", None) == "tab-unavailable"
                        for b in app.demo.blocks.values()))
"""


@pytest.mark.usefixtures("one_thread")
def test_the_page_builds_before_torch_and_the_models_code_load():
    """The port answers within seconds because building the page imports none of the heavy
    libraries (torch alone takes a second or two): they load in the warm-up thread or with
    the first click. Every tab is built, none with an error."""
    out = subprocess.run([sys.executable, "-c", START_PROBE], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "loaded []" in out.stdout, out.stdout
    assert "tabs-built 4" in out.stdout and "tab-errors 0" in out.stdout, out.stdout
