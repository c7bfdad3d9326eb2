"""Data-check and training figures (pl._qc, pl._fit) on the tiny simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from gpatlas_core import pl


def test_qc_figures(tiny_dataset):
    ds = tiny_dataset
    ds.phenotypes[0, 0] = np.nan
    for fig in (
        pl.trait_histograms(ds),
        pl.trait_correlation(ds),
        pl.marker_density(ds),
        pl.markers_per_chromosome(ds),
        pl.allele_state_counts(ds),
        pl.missingness(ds),
    ):
        assert isinstance(fig, go.Figure) and fig.data
    heat = pl.trait_correlation(ds).data[0]
    assert np.allclose(np.diag(np.asarray(heat.z, dtype=float)), 1.0)
    bars = pl.markers_per_chromosome(ds).data[0]
    assert sum(bars.y) == ds.n_loci


def test_fit_figures():
    losses = pd.DataFrame(
        {
            "tier": ["phenotype"] * 3 + ["genotype"] * 2,
            "epoch": [1, 2, 3, 1, 2],
            "train_loss": [3.0, 2.0, 1.0, 5.0, 4.0],
            "test_loss": [3.5, 2.5, 1.5, 5.5, 4.5],
        }
    )
    fig = pl.loss_curves(losses, n_epochs={"phenotype": 3, "genotype": 10})
    assert len(fig.data) == 4
    obs = np.array([1.0, 2.0, np.nan, 4.0])
    fig = pl.predicted_vs_real(obs, obs + 0.1, trait="t", baseline=obs * 0.5)
    assert len(fig.data) == 3 and len(fig.data[0].x) == 3
    metrics = {
        "genotype_to_phenotype": {
            "per_trait": {"mse": {"a": 1.0, "b": None}},
            "per_individual": {"mse": {"s1": 2.0}},
        }
    }
    assert len(pl.error_densities(metrics).data) == 2
