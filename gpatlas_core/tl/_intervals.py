"""Prediction intervals of variational runs (docs/method.md section 3, "Prediction intervals"):
draws of the genotype encoder's latent Gaussian through the decoder plus the decoder's
residual noise, and their coverage of the observed test cells.

The layout :func:`interval_coverage` adds to a run's ``metrics.json`` (under
``genotype_to_phenotype``)::

    {"interval_level": 0.9,
     "interval_coverage": {"per_trait": {trait: share}, "median": share},
     "interval_width": {"per_trait": {trait: width}, "median": width}}   # in trait units
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from ._metrics import _clean, _median

if TYPE_CHECKING:
    from ..io import Dataset
    from ..run import Run

LEVEL = 0.9
"""The prediction intervals' nominal level: the 5% and 95% quantiles of the predictive draws."""
N_DRAWS = 200
"""Draws of the latent per individual."""
_CHUNK = 128


@torch.no_grad()
def residual_sd(run: Run, dataset: Dataset) -> np.ndarray:
    """The decoder's residual standard deviation per trait on the model scale: the root mean
    square of ``t - P(Q(t))`` (Q's mean code) over the observed cells of the training
    individuals; 0 for a trait without observed training cells."""
    rows = run.train_rows(dataset)
    t, mask = run.phenotype_inputs(dataset, rows)
    run.q.eval()
    run.p.eval()
    out = run.p(run.q(t)) if len(rows) else t
    m = mask.to(torch.float64)
    sq = ((out.to(torch.float64) - t.to(torch.float64)) ** 2 * m).sum(0)
    n = m.sum(0)
    return torch.where(n > 0, torch.sqrt(sq / n.clamp_min(1.0)), 0.0).numpy().astype(np.float32)


@torch.no_grad()
def prediction_intervals(
    run: Run,
    dataset: Dataset,
    rows: np.ndarray | None = None,
    *,
    seed: int,
    level: float = LEVEL,
    n_draws: int = N_DRAWS,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends (each (n, m), original scale) of the ``level`` prediction intervals
    of a variational run for ``rows`` (default: all) of ``dataset``.

    For each individual, ``n_draws`` latent codes ``z ~ N(mu_g, exp(logvar_g))`` from the
    genotype encoder go through the decoder, each output gets the decoder's residual noise
    ``N(0, residual_sd^2)`` per trait; the interval is the central ``level`` quantile range of
    those draws. All draws come from a ``torch.Generator`` seeded with ``seed``.
    """
    if run.residual_sd is None:
        run.residual_sd = residual_sd(run, dataset)
    mu, logvar = run.latent_distribution_dataset(dataset, rows)
    gen = torch.Generator().manual_seed(int(seed))
    sd_res = torch.from_numpy(np.asarray(run.residual_sd, dtype=np.float32))
    q = torch.tensor([(1 - level) / 2, (1 + level) / 2])
    run.p.eval()
    n, m = mu.shape[0], len(run.traits)
    lower = np.empty((n, m), np.float32)
    upper = np.empty((n, m), np.float32)
    for i in range(0, n, _CHUNK):
        mu_c = torch.from_numpy(mu[i : i + _CHUNK])
        sd_c = torch.exp(0.5 * torch.from_numpy(logvar[i : i + _CHUNK]))
        k = mu_c.shape[0]
        eps = torch.randn((n_draws, k, mu_c.shape[1]), generator=gen)
        z = (mu_c[None] + sd_c[None] * eps).reshape(n_draws * k, -1)
        out = run.p(z).reshape(n_draws, k, m)
        out = out + sd_res * torch.randn((n_draws, k, m), generator=gen)
        ends = torch.quantile(out, q, dim=0)  # (2, k, m) on the model scale
        lower[i : i + k] = run.unscale(ends[0].numpy())
        upper[i : i + k] = run.unscale(ends[1].numpy())
    return lower, upper


def interval_coverage(
    observed: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    traits: Sequence[str],
    level: float = LEVEL,
) -> dict:
    """Share of observed cells inside ``[lower, upper]`` (ends included) and the mean interval
    width, per trait (column) and their medians over traits; NaN observations are left out.
    A trait without observed cells gets None (left out of the medians). See the module
    docstring for the layout."""
    observed = np.asarray(observed, dtype=np.float64)
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    if not observed.shape == lower.shape == upper.shape:
        raise ValueError(
            f"shapes differ: observed {observed.shape}, lower {lower.shape}, upper {upper.shape}"
        )
    ok = np.isfinite(observed) & np.isfinite(lower) & np.isfinite(upper)
    inside = ok & (observed >= lower) & (observed <= upper)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cover = np.where(n > 0, inside.sum(axis=0) / n, np.nan)
        width = np.where(n > 0, np.where(ok, upper - lower, 0.0).sum(axis=0) / n, np.nan)
    names = [str(t) for t in traits]
    return {
        "interval_level": level,
        "interval_coverage": {
            "per_trait": {t: _clean(v) for t, v in zip(names, cover, strict=True)},
            "median": _median(cover),
        },
        "interval_width": {
            "per_trait": {t: _clean(v) for t, v in zip(names, width, strict=True)},
            "median": _median(width),
        },
    }
