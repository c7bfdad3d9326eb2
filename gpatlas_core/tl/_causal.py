"""Allele importance against simulation truth (docs/method.md section 6; paper Figure 3).

:func:`causal_allele_roc`: ROC AUC of allele importance for causal vs non-causal alleles
(paper: 0.93), the importance threshold at a 1% false-positive rate and how many causal
alleles and loci pass it (paper: 179 of 185), and the importance-vs-weight table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io import DataError, Truth
from ._recovery import Roc, _column, _roc

__all__ = ["CausalRoc", "causal_allele_roc"]


@dataclass
class CausalRoc(Roc):
    """Causal vs non-causal alleles (simulation truth), with the false-positive threshold.

    ``threshold``: the importance exceeded by ``fpr_level`` of the non-causal alleles;
    ``n_causal_*`` / ``n_detected_*``: causal alleles and loci, and how many are above it
    (a locus by its importance, the max over its alleles). ``table``: every allele with
    ``marker, allele, importance, weight`` (largest causal weight over traits, 0 if none),
    ``causal``, ``detected``.
    """

    fpr_level: float = 0.01
    threshold: float = np.nan
    n_causal_alleles: int = 0
    n_detected_alleles: int = 0
    n_causal_loci: int = 0
    n_detected_loci: int = 0


def causal_allele_roc(
    alleles: pd.DataFrame,
    truth: Truth | None,
    *,
    column: str | None = None,
    trait: str | None = None,
    fpr_level: float = 0.01,
) -> CausalRoc:
    """ROC AUC of allele importance for causal vs non-causal alleles, and the 1% FPR cut.

    An allele is causal when the truth gives it a non-zero weight for some trait (for
    ``trait`` only, when given). The threshold is the ``1 - fpr_level`` quantile of the
    non-causal alleles' importance (the reference interpolated the same point along the ROC
    curve).
    """
    if truth is None:
        raise DataError("no simulation truth: causal-allele analyses need a simulated data set")
    col = _column(alleles, column, trait)
    causal = truth.causal
    if trait is not None:
        causal = causal[causal["trait"].astype(str) == str(trait)]
    causal = causal[causal["weight"].to_numpy(dtype=np.float64) != 0]
    key = causal["marker"].astype(str) + "\x1f" + causal["allele"].astype(str)
    weight = causal["weight"].abs().groupby(key.to_numpy()).max()
    akey = alleles["marker"].astype(str) + "\x1f" + alleles["allele"].astype(str)
    w = weight.reindex(akey.to_numpy()).to_numpy(dtype=np.float64)
    is_causal = np.isfinite(w)
    imp = alleles[col].to_numpy(dtype=np.float64)
    table = pd.DataFrame(
        {
            "marker": alleles["marker"].astype(str).to_numpy(),
            "allele": alleles["allele"].astype(str).to_numpy(),
            "importance": imp,
            "weight": np.nan_to_num(w, nan=0.0),
            "causal": is_causal,
        }
    )
    roc = _roc(is_causal, imp, table)
    threshold = float(np.quantile(imp[~is_causal], 1.0 - fpr_level))
    table["detected"] = imp > threshold
    by_marker = table.groupby("marker", sort=False).agg(
        importance=("importance", "max"), causal=("causal", "any")
    )
    return CausalRoc(
        fpr=roc.fpr,
        tpr=roc.tpr,
        thresholds=roc.thresholds,
        auc=roc.auc,
        table=table,
        fpr_level=fpr_level,
        threshold=threshold,
        n_causal_alleles=int(is_causal.sum()),
        n_detected_alleles=int((is_causal & table["detected"]).sum()),
        n_causal_loci=int(by_marker["causal"].sum()),
        n_detected_loci=int((by_marker["causal"] & (by_marker["importance"] > threshold)).sum()),
    )
