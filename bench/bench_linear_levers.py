"""Linear-stage levers on the yeast sample, each against the plain per-trait LASSO on the same
split and the same CV folds (median per-trait test R^2, paired differences).

- ``committee``: the mean of the K fold fits at the CV-chosen alpha instead of the refit;
- ``average``: the mean of the refit and the committee;
- ``enet``: elastic net, ``l1_ratio`` 0.5 (the grouping effect keeps linked markers together);
- ``multi-trait``: a second LASSO whose columns are scaled by ``(1 + c_j)^gamma`` (normalised to
  mean 1), ``c_j`` = how many traits' first LASSO selected marker j, summed over the ``w``
  markers on each side (markers are in genome order): markers that matter for other traits,
  or sit next to ones that do, are penalised less; and the mean of that fit and the plain one
  (its support is the union of both, so each trait keeps the markers its own fit chose).

The split is the one ``train`` makes for the seed (20% test, 10% of the rest validation); the
fits use the training individuals only. 2 threads.

    .venv/bin/python bench/bench_linear_levers.py [--seeds 47 48 49] [--enet] [--multi 0.5:0 0.5:5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpatlas_core.io import load_yeast_sample
from gpatlas_core.tl._baselines import LASSO_SEED, dummy_columns
from gpatlas_core.tl._lasso import lasso_cv
from gpatlas_core.train._new_run import make_split


def r2(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    out = []
    for k in range(y.shape[1]):
        ok = np.isfinite(y[:, k])
        yy, pp = y[ok, k], pred[ok, k]
        out.append(1 - ((yy - pp) ** 2).sum() / ((yy - yy.mean()) ** 2).sum())
    return np.array(out)


def row(seed: int, name: str, r: np.ndarray, base: np.ndarray, nnz: float, secs: float) -> None:
    d = r - base
    print(
        f"| {seed} | {name} | {np.median(r):.4f} | {np.median(d):+.4f} | {d.mean():+.4f} | "
        f"{(d > 0).sum()} of {len(d)} | {nnz:.0f} | {secs:.0f} |",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", nargs="+", type=int, default=[47, 48, 49])
    ap.add_argument("--enet", action="store_true", help="also the elastic net (l1_ratio 0.5)")
    ap.add_argument("--multi", nargs="*", default=["0.5:0", "0.5:5", "1:5"], metavar="GAMMA:W")
    args = ap.parse_args()
    ds = load_yeast_sample()
    cols = dummy_columns(ds)
    x = ds.onehot(np.arange(ds.n_samples))[:, cols].astype(np.float32)
    y = ds.phenotypes.astype(np.float64)
    print(
        "| seed | model | median R^2 | median paired diff | mean diff | traits better | "
        "median nnz | s |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    for seed in args.seeds:
        sets = make_split(ds.samples, test_fraction=0.2, validation_fraction=0.1, seed=seed)
        sets = sets["set"].to_numpy()
        tr, te = np.flatnonzero(sets == "train"), np.flatnonzero(sets == "test")
        t0 = time.perf_counter()
        f = lasso_cv(x[tr], y[tr], rng=np.random.default_rng(LASSO_SEED), n_jobs=2)
        secs = time.perf_counter() - t0
        full = x[te] @ f.coef + f.intercept
        com = x[te] @ f.fold_coef + f.fold_intercept
        base = r2(y[te], full)
        nnz = float(np.median((f.coef != 0).sum(0)))
        row(seed, "LASSO (refit at the CV alpha)", base, base, nnz, secs)
        row(seed, "CV committee", r2(y[te], com), base, nnz, 0)
        row(seed, "average of the two", r2(y[te], 0.5 * (full + com)), base, nnz, 0)
        if args.enet:
            t0 = time.perf_counter()
            g = lasso_cv(
                x[tr], y[tr], rng=np.random.default_rng(LASSO_SEED), n_jobs=2, l1_ratio=0.5
            )
            secs = time.perf_counter() - t0
            nnz_g = float(np.median((g.coef != 0).sum(0)))
            row(seed, "elastic net 0.5", r2(y[te], x[te] @ g.coef + g.intercept), base, nnz_g, secs)
        count = (f.coef != 0).sum(1).astype(np.float64)  # traits selecting each column
        for spec in args.multi:
            gamma, w = float(spec.split(":")[0]), int(spec.split(":")[1])
            c = np.convolve(count, np.ones(2 * w + 1), mode="same") if w else count
            s = (1.0 + c) ** gamma
            s = (s / s.mean()).astype(np.float32)
            t0 = time.perf_counter()
            g = lasso_cv(x[tr] * s, y[tr], rng=np.random.default_rng(LASSO_SEED), n_jobs=2)
            secs = time.perf_counter() - t0
            nnz_g = float(np.median((g.coef != 0).sum(0)))
            pred = (x[te] * s) @ g.coef + g.intercept
            row(seed, f"multi-trait gamma {gamma:g}, w {w}", r2(y[te], pred), base, nnz_g, secs)
            union = float(np.median(((f.coef != 0) | (g.coef != 0)).sum(0)))
            mean_pred = 0.5 * (full + pred)
            row(
                seed,
                f"mean of LASSO and multi-trait {gamma:g}, w {w}",
                r2(y[te], mean_pred),
                base,
                union,
                0,
            )


if __name__ == "__main__":
    main()
