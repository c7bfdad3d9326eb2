"""The architecture (docs/method.md section 2): phenotype encoder Q, decoder P, genotype encoder GQ.

Every hidden layer is Linear -> BatchNorm1d(momentum) -> LeakyReLU; the decoder's output layer
is plain Linear. Each network is an ``nn.Sequential`` whose first module is the first Linear
layer, which the fast ablation relies on.
"""

from __future__ import annotations

from torch import nn

from .config import ModelConfig


def _block(n_in: int, n_out: int, cfg: ModelConfig) -> list[nn.Module]:
    return [
        nn.Linear(n_in, n_out),
        nn.BatchNorm1d(n_out, momentum=cfg.bn_momentum),
        nn.LeakyReLU(cfg.leaky_slope),
    ]


def encoder(n_in: int, hidden: int | None, cfg: ModelConfig) -> nn.Sequential:
    """n_in -> [hidden] -> latent, each followed by BN + LeakyReLU (Q and GQ)."""
    if hidden is None:
        return nn.Sequential(*_block(n_in, cfg.latent, cfg))
    return nn.Sequential(*_block(n_in, hidden, cfg), *_block(hidden, cfg.latent, cfg))


def decoder(n_out: int, cfg: ModelConfig) -> nn.Sequential:
    """latent -> d_hidden (BN + LeakyReLU) -> n_out (linear output): P."""
    return nn.Sequential(*_block(cfg.latent, cfg.d_hidden, cfg), nn.Linear(cfg.d_hidden, n_out))


def build_networks(
    n_traits: int, n_allele_columns: int, cfg: ModelConfig
) -> tuple[nn.Sequential, nn.Sequential, nn.Sequential]:
    """Fresh (Q, P, GQ). Initialisation uses torch's generator: seed it with ``torch.random.fork_rng``
    or build under a ``torch.Generator``-driven init at the call site."""
    q = encoder(n_traits, cfg.e_hidden, cfg)
    p = decoder(n_traits, cfg)
    gq = encoder(n_allele_columns, cfg.ge_hidden, cfg)
    return q, p, gq
