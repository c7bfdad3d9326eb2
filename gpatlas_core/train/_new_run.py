"""A new run before training: the seeded train/validation/test split, the phenotype scaler and
fill values, the seeded initial weights, and the checks on the settings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..config import GPAtlasConfig
from ..io import DataError, Dataset, MarkerGroups
from ..module import GroupedLinear, logvar_head
from ..run import Run, Scaler, empty_networks


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


SETS = ("train", "validation", "test")


def fold_split(
    samples: np.ndarray, folds: np.ndarray, fold: int, *, validation_fraction: float, seed: int
) -> pd.DataFrame:
    """The split of cross-validation fold ``fold``: its individuals are the test set; of the
    others, a seeded ``validation_fraction`` is the validation part (as in :func:`make_split`,
    whose validation share is also of the non-test individuals), the rest train."""
    folds = np.asarray(folds)
    if folds.shape != (len(samples),):
        raise DataError(f"{folds.shape[0]} fold labels for {len(samples)} individuals")
    if not 0.0 <= validation_fraction < 1.0:
        raise DataError("the validation fraction must be in [0, 1)")
    labels = np.where(folds == fold, "test", "train").astype(object)
    rest = np.flatnonzero(folds != fold)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2, int(fold)]))
    n_val = round(rest.size * validation_fraction)
    labels[rng.permutation(rest)[:n_val]] = "validation"
    return pd.DataFrame({"sample": np.asarray(samples).astype(str), "set": labels})


def _check_split(split: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    if list(split.columns[:2]) != ["sample", "set"]:
        raise DataError("a split needs the columns sample, set")
    if split["sample"].astype(str).tolist() != [str(s) for s in dataset.samples]:
        raise DataError("the split's samples are not the dataset's, in the dataset's order")
    bad = sorted(set(split["set"].astype(str)) - set(SETS))
    if bad:
        raise DataError(f"split sets must be train, validation or test, not {', '.join(bad)}")
    return split[["sample", "set"]].astype({"sample": str, "set": object}).reset_index(drop=True)


def init_networks(nets: tuple[nn.Sequential, ...], seed: int) -> None:
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
            elif isinstance(mod, GroupedLinear):
                # the same rule with each unit's own fan-in: the columns of its group
                fan = mod.group_sizes().clamp_min(1).to("cpu", torch.float64)
                bound_col = (1.0 / fan.sqrt())[mod.col_group.cpu()].float()
                bound_unit = (1.0 / fan.sqrt()).repeat_interleave(mod.units).float()
                for prm, bound in ((mod.weight_blocks, bound_col[:, None]), (mod.bias, bound_unit)):
                    cpu = torch.empty(prm.shape).uniform_(-1.0, 1.0, generator=gen) * bound
                    with torch.no_grad():
                        prm.copy_(cpu)


def check_config(config: GPAtlasConfig) -> None:
    """Refuse settings that cannot train, with a message for the user."""
    cfg = config.train
    if cfg.genotype_init == "lasso" and config.model.ge_hidden != config.model.e_hidden:
        raise DataError(
            "the LASSO warm start builds GQ from the phenotype encoder: ge_hidden must equal "
            f"e_hidden (got {config.model.ge_hidden} and {config.model.e_hidden})"
        )
    if cfg.early_stopping_patience and cfg.validation_fraction <= 0:
        raise DataError("early stopping needs a validation part: set validation_fraction > 0")
    if cfg.interaction_loci < 0:
        raise DataError("interaction_loci must be 0 (off) or a positive number of loci")
    if cfg.interaction_loci and cfg.genotype_init != "lasso":
        raise DataError('interaction_loci needs the LASSO warm start (genotype_init "lasso")')
    if cfg.variational and not (cfg.beta >= 0 and math.isfinite(cfg.beta)):
        raise DataError(f"beta (the KL weight) must be 0 or more, not {cfg.beta}")
    if config.model.groups is not None:
        if cfg.variational:
            raise DataError(
                "the grouped encoder (groups) and the variational tier cannot be combined yet: "
                "choose one"
            )
        if cfg.genotype_init != "random":
            raise DataError(
                "the grouped encoder (groups) trains from a random start: set genotype_init "
                'to "random" (the LASSO warm start builds a dense first layer)'
            )
        if config.model.group_units < 1:
            raise DataError("group_units must be at least 1")
    if cfg.batch_size < 2:
        raise DataError("batch_size must be at least 2 (BatchNorm needs two individuals)")


def new_run(
    dataset: Dataset,
    config: GPAtlasConfig,
    *,
    split: pd.DataFrame | None = None,
    groups: MarkerGroups | None = None,
) -> Run:
    """An untrained run of ``config`` on ``dataset``: split (``split``, else seeded from the
    config), scaler, fill and initial weights; with ``groups`` (needed when
    ``config.model.groups`` is set) GQ's first layer is grouped by them."""
    cfg = config.train
    if split is None:
        split = make_split(
            dataset.samples,
            test_fraction=cfg.test_fraction,
            validation_fraction=cfg.validation_fraction,
            seed=cfg.seed,
        )
    else:
        split = _check_split(split, dataset)
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
    n_groups = 0 if groups is None else groups.n_groups
    q, p, gq = empty_networks(dataset.n_traits, dataset.n_allele_columns, config, n_groups=n_groups)
    if groups is not None:
        with torch.no_grad():
            gq[0].col_group.copy_(torch.from_numpy(groups.column_groups(dataset)))
    seeds = np.random.SeedSequence(cfg.seed).generate_state(2)
    init_networks((q, p, gq), int(seeds[0]))
    heads: dict[str, nn.Linear] = {}
    if cfg.variational:  # own seed: the other networks start as in a deterministic run
        with torch.device("meta"):
            metas = {
                "q_logvar": logvar_head(q, config.model),
                "gq_logvar": logvar_head(gq, config.model),
            }
        heads = {k: v.to_empty(device="cpu") for k, v in metas.items()}
        head_seed = np.random.SeedSequence([cfg.seed, 3]).generate_state(1)
        init_networks(tuple(heads.values()), int(head_seed[0]))
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
            **(
                {}
                if groups is None
                else {"groups": {"spec": groups.spec, "names": list(map(str, groups.names))}}
            ),
        },
        **heads,
    )
