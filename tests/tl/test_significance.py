"""Genome-wide significance of loci (max-T bootstrap of the signed loss increase)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpatlas_core.config import preset
from gpatlas_core.sim import SimulationConfig, simulate
from gpatlas_core.tl import (
    ImportanceResult,
    compute_importance,
    locus_loss_increase,
    locus_significance,
)
from gpatlas_core.train import train


def constructed(d_by_locus: np.ndarray) -> ImportanceResult:
    """A result whose per-individual loss increase at locus l is ``d_by_locus[:, l]``,
    split over the locus's two allele columns (an individual carries one of them)."""
    n, n_loci = d_by_locus.shape
    rng = np.random.default_rng(1)
    carries_b = rng.random((n, n_loci)) < 0.5
    matrix = np.zeros((n, 2 * n_loci), dtype=np.float64)
    matrix[:, 0::2] = np.where(carries_b, -d_by_locus, 0.0)
    matrix[:, 1::2] = np.where(carries_b, 0.0, -d_by_locus)
    markers = [f"m{i:03d}" for i in range(n_loci)]
    alleles = pd.DataFrame({"marker": np.repeat(markers, 2), "allele": ["B", "R"] * n_loci})
    loci = pd.DataFrame(
        {"marker": markers, "chromosome": "1", "position": 1000 * np.arange(1, n_loci + 1)}
    )
    return ImportanceResult(matrix=matrix, alleles=alleles, loci=loci, params={"tier": "genotype"})


def test_loss_increase_sums_a_locus_columns() -> None:
    d = np.random.default_rng(0).normal(size=(30, 4))
    np.testing.assert_allclose(locus_loss_increase(constructed(d)), d, atol=1e-12)


def test_clear_effect_is_significant_noise_and_unused_are_not() -> None:
    rng = np.random.default_rng(2)
    n = 200
    d = np.column_stack(
        [
            rng.normal(0.5, 1.0, n),  # removing it raises the error: z ~ 7
            rng.normal(0.0, 1.0, (n, 50)),  # the null, E[d] = 0
            rng.normal(-0.5, 1.0, n),  # overfitted: removing it lowers the error
            np.zeros(n),  # not used by the model
        ]
    )
    sig = locus_significance(constructed(d), n_bootstrap=500, rng=3)
    loci = sig.loci
    assert loci["significant"].iloc[0]
    assert loci["p_genome"].iloc[0] < 0.01
    assert not loci["significant"].iloc[-2] and loci["p"].iloc[-2] > 0.99
    assert not loci["tested"].iloc[-1] and loci["p"].iloc[-1] == 1.0
    assert sig.n_tested == 52
    # the genome-wide threshold is stricter than the pointwise 5% one (52 tests)
    assert sig.threshold_z > 1.645
    assert sig.threshold_p < 0.05
    assert "significantly" in sig.describe()


def test_family_wise_error_is_near_alpha_under_the_null() -> None:
    rng = np.random.default_rng(4)
    hits = 0
    repeats = 60
    for r in range(repeats):
        d = rng.normal(0.0, 1.0, (100, 80))
        sig = locus_significance(constructed(d), alpha=0.1, n_bootstrap=200, rng=r)
        hits += sig.n_significant > 0
    # any false positive in ~10% of genomes; 60 repeats: 95% range about 2-11
    assert 1 <= hits <= 13


def test_bad_settings_are_refused() -> None:
    d = np.ones((10, 2))
    with pytest.raises(ValueError, match="alpha"):
        locus_significance(constructed(d), alpha=1.5)
    with pytest.raises(ValueError, match="n_bootstrap"):
        locus_significance(constructed(d), n_bootstrap=5)
    with pytest.raises(ValueError, match="test individuals"):
        locus_significance(constructed(d[:2]))
    res = constructed(d)
    res.params["tier"] = "phenotype"
    with pytest.raises(ValueError, match="genotype"):
        locus_significance(res)


def test_causal_loci_of_a_trained_model_are_significant(one_thread) -> None:
    ds = simulate(
        SimulationConfig(n_individuals=500, n_loci=80, n_alleles=2, n_traits=3, causal_per_trait=4),
        rng=np.random.default_rng(8),
    )
    run = train(ds, preset("quick", device="cpu"))
    sig = locus_significance(compute_importance(run, ds, device="cpu", rng=0), rng=0)
    causal = set(ds.truth.causal["marker"].astype(str))
    found = set(sig.loci.loc[sig.loci["significant"], "marker"].astype(str))
    assert len(found & causal) >= len(causal) // 2
    assert len(found - causal) <= 2
