"""What one marker does (an R/qtl2-style effect plot) and its linkage with its neighbours.

:func:`marker_effect`: for the run's test individuals, the phenotype of one trait by the
genotype class at one marker, next to G-P Atlas's and ridge's predictions of the same
individuals. :func:`linkage_with`: r^2 between a lead marker and the markers around it (the
LocusZoom colouring), from the genotypes of all individuals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io import DataError, Dataset


def _marker_columns(dataset: Dataset, marker: str) -> np.ndarray:
    cols = np.flatnonzero(dataset.allele_columns["marker"].astype(str).to_numpy() == str(marker))
    if cols.size == 0:
        raise DataError(f"no marker {marker!r} in dataset {dataset.name!r}")
    return cols


def _loci_of(dataset: Dataset, cols: np.ndarray) -> np.ndarray:
    """The loci (sorted) the one-hot columns ``cols`` belong to."""
    return np.unique(dataset.allele_columns["locus"].to_numpy()[cols])


def genotype_classes(dataset: Dataset, marker: str, rows: np.ndarray) -> np.ndarray:
    """The allele label of each of ``rows`` at ``marker`` (its genotype class)."""
    cols = _marker_columns(dataset, marker)
    (locus,) = _loci_of(dataset, cols)
    codes = dataset.effective_codes(np.asarray(rows), loci=np.array([locus]))[:, 0]
    return np.asarray(dataset.allele_labels()[locus], dtype=object)[codes].astype(str)


@dataclass
class MarkerEffect:
    """One trait at one marker, test individuals only."""

    marker: str
    trait: str
    individuals: pd.DataFrame
    """``sample, genotype, observed, gpatlas, ridge`` (ridge NaN when the run has none)."""
    by_class: pd.DataFrame
    """Per genotype class: ``genotype, n, observed_mean, observed_se, gpatlas_mean,
    ridge_mean``."""


def marker_effect(run, dataset: Dataset, marker: str, trait: str) -> MarkerEffect:
    """Phenotype by genotype class at ``marker`` for ``trait``, observed and predicted."""
    if trait not in list(dataset.traits):
        raise DataError(f"no trait {trait!r} in dataset {dataset.name!r}")
    rows = run.test_rows(dataset)
    obs, pred, ridge, samples = run.test_predictions(dataset, trait)
    # test_predictions may come from the run's predictions table: align it to `rows`
    index = pd.Series(np.arange(len(samples)), index=np.asarray(samples).astype(str))
    order = index.reindex(np.asarray(dataset.samples)[rows].astype(str)).to_numpy()
    if np.isnan(order.astype(float)).any():
        raise DataError("the run's predictions do not cover its test individuals")
    order = order.astype(np.int64)
    table = pd.DataFrame(
        {
            "sample": np.asarray(dataset.samples)[rows].astype(str),
            "genotype": genotype_classes(dataset, marker, rows),
            "observed": np.asarray(obs, dtype=float)[order],
            "gpatlas": np.asarray(pred, dtype=float)[order],
            "ridge": np.full(len(rows), np.nan)
            if ridge is None
            else np.asarray(ridge, dtype=float)[order],
        }
    )
    groups = table.groupby("genotype", sort=True)
    by_class = pd.DataFrame(
        {
            "n": groups["observed"].count(),
            "observed_mean": groups["observed"].mean(),
            "observed_se": groups["observed"].std(ddof=1) / np.sqrt(groups["observed"].count()),
            "gpatlas_mean": groups["gpatlas"].mean(),
            "ridge_mean": groups["ridge"].mean(),
        }
    ).reset_index()
    return MarkerEffect(marker=str(marker), trait=str(trait), individuals=table, by_class=by_class)


def linkage_with(dataset: Dataset, lead: str, markers: list[str] | np.ndarray) -> pd.DataFrame:
    """``marker, r2``: for each of ``markers``, the largest squared correlation between any of
    its allele indicators and any of ``lead``'s, over all individuals (biallelic markers: the
    usual r^2 of the two markers). Constant markers get r^2 0."""
    lead_cols = _marker_columns(dataset, lead)
    marker_of = dataset.allele_columns["marker"].astype(str).to_numpy()
    wanted = [str(m) for m in markers]
    cols = np.flatnonzero(np.isin(marker_of, wanted))
    # only the lead's and the wanted markers' one-hot columns (in allele-column order)
    a = dataset.onehot(loci=_loci_of(dataset, lead_cols)).astype(np.float64)
    b = dataset.onehot(loci=_loci_of(dataset, cols)).astype(np.float64)
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (a.T @ b) / np.outer(np.linalg.norm(a, axis=0), np.linalg.norm(b, axis=0))
    r2 = np.clip(np.nan_to_num(corr**2, nan=0.0), 0.0, 1.0).max(axis=0)
    per = pd.DataFrame({"marker": marker_of[cols], "r2": r2}).groupby("marker", sort=False)
    best = per["r2"].max()
    return pd.DataFrame({"marker": wanted, "r2": best.reindex(wanted).fillna(0.0).to_numpy()})


def region_of(loci: pd.DataFrame, markers: list[str]) -> tuple[str, str, int, int]:
    """The region a box selection of ``markers`` spans: ``(lead, chromosome, start, end)``,
    on the chromosome most of them lie on, led by its most important locus."""
    part = loci[loci["marker"].astype(str).isin([str(m) for m in markers])]
    if part.empty:
        raise DataError("none of the selected markers is in the locus table")
    chrom = part["chromosome"].astype(str).mode().iloc[0]
    part = part[part["chromosome"].astype(str) == chrom]
    lead = str(part.sort_values("importance", ascending=False, kind="stable")["marker"].iloc[0])
    return lead, chrom, int(part["position"].min()), int(part["position"].max())
