"""Latent traversal pictures and the prediction intervals on the predicted-vs-real plot."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gpatlas_core import pl
from gpatlas_core.tl import latent_traversal


def _traversal():
    dec = nn.Linear(3, 2)
    with torch.no_grad():
        dec.weight.zero_()
        dec.weight[0, 1] = -2.0
        dec.bias.zero_()
    codes = np.random.default_rng(0).normal(size=(30, 3))
    return latent_traversal(dec, codes, traits=["a", "b"], steps=5)


def test_traversal_heatmap_is_traits_by_dimensions() -> None:
    tr = _traversal()
    fig = pl.latent_traversal_heatmap(tr)
    (heat,) = fig.data
    z = np.asarray(heat.z)
    assert z.shape == (2, 3) and list(heat.y) == ["a", "b"] and list(heat.x) == ["z1", "z2", "z3"]
    assert z[0, 1] < 0 and np.count_nonzero(np.abs(z) > 1e-6) == 1
    assert heat.zmin == -heat.zmax == z[0, 1]  # symmetric colour range around 0


def test_traversal_curves_one_line_per_trait() -> None:
    tr = _traversal()
    fig = pl.latent_traversal_curves(tr, 1)
    assert [t.name for t in fig.data] == ["a", "b"]
    a = np.asarray(fig.data[0].y)
    assert a[2] == 0.0 and a[0] > 0 > a[-1]  # relative to the mean code; weight -2
    np.testing.assert_allclose(np.asarray(fig.data[1].y), 0.0, atol=1e-6)


def test_predicted_vs_real_draws_interval_bars() -> None:
    obs = np.array([1.0, 2.0, np.nan, 4.0])
    pred = np.array([1.5, 2.0, 3.0, 3.0])
    lo, hi = pred - 1.0, pred + 0.5
    fig = pl.predicted_vs_real(obs, pred, trait="t", interval=(lo, hi))
    main = fig.data[0]
    np.testing.assert_allclose(main.error_y.array, [0.5, 0.5, 0.5])
    np.testing.assert_allclose(main.error_y.arrayminus, [1.0, 1.0, 1.0])
    assert "intervals hold 67%" in main.name  # 1.0 in [0.5, 2], 2.0 in [1, 2.5], 4 not in [2, 3.5]
    plain = pl.predicted_vs_real(obs, pred, trait="t")
    assert plain.data[0].error_y.array is None
