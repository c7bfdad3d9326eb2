"""The two-tier training loop: shapes, the frozen decoder, masking, determinism, stop/resume."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
import torch
from torch import nn

from gpatlas_core.config import preset
from gpatlas_core.io import DataError, Dataset
from gpatlas_core.run import Run
from gpatlas_core.train import genotype_flip_probability, make_split, train
from gpatlas_core.train._kernels import FirstLayer, masked_mse, penalty

pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(**kw):
    base = {"epochs_phenotype": 3, "epochs_genotype": 3, "device": "cpu", "seed": 3}
    base.update(kw)
    return preset("paper-simulated", **base)


@pytest.fixture
def holey(tiny_dataset: Dataset) -> Dataset:
    """tiny_dataset with ~10% of phenotype cells missing."""
    rng = np.random.default_rng(1)
    ph = tiny_dataset.phenotypes.copy()
    ph[rng.random(ph.shape) < 0.1] = np.nan
    tiny_dataset.phenotypes = ph
    return tiny_dataset


def test_shapes_and_outputs(holey: Dataset) -> None:
    run = train(holey, _cfg(), baselines=False)
    n, m, p = holey.n_samples, holey.n_traits, holey.n_allele_columns
    x, t, mask = run.model_inputs(holey)
    assert x.shape == (n, p) and t.shape == (n, m) and mask.dtype == torch.bool
    assert not torch.isnan(t).any()
    assert run.latent_from_genotypes(x).shape == (n, 32)
    assert run.latent_from_phenotypes(t).shape == (n, 32)
    assert run.predict_from_genotypes(x).shape == (n, m)
    assert run.predict_from_phenotypes(t).shape == (n, m)
    assert list(run.losses["tier"]) == ["phenotype"] * 3 + ["genotype"] * 3
    assert np.isfinite(run.losses["train_loss"]).all()
    assert np.isfinite(run.losses["test_loss"]).all()
    assert set(run.split["set"]) == {"train", "test"}
    assert len(run.test_rows(holey)) == round(0.2 * n)
    assert run.status == "finished"
    assert not run.gq.training and next(run.gq.parameters()).device.type == "cpu"
    assert run.gq[0].weight.is_contiguous()
    assert len(run.predictions) == n * m
    g2p = run.metrics["genotype_to_phenotype"]
    assert set(g2p["per_trait"]["r2"]) == set(holey.traits)


def test_decoder_frozen_in_tier_two(tiny_dataset: Dataset) -> None:
    only_tier1 = train(tiny_dataset, _cfg(epochs_genotype=0), baselines=False)
    both = train(tiny_dataset, _cfg(), baselines=False)
    for (k, a), b in zip(
        only_tier1.p.state_dict().items(), both.p.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), k
    assert not torch.equal(only_tier1.gq[0].weight, both.gq[0].weight)


def test_masked_loss_ignores_missing_cells() -> None:
    g = torch.Generator().manual_seed(0)
    out = torch.randn(6, 4, generator=g, requires_grad=True)
    target = torch.randn(6, 4, generator=g)
    mask = torch.rand(6, 4, generator=g) > 0.3
    filled = torch.where(mask, target, torch.zeros(()))
    loss = masked_mse(out, filled, mask.float())
    (grad,) = torch.autograd.grad(loss, out)
    out2 = out.detach().clone().requires_grad_(True)
    ref = ((out2[mask] - target[mask]) ** 2).mean()
    (grad2,) = torch.autograd.grad(ref, out2)
    assert torch.allclose(loss, ref)
    assert torch.allclose(grad, grad2)
    assert torch.all(grad[~mask] == 0)


def test_first_layer_gradient_matches_autograd() -> None:
    """The one-product weight gradient equals autograd on the reference expression."""
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(5, 30, generator=g) < 0.5).float()
    w = torch.randn(8, 30, generator=g)  # nn.Linear layout (hidden, inputs)
    b = torch.randn(8, generator=g)
    up = torch.randn(5, 8, generator=g)
    w_ref = w.clone().requires_grad_(True)
    s = w_ref.sum(0)
    loss = ((x @ w_ref.T + b) * up).sum() + 0.8 * torch.norm(s, 1) + 0.01 * torch.norm(s, 2)
    loss.backward()
    wt = w.T.contiguous()
    buf = torch.empty_like(wt)
    reg, r = penalty(wt, 0.8, 0.01)
    b2 = b.clone().requires_grad_(True)
    h = FirstLayer.apply(x, wt, b2, r, buf)
    (h * up).sum().backward()
    assert torch.allclose(buf.T, w_ref.grad, atol=1e-5)
    assert torch.allclose(reg, 0.8 * torch.norm(s, 1) + 0.01 * torch.norm(s, 2))
    assert torch.allclose(b2.grad, up.sum(0))


def test_flip_probability_and_split() -> None:
    assert genotype_flip_probability(0.8) == pytest.approx(0.09)
    assert genotype_flip_probability(1.0) == 0.0
    samples = np.array([f"s{i}" for i in range(100)])
    a = make_split(samples, test_fraction=0.2, validation_fraction=0.25, seed=5)
    b = make_split(samples, test_fraction=0.2, validation_fraction=0.25, seed=5)
    assert a.equals(b)
    assert a["set"].value_counts().to_dict() == {"train": 60, "test": 20, "validation": 20}


def test_same_seed_same_losses_and_threads(tiny_dataset: Dataset) -> None:
    cfg = _cfg(epochs_phenotype=2, epochs_genotype=2)
    first = train(tiny_dataset, cfg, baselines=False).losses["train_loss"].to_numpy()
    results: dict[int, np.ndarray] = {}

    def work(k: int) -> None:
        results[k] = train(tiny_dataset, cfg, baselines=False).losses["train_loss"].to_numpy()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    np.testing.assert_array_equal(first, results[0])
    np.testing.assert_array_equal(first, results[1])
    other = train(
        tiny_dataset, _cfg(epochs_phenotype=2, epochs_genotype=2, seed=4), baselines=False
    )
    assert not np.array_equal(first, other.losses["train_loss"].to_numpy())


def test_tier_two_beats_the_mean() -> None:
    from gpatlas_core.sim import SimulationConfig, simulate

    ds = simulate(
        SimulationConfig(
            n_individuals=160, n_loci=20, n_traits=4, causal_per_trait=2, p_interaction=0
        ),
        rng=np.random.default_rng(7),
    )
    cfg = preset(
        "paper-simulated",
        epochs_phenotype=15,
        epochs_genotype=25,
        l1=0.0,
        l2=0.0,
        standardize=True,
        device="cpu",
    )
    run = train(ds, cfg, baselines=False)
    test = run.test_rows(ds)
    train_mean = np.nanmean(ds.phenotypes[run.train_rows(ds)], axis=0)
    x, _, _ = run.model_inputs(ds, test)
    mse_model = np.nanmean((run.predict_from_genotypes(x) - ds.phenotypes[test]) ** 2, axis=0)
    mse_mean = np.nanmean((train_mean - ds.phenotypes[test]) ** 2, axis=0)
    ratio = mse_model / mse_mean
    assert np.all(ratio < 0.8) and ratio.mean() < 0.7, ratio
    assert run.metrics["genotype_to_phenotype"]["median"]["r2"] > 0.25


def test_save_load_round_trip(holey: Dataset, tmp_path) -> None:
    run = train(holey, _cfg(standardize=True))
    run.save(tmp_path / "run")
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"config.json", "split.csv", "losses.csv", "weights.safetensors"} <= names
    assert {"predictions.csv", "metrics.json", "allele_columns.csv"} <= names
    back = Run.load(tmp_path / "run")
    x, t, _ = back.model_inputs(holey)
    np.testing.assert_array_equal(back.predict_from_genotypes(x), run.predict_from_genotypes(x))
    np.testing.assert_array_equal(back.predict_from_phenotypes(t), run.predict_from_phenotypes(t))
    assert back.split.equals(run.split)
    assert back.metrics["ridge"]["median"] == pytest.approx(run.metrics["ridge"]["median"])
    assert back.config == run.config and back.traits == run.traits
    assert back.dataset_fingerprint == holey.fingerprint
    np.testing.assert_allclose(back.losses["train_loss"], run.losses["train_loss"])
    assert back.predictions.shape == run.predictions.shape


def test_stop_and_resume_equals_uninterrupted(tiny_dataset: Dataset, tmp_path) -> None:
    cfg = _cfg(epochs_phenotype=2, epochs_genotype=3)
    full = train(tiny_dataset, cfg, baselines=False)
    for stop_after in (4, 8):  # inside tier 1, inside tier 2 (3 batches per epoch)
        calls = {"n": 0}

        def stop() -> bool:
            calls["n"] += 1  # noqa: B023
            return calls["n"] >= stop_after  # noqa: B023

        part = train(
            tiny_dataset, cfg, should_stop=stop, checkpoint_dir=tmp_path / "ck", baselines=False
        )
        assert part.status == "stopped"
        assert part.checkpoint is not None
        assert len(part.predictions) == tiny_dataset.n_samples * tiny_dataset.n_traits
        resumed = train(tiny_dataset, resume=tmp_path / "ck", baselines=False)
        assert resumed.status == "finished"
        np.testing.assert_array_equal(
            resumed.losses["train_loss"].to_numpy(), full.losses["train_loss"].to_numpy()
        )
        for a, b in zip(
            resumed.gq.state_dict().values(), full.gq.state_dict().values(), strict=True
        ):
            assert torch.equal(a, b)
        assert not (tmp_path / "ck" / "checkpoint.json").exists()


def test_resume_in_memory_and_wrong_dataset(tiny_dataset: Dataset, holey) -> None:
    cfg = _cfg(epochs_phenotype=1, epochs_genotype=1)
    part = train(tiny_dataset, cfg, should_stop=lambda: True, baselines=False)
    assert part.status == "stopped"
    done = train(tiny_dataset, resume=part, baselines=False)
    assert done.status == "finished" and len(done.losses) == 2
    other = dataclasses.replace(tiny_dataset, phenotypes=tiny_dataset.phenotypes + 1)
    part2 = train(tiny_dataset, cfg, should_stop=lambda: True, baselines=False)
    with pytest.raises(DataError, match="cannot resume"):
        train(other, resume=part2)
    # a checkpoint made on another kind of device is refused with a message, not a
    # RuntimeError from the generator state
    part3 = train(tiny_dataset, cfg, should_stop=lambda: True, baselines=False)
    part3.checkpoint["meta"]["device"] = "cuda"
    with pytest.raises(DataError, match="stopped while training on cuda"):
        train(tiny_dataset, resume=part3, baselines=False)
    # a finished run has nothing to continue: refused, not silently retrained from epoch 0
    n_rows = len(done.losses)
    with pytest.raises(DataError, match="no checkpoint to continue from"):
        train(tiny_dataset, cfg, resume=done)
    assert len(done.losses) == n_rows and done.status == "finished"


def test_early_stopping_restores_best(tiny_dataset: Dataset) -> None:
    seen = []
    cfg = _cfg(epochs_phenotype=30, epochs_genotype=2, validation_fraction=0.25)
    cfg.train.early_stopping_patience = 2
    run = train(tiny_dataset, cfg, on_epoch=seen.append, baselines=False)
    assert set(run.split["set"]) == {"train", "validation", "test"}
    ph = run.losses[run.losses["tier"] == "phenotype"]
    best = int(ph["validation_loss"].to_numpy().argmin()) + 1
    assert run.info["best_epoch"]["phenotype"] == best
    assert len(ph) <= 30 and seen[0].validation_loss is not None
    assert seen[-1].tier == "genotype" and seen[-1].n_epochs == 2
    with pytest.raises(DataError, match="validation"):
        train(tiny_dataset, _cfg(early_stopping_patience=3), baselines=False)


def test_zero_fill_mode_runs(holey: Dataset) -> None:
    run = train(holey, _cfg(mask_missing=False, epochs_genotype=1), baselines=False)
    assert np.isfinite(run.losses["train_loss"]).all()
    assert np.all(run.fill == 0)


def test_linear_init_is_default_distribution() -> None:
    from gpatlas_core.train import init_networks

    net = nn.Sequential(nn.Linear(400, 50))
    init_networks((net,), 0)
    w = net[0].weight.detach()
    assert w.abs().max() <= 1 / 20 and w.std() == pytest.approx(1 / 20 / np.sqrt(3), rel=0.05)
