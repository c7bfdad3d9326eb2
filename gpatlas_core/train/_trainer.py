"""What the loop trains with: the split parts on the device, the seeded noise generator, and per
tier the optimiser, one step's loss and the losses reported after an epoch.

The genotypes live on the device as int8 allele-state codes (one byte per individual and
marker); each batch's one-hot rows are made there when a step or an evaluation needs them
(:meth:`Part.onehot`), exactly the 0/1 values a stored one-hot matrix would hold."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..config import Tier
from ..io import Dataset
from ..module import GroupedLinear, PairLinear, encode_distribution, trunk_length
from ..run import LOSS_COLUMNS, Run
from ._kernels import (
    FirstLayer,
    genotype_flip_probability,
    kl_gaussians,
    kl_standard_normal,
    masked_mse,
    penalty,
    reparameterise,
)
from ._warm_start import recalibrate_bn


@dataclass
class Part:
    """One split part on the device: genotype codes (int8, missing calls already filled by the
    dataset's policy), model-scale phenotypes, mask; ``offsets`` (int64, one per locus) and
    ``n_cols`` place each locus's states among the one-hot columns."""

    codes: torch.Tensor
    t: torch.Tensor
    m: torch.Tensor
    offsets: torch.Tensor
    n_cols: int

    @property
    def n(self) -> int:
        return int(self.t.shape[0])

    def onehot(self, idx: torch.Tensor | slice) -> torch.Tensor:
        """Float32 one-hot genotypes of the rows ``idx`` (a slice or an index tensor)."""
        codes = self.codes[idx]
        out = torch.zeros((codes.shape[0], self.n_cols), dtype=torch.float32, device=codes.device)
        if codes.numel():
            out.scatter_(1, codes.long() + self.offsets, 1.0)
        return out


class Trainer:
    """The data on ``device`` and the tier-specific pieces of a training step.

    All noise comes from ``gen``, one ``torch.Generator`` on the device (seeded or restored by
    the caller); nothing touches torch's or numpy's global random state."""

    def __init__(self, dataset: Dataset, run: Run, device: torch.device) -> None:
        self.run, self.cfg, self.dev = run, run.config.train, device
        self.dataset = dataset
        self.lasso_fit = None  # the warm start's LASSO, reused as the run's LASSO baseline
        self.support: torch.Tensor | None = None
        self.wt: torch.Tensor | None = None  # tier 2: GQ's first weight, transposed
        self.warm = self.cfg.genotype_init == "lasso"
        sets = run.split["set"].to_numpy()
        t_all = run.scale(dataset.phenotypes)
        m_all = ~np.isnan(dataset.phenotypes)
        if not self.cfg.mask_missing:
            m_all = np.ones_like(m_all)
        offsets = torch.from_numpy(dataset.column_offsets).to(device)[None, :]
        self.parts: dict[str, Part] = {}
        for name in ("train", "validation", "test"):
            rows = np.flatnonzero(sets == name)
            self.parts[name] = Part(
                torch.from_numpy(dataset.effective_codes(rows)).to(device),
                torch.from_numpy(t_all[rows]).to(device),
                torch.from_numpy(m_all[rows].astype(np.float32)).to(device),
                offsets,
                dataset.n_allele_columns,
            )
        self.rows = run.losses[LOSS_COLUMNS].values.tolist() if len(run.losses) else []
        self.gen = torch.Generator(device=device)
        self.flip = genotype_flip_probability(self.cfg.gen_noise)
        if self.cfg.flip_probability is not None:
            self.flip = float(self.cfg.flip_probability)

    def trained(self, tier: Tier) -> list[nn.Module]:
        """The networks ``tier`` trains: Q and P, or GQ (with their log-variance heads in a
        variational run)."""
        run = self.run
        if tier == "phenotype":
            return [run.q, run.p] + ([run.q_logvar] if run.q_logvar is not None else [])
        return [run.gq] + ([run.gq_logvar] if run.gq_logvar is not None else [])

    def recalibrates(self, tier: Tier) -> bool:
        """BatchNorm recalibration after ``tier``: never for a warm-started GQ, whose statistics
        are Q's (they are part of the map P(Q(LASSO(x))) it starts from)."""
        return self.cfg.recalibrate_bn and not (tier == "genotype" and self.warm)

    @torch.no_grad()
    def loss_on(self, tier: Tier, part: str) -> float | None:
        """Eval-mode masked MSE of ``tier``'s map on a split part (None when it is empty)."""
        d = self.parts[part]
        if d.n == 0:
            return None
        run = self.run
        nets = (run.q, run.p) if tier == "phenotype" else (run.gq, run.p)
        for net in nets:
            net.eval()
        total = torch.zeros((), device=self.dev)
        for i in range(0, d.n, 512):
            inp = d.t[i : i + 512] if tier == "phenotype" else d.onehot(slice(i, i + 512))
            out = nets[1](nets[0](inp))
            total += (((out - d.t[i : i + 512]) ** 2) * d.m[i : i + 512]).sum()
        return float(total / d.m.sum().clamp_min(1.0))

    @torch.no_grad()
    def init_variance_head(self) -> None:
        """After the LASSO warm start: GQ's log-variance head starts constant (zero weights)
        at the per-dimension minimiser of tier 2's KL term, ``log mean(exp(logvar_t) + (mu_t
        - mu_g)^2)``, over the validation part (held-out code errors) or, without one, the
        training part. At the fine-tuning's small learning rate it would hardly move from a
        random start."""
        run = self.run
        part = self.parts["validation"] if self.parts["validation"].n > 1 else self.parts["train"]
        run.q.eval()
        run.gq.eval()
        total = torch.zeros(self.run.config.model.latent, dtype=torch.float64, device=self.dev)
        for i in range(0, part.n, 512):
            mu_t, logvar_t = encode_distribution(run.q, run.q_logvar, part.t[i : i + 512])
            mu_g = run.gq(part.onehot(slice(i, i + 512)))
            total += (torch.exp(logvar_t) + (mu_t - mu_g) ** 2).sum(0).double()
        var = (total / max(part.n, 1)).clamp_min(1e-6)
        run.gq_logvar.weight.zero_()
        run.gq_logvar.bias.copy_(torch.log(var).to(run.gq_logvar.bias.dtype))

    def setup(self, tier: Tier) -> tuple[list[torch.Tensor], torch.optim.Optimizer]:
        """The parameters ``tier`` trains and their optimiser. Tier 2 freezes P and swaps GQ's
        first weight for its transpose ``wt``, whose gradient :class:`FirstLayer` writes."""
        run, cfg = self.run, self.cfg
        if tier == "phenotype":
            run.p.requires_grad_(True)
            params = [prm for net in self.trained(tier) for prm in net.parameters()]
            self.wt = None
        elif isinstance(run.gq[0], GroupedLinear):
            # the block-sparse first layer trains by autograd on its non-zero weights
            run.p.requires_grad_(False)
            params = list(run.gq.parameters())
            self.wt = None
        else:
            run.p.requires_grad_(False)
            first = run.gq[0]
            self.wt = first.weight.detach().T.contiguous()
            self.wt.grad = torch.zeros_like(self.wt)  # filled by FirstLayer.backward
            first.weight = nn.Parameter(self.wt.T, requires_grad=False)
            params = [self.wt] + [prm for prm in run.gq.parameters() if prm is not first.weight]
            if run.gq_logvar is not None:
                params += list(run.gq_logvar.parameters())
                run.q.eval()  # the frozen phenotype encoder's distribution is tier 2's target
        fused = self.dev.type in ("cpu", "cuda")
        lr = cfg.genotype_lr if tier == "genotype" and cfg.genotype_lr is not None else cfg.lr
        if tier == "genotype" and self.warm:
            # the warm start's support: inputs with a non-zero weight (the LASSO-selected
            # markers' columns); the others keep zero weights and zero gradients
            self.support = (self.wt != 0).any(dim=1).to(self.wt.dtype)
        if tier == "genotype" and cfg.weight_decay:
            opt = torch.optim.AdamW(
                params, lr=lr, betas=cfg.betas, weight_decay=cfg.weight_decay, fused=fused
            )
            return params, opt
        return params, torch.optim.Adam(params, lr=lr, betas=cfg.betas, fused=fused)

    def finish_tier(self, tier: Tier) -> None:
        """Undo :meth:`setup`: GQ gets back an ordinary first weight, P its gradients."""
        if tier == "genotype" and self.wt is not None:
            self.wt.grad = None
            self.run.gq[0].weight = nn.Parameter(self.wt.T.contiguous())
            self.wt = None
        self.run.p.requires_grad_(True)

    def step_loss(self, tier: Tier, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss on the training rows ``idx`` with fresh noise, and the L1/L2 penalty value (in
        a variational run the loss includes the KL term, whose value is reported with the
        penalty)."""
        run, cfg, d = self.run, self.cfg, self.parts["train"]
        t, m = d.t[idx], d.m[idx]
        if tier == "phenotype":
            noisy = t + math.sqrt(cfg.sd_noise) * torch.randn(
                t.shape, generator=self.gen, device=self.dev
            )
            if run.q_logvar is None:
                return masked_mse(run.p(run.q(noisy)), t, m), torch.zeros((), device=self.dev)
            mu, logvar = encode_distribution(run.q, run.q_logvar, noisy)
            z = reparameterise(mu, logvar, self.gen)
            kl = cfg.beta * kl_standard_normal(mu, logvar).mean() / t.shape[1]
            return masked_mse(run.p(z), t, m) + kl, kl.detach()
        x = d.onehot(idx)
        u = torch.rand(x.shape, generator=self.gen, device=self.dev)
        noisy = torch.where(u < self.flip, 1.0 - x, x)
        if self.wt is None:  # grouped first layer
            fit = masked_mse(run.p(run.gq(noisy)), t, m)
            if not (cfg.l1 or cfg.l2):
                return fit, torch.zeros((), device=self.dev)
            # the reference penalty on s = per-column weight sums (one block row per column);
            # added for its gradient only, so the reported loss stays the fit, as below
            s = run.gq[0].weight_blocks.sum(1)
            reg = cfg.l1 * s.abs().sum() + cfg.l2 * torch.linalg.vector_norm(s)
            return fit + reg - reg.detach(), reg.detach()
        if cfg.l1 or cfg.l2:
            with torch.no_grad():
                reg, r = penalty(self.wt, cfg.l1, cfg.l2)
        else:
            reg, r = torch.zeros((), device=self.dev), torch.zeros_like(self.wt[:, 0])
        first = run.gq[0]
        h = FirstLayer.apply(noisy, self.wt, first.bias, r, self.wt.grad, self.support)
        if isinstance(first, PairLinear) and first.n_pairs:
            h = h + first.pair_term(noisy)  # interaction terms (autograd: pair_weight)
        k = trunk_length(run.gq)
        trunk = noisy
        for i, mod in enumerate(list(run.gq)[1:], start=1):
            if i == k:
                trunk = h
            h = mod(h)
        loss = masked_mse(run.p(h), t, m)
        if run.gq_logvar is None:
            return loss, reg
        # the variance head: KL(Q's distribution || N(mu_g, exp(logvar_g))), the mean held
        # fixed in this term (it is trained through the decoder alone, as without the head)
        with torch.no_grad():
            mu_t, logvar_t = encode_distribution(run.q, run.q_logvar, t)
        kl = kl_gaussians(mu_t, logvar_t, h.detach(), run.gq_logvar(trunk)).mean() / t.shape[1]
        return loss + kl, reg + kl.detach()

    def epoch_losses(self, tier: Tier, use_val: bool) -> tuple[float | None, float | None]:
        """Test and validation loss after an epoch. With ``recalibrate_bn`` they are computed
        with BatchNorm statistics re-estimated on (up to 512) training rows, as the final model
        will be, and the training-time running statistics are put back afterwards."""
        bns = [
            m for net in self.trained(tier) for m in net.modules() if isinstance(m, nn.BatchNorm1d)
        ]
        keep = None
        if self.recalibrates(tier):
            keep = [
                (m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone())
                for m in bns
            ]
            recalibrate_bn(self.run, tier, self.parts["train"], max_rows=512)
        test_loss = self.loss_on(tier, "test")
        val_loss = self.loss_on(tier, "validation") if use_val else None
        if keep is not None:
            with torch.no_grad():
                for m, (mean, var, nbt) in zip(bns, keep, strict=True):
                    m.running_mean.copy_(mean)
                    m.running_var.copy_(var)
                    m.num_batches_tracked.copy_(nbt)
        return test_loss, val_loss
