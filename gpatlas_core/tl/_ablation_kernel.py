"""The fast, exact feature-ablation kernel (docs/method.md section 4).

The reference computes, with Captum's ``FeatureAblation`` (baseline 0, one input column at a
time, one individual at a time), ``attr[k, c] = f(x_k) - f(x_k with column c set to 0)`` where
``f`` is the individual's reconstruction MSE ``mean_i (P(E(x))_i - t_i)^2`` and ``E`` is the
genotype encoder GQ (genotype tier) or the phenotype encoder Q (phenotype tier).

Setting column ``c`` to zero moves the first layer's pre-activation by ``-W1[:, c] * x[c]``
and nothing else, so every ablation is one row of a batched pass that starts at the first
hidden layer. Batch normalisation in eval mode is affine and is folded into the preceding
Linear layer (in float64). The work is done in two stages:

1. First two layers. Let ``a_k`` be individual k's first-layer pre-activation and ``s_k`` the
   LeakyReLU slope at it (1 or the negative slope). If no unit changes sign, the second
   layer's pre-activation moves by ``-x[c] * (W1^T diag(s_k) W2^T)[c]``: one matrix product
   gives it for every column (and, stacked, for a block of individuals) without touching
   the (columns x hidden units) matrix element by element. A unit h can only change sign if
   ``|a_kh| <= max_c |x_kc W1[h, c]|``; those few units are corrected exactly, with
   ``LeakyReLU(a + d) - LeakyReLU(a) = s(a) d + (s(a + d) - s(a)) (a + d)`` (no cancellation:
   the second term is non-zero only where the sign flips, and then ``|a + d| <= |d|``).
   The move is computed as a difference, in float32 by default.
2. From the second layer on, the ablated individuals go forward in float64 from
   ``a2_k + move``, and ``f(x) - f(ablated)`` is taken in float64. The loss difference is
   therefore not the difference of two rounded float32 losses, as in Captum's float32
   run (see ``bench/RESULTS.md``).

Pair terms: when the first layer is a :class:`~gpatlas_core.module.PairLinear` (``W x + b +
V (x_a * x_b)``), setting column ``c`` to zero also removes every pair term that contains it, so
its first-layer move is ``-x[c] * (W[:, c] + sum over pairs (c, d) of V[:, i] x[d])``: an
individual-specific weight for the few columns in a pair with a non-zero product, added to
the shared product above (and to the sign-change bound and correction).

With a missing-phenotype mask the MSE is taken over the individual's observed traits only
(an individual with none gets zero importance). Without a mask it is the reference's plain
MSE over all traits. (The reference adds 1e-15 to both prediction and target inside its
MSE; that cancels and is left out.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._device import resolve_device
from ..module import GroupedLinear, PairLinear

__all__ = ["AblationCancelled", "AblationOutput", "ablate", "loss_weights"]


class AblationCancelled(RuntimeError):
    """Raised when ``should_stop()`` returned True during an ablation."""


@dataclass
class _Layer:
    weight: torch.Tensor  # (out, in), batch norm folded in
    bias: torch.Tensor  # (out,)
    slope: float | None  # negative slope of the LeakyReLU after it; None = linear
    pairs: torch.Tensor | None = None  # (q, 2) input-column pairs of a PairLinear layer
    pair_weight: torch.Tensor | None = None  # (out, q), batch norm folded in


@dataclass
class AblationOutput:
    """What :func:`ablate` computed.

    matrix
        (n, p) float32, ``attr[k, c] = f(x_k) - f(x_k, column c ablated)``, or None.
    shift
        (p, m) float64, ``mean_k (y_k,i - y_k,i(c ablated))^2`` (the paper's formula, per
        trait), or None.
    """

    matrix: np.ndarray | None
    shift: np.ndarray | None


def _fold(net: nn.Module) -> list[_Layer]:
    """Linear [-> BatchNorm1d (running statistics)] [-> LeakyReLU/ReLU] blocks, in float64."""
    modules = list(net) if isinstance(net, nn.Sequential) else [net]
    layers: list[_Layer] = []
    for mod in modules:
        if isinstance(mod, nn.Sequential):
            layers.extend(_fold(mod))
        elif isinstance(mod, nn.Linear | GroupedLinear):
            if isinstance(mod, GroupedLinear):  # its dense equivalent (zero outside the blocks)
                w = mod.dense_weight().detach().to("cpu", torch.float64)
            else:
                w = mod.weight.detach().to("cpu", torch.float64, copy=True)  # folded below
            b = (
                mod.bias.detach().to("cpu", torch.float64, copy=True)
                if mod.bias is not None
                else torch.zeros(w.shape[0], dtype=torch.float64)
            )
            layers.append(_Layer(w, b, None))
            if isinstance(mod, PairLinear) and mod.n_pairs:
                if len(layers) > 1:
                    raise TypeError("fast ablation supports pair terms in the first layer only")
                layers[-1].pairs = mod.pairs.detach().to("cpu", torch.int64)
                layers[-1].pair_weight = mod.pair_weight.detach().to(
                    "cpu", torch.float64, copy=True
                )
        elif isinstance(mod, nn.BatchNorm1d):
            if not layers or layers[-1].slope is not None:
                raise TypeError("fast ablation needs every BatchNorm1d right after a Linear layer")
            if mod.running_mean is None or mod.running_var is None:
                raise TypeError("fast ablation needs BatchNorm1d with running statistics")
            rm = mod.running_mean.detach().to("cpu", torch.float64)
            rv = mod.running_var.detach().to("cpu", torch.float64)
            scale = 1.0 / torch.sqrt(rv + mod.eps)
            shift = torch.zeros_like(rm)
            if mod.affine:
                scale = scale * mod.weight.detach().to("cpu", torch.float64)
                shift = mod.bias.detach().to("cpu", torch.float64)
            last = layers[-1]
            last.weight.mul_(scale[:, None])
            if last.pair_weight is not None:
                last.pair_weight.mul_(scale[:, None])
            last.bias = (last.bias - rm) * scale + shift
        elif isinstance(mod, nn.LeakyReLU | nn.ReLU):
            if not layers or layers[-1].slope is not None:
                raise TypeError("fast ablation needs every activation right after a Linear layer")
            layers[-1].slope = float(mod.negative_slope) if isinstance(mod, nn.LeakyReLU) else 0.0
        elif isinstance(mod, nn.Dropout | nn.Identity):
            continue  # identity in eval mode
        else:
            raise TypeError(
                f"fast ablation supports Linear, BatchNorm1d, LeakyReLU, ReLU, Dropout; "
                f"got {type(mod).__name__}"
            )
    return layers


def _act(a: torch.Tensor, slope: float | None) -> torch.Tensor:
    return a if slope is None else F.leaky_relu(a, slope)


def _block_size(p: int, width: int, itemsize: int, budget: int = 64 << 20) -> int:
    """Individuals per first-stage product, so that the (p, block * width) result fits budget."""
    return int(max(1, min(64, budget // max(1, p * width * itemsize))))


def _as_tensor(a: torch.Tensor | np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    t = a.detach() if torch.is_tensor(a) else torch.as_tensor(np.asarray(a))
    return t.to("cpu", dtype)


def loss_weights(
    t: torch.Tensor, mask: torch.Tensor | np.ndarray | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(keep, w)`` of the per-individual loss ``sum_i w_ki (y_ki - t_ki)^2`` (float64 ``w``).

    Without a mask: the plain MSE over all traits (``w = 1 / m``; ``t`` must be finite). With
    one: the MSE over the individual's observed traits (``w = 1 / observed`` there, 0
    elsewhere; an individual with none weighs nothing). Every importance method uses it.
    """
    n, m = t.shape
    if mask is None:
        keep = torch.isfinite(t)
        if not keep.all():
            raise ValueError("t contains NaN; pass a mask of observed phenotypes")
        return keep, torch.full((n, m), 1.0 / m, dtype=torch.float64)
    keep = _as_tensor(mask, torch.bool)
    if keep.shape != (n, m):
        raise ValueError(f"mask must be ({n}, {m}); got {tuple(keep.shape)}")
    cnt = keep.sum(dim=1, keepdim=True).to(torch.float64)
    return keep, torch.where(keep, 1.0 / cnt.clamp(min=1.0), 0.0)


def ablate(
    encoder: nn.Module,
    decoder: nn.Module,
    x: torch.Tensor | np.ndarray,
    t: torch.Tensor | np.ndarray | None = None,
    *,
    mask: torch.Tensor | np.ndarray | None = None,
    matrix: bool = True,
    per_trait: bool = False,
    device: str | torch.device = "auto",
    dtype: torch.dtype = torch.float32,
    chunk_size: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> AblationOutput:
    """Ablate every input column of every individual, in batched passes.

    Parameters
    ----------
    encoder, decoder
        ``nn.Sequential`` of Linear / BatchNorm1d / LeakyReLU blocks (GQ or Q, then P). Batch
        norm always uses its running statistics (eval mode); the modules are not changed.
    x
        Inputs, (n, p) (one-hot genotypes, or phenotypes for the phenotype tier).
    t
        Targets, (n, m), in the model's scale; needed for ``matrix``.
    mask
        Optional (n, m) bool, True where a phenotype was observed: the MSE runs over observed
        traits only. None = plain MSE over all traits (the reference).
    matrix
        Compute the per-individual signed importance matrix (Captum's numbers).
    per_trait
        Compute the prediction shift per column and trait (the paper's formula).
    device
        ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``.
    dtype
        Working precision of the batched passes (the base pass is float64).
    chunk_size
        Most ablations per pass after the first layer (memory bound); None = 65,536.
    on_progress
        Called as ``on_progress(done, total)`` after each individual.
    should_stop
        Polled between passes; when it returns True, :class:`AblationCancelled` is raised.

    Returns
    -------
    AblationOutput

    Notes
    -----
    The first two layers are done as one matrix product per block of individuals. Without
    sign changes in the first hidden layer, the second layer's pre-activation moves by
    ``-x[c] * (W1^T diag(s_k) W2^T)[c]`` where ``s_k`` are the LeakyReLU slopes at
    individual k's own pre-activation; that product covers every column at once. A unit can
    only change sign where ``|a_kh| <= max_c |x_kc W1[h, c]|``; those few units are
    corrected exactly, column by column.
    """
    if not matrix and not per_trait:
        raise ValueError("nothing to compute: set matrix and/or per_trait")
    dev = resolve_device(device)
    layers = _fold(encoder) + _fold(decoder)
    if len(layers) < 2:
        raise TypeError("the encoder and decoder together need at least two Linear layers")
    x64 = _as_tensor(x, torch.float64)
    p_in = layers[0].weight.shape[1]
    if x64.ndim != 2 or x64.shape[1] != p_in:
        raise ValueError(f"x must be (n, {p_in}) for this encoder; got {tuple(x64.shape)}")
    if not torch.isfinite(x64).all():
        raise ValueError("x contains NaN or infinite values; fill missing inputs first")
    n, p = x64.shape
    m = layers[-1].weight.shape[0]

    # Base pass, float64: pre-activations of every layer for every individual.
    pre: list[torch.Tensor] = []
    h = x64
    for layer in layers:
        a = h @ layer.weight.T + layer.bias
        if layer.pairs is not None:
            a = a + (h[:, layer.pairs[:, 0]] * h[:, layer.pairs[:, 1]]) @ layer.pair_weight.T
        pre.append(a)
        h = _act(a, layer.slope)
    y = h  # (n, m)

    if matrix:
        if t is None:
            raise ValueError("targets t are needed for the importance matrix")
        t64 = _as_tensor(t, torch.float64)
        if t64.shape != (n, m):
            raise ValueError(f"t must be ({n}, {m}); got {tuple(t64.shape)}")
        keep, w = loss_weights(t64, mask)
        t_fill = torch.where(keep, torch.nan_to_num(t64), y)  # unobserved: no error
        resid = y - t_fill
        f_base = ((resid * resid) * w).sum(dim=1).to(dev)
        t_dev = t_fill.to(dev)
        w_dev = w.to(dev)

    slopes = [layer.slope for layer in layers]
    s0 = slopes[0]
    w0t = layers[0].weight.T.to(dev, dtype).contiguous()  # (p, H0): row c = W1[:, c]
    w1t = layers[1].weight.T.contiguous().to(dev, dtype)  # (H0, H1)
    rest64 = [(layer.weight.T.contiguous().to(dev), layer.bias.to(dev)) for layer in layers[2:]]
    pre64 = [a.to(dev) for a in pre[:2]]
    y_dev = y.to(dev)
    pre_dev = [a.to(dev, dtype) for a in pre[:1]]
    sa_dev = [
        torch.where(a > 0, 1.0, s).to(dtype) if s is not None else None
        for a, s in zip(pre_dev[:1], slopes[:1], strict=True)
    ]
    x_dev = x64.to(dev, dtype)
    # Per first-layer unit: the largest move any single column can make to it (a little
    # enlarged, so that float32 rounding of a + d cannot hide a sign change).
    wfirst = layers[0].weight
    wmax = torch.maximum(wfirst.amax(dim=1), -wfirst.amin(dim=1)) if p else wfirst.sum(dim=1)
    xmax = torch.maximum(x64.amax(dim=1), -x64.amin(dim=1)) if p else x64.sum(dim=1)
    wmax = wmax * (1 + 1e-4) + 1e-30
    pairs, pw = layers[0].pairs, layers[0].pair_weight
    # float64 rows of the first weight, kept only when pair terms need them per individual
    layers0_t = layers[0].weight.T if pairs is not None else None
    layers[0].weight = torch.empty(0)  # the float64 copy is no longer needed

    def pair_moves(k: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Individual k's columns in a pair with a non-zero product and, per such column c,
        the pairs' share of its first-layer weight: ``sum over pairs (c, d) of V[:, i] x_kd``
        (ablating c removes ``x_kc`` times it on top of ``W1[:, c] x_kc``)."""
        if pairs is None:
            return None
        xa, xb = x64[k, pairs[:, 0]], x64[k, pairs[:, 1]]
        live = torch.nonzero((xa != 0) & (xb != 0)).flatten()
        if len(live) == 0:
            return None
        a_cols, b_cols = pairs[live, 0], pairs[live, 1]
        touched, inv = torch.unique(torch.cat([a_cols, b_cols]), return_inverse=True)
        coef = torch.cat([xb[live], xa[live]])  # column a's share carries x_b, and vice versa
        vw = pw[:, torch.cat([live, live])].T * coef[:, None]  # (2 * live, H0)
        extra = torch.zeros((len(touched), pw.shape[0]), dtype=torch.float64)
        extra.index_add_(0, inv, vw)
        return touched, extra

    a0_64 = pre[0]

    h1 = int(w1t.shape[1])
    itemsize = torch.empty((), dtype=dtype).element_size()
    # blocks of individuals: memory-bound, and at most 16 so that progress moves
    block = min(16, _block_size(p, h1, itemsize))
    chunk = int(chunk_size) if chunk_size else 65536

    out = np.zeros((n, p), dtype=np.float32) if matrix else None
    shift = torch.zeros((p, m), dtype=torch.float64, device=dev) if per_trait else None

    def stop() -> None:
        if should_stop is not None and should_stop():
            raise AblationCancelled("ablation stopped")

    with torch.no_grad():
        for b0 in range(0, n, block):
            stop()
            ks = range(b0, min(n, b0 + block))
            if s0 is None:
                mstack = w1t.repeat(1, len(ks))
            else:
                mstack = torch.cat([sa_dev[0][k][:, None] * w1t for k in ks], dim=1)
            g = w0t @ mstack  # (p, block * H1): first-layer move of column c, mapped to layer 2
            lins, rows_k, rows_c = [], [], []
            for j, k in enumerate(ks):
                cols = torch.nonzero(x64[k]).flatten()  # zero columns: nothing changes
                if len(cols) == 0:
                    continue
                cols_dev = cols.to(dev)
                xk = x_dev[k].index_select(0, cols_dev)
                lin = g[:, j * h1 : (j + 1) * h1].index_select(0, cols_dev) * (-xk)[:, None]
                moves = pair_moves(k)
                bound = wmax
                if moves is not None:
                    # pair shares of the touched columns (all of them among cols: x != 0)
                    touched, extra = moves
                    pos = torch.searchsorted(cols, touched)
                    pos_dev, extra_dev = pos.to(dev), extra.to(dev, dtype)
                    xt = x_dev[k].index_select(0, touched.to(dev))
                    lin = lin.index_add(
                        0, pos_dev, (extra_dev @ mstack[:, j * h1 : (j + 1) * h1]) * (-xt)[:, None]
                    )
                    w_eff = layers0_t.index_select(0, touched) + extra
                    bound = torch.maximum(wmax, w_eff.abs().amax(dim=0) * (1 + 1e-4))
                if s0 is not None:
                    cand = torch.nonzero(a0_64[k].abs() <= bound * xmax[k]).flatten()
                    if len(cand):
                        cand_dev = cand.to(dev)
                        d_c = w0t.index_select(1, cand_dev).index_select(0, cols_dev)
                        if moves is not None:
                            d_c = d_c.index_add(0, pos_dev, extra_dev.index_select(1, cand_dev))
                        d_c = d_c * (-xk)[:, None]
                        u = pre_dev[0][k].index_select(0, cand_dev) + d_c
                        su = torch.where(u > 0, 1.0, s0).to(dtype)
                        corr = (su - sa_dev[0][k].index_select(0, cand_dev)) * u
                        lin = lin + corr @ w1t.index_select(0, cand_dev)
                lins.append(lin)
                rows_k.append(torch.full((len(cols),), k, dtype=torch.int64))
                rows_c.append(cols)
            del g
            if not lins:
                for k in ks if on_progress is not None else ():
                    on_progress(k + 1, n)
                continue
            lin_all = torch.cat(lins)
            kk = torch.cat(rows_k)
            cc = torch.cat(rows_c)
            kk_dev, cc_dev = kk.to(dev), cc.to(dev)
            for start in range(0, len(kk), chunk):
                if start:
                    stop()
                sl = slice(start, start + chunk)
                kr = kk_dev[sl]
                # From the second layer on, float64 forward passes of the ablated
                # individuals: the loss difference is then exact to float32 precision.
                z = _act(pre64[1].index_select(0, kr) + lin_all[sl].to(torch.float64), slopes[1])
                for i, (wt, b) in enumerate(rest64, start=2):
                    z = _act(torch.addmm(b, z, wt), slopes[i])
                if matrix:
                    r = z - t_dev.index_select(0, kr)
                    loss = ((r * r) * w_dev.index_select(0, kr)).sum(dim=1)
                    attr = (f_base.index_select(0, kr) - loss).cpu().numpy()
                    out[kk[sl].numpy(), cc[sl].numpy()] = attr
                if per_trait:
                    dy = z - y_dev.index_select(0, kr)
                    shift.index_put_((cc_dev[sl],), dy * dy, accumulate=True)
            if on_progress is not None:
                for k in ks:
                    on_progress(k + 1, n)

    return AblationOutput(
        matrix=out,
        shift=(shift / max(n, 1)).cpu().numpy() if per_trait else None,
    )
