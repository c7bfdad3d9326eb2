"""Latent traversal (docs/method.md section 6): what each latent dimension does to the traits.

Starting from the mean code, one dimension at a time is moved from ``-span`` to ``+span``
standard deviations of that dimension's codes and decoded; each trait's response is recorded.
Works for any run (variational or not): the codes are the phenotype encoder's (the decoder's
own input distribution) on the training individuals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from ..io import Dataset
    from ..run import Run


@dataclass
class LatentTraversal:
    """The decoded traits along each latent dimension's traversal.

    ``curves[d, s, j]``: trait ``j`` (original scale) with dimension ``d`` at ``offsets[s]``
    standard deviations from the mean code, the other dimensions at their means.
    ``response[j, d]``: the change of trait ``j`` from ``-span`` to ``+span`` along dimension
    ``d``, in units of ``trait_scale[j]`` (the trait's standard deviation): the heatmap."""

    offsets: np.ndarray
    curves: np.ndarray
    response: np.ndarray
    traits: list[str]
    code_mean: np.ndarray
    code_sd: np.ndarray
    trait_scale: np.ndarray
    params: dict = field(default_factory=dict)

    @property
    def n_dimensions(self) -> int:
        return int(self.code_mean.shape[0])

    def to_frame(self):
        """The response as a long table: ``trait, dimension, response``."""
        import pandas as pd

        m, k = self.response.shape
        return pd.DataFrame(
            {
                "trait": np.repeat(np.asarray(self.traits, dtype=object), k),
                "dimension": np.tile(np.arange(1, k + 1), m),
                "response": self.response.reshape(-1),
            }
        )


@torch.no_grad()
def latent_traversal(
    decoder: nn.Module,
    codes: np.ndarray,
    *,
    traits: Sequence[str],
    span: float = 2.0,
    steps: int = 9,
    unscale: Callable[[np.ndarray], np.ndarray] | None = None,
    trait_scale: np.ndarray | None = None,
) -> LatentTraversal:
    """Traverse each latent dimension of ``decoder`` around the mean of ``codes``.

    Parameters
    ----------
    decoder
        Latent -> traits (a run's ``p``); put in eval mode.
    codes
        (n, latent) codes whose per-dimension mean and standard deviation set the traversal.
    traits
        Trait names (the decoder's outputs).
    span, steps
        Each dimension goes from ``-span`` to ``+span`` standard deviations in ``steps``
        evenly spaced points (``steps >= 2``).
    unscale
        Model -> original scale of the decoder's outputs (default: none).
    trait_scale
        Per trait, the unit of ``response`` (default 1: the traits' own units).
    """
    codes = np.asarray(codes, dtype=np.float32)
    if codes.ndim != 2 or codes.shape[0] == 0:
        raise ValueError("codes must be a non-empty (n, latent) array")
    if steps < 2 or span <= 0:
        raise ValueError("a traversal needs steps >= 2 and span > 0")
    k = codes.shape[1]
    mean, sd = codes.mean(axis=0), codes.std(axis=0)
    offsets = np.linspace(-span, span, steps, dtype=np.float32)
    grid = np.repeat(mean[None, None, :], k, axis=0).repeat(steps, axis=1)  # (k, steps, k)
    grid[np.arange(k), :, np.arange(k)] += offsets[None, :] * sd[:, None]
    decoder.eval()
    out = decoder(torch.from_numpy(grid.reshape(k * steps, k))).numpy()
    if unscale is not None:
        out = unscale(out)
    curves = np.asarray(out, dtype=np.float64).reshape(k, steps, -1)
    m = curves.shape[2]
    scale = np.ones(m) if trait_scale is None else np.asarray(trait_scale, dtype=np.float64)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    response = ((curves[:, -1, :] - curves[:, 0, :]) / scale[None, :]).T
    return LatentTraversal(
        offsets=offsets.astype(np.float64),
        curves=curves,
        response=response,
        traits=[str(t) for t in traits],
        code_mean=mean.astype(np.float64),
        code_sd=sd.astype(np.float64),
        trait_scale=scale,
        params={"span": float(span), "steps": int(steps), "n_codes": int(codes.shape[0])},
    )


def run_latent_traversal(
    run: Run, dataset: Dataset, *, span: float = 2.0, steps: int = 9
) -> LatentTraversal:
    """:func:`latent_traversal` of a run's decoder around the phenotype encoder's codes of its
    training individuals; responses in standard deviations of each trait (observed training
    values), the curves in the traits' own units."""
    rows = run.train_rows(dataset)
    t, _ = run.phenotype_inputs(dataset, rows)
    codes = run.latent_from_phenotypes(t)
    with np.errstate(all="ignore"):
        sd = np.nanstd(dataset.phenotypes[rows], axis=0)
    out = latent_traversal(
        run.p, codes, traits=run.traits, span=span, steps=steps, unscale=run.unscale, trait_scale=sd
    )
    out.params["codes"] = "phenotype encoder, training individuals"
    return out
