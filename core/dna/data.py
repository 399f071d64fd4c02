"""The DNA tab's datasets (assets/dna/, built by core/tools/build/dna.py) and user-sequence cleaning.

    >>> ds = load_dataset("splice")
    >>> ds.labels, len(ds.train[0][0]), ds.train[0][1]
    (('EI', 'IE', 'N'), 60, 0)

Every split is a tuple of (sequence, label index) pairs, sequences upper case over ACGT.
`promoters` has no fixed split: it ships 5 folds, and `cv_splits(ds, f)` gives the
train/dev/test of fold f (its `train`/`dev`/`test` are those of fold 0), so the same training
code runs either way. Reads only committed files; never downloads.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache

from core.common.errors import InputError
from core.common.paths import ASSETS

ASSET_DIR = ASSETS / "dna"
DATASETS = ("splice", "promoters", "coding")
# Class names in label-index order; binary sets put the negative class first (index 0).
LABELS = {
    "splice": ("EI", "IE", "N"),  # exon-intron junction, intron-exon junction, neither
    "promoters": ("non-promoter", "promoter"),
    "coding": ("non-coding", "coding"),
}
SEQUENCE_BP = {"splice": 60, "promoters": 57, "coding": 60}  # every sequence is this long
SPLITS = ("train", "dev", "test")
N_FOLDS = 5  # promoters' folds 0..4
ALPHABET = frozenset("ACGTN")  # what user input may hold; N = unknown base
MAX_REPORTED = 5  # bad characters named in an error message
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")

Example = tuple[str, int]  # (sequence, label index)


@dataclass(frozen=True)
class DnaDataset:
    """One labelled DNA set, split three ways (and, for promoters, into folds)."""

    name: str
    labels: tuple[str, ...]  # class names; an example's label index points into this
    train: tuple[Example, ...]
    dev: tuple[Example, ...]  # for early stopping / model choice
    test: tuple[Example, ...]
    folds: tuple[tuple[Example, ...], ...] = ()  # N_FOLDS folds, or () when splits are fixed

    @property
    def sequence_bp(self) -> int:
        """Length of every sequence in the set."""
        return SEQUENCE_BP[self.name]


def available_datasets() -> tuple[str, ...]:
    """Names `load_dataset` accepts."""
    return DATASETS


@lru_cache(maxsize=None)
def load_dataset(name: str) -> DnaDataset:
    """Reads one committed dataset (cached).

    Args:
        name: one of DATASETS.
    Returns:
        The DnaDataset; for "promoters" train/dev/test are `cv_splits(.., 0)`.
    Raises:
        KeyError: unknown name (the message lists the choices).
    """
    if name not in DATASETS:
        raise KeyError(f"unknown DNA dataset {name!r}; choose one of {', '.join(DATASETS)}")
    labels = LABELS[name]
    with open(ASSET_DIR / f"{name}.csv", encoding="ascii", newline="") as f:
        rows = list(csv.DictReader(f))
    index = {label: i for i, label in enumerate(labels)}
    if name == "promoters":
        folds = tuple(tuple((r["sequence"], index[r["label"]]) for r in rows
                            if int(r["fold"]) == k) for k in range(N_FOLDS))
        stub = DnaDataset(name, labels, (), (), (), folds)
        return DnaDataset(name, labels, *cv_splits(stub, 0), folds)
    parts = [tuple((r["sequence"], index[r["label"]]) for r in rows if r["split"] == s)
             for s in SPLITS]
    return DnaDataset(name, labels, *parts)


def cv_splits(dataset: DnaDataset, fold: int
              ) -> tuple[tuple[Example, ...], tuple[Example, ...], tuple[Example, ...]]:
    """Cross-validation split number `fold`: test on fold f, dev on fold (f+1) % N_FOLDS,
    train on the other three. Averaging test accuracy over f = 0..4 gives the CV accuracy.

    Args:
        dataset: a dataset with folds (promoters).
        fold: 0 .. N_FOLDS - 1.
    Returns:
        (train, dev, test).
    Raises:
        ValueError: the dataset has fixed splits, or fold is out of range.
    """
    n = len(dataset.folds)
    if not n:
        raise ValueError(f"{dataset.name} has fixed train/dev/test splits, no folds")
    if not 0 <= fold < n:
        raise ValueError(f"fold must be 0..{n - 1}, got {fold}")
    dev_fold = (fold + 1) % n
    train = tuple(ex for k, part in enumerate(dataset.folds) if k not in (fold, dev_fold)
                  for ex in part)
    return train, dataset.folds[dev_fold], dataset.folds[fold]


def reverse_complement(seq: str) -> str:
    """The other strand read 5'->3' ("AACG" -> "CGTT"); upper-case ACGTN only."""
    return seq.translate(_COMPLEMENT)[::-1]


def clean_sequence(text: str) -> str:
    """Turns pasted DNA (raw letters, or one FASTA record) into an upper-case ACGTN string.

    Lines starting with ">" (FASTA headers) are dropped, whitespace is ignored, lower case is
    accepted. Anything else (digits, IUPAC codes other than N, U, punctuation) is an error, so
    a sequence is never silently changed.

    Args:
        text: what the user typed or pasted.
    Returns:
        The sequence, e.g. "ACGTN".
    Raises:
        InputError: empty input, more than one FASTA record, or bad characters (named with
            their 1-based positions in the sequence, whitespace and header not counted).
    """
    lines = (text or "").splitlines()
    headers = [line for line in lines if line.lstrip().startswith(">")]
    if len(headers) > 1:
        raise InputError(f"{len(headers)} FASTA records found; paste one sequence at a time")
    seq = re.sub(r"\s+", "", "".join(l for l in lines if not l.lstrip().startswith(">")))
    if not seq:
        raise InputError("no DNA sequence given: paste bases A, C, G, T (N for unknown), "
                         "as plain text or FASTA")
    bad = [(i, c) for i, c in enumerate(seq, start=1) if c.upper() not in ALPHABET]
    if bad:
        shown = ", ".join(f"{c!r} at {i}" for i, c in bad[:MAX_REPORTED])
        more = f" and {len(bad) - MAX_REPORTED} more" if len(bad) > MAX_REPORTED else ""
        raise InputError(f"not a DNA base: {shown}{more}; only A, C, G, T and N are allowed "
                         "(positions count bases, not spaces or the FASTA header)")
    return seq.upper()
