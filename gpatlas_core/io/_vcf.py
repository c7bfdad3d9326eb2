"""VCF genotypes (plain or gzip/bgzip), haploid or diploid GT, with a phenotype table."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._dataset import DataError, Dataset, MissingPolicy
from ._limits import ReadLimits, Source, display_name, read_blob
from ._maps import normalize_chromosomes, read_known_qtl
from ._match import assemble, check_policy
from ._numeric import parse_numeric_table
from ._tables import GenotypeTable, encode_states, split_lines

__all__ = ["read_vcf"]

_GT = re.compile(r"^(\d+|\.)(?:([/|])(\d+|\.))?$")
_CHUNK = 512


def _gt_label(gt: str) -> tuple[str | None, int]:
    """Normalised state label of a GT value and its largest allele index (-1 = missing).

    Diploid calls are unordered (``1|0`` -> ``0/1``). Raises ValueError when not a GT.
    """
    m = _GT.match(gt)
    if m is None:
        raise ValueError(gt)
    a, _, b = m.groups()
    if b is None:
        return (None, -1) if a == "." else (str(int(a)), int(a))
    if a == "." or b == ".":
        return None, -1
    x, y = sorted((int(a), int(b)))
    return f"{x}/{y}", y


def read_vcf(
    vcf: Source,
    phenotypes: Source,
    *,
    known_qtl: Source | None = None,
    missing_policy: MissingPolicy = "own_state",
    limits: ReadLimits | None = None,
    name: str | None = None,
) -> Dataset:
    """Read genotypes from a VCF (GT field) and a phenotype table, matched by sample id.

    Parameters
    ----------
    vcf
        VCF 4.x text, plain or gzip/bgzip compressed. Allele states are the GT values:
        haploid ``"0"``, ``"1"``, ...; diploid unordered ``"0/0"``, ``"0/1"``, ``"1/1"``
        (phasing dropped). ``.``, ``./.`` and half-missing calls are missing. Marker names
        are the ID column, or ``CHROM_POS`` where ID is ``.``.
    phenotypes
        Delimited table: sample id then one column per trait.
    known_qtl, missing_policy, limits, name
        As for the other readers.
    """
    check_policy(missing_policy)
    limits = limits or ReadLimits()
    blob = read_blob(vcf, limits=limits)
    fname = blob.name
    lines = split_lines(blob)
    k = 0
    while k < len(lines) and lines[k].startswith(b"##"):
        k += 1
    if k == len(lines) or not lines[k].startswith(b"#CHROM"):
        raise DataError(
            f"{fname}: line {k + 1}: expected the '#CHROM POS ID REF ALT QUAL FILTER INFO "
            "FORMAT samples...' header line of a VCF file"
        )
    header = lines[k].decode().rstrip().split("\t")
    if len(header) > limits.max_columns:
        raise DataError(f"{fname}: the header has {len(header):,} columns; refused")
    if len(header) < 10 or header[8] != "FORMAT":
        raise DataError(
            f"{fname}: line {k + 1}: expected 9 fixed columns ending in FORMAT and at least one "
            "sample column (tab-separated)"
        )
    samples = header[9:]
    if len(samples) > limits.max_samples:
        raise DataError(f"{fname}: {len(samples):,} samples exceeds the limit; refused")
    if len(set(samples)) != len(samples):
        dup = next(s for s in samples if samples.count(s) > 1)
        raise DataError(f"{fname}: line {k + 1}: sample id '{dup}' appears twice")
    records = lines[k + 1 :]
    if not records:
        raise DataError(f"{fname}: no variant records below the header")
    if len(records) > limits.max_markers:
        raise DataError(f"{fname}: {len(records):,} markers exceeds the limit; refused")
    n_s = len(samples)
    chroms, positions, names = [], np.empty(len(records), dtype=np.int64), []
    vocab: dict[str, int] = {}
    labels: list[str] = []
    blocks = []
    for start in range(0, len(records), _CHUNK):
        chunk = records[start : start + _CHUNK]
        tokens: list[str] = []
        n_alt = np.empty(len(chunk), dtype=np.int64)
        for r, ln in enumerate(chunk):
            lineno = k + 2 + start + r
            f = ln.decode().rstrip("\n").split("\t")
            if len(f) != 9 + n_s:
                raise DataError(
                    f"{fname}: line {lineno} has {len(f)} tab-separated fields; expected "
                    f"{9 + n_s} (9 fixed + one per sample)"
                )
            fmt = f[8].split(":")
            if "GT" not in fmt:
                raise DataError(f"{fname}: line {lineno}: FORMAT '{f[8]}' has no GT field")
            gi = fmt.index("GT")
            cells = f[9:]
            tokens.extend(
                cells if len(fmt) == 1 else [c.split(":")[gi] if c else "." for c in cells]
            )
            try:
                positions[start + r] = int(f[1])
            except ValueError:
                raise DataError(
                    f"{fname}: line {lineno}, column POS: '{f[1]}' is not a position"
                ) from None
            chroms.append(f[0])
            names.append(f[2] if f[2] not in (".", "") else f"{f[0]}_{f[1]}")
            n_alt[r] = 0 if f[4] in (".", "") else f[4].count(",") + 1
        local, uniques = pd.factorize(np.asarray(tokens, dtype=object))
        glob = np.empty(len(uniques) + 1, dtype=np.int16)
        top = np.empty(len(uniques) + 1, dtype=np.int64)
        glob[-1], top[-1] = -1, -1
        for u, gt in enumerate(uniques):
            try:
                lab, hi = _gt_label(gt)
            except ValueError:
                i = int(np.flatnonzero(local == u)[0])
                raise DataError(
                    f"{fname}: line {k + 2 + start + i // n_s}, sample '{samples[i % n_s]}': "
                    f"unknown genotype '{gt[:40]}'; expected a GT such as 0, 1, 0/1, 1|1 or ./."
                ) from None
            top[u] = hi
            if lab is None:
                glob[u] = -1
            else:
                if lab not in vocab:
                    vocab[lab] = len(labels)
                    labels.append(lab)
                glob[u] = vocab[lab]
        local = local.reshape(len(chunk), n_s)
        over = top[local] > n_alt[:, None]
        if over.any():
            r, s = (int(x) for x in np.argwhere(over)[0])
            raise DataError(
                f"{fname}: line {k + 2 + start + r}, sample '{samples[s]}': allele index "
                f"{top[local[r, s]]} but the record lists only {n_alt[r]} ALT allele(s)"
            )
        blocks.append(glob[local])
    gcodes = np.ascontiguousarray(np.concatenate(blocks, axis=0).T)
    seen: dict[str, int] = {}
    for i, nm in enumerate(names):
        if nm in seen:
            seen[nm] += 1
            names[i] = f"{nm}_{seen[nm]}"
        else:
            seen[nm] = 1
    if len(set(names)) != len(names):
        raise DataError(f"{fname}: marker ids are not unique even after numbering duplicates")

    def cell(i: int, j: int) -> str:
        return f"line {k + 2 + j}, sample '{samples[i]}'"

    codes, alleles, notes = encode_states(gcodes, labels, name=fname, markers=names, cell=cell)
    table = GenotypeTable(samples, names, codes, alleles, notes)
    markers = pd.DataFrame(
        {
            "marker": pd.Series(names, dtype=object),
            "chromosome": pd.Series(normalize_chromosomes(chroms), dtype=object),
            "position": positions,
        }
    )
    pblob = read_blob(phenotypes, limits=limits)
    ptable = parse_numeric_table(pblob, limits=limits)
    qtl = None
    if known_qtl is not None:
        qtl = read_known_qtl(known_qtl, traits=ptable.columns, limits=limits)
    ploidy = sorted({lab.count("/") + 1 for lab in labels})
    return assemble(
        table,
        ptable,
        geno_name=fname,
        pheno_name=pblob.name,
        markers=markers,
        known_qtl=qtl,
        missing_policy=missing_policy,
        name=name or Path(display_name(vcf)).name.split(".")[0],
        source=f"VCF: {fname}, {pblob.name}",
        report={"format": "vcf", "ploidy": ploidy, "encoding": blob.encoding},
    )
