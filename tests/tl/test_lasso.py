"""The LASSO baseline (working sets + KKT checks on scikit-learn's solver) and the LASSO warm start
of the genotype tier."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.linear_model import ElasticNet, Lasso, LassoCV

from gpatlas_core.config import preset
from gpatlas_core.io import DataError
from gpatlas_core.sim import SimulationConfig, simulate
from gpatlas_core.tl import causal_allele_roc, compute_importance, lasso_cv, verdict
from gpatlas_core.tl._baselines import dummy_columns, fit_lasso
from gpatlas_core.tl._lasso import alpha_grid, lasso_path_ws
from gpatlas_core.train import train


def _linked_design(rng: np.random.Generator, n: int = 150, p: int = 400) -> np.ndarray:
    """Binary columns in blocks of strongly correlated neighbours (like linked markers)."""
    base = rng.integers(0, 2, (n, p // 4))
    x = np.repeat(base, 4, axis=1)
    flips = rng.random(x.shape) < 0.05
    return np.where(flips, 1 - x, x).astype(np.float64)


def test_path_equals_scikit_learn_on_all_columns() -> None:
    rng = np.random.default_rng(3)
    x = _linked_design(rng)
    beta = np.zeros(x.shape[1])
    beta[[5, 40, 41, 200, 333]] = [1.0, -2.0, 0.7, 1.5, -0.8]
    y = x @ beta + rng.normal(size=x.shape[0])
    grid = alpha_grid(x - x.mean(0), y - y.mean(), 15, 1e-2)
    path = lasso_path_ws(x, y, grid, tol=1e-10)
    assert path.rounds >= 2  # the working set had to grow: the KKT check did its job
    for i in (0, 4, 9, 14):
        ref = Lasso(alpha=grid[i], tol=1e-12, max_iter=200_000).fit(x, y)
        np.testing.assert_allclose(path.coef[:, i], ref.coef_, atol=1e-6)
        assert path.intercept[i] == pytest.approx(ref.intercept_, abs=1e-6)


def test_cv_choice_equals_lassocv_with_the_same_folds() -> None:
    rng = np.random.default_rng(4)
    x = _linked_design(rng, n=200, p=200)
    beta = np.zeros(x.shape[1])
    beta[[3, 90, 150]] = [2.0, -1.5, 1.0]
    y = (x @ beta + rng.normal(size=x.shape[0]))[:, None]
    ours = lasso_cv(
        x, y, rng=np.random.default_rng(0), n_alphas=25, patience=100, tol=1e-10, n_jobs=1
    )
    fold = np.random.default_rng(0).permutation(np.arange(200) % 5)
    cv = [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(5)]
    grid = alpha_grid(x - x.mean(0), y[:, 0] - y[:, 0].mean(), 25, 1e-3)
    ref = LassoCV(alphas=grid, cv=cv, tol=1e-10, max_iter=200_000).fit(x, y[:, 0])
    assert ours.alpha[0] == pytest.approx(ref.alpha_)
    # the CV curve down to a few steps past the minimum (further down, where p ~ n and the
    # solution is barely unique, both solvers stop at their tolerances)
    k = int(np.argmin(ours.cv_mse[0])) + 4
    np.testing.assert_allclose(ours.cv_mse[0][:k], ref.mse_path_.mean(axis=1)[:k], rtol=1e-4)
    np.testing.assert_allclose(ours.coef[:, 0], ref.coef_, atol=1e-4)
    # out-of-fold predictions: each individual by the fit that did not see it
    assert np.isfinite(ours.oof).all()


def test_elastic_net_path_equals_scikit_learn() -> None:
    rng = np.random.default_rng(5)
    x = _linked_design(rng)
    beta = np.zeros(x.shape[1])
    beta[[7, 8, 120, 300]] = [1.2, 1.0, -1.5, 0.9]
    y = x @ beta + rng.normal(size=x.shape[0])
    grid = alpha_grid(x - x.mean(0), y - y.mean(), 12, 1e-2) / 0.5
    path = lasso_path_ws(x, y, grid, tol=1e-10, l1_ratio=0.5)
    for i in (0, 5, 11):
        ref = ElasticNet(alpha=grid[i], l1_ratio=0.5, tol=1e-12, max_iter=200_000).fit(x, y)
        np.testing.assert_allclose(path.coef[:, i], ref.coef_, atol=1e-6)
        assert path.intercept[i] == pytest.approx(ref.intercept_, abs=1e-6)


def test_cv_committee_is_the_mean_of_the_fold_fits() -> None:
    rng = np.random.default_rng(6)
    x = _linked_design(rng, n=120, p=80)
    beta = np.zeros(x.shape[1])
    beta[[2, 50]] = [1.5, -1.0]
    y = (x @ beta + rng.normal(size=x.shape[0]))[:, None]
    fit = lasso_cv(x, y, rng=np.random.default_rng(0), n_alphas=15, tol=1e-10, n_jobs=1)
    fold = fit.folds[0]
    members = []
    for f in range(5):
        keep = fold != f
        ref = Lasso(alpha=fit.alpha[0], tol=1e-12, max_iter=200_000).fit(x[keep], y[keep, 0])
        members.append(np.append(ref.coef_, ref.intercept_))
    mean = np.mean(members, axis=0)
    np.testing.assert_allclose(fit.fold_coef[:, 0], mean[:-1], atol=1e-6)
    assert fit.fold_intercept[0] == pytest.approx(mean[-1], abs=1e-6)
    assert not np.allclose(fit.fold_coef[:, 0], fit.coef[:, 0])  # a committee, not the full fit


def test_missing_cells_and_too_few_observations() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(0, 2, (60, 30)).astype(float)
    y = np.c_[x[:, 0] * 2 + rng.normal(size=60), np.full(60, np.nan)]
    y[:10, 0] = np.nan
    fit = lasso_cv(x, y, rng=np.random.default_rng(0), n_jobs=2)
    assert np.isfinite(fit.alpha[0]) and np.isnan(fit.alpha[1])
    assert np.isnan(fit.oof[:10, 0]).all() and np.isfinite(fit.oof[10:, 0]).all()
    assert fit.coef[0, 0] > 1.0  # the one real effect is found


@pytest.fixture
def sparse_sim():
    """A small sparse simulation with interactions: 400 individuals x 200 loci x 4 traits."""
    cfg = SimulationConfig(
        n_individuals=400, n_loci=200, n_alleles=2, n_traits=4, causal_per_trait=4
    )
    return simulate(cfg, rng=np.random.default_rng(11))


def _studio(**over):
    return preset("studio", **{"device": "cpu", "epochs_phenotype": 40, **over})


def test_warm_start_is_p_of_q_of_lasso(sparse_sim, one_thread) -> None:
    """With no fine-tuning epoch, G->P is exactly the decoder applied to Q of the LASSO's
    predictions (which are also the run's LASSO baseline)."""
    run = train(sparse_sim, _studio(epochs_genotype=0, interaction_loci=0, lasso_multitrait=0.0))
    pred = run.predictions
    lasso = pred.pivot(index="sample", columns="trait", values="lasso")
    lasso = lasso.loc[np.asarray(sparse_sim.samples).astype(str), list(run.traits)].to_numpy()
    with torch.no_grad():
        expected = run.unscale(run.p(run.q(torch.from_numpy(run.scale(lasso)))).numpy())
    ours = pred.pivot(index="sample", columns="trait", values="genotype_to_phenotype")
    ours = ours.loc[np.asarray(sparse_sim.samples).astype(str), list(run.traits)].to_numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4)


def test_default_recovers_causal_alleles_and_beats_ridge(sparse_sim, one_thread) -> None:
    run = train(sparse_sim, _studio())
    m = run.metrics
    assert m["genotype_to_phenotype"]["median"]["r2"] > m["ridge"]["median"]["r2"] + 0.05
    # fine-tuning stays on the markers some trait's warm-start LASSO selected (the plain fit's
    # and its multi-trait refit's, which the default blends): the others keep zero weights
    from gpatlas_core.tl._baselines import fit_lasso_multitrait

    cfg = run.config.train
    rows = run.train_rows(sparse_sim)
    fit = fit_lasso(sparse_sim, rows)
    multi = fit_lasso_multitrait(
        sparse_sim, rows, fit, gamma=cfg.lasso_multitrait, window=cfg.lasso_multitrait_window
    )
    chosen = ((fit.coef != 0) | (multi.coef != 0)).any(axis=1)
    locus = sparse_sim.allele_columns["locus"].to_numpy()
    selected = np.unique(locus[dummy_columns(sparse_sim)][chosen])
    support = np.isin(locus, selected)  # every allele column of a selected locus
    w = run.gq[0].weight.detach().numpy()
    assert (w[:, ~support] == 0).all() and (w[:, support] != 0).any()
    imp = compute_importance(run, sparse_sim, device="cpu", rng=0)
    roc = causal_allele_roc(imp.alleles, sparse_sim.truth)
    assert roc.auc > 0.9
    assert "G-P Atlas" in verdict(m, run.traits)


def test_warm_start_needs_matching_hidden_sizes(sparse_sim) -> None:
    cfg = _studio()
    cfg.model = dataclasses.replace(cfg.model, ge_hidden=64)
    with pytest.raises(DataError, match="ge_hidden must equal e_hidden"):
        train(sparse_sim, cfg)


def test_verdict_names_the_winner() -> None:
    def entry(r2: dict) -> dict:
        return {"per_trait": {"r2": r2}, "median": {"r2": float(np.median(list(r2.values())))}}

    traits = ["a", "b", "c"]
    m = {
        "genotype_to_phenotype": entry({"a": 0.5, "b": 0.2, "c": 0.4}),
        "ridge": entry({"a": 0.3, "b": 0.3, "c": 0.3}),
        "lasso": entry({"a": 0.6, "b": 0.5, "c": 0.45}),
    }
    text = verdict(m, traits)
    assert text.startswith("LASSO predicts best, 0.100 above G-P Atlas")
    assert "better on 0 of 3 traits" in text
    m["lasso"] = entry({"a": 0.1, "b": 0.1, "c": 0.1})
    assert verdict(m, traits).startswith("G-P Atlas predicts best, 0.100 above ridge")


def test_stop_and_resume_inside_the_fine_tuning(sparse_sim, tmp_path, one_thread) -> None:
    """A warm-started run stopped inside tier 2 and resumed from its folder ends with the same
    genotype encoder as an uninterrupted run (support, best epoch and optimiser state kept)."""
    cfg = _studio(epochs_phenotype=3, epochs_genotype=4, early_stopping_patience=0)
    full = train(sparse_sim, cfg, baselines=False)
    n_batches = -(-int((full.split["set"] == "train").sum()) // cfg.train.batch_size)
    calls = {"n": 0}

    def stop() -> bool:  # inside the second fine-tuning epoch
        calls["n"] += 1
        return calls["n"] >= 3 * n_batches + n_batches + n_batches // 2

    part = train(sparse_sim, cfg, should_stop=stop, checkpoint_dir=tmp_path, baselines=False)
    assert part.status == "stopped" and part.checkpoint["meta"]["tier"] == "genotype"
    resumed = train(sparse_sim, resume=tmp_path, baselines=False)
    for a, b in zip(resumed.gq.state_dict().values(), full.gq.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert resumed.info["best_epoch"] == full.info["best_epoch"]


# ------------------------------------------------------------- multi-trait penalty factors
def test_multitrait_scale_counts_traits_in_a_window_within_chromosomes(sparse_sim) -> None:
    from gpatlas_core.tl._baselines import multitrait_scale
    from gpatlas_core.tl._lasso import LassoCVResult

    ds = sparse_sim
    cols = dummy_columns(ds)
    locus = ds.allele_columns["locus"].to_numpy()[cols]
    coef = np.zeros((len(cols), 3))
    first_col = {int(lo): i for i, lo in reversed(list(enumerate(locus)))}
    coef[first_col[10], [0, 1]] = 1.0  # locus 10 selected by two traits
    coef[first_col[11], 2] = -0.5  # its neighbour by the third
    fit = LassoCVResult(alpha=np.ones(3), coef=coef, intercept=np.zeros(3))
    flat = multitrait_scale(ds, fit, gamma=0.0, window=5)
    np.testing.assert_allclose(flat, 1.0)
    s = multitrait_scale(ds, fit, gamma=1.0, window=0)
    raw = 1.0 + np.select([locus == 10, locus == 11], [2.0, 1.0], 0.0)
    np.testing.assert_allclose(s, raw / raw.mean())
    s = multitrait_scale(ds, fit, gamma=1.0, window=1)
    chrom = ds.markers["chromosome"].astype(str).to_numpy()
    count = np.zeros(ds.n_loci)
    for lo, c in ((10, 2.0), (11, 1.0)):  # each selection counts for its neighbours too
        for nb in (lo - 1, lo, lo + 1):
            if 0 <= nb < ds.n_loci and chrom[nb] == chrom[lo]:
                count[nb] += c
    raw = 1.0 + count[locus]
    np.testing.assert_allclose(s, raw / raw.mean())
    assert s.mean() == pytest.approx(1.0)
    # a window wider than a chromosome counts that whole chromosome, and nothing beyond it
    wide = multitrait_scale(ds, fit, gamma=1.0, window=10 * ds.n_loci)
    assert chrom[11] == chrom[10] and (chrom != chrom[10]).any()
    raw = 1.0 + np.where(chrom == chrom[10], 3.0, 0.0)[locus]
    np.testing.assert_allclose(wide, raw / raw.mean())
    with pytest.raises(ValueError, match=">= 0"):
        multitrait_scale(ds, fit, gamma=-1.0, window=1)


def test_multitrait_fit_is_the_lasso_on_the_scaled_design(sparse_sim, one_thread) -> None:
    """Coefficients come back on the columns' own scale: the same predictions as the LASSO
    on the scaled design, the same folds as the plain fit; gamma 0 is the plain fit."""
    from gpatlas_core.tl._baselines import dummy_design, fit_lasso_multitrait, multitrait_scale

    ds = sparse_sim
    rows = np.arange(ds.n_samples)[: int(0.8 * ds.n_samples)]
    first = fit_lasso(ds, rows, n_jobs=1)
    same = fit_lasso_multitrait(ds, rows, first, gamma=0.0, window=3, n_jobs=1)
    np.testing.assert_allclose(same.coef, first.coef, atol=1e-12)
    multi = fit_lasso_multitrait(ds, rows, first, gamma=1.0, window=3, n_jobs=1)
    s = multitrait_scale(ds, first, gamma=1.0, window=3)
    x = dummy_design(ds, rows)
    direct = lasso_cv(
        x * s.astype(np.float32)[None, :], ds.phenotypes[rows], rng=np.random.default_rng(0),
        n_jobs=1,
    )  # fmt: skip
    np.testing.assert_allclose(multi.predict(x), direct.predict(x * s[None, :]), atol=1e-6)
    for a, b in zip(multi.folds, first.folds, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(multi.coef, first.coef)


def test_blend_of_two_lasso_fits(sparse_sim, one_thread) -> None:
    """The blend predicts the weighted mean of the two fits (refit, committee and out-of-fold
    predictions alike), keeps the union of their supports, and refuses fits on other folds."""
    from gpatlas_core.tl._baselines import blend_lasso_fits, dummy_design, fit_lasso_multitrait

    ds = sparse_sim
    rows = np.arange(ds.n_samples)[: int(0.8 * ds.n_samples)]
    first = fit_lasso(ds, rows, n_jobs=1)
    multi = fit_lasso_multitrait(ds, rows, first, gamma=1.0, window=3, n_jobs=1)
    mid = blend_lasso_fits(first, multi, 0.25)
    x = dummy_design(ds, np.arange(ds.n_samples))
    np.testing.assert_allclose(
        mid.predict(x), 0.75 * first.predict(x) + 0.25 * multi.predict(x), atol=1e-9
    )
    np.testing.assert_allclose(mid.oof, 0.75 * first.oof + 0.25 * multi.oof, atol=1e-12)
    committee = x @ mid.fold_coef + mid.fold_intercept
    expected = 0.75 * (x @ first.fold_coef + first.fold_intercept)
    expected += 0.25 * (x @ multi.fold_coef + multi.fold_intercept)
    np.testing.assert_allclose(committee, expected, atol=1e-9)
    union = (first.coef != 0) | (multi.coef != 0)
    np.testing.assert_array_equal(mid.coef != 0, union)
    np.testing.assert_allclose(blend_lasso_fits(first, multi, 1.0).coef, multi.coef)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        blend_lasso_fits(first, multi, 1.5)
    other = fit_lasso(ds, rows, seed=1, n_jobs=1)
    with pytest.raises(ValueError, match="same folds"):
        blend_lasso_fits(first, other, 0.5)


@pytest.mark.parametrize("weight", [1.0, 0.5])
def test_multitrait_warm_start_keeps_the_plain_lasso_baseline(
    sparse_sim, one_thread, weight
) -> None:
    """The warm start is P(Q(multi-trait LASSO)) (with ``lasso_multitrait_weight`` < 1, of its
    blend with the plain fit); the run's LASSO baseline stays the plain per-trait LASSO."""
    from gpatlas_core.tl._baselines import dummy_design, fit_lasso_multitrait

    cfg = _studio(
        epochs_genotype=0, interaction_loci=0, lasso_multitrait=1.0,
        lasso_multitrait_weight=weight,
    )  # fmt: skip
    run = train(sparse_sim, cfg)
    assert run.info["warm_start"]["multitrait_gamma"] == 1.0
    assert run.info["warm_start"]["multitrait_weight"] == weight
    rows = run.train_rows(sparse_sim)
    first = fit_lasso(sparse_sim, rows)
    multi = fit_lasso_multitrait(sparse_sim, rows, first, gamma=1.0, window=5)
    x = dummy_design(sparse_sim, np.arange(sparse_sim.n_samples))
    order = np.asarray(sparse_sim.samples).astype(str)

    def table(col):
        t = run.predictions.pivot(index="sample", columns="trait", values=col)
        return t.loc[order, list(run.traits)].to_numpy()

    np.testing.assert_allclose(table("lasso"), first.predict(x), rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        warm = weight * multi.predict(x) + (1 - weight) * first.predict(x)
        q = run.q(torch.from_numpy(run.scale(warm).astype(np.float32)))
        expected = run.unscale(run.p(q).numpy())
    np.testing.assert_allclose(table("genotype_to_phenotype"), expected, rtol=1e-4, atol=1e-4)
    from gpatlas_core.tl import warm_start_note

    note = warm_start_note(run.info)
    if weight < 1:
        assert "mean of per-trait LASSO and its multi-trait-penalised refit" in note
    else:
        assert "from multi-trait-penalised LASSO" in note
