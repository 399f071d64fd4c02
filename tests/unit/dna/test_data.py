"""The committed DNA datasets (assets/dna/) through core.dna.data, and user-sequence cleaning.

Reads only assets/dna/; never downloads. Rebuild with `python -m core build-assets dna`.
"""
from __future__ import annotations

import csv
from collections import Counter

import pytest

from core.common.errors import InputError
from core.dna import data as dna_data
from core.dna.data import (
    ASSET_DIR,
    DATASETS,
    N_FOLDS,
    clean_sequence,
    cv_splits,
    load_dataset,
    reverse_complement,
)

MAX_FILE_BYTES = 10 * 1024 * 1024
FRACTIONS = {"train": 0.7, "dev": 0.1, "test": 0.2}
STOPS = {"TAA", "TAG", "TGA"}


def _splits(name: str) -> dict[str, tuple[tuple[str, int], ...]]:
    ds = load_dataset(name)
    return {"train": ds.train, "dev": ds.dev, "test": ds.test}


def _rows(name: str) -> list[dict[str, str]]:
    with open(ASSET_DIR / f"{name}.csv", encoding="ascii", newline="") as f:
        return list(csv.DictReader(f))


# --------------------------------------------------------------------------- registry
def test_every_dataset_loads_with_its_labels_and_length():
    assert dna_data.available_datasets() == DATASETS == ("splice", "promoters", "coding")
    for name in DATASETS:
        ds = load_dataset(name)
        assert ds.name == name and ds.labels == dna_data.LABELS[name]
        examples = ds.train + ds.dev + ds.test
        assert {y for _, y in examples} == set(range(len(ds.labels)))
        assert {len(s) for s, _ in examples} == {ds.sequence_bp}
        assert set("".join(s for s, _ in examples)) <= set("ACGT")
        assert (ASSET_DIR / f"{name}.csv").stat().st_size < MAX_FILE_BYTES
        assert load_dataset(name) is ds  # cached


def test_unknown_dataset_names_the_choices():
    with pytest.raises(KeyError) as err:
        load_dataset("histone")
    assert all(name in str(err.value) for name in DATASETS)


def test_sources_note_is_there():
    text = (ASSET_DIR / "SOURCES.md").read_text("utf-8")
    for needle in ("r-cran-mlbench", "r-cran-kernlab", "r-cran-seqinr", "CC BY 4.0",
                   "python -m core build-assets dna"):
        assert needle in text


@pytest.mark.parametrize("name", ["splice", "coding"])
def test_no_sequence_in_two_splits(name):
    seen = [set(s for s, _ in part) for part in _splits(name).values()]
    assert sum(len(s) for s in seen) == len(set().union(*seen))  # unique, and disjoint


# ----------------------------------------------------------------------------- splice
def test_splice_counts_and_stratified_split():
    parts = _splits("splice")
    total = sum(len(p) for p in parts.values())
    assert total == 3000  # 3,186 rows - 185 duplicate rows - 1 sequence with two labels
    overall = Counter(y for p in parts.values() for _, y in p)
    labels = load_dataset("splice").labels
    assert {labels[y]: n for y, n in overall.items()} == {"EI": 679, "IE": 669, "N": 1652}
    for split, part in parts.items():
        assert abs(len(part) / total - FRACTIONS[split]) < 0.01
        counts = Counter(y for _, y in part)
        for y, n in overall.items():
            assert abs(counts[y] / len(part) - n / total) < 0.03, (split, y)


def test_splice_decoding_shows_the_junction_consensus():
    # Junction between 30 and 31: donors (EI) start the intron with GT, acceptors (IE) end
    # it with AG. A wrong bit->base table would wreck both.
    ds = load_dataset("splice")
    by_label = {y: [s for s, yy in ds.train + ds.dev + ds.test if yy == y] for y in range(3)}
    ei, ie, n = (ds.labels.index(x) for x in ("EI", "IE", "N"))
    assert sum(s[30:32] == "GT" for s in by_label[ei]) / len(by_label[ei]) > 0.95
    assert sum(s[28:30] == "AG" for s in by_label[ie]) / len(by_label[ie]) > 0.95
    assert sum(s[30:32] == "GT" for s in by_label[n]) / len(by_label[n]) < 0.2


# -------------------------------------------------------------------------- promoters
def test_promoters_are_106_balanced_in_balanced_folds():
    ds = load_dataset("promoters")
    assert len(ds.folds) == N_FOLDS
    everything = [ex for fold in ds.folds for ex in fold]
    assert len(everything) == len(set(everything)) == 106
    assert Counter(y for _, y in everything) == {0: 53, 1: 53}
    for fold in ds.folds:
        counts = Counter(y for _, y in fold)
        assert 20 <= len(fold) <= 22 and abs(counts[0] - counts[1]) <= 1
    assert {len(r["sequence"]) for r in _rows("promoters")} == {57}


def test_cv_splits_cover_every_example_once_as_test():
    ds = load_dataset("promoters")
    tested = []
    for f in range(N_FOLDS):
        train, dev, test = cv_splits(ds, f)
        assert test == ds.folds[f] and dev == ds.folds[(f + 1) % N_FOLDS]
        assert len(train) + len(dev) + len(test) == 106
        assert not (set(train) & set(dev) or set(train) & set(test) or set(dev) & set(test))
        tested += test
    assert len(set(tested)) == 106
    assert (ds.train, ds.dev, ds.test) == cv_splits(ds, 0)


def test_cv_splits_refuses_fixed_splits_and_bad_folds():
    with pytest.raises(ValueError, match="no folds"):
        cv_splits(load_dataset("splice"), 0)
    with pytest.raises(ValueError, match="0..4"):
        cv_splits(load_dataset("promoters"), N_FOLDS)


# ----------------------------------------------------------------------------- coding
def test_coding_is_balanced_and_split_70_10_20():
    parts = _splits("coding")
    total = sum(len(p) for p in parts.values())
    assert 2000 <= total <= 6000
    assert Counter(y for p in parts.values() for _, y in p)[0] == total // 2
    for split, part in parts.items():
        assert abs(len(part) / total - FRACTIONS[split]) < 0.03
        assert abs(sum(y for _, y in part) / len(part) - 0.5) < 0.05, split


def test_coding_windows_never_overlap_across_splits():
    rows = sorted(_rows("coding"), key=lambda r: int(r["start"]))
    assert all(int(r["end"]) - int(r["start"]) + 1 == 60 and r["strand"] in "+-" for r in rows)
    for i, r in enumerate(rows):  # windows are 60 bp: only starts < 60 apart can overlap
        for other in rows[i + 1:]:
            if int(other["start"]) > int(r["end"]):
                break
            assert other["split"] == r["split"], (r, other)


def test_coding_windows_are_in_frame_and_stop_free():
    rows = _rows("coding")

    def stop_codons(s: str) -> int:  # in frame 0, the last codon aside (a gene's own stop)
        return sum(s[i:i + 3] in STOPS for i in range(0, 57, 3))
    coding = [r["sequence"] for r in rows if r["label"] == "coding"]
    noncoding = [r["sequence"] for r in rows if r["label"] == "non-coding"]
    assert all(stop_codons(s) == 0 for s in coding)
    assert sum(stop_codons(s) > 0 for s in noncoding) / len(noncoding) > 0.5


# ---------------------------------------------------------------------- user sequences
@pytest.mark.parametrize("text, expected", [
    ("ACGT", "ACGT"),
    ("acgtn", "ACGTN"),
    (" AC GT\n\tNN \r\n", "ACGTNN"),
    (">chr1 some header 123\nACGT\nacgt\n", "ACGTACGT"),
    ("  >seq\r\nAC\r\nGT", "ACGT"),
])
def test_clean_sequence_accepts_raw_and_fasta(text, expected):
    assert clean_sequence(text) == expected


@pytest.mark.parametrize("text", ["", "   \n\t", ">only a header\n", None])
def test_clean_sequence_rejects_empty(text):
    with pytest.raises(InputError, match="no DNA sequence"):
        clean_sequence(text)


def test_clean_sequence_names_bad_characters_and_positions():
    with pytest.raises(InputError) as err:
        clean_sequence(">h\nAC GU\nx1")  # positions count bases: A1 C2 G3 U4 x5 16
    msg = str(err.value)
    assert "'U' at 4" in msg and "'x' at 5" in msg and "'1' at 6" in msg
    with pytest.raises(InputError, match="and 2 more"):
        clean_sequence("A" + "R" * 7)
    assert issubclass(InputError, ValueError)


def test_clean_sequence_refuses_several_fasta_records():
    with pytest.raises(InputError, match="one sequence"):
        clean_sequence(">a\nACGT\n>b\nGGCC\n")


def test_reverse_complement():
    assert reverse_complement("AACGTN") == "NACGTT"
    assert reverse_complement(reverse_complement("GATTACA")) == "GATTACA"
