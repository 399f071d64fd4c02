"""Builds assets/dna/: three small DNA classification sets for the DNA tab.

`build(out_dir)` fetches three Debian packages (`apt-get download` + `dpkg -x`, no R needed)
and writes splice.csv (UCI primate splice junctions, from r-cran-mlbench), promoters.csv (UCI
E. coli promoters, r-cran-kernlab), coding.csv (coding vs intergenic windows of the Chlamydia
trachomatis genome, r-cran-seqinr) and SOURCES.md, which says how each was made.
Same packages in, same bytes out: inputs are sorted before any seeded shuffle.
"""
from __future__ import annotations

import gzip
import random
import re
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

from core.dna.data import reverse_complement as revcomp
from core.tools.build.fetch import fetch_debs

DEBS = ("r-cran-mlbench", "r-cran-kernlab", "r-cran-seqinr")
RLIB = Path("usr/lib/R/site-library")
SEED = 20210601  # one seed for every shuffle below
SPLITS = ("train", "dev", "test")
SPLIT_CUTS = (0.7, 0.8)  # train/dev/test = 70/10/20 %, by unique sequence or by region
N_FOLDS = 5  # promoters: 106 sequences are too few for a fixed test split
WINDOW_BP = 60  # coding windows, same length as the splice sequences
# Statlog's encoding of mlbench DNA (its help page): three indicator bits per base.
BITS_TO_BASE = {(1, 0, 0): "A", (0, 1, 0): "C", (0, 0, 1): "G", (0, 0, 0): "T"}
SPLICE_LABELS = {"ei": "EI", "ie": "IE", "n": "N"}
PROMOTER_LABELS = {"+": "promoter", "-": "non-promoter"}
STOPS = frozenset({"TAA", "TAG", "TGA"})  # bacterial code (NCBI table 11)
STARTS = frozenset({"ATG", "GTG", "TTG"})  # the start codons this genome's CDSs use
_SIMPLE_LOC = re.compile(r"^(complement\()?(\d+)\.\.(\d+)\)?$")


def _read_rda(path: Path):
    import rdata  # only the builder needs it
    with warnings.catch_warnings():  # "Unknown encoding. Assumed ASCII." - the data is ASCII
        warnings.simplefilter("ignore")
        (frame,) = rdata.read_rda(str(path)).values()  # one data frame per file
        return frame


def _split_groups(sizes: Counter, rng: random.Random) -> dict:
    """group -> split: shuffles the sorted groups and cuts where the running number of
    items they hold passes SPLIT_CUTS, so a group never straddles two splits."""
    groups, total, done, out = sorted(sizes), sum(sizes.values()), 0, {}
    rng.shuffle(groups)
    for g in groups:
        out[g] = SPLITS[sum(done >= cut * total for cut in SPLIT_CUTS)]
        done += sizes[g]
    return out


def splice_rows(rda: Path) -> tuple[list[tuple[str, str, str]], dict]:
    """Decodes mlbench DNA to 60-bp strings, dedups, splits by unique sequence per class.

    Args:
        rda: path of data/DNA.rda.
    Returns:
        (split, label, sequence) rows, and checks: duplicates, conflicts, junction dinucleotides.
    """
    frame = _read_rda(rda)
    bits = frame.iloc[:, :180].astype(int).to_numpy()  # (3186, 180)
    seqs = ["".join(BITS_TO_BASE[tuple(row[i:i + 3])] for i in range(0, 180, 3)) for row in bits]
    labels = [SPLICE_LABELS[str(c)] for c in frame["Class"]]
    seen: dict[str, set[str]] = defaultdict(set)
    for s, y in zip(seqs, labels):
        seen[s].add(y)
    unique = {s: ys.pop() for s, ys in seen.items() if len(ys) == 1}  # drops conflicting ones
    # The junction lies between positions 30 and 31: an exon-intron (donor) site starts the
    # intron with GT at 31-32, an intron-exon (acceptor) site ends it with AG at 29-30.
    checks = {"rows": len(seqs), "duplicate_rows": len(seqs) - len(seen),
              "conflicting_sequences": len(seen) - len(unique), "unique": len(unique)}
    for label, lo, di in (("EI", 30, "GT"), ("IE", 28, "AG"), ("N", 30, "GT")):
        group = [s[lo:lo + 2] for s, y in unique.items() if y == label]
        checks[f"{label}_{di}_at_{lo + 1}-{lo + 2}"] = round(group.count(di) / len(group), 3)
    if checks["EI_GT_at_31-32"] < 0.9 or checks["IE_AG_at_29-30"] < 0.9:
        raise ValueError(f"splice decoding looks wrong: {checks}")
    rng, rows = random.Random(SEED), []
    for label in SPLICE_LABELS.values():
        split = _split_groups(Counter(s for s, y in unique.items() if y == label), rng)
        rows += [(sp, label, s) for s, sp in split.items()]
    return sorted(rows, key=lambda r: (SPLITS.index(r[0]), r[1], r[2])), checks


def promoter_rows(rda: Path) -> list[tuple[str, str, str]]:
    """Reads kernlab promotergene and deals each class round-robin into N_FOLDS folds.

    Args:
        rda: path of data/promotergene.rda.
    Returns:
        (fold, label, sequence) rows in the data's original order.
    """
    frame = _read_rda(rda)
    seqs = ["".join(r).upper() for r in frame.iloc[:, 1:].astype(str).to_numpy()]  # 57 bp
    labels = [PROMOTER_LABELS[str(c)] for c in frame["Class"]]
    rng, fold_of = random.Random(SEED), {}
    for label in PROMOTER_LABELS.values():
        idx = [i for i, y in enumerate(labels) if y == label]
        rng.shuffle(idx)
        fold_of.update({i: k % N_FOLDS for k, i in enumerate(idx)})
    return [(str(fold_of[i]), labels[i], seqs[i]) for i in range(len(seqs))]


def read_genbank(path: Path) -> tuple[list[tuple[str, str]], str]:
    """Our own minimal GenBank reader: feature keys with locations, and the ORIGIN sequence.

    Args:
        path: ct.gbk.gz.
    Returns:
        ([(feature key, location string)], upper-case sequence).
    """
    features, origin, section, in_location = [], [], "", False
    with gzip.open(path, "rt", encoding="ascii") as f:
        for line in f:
            if line[:1].isalpha() or line.startswith("//"):
                section = line.split()[0]
            elif section == "FEATURES" and line[5:6] != " ":  # "     CDS             1..9"
                features.append(tuple(line.split()))
                in_location = True
            elif section == "FEATURES" and line[21:22] == "/":  # qualifiers end the location
                in_location = False
            elif section == "FEATURES" and in_location:  # a long location goes on
                features[-1] = (features[-1][0], features[-1][1] + line.strip())
            elif section == "ORIGIN":
                origin.append("".join(line.split()[1:]))
    return features, "".join(origin).upper()


def _cds_ok(cds: str) -> bool:
    """A whole gene read in frame: whole codons, a start, a stop at the end and none before."""
    codons = [cds[i:i + 3] for i in range(0, len(cds), 3)]
    return (len(cds) % 3 == 0 and codons[0] in STARTS and codons[-1] in STOPS
            and not STOPS.intersection(codons[:-1]))


def coding_rows(fasta: Path, gbk: Path) -> tuple[list[tuple], dict]:
    """Coding windows (in frame, on the coding strand) vs intergenic windows, split by region.

    The rules are spelled out in SOURCES.md (`_sources_md`).

    Args:
        fasta: ct.fasta.gz (the genome).
        gbk: ct.gbk.gz (its annotation).
    Returns:
        (split, label, sequence, start, end, strand) rows, and checks.
    """
    with gzip.open(fasta, "rt", encoding="ascii") as f:
        genome = "".join(l.strip() for l in f if not l.startswith(">")).upper()
    features, origin = read_genbank(gbk)
    if origin != genome:
        raise ValueError("ct.fasta.gz and the ORIGIN of ct.gbk.gz differ")
    n = len(genome)
    covered = bytearray(n)  # 1 where any annotated gene lies, on either strand
    simple, cds_total = [], 0
    for key, loc in (f for f in features if f[0] not in ("source", "rep_origin")):
        for a, b in re.findall(r"(\d+)\.\.(\d+)", loc.replace("<", "").replace(">", "")):
            covered[int(a) - 1:int(b)] = b"\x01" * (int(b) - int(a) + 1)
        if key == "CDS":
            cds_total += 1
            if m := _SIMPLE_LOC.match(loc):
                simple.append((int(m[2]), int(m[3]), "-" if m[1] else "+"))
    rng = random.Random(SEED)
    genes = [(a, b, strand, cds) for a, b, strand in sorted(simple)
             if _cds_ok(cds := genome[a - 1:b] if strand == "+" else revcomp(genome[a - 1:b]))]
    region_of, reach = {}, 0  # gene index -> region id (overlapping CDSs share one)
    for i, (a, b, _, _) in enumerate(genes):
        region_of[i] = region_of[i - 1] if i and a <= reach else i
        reach = max(reach, b)
    coding = []  # (region, sequence, start, end, strand)
    for i, (a, b, strand, cds) in enumerate(genes):
        k = len(cds) // WINDOW_BP
        off = 3 * rng.randrange((len(cds) - k * WINDOW_BP) // 3 + 1)
        for o in range(off, off + k * WINDOW_BP, WINDOW_BP):
            lo = a + o if strand == "+" else b - o - WINDOW_BP + 1
            coding.append((("c", region_of[i]), cds[o:o + WINDOW_BP], lo, lo + WINDOW_BP - 1,
                           strand))
    noncoding, gaps = [], [m.span() for m in re.finditer(b"\x00+", bytes(covered))]
    for g0, g1 in gaps:  # 0-based half-open
        k = (g1 - g0) // WINDOW_BP
        off = rng.randrange(g1 - g0 - k * WINDOW_BP + 1)
        for lo in range(g0 + off, g0 + off + k * WINDOW_BP, WINDOW_BP):
            seq, strand = genome[lo:lo + WINDOW_BP], rng.choice("+-")
            seq = seq if strand == "+" else revcomp(seq)
            noncoding.append((("n", g0), seq, lo + 1, lo + WINDOW_BP, strand))
    counts = Counter(w[1] for w in coding + noncoding)
    coding = [w for w in coding if counts[w[1]] == 1 and set(w[1]) <= set("ACGT")]
    noncoding = [w for w in noncoding if counts[w[1]] == 1 and set(w[1]) <= set("ACGT")]
    checks = {"genome_bp": n, "cds": cds_total, "cds_simple": len(simple), "cds_used": len(genes),
              "annotated_fraction": round(sum(covered) / n, 3),
              "gaps_ge_60bp": sum(g1 - g0 >= WINDOW_BP for g0, g1 in gaps),
              "coding_candidates": len(coding), "repeated_windows_dropped":
              sum(c for c in counts.values() if c > 1)}
    coding = sorted(rng.sample(coding, min(len(coding), len(noncoding))), key=lambda w: w[2])
    rows = []
    for label, windows in (("coding", coding), ("non-coding", noncoding)):
        split_of = _split_groups(Counter(w[0] for w in windows), rng)
        rows += [(split_of[w[0]], label, *w[1:]) for w in windows]
    rows.sort(key=lambda r: (SPLITS.index(r[0]), r[1], r[3]))
    return rows, checks


def build(out_dir: Path, *, work_dir: Path | None = None) -> dict:
    """(Re)builds splice.csv, promoters.csv, coding.csv and SOURCES.md from Debian packages.

    Args:
        out_dir: destination, normally assets/dna.
        work_dir: where downloads go (.debs there are reused); a temporary folder if None.
    Returns:
        Summary: package versions, decoding checks, rows per file/split/label, seconds taken.
    """
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="dna-build-") as tmp:
            return build(out_dir, work_dir=Path(tmp))
    t0, versions = time.monotonic(), fetch_debs(DEBS, work_dir)
    root, lib = work_dir / "root", work_dir / "root" / RLIB
    splice, splice_checks = splice_rows(lib / "mlbench/data/DNA.rda")
    promoters = promoter_rows(lib / "kernlab/data/promotergene.rda")
    coding, coding_checks = coding_rows(lib / "seqinr/sequences/ct.fasta.gz",
                                        lib / "seqinr/sequences/ct.gbk.gz")
    files = {"splice": ("split,label,sequence", splice),
             "promoters": ("fold,label,sequence", promoters),
             "coding": ("split,label,sequence,start,end,strand", coding)}
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (header, rows) in files.items():
        # Plain joins: no field can hold a comma or a quote, so csv quoting is never needed.
        lines = [header] + [",".join(map(str, r)) for r in rows]
        (out_dir / f"{name}.csv").write_text("\n".join(lines) + "\n", "ascii", newline="\n")
    licences = {p: _licences(root / "usr/share/doc" / p / "copyright") for p in versions}
    summary = {"versions": versions, "licences": licences, "splice_checks": splice_checks,
               "coding_checks": coding_checks,
               "counts": {name: _counts(rows) for name, (_, rows) in files.items()}}
    (out_dir / "SOURCES.md").write_text(_sources_md(summary), "utf-8")
    summary["seconds"] = round(time.monotonic() - t0, 1)
    return summary


def _licences(copyright_file: Path) -> str:
    """The distinct `License:` values of a Debian copyright file, in order ("GPL-2+, MPL-2")."""
    found = re.findall(r"^License: (\S+)", copyright_file.read_text("utf-8"), re.M)
    return ", ".join(dict.fromkeys(found))


def _counts(rows: list[tuple]) -> dict[str, dict[str, int]]:
    """split (or fold) -> label -> number of rows."""
    out: dict[str, dict[str, int]] = {}
    order = {s: i for i, s in enumerate(SPLITS)}  # train, dev, test; folds by number
    for (part, label), c in sorted(Counter((r[0], r[1]) for r in rows).items(),
                                   key=lambda kv: (order.get(kv[0][0], kv[0][0]), kv[0][1])):
        out.setdefault(part, {})[label] = c
    return out


def _table(counts: dict[str, dict[str, int]], first: str) -> str:
    labels = sorted({l for per in counts.values() for l in per})
    lines = [f"| {first} | {' | '.join(labels)} | total |", "|---" * (len(labels) + 2) + "|"]
    lines += [f"| {part} | " + " | ".join(str(per.get(l, 0)) for l in labels)
              + f" | {sum(per.values())} |" for part, per in counts.items()]
    return "\n".join(lines)


def _sources_md(s: dict) -> str:
    v, lic, sc, cc, n = (s["versions"], s["licences"], s["splice_checks"],
                         s["coding_checks"], s["counts"])
    pkg = {p: f"Debian `{p}` {v[p]} (R package {p[7:]}; {lic[p]})" for p in v}
    return f"""# DNA assets: sources and licences

Generated by `python -m core build-assets dna` (core/tools/build/dna.py) from the Debian packages
below (`apt-get download`, `dpkg -x`; `.rda` read with PyPI `rdata`, FASTA/GenBank with our own
reader; no R). Same versions in, same bytes out (seed {SEED}). Sequences: upper case, ACGT.

## splice.csv (`split`, `label`, `sequence`)
- **Source**: {pkg['r-cran-mlbench']},
  `data/DNA.rda`: the Statlog version of the UCI Machine Learning Repository's *Molecular
  Biology (Splice-junction Gene Sequences)* (G. Towell, M. Noordewier, J. Shavlik; primate
  GenBank 64.1), licence CC BY 4.0: {sc['rows']} sequences of 60 bp, junction between
  positions 30 and 31, as 180 indicator columns.
- **Decoding**: three bits a base, A=100 C=010 G=001 T=000 (mlbench's help). Checked on the
  unique sequences: GT at 31-32 in {sc['EI_GT_at_31-32']:.1%} of EI (the intron starts with
  GT), AG at 29-30 in {sc['IE_AG_at_29-30']:.1%} of IE (the intron ends with AG), GT at 31-32
  in {sc['N_GT_at_31-32']:.1%} of N.
- **Cleaning**: {sc['duplicate_rows']} duplicate rows dropped; sequences found with two labels
  ({sc['conflicting_sequences']}) dropped altogether: {sc['unique']} unique sequences.
- **Split**: by unique sequence, stratified by class, 70/10/20 (seeded shuffle). Labels: EI
  (exon-intron junction), IE (intron-exon), N (neither).

{_table(n['splice'], 'split')}

## promoters.csv (`fold`, `label`, `sequence`)
- **Source**: {pkg['r-cran-kernlab']},
  `data/promotergene.rda`: the UCI Machine Learning Repository's *Molecular Biology (Promoter
  Gene Sequences)* (M. Noordewier, G. Towell, J. Shavlik), licence CC BY 4.0: E. coli, 57 bp
  (-50 to +7 around the transcription start), in the data's order. Labels: `promoter`
  (kernlab `+`), `non-promoter` (`-`).
- **Folds** 0-{N_FOLDS - 1}: each class shuffled (seeded) and dealt round-robin. core/dna/data.py
  `cv_splits` tests on fold f, tunes on fold (f+1) mod {N_FOLDS} and trains on the rest.

{_table(n['promoters'], 'fold')}

## coding.csv (`split`, `label`, `sequence`, `start`, `end`, `strand`)
- **Source**: {pkg['r-cran-seqinr']},
  `sequences/ct.fasta.gz` and `sequences/ct.gbk.gz`: the genome of *Chlamydia trachomatis*
  D/UW-3/CX ({cc['genome_bp']:,} bp; Stephens et al., Science 282:754, 1998; GenBank AE001273,
  public NCBI data) and its annotation ({cc['cds']} CDS). The FASTA and the GenBank ORIGIN were
  checked to be identical.
- **coding**: of the {cc['cds_simple']} CDS with a simple location (`a..b`, `complement(a..b)`;
  partial and joined ones skipped), the {cc['cds_used']} that read as whole genes (ATG/GTG/TTG,
  final stop, no internal stop), cut into non-overlapping 60-bp windows that start on a codon
  boundary, read 5'->3' on the coding strand (minus-strand genes reverse-complemented):
  {cc['coding_candidates']} windows, sampled down (seeded) to the non-coding count.
- **non-coding**: annotated genes (CDS, tRNA, rRNA, misc_RNA, gene) cover
  {cc['annotated_fraction']:.1%} of the genome; the {cc['gaps_ge_60bp']} gaps of >= 60 bp touching
  none of them on either strand are cut into non-overlapping windows, each read from a random
  strand (seeded: strand is no cue). Windows whose sequence occurs twice: dropped
  ({cc['repeated_windows_dropped']}). Coding windows may end in the gene's stop codon.
- **Split**: by region, 70/10/20 of each class (seeded): a gap, or a run of overlapping CDSs,
  goes whole to one split, so overlapping windows never cross splits. `start`-`end`: 1-based
  inclusive genome coordinates; `strand`: the strand the sequence is read from.

{_table(n['coding'], 'split')}
"""
