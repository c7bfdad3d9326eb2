"""Marker maps, chromosome labels and known-QTL tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ._dataset import DataError
from ._limits import ByteStream, ReadLimits, Source
from ._text import MISSING_TOKENS, Records

__all__ = [
    "UNKNOWN_CHROMOSOME",
    "markers_from_names",
    "match_traits",
    "normalize_chromosomes",
    "read_known_qtl",
    "read_markers",
    "trait_key",
]

UNKNOWN_CHROMOSOME = "unknown"
"""Chromosome label of a marker whose position is not known (its position is -1)."""

_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50}
_PREFIX = re.compile(r"^(chromosome|chrom|chr)[_\s-]?", re.IGNORECASE)
_BLOOM_NAME = re.compile(r"^\d+_chr([0-9A-Za-z]+)_(\d+)(?:_|$)")
_CHR_POS_NAME = re.compile(
    r"^(?:chr([0-9A-Za-z]+)|([0-9]{1,3}|X|Y|W|Z|M|MT|[IVX]{1,6}))[:_](\d+)(?:[:_].*)?$",
    re.IGNORECASE,
)
"""``chr2:1500``, ``2_1500_A_T``, ``X:100``, ``IV_2000``: a chromosome that is ``chr``-prefixed or
looks like one (a number, a sex or mitochondrial chromosome, a roman numeral); any other prefix
(``locus_0001``, ``snp_12``) is not read as a position."""


def _roman(text: str) -> int | None:
    if not text or not re.fullmatch(r"L?X{0,3}(IX|IV|V?I{0,3})", text):
        return None
    total, prev = 0, 0
    for ch in reversed(text):
        val = _ROMAN[ch]
        total = total - val if val < prev else total + val
        prev = max(prev, val)
    return total or None


def normalize_chromosomes(labels: Iterable[object]) -> list[str]:
    """Normalise chromosome labels to plain strings: ``chr01`` -> ``1``, ``chrX`` -> ``X``.

    Numbers lose leading zeros; ``M``/``chrM``/``MT`` become ``MT``; when every label of the set
    is a Roman numeral (and not just ``X``), Roman numerals become numbers (yeast ``I``..``XVI``).
    Empty or missing labels become :data:`UNKNOWN_CHROMOSOME`.
    """
    stripped = []
    for lab in labels:
        text = "" if lab is None or (isinstance(lab, float) and np.isnan(lab)) else str(lab).strip()
        if isinstance(lab, float | np.floating) and float(lab).is_integer():
            text = str(int(lab))
        text = _PREFIX.sub("", text)
        stripped.append(text)
    distinct = {s for s in stripped if s and s not in MISSING_TOKENS}
    roman = bool(distinct) and all(_roman(s.upper()) for s in distinct) and distinct != {"X"}
    out = []
    for s in stripped:
        if not s or s in MISSING_TOKENS:
            out.append(UNKNOWN_CHROMOSOME)
        elif s.isdigit():
            out.append(str(int(s)))
        elif roman:
            out.append(str(_roman(s.upper())))
        elif s.upper() in ("M", "MT", "MITO", "MITOCHONDRION"):
            out.append("MT")
        elif len(s) <= 2 and s.isalpha():
            out.append(s.upper())
        else:
            out.append(s)
    return out


def markers_from_names(names: Sequence[str]) -> pd.DataFrame:
    """A marker map guessed from marker names (``27915_chr01_27915_T_C``, ``chr2:1500``).

    Names that carry no position get chromosome :data:`UNKNOWN_CHROMOSOME` and position -1.
    """
    chroms: list[str] = []
    pos = np.full(len(names), -1, dtype=np.int64)
    for i, nm in enumerate(names):
        m = _BLOOM_NAME.match(nm)
        if m:
            chroms.append(m.group(1))
            pos[i] = int(m.group(2))
            continue
        m = _CHR_POS_NAME.match(nm)
        if m:
            chroms.append(m.group(1) or m.group(2))
            pos[i] = int(m.group(3))
        else:
            chroms.append("")
    return pd.DataFrame(
        {
            "marker": pd.Series(list(names), dtype=object),
            "chromosome": pd.Series(normalize_chromosomes(chroms), dtype=object),
            "position": pos,
        }
    )


def read_rows(src: Source, limits: ReadLimits) -> tuple[str, list[str], list[list[str]], list[int]]:
    """``(name, header, rows, line numbers)`` of a small delimited table (``#`` lines skipped);
    every row must have the header's number of fields."""
    recs = Records(ByteStream(src, limits=limits), skip_comments=True, sniff=False)
    name, header = recs.name, recs.header
    if len(header) > limits.max_columns:
        raise DataError(f"{name}: the header has {len(header):,} columns; refused")
    rows, lines = [], []
    for k, fields in recs:
        if len(fields) != len(header):
            raise DataError(
                f"{name}: line {k} has {len(fields)} fields; expected {len(header)} like the header"
            )
        rows.append(fields)
        lines.append(k)
    return name, header, rows, lines


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def trait_key(text: str) -> str:
    """The lenient form of a trait name: lower case, letters and digits only, without the
    ``X`` R's ``make.names`` puts before a name that starts with a digit or a symbol
    (``4NQO``, ``X4NQO``, ``x4NQO`` and ``YPD:37C`` / ``YPD.37C`` / ``ypd_37c`` agree)."""
    raw = str(text).strip()
    if len(raw) > 1 and raw[0] in "Xx" and not raw[1].isalpha():
        raw = raw[1:]
    return _key(raw)


def match_traits(
    names: Iterable[str], traits: Sequence[str], aliases: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Name -> trait for the names that are not traits themselves but match one: through
    ``aliases``, else by :func:`trait_key` when exactly one trait has that key."""
    known = set(traits)
    by_key: dict[str, list[str]] = {}
    for t in traits:
        by_key.setdefault(trait_key(t), []).append(t)
    out: dict[str, str] = {}
    for name in sorted(set(names) - known):
        target = (aliases or {}).get(name)
        if target not in known:
            hits = by_key.get(trait_key(name), [])
            target = hits[0] if len(hits) == 1 else None
        if target is not None:
            out[name] = target
    return out


def _find(header: list[str], *candidates: str, contains: tuple[str, ...] = ()) -> int | None:
    keys = [_key(h) for h in header]
    for cand in candidates:
        if cand in keys:
            return keys.index(cand)
    for k, key in enumerate(keys):
        if contains and all(c in key for c in contains):
            return k
    return None


def _int_column(values: list[str], name: str, col: str, lines: list[int]) -> np.ndarray:
    out = np.full(len(values), -1, dtype=np.int64)
    for i, v in enumerate(values):
        if v in MISSING_TOKENS:
            continue
        try:
            f = float(v)
        except ValueError:
            f = float("nan")
        if not np.isfinite(f) or f < 0:
            raise DataError(
                f"{name}: line {lines[i]}, column '{col}': '{v}' is not a position; "
                "expected a non-negative whole number of base pairs"
            )
        out[i] = int(f)
    return out


def read_markers(src: Source, *, limits: ReadLimits | None = None) -> pd.DataFrame:
    """Read a marker map: columns ``marker, chromosome, position`` (+ optional ``alleles``).

    ``alleles`` (e.g. ``0|1|2``) fixes the allele labels and their order for that marker.
    Chromosome labels are normalised (:func:`normalize_chromosomes`).
    """
    limits = limits or ReadLimits()
    name, header, rows, lines = read_rows(src, limits)
    c_m = _find(header, "marker", "markerid", "snp", "id", "name")
    c_c = _find(header, "chromosome", "chrom", "chr")
    c_p = _find(header, "position", "pos", "bp", "basepair")
    if c_m is None or c_c is None or c_p is None:
        raise DataError(
            f"{name}: line 1: expected columns marker, chromosome, position; found "
            f"{', '.join(header[:10])}"
        )
    out = pd.DataFrame(
        {
            "marker": pd.Series([r[c_m] for r in rows], dtype=object),
            "chromosome": pd.Series(normalize_chromosomes(r[c_c] for r in rows), dtype=object),
            "position": _int_column([r[c_p] for r in rows], name, header[c_p], lines),
        }
    )
    dup = out["marker"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataError(f"{name}: line {lines[i]}: marker '{out['marker'][i]}' appears twice")
    c_a = _find(header, "alleles", "states")
    if c_a is not None:
        out["alleles"] = pd.Series([r[c_a] for r in rows], dtype=object)
    return out


_QTL_COLUMNS = (
    ("trait", ("trait", "phenotype"), ()),
    ("chromosome", ("chromosome", "chrom", "chr"), ()),
    ("position", ("position", "peakposition", "peakpositionbp", "peak", "pos", "bp"), ("peak",)),
    ("ci_left", ("cileft", "left"), ("left",)),
    ("ci_right", ("ciright", "right"), ("right",)),
    ("variance_explained", ("varianceexplained", "ve", "r2"), ("variance",)),
    ("lod", ("lod",), ()),
    ("genes", ("genes",), ("genes", "common")),
    ("genes_standard", ("genesstandard",), ("genes", "standard")),
)


def read_known_qtl(
    src: Source,
    *,
    traits: Sequence[str] | None = None,
    aliases: Mapping[str, str] | None = None,
    limits: ReadLimits | None = None,
) -> pd.DataFrame:
    """Read a known-QTL table into ``trait, chromosome, position, ci_left, ci_right`` (+ extras).

    Column names are matched loosely (the Bloom et al. 2013 table works as is). Without
    interval columns, ``ci_left = ci_right = position``.

    With ``traits``, QTL trait names are matched to them: exactly, else through ``aliases``
    (QTL name -> trait), else leniently (:func:`trait_key`: case, punctuation such as dots vs
    underscores, and R's ``make.names`` prefix: ``4NQO`` matches ``X4NQO`` and ``x4NQO``) when
    that names exactly one trait; renamings are listed in ``result.attrs["renamed_traits"]``.
    Rows whose trait still matches nothing are dropped (not an error: QTL tables often cover
    more traits than a phenotype file): their names are ``result.attrs["dropped_traits"]``,
    their count ``result.attrs["dropped_rows"]`` (of ``result.attrs["rows_read"]``).
    """
    limits = limits or ReadLimits()
    name, header, rows, lines = read_rows(src, limits)
    found: dict[str, int] = {}
    for target, exact, contains in _QTL_COLUMNS:
        c = _find(header, *exact, contains=contains)
        if c is not None and c not in found.values():
            found[target] = c
    missing = [c for c in ("trait", "chromosome", "position") if c not in found]
    if missing:
        raise DataError(
            f"{name}: line 1: missing column(s) {', '.join(missing)}; expected trait, "
            "chromosome, position (+ ci_left, ci_right)"
        )
    col = {k: [r[c] for r in rows] for k, c in found.items()}
    out = pd.DataFrame(
        {
            "trait": pd.Series(col["trait"], dtype=object),
            "chromosome": pd.Series(normalize_chromosomes(col["chromosome"]), dtype=object),
            "position": _int_column(col["position"], name, header[found["position"]], lines),
        }
    )
    for side in ("ci_left", "ci_right"):
        if side in col:
            vals = _int_column(col[side], name, header[found[side]], lines)
            out[side] = np.where(vals < 0, out["position"].to_numpy(), vals)
        else:
            out[side] = out["position"].to_numpy()
    for extra in ("variance_explained", "lod"):
        if extra in col:
            out[extra] = pd.to_numeric(
                pd.Series(col[extra], dtype=object).where(
                    ~pd.Series(col[extra], dtype=object).isin(MISSING_TOKENS), None
                ),
                errors="coerce",
            ).astype(np.float64)
    for extra in ("genes", "genes_standard"):
        if extra in col:
            out[extra] = pd.Series(col[extra], dtype=object)
    used = set(found.values())
    for c, h in enumerate(header):
        if c not in used and h and h not in out.columns:
            out[h] = pd.Series([r[c] for r in rows], dtype=object)
    dropped: list[str] = []
    renamed: dict[str, str] = {}
    n_rows = len(out)
    dropped_rows = 0
    if traits is not None:
        known = set(traits)
        renamed = match_traits(out["trait"], traits, aliases)
        if renamed:
            out["trait"] = out["trait"].map(lambda t: renamed.get(t, t)).astype(object)
        keep = out["trait"].isin(known).to_numpy()
        dropped = sorted(set(out["trait"][~keep]))
        dropped_rows = int((~keep).sum())
        out = out[keep].reset_index(drop=True)
    out.attrs["dropped_traits"] = dropped
    out.attrs["dropped_rows"] = dropped_rows
    out.attrs["rows_read"] = n_rows
    out.attrs["renamed_traits"] = renamed
    return out
