"""Latent traversal: shapes, and a constructed decoder where one dimension moves one trait."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from gpatlas_core.config import preset
from gpatlas_core.io import Dataset
from gpatlas_core.tl import latent_traversal, run_latent_traversal
from gpatlas_core.train import train


def _codes(n: int = 40, k: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(loc=[1.0, -2.0, 0.5][:k], scale=[0.5, 2.0, 1.5][:k], size=(n, k))


def test_only_the_connected_dimension_moves_the_connected_trait() -> None:
    dec = nn.Linear(3, 2)
    with torch.no_grad():
        dec.weight.zero_()
        dec.weight[1, 2] = 3.0  # trait 1 = 3 * z3 + bias; nothing else depends on any code
        dec.bias.copy_(torch.tensor([5.0, -1.0]))
    codes = _codes()
    tr = latent_traversal(dec, codes, traits=["a", "b"], span=2.0, steps=5, trait_scale=[1, 2])
    assert tr.response.shape == (2, 3) and tr.curves.shape == (3, 5, 2)
    sd = codes.std(axis=0)
    expect = np.zeros((2, 3))
    expect[1, 2] = 3.0 * (2 * 2.0 * sd[2]) / 2.0  # from -2 to +2 sd, in units of trait sd 2
    np.testing.assert_allclose(tr.response, expect, atol=1e-5)
    # the middle step is the mean code: the decoder's output there
    mid = dec(torch.tensor(codes.mean(0), dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(tr.curves[:, 2, :], np.broadcast_to(mid, (3, 2)), atol=1e-5)
    np.testing.assert_allclose(tr.offsets, [-2, -1, 0, 1, 2])
    frame = tr.to_frame()
    assert len(frame) == 6
    assert frame.loc[(frame.trait == "b") & (frame.dimension == 3), "response"].item() == (
        pytest.approx(expect[1, 2], abs=1e-5)
    )


def test_unscale_and_bad_arguments() -> None:
    dec = nn.Linear(2, 1)
    with torch.no_grad():
        dec.weight.copy_(torch.tensor([[1.0, 0.0]]))
        dec.bias.zero_()
    codes = _codes(k=2)
    plain = latent_traversal(dec, codes, traits=["t"])
    scaled = latent_traversal(dec, codes, traits=["t"], unscale=lambda x: 10 * x + 3)
    np.testing.assert_allclose(scaled.response, 10 * plain.response, rtol=1e-6)
    with pytest.raises(ValueError):
        latent_traversal(dec, codes, traits=["t"], steps=1)
    with pytest.raises(ValueError):
        latent_traversal(dec, codes[:0], traits=["t"])


def test_traversal_of_a_trained_run(tiny_dataset: Dataset, one_thread) -> None:
    cfg = preset("paper-simulated", epochs_phenotype=2, epochs_genotype=1, device="cpu")
    run = train(tiny_dataset, cfg, baselines=False)
    tr = run_latent_traversal(run, tiny_dataset, span=1.5, steps=7)
    assert tr.response.shape == (tiny_dataset.n_traits, cfg.model.latent)
    assert tr.curves.shape == (cfg.model.latent, 7, tiny_dataset.n_traits)
    assert np.isfinite(tr.response).all() and np.abs(tr.response).max() > 0
    assert tr.params["span"] == 1.5 and tr.params["n_codes"] == len(run.train_rows(tiny_dataset))
