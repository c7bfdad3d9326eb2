"""VIDA evaluation against truth: labels, ROC/Youden, enrichment, Mann-Whitney, grid, kurtosis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gpatlas_core.io import Truth
from gpatlas_core.tl import (
    best_of_grid,
    candidates_from_truth,
    enrichment_curve,
    evaluate_vida,
    importance_by_class,
    interaction_labels,
    kurtosis_test,
    qq_data,
    roc_youden,
    vida,
    vida_grid,
)


def toy_truth() -> Truth:
    causal = pd.DataFrame(
        {
            "marker": ["a", "a", "b", "b", "c", "c", "a"],
            "allele": ["0", "1", "0", "1", "0", "1", "0"],
            "trait": ["t1"] * 6 + ["t2"],
            "weight": np.ones(7),
        }
    )
    inter = pd.DataFrame({"trait": ["t1"], "marker_a": ["a"], "marker_b": ["b"], "allele": ["1"]})
    return Truth(causal=causal, interactions=inter)


def test_labels() -> None:
    lab = interaction_labels(toy_truth())
    assert list(zip(lab["marker"], lab["allele"], lab["interacting"], strict=True)) == [
        ("a", "0", False),
        ("a", "1", True),
        ("b", "0", False),
        ("b", "1", True),
        ("c", "0", False),
        ("c", "1", False),
    ]


def scores_for(truth: Truth, values: dict) -> pd.DataFrame:
    lab = interaction_labels(truth)
    return pd.DataFrame(
        {
            "marker": lab["marker"],
            "allele": lab["allele"],
            "vida_score": [
                values.get((m, a), np.nan)
                for m, a in zip(lab["marker"], lab["allele"], strict=True)
            ],
            "status": "ok",
        }
    )


def test_perfect_score_gives_auc_one() -> None:
    t = toy_truth()
    s = scores_for(
        t, {("a", "0"): 0.1, ("a", "1"): 0.9, ("b", "0"): 0.2, ("b", "1"): 0.8, ("c", "0"): 0.3}
    )
    ev = evaluate_vida(s, t, rng=np.random.default_rng(0), n_bootstrap=50)
    assert ev.auc == 1.0
    assert ev.youden["sensitivity"] == 1.0 and ev.youden["specificity"] == 1.0
    assert ev.n_unscored == 1  # (c, 1) has no score
    assert ev.n_interacting == 2 and ev.n_non_interacting == 3
    top = ev.enrichment_at(40)  # top 2 of 5: both interacting -> (2/2) / (2/5) = 2.5
    assert top["enrichment"] == pytest.approx(2.5)
    assert top["p_value"] == pytest.approx(stats.hypergeom.sf(1, 5, 2, 2))
    d = ev.to_dict()
    assert d["auc"] == 1.0 and isinstance(d["enrichment"], list)


def test_roc_youden_matches_by_hand() -> None:
    y = np.array([1, 1, 0, 1, 0, 0], dtype=bool)
    s = np.array([0.9, 0.7, 0.6, 0.5, 0.3, 0.1])
    auc, curve, pt = roc_youden(s, y)
    assert auc == pytest.approx(8 / 9)
    assert pt["youden_j"] == pytest.approx(max(curve["tpr"] - curve["fpr"]))
    assert np.isnan(roc_youden(s, np.ones(6, dtype=bool))[0])


def test_random_scores_enrichment_near_one() -> None:
    rng = np.random.default_rng(0)
    n = 20000
    y = rng.random(n) < 0.2
    s = rng.standard_normal(n)
    enr = enrichment_curve(s, y, top_percents=[10, 20, 50, 100], n_bootstrap=100, rng=rng)
    assert np.allclose(enr["enrichment"], 1, atol=0.12)
    assert enr["enrichment"].iloc[-1] == pytest.approx(1.0)
    assert (enr["ci_low"] <= enr["enrichment"]).all() and (
        enr["enrichment"] <= enr["ci_high"]
    ).all()
    assert (enr["p_value"] > 0.001).all()


def test_mann_whitney_and_medians() -> None:
    t = toy_truth()
    s = scores_for(
        t,
        {
            ("a", "0"): 0.1,
            ("a", "1"): 0.9,
            ("b", "0"): 0.2,
            ("b", "1"): 0.8,
            ("c", "0"): 0.3,
            ("c", "1"): 0.4,
        },
    )
    ev = evaluate_vida(s, t, rng=np.random.default_rng(0), n_bootstrap=0)
    ref = stats.mannwhitneyu([0.9, 0.8], [0.1, 0.2, 0.3, 0.4], alternative="two-sided")
    assert ev.mann_whitney["u"] == ref.statistic
    assert ev.mann_whitney["median_interacting"] == pytest.approx(0.85)
    assert ev.enrichment["ci_low"].isna().all()


def test_kurtosis_and_qq() -> None:
    rng = np.random.default_rng(2)
    heavy = rng.standard_t(3, size=3000)
    normal = rng.standard_normal(5000)
    kt = kurtosis_test(heavy, normal, rng=rng, n_bootstrap=200)
    assert kt["kurtosis_interacting"] == pytest.approx(stats.kurtosis(heavy))
    assert kt["difference"] > 0 and kt["p_value"] < 0.05
    same = kurtosis_test(normal[:2500], normal[2500:], rng=rng, n_bootstrap=200)
    assert same["p_value"] > 0.01
    qq = qq_data(heavy, normal, rng=rng, n_quantiles=21, n_bootstrap=50)
    assert list(qq.columns) == ["prob", "q_direct", "q_interacting", "low", "high"]
    assert (qq["low"] <= qq["high"]).all()
    assert qq["q_interacting"].iloc[-1] > qq["q_direct"].iloc[-1]  # heavier upper tail


def test_on_tiny_simulation_and_grid(tiny_dataset) -> None:
    ds = tiny_dataset
    rng = np.random.default_rng(3)
    # a stand-in importance matrix: the one-hot genotypes times noise, interacting alleles
    # with heavier tails
    x = ds.onehot()
    mat = x * rng.standard_normal(x.shape)
    lab = interaction_labels(ds.truth)
    inter = set(
        zip(lab["marker"][lab["interacting"]], lab["allele"][lab["interacting"]], strict=True)
    )
    ac = ds.allele_columns
    heavy = np.array([(m, a) in inter for m, a in zip(ac["marker"], ac["allele"], strict=True)])
    mat[:, heavy] *= rng.standard_t(2, size=(x.shape[0], heavy.sum())) ** 2
    cand = candidates_from_truth(ds)
    scores = vida(mat, ac, candidates=cand, z_threshold=1.5)
    ev = evaluate_vida(scores, ds.truth, rng=rng, n_bootstrap=20)
    assert ev.n_interacting + ev.n_non_interacting + ev.n_unscored == len(lab)
    a, b = importance_by_class(mat, ac, ds.truth)
    assert a.size and b.size and (a != 0).all()
    grid = vida_grid(
        mat, ac, candidates=cand, truth=ds.truth, z_thresholds=(1.5, 2.0), percentiles=(5, 10)
    )
    assert len(grid) == 2 * 2 * 4
    g = grid.set_index(["z_threshold", "clumpiness_percentile", "method"])
    # percentile-free methods repeat across percentiles
    assert g.loc[(1.5, 5.0, "gini"), "auc"] == g.loc[(1.5, 10.0, "gini"), "auc"] or np.isnan(
        g.loc[(1.5, 5.0, "gini"), "auc"]
    )
    one = vida(mat, ac, candidates=cand, z_threshold=2.0, clumpiness_percentile=10)
    ev2 = evaluate_vida(one, ds.truth, rng=rng, n_bootstrap=0)
    got = g.loc[(2.0, 10.0, "concentration"), "auc"]
    assert (np.isnan(got) and np.isnan(ev2.auc)) or got == pytest.approx(ev2.auc)
    best = best_of_grid(grid)
    if best:
        assert best["auc"] == pytest.approx(np.nanmax(grid["auc"]))
