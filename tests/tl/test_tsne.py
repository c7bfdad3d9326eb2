"""One t-SNE map of both encoders' codes (tl.embed_latents) and its picture (pl.latent_tsne)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from gpatlas_core import pl, preset, tl
from gpatlas_core.io import DataError


class CodesRun:
    """A stand-in run whose two encoders return given codes (for checking the placement)."""

    def __init__(self, z_pheno: np.ndarray, z_geno: np.ndarray) -> None:
        self.z_pheno, self.z_geno = z_pheno, z_geno

    def test_rows(self, dataset):
        return np.arange(len(self.z_pheno))

    def phenotype_inputs(self, dataset, rows):
        return rows, None

    def latent_from_phenotypes(self, t):
        return self.z_pheno[t]

    def latent_dataset(self, dataset, rows):
        return self.z_geno[rows]


class Samples:
    def __init__(self, n: int) -> None:
        self.samples = np.array([f"s{i}" for i in range(n)], dtype=object)


def clusters(rng, n_per: int = 20, centres=((0, 0, 0), (30, 0, 0), (0, 30, 0))):
    z = np.concatenate([rng.normal(size=(n_per, 3)) + np.array(c) for c in centres])
    return z, np.repeat(np.arange(len(centres)), n_per)


@pytest.fixture(scope="module")
def trained():
    from gpatlas_core.sim import SimulationConfig, simulate
    from gpatlas_core.train import train

    ds = simulate(
        SimulationConfig(n_individuals=50, n_loci=30, n_traits=4, causal_per_trait=4),
        rng=np.random.default_rng(5),
    )
    cfg = preset("paper-simulated", epochs_phenotype=2, epochs_genotype=2, seed=3)
    run = train(ds, cfg, baselines=False)
    return ds, run, tl.embed_latents(run, ds, perplexity=3, seed=1)


def test_embed_latents_shapes_params_and_seed(trained):
    tiny_dataset, tiny_run, emb = trained
    rows = tiny_run.test_rows(tiny_dataset)
    assert emb.phenotype.shape == emb.genotype.shape == (len(rows), 2)
    assert list(emb.samples) == list(np.asarray(tiny_dataset.samples)[rows])
    assert emb.params["perplexity"] == 3 and emb.params["seed"] == 1
    assert emb.params["transform_perplexity"] == 3
    again = tl.embed_latents(tiny_run, tiny_dataset, perplexity=3, seed=1)
    np.testing.assert_allclose(again.phenotype, emb.phenotype)  # seeded: same picture
    np.testing.assert_allclose(again.genotype, emb.genotype)
    frame = emb.to_frame()
    assert len(frame) == len(rows)
    assert {"sample", "map_distance", "latent_distance", "neighbour_rank"} <= set(frame.columns)
    np.testing.assert_allclose(
        frame["map_distance"], np.hypot(*(emb.phenotype - emb.genotype).T), rtol=1e-6
    )
    x, t, _ = tiny_run.model_inputs(tiny_dataset, rows)
    zp, zg = tiny_run.latent_from_phenotypes(t), tiny_run.latent_from_genotypes(x)
    np.testing.assert_allclose(emb.latent_distance, np.linalg.norm(zp - zg, axis=1), rtol=1e-5)


def test_genotype_codes_are_placed_into_the_phenotype_map():
    rng = np.random.default_rng(0)
    z, group = clusters(rng)
    # genotype codes: near their own phenotype codes, except the first 5 of cluster 0,
    # whose genotype codes sit in cluster 1
    z_geno = z + rng.normal(scale=0.05, size=z.shape)
    moved = np.arange(5)
    z_geno[moved] = z[20 + moved] + rng.normal(scale=0.05, size=(5, 3))
    emb = tl.embed_latents(CodesRun(z, z_geno), Samples(len(z)), perplexity=10, seed=2)
    # each placed point's nearest phenotype point in the map is of the cluster its code is in
    d = np.linalg.norm(emb.genotype[:, None, :] - emb.phenotype[None, :, :], axis=2)
    nearest = group[d.argmin(axis=1)]
    expect = group.copy()
    expect[moved] = 1
    assert (nearest == expect).all()
    spread = np.ptp(emb.phenotype, axis=0).max()
    stay = np.setdiff1d(np.arange(len(z)), moved)
    assert np.median(emb.map_distance[stay]) < 0.1 * spread
    assert emb.map_distance[moved].min() > 0.3 * spread
    assert (emb.neighbour_rank[moved] > 0).all()


def test_neighbour_rank_by_hand():
    z = np.array([[0.0, 0], [1, 0], [3, 0], [6, 0], [10, 0], [15, 0], [21, 0]])
    zg = z.copy()
    zg[0] = [2.5, 0]  # nearer to rows 1 (1.5) and 2 (0.5) than to its own (2.5)
    emb = tl.embed_latents(CodesRun(z, zg), Samples(7), perplexity=2, seed=0)
    assert emb.neighbour_rank.tolist() == [2, 0, 0, 0, 0, 0, 0]
    assert emb.latent_distance[0] == pytest.approx(2.5)


def test_embed_latents_rejects_bad_perplexity(trained):
    tiny_dataset, tiny_run, _ = trained
    with pytest.raises(DataError, match="perplexity"):
        tl.embed_latents(tiny_run, tiny_dataset, perplexity=500, seed=0)
    assert tl.tsne_max_perplexity(31) == 10


def test_latent_figure_one_map_linked_points(trained):
    tiny_dataset, _, emb = trained
    n = len(emb.rows)
    fig = pl.latent_tsne(emb, color=tiny_dataset.phenotypes[emb.rows, 0], color_label="t1")
    assert isinstance(fig, go.Figure)
    lines, *pts = fig.data
    assert lines.mode == "lines" and len(lines.x) == 3 * n  # segment per individual + gap
    assert np.isnan(np.asarray(lines.x[2::3], dtype=float)).all()
    np.testing.assert_allclose(np.asarray(lines.x[0::3], dtype=float), emb.phenotype[:, 0])
    np.testing.assert_allclose(np.asarray(lines.x[1::3], dtype=float), emb.genotype[:, 0])
    assert len(pts) == 2 and all(isinstance(t, go.Scattergl) for t in pts)
    assert [t.marker.showscale for t in pts] == [True, False]  # one colour bar
    assert pts[0].marker.cmin == pts[1].marker.cmin  # both code sets on one scale
    assert fig.layout.legend.orientation == "h"  # legend below: never under the colour bar
    labels = np.where(np.arange(n) % 2 == 0, "A", "B")
    fig = pl.latent_tsne(emb, color=labels, color_label="m1", categorical=True, links=False)
    assert len(fig.data) == 4  # two states x two encoders
    assert {t.marker.symbol for t in fig.data} == {"circle", "x"}
    values = tiny_dataset.phenotypes[emb.rows, 0].astype(float)
    values[0] = np.nan
    fig = pl.latent_tsne(emb, color=values, color_label="t1")
    assert sum("missing" in (t.name or "") for t in fig.data) == 2
