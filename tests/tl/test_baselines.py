"""Linear baselines: the dual-form ridge against scikit-learn, QTL peak markers, the QTL model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from gpatlas_core.io import Dataset
from gpatlas_core.tl._baselines import (
    _alpha_grid,
    qtl_linear_baseline,
    qtl_peak_loci,
    ridge_baseline,
)


def _brute_loo(x: np.ndarray, y: np.ndarray, alpha: float) -> float:
    errs = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        model = Ridge(alpha=alpha).fit(x[keep], y[keep])
        errs.append((model.predict(x[i : i + 1])[0] - y[i]) ** 2)
    return float(np.mean(errs))


def test_ridge_matches_sklearn_and_loo(tiny_dataset: Dataset) -> None:
    ph = tiny_dataset.phenotypes.copy()
    ph[[1, 5, 9], 0] = np.nan
    tiny_dataset.phenotypes = ph
    train = np.arange(40)
    res = ridge_baseline(tiny_dataset, train)
    x = tiny_dataset.onehot().astype(np.float64)
    for k, trait in enumerate(tiny_dataset.traits):
        alpha = res.params["alpha"][trait]
        ok = train[np.isfinite(ph[train, k])]
        ref = Ridge(alpha=alpha).fit(x[ok], ph[ok, k]).predict(x)
        np.testing.assert_allclose(res.predictions[:, k], ref, rtol=1e-4, atol=1e-3)
    # the chosen alpha minimises brute-force leave-one-out error on the grid (trait 1)
    ok = train[np.isfinite(ph[train, 1])]
    k_oo = x[ok] @ x[ok].T
    kc = k_oo - k_oo.mean(0) - k_oo.mean(1)[:, None] + k_oo.mean()
    grid = _alpha_grid(np.clip(np.linalg.eigvalsh(kc), 0, None).mean())[::5]
    loo = [_brute_loo(x[ok], ph[ok, 1], a) for a in grid]
    res2 = ridge_baseline(tiny_dataset, train, alphas=grid)
    assert res2.params["alpha"][tiny_dataset.traits[1]] == pytest.approx(grid[int(np.argmin(loo))])


def test_qtl_linear(tiny_dataset: Dataset) -> None:
    ds = tiny_dataset
    mk = ds.markers
    chrom = str(mk["chromosome"].iloc[3])
    pos = int(mk["position"].iloc[3])
    ds.known_qtl = pd.DataFrame(
        {
            "trait": [ds.traits[0], ds.traits[0], ds.traits[2].upper()],
            "chromosome": [chrom, chrom, str(mk["chromosome"].iloc[10])],
            "position": [pos + 1, pos - 2, int(mk["position"].iloc[10])],
            "ci_left": [0, 0, 0],
            "ci_right": [0, 0, 0],
        }
    )
    loci = qtl_peak_loci(ds)
    assert loci == {ds.traits[0]: [3], ds.traits[2]: [10]}
    res = qtl_linear_baseline(ds, np.arange(40))
    assert np.isnan(res.predictions[:, 1]).all() and np.isfinite(res.predictions[:, 0]).all()
    # the fit equals least squares on the locus' dummy columns
    cols = np.flatnonzero(ds.allele_columns["locus"].to_numpy() == 3)[1:]
    design = np.column_stack([np.ones(ds.n_samples), ds.onehot()[:, cols]])
    beta = np.linalg.lstsq(design[:40], ds.phenotypes[:40, 0], rcond=None)[0]
    np.testing.assert_allclose(res.predictions[:, 0], design @ beta, rtol=1e-4, atol=1e-4)
    ds.known_qtl = None
    assert qtl_linear_baseline(ds, np.arange(40)) is None


def test_baselines_in_blocks_equal_the_whole_one_hot(tiny_dataset: Dataset, monkeypatch) -> None:
    """The Gram matrices, the ridge coefficients and the LASSO design are built from one-hot
    blocks of a few loci (never all individuals' one-hot at once): the same numbers as from
    the whole matrix, computed here as the oracle."""
    from gpatlas_core.tl import _baselines

    ds = tiny_dataset
    ph = ds.phenotypes.copy()
    ph[[2, 7], 1] = np.nan
    ds.phenotypes = ph
    train = np.arange(0, 50, 2)[:20]
    x = ds.onehot()
    whole = (x @ x[train].T).astype(np.float64)
    ridge = _baselines.ridge_baseline(ds, train)
    fit = _baselines.fit_ridge(ds, train)
    lasso = _baselines.fit_lasso(ds, train)
    monkeypatch.setattr(_baselines, "_BLOCK_BYTES", 4 * 50 * 3 * 3)  # ~3 loci per block
    assert len(list(_baselines._locus_blocks(ds, 50))) > 10
    assert np.array_equal(_baselines._gram(ds, train), whole)
    assert np.array_equal(_baselines._gram(ds, train, rows=train), whole[train])
    assert np.array_equal(_baselines.ridge_baseline(ds, train).predictions, ridge.predictions)
    blocked = _baselines.fit_ridge(ds, train)
    np.testing.assert_allclose(blocked.coef, fit.coef, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(blocked.predict(x), ridge.predictions, rtol=1e-4, atol=1e-4)
    again = _baselines.fit_lasso(ds, train)
    assert np.array_equal(again.coef, lasso.coef, equal_nan=True)
