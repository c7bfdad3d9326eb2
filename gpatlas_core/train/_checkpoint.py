"""Checkpoints: a :class:`TierState` and the noise generator packed as JSON metadata plus
tensors (``Run.checkpoint``, saved as ``checkpoint.json`` / ``checkpoint.safetensors``), and the
checks before a run is resumed from one."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ..config import GPAtlasConfig, Tier
from ..io import DataError, Dataset
from ..run import Run
from ._state import TierState

_META_FIELDS = ("epoch", "batch", "bad", "best_epoch", "n_done", "seconds", "n_avg")


def pack(tier: Tier, state: TierState, gen: torch.Generator) -> dict:
    """The training position as JSON-able metadata plus tensors (for safetensors). The device
    type is recorded: a generator state only restores on the same kind of device."""
    tensors: dict[str, torch.Tensor] = {"generator": gen.get_state()}
    meta = {
        "tier": tier,
        "device": gen.device.type,
        "epoch": state.epoch,
        "batch": state.batch,
        "bad": state.bad,
        "best_epoch": state.best_epoch,
        "n_done": state.n_done,
        "seconds": state.seconds,
        "n_avg": state.n_avg if state.avg is not None else None,
        "best": state.best if math.isfinite(state.best) else None,
        "reg_sum": float(state.reg_sum),
        "opt_keys": {},
    }
    if state.perm is not None:
        tensors["perm"] = state.perm
        tensors["loss_sum"] = state.loss_sum.reshape(1)
    for i, st in (state.opt or {}).items():
        keys = []
        for k, v in st.items():
            tensors[f"opt.{i}.{k}"] = torch.as_tensor(v).reshape(-1) if k == "step" else v
            keys.append(k)
        meta["opt_keys"][str(i)] = keys
    for k, v in (state.best_state or {}).items():
        tensors[f"best.{k}"] = v
    for k, v in (state.avg or {}).items():
        tensors[f"avg.{k}"] = v
    return {"meta": meta, "tensors": tensors}


def unpack(ck: dict, device: torch.device) -> tuple[Tier, TierState, torch.Tensor]:
    """The tier, its state (tensors on ``device``) and the generator state of a checkpoint."""
    meta, ten = ck["meta"], ck["tensors"]
    state = TierState()
    for k in (*_META_FIELDS, "reg_sum"):
        if meta.get(k) is not None:
            setattr(state, k, meta[k])
    state.best = math.inf if meta.get("best") is None else meta["best"]
    if "perm" in ten:
        state.perm = ten["perm"].to(device)
        state.loss_sum = ten["loss_sum"].to(device).reshape(())
    opt = {}
    for i, keys in meta.get("opt_keys", {}).items():
        opt[int(i)] = {
            k: ten[f"opt.{i}.{k}"].reshape(()) if k == "step" else ten[f"opt.{i}.{k}"].to(device)
            for k in keys
        }
    state.opt = opt or None
    state.best_state = {
        k[5:]: v.to(device) for k, v in ten.items() if k.startswith("best.")
    } or None
    state.avg = {k[4:]: v.to(device) for k, v in ten.items() if k.startswith("avg.")} or None
    return meta["tier"], state, ten["generator"]


def restore(ck: dict, gen: torch.Generator) -> tuple[Tier, TierState]:
    """Continue from ``ck``: its tier and state, with ``gen`` set to the saved noise stream.

    A checkpoint made on another kind of device is refused: the generator state is
    device-specific (a CUDA state cannot seed a CPU generator, nor the reverse), and another
    stream would not be the exact continuation a checkpoint promises."""
    made_on = ck["meta"].get("device", "cpu")
    if made_on != gen.device.type:
        raise DataError(
            f"this run was stopped while training on {made_on}; continue it on {made_on} "
            f"(device={made_on!r}), not on {gen.device.type}"
        )
    tier, state, gen_state = unpack(ck, gen.device)
    gen.set_state(gen_state)
    return tier, state


def run_to_resume(resume: Run | str | Path, dataset: Dataset, config: GPAtlasConfig | None) -> Run:
    """The stopped run ``resume`` (or its folder), checked against ``dataset``; a ``config``
    only extends its epoch counts. Refused when there is no checkpoint to continue from."""
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
    return run
