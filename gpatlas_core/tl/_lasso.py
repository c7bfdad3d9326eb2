"""Per-trait LASSO with the penalty chosen by K-fold cross-validation, fast enough for every
trait of a genome-wide data set.

The objective per trait is scikit-learn's ``Lasso`` (with intercept)::

    1 / (2 n) ||y - b0 - X b||^2 + alpha ||b||_1

For each trait and each fit (the K folds, then the whole training set) the path over a
decreasing alpha grid is solved by scikit-learn's coordinate descent on a **working set** of
columns, centred, with a precomputed Gram matrix; the solution is then checked against the optimality
(KKT) conditions on *all* columns with one matrix product, ``|X_j^T r| / n <= alpha`` for every
column outside the working set, and the violators join the working set until none is left. At
convergence this is the full-problem solution (the same as scikit-learn's ``lasso_path`` on all
columns), but only the few columns a sparse trait needs ever enter the coordinate descent.

The genotype design is dummy coding: the one-hot columns of each locus but its first state (the
dropped column is a linear combination of the intercept and the others, so no fit is lost).

With ``l1_ratio`` < 1 the same machinery solves the elastic net (penalty ``alpha (l1_ratio
||b||_1 + (1 - l1_ratio) / 2 ||b||^2)``); its KKT check outside the working set is
``|X_j^T r| / n <= alpha l1_ratio``.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import enet_path
from threadpoolctl import threadpool_limits

_KKT_SLACK = 1e-3
"""A column outside the working set violates the KKT conditions when |X_j^T r| / n exceeds
alpha by more than this fraction."""
_MAX_ROUNDS = 200
_INITIAL_WORKING_SET = 32
_ADD_PER_ROUND = 16
_CHECK_INPUT = False


@dataclass
class LassoPath:
    """Coefficients of one fit along the alpha grid: ``coef`` (p, A) on the design's columns,
    ``intercept`` (A,), and how many KKT rounds it took."""

    alphas: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    rounds: int


@dataclass
class LassoCVResult:
    """Per trait: the chosen alpha, its CV mean squared error curve, and the refitted
    coefficients on the whole training set (``coef`` (p, m), ``intercept`` (m,); NaN for a
    trait with fewer than ``min_observed`` observations)."""

    alpha: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    cv_mse: list[np.ndarray | None] = field(default_factory=list)
    alphas: list[np.ndarray | None] = field(default_factory=list)
    at_grid_end: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    oof: np.ndarray | None = None
    """(n, m) out-of-fold predictions at the chosen alpha (each individual predicted by the fold
    fit that did not see it; NaN where unobserved)."""
    folds: list[np.ndarray] = field(default_factory=list)
    """Per trait, the CV fold of each of its observed rows (in row order)."""
    fold_coef: np.ndarray | None = None
    """(p, m) the mean of the K fold fits at the chosen alpha (a cross-validation committee);
    ``fold_intercept`` (m,) their mean intercept."""
    fold_intercept: np.ndarray | None = None

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n, m) predictions for the design rows ``x`` (same columns as the fit)."""
        return x @ self.coef + self.intercept[None, :]


def _design(x: np.ndarray) -> np.ndarray:
    """The design as float32 (0/1 genotypes are exact in it) or float64, never copied twice."""
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)


def alpha_grid(
    x: np.ndarray, y_c: np.ndarray, n_alphas: int, eps: float, *, rows: np.ndarray | None = None
) -> np.ndarray:
    """scikit-learn's grid: from ``alpha_max = max |X_c^T y_c| / n`` (all coefficients zero)
    down to ``eps * alpha_max``, log-spaced; ``y_c`` centred (then ``X^T y_c = X_c^T y_c``, so
    ``x`` may be centred or not). ``rows``: ``y_c`` belongs to those rows of ``x`` (no copy of
    them is made)."""
    if rows is None:
        a_max = float(np.abs(y_c @ x).max()) / max(len(y_c), 1)
    else:
        a_max = float(np.abs(_rows_t_dot(x, rows, y_c)).max()) / max(len(y_c), 1)
    a_max = max(a_max, np.finfo(float).tiny)
    return np.geomspace(a_max, a_max * eps, n_alphas)


_COL_BLOCK = 1024


def _rows_t_dot(x: np.ndarray, rows: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``x[rows].T @ v`` (float64, ``v`` 1-D) without copying ``x[rows]``: ``v`` is spread
    onto all rows (zeros elsewhere) and multiplied with blocks of columns."""
    full = np.zeros(x.shape[0])
    full[rows] = v
    out = np.empty(x.shape[1])
    for j in range(0, x.shape[1], _COL_BLOCK):
        out[j : j + _COL_BLOCK] = full @ x[:, j : j + _COL_BLOCK].astype(np.float64)
    return out


def _rows_mean(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Column means of ``x[rows]`` (float64), summed over blocks of rows (no full copy)."""
    total = np.zeros(x.shape[1])
    step = max(1, (1 << 22) // max(x.shape[1], 1))
    for i in range(0, len(rows), step):
        total += x[rows[i : i + step]].sum(axis=0, dtype=np.float64)
    return total / max(len(rows), 1)


class _PathProblem:
    """One response's data and the state of its path (working set, last coefficients), so the
    path can be solved alpha by alpha, each warm-started from the last.

    Only the working set's columns are ever centred (float64, with their Gram matrix); the KKT
    check uses the design as it came, in float32: for a residual ``r`` with ``sum(r) = 0``,
    ``(x - 1 mean^T)^T r = x^T r``, so no centred (n, p) copy is kept.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        rows: np.ndarray | None = None,
        x32: np.ndarray | None = None,
        l1_ratio: float = 1.0,
    ) -> None:
        self.l1_ratio = float(l1_ratio)
        # ``rows``: the problem's rows of ``x`` (a fold, the observed individuals), used in
        # place; the design itself is never copied (it is the largest object of a fit)
        self.x = x
        if x32 is None:
            x32 = x if x.dtype == np.float32 else x.astype(np.float32)
        self.x32 = x32
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)
        self.n = x.shape[0] if rows is None else len(self.rows)
        self.x_mean = x.mean(axis=0, dtype=np.float64) if rows is None else _rows_mean(x, self.rows)
        self.y_mean = float(y.mean())
        self.yc = y - self.y_mean
        order = np.argsort(-np.abs(self._xt(self.yc.astype(np.float32)[:, None])[:, 0]))
        self.ws = order[: min(_INITIAL_WORKING_SET, x.shape[1])]
        self.xw = self._centred(self.ws)
        self.gram = self.xw.T @ self.xw
        self.xty = self.xw.T @ self.yc  # on the working set
        self.coef = np.zeros(x.shape[1])
        self.rounds = 0

    def _xt(self, v: np.ndarray) -> np.ndarray:
        """``X^T v`` over the problem's rows in float32, (p, k) for ``v`` (n, k)."""
        if self.rows is None:
            return (v.T @ self.x32).T
        full = np.zeros((self.x32.shape[0], v.shape[1]), dtype=np.float32)
        full[self.rows] = v
        return (full.T @ self.x32).T

    def _centred(self, cols: np.ndarray) -> np.ndarray:
        if self.rows is None:
            return self.x[:, cols].astype(np.float64) - self.x_mean[cols]
        return self.x[self.rows[:, None], cols].astype(np.float64) - self.x_mean[cols]

    def _grow(self, add: np.ndarray) -> None:
        """Add columns to the working set; the Gram matrix grows by its new blocks only."""
        xa = self._centred(add)
        cross = self.xw.T @ xa
        self.gram = np.block([[self.gram, cross], [cross.T, xa.T @ xa]])
        self.xty = np.concatenate([self.xty, xa.T @ self.yc])
        self.ws = np.concatenate([self.ws, add])
        self.xw = np.concatenate([self.xw, xa], axis=1)

    def solve(self, alphas: np.ndarray, tol: float) -> np.ndarray:
        """Coefficients (p, len(alphas)) of the full problem at ``alphas`` (decreasing, below
        the previous segment's), warm-started from the previous segment's last solution."""
        n, p = self.n, self.x.shape[1]
        for _ in range(_MAX_ROUNDS):
            self.rounds += 1
            ws, xw = self.ws, self.xw
            with warnings.catch_warnings(), sklearn.config_context(skip_parameter_validation=True):
                warnings.simplefilter("ignore", ConvergenceWarning)
                _, coef_ws, _ = enet_path(
                    xw,
                    self.yc,
                    l1_ratio=self.l1_ratio,
                    alphas=alphas,
                    precompute=self.gram,
                    Xy=self.xty,
                    coef_init=self.coef[ws],
                    tol=tol,
                    max_iter=5000,
                    # the inputs are float64 and contiguous already (the Gram matrix and X^T y
                    # built here): skipping scikit-learn's validation also skips its copy of the
                    # working-set matrix, which the Gram solver does not read; same solution
                    check_input=_CHECK_INPUT,
                )
            resid = (self.yc[:, None] - xw @ coef_ws).astype(np.float32)
            corr = np.abs(self._xt(resid)) / n  # (p, A); float32 is ample for the check
            # the bar: alpha, or what the working set itself reaches (coordinate descent stops
            # at a tolerance, so an active column may sit a little above alpha)
            l1 = alphas * self.l1_ratio
            if self.l1_ratio == 1.0:
                bar = np.maximum(l1, corr[ws].max(axis=0)) * (1.0 + _KKT_SLACK)
            else:  # active columns carry the ridge part too: their correlation is no bar
                bar = l1 * (1.0 + 10 * _KKT_SLACK)
            corr[ws] = 0.0
            excess = (corr - bar[None, :]).max(axis=1)
            viol = np.flatnonzero(excess > 0)
            if viol.size == 0:
                break
            # a few at a time: the worst violators are usually all a segment needs, and a
            # linked neighbour of an entering marker stops violating once that marker is in
            n_add = max(_ADD_PER_ROUND, int((coef_ws[:, -1] != 0).sum()) // 2)
            self._grow(viol[np.argsort(-excess[viol])[:n_add]])
        coef = np.zeros((p, len(alphas)))
        coef[ws] = coef_ws
        self.coef = coef[:, -1].copy()
        return coef

    def intercept(self, coef: np.ndarray) -> np.ndarray:
        return self.y_mean - self.x_mean @ coef


def lasso_path_ws(
    x: np.ndarray,
    y: np.ndarray,
    alphas: np.ndarray,
    *,
    tol: float = 1e-4,
    rows: np.ndarray | None = None,
    x32: np.ndarray | None = None,
    l1_ratio: float = 1.0,
) -> LassoPath:
    """The LASSO path of one response by working sets (see the module docstring).

    Parameters
    ----------
    x
        (n, p) design; centred here (intercept fitted).
    y
        (n,) response.
    alphas
        Decreasing penalties.
    tol
        scikit-learn's coordinate-descent tolerance.
    rows, x32
        ``y`` belongs to these rows of ``x`` (used in place, not copied); ``x`` as float32 when
        the caller already has it.
    """
    prob = _PathProblem(
        _design(x), np.asarray(y, np.float64), rows=rows, x32=x32, l1_ratio=l1_ratio
    )
    coef = prob.solve(np.asarray(alphas, np.float64), tol)
    return LassoPath(
        alphas=np.asarray(alphas), coef=coef, intercept=prob.intercept(coef), rounds=prob.rounds
    )


def lasso_cv(
    x: np.ndarray,
    y: np.ndarray,
    *,
    rng: np.random.Generator,
    n_folds: int = 5,
    n_alphas: int = 40,
    eps: float = 1e-3,
    min_observed: int = 10,
    patience: int = 3,
    tol: float = 1e-4,
    n_jobs: int | None = None,
    folds: list[np.ndarray] | None = None,
    l1_ratio: float = 1.0,
) -> LassoCVResult:
    """Per-column LASSO of ``y`` (n, m; NaN = missing) on ``x`` (n, p), alpha by K-fold CV.

    Each trait uses its observed rows; its grid is scikit-learn's (``n_alphas`` values down to
    ``eps * alpha_max`` of the trait's training rows), its folds a seeded partition of those rows
    (drawn from ``rng`` for every trait before any fit, so the result does not depend on
    ``n_jobs``), its alpha the grid value with the lowest mean held-out MSE (as ``LassoCV``),
    and the reported fit the whole-training-set solution at that alpha. ``folds`` (per trait,
    the fold of each observed row) replaces the drawn folds, e.g. to compare two designs on the
    same folds.

    The folds walk down the grid together, each fit warm-started from the previous alpha; once
    the mean held-out MSE has not improved for ``patience`` grid values the walk stops
    (glmnet-style early exit: the low-alpha end, where hundreds of linked markers enter, is not
    solved unless the CV curve is still falling there). ``at_grid_end`` flags traits whose best
    alpha is the grid's smallest. Traits are fitted on ``n_jobs`` threads (default: the CPU
    count; the coordinate descent releases the interpreter lock).

    ``l1_ratio`` < 1 fits scikit-learn's elastic net instead (``ElasticNet``'s objective, the
    grid divided by ``l1_ratio``); ``fold_coef`` / ``fold_intercept`` hold the mean of the K
    fold fits at the chosen alpha. Both were measured on yeast (``bench/bench_linear_levers.py``)
    and gave no gain over the plain LASSO fit, which stays the baseline and the warm start.
    """
    x = _design(x)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    n, p = x.shape
    m = y.shape[1]
    observed = [np.flatnonzero(np.isfinite(y[:, k])) for k in range(m)]
    drawn = [rng.permutation(np.arange(obs.size) % n_folds) for obs in observed]
    folds = drawn if folds is None else [np.asarray(f) for f in folds]

    x32 = x if x.dtype == np.float32 else x.astype(np.float32)

    # Folds and observed rows are index sets into the one design: no per-trait or per-fold
    # copy of it is made (each would be as large as the design).
    def fit(k: int):
        obs = observed[k]
        if obs.size < max(min_observed, n_folds):
            return None
        yk, fold = y[obs, k], folds[k]
        grid = alpha_grid(x, yk - yk.mean(), n_alphas, eps, rows=obs) / l1_ratio
        probs = [
            _PathProblem(x, yk[fold != f], rows=obs[fold != f], x32=x32, l1_ratio=l1_ratio)
            for f in range(n_folds)
        ]
        held_out = [obs[fold == f] for f in range(n_folds)]
        sse: list[float] = []
        oofs: list[np.ndarray] = []
        members: list[np.ndarray] = []
        for a in grid:
            total = 0.0
            oof = np.empty(obs.size)
            member = np.zeros(p + 1)
            for f, prob in enumerate(probs):
                c = prob.solve(np.array([a]), tol)
                te = fold == f
                nz = np.flatnonzero(c[:, 0])
                member[nz] += c[nz, 0] / n_folds
                member[p] += prob.intercept(c)[0] / n_folds
                oof[te] = x[held_out[f][:, None], nz] @ c[nz, 0] + prob.intercept(c)[0]
                total += float(((oof[te] - yk[te]) ** 2).sum())
            sse.append(total)
            oofs.append(oof)
            members.append(member)
            if len(sse) - 1 - int(np.argmin(sse)) >= patience:
                break
        del probs
        mse = np.asarray(sse) / obs.size
        best = int(np.argmin(mse))
        full = lasso_path_ws(x, yk, grid[: best + 1], tol=tol, rows=obs, x32=x32, l1_ratio=l1_ratio)
        out = full.coef[:, best], full.intercept[best], grid[best], best, mse, grid[: len(mse)]
        return (*out, oofs[best], members[best])

    workers = n_jobs or os.cpu_count() or 1
    # one BLAS thread per worker: the workers already fill the cores
    with threadpool_limits(limits=1 if workers > 1 else None, user_api="blas"):
        with ThreadPoolExecutor(max_workers=workers) as pool:
            fits = list(pool.map(fit, range(m)))
    coef = np.full((p, m), np.nan)
    intercept = np.full(m, np.nan)
    alpha = np.full(m, np.nan)
    at_end = np.zeros(m, dtype=bool)
    cv_curves: list[np.ndarray | None] = []
    grids: list[np.ndarray | None] = []
    oof_all = np.full((n, m), np.nan)
    fold_coef = np.full((p, m), np.nan)
    fold_intercept = np.full(m, np.nan)
    for k, res in enumerate(fits):
        if res is None:
            cv_curves.append(None)
            grids.append(None)
            continue
        coef[:, k], intercept[k], alpha[k], best, mse, grid, oof_all[observed[k], k], mem = res
        fold_coef[:, k], fold_intercept[k] = mem[:p], mem[p]
        at_end[k] = best == n_alphas - 1
        cv_curves.append(mse)
        grids.append(grid)
    return LassoCVResult(
        alpha=alpha,
        coef=coef,
        intercept=intercept,
        cv_mse=cv_curves,
        alphas=grids,
        at_grid_end=at_end,
        oof=oof_all,
        folds=folds,
        fold_coef=fold_coef,
        fold_intercept=fold_intercept,
    )
