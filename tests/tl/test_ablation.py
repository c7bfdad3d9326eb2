"""Fast ablation importance: a toy network by hand, Captum as the oracle, results and files."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from importance_toys import make_run, onehot, random_networks
from torch import nn

from gpatlas_core.config import ModelConfig
from gpatlas_core.io import DataError
from gpatlas_core.module import with_pairs
from gpatlas_core.tl import (
    AblationCancelled,
    ImportanceResult,
    ablation_matrix,
    compute_importance,
    prediction_shift,
)
from gpatlas_core.tl._ablation import (
    ablate,
    allele_importance,
    bootstrap_locus_importance,
    locus_max,
)

captum_attr = pytest.importorskip("captum.attr")


# ----------------------------------------------------------------------------- helpers
def captum_matrix(enc, dec, x, t, *, dtype=torch.float64, mask=None) -> np.ndarray:
    """The reference: FeatureAblation on (inputs, targets), one individual at a time."""
    enc = copy.deepcopy(enc).to(dtype).eval()
    dec = copy.deepcopy(dec).to(dtype).eval()

    def forward(inp, tt):
        out = dec(enc(inp))
        if mask is None:
            return F.mse_loss(out, tt)
        m = forward.mask
        return ((out - tt) ** 2 * m).sum() / m.sum()

    fa = captum_attr.FeatureAblation(forward)
    rows = []
    for k in range(x.shape[0]):
        if mask is not None:
            forward.mask = mask[k : k + 1].to(dtype)
        attr = fa.attribute(inputs=(x[k : k + 1].to(dtype), t[k : k + 1].to(dtype)))[0]
        rows.append(attr.squeeze(0).detach().numpy())
    return np.asarray(rows)


def normwise(a: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(a - ref).max() / np.abs(ref).max())


# ------------------------------------------------------------------------ by hand
def toy(bn: bool) -> tuple[nn.Sequential, nn.Sequential]:
    """enc: h = -x0 + 2 x1 [BN: h - 0.5] -> LeakyReLU(0.5); dec: y = (z, 2 z)."""
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[-1.0, 2.0]]))
        lin.bias.zero_()
    mods: list[nn.Module] = [lin]
    if bn:
        norm = nn.BatchNorm1d(1, eps=0.0)
        with torch.no_grad():
            norm.running_mean.fill_(1.0)
            norm.running_var.fill_(4.0)
            norm.weight.fill_(2.0)
            norm.bias.fill_(0.5)
        mods.append(norm)
    enc = nn.Sequential(*mods, nn.LeakyReLU(0.5)).eval()
    out = nn.Linear(1, 2)
    with torch.no_grad():
        out.weight.copy_(torch.tensor([[1.0], [2.0]]))
        out.bias.zero_()
    return enc, nn.Sequential(out).eval()


def test_toy_by_hand() -> None:
    enc, dec = toy(bn=False)
    x = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    t = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    attr = ablation_matrix(enc, dec, x, t, device="cpu")
    # individual 0: h = 1, y = (1, 2), f = 1. Column 0 off: h = 2, y = (2, 4), f = 6.5.
    # Column 1 off: h = -1 -> z = -0.5 (sign flip), y = (-0.5, -1), f = 2.125.
    # individual 1: column 0 is already 0 -> exactly 0; h = 2, y = (2, 4), f = 6.5; column 1
    # off: h = 0, y = (0, 0), f = 0.5.
    expected = np.array([[1 - 6.5, 1 - 2.125], [0.0, 6.5 - 0.5]])
    np.testing.assert_allclose(attr, expected, rtol=1e-6)
    assert attr[1, 0] == 0.0


def test_toy_batchnorm_mask_and_shift_by_hand() -> None:
    enc, dec = toy(bn=True)  # BN(h) = h - 0.5
    x = torch.tensor([[1.0, 1.0]])
    t = torch.tensor([[0.0, 1.0]])
    # base: z = 0.5, y = (0.5, 1), f = 0.125; col 0 off: z = 1.5, y = (1.5, 3), f = 3.125;
    # col 1 off: pre = -1.5 -> z = -0.75, y = (-0.75, -1.5), f = 3.40625
    attr = ablation_matrix(enc, dec, x, t, device="cpu")
    np.testing.assert_allclose(attr, [[0.125 - 3.125, 0.125 - 3.40625]], rtol=1e-6)
    # only trait 0 observed: f = 0.25, 2.25, 0.5625
    masked = ablation_matrix(enc, dec, x, t, mask=torch.tensor([[True, False]]), device="cpu")
    np.testing.assert_allclose(masked, [[0.25 - 2.25, 0.25 - 0.5625]], rtol=1e-6)
    # paper formula: (y - y_ablated)^2 per trait
    shift = prediction_shift(enc, dec, x, device="cpu")
    np.testing.assert_allclose(shift, [[1.0, 4.0], [1.5625, 6.25]], rtol=1e-6)


# ------------------------------------------------------------------ Captum oracle
@pytest.mark.parametrize("ge_hidden", [24, None])
def test_genotype_tier_matches_captum(ge_hidden: int | None) -> None:
    cfg = ModelConfig(latent=8, e_hidden=16, d_hidden=16, ge_hidden=ge_hidden)
    _, p, gq = random_networks(5, 60, cfg, seed=1)
    x = onehot(6, 20, 3, seed=2)
    t = torch.randn(6, 5, generator=torch.Generator().manual_seed(3))
    fast = ablation_matrix(gq, p, x, t, device="cpu")
    ref64 = captum_matrix(gq, p, x, t, dtype=torch.float64)
    ref32 = captum_matrix(gq, p, x, t, dtype=torch.float32)
    assert fast.dtype == np.float32 and fast.shape == (6, 60)
    assert normwise(fast, ref64) < 1e-5
    # Captum's own float32 result differs from its float64 one by rounding, not more
    assert normwise(fast, ref32) < 1e-4
    # columns that are 0 are exactly 0, as in Captum
    assert (fast[x.numpy() == 0] == 0).all()
    assert (ref32[x.numpy() == 0] == 0).all()


def test_phenotype_tier_matches_captum_with_mask() -> None:
    cfg = ModelConfig(latent=6, e_hidden=12, d_hidden=10, ge_hidden=8)
    q, p, _ = random_networks(7, 14, cfg, seed=4)
    g = torch.Generator().manual_seed(5)
    t = torch.randn(5, 7, generator=g)
    t[0, 2] = 0.0  # a zero input column gives exactly 0
    mask = torch.rand(5, 7, generator=g) > 0.3
    fast = ablation_matrix(q, p, t, t, device="cpu")
    ref = captum_matrix(q, p, t, t)
    assert normwise(fast, ref) < 1e-5
    assert fast[0, 2] == 0.0
    fast_m = ablation_matrix(q, p, t, t, mask=mask, device="cpu")
    ref_m = captum_matrix(q, p, t, t, mask=mask)
    assert normwise(fast_m, ref_m) < 1e-5


def test_wide_first_layer_sign_changes_match_captum() -> None:
    # big first-layer weights make many hidden units change sign when a column is ablated
    cfg = ModelConfig(latent=4, e_hidden=8, d_hidden=8, ge_hidden=64)
    _, p, gq = random_networks(3, 40, cfg, seed=6)
    with torch.no_grad():
        gq[0].weight.mul_(30.0)
    x = onehot(4, 20, 2, seed=7)
    t = torch.randn(4, 3, generator=torch.Generator().manual_seed(8))
    fast = ablation_matrix(gq, p, x, t, device="cpu", chunk_size=7)
    assert normwise(fast, captum_matrix(gq, p, x, t)) < 1e-5
    fast64 = ablate(gq, p, x, t, device="cpu", dtype=torch.float64).matrix
    assert normwise(fast64, captum_matrix(gq, p, x, t)) < 1e-6


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_pair_terms_match_captum(scale: float) -> None:
    # a PairLinear first layer: ablating either column of a pair removes its product term;
    # scale 30 makes many first-layer units change sign (the exact correction path)
    cfg = ModelConfig(latent=5, e_hidden=8, d_hidden=8, ge_hidden=16)
    _, p, gq = random_networks(4, 45, cfg, seed=21)
    g = torch.Generator().manual_seed(22)
    pairs = torch.stack(
        [torch.randperm(45, generator=g)[:30], torch.randperm(45, generator=g)[:30]], 1
    )
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    gq = with_pairs(gq, pairs)
    with torch.no_grad():
        gq[0].pair_weight.copy_(torch.randn(gq[0].pair_weight.shape, generator=g))
        gq[0].weight.mul_(scale)
        gq[0].pair_weight.mul_(scale)
    gq.eval()
    x = onehot(6, 15, 3, seed=23)
    x[0, :] = 0.0  # an all-zero row: no pair is live
    x[1, pairs[0, 0]] = x[1, pairs[0, 1]] = 1.0  # a live pair for sure (two states of a locus)
    t = torch.randn(6, 4, generator=g)
    live = (x[:, pairs[:, 0]] * x[:, pairs[:, 1]]).sum()
    assert live > 3  # the test exercises pair terms
    fast = ablation_matrix(gq, p, x, t, device="cpu", chunk_size=11)
    ref = captum_matrix(gq, p, x, t)
    assert normwise(fast, ref) < 1e-5
    fast64 = ablate(gq, p, x, t, device="cpu", dtype=torch.float64).matrix
    assert normwise(fast64, ref) < 1e-6
    # without the pair term the numbers differ: the test would see a kernel that ignores it
    plain = copy.deepcopy(gq)
    with torch.no_grad():
        plain[0].pair_weight.zero_()
    assert normwise(ablation_matrix(plain, p, x, t, device="cpu"), ref) > 1e-2
    shift = prediction_shift(gq, p, x, device="cpu")
    enc, dec = copy.deepcopy(gq).double(), copy.deepcopy(p).double()
    with torch.no_grad():
        base = dec(enc(x.double()))
        direct = np.zeros((45, 4))
        for c in range(45):
            xa = x.double().clone()
            xa[:, c] = 0.0
            direct[c] = ((base - dec(enc(xa))) ** 2).mean(dim=0).numpy()
    np.testing.assert_allclose(shift, direct, rtol=1e-4, atol=1e-10)


def test_per_trait_shift_matches_direct_computation() -> None:
    cfg = ModelConfig(latent=6, e_hidden=8, d_hidden=8, ge_hidden=16)
    _, p, gq = random_networks(4, 30, cfg, seed=9)
    x = onehot(5, 10, 3, seed=10)
    shift = prediction_shift(gq, p, x, device="cpu")
    enc, dec = copy.deepcopy(gq).double(), copy.deepcopy(p).double()
    xd = x.double()
    with torch.no_grad():
        base = dec(enc(xd))
        direct = np.zeros((30, 4))
        for c in range(30):
            xa = xd.clone()
            xa[:, c] = 0.0
            direct[c] = ((base - dec(enc(xa))) ** 2).mean(dim=0).numpy()
    np.testing.assert_allclose(shift, direct, rtol=1e-4, atol=1e-10)
    np.testing.assert_allclose(shift.sum(axis=1), direct.sum(axis=1), rtol=1e-4, atol=1e-10)


def test_progress_and_cancel() -> None:
    cfg = ModelConfig(latent=4, e_hidden=8, d_hidden=8, ge_hidden=8)
    _, p, gq = random_networks(3, 12, cfg, seed=11)
    x = onehot(4, 6, 2, seed=12)
    t = torch.zeros(4, 3)
    seen: list[tuple[int, int]] = []
    ablation_matrix(gq, p, x, t, device="cpu", on_progress=lambda d, n: seen.append((d, n)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(AblationCancelled):
        ablation_matrix(gq, p, x, t, device="cpu", should_stop=lambda: True)


def test_networks_are_left_unchanged() -> None:
    cfg = ModelConfig(latent=4, e_hidden=8, d_hidden=8, ge_hidden=8)
    _, p, gq = random_networks(3, 12, cfg, seed=14)
    gq, p = gq.double(), p.double()  # float64 modules: no copy would be made by .to()

    def state() -> dict[str, torch.Tensor]:
        return {
            f"{name}.{k}": v.clone()
            for name, net in (("gq", gq), ("p", p))
            for k, v in net.state_dict().items()
        }

    before = state()
    ablation_matrix(gq, p, onehot(3, 6, 2, seed=15), torch.zeros(3, 3), device="cpu")
    after = state()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_bad_inputs() -> None:
    cfg = ModelConfig(latent=4, e_hidden=8, d_hidden=8, ge_hidden=8)
    _, p, gq = random_networks(3, 12, cfg, seed=13)
    with pytest.raises(ValueError, match="x must be"):
        ablation_matrix(gq, p, torch.zeros(2, 11), torch.zeros(2, 3), device="cpu")
    t = torch.zeros(2, 3)
    t[0, 0] = float("nan")
    with pytest.raises(ValueError, match="mask"):
        ablation_matrix(gq, p, torch.ones(2, 12), t, device="cpu")
    with pytest.raises(TypeError, match="supports"):
        ablation_matrix(nn.Sequential(nn.Linear(12, 4), nn.Tanh()), p, torch.ones(2, 12), t)


# ----------------------------------------------------------- aggregates, bootstrap
def test_allele_and_locus_aggregates() -> None:
    m = np.array([[1.0, -2.0, 0.0], [3.0, 0.0, 1.0]], dtype=np.float32)
    imp = allele_importance(m)
    np.testing.assert_allclose(imp, [5.0, 2.0, 0.5])
    np.testing.assert_allclose(locus_max(imp, np.array([0, 0, 1])), [5.0, 0.5])


def test_bootstrap_is_seeded_and_brackets() -> None:
    rng = np.random.default_rng(0)
    m = rng.normal(size=(40, 6))
    locus = np.array([0, 0, 1, 1, 2, 2])
    lo1, hi1 = bootstrap_locus_importance(m, locus, n_bootstrap=100, rng=np.random.default_rng(1))
    lo2, hi2 = bootstrap_locus_importance(m, locus, n_bootstrap=100, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(lo1, lo2)
    np.testing.assert_array_equal(hi1, hi2)
    point = locus_max(allele_importance(m), locus)
    assert (lo1 <= point).all() and (point <= hi1).all()
    lo, hi = bootstrap_locus_importance(m, locus, n_bootstrap=0, rng=np.random.default_rng(1))
    assert np.isnan(lo).all() and np.isnan(hi).all()


# ------------------------------------------------------------- compute_importance
def test_compute_importance_genotype_per_trait_save_load(tiny_dataset, tmp_path) -> None:
    ds = tiny_dataset
    ds.phenotypes[0, 1] = np.nan  # a missing phenotype is masked out of the loss
    run = make_run(ds)
    rows = run.test_rows(ds)
    res = compute_importance(run, ds, per_trait=True, n_bootstrap=50, rng=7, device="cpu")
    x, t, mask = run.model_inputs(ds, rows)
    np.testing.assert_array_equal(
        res.matrix, ablation_matrix(run.gq, run.p, x, t, mask=mask, device="cpu")
    )
    assert list(res.alleles.columns[:3]) == ["marker", "allele", "importance"]
    assert list(res.loci.columns[:6]) == [
        "marker",
        "chromosome",
        "position",
        "importance",
        "ci_low",
        "ci_high",
    ]
    assert len(res.alleles) == ds.n_allele_columns and len(res.loci) == ds.n_loci
    assert res.traits == list(ds.traits)
    assert res.params["seed"] == 7 and res.params["n_individuals"] == len(rows)
    assert res.params["samples"] == list(np.asarray(ds.samples).astype(str)[rows])
    np.testing.assert_allclose(res.alleles["importance"], (res.matrix.astype(float) ** 2).mean(0))
    assert (res.loci["ci_low"] <= res.loci["importance"] + 1e-12).all()
    # per-trait: loci = max over their alleles
    per_allele = res.per_trait("alleles").to_numpy()
    per_locus = res.per_trait("loci").to_numpy()
    np.testing.assert_allclose(per_locus, locus_max(per_allele.T, ds.allele_columns["locus"]).T)

    res.save(tmp_path)
    for name in ("importance_alleles.csv", "importance_loci.csv", "importance_matrix.npy"):
        assert (tmp_path / name).exists()
    head = (tmp_path / "importance_alleles.csv").read_text().splitlines()[0]
    assert head.startswith("marker,allele,importance")
    back = ImportanceResult.load(tmp_path)
    np.testing.assert_array_equal(back.matrix, res.matrix)
    np.testing.assert_array_equal(np.load(tmp_path / "importance_matrix.npy"), res.matrix)
    pd.testing.assert_frame_equal(back.alleles, res.alleles, check_dtype=False)
    pd.testing.assert_frame_equal(back.loci, res.loci, check_dtype=False)
    assert back.params == res.params


def test_compute_importance_phenotype_tier_unmasked(tiny_dataset, tmp_path) -> None:
    run = make_run(tiny_dataset, mask_missing=False)
    res = compute_importance(run, tiny_dataset, tier="phenotype", n_bootstrap=0, device="cpu")
    assert res.matrix.shape == (len(run.test_rows(tiny_dataset)), tiny_dataset.n_traits)
    assert list(res.loci["marker"]) == list(tiny_dataset.traits)
    assert res.params["loss"] == "MSE over all traits"
    assert res.loci["ci_low"].isna().all()
    assert isinstance(res.params["seed"], int)
    back = ImportanceResult.load(res.save(tmp_path))
    pd.testing.assert_frame_equal(back.loci, res.loci, check_dtype=False)
    assert back.tier == "phenotype"


def test_compute_importance_on_all_individuals(tiny_dataset) -> None:
    """``individuals="all"`` scores every individual of the run's split; each row is the same
    number the test-only matrix gives that individual (ablation is per individual)."""
    ds = tiny_dataset
    run = make_run(ds)
    test = compute_importance(run, ds, n_bootstrap=0, device="cpu")
    every = compute_importance(run, ds, individuals="all", n_bootstrap=0, device="cpu")
    rows = run.split_rows(ds)
    assert len(rows) == ds.n_samples > len(run.test_rows(ds))
    assert every.matrix.shape == (len(rows), ds.n_allele_columns)
    assert every.params["individuals"] == "all" and test.params["individuals"] == "test"
    assert every.params["samples"] == list(np.asarray(ds.samples).astype(str)[rows])
    at = [every.params["samples"].index(s) for s in test.params["samples"]]
    np.testing.assert_allclose(every.matrix[at], test.matrix, rtol=1e-6, atol=1e-9)
    assert not np.allclose(every.alleles["importance"], test.alleles["importance"])
    with pytest.raises(ValueError, match="individuals must be one of"):
        compute_importance(run, ds, individuals="train", n_bootstrap=0, device="cpu")
    # a data set holding none of the run's individuals says so
    stranger = copy.copy(run)
    stranger.split = run.split.assign(sample="other-" + run.split["sample"].astype(str))
    with pytest.raises(DataError, match="none of this run's individuals"):
        compute_importance(stranger, ds, individuals="all", n_bootstrap=0, device="cpu")


def test_importance_against_the_models_own_prediction(tiny_dataset) -> None:
    """``target="prediction"``: each entry is minus the mean squared shift of the individual's
    predicted traits when the column is set to 0 (the loss at the unablated input is 0)."""
    ds = tiny_dataset
    ds.phenotypes[0, 1] = np.nan  # no mask applies: the prediction exists for every trait
    run = make_run(ds)
    res = compute_importance(run, ds, target="prediction", n_bootstrap=0, device="cpu")
    assert res.params["target"] == "prediction" and "own prediction" in res.params["loss"]
    x, _, _ = run.model_inputs(ds, run.test_rows(ds))
    own = run.scale(run.predict_from_genotypes(x))
    assert (res.matrix <= 1e-6).all() and (res.matrix < -1e-8).any()
    k, cols = 1, np.flatnonzero(x[1].numpy() != 0)[:5]
    for c in cols:
        xa = x[k : k + 1].clone()
        xa[0, c] = 0.0
        shifted = run.scale(run.predict_from_genotypes(xa))[0]
        expected = -np.mean((shifted - own[k]) ** 2)
        assert res.matrix[k, c] == pytest.approx(expected, rel=1e-3, abs=1e-7)
    observed = compute_importance(run, ds, n_bootstrap=0, device="cpu")
    assert observed.params["target"] == "observed"
    assert not np.allclose(observed.matrix, res.matrix)
    with pytest.raises(ValueError, match="target must be one of"):
        compute_importance(run, ds, target="truth", n_bootstrap=0, device="cpu")


# ---------------------------------------------------------------------------- CLI
def test_cli_importance(tiny_folder, tmp_path, capsys) -> None:
    from gpatlas_core.cli import main
    from gpatlas_core.io import read_dataset_folder

    ds = read_dataset_folder(tiny_folder)
    run = make_run(ds)
    run.dataset_source = str(tiny_folder)
    run_dir = run.save(tmp_path / "run")
    assert main(["importance", str(run_dir), "--bootstrap", "20", "--per-trait", "--quiet"]) == 0
    res = ImportanceResult.load(run_dir)
    assert res.matrix.shape == (len(run.test_rows(ds)), ds.n_allele_columns)
    assert res.traits == list(ds.traits) and res.params["seed"] == 0
    assert main(["importance", str(run_dir), "--individuals", "all", "--bootstrap", "0"]) == 0
    assert "individuals x" in capsys.readouterr().out
    every = ImportanceResult.load(run_dir)
    assert every.matrix.shape == (ds.n_samples, ds.n_allele_columns)
    assert every.params["individuals"] == "all"
    assert main(["importance", str(run_dir), "--target", "prediction", "--quiet"]) == 0
    own = ImportanceResult.load(run_dir)
    assert own.params["target"] == "prediction" and (own.matrix <= 1e-6).all()
    assert (
        main(["importance", str(run_dir), "--tier", "phenotype", "--data", str(tiny_folder)]) == 0
    )
    out = capsys.readouterr().out
    assert "top loci" in out and "phenotype_importance" in out
    pheno = ImportanceResult.load(run_dir / "phenotype_importance")
    assert pheno.tier == "phenotype" and pheno.matrix.shape[1] == ds.n_traits
    # a run whose data cannot be found says so
    run.dataset_source = "simulation"
    other = run.save(tmp_path / "run2")
    assert main(["importance", str(other)]) == 2
    assert "--data" in capsys.readouterr().err
