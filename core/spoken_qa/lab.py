"""The spoken-QA experiment: where its data live, and the training run as a generator.

    records = load_records()                       # assets/spoken_qa/text.jsonl
    entries = voiced_entries()                     # espeak-ng audio in the cache (built once)
    fit_codebooks("mfcc", (64, 128, 512), entries) # assets/speech/mfcc-k128.npy, ...
    for state in run(SpokenQARunConfig(steps=40)): # pretrained vs random init
        draw(state)                                # curves, then FF1 / AOS on the test voices

DUAL (Lin et al. 2022): a text encoder fine-tuned on unit sequences finds the answer span
only when it starts from text pretraining; from random init it barely learns. Training
windows: every window that holds the answer, plus `negative_ratio` windows without it per
answer window (trained to point at [CLS], as SQuAD); a CPU cannot afford all of them.
"""
from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.common.errors import InputError
from core.common.paths import ROOT, cache_dir
from core.common.training import TrainConfig, batch_sampler, every, train, warmup_for
from core.speech.extractors import (
    CodebookInfo,
    codebook_path,
    fit_unit_codebooks,
    load_codebook,
)
from core.speech.unit_tokens import MAP_KINDS, make_unit_map
from core.spoken_qa import model as sqa
from core.spoken_qa.data import TEST_VOICES, read_text_set
from core.text.models import default_model, load_model

ASSET_DIR = ROOT / "assets" / "spoken_qa"
TEXT_SET = ASSET_DIR / "text.jsonl"  # python -m core build-spoken-qa
REFERENCE_PATH = ASSET_DIR / "reference.json"  # python -m core train-spoken-qa
RUNS_DIR = ASSET_DIR / "runs"  # more runs to compare (other extractors, k, maps): --out here
DEFAULT_K = 128  # DUAL's best (HuBERT-128)
DEFAULT_EXTRACTOR = "tiny-hubert"  # the lab's own speech model (assets/speech/tiny-hubert)
# Bounds a UI run respects (the CLI may go beyond): one step of 8 windows x 512 tokens takes
# ~4.5 s on 2 CPU cores with MiniLM-L6.
MAX_STEPS = 2000
VOICING_POLL_S = 0.5  # how often the voicing progress is reported


def load_records() -> list[dict]:
    return read_text_set(TEXT_SET)


def voiced_dir(limit_per_split: int | None = None, train_takes: int = 1) -> Path:
    return (cache_dir() / "spoken_qa" /
            f"voiced-{limit_per_split or 'all'}-t{train_takes}")


def voiced_entries(*, limit_per_split: int | None = None, train_takes: int = 1,
                   progress=None) -> list[dict]:
    """The voiced text set (see spoken_qa_voicing.build_voiced_set); voices what is missing,
    ~1 s a passage on one core, and reuses the cache after that."""
    from core.spoken_qa.voicing import build_voiced_set

    return build_voiced_set(load_records(), voiced_dir(limit_per_split, train_takes),
                            limit_per_split=limit_per_split, train_takes=train_takes,
                            progress=progress)


def train_passage_paths(entries: list[dict]) -> list[str]:
    """The voiced train passages' audio files, each once, sorted (never dev or test voices)."""
    return sorted({e["passage_path"] for e in entries if e["split"] == "train"})


def fit_codebooks(extractor: str, ks, entries: list[dict], *, seed: int = 0
                  ) -> list[CodebookInfo]:
    """k-means codebooks on the train passages' audio (never dev or test voices)."""
    paths = train_passage_paths(entries)
    if not paths:
        raise InputError("no voiced train passages to fit units on")
    return fit_unit_codebooks(extractor, {int(k): codebook_path(extractor, int(k)) for k in ks},
                              paths, seed=seed)


@functools.lru_cache(maxsize=4)
def _items(extractor: str, k: int, limit_per_split: int | None, train_takes: int,
           codebook_digest: str) -> dict[str, list[sqa.QAItem]]:
    from core.speech.extractors import load_extractor

    entries = voiced_entries(limit_per_split=limit_per_split, train_takes=train_takes)
    codebook = load_codebook(extractor, k)
    extract = load_extractor(extractor)
    out = {}
    for split in ("train", "dev", "test"):
        chosen = [e for e in entries if e["split"] == split]
        out[split] = sqa.items_from_voiced(chosen, extract, codebook)
    return out


def unit_items(extractor: str, k: int, *, limit_per_split: int | None = None,
               train_takes: int = 1) -> dict[str, list[sqa.QAItem]]:
    """Split -> QAItems of the voiced set in units (computed once per process)."""
    digest = hashlib.sha256(load_codebook(extractor, k).tobytes()).hexdigest()
    return _items(extractor, int(k), limit_per_split, int(train_takes), digest)


def select_windows(data: dict[str, torch.Tensor], negative_ratio: float, seed: int
                   ) -> dict[str, torch.Tensor]:
    """Every window whose label is a span, plus round(ratio x that many) drawn from those
    labelled [CLS] (position 0)."""
    pos = torch.nonzero(data["start_positions"] > 0).flatten()
    neg = torch.nonzero(data["start_positions"] == 0).flatten()
    n_neg = min(len(neg), int(round(negative_ratio * len(pos))))
    pick = np.random.default_rng(seed).choice(len(neg), n_neg, replace=False)
    keep = torch.cat([pos, neg[torch.from_numpy(np.sort(pick))]]).sort().values
    return {name: t[keep] for name, t in data.items()}


@dataclass(frozen=True)
class SpokenQARunConfig:
    inits: tuple[str, ...] = sqa.INITS  # starting points to compare
    extractor: str = DEFAULT_EXTRACTOR  # speech features the units come from
    k: int = DEFAULT_K  # units in the codebook
    unit_map: str = "offset"  # units -> tokens: DUAL's offset or random whole words
    steps: int = 40  # optimizer steps per starting point
    seed: int = 0  # head / random encoder init, window draws, batches
    batch_size: int = 8  # windows per step
    lr: float = 1e-4  # peak AdamW rate, same for both starting points
    negative_ratio: float = 0.5  # windows without the answer per window with it
    train_questions: int | None = None  # train questions used (None = all), drawn by seed
    eval_questions: int = 40  # dev questions behind the live FF1 curve
    eval_every: int = 0  # dev FF1 every N steps (0 = 4 points per curve)
    test_questions: int | None = None  # held-out test questions scored (None = all)
    limit_per_split: int | None = None  # voice only the first N passages of each split
    model: str | None = None  # english role model (default: the profile's)


@dataclass
class SpokenQAState:
    """What the UI draws, updated as the runs go."""

    config: SpokenQARunConfig
    phase: str = ""  # what is running now, in words
    curves: dict[str, list[dict]] = field(default_factory=dict)  # init -> [{step, loss, ...}]
    test: dict[str, dict] = field(default_factory=dict)  # init -> {"ff1", "aos", "n"}
    models: dict[str, sqa.SpanQA] = field(default_factory=dict)
    unit_map: object | None = None
    windows: int = 0  # training windows in the pool
    done_steps: int = 0
    total_steps: int = 0
    elapsed_s: float = 0.0

    def metrics(self) -> dict:
        return {"runs": {i: dict(self.test.get(i, {}), curve=self.curves.get(i, []))
                         for i in self.config.inits},
                "config": asdict(self.config), "windows": self.windows,
                "elapsed_s": round(self.elapsed_s, 1)}


def check_config(cfg: SpokenQARunConfig) -> None:
    """Raises InputError for settings out of range."""
    bad = [i for i in cfg.inits if i not in sqa.INITS]
    if not cfg.inits or bad:
        raise InputError(f"choose starting points from {', '.join(sqa.INITS)}; got "
                         f"{', '.join(cfg.inits) or 'none'}")
    if cfg.unit_map not in MAP_KINDS:
        raise InputError(f"unknown unit map {cfg.unit_map!r}; choose one of "
                         f"{', '.join(MAP_KINDS)}")
    if not 1 <= cfg.steps <= MAX_STEPS:
        raise InputError(f"steps must be between 1 and {MAX_STEPS}, got {cfg.steps}")
    if cfg.batch_size < 1 or cfg.eval_questions < 1 or cfg.negative_ratio < 0:
        raise InputError("batch size and dev questions must be positive, the negative "
                         "ratio not negative")
    load_codebook(cfg.extractor, cfg.k)  # raises with the fit-units command


def _subset(items: list, n: int | None, seed: int) -> list:
    if n is None or n >= len(items):
        return list(items)
    pick = np.random.default_rng(seed).choice(len(items), n, replace=False)
    return [items[i] for i in np.sort(pick)]


def _voice_in_background(state: SpokenQAState, limit_per_split: int | None
                         ) -> Iterator[SpokenQAState]:
    """Voices what the cache lacks (minutes on a fresh machine), yielding progress."""
    done, box = {"n": 0, "of": 0}, {}

    def work():
        try:
            voiced_entries(limit_per_split=limit_per_split,
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
    """The run's train, dev (curve) and test questions as unit QAItems."""
    items = unit_items(cfg.extractor, cfg.k, limit_per_split=cfg.limit_per_split)
    return (_subset(items["train"], cfg.train_questions, cfg.seed),
            _subset(items["dev"], cfg.eval_questions, cfg.seed),
            _subset(items["test"], cfg.test_questions, cfg.seed))


def run(cfg: SpokenQARunConfig) -> Iterator[SpokenQAState]:
    """Fine-tunes each starting point on the train voices; yields the state as it goes and
    scores FF1 / AOS on the held-out test voices at the end of each.

    Raises:
        InputError: settings out of range, missing codebook, espeak-ng missing on first use.
    """
    check_config(cfg)
    t0 = time.perf_counter()
    state = SpokenQAState(cfg, phase="voicing the passages with espeak-ng",
                          total_steps=cfg.steps * len(cfg.inits))
    yield state
    yield from _voice_in_background(state, cfg.limit_per_split)
    state.phase = "reading the audio as units"
    yield state
    base = load_model(cfg.model or default_model("english"))
    train_items, dev_items, test_items = split_items(cfg)
    unit_map = make_unit_map(cfg.unit_map, base.tokenizer, cfg.k)
    state.unit_map = unit_map
    qa_cfg = sqa.fit_config(sqa.QAConfig(), base.model.config)  # same net for every start
    data = select_windows(sqa.encode_items(train_items, unit_map, qa_cfg),
                          cfg.negative_ratio, cfg.seed)
    state.windows = len(data["input_ids"])
    for init in cfg.inits:
        model = sqa.build_qa_model(init, base=base.model, seed=cfg.seed)
        tc = TrainConfig(max_steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                         warmup_steps=warmup_for(cfg.steps),
                         eval_every=cfg.eval_every or every(cfg.steps, 4),
                         log_every=every(cfg.steps), seed=cfg.seed)
        curve = state.curves.setdefault(init, [])
        state.phase = f"training from {init} init"
        for event in train(model, batch_sampler(data, cfg.batch_size), tc,
                           evaluate=lambda m: _dev_scores(m, unit_map, dev_items, qa_cfg)):
            point = {"step": event.step, "loss": event.loss}
            if event.metrics:
                point.update(event.metrics)
            state.done_steps += event.step - (curve[-1]["step"] if curve else 0)
            curve.append(point)
            state.elapsed_s = time.perf_counter() - t0
            yield state
        state.phase = f"scoring {init} init on {len(test_items)} test questions"
        yield state
        state.test[init] = sqa.evaluate(model, unit_map, test_items, qa_cfg)
        state.models[init] = model
        state.elapsed_s = time.perf_counter() - t0
        yield state
    state.phase = "done"
    yield state


def _dev_scores(model, unit_map, items, qa_cfg) -> dict[str, float]:
    scores = sqa.evaluate(model, unit_map, items, qa_cfg)
    return {"dev_ff1": scores["ff1"], "dev_aos": scores["aos"]}


def sweep(cfg: SpokenQARunConfig, *, on_state=None) -> tuple[dict, SpokenQAState]:
    """One full run for the record: JSON-ready {"config", "machine", "started", "wall_s",
    "runs"} and the final state (its models)."""
    from core.common.device import machine_info

    t0 = time.perf_counter()
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    state = None
    for state in run(cfg):
        if on_state:
            on_state(state)
    out = dict(state.metrics(), machine=machine_info(), started=started,
               model=cfg.model or default_model("english"),
               wall_s=round(time.perf_counter() - t0, 1))
    return out, state


def write_json(path, payload: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load_reference(path: Path = REFERENCE_PATH) -> dict | None:
    """The committed reference run (train-spoken-qa), or None when there is none yet."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def load_runs(ref: dict | None = None) -> list[dict]:
    """The reference run (read here unless given), then every run in RUNS_DIR (by name)."""
    ref = ref if ref is not None else load_reference()
    return ([ref] if ref else []) + [json.loads(p.read_text(encoding="utf-8"))
                                     for p in sorted(RUNS_DIR.glob("*.json"))]


RUN_COLUMNS = ["extractor", "k", "unit map", "steps", "pretrained FF1", "pretrained AOS",
               "random FF1", "random AOS", "test questions"]


def comparison_rows(runs: list[dict]) -> list[list]:
    """One row per run (RUN_COLUMNS): its units and the test scores of both starts."""
    rows = []
    for run in runs:
        cfg = run["config"]
        scores = [round(run["runs"][init][m], 3) if init in run["runs"] else None
                  for init in ("pretrained", "random") for m in ("ff1", "aos")]
        n = next((r["n"] for r in run["runs"].values() if "n" in r), 0)
        rows.append([cfg["extractor"], cfg["k"], cfg["unit_map"], cfg["steps"], *scores, n])
    return rows


def reference_summary(ref: dict) -> str:
    """Markdown: the scores per starting point and how to make the run again."""
    cfg = ref["config"]
    scores = "; ".join(f"**{init}** FF1 {r['ff1']:.3f}, AOS {r['aos']:.3f}"
                       for init, r in ref["runs"].items() if "ff1" in r)
    n = next((r["n"] for r in ref["runs"].values() if "n" in r), 0)
    return (f"{scores} on {n} held-out test questions (voices "
            f"{', '.join(TEST_VOICES)}). {cfg['extractor']} units, k={cfg['k']}, "
            f"{cfg['unit_map']} map; {cfg['steps']} steps of {cfg['batch_size']} windows, lr "
            f"{cfg['lr']:g}, seed {cfg['seed']}; {ref['model']} on {ref['machine']['device']}, "
            f"{ref['wall_s'] / 60:.0f} min, started {ref['started']}. Again: `python -m core "
            f"train-spoken-qa --extractor {cfg['extractor']} --k {cfg['k']} --unit-map "
            f"{cfg['unit_map']} --steps {cfg['steps']} --eval-every {cfg['eval_every']} "
            f"--eval-questions {cfg['eval_questions']}`.")
