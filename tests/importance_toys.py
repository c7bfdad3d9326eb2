"""Toy networks and runs for the importance tests (ablation and gradient attributions): random
weights and batch-norm statistics from local generators, one-hot genotypes, a Run around them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from gpatlas_core.config import GPAtlasConfig, ModelConfig
from gpatlas_core.module import build_networks


def randomize(nets: tuple[nn.Module, ...], seed: int) -> None:
    """Random weights and batch-norm statistics (eval mode) from a local generator."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for net in nets:
            for mod in net.modules():
                if isinstance(mod, nn.Linear):
                    bound = 1.0 / np.sqrt(mod.in_features)
                    mod.weight.copy_((torch.rand(mod.weight.shape, generator=g) * 2 - 1) * bound)
                    mod.bias.copy_((torch.rand(mod.bias.shape, generator=g) * 2 - 1) * bound)
                elif isinstance(mod, nn.BatchNorm1d):
                    k = mod.num_features
                    mod.running_mean.copy_(torch.randn(k, generator=g) * 0.1)
                    mod.running_var.copy_(torch.rand(k, generator=g) * 0.3 + 0.02)
                    mod.weight.copy_(torch.rand(k, generator=g) + 0.5)
                    mod.bias.copy_(torch.randn(k, generator=g) * 0.2)
            net.eval()


def random_networks(n_traits: int, n_cols: int, cfg: ModelConfig, seed: int = 0):
    with torch.device("meta"):
        q, p, gq = build_networks(n_traits, n_cols, cfg)
    nets = tuple(net.to_empty(device="cpu") for net in (q, p, gq))
    for net in nets:
        for mod in net.modules():
            if isinstance(mod, nn.BatchNorm1d):
                mod.reset_parameters()
    randomize(nets, seed)
    return nets


def onehot(n: int, n_loci: int, n_alleles: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, n_alleles, (n, n_loci), generator=g)
    x = torch.zeros(n, n_loci * n_alleles)
    x[torch.arange(n)[:, None], torch.arange(n_loci) * n_alleles + codes] = 1.0
    return x


def make_run(ds, seed: int = 0, mask_missing: bool = True):
    from gpatlas_core.run import Run

    config = GPAtlasConfig(model=ModelConfig(latent=6, e_hidden=8, d_hidden=8, ge_hidden=16))
    config.train.mask_missing = mask_missing
    q, p, gq = random_networks(ds.n_traits, ds.n_allele_columns, config.model, seed=seed)
    samples = np.asarray(ds.samples).astype(str)
    sets = np.where(np.arange(len(samples)) % 5 == 0, "test", "train")
    return Run(
        config=config,
        q=q,
        p=p,
        gq=gq,
        split=pd.DataFrame({"sample": samples, "set": sets}),
        traits=list(ds.traits),
        allele_columns=ds.allele_columns.copy(),
        fill=np.zeros(ds.n_traits, dtype=np.float32),
        dataset_fingerprint=ds.fingerprint,
    )
