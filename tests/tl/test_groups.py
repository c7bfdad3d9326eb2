"""Group ablation importance and latent sensitivity against plain implementations."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from gpatlas_core.config import preset, with_groups
from gpatlas_core.io import DataError, Dataset, resolve_groups
from gpatlas_core.module import with_pairs
from gpatlas_core.tl import (
    ablation_matrix,
    group_ablation_matrix,
    group_importance,
    latent_sensitivity,
)
from gpatlas_core.train import train

pytestmark = pytest.mark.usefixtures("one_thread")


def _loop(encoder, decoder, x, t, mask, col_group) -> np.ndarray:
    """Plain oracle: zero a group's columns, run the networks (float64 copies), compare the
    masked MSE."""
    encoder, decoder = copy.deepcopy(encoder).double(), copy.deepcopy(decoder).double()
    x = torch.as_tensor(x, dtype=torch.float64)
    w = mask.double() / mask.sum(1, keepdim=True).clamp(min=1).double()

    def f(inp):
        with torch.no_grad():
            y = decoder(encoder(inp)).double()
        return (((y - t.double()) ** 2) * w).sum(1).numpy()

    base = f(x)
    out = np.zeros((x.shape[0], int(col_group.max()) + 1))
    for g in range(out.shape[1]):
        xa = x.clone()
        xa[:, torch.from_numpy(np.flatnonzero(col_group == g))] = 0.0
        out[:, g] = base - f(xa)
    return out


@pytest.fixture
def grouped_run(tiny_dataset: Dataset):
    cfg = preset("paper-simulated", epochs_phenotype=2, epochs_genotype=2, device="cpu", seed=2)
    cfg, _ = with_groups(cfg, "windows:25kb", units=3)
    return train(tiny_dataset, cfg, baselines=False)


@pytest.fixture
def dense_run(tiny_dataset: Dataset):
    cfg = preset("paper-simulated", epochs_phenotype=2, epochs_genotype=2, device="cpu", seed=2)
    return train(tiny_dataset, cfg, baselines=False)


def test_singleton_groups_equal_allele_ablation(dense_run, tiny_dataset: Dataset) -> None:
    rows = dense_run.test_rows(tiny_dataset)
    x, t, mask = dense_run.model_inputs(tiny_dataset, rows)
    cols = np.arange(x.shape[1])
    got = group_ablation_matrix(dense_run.gq, dense_run.p, x, t, cols, mask=mask)
    ref = ablation_matrix(dense_run.gq, dense_run.p, x, t, mask=mask, device="cpu")
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("which", ["grouped", "dense", "pairs"])
def test_group_ablation_equals_ablating_the_columns_together(
    which, grouped_run, dense_run, tiny_dataset: Dataset
) -> None:
    run = grouped_run if which == "grouped" else dense_run
    if which == "pairs":  # a dense first layer with interaction terms, as the warm start makes
        pairs = torch.tensor([[0, 4], [1, 7], [9, 30], [50, 100]])
        with_pairs(run.gq, pairs)
        with torch.no_grad():
            run.gq[0].pair_weight.normal_(generator=torch.Generator().manual_seed(0))
    groups = resolve_groups(tiny_dataset, "windows:25kb")
    col_group = groups.column_groups(tiny_dataset)
    rows = run.test_rows(tiny_dataset)
    x, t, mask = run.model_inputs(tiny_dataset, rows)
    got = group_ablation_matrix(run.gq, run.p, x, t, col_group, mask=mask, max_rows=25)
    ref = _loop(run.gq, run.p, x, t, mask, col_group)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-10)
    table = group_importance(run, tiny_dataset, groups)
    np.testing.assert_allclose(table["importance"], (ref**2).mean(0), rtol=1e-9, atol=1e-12)
    assert table["n_markers"].sum() == tiny_dataset.n_loci
    assert table["n_columns"].sum() == tiny_dataset.n_allele_columns


def test_group_importance_defaults_to_the_runs_groups(grouped_run, dense_run, tiny_dataset):
    table = group_importance(grouped_run, tiny_dataset)
    assert table["group"].tolist() == grouped_run.group_names
    with pytest.raises(DataError, match="dense encoder"):
        group_importance(dense_run, tiny_dataset)


def test_latent_sensitivity_is_the_gradient_norm(grouped_run, tiny_dataset: Dataset) -> None:
    sens = latent_sensitivity(grouped_run, tiny_dataset)
    first = grouped_run.gq[0]
    assert sens.shape == (tiny_dataset.n_traits, first.n_groups)
    assert list(sens.index) == list(tiny_dataset.traits)
    # oracle: each individual alone, the full Jacobian of its prediction w.r.t. the units
    rows = grouped_run.test_rows(tiny_dataset)
    x, _, _ = grouped_run.model_inputs(tiny_dataset, rows)
    with torch.no_grad():
        a = grouped_run.gq[:3](x)
    ref = np.zeros(sens.shape)
    for k in range(len(rows)):
        jac = torch.autograd.functional.jacobian(
            lambda v: grouped_run.p(grouped_run.gq[3:](v[None]))[0], a[k]
        )  # (m, groups * units)
        ref += jac.reshape(jac.shape[0], first.n_groups, first.units).norm(dim=2).numpy()
    np.testing.assert_allclose(sens.to_numpy(), ref / len(rows), rtol=1e-5, atol=1e-7)
    assert (sens.to_numpy() >= 0).all() and sens.to_numpy().max() > 0


def test_latent_sensitivity_needs_groups(dense_run, tiny_dataset: Dataset) -> None:
    with pytest.raises(DataError, match="grouped encoder"):
        latent_sensitivity(dense_run, tiny_dataset)


def test_fast_allele_ablation_of_a_grouped_encoder(grouped_run, tiny_dataset: Dataset) -> None:
    # the batched kernel folds the grouped layer as its dense equivalent: one column at a time
    # it must equal the plain loop (singleton groups)
    rows = grouped_run.test_rows(tiny_dataset)
    x, t, mask = grouped_run.model_inputs(tiny_dataset, rows)
    fast = ablation_matrix(grouped_run.gq, grouped_run.p, x, t, mask=mask, device="cpu")
    ref = _loop(grouped_run.gq, grouped_run.p, x, t, mask, np.arange(x.shape[1]))
    np.testing.assert_allclose(fast, ref, rtol=1e-4, atol=1e-5)
