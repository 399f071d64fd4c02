"""Answering a spoken question about a spoken passage, every stage kept for the tab to show.

    result = answer(passage_wave, question_wave)       # 16 kHz mono float32 waves
    result.start_s, result.end_s                       # the answer's span in the passage
    result.stages                                      # frames -> units -> runs -> tokens -> ...

No speech recognition anywhere: features -> k-means units -> runs -> the unit map's tokens
-> the fine-tuned text encoder's span head (core.spoken_qa.model) -> seconds.
"""
from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass

import numpy as np

from core.speech.audio import check_duration, check_speech, cut
from core.speech.extractors import load_codebook, load_extractor
from core.speech.units import Runs
from core.speech.vtln import clip_factor, runs_at
from core.spoken_qa import model as sqa
from core.spoken_qa.config import UNIT_KEYS, twin_folder  # noqa: F401 - part of this API
from core.spoken_qa.ship import RANDOM_SHIP_DIR, SHIP_DIR, load_shipped, qa_config_of

_LOCK = threading.Lock()  # one answer at a time per process: the model is shared


@functools.lru_cache(maxsize=2)
def shipped_model(folder: str = str(SHIP_DIR)):
    """(model, unit map, qa.json, extractor, codebook) of the committed QA model, loaded once."""
    model, unit_map, meta = load_shipped(folder)
    return (model, unit_map, meta, load_extractor(meta["extractor"]),
            load_codebook(meta["extractor"], int(meta["k"])))


def _span(pred) -> dict:
    return {"start_s": pred.start_s, "end_s": pred.end_s, "confidence": pred.confidence,
            "first": pred.first, "last": pred.last}


@dataclass
class Answer:
    start_s: float  # answer span in the passage audio
    end_s: float
    confidence: float  # see core.spoken_qa.model.Prediction
    clip: np.ndarray  # the passage audio of the span
    passage: Runs  # deduplicated passage units with counts and times
    question: Runs
    passage_tokens: list[str]  # the unit map's token for every passage run
    question_tokens: list[str]
    windows: int  # windows the passage was read in
    first: int  # passage run indices of the span (inclusive)
    last: int
    stages: list[dict]  # one row per stage: name, what came out, how long it took
    meta: dict  # qa.json of the model used
    spans: dict  # start ("pretrained", "random") -> {start_s, end_s, confidence, first, last}:
    #             this answer, and the shipped random-init twin's when one is shipped
    warp: dict | None = None  # {"passage": factor, "question": factor} when the extractor
    #                          normalises the voice (core.speech.vtln), else None


def answer(passage_wave: np.ndarray, question_wave: np.ndarray, *, folder: str = str(SHIP_DIR),
           twin: str | None = str(RANDOM_SHIP_DIR)) -> Answer:
    """The span of `passage_wave` that answers `question_wave`, with every stage recorded.

    twin: folder of a second shipped model (the random-init one) that answers the same
        units too, shown beside the first; None or a folder without a matching model: none.

    Raises:
        InputError: a clip too short, too long or silent; no shipped model.
    """
    check_duration(passage_wave, "passage")
    check_duration(question_wave, "question")
    check_speech(passage_wave, name="the passage")
    check_speech(question_wave, name="the question")
    model, unit_map, meta, extractor, codebook = shipped_model(folder)
    stages = []
    t = time.perf_counter()

    def stage(name: str, detail: str) -> None:
        nonlocal t
        now = time.perf_counter()
        stages.append({"stage": name, "output": detail, "ms": round(1000 * (now - t), 1)})
        t = now

    with _LOCK:
        p_warp, q_warp = clip_factor(extractor, passage_wave), clip_factor(extractor, question_wave)
        warp = None if p_warp is None else {"passage": p_warp, "question": q_warp}
        if warp:
            stage("voice normalisation: each clip's frequency warp (nearest to the codebook)",
                  f"passage x{p_warp:.2f}, question x{q_warp:.2f} (1.00 = unchanged)")
        p_runs = runs_at(passage_wave, extractor, codebook, p_warp)
        q_runs = runs_at(question_wave, extractor, codebook, q_warp)
        frames = int(p_runs.counts.sum()) + int(q_runs.counts.sum())
        stage(f"{meta['extractor']} features -> k-means units (k={meta['k']})",
              f"{frames} frames of 20 ms -> {len(p_runs.units)} passage + "
              f"{len(q_runs.units)} question units after merging repeats")
        p_tokens, q_tokens = unit_map.tokens(p_runs.units), unit_map.tokens(q_runs.units)
        stage(f"units -> {unit_map.kind} map tokens",
              f"e.g. {' '.join(q_tokens[:8])} ...")
        qa_cfg = qa_config_of(meta, model.encoder.config)
        pred = sqa.predict(model, unit_map, q_runs.units, p_runs, qa_cfg)
        stage(f"{meta['model']} span head over [CLS] q [SEP] p [SEP]",
              f"{pred.windows} window(s) of <= {qa_cfg.max_len} tokens; best span = units "
              f"{pred.first}-{pred.last}, confidence {pred.confidence:.3f}")
        spans = {meta.get("init", "pretrained"): _span(pred)}
        twin = twin_folder(meta, twin) if twin else None
        if twin:
            r_model, _, r_meta = shipped_model(twin)[:3]
            r_pred = sqa.predict(r_model, unit_map, q_runs.units, p_runs,
                                 qa_config_of(r_meta, r_model.encoder.config))
            spans[r_meta.get("init", "random")] = _span(r_pred)
            stage("the same net from random init, same tokens",
                  f"best span = units {r_pred.first}-{r_pred.last}, confidence "
                  f"{r_pred.confidence:.3f}")
    clip = cut(passage_wave, pred.start_s, pred.end_s)
    stage("units -> seconds (cumulative run lengths)",
          f"{pred.start_s:.2f}-{pred.end_s:.2f} s")
    return Answer(pred.start_s, pred.end_s, pred.confidence, clip, p_runs, q_runs, p_tokens,
                  q_tokens, pred.windows, pred.first, pred.last, stages, meta, spans, warp)
