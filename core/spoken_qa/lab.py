"""The spoken-QA experiment as a generator, and the committed runs it is compared with.

    for state in run(SpokenQARunConfig(steps=40)): # pretrained vs random init
        draw(state)                                # curves, then FF1 / AOS on the test voices
    ref = load_reference()                         # assets/spoken_qa/reference.json
    runs = load_runs(ref)                          # that, then assets/spoken_qa/runs/*.json

DUAL (Lin et al. 2022): a text encoder fine-tuned on unit sequences finds the answer span
only when it starts from text pretraining; from random init it barely learns. Training
windows: every window that holds the answer, plus `negative_ratio` windows without it per
answer window (trained to point at [CLS], as SQuAD); a CPU cannot afford all of them.
The questions come from core.spoken_qa.items; the reference run is made by
core.tools.sweeps.spoken_qa (`python -m core train-spoken-qa`).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from core.common.device import pick_device
from core.common.errors import InputError
from core.common.timing import check_budget
from core.common.training import (
    TrainConfig,
    batch_sampler,
    capture_rng_state,
    every,
    train,
    warmup_for,
)
from core.speech.extractors import load_codebook
from core.speech.unit_tokens import MAP_KINDS, make_unit_map
from core.spoken_qa import cost
from core.spoken_qa import model as sqa
from core.spoken_qa.config import (  # noqa: F401 - the settings are part of this API
    ASSET_DIR,
    DEFAULT_EXTRACTOR,
    DEFAULT_K,
    LIVE_PATH,
    LIVE_RUN,
    MAX_LEN,
    MAX_STEPS,
    REFERENCE_PATH,
    RUNS_DIR,
    SpokenQARunConfig,
    load_reference,
    load_runs,
    rate_of,
    settings_of,
)
from core.spoken_qa.data import TAKE_POOLS
from core.spoken_qa.items import unit_items, voiced_entries
from core.spoken_qa.metrics import scores_by, span_scores
from core.text.mlm_loop import load_checkpoint, save_checkpoint
from core.text.models import default_model, load_model

VOICING_POLL_S = 0.5  # how often the voicing progress is reported
SCORE_CHUNK = 5  # test questions scored between two progress reports
MIN_WINDOW = 64  # shortest window a run may read
MAX_TAKES = 8  # voicings of a train passage a run may ask for (each is ~1 s of espeak-ng)


def select_windows(data: dict[str, torch.Tensor], negative_ratio: float, seed: int
                   ) -> dict[str, torch.Tensor]:
    """The training pool: every window whose label is a span, plus round(ratio x that many)
    drawn by seed from those labelled [CLS] (position 0).

    Args:
        data: encode_items output, one row per window (start_positions among the tensors).
        negative_ratio: windows without the answer kept per window with it.
        seed: the draw of those windows.
    Returns:
        The same tensors restricted to the kept windows, in their original order.
    """
    pos = torch.nonzero(data["start_positions"] > 0).flatten()
    neg = torch.nonzero(data["start_positions"] == 0).flatten()
    n_neg = min(len(neg), int(round(negative_ratio * len(pos))))
    pick = np.random.default_rng(seed).choice(len(neg), n_neg, replace=False)
    keep = torch.cat([pos, neg[torch.from_numpy(np.sort(pick))]]).sort().values
    return {name: t[keep] for name, t in data.items()}


@dataclass
class SpokenQAState:
    """What the UI draws, updated as the runs go."""

    config: SpokenQARunConfig
    phase: str = ""  # what is running now, in words
    curves: dict[str, list[dict]] = field(default_factory=dict)  # init -> [{step, loss, ...}]
    test: dict[str, dict] = field(default_factory=dict)  # init -> {"ff1", "aos", "n", "by_voice"}
    models: dict[str, sqa.SpanQA] = field(default_factory=dict)
    unit_map: object | None = None
    windows: int = 0  # training windows in the pool
    done_steps: int = 0
    total_steps: int = 0
    elapsed_s: float = 0.0
    # init -> seconds its training and scoring took, summed over the processes that ran it
    # (a run resumed from checkpoints, starts run apart); None where part of it went untimed
    train_s: dict[str, float | None] = field(default_factory=dict)

    def metrics(self) -> dict:
        """Returns: JSON-ready {"runs": {init: test scores + "curve" + "train_s"}, "config",
        "windows", "elapsed_s"} (the results part of a run record)."""
        return {"runs": {i: dict(self.test.get(i, {}), curve=self.curves.get(i, []),
                                 **({"train_s": round(self.train_s[i], 1)}
                                    if self.train_s.get(i) is not None else {}))
                         for i in self.config.inits},
                "config": asdict(self.config), "windows": self.windows,
                "elapsed_s": round(self.elapsed_s, 1)}


def check_config(cfg: SpokenQARunConfig) -> None:
    """Checks a run's settings before anything is loaded.

    Raises:
        InputError: a setting out of range, or no codebook for the extractor and k.
    """
    bad = [i for i in cfg.inits if i not in sqa.INITS]
    if not cfg.inits or bad:
        raise InputError(f"choose starting points from {', '.join(sqa.INITS)}; got "
                         f"{', '.join(cfg.inits) or 'none'}")
    if cfg.unit_map not in MAP_KINDS:
        raise InputError(f"unknown unit map {cfg.unit_map!r}; choose one of "
                         f"{', '.join(MAP_KINDS)}")
    if not 1 <= cfg.steps <= MAX_STEPS:
        raise InputError(f"steps must be between 1 and {MAX_STEPS}, got {cfg.steps}")
    unknown = [i for i, _ in cfg.lrs if i not in sqa.INITS]
    if unknown or any(not 0 < lr < 1 for _, lr in cfg.lrs) or not 0 < cfg.lr < 1:
        raise InputError(f"learning rates must lie between 0 and 1, for starts among "
                         f"{', '.join(sqa.INITS)}; got {cfg.lr:g} and {dict(cfg.lrs)}")
    if cfg.batch_size < 1 or cfg.eval_questions < 0 or cfg.negative_ratio < 0:
        raise InputError("batch size must be positive, dev questions and the negative "
                         "ratio not negative")
    if not 1 <= cfg.train_takes <= MAX_TAKES:
        raise InputError(f"train takes must be 1 to {MAX_TAKES}, got {cfg.train_takes}")
    if cfg.take_voices not in TAKE_POOLS:
        raise InputError(f"take voices must be one of {', '.join(TAKE_POOLS)}, got "
                         f"{cfg.take_voices!r}")
    if cfg.layers is not None and cfg.layers < 1:
        raise InputError(f"layers must be at least 1 (or None: all), got {cfg.layers}")
    if not MIN_WINDOW <= cfg.window <= MAX_LEN or cfg.question_tokens < 1 or cfg.stride < 0:
        raise InputError(f"windows must hold {MIN_WINDOW} to {MAX_LEN} tokens and a question "
                         f"of at least 1 unit; got a {cfg.window}-token window, "
                         f"{cfg.question_tokens}-unit question, stride {cfg.stride}")
    qa_config(cfg, SimpleNamespace(max_position_embeddings=MAX_LEN))  # room for the stride
    load_codebook(cfg.extractor, cfg.k)  # raises with the fit-units command


def _subset(items: list, n: int | None, seed: int) -> list:
    if n is None or n >= len(items):
        return list(items)
    pick = np.random.default_rng(seed).choice(len(items), n, replace=False)
    return [items[i] for i in np.sort(pick)]


def _voice_in_background(state: SpokenQAState, cfg: SpokenQARunConfig
                         ) -> Iterator[SpokenQAState]:
    """Voices what the cache lacks (minutes on a fresh machine), yielding progress."""
    done, box = {"n": 0, "of": 0}, {}

    def work():
        try:
            voiced_entries(limit_per_split=cfg.limit_per_split, train_takes=cfg.train_takes,
                           take_voices=cfg.take_voices,
                           progress=lambda n, of: done.update(n=n, of=of))
        except BaseException as exc:  # re-raised in the generator, where the caller sees it
            box["error"] = exc

    thread = threading.Thread(target=work, name="spoken-qa-voicing", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(VOICING_POLL_S)
        if done["of"]:
            state.phase = f"voicing the passages with espeak-ng: {done['n']}/{done['of']}"
            yield state
    if "error" in box:
        raise box["error"]


def split_items(cfg: SpokenQARunConfig) -> tuple[list, list, list]:
    """Args: the run's settings (units, question counts, seed).
    Returns: its train, dev (curve) and test questions as unit QAItems."""
    items = unit_items(cfg.extractor, cfg.k, limit_per_split=cfg.limit_per_split,
                       train_takes=cfg.train_takes, take_voices=cfg.take_voices)
    return (_subset(items["train"], cfg.train_questions, cfg.seed),
            _subset(items["dev"], cfg.eval_questions, cfg.seed),
            _subset(items["test"], cfg.test_questions, cfg.seed))


def run(cfg: SpokenQARunConfig, *, budget_s: float | None = None,
        checkpoint_dir: str | Path | None = None) -> Iterator[SpokenQAState]:
    """Fine-tunes each starting point on the train voices; yields the state as it goes and
    scores FF1 / AOS on the held-out test voices at the end of each.

    Args:
        cfg: the run's settings.
        budget_s: refuse runs estimated (core.spoken_qa.cost, from a step measured here) to
            take longer; the web UI passes core.common.timing.UI_BUDGET_S.
        checkpoint_dir: a folder for one checkpoint per start (<init>.pt: weights, optimizer,
            RNGs, the curve so far, the seconds spent; the test scores once scored), written
            at every evaluation;
            a run given a folder that holds them continues where they stop, with the batches
            the uninterrupted run would have drawn. A start's checkpoint serves any run of the
            same settings whatever other starts it trains: starts run as separate processes
            (--inits pretrained, --inits random) share one folder, and a run of both then
            reads their scores.
    Yields:
        The same SpokenQAState as it changes: voicing, training, scoring, then "done".
    Raises:
        InputError: settings out of range, missing codebook, espeak-ng missing on first use,
            a run past `budget_s`, a checkpoint of other settings.
    """
    check_config(cfg)
    if budget_s is not None:
        estimate, _ = cost.run_estimate(cfg)
        check_budget(estimate, budget_s, device=pick_device().type, advice=(
            "Use fewer steps or one starting point, or the command line (python -m core "
            "train-spoken-qa --steps STEPS)."))
    t0 = time.perf_counter()
    state = SpokenQAState(cfg, phase="voicing the passages with espeak-ng",
                          total_steps=cfg.steps * len(cfg.inits))
    yield state
    yield from _voice_in_background(state, cfg)
    state.phase = "reading the audio as units"
    yield state
    base = load_model(cfg.model or default_model("english"))
    train_items, dev_items, test_items = split_items(cfg)
    unit_map = make_unit_map(cfg.unit_map, base.tokenizer, cfg.k)
    state.unit_map = unit_map
    qa_cfg = qa_config(cfg, base.model.config)  # same net and windows for every start
    data = select_windows(sqa.encode_items(train_items, unit_map, qa_cfg),
                          cfg.negative_ratio, cfg.seed)
    all_dev = unit_items(cfg.extractor, cfg.k, limit_per_split=cfg.limit_per_split,
                         train_takes=cfg.train_takes, take_voices=cfg.take_voices)["dev"]
    dev_windows = sqa.answer_windows(sqa.encode_items(all_dev, unit_map, qa_cfg))
    state.windows = len(data["input_ids"])
    for init in cfg.inits:
        model = sqa.build_qa_model(init, base=base.model, seed=cfg.seed, layers=cfg.layers)
        tc = TrainConfig(max_steps=cfg.steps, batch_size=cfg.batch_size, lr=rate_of(cfg, init),
                         warmup_steps=warmup_for(cfg.steps),
                         eval_every=cfg.eval_every or every(cfg.steps, 4),
                         log_every=every(cfg.steps), seed=cfg.seed)
        curve = state.curves.setdefault(init, [])
        path = Path(checkpoint_dir) / f"{init}.pt" if checkpoint_dir is not None else None
        saved = _load_checkpoint(path, cfg)
        spent = saved.get("train_s") if saved is not None else 0.0  # None: untimed checkpoint
        state.train_s[init] = spent
        if saved is not None:
            model.load_state_dict(saved["model"])
            curve.extend(saved["curve"])
            state.done_steps += saved["step"]
        if saved is not None and "by_voice" in (saved.get("test") or {}):  # trained, scored
            state.test[init], state.models[init] = saved["test"], model
            yield state
            continue
        state.phase = f"training from {init} init"
        at = {}  # the optimizer and RNGs at the last checkpoint step, saved after its event
        t_init = time.perf_counter()

        def timed(t_init=t_init, spent=spent):
            """Seconds spent on this start so far, across the processes that trained it."""
            return None if spent is None else spent + time.perf_counter() - t_init

        def keep(step, _model, optimizer, rng, at=at):
            at.update(step=step, optimizer=optimizer.state_dict(), rng=capture_rng_state(rng))

        for event in train(model, batch_sampler(data, cfg.batch_size), tc,
                           evaluate=lambda m: _dev_scores(m, unit_map, dev_items, dev_windows,
                                                          qa_cfg),
                           start_step=saved["step"] if saved else 0,
                           optimizer_state=saved.get("optimizer") if saved else None,
                           rng_state=saved.get("rng") if saved else None,
                           on_checkpoint=keep if path else None,
                           checkpoint_every=tc.eval_every):
            point = {"step": event.step, "loss": event.loss}
            if event.metrics:
                point.update(event.metrics)
            state.done_steps += event.step - (curve[-1]["step"] if curve else 0)
            curve.append(point)
            state.train_s[init] = timed()
            if at.get("step") == event.step:  # its evaluation is in the curve now
                _save_checkpoint(path, cfg, model, curve, dict(at, train_s=timed()))
            state.elapsed_s = time.perf_counter() - t0
            yield state
        preds = []  # scored a few questions at a time: progress, and Stop within seconds
        for lo in range(0, len(test_items), SCORE_CHUNK):
            state.phase = f"scoring {init} init: {lo}/{len(test_items)} test questions"
            yield state
            preds += [sqa.predict(model, unit_map, it.question_units, it.passage, qa_cfg)[:2]
                      for it in test_items[lo:lo + SCORE_CHUNK]]
        golds = [(it.start_s, it.end_s) for it in test_items]
        state.test[init] = dict(span_scores(preds, golds), by_voice=scores_by(
            preds, golds, [it.voice for it in test_items]))  # the two unheard voices apart
        state.models[init] = model
        # scored again (an older record): the time it took to train and score it stays
        state.train_s[init] = spent if saved is not None and saved.get("test") else timed()
        if path is not None:
            _save_checkpoint(path, cfg, model, curve,
                             {"step": cfg.steps, "train_s": state.train_s[init]},
                             test=state.test[init])
        state.elapsed_s = time.perf_counter() - t0
        yield state
    state.phase = "done"
    yield state


def _save_checkpoint(path: Path, cfg: SpokenQARunConfig, model, curve: list[dict], at: dict,
                     test: dict | None = None) -> None:
    """One start's checkpoint (replaced whole: a run killed mid-write keeps the previous one)."""
    save_checkpoint(path, dict(at, config=_start_settings(cfg), model=model.state_dict(),
                               curve=list(curve), test=test))


def _load_checkpoint(path: Path | None, cfg: SpokenQARunConfig) -> dict | None:
    """A start's checkpoint made with the same settings, or None when there is none.
    Raises: InputError when it was made with other settings."""
    if path is None or not path.is_file():
        return None
    saved = load_checkpoint(path)
    if _start_settings(saved.get("config") or {}) != _start_settings(cfg):
        raise InputError(f"{path} was made with other settings; remove it or choose another "
                         "checkpoint folder")
    return saved


def _start_settings(cfg: SpokenQARunConfig | dict) -> dict:
    """The settings one start's training depends on: all but which other starts the run has
    (each start draws its own batches and RNGs from the seed)."""
    settings = ({**settings_of(SpokenQARunConfig()), **cfg} if isinstance(cfg, dict)
                else settings_of(cfg))  # a setting added since a checkpoint: its default
    settings.pop("inits", None)
    return settings


def qa_config(cfg: SpokenQARunConfig, encoder_config) -> sqa.QAConfig:
    """The windows a run reads (its window, question and stride settings), fitted to the
    encoder. Raises: InputError when the question leaves no room for the stride."""
    return sqa.fit_config(sqa.QAConfig(max_len=cfg.window, stride=cfg.stride,
                                       max_question_tokens=cfg.question_tokens), encoder_config)


def _dev_scores(model, unit_map, items, windows, qa_cfg) -> dict[str, float]:
    """Held-out measures at an evaluation: span loss on the answer windows of every dev
    question, FF1 / AOS of the decoded spans of the run's dev questions (when it has any)."""
    out = {"dev_loss": sqa.span_loss(model, windows)}
    if items:
        scores = sqa.evaluate(model, unit_map, items, qa_cfg)
        out.update(dev_ff1=scores["ff1"], dev_aos=scores["aos"])
    return out
