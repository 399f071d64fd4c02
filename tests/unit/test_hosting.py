"""What a Hugging Face Space needs from the README's front matter, checked against the code."""
from __future__ import annotations

import re

from core.common.paths import ROOT
from core.speech.hubert import HUBERT_BASE_REPO, SAFETENSORS_REVISIONS
from core.text.models import REGISTRIES


def _preloads() -> dict[str, list[str]]:
    front = (ROOT / "README.md").read_text().split("---")[1]
    block = front.split("preload_from_hub:")[1]
    rows = re.findall(r"^\s+- (\S+) (\S+)(?: (\S+))?$", block, re.M)
    return {repo: [files, revision] for repo, files, revision in rows}


def test_every_hub_model_is_preloaded_with_safetensors_at_its_revision():
    pre = _preloads()
    hub = [spec.ref for reg in REGISTRIES.values() for spec in reg.values()
           if spec.source == "hub"] + [HUBERT_BASE_REPO]
    assert set(hub) <= set(pre), set(hub) - set(pre)
    for repo in hub:
        files, revision = pre[repo]
        assert "config.json" in files.split(",") and "model.safetensors" in files.split(",")
        assert (revision or None) == SAFETENSORS_REVISIONS.get(repo), repo
