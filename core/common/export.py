"""Downloads of a run: its whole record as JSON, and the same numbers as a CSV with one row
per value (field path, value), so tables, curves and config open in any spreadsheet.

    json_path, csv_path = write_exports(metrics, "dna-run")

Files go to a folder of this lab's own under the system temp dir; each call first removes
exports older than EXPORT_TTL_S, so a busy server does not fill its disk.
"""
from __future__ import annotations

import csv
import json
import math
import shutil
import tempfile
import time
import uuid
from pathlib import Path

EXPORT_TTL_S = 3600  # an export stays downloadable for an hour
_NAME = "ssl-lab-exports"


def flatten(obj, prefix: str = "") -> list[tuple[str, object]]:
    """Nested dicts/lists -> [(dotted path, leaf value)] in document order.

        flatten({"runs": {"random": {"per_seed": [0.5, 0.6]}}})
        -> [("runs.random.per_seed.0", 0.5), ("runs.random.per_seed.1", 0.6)]
    """
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    else:
        return [(prefix, obj)]
    rows: list[tuple[str, object]] = []
    for key, value in items:
        rows.extend(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return rows


def _plain(value):
    """NaN and infinities as JSON null (strict JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def export_root() -> Path:
    return Path(tempfile.gettempdir()) / _NAME


def sweep(now: float | None = None) -> int:
    """Removes export folders older than EXPORT_TTL_S; returns how many were removed."""
    now = time.time() if now is None else now
    removed = 0
    for folder in export_root().glob("*"):
        if folder.is_dir() and now - folder.stat().st_mtime > EXPORT_TTL_S:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def export_folder() -> Path:
    """A fresh folder for files a user downloads (old ones swept first)."""
    sweep()
    folder = export_root() / uuid.uuid4().hex
    folder.mkdir(parents=True)
    return folder


def write_exports(record: dict, stem: str) -> tuple[str, str]:
    """Writes `record` as <stem>.json (indented, NaN as null) and <stem>.csv (field, value).

    Returns:
        (json path, csv path), in a fresh folder of their own.
    """
    folder = export_folder()
    json_path, csv_path = folder / f"{stem}.json", folder / f"{stem}.csv"
    json_path.write_text(json.dumps(_plain(record), indent=1, ensure_ascii=False) + "\n")
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["field", "value"])
        writer.writerows(flatten(_plain(record)))
    return str(json_path), str(csv_path)
