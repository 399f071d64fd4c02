"""`python -m core xling-size-sweep`: does cross-lingual alignment grow with the pretraining
corpus? The lab's own multilingual BERT (core.crosslingual.xlm) pretrained on growing numbers
of Bible verses per language — same model, vocabulary, steps and batch — and measured on
held-out verses of test books.

Cells, each with seeds 0..n-1 (a seed fixes the verses drawn, the batch order and the initial
weights; within a seed every corpus size starts from the same weights):
  - `<size>/<seed>`: languages at `size` verses each (0 = all train verses);
  - `fake/<seed>`: Dufter & Schuetze's control at the largest size: English and fake English
    (no token shared), so any alignment between them is learned, not copied;
and for every seed the untrained model's scores (`untrained/<seed>`, `untrained-fake/<seed>`):
what the shared position embeddings and verse lengths alone give, the floor every curve starts
from (an untrained model already finds many a verse by its length).

Each cell records its MLM loss and dev alignment along the run (the probe layer chosen on
dev), then test alignment at every layer. Every finished cell is saved to the progress file
at once and a running cell checkpoints into the work folder; --resume continues. The record
(core.common.records): {"config", "machine", "started", "wall_s", "cells", "summary"} (+
"planned": the cells not yet run, for a --report of an unfinished sweep); the summary is
core.crosslingual.sizes.aggregate's.
"""
from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from core.common import records
from core.crosslingual import bible, xlm
from core.crosslingual.sizes import FAKE, MEASURES, UNTRAINED, UNTRAINED_FAKE, aggregate
from core.text.mlm_loop import CHECKPOINT_NAME, load_checkpoint
from core.text.mlm_sizes import SIZES as SHAPES

SIZES = (250, 1_000, 4_000, 0)  # verses per language; 0 = all (~23.9k)
LANGUAGES = ("en", "de", "fr", "ru", "ar")


def _test_row(rows: list[dict], layer: int) -> dict:
    """Test scores at the dev-chosen layer, the per-layer means, and the pairs there."""
    at = rows[layer]
    return {"layer": layer, **{k: at[k] for k in MEASURES},
            "language_ari": at["language_ari"],
            "language_ari_centered": at["language_ari_centered"],
            "pairs": at["pairs"],
            "by_layer": [{k: r[k] for k in ("layer", *MEASURES, "language_ari")} for r in rows]}


def _cell(cfg: xlm.XlingConfig, c: dict, prior: list[dict], on_point) -> dict:
    """One pretraining run and its measures. A checkpoint in cfg.checkpoint_dir is resumed;
    `prior` holds the curve points saved before it (those up to its step are kept)."""
    model, tok = xlm.build(cfg)
    ckpt = Path(cfg.checkpoint_dir or ".") / CHECKPOINT_NAME
    start = load_checkpoint(ckpt)["step"] if cfg.checkpoint_dir and ckpt.exists() else 0
    probe = xlm.alignment_probe(tok, cfg.languages, n_verses=c["probe_verses"])
    t0 = time.perf_counter()
    curve = [p for p in prior if p["step"] <= start]
    for e in xlm.pretrain(model, tok, cfg, resume=True, evaluate=probe,
                          eval_every=max(1, cfg.steps // c["probe_points"])):
        curve.append({"step": e.step, "loss": e.loss, **(e.metrics or {})})
        on_point(curve)
    layer = int(next(p["layer"] for p in reversed(curve) if "layer" in p))
    rows = xlm.alignment(model, tok, cfg.languages, n_verses=c["test_verses"])
    return {"curve": curve, "test": _test_row(rows, layer), "tokens": xlm.corpus_tokens(cfg),
            "wall_s": round(time.perf_counter() - t0, 1), "resumed_at": start or None}


def _untrained(cfg: xlm.XlingConfig, c: dict) -> dict:
    model, tok = xlm.build(cfg)
    rows = xlm.alignment(model, tok, cfg.languages, n_verses=c["test_verses"])
    dev = xlm.alignment_probe(tok, cfg.languages, n_verses=c["probe_verses"])(model)
    return {"test": _test_row(rows, int(dev["layer"]))}


def _config(c: dict, languages, size: int, seed: int, workdir: Path | None) -> xlm.XlingConfig:
    return xlm.XlingConfig(languages=tuple(languages), per_language=size,
                           vocab_size=c["vocab_size"], size=c["size"], steps=c["steps"],
                           batch_size=c["batch_size"], line_length=c["line_length"], lr=c["lr"],
                           packing=c.get("packing", "stream"),
                           seed=seed, log_every=max(1, c["steps"] // 40),
                           checkpoint_dir=str(workdir) if workdir else None,
                           checkpoint_every=max(1, c["steps"] // c["probe_points"]))


def _architecture(size: str) -> str:
    s = SHAPES[size]
    return (f"{s.layers} layers, {s.hidden} wide, {s.heads} attention head"
            f"{'s' if s.heads > 1 else ''}, feed-forward {s.ffn}")


def plan(c: dict) -> list[tuple[str, tuple[str, ...], int, int]]:
    """(cell key, languages, verses per language, seed) of every trained cell, in run order:
    seed by seed, so a cut-off sweep has whole seeds; the control last in each seed."""
    out = []
    for seed in range(c["seeds"]):
        for size in c["sizes"]:
            out.append((f"{size}/{seed}", tuple(c["languages"]), size, seed))
        if c["fake"]:
            out.append((f"{FAKE}/{seed}", ("en", bible.FAKE_ENGLISH), c["sizes"][-1], seed))
    return out


def sweep(*, languages=LANGUAGES, sizes=SIZES, seeds: int = 3, steps: int = 2_000,
          batch_size: int = 128, lr: float = 2e-3, vocab_size: int = 8_000,
          size: str = "narrow", line_length: int = xlm.LINE_LENGTH, packing: str = "verse",
          fake: bool = True,
          probe_points: int = 8, probe_verses: int = xlm.PROBE_VERSES,
          test_verses: int = xlm.EVAL_VERSES, workdir=None, progress_path=None,
          resume: bool = False, report: bool = False,
          on_cell: Callable[[str, dict], None] = lambda k, v: None,
          on_event: Callable[[str, dict], None] = lambda k, p: None) -> dict:
    """Runs (or resumes) the sweep; returns the record (see the module docstring). With
    `report`, runs nothing: the record of the cells finished in the progress file, the rest
    listed under "planned".

    Raises:
        ValueError: --resume with a progress file of other settings.
        InputError: unknown languages, sizes beyond the corpus.
    """
    c = {"languages": list(bible.check_bible_languages(languages)),
         "sizes": [int(s) for s in sizes], "seeds": seeds, "steps": steps,
         "batch_size": batch_size, "lr": lr, "vocab_size": vocab_size, "size": size,
         "line_length": line_length, "packing": packing, "fake": fake, "probe_points": probe_points,
         "probe_verses": probe_verses, "test_verses": test_verses,
         "vocabulary": "one WordPiece over all the languages' train-book verses, the same "
                       "for every corpus size",
         "train_verses": len(bible.split_ids("train", bible.check_bible_languages(languages))),
         "architecture": _architecture(size)}
    progress = records.load_progress(progress_path, c) if resume or report else {}
    cells = progress.setdefault("cells", {})
    progress["config"] = c
    workdir = Path(workdir) if workdir else None
    t0 = time.perf_counter()
    record = records.new_record(c)

    def save():
        if progress_path:
            records.write(progress_path, progress)

    floors = [(UNTRAINED, c["languages"])] + ([(UNTRAINED_FAKE, ["en", bible.FAKE_ENGLISH])]
                                              if fake else [])
    if report:
        if not cells:
            raise ValueError(f"nothing to report: no finished runs in {progress_path}")
        todo = [f"{g}/{seed}" for seed in range(seeds) for g, _ in floors]
        todo += [key for key, *_ in plan(c)]
        record.update(cells=cells, summary=aggregate(c, cells),
                      planned=[k for k in todo if k not in cells])
        return records.finish(record, t0)
    for seed in range(seeds):
        for group, langs in floors:
            key = f"{group}/{seed}"
            if key not in cells:
                cells[key] = _untrained(_config(c, langs, c["sizes"][-1], seed, None), c)
                save()
                on_cell(key, cells[key])
    running = progress.setdefault("running", {})
    for key, langs, n, seed in plan(c):
        if key in cells:
            continue
        folder = workdir / key.replace("/", "-") if workdir else None

        def on_point(curve, key=key):
            if "layer" in curve[-1]:  # a probe point: a checkpoint was written with it
                running[key] = curve
                save()
            on_event(key, curve[-1])

        cells[key] = _cell(_config(c, langs, n, seed, folder), c, running.get(key, []),
                           on_point)
        running.pop(key, None)
        save()
        on_cell(key, cells[key])
    record.update(cells=cells, summary=aggregate(c, cells))
    return records.finish(record, t0)


def export_cell(progress_path, workdir, key: str, folder, *, about: str = "") -> dict:
    """Ships a finished cell's model: its final checkpoint (in the sweep's work folder) as
    an encoder, tokenizer and lab.json in `folder`, then loads the written files the way the
    app does and checks that they score as the cell recorded (test alignment at its layer).

    Returns: the lab.json written (with "recorded_test" and "shipped_test").
    Raises:
        InputError: an unfinished or unknown cell, a missing checkpoint, or shipped scores
            that differ from the recorded ones.
    """
    import json

    from core.common.errors import InputError
    from core.text.models import LoadedModel, ModelSpec, _load_cached

    path = Path(progress_path)
    progress = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    c, cells = progress.get("config"), progress.get("cells", {})
    if not c or key not in cells:
        raise InputError(f"no finished cell {key!r} in {progress_path}; finished: "
                         f"{', '.join(sorted(cells)) or 'none'}")
    group, seed = key.rsplit("/", 1)
    if group.startswith(UNTRAINED):
        raise InputError("an untrained floor has no pretrained model to export")
    langs = ("en", bible.FAKE_ENGLISH) if group == FAKE else tuple(c["languages"])
    size = c["sizes"][-1] if group == FAKE else int(group)
    cfg = _config(c, langs, size, int(seed), Path(workdir) / key.replace("/", "-"))
    ckpt = Path(cfg.checkpoint_dir) / CHECKPOINT_NAME
    if not ckpt.is_file():
        raise InputError(f"no checkpoint of {key} at {ckpt}")
    saved = load_checkpoint(ckpt)
    if saved["step"] != cfg.steps:
        raise InputError(f"{ckpt} is at step {saved['step']}, not the run's {cfg.steps}")
    model, tok = xlm.build(cfg)
    model.load_state_dict(saved["model"])
    recorded = cells[key]["test"]
    keep = ("layer", *MEASURES, "language_ari")
    meta = {"about": about or (f"pretrained here: {c.get('architecture', cfg.size)}, "
                               f"{cfg.steps:,} MLM steps on {size or 'all'} verses of "
                               f"{', '.join(langs)} (Bible)"),
            "cell": key, "languages": list(langs), "per_language": size, "seed": int(seed),
            "config": c, "recorded_test": {k: recorded[k] for k in keep}}
    folder = Path(folder)
    part = folder.with_name(f".{folder.name}.part")  # checked before it takes the name
    shutil.rmtree(part, ignore_errors=True)
    try:
        xlm.export(model, tok, part, meta)
        spec = ModelSpec(folder.name, "multilingual", "embedded", "folder", str(part), "")
        loaded: LoadedModel = _load_cached.__wrapped__(spec)  # the files as written
        rows = xlm.alignment_of(loaded, langs, n_verses=c["test_verses"])
        shipped = {"layer": recorded["layer"], **{m: rows[recorded["layer"]][m] for m in
                                                  (*MEASURES, "language_ari")}}
        off = {m: (recorded[m], shipped[m]) for m in MEASURES
               if abs(recorded[m] - shipped[m]) > 1e-3}
        if off:
            raise InputError(f"the shipped model of {key} scores otherwise than recorded "
                             f"(recorded, shipped): {off}; nothing was written to {folder}")
        meta["shipped_test"] = shipped
        xlm.export(model, tok, part, meta)
        shutil.rmtree(folder, ignore_errors=True)
        part.rename(folder)
    finally:
        shutil.rmtree(part, ignore_errors=True)
    return meta
