"""t-SNE of the latent codes (tl.embed_latents) and its picture (pl.latent_tsne)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from gpatlas_core import pl, preset, tl
from gpatlas_core.io import DataError

pytestmark = pytest.mark.slow  # sklearn's t-SNE runs 1,000 iterations even on 10 points


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
    return ds, run, tl.embed_latents(run, ds, perplexity=4, seed=1)


def test_embed_latents_shapes_params_and_seed(trained):
    tiny_dataset, tiny_run, emb = trained
    rows = tiny_run.test_rows(tiny_dataset)
    assert emb.phenotype.shape == emb.genotype.shape == (len(rows), 2)
    assert list(emb.samples) == list(np.asarray(tiny_dataset.samples)[rows])
    assert emb.params["perplexity"] == 4 and emb.params["seed"] == 1
    again = tl.embed_latents(tiny_run, tiny_dataset, perplexity=4, seed=1)
    np.testing.assert_allclose(again.genotype, emb.genotype)  # seeded: same picture
    frame = emb.to_frame()
    assert list(frame.columns) == ["sample", "encoder", "tsne_1", "tsne_2"]
    assert len(frame) == 2 * len(rows)


def test_embed_latents_rejects_bad_perplexity(trained):
    tiny_dataset, tiny_run, _ = trained
    with pytest.raises(DataError, match="perplexity"):
        tl.embed_latents(tiny_run, tiny_dataset, perplexity=500, seed=0)


def test_latent_figure_continuous_and_categorical(trained):
    tiny_dataset, _, emb = trained
    fig = pl.latent_tsne(emb, color=tiny_dataset.phenotypes[emb.rows, 0], color_label="t1")
    assert isinstance(fig, go.Figure) and len(fig.data) == 2
    assert all(isinstance(t, go.Scattergl) for t in fig.data)
    labels = np.where(np.arange(len(emb.rows)) % 2 == 0, "A", "B")
    fig = pl.latent_tsne(emb, color=labels, color_label="m1", categorical=True)
    assert len(fig.data) == 4  # two states x two panels
