"""How well VIDA finds interacting alleles, on simulations with known truth (docs/method.md section 5).

Labelling (exact): the *causal alleles* are the distinct ``(marker, allele)`` rows of
``truth.causal`` (in a simulation: every allele state of every causal locus). A causal allele is
*interacting* when it is the interaction state at either locus of an interacting pair of any
trait, i.e. it equals ``(marker_a, allele)`` or ``(marker_b, allele)`` of a row of
``truth.interactions``; every other causal allele is *non-interacting* ("direct-only"), other
allele states of an interacting locus included. Alleles are compared as strings.

Scores that are NaN (columns VIDA skipped) are left out of every statistic and counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

from ..io import DataError, Truth
from ._vida import vida_settings
from ._vida_clumpiness import METHODS

GRID_Z = (1.5, 2.0, 2.5, 3.0)
GRID_PERCENTILES = (5.0, 10.0, 15.0, 20.0)
DEFAULT_TOP_PERCENTS = tuple(float(q) for q in range(5, 101, 5))


# ---------------------------------------------------------------------------- labels
def interaction_labels(truth: Truth) -> pd.DataFrame:
    """Causal alleles with their class.

    Returns
    -------
    pandas.DataFrame
        ``marker, allele, interacting`` (bool), one row per distinct causal allele, in the
        order of first appearance in ``truth.causal``.
    """
    causal = truth.causal[["marker", "allele"]].astype(str).drop_duplicates()
    inter = truth.interactions
    pairs = set(zip(inter["marker_a"].astype(str), inter["allele"].astype(str), strict=True))
    pairs |= set(zip(inter["marker_b"].astype(str), inter["allele"].astype(str), strict=True))
    flag = [(m, a) in pairs for m, a in zip(causal["marker"], causal["allele"], strict=True)]
    out = causal.reset_index(drop=True)
    out["interacting"] = np.asarray(flag, dtype=bool)
    return out


def label_scores(scores: pd.DataFrame, truth: Truth) -> pd.DataFrame:
    """VIDA rows of causal alleles, with an ``interacting`` column (non-causal rows dropped)."""
    lab = interaction_labels(truth)
    left = scores.assign(marker=scores["marker"].astype(str), allele=scores["allele"].astype(str))
    return left.merge(lab, on=["marker", "allele"], how="inner")


# ---------------------------------------------------------------------------- statistics
def _top_k(n: int, pct: float) -> int:
    return max(1, math.ceil(pct * n / 100))


def enrichment_curve(
    scores: np.ndarray,
    interacting: np.ndarray,
    *,
    top_percents: Sequence[float] = DEFAULT_TOP_PERCENTS,
    n_bootstrap: int = 1000,
    rng: np.random.Generator,
    level: float = 0.95,
) -> pd.DataFrame:
    """Enrichment of interacting alleles among the top scores, by percentile.

    For the top ``q`` % (``k = max(1, ceil(q * N / 100))`` highest scores, ties in input
    order): enrichment = (interacting share in the top k) / (interacting share overall);
    ``p_value`` = hypergeometric P(X >= observed); ``ci_low``/``ci_high`` = percentile
    bootstrap interval over resampled alleles (resamples without an interacting allele are
    dropped).

    Returns
    -------
    pandas.DataFrame
        ``top_percent, k, n_interacting_top, enrichment, ci_low, ci_high, p_value``.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(interacting, dtype=bool)
    n, n_pos = s.size, int(y.sum())
    order = np.argsort(-s, kind="stable")
    hits = np.cumsum(y[order])
    boot = _bootstrap_enrichment(s, y, top_percents, n_bootstrap, rng) if n_bootstrap else None
    rows = []
    alpha = (1 - level) / 2
    for qi, q in enumerate(top_percents):
        k = _top_k(n, q) if n else 0
        x = int(hits[k - 1]) if n else 0
        enr = (x / k) / (n_pos / n) if n and n_pos else float("nan")
        p = float(stats.hypergeom.sf(x - 1, n, n_pos, k)) if n and n_pos else float("nan")
        lo = hi = float("nan")
        if boot is not None:
            b = boot[:, qi]
            b = b[np.isfinite(b)]
            if b.size:
                lo, hi = (float(v) for v in np.quantile(b, [alpha, 1 - alpha]))
        rows.append(
            {
                "top_percent": float(q),
                "k": k,
                "n_interacting_top": x,
                "enrichment": enr,
                "ci_low": lo,
                "ci_high": hi,
                "p_value": p,
            }
        )
    return pd.DataFrame(rows)


def _bootstrap_enrichment(s, y, top_percents, n_bootstrap, rng) -> np.ndarray:
    n = s.size
    out = np.full((n_bootstrap, len(top_percents)), np.nan)
    if n == 0:
        return out
    ks = np.array([_top_k(n, q) for q in top_percents])
    for b0 in range(0, n_bootstrap, 256):
        nb = min(256, n_bootstrap - b0)
        idx = rng.integers(0, n, size=(nb, n))
        sb, yb = s[idx], y[idx]
        order = np.argsort(-sb, axis=1, kind="stable")
        hits = np.cumsum(np.take_along_axis(yb, order, axis=1), axis=1)
        pos = yb.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = hits[:, ks - 1] / ks[None, :]
            out[b0 : b0 + nb] = np.where(pos[:, None] > 0, share / (pos / n)[:, None], np.nan)
    return out


def roc_youden(scores: np.ndarray, interacting: np.ndarray) -> tuple[float, pd.DataFrame, dict]:
    """ROC AUC, the curve and the Youden-optimal point (max sensitivity + specificity - 1).

    Returns ``(auc, DataFrame[fpr, tpr, threshold], {threshold, sensitivity, specificity,
    youden_j})``; NaN AUC and an empty curve when one class is missing.
    """
    y = np.asarray(interacting, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.all() or not y.any():
        nan = float("nan")
        point = {"threshold": nan, "sensitivity": nan, "specificity": nan, "youden_j": nan}
        return nan, pd.DataFrame(columns=["fpr", "tpr", "threshold"]), point
    auc = float(roc_auc_score(y, s))
    fpr, tpr, thr = roc_curve(y, s)
    j = tpr - fpr
    best = int(np.argmax(j))
    point = {
        "threshold": float(thr[best]),
        "sensitivity": float(tpr[best]),
        "specificity": float(1 - fpr[best]),
        "youden_j": float(j[best]),
    }
    return auc, pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thr}), point


@dataclass
class VidaEvaluation:
    """VIDA scores against simulation truth (see the module docstring for the labels)."""

    n_interacting: int
    n_non_interacting: int
    n_unscored: int
    auc: float
    youden: dict
    mann_whitney: dict
    enrichment: pd.DataFrame
    roc: pd.DataFrame
    labelled: pd.DataFrame = field(repr=False)

    def enrichment_at(self, top_percent: float) -> dict:
        row = self.enrichment[np.isclose(self.enrichment["top_percent"], top_percent)]
        return {} if row.empty else row.iloc[0].to_dict()

    def to_dict(self) -> dict:
        """JSON-ready summary (NaN becomes None)."""
        d = {
            "n_interacting": self.n_interacting,
            "n_non_interacting": self.n_non_interacting,
            "n_unscored": self.n_unscored,
            "auc": self.auc,
            "youden": dict(self.youden),
            "mann_whitney": dict(self.mann_whitney),
        }
        d["enrichment"] = self.enrichment.to_dict(orient="records")
        return _json_safe(d)


def evaluate_vida(
    scores: pd.DataFrame,
    truth: Truth,
    *,
    rng: np.random.Generator,
    top_percents: Sequence[float] = DEFAULT_TOP_PERCENTS,
    n_bootstrap: int = 1000,
) -> VidaEvaluation:
    """ROC AUC, Youden point, enrichment by percentile and Mann-Whitney U of VIDA scores.

    Parameters
    ----------
    scores
        Output of :func:`gpatlas_core.tl.vida`.
    truth
        Simulation truth.
    rng
        For the bootstrap intervals of the enrichment.
    top_percents
        Percentiles of the enrichment curve (10 and 20 are the paper's).
    n_bootstrap
        Bootstrap resamples for the enrichment intervals (0 = none).
    """
    lab = label_scores(scores, truth)
    scored = lab[np.isfinite(lab["vida_score"].to_numpy(dtype=np.float64))]
    s = scored["vida_score"].to_numpy(dtype=np.float64)
    y = scored["interacting"].to_numpy(dtype=bool)
    auc, curve, point = roc_youden(s, y)
    a, b = s[y], s[~y]
    if a.size and b.size:
        mw = stats.mannwhitneyu(a, b, alternative="two-sided")
        mwd = {"u": float(mw.statistic), "p_value": float(mw.pvalue)}
    else:
        mwd = {"u": float("nan"), "p_value": float("nan")}
    mwd["median_interacting"] = float(np.median(a)) if a.size else float("nan")
    mwd["median_non_interacting"] = float(np.median(b)) if b.size else float("nan")
    enr = enrichment_curve(s, y, top_percents=top_percents, n_bootstrap=n_bootstrap, rng=rng)
    return VidaEvaluation(
        n_interacting=int(y.sum()),
        n_non_interacting=int((~y).sum()),
        n_unscored=len(lab) - len(scored),
        auc=auc,
        youden=point,
        mann_whitney=mwd,
        enrichment=enr,
        roc=curve,
        labelled=lab,
    )


# ---------------------------------------------------------------------------- grid
def vida_grid(
    matrix: np.ndarray,
    allele_columns: pd.DataFrame,
    *,
    candidates,
    truth: Truth,
    z_thresholds: Sequence[float] = GRID_Z,
    percentiles: Sequence[float] = GRID_PERCENTILES,
    methods: Sequence[str] = METHODS,
    block_size: int | None = None,
) -> pd.DataFrame:
    """AUC of VIDA over a parameter grid (z threshold x clumpiness percentile x method).

    z-scores and pair statistics are computed once, partners once per threshold, and every
    setting of a threshold shares one pass over individuals. Gini, entropy and adaptive do not
    use the percentile: they are computed once per threshold and repeated on each percentile
    row (``uses_percentile`` False).

    Returns
    -------
    pandas.DataFrame
        ``z_threshold, clumpiness_percentile, method, uses_percentile, auc, n_scored,
        n_interacting, n_non_interacting``, in grid order; :func:`best_of_grid` picks the best.
    """
    settings: list[tuple[str, float]] = []
    for meth in methods:
        if meth == "concentration":
            settings += [(meth, float(p)) for p in percentiles]
        else:
            settings.append((meth, float(percentiles[0]) if percentiles else 5.0))
    results = vida_settings(
        matrix,
        allele_columns,
        candidates=candidates,
        z_thresholds=z_thresholds,
        settings=settings,
        block_size=block_size,
    )
    rows = []
    for t in z_thresholds:
        for meth in methods:
            for p in percentiles:
                key_p = float(p) if meth == "concentration" else _settings_pct(settings, meth)
                lab = label_scores(results[(float(t), meth, key_p)], truth)
                ok = np.isfinite(lab["vida_score"].to_numpy(dtype=np.float64))
                y = lab["interacting"].to_numpy(dtype=bool)[ok]
                auc, _, _ = roc_youden(lab["vida_score"].to_numpy(dtype=np.float64)[ok], y)
                rows.append(
                    {
                        "z_threshold": float(t),
                        "clumpiness_percentile": float(p),
                        "method": meth,
                        "uses_percentile": meth == "concentration",
                        "auc": auc,
                        "n_scored": int(ok.sum()),
                        "n_interacting": int(y.sum()),
                        "n_non_interacting": int((~y).sum()),
                    }
                )
    return pd.DataFrame(rows)


def _settings_pct(settings: Sequence[tuple[str, float]], method: str) -> float:
    return next(p for m, p in settings if m == method)


def best_of_grid(grid: pd.DataFrame) -> dict:
    """The grid row with the highest AUC (first in grid order on ties); {} if none is finite."""
    finite = grid[np.isfinite(grid["auc"].to_numpy(dtype=np.float64))]
    if finite.empty:
        return {}
    return _json_safe(finite.loc[finite["auc"].idxmax()].to_dict())


# ---------------------------------------------------------------------------- distributions
def importance_by_class(
    matrix: np.ndarray, allele_columns: pd.DataFrame, truth: Truth
) -> tuple[np.ndarray, np.ndarray]:
    """Non-zero per-individual importance of interacting vs direct-only causal alleles.

    Zeros (the allele absent, so nothing to ablate) carry no measured importance and are left
    out, as in VIDA.
    """
    m = np.asarray(matrix)
    if m.shape[1] != len(allele_columns):
        raise DataError("importance matrix and allele-column table differ in columns")
    lab = interaction_labels(truth)
    key = allele_columns["marker"].astype(str) + "\x1f" + allele_columns["allele"].astype(str)
    lk = lab["marker"] + "\x1f" + lab["allele"]
    inter = key.isin(set(lk[lab["interacting"]])).to_numpy()
    direct = key.isin(set(lk[~lab["interacting"]])).to_numpy()
    a, b = m[:, inter].astype(np.float64).ravel(), m[:, direct].astype(np.float64).ravel()
    return a[a != 0], b[b != 0]


def excess_kurtosis(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Population excess kurtosis (Fisher, biased, as ``scipy.stats.kurtosis``); NaN if constant."""
    x = np.asarray(x, dtype=np.float64)
    d = x - x.mean(axis=axis, keepdims=True)
    m2 = (d * d).mean(axis=axis)
    m4 = (d * d * d * d).mean(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m2 > 0, m4 / np.where(m2 > 0, m2 * m2, 1.0) - 3.0, np.nan)


def _boot_stat(x: np.ndarray, n_bootstrap: int, rng: np.random.Generator, fn) -> np.ndarray:
    out = np.empty(n_bootstrap)
    step = max(1, 2**23 // max(1, x.size))
    for b0 in range(0, n_bootstrap, step):
        nb = min(step, n_bootstrap - b0)
        out[b0 : b0 + nb] = fn(x[rng.integers(0, x.size, size=(nb, x.size))])
    return out


def kurtosis_test(
    interacting: np.ndarray,
    direct: np.ndarray,
    *,
    rng: np.random.Generator,
    n_bootstrap: int = 1000,
    level: float = 0.95,
) -> dict:
    """Bootstrap test that interacting alleles' importance is more heavy-tailed (kurtotic).

    Each sample is resampled with replacement ``n_bootstrap`` times; the statistic is the
    difference of excess kurtosis (interacting - direct). ``p_value`` is one-sided,
    ``(1 + #{difference <= 0}) / (n_bootstrap + 1)``.

    Returns
    -------
    dict
        ``kurtosis_interacting, kurtosis_direct, difference, ci_low, ci_high, p_value,
        n_interacting, n_direct, boot_interacting, boot_direct`` (the last two are arrays).
    """
    a = np.asarray(interacting, dtype=np.float64)
    b = np.asarray(direct, dtype=np.float64)
    if a.size < 4 or b.size < 4:
        raise DataError("kurtosis test needs at least 4 non-zero values in each class")
    ka = _boot_stat(a, n_bootstrap, rng, excess_kurtosis)
    kb = _boot_stat(b, n_bootstrap, rng, excess_kurtosis)
    diff = ka - kb
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(diff, [alpha, 1 - alpha]) if np.isfinite(diff).any() else (np.nan,) * 2
    return {
        "kurtosis_interacting": float(excess_kurtosis(a)),
        "kurtosis_direct": float(excess_kurtosis(b)),
        "difference": float(excess_kurtosis(a) - excess_kurtosis(b)),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "p_value": float((1 + np.sum(~(diff > 0))) / (n_bootstrap + 1)),
        "n_interacting": int(a.size),
        "n_direct": int(b.size),
        "boot_interacting": ka,
        "boot_direct": kb,
    }


def qq_data(
    interacting: np.ndarray,
    direct: np.ndarray,
    *,
    rng: np.random.Generator,
    n_quantiles: int = 99,
    n_bootstrap: int = 200,
    standardize: bool = True,
    level: float = 0.95,
) -> pd.DataFrame:
    """Quantiles of interacting against direct-only importance, with a bootstrap band.

    With ``standardize`` each sample is centred and scaled by its standard deviation, so the
    plot compares shapes (tails), not scales. The band is the pointwise ``level`` percentile
    interval of the interacting quantiles over bootstrap resamples of both samples, drawn
    around the direct quantile; the line of equality lies inside it where the distributions
    agree.

    Returns
    -------
    pandas.DataFrame
        ``prob, q_direct, q_interacting, low, high``.
    """
    a = np.asarray(interacting, dtype=np.float64)
    b = np.asarray(direct, dtype=np.float64)
    if a.size < 2 or b.size < 2:
        raise DataError("Q-Q data needs at least 2 values in each class")
    if standardize:
        a = (a - a.mean()) / (a.std() or 1.0)
        b = (b - b.mean()) / (b.std() or 1.0)
    probs = (np.arange(n_quantiles) + 0.5) / n_quantiles
    qa, qb = np.quantile(a, probs), np.quantile(b, probs)

    def quant(x):
        if standardize:
            sd = x.std(axis=1, keepdims=True)
            x = (x - x.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
        return np.quantile(x, probs, axis=1).T

    diffs = np.empty((n_bootstrap, n_quantiles))
    step = max(1, 2**22 // max(a.size, b.size))
    for b0 in range(0, n_bootstrap, step):
        nb = min(step, n_bootstrap - b0)
        ba = quant(a[rng.integers(0, a.size, size=(nb, a.size))])
        bb = quant(b[rng.integers(0, b.size, size=(nb, b.size))])
        diffs[b0 : b0 + nb] = ba - bb
    alpha = (1 - level) / 2
    lo, hi = np.quantile(diffs, [alpha, 1 - alpha], axis=0)
    # Band of "no difference": the direct quantile plus the bootstrap spread of the difference
    # centred on zero.
    centre = diffs.mean(axis=0)
    return pd.DataFrame(
        {
            "prob": probs,
            "q_direct": qb,
            "q_interacting": qa,
            "low": qb + lo - centre,
            "high": qb + hi - centre,
        }
    )


VIDA_EVAL_SEED = 0
"""The bootstrap seed of :func:`vida_against_truth` when none is chosen (CLI and app alike)."""


@dataclass
class VidaTruthReport:
    """Everything VIDA is judged by on a simulation: the evaluation of its scores, and the
    importance distributions of interacting against direct-only causal alleles."""

    evaluation: VidaEvaluation
    kurtosis: dict | None
    """:func:`kurtosis_test` (None with fewer than 4 non-zero values in a class)."""
    qq: pd.DataFrame | None
    """:func:`qq_data` (None when ``kurtosis`` is)."""

    def to_dict(self) -> dict:
        """JSON-ready: the evaluation and the kurtosis test without its bootstrap draws."""
        d: dict = {"evaluation": self.evaluation.to_dict()}
        if self.kurtosis is not None:
            d["kurtosis_test"] = _json_safe(
                {k: v for k, v in self.kurtosis.items() if not k.startswith("boot_")}
            )
        return d


def vida_against_truth(
    matrix: np.ndarray,
    allele_columns: pd.DataFrame,
    scores: pd.DataFrame,
    truth: Truth,
    *,
    rng: np.random.Generator,
    n_bootstrap: int = 1000,
) -> VidaTruthReport:
    """VIDA scores and per-individual importance against simulation truth, in one call.

    The one home of this evaluation: ``python -m gpatlas_core vida`` and the app's VIDA page
    both call it, with ``np.random.default_rng(VIDA_EVAL_SEED)`` unless a seed is chosen, so
    the same data gives the same numbers in both. Draw order: the enrichment bootstrap
    (:func:`evaluate_vida`), then :func:`kurtosis_test`, then :func:`qq_data`, each with
    ``n_bootstrap`` resamples (the Q-Q band with its own default).
    """
    ev = evaluate_vida(scores, truth, rng=rng, n_bootstrap=n_bootstrap)
    inter, direct = importance_by_class(matrix, allele_columns, truth)
    kurt = qq = None
    if inter.size >= 4 and direct.size >= 4:
        kurt = kurtosis_test(inter, direct, rng=rng, n_bootstrap=n_bootstrap)
        qq = qq_data(inter, direct, rng=rng)
    return VidaTruthReport(evaluation=ev, kurtosis=kurt, qq=qq)


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_json_safe(v) for v in obj.tolist()]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj
