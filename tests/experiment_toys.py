"""Runs around hand-made networks for the in-silico experiment tests (tl, pl, app): their
predictions, and so the effect of an allele swap, can be written down by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from gpatlas_core.config import GPAtlasConfig
from gpatlas_core.io import Dataset
from gpatlas_core.run import Run


def toy_run(ds: Dataset, gq: nn.Sequential, p: nn.Sequential) -> Run:
    """A run around hand-made networks; every 5th individual is a test individual."""
    samples = np.asarray(ds.samples).astype(str)
    sets = np.where(np.arange(len(samples)) % 5 == 0, "test", "train")
    m = ds.n_traits
    return Run(
        config=GPAtlasConfig(),
        q=nn.Sequential(nn.Linear(m, m)),
        p=p.eval(),
        gq=gq.eval(),
        split=pd.DataFrame({"sample": samples, "set": sets}),
        traits=list(ds.traits),
        allele_columns=ds.allele_columns.copy(),
        fill=np.zeros(m, dtype=np.float32),
        dataset_fingerprint=ds.fingerprint,
    )


def linear_run(ds: Dataset, weights: np.ndarray) -> Run:
    """P(GQ(x)) = x @ weights.T exactly (one linear layer, an identity decoder)."""
    m, p_cols = weights.shape
    gq = nn.Sequential(nn.Linear(p_cols, m))
    dec = nn.Sequential(nn.Linear(m, m))
    with torch.no_grad():
        gq[0].weight.copy_(torch.from_numpy(weights.astype(np.float32)))
        gq[0].bias.zero_()
        dec[0].weight.copy_(torch.eye(m))
        dec[0].bias.zero_()
    return toy_run(ds, gq, dec)


def random_linear_run(ds: Dataset, seed: int = 0) -> Run:
    rng = np.random.default_rng(seed)
    return linear_run(ds, rng.normal(size=(ds.n_traits, ds.n_allele_columns)))
