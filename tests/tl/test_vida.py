"""VIDA core: equal to the plain-loop oracle (tests/vida_oracle.py), rule by rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import vida_oracle as oracle

from gpatlas_core.io import DataError
from gpatlas_core.tl import (
    candidates_above_percentile,
    candidates_from_known_qtl,
    candidates_from_markers,
    candidates_from_truth,
    clumpiness,
    qtl_peak_markers,
    resolve_candidates,
    vida,
    vida_settings,
)
from gpatlas_core.tl._vida import _zscores
from gpatlas_core.tl._vida_clumpiness import METHODS

TOL = {"rtol": 1e-9, "atol": 1e-12}


def table(p: int, n_alleles: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "marker": [f"m{j // n_alleles}" for j in range(p)],
            "allele": [str(j % n_alleles) for j in range(p)],
            "locus": np.arange(p) // n_alleles,
        }
    )


def random_matrix(rng: np.random.Generator, n: int, p: int, *, ties: bool) -> np.ndarray:
    """Heavy tails, many zeros, ties, constant and near-empty columns, a correlated block."""
    m = rng.standard_t(3, size=(n, p))
    if ties:
        m = np.round(m * 2) / 2
    m[rng.random((n, p)) < rng.uniform(0.1, 0.6)] = 0
    m[:, 0] = 0
    m[:, 1] = np.where(rng.random(n) < 0.5, 1.5, 0)
    m[: n - 3, 2] = 0
    k = min(p, 10)
    m[:, 5:k] += 3 * rng.standard_normal((n, 1)) * (m[:, 5:k] != 0)
    return m


def assert_same(got: pd.DataFrame, ref: list[dict]) -> None:
    r = pd.DataFrame(ref)
    assert got["status"].tolist() == r["status"].tolist()
    assert got["n_extreme_samples"].tolist() == r["n_extreme_samples"].tolist()
    for col in ("avg_extreme_ratio_diff", "avg_clumpiness_diff", "vida_score"):
        np.testing.assert_allclose(got[col].to_numpy(), r[col].to_numpy(), **TOL)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("method", METHODS)
def test_equals_oracle_on_random_matrices(seed: int, method: str) -> None:
    rng = np.random.default_rng(1000 + seed)
    n, p = int(rng.integers(40, 70)), int(rng.integers(60, 110))
    m = random_matrix(rng, n, p, ties=seed % 2 == 1)
    thr = [1.0, 1.5, 2.0][seed % 3]
    pct = float(rng.choice([5, 10, 15, 20, 7.5]))
    got = vida(
        m, table(p), candidates=None, z_threshold=thr, clumpiness_percentile=pct, method=method
    )
    ref = oracle.vida(m, z_threshold=thr, clumpiness_percentile=pct, method=method)
    assert_same(got, ref)
    # not vacuous: scored loci and every kind of skipped locus are compared
    assert (got["status"] == "ok").sum() > 0 and (got["status"] != "ok").sum() > 0


def test_equals_oracle_small_blocks_and_candidate_subset() -> None:
    rng = np.random.default_rng(7)
    n, p = 40, 120
    m = random_matrix(rng, n, p, ties=False)
    cand = np.sort(rng.choice(p, size=70, replace=False))
    got = vida(m, table(p), candidates=cand, z_threshold=1.5, block_size=7)
    ref = oracle.vida(m[:, cand], z_threshold=1.5)
    assert_same(got, ref)
    assert got["marker"].tolist() == table(p)["marker"].to_numpy()[cand].tolist()
    # same set given as (marker, allele) pairs, shuffled: same result
    ac = table(p)
    pairs = list(zip(ac["marker"][cand], ac["allele"][cand], strict=True))
    rng.shuffle(pairs)
    again = vida(m, ac, candidates=pairs, z_threshold=1.5)
    pd.testing.assert_frame_equal(got, again)


def test_settings_share_work_and_match_single_runs() -> None:
    rng = np.random.default_rng(3)
    m = random_matrix(rng, 45, 70, ties=True)
    settings = [("concentration", 5.0), ("concentration", 20.0), ("gini", 5.0), ("entropy", 5.0)]
    many = vida_settings(m, table(70), candidates=None, z_thresholds=[1.5, 2.0], settings=settings)
    for (t, meth, pct), df in many.items():
        single = vida(
            m, table(70), candidates=None, z_threshold=t, method=meth, clumpiness_percentile=pct
        )
        pd.testing.assert_frame_equal(df, single)


def test_tiny_candidate_sets() -> None:
    rng = np.random.default_rng(5)
    m = random_matrix(rng, 30, 20, ties=False)
    for cand in ([], [4], [3, 4, 5], list(range(12))):
        got = vida(m, table(20), candidates=np.array(cand, dtype=np.int64))
        assert len(got) == len(cand)
        if cand:
            assert_same(got, oracle.vida(m[:, cand]))
            # fewer than 30 scored pairs per column -> at most 2 partners
            assert set(got["status"]) <= {
                "fewer than 3 partners",
                "too few non-zero entries",
                "no spread in non-zero entries",
            }


# ---------------------------------------------------------------------------- rules
def test_rule1_zscores() -> None:
    m = np.zeros((10, 4))
    m[:3, 0] = [1, 2, 3]  # 3 non-zero entries: too few
    m[:5, 1] = 2.5  # no spread
    m[:6, 2] = [1, 2, 3, 4, 5, 6]
    m[:, 3] = np.arange(1, 11)
    z, why = _zscores(m)
    assert why.tolist() == ["too few non-zero entries", "no spread in non-zero entries", "", ""]
    assert (z[:, :2] == 0).all()
    vals = np.arange(1, 7)
    np.testing.assert_allclose(z[:6, 2], (vals - vals.mean()) / vals.std())
    assert (z[6:, 2] == 0).all()  # zeros stay 0
    df = vida(m, table(4), candidates=None)
    assert df["status"].tolist()[:2] == [
        "too few non-zero entries",
        "no spread in non-zero entries",
    ]
    assert df["vida_score"].isna().all()
    assert len(df) == 4  # never dropped


def test_rule2_constant_rho_counts_as_zero_and_is_reported() -> None:
    n = 12
    m = np.zeros((n, 2))
    m[:, 0] = np.arange(1, n + 1)
    m[:6, 1] = 1.0  # support of column 1: rows 0-5, values 1 on 0..5 ...
    m[6:, 1] = [2, 3, 4, 5, 6, 7]  # ... its z is constant over rows 0-5 only
    m2 = m.copy()
    m2[6:, 0] = 0  # common support = rows 0-5, where column 1 is constant
    df = vida(m2, table(2), candidates=None)
    assert df.attrs["vida"]["pairs_constant_rho"] == 1
    assert df.attrs["vida"]["pairs_scored"] == 1


def test_rule3_partner_count_and_ties_in_candidate_order() -> None:
    # 34 identical columns: every similarity ties, so partners are the first in candidate
    # order; 33 scored pairs per column -> max(1, 33 // 10) = 3 partners.
    rng = np.random.default_rng(0)
    base = rng.standard_normal(40)
    m = np.repeat(base[:, None], 34, axis=1)
    from gpatlas_core.tl._vida import _compute_partners, _prepare

    prep = _prepare(m, np.arange(34))
    part = _compute_partners(prep.z, [2.0], None)[2.0]
    assert part.count.tolist() == [3] * 34
    assert part.pad[0].tolist() == [1, 2, 3]
    assert part.pad[1].tolist() == [0, 2, 3]
    assert part.pad[33].tolist() == [0, 1, 2]
    df = vida(m, table(34), candidates=None)
    assert_same(df, oracle.vida(m))


def test_rule4_clumpiness_by_hand() -> None:
    v = np.array([-4.0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])  # 20 values
    assert clumpiness(v, method="concentration", percentile=5) == pytest.approx(4 / 23)
    # 15% of 20 is exactly 3 (not 3.0000000000000004 -> 4)
    assert clumpiness(v, method="concentration", percentile=15) == pytest.approx(6 / 23)
    assert clumpiness([1, 2], method="concentration") == 0.0  # fewer than 3 values
    assert clumpiness([2, 2, 2, 2], method="gini") == pytest.approx(0.0, abs=1e-12)
    x = np.array([1.0, 2, 3, 4])
    gini = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert clumpiness(x, method="gini") == pytest.approx(gini)
    # entropy: 4 values -> 2 bins; all equal -> one bin filled -> 1; spread evenly -> 0
    assert clumpiness([3, 3, 3, 3], method="entropy") == pytest.approx(1.0)
    assert clumpiness([1, 1, 2, 2], method="entropy") == pytest.approx(0.0, abs=1e-12)
    assert clumpiness([1, 2, 3], method="entropy") == 0.0  # a single bin
    heavy = np.r_[50.0, np.ones(30)]
    assert clumpiness(heavy, method="adaptive") == pytest.approx(
        clumpiness(heavy, method="concentration", percentile=5)
    )
    flat = np.arange(1.0, 31)
    assert clumpiness(flat, method="adaptive") == pytest.approx(
        clumpiness(flat, method="concentration", percentile=15)
    )
    for method in METHODS:
        for vals in (rng_vals(1), rng_vals(2), np.round(rng_vals(3))):
            assert clumpiness(vals, method=method, percentile=10) == pytest.approx(
                oracle.clumpiness(vals, method, 10.0), rel=1e-12, abs=1e-12
            )


def rng_vals(seed: int) -> np.ndarray:
    r = np.random.default_rng(seed)
    return r.standard_t(2, size=int(r.integers(3, 60))) + 0.01


def test_rules56_statuses() -> None:
    rng = np.random.default_rng(11)
    m = random_matrix(rng, 50, 80, ties=False)
    df = vida(m, table(80), candidates=None, z_threshold=2.5)
    assert_same(df, oracle.vida(m, z_threshold=2.5))
    ok = df["status"] == "ok"
    np.testing.assert_allclose(
        df.loc[ok, "vida_score"],
        df.loc[ok, "avg_extreme_ratio_diff"] * df.loc[ok, "avg_clumpiness_diff"],
    )
    assert (df.loc[ok, "n_extreme_samples"] >= 3).all()
    assert df.loc[~ok, "vida_score"].isna().all()
    few = df["status"] == "fewer than 3 extreme individuals"
    assert (df.loc[few, "n_extreme_samples"] < 3).all()


def test_bad_inputs() -> None:
    m = np.ones((5, 4))
    with pytest.raises(DataError, match="allele-column table"):
        vida(m, table(3), candidates=None)
    with pytest.raises(DataError, match="method"):
        vida(m, table(4), candidates=None, method="median")
    with pytest.raises(DataError, match="z_threshold"):
        vida(m, table(4), candidates=None, z_threshold=-1)
    bad = m.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="non-finite"):
        vida(bad, table(4), candidates=None)


# ---------------------------------------------------------------------------- candidates
def test_candidate_forms() -> None:
    ac = table(9)
    assert resolve_candidates(ac, None).tolist() == list(range(9))
    assert resolve_candidates(ac, [5, 1, 1]).tolist() == [1, 5]
    mask = np.zeros(9, dtype=bool)
    mask[[2, 3]] = True
    assert resolve_candidates(ac, mask).tolist() == [2, 3]
    assert resolve_candidates(ac, ["m1"]).tolist() == [3, 4, 5]
    assert resolve_candidates(ac, [("m2", "0"), ("m0", "2")]).tolist() == [2, 6]
    tab = pd.DataFrame({"marker": ["m0", "m2"], "allele": ["", "1"]})
    assert resolve_candidates(ac, tab).tolist() == [0, 1, 2, 7]
    with pytest.raises(DataError, match="m9"):
        candidates_from_markers(ac, ["m9"])
    with pytest.raises(DataError, match=r"m0:7"):
        resolve_candidates(ac, [("m0", "7")])
    with pytest.raises(DataError, match="out of range"):
        resolve_candidates(ac, [9])


def test_candidates_above_percentile() -> None:
    imp = np.arange(10.0)
    assert candidates_above_percentile(imp, percentile=80).tolist() == [8, 9]
    mat = np.zeros((3, 10))
    mat[:, 7] = 2.0
    assert candidates_above_percentile(mat, percentile=50).tolist() == [7]


def test_candidates_from_truth_and_qtl(tiny_dataset) -> None:
    ds = tiny_dataset
    idx = candidates_from_truth(ds)
    causal = set(ds.truth.causal["marker"])
    assert set(ds.allele_columns["marker"].to_numpy()[idx]) == causal
    assert len(idx) == 3 * len(causal)
    markers = ds.markers
    qtl = pd.DataFrame(
        {
            "trait": ["t1", "t2"],
            "chromosome": [markers["chromosome"].iloc[3], "nowhere"],
            "position": [int(markers["position"].iloc[3]) + 1, 5],
            "ci_left": [0, 0],
            "ci_right": [10, 10],
        }
    )
    peaks = qtl_peak_markers(markers, qtl)
    assert peaks["marker"].tolist() == [markers["marker"].iloc[3]]
    ds.known_qtl = qtl
    assert candidates_from_known_qtl(ds).tolist() == [9, 10, 11]


def test_chunked_metrics_equal(monkeypatch) -> None:
    import functools

    import gpatlas_core.tl._vida as core

    rng = np.random.default_rng(21)
    m = random_matrix(rng, 50, 80, ties=False)
    want = vida(m, table(80), candidates=None, z_threshold=1.5)
    monkeypatch.setattr(
        core, "_column_scores", functools.partial(core._column_scores, max_elements=37)
    )
    got = core.vida(m, table(80), candidates=None, z_threshold=1.5, block_size=5)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=1e-14)
