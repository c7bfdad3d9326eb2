"""PLINK 1 binary genotypes (.bed/.bim/.fam) with a phenotype table, via bed-reader in chunks.

The ``.fam`` and ``.bim`` are streamed first; samples x markers is held against the limits
and the ``.bed`` size against the trio before a genotype is read. bed-reader then reads the
``.bed`` in chunks of markers straight into one int8 matrix (an upload is copied to a
temporary file first, removed afterwards). The allele-count coding and the haploid rule are
shared with PLINK 2 (:mod:`._pgen`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ._dataset import DataError, Dataset, MissingPolicy
from ._encode import encode_states
from ._limits import ByteStream, ReadLimits, Source, display_name
from ._local import local_file
from ._maps import normalize_chromosomes, read_known_qtl
from ._match import assemble, check_policy
from ._numeric import parse_numeric_table
from ._tables import GenotypeTable
from ._text import iter_lines

__all__ = ["read_plink"]

_BED_MAGIC = b"l\x1b\x01"
PLINK_MISSING_PHENOTYPE = "-9"
CHUNK_BYTES = 64 * 1024 * 1024
"""Genotype bytes read per chunk of markers (module-level so a test can make it tiny)."""


def text_rows(src: Source, limits: ReadLimits) -> tuple[str, Iterator[tuple[int, list[str]]]]:
    """``(name, rows)``: the whitespace-separated fields of each non-blank line, streamed."""
    stream = ByteStream(src, limits=limits)

    def rows() -> Iterator[tuple[int, list[str]]]:
        for k, ln in iter_lines(stream):
            if ln.strip():
                yield k, ln.decode().split()

    return stream.name, rows()


def _read_fam(src: Source, limits: ReadLimits) -> tuple[str, list[str]]:
    name, rows = text_rows(src, limits)
    ids: list[str] = []
    seen: dict[str, int] = {}
    for k, fields in rows:
        if len(fields) != 6:
            raise DataError(
                f"{name}: line {k} has {len(fields)} fields; expected 6 (family id, sample id, "
                "father, mother, sex, phenotype, separated by spaces or tabs)"
            )
        s = fields[1]
        if s in seen:
            raise DataError(f"{name}: sample id '{s}' appears twice (lines {seen[s]} and {k})")
        seen[s] = k
        ids.append(s)
        limits.check_count(name, "sample", len(ids), exact=False, where=f" (line {k:,})")
    if not ids:
        raise DataError(f"{name}: no samples")
    return name, ids


def marker_table(
    name: str,
    chroms: list[str],
    ids: list[str],
    pos: list[str],
    lines: list[int],
    *,
    pos_column: str = "column 4",
) -> pd.DataFrame:
    """The marker map from a ``.bim``/``.pvar``: ids (``CHROM_POS`` for ``.``), unique."""
    names = []
    seen: dict[str, int] = {}
    position = np.empty(len(ids), dtype=np.int64)
    for i, (c, m, p) in enumerate(zip(chroms, ids, pos, strict=True)):
        nm = m if m not in (".", "") else f"{c}_{p}"
        if nm in seen:
            raise DataError(
                f"{name}: marker '{nm}' appears twice (lines {seen[nm]} and {lines[i]})"
            )
        seen[nm] = lines[i]
        names.append(nm)
        try:
            position[i] = int(p)
        except ValueError:
            raise DataError(
                f"{name}: line {lines[i]}, {pos_column}: '{p}' is not a base-pair position"
            ) from None
    return pd.DataFrame(
        {
            "marker": pd.Series(names, dtype=object),
            "chromosome": pd.Series(normalize_chromosomes(chroms), dtype=object),
            "position": np.where(position < 0, -1, position),
        }
    )


def _read_bim(src: Source, limits: ReadLimits) -> tuple[str, pd.DataFrame]:
    name, rows = text_rows(src, limits)
    chroms, ids, pos, lines = [], [], [], []
    for k, f in rows:
        if len(f) != 6:
            raise DataError(
                f"{name}: line {k} has {len(f)} fields; expected 6 (chromosome, marker id, cM, "
                "position, allele 1, allele 2, separated by spaces or tabs)"
            )
        chroms.append(f[0])
        ids.append(f[1])
        pos.append(f[3])
        lines.append(k)
        limits.check_count(name, "marker", len(ids), exact=False, where=f" (line {k:,})")
    if not ids:
        raise DataError(f"{name}: no markers")
    return name, marker_table(name, chroms, ids, pos, lines)


def count_coded(
    codes: np.ndarray,
    *,
    ploidy: Literal["auto", 1, 2],
    name: str,
    samples: list[str],
    markers: list[str],
    any_het: bool,
) -> tuple[list[str], int]:
    """Allele counts (0/1/2, -1 missing) in ``codes`` -> global state codes, in place.

    ``"auto"``: haploid when no heterozygous call exists (PLINK stores haploid calls as
    homozygous), then ``0``/``2`` become ``"0"``/``"1"``; 1 makes a heterozygous call an
    error; 2 keeps three states. Returns the vocabulary and the ploidy.
    """
    haploid = ploidy == 1 or (ploidy == "auto" and not any_het)
    if haploid and any_het:
        step = max(1, (1 << 22) // max(codes.shape[1], 1))
        for i0 in range(0, codes.shape[0], step):
            het = np.argwhere(codes[i0 : i0 + step] == 1)
            if len(het):
                i, j = int(het[0][0]) + i0, int(het[0][1])
                raise DataError(
                    f"{name}: sample '{samples[i]}', marker '{markers[j]}' is heterozygous; "
                    "expected haploid calls (ploidy=1)"
                )
    if haploid:
        step = max(1, (1 << 22) // max(codes.shape[1], 1))
        for i0 in range(0, codes.shape[0], step):
            block = codes[i0 : i0 + step]
            np.floor_divide(block, 2, out=block, where=block > 0)
        return ["0", "1"], 1
    return ["0", "1", "2"], 2


def _bed_into(path: Path, name: str, n: int, n_loci: int) -> tuple[np.ndarray, bool]:
    """The ``.bed`` as allele-1 counts (n, l) int8 (-1 missing), chunk by chunk of markers,
    and whether any call is heterozygous."""
    with open(path, "rb") as fh:
        magic = fh.read(3)
    if magic != _BED_MAGIC:
        raise DataError(
            f"{name}: not a PLINK .bed file (expected the magic bytes 6c 1b 01 of "
            "variant-major PLINK 1 binary genotypes)"
        )
    size = os.path.getsize(path)
    expected = 3 + ((n + 3) // 4) * n_loci
    if size != expected:
        raise DataError(
            f"{name}: {size:,} bytes; expected {expected:,} for {n} samples "
            f"(.fam) x {n_loci} markers (.bim) — do the three files belong together?"
        )
    from bed_reader import open_bed

    codes = np.empty((n, n_loci), dtype=np.int8)
    step = max(1, CHUNK_BYTES // max(n, 1))
    any_het = False
    try:
        with open_bed(path, iid_count=n, sid_count=n_loci, count_A1=True) as bed:
            for j0 in range(0, n_loci, step):
                j1 = min(n_loci, j0 + step)
                val = bed.read(index=np.s_[:, j0:j1], dtype="int8", order="C")
                np.maximum(val, -1, out=val)  # bed-reader's missing value is -127
                any_het = any_het or bool((val == 1).any())
                codes[:, j0:j1] = val
    except (ValueError, OSError, RuntimeError) as err:
        raise DataError(f"{name}: cannot read the genotypes ({err})") from None
    return codes, any_het


def finish_counts(
    codes: np.ndarray,
    *,
    any_het: bool,
    ploidy: Literal["auto", 1, 2],
    geno_name: str,
    samples: list[str],
    markers: pd.DataFrame,
) -> tuple[GenotypeTable, int]:
    """Allele counts to a :class:`GenotypeTable` (shared by PLINK 1 and 2)."""
    names = list(markers["marker"])
    vocab, ploid = count_coded(
        codes, ploidy=ploidy, name=geno_name, samples=samples, markers=names, any_het=any_het
    )

    def cell(i: int, j: int) -> str:
        return f"sample '{samples[i]}', marker '{names[j]}'"

    codes, alleles, notes = encode_states(codes, vocab, name=geno_name, markers=names, cell=cell)
    return GenotypeTable(samples, names, codes, alleles, notes, name=geno_name), ploid


def with_phenotypes(
    table: GenotypeTable,
    phenotypes: Source,
    *,
    markers: pd.DataFrame,
    known_qtl: Source | None,
    missing_policy: MissingPolicy,
    limits: ReadLimits,
    name: str,
    source: Callable[[str], str],
    report: dict,
) -> Dataset:
    """Read the phenotype (and known-QTL) tables and assemble the dataset (PLINK 1 and 2)."""
    ptable = parse_numeric_table(
        phenotypes, limits=limits, skip_columns=("fid",), extra_missing=(PLINK_MISSING_PHENOTYPE,)
    )
    qtl = None
    if known_qtl is not None:
        qtl = read_known_qtl(known_qtl, traits=ptable.columns, limits=limits)
    return assemble(
        table,
        ptable,
        geno_name=table.name,
        pheno_name=ptable.name,
        markers=markers,
        known_qtl=qtl,
        missing_policy=missing_policy,
        name=name,
        source=source(ptable.name),
        report=report,
    )


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
    fam_name, samples = _read_fam(fam, limits)
    bim_name, markers = _read_bim(bim, limits)
    bed_name = display_name(bed)
    limits.check_genotypes(bed_name, len(samples), len(markers))
    with local_file(bed, limits=limits, suffix=".bed") as path:
        codes, any_het = _bed_into(path, bed_name, len(samples), len(markers))
    table, ploid = finish_counts(
        codes,
        any_het=any_het,
        ploidy=ploidy,
        geno_name=bed_name,
        samples=samples,
        markers=markers,
    )
    del codes
    return with_phenotypes(
        table,
        phenotypes,
        markers=markers,
        known_qtl=known_qtl,
        missing_policy=missing_policy,
        limits=limits,
        name=name or Path(bed_name).stem,
        source=lambda p: f"PLINK: {bed_name}, {bim_name}, {fam_name}, {p}",
        report={"format": "plink", "ploidy": ploid},
    )
