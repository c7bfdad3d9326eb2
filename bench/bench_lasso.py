"""The LASSO baseline: our working-set CV fit of every yeast trait against scikit-learn's
``LassoCV`` on the same design, folds and alpha grid (a few traits, timed in the same run).

Design: the dummy-coded one-hot genotypes of the training individuals of the default split
(seed 47: 806 of 1,008 segregants, 11,623 columns). Ours: ``fit_lasso`` (5 folds, 40 alphas
down to 1e-3 alpha_max, early exit 3 grid values past the CV minimum, threads = torch's).
scikit-learn: ``LassoCV(alphas=<our grid>, cv=<our folds>)``, whole grid, its default tolerance,
``n_jobs`` = 2.

    .venv/bin/python bench/bench_lasso.py [--sklearn-traits 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.linear_model import LassoCV

from gpatlas_core.io import load_yeast_sample
from gpatlas_core.tl._baselines import LASSO_SEED, dummy_columns, fit_lasso
from gpatlas_core.tl._lasso import alpha_grid
from gpatlas_core.train import make_split


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sklearn-traits", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(2)
    ds = load_yeast_sample()
    split = make_split(ds.samples, test_fraction=0.2, validation_fraction=0.0, seed=47)
    tr = np.flatnonzero(split["set"].to_numpy() == "train")
    te = np.flatnonzero(split["set"].to_numpy() == "test")
    t0 = time.perf_counter()
    fit = fit_lasso(ds, tr)
    ours_s = time.perf_counter() - t0
    cols = dummy_columns(ds)
    x = ds.onehot()[:, cols].astype(np.float64)
    y = ds.phenotypes

    def r2(pred: np.ndarray, k: int) -> float:
        ok = np.isfinite(y[te, k])
        obs = y[te, k][ok]
        return 1 - ((pred[ok] - obs) ** 2).sum() / ((obs - obs.mean()) ** 2).sum()

    ours_r2 = [r2(x[te] @ fit.coef[:, k] + fit.intercept[k], k) for k in range(ds.n_traits)]
    print(
        f"ours: {ds.n_traits} traits x {len(cols):,} columns x {tr.size} individuals in "
        f"{ours_s:.1f} s; median test R^2 {np.median(ours_r2):.3f}; median non-zero "
        f"coefficients {np.median((fit.coef != 0).sum(0)):.0f}; best alpha at the grid's end "
        f"for {int(fit.at_grid_end.sum())} traits"
    )
    print("| trait | ours alpha | sklearn alpha | ours test R^2 | sklearn test R^2 | sklearn s |")
    print("| --- | --- | --- | --- | --- | --- |")
    rng = np.random.default_rng(LASSO_SEED)
    obs_rows = [np.flatnonzero(np.isfinite(y[tr, k])) for k in range(ds.n_traits)]
    folds = [rng.permutation(np.arange(o.size) % 5) for o in obs_rows]
    sk_s = []
    for k in range(args.sklearn_traits):
        rows = tr[obs_rows[k]]
        xk, yk = x[rows], y[rows, k]
        grid = alpha_grid(xk - xk.mean(0), yk - yk.mean(), 40, 1e-3)
        cv = [(np.flatnonzero(folds[k] != f), np.flatnonzero(folds[k] == f)) for f in range(5)]
        t0 = time.perf_counter()
        ref = LassoCV(alphas=grid, cv=cv, n_jobs=2).fit(xk, yk)
        sk_s.append(time.perf_counter() - t0)
        print(
            f"| {ds.traits[k]} | {fit.alpha[k]:.4g} | {ref.alpha_:.4g} | {ours_r2[k]:.4f} | "
            f"{r2(ref.predict(x[te]), k):.4f} | {sk_s[-1]:.1f} |",
            flush=True,
        )
    if not sk_s:
        return
    per_trait = float(np.mean(sk_s))
    print(
        f"scikit-learn LassoCV: {per_trait:.1f} s per trait -> ~{per_trait * ds.n_traits:.0f} s "
        f"for all {ds.n_traits} traits; ours {ours_s:.1f} s "
        f"({per_trait * ds.n_traits / ours_s:.1f}x)"
    )


if __name__ == "__main__":
    main()
