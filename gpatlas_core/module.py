"""The architecture (docs/method.md section 2): phenotype encoder Q, decoder P, genotype encoder GQ.

Every hidden layer is Linear -> BatchNorm1d(momentum) -> LeakyReLU; the decoder's output layer
is plain Linear. Each network is an ``nn.Sequential`` whose first module is the first Linear
layer, which the fast ablation relies on. GQ's first layer may be a :class:`PairLinear`: a
Linear layer on the one-hot genotypes plus weights on products of chosen pairs of their
columns (the pairwise interaction terms of the warm start, ``TrainConfig.interaction_loci``),
or a :class:`GroupedLinear`: a block-sparse layer in which each input column feeds only its
group's units (the knowledge-informed, BINN-style encoder of ``ModelConfig.groups``).

Variational runs (``TrainConfig.variational``) give Q and GQ a log-variance head each
(:func:`logvar_head`): a Linear layer from the encoder's trunk (its output before the last
block, or the input when there is no hidden layer) to the latent. The encoder itself still
outputs the mean, so every deterministic use of Q and GQ (predictions, ablation, t-SNE) is the
mean's (:func:`encode_distribution` gives both).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

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


@dataclass
class _Layout:
    """The sparsity pattern of a grouped layer as CSR indices: ``W`` (out, in), rows ``g * k +
    j`` holding their group's columns, and ``W^T`` (in, out), row ``c`` holding its ``k``
    units; ``vidx`` reorders the (in, k) blocks into ``W``'s values."""

    crow: torch.Tensor
    col: torch.Tensor
    vidx: torch.Tensor
    crow_t: torch.Tensor
    col_t: torch.Tensor
    shape: tuple[int, int]


def _csr(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape) -> torch.Tensor:
    return torch.sparse_csr_tensor(crow, col, values, shape, check_invariants=False)


def _layout(col_group: torch.Tensor, n_groups: int, k: int) -> _Layout:
    n_in = int(col_group.shape[0])
    dev = col_group.device
    order = torch.argsort(col_group, stable=True)
    sizes = torch.bincount(col_group, minlength=n_groups)
    starts = torch.cumsum(sizes, 0) - sizes  # first position of each group in ``order``
    # row (g, j) of W: the columns order[starts[g] : starts[g] + sizes[g]], values w[c, j]
    row_nnz = sizes.repeat_interleave(k)
    crow = torch.zeros(n_groups * k + 1, dtype=torch.int64, device=dev)
    crow[1:] = torch.cumsum(row_nnz, 0)
    pos = torch.arange(int(crow[-1]), device=dev) - crow[:-1].repeat_interleave(row_nnz)
    row_group = torch.arange(n_groups, device=dev).repeat_interleave(k).repeat_interleave(row_nnz)
    row_unit = torch.arange(k, device=dev).repeat(n_groups).repeat_interleave(row_nnz)
    col = order[starts[row_group] + pos]
    vidx = col * k + row_unit
    crow_t = torch.arange(0, n_in * k + 1, k, dtype=torch.int64, device=dev)
    col_t = (col_group[:, None] * k + torch.arange(k, device=dev)).reshape(-1)
    return _Layout(crow, col, vidx, crow_t, col_t, (n_groups * k, n_in))


class _GroupedMatmul(torch.autograd.Function):
    """``x W^T`` for the block-sparse ``W`` of a :class:`GroupedLinear`, with CSR sparse
    products: the forward pass and the input gradient are sparse-dense matrix products, the
    weight gradient a sampled dense-dense product (only at the non-zeros). Every cost is n x
    (columns x k), the number of non-zero weights, never n x columns x groups x k."""

    @staticmethod
    def forward(ctx, x, w, layout: _Layout):
        x_t = x.T.contiguous()  # (in, n): what both sparse products take
        ctx.save_for_backward(x_t, w)
        ctx.layout = layout
        values = torch.index_select(w.reshape(-1), 0, layout.vidx)
        return torch.sparse.mm(_csr(layout.crow, layout.col, values, layout.shape), x_t).T

    @staticmethod
    def backward(ctx, grad_out):
        x_t, w = ctx.saved_tensors
        lay = ctx.layout
        grad_out = grad_out.contiguous()
        n_in, n_out = lay.shape[1], lay.shape[0]
        gx = gw = None
        if ctx.needs_input_grad[0]:
            weight_t = _csr(lay.crow_t, lay.col_t, w.reshape(-1), (n_in, n_out))
            gx = torch.sparse.mm(weight_t, grad_out.T.contiguous()).T
        if ctx.needs_input_grad[1]:
            pattern = _csr(lay.crow_t, lay.col_t, torch.zeros_like(w.reshape(-1)), (n_in, n_out))
            prod = torch.sparse.sampled_addmm(pattern, x_t, grad_out, beta=0.0)
            gw = prod.values().reshape(w.shape)
        return gx, gw, None


with warnings.catch_warnings():  # torch warns once per process that CSR support is in beta
    warnings.simplefilter("ignore", UserWarning)
    _csr(
        torch.zeros(2, dtype=torch.int64), torch.zeros(0, dtype=torch.int64), torch.zeros(0), (1, 1)
    )


class GroupedLinear(nn.Module):
    """A block-sparse Linear layer: input column ``c`` connects only to the ``units`` outputs of
    its group ``col_group[c]`` (output ``g * units + j`` is unit ``j`` of group ``g``).

    ``weight_blocks`` (columns, units) holds exactly the non-zero weights: the dense equivalent
    is ``W[g(c) * units + j, c] = weight_blocks[c, j]`` and zero elsewhere (:meth:`dense_weight`).
    ``col_group`` (int64) is a buffer saved with the weights."""

    def __init__(
        self, in_features: int, n_groups: int, units: int, *, device=None, dtype=None
    ) -> None:
        super().__init__()
        self.in_features, self.n_groups, self.units = in_features, n_groups, units
        self.out_features = n_groups * units
        self.register_buffer(
            "col_group", torch.zeros(in_features, dtype=torch.int64, device=device)
        )
        self.weight_blocks = nn.Parameter(
            torch.zeros((in_features, units), device=device, dtype=dtype)
        )
        self.bias = nn.Parameter(torch.zeros(self.out_features, device=device, dtype=dtype))

    def _sparse_layout(self) -> _Layout:
        """The CSR pattern of ``col_group``, cached until ``col_group`` changes or moves."""
        key = (self.col_group.device, self.col_group.data_ptr(), self.col_group._version)
        cached = getattr(self, "_layout_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, _layout(self.col_group, self.n_groups, self.units))
            self._layout_cache = cached
        return cached[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.weight_blocks.dtype)
        return _GroupedMatmul.apply(x, self.weight_blocks, self._sparse_layout()) + self.bias

    def dense_weight(self) -> torch.Tensor:
        """The (out, in) dense weight this layer equals (zero outside the blocks)."""
        w = self.weight_blocks
        dense = w.new_zeros((self.out_features, self.in_features))
        cols = torch.arange(self.in_features, device=w.device)
        for j in range(self.units):
            dense[self.col_group * self.units + j, cols] = w[:, j]
        return dense

    def group_sizes(self) -> torch.Tensor:
        """Input columns per group."""
        return torch.bincount(self.col_group, minlength=self.n_groups)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, n_groups={self.n_groups}, units={self.units}"


def n_groups_in(state: dict[str, torch.Tensor], prefix: str = "") -> tuple[int, int]:
    """``(n_groups, units)`` of a grouped first layer in a saved GQ state dict ((0, 0): none)."""
    w = state.get(f"{prefix}0.weight_blocks")
    if w is None:
        return 0, 0
    units = int(w.shape[1])
    return int(state[f"{prefix}0.bias"].shape[0]) // max(units, 1), units


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


def grouped_encoder(n_in: int, n_groups: int, cfg: ModelConfig) -> nn.Sequential:
    """GQ with a grouped first layer: n_in -> groups x ``group_units`` (block-sparse, BN +
    LeakyReLU), then the groups mix in the dense layers of :func:`encoder`."""
    k = cfg.group_units
    first = [
        GroupedLinear(n_in, n_groups, k),
        nn.BatchNorm1d(n_groups * k, momentum=cfg.bn_momentum),
        nn.LeakyReLU(cfg.leaky_slope),
    ]
    return nn.Sequential(*first, *encoder(n_groups * k, cfg.ge_hidden, cfg))


def build_networks(
    n_traits: int,
    n_allele_columns: int,
    cfg: ModelConfig,
    *,
    n_pairs: int = 0,
    n_groups: int = 0,
) -> tuple[nn.Sequential, nn.Sequential, nn.Sequential]:
    """Fresh (Q, P, GQ); with ``n_pairs`` GQ's first layer is a :class:`PairLinear` with that
    many (zero) pairs, to load saved weights into; with ``n_groups`` GQ starts with a
    :class:`GroupedLinear` of that many groups (its ``col_group`` to be set). Initialisation uses torch's generator: seed
    it with ``torch.random.fork_rng`` or build under a ``torch.Generator``-driven init at the
    call site."""
    q = encoder(n_traits, cfg.e_hidden, cfg)
    p = decoder(n_traits, cfg)
    if n_groups:
        return q, p, grouped_encoder(n_allele_columns, n_groups, cfg)
    gq = encoder(n_allele_columns, cfg.ge_hidden, cfg)
    if n_pairs:
        first = gq[0]
        gq[0] = PairLinear(first.in_features, first.out_features, n_pairs)
    return q, p, gq
