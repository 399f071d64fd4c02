"""The DNA tab's "what to expect" text, written from the reference record (no measured number
is typed anywhere): settings, each start's test accuracy, the paired differences against random
init (test accuracy, dev accuracy early on, area under the dev curve), the gap by training size
and the learning rates chosen on dev. Plain numbers in, Markdown out; no plotly, no torch.
"""
from __future__ import annotations

from core.common.stats import ci_text
from core.common.words import Say, english, listing

BASELINE = "random"  # the start the finding is measured against
# Every sentence goes through `say` (core.common.words): English by default, the page's
# language in the UI.
DEV_AT = "dev_at_"  # paired measures "dev_at_<N>": dev accuracy after N updates


def measures_of(measures: dict, say: Say = english) -> dict[str, str]:
    """The paired measures a record has, in the order they are quoted: test accuracy, dev
    accuracy after each number of updates (earliest first), area under the dev curve.

    Returns:
        key -> words, e.g. {"test_accuracy": "test accuracy", "dev_at_50": "dev accuracy at
        50 updates", "auc": "area under the dev curve"}.
    """
    dev = sorted((k for k in measures if k.startswith(DEV_AT)),
                 key=lambda k: int(k.removeprefix(DEV_AT)))
    out = {"test_accuracy": say("test accuracy")} if "test_accuracy" in measures else {}
    out.update({k: say("dev accuracy at {n} updates", n=k.removeprefix(DEV_AT)) for k in dev})
    if "auc" in measures:
        out["auc"] = say("area under the dev curve")
    return out


def accuracy_text(run: dict) -> str:
    """Returns: "0.707 ± 0.111", the mean test accuracy and its 95% half-width (as tables)."""
    return f"{run['test_accuracy']:.3f} {ci_text(run['ci95'])}"


def _overlap(a: dict, b: dict) -> bool | None:
    """Whether two runs' 95% intervals overlap; None when one has none (a single seed)."""
    if a["ci95"] is None or b["ci95"] is None:
        return None
    return abs(a["test_accuracy"] - b["test_accuracy"]) <= a["ci95"] + b["ci95"]


def task_verdict(runs: dict[str, dict], say: Say = english) -> str:
    """Which start leads one task, by how much, and whether the seeds separate it.

    Args:
        runs: starting point -> {"test_accuracy", "ci95", ...}.
    Returns:
        A sentence such as "re-emb leads, 0.018 ahead of pretrained; their 95% intervals
        overlap." (ties name every leader).
    """
    order = sorted(runs, key=lambda i: runs[i]["test_accuracy"], reverse=True)
    top = runs[order[0]]["test_accuracy"]
    leaders = [i for i in order if runs[i]["test_accuracy"] == top]
    rest = [i for i in order if i not in leaders]
    if not rest:
        if len(leaders) > 1:
            return say("{names} tie.", names=listing(leaders, say))
        return say("{name} is the only start.", name=leaders[0])
    runner = rest[0]
    lead = (say("{names} tie for the lead", names=listing(leaders, say)) if len(leaders) > 1
            else say("{name} leads", name=leaders[0]))
    gap = top - runs[runner]["test_accuracy"]
    overlaps = [_overlap(runs[i], runs[runner]) for i in leaders]
    if None in overlaps:
        return say("{lead}, {gap:.3f} ahead of {runner}; one seed gives no 95% interval.",
                   lead=lead, gap=gap, runner=runner)
    if any(overlaps):
        return say("{lead}, {gap:.3f} ahead of {runner}; their 95% intervals overlap.",
                   lead=lead, gap=gap, runner=runner)
    return say("{lead}, {gap:.3f} ahead of {runner}; their 95% intervals do not overlap.",
               lead=lead, gap=gap, runner=runner)


def _size_text(size, say: Say = english) -> str:
    return f"{size}" if size else say("all")


def _config_text(ref: dict, say: Say = english) -> str:
    cfg = ref["config"]
    if "sizes" in cfg:  # the data-size sweep: each task is shown at its default size
        sizes = ", ".join(f"{name} {_size_text(result.get('size'), say)}"
                          for name, result in ref["datasets"].items())
        size = say("labelled training sequences per task as shown ({sizes})", sizes=sizes)
    elif cfg["train_size"]:
        size = say("at most {n} labelled training sequences per task", n=cfg["train_size"])
    else:
        size = say("all labelled training sequences per task")
    bases = say("one base per word") if cfg["k"] == 1 else say("{k} bases per word", k=cfg["k"])
    text = say("{seeds} seeds per starting point, {size}, {bases}, {steps} steps, {model}",
               seeds=cfg["seeds"], size=size, bases=bases, steps=cfg["steps"],
               model=cfg["model"])
    if cfg.get("layers"):
        text = say("{text}, the first {layers} of its layers", text=text, layers=cfg["layers"])
    return text


def _split(ref: dict, a: str, b: str, same) -> tuple[list[str], list[str]]:
    """Tasks where `same(runs[a], runs[b])` is true, and where it is false; tasks without
    both starts, or where it is None (cannot tell), are in neither."""
    yes, no = [], []
    for name, result in ref["datasets"].items():
        runs = result["runs"]
        verdict = same(runs[a], runs[b]) if a in runs and b in runs else None
        if verdict is not None:
            (yes if verdict else no).append(name)
    return yes, no


def _baseline_text(ref: dict, say: Say = english) -> str:
    """Where the pretrained start is ahead of random init and where it is not."""
    ahead, behind = _split(ref, "pretrained", BASELINE,
                           lambda p, r: p["test_accuracy"] > r["test_accuracy"])
    if ahead and behind:
        return say("At this budget the pretrained start is, on the mean over seeds, ahead of "
                   "random init on {ahead}, but not on {behind}.",
                   ahead=listing(ahead, say), behind=listing(behind, say))
    if ahead:
        return say("At this budget the pretrained start is, on the mean over seeds, ahead of "
                   "random init on {ahead}.", ahead=listing(ahead, say))
    if behind:
        return say("At this budget the pretrained start is, on the mean over seeds, not ahead "
                   "of random init on {behind}.", behind=listing(behind, say))
    return ""


def early_text(ref: dict, say: Say = english) -> str:
    """Where the pretrained start is ahead of random init early in training: for each task,
    the updates after which the paired dev-accuracy difference has its interval above zero,
    and those after which random init is ahead (interval below zero)."""
    key = f"pretrained - {BASELINE}"
    parts = []
    for name, result in ref["datasets"].items():
        paired = result.get("paired", {}).get(key, {})
        dev = [k for k in measures_of(paired) if k.startswith(DEV_AT)]
        ahead = [k.removeprefix(DEV_AT) for k in dev if _where(paired[k]) == "interval above zero"]
        behind = [k.removeprefix(DEV_AT) for k in dev
                  if _where(paired[k]) == "interval below zero"]
        said = ([say("ahead after {n} updates", n=listing(ahead, say))] if ahead else []) + \
            ([say("behind after {n}", n=listing(behind, say))] if behind else [])
        if said:
            parts.append(say("{task}: {said}", task=name,
                             said=said[0] if len(said) == 1 else
                             say("{first}, {then}", first=said[0], then=said[1])))
    if not parts:
        return ""
    return say("**Early in training** (paired dev accuracy, 95% interval clear of zero), "
               "pretrained vs random init: {parts}.", parts=say("; ").join(parts))


def _control_text(ref: dict, say: Say = english) -> str:
    """Where re-emb (the pretrained body with fresh word embeddings) is level with pretrained."""
    level, apart = _split(ref, "re-emb", "pretrained", _overlap)
    if level and apart:
        return say("re-emb and pretrained are level (overlapping 95% intervals) on {level}; "
                   "their intervals are apart on {apart}.",
                   level=listing(level, say), apart=listing(apart, say))
    if level:
        return say("re-emb and pretrained are level (overlapping 95% intervals) on {level}.",
                   level=listing(level, say))
    if apart:
        return say("re-emb and pretrained are apart (95% intervals) on {apart}.",
                   apart=listing(apart, say))
    return ""


def reference_finding(ref: dict | None, say: Say = english) -> str:
    """The "what to expect" Markdown, written from the reference record: its settings, the
    test accuracy of every starting point on every task, and which start leads where.

    Args:
        ref: the record (lab.load_reference()), or None when none is committed.
    Returns:
        Markdown; with no record, a sentence saying so and how to make one.
    """
    if ref is None:
        return say("**What to expect here.** No reference run is committed yet: `python -m core "
                   "dna-sweep` makes one (it writes assets/dna/reference.json).")
    lines = [say("**What to expect here.** The reference run below was made on {device}: "
                 "{config}. Its test accuracy per task (mean ± 95% interval over seeds):",
                 device=ref["machine"]["device"], config=_config_text(ref, say)), ""]
    for name, result in ref["datasets"].items():
        runs = result["runs"]
        scores = say(", ").join(f"{say(init)} {accuracy_text(r)}" for init, r in runs.items())
        lines.append(say("- **{task}**: {scores}. {verdict}", task=name, scores=scores,
                         verdict=task_verdict(runs, say)))
        if "paired" in result:
            lines.append(f"  {paired_text(result['paired'], say)}")
    summary = say(" ").join(t for t in (_baseline_text(ref, say), _control_text(ref, say)) if t)
    if summary:
        lines += ["", summary]
    for extra in (early_text(ref, say), size_text(ref, say), lr_text(ref, say),
                  rate_text(ref, say)):
        if extra:
            lines += ["", extra]
    return "\n".join(lines)


def _signed(d: dict) -> str:
    half = "" if d["ci95"] is None else f" ± {d['ci95']:.3f}"
    return f"{d['mean']:+.3f}{half}"


def _where(d: dict, say: Say = english) -> str:
    """Where a paired difference's interval lies."""
    if d["ci95"] is None:
        return say("one seed: no interval")
    if d["mean"] - d["ci95"] > 0:
        return say("interval above zero")
    if d["mean"] + d["ci95"] < 0:
        return say("interval below zero")
    return say("interval spans zero")


def paired_text(paired: dict, say: Say = english) -> str:
    """One line per comparison: the paired differences (same seeds, same data) with their
    95 % intervals and where each interval lies, e.g. "pretrained − random, paired over 5
    seeds: test accuracy +0.050 ± 0.020 (interval above zero); ...".

    Args:
        paired: "init - random" -> measure -> {"mean", "ci95", "n", ...} (lab.summarise).
    """
    parts = []
    for name, measures in paired.items():
        quoted = measures_of(measures, say)
        shown = [say("{measure} {value} ({where})", measure=label,
                     value=_signed(measures[key]), where=_where(measures[key], say))
                 for key, label in quoted.items()]
        n = next((measures[k]["n"] for k in quoted), 0)
        if shown:
            parts.append(say("*{comparison}*, paired over {n} seeds: {measures}",
                             comparison=comparison_name(name, say), n=n,
                             measures=say("; ").join(shown)))
    return say(". ").join(parts) + (say(".") if parts else "")


def comparison_name(name: str, say: Say = english) -> str:
    """"pretrained - random" -> "pretrained − random", each start in the language of `say`."""
    return " − ".join(say(part) for part in name.split(" - "))


def size_text(ref: dict, say: Say = english) -> str:
    """Where pretraining helps most: the paired test-accuracy gap at every training size."""
    key = f"pretrained - {BASELINE}"
    parts = []
    for name, result in ref["datasets"].items():
        sizes = [(s, m["paired"][key]["test_accuracy"])
                 for s, m in result.get("by_size", {}).items() if key in m.get("paired", {})]
        if len(sizes) < 2:
            continue
        sizes.sort(key=lambda sg: int(sg[0]) or 10**9)  # 0 = all: last
        best = max(sizes, key=lambda sg: sg[1]["mean"])
        gaps = say(", ").join(f"{_size_text(int(s), say)} {_signed(g)}" for s, g in sizes)
        parts.append(say("{task}: {gaps} (largest with {best})", task=name, gaps=gaps,
                         best=_size_text(int(best[0]), say)))
    if not parts:
        return ""
    return say("**By labelled sequences** (pretrained − random, test accuracy, paired): "
               "{parts}.", parts=say("; ").join(parts))


def lr_text(ref: dict, say: Say = english) -> str:
    """The learning rate each start used, and how it was chosen."""
    cfg = ref["config"]
    lrs = cfg.get("lrs")
    if not isinstance(lrs, dict):
        return (say("Every start used the same learning rate ({lr:g}).", lr=cfg["lr"])
                if cfg.get("lr") else "")
    rates = say(", ").join(f"{say(init)} {rate_name(lr)}" for init, lr in lrs.items())
    search = cfg.get("lr_search")
    if not search:
        note = cfg.get("lr_note")
        if note:
            return say("Learning rates as given: {rates} ({note}).", rates=rates, note=note)
        return say("Learning rates as given: {rates}.", rates=rates)
    controls = "".join(say("; {control} takes {of}'s rate and runs at the shown sizes only",
                           control=c, of=of) for c, of in (cfg.get("controls") or {}).items())
    return say("Learning rate per start, chosen on dev ({task}, {size} sequences, {seeds} "
               "seeds of their own; best mean area under the dev curve): {rates}{controls}.",
               task=search["task"], size=search["size"], seeds=len(search["seeds"]),
               rates=rates, controls=controls)


def rate_name(lr: float) -> str:
    """1e-4 -> "1e-4", 3e-05 -> "3e-5", 0.002 -> "2e-3", 2.5e-4 -> "2.5e-4" (as rates are
    written on the page)."""
    mantissa, exp = f"{lr:.3e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exp)}"


def rate_gaps(ref: dict, a: str = "pretrained", b: str = BASELINE) -> list[tuple[float, float]]:
    """(rate, mean dev area of a - that of b) at every rate of the record's search that both
    starts were tried at, by rate."""
    table = ref.get("lr_search") or {}
    if a not in table or b not in table:
        return []
    both = sorted(set(table[a]) & set(table[b]), key=float)
    return [(float(lr), table[a][lr]["mean"] - table[b][lr]["mean"]) for lr in both]


def rate_text(ref: dict, say: Say = english) -> str:
    """Is the head start a matter of the learning rate? The rate search's dev area under the
    curve, pretrained - random, at every rate both were tried at, and each start's best."""
    gaps, table = rate_gaps(ref), ref.get("lr_search") or {}
    if not gaps:
        return ""
    ahead = [f"{rate_name(lr)} ({gap:+.3f})" for lr, gap in gaps if gap > 0]
    behind = [f"{rate_name(lr)} ({gap:+.3f})" for lr, gap in gaps if gap <= 0]
    best = {init: max(rows, key=lambda lr: rows[lr]["mean"]) for init, rows in table.items()
            if init in ("pretrained", BASELINE)}
    best_text = say(", ").join(f"{say(init)} {rate_name(float(lr))} "
                               f"({table[init][lr]['mean']:.3f})"
                               for init, lr in best.items())
    parts = []
    if ahead:
        parts.append(say("the pretrained start is ahead at {rates}", rates=listing(ahead, say)))
    if behind:
        parts.append(say("not at {rates}", rates=listing(behind, say)))
    search = ref["config"].get("lr_search") or {}
    return say("**Is the head start a matter of the learning rate?** In the rate search (area "
               "under the dev curve, {task}, {size} sequences, {seeds} seeds; pretrained − "
               "random at each rate both were tried at): {parts}. Each start's best rate: "
               "{best}.", task=search.get("task", "splice"), size=search.get("size", ""),
               seeds=len(search.get("seeds", ())), parts=say("; ").join(parts), best=best_text)


def shared_finding(ref: dict | None, say: Say = english) -> str:
    """A record where every start used one learning rate (the paper fine-tunes every start at
    the same rate), in words: the rate, the task and size, and the paired differences.
    "" without a record."""
    if not ref:
        return ""
    cfg = ref["config"]
    rates = sorted({float(v) for v in (cfg.get("lrs") or {}).values()})
    lines = []
    for name, result in ref["datasets"].items():
        lines.append(say("**One learning rate for every start, as in the paper** ({rates}; "
                         "{task}, {size} labelled sequences, {steps} updates): {paired}",
                         rates=listing([rate_name(r) for r in rates], say), task=name,
                         size=_size_text(result.get("size", 0), say), steps=cfg["steps"],
                         paired=paired_text(result.get("paired", {}), say)))
    return "\n\n".join(lines)
