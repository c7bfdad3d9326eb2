"""The maths of one training step: masked MSE, genotype noise, the L1/L2 penalty and the first
GQ layer as one autograd function (docs/method.md section 2).

Two exact rewrites of the reference computation make a tier-2 step several times faster on a
CPU (``bench/bench_training.py``):

- The first GQ layer is stored transposed, ``Wt`` of shape (inputs, hidden), and its gradient is
  one matrix product ``[x; r]^T @ [delta; 1]`` that adds the data term ``x^T delta`` and the
  L1/L2 term in one go. The penalty ``l1 * ||s||_1 + l2 * ||s||_2`` with ``s = Wt.sum(1)``
  has gradient ``r = l1 * sign(s) + l2 * s / ||s||_2`` for every hidden unit of column ``j``,
  exactly what autograd computes for the reference expression.
- Adam is PyTorch's fused implementation: the same update rule, one pass over memory.
"""

from __future__ import annotations

import torch


def genotype_flip_probability(gen_noise: float) -> float:
    """Per-bit flip probability of the reference genotype corruption.

    The reference draws ``pos, neg ~ Bernoulli(q)`` with ``q = (1 - gen_noise) / 2`` and keeps
    ``1[G + pos - neg > 0]``: a 1 becomes 0 iff ``neg and not pos``, a 0 becomes 1 iff ``pos
    and not neg``, each with probability ``q (1 - q)`` independently per bit. The loop draws
    that flip directly (same distribution, one uniform per bit).
    """
    q = (1.0 - gen_noise) / 2.0
    return q * (1.0 - q)


def masked_mse(out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over observed cells (mask 1); with an all-ones mask it is MSE."""
    return ((out - target) ** 2 * mask).sum() / mask.sum().clamp_min(1.0)


class FirstLayer(torch.autograd.Function):
    """``x @ wt + b``. The backward pass writes the weight gradient ``x^T delta + 1 (x) r`` (r:
    the L1/L2 penalty gradient per input column) into ``grad_buf`` with one matrix product, so
    the 47M-entry gradient reuses one buffer instead of a fresh allocation every step."""

    @staticmethod
    def forward(ctx, x, wt, b, r, grad_buf, row_mask=None):
        ctx.save_for_backward(x, r)
        ctx.grad_buf = grad_buf
        ctx.row_mask = row_mask
        return torch.addmm(b, x, wt)

    @staticmethod
    def backward(ctx, grad_out):
        x, r = ctx.saved_tensors
        a = torch.cat([x, r[None, :]])
        d = torch.cat([grad_out, torch.ones_like(grad_out[:1])])
        torch.mm(a.T, d, out=ctx.grad_buf)
        if ctx.row_mask is not None:  # inputs outside the support keep a zero gradient
            ctx.grad_buf.mul_(ctx.row_mask[:, None])
        return None, None, grad_out.sum(0), None, None, None


def penalty(wt: torch.Tensor, l1: float, l2: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Value and per-column gradient of ``l1 ||s||_1 + l2 ||s||_2``, ``s = wt.sum(1)``."""
    s = wt.sum(1)
    norm = torch.linalg.vector_norm(s)
    value = l1 * s.abs().sum() + l2 * norm
    r = l1 * torch.sign(s) + l2 * s / norm.clamp_min(torch.finfo(s.dtype).tiny)
    return value, r


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A draw of ``N(mu, exp(logvar))`` as ``mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)``
    from ``gen``: differentiable in ``mu`` and ``logvar`` (Kingma & Welling 2014)."""
    eps = torch.randn(mu.shape, generator=gen, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per row, ``KL(N(mu, exp(logvar)) || N(0, I))`` summed over the latent dimensions:
    ``0.5 * sum(mu^2 + exp(logvar) - 1 - logvar)``."""
    return 0.5 * (mu**2 + torch.exp(logvar) - 1.0 - logvar).sum(dim=1)


def kl_gaussians(
    mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor
) -> torch.Tensor:
    """Per row, ``KL(N(mu_q, exp(logvar_q)) || N(mu_p, exp(logvar_p)))`` of diagonal Gaussians,
    summed over dimensions. As a function of ``logvar_p`` it is smallest at
    ``exp(logvar_p) = exp(logvar_q) + (mu_q - mu_p)^2``."""
    var_q, var_p = torch.exp(logvar_q), torch.exp(logvar_p)
    return 0.5 * (logvar_p - logvar_q + (var_q + (mu_q - mu_p) ** 2) / var_p - 1.0).sum(dim=1)
