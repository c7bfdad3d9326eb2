"""The grouped (BINN-style) genotype encoder: the block-sparse layer against a masked dense
layer, training, save/reload, stop/resume and the settings it refuses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gpatlas_core.config import preset, with_groups
from gpatlas_core.io import DataError, Dataset, resolve_groups
from gpatlas_core.module import GroupedLinear
from gpatlas_core.run import Run
from gpatlas_core.train import train

pytestmark = pytest.mark.usefixtures("one_thread")


def _layer(n_in: int = 17, n_groups: int = 5, units: int = 3) -> GroupedLinear:
    gen = torch.Generator().manual_seed(4)
    layer = GroupedLinear(n_in, n_groups, units, dtype=torch.float64)
    with torch.no_grad():
        layer.col_group.copy_(torch.randint(0, n_groups, (n_in,), generator=gen))
        layer.weight_blocks.copy_(torch.randn(n_in, units, generator=gen, dtype=torch.float64))
        layer.bias.copy_(torch.randn(n_groups * units, generator=gen, dtype=torch.float64))
    return layer


def test_grouped_layer_equals_masked_dense_layer() -> None:
    layer = _layer()
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(6, layer.in_features, generator=gen, dtype=torch.float64, requires_grad=True)
    # the dense reference: a full weight times the block mask (column c -> its group's units)
    mask = torch.zeros(layer.out_features, layer.in_features, dtype=torch.float64)
    for c, g in enumerate(layer.col_group.tolist()):
        mask[g * layer.units : (g + 1) * layer.units, c] = 1.0
    dense = torch.zeros_like(mask)
    for c, g in enumerate(layer.col_group.tolist()):
        dense[g * layer.units : (g + 1) * layer.units, c] = layer.weight_blocks.detach()[c]
    dense.requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    upstream = torch.randn(6, layer.out_features, generator=gen, dtype=torch.float64)

    out = layer(x)
    ref = x2 @ (dense * mask).T + layer.bias.detach()
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(layer.dense_weight(), dense.detach(), rtol=0, atol=0)
    (out * upstream).sum().backward()
    (ref * upstream).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=0, atol=1e-12)
    # the weight gradient: the dense gradient on the blocks, read back per column
    g_dense = dense.grad
    for c, g in enumerate(layer.col_group.tolist()):
        block = g_dense[g * layer.units : (g + 1) * layer.units, c]
        torch.testing.assert_close(layer.weight_blocks.grad[c], block, rtol=0, atol=1e-12)
    torch.testing.assert_close(layer.bias.grad, upstream.sum(0), rtol=0, atol=1e-12)
    assert torch.autograd.gradcheck(lambda inp: layer(inp), (x.detach().requires_grad_(),))


def _cfg(**kw):
    base = {"epochs_phenotype": 2, "epochs_genotype": 3, "device": "cpu", "seed": 3}
    base.update(kw)
    config, note = with_groups(preset("paper-simulated", **base), "windows:25kb", units=2)
    assert note is None  # paper-simulated has no warm start to switch off
    return config


def test_grouped_run_trains_saves_and_reloads(tiny_dataset: Dataset, tmp_path) -> None:
    run = train(tiny_dataset, _cfg(), baselines=False)
    groups = resolve_groups(tiny_dataset, "windows:25kb")
    first = run.gq[0]
    assert isinstance(first, GroupedLinear) and run.grouped
    assert first.n_groups == groups.n_groups and first.units == 2
    assert first.col_group.tolist() == groups.column_groups(tiny_dataset).tolist()
    assert run.group_names == groups.names
    assert np.isfinite(run.losses["train_loss"]).all()
    # its non-zero weights are columns x units, not columns x (groups x units)
    assert first.weight_blocks.numel() == tiny_dataset.n_allele_columns * 2
    pred = run.predict_dataset(tiny_dataset)
    run.save(tmp_path / "r")
    back = Run.load(tmp_path / "r")
    assert back.grouped and back.group_names == run.group_names
    np.testing.assert_array_equal(back.predict_dataset(tiny_dataset), pred)
    assert back.marker_groups().group.tolist() == groups.group.tolist()


def test_grouped_stop_and_resume_equals_uninterrupted(tiny_dataset: Dataset, tmp_path) -> None:
    cfg = _cfg()
    full = train(tiny_dataset, cfg, baselines=False)
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] >= 8  # inside tier 2

    part = train(
        tiny_dataset, cfg, should_stop=stop, checkpoint_dir=tmp_path / "ck", baselines=False
    )
    assert part.status == "stopped"
    resumed = train(tiny_dataset, resume=tmp_path / "ck", baselines=False)
    np.testing.assert_array_equal(
        resumed.losses["train_loss"].to_numpy(), full.losses["train_loss"].to_numpy()
    )
    for a, b in zip(resumed.gq.state_dict().values(), full.gq.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_grouped_penalty_moves_the_weights(tiny_dataset: Dataset) -> None:
    plain = train(tiny_dataset, _cfg(l1=0.0, l2=0.0), baselines=False)
    pen = train(tiny_dataset, _cfg(l1=0.8, l2=0.01), baselines=False)
    # same seed, same data: only the L1/L2 term differs, and it shrinks the column sums
    s_plain = plain.gq[0].weight_blocks.sum(1).abs().sum()
    s_pen = pen.gq[0].weight_blocks.sum(1).abs().sum()
    assert s_pen < s_plain


def test_groups_and_warm_start(tiny_dataset: Dataset) -> None:
    config, note = with_groups(preset("quick", device="cpu"), "windows:25kb")
    assert note and "warm start" in note
    assert config.train.genotype_init == "random" and config.train.interaction_loci == 0
    assert preset("quick").model.groups is None  # presets untouched
    bad = preset("quick", device="cpu")
    bad.model.groups = "windows:25kb"
    with pytest.raises(DataError, match="random start"):
        train(tiny_dataset, bad, baselines=False)
