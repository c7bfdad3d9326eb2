"""Weights set outside the gradient steps: the LASSO warm start of GQ, P(Q(LASSO(x))), and the
re-estimation of BatchNorm statistics over the training set (docs/method.md section 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..config import Tier
from ..io import Dataset
from ..module import with_pairs
from ..run import Run

if TYPE_CHECKING:
    from ..tl._lasso import LassoCVResult
    from ._trainer import Part

RECALIBRATE_CHUNK = 1024


@torch.no_grad()
def warm_start_genotype(run: Run, ds: Dataset) -> LassoCVResult:
    """GQ := Q applied to per-trait LASSO predictions (see ``TrainConfig.genotype_init``);
    returns the plain per-trait LASSO fit (reused as the run's LASSO baseline; with
    ``lasso_multitrait`` the warm start uses a second, multi-trait-penalised fit instead, or
    its blend with the plain fit by ``lasso_multitrait_weight``).

    On the model scale the LASSO predicts ``x_d B + b`` (``x_d``: dummy-coded genotypes); Q's
    first layer ``W1 t + b1`` composed with it is one Linear layer on the one-hot columns,
    ``W1 B^T`` on the dummy columns (zero on each locus's first state) with bias ``W1 b +
    b1``. Q's other layers, BatchNorm statistics included, are copied, so P(GQ(x)) equals
    P(Q(LASSO(x))) exactly. A trait without a LASSO fit predicts its training mean. With
    ``interaction_loci`` the LASSO's prediction includes its pair terms
    (:func:`gpatlas_core.tl._pairs.fit_pairs`) and GQ's first layer becomes a
    :class:`~gpatlas_core.module.PairLinear` whose pair weights are ``W1`` times their
    coefficients."""
    from ..tl._baselines import blend_lasso_fits, dummy_columns, fit_lasso, fit_lasso_multitrait

    cfg = run.config.train
    rows = run.train_rows(ds)
    fit = fit_lasso(ds, rows)
    warm = fit
    if cfg.lasso_multitrait > 0:
        warm = fit_lasso_multitrait(
            ds, rows, fit, gamma=cfg.lasso_multitrait, window=cfg.lasso_multitrait_window
        )
        if cfg.lasso_multitrait_weight < 1.0:
            warm = blend_lasso_fits(fit, warm, cfg.lasso_multitrait_weight)
    pair_fit = None
    if cfg.interaction_loci:
        from ..tl._pairs import fit_pairs

        pair_fit = fit_pairs(ds, rows, warm, top_loci=cfg.interaction_loci)
    ok = np.isfinite(warm.intercept)
    coef = np.where(ok[None, :], np.nan_to_num(warm.coef), 0.0)
    icpt = np.where(ok, np.nan_to_num(warm.intercept), 0.0)
    if run.scaler is not None:
        coef = coef / run.scaler.std[None, :]
        icpt = (icpt - run.scaler.mean) / run.scaler.std
    icpt = np.where(ok, icpt, run.fill)
    q0 = run.q[0]
    w1 = q0.weight.detach().to("cpu", torch.float64)
    b1 = q0.bias.detach().to("cpu", torch.float64)
    weight = torch.zeros(w1.shape[0], ds.n_allele_columns, dtype=torch.float64)
    weight[:, torch.from_numpy(dummy_columns(ds))] = w1 @ torch.from_numpy(coef).T
    bias = w1 @ torch.from_numpy(icpt) + b1
    # Centre each locus's weights over its states (exactly one state is 1 per locus, so the
    # prediction is unchanged): the effect is shared by all the locus's allele columns, not
    # put on all but the first, and ablating any allele of a selected locus shows it.
    locus = torch.from_numpy(ds.allele_columns["locus"].to_numpy().astype(np.int64))
    n_states = torch.bincount(locus, minlength=ds.n_loci).to(torch.float64)
    sums = torch.zeros(w1.shape[0], ds.n_loci, dtype=torch.float64)
    sums.index_add_(1, locus, weight)
    means = sums / n_states.clamp_min(1.0)
    weight -= means[:, locus]
    bias += means.sum(dim=1)
    gq = run.gq
    if pair_fit is not None and pair_fit.n_pairs:
        pc = np.where(ok[None, :], pair_fit.coef, 0.0)
        pi = np.where(ok, pair_fit.intercept, 0.0)
        if run.scaler is not None:
            pc = pc / run.scaler.std[None, :]
            pi = pi / run.scaler.std
        with_pairs(gq, torch.from_numpy(pair_fit.pairs))
        gq[0].pair_weight.copy_((w1 @ torch.from_numpy(pc).T).to(gq[0].pair_weight.dtype))
        bias += w1 @ torch.from_numpy(pi)
    gq[0].weight.copy_(weight.to(gq[0].weight.dtype))
    gq[0].bias.copy_(bias.to(gq[0].bias.dtype))
    rest = {k: v for k, v in run.q.state_dict().items() if not k.startswith("0.")}
    gq.load_state_dict({**gq.state_dict(), **rest})
    loci = ds.allele_columns["locus"].to_numpy()[dummy_columns(ds)]
    selected = np.unique(loci[(np.abs(coef) > 0).any(axis=1)])
    run.info["warm_start"] = {"lasso_selected_markers": len(selected)}
    if warm is not fit:
        run.info["warm_start"]["multitrait_gamma"] = cfg.lasso_multitrait
        run.info["warm_start"]["multitrait_weight"] = cfg.lasso_multitrait_weight
    if pair_fit is not None:
        run.info["warm_start"]["interaction_pairs"] = pair_fit.n_pairs
    return fit


@torch.no_grad()
def recalibrate_bn(run: Run, tier: Tier, train: Part, *, max_rows: int | None = None) -> None:
    """Re-estimate the BatchNorm running statistics of the networks trained in ``tier`` as a
    plain average over the training part ``train`` (noise-free inputs, in chunks of
    ``RECALIBRATE_CHUNK`` rows: the exact training-set mean and unbiased variance when the
    training set fits in one chunk, the average of the chunks' statistics otherwise).

    With the reference's momentum 0.8 (PyTorch semantics) the running statistics are ~the
    last batch of 16, so eval-mode predictions depend on which individuals came last; with
    genotype noise they are also statistics of noisy inputs. Tier 1 re-estimates Q and P
    (before tier 2 trains GQ against the frozen P); tier 2 only GQ. ``max_rows`` uses the
    first rows of the training part only (the per-epoch losses).
    """
    bs = RECALIBRATE_CHUNK
    n = train.n if max_rows is None else min(train.n, max_rows)
    nets = [run.q, run.p] if tier == "phenotype" else [run.gq]
    bns = [mod for net in nets for mod in net.modules() if isinstance(mod, nn.BatchNorm1d)]
    if not bns or n < 2:
        return
    saved = [mod.momentum for mod in bns]
    for mod in bns:
        mod.reset_running_stats()
        mod.momentum = None  # cumulative moving average
    for net in nets:
        net.train()
    for i in range(0, n, bs):
        j = min(i + bs, n)
        if j - i < 2:
            break
        if tier == "phenotype":
            run.p(run.q(train.t[i:j]))
        else:
            run.gq(train.onehot(slice(i, j)))
    for mod, mom in zip(bns, saved, strict=True):
        mod.momentum = mom
    for net in nets:
        net.eval()
