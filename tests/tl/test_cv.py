"""Cross-validation: folds partition the individuals, every fold equals a direct train on its
split, the summary's means, standard errors and paired differences are right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpatlas_core.config import preset
from gpatlas_core.io import DataError
from gpatlas_core.tl import MEDIAN, assign_folds, cross_validate, summarize, win_loss
from gpatlas_core.train import fold_split, train

pytestmark = pytest.mark.usefixtures("one_thread")


def _config():
    return preset("quick", epochs_phenotype=2, epochs_genotype=1)


def test_folds_partition_and_are_seeded() -> None:
    folds = assign_folds(50, 4, np.random.default_rng(3))
    assert sorted(np.bincount(folds).tolist()) == [12, 12, 13, 13]
    assert np.array_equal(folds, assign_folds(50, 4, np.random.default_rng(3)))
    assert not np.array_equal(folds, assign_folds(50, 4, np.random.default_rng(4)))
    for k in (1, 51):
        with pytest.raises(DataError, match="2 <= folds"):
            assign_folds(50, k, np.random.default_rng(0))


def test_fold_split_holds_out_the_fold_and_validates_from_the_rest() -> None:
    samples = np.array([f"s{i}" for i in range(40)])
    folds = assign_folds(40, 4, np.random.default_rng(0))
    split = fold_split(samples, folds, 2, validation_fraction=0.25, seed=5)
    sets = split["set"].to_numpy()
    assert set(np.flatnonzero(sets == "test")) == set(np.flatnonzero(folds == 2))
    assert (sets == "validation").sum() == round(30 * 0.25)
    assert not ((sets == "validation") & (folds == 2)).any()


def test_every_fold_equals_a_direct_train_on_its_split(tiny_dataset) -> None:
    ds, cfg = tiny_dataset, _config()
    res = cross_validate(ds, cfg, folds=3, rng=np.random.default_rng(11))
    fold_of = res.folds["fold"].to_numpy()
    assert res.folds["sample"].tolist() == [str(s) for s in ds.samples]
    assert sorted(set(fold_of)) == [0, 1, 2]
    assert set(res.metrics["model"]) >= {"genotype_to_phenotype", "ridge", "lasso"}
    for k in range(3):
        split = fold_split(
            ds.samples, fold_of, k, validation_fraction=cfg.train.validation_fraction, seed=47
        )
        run = train(ds, cfg, split=split)
        assert (run.split["set"] == "test").sum() == (fold_of == k).sum()
        rows = res.metrics[res.metrics["fold"] == k]
        for model in ("genotype_to_phenotype", "phenotype_to_phenotype", "ridge", "lasso"):
            got = rows[rows["model"] == model].set_index("trait")["r2"]
            want = pd.Series(run.metrics[model]["per_trait"]["r2"])
            np.testing.assert_allclose(got[ds.traits].to_numpy(dtype=float),
                                       want[ds.traits].to_numpy(dtype=float))  # fmt: skip


def test_seeds_repeat_each_fold(tiny_dataset) -> None:
    res = cross_validate(tiny_dataset, _config(), folds=2, seeds=2, rng=np.random.default_rng(0))
    g = res.metrics[res.metrics["model"] == "genotype_to_phenotype"]
    assert sorted(set(zip(g["fold"], g["seed"], strict=True))) == [
        (0, 47),
        (0, 48),
        (1, 47),
        (1, 48),
    ]
    assert (res.summary["n_folds"] == 2).all()  # repeats are averaged within a fold


def test_summary_by_hand() -> None:
    rows = []
    r2 = {"genotype_to_phenotype": [[0.5, 0.1], [0.7, 0.3], [0.6, 0.2]],
          "ridge": [[0.4, 0.3], [0.5, 0.2], [0.45, 0.25]]}  # fmt: skip
    for model, by_fold in r2.items():
        for fold, vals in enumerate(by_fold):
            for trait, v in zip(("a", "b"), vals, strict=True):
                rows.append(dict(fold=fold, repeat=0, seed=0, model=model, trait=trait, r2=v,
                                 pearson=v, mse=1 - v, seconds=1.0))  # fmt: skip
    s = summarize(pd.DataFrame(rows)).set_index(["model", "trait"])
    a = s.loc[("genotype_to_phenotype", "a")]
    assert a["r2_mean"] == pytest.approx(0.6)
    assert a["r2_se"] == pytest.approx(np.std([0.5, 0.7, 0.6], ddof=1) / np.sqrt(3))
    diff = np.array([0.5, 0.7, 0.6]) - np.array([0.4, 0.5, 0.45])
    assert a["diff_ridge"] == pytest.approx(diff.mean())
    assert a["diff_ridge_se"] == pytest.approx(np.std(diff, ddof=1) / np.sqrt(3))
    med = s.loc[("genotype_to_phenotype", MEDIAN)]  # per-fold medians: 0.3, 0.5, 0.4
    assert med["r2_mean"] == pytest.approx(0.4)
    wl = win_loss(s.reset_index(), "ridge")
    assert (wl["wins"], wl["losses"], wl["traits"]) == (1, 1, 2)  # a better, b worse
    assert wl["clear_wins"] == 1  # a: 0.15 +- 0.029


def test_explicit_split_is_checked(tiny_dataset) -> None:
    split = pd.DataFrame({"sample": tiny_dataset.samples, "set": "train"})
    split.loc[0, "set"] = "holdout"
    with pytest.raises(DataError, match="holdout"):
        train(tiny_dataset, _config(), split=split)
    with pytest.raises(DataError, match="dataset's order"):
        train(tiny_dataset, _config(), split=split.iloc[::-1])
