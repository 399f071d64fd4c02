"""The fake-data experiment's settings, run configurations, committed references and shipped
bodies' metadata: what the tab is built from. Light on purpose (no torch): the page builds,
and the port answers, before the models' code loads (core.pretrain.lab and .bodies re-export
all of it)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.common import records, timing
from core.common.paths import ASSETS
from core.pretrain.fake_data import BOUNDS
from core.text.mlm_sizes import MAX_POSITIONS, SIZES  # noqa: F401 - SIZES: a run's choices

# "english": real English text, the upper bound; "scratch": no pretraining, the baseline that
# always runs and that gains are measured against.
ENGLISH, SCRATCH = BOUNDS
LINE_LENGTH = MAX_POSITIONS - 2  # tokens of data per line ([CLS] line [SEP])
DEFAULT_SCHEMES = ("flat-128", "shuffle-64")  # the lecture's "paired" and "shuffle"
REFERENCE_PATH = ASSETS / "pretrain" / "reference.json"
TRANSFER_PATH = ASSETS / "pretrain" / "transfer.json"  # python -m core transfer-sweep
# What one run in the UI may cost: estimated wall seconds (the CLI has no limit).
UI_BUDGET_S = timing.UI_BUDGET_S
# Seconds per MLM step at DEFAULT_BATCH lines, by (device type, size), for the UI's estimate
# (scaled by batch / DEFAULT_BATCH). CPU values were measured on 2 busy cores; the tiny model's
# step is dominated by the MLM head (19 masked positions a line x 30,522 ids). CUDA values are
# upper bounds from the FLOP count. A size absent for a device is refused in the UI.
STEP_S = {("cpu", "tiny"): 0.3, ("cpu", "small"): 0.9,
          ("cuda", "tiny"): 0.01, ("cuda", "small"): 0.015, ("cuda", "medium"): 0.03}
# Seconds per fine-tuning step (batch 32, sentences of <= 128 tokens), same keys.
FINETUNE_STEP_S = {("cpu", "tiny"): 0.13, ("cpu", "small"): 0.35,
                   ("cuda", "tiny"): 0.01, ("cuda", "small"): 0.01, ("cuda", "medium"): 0.02}
DEFAULT_BATCH = 16
MAX_STEPS = 100_000  # hard bound for any run, CLI included (the paper's pretraining length)


@dataclass(frozen=True)
class PretrainRunConfig:
    schemes: tuple[str, ...] = DEFAULT_SCHEMES  # pretraining data; scratch is added always
    size: str = "tiny"  # core.pretrain.mlm.SIZES
    arch: str = "bert"  # core.pretrain.mlm.ARCHS
    steps: int = 200  # MLM steps per scheme
    batch_size: int = DEFAULT_BATCH  # lines per MLM step
    task: str = "sentiment"  # core.text.tasks.ALL_TASKS (paraphrase, qnli: sentence pairs)
    finetune_steps: int = 150  # fine-tuning steps per (scheme, seed)
    train_size: int | None = None  # labelled examples drawn for fine-tuning (None = all)
    seeds: int = 1  # fine-tuning seeds per scheme (seed, seed+1, ...)
    seed: int = 0  # pretraining seed and first fine-tuning seed
    vocab: str = "bert"  # core.pretrain.data.VOCABS: pretraining and fine-tuning ids


def load_reference(path: Path = REFERENCE_PATH) -> dict | None:
    """The committed reference sweep (a run record), or None when there is none.

    Raises:
        core.common.records.RecordError: the file is not a run record.
    """
    return records.load(path)


def load_transfer(path: Path = TRANSFER_PATH) -> dict | None:
    """The committed transfer reference (probe and fine-tune, paired seeds), or None.

    Raises:
        core.common.records.RecordError: the file is not a run record.
    """
    return records.load(path)


# --- the shipped pretrained bodies (core.pretrain.bodies) ---
BODIES_DIR = ASSETS / "pretrain" / "bodies"
META = "bodies.json"
MATCHED = "matched"  # scratch with English's embedding statistics (core.pretrain.mlm)
# Measured probe step of a tiny body with the lab vocabulary on this kind of device (16
# lines per step, evaluation included): the UI's time estimate. CPU: `python -m core bench
# probe` on 2 cores, the six default arms x 200 steps in 106 s (0.088 s a step).
PROBE_STEP_S = {"cpu": 0.09, "cuda": 0.02}
MAX_PROBE_STEPS = 2000


def bodies_folder(folder) -> Path:
    """`folder`, or the shipped bodies' folder (read at call time)."""
    return Path(folder) if folder is not None else BODIES_DIR


def shipped(folder=None) -> dict | None:
    """bodies.json of the shipped bodies, or None when none are shipped."""
    path = bodies_folder(folder) / META
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def arms_available(folder=None) -> list[str]:
    """The arms a probe run can use: scratch, matched (with english), the shipped schemes."""
    meta = shipped(folder)
    if meta is None:
        return []
    schemes = list(meta["schemes"])
    return [SCRATCH] + ([MATCHED] if "english" in schemes else []) + schemes


@dataclass(frozen=True)
class ProbeRunConfig:
    # every arm of the transfer reference (the bodies the lab ships): the ordering in one run
    arms: tuple[str, ...] = ("scratch", "matched", "english", "uniform", "unigram", "flat-128")
    steps: int = 200  # probe updates per arm
    seed: int = 0  # fresh embeddings, batches and masks: the same for every arm (paired)
