"""Candidate sets for VIDA (docs/method.md section 5): which allele columns to analyse.

Every helper returns sorted, unique column indices into the importance matrix (and so into
``Dataset.allele_columns``); :func:`resolve_candidates` turns any accepted form into them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..io import DataError


def resolve_candidates(allele_columns: pd.DataFrame, candidates) -> np.ndarray:
    """Column indices (sorted, unique) of a candidate set given in any accepted form.

    Parameters
    ----------
    allele_columns
        ``marker, allele, locus`` per matrix column.
    candidates
        ``None`` (all columns); an integer array/list of column indices; a boolean mask of
        length p; a list of marker names (all their alleles); a list of ``(marker, allele)``
        pairs; or a DataFrame with a ``marker`` column and an optional ``allele`` column
        (empty allele = all alleles of the marker).

    Returns
    -------
    numpy.ndarray
        int64 column indices.
    """
    p = len(allele_columns)
    if candidates is None:
        return np.arange(p, dtype=np.int64)
    if isinstance(candidates, pd.DataFrame):
        return candidates_from_table(allele_columns, candidates)
    if isinstance(candidates, (str, bytes)):
        candidates = [candidates]
    arr = (
        np.asarray(candidates, dtype=object)
        if not isinstance(candidates, np.ndarray)
        else candidates
    )
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype == bool:
        if arr.shape != (p,):
            raise DataError(f"candidate mask has length {arr.size}, expected {p} (one per column)")
        return np.flatnonzero(arr).astype(np.int64)
    if np.issubdtype(arr.dtype, np.integer) or (
        arr.dtype == object and all(isinstance(v, (int, np.integer)) for v in arr.ravel())
    ):
        idx = np.asarray(arr, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= p):
            raise DataError(f"candidate column index out of range 0..{p - 1}")
        return np.unique(idx)
    items = list(candidates)
    if all(isinstance(v, str) for v in items):
        return candidates_from_markers(allele_columns, items)
    if all(isinstance(v, (tuple, list)) and len(v) == 2 for v in items):
        return candidates_from_markers(allele_columns, [(str(a), str(b)) for a, b in items])
    raise DataError(
        "candidates must be column indices, a boolean mask, marker names, (marker, allele) "
        "pairs or a table with a 'marker' column"
    )


def candidates_from_markers(
    allele_columns: pd.DataFrame, markers: Iterable[str] | Iterable[tuple[str, str]]
) -> np.ndarray:
    """Columns of the given markers (all their alleles) or of given ``(marker, allele)`` pairs.

    Raises
    ------
    DataError
        Naming the markers or alleles that are not in the table.
    """
    names = allele_columns["marker"].astype(str).to_numpy()
    alleles = allele_columns["allele"].astype(str).to_numpy()
    by_marker: dict[str, list[int]] = {}
    for j, mk in enumerate(names):
        by_marker.setdefault(mk, []).append(j)
    out: list[int] = []
    unknown: list[str] = []
    for item in markers:
        if isinstance(item, str):
            cols = by_marker.get(item)
            if cols is None:
                unknown.append(item)
            else:
                out.extend(cols)
            continue
        mk, al = item
        cols = [j for j in by_marker.get(mk, []) if alleles[j] == al]
        if not cols:
            unknown.append(f"{mk}:{al}")
        out.extend(cols)
    if unknown:
        shown = ", ".join(unknown[:5]) + (
            f" (+{len(unknown) - 5} more)" if len(unknown) > 5 else ""
        )
        raise DataError(f"candidate markers/alleles not in the dataset: {shown}")
    return np.unique(np.asarray(out, dtype=np.int64))


def candidates_from_table(allele_columns: pd.DataFrame, table: pd.DataFrame) -> np.ndarray:
    """Candidates from a table with ``marker`` and optional ``allele`` (blank = all alleles)."""
    if "marker" not in table.columns:
        raise DataError(
            f"candidate table needs a 'marker' column (optional 'allele'); got {list(table.columns)}"
        )
    items: list = []
    has_allele = "allele" in table.columns
    for row in table.itertuples(index=False):
        mk = str(row.marker).strip()
        al = getattr(row, "allele", None) if has_allele else None
        if al is None or (isinstance(al, float) and np.isnan(al)) or pd.isna(al) or str(al) == "":
            items.append(mk)
        else:
            items.append((mk, str(al).strip()))
    return candidates_from_markers(allele_columns, items)


def candidates_above_percentile(importance: np.ndarray, *, percentile: float = 90.0) -> np.ndarray:
    """Columns whose allele importance is strictly above its ``percentile``-th percentile.

    Parameters
    ----------
    importance
        Allele importance per column, shape (p,) (e.g. ``ImportanceResult.alleles
        ["importance"]``), or a per-individual matrix (n, p), reduced to the mean squared
        value per column (docs/method.md section 4).
    percentile
        In [0, 100); 90 keeps about the top 10 %.
    """
    imp = np.asarray(importance, dtype=np.float64)
    if imp.ndim == 2:
        imp = np.mean(imp * imp, axis=0)
    if not 0 <= percentile < 100:
        raise DataError(f"importance percentile must be in [0, 100), got {percentile}")
    if imp.size == 0:
        return np.zeros(0, dtype=np.int64)
    cut = np.percentile(imp, percentile)
    return np.flatnonzero(imp > cut).astype(np.int64)


def qtl_peak_markers(markers: pd.DataFrame, known_qtl: pd.DataFrame) -> pd.DataFrame:
    """The marker nearest to each known-QTL peak (same chromosome; ties -> first in map order).

    Returns
    -------
    pandas.DataFrame
        One row per QTL that has a placed marker on its chromosome: ``trait, chromosome,
        position, marker, locus, marker_position, distance``.
    """
    chrom = markers["chromosome"].astype(str).to_numpy()
    pos = markers["position"].to_numpy(dtype=np.int64)
    rows = []
    for q in known_qtl.itertuples(index=False):
        on = np.flatnonzero((chrom == str(q.chromosome)) & (pos >= 0))
        if on.size == 0:
            continue
        d = np.abs(pos[on] - int(q.position))
        k = on[int(np.argmin(d))]
        rows.append(
            {
                "trait": q.trait,
                "chromosome": str(q.chromosome),
                "position": int(q.position),
                "marker": str(markers["marker"].iloc[k]),
                "locus": int(k),
                "marker_position": int(pos[k]),
                "distance": int(abs(pos[k] - int(q.position))),
            }
        )
    cols = ["trait", "chromosome", "position", "marker", "locus", "marker_position", "distance"]
    return pd.DataFrame(rows, columns=cols)


def candidates_from_known_qtl(dataset) -> np.ndarray:
    """All allele columns of the known-QTL peak markers of a :class:`Dataset`."""
    if dataset.known_qtl is None or len(dataset.known_qtl) == 0:
        raise DataError("the dataset has no known QTL to take candidates from")
    peaks = qtl_peak_markers(dataset.markers, dataset.known_qtl)
    loci = set(peaks["locus"].tolist())
    return np.flatnonzero(dataset.allele_columns["locus"].isin(loci).to_numpy()).astype(np.int64)


def candidates_from_truth(dataset) -> np.ndarray:
    """All allele columns of the causal loci of a simulation (the paper's candidate set)."""
    if dataset.truth is None:
        raise DataError("the dataset has no simulation truth to take candidates from")
    causal = set(dataset.truth.causal["marker"].astype(str))
    ac = dataset.allele_columns
    return np.flatnonzero(ac["marker"].astype(str).isin(causal).to_numpy()).astype(np.int64)
