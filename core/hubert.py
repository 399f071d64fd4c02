"""HuBERT models from transformers as unit extractors, and the measured choice of their layer.

    ex = load_hubert()              # facebook/hubert-base-ls960 at its chosen layer
    ex(wave)                        # (T, 768): one frame every 20 ms, as every extractor
    python -m core pick-layer       # scores every layer, writes assets/speech/hubert-base-layer.json

Which layer: GSLM and textlesslib cluster the middle layer (6 of 12) of hubert-base. The lab
measures instead: `pick-layer` fits k units on each layer's features of voiced train passages
and scores how consistently the same words, spoken by eight voices, map to the same units
(core.unit_quality; the words are not those `bench speech` reports). `load_hubert` uses the
measured layer once that file exists for the repo, and the middle layer until then.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from core.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
# What to use instead when the hub model cannot be had (the embedded extractors).
ALTERNATIVE = "use the embedded 'tiny-hubert' (or 'mfcc') extractor instead"
HUBERT_BASE_REPO = "facebook/hubert-base-ls960"
# The repo's main branch holds pickled weights only (pytorch_model.bin, tf_model.h5); the
# same weights as safetensors sit in the hub's conversion pull request (SFconvertbot,
# 2023-03-18), and the lab loads safetensors only.
SAFETENSORS_REVISIONS = {HUBERT_BASE_REPO: "refs/pr/2"}
# Written by `python -m core pick-layer` (needs the hub model once); absent until measured.
LAYER_FILE = ROOT / "assets" / "speech" / "hubert-base-layer.json"
# HuBERT runs over chunks this many frames long (20 s), so attention memory stays bounded on
# a 3-minute passage; frames at chunk edges see one-sided context.
HUBERT_CHUNK_FRAMES = 1_000


class _Stop(Exception):
    """Carries the chosen layer's output out of the forward pass (skips later layers)."""

    def __init__(self, hidden):
        super().__init__()
        self.hidden = hidden


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

        from core.units import HOP_SAMPLES, WIN_SAMPLES, _check_wave, num_frames  # (no cycle)

        wave = _check_wave(wave)
        param = next(self.model.parameters())
        span = HUBERT_CHUNK_FRAMES * HOP_SAMPLES
        extra = WIN_SAMPLES - HOP_SAMPLES  # samples that complete a chunk's last frame
        outs = []
        handle = self.model.encoder.layers[self.layer - 1].register_forward_hook(self._hook)
        try:
            with torch.inference_mode():
                for start in range(0, len(wave), span):
                    piece = wave[start: start + span + extra]
                    if num_frames(len(piece)) == 0:
                        break
                    x = torch.from_numpy(piece).to(param.device, param.dtype)[None]  # (1, N)
                    try:
                        self.model(x)
                        raise RuntimeError("the layer hook did not fire")
                    except _Stop as stop:
                        outs.append(stop.hidden[0].float().cpu().numpy())  # (T_chunk, H)
        finally:
            handle.remove()
        return np.concatenate(outs, axis=0)

    @staticmethod
    def _hook(module, inputs, output):
        raise _Stop(output[0] if isinstance(output, tuple) else output)


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
    from core.device import pick_device
    from core.models import ModelUnavailable

    if Path(repo).is_dir():  # a local folder in place of a repo id (own checkpoints, tests)
        folder = repo
    else:
        folder = _hub_snapshot(repo, ["*.json", "*.safetensors"], cache_dir, name)
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


def pick_layer(model, fit_paths, words, voices, *, k: int = 128, seed: int = 0
               ) -> tuple[int, dict[int, float]]:
    """Scores every layer of a HubertModel (core.unit_quality.score_layers); returns the best
    layer (lowest consistency ratio) and every layer's ratio."""
    from core.unit_quality import score_layers

    layers = range(1, int(model.config.num_hidden_layers) + 1)
    ratios = score_layers(lambda i: HubertExtractor(model, layer=i), layers, fit_paths,
                          words, voices, k=k, seed=seed)
    return min(ratios, key=ratios.get), ratios


def write_layer_choice(path, repo: str, best: int, ratios: dict[int, float], *, words,
                       voices, k: int, fit_files: int, wall_s: float) -> Path:
    """Saves a pick_layer result where measured_layer finds it."""
    from core.device import machine_info

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "repo": repo, "layer": int(best), "ratios": {str(i): r for i, r in ratios.items()},
        "k": int(k), "words": list(words), "voices": list(voices), "fit_files": int(fit_files),
        "wall_s": round(wall_s, 1), "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine_info()}, indent=1) + "\n")
    return path


def _hub_snapshot(repo: str, patterns: list[str], cache_dir: str | None, name: str) -> str:
    """The repo's files from the local cache, downloading only when the hub answers."""
    from huggingface_hub import snapshot_download

    from core.models import ModelUnavailable, hub_reachable

    revision = SAFETENSORS_REVISIONS.get(repo)  # None = main
    try:
        return snapshot_download(repo, allow_patterns=patterns, local_files_only=True,
                                 cache_dir=cache_dir, revision=revision)
    except Exception:  # not cached: go to the hub only if it answers right now
        if not hub_reachable():
            raise ModelUnavailable(
                f"{name} ({repo}) is not in the local Hugging Face cache and the Hub cannot "
                f"be reached: {ALTERNATIVE}, or connect and try again.") from None
        try:
            return snapshot_download(repo, allow_patterns=patterns, cache_dir=cache_dir,
                                     revision=revision)
        except Exception as exc:
            raise ModelUnavailable(f"downloading {repo} failed ({type(exc).__name__}: {exc});"
                                   f" {ALTERNATIVE}.") from exc
