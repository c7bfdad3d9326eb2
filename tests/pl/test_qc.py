"""Data-check and training figures (pl._qc, pl._fit) on the tiny simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

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


def test_loss_curves_scale_smoothing_and_earlier_runs() -> None:
    import pandas as pd

    from gpatlas_core.pl import log_ticks, loss_curves, smooth

    losses = pd.DataFrame(
        {
            "tier": ["phenotype"] * 4 + ["genotype"] * 3,
            "epoch": [1, 2, 3, 4, 1, 2, 3],
            "train_loss": [0.9, 0.5, 0.3, 0.2, 0.8, 0.7, 0.65],
            "test_loss": [1.0, 0.6, 0.4, 0.35, 0.9, 0.85, 0.8],
        }
    )
    fig = loss_curves(losses)
    assert fig.layout.yaxis.type == "log"
    assert list(fig.layout.yaxis.tickvals) == log_ticks(0.2, 1.0)  # readable: 0.2, 0.5, 1
    assert list(fig.layout.yaxis.ticktext) == ["0.2", "0.5", "1"]
    lin = loss_curves(losses, log_y=False)
    assert lin.layout.yaxis.type != "log" and "linear" in lin.layout.yaxis.title.text
    sm = loss_curves(losses, smoothing=0.6)
    shown = next(t for t in sm.data if t.showlegend is not False and t.name == "train")
    np.testing.assert_allclose(shown.y, smooth(np.array([0.9, 0.5, 0.3, 0.2]), 0.6))
    assert shown.y[0] == pytest.approx(0.9)  # debiased: the first point is the raw value
    over = loss_curves(losses, earlier={"run 1": losses.assign(test_loss=losses.test_loss * 2)})
    assert sum(t.name == "test, run 1" for t in over.data) == 2  # one per tier


def test_missingness_says_when_nothing_is_missing(tiny_dataset):
    ds = tiny_dataset
    assert not (ds.genotype_codes < 0).any()
    fig = pl.missingness(ds)
    texts = [a.text for a in fig.layout.annotations]
    assert "no missing calls" in texts
    assert tuple(fig.layout.yaxis2.range) == (0, 100)  # not an empty -1..1 axis


def test_maf_histogram_and_genotype_pca(tiny_dataset):
    from gpatlas_core import tl

    freqs = tl.allele_frequencies(tiny_dataset)
    fig = pl.maf_histogram(freqs)
    hist = fig.data[0]
    assert len(hist.x) == tiny_dataset.n_loci and hist.xbins.start == 0
    assert f"{tiny_dataset.n_loci:,} markers" in fig.layout.title.text
    pca = tl.genotype_pca(tiny_dataset, n_components=4, seed=0)
    values = tiny_dataset.phenotypes[:, 0]
    fig = pl.genotype_pca(pca, color=values, color_label="t", pcs=(1, 3))
    scatter, scree = fig.data
    np.testing.assert_allclose(scatter.x, pca.scores[:, 0])
    np.testing.assert_allclose(scatter.y, pca.scores[:, 2])
    assert list(scree.x) == ["PC1", "PC2", "PC3", "PC4"]
    np.testing.assert_allclose(scree.y, 100 * pca.explained)
    assert fig.layout.xaxis.title.text.startswith("PC1 (")


def test_marker_density_is_one_row_per_chromosome_and_every_trait_is_labelled():
    from gpatlas_core.io import load_yeast_sample

    ds = load_yeast_sample()
    heat = pl.marker_density(ds, bin_mb=0.1).data[0]
    z = np.asarray(heat.z, dtype=float)
    n_chrom = ds.markers["chromosome"].astype(str).nunique()
    assert isinstance(heat, go.Heatmap) and z.shape[0] == n_chrom
    assert np.nansum(z) == (ds.markers["position"] >= 0).sum()  # every placed marker once
    # past a chromosome's last marker the row is blank, not zero
    assert np.isnan(z).any()
    corr = pl.trait_correlation(ds)
    assert list(corr.layout.xaxis.tickvals) == list(ds.traits)
    assert list(corr.layout.yaxis.tickvals) == list(ds.traits)
