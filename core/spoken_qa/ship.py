"""The trained spoken-QA model in a form small enough to commit (each file <= 10 MB).

A fine-tuned MiniLM-L6 is 90 MB in float32, but it is its starting weights plus a change,
and the change is what we store (assets/speech/qa/ for the text-pretrained start,
assets/speech/qa-random/ for the random one). The starting weights are the packaged English
model, or for the random start the same network drawn from a seeded generator (rebuilt
exactly from its seed with the pinned torch):

    qa.safetensors   for every weight matrix W of the encoder: the fine-tuning delta
                     W - W_base as two float16 factors A (out, r) and B (r, in), the top r
                     singular directions (A = U S, B = V^T); the few word-embedding rows the
                     units use (full float32); biases, LayerNorms and the span head (float32)
    qa.json          base model, start (init, seed), extractor, k, unit map, rank, and the
                     test FF1 / AOS of the
                     trained model and of this file, measured on the same questions

Loading rebuilds W_base + A @ B on top of the starting weights; nothing else is read.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from core.common.errors import InputError
from core.speech.unit_tokens import make_unit_map
from core.spoken_qa import model as sqa
from core.spoken_qa.config import (  # noqa: F401 - the settings are part of this API
    EMBEDDING,
    MAX_FILE_BYTES,
    META,
    RANDOM_SHIP_DIR,
    SHIP_DIR,
    WEIGHTS,
    shipped_meta,
)
from core.text.models import default_model, load_model


def _used_ids(unit_map) -> torch.Tensor:
    tok = unit_map.tokenizer
    ids = set(int(i) for i in unit_map.ids) | {tok.cls_token_id, tok.sep_token_id,
                                                tok.pad_token_id}
    return torch.tensor(sorted(ids), dtype=torch.long)


def compress(model: sqa.SpanQA, base_state: dict, used_ids: torch.Tensor, rank: int
             ) -> dict[str, torch.Tensor]:
    """The tensors of qa.safetensors (see the module docstring)."""
    out = {"used_ids": used_ids}
    for name, w in model.state_dict().items():
        w = w.detach().float().cpu()
        key = name.removeprefix("encoder.")
        if name == EMBEDDING:
            out["rows." + name] = w[used_ids].clone()
        elif w.ndim == 2 and name.startswith("encoder.") and min(w.shape) > rank:
            u, s, vh = torch.linalg.svd(w - base_state[key].float(), full_matrices=False)
            out["a." + name] = (u[:, :rank] * s[:rank]).half().contiguous()  # (out, r)
            out["b." + name] = vh[:rank].half().contiguous()  # (r, in)
        else:  # biases, LayerNorms, token types, the head: small, kept exactly
            out["full." + name] = w.clone()
    return out


def expand(tensors: dict[str, torch.Tensor], base_state: dict) -> dict[str, torch.Tensor]:
    """qa.safetensors tensors + the base encoder's state -> a SpanQA state dict."""
    state = {}
    for key, w in base_state.items():
        name = "encoder." + key
        if name == EMBEDDING:
            w = w.float().clone()
            w[tensors["used_ids"]] = tensors["rows." + name]
        elif "a." + name in tensors:
            w = w.float() + tensors["a." + name].float() @ tensors["b." + name].float()
        elif "full." + name in tensors:
            w = tensors["full." + name]
        state[name] = w
    for name, w in tensors.items():
        if name.startswith("full.head."):
            state[name.removeprefix("full.")] = w
    return state


def start_state(base: torch.nn.Module, init: str, seed: int, layers: int | None = None
                ) -> dict:
    """The encoder weights a run of this start began from (the base of the deltas): the
    English model's (its first `layers` layers), or for "random" the same net as
    build_qa_model draws it with `seed`."""
    return sqa.build_qa_model(init, base=base, seed=seed, layers=layers).encoder.state_dict()


def qa_config_of(meta: dict, encoder_config) -> sqa.QAConfig:
    """The windows the shipped model was trained on (qa.json's train_config; the default
    windows for files that predate the setting), fitted to its encoder."""
    cfg = meta.get("train_config") or {}
    default = sqa.QAConfig()
    return sqa.fit_config(sqa.QAConfig(
        max_len=int(cfg.get("window", default.max_len)),
        stride=int(cfg.get("stride", default.stride)),
        max_question_tokens=int(cfg.get("question_tokens", default.max_question_tokens))),
        encoder_config)


def _layers(meta: dict) -> int | None:
    return (meta.get("train_config") or {}).get("layers")


def save_shipped(model: sqa.SpanQA, unit_map, cfg, folder, *, test_items=None,
                 test_scores: dict | None = None, rank: int = 64,
                 init: str = "pretrained") -> dict:
    """Writes qa.safetensors + qa.json; with test_items, scores the reloaded file on them
    next to the trained model (the check that the shipped form scores the same).

    init: the start the model was trained from ("pretrained" or "random", drawn with
    cfg.seed as the run draws it).

    Returns the metadata written to qa.json.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model_name = cfg.model or default_model("english")
    base_state = start_state(load_model(model_name).model, init, cfg.seed, cfg.layers)
    tensors = compress(model, base_state, _used_ids(unit_map), rank)
    save_file(tensors, str(folder / WEIGHTS))
    size = (folder / WEIGHTS).stat().st_size
    meta = {"model": model_name, "init": init, "seed": cfg.seed, "extractor": cfg.extractor,
            "k": cfg.k, "unit_map": cfg.unit_map, "rank": rank, "bytes": size,
            "train_config": asdict(cfg), "trained_test": test_scores}
    if test_items is not None:
        shipped, _, _ = _build(tensors, meta)
        qa_cfg = qa_config_of(meta, shipped.encoder.config)
        meta["shipped_test"] = sqa.evaluate(shipped, unit_map, test_items, qa_cfg)
        if test_scores is None:
            meta["trained_test"] = sqa.evaluate(model.eval(), unit_map, test_items, qa_cfg)
    (folder / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    if size > MAX_FILE_BYTES:
        raise InputError(f"{folder / WEIGHTS} is {size / 2**20:.1f} MB, over the 10 MB "
                         f"limit; use a smaller --rank than {rank}")
    return meta


def _build(tensors: dict, meta: dict):
    loaded = load_model(meta["model"])
    model = sqa.build_qa_model("pretrained", base=loaded.model, layers=_layers(meta))
    start = start_state(loaded.model, meta.get("init", "pretrained"), meta.get("seed", 0),
                        _layers(meta))
    model.load_state_dict(expand(tensors, start))
    unit_map = make_unit_map(meta["unit_map"], loaded.tokenizer, int(meta["k"]))
    return model.eval(), unit_map, meta


def load_shipped(folder=SHIP_DIR):
    """(SpanQA in eval mode, its unit map, qa.json) from a save_shipped folder."""
    folder = Path(folder)
    if not (folder / WEIGHTS).is_file() or not (folder / META).is_file():
        raise InputError(f"no trained spoken-QA model in {folder}; train one with "
                         "`python -m core train-spoken-qa --save assets/speech/qa`")
    return _build(load_file(str(folder / WEIGHTS)), shipped_meta(folder))
