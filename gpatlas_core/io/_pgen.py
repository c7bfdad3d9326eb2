"""PLINK 2 genotypes (.pgen/.pvar/.psam) with a phenotype table, via pgenlib in chunks.

The ``.psam`` and ``.pvar`` are streamed first (samples, marker map) and samples x markers is
held against the limits before a genotype is read; pgenlib then reads the ``.pgen`` in chunks
of variants, sample-major, into one int8 matrix. Genotypes are ALT-allele counts, which for a
file set converted from PLINK 1 are the ``.bed``'s allele-1 counts: the same allele states
(``"0"``, ``"1"``, ``"2"``; haploid ``"0"``/``"1"``) as :func:`~gpatlas_core.io.read_plink`.
Multi-allelic variants are refused (split them first, e.g. ``plink2 --max-alleles 2``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ._dataset import DataError, Dataset, MissingPolicy
from ._limits import ReadLimits, Source, display_name
from ._local import local_file
from ._match import check_policy
from ._plink import finish_counts, marker_table, text_rows, with_phenotypes

__all__ = ["read_pgen"]

CHUNK_BYTES = 64 * 1024 * 1024
"""Genotype bytes read per chunk of variants (module-level so a test can make it tiny)."""
_PGEN_MAGIC = b"l\x1b"


def _read_psam(src: Source, limits: ReadLimits) -> tuple[str, list[str]]:
    """Sample ids (IID) of a ``.psam`` (``#FID IID ...`` or ``#IID ...`` header) or of a
    header-less ``.fam``-style file."""
    name, rows = text_rows(src, limits)
    ids: list[str] = []
    lines: list[int] = []
    col, width = None, None
    for k, f in rows:
        if col is None and f[0].startswith("#"):
            head = [h.lstrip("#").upper() for h in f]
            if "IID" not in head:
                raise DataError(f"{name}: line {k}: the header has no IID column")
            col, width = head.index("IID"), len(head)
            continue
        if col is None:  # no header: the .fam layout
            col, width = 1, 6
        if len(f) != width:
            raise DataError(
                f"{name}: line {k} has {len(f)} fields; expected {width} like the header"
            )
        ids.append(f[col])
        lines.append(k)
        limits.check_count(name, "sample", len(ids), exact=False, where=f" (line {k:,})")
    if not ids:
        raise DataError(f"{name}: no samples")
    seen: dict[str, int] = {}
    for i, s in enumerate(ids):
        if s in seen:
            raise DataError(
                f"{name}: sample id '{s}' appears twice (lines {lines[seen[s]]} and {lines[i]})"
            )
        seen[s] = i
    return name, ids


def _read_pvar(src: Source, limits: ReadLimits) -> tuple[str, pd.DataFrame]:
    """The marker map of a ``.pvar`` (``#CHROM POS ID REF ALT ...``, ``##`` lines skipped) or
    of a header-less ``.bim``-style file; multi-allelic variants are refused."""
    name, rows = text_rows(src, limits)
    chroms, ids, pos, lines = [], [], [], []
    cols = None
    for k, f in rows:
        if f[0].startswith("##"):
            continue
        if cols is None and f[0].startswith("#"):
            head = [h.lstrip("#").upper() for h in f]
            missing = [c for c in ("CHROM", "POS", "ID", "REF", "ALT") if c not in head]
            if missing:
                raise DataError(f"{name}: line {k}: the header lacks {', '.join(missing)}")
            cols = (head.index("CHROM"), head.index("ID"), head.index("POS"), head.index("ALT"))
            width = len(head)
            continue
        if cols is None:  # no header: the .bim layout (ALT is allele 1)
            cols, width = (0, 1, 3, 4), 6
        if len(f) != width:
            raise DataError(
                f"{name}: line {k} has {len(f)} fields; expected {width} like the header"
            )
        if "," in f[cols[3]]:
            raise DataError(
                f"{name}: line {k}: variant '{f[cols[1]]}' has {f[cols[3]].count(',') + 1} ALT "
                "alleles; multi-allelic variants are not supported (split them, e.g. "
                "plink2 --max-alleles 2 or bcftools norm -m-)"
            )
        chroms.append(f[cols[0]])
        ids.append(f[cols[1]])
        pos.append(f[cols[2]])
        lines.append(k)
        limits.check_count(name, "marker", len(ids), exact=False, where=f" (line {k:,})")
    if not ids:
        raise DataError(f"{name}: no variants")
    return name, marker_table(name, chroms, ids, pos, lines, pos_column="column POS")


def _pgen_into(path: Path, name: str, n: int, n_loci: int) -> tuple[np.ndarray, bool]:
    """ALT counts (n, l) int8 (-1 missing) chunk by chunk, and whether any is heterozygous."""
    with open(path, "rb") as fh:
        magic = fh.read(3)
    if not magic.startswith(_PGEN_MAGIC) or magic == b"l\x1b\x00":
        raise DataError(f"{name}: not a PLINK 2 .pgen file (expected the magic bytes 6c 1b)")
    import pgenlib

    try:
        reader = pgenlib.PgenReader(bytes(path), raw_sample_ct=n)
    except RuntimeError as err:
        raise DataError(f"{name}: pgenlib cannot open it ({err})") from None
    try:
        if reader.get_variant_ct() != n_loci or reader.get_raw_sample_ct() != n:
            raise DataError(
                f"{name}: {reader.get_raw_sample_ct():,} samples x {reader.get_variant_ct():,} "
                f"variants; expected {n:,} (.psam) x {n_loci:,} (.pvar) — do the three files "
                "belong together?"
            )
        codes = np.empty((n, n_loci), dtype=np.int8)
        step = max(1, CHUNK_BYTES // max(n, 1))
        buf = np.empty((n, min(step, n_loci)), dtype=np.int8)
        any_het = False
        for j0 in range(0, n_loci, step):
            j1 = min(n_loci, j0 + step)
            out = buf if j1 - j0 == buf.shape[1] else np.empty((n, j1 - j0), dtype=np.int8)
            reader.read_range(j0, j1, out, allele_idx=1, sample_maj=1)
            np.maximum(out, -1, out=out)  # pgenlib's missing value is -9
            any_het = any_het or bool((out == 1).any())
            codes[:, j0:j1] = out
    except RuntimeError as err:
        raise DataError(f"{name}: cannot read the genotypes ({err})") from None
    finally:
        reader.close()
    return codes, any_het


def read_pgen(
    pgen: Source,
    pvar: Source,
    psam: Source,
    phenotypes: Source,
    *,
    known_qtl: Source | None = None,
    ploidy: Literal["auto", 1, 2] = "auto",
    missing_policy: MissingPolicy = "own_state",
    limits: ReadLimits | None = None,
    name: str | None = None,
) -> Dataset:
    """Read PLINK 2 genotypes and a phenotype table, matched by sample id (IID).

    Parameters
    ----------
    pgen, pvar, psam
        The PLINK 2 file set (paths or file-likes; ``.pvar``/``.psam`` may be gzipped).
        Genotypes become allele states: the ALT-allele count (``"0"``, ``"1"``, ``"2"``) for
        diploids, ``"0"``/``"1"`` for haploids (stored as homozygous).
    phenotypes
        Delimited table: sample id (or ``FID IID`` columns) then one column per trait; NA,
        empty and ``-9`` are missing.
    known_qtl, ploidy, missing_policy, limits, name
        As for :func:`~gpatlas_core.io.read_plink`.
    """
    check_policy(missing_policy)
    if ploidy not in ("auto", 1, 2):
        raise DataError(f"ploidy must be 'auto', 1 or 2, got {ploidy!r}")
    limits = limits or ReadLimits()
    psam_name, samples = _read_psam(psam, limits)
    pvar_name, markers = _read_pvar(pvar, limits)
    pgen_name = display_name(pgen)
    limits.check_genotypes(pgen_name, len(samples), len(markers))
    with local_file(pgen, limits=limits, suffix=".pgen") as path:
        codes, any_het = _pgen_into(path, pgen_name, len(samples), len(markers))
    table, ploid = finish_counts(
        codes,
        any_het=any_het,
        ploidy=ploidy,
        geno_name=pgen_name,
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
        name=name or Path(pgen_name).stem,
        source=lambda p: f"PLINK 2: {pgen_name}, {pvar_name}, {psam_name}, {p}",
        report={"format": "pgen", "ploidy": ploid},
    )
