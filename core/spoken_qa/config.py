"""The spoken-QA experiment's settings, run configuration, committed runs and shipped models'
metadata: what the tab is built from. Light on purpose (no torch): the page builds, and the
port answers, before the models' code loads (core.spoken_qa.lab, .ship and .pipeline re-export
all of it)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from core.common import records
from core.common.paths import ASSETS

INITS = ("pretrained", "random")  # the English model's weights, or the same net re-drawn
ASSET_DIR = ASSETS / "spoken_qa"
REFERENCE_PATH = ASSET_DIR / "reference.json"  # python -m core train-spoken-qa
RUNS_DIR = ASSET_DIR / "runs"  # more runs to compare (other extractors, k, maps): --out here
DEFAULT_K = 128  # DUAL's best (HuBERT-128)
DEFAULT_EXTRACTOR = "tiny-hubert"  # the lab's own speech model (assets/speech/tiny-hubert)
# Steps a run may take: one step of 8 windows takes ~1 s (256 tokens) to ~3.5 s (512 tokens) on
# 2 CPU cores with MiniLM-L6, so the longest run is a few CPU-hours (checkpointed, resumable).
MAX_STEPS = 5000
# Windows of core.spoken_qa.model (a run may choose shorter ones):
MAX_LEN = 512  # tokens a window holds at most (BERT's positions); capped by the encoder's
DOC_STRIDE = 128  # passage units shared by neighbouring windows
# Question units kept (the first ones). Generated questions run 18 words at the median, which
# MFCC units (k=128) at 160 wpm dedup to ~250; longer ones are cut so that a 512-token window
# keeps 253 passage units (7 windows for a 60-word passage).
MAX_QUESTION_TOKENS = 256


@dataclass(frozen=True)
class SpokenQARunConfig:
    """The settings of one run (saved in its record as `config`)."""

    inits: tuple[str, ...] = INITS  # starting points to compare
    extractor: str = DEFAULT_EXTRACTOR  # speech features the units come from
    k: int = DEFAULT_K  # units in the codebook
    unit_map: str = "offset"  # units -> tokens: DUAL's offset or random whole words
    steps: int = 40  # optimizer steps per starting point
    seed: int = 0  # head / random encoder init, window draws, batches
    batch_size: int = 8  # windows per step
    layers: int | None = None  # keep the English model's first N layers (None = all)
    window: int = MAX_LEN  # tokens per window: [CLS] question [SEP] passage slice [SEP]
    question_tokens: int = MAX_QUESTION_TOKENS  # question units kept in a window
    stride: int = DOC_STRIDE  # passage units shared by neighbouring windows
    lr: float = 1e-4  # peak AdamW rate of every start not named in lrs
    lrs: tuple[tuple[str, float], ...] = ()  # per-start rates, e.g. (("random", 3e-4),)
    negative_ratio: float = 0.5  # windows without the answer per window with it
    train_questions: int | None = None  # train questions used (None = all), drawn by seed
    eval_questions: int = 40  # dev questions behind the FF1 curve (0: none; the span loss
    #   reads every dev question)
    eval_every: int = 0  # dev FF1 every N steps (0 = 4 points per curve)
    test_questions: int | None = None  # held-out test questions scored (None = all)
    limit_per_split: int | None = None  # voice only the first N passages of each split
    model: str | None = None  # english role model (default: the profile's)
    train_takes: int = 1  # espeak-ng voicings of every train passage (more voices, speeds
    #   and pitches of the same text); dev and test keep their one voice
    take_voices: str = "train"  # voices of the extra voicings: data.TAKE_POOLS' "train" (the
    #   six train voices) or "more" (with espeak-ng's female and male variants)


# The live panel's default run: MiniLM's first 3 layers for both starts (the full body takes
# twice as long), short windows (a 96-unit question, 157 passage units), 60 voiced passages per
# split, held-out span loss every 20 steps (dev FF1 on a handful of questions is mostly noise
# at this length; test FF1 on 30 questions at the end); the same setting repeated over 5
# paired seeds is committed as LIVE_PATH (python -m core spoken-qa-live).
LIVE_RUN = SpokenQARunConfig(steps=80, layers=3, window=256, question_tokens=96, stride=64,
                             limit_per_split=60, eval_questions=0, eval_every=20,
                             test_questions=30)
LIVE_PATH = ASSET_DIR / "live.json"


def settings_of(cfg: SpokenQARunConfig) -> dict:
    """cfg as a record or checkpoint stores it (tuples as lists), for comparing with one."""
    return json.loads(json.dumps(asdict(cfg)))


def rate_of(cfg: SpokenQARunConfig, init: str) -> float:
    """The peak rate a start trains at: its own from cfg.lrs, else cfg.lr."""
    return dict(cfg.lrs).get(init, cfg.lr)


def load_reference(path: Path = REFERENCE_PATH) -> dict | None:
    """Args: path of a run record (default: the committed reference, train-spoken-qa).
    Returns: the record, or None when there is none yet.
    Raises: RecordError when the file is not a run record."""
    return records.load(path)


def load_runs(ref: dict | None = None) -> list[dict]:
    """Args: the reference record, when already read (else it is read here).
    Returns: the reference run first (when there is one), then every run in RUNS_DIR by name."""
    ref = ref if ref is not None else load_reference()
    return ([ref] if ref else []) + records.load_all(RUNS_DIR)


# --- the shipped QA models (core.spoken_qa.ship) ---
WEIGHTS = "qa.safetensors"
META = "qa.json"
EMBEDDING = "encoder.embeddings.word_embeddings.weight"
MAX_FILE_BYTES = 10 * 1024 * 1024  # the house limit for a committed file
SHIP_DIR = ASSETS / "speech" / "qa"
RANDOM_SHIP_DIR = ASSETS / "speech" / "qa-random"  # the same net trained from random init


def shipped_meta(folder=SHIP_DIR) -> dict | None:
    """qa.json of the committed model (what it was trained on and how it scores), or None."""
    path = Path(folder) / META
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


UNIT_KEYS = ("extractor", "k", "unit_map")  # what two models must share to read the same units


def twin_folder(meta: dict, folder: str = str(RANDOM_SHIP_DIR)) -> str | None:
    """The random-init model's folder when one is shipped that reads the same units as the
    model with qa.json `meta` (so both answer from one pass of the audio), else None."""
    twin = shipped_meta(folder)
    if twin is None or any(twin.get(k) != meta.get(k) for k in UNIT_KEYS):
        return None
    return folder
