"""Gradient attributions: each method is Captum's own on the ablation's per-individual loss,
integrated gradients is complete on a smooth toy, and the results work as ImportanceResults."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from importance_toys import make_run, onehot, random_networks
from torch import nn

from gpatlas_core.config import ModelConfig
from gpatlas_core.io import DataError
from gpatlas_core.tl import (
    AblationCancelled,
    AttributionConfig,
    ImportanceResult,
    attribution_agreement,
    attribution_matrix,
    check_method,
    compute_attributions,
    compute_importance,
    locus_significance,
    spearman_agreement,
    vida,
)
from gpatlas_core.tl._attributions import gradient_shap_baselines

captum_attr = pytest.importorskip("captum.attr")

GRADIENT = ("integrated-gradients", "deeplift", "gradient-shap")


def networks(seed: int = 0, n_traits: int = 3, n_cols: int = 15):
    cfg = ModelConfig(latent=4, e_hidden=6, d_hidden=6, ge_hidden=8)
    _q, p, gq = random_networks(n_traits, n_cols, cfg, seed=seed)
    return gq, p


class Oracle(nn.Module):
    """The loss written out here, independently: the masked MSE of each individual."""

    def __init__(self, enc: nn.Module, dec: nn.Module) -> None:
        super().__init__()
        self.enc, self.dec = copy.deepcopy(enc).double().eval(), copy.deepcopy(dec).double().eval()

    def forward(self, x, t, m):
        err = (self.dec(self.enc(x)) - t) ** 2 * m
        return err.sum(dim=1) / m.sum(dim=1).clamp(min=1)


def data(n: int = 9, seed: int = 1):
    x = onehot(n, 5, 3, seed).double()
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(n, 3, generator=g, dtype=torch.float64)
    mask = torch.rand(n, 3, generator=g) > 0.25
    mask[0] = False  # an individual with nothing observed
    t[~mask] = float("nan")
    return x, t, mask


def direct(method: str, enc, dec, x, t, mask, *, seed: int = 0, cfg=None) -> np.ndarray:
    """Captum called here, on the oracle, with what the method promises."""
    cfg = cfg or AttributionConfig()
    net = Oracle(enc, dec)
    args = (torch.nan_to_num(t), mask.double())
    xr = x.clone().requires_grad_()
    if method == "integrated-gradients":
        out = captum_attr.IntegratedGradients(net).attribute(
            xr, baselines=torch.zeros_like(x), additional_forward_args=args, n_steps=cfg.n_steps
        )
    elif method == "deeplift":
        with pytest.warns(UserWarning, match="hooks"):
            out = captum_attr.DeepLift(net).attribute(
                xr, baselines=torch.zeros_like(x), additional_forward_args=args
            )
    else:
        gen = np.random.default_rng(seed)
        base = gradient_shap_baselines(
            x.shape[1], n=cfg.n_baselines, sd=cfg.baseline_sd, rng=gen, dtype=torch.float64
        )
        saved = np.random.get_state()  # noqa: NPY002 (Captum draws from the global one)
        np.random.seed(int(gen.integers(2**32)))  # noqa: NPY002
        try:
            out = captum_attr.GradientShap(net).attribute(
                xr, baselines=base, n_samples=cfg.n_samples, stdevs=0.0,
                additional_forward_args=args,
            )  # fmt: skip
        finally:
            np.random.set_state(saved)  # noqa: NPY002
    return out.detach().numpy()


@pytest.mark.parametrize("method", GRADIENT)
def test_each_method_is_captum_on_the_ablation_loss(method) -> None:
    enc, dec = networks()
    x, t, mask = data()
    cfg = AttributionConfig(n_steps=20, n_samples=7, n_baselines=5, batch_size=100)
    ours = attribution_matrix(
        enc, dec, x, t, method=method, mask=mask, config=cfg, rng=3, device="cpu",
        dtype=torch.float64,
    )  # fmt: skip
    ref = direct(method, enc, dec, x, t, mask, seed=3, cfg=cfg)
    assert ours.shape == x.shape and ours.dtype == np.float32
    assert np.abs(ref).max() > 1e-3  # not trivially zero
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)
    assert (ours[0] == 0).all()  # nothing observed: no loss to explain
    if method != "gradient-shap":  # zero baseline: absent alleles get exactly 0
        assert (ours[x.numpy() == 0] == 0).all()


def test_blocks_progress_and_seed() -> None:
    enc, dec = networks()
    x, t, mask = data(n=11)
    whole = attribution_matrix(enc, dec, x, t, method="integrated-gradients", mask=mask,
                               config=AttributionConfig(batch_size=100), device="cpu")  # fmt: skip
    seen = []
    blocks = attribution_matrix(
        enc, dec, x, t, method="integrated-gradients", mask=mask,
        config=AttributionConfig(batch_size=4), device="cpu",
        on_progress=lambda d, n: seen.append((d, n)),
    )  # fmt: skip
    np.testing.assert_allclose(blocks, whole, rtol=1e-5, atol=1e-7)
    assert seen == [(4, 11), (8, 11), (11, 11)]
    a, b, c = (
        attribution_matrix(enc, dec, x, t, method="gradient-shap", mask=mask, rng=s, device="cpu")
        for s in (5, 5, 6)
    )
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    attribution_matrix(enc, dec, x, t, method="gradient-shap", mask=mask, rng=5, device="cpu")
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    with pytest.raises(AblationCancelled):
        attribution_matrix(enc, dec, x, t, method="deeplift", mask=mask, device="cpu",
                           should_stop=lambda: True)  # fmt: skip


def test_integrated_gradients_is_complete_on_a_smooth_toy() -> None:
    """No kinks (linear layers, batch norm in eval): the loss along the path is a quadratic in
    the path position, which Gauss-Legendre integrates exactly, so the attributions of an
    individual add up to loss(x) - loss(0)."""
    g = torch.Generator().manual_seed(4)
    enc = nn.Sequential(nn.Linear(12, 5), nn.BatchNorm1d(5), nn.Linear(5, 3)).double()
    dec = nn.Sequential(nn.Linear(3, 4)).double()
    with torch.no_grad():
        for mod in (*enc, *dec):
            for prm in mod.parameters():
                prm.copy_(torch.randn(prm.shape, generator=g, dtype=torch.float64))
        enc[1].running_mean.copy_(torch.randn(5, generator=g))
        enc[1].running_var.copy_(torch.rand(5, generator=g) + 0.5)
    x = onehot(6, 4, 3, 2).double()
    t = torch.randn(6, 4, generator=g, dtype=torch.float64)
    attr = attribution_matrix(enc, dec, x, t, method="integrated-gradients", device="cpu",
                              dtype=torch.float64, config=AttributionConfig(n_steps=4))  # fmt: skip
    oracle = Oracle(enc, dec)
    ones = torch.ones_like(t)
    with torch.no_grad():
        gap = (oracle(x, t, ones) - oracle(torch.zeros_like(x), t, ones)).numpy()
    assert np.abs(gap).min() > 1e-2
    np.testing.assert_allclose(attr.astype(np.float64).sum(axis=1), gap, rtol=1e-5)


def test_networks_are_left_unchanged() -> None:
    enc, dec = networks()
    enc.train()
    before = copy.deepcopy(enc.state_dict())
    x, t, mask = data()
    attribution_matrix(enc, dec, x, t, method="deeplift", mask=mask, device="cpu")
    assert enc.training and not any(m._forward_hooks or m._backward_hooks for m in enc.modules())
    for k, v in enc.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)


def test_bad_method_and_settings() -> None:
    enc, dec = networks()
    x, t, mask = data()
    with pytest.raises(DataError, match=r"unknown importance method 'shapley'.*integrated"):
        check_method("shapley")
    with pytest.raises(DataError, match="unknown importance method"):
        attribution_matrix(enc, dec, x, t, method="shapley", mask=mask)
    with pytest.raises(DataError, match="n_steps must be at least 1"):
        attribution_matrix(enc, dec, x, t, method="integrated-gradients", mask=mask,
                           config=AttributionConfig(n_steps=0))  # fmt: skip
    with pytest.raises(ValueError, match="pass a mask"):
        attribution_matrix(enc, dec, x, t, method="deeplift")


def test_results_work_as_importance_results(tiny_dataset, tmp_path) -> None:
    ds = tiny_dataset
    run = make_run(ds)
    abl = compute_importance(run, ds, n_bootstrap=0, rng=1, device="cpu")
    assert abl.method == "ablation"
    results = {"ablation": abl}
    for method in GRADIENT:
        res = compute_attributions(
            run, ds, method=method, n_bootstrap=30, rng=1, reference=abl, device="cpu"
        )
        results[method] = res
        assert res.method == method and res.params["attribution"] == method
        assert res.matrix.shape == abl.matrix.shape
        assert res.params["samples"] == abl.params["samples"] and res.params["seed"] == 1
        np.testing.assert_allclose(
            res.alleles["importance"], (res.matrix.astype(float) ** 2).mean(0)
        )
        rho = res.params["spearman_vs_ablation"]
        assert rho == pytest.approx(spearman_agreement(res, abl)) and -1 <= rho <= 1
        back = ImportanceResult.load(res.save(tmp_path / method))
        assert back.method == method and back.params == res.params
        # downstream code takes any method
        assert len(locus_significance(res, n_bootstrap=50, rng=0).loci) == ds.n_loci
        scores = vida(res.matrix, ds.allele_columns, candidates=np.arange(12))
        assert len(scores) == 12
    # the ablation through the one entry point is compute_importance itself
    again = compute_attributions(run, ds, method="ablation", n_bootstrap=0, rng=1, device="cpu")
    np.testing.assert_array_equal(again.matrix, abl.matrix)
    table = attribution_agreement(results, reference=abl, truth=ds.truth)
    assert list(table.columns) == ["method", "seconds", "spearman_vs_ablation", "causal_auc"]
    assert table["spearman_vs_ablation"].iloc[0] == pytest.approx(1.0)
    assert table["causal_auc"].between(0, 1).all()
    # integrated gradients and ablation measure the same loss: they agree well on the
    # per-individual matrix where alleles are carried
    ig = results["integrated-gradients"].matrix
    assert np.corrcoef(ig.ravel(), abl.matrix.ravel())[0, 1] > 0.5
    with pytest.raises(DataError, match="different columns"):
        other = compute_attributions(run, ds, method="deeplift", tier="phenotype",
                                     n_bootstrap=0, device="cpu")  # fmt: skip
        spearman_agreement(other, abl)
