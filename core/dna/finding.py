"""The DNA tab's "what to expect" text, written from the reference record (no measured number
is typed anywhere): settings, each start's test accuracy, the paired differences against random
init (test accuracy, dev accuracy early on, area under the dev curve), the gap by training size
and the learning rates chosen on dev. Plain numbers in, Markdown out; no plotly, no torch.
"""
from __future__ import annotations

from core.common.stats import ci_text

BASELINE = "random"  # the start the finding is measured against
NO_REFERENCE = ("**What to expect here.** No reference run is committed yet: "
                "`python -m core dna-sweep` makes one (it writes assets/dna/reference.json).")
DEV_AT = "dev_at_"  # paired measures "dev_at_<N>": dev accuracy after N updates


def measures_of(measures: dict) -> dict[str, str]:
    """The paired measures a record has, in the order they are quoted: test accuracy, dev
    accuracy after each number of updates (earliest first), area under the dev curve.

    Returns:
        key -> words, e.g. {"test_accuracy": "test accuracy", "dev_at_50": "dev accuracy at
        50 updates", "auc": "area under the dev curve"}.
    """
    dev = sorted((k for k in measures if k.startswith(DEV_AT)),
                 key=lambda k: int(k.removeprefix(DEV_AT)))
    out = {"test_accuracy": "test accuracy"} if "test_accuracy" in measures else {}
    out.update({k: f"dev accuracy at {k.removeprefix(DEV_AT)} updates" for k in dev})
    if "auc" in measures:
        out["auc"] = "area under the dev curve"
    return out


def accuracy_text(run: dict) -> str:
    """Returns: "0.707 ± 0.111", the mean test accuracy and its 95% half-width (as tables)."""
    return f"{run['test_accuracy']:.3f} {ci_text(run['ci95'])}"


def _overlap(a: dict, b: dict) -> bool | None:
    """Whether two runs' 95% intervals overlap; None when one has none (a single seed)."""
    if a["ci95"] is None or b["ci95"] is None:
        return None
    return abs(a["test_accuracy"] - b["test_accuracy"]) <= a["ci95"] + b["ci95"]


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def task_verdict(runs: dict[str, dict]) -> str:
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
        return f"{_names(leaders)} {'tie' if len(leaders) > 1 else 'is the only start'}."
    runner = rest[0]
    lead = (f"{_names(leaders)} tie for the lead" if len(leaders) > 1
            else f"{leaders[0]} leads")
    gap = top - runs[runner]["test_accuracy"]
    overlaps = [_overlap(runs[i], runs[runner]) for i in leaders]
    if None in overlaps:
        return f"{lead}, {gap:.3f} ahead of {runner}; one seed gives no 95% interval."
    apart = "overlap" if any(overlaps) else "do not overlap"
    return f"{lead}, {gap:.3f} ahead of {runner}; their 95% intervals {apart}."


def _size_text(size) -> str:
    return f"{size}" if size else "all"


def _config_text(ref: dict) -> str:
    cfg = ref["config"]
    if "sizes" in cfg:  # the data-size sweep: each task is shown at its default size
        sizes = ", ".join(f"{name} {_size_text(result.get('size'))}"
                          for name, result in ref["datasets"].items())
        size = f"labelled training sequences per task as shown ({sizes})"
    else:
        size = (f"at most {cfg['train_size']}" if cfg["train_size"] else "all") + \
            " labelled training sequences per task"
    bases = "one base" if cfg["k"] == 1 else f"{cfg['k']} bases"
    body = (f", the first {cfg['layers']} of its layers" if cfg.get("layers") else "")
    return (f"{cfg['seeds']} seeds per starting point, {size}, {bases} per word, "
            f"{cfg['steps']} steps, {cfg['model']}{body}")


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


def _baseline_text(ref: dict) -> str:
    """Where the pretrained start is ahead of random init and where it is not."""
    ahead, behind = _split(ref, "pretrained", BASELINE,
                           lambda p, r: p["test_accuracy"] > r["test_accuracy"])
    head = "At this budget the pretrained start is, on the mean over seeds,"
    if ahead and behind:
        return f"{head} ahead of random init on {_names(ahead)}, but not on {_names(behind)}."
    if ahead:
        return f"{head} ahead of random init on {_names(ahead)}."
    if behind:
        return f"{head} not ahead of random init on {_names(behind)}."
    return ""


def early_text(ref: dict) -> str:
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
        if ahead or behind:
            said = [f"ahead after {_names(ahead)} updates" if ahead else "",
                    f"behind after {_names(behind)}" if behind else ""]
            parts.append(f"{name}: " + ", ".join(t for t in said if t))
    if not parts:
        return ""
    return ("**Early in training** (paired dev accuracy, 95% interval clear of zero), "
            "pretrained vs random init: " + "; ".join(parts) + ".")


def _control_text(ref: dict) -> str:
    """Where re-emb (the pretrained body with fresh word embeddings) is level with pretrained."""
    level, apart = _split(ref, "re-emb", "pretrained", _overlap)
    parts = []
    if level:
        parts.append(f"re-emb and pretrained are level (overlapping 95% intervals) on "
                     f"{_names(level)}")
    if apart:
        parts.append(f"their intervals are apart on {_names(apart)}" if level else
                     f"re-emb and pretrained are apart (95% intervals) on {_names(apart)}")
    return ("; ".join(parts) + ".") if parts else ""


def reference_finding(ref: dict | None) -> str:
    """The "what to expect" Markdown, written from the reference record: its settings, the
    test accuracy of every starting point on every task, and which start leads where.

    Args:
        ref: the record (lab.load_reference()), or None when none is committed.
    Returns:
        Markdown; with no record, a sentence saying so and how to make one.
    """
    if ref is None:
        return NO_REFERENCE
    lines = [f"**What to expect here.** The reference run below was made on "
             f"{ref['machine']['device']}: {_config_text(ref)}. Its test accuracy per task "
             "(mean ± 95% interval over seeds):", ""]
    for name, result in ref["datasets"].items():
        runs = result["runs"]
        scores = ", ".join(f"{init} {accuracy_text(r)}" for init, r in runs.items())
        lines.append(f"- **{name}**: {scores}. {task_verdict(runs)}")
        if "paired" in result:
            lines.append(f"  {paired_text(result['paired'])}")
    summary = " ".join(t for t in (_baseline_text(ref), _control_text(ref)) if t)
    if summary:
        lines += ["", summary]
    for extra in (early_text(ref), size_text(ref), lr_text(ref)):
        if extra:
            lines += ["", extra]
    return "\n".join(lines)


def _signed(d: dict) -> str:
    half = "" if d["ci95"] is None else f" ± {d['ci95']:.3f}"
    return f"{d['mean']:+.3f}{half}"


def _where(d: dict) -> str:
    if d["ci95"] is None:
        return "one seed: no interval"
    if d["mean"] - d["ci95"] > 0:
        return "interval above zero"
    if d["mean"] + d["ci95"] < 0:
        return "interval below zero"
    return "interval spans zero"


def paired_text(paired: dict) -> str:
    """One line per comparison: the paired differences (same seeds, same data) with their
    95 % intervals and where each interval lies, e.g. "pretrained − random, paired over 5
    seeds: test accuracy +0.050 ± 0.020 (interval above zero); ...".

    Args:
        paired: "init - random" -> measure -> {"mean", "ci95", "n", ...} (lab.summarise).
    """
    parts = []
    for name, measures in paired.items():
        quoted = measures_of(measures)
        shown = [f"{label} {_signed(measures[key])} ({_where(measures[key])})"
                 for key, label in quoted.items()]
        n = next((measures[k]["n"] for k in quoted), 0)
        if shown:
            parts.append(f"*{name.replace(' - ', ' − ')}*, paired over {n} seeds: "
                         + "; ".join(shown))
    return ". ".join(parts) + ("." if parts else "")


def size_text(ref: dict) -> str:
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
        parts.append(f"{name}: " + ", ".join(f"{_size_text(int(s))} {_signed(g)}"
                                             for s, g in sizes)
                     + f" (largest with {_size_text(int(best[0]))})")
    if not parts:
        return ""
    return ("**By labelled sequences** (pretrained − random, test accuracy, paired): "
            + "; ".join(parts) + ".")


def lr_text(ref: dict) -> str:
    """The learning rate each start used, and how it was chosen."""
    cfg = ref["config"]
    lrs = cfg.get("lrs")
    if not isinstance(lrs, dict):
        return (f"Every start used the same learning rate ({cfg['lr']:g})."
                if cfg.get("lr") else "")
    rates = ", ".join(f"{init} {lr:g}" for init, lr in lrs.items())
    search = cfg.get("lr_search")
    if not search:
        note = cfg.get("lr_note")
        return f"Learning rates as given: {rates}" + (f" ({note})." if note else ".")
    controls = "".join(f"; {c} takes {of}'s rate and runs at the shown sizes only"
                       for c, of in (cfg.get("controls") or {}).items())
    return (f"Learning rate per start, chosen on dev ({search['task']}, {search['size']} "
            f"sequences, {len(search['seeds'])} seeds of their own; best mean area under the "
            f"dev curve): {rates}{controls}.")
