"""The two-tier training loop (method.md section 2).

Tier 1 trains the phenotype encoder Q and decoder P as a denoising autoencoder; tier 2 freezes
P (eval mode, no gradients) and trains the genotype encoder GQ so that P(GQ(G~)) reproduces T.

The loop keeps every tensor on the device once and draws all noise there from one seeded
``torch.Generator``; nothing touches torch's or numpy's global random state. Two exact
rewrites of the reference computation make a tier-2 step several times faster on a CPU
(``bench/bench_training.py``):

- The first GQ layer is stored transposed, ``Wt`` of shape (inputs, hidden), and its gradient is
  one matrix product ``[x; r]^T @ [delta; 1]`` that adds the data term ``x^T delta`` and the
  L1/L2 term in one go. The penalty ``l1 * ||s||_1 + l2 * ||s||_2`` with ``s = Wt.sum(1)``
  has gradient ``r = l1 * sign(s) + l2 * s / ||s||_2`` for every hidden unit of column ``j``,
  exactly what autograd computes for the reference expression.
- Adam is PyTorch's fused implementation: the same update rule, one pass over memory.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch import nn

from .config import GPAtlasConfig
from .io import DataError, Dataset
from .run import LOSS_COLUMNS, Run, Scaler, empty_networks

Tier = Literal["phenotype", "genotype"]
_CHECKPOINT_EVERY_S = 60.0
_RECALIBRATE_CHUNK = 1024


@dataclass(frozen=True)
class EpochInfo:
    """What ``on_epoch`` receives after every epoch. Losses are masked MSEs on the model scale
    (``test_loss`` on the test split, ``validation_loss`` on the validation part or None)."""

    tier: Tier
    epoch: int
    n_epochs: int
    train_loss: float
    test_loss: float
    seconds: float
    validation_loss: float | None = None


def resolve_device(device: str = "auto") -> torch.device:
    """``auto``: CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise DataError("device 'cuda' was requested but no CUDA GPU is available")
    return torch.device(device)


def genotype_flip_probability(gen_noise: float) -> float:
    """Per-bit flip probability of the reference genotype corruption.

    The reference draws ``pos, neg ~ Bernoulli(q)`` with ``q = (1 - gen_noise) / 2`` and keeps
    ``1[G + pos - neg > 0]``: a 1 becomes 0 iff ``neg and not pos``, a 0 becomes 1 iff ``pos
    and not neg``, each with probability ``q (1 - q)`` independently per bit. The loop draws
    that flip directly (same distribution, one uniform per bit).
    """
    q = (1.0 - gen_noise) / 2.0
    return q * (1.0 - q)


def make_split(
    samples: np.ndarray, *, test_fraction: float, validation_fraction: float, seed: int
) -> pd.DataFrame:
    """Random seeded split: ``sample, set`` with set in train / validation / test (dataset order).

    ``validation_fraction`` is a share of the non-test individuals.
    """
    n = len(samples)
    if not 0.0 <= test_fraction < 1.0 or not 0.0 <= validation_fraction < 1.0:
        raise DataError("test and validation fractions must be in [0, 1)")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    order = rng.permutation(n)
    n_test = round(n * test_fraction)
    n_val = round((n - n_test) * validation_fraction)
    labels = np.full(n, "train", dtype=object)
    labels[order[:n_test]] = "test"
    labels[order[n_test : n_test + n_val]] = "validation"
    return pd.DataFrame({"sample": np.asarray(samples).astype(str), "set": labels})


def _init_networks(nets: tuple[nn.Sequential, ...], seed: int) -> None:
    """PyTorch's default Linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights
    and biases, drawn on the CPU from a generator seeded with ``seed`` (same on CPU and GPU)."""
    gen = torch.Generator().manual_seed(seed)
    for net in nets:
        for mod in net.modules():
            if isinstance(mod, nn.Linear):
                bound = 1.0 / math.sqrt(mod.in_features) if mod.in_features else 0.0
                for prm in (mod.weight, mod.bias):
                    cpu = torch.empty(prm.shape).uniform_(-bound, bound, generator=gen)
                    with torch.no_grad():
                        prm.copy_(cpu)


def _masked_mse(out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over observed cells (mask 1); with an all-ones mask it is MSE."""
    return ((out - target) ** 2 * mask).sum() / mask.sum().clamp_min(1.0)


class _FirstLayer(torch.autograd.Function):
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


def _penalty(wt: torch.Tensor, l1: float, l2: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Value and per-column gradient of ``l1 ||s||_1 + l2 ||s||_2``, ``s = wt.sum(1)``."""
    s = wt.sum(1)
    norm = torch.linalg.vector_norm(s)
    value = l1 * s.abs().sum() + l2 * norm
    r = l1 * torch.sign(s) + l2 * s / norm.clamp_min(torch.finfo(s.dtype).tiny)
    return value, r


@dataclass
class _Data:
    """One split part on the device: genotypes (uint8), model-scale phenotypes, mask."""

    x: torch.Tensor
    t: torch.Tensor
    m: torch.Tensor

    @property
    def n(self) -> int:
        return int(self.t.shape[0])


class _Trainer:
    def __init__(self, dataset: Dataset, run: Run, device: torch.device) -> None:
        self.run, self.cfg, self.dev = run, run.config.train, device
        self.dataset = dataset
        self.lasso_fit = None  # the warm start's LASSO, reused as the run's LASSO baseline
        self.support: torch.Tensor | None = None
        self.warm = self.cfg.genotype_init == "lasso"
        sets = run.split["set"].to_numpy()
        x_all = dataset.onehot(dtype=np.uint8)
        t_all = run.scale(dataset.phenotypes)
        m_all = ~np.isnan(dataset.phenotypes)
        if not self.cfg.mask_missing:
            m_all = np.ones_like(m_all)
        self.parts = {}
        for name in ("train", "validation", "test"):
            rows = np.flatnonzero(sets == name)
            self.parts[name] = _Data(
                torch.from_numpy(x_all[rows]).to(device),
                torch.from_numpy(t_all[rows]).to(device),
                torch.from_numpy(m_all[rows].astype(np.float32)).to(device),
            )
        self.rows = run.losses[LOSS_COLUMNS].values.tolist() if len(run.losses) else []
        self.gen = torch.Generator(device=device)
        self.flip = genotype_flip_probability(self.cfg.gen_noise)
        if self.cfg.flip_probability is not None:
            self.flip = float(self.cfg.flip_probability)

    # --------------------------------------------------------------- forward
    @torch.no_grad()
    def loss_on(self, tier: Tier, part: str) -> float | None:
        d = self.parts[part]
        if d.n == 0:
            return None
        run = self.run
        nets = (run.q, run.p) if tier == "phenotype" else (run.gq, run.p)
        for net in nets:
            net.eval()
        total = torch.zeros((), device=self.dev)
        for i in range(0, d.n, 512):
            inp = d.t[i : i + 512] if tier == "phenotype" else d.x[i : i + 512].float()
            out = nets[1](nets[0](inp))
            total += (((out - d.t[i : i + 512]) ** 2) * d.m[i : i + 512]).sum()
        return float(total / d.m.sum().clamp_min(1.0))

    def _setup(self, tier: Tier):
        run, cfg = self.run, self.cfg
        if tier == "phenotype":
            run.p.requires_grad_(True)
            params = [*run.q.parameters(), *run.p.parameters()]
            self.wt = None
        else:
            run.p.requires_grad_(False)
            first = run.gq[0]
            self.wt = first.weight.detach().T.contiguous()
            self.wt.grad = torch.zeros_like(self.wt)  # filled by _FirstLayer.backward
            first.weight = nn.Parameter(self.wt.T, requires_grad=False)
            params = [self.wt] + [prm for prm in run.gq.parameters() if prm is not first.weight]
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

    def _finish_tier(self, tier: Tier) -> None:
        if tier == "genotype" and self.wt is not None:
            self.wt.grad = None
            self.run.gq[0].weight = nn.Parameter(self.wt.T.contiguous())
            self.wt = None
        self.run.p.requires_grad_(True)

    def _step_loss(self, tier: Tier, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        run, cfg, d = self.run, self.cfg, self.parts["train"]
        t, m = d.t[idx], d.m[idx]
        if tier == "phenotype":
            noisy = t + math.sqrt(cfg.sd_noise) * torch.randn(
                t.shape, generator=self.gen, device=self.dev
            )
            return _masked_mse(run.p(run.q(noisy)), t, m), torch.zeros((), device=self.dev)
        x = d.x[idx].float()
        u = torch.rand(x.shape, generator=self.gen, device=self.dev)
        noisy = torch.where(u < self.flip, 1.0 - x, x)
        if cfg.l1 or cfg.l2:
            with torch.no_grad():
                reg, r = _penalty(self.wt, cfg.l1, cfg.l2)
        else:
            reg, r = torch.zeros((), device=self.dev), torch.zeros_like(self.wt[:, 0])
        first = run.gq[0]
        h = _FirstLayer.apply(noisy, self.wt, first.bias, r, self.wt.grad, self.support)
        for mod in list(run.gq)[1:]:
            h = mod(h)
        return _masked_mse(run.p(h), t, m), reg

    # ------------------------------------------------------------------ tiers
    def run_tier(self, tier: Tier, state: dict, should_stop, on_epoch, save_cb) -> bool:
        """Train one tier from ``state``; returns False when stopped."""
        run, cfg = self.run, self.cfg
        n_epochs = cfg.epochs_phenotype if tier == "phenotype" else cfg.epochs_genotype
        fresh = state["epoch"] == 0 and state.get("perm") is None and state.get("opt") is None
        use_val = self.parts["validation"].n > 0
        if tier == "genotype" and self.warm and fresh:
            self._warm_start_genotype()
            if use_val:  # epoch 0, the warm start itself, is a candidate for the best epoch
                run.gq.eval()
                state.update(best=self.loss_on(tier, "validation"), best_epoch=0, bad=0)
                state["best_state"] = {
                    f"0.{k}": v.detach().clone() for k, v in run.gq.state_dict().items()
                }
        params, opt = self._setup(tier)
        trained = [run.q, run.p] if tier == "phenotype" else [run.gq]
        if state.get("opt") is not None:
            sd = opt.state_dict()
            sd["state"] = state["opt"]
            opt.load_state_dict(sd)
        d = self.parts["train"]
        bs = cfg.batch_size
        n_batches = math.ceil(d.n / bs)
        patience = cfg.early_stopping_patience
        if tier == "phenotype" and cfg.phenotype_patience is not None:
            patience = cfg.phenotype_patience
        last_save = time.perf_counter()
        while state["epoch"] < n_epochs and not (patience and state["bad"] >= patience):
            for net in trained:
                net.train(not (tier == "genotype" and self.warm))  # warm start: BN fixed
            run.p.train(tier == "phenotype")
            t0 = time.perf_counter()
            if state.get("perm") is None:
                state["perm"] = torch.randperm(d.n, generator=self.gen, device=self.dev)
                state.update(batch=0, loss_sum=torch.zeros((), device=self.dev), reg_sum=0.0)
                state.update(n_done=0, seconds=0.0)
            perm = state["perm"]
            for b in range(state["batch"], n_batches):
                idx = perm[b * bs : (b + 1) * bs]
                if idx.numel() < 2:  # BatchNorm cannot train on a single individual
                    state["batch"] = b + 1
                    continue
                loss, reg = self._step_loss(tier, idx)
                for prm in params[1 if self.wt is not None else 0 :]:
                    prm.grad = None
                loss.backward()
                opt.step()
                state["loss_sum"] = state["loss_sum"] + loss.detach()
                state["reg_sum"] = state["reg_sum"] + reg
                state["n_done"] += 1
                state["batch"] = b + 1
                if should_stop is not None and should_stop():
                    state["seconds"] += time.perf_counter() - t0
                    state["opt"] = opt.state_dict()["state"]
                    self._finish_tier(tier)
                    return False
            seconds = state["seconds"] + time.perf_counter() - t0
            n_done = max(state["n_done"], 1)
            train_loss = float(state["loss_sum"]) / n_done
            reg_loss = float(state["reg_sum"]) / n_done
            test_loss, val_loss = self._epoch_losses(tier, use_val)
            epoch = state["epoch"] + 1
            row = [tier, epoch, train_loss, test_loss, val_loss, reg_loss, seconds]
            self.rows.append([np.nan if v is None else v for v in row])
            run.losses = pd.DataFrame(self.rows, columns=LOSS_COLUMNS)
            if use_val:
                if val_loss < state["best"]:
                    state.update(best=val_loss, best_epoch=epoch, bad=0)
                    state["best_state"] = {
                        f"{i}.{k}": v.detach().clone()
                        for i, net in enumerate(trained)
                        for k, v in net.state_dict().items()
                    }
                else:
                    state["bad"] += 1
            avg_from = cfg.average_genotype_from
            if tier == "genotype" and avg_from is not None and epoch > avg_from:
                _accumulate_average(state, run.gq)
            state.update(epoch=epoch, perm=None)
            if on_epoch is not None:
                on_epoch(
                    EpochInfo(
                        tier=tier,
                        epoch=epoch,
                        n_epochs=n_epochs,
                        train_loss=train_loss,
                        test_loss=test_loss if test_loss is not None else float("nan"),
                        seconds=seconds,
                        validation_loss=val_loss,
                    )
                )
            if save_cb is not None and time.perf_counter() - last_save > _CHECKPOINT_EVERY_S:
                state["opt"] = opt.state_dict()["state"]
                save_cb(tier, state)
                last_save = time.perf_counter()
        if state.get("avg") is not None:  # weight averaging replaces the best-epoch weights
            run.gq.load_state_dict({**run.gq.state_dict(), **state["avg"]})
            run.info.setdefault("averaged_epochs", {})[tier] = state["n_avg"]
        elif use_val and state.get("best_state") is not None:
            best = state["best_state"]
            for i, net in enumerate(trained):
                prefix = f"{i}."
                net.load_state_dict(
                    {k[len(prefix) :]: v for k, v in best.items() if k.startswith(prefix)}
                )
            run.info.setdefault("best_epoch", {})[tier] = state["best_epoch"]
        run.info.setdefault("epochs_run", {})[tier] = state["epoch"]
        self._finish_tier(tier)
        if self._recalibrates(tier) or state.get("avg") is not None:
            self.recalibrate_bn(tier)
        return True

    def _recalibrates(self, tier: Tier) -> bool:
        """BatchNorm recalibration after ``tier``: never for a warm-started GQ, whose statistics
        are Q's (they are part of the map P(Q(LASSO(x))) it starts from)."""
        return self.cfg.recalibrate_bn and not (tier == "genotype" and self.warm)

    @torch.no_grad()
    def _warm_start_genotype(self) -> None:
        """GQ := Q applied to per-trait LASSO predictions (see ``TrainConfig.genotype_init``).

        On the model scale the LASSO predicts ``x_d B + b`` (``x_d``: dummy-coded genotypes); Q's
        first layer ``W1 t + b1`` composed with it is one Linear layer on the one-hot columns,
        ``W1 B^T`` on the dummy columns (zero on each locus's first state) with bias ``W1 b +
        b1``. Q's other layers, BatchNorm statistics included, are copied, so P(GQ(x)) equals
        P(Q(LASSO(x))) exactly. A trait without a LASSO fit predicts its training mean."""
        from .tl._baselines import dummy_columns, fit_lasso

        run, ds = self.run, self.dataset
        fit = fit_lasso(ds, run.train_rows(ds))
        self.lasso_fit = fit
        ok = np.isfinite(fit.intercept)
        coef = np.where(ok[None, :], np.nan_to_num(fit.coef), 0.0)
        icpt = np.where(ok, np.nan_to_num(fit.intercept), 0.0)
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
        gq[0].weight.copy_(weight.to(gq[0].weight.dtype))
        gq[0].bias.copy_(bias.to(gq[0].bias.dtype))
        rest = {k: v for k, v in run.q.state_dict().items() if not k.startswith("0.")}
        gq.load_state_dict({**gq.state_dict(), **rest})
        loci = ds.allele_columns["locus"].to_numpy()[dummy_columns(ds)]
        selected = np.unique(loci[(np.abs(coef) > 0).any(axis=1)])
        run.info["warm_start"] = {"lasso_selected_markers": len(selected)}

    @torch.no_grad()
    def recalibrate_bn(self, tier: Tier, *, max_rows: int | None = None) -> None:
        """Re-estimate the BatchNorm running statistics of the networks trained in ``tier`` as a
        plain average over the training set (noise-free inputs, in chunks of
        ``_RECALIBRATE_CHUNK`` rows: the exact training-set mean and unbiased variance when the
        training set fits in one chunk, the average of the chunks' statistics otherwise).

        With the reference's momentum 0.8 (PyTorch semantics) the running statistics are ~the
        last batch of 16, so eval-mode predictions depend on which individuals came last; with
        genotype noise they are also statistics of noisy inputs. Tier 1 re-estimates Q and P
        (before tier 2 trains GQ against the frozen P); tier 2 only GQ. ``max_rows`` uses the
        first rows of the training part only (the per-epoch losses).
        """
        run, d, bs = self.run, self.parts["train"], _RECALIBRATE_CHUNK
        n = d.n if max_rows is None else min(d.n, max_rows)
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
                run.p(run.q(d.t[i:j]))
            else:
                run.gq(d.x[i:j].float())
        for mod, mom in zip(bns, saved, strict=True):
            mod.momentum = mom
        for net in nets:
            net.eval()

    def _epoch_losses(self, tier: Tier, use_val: bool) -> tuple[float | None, float | None]:
        """Test and validation loss after an epoch. With ``recalibrate_bn`` they are computed
        with BatchNorm statistics re-estimated on (up to 512) training rows, as the final model
        will be, and the training-time running statistics are put back afterwards."""
        trained = [self.run.q, self.run.p] if tier == "phenotype" else [self.run.gq]
        bns = [m for net in trained for m in net.modules() if isinstance(m, nn.BatchNorm1d)]
        keep = None
        if self._recalibrates(tier):
            keep = [
                (m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone())
                for m in bns
            ]
            self.recalibrate_bn(tier, max_rows=512)
        test_loss = self.loss_on(tier, "test")
        val_loss = self.loss_on(tier, "validation") if use_val else None
        if keep is not None:
            with torch.no_grad():
                for m, (mean, var, nbt) in zip(bns, keep, strict=True):
                    m.running_mean.copy_(mean)
                    m.running_var.copy_(var)
                    m.num_batches_tracked.copy_(nbt)
        return test_loss, val_loss


def _accumulate_average(state: dict, net: nn.Module) -> None:
    """Running mean of ``net``'s floating-point parameters over epoch ends (stochastic weight
    averaging, Izmailov et al. 2018); BatchNorm statistics are re-estimated afterwards."""
    cur = {k: v.detach() for k, v in net.named_parameters()}
    if state.get("avg") is None:
        state["avg"] = {k: v.clone() for k, v in cur.items()}
        state["n_avg"] = 1
        return
    state["n_avg"] += 1
    for k, v in cur.items():
        state["avg"][k] += (v - state["avg"][k]) / state["n_avg"]


# -------------------------------------------------------------- resumable state
def _fresh_state() -> dict:
    return {"epoch": 0, "perm": None, "batch": 0, "best": math.inf, "bad": 0, "opt": None}


def _pack_state(tier: Tier, state: dict, gen: torch.Generator) -> dict:
    """The training position as JSON-able metadata plus tensors (for safetensors)."""
    tensors: dict[str, torch.Tensor] = {"generator": gen.get_state()}
    meta = {
        "tier": tier,
        "device": gen.device.type,
        **{
            k: state.get(k)
            for k in ("epoch", "batch", "bad", "best_epoch", "n_done", "seconds", "n_avg")
        },
        "best": None if not math.isfinite(state.get("best", math.inf)) else state["best"],
        "reg_sum": float(state.get("reg_sum", 0.0)),
        "opt_keys": {},
    }
    if state.get("perm") is not None:
        tensors["perm"] = state["perm"]
        tensors["loss_sum"] = state["loss_sum"].reshape(1)
    for i, st in (state.get("opt") or {}).items():
        keys = []
        for k, v in st.items():
            tensors[f"opt.{i}.{k}"] = torch.as_tensor(v).reshape(-1) if k == "step" else v
            keys.append(k)
        meta["opt_keys"][str(i)] = keys
    for k, v in (state.get("best_state") or {}).items():
        tensors[f"best.{k}"] = v
    for k, v in (state.get("avg") or {}).items():
        tensors[f"avg.{k}"] = v
    return {"meta": meta, "tensors": tensors}


def _unpack_state(ck: dict, device: torch.device) -> tuple[Tier, dict, torch.Tensor]:
    meta, ten = ck["meta"], ck["tensors"]
    state = _fresh_state()
    for k in ("epoch", "batch", "bad", "best_epoch", "n_done", "seconds", "reg_sum", "n_avg"):
        if meta.get(k) is not None:
            state[k] = meta[k]
    state["best"] = math.inf if meta.get("best") is None else meta["best"]
    if "perm" in ten:
        state["perm"] = ten["perm"].to(device)
        state["loss_sum"] = ten["loss_sum"].to(device).reshape(())
    opt = {}
    for i, keys in meta.get("opt_keys", {}).items():
        opt[int(i)] = {
            k: ten[f"opt.{i}.{k}"].reshape(()) if k == "step" else ten[f"opt.{i}.{k}"].to(device)
            for k in keys
        }
    state["opt"] = opt or None
    best = {k[5:]: v.to(device) for k, v in ten.items() if k.startswith("best.")}
    state["best_state"] = best or None
    avg = {k[4:]: v.to(device) for k, v in ten.items() if k.startswith("avg.")}
    state["avg"] = avg or None
    return meta["tier"], state, ten["generator"]


# ------------------------------------------------------------------------- train
def _new_run(dataset: Dataset, config: GPAtlasConfig) -> Run:
    cfg = config.train
    split = make_split(
        dataset.samples,
        test_fraction=cfg.test_fraction,
        validation_fraction=cfg.validation_fraction,
        seed=cfg.seed,
    )
    train_rows = np.flatnonzero(split["set"].to_numpy() == "train")
    if train_rows.size < 2:
        raise DataError(f"dataset {dataset.name!r}: fewer than 2 training individuals")
    ph = dataset.phenotypes if cfg.mask_missing else np.nan_to_num(dataset.phenotypes, nan=0.0)
    scaler = None
    if cfg.standardize:
        with np.errstate(all="ignore"):
            obs = dataset.phenotypes[train_rows]
            mean = np.nan_to_num(np.nanmean(obs, axis=0)).astype(np.float32)
            std = np.nan_to_num(np.nanstd(obs, axis=0), nan=1.0).astype(np.float32)
        scaler = Scaler(mean=mean, std=np.where(std > 0, std, 1.0).astype(np.float32))
    if cfg.mask_missing:  # missing inputs to Q: the training mean on the model scale
        with np.errstate(all="ignore"):
            fill = np.nanmean(ph[train_rows], axis=0)
        fill = np.nan_to_num(fill).astype(np.float32)
        if scaler is not None:
            fill = scaler.transform(fill)
    else:  # the reference's zero-fill, on the model scale
        fill = np.zeros(dataset.n_traits, np.float32)
        if scaler is not None:
            fill = scaler.transform(fill)
    q, p, gq = empty_networks(dataset.n_traits, dataset.n_allele_columns, config)
    seeds = np.random.SeedSequence(cfg.seed).generate_state(2)
    _init_networks((q, p, gq), int(seeds[0]))
    return Run(
        config=config,
        q=q,
        p=p,
        gq=gq,
        split=split,
        traits=list(dataset.traits),
        allele_columns=dataset.allele_columns[["marker", "allele", "locus"]].copy(),
        fill=fill,
        scaler=scaler,
        dataset_fingerprint=dataset.fingerprint,
        dataset_name=dataset.name,
        dataset_source=str(dataset.source),
        info={
            "seed": cfg.seed,
            "noise_seed": int(seeds[1]),
            "missing_policy": dataset.missing_policy,
        },
    )


def train(
    dataset: Dataset,
    config: GPAtlasConfig | None = None,
    *,
    on_epoch: Callable[[EpochInfo], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: Run | str | Path | None = None,
    baselines: bool = True,
) -> Run:
    """Train both tiers on ``dataset`` and evaluate on the test split.

    Parameters
    ----------
    dataset
        The data (missing phenotype cells allowed).
    config
        Model and training settings (``preset("quick")`` etc.). With ``resume`` it may be left
        out; if given, only its epoch counts are used (to extend a run).
    on_epoch
        Called after every epoch with an :class:`EpochInfo`.
    should_stop
        Checked after every batch; when it returns True the run stops and is returned with
        ``status == "stopped"`` and what it learned so far, resumable with ``resume=``.
    checkpoint_dir
        If given, the run folder is written there at the end (finished or stopped) and a
        resumable checkpoint about every minute while training.
    resume
        A stopped :class:`Run` or its folder: continue exactly where it stopped (on the CPU the
        result equals an uninterrupted run's).
    baselines
        Also fit the ridge and QTL-linear baselines on the same split (``metrics``).

    Returns
    -------
    Run
        Networks on the CPU in eval mode, split, losses, predictions and metrics.
    """
    if resume is not None:
        if not isinstance(resume, Run) and checkpoint_dir is None:
            checkpoint_dir = resume  # keep writing into the folder we resume from
        run = resume if isinstance(resume, Run) else Run.load(resume)
        if run.checkpoint is None:
            raise DataError(
                f"cannot resume run {run.dataset_name!r}: it is {run.status} and has no "
                "checkpoint to continue from; train a new run (with more epochs) instead"
            )
        if run.dataset_fingerprint != dataset.fingerprint:
            raise DataError(
                f"cannot resume: the run was trained on dataset {run.dataset_name!r} "
                f"(fingerprint {run.dataset_fingerprint}), not {dataset.name!r} "
                f"({dataset.fingerprint})"
            )
        if config is not None:
            run.config.train.epochs_phenotype = config.train.epochs_phenotype
            run.config.train.epochs_genotype = config.train.epochs_genotype
        config = run.config
    else:
        if config is None:
            raise ValueError("train() needs a config (e.g. preset('quick')) unless resuming")
        _check_config(config)
        run = _new_run(dataset, config)
    cfg = config.train
    device = resolve_device(cfg.device)
    for net in (run.q, run.p, run.gq):
        net.to(device)
    trainer = _Trainer(dataset, run, device)
    tier: Tier = "phenotype"
    state = _fresh_state()
    if run.checkpoint is not None:
        made_on = run.checkpoint["meta"].get("device", "cpu")
        if made_on != device.type:
            # the noise generator's state is device-specific (a CUDA state cannot seed a CPU
            # generator, nor the reverse), and continuing with another stream would not be the
            # exact continuation a checkpoint promises
            raise DataError(
                f"this run was stopped while training on {made_on}; continue it on {made_on} "
                f"(device={made_on!r}), not on {device.type}"
            )
        tier, state, gen_state = _unpack_state(run.checkpoint, device)
        trainer.gen.set_state(gen_state)
    else:
        trainer.gen.manual_seed(int(run.info.get("noise_seed", cfg.seed)))
    run.checkpoint = None
    run.status = "running"

    def save_cb(cur: Tier, st: dict) -> None:
        run.checkpoint = _pack_state(cur, st, trainer.gen)
        run.status = "stopped"  # what a reader finds if the process dies before the end
        run.save(checkpoint_dir)
        run.checkpoint, run.status = None, "running"

    cb = save_cb if checkpoint_dir is not None else None
    t_start = time.perf_counter()
    finished = True
    for cur in ("phenotype", "genotype"):
        if cur == "phenotype" and tier == "genotype":
            continue
        st = state if cur == tier else _fresh_state()
        if not trainer.run_tier(cur, st, should_stop, on_epoch, cb):
            run.checkpoint = _pack_state(cur, st, trainer.gen)
            finished = False
            break
    run.info["train_seconds"] = run.info.get("train_seconds", 0.0) + time.perf_counter() - t_start
    run.info["device"] = str(device)
    for net in (run.q, run.p, run.gq):
        net.to("cpu").eval()
    run.status = "finished" if finished else "stopped"
    run.evaluate(dataset, baselines=baselines, lasso_fit=trainer.lasso_fit)
    if checkpoint_dir is not None:
        run.save(checkpoint_dir)
    return run


def _check_config(config: GPAtlasConfig) -> None:
    cfg = config.train
    if cfg.genotype_init == "lasso" and config.model.ge_hidden != config.model.e_hidden:
        raise DataError(
            "the LASSO warm start builds GQ from the phenotype encoder: ge_hidden must equal "
            f"e_hidden (got {config.model.ge_hidden} and {config.model.e_hidden})"
        )
    if cfg.early_stopping_patience and cfg.validation_fraction <= 0:
        raise DataError("early stopping needs a validation part: set validation_fraction > 0")
    if cfg.batch_size < 2:
        raise DataError("batch_size must be at least 2 (BatchNorm needs two individuals)")
