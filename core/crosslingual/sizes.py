"""Does alignment grow with the pretraining corpus? The record of `python -m core
xling-size-sweep` (the lab's own multilingual BERTs, core.crosslingual.xlm, pretrained on
growing numbers of Bible verses per language) read for the tab: per corpus size, each
measure over seeds with its 95 % interval, the gain over the untrained model paired by seed,
and the finding in words. Plain numbers only (no torch): the page builds before any model.

    rec = load_sizes()                 # assets/crosslingual/size-sweep.json, or None
    rows = size_rows(rec)              # one row per size, smallest first ("all" last)
    text = size_finding(rec)           # what the reference shows, read from it

Cell keys: `<size>/<seed>` (0 = all train verses), `fake/<seed>` (English + fake English at
the largest size: no token shared), `untrained/<seed>` and `untrained-fake/<seed>` (the same
nets before pretraining: the floor every curve starts from).
"""
from __future__ import annotations

from pathlib import Path

from core.common import records
from core.common.paths import ASSETS
from core.common.stats import ci_text, paired_difference, summary
from core.common.words import Say, english, listing
from core.crosslingual.data import language_label

SIZE_PATH = ASSETS / "crosslingual" / "size-sweep.json"
MEASURES = ("p_at_1_raw", "p_at_1_centered", "mrr_raw", "mrr_centered")
MEASURE_NAMES = {"p_at_1_raw": "P@1 raw", "p_at_1_centered": "P@1 centered",
                 "mrr_raw": "MRR raw", "mrr_centered": "MRR centered"}
HEADLINE = "p_at_1_centered"  # the measure the finding quotes
LIVE_MAX_STEPS = 5_000  # a live run's steps at most (the UI budget usually refuses sooner)
LIVE_STEPS = 500  # a live run's default: under 3 minutes on 2 CPU cores (python -m core bench xling)
UNTRAINED, FAKE = "untrained", "fake"
UNTRAINED_FAKE = "untrained-fake"  # the control's own floor (its vocabulary differs)
FAKE_LABEL = "fake English (fake)"


def language_name(code: str) -> str:
    """"English (en)", "fake English (fake)": as the tab names languages."""
    return FAKE_LABEL if code == FAKE else language_label(code)


def load_sizes(path: Path = SIZE_PATH) -> dict | None:
    """The committed size sweep's record, or None when none is committed."""
    return records.load(path)


def aggregate(config: dict, cells: dict) -> dict:
    """Per size (and the control, and the untrained floors): each measure over seeds with its
    95 % interval, and the gain over the untrained model of the same vocabulary, paired by
    seed.

    Args:
        config: the sweep's config (sizes, fake).
        cells: finished cells, key -> {"test": {measure: value, ...}, "tokens": ...}.
    Returns:
        group ("250", ..., "0", "fake", "untrained", "untrained-fake") -> {"seeds",
        measure: summary, f"{measure}_gain": paired difference, "tokens_per_language"}.
    """
    def by_seed(group: str) -> dict[int, dict]:
        return {int(k.rsplit("/", 1)[1]): v for k, v in cells.items()
                if k.rsplit("/", 1)[0] == group}

    out = {}
    groups = [str(s) for s in config["sizes"]] + ([FAKE, UNTRAINED_FAKE]
                                                  if config.get("fake") else [])
    for group in groups + [UNTRAINED]:
        done = by_seed(group)
        if not done:
            continue
        floor = by_seed(UNTRAINED_FAKE if group == FAKE else UNTRAINED)
        row = {"seeds": sorted(done)}
        for m in MEASURES + ("language_ari",):
            vals = {s: v["test"][m] for s, v in sorted(done.items())}
            row[m] = summary(vals.values())
            if not group.startswith(UNTRAINED) and floor:
                row[f"{m}_gain"] = paired_difference(vals, {s: v["test"][m]
                                                            for s, v in floor.items()})
        if "tokens" in next(iter(done.values())):
            row["tokens_per_language"] = next(iter(done.values()))["tokens"]
        out[group] = row
    return out


def size_verses(record: dict, size: int) -> int:
    """Verses per language a size stands for (0 = all the train verses)."""
    return int(size) or int(record["config"].get("train_verses") or 0)


def size_label(record: dict, size: int, say: Say = english) -> str:
    """"250", or "all (23,871)" for size 0."""
    if int(size):
        return f"{int(size):,}"
    n = size_verses(record, 0)
    return say("all ({n})", n=f"{n:,}") if n else say("all")


def size_rows(record: dict, measure: str = HEADLINE) -> list[dict]:
    """One row per finished size, smallest corpus first: {"size", "verses", "mean", "ci95",
    "per_seed", "seeds", "gain" (paired over the untrained floor, or None)}."""
    summ = record.get("summary") or {}
    rows = []
    for size in sorted(record["config"]["sizes"], key=lambda s: size_verses(record, s) or 1e12):
        row = summ.get(str(size))
        if not row:
            continue
        rows.append({"size": int(size), "verses": size_verses(record, size),
                     "mean": row[measure]["mean"], "ci95": row[measure]["ci95"],
                     "per_seed": row[measure]["per_seed"], "seeds": row["seeds"],
                     "gain": row.get(f"{measure}_gain")})
    return rows


def seed_count(n: int, say: Say = english) -> str:
    """"1 seed", "3 seeds" (in the language of `say`)."""
    return say("{n} seed", n=n) if n == 1 else say("{n} seeds", n=n)


def _value(d: dict) -> str:
    return f"{d['mean']:.3f}" + (f" ± {d['ci95']:.3f}" if d.get("ci95") is not None else "")


def size_finding(record: dict | None, say: Say = english, measure: str = HEADLINE) -> str:
    """The reference's finding in words, every number read from the record."""
    if not record:
        return say("No corpus-size reference is committed yet: run `python -m core "
                   "xling-size-sweep` to make one.")
    c, summ = record["config"], record.get("summary") or {}
    rows = size_rows(record, measure)
    name = MEASURE_NAMES[measure]
    parts = [say("**What the reference shows.** The lab's own {size_name} BERT ({layers}), "
                 "pretrained for {steps} steps on {languages} at each corpus size, then "
                 "tested on {verses} held-out verses (whole books never seen in "
                 "pretraining): retrieval of the same verse in the other language, {name}, "
                 "mean over {seeds} ± 95 % interval.",
                 size_name=c.get("size", ""), layers=c.get("architecture", ""),
                 steps=f"{c['steps']:,}",
                 languages=listing([say(language_name(x)) for x in c["languages"]], say),
                 verses=c.get("test_verses", ""), name=name,
                 seeds=seed_count(max((len(r["per_seed"]) for r in rows), default=0), say))]
    if FAKE in c["languages"]:
        parts.append(say("Fake English is the same English text written in letters that share "
                         "no token with English (Dufter & Schütze's setting): whatever aligns "
                         "the two was learned, not copied."))
    if rows:
        parts.append(say("By verses per language: {points}.", points=say(", ").join(
            f"{size_label(record, r['size'], say)}: {_value(r)}" for r in rows)))
    floor = summ.get(UNTRAINED)
    if floor:
        parts.append(say("The same net before pretraining scores {value} (it finds a few "
                         "verses by their length, word positions and shared tokens alone).",
                         value=_value(floor[measure])))
    gains = [r for r in rows if r["gain"] and r["gain"]["n"] > 1]
    if gains:
        parts.append(say("Gain over that floor, paired by seed: {gains}.", gains=say(", ").join(
            f"{size_label(record, r['size'], say)} {r['gain']['mean']:+.3f} "
            f"({ci_text(r['gain']['ci95'])})" for r in gains)))
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        diff = paired_difference(dict(zip(last["seeds"], last["per_seed"])),
                                 dict(zip(first["seeds"], first["per_seed"])))
        if diff["n"] > 1:
            grows = diff["ci95"] is not None and diff["mean"] - diff["ci95"] > 0
            parts.append(say(
                "Largest corpus − smallest, paired by seed: {diff} ({ci}) — {verdict}.",
                diff=f"{diff['mean']:+.3f}", ci=ci_text(diff["ci95"]),
                verdict=say("alignment grows with the corpus") if grows else
                say("no clear growth at this budget")))
    fake = summ.get(FAKE)
    if fake:
        parts.append(say("Control — English and fake English (the same text in letters that "
                         "share no token with English): {value}; untrained {floor}.",
                         value=_value(fake[measure]),
                         floor=_value(summ[UNTRAINED_FAKE][measure])
                         if UNTRAINED_FAKE in summ else "–"))
    planned = record.get("planned") or []
    if planned:
        parts.append(say("Still running: {n} of the sweep's runs ({cells}).", n=len(planned),
                         cells=", ".join(planned)))
    return say(" ").join(parts)
