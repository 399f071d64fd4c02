"""The spoken-QA tab's handlers: each is one of the tab's buttons and, where named in
demos.spoken_qa.build, a public API endpoint (/speech_qa_answer, /speech_qa_units,
/speech_qa_voice, /speech_qa_train, /speech_qa_examples)."""
from __future__ import annotations

import functools
import json
from dataclasses import replace
from pathlib import Path

import gradio as gr
import numpy as np

from core.common.device import pick_device
from core.common.errors import InputError
from core.common.export import export_folder
from core.common.timing import UI_BUDGET_S, Eta
from core.speech import audio, voice
from core.speech.extractors import runs_of
from core.spoken_qa import config, held_out, live, view
from core.spoken_qa.config import RANDOM_SHIP_DIR, shipped_meta, twin_folder
from core.spoken_qa.data import load_records
from demos.common import (
    STOPS,
    LazyModule,
    downloads,
    gpu,
    progress_text,
    seed_of,
    stopped_title,
    table_value,
    user_errors,
    whole,
)
from demos.i18n import current_locale, speaker, text

# torch and the models load on first use (the page builds before them)
cost = LazyModule("core.spoken_qa.cost")
lab = LazyModule("core.spoken_qa.lab")
pipeline = LazyModule("core.spoken_qa.pipeline")

# A browser run trains on the first 60 passages of each split (voiced in ~1 minute on first use)
# and scores 30 test questions, so it takes minutes on a CPU; the reference uses everything.
LIVE = config.LIVE_RUN  # the live panel's settings (steps, starts and seed come from the page)
INIT_CHOICES = ["pretrained", "random", "both"]
SCORE_HEADERS = ["starting point", "test FF1", "test AOS", "questions", "dev FF1"]
STAGE_HEADERS = ["stage", "output", "ms"]
UNIT_MAP_HEADERS = ["unit", "token id", "token", "kind"]


def _wav(wave) -> tuple[int, np.ndarray]:
    """(rate, 16-bit samples): Gradio writes it into its own cache, which it cleans (no
    temporary file of ours is left behind)."""
    return audio.SAMPLE_RATE, (np.clip(wave, -1.0, 1.0) * 32767).astype(np.int16)


def _clip(path, kind: str):
    """A checked 16 kHz clip; messages name the file the user gave."""
    return audio.load_clip(path, kind, name=f"the {kind} ({Path(str(path)).name})")


@user_errors
def voice_text(text, voice_name=voice.DEFAULT_VOICE):
    """Text -> a wav voiced by espeak-ng (16 kHz mono)."""
    if not voice.espeak_available():
        raise InputError(voice.INSTALL_HINT + " (uploading or recording audio still works)")
    if not (text or "").strip():
        raise InputError("type some text to voice")
    return _wav(voice.voice(text, voice_name or voice.DEFAULT_VOICE))


@gpu
@user_errors
def answer(context_audio, question_audio, gold=None):
    """(start_s, end_s, answer clip, figure, details) for a spoken passage and question.

    Args:
        gold: the true span of a built-in example (the page's state, set when an example is
            voiced; see core.spoken_qa.held_out). Used only when the passage is that
            example's audio: then the figure frames the true answer and details["gold"]
            scores the predicted span against it.
    """
    if context_audio is None or question_audio is None:
        raise InputError("give both a spoken passage and a spoken question (upload, record, "
                         "or type text and press Voice)")
    passage = _clip(context_audio, "passage")
    question = _clip(question_audio, "question")
    res = pipeline.answer(passage, question)
    known = gold if held_out.matches(gold, passage) else None
    primary = res.meta.get("init", "pretrained")
    others = {name: (o["start_s"], o["end_s"]) for name, o in res.spans.items() if name != primary}
    fig = view.answer_figure(passage, res.passage, (res.start_s, res.end_s),
                             tokens=res.passage_tokens, k=int(res.meta["k"]),
                             gold=(known["start_s"], known["end_s"]) if known else None,
                             others=others)
    spans = {name: dict(span) for name, span in res.spans.items()}
    for span in spans.values():
        span["confidence"] = round(span["confidence"], 4)
        if known:
            span.update(held_out.judge((span["start_s"], span["end_s"]), known))
    details = {"confidence": round(res.confidence, 4), "windows": res.windows,
               "answer_units": [res.first, res.last], "spans": spans,
               "passage_units": res.passage.units.tolist(),
               "question_units": res.question.units.tolist(),
               "passage_tokens": res.passage_tokens, "question_tokens": res.question_tokens,
               "stages": res.stages, "warp": res.warp,
               "model": {k: res.meta[k] for k in ("model", "extractor", "k", "unit_map")}}
    if known:
        details["gold"] = dict({k: known[k] for k in ("id", "answer", "start_s", "end_s")},
                               **held_out.judge((res.start_s, res.end_s), known))
    return res.start_s, res.end_s, _wav(res.clip), fig, details


def _judged(init: str, span: dict, locale: str) -> str:
    name = text({"pretrained": "sqa.pretrained_start", "random": "sqa.random_init"}[init],
                locale) if init in ("pretrained", "random") else init
    if span["hit"]:
        return text("sqa.hit", locale, name=name, ff1=span["ff1"], aos=span["aos"])
    return text("sqa.miss", locale, name=name)


def verdict(details) -> str:
    """What the last answer means: hit or miss of each model against the true span of a
    built-in example, with the test-set score that says how often to expect a hit; else
    what confidence is (in the page's language)."""
    if not details:
        return ""
    locale = current_locale()
    spans = details.get("spans") or {}
    conf = text("sqa.confidence", locale, confidence=details["confidence"])
    if [n for n in spans if n != "pretrained"]:
        conf += text("sqa.blue_span", locale)
    gold = details.get("gold")
    if not gold:
        return conf + text("sqa.no_truth", locale)
    truth = text("sqa.truth", locale, answer=gold["answer"], start=gold["start_s"],
                 end=gold["end_s"])
    judged = [_judged(n, s, locale) for n, s in spans.items() if "hit" in s]
    if not judged:  # details from before spans were judged per model
        judged = [_judged("pretrained", gold, locale)]
    return text("sqa.verdict", locale, judged=text("sqa.judged_sep", locale).join(judged),
                truth=truth, expect=expect_text(locale), confidence=conf)


@functools.lru_cache(maxsize=1)
def expect_text(locale: str = "en") -> str:
    """How often the shipped models find an answer on the held-out voices (their test FF1),
    in `locale`."""
    meta = shipped_meta()
    test = (meta or {}).get("shipped_test")
    if not test:
        return ""
    line = text("sqa.expect_hits", locale, ff1=test["ff1"], aos=test["aos"])
    twin = shipped_meta(RANDOM_SHIP_DIR) if twin_folder(meta) else None
    if twin and twin.get("shipped_test"):
        line += text("sqa.expect_hits_random", locale, ff1=twin["shipped_test"]["ff1"],
                     aos=twin["shipped_test"]["aos"])
    return line + text("sqa.expect_hits_scale", locale)


READ_TOKENS = 40  # tokens of the question shown; the answer spans are shown whole (<= 60 runs)


def tokens_read(details) -> str:
    """What the text model read: the question's tokens and the tokens of each start's answer
    span (the unit map's words; they mean nothing as English)."""
    if not details:
        return ""
    locale = current_locale()
    q = details["question_tokens"]
    shown = " ".join(q[:READ_TOKENS]) + (" ..." if len(q) > READ_TOKENS else "")
    lines = [text("sqa.read_question", locale, n=len(q), tokens=shown)]
    if details.get("warp"):
        lines.insert(0, text("sqa.read_warp", locale, **details["warp"]))
    p = details["passage_tokens"]
    for name, span in (details.get("spans") or {}).items():
        a, b = span["first"], span["last"]
        key = {"pretrained": "sqa.read_pretrained", "random": "sqa.read_random"}.get(name)
        whose = text(key, locale) if key else name
        lines.append(text("sqa.read_span", locale, whose=whose, first=a, last=b, n=len(p),
                          tokens=" ".join(p[a:b + 1])))
    return "\n\n".join(lines)


def unit_map_rows():
    """The shipped model's unit -> token table."""
    return table_value([list(row) for row in pipeline.shipped_model()[1].table()],
                       UNIT_MAP_HEADERS)


def stage_rows(details):
    """The stages of the last answer as table rows."""
    return table_value([[s["stage"], s["output"], s["ms"]]
                        for s in (details or {}).get("stages", [])], STAGE_HEADERS)


@user_errors
def units(audio_in, extractor=config.DEFAULT_EXTRACTOR, k=config.DEFAULT_K):
    """Units of any clip with their start / end times (deduplicated runs)."""
    if audio_in is None:
        raise InputError("give a clip to read as units")
    wave = _clip(audio_in, "passage")
    k = whole(k, "k", 1)
    runs, factor = runs_of(wave, extractor, k)
    return {"extractor": extractor, "k": k, "duration_s": audio.duration_s(wave),
            "frames": int(runs.counts.sum()), "warp": factor,
            "units": [{"unit": int(u), "start_s": round(float(a), 3), "end_s": round(float(b), 3),
                       "frames": int(c)} for u, a, b, c in
                      zip(runs.units, runs.start_s, runs.end_s, runs.counts)]}


@gpu(duration=UI_BUDGET_S)
@user_errors
def train(init="both", steps=20, seed=0, request: gr.Request = None,
          progress=gr.Progress()):
    """Fine-tunes from pretrained and/or random init; yields curves, then FF1 / AOS."""
    inits = ("pretrained", "random") if init == "both" else (init,)
    cfg = replace(LIVE, inits=inits, steps=whole(steps, "steps", 1, config.MAX_STEPS),
                  seed=seed_of(seed))
    STOPS.clear(request)
    state = None
    for state in lab.run(cfg, budget_s=UI_BUDGET_S):
        if STOPS.asked(request):  # keep the curves so far, say where it stopped
            yield (stopped_title(_curves(state), state.done_steps),
                   dict(_train_metrics(state), stopped_at=state.done_steps))
            return
        progress((state.done_steps, state.total_steps),
                 desc=progress_text(state.phase, Eta(total=state.total_steps),
                                    state.done_steps, state.elapsed_s), unit="steps")
        yield _curves(state), _train_metrics(state)
    yield _curves(state), _train_metrics(state)


def _curves(state):
    cfg = state.config
    return view.curves_figure(state.curves, f"{state.phase} - {state.windows} training windows, "
                                            f"{state.done_steps}/{state.total_steps} steps "
                                            f"({cfg.extractor} k={cfg.k})",
                              **_under(cfg))


@functools.lru_cache(maxsize=1)
def _reference() -> dict:
    return config.load_reference() or {}


@functools.lru_cache(maxsize=1)
def live_reference() -> dict | None:
    """The committed live reference (the live default over paired seeds), or None."""
    return live.load_live()


def _under(cfg) -> dict:
    """What a run of `cfg` is drawn over: the live reference's seeds as bands when it was made
    with the same settings, else the committed reference run's curves (dashed)."""
    rec = live_reference()
    if live.same_setting(rec, cfg):
        return {"bands": live.seed_curves(rec, cfg.inits)}
    return {"reference": {i: r.get("curve", []) for i, r in _reference().get("runs", {}).items()
                          if i in cfg.inits}}


def live_text(locale: str = "en") -> str:
    """What a run at the live defaults shows (from the live reference), in `locale`."""
    rec = live_reference()
    if not live.same_setting(rec, LIVE):
        return text("sqa.no_live_reference", locale)
    return live.live_finding(rec, speaker(locale))


def _train_metrics(state) -> dict:
    out = state.metrics()
    first = out["runs"][state.config.inits[0]]
    out.update(ff1=first.get("ff1"), aos=first.get("aos"), init=state.config.inits[0])
    return out


def steps_text(locale: str = "en", ref=None) -> str:
    """The step slider's label before a step is measured here: the cost of a step in the live
    reference (same settings as the live default), else in the reference run."""
    rec = live_reference()
    if live.same_setting(rec, LIVE):
        return live.steps_label(rec, speaker(locale))
    return view.steps_label(ref or _reference(), speaker(locale))


def steps_slider(ref=None):
    """The step slider's label: the cost of a step measured on this server (at its first
    run), else the live reference's (or the reference run's)."""
    step, locale = cost.measured(pick_device().type), current_locale()
    if step is None:
        return gr.Slider(label=steps_text(locale, ref))
    return gr.Slider(label=text("sqa.steps_measured", locale, seconds=step,
                                device=pick_device().type.upper()))


@user_errors
def run_tables(metrics):
    """The finished run's scores, rounded (the DUAL row last), and its downloads."""
    if not metrics:
        return [], None
    scored = {i: r for i, r in metrics["runs"].items() if "ff1" in r}
    return (table_value(view.reference_table({"runs": scored}), SCORE_HEADERS),
            downloads(metrics, "spoken-qa-run"))


@functools.lru_cache(maxsize=1)
def examples() -> list[dict]:
    """The built-in examples (core.spoken_qa.held_out.pick over the committed text set)."""
    return held_out.pick(load_records())


@user_errors
def voice_pair(passage_text, question_text, voice_name):
    """Voices an example's passage and question (same voice, as in the test set).

    Returns:
        (passage, question, gold): a built-in example in its own voice is voiced chunk by
        chunk as the test set is, so gold holds its true answer span; other text gets plain
        voicing and gold None.
    """
    for ex in examples():
        if (ex["text"], ex["question"], ex["voice"]) == (passage_text, question_text,
                                                         voice_name):
            if not voice.espeak_available():
                break  # voice_text says how to get espeak-ng
            passage, question, gold = _voiced(ex["id"])
            return _wav(passage), _wav(question), gold
    return voice_text(passage_text, voice_name), voice_text(question_text, voice_name), None


@functools.lru_cache(maxsize=8)
def _voiced(example_id):
    """held_out.voice_gold of the built-in example with this id (voiced once per process)."""
    return held_out.voice_gold(next(ex for ex in examples() if ex["id"] == example_id))


@user_errors
def example_set():
    """The built-in examples with their true answer spans (/speech_qa_examples): ({"rule": how
    they were drawn, "examples": [{"id", "question", "answer", "voice", "start_s", "end_s",
    "passage_file", "question_file"}]}, [that as examples.json, the wav files it names]). Each
    clip is voiced as the test set is, so start_s / end_s are the true span, exact to the
    sample; feed the two files to /speech_qa_answer."""
    if not voice.espeak_available():
        raise InputError(voice.INSTALL_HINT)
    folder, rows, files = export_folder(), [], []
    for ex in examples():
        passage, question, gold = _voiced(ex["id"])
        row = {"id": ex["id"], "question": ex["question"], "answer": ex["answer"],
               "voice": ex["voice"], "start_s": gold["start_s"], "end_s": gold["end_s"]}
        for part, wave in (("passage", passage), ("question", question)):
            path = audio.write_wav(folder / f"example-{ex['id']}-{part}.wav", wave)
            row[f"{part}_file"] = Path(path).name
            files.append(str(path))
        rows.append(row)
    listing = {"rule": held_out.rule(load_records()), "examples": rows}
    (folder / "examples.json").write_text(json.dumps(listing, indent=1) + "\n", encoding="utf-8")
    return listing, [str(folder / "examples.json"), *files]
