"""Run records: the JSON a reference run leaves behind, so that text and plots read numbers
from it instead of retyping them.

Every committed run file (assets/<finding>/reference.json, assets/spoken_qa/runs/*.json) has
one envelope around the finding's own results:

    {"config": {... the settings ...},              # the fake-data sweep: metrics.config
     "machine": {"device": "CPU (2 threads)", "platform": ..., "torch": ...},
     "started": "2026-11-24 19:56:10 UTC", "wall_s": 6466.2,
     ... the results (per dataset, per scheme, per starting point) ...}

    record = new_record(config)          # envelope with machine and start time
    record["datasets"] = results         # the finding's part
    write(path, finish(record, t0))      # wall time, then the file
    load(path)                           # None when absent; RecordError when not a run record
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

ENVELOPE = ("machine", "started", "wall_s")  # keys every run record has
TIME_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


class RecordError(ValueError):
    """A file that should be a run record is not one (the message names the file and keys)."""


def started_now() -> str:
    """The `started` stamp: local wall-clock time with its zone."""
    return time.strftime(TIME_FORMAT)


def new_record(config: dict | None = None) -> dict:
    """An envelope for a run starting now: {config, machine, started}; wall_s comes at finish."""
    from core.common.device import machine_info  # imports torch: only when a run is recorded

    record = {} if config is None else {"config": dict(config)}
    record.update(machine=machine_info(), started=started_now())
    return record


def finish(record: dict, t0: float) -> dict:
    """Adds wall_s: seconds since `t0` (time.perf_counter() at the start), one decimal."""
    record["wall_s"] = round(time.perf_counter() - t0, 1)
    return record


def write(path, record: dict, *, indent: int | None = None) -> Path:
    """Writes a record as UTF-8 JSON (creating folders); returns the path. The file is
    replaced whole (written beside it, then renamed): a sweep killed mid-write leaves its last
    progress intact, never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    part.write_text(json.dumps(record, ensure_ascii=False, indent=indent) + "\n",
                    encoding="utf-8")
    os.replace(part, path)
    return path


def load(path) -> dict | None:
    """The run record at `path`, or None when no file is there.

    Raises:
        RecordError: the file is not JSON, or lacks the envelope (machine, started, wall_s).
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path} is not JSON ({exc})") from exc
    missing = [k for k in ENVELOPE if not isinstance(record, dict) or k not in record]
    if missing or config_of(record) is None:
        raise RecordError(f"{path} is not a run record: it lacks "
                          f"{', '.join(missing) or 'config'}")
    return record


def load_progress(path, config: dict) -> dict:
    """A sweep's saved progress (its finished cells) when it was made with the same settings;
    {} when there is no file.

    Raises:
        ValueError: the file was made with other settings (the message says what to do).
    """
    if not path or not Path(path).is_file():
        return {}
    saved = json.loads(Path(path).read_text(encoding="utf-8"))
    if saved.get("config") != config:
        raise ValueError(f"{path} was made with other settings; remove it or drop --resume")
    return saved


def load_all(folder) -> list[dict]:
    """Every record in `folder` (*.json, by file name)."""
    return [load(p) for p in sorted(Path(folder).glob("*.json"))]


def config_of(record: dict) -> dict | None:
    """The settings of a run: record["config"], or record["metrics"]["config"] for runs that
    report them with their metrics (the fake-data sweep)."""
    if isinstance(record.get("config"), dict):
        return record["config"]
    metrics = record.get("metrics")
    return metrics.get("config") if isinstance(metrics, dict) else None
