"""HuBERT models from transformers as unit extractors, and the measured choice of their layer.

    ex = load_hubert()              # facebook/hubert-base-ls960 at its chosen layer
    ex(wave)                        # (T, 768): one frame every 20 ms, as every extractor
    python -m core pick-layer       # scores every layer, writes assets/speech/hubert-base-layer.json

Which layer: GSLM and textlesslib cluster the middle layer (6 of 12) of hubert-base. The lab
measures instead: `pick-layer` fits k units on each layer's features of voiced train passages
and scores how consistently the same words, spoken by eight voices, map to the same units
(core.speech.quality; the words are not those `bench speech` reports). `load_hubert` uses the
measured layer once that file exists for the repo, and the middle layer until then.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from core.common import hub
from core.common.errors import InputError, ModelUnavailable
from core.common.layers import run_until
from core.common.paths import ASSETS
from core.speech.frames import HOP_SAMPLES, WIN_SAMPLES, check_wave, num_frames

# What to use instead when the hub model cannot be had (the embedded extractors).
ALTERNATIVE = "use the embedded 'tiny-hubert' (or 'mfcc') extractor instead"
HUBERT_BASE_REPO = "facebook/hubert-base-ls960"
# The repo's main branch holds pickled weights only (pytorch_model.bin, tf_model.h5); the
# same weights as safetensors sit in the hub's conversion pull request (SFconvertbot,
# 2023-03-18), and the lab loads safetensors only.
SAFETENSORS_REVISIONS = {HUBERT_BASE_REPO: "refs/pr/2"}
# Written by `python -m core pick-layer` (needs the hub model once); absent until measured.
LAYER_FILE = ASSETS / "speech" / "hubert-base-layer.json"
# HuBERT runs over chunks this many frames long (20 s), so attention memory stays bounded on
# a 3-minute passage; frames at chunk edges see one-sided context.
HUBERT_CHUNK_FRAMES = 1_000


class HubertExtractor:
    """The output of transformer layer `layer` (1-based) of a transformers HubertModel.

    Layers after `layer` never run: a forward hook stops the pass there.
    """

    def __init__(self, model, *, layer: int, name: str = "hubert"):
        total = int(model.config.num_hidden_layers)
        if not 1 <= layer <= total:
            raise InputError(f"layer must be between 1 and {total}, got {layer}")
        self.model = model.eval()
        self.layer = layer
        self.name = name
        self.dims = int(model.config.hidden_size)

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        import torch

        wave = check_wave(wave)
        param = next(self.model.parameters())
        span = HUBERT_CHUNK_FRAMES * HOP_SAMPLES
        extra = WIN_SAMPLES - HOP_SAMPLES  # samples that complete a chunk's last frame
        layer = self.model.encoder.layers[self.layer - 1]
        outs = []
        for start in range(0, len(wave), span):
            piece = wave[start: start + span + extra]
            if num_frames(len(piece)) == 0:
                break
            x = torch.from_numpy(piece).to(param.device, param.dtype)[None]  # (1, N)
            hidden, = run_until([layer], lambda: self.model(x), owner=self.model)
            outs.append(hidden[0].float().cpu().numpy())  # (T_chunk, H)
        return np.concatenate(outs, axis=0)


def measured_layer(repo: str = HUBERT_BASE_REPO, path=None) -> dict | None:
    """The layer choice `pick-layer` wrote for this repo ({layer, ratios, ...}), or None."""
    path = Path(path or LAYER_FILE)
    if not path.is_file():
        return None
    choice = json.loads(path.read_text())
    return choice if choice.get("repo") == repo else None


def layer_note(repo: str = HUBERT_BASE_REPO, layers: int = 12) -> str:
    """One line for the UI: which layer a repo's extractor reads, and why."""
    choice = measured_layer(repo)
    if choice:
        return (f"output of layer {choice['layer']} of {layers} (measured: best unit "
                f"consistency, ratio {choice['ratios'][str(choice['layer'])]})")
    return (f"output of layer {layers // 2} of {layers} (the middle layer, as GSLM; "
            "`python -m core pick-layer` measures the best)")


def load_model(repo: str = HUBERT_BASE_REPO, *, cache_dir: str | None = None,
               name: str = "hubert-base"):
    """A HubertModel on the lab's device from a local folder or the hub (safetensors only).

    Raises:
        ModelUnavailable: not cached here and the hub is unreachable, or no safetensors.
    """
    from core.common.device import pick_device

    if Path(repo).is_dir():  # a local folder in place of a repo id (own checkpoints, tests)
        folder = repo
    else:
        folder = hub.snapshot(repo, ["*.json", "*.safetensors"], name=name,
                              alternative=ALTERNATIVE, revision=SAFETENSORS_REVISIONS.get(repo),
                              cache_dir=cache_dir)
    if not any(Path(folder).glob("*.safetensors")):
        raise ModelUnavailable(f"{repo} has no safetensors weights; {ALTERNATIVE}")
    from transformers import HubertModel

    return HubertModel.from_pretrained(folder, use_safetensors=True).to(pick_device())


def load_hubert(repo: str = HUBERT_BASE_REPO, *, layer: int | None = None,
                cache_dir: str | None = None, name: str = "hubert-base") -> HubertExtractor:
    """A HubertExtractor over `repo`; layer None = the measured layer, else the middle one.

    Raises:
        ModelUnavailable: not cached here and the hub is unreachable, or no safetensors.
    """
    model = load_model(repo, cache_dir=cache_dir, name=name)
    if layer is None:
        choice = measured_layer(repo)
        layer = choice["layer"] if choice else model.config.num_hidden_layers // 2
    return HubertExtractor(model, layer=layer, name=name)


def write_layer_choice(path, repo: str, best: int, ratios: dict[int, float], *, words,
                       voices, k: int, fit_files: int, wall_s: float) -> Path:
    """Saves a core.speech.quality.pick_layer result where measured_layer finds it."""
    from core.common.device import machine_info

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "repo": repo, "layer": int(best), "ratios": {str(i): r for i, r in ratios.items()},
        "k": int(k), "words": list(words), "voices": list(voices), "fit_files": int(fit_files),
        "wall_s": round(wall_s, 1), "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine_info()}, indent=1) + "\n")
    return path
