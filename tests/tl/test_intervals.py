"""Prediction intervals of variational runs: coverage and width on constructed cases, and the
intervals of a run whose latent spread and residual noise are set by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gpatlas_core.config import preset
from gpatlas_core.io import Dataset
from gpatlas_core.tl import interval_coverage, prediction_intervals, residual_sd
from gpatlas_core.train import train

pytestmark = pytest.mark.usefixtures("one_thread")


def test_coverage_and_width_on_a_constructed_case() -> None:
    lower = np.array([[0.0, 10.0], [0.0, 10.0], [0.0, 10.0], [0.0, 10.0]])
    upper = np.array([[1.0, 14.0], [2.0, 14.0], [1.0, 12.0], [1.0, 12.0]])
    observed = np.array(
        [
            [0.5, 9.0],  # trait a inside; trait b below
            [2.0, 14.0],  # both on the upper end: inside
            [1.5, np.nan],  # a above; b missing (left out)
            [0.0, 11.0],  # a on the lower end: inside; b inside
        ]
    )
    out = interval_coverage(observed, lower, upper, traits=["a", "b"])
    assert out["interval_level"] == 0.9
    assert out["interval_coverage"]["per_trait"] == {"a": 0.75, "b": pytest.approx(2 / 3)}
    assert out["interval_coverage"]["median"] == pytest.approx((0.75 + 2 / 3) / 2)
    # widths over the observed cells: a (1 + 2 + 1 + 1) / 4, b (4 + 4 + 2) / 3
    assert out["interval_width"]["per_trait"] == {"a": 1.25, "b": pytest.approx(10 / 3)}
    assert out["interval_width"]["median"] == pytest.approx((1.25 + 10 / 3) / 2)


def test_coverage_of_a_trait_without_observations_is_none() -> None:
    obs = np.array([[1.0, np.nan], [2.0, np.nan]])
    out = interval_coverage(obs, obs - 1, obs + 1, traits=["x", "y"])
    assert out["interval_coverage"]["per_trait"]["y"] is None
    assert out["interval_coverage"]["median"] == 1.0  # y left out of the median
    with pytest.raises(ValueError, match="shapes differ"):
        interval_coverage(obs, obs[:1], obs, traits=["x", "y"])


@pytest.fixture
def vae_run(tiny_dataset: Dataset):
    cfg = preset(
        "paper-simulated",
        epochs_phenotype=3,
        epochs_genotype=2,
        device="cpu",
        seed=2,
        standardize=True,
        variational=True,
    )
    return train(tiny_dataset, cfg, baselines=False)


def test_intervals_are_decoder_noise_when_the_latent_spread_is_nil(vae_run, tiny_dataset) -> None:
    run = vae_run
    with torch.no_grad():  # a code variance of e^-40: every draw decodes to the mean's output
        run.gq_logvar.weight.zero_()
        run.gq_logvar.bias.fill_(-40.0)
    s = np.array([0.1, 0.2, 0.4, 0.8], dtype=np.float32)
    run.residual_sd = s
    lower, upper = prediction_intervals(run, tiny_dataset, seed=1, n_draws=4000)
    pred = run.predict_dataset(tiny_dataset)
    # N(pred, (s * std)^2) on the original scale: the 90% interval is pred +- 1.645 s std
    half = 1.6449 * s * run.scaler.std
    # (the quantile of 4,000 draws is off by ~2% (sd) per cell; averaged over 50 by ~0.3%)
    for got in (upper - pred, pred - lower):
        np.testing.assert_allclose(got.mean(axis=0), half, rtol=0.02)
        np.testing.assert_allclose(got, np.broadcast_to(half, pred.shape), rtol=0.15)
    again = prediction_intervals(run, tiny_dataset, seed=1, n_draws=4000)
    np.testing.assert_array_equal(again[0], lower)  # seeded: the same draws


def test_latent_spread_widens_the_intervals(vae_run, tiny_dataset) -> None:
    run = vae_run
    run.residual_sd = np.zeros(len(run.traits), np.float32)
    widths = []
    for bias in (-6.0, 0.0):
        with torch.no_grad():
            run.gq_logvar.weight.zero_()
            run.gq_logvar.bias.fill_(bias)
        lo, hi = prediction_intervals(run, tiny_dataset, seed=0)
        widths.append(float(np.median(hi - lo)))
    assert 0 <= widths[0] < widths[1]


def test_residual_sd_is_the_autoencoder_rmse_on_training_cells(vae_run, tiny_dataset) -> None:
    run = vae_run
    rows = run.train_rows(tiny_dataset)
    t, _ = run.phenotype_inputs(tiny_dataset, rows)
    err = run.predict_from_phenotypes(t) - tiny_dataset.phenotypes[rows]
    expect = np.sqrt(np.nanmean(err**2, axis=0)) / run.scaler.std
    np.testing.assert_allclose(residual_sd(run, tiny_dataset), expect, rtol=1e-4)
