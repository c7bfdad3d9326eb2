"""The simulator (docs/method.md section 7): truth tables, interactions, pleiotropy, noise."""

from __future__ import annotations

import numpy as np
import pytest

from gpatlas_core.io import DataError
from gpatlas_core.sim import SimulationConfig, simulate, simulated_signal


def _loop_signal(ds):
    """Phenotypes from the truth tables, one individual and one trait at a time."""
    col = {m: j for j, m in enumerate(ds.markers["marker"])}
    causal, inter = ds.truth.causal, ds.truth.interactions
    out = np.zeros((ds.n_samples, ds.n_traits))
    for t, trait in enumerate(ds.traits):
        rows = causal[causal["trait"] == trait]
        w = {
            (m, int(a)): float(x)
            for m, a, x in zip(rows.marker, rows.allele, rows.weight, strict=True)
        }
        loci = list(dict.fromkeys(rows.marker))
        pairs = inter[inter["trait"] == trait]
        for i in range(ds.n_samples):
            g = {m: int(ds.genotype_codes[i, col[m]]) for m in loci}
            contrib = {m: w[m, g[m]] for m in loci}
            for a, b, k in zip(pairs.marker_a, pairs.marker_b, pairs.allele, strict=True):
                k = int(k)
                if g[a] == k and g[b] == k:
                    contrib[a] = w[a, k] * w[b, k]
                    contrib[b] = 0.0
            out[i, t] = sum(contrib.values())
    return out


def test_shapes_names_and_map(tiny_dataset, tiny_config):
    ds = tiny_dataset
    assert ds.genotype_codes.shape == (50, 40) and ds.genotype_codes.dtype == np.int8
    assert ds.phenotypes.shape == (50, 4) and ds.phenotypes.dtype == np.float32
    assert ds.alleles == [("0", "1", "2")] * 40
    assert ds.genotype_codes.min() >= 0 and ds.genotype_codes.max() <= 2
    assert ds.markers["marker"][0] == "locus_0001" and ds.traits[0] == "trait_01"
    assert ds.markers["chromosome"].nunique() == 10
    for _, grp in ds.markers.groupby("chromosome"):
        assert (np.diff(grp["position"].to_numpy()) > 0).all()
    assert ds.n_allele_columns == 120
    assert ds.report["simulation"]["n_individuals"] == tiny_config.n_individuals


def test_causal_sets_follow_the_process(tiny_dataset, tiny_config):
    causal = tiny_dataset.truth.causal
    assert list(causal.columns) == ["marker", "allele", "trait", "weight"]
    assert ((causal.weight >= 0) & (causal.weight < 10)).all()
    for _, rows in causal.groupby("trait"):
        loci = rows.marker.unique()
        assert len(loci) == tiny_config.causal_per_trait  # each trait keeps n_ip loci
        assert (rows.groupby("marker").allele.apply(sorted) == [["0", "1", "2"]] * len(loci)).all()
    inter = tiny_dataset.truth.interactions
    assert list(inter.columns) == ["trait", "marker_a", "marker_b", "allele"]
    for trait, rows in inter.groupby("trait"):
        loci = set(causal.marker[causal.trait == trait])
        used = list(rows.marker_a) + list(rows.marker_b)
        assert set(used) <= loci and len(used) == len(set(used))  # a locus interacts once
        assert set(rows.allele) <= {"0", "1", "2"}


def test_phenotypes_recomputed_from_truth(tiny_dataset, tiny_config):
    ds = tiny_dataset
    assert len(ds.truth.interactions) > 0
    signal = _loop_signal(ds)
    fast = simulated_signal(ds.genotype_codes, ds.truth, list(ds.markers.marker), ds.traits)
    np.testing.assert_allclose(fast, signal, rtol=1e-12)
    noise = ds.phenotypes.astype(np.float64) - signal
    assert noise.min() > -1e-3  # uniform(0, 1) draws: non-negative
    np.testing.assert_allclose(
        noise.mean(axis=0), tiny_config.noise * signal.mean(axis=0), rtol=1e-3
    )


def test_interacting_pair_multiplies():
    # two causal loci per trait, p_interact = 1, no noise: the phenotype is the pair alone
    cfg = SimulationConfig(300, 30, 2, 3, 2, 0.0, 1.0, 0.0)
    ds = simulate(cfg, rng=np.random.default_rng(5))
    inter, causal = ds.truth.interactions, ds.truth.causal
    assert len(inter) == 3
    col = {m: j for j, m in enumerate(ds.markers.marker)}
    for trait, a, b, k in inter.itertuples(index=False):
        t, k = ds.traits.index(trait), int(k)
        w = causal[causal.trait == trait].set_index(["marker", "allele"]).weight
        wa = np.array([w[a, "0"], w[a, "1"]])
        wb = np.array([w[b, "0"], w[b, "1"]])
        ga, gb = ds.genotype_codes[:, col[a]], ds.genotype_codes[:, col[b]]
        both = (ga == k) & (gb == k)
        assert both.any() and (~both).any()
        np.testing.assert_allclose(ds.phenotypes[both, t], wa[k] * wb[k], rtol=1e-5)
        np.testing.assert_allclose(ds.phenotypes[~both, t], (wa[ga] + wb[gb])[~both], rtol=1e-5)


def test_pleiotropy_shares_weights():
    cfg = SimulationConfig(20, 2000, 3, 6, 3, 1.0, 0.0, 0.0)
    ds = simulate(cfg, rng=np.random.default_rng(1))
    c = ds.truth.causal
    shared = c.groupby("marker").trait.nunique()
    assert (shared > 1).any()
    for marker in shared[shared > 1].index:
        w = c[c.marker == marker].pivot(index="trait", columns="allele", values="weight")
        assert np.allclose(w.to_numpy(), w.to_numpy()[0])  # same weights in every trait
    none = simulate(
        SimulationConfig(20, 2000, 3, 6, 3, 0.0, 0.0, 0.0), rng=np.random.default_rng(1)
    )
    assert none.truth.interactions.empty


def test_seeded():
    a = simulate(SimulationConfig(50, 40, 3, 4, 5), rng=np.random.default_rng(3))
    b = simulate(SimulationConfig(50, 40, 3, 4, 5), rng=np.random.default_rng(3))
    c = simulate(SimulationConfig(50, 40, 3, 4, 5), rng=np.random.default_rng(4))
    assert a.fingerprint == b.fingerprint != c.fingerprint
    big = simulate(SimulationConfig(), rng=np.random.default_rng(0))
    assert big.n_allele_columns == 9000 and big.truth.causal.trait.nunique() == 30


@pytest.mark.parametrize(
    "kw",
    [{"n_loci": 3, "causal_per_trait": 5}, {"p_interaction": 1.5}, {"n_alleles": 0}, {"noise": -1}],
)
def test_bad_config(kw):
    with pytest.raises(DataError):
        simulate(SimulationConfig(**kw), rng=np.random.default_rng(0))
