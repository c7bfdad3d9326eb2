"""PLINK 1 binary genotypes (.bed/.bim/.fam) with a phenotype table, via bed-reader."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ._dataset import DataError, Dataset, MissingPolicy
from ._limits import Blob, ReadLimits, Source, display_name, read_blob
from ._maps import normalize_chromosomes, read_known_qtl
from ._match import assemble, check_policy
from ._numeric import parse_numeric_table
from ._tables import GenotypeTable, encode_states, split_lines

__all__ = ["read_plink"]

_BED_MAGIC = b"l\x1b\x01"
PLINK_MISSING_PHENOTYPE = "-9"


def _whitespace_rows(blob: Blob, n_fields: int, what: str) -> list[list[str]]:
    rows = []
    for k, ln in enumerate(split_lines(blob), start=1):
        fields = ln.decode().split()
        if len(fields) != n_fields:
            raise DataError(
                f"{blob.name}: line {k} has {len(fields)} fields; expected {n_fields} "
                f"({what}, separated by spaces or tabs)"
            )
        rows.append(fields)
    return rows


def _read_fam(blob: Blob, limits: ReadLimits) -> list[str]:
    rows = _whitespace_rows(blob, 6, "family id, sample id, father, mother, sex, phenotype")
    if len(rows) > limits.max_samples:
        raise DataError(f"{blob.name}: {len(rows):,} samples exceeds the limit; refused")
    ids = [r[1] for r in rows]
    seen: dict[str, int] = {}
    for i, s in enumerate(ids):
        if s in seen:
            raise DataError(
                f"{blob.name}: sample id '{s}' appears twice (lines {seen[s] + 1} and {i + 1})"
            )
        seen[s] = i
    return ids


def _read_bim(blob: Blob, limits: ReadLimits) -> pd.DataFrame:
    rows = _whitespace_rows(blob, 6, "chromosome, marker id, cM, position, allele 1, allele 2")
    if len(rows) > limits.max_markers:
        raise DataError(f"{blob.name}: {len(rows):,} markers exceeds the limit; refused")
    names = []
    seen: dict[str, int] = {}
    pos = np.empty(len(rows), dtype=np.int64)
    for i, r in enumerate(rows):
        nm = r[1] if r[1] not in (".", "") else f"{r[0]}_{r[3]}"
        if nm in seen:
            raise DataError(
                f"{blob.name}: marker '{nm}' appears twice (lines {seen[nm] + 1} and {i + 1})"
            )
        seen[nm] = i
        names.append(nm)
        try:
            pos[i] = int(r[3])
        except ValueError:
            raise DataError(
                f"{blob.name}: line {i + 1}, column 4: '{r[3]}' is not a base-pair position"
            ) from None
    return pd.DataFrame(
        {
            "marker": pd.Series(names, dtype=object),
            "chromosome": pd.Series(normalize_chromosomes(r[0] for r in rows), dtype=object),
            "position": np.where(pos < 0, -1, pos),
        }
    )


def _read_bed(blob: Blob, n: int, n_loci: int) -> np.ndarray:
    if not blob.data.startswith(_BED_MAGIC):
        raise DataError(
            f"{blob.name}: not a PLINK .bed file (expected the magic bytes 6c 1b 01 of "
            "variant-major PLINK 1 binary genotypes)"
        )
    expected = 3 + ((n + 3) // 4) * n_loci
    if len(blob.data) != expected:
        raise DataError(
            f"{blob.name}: {len(blob.data):,} bytes; expected {expected:,} for {n} samples "
            f"(.fam) x {n_loci} markers (.bim) — do the three files belong together?"
        )
    from bed_reader import open_bed

    with tempfile.TemporaryDirectory(prefix="gpatlas_bed_") as tmp:
        path = Path(tmp) / "data.bed"
        path.write_bytes(blob.data)
        try:
            with open_bed(path, iid_count=n, sid_count=n_loci, count_A1=True) as bed:
                return bed.read(dtype="int8", order="C")
        except Exception as err:  # bed-reader raises various types on corrupt input
            raise DataError(f"{blob.name}: cannot read the genotypes ({err})") from None


def read_plink(
    bed: Source,
    bim: Source,
    fam: Source,
    phenotypes: Source,
    *,
    known_qtl: Source | None = None,
    ploidy: Literal["auto", 1, 2] = "auto",
    missing_policy: MissingPolicy = "own_state",
    limits: ReadLimits | None = None,
    name: str | None = None,
) -> Dataset:
    """Read PLINK 1 binary genotypes and a phenotype table, matched by sample id (IID).

    Parameters
    ----------
    bed, bim, fam
        The PLINK trio (paths or file-likes). Genotypes become allele states: the count of
        allele 1 (``"0"``, ``"1"``, ``"2"``) for diploids; for haploids (PLINK stores them as
        homozygous) ``"0"`` or ``"1"``.
    phenotypes
        Delimited table: sample id (or PLINK's ``FID IID`` columns) then one column per trait;
        NA, empty and PLINK's ``-9`` are missing.
    known_qtl
        Optional known-QTL table.
    ploidy
        ``"auto"``: haploid when no heterozygous call exists; 1 makes a heterozygous call an
        error; 2 keeps three states.
    missing_policy, limits, name
        See :class:`Dataset` and :class:`ReadLimits`.
    """
    check_policy(missing_policy)
    if ploidy not in ("auto", 1, 2):
        raise DataError(f"ploidy must be 'auto', 1 or 2, got {ploidy!r}")
    limits = limits or ReadLimits()
    fam_blob, bim_blob = read_blob(fam, limits=limits), read_blob(bim, limits=limits)
    samples = _read_fam(fam_blob, limits)
    markers = _read_bim(bim_blob, limits)
    bed_blob = read_blob(bed, limits=limits, text=False)
    val = _read_bed(bed_blob, len(samples), len(markers))
    missing = val < 0
    het = val == 1
    haploid = ploidy == 1 or (ploidy == "auto" and not het.any())
    if haploid and het.any():
        i, j = (int(x) for x in np.argwhere(het)[0])
        raise DataError(
            f"{bed_blob.name}: sample '{samples[i]}', marker '{markers['marker'][j]}' is "
            "heterozygous; expected haploid calls (ploidy=1)"
        )
    if haploid:
        gcodes, vocab = np.where(missing, -1, val // 2).astype(np.int16), ["0", "1"]
    else:
        gcodes, vocab = np.where(missing, -1, val).astype(np.int16), ["0", "1", "2"]
    names = list(markers["marker"])

    def cell(i: int, j: int) -> str:
        return f"sample '{samples[i]}', marker '{names[j]}'"

    codes, alleles, notes = encode_states(
        gcodes, vocab, name=bed_blob.name, markers=names, cell=cell
    )
    table = GenotypeTable(samples, names, codes, alleles, notes)
    pblob = read_blob(phenotypes, limits=limits)
    ptable = parse_numeric_table(
        pblob, limits=limits, skip_columns=("fid",), extra_missing=(PLINK_MISSING_PHENOTYPE,)
    )
    qtl = None
    if known_qtl is not None:
        qtl = read_known_qtl(known_qtl, traits=ptable.columns, limits=limits)
    return assemble(
        table,
        ptable,
        geno_name=bed_blob.name,
        pheno_name=pblob.name,
        markers=markers,
        known_qtl=qtl,
        missing_policy=missing_policy,
        name=name or Path(display_name(bed)).stem,
        source=f"PLINK: {bed_blob.name}, {bim_blob.name}, {fam_blob.name}, {pblob.name}",
        report={"format": "plink", "ploidy": 1 if haploid else 2},
    )
