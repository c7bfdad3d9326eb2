"""The two-tier training loop (docs/method.md section 2): :func:`train` and one tier's epochs.

Tier 1 trains the phenotype encoder Q and decoder P as a denoising autoencoder; tier 2 freezes
P (eval mode, no gradients) and trains the genotype encoder GQ so that P(GQ(G~)) reproduces T.
Every tensor stays on the device; all noise comes from one seeded generator there.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .._device import resolve_device
from ..config import GPAtlasConfig, Tier
from ..io import Dataset, MarkerGroups, resolve_groups
from ..run import LOSS_COLUMNS, Run
from ._checkpoint import pack, restore, run_to_resume
from ._new_run import check_config, new_run
from ._state import EpochInfo, TierState
from ._trainer import Trainer
from ._warm_start import recalibrate_bn, warm_start_genotype

_CHECKPOINT_EVERY_S = 60.0

SaveCallback = Callable[[Tier, TierState], None]


def run_tier(
    tr: Trainer,
    tier: Tier,
    state: TierState,
    should_stop: Callable[[], bool] | None = None,
    on_epoch: Callable[[EpochInfo], None] | None = None,
    save_cb: SaveCallback | None = None,
) -> bool:
    """Train one tier from ``state`` (fresh or resumed); returns False when stopped.

    Each epoch draws a permutation of the training rows, takes one optimiser step per batch,
    then reports the losses, tracks the best validation epoch (early stopping) and the weight
    average. At the end the averaged or best weights are loaded and BatchNorm recalibrated."""
    run, cfg = tr.run, tr.cfg
    n_epochs = cfg.epochs_phenotype if tier == "phenotype" else cfg.epochs_genotype
    use_val = tr.parts["validation"].n > 0
    trained = tr.trained(tier)
    if tier == "genotype" and tr.warm and state.fresh:
        tr.lasso_fit = warm_start_genotype(run, tr.dataset)
        if run.gq_logvar is not None:
            tr.init_variance_head()
        if use_val:  # epoch 0, the warm start itself, is a candidate for the best epoch
            run.gq.eval()
            state.keep_best(tr.loss_on(tier, "validation"), 0, trained)
    params, opt = tr.setup(tier)
    if state.opt is not None:
        sd = opt.state_dict()
        sd["state"] = state.opt
        opt.load_state_dict(sd)
    d, bs = tr.parts["train"], cfg.batch_size
    n_batches = math.ceil(d.n / bs)
    patience = cfg.early_stopping_patience
    if tier == "phenotype" and cfg.phenotype_patience is not None:
        patience = cfg.phenotype_patience
    last_save = time.perf_counter()
    while state.epoch < n_epochs and not (patience and state.bad >= patience):
        for net in trained:
            net.train(not (tier == "genotype" and tr.warm))  # warm start: BN fixed
        run.p.train(tier == "phenotype")
        t0 = time.perf_counter()
        if state.perm is None:
            state.start_epoch(torch.randperm(d.n, generator=tr.gen, device=tr.dev))
        for b in range(state.batch, n_batches):
            idx = state.perm[b * bs : (b + 1) * bs]
            if idx.numel() < 2:  # BatchNorm cannot train on a single individual
                state.batch = b + 1
                continue
            loss, reg = tr.step_loss(tier, idx)
            for prm in params[1 if tr.wt is not None else 0 :]:
                prm.grad = None
            loss.backward()
            opt.step()
            state.loss_sum = state.loss_sum + loss.detach()
            state.reg_sum = state.reg_sum + reg
            state.n_done += 1
            state.batch = b + 1
            if should_stop is not None and should_stop():
                state.seconds += time.perf_counter() - t0
                state.opt = opt.state_dict()["state"]
                tr.finish_tier(tier)
                return False
        seconds = state.seconds + time.perf_counter() - t0
        n_done = max(state.n_done, 1)
        train_loss = float(state.loss_sum) / n_done
        reg_loss = float(state.reg_sum) / n_done
        test_loss, val_loss = tr.epoch_losses(tier, use_val)
        epoch = state.epoch + 1
        row = [tier, epoch, train_loss, test_loss, val_loss, reg_loss, seconds]
        tr.rows.append([np.nan if v is None else v for v in row])
        run.losses = pd.DataFrame(tr.rows, columns=LOSS_COLUMNS)
        if use_val:
            if val_loss < state.best:
                state.keep_best(val_loss, epoch, trained)
            else:
                state.bad += 1
        avg_from = cfg.average_genotype_from
        if tier == "genotype" and avg_from is not None and epoch > avg_from:
            state.add_to_average(run.gq)
        state.epoch, state.perm = epoch, None
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
            state.opt = opt.state_dict()["state"]
            save_cb(tier, state)
            last_save = time.perf_counter()
    if state.avg is not None:  # weight averaging replaces the best-epoch weights
        run.gq.load_state_dict({**run.gq.state_dict(), **state.avg})
        run.info.setdefault("averaged_epochs", {})[tier] = state.n_avg
    elif use_val and state.best_state is not None:
        state.restore_best(trained)
        run.info.setdefault("best_epoch", {})[tier] = state.best_epoch
    run.info.setdefault("epochs_run", {})[tier] = state.epoch
    tr.finish_tier(tier)
    if tr.recalibrates(tier) or state.avg is not None:
        recalibrate_bn(run, tier, d)
    return True


def train(
    dataset: Dataset,
    config: GPAtlasConfig | None = None,
    *,
    on_epoch: Callable[[EpochInfo], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: Run | str | Path | None = None,
    baselines: bool = True,
    split: pd.DataFrame | None = None,
    groups: MarkerGroups | str | None = None,
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
    split
        An explicit split (``sample, set`` in dataset order, set in train / validation / test,
        e.g. one cross-validation fold from :func:`fold_split`) instead of the seeded random
        one of ``config.train.test_fraction`` and ``validation_fraction``.
    groups
        The marker groups of a grouped (BINN-style) encoder: :class:`MarkerGroups`, or a spec
        (``windows:50kb``, a ``marker,group`` CSV path). Default: ``config.model.groups``
        resolved on ``dataset`` when set, else the dense encoder.

    Returns
    -------
    Run
        Networks on the CPU in eval mode, split, losses, predictions and metrics.
    """
    if resume is not None:
        if not isinstance(resume, Run) and checkpoint_dir is None:
            checkpoint_dir = resume  # keep writing into the folder we resume from
        run = run_to_resume(resume, dataset, config)
        config = run.config
    else:
        if config is None:
            raise ValueError("train() needs a config (e.g. preset('quick')) unless resuming")
        if groups is not None and config.model.groups is None:
            spec = groups.spec if isinstance(groups, MarkerGroups) else str(groups)
            config = dataclasses.replace(
                config, model=dataclasses.replace(config.model, groups=spec)
            )
        check_config(config)
        if config.model.groups is not None:
            groups = resolve_groups(dataset, groups if groups is not None else config.model.groups)
        run = new_run(dataset, config, split=split, groups=groups)
    device = resolve_device(config.train.device)
    for net in run.networks().values():
        net.to(device)
    trainer = Trainer(dataset, run, device)
    if run.checkpoint is not None:
        tier, state = restore(run.checkpoint, trainer.gen)
    else:
        tier, state = "phenotype", TierState()
        trainer.gen.manual_seed(int(run.info.get("noise_seed", config.train.seed)))
    run.checkpoint = None
    run.status = "running"

    def save_cb(cur: Tier, st: TierState) -> None:
        run.checkpoint = pack(cur, st, trainer.gen)
        run.status = "stopped"  # what a reader finds if the process dies before the end
        run.save(checkpoint_dir)
        run.checkpoint, run.status = None, "running"

    cb = save_cb if checkpoint_dir is not None else None
    t_start = time.perf_counter()
    finished = True
    for cur in ("phenotype", "genotype") if tier == "phenotype" else ("genotype",):
        st = state if cur == tier else TierState()
        if not run_tier(trainer, cur, st, should_stop, on_epoch, cb):
            run.checkpoint = pack(cur, st, trainer.gen)
            finished = False
            break
    run.info["train_seconds"] = run.info.get("train_seconds", 0.0) + time.perf_counter() - t_start
    run.info["device"] = str(device)
    for net in run.networks().values():
        net.to("cpu").eval()
    run.status = "finished" if finished else "stopped"
    run.residual_sd = None  # re-estimated by evaluate for the weights trained now
    run.evaluate(dataset, baselines=baselines, lasso_fit=trainer.lasso_fit)
    if checkpoint_dir is not None:
        run.save(checkpoint_dir)
    return run
