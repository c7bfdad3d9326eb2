"""Top loci by importance and their overlap with known QTL intervals (shared by the app's
Importance and Latent pages and any caller of :mod:`gpatlas_core.tl`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

PER_TRAIT_PREFIX = "trait:"


def importance_column(trait: str | None) -> str:
    """The loci column holding the importance to show: overall or one trait's."""
    return "importance" if trait is None else f"{PER_TRAIT_PREFIX}{trait}"


def known_qtl_hits(loci: pd.DataFrame, known_qtl: pd.DataFrame | None) -> list[str]:
    """For each locus, the traits of the known QTL whose 1.5-LOD interval contains it."""
    out = [""] * len(loci)
    if known_qtl is None or len(known_qtl) == 0:
        return out
    chrom = loci["chromosome"].astype(str).to_numpy()
    pos = loci["position"].to_numpy(dtype=np.int64)
    hits: list[list[str]] = [[] for _ in range(len(loci))]
    for q in known_qtl.itertuples(index=False):
        inside = (
            (chrom == str(q.chromosome)) & (pos >= q.ci_left) & (pos <= q.ci_right) & (pos >= 0)
        )
        for i in np.flatnonzero(inside):
            hits[i].append(str(q.trait))
    return ["; ".join(dict.fromkeys(h)) for h in hits]


def top_loci(
    loci: pd.DataFrame,
    *,
    trait: str | None = None,
    percentile: float = 95.0,
    known_qtl: pd.DataFrame | None = None,
    chromosome: str | None = None,
) -> pd.DataFrame:
    """Loci at or above the ``percentile`` of importance, most important first."""
    col = importance_column(trait)
    values = loci[col].to_numpy(dtype=float)
    cut = float(np.nanpercentile(values, percentile)) if len(values) else np.inf
    keep = values >= cut
    if chromosome is not None:
        keep &= loci["chromosome"].astype(str).to_numpy() == str(chromosome)
    table = loci.loc[keep, ["marker", "chromosome", "position"]].copy()
    table["importance"] = values[keep]
    table["relative"] = values[keep] / np.nanmax(values) if np.nanmax(values) > 0 else 0.0
    if trait is None and "ci_low" in loci:
        table["ci_low"] = loci.loc[keep, "ci_low"].to_numpy()
        table["ci_high"] = loci.loc[keep, "ci_high"].to_numpy()
    if known_qtl is not None:
        kq = known_qtl if trait is None else known_qtl[known_qtl["trait"].astype(str) == trait]
        table["known_qtl"] = known_qtl_hits(table, kq)
    return table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
