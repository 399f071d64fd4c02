"""The DNA experiment's settings, starting points and committed reference: what the tab is
built from. Light on purpose (no torch): the page builds, and the port answers, before the
models' code loads (core.dna.lab re-exports all of it)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.common import records
from core.common.paths import ASSETS

INIT_ABOUT = {  # one line each for the UI
    "pretrained": "English-pretrained BERT, bases mapped to arbitrary English words",
    "re-emb": "pretrained body, word embeddings re-initialised (control)",
    "random": "same network, random initialisation (baseline)",
}
INITS = tuple(INIT_ABOUT)  # ("pretrained", "re-emb", "random")
MAX_K = 6  # 4**6 = 4,096 k-mers; the 30,522-token BERT vocabulary has ~21k usable words

# Bounds a UI run must respect (the CLI may go beyond): a 2-core CPU does ~1 step/s at k=1.
MAX_STEPS = 2000
MAX_SEEDS = 5
REFERENCE_PATH = ASSETS / "dna" / "reference.json"  # python -m core dna-sweep
# The same sweep with one learning rate for every start (the paper's protocol), at the tab's
# default task and size: the run the live default repeats, when committed.
SHARED_PATH = ASSETS / "dna" / "shared-rate.json"
BASELINE = "random"  # paired differences are taken against this start
# Peak rates used until a reference run has chosen them on dev (its config["lrs"]): a
# pretrained body wants a smaller step than a random one (BERT fine-tuning vs from scratch).
FALLBACK_LRS = {"pretrained": 1e-4, "re-emb": 1e-4, "random": 3e-4}
CONVERGENCE_STEPS = (50, 100, 200)  # dev accuracy reported at these update counts
CONVERGENCE_SHARE = 0.9  # "updates to 90 % of the final dev accuracy"


@dataclass(frozen=True)
class DnaRunConfig:
    dataset: str = "splice"  # one of core.dna.data.DATASETS
    # Defaults: the reference run's regime (k=1, 400 sequences, rates per start, 200-update
    # schedule) cut to its early phase, where the reference shows the pretrained start ahead
    # (dev accuracy after 50 updates, paired). One base per
    # token is the paper's mapping.
    k: int = 1  # bases per token (1..6); each k-mer -> one arbitrary English word
    mapping_seed: int = 0  # which arbitrary words
    inits: tuple[str, ...] = ("pretrained", "random")  # starting points to compare
    steps: int = 50  # optimizer steps per run (`python -m core bench dna` times them)
    seeds: int = 1  # runs per starting point (seed, seed+1, ...); promoters: one fold each
    seed: int = 0  # first seed
    train_size: int | None = 400  # labelled training examples drawn (None = all)
    batch_size: int = 32
    lr: float | None = None  # one peak AdamW rate for every start; None = per start (below)
    lrs: tuple[tuple[str, float], ...] = ()  # per-start peak rates, e.g. (("random", 3e-4),);
    #   a start not named here uses the reference run's choice, else FALLBACK_LRS
    layers: int | None = None  # keep the English model's first N layers (None = all)
    eval_every: int = 10  # dev accuracy every N steps (the live curve, convergence measures)
    # the learning-rate schedule's length when longer than `steps` (warm-up and decay as in a
    # run of that many updates): the default run is the reference's first 50 updates, at the
    # reference's rates step for step, so its curves continue the reference's bands
    schedule_steps: int | None = 200
    model: str | None = None  # english role model (default: the profile's)


def load_reference(path: Path = REFERENCE_PATH) -> dict | None:
    """The reference sweep (core.tools.sweeps.dna), or None when none is committed.

    Raises:
        records.RecordError: the file is there but is not a run record.
    """
    return records.load(path)


def load_shared(path: Path = SHARED_PATH) -> dict | None:
    """The one-rate sweep (SHARED_PATH), or None when none is committed.

    Raises:
        records.RecordError: the file is there but is not a run record.
    """
    return records.load(path)


def load_live_reference() -> dict | None:
    """The record the live default repeats: the one-rate sweep when committed, else the
    reference."""
    return load_shared() or load_reference()


def eval_every(steps: int) -> int:
    """Dev accuracy every 10 updates in short runs (a curve with points), every 25 (or a
    multiple, for long runs) beyond 100 updates: the evaluations stay a small share of a run."""
    return DnaRunConfig.eval_every if steps <= 100 else max(25, steps // 200 * 25)


def live_config(reference: dict | None, **settings) -> DnaRunConfig:
    """A live run's settings (the tab's Train, `python -m core bench dna`): `settings` over
    the defaults, on the reference's body (its first N layers), rates (those not given) and
    learning-rate schedule, so the run's curves continue the reference's bands; dev evaluated
    every eval_every(steps)."""
    ref_cfg = (reference or {}).get("config") or {}
    if settings.get("lr") is None and isinstance(ref_cfg.get("lrs"), dict):
        rates = dict(ref_cfg["lrs"])  # the reference's rate of every start not given here
        rates.update(dict(settings.get("lrs") or ()))
        settings["lrs"] = tuple(rates.items())
    settings.setdefault("layers", ref_cfg.get("layers"))
    settings.setdefault("schedule_steps", ref_cfg.get("steps") or DnaRunConfig.schedule_steps)
    settings.setdefault("eval_every", eval_every(settings.get("steps", DnaRunConfig.steps)))
    return DnaRunConfig(**settings)
