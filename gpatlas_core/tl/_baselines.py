"""Linear baselines on the same split as a run (docs/method.md section 3).

- :func:`ridge_baseline`: per-trait ridge regression on the one-hot genotypes, the penalty chosen
  per trait by exact leave-one-out cross-validation over a grid. It works in the dual (kernel)
  form: one Gram matrix for all traits, one eigendecomposition per trait (its observed training
  cells), then every alpha costs a few vector operations. Same fit as scikit-learn's
  ``RidgeCV(fit_intercept=True)`` for a given alpha. :func:`fit_ridge` is the same fit kept as
  coefficients on the one-hot columns (:class:`RidgeFit`), to predict genotypes nobody has
  (the in-silico experiments); given the penalties a run already chose, it skips the search.
- :func:`lasso_baseline`: per-trait LASSO on the dummy-coded genotypes, the penalty chosen per
  trait by 5-fold cross-validation (``_lasso.lasso_cv``: scikit-learn's objective and solver on
  working sets, checked on every column).
- :func:`qtl_linear_baseline`: per-trait ordinary least squares on the trait's known-QTL peak
  markers (the marker nearest each peak on the same chromosome), dummy-coded, with intercept.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.linalg
import torch

from ..io import Dataset
from ._lasso import LassoCVResult, lasso_cv


@dataclass
class BaselineResult:
    """Predictions for every sample (n, m) on the original scale (NaN where no model) and the
    per-trait parameters (``alpha`` for ridge, the markers used for the QTL model)."""

    predictions: np.ndarray
    params: dict = field(default_factory=dict)


def _alpha_grid(scale: float, n: int = 26) -> np.ndarray:
    return scale * np.logspace(-3, 2, n)


def ridge_baseline(
    dataset: Dataset,
    train_rows: np.ndarray,
    *,
    alphas: np.ndarray | None = None,
) -> BaselineResult:
    """Per-trait ridge regression on the one-hot genotypes, fitted on ``train_rows``.

    Parameters
    ----------
    dataset
        The data; missing phenotype cells are left out of each trait's fit.
    train_rows
        Row indices of the training individuals.
    alphas
        Penalty grid; default 26 values log-spaced over [1e-3, 1e2] x the mean eigenvalue of the
        centred Gram matrix (scale-free). The best alpha per trait (leave-one-out MSE) is used.

    Returns
    -------
    BaselineResult
        Predictions for all samples; ``params = {"alpha": {trait: alpha}}``.
    """
    train_rows = np.asarray(train_rows)
    k_all = _gram(dataset, train_rows)
    y_all = dataset.phenotypes[train_rows].astype(np.float64)
    n = dataset.n_samples
    out = np.full((n, dataset.n_traits), np.nan)
    chosen: dict[str, float | None] = {}
    for k, trait in enumerate(dataset.traits):
        obs = np.flatnonzero(np.isfinite(y_all[:, k]))
        if obs.size < 3:
            chosen[trait] = None
            continue
        y = y_all[obs, k]
        ybar = y.mean()
        yc = y - ybar
        k_ao = k_all[:, obs]  # every sample vs observed training samples
        k_oo = k_ao[train_rows[obs]]
        col_mean = k_oo.mean(axis=0)
        grand = col_mean.mean()
        kc = k_oo - col_mean[None, :] - col_mean[:, None] + grand
        alpha, coef = _loo_ridge(kc, yc, alphas)
        kc_a = k_ao - k_ao.mean(axis=1, keepdims=True) - col_mean[None, :] + grand
        out[:, k] = ybar + kc_a @ coef
        chosen[trait] = alpha
    return BaselineResult(predictions=out.astype(np.float32), params={"alpha": chosen})


def _loo_ridge(
    kc: np.ndarray, yc: np.ndarray, alphas: np.ndarray | None
) -> tuple[float, np.ndarray]:
    """The penalty with the lowest exact leave-one-out error and its dual coefficients, from the
    centred Gram matrix ``kc`` and centred responses ``yc`` of one trait's observed cells."""
    lam, u = np.linalg.eigh(kc)
    lam = np.clip(lam, 0.0, None)
    grid = alphas if alphas is not None else _alpha_grid(max(lam.mean(), 1e-12))
    uty = u.T @ yc
    shrink = lam[:, None] / (lam[:, None] + grid[None, :])  # (r, A)
    resid = yc[:, None] - u @ (shrink * uty[:, None])
    hat_diag = 1.0 / yc.size + (u**2) @ shrink
    loo = np.mean((resid / np.clip(1.0 - hat_diag, 1e-12, None)) ** 2, axis=0)
    best = int(np.argmin(loo))
    alpha = float(grid[best])
    return alpha, u @ (uty / (lam + alpha))


@dataclass
class RidgeFit:
    """Per-trait ridge regression as coefficients on the one-hot columns (primal form).

    ``predict(x) = intercept + x @ coef``; a trait without a fit (fewer than 3 observed training
    cells) has NaN coefficients and predictions. ``alpha`` maps each trait to its penalty.
    """

    coef: np.ndarray
    """(p, m) float64, one row per one-hot allele column."""
    intercept: np.ndarray
    """(m,) float64."""
    alpha: dict[str, float | None]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions (n, m), float64, on the traits' original scale, for one-hot ``x``."""
        return self.intercept[None, :] + np.asarray(x, dtype=np.float64) @ self.coef


def fit_ridge(
    dataset: Dataset,
    train_rows: np.ndarray,
    *,
    alphas: np.ndarray | None = None,
    alpha: dict[str, float | None] | None = None,
) -> RidgeFit:
    """The ridge fit of :func:`ridge_baseline`, kept as coefficients on the one-hot columns.

    Parameters
    ----------
    dataset, train_rows, alphas
        As for :func:`ridge_baseline` (same leave-one-out choice of the penalty per trait).
    alpha
        Penalties already chosen per trait (e.g. a run's ``metrics["ridge"]["params"]["alpha"]``
        from :func:`ridge_baseline`): each such trait is solved directly (Cholesky), without
        the search, which is what costs time on large data; traits missing from it (or None
        there) are searched as usual.

    Returns
    -------
    RidgeFit
        Its ``predict`` equals :func:`ridge_baseline`'s predictions to rounding error.
    """
    train_rows = np.asarray(train_rows)
    gram = _gram(dataset, train_rows, rows=train_rows)
    y_all = dataset.phenotypes[train_rows].astype(np.float64)
    n_tr, m = y_all.shape
    dual = np.zeros((n_tr, m))
    weights = np.zeros((n_tr, m))  # rows of x averaged into each trait's mean genotype
    ybar = np.full(m, np.nan)
    chosen: dict[str, float | None] = {}
    for k, trait in enumerate(dataset.traits):
        obs = np.flatnonzero(np.isfinite(y_all[:, k]))
        given = (alpha or {}).get(trait)
        if obs.size < 3:
            chosen[trait] = None
            continue
        y = y_all[obs, k]
        ybar[k] = y.mean()
        yc = y - ybar[k]
        k_oo = gram[np.ix_(obs, obs)]
        col_mean = k_oo.mean(axis=0)
        kc = k_oo - col_mean[None, :] - col_mean[:, None] + col_mean.mean()
        if given is not None and np.isfinite(given) and given > 0:
            chosen[trait] = float(given)
            kc[np.diag_indices_from(kc)] += given
            coef = scipy.linalg.cho_solve(scipy.linalg.cho_factor(kc, check_finite=False), yc)
        else:
            chosen[trait], coef = _loo_ridge(kc, yc, alphas)
        dual[obs, k] = coef
        weights[obs, k] = 1.0 / obs.size
    del gram
    # coef_k = (x_obs - xbar_k)^T c_k and xbar_k = weights_k^T x, column block by block (the
    # one-hot columns of the training rows made per block of loci, never all at once)
    coef_p = np.empty((dataset.n_allele_columns, m))
    xbar_dot = np.zeros(m)
    for loci in _locus_blocks(dataset, n_tr):
        first = int(dataset.column_offsets[loci[0]])
        xl = dataset.onehot(train_rows, loci=loci)
        for sub in range(0, xl.shape[1], 4096):
            block = xl[:, sub : sub + 4096].astype(np.float64)
            start = first + sub
            xbar = block.T @ weights  # (b, m)
            coef_p[start : start + block.shape[1]] = block.T @ dual - xbar * dual.sum(axis=0)
            xbar_dot += np.einsum("bm,bm->m", xbar, coef_p[start : start + block.shape[1]])
    intercept = ybar - xbar_dot
    coef_p[:, ~np.isfinite(ybar)] = np.nan
    return RidgeFit(coef=coef_p, intercept=intercept, alpha=chosen)


_BLOCK_BYTES = 128 << 20
"""Size of the one-hot blocks the Gram matrix and the LASSO design are built from."""


def _locus_blocks(dataset: Dataset, n_rows: int):
    """Consecutive blocks of loci whose one-hot columns for ``n_rows`` rows take about
    :data:`_BLOCK_BYTES` in float32."""
    n_loci = dataset.n_loci
    per_locus = max(1, -(-dataset.n_allele_columns // max(n_loci, 1)))
    step = max(1, _BLOCK_BYTES // (4 * max(n_rows, 1) * per_locus))
    for j in range(0, n_loci, step):
        yield np.arange(j, min(n_loci, j + step))


def _gram(
    dataset: Dataset, train_rows: np.ndarray, *, rows: np.ndarray | None = None
) -> np.ndarray:
    """``X_rows X_train^T`` of the one-hot genotypes ((n or len(rows)), n_train), float64,
    built over blocks of loci so that no one-hot matrix of every individual is held
    (``rows`` default: all individuals). Binary inputs: every entry and every partial sum is
    an integer < 2^24, exact in float32 whatever the blocking."""
    train_rows = np.asarray(train_rows)
    row_idx = np.arange(dataset.n_samples) if rows is None else np.asarray(rows)
    same = rows is not None and np.array_equal(row_idx, train_rows)
    k = np.zeros((len(row_idx), len(train_rows)), dtype=np.float32)
    for loci in _locus_blocks(dataset, len(row_idx)):
        xb = dataset.onehot(row_idx, loci=loci)
        if same:
            xt = xb
        elif rows is None:
            xt = xb[train_rows]
        else:
            xt = dataset.onehot(train_rows, loci=loci)
        k += xb @ xt.T
    return k.astype(np.float64)


def dummy_columns(dataset: Dataset) -> np.ndarray:
    """Indices of the one-hot columns that make the dummy coding: every allele column of a locus
    but its first (the dropped one is the intercept minus the others)."""
    return np.flatnonzero(dataset.allele_columns["locus"].duplicated().to_numpy())


LASSO_SEED = 0
"""Seed of the LASSO baseline's CV folds (the same folds for every run on a data set)."""


def fit_lasso(
    dataset: Dataset, train_rows: np.ndarray, *, seed: int = LASSO_SEED, n_jobs: int | None = None
) -> LassoCVResult:
    """Per-trait LASSO (5-fold CV) of the phenotypes of ``train_rows`` on the dummy-coded
    genotypes; coefficients are on :func:`dummy_columns`. Traits are fitted on ``n_jobs``
    threads (default: torch's thread count, which a hosted server sets per job)."""
    return lasso_cv(
        dummy_design(dataset, train_rows),
        dataset.phenotypes[train_rows],
        rng=np.random.default_rng(seed),
        n_jobs=n_jobs or torch.get_num_threads(),
    )


def dummy_design(dataset: Dataset, rows: np.ndarray) -> np.ndarray:
    """(len(rows), dummy columns) float32 design of the dummy-coded genotypes, made block by
    block (never the whole one-hot matrix at once)."""
    cols = dummy_columns(dataset)
    rows = np.asarray(rows)
    x = np.empty((len(rows), len(cols)), dtype=np.float32)
    step = max(1, _BLOCK_BYTES // (4 * max(dataset.n_allele_columns, 1)))
    for i in range(0, len(rows), step):  # one-hot rows block by block, kept columns only
        x[i : i + step] = dataset.onehot(rows[i : i + step])[:, cols]
    return x


def multitrait_scale(
    dataset: Dataset, first: LassoCVResult, *, gamma: float, window: int
) -> np.ndarray:
    """Per dummy column, ``(1 + c)^gamma`` normalised to mean 1: ``c`` = how many traits'
    ``first`` LASSO selected a column of the same marker or of a marker within ``window``
    markers of it (dataset marker order, within a chromosome). Scaling a design column by
    ``s`` divides its LASSO penalty by ``s``."""
    if gamma < 0 or window < 0:
        raise ValueError(f"gamma and window must be >= 0, got {gamma} and {window}")
    locus = dataset.allele_columns["locus"].to_numpy()[dummy_columns(dataset)]
    coef = np.nan_to_num(np.asarray(first.coef, dtype=np.float64))
    per_locus = np.zeros(dataset.n_loci)
    np.maximum.at(per_locus, locus, (coef != 0).sum(axis=1).astype(np.float64))
    chrom = dataset.markers["chromosome"].astype(str).to_numpy()
    counts = np.zeros(dataset.n_loci)
    for c in pd.unique(chrom):  # a window never crosses a chromosome's end
        idx = np.flatnonzero(chrom == c)
        csum = np.concatenate([[0.0], np.cumsum(per_locus[idx])])
        pos = np.arange(len(idx))
        hi = np.minimum(pos + window + 1, len(idx))
        counts[idx] = csum[hi] - csum[np.maximum(pos - window, 0)]
    s = (1.0 + counts[locus]) ** gamma
    return s / s.mean()


def fit_lasso_multitrait(
    dataset: Dataset,
    train_rows: np.ndarray,
    first: LassoCVResult,
    *,
    gamma: float,
    window: int,
    seed: int = LASSO_SEED,
    n_jobs: int | None = None,
) -> LassoCVResult:
    """Per-trait LASSO (5-fold CV, the same folds as :func:`fit_lasso`) with the penalty
    factors of :func:`multitrait_scale` from the per-trait fit ``first``; coefficients on the
    dummy columns' own scale, like :func:`fit_lasso`'s."""
    s = multitrait_scale(dataset, first, gamma=gamma, window=window)
    x = dummy_design(dataset, train_rows)
    x *= s.astype(np.float32)[None, :]
    fit = lasso_cv(
        x,
        dataset.phenotypes[train_rows],
        rng=np.random.default_rng(seed),
        n_jobs=n_jobs or torch.get_num_threads(),
    )
    fit.coef = fit.coef * s[:, None]
    if fit.fold_coef is not None:
        fit.fold_coef = fit.fold_coef * s[:, None]
    return fit


def blend_lasso_fits(a: LassoCVResult, b: LassoCVResult, weight: float) -> LassoCVResult:
    """``weight`` times fit ``b`` plus ``1 - weight`` times fit ``a`` (same rows and CV folds):
    coefficients, intercepts, fold committees and out-of-fold predictions; the penalty and CV
    curves are ``a``'s (the blend has no single penalty)."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"the blend weight must be in [0, 1], got {weight}")
    for fa, fb in zip(a.folds, b.folds, strict=True):
        if not np.array_equal(fa, fb):
            raise ValueError("the two LASSO fits were not cross-validated on the same folds")

    def mix(u, v):
        return None if u is None or v is None else (1.0 - weight) * u + weight * v

    return dataclasses.replace(
        a,
        coef=mix(a.coef, b.coef),
        intercept=mix(a.intercept, b.intercept),
        oof=mix(a.oof, b.oof),
        fold_coef=mix(a.fold_coef, b.fold_coef),
        fold_intercept=mix(a.fold_intercept, b.fold_intercept),
    )


def lasso_baseline(
    dataset: Dataset, train_rows: np.ndarray, *, fit: LassoCVResult | None = None
) -> BaselineResult:
    """Per-trait LASSO on the genotypes, fitted on ``train_rows`` (or the given ``fit``).

    Returns
    -------
    BaselineResult
        Predictions for all samples; ``params = {"alpha": {trait: alpha}, "n_selected":
        {trait: non-zero coefficients}}``.
    """
    fit = fit if fit is not None else fit_lasso(dataset, train_rows)
    cols = dummy_columns(dataset)
    out = np.full((dataset.n_samples, dataset.n_traits), np.nan, dtype=np.float32)
    ok = np.isfinite(fit.intercept)
    for i in range(0, dataset.n_samples, 1024):
        rows = np.arange(i, min(i + 1024, dataset.n_samples))
        x = dataset.onehot(rows)[:, cols].astype(np.float64)
        out[rows[:, None], np.flatnonzero(ok)[None, :]] = fit.predict(x)[:, ok]
    alpha = {
        t: (float(a) if np.isfinite(a) else None)
        for t, a in zip(dataset.traits, fit.alpha, strict=True)
    }
    n_sel = {
        t: (int((fit.coef[:, k] != 0).sum()) if ok[k] else None)
        for k, t in enumerate(dataset.traits)
    }
    return BaselineResult(predictions=out, params={"alpha": alpha, "n_selected": n_sel})


def _norm_name(s: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(s).lower()).strip("_")


def qtl_peak_loci(dataset: Dataset) -> dict[str, list[int]]:
    """For every trait with known QTL, the loci (marker indices) nearest each QTL peak on the
    same chromosome, without repeats. Traits are matched by name (case and punctuation
    ignored); QTL on chromosomes without markers of known position are skipped."""
    if dataset.known_qtl is None or len(dataset.known_qtl) == 0:
        return {}
    markers = dataset.markers
    chrom = markers["chromosome"].astype(str).to_numpy()
    pos = markers["position"].to_numpy(dtype=np.int64)
    by_name = {_norm_name(t): t for t in dataset.traits}
    loci: dict[str, list[int]] = {}
    for row in dataset.known_qtl.itertuples(index=False):
        trait = by_name.get(_norm_name(row.trait))
        if trait is None:
            continue
        cand = np.flatnonzero((chrom == str(row.chromosome)) & (pos >= 0))
        if cand.size == 0 or not np.isfinite(float(row.position)):
            continue
        j = int(cand[np.argmin(np.abs(pos[cand] - float(row.position)))])
        lst = loci.setdefault(trait, [])
        if j not in lst:
            lst.append(j)
    return loci


def qtl_linear_baseline(dataset: Dataset, train_rows: np.ndarray) -> BaselineResult | None:
    """Per-trait least squares on the trait's QTL peak markers, fitted on ``train_rows``.

    Each marker enters dummy-coded (its allele columns but the first), plus an intercept;
    ``lstsq`` gives the minimum-norm fit if columns are collinear. Traits without known QTL get
    NaN predictions. Returns ``None`` when the dataset has no known QTL.

    Returns
    -------
    BaselineResult or None
        ``params = {"markers": {trait: [marker, ...]}}``.
    """
    loci = qtl_peak_loci(dataset)
    if not loci:
        return None
    train_rows = np.asarray(train_rows)
    sizes = np.diff(np.append(dataset.column_offsets, dataset.n_allele_columns))
    names = dataset.markers["marker"].astype(str).to_numpy()
    out = np.full((dataset.n_samples, dataset.n_traits), np.nan, dtype=np.float32)
    used: dict[str, list[str]] = {}
    for k, trait in enumerate(dataset.traits):
        if trait not in loci:
            continue
        chosen = np.asarray(loci[trait], dtype=np.int64)
        first = np.concatenate([[0], np.cumsum(sizes[chosen])[:-1]])
        xq = dataset.onehot(loci=chosen)  # only these loci's columns
        feats = np.setdiff1d(np.arange(xq.shape[1]), first)  # all but each locus's first
        design = np.concatenate([np.ones((dataset.n_samples, 1)), xq[:, feats]], axis=1)
        y = dataset.phenotypes[train_rows, k].astype(np.float64)
        ok = np.isfinite(y)
        if ok.sum() < 2:
            continue
        beta, *_ = np.linalg.lstsq(design[train_rows[ok]], y[ok], rcond=None)
        out[:, k] = design @ beta
        used[trait] = [str(names[j]) for j in loci[trait]]
    return BaselineResult(predictions=out, params={"markers": used})
