"""Interaction terms of the warm start: pair screening, the second LASSO, GQ's pair layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from gpatlas_core.config import preset
from gpatlas_core.io import DataError, Dataset
from gpatlas_core.module import PairLinear
from gpatlas_core.sim import SimulationConfig, simulate
from gpatlas_core.tl import compute_importance
from gpatlas_core.tl._baselines import dummy_columns, fit_lasso
from gpatlas_core.tl._pairs import fit_pairs, pair_columns, top_loci_per_trait
from gpatlas_core.train import train


def planted(n: int = 600, seed: int = 0) -> Dataset:
    """Biallelic, 30 loci; trait y0 = 2 g3 + 2 g7 + 6 g3 g7 + noise, y1 = 3 g11 + noise."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 2, size=(n, 30)).astype(np.int8)
    g = codes.astype(float)
    y0 = 2 * g[:, 3] + 2 * g[:, 7] + 6 * g[:, 3] * g[:, 7] + rng.normal(0, 0.5, n)
    y1 = 3 * g[:, 11] + rng.normal(0, 0.5, n)
    markers = pd.DataFrame(
        {
            "marker": [f"m{j}" for j in range(30)],
            "chromosome": "1",
            "position": np.arange(30) * 1000,
        }
    )
    return Dataset(
        samples=np.array([f"s{i}" for i in range(n)]),
        genotype_codes=codes,
        alleles=[("0", "1")] * 30,
        markers=markers,
        traits=["y0", "y1"],
        phenotypes=np.stack([y0, y1], axis=1).astype(np.float32),
        name="planted",
    )


def r2(y: np.ndarray, p: np.ndarray) -> float:
    return float(1 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def test_pair_columns_are_dummy_products_of_every_locus_pair() -> None:
    ds = simulate(
        SimulationConfig(n_individuals=30, n_loci=6, n_alleles=3, n_traits=2, causal_per_trait=2),
        rng=np.random.default_rng(0),
    )
    cols = pair_columns(ds, np.array([4, 1, 2]))
    assert cols.shape == (3 * 2 * 2, 2)  # 3 locus pairs x (3 - 1)^2 dummy products
    locus = ds.allele_columns["locus"].to_numpy()
    dummies = set(dummy_columns(ds).tolist())
    assert all(a in dummies and b in dummies for a, b in cols)
    assert {frozenset((locus[a], locus[b])) for a, b in cols} == {
        frozenset(p) for p in ((4, 1), (4, 2), (1, 2))
    }


def test_second_lasso_finds_the_planted_interaction_only() -> None:
    ds = planted()
    rows = np.arange(480)
    lasso = fit_lasso(ds, rows)
    top = top_loci_per_trait(ds, lasso, 10)
    assert {3, 7} <= set(top[0].tolist())
    fit = fit_pairs(ds, rows, lasso, top_loci=10, n_jobs=1)
    col3, col7 = (
        ds.allele_columns.index[ds.allele_columns["marker"] == m][1] for m in ("m3", "m7")
    )
    i = next(k for k, (a, b) in enumerate(fit.pairs) if {a, b} == {col3, col7})
    assert fit.coef[i, 0] > 3.0  # most of the planted 6 (the rest is in the additive part)
    assert np.abs(fit.coef[:, 1]).sum() < 0.5  # y1 is additive: (almost) no pair terms
    x = ds.onehot()
    test = np.arange(480, 600)
    add = x[:, dummy_columns(ds)] @ lasso.coef + lasso.intercept
    both = add + fit.predict(x)
    y = ds.phenotypes
    assert r2(y[test, 0], both[test, 0]) > r2(y[test, 0], add[test, 0]) + 0.05


def test_warm_start_with_pairs_is_p_of_q_of_the_two_lassos() -> None:
    ds = planted(seed=1)
    cfg = preset(
        "studio",
        device="cpu",
        epochs_phenotype=20,
        epochs_genotype=0,
        interaction_loci=10,
        lasso_multitrait=0.0,
    )
    run = train(ds, cfg)
    first = run.gq[0]
    assert isinstance(first, PairLinear) and first.n_pairs > 0
    assert run.info["warm_start"]["interaction_pairs"] == first.n_pairs
    rows = run.train_rows(ds)
    lasso = fit_lasso(ds, rows)
    fit = fit_pairs(ds, rows, lasso, top_loci=10)
    x = ds.onehot()
    expected_raw = x[:, dummy_columns(ds)] @ lasso.coef + lasso.intercept + fit.predict(x)
    with torch.no_grad():
        want = run.unscale(
            run.p(run.q(torch.from_numpy(run.scale(expected_raw.astype(np.float32))))).numpy()
        )
    got = run.predict_from_genotypes(torch.from_numpy(x))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-3)


def test_interaction_terms_beat_the_lasso_on_an_interacting_simulation(one_thread) -> None:
    ds = simulate(
        SimulationConfig(
            n_individuals=600, n_loci=100, n_alleles=2, n_traits=3, causal_per_trait=6,
            p_interaction=0.6,
        ),
        rng=np.random.default_rng(5),
    )  # fmt: skip
    cfg = preset("quick", device="cpu", interaction_loci=12)
    run = train(ds, cfg)
    m = run.metrics
    assert m["genotype_to_phenotype"]["median"]["r2"] > m["lasso"]["median"]["r2"] + 0.05
    # exact ablation through the pair layer still runs and finds the causal alleles first
    imp = compute_importance(run, ds, device="cpu", rng=0)
    causal = set(ds.truth.causal["marker"].astype(str))
    top = imp.loci.sort_values("importance", ascending=False)["marker"].astype(str).head(10)
    assert sum(mk in causal for mk in top) >= 8


def test_interaction_settings_are_checked() -> None:
    ds = planted(n=40)
    with pytest.raises(DataError, match="interaction_loci needs the LASSO warm start"):
        train(ds, preset("paper-simulated", device="cpu", interaction_loci=5))
    with pytest.raises(DataError, match="interaction_loci must be"):
        train(ds, preset("studio", device="cpu", interaction_loci=-1))


def test_warm_start_note_names_the_interaction_terms() -> None:
    from gpatlas_core.tl import warm_start_note

    assert warm_start_note({}) is None
    additive = warm_start_note({"warm_start": {"lasso_selected_markers": 1234}})
    assert "1,234 markers" in additive and "interaction" not in additive
    both = warm_start_note({"warm_start": {"lasso_selected_markers": 5, "interaction_pairs": 42}})
    assert "42 pairwise interaction terms" in both
