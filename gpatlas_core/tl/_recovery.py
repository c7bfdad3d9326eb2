"""How importance agrees with what is known (docs/method.md section 6; paper Figures 3 and 7).

Real data, against known QTL (``Dataset.known_qtl``: ``trait, chromosome, position,
ci_left, ci_right`` + ``variance_explained``):

- :func:`qtl_recovery`: share of known QTL whose marker lies above each importance
  percentile (paper: 93%, 551 of 591, above the 90th).
- :func:`interval_roc`: ROC of the merged 1.5-LOD intervals against the gaps between them.
- :func:`variance_explained_correlation`: Pearson r of a QTL's variance explained and its
  marker's importance (paper: 0.47).
- :func:`qtl_peaks`: the top importance peaks with the known QTL they fall in.

Simulations, against ``Dataset.truth``: see ``_causal.py``.

Every function takes the locus (or allele) table of an
:class:`~gpatlas_core.tl.ImportanceResult` and a ``column`` (``"importance"``, or a
per-trait ``"trait:<name>"`` column); ``trait=`` restricts the known QTL / truth to one trait
and, when ``column`` is not given, picks that trait's column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

from ..io import DataError
from ._ablation import PER_TRAIT_PREFIX

__all__ = [
    "Roc",
    "chromosome_order",
    "genome_coordinates",
    "interval_roc",
    "merge_intervals",
    "nearest_loci",
    "qtl_peaks",
    "qtl_recovery",
    "variance_explained_correlation",
]

_TAIL = {"X": 0, "Y": 1, "W": 2, "Z": 3, "MT": 4, "M": 4}


def chromosome_order(labels) -> list[str]:
    """Chromosome labels in genome order: numbers numerically, then X, Y, W, Z, MT, others."""

    def key(c: str):
        c = str(c)
        if re.fullmatch(r"\d+", c):
            return (0, int(c), "")
        if c.upper() in _TAIL:
            return (1, _TAIL[c.upper()], "")
        return (2, 0, c)

    return sorted({str(c) for c in labels}, key=key)


def genome_coordinates(loci: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Cumulative genome position of each locus, and a chromosome table.

    Chromosomes follow :func:`chromosome_order`, each spanning 0..its largest position;
    where positions are unknown (< 0) a chromosome's loci are spaced by their order.

    Returns
    -------
    (x, chromosomes)
        ``x``: float64 per locus; ``chromosomes``: DataFrame[chromosome, start, end, centre].
    """
    chrom = loci["chromosome"].astype(str).to_numpy()
    pos = loci["position"].to_numpy(dtype=np.float64)
    x = np.zeros(len(loci))
    rows = []
    offset = 0.0
    for c in chromosome_order(chrom):
        idx = np.flatnonzero(chrom == c)
        p = pos[idx]
        if (p < 0).any():
            p = np.arange(1, len(idx) + 1, dtype=np.float64)
        length = float(p.max()) if len(p) else 0.0
        x[idx] = offset + p
        rows.append((c, offset, offset + length, offset + length / 2))
        offset += length * 1.005 + 1.0  # a little space between chromosomes
    table = pd.DataFrame(rows, columns=["chromosome", "start", "end", "centre"])
    return x, table


def _column(df: pd.DataFrame, column: str | None, trait: str | None) -> str:
    col = column or (f"{PER_TRAIT_PREFIX}{trait}" if trait is not None else "importance")
    if col not in df.columns:
        hint = (
            " (compute importance with per_trait=True)" if col.startswith(PER_TRAIT_PREFIX) else ""
        )
        raise ValueError(f"no column {col!r} in the importance table{hint}")
    return col


def _qtl(known_qtl: pd.DataFrame | None, trait: str | None) -> pd.DataFrame:
    if known_qtl is None or len(known_qtl) == 0:
        raise DataError("no known QTL: load a known-QTL table with the data set")
    q = known_qtl
    if trait is not None:
        q = q[q["trait"].astype(str) == str(trait)]
        if len(q) == 0:
            raise DataError(f"no known QTL for trait {trait!r}")
    q = q.copy()
    q["chromosome"] = q["chromosome"].astype(str)
    for side in ("ci_left", "ci_right"):
        if side not in q.columns:
            q[side] = q["position"]
    return q.reset_index(drop=True)


def nearest_loci(loci: pd.DataFrame, chromosome, position) -> np.ndarray:
    """Index (row of ``loci``) of the nearest locus on the same chromosome; -1 if none."""
    chrom = loci["chromosome"].astype(str).to_numpy()
    pos = loci["position"].to_numpy(dtype=np.int64)
    out = np.full(len(chromosome), -1, dtype=np.int64)
    for i, (c, p) in enumerate(zip(np.asarray(chromosome).astype(str), position, strict=True)):
        idx = np.flatnonzero(chrom == c)
        if len(idx):
            out[i] = idx[np.argmin(np.abs(pos[idx] - int(p)))]
    return out


def _qtl_values(
    loci: pd.DataFrame, q: pd.DataFrame, col: str, by: str
) -> tuple[np.ndarray, np.ndarray]:
    """Importance per known QTL (peak marker, or max inside its interval) and peak indices."""
    peak = nearest_loci(loci, q["chromosome"], q["position"])
    values = np.full(len(q), np.nan)
    imp = loci[col].to_numpy(dtype=np.float64)
    chrom = loci["chromosome"].astype(str).to_numpy()
    pos = loci["position"].to_numpy(dtype=np.int64)
    for i in range(len(q)):
        if peak[i] < 0:
            continue
        values[i] = imp[peak[i]]
        if by == "interval":
            inside = (chrom == q["chromosome"].iat[i]) & (pos >= q["ci_left"].iat[i])
            inside &= pos <= q["ci_right"].iat[i]
            if inside.any():
                values[i] = imp[inside].max()
    if by not in ("peak", "interval"):
        raise ValueError(f"by must be 'peak' or 'interval', not {by!r}")
    return values, peak


def qtl_recovery(
    loci: pd.DataFrame,
    known_qtl: pd.DataFrame | None,
    *,
    column: str | None = None,
    trait: str | None = None,
    by: str = "peak",
    percentiles=None,
) -> pd.DataFrame:
    """Share of known QTL at or above each importance percentile.

    Parameters
    ----------
    loci
        Locus table (``marker, chromosome, position`` and the importance column).
    known_qtl
        Known QTL; those on chromosomes without markers are left out.
    by
        ``"peak"``: the QTL's marker is the locus nearest its peak on its chromosome;
        ``"interval"``: the highest locus inside its 1.5-LOD interval (what the reference
        script's Figure 7B computed; the nearest locus when the interval holds none).
    percentiles
        Percentiles of the importance of all loci (default 0, 1, ..., 99).

    Returns
    -------
    pandas.DataFrame
        ``percentile, threshold, n_recovered, n_qtl, fraction``.
    """
    col = _column(loci, column, trait)
    q = _qtl(known_qtl, trait)
    values, _ = _qtl_values(loci, q, col, by)
    values = values[np.isfinite(values)]
    pct = np.arange(100) if percentiles is None else np.atleast_1d(np.asarray(percentiles))
    thr = np.percentile(loci[col].to_numpy(dtype=np.float64), pct)
    n_rec = np.array([(values >= t).sum() for t in thr], dtype=np.int64)
    n = len(values)
    return pd.DataFrame(
        {
            "percentile": pct.astype(np.float64),
            "threshold": thr,
            "n_recovered": n_rec,
            "n_qtl": n,
            "fraction": n_rec / n if n else np.nan,
        }
    )


def merge_intervals(known_qtl: pd.DataFrame | None, *, trait: str | None = None) -> pd.DataFrame:
    """Overlapping 1.5-LOD intervals merged per chromosome: ``chromosome, left, right, n_qtl``."""
    q = _qtl(known_qtl, trait)
    rows = []
    for c in chromosome_order(q["chromosome"]):
        sub = q[q["chromosome"] == c].sort_values(["ci_left", "ci_right"])
        left = right = None
        count = 0
        for lo, hi in zip(sub["ci_left"], sub["ci_right"], strict=True):
            lo, hi = int(min(lo, hi)), int(max(lo, hi))
            if left is not None and lo <= right:
                right = max(right, hi)
                count += 1
            else:
                if left is not None:
                    rows.append((c, left, right, count))
                left, right, count = lo, hi, 1
        if left is not None:
            rows.append((c, left, right, count))
    return pd.DataFrame(rows, columns=["chromosome", "left", "right", "n_qtl"])


@dataclass
class Roc:
    """A ROC curve: ``fpr, tpr, thresholds`` arrays, ``auc``, and the scored items."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float
    table: pd.DataFrame = field(default_factory=pd.DataFrame)


def _roc(labels: np.ndarray, scores: np.ndarray, table: pd.DataFrame) -> Roc:
    labels = np.asarray(labels, dtype=bool)
    if labels.all() or not labels.any():
        raise DataError("a ROC curve needs both positives and negatives")
    fpr, tpr, thr = roc_curve(labels, scores)
    return Roc(fpr, tpr, thr, float(roc_auc_score(labels, scores)), table)


def interval_roc(
    loci: pd.DataFrame,
    known_qtl: pd.DataFrame | None,
    *,
    column: str | None = None,
    trait: str | None = None,
    level: str = "region",
) -> Roc:
    """ROC of importance for telling merged known-QTL intervals from the gaps between them.

    Loci inside a merged interval are positives. ``level="region"`` scores each merged
    interval and each gap (a maximal run of consecutive loci of one chromosome outside all
    intervals) by the highest importance in it, as the reference's yeast figure did;
    ``level="locus"`` scores every locus.

    Returns
    -------
    Roc
        ``table``: the scored regions (``chromosome, start, end, n_loci, positive, score``)
        or loci (``marker, chromosome, position, positive, score``).
    """
    col = _column(loci, column, trait)
    merged = merge_intervals(known_qtl, trait=trait)
    chrom = loci["chromosome"].astype(str).to_numpy()
    pos = loci["position"].to_numpy(dtype=np.int64)
    score = loci[col].to_numpy(dtype=np.float64)
    region = np.full(len(loci), -1, dtype=np.int64)  # merged-interval id per locus
    for i, r in enumerate(merged.itertuples(index=False)):
        region[(chrom == r.chromosome) & (pos >= r.left) & (pos <= r.right)] = i
    positive = region >= 0
    if level == "locus":
        table = pd.DataFrame(
            {
                "marker": loci["marker"].astype(str).to_numpy(),
                "chromosome": chrom,
                "position": pos,
                "positive": positive,
                "score": score,
            }
        )
        return _roc(positive, score, table)
    if level != "region":
        raise ValueError(f"level must be 'region' or 'locus', not {level!r}")
    rows = []
    for c in chromosome_order(chrom):
        idx = np.flatnonzero(chrom == c)
        idx = idx[np.argsort(pos[idx], kind="stable")]
        # runs of equal region id; gaps (-1) broken wherever an interval intervenes
        start = 0
        for j in range(1, len(idx) + 1):
            if j == len(idx) or region[idx[j]] != region[idx[start]]:
                run = idx[start:j]
                rows.append(
                    (
                        c,
                        int(pos[run[0]]),
                        int(pos[run[-1]]),
                        len(run),
                        bool(positive[run[0]]),
                        float(score[run].max()),
                    )
                )
                start = j
    table = pd.DataFrame(
        rows, columns=["chromosome", "start", "end", "n_loci", "positive", "score"]
    )
    return _roc(table["positive"].to_numpy(), table["score"].to_numpy(), table)


def variance_explained_correlation(
    loci: pd.DataFrame,
    known_qtl: pd.DataFrame | None,
    *,
    column: str | None = None,
    trait: str | None = None,
    by: str = "peak",
) -> dict:
    """Pearson r between each known QTL's variance explained and its marker's importance.

    Returns
    -------
    dict
        ``r``, ``p_value``, ``n`` and ``table`` (DataFrame[trait, chromosome, position,
        variance_explained, marker, importance]); r is NaN with fewer than 3 QTL or a
        constant column.
    """
    col = _column(loci, column, trait)
    q = _qtl(known_qtl, trait)
    if "variance_explained" not in q.columns:
        raise DataError("the known-QTL table has no variance_explained column")
    values, peak = _qtl_values(loci, q, col, by)
    ok = np.isfinite(values) & np.isfinite(q["variance_explained"].to_numpy(dtype=np.float64))
    table = pd.DataFrame(
        {
            "trait": q["trait"].astype(str).to_numpy(),
            "chromosome": q["chromosome"].to_numpy(),
            "position": q["position"].to_numpy(),
            "variance_explained": q["variance_explained"].to_numpy(dtype=np.float64),
            "marker": np.where(
                peak >= 0, loci["marker"].astype(str).to_numpy()[np.maximum(peak, 0)], ""
            ),
            "importance": values,
        }
    )[ok].reset_index(drop=True)
    r = p = np.nan
    xv, yv = table["variance_explained"].to_numpy(), table["importance"].to_numpy()
    if len(table) >= 3 and np.ptp(xv) > 0 and np.ptp(yv) > 0:
        res = stats.pearsonr(xv, yv)
        r, p = float(res.statistic), float(res.pvalue)
    return {"r": r, "p_value": p, "n": len(table), "table": table}


def qtl_peaks(
    loci: pd.DataFrame,
    known_qtl: pd.DataFrame | None = None,
    *,
    column: str | None = None,
    trait: str | None = None,
    top: int = 20,
    min_distance: int = 50_000,
) -> pd.DataFrame:
    """The highest importance peaks and the known QTL whose 1.5-LOD interval holds them.

    Peaks are picked greedily from the top: a locus within ``min_distance`` bp of an
    already picked peak on its chromosome is part of that peak (linked markers).

    Returns
    -------
    pandas.DataFrame
        ``rank, marker, chromosome, position, importance, scaled, percentile, n_qtl,
        qtl_traits`` (``n_qtl``/``qtl_traits``: known QTL of ``trait``, or of all traits,
        whose interval contains the peak; 0 / "" without known QTL).
    """
    col = _column(loci, column, trait)
    imp = loci[col].to_numpy(dtype=np.float64)
    chrom = loci["chromosome"].astype(str).to_numpy()
    pos = loci["position"].to_numpy(dtype=np.int64)
    picked: list[int] = []
    for i in np.argsort(-imp, kind="stable"):
        if len(picked) >= top:
            break
        if any(chrom[j] == chrom[i] and abs(pos[j] - pos[i]) < min_distance for j in picked):
            continue
        picked.append(int(i))
    picked_arr = np.asarray(picked, dtype=np.int64)
    q = None
    if known_qtl is not None and len(known_qtl):
        q = _qtl(known_qtl, trait) if trait is None or (known_qtl["trait"] == trait).any() else None
    n_qtl, traits = [], []
    for i in picked_arr:
        if q is None:
            n_qtl.append(0)
            traits.append("")
            continue
        hit = q[
            (q["chromosome"] == chrom[i]) & (q["ci_left"] <= pos[i]) & (q["ci_right"] >= pos[i])
        ]
        n_qtl.append(len(hit))
        traits.append("; ".join(sorted(set(hit["trait"].astype(str)))))
    top_val = imp.max() if len(imp) and imp.max() > 0 else 1.0
    sorted_imp = np.sort(imp)
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(picked_arr) + 1),
            "marker": loci["marker"].astype(str).to_numpy()[picked_arr],
            "chromosome": chrom[picked_arr],
            "position": pos[picked_arr],
            "importance": imp[picked_arr],
            "scaled": imp[picked_arr] / top_val,
            "percentile": 100.0
            * np.searchsorted(sorted_imp, imp[picked_arr], side="right")
            / max(len(imp), 1),
            "n_qtl": np.asarray(n_qtl, dtype=np.int64),
            "qtl_traits": traits,
        }
    )
