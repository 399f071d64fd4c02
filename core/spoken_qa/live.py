"""The live panel's reference: its default run (config.LIVE_RUN) repeated over paired seeds
and committed as config.LIVE_PATH (`python -m core spoken-qa-live`), so that a user pressing
Train sees their curves over the spread of the same setting, and the tab says how often the
pretrained start came out ahead — both read from the file. Light (no torch).

    rec = load_live()                    # None until the file is made
    same_setting(rec, cfg)               # may its curves be drawn under a run of cfg?
    seed_curves(rec)                     # {"pretrained/0": curve, ...} for the bands
    live_finding(rec, say)               # "what to expect", in words
"""
from __future__ import annotations

from core.common import records
from core.common.stats import paired_difference, summary
from core.common.timing import duration_text
from core.common.words import Say, english
from core.spoken_qa.config import LIVE_PATH, SpokenQARunConfig, settings_of

# The measures compared, and which way is better: the held-out span loss at the run's last
# evaluation (separates first), and test FF1 on the run's test questions.
MEASURES = {"dev_loss": "lower", "dev_ff1": "higher", "test_ff1": "higher"}
FREE = ("seed", "seeds", "steps", "inits")  # a run may differ from the record in these only


def _final(run: dict, measure: str) -> float | None:
    if measure == "test_ff1":
        return run.get("ff1")
    vals = [p[measure] for p in run.get("curve", []) if measure in p]
    return vals[-1] if vals else None


def paired_summary(seeds: dict[str, dict], a: str = "pretrained", b: str = "random") -> dict:
    """Args: seed -> {"runs": {init: {"curve", "ff1", ...}}} (a live sweep's cells).
    Returns: per measure {a: summary, b: summary, "advantage": a's paired advantage over b
    (b - a for a loss, a - b for a score: > 0 means a is better), "wins": seeds where a is
    better, "n": seeds compared}; and "wall_s": summary of the seconds each seed took."""
    out = {}
    for measure, better in MEASURES.items():
        vals = {init: {s: _final(cell["runs"][init], measure) for s, cell in seeds.items()
                       if init in cell["runs"]} for init in (a, b)}
        vals = {init: {s: v for s, v in by_seed.items() if v is not None}
                for init, by_seed in vals.items()}
        if not vals[a] or not vals[b]:
            continue
        first, second = (vals[b], vals[a]) if better == "lower" else (vals[a], vals[b])
        adv = paired_difference(first, second)
        out[measure] = {a: summary(vals[a].values()), b: summary(vals[b].values()),
                        "advantage": adv, "wins": sum(d > 0 for d in
                                                      (first[s] - second[s] for s in adv["seeds"])),
                        "n": adv["n"], "better": better}
    out["wall_s"] = summary(cell["wall_s"] for cell in seeds.values())
    return out


def load_live(path=LIVE_PATH) -> dict | None:
    """The committed live reference (None when not made yet). Raises: RecordError."""
    return records.load(path)


def same_setting(record: dict | None, cfg: SpokenQARunConfig) -> bool:
    """True when the record was made with cfg's settings (seed, steps and starts aside); a
    setting the record predates counts as its default."""
    if not record:
        return False

    def settings(config: dict) -> dict:
        return {k: v for k, v in config.items() if k not in FREE}

    defaults = settings_of(SpokenQARunConfig())
    return (settings(settings_of(cfg))
            == settings({**defaults, **record["config"]}))


def seed_curves(record: dict, inits=None) -> dict[str, list[dict]]:
    """"init/seed" -> curve of every seed of the record (of `inits` only, when given)."""
    return {f"{init}/{seed}": run["curve"] for seed, cell in record["seeds"].items()
            for init, run in cell["runs"].items() if inits is None or init in inits}


def steps_label(record: dict, say: Say = english) -> str:
    """The live panel's step slider label, with the cost of a step in the live reference (a
    seed's mean wall time, evaluation and scoring included, over its training steps)."""
    cfg = record["config"]
    per_step = record["paired"]["wall_s"]["mean"] / (cfg["steps"] * len(cfg["inits"]))
    return say("Steps (~{seconds:.1f} s each in the live reference, on {device})",
               seconds=per_step, device=record["machine"]["device"])


def _early_loss(record: dict, init: str) -> tuple[int, float] | None:
    """(step, mean held-out span loss over seeds) at the first evaluation after step 0."""
    firsts = []
    for cell in record["seeds"].values():
        pts = [p for p in cell["runs"].get(init, {}).get("curve", [])
               if "dev_loss" in p and p["step"] > 0]
        if pts:
            firsts.append((pts[0]["step"], pts[0]["dev_loss"]))
    if not firsts:
        return None
    return firsts[0][0], sum(v for _, v in firsts) / len(firsts)


def live_finding(record: dict, say: Say = english) -> str:
    """Markdown: how often the pretrained start beat random init in the live reference, by
    how much (paired, 95% interval), and what a run costs, all read from the record; and,
    when the record shows it, that random init's loss fell faster at first."""
    p, cfg = record["paired"], record["config"]
    loss, ff1 = p["dev_loss"], p["test_ff1"]
    out = say(
        "**What a run at these defaults shows** ({n} paired seeds, {steps} steps, about "
        "{duration} a run on {device}): the text-pretrained start ended with the lower "
        "held-out span loss in {wins} of {n} seeds ({p_loss:.2f} vs {r_loss:.2f}; random − "
        "pretrained {adv:+.2f} ± {ci:.2f}) and the higher test FF1 in {ff1_wins} of {n} "
        "({p_ff1:.3f} vs {r_ff1:.3f} on {questions} test questions).",
        n=loss["n"], steps=cfg["steps"], duration=duration_text(p["wall_s"]["mean"], say),
        device=record["machine"]["device"], wins=loss["wins"],
        p_loss=loss["pretrained"]["mean"], r_loss=loss["random"]["mean"],
        adv=loss["advantage"]["mean"], ci=loss["advantage"]["ci95"] or 0.0,
        ff1_wins=ff1["wins"], p_ff1=ff1["pretrained"]["mean"], r_ff1=ff1["random"]["mean"],
        questions=cfg["test_questions"])
    early_p, early_r = _early_loss(record, "pretrained"), _early_loss(record, "random")
    if early_p and early_r and early_r[1] < early_p[1]:
        out += " " + say(
            "Random init's loss falls faster at first ({r:.2f} vs {p:.2f} after {step} steps): "
            "it learns where answers usually sit, before any start reads the question.",
            r=early_r[1], p=early_p[1], step=early_r[0])
    return out
