"""The architecture (docs/method.md section 2): phenotype encoder Q, decoder P, genotype encoder GQ.

Every hidden layer is Linear -> BatchNorm1d(momentum) -> LeakyReLU; the decoder's output layer
is plain Linear. Each network is an ``nn.Sequential`` whose first module is the first Linear
layer, which the fast ablation relies on. GQ's first layer may be a :class:`PairLinear`: a
Linear layer on the one-hot genotypes plus weights on products of chosen pairs of their
columns (the pairwise interaction terms of the warm start, ``TrainConfig.interaction_loci``).

Variational runs (``TrainConfig.variational``) give Q and GQ a log-variance head each
(:func:`logvar_head`): a Linear layer from the encoder's trunk (its output before the last
block, or the input when there is no hidden layer) to the latent. The encoder itself still
outputs the mean, so every deterministic use of Q and GQ (predictions, ablation, t-SNE) is the
mean's (:func:`encode_distribution` gives both).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig


def _block(n_in: int, n_out: int, cfg: ModelConfig) -> list[nn.Module]:
    return [
        nn.Linear(n_in, n_out),
        nn.BatchNorm1d(n_out, momentum=cfg.bn_momentum),
        nn.LeakyReLU(cfg.leaky_slope),
    ]


class PairLinear(nn.Linear):
    """``x W^T + b + (x[:, a] * x[:, b]) V^T``: a Linear layer plus one weight vector per pair
    of input columns ``(a, b)`` (``pairs``, (q, 2) int64, a buffer saved with the weights),
    multiplying the product of the two inputs. On one-hot genotypes the product is 1 exactly
    when an individual carries both alleles: a pairwise interaction term. Setting either input
    to 0 removes the pair's term, which is what the fast ablation accounts for."""

    def __init__(self, in_features: int, out_features: int, n_pairs: int, **kwargs) -> None:
        super().__init__(in_features, out_features, **kwargs)
        factory = {k: v for k, v in kwargs.items() if k in ("device", "dtype")}
        self.register_buffer(
            "pairs", torch.zeros((n_pairs, 2), dtype=torch.int64, device=factory.get("device"))
        )
        self.pair_weight = nn.Parameter(torch.zeros((out_features, n_pairs), **factory))

    @property
    def n_pairs(self) -> int:
        return int(self.pairs.shape[0])

    def pair_products(self, x: torch.Tensor) -> torch.Tensor:
        """(n, q): the product of each pair's two inputs."""
        return x[:, self.pairs[:, 0]] * x[:, self.pairs[:, 1]]

    def pair_term(self, x: torch.Tensor) -> torch.Tensor:
        """(n, out): the pairs' contribution to the output."""
        return self.pair_products(x).to(self.pair_weight.dtype) @ self.pair_weight.T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight, self.bias)
        return out + self.pair_term(x) if self.n_pairs else out

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, n_pairs={self.n_pairs}"


def with_pairs(net: nn.Sequential, pairs: torch.Tensor) -> nn.Sequential:
    """``net`` with its first Linear layer replaced by a :class:`PairLinear` on ``pairs``
    (weights copied, pair weights zero), on the same device and dtype."""
    first = net[0]
    w = first.weight
    new = PairLinear(
        first.in_features, first.out_features, int(pairs.shape[0]), device=w.device, dtype=w.dtype
    )
    with torch.no_grad():
        new.weight.copy_(w)
        new.bias.copy_(first.bias)
        new.pairs.copy_(pairs.to(new.pairs.device, torch.int64))
    net[0] = new
    return net


def n_pairs_in(state: dict[str, torch.Tensor], prefix: str = "") -> int:
    """Pairs of the first layer in a saved GQ state dict (0: a plain Linear first layer)."""
    pairs = state.get(f"{prefix}0.pairs")
    return 0 if pairs is None else int(pairs.shape[0])


def encoder(n_in: int, hidden: int | None, cfg: ModelConfig) -> nn.Sequential:
    """n_in -> [hidden] -> latent, each followed by BN + LeakyReLU (Q and GQ)."""
    if hidden is None:
        return nn.Sequential(*_block(n_in, cfg.latent, cfg))
    return nn.Sequential(*_block(n_in, hidden, cfg), *_block(hidden, cfg.latent, cfg))


def decoder(n_out: int, cfg: ModelConfig) -> nn.Sequential:
    """latent -> d_hidden (BN + LeakyReLU) -> n_out (linear output): P."""
    return nn.Sequential(*_block(cfg.latent, cfg.d_hidden, cfg), nn.Linear(cfg.d_hidden, n_out))


def trunk_length(net: nn.Sequential) -> int:
    """Modules of ``net`` before its last block (Linear, BatchNorm, LeakyReLU): 0 without a
    hidden layer, 3 with one. The log-variance head reads the trunk's output."""
    return len(net) - 3


def trunk_width(net: nn.Sequential) -> int:
    """Width of the trunk's output (the last block's Linear input)."""
    return int(net[trunk_length(net)].in_features)


def logvar_head(net: nn.Sequential, cfg: ModelConfig) -> nn.Linear:
    """A fresh log-variance head for the encoder ``net``: trunk output -> latent."""
    return nn.Linear(trunk_width(net), cfg.latent)


def encode_distribution(
    net: nn.Sequential, head: nn.Module, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, log-variance)`` of the latent Gaussian of encoder ``net`` with head ``head``;
    the mean is exactly ``net(x)``."""
    k = trunk_length(net)
    h = x
    for mod in list(net)[:k]:
        h = mod(h)
    mu = h
    for mod in list(net)[k:]:
        mu = mod(mu)
    return mu, head(h)


def build_networks(
    n_traits: int, n_allele_columns: int, cfg: ModelConfig, *, n_pairs: int = 0
) -> tuple[nn.Sequential, nn.Sequential, nn.Sequential]:
    """Fresh (Q, P, GQ); with ``n_pairs`` GQ's first layer is a :class:`PairLinear` with that
    many (zero) pairs, to load saved weights into. Initialisation uses torch's generator: seed
    it with ``torch.random.fork_rng`` or build under a ``torch.Generator``-driven init at the
    call site."""
    q = encoder(n_traits, cfg.e_hidden, cfg)
    p = decoder(n_traits, cfg)
    gq = encoder(n_allele_columns, cfg.ge_hidden, cfg)
    if n_pairs:
        first = gq[0]
        gq[0] = PairLinear(first.in_features, first.out_features, n_pairs)
    return q, p, gq
