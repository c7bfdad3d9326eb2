"""Pairwise interaction terms for the warm start (docs/method.md section 2, "Interaction
terms"): a second LASSO per trait on products of allele indicators of the loci its additive
LASSO ranks highest, fitted to what the additive fit leaves over.

For trait k, the ``top_loci`` loci with the largest absolute additive coefficient are paired
in every way; each pair of loci contributes the products of their dummy columns (every allele
column of a locus but its first), 1 exactly when an individual carries both alleles. The
second LASSO regresses the additive fit's out-of-fold residuals (each training individual's
residual from the fold fit that did not see it, so the additive fit's own overfitting is not
mistaken for interaction) on those products, the penalty by CV on the additive LASSO's folds.
The trait's prediction is then the additive LASSO's plus the pair terms. Pairs with a non-zero
coefficient in some trait become the interaction inputs of GQ's first layer
(:class:`gpatlas_core.module.PairLinear`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from ..io import Dataset
from ._baselines import dummy_columns
from ._lasso import LassoCVResult, lasso_cv


@dataclass
class PairFit:
    """Pair terms on top of an additive LASSO fit.

    ``pairs`` (q, 2): one-hot column indices of each pair (dataset allele-column order);
    ``coef`` (q, m): each pair product's coefficient per trait, on the traits' original scale
    (0 where the trait's LASSO did not select it); ``intercept`` (m,): added to the additive
    intercept; ``candidates`` (m,): pair products each trait's second LASSO chose from;
    ``alpha`` (m,): its penalty (NaN: not fitted).
    """

    pairs: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    candidates: np.ndarray
    alpha: np.ndarray

    @property
    def n_pairs(self) -> int:
        return int(self.pairs.shape[0])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n, m): the pair terms' contribution for one-hot genotypes ``x``."""
        prod = x[:, self.pairs[:, 0]] * x[:, self.pairs[:, 1]]
        return prod.astype(np.float64) @ self.coef + self.intercept[None, :]


def top_loci_per_trait(dataset: Dataset, lasso: LassoCVResult, k: int) -> list[np.ndarray]:
    """Per trait, up to ``k`` loci with a non-zero additive coefficient, largest |coefficient|
    (over the locus's dummy columns) first."""
    locus = dataset.allele_columns["locus"].to_numpy()[dummy_columns(dataset)]
    out = []
    for j in range(lasso.coef.shape[1]):
        c = np.abs(np.nan_to_num(lasso.coef[:, j]))
        score = np.zeros(dataset.n_loci)
        np.maximum.at(score, locus, c)
        chosen = np.flatnonzero(score > 0)
        out.append(chosen[np.argsort(-score[chosen], kind="stable")][:k])
    return out


def pair_columns(dataset: Dataset, loci: np.ndarray) -> np.ndarray:
    """(q, 2) one-hot column pairs: every dummy column of each locus times every dummy column
    of each later locus in ``loci``."""
    cols = dummy_columns(dataset)
    locus = dataset.allele_columns["locus"].to_numpy()[cols]
    per = [cols[locus == j] for j in loci]
    out = [
        (a, b)
        for i in range(len(per))
        for j in range(i + 1, len(per))
        for a in per[i]
        for b in per[j]
    ]
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)


def fit_pairs(
    dataset: Dataset,
    train_rows: np.ndarray,
    lasso: LassoCVResult,
    *,
    top_loci: int,
    n_jobs: int | None = None,
) -> PairFit:
    """The pair terms of every trait (see the module docstring) on ``train_rows``, the rows
    ``lasso`` (from :func:`gpatlas_core.tl._baselines.fit_lasso`) was fitted on, with its
    out-of-fold predictions and folds."""
    train_rows = np.asarray(train_rows)
    m = dataset.n_traits
    if lasso.oof is None or len(lasso.folds) != m:
        raise ValueError("the additive LASSO fit carries no out-of-fold predictions or folds")
    y = dataset.phenotypes[train_rows].astype(np.float64)
    loci = top_loci_per_trait(dataset, lasso, top_loci)
    # one-hot of the paired loci only (not of every marker): ``local`` maps a one-hot column
    # of the dataset to its column in ``x``
    used = np.unique(np.concatenate([np.zeros(0, np.int64), *loci])).astype(np.int64)
    x = dataset.onehot(train_rows, loci=used)
    sizes = np.diff(np.append(dataset.column_offsets, dataset.n_allele_columns))
    cols = np.concatenate(
        [np.zeros(0, np.int64)]
        + [np.arange(dataset.column_offsets[j], dataset.column_offsets[j] + sizes[j]) for j in used]
    )
    local = np.full(dataset.n_allele_columns, -1, dtype=np.int64)
    local[cols] = np.arange(len(cols))

    def fit(j: int):
        obs = np.flatnonzero(np.isfinite(y[:, j]))
        cand = pair_columns(dataset, loci[j])
        if len(cand) == 0 or obs.size < 10 or not np.isfinite(lasso.intercept[j]):
            return cand, None
        design = x[:, local[cand[:, 0]]] * x[:, local[cand[:, 1]]]
        resid = y[:, j] - lasso.oof[:, j]  # NaN where unobserved
        res = lasso_cv(
            design,
            resid[:, None],
            rng=np.random.default_rng(0),  # unused: the additive fit's folds are passed
            n_jobs=1,
            folds=[lasso.folds[j]],
        )
        return cand, res

    workers = max(1, n_jobs or os.cpu_count() or 1)
    with threadpool_limits(limits=1 if workers > 1 else None, user_api="blas"):
        with ThreadPoolExecutor(max_workers=workers) as pool:
            fits = list(pool.map(fit, range(m)))
    index: dict[tuple[int, int], int] = {}
    entries: list[tuple[int, int, float]] = []
    intercept = np.zeros(m)
    alpha = np.full(m, np.nan)
    candidates = np.zeros(m, dtype=np.int64)
    for j, (cand, res) in enumerate(fits):
        candidates[j] = len(cand)
        if res is None or not np.isfinite(res.intercept[0]):
            continue
        alpha[j] = res.alpha[0]
        coef = res.coef[:, 0]
        intercept[j] = res.intercept[0]
        for i in np.flatnonzero(coef != 0):
            key = (int(cand[i, 0]), int(cand[i, 1]))
            entries.append((index.setdefault(key, len(index)), j, float(coef[i])))
    pairs = np.asarray(list(index), dtype=np.int64).reshape(-1, 2)
    coef_all = np.zeros((len(pairs), m))
    for i, j, c in entries:
        coef_all[i, j] = c
    return PairFit(
        pairs=pairs, coef=coef_all, intercept=intercept, candidates=candidates, alpha=alpha
    )
