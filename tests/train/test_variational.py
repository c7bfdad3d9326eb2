"""The variational tier: KL terms, the reparameterisation, the heads, training, save/reload."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn
from torch.distributions import Normal, kl_divergence

from gpatlas_core.config import PRESETS, ModelConfig, preset
from gpatlas_core.io import DataError, Dataset
from gpatlas_core.module import encode_distribution, encoder, logvar_head, trunk_length
from gpatlas_core.run import Run
from gpatlas_core.train import train
from gpatlas_core.train._kernels import kl_gaussians, kl_standard_normal, reparameterise

pytestmark = pytest.mark.usefixtures("one_thread")


def _toy(seed: int, shape=(5, 3)) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64), torch.randn(
        shape, generator=g, dtype=torch.float64
    )


def test_kl_to_standard_normal_matches_closed_form_and_torch() -> None:
    mu, logvar = _toy(0)
    ours = kl_standard_normal(mu, logvar)
    ref = kl_divergence(
        Normal(mu, torch.exp(0.5 * logvar)), Normal(torch.zeros_like(mu), torch.ones_like(mu))
    ).sum(1)
    torch.testing.assert_close(ours, ref)
    # one dimension by hand: mu = 1, var = e -> 0.5 * (1 + e - 1 - 1)
    one = kl_standard_normal(torch.tensor([[1.0]]), torch.tensor([[1.0]]))
    assert float(one) == pytest.approx(0.5 * (np.e - 1.0))
    assert float(kl_standard_normal(torch.zeros(1, 4), torch.zeros(1, 4))) == 0.0


def test_kl_between_gaussians_matches_torch_and_its_minimiser() -> None:
    mu_q, lv_q = _toy(1)
    mu_p, lv_p = _toy(2)
    ref = kl_divergence(
        Normal(mu_q, torch.exp(0.5 * lv_q)), Normal(mu_p, torch.exp(0.5 * lv_p))
    ).sum(1)
    torch.testing.assert_close(kl_gaussians(mu_q, lv_q, mu_p, lv_p), ref)
    # as a function of the second variance, smallest at var_q + (mu_q - mu_p)^2
    best = torch.log(torch.exp(lv_q) + (mu_q - mu_p) ** 2)
    at_best = kl_gaussians(mu_q, lv_q, mu_p, best)
    for shift in (-0.3, 0.3):
        assert (kl_gaussians(mu_q, lv_q, mu_p, best + shift) > at_best).all()


def test_reparameterised_draws_have_the_right_moments_and_gradients() -> None:
    mu = torch.tensor([[2.0, -1.0, 0.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, np.log(4.0), np.log(0.25)]], requires_grad=True).float()
    logvar.retain_grad()
    gen = torch.Generator().manual_seed(3)
    z = reparameterise(mu.expand(200_000, 3), logvar.expand(200_000, 3), gen)
    torch.testing.assert_close(z.mean(0), mu[0].detach(), atol=0.02, rtol=0)
    torch.testing.assert_close(z.var(0), torch.exp(logvar[0]).detach(), atol=0.03, rtol=0.02)
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.full_like(mu, 200_000.0))  # dz/dmu = 1
    assert logvar.grad is not None and logvar.grad.abs().sum() > 0
    # the same generator state gives the same draws
    a = reparameterise(mu, logvar, torch.Generator().manual_seed(9))
    b = reparameterise(mu, logvar, torch.Generator().manual_seed(9))
    assert torch.equal(a, b)


@pytest.mark.parametrize("hidden", [None, 6])
def test_encode_distribution_mean_is_the_encoder_output(hidden) -> None:
    cfg = ModelConfig(latent=4, e_hidden=hidden)
    with torch.random.fork_rng():  # the global generator is left as it was
        torch.manual_seed(0)
        net = encoder(5, hidden, cfg).eval()
        head = logvar_head(net, cfg)
        x = torch.randn(7, 5)
    assert head.in_features == (5 if hidden is None else 6)
    assert trunk_length(net) == (0 if hidden is None else 3)
    mu, logvar = encode_distribution(net, head, x)
    torch.testing.assert_close(mu, net(x))
    assert logvar.shape == (7, 4)


def _cfg(name: str = "paper-simulated", **kw):
    base = {"epochs_phenotype": 4, "epochs_genotype": 3, "device": "cpu", "seed": 3}
    base.update(kw)
    return preset(name, **base)


def test_presets_stay_deterministic() -> None:
    for name in PRESETS:
        assert preset(name).train.variational is False


def test_variational_run_trains_saves_and_reloads(tiny_dataset: Dataset, tmp_path) -> None:
    run = train(tiny_dataset, _cfg(variational=True, beta=0.5), baselines=False)
    assert run.variational and isinstance(run.q_logvar, nn.Linear)
    assert run.residual_sd is not None and (run.residual_sd > 0).all()
    g2p = run.metrics["genotype_to_phenotype"]
    cover = g2p["interval_coverage"]
    assert set(cover["per_trait"]) == set(tiny_dataset.traits)
    assert 0.0 <= cover["median"] <= 1.0 and g2p["interval_width"]["median"] > 0
    pr = run.predictions
    assert (pr["lower_90"] <= pr["upper_90"]).all()
    # the deterministic prediction (the mean code's) lies inside its interval
    pred = pr["genotype_to_phenotype"]
    assert ((pred >= pr["lower_90"]) & (pred <= pr["upper_90"])).mean() > 0.95
    run.save(tmp_path / "run")
    back = Run.load(tmp_path / "run")
    assert back.variational and back.config.train.variational and back.config.train.beta == 0.5
    np.testing.assert_array_equal(back.residual_sd, run.residual_sd)
    mu, lv = run.latent_distribution_dataset(tiny_dataset)
    mu2, lv2 = back.latent_distribution_dataset(tiny_dataset)
    np.testing.assert_array_equal(mu, mu2)
    np.testing.assert_array_equal(lv, lv2)
    np.testing.assert_array_equal(mu, run.latent_dataset(tiny_dataset))
    back.evaluate(tiny_dataset, baselines=False)  # same seed, same intervals
    assert back.metrics["genotype_to_phenotype"]["interval_coverage"] == cover


def test_variational_tier_two_trains_the_head_not_the_decoder(tiny_dataset: Dataset) -> None:
    only1 = train(tiny_dataset, _cfg(variational=True, epochs_genotype=0), baselines=False)
    both = train(tiny_dataset, _cfg(variational=True), baselines=False)
    for (k, a), b in zip(only1.p.state_dict().items(), both.p.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    torch.testing.assert_close(only1.q_logvar.weight, both.q_logvar.weight, rtol=0, atol=0)
    assert not torch.equal(only1.gq_logvar.weight, both.gq_logvar.weight)


def test_warm_start_head_starts_at_the_kl_minimiser(tiny_dataset: Dataset) -> None:
    cfg = _cfg("quick", variational=True, epochs_phenotype=3, epochs_genotype=0)
    run = train(tiny_dataset, cfg, baselines=False)
    assert torch.count_nonzero(run.gq_logvar.weight) == 0
    rows = run._rows_of(tiny_dataset, "validation")
    t, _ = run.phenotype_inputs(tiny_dataset, rows)
    with torch.no_grad():
        mu_t, lv_t = encode_distribution(run.q, run.q_logvar, t)
    mu_g = torch.from_numpy(run.latent_dataset(tiny_dataset, rows))
    expect = torch.log((torch.exp(lv_t) + (mu_t - mu_g) ** 2).mean(0).clamp_min(1e-6))
    torch.testing.assert_close(run.gq_logvar.bias.detach(), expect, atol=1e-4, rtol=1e-4)


def test_variational_resume_equals_uninterrupted(tiny_dataset: Dataset) -> None:
    cfg = _cfg(variational=True)
    full = train(tiny_dataset, cfg, baselines=False)
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] == 5

    part = train(tiny_dataset, dataclasses.replace(cfg), baselines=False, should_stop=stop)
    assert part.status == "stopped"
    done = train(tiny_dataset, resume=part, baselines=False)
    for a, b in zip(full.state_tensors().values(), done.state_tensors().values(), strict=True):
        torch.testing.assert_close(a, b)


def test_negative_beta_is_refused(tiny_dataset: Dataset) -> None:
    with pytest.raises(DataError, match="beta"):
        train(tiny_dataset, _cfg(variational=True, beta=-1.0), baselines=False)
