"""VIDA's partners (tl.vida_partners): the pairs rule 3 chose, equal to the plain-loop oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import vida_oracle as oracle

from gpatlas_core.io import DataError
from gpatlas_core.tl import PARTNER_COLUMNS, vida, vida_partners


def table(p: int, n_alleles: int = 2) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "marker": [f"m{j // n_alleles}" for j in range(p)],
            "allele": [str(j % n_alleles) for j in range(p)],
            "locus": np.arange(p) // n_alleles,
        }
    )


def interacting_matrix(rng: np.random.Generator, n: int = 80, p: int = 60) -> np.ndarray:
    """Heavy-tailed importances with many zeros; columns 10, 20 and 30 extreme together."""
    m = rng.standard_t(4, size=(n, p))
    m[rng.random((n, p)) < 0.3] = 0
    together = rng.choice(n, 8, replace=False)
    for j in (10, 20, 30):
        m[together, j] = 10 + rng.random(8)
    return m


@pytest.mark.parametrize("seed", range(3))
def test_partners_equal_the_oracle(seed: int) -> None:
    rng = np.random.default_rng(50 + seed)
    m = interacting_matrix(rng)
    cols = table(m.shape[1])
    scores = vida(m, cols, candidates=None, z_threshold=2.0)
    got = vida_partners(m, cols, scores, scored_only=False)
    assert list(got.columns) == PARTNER_COLUMNS
    z, _ = oracle.zscores(m)
    n_checked = 0
    for j in range(m.shape[1]):
        ref = oracle.partners_of(z, j, 2.0)
        mine = got[(got["marker"] == cols["marker"][j]) & (got["allele"] == cols["allele"][j])]
        assert mine["partner_rank"].tolist() == list(range(1, len(ref) + 1))
        names = list(zip(mine["partner_marker"], mine["partner_allele"], strict=True))
        assert names == [(cols["marker"][k], cols["allele"][k]) for k, _ in ref]
        np.testing.assert_allclose(mine["similarity"], [s for _, s in ref], atol=1e-11)
        n_checked += len(ref) > 0
    assert n_checked > 50  # not vacuous
    # similarity = (|rho| + phi) / 2, phi = co-extreme over the count expected by chance
    np.testing.assert_allclose(got["similarity"], (got["rho"].abs() + got["phi"]) / 2)
    ext = np.abs(z) > 2.0
    row = got.iloc[0]
    a = int(row["marker"][1:]) * 2 + int(row["allele"])
    b = int(row["partner_marker"][1:]) * 2 + int(row["partner_allele"])
    assert row["n_co_extreme"] == (ext[:, a] & ext[:, b]).sum()
    assert row["phi"] == pytest.approx(
        row["n_co_extreme"] / (ext[:, a].sum() * ext[:, b].sum() / m.shape[0])
    )


def test_planted_interaction_is_found_and_scored_only() -> None:
    rng = np.random.default_rng(3)
    m = interacting_matrix(rng)
    cols = table(m.shape[1])
    scores = vida(m, cols, candidates=None, z_threshold=2.0)
    got = vida_partners(m, cols, scores)
    ok = scores.loc[scores["status"] == "ok", ["marker", "allele"]]
    assert set(map(tuple, got[["marker", "allele"]].to_numpy())) == set(map(tuple, ok.to_numpy()))
    assert got["vida_score"].notna().all()
    # best-scored allele first; within an allele, partner ranks 1, 2, ...
    assert got["vida_score"].iloc[0] == scores["vida_score"].max()
    top = got[got["partner_rank"] == 1].set_index(["marker", "allele"])
    planted = {("m5", "0"), ("m10", "0"), ("m15", "0")}  # columns 10, 20, 30
    for key in planted & set(top.index):
        assert (top.loc[key, "partner_marker"], top.loc[key, "partner_allele"]) in planted
        assert top.loc[key, "mutual"]
    assert planted & set(top.index)


def test_same_locus_markers_and_errors() -> None:
    rng = np.random.default_rng(4)
    m = interacting_matrix(rng)
    cols = table(m.shape[1])
    # a biallelic locus: the second allele's importance mirrors the first's
    m[:, 41] = np.where(m[:, 40] != 0, -m[:, 40], 0)
    scores = vida(m, cols, candidates=None)
    got = vida_partners(m, cols, scores, scored_only=False)
    first = got[(got["marker"] == "m20") & (got["allele"] == "0")].iloc[0]
    assert first["partner_marker"] == "m20" and first["same_locus"]
    assert first["rho"] == pytest.approx(-1.0)
    markers = pd.DataFrame(
        {"marker": [f"m{i}" for i in range(30)], "chromosome": "2", "position": np.arange(30)}
    )
    with_pos = vida_partners(m, cols, scores, scored_only=False, markers=markers)
    assert with_pos["partner_position"].iloc[0] == int(with_pos["partner_marker"].iloc[0][1:])
    with pytest.raises(DataError, match="attrs"):
        vida_partners(m, cols, pd.DataFrame(scores.to_dict("list")))  # attrs lost
