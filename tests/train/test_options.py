"""Training options beyond the reference: BatchNorm recalibration, weight averaging, presets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from gpatlas_core.config import PRESETS, GPAtlasConfig, ModelConfig, TrainConfig, preset
from gpatlas_core.io import Dataset
from gpatlas_core.train import train

pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(**kw) -> GPAtlasConfig:
    base = {"epochs_phenotype": 2, "epochs_genotype": 3, "device": "cpu", "seed": 3}
    base.update(kw)
    return preset("paper-simulated", **base)


def _bn_input_stats(net: nn.Sequential, x: torch.Tensor, bn_index: int):
    with torch.no_grad():
        h = net[:bn_index](x)
    return h.mean(0), h.var(0, unbiased=True)


def test_recalibrated_bn_holds_training_set_statistics(tiny_dataset: Dataset) -> None:
    """With momentum 0.8 the running statistics are ~the last batch; recalibrated, they are the
    statistics of the whole (noise-free) training set, layer after layer."""
    ph = tiny_dataset.phenotypes.copy()
    ph[np.random.default_rng(1).random(ph.shape) < 0.1] = np.nan
    ds = dataclasses.replace(tiny_dataset, phenotypes=ph)
    plain = train(ds, _cfg(standardize=True), baselines=False)
    run = train(ds, _cfg(standardize=True, recalibrate_bn=True), baselines=False)
    rows = run.train_rows(ds)
    x, t, _ = run.model_inputs(ds, rows)
    # tier 1's weights are the same: recalibration only touches running statistics
    assert torch.equal(plain.q[0].weight, run.q[0].weight)
    # P (frozen in tier 2) holds the statistics of P's inputs after Q, from the end of tier 1
    for net, inp in ((run.gq, x), (nn.Sequential(*run.q, *run.p), t)):
        net.train()  # deeper layers see the earlier layers normalised with batch statistics
        bns = [i for i, mod in enumerate(net) if isinstance(mod, nn.BatchNorm1d)]
        for i in bns:
            mean, var = _bn_input_stats(net, inp, i)
            torch.testing.assert_close(net[i].running_mean, mean, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(net[i].running_var, var, rtol=1e-4, atol=1e-5)
        net.eval()
    mean, _ = _bn_input_stats(plain.gq, x, 1)
    assert not torch.allclose(plain.gq[1].running_mean, mean, atol=1e-3)
    assert all(
        mod.momentum == run.config.model.bn_momentum
        for net in (run.q, run.p, run.gq)
        for mod in net.modules()
        if isinstance(mod, nn.BatchNorm1d)
    )


def test_weight_averaging_is_the_mean_of_epoch_ends(tiny_dataset: Dataset) -> None:
    """average_genotype_from=1 over 3 epochs = mean of the weights after epochs 2 and 3."""
    snaps = [train(tiny_dataset, _cfg(epochs_genotype=k), baselines=False) for k in (2, 3)]
    avg = train(tiny_dataset, _cfg(average_genotype_from=1), baselines=False)
    assert avg.info["averaged_epochs"]["genotype"] == 2
    for name, prm in avg.gq.named_parameters():
        expect = sum(dict(s.gq.named_parameters())[name] for s in snaps) / 2
        torch.testing.assert_close(prm, expect, rtol=1e-5, atol=1e-6)
    # averaged weights come with recalibrated BatchNorm statistics
    x, _, _ = avg.model_inputs(tiny_dataset, avg.train_rows(tiny_dataset))
    mean, _ = _bn_input_stats(avg.gq, x, 1)
    torch.testing.assert_close(avg.gq[1].running_mean, mean, rtol=1e-4, atol=1e-5)


def test_stop_and_resume_with_averaging(tiny_dataset: Dataset, tmp_path) -> None:
    cfg = _cfg(average_genotype_from=1, recalibrate_bn=True, standardize=True)
    full = train(tiny_dataset, cfg, baselines=False)
    calls = {"n": 0}

    def stop() -> bool:  # 3 batches per epoch: call 14 is inside tier-2 epoch 3
        calls["n"] += 1
        return calls["n"] >= 14

    part = train(tiny_dataset, cfg, should_stop=stop, checkpoint_dir=tmp_path, baselines=False)
    assert part.status == "stopped"
    resumed = train(tiny_dataset, resume=tmp_path, baselines=False)
    for a, b in zip(resumed.gq.state_dict().values(), full.gq.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert resumed.info["averaged_epochs"] == full.info["averaged_epochs"]


def test_presets() -> None:
    assert PRESETS[0] == "studio" and set(PRESETS) == {
        "studio",
        "quick",
        "paper-simulated",
        "paper-yeast",
    }
    # the paper presets stay the reference's settings
    assert preset("paper-yeast").train == TrainConfig()
    assert preset("paper-simulated").train == TrainConfig()
    assert preset("paper-yeast").model == ModelConfig(e_hidden=64, d_hidden=64, ge_hidden=2048)
    assert preset("paper-simulated").model == ModelConfig()
    studio = preset("studio")
    assert studio.train.standardize and studio.train.recalibrate_bn
    assert studio.model.ge_hidden is not None  # two tiers, hidden layer kept
    quick = preset("quick", epochs_genotype=2)
    assert quick.train.epochs_genotype == 2 and quick.train.standardize
    # the warm start blends the plain LASSO with its multi-trait refit (the refit alone costs
    # known-QTL share)
    for cfg in (studio, quick):
        assert cfg.train.lasso_multitrait == 0.5 and cfg.train.lasso_multitrait_weight == 0.5
    # presets hand out copies
    studio.model.latent = 1
    assert preset("studio").model.latent == 64
    with pytest.raises(ValueError, match="unknown preset"):
        preset("nope")  # type: ignore[arg-type]


def test_epoch_test_loss_matches_final_model_when_recalibrating(tiny_dataset: Dataset) -> None:
    """With recalibrate_bn the reported per-epoch test loss is the loss of the model as it would
    be saved at that point (not of the training-time running statistics)."""
    run = train(tiny_dataset, _cfg(recalibrate_bn=True, gen_noise=0.2), baselines=False)
    x, t, mask = run.model_inputs(tiny_dataset, run.test_rows(tiny_dataset))
    with torch.no_grad():
        out = run.p(run.gq(x))
    final = float(((out - t) ** 2 * mask).sum() / mask.sum())
    last = run.losses[run.losses["tier"] == "genotype"]["test_loss"].iloc[-1]
    assert last == pytest.approx(final, rel=1e-5)
    plain = train(tiny_dataset, _cfg(gen_noise=0.2), baselines=False)
    assert torch.equal(plain.q[0].weight, run.q[0].weight)  # the losses do not change training
