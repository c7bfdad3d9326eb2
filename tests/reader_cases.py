"""Seeded reader inputs written in a test, and a digest of what a reader made of them.

``write_cases(root)`` writes every case under ``root`` and returns ``{case id: read()}``, where
``read()`` calls the public reader on the files. ``digest(ds)`` hashes everything a reader
decides: sample ids, genotype codes, allele labels, marker map, phenotypes, traits, known QTL
and the reader's report on sample matching and markers. ``tests/io/test_equivalence.py`` pins
the digests the readers gave before they were moved onto cyvcf2, bed-reader (in chunks),
pgenlib and the streaming CSV parser, so "the same output as before" is checked on every run.

The cases are larger than one parsing chunk where a reader works in chunks (tables: 256 lines;
VCF: 512 records), and hold the awkward parts: missing calls of every spelling, quoted ids,
CRLF line endings, blank lines, gzip, haploid and diploid calls, phased and half-missing
calls, multi-allelic records, duplicated VCF ids, PLINK's -9 phenotypes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gpatlas_core.io import Dataset

REPORT_KEYS = (
    "genotype_samples",
    "phenotype_samples",
    "matched_samples",
    "unmatched_genotype_ids",
    "unmatched_phenotype_ids",
    "single_state_markers",
    "all_missing_markers",
    "markers_without_position",
    "map_markers_without_genotypes",
    "known_qtl",
    "ploidy",
    "format",
)


def digest(ds: Dataset) -> str:
    """A hash of the reader's decisions (see the module docstring)."""
    h = hashlib.sha256()
    h.update(ds.fingerprint.encode())
    h.update(np.ascontiguousarray(ds.genotype_codes).tobytes())
    h.update(repr([tuple(a) for a in ds.alleles]).encode())
    h.update(ds.markers[["marker", "chromosome", "position"]].to_csv(index=False).encode())
    h.update(repr(list(map(str, ds.samples))).encode())
    h.update(repr(list(ds.traits)).encode())
    h.update(np.ascontiguousarray(ds.phenotypes).tobytes())
    if ds.known_qtl is not None:
        h.update(ds.known_qtl.to_csv(index=False).encode())
    rep = {k: ds.report[k] for k in REPORT_KEYS if k in ds.report}
    h.update(json.dumps(rep, sort_keys=True, default=str).encode())
    return h.hexdigest()[:20]


def _cells(rng: np.random.Generator, n: int, n_loc: int, states: list[str], missing: list[str]):
    codes = rng.integers(0, len(states), size=(n, n_loc))
    cells = np.array(states, dtype=object)[codes]
    holes = rng.random((n, n_loc)) < 0.03
    cells[holes] = rng.choice(np.array(missing, dtype=object), size=int(holes.sum()))
    return cells


def _pheno(rng: np.random.Generator, ids: list[str], traits: int, sep: str = ",") -> str:
    rows = [sep.join(["sample", *(f"t{k}" for k in range(traits))])]
    for s in ids:
        vals = [f"{v:.5g}" for v in rng.normal(size=traits)]
        if rng.random() < 0.1:
            vals[int(rng.integers(traits))] = "NA"
        rows.append(sep.join([s, *vals]))
    return "\n".join(rows) + "\n"


def _csv_cases(root: Path, rng: np.random.Generator) -> dict[str, Callable[[], Dataset]]:
    from gpatlas_core.io import read_dataset_folder

    out = {}
    # letters, comma, CRLF, quoted ids, a blank line, a sample without phenotypes
    d = root / "csv_letters"
    d.mkdir()
    n, n_loc = 300, 40
    ids = [f"s{i}" for i in range(n)]
    cells = _cells(rng, n, n_loc, ["A", "C", "G", "T"], ["NA", "", ".", "N/A"])
    cells[:, 5] = "A"  # a single-state marker
    cells[:, 6] = "NA"  # a marker without calls
    lines = ["sample," + ",".join(f"chr{1 + j % 3}_{100 * (j + 1)}" for j in range(n_loc))]
    for i, s in enumerate(ids):
        sid = f'"{s}"' if i % 7 == 0 else s
        lines.append(sid + "," + ",".join(cells[i]))
        if i == 150:
            lines.append("")
    (d / "genotypes.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    (d / "phenotypes.csv").write_text(_pheno(rng, [*ids[:-3], "extra1"], 3))
    out["csv_letters"] = lambda d=d: read_dataset_folder(d)
    out["csv_letters_most_frequent"] = lambda d=d: read_dataset_folder(
        d, missing_policy="most_frequent"
    )
    # numbers, tab, gzip, marker map with declared states and a known-QTL table
    d = root / "csv_numbers"
    d.mkdir()
    n, n_loc = 280, 30
    ids = [f"ind-{i:03d}" for i in range(n)]
    cells = _cells(rng, n, n_loc, ["0", "1", "2"], ["-", "NA"])
    names = [f"m{j}" for j in range(n_loc)]
    lines = ["sample\t" + "\t".join(names)] + [
        ids[i] + "\t" + "\t".join(cells[i]) for i in range(n)
    ]
    (d / "genotypes.csv.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    (d / "phenotypes.csv").write_text(_pheno(rng, ids[::-1], 4))
    mk = ["marker,chromosome,position,alleles"]
    mk += [
        f"m{j},chr{'IV' if j % 2 else 'II'},{1000 * j},{'0|1|2|3' if j == 3 else ''}"
        for j in range(n_loc)
    ]
    (d / "markers.csv").write_text("\n".join(mk) + "\n")
    (d / "known_qtl.csv").write_text(
        "trait,chromosome,position,ci_left,ci_right\nt1,2,2000,1000,3000\nT_2,4,5000,,\n"
        "zzz,4,1,1,1\n"
    )
    out["csv_numbers"] = lambda d=d: read_dataset_folder(d)
    # multi-character states with quoting (no newline inside quotes: the old reader split
    # records at every newline)
    d = root / "csv_quoted"
    d.mkdir()
    n, n_loc = 40, 12
    ids = [f"q{i}" for i in range(n)]
    cells = _cells(rng, n, n_loc, ["AA", "AT", "TT"], ["NA"])
    lines = ['"sample",' + ",".join(f'"mk {j}"' for j in range(n_loc))]
    for i in range(n):
        row = [f'"{c}"' if (i + j) % 5 == 0 else c for j, c in enumerate(cells[i])]
        lines.append(ids[i] + "," + ",".join(row))
    (d / "genotypes.csv").write_text("\n".join(lines) + "\n")
    (d / "phenotypes.csv").write_text(_pheno(rng, ids, 2).replace(",", ";"))
    out["csv_quoted"] = lambda d=d: read_dataset_folder(d)
    return out


def _bloom_case(root: Path, rng: np.random.Generator) -> dict[str, Callable[[], Dataset]]:
    from gpatlas_core.io import read_bloom

    d = root / "bloom"
    d.mkdir()
    n_m, n = 600, 30
    samples = [f"A{i:02d}_{i}" for i in range(n)]
    cells = _cells(rng, n_m, n, ["B", "R"], ["NA"])
    names = [f"{1000 + 37 * j}_chr{(j % 16) + 1:02d}_{37 * j + 5}_A_T" for j in range(n_m)]
    lines = ["marker\t" + "\t".join(samples)]
    lines += [names[j] + "\t" + "\t".join(cells[j]) for j in range(n_m)]
    geno = d / "BYxRM_GenoData.txt.gz"
    geno.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    ph = _pheno(rng, samples, 3, sep="\t").replace("sample\t", "\t", 1)
    pheno = d / "BYxRM_PhenoData.txt"
    pheno.write_text(ph)
    qtl = d / "qtl.csv"
    qtl.write_text("Trait,Chromosome,Peak Position (bp),LOD\nt0,1,500,3.5\nT1,2,900,4\nno,3,1,1\n")
    return {"bloom": lambda: read_bloom(geno, pheno, known_qtl=qtl)}


def _vcf_case(root: Path, rng: np.random.Generator) -> dict[str, Callable[[], Dataset]]:
    from gpatlas_core.io import read_vcf

    d = root / "vcf"
    d.mkdir()
    n, n_rec = 25, 700
    samples = [f"S{i}" for i in range(n)]
    head = [
        "##fileformat=VCFv4.2",
        "##source=reader_cases",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples),
    ]
    recs = []
    for r in range(n_rec):
        chrom = ["chrI", "chrII", "chrXVI", "chrM"][r % 4]
        rid = "." if r % 9 == 0 else (f"rs{r // 2}" if r % 11 == 0 else f"rs{r}")
        n_alt = 2 if r % 13 == 0 else 1
        alt = "G,T" if n_alt == 2 else "G"
        haploid = r % 5 == 0
        gts = []
        for _ in range(n):
            if haploid:
                gt = str(int(rng.integers(0, n_alt + 1))) if rng.random() > 0.05 else "."
            else:
                a, b = rng.integers(0, n_alt + 1, size=2)
                sep = "|" if rng.random() < 0.3 else "/"
                u = rng.random()
                if u < 0.03:
                    gt = "./."
                elif u < 0.05:
                    gt = f"./{b}"
                else:
                    gt = f"{a}{sep}{b}"
            gts.append(gt)
        if r % 3 == 0:
            fmt, cells = "GT:DP", [f"{g}:{int(rng.integers(1, 30))}" for g in gts]
        else:
            fmt, cells = "GT", gts
        recs.append(
            "\t".join([chrom, str(100 + 10 * r), rid, "A", alt, ".", "PASS", ".", fmt, *cells])
        )
    text = "\n".join(head + recs) + "\n"
    plain = d / "calls.vcf"
    plain.write_text(text)
    gz = d / "calls.vcf.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    pheno = d / "pheno.csv"
    pheno.write_text(_pheno(rng, [*samples[2:], "other"], 2))
    return {
        "vcf": lambda: read_vcf(plain, pheno),
        "vcf_gz_most_frequent": lambda: read_vcf(gz, pheno, missing_policy="most_frequent"),
    }


def _plink_case(root: Path, rng: np.random.Generator) -> dict[str, Callable[[], Dataset]]:
    from bed_reader import to_bed

    from gpatlas_core.io import read_plink

    out = {}
    for kind in ("diploid", "haploid"):
        d = root / f"plink_{kind}"
        d.mkdir()
        n, n_loc = 45, 70
        if kind == "diploid":
            val = rng.integers(0, 3, size=(n, n_loc)).astype(np.float32)
            val[:, 4] = 0  # single state
        else:
            val = 2.0 * rng.integers(0, 2, size=(n, n_loc)).astype(np.float32)
        val[rng.random((n, n_loc)) < 0.04] = np.nan
        iids = [f"i{k}" for k in range(n)]
        bed = d / "data.bed"
        to_bed(
            bed,
            val,
            properties={
                "iid": iids,
                "fid": [f"f{k % 3}" for k in range(n)],
                "sid": [f"snp{j}" if j % 10 else "." for j in range(n_loc)],
                "chromosome": [["1", "chr2", "X", "MT"][j % 4] for j in range(n_loc)],
                "bp_position": [500 + 7 * j for j in range(n_loc)],
            },
        )
        ph = ["FID IID height weight"]
        for k, s in enumerate([*iids[3:], "zz"]):
            w = "-9" if k % 6 == 0 else f"{rng.normal():.4f}"
            ph.append(f"f{k % 3} {s} {rng.normal():.4f} {w}")
        pheno = d / "pheno.txt"
        pheno.write_text("\n".join(ph) + "\n")
        out[f"plink_{kind}"] = lambda d=d, p=pheno: read_plink(
            d / "data.bed", d / "data.bim", d / "data.fam", p
        )
    return out


def write_bcf(vcf: Path, out: Path) -> Path:
    """``vcf`` (plain or gzip) as BCF (htslib through cyvcf2), with the header lines BCF needs
    (``##contig``, the GT ``##FORMAT``) added."""
    import cyvcf2

    raw = vcf.read_bytes()
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()
    chroms = dict.fromkeys(
        ln.split("\t", 1)[0] for ln in text.splitlines() if ln and not ln.startswith("#")
    )
    head, sep, rest = text.partition("#CHROM")
    head += "".join(f"##contig=<ID={c}>\n" for c in chroms)
    if "##FORMAT=<ID=GT," not in head:
        head += '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    with_contigs = out.with_suffix(".contigs.vcf")
    with_contigs.write_text(head + sep + rest)
    reader = cyvcf2.VCF(str(with_contigs))
    writer = cyvcf2.Writer(str(out), reader, mode="wb")
    for rec in reader:
        writer.write_record(rec)
    writer.close()
    reader.close()
    with_contigs.unlink()
    return out


def write_cases(root: Path) -> dict[str, Callable[[], Dataset]]:
    """Write every case under ``root`` (seeded: same files every time); ``{id: read}``."""
    rng = np.random.default_rng(1234)
    cases: dict[str, Callable[[], Dataset]] = {}
    cases.update(_csv_cases(root, rng))
    cases.update(_bloom_case(root, rng))
    cases.update(_vcf_case(root, rng))
    cases.update(_plink_case(root, rng))
    return cases
