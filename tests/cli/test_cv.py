"""CLI ``cv`` and ``tune``: the files they write, ``train --config`` on tune's best config, and
user errors as exit code 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from gpatlas_core.cli import main

EPOCHS = ["--preset", "quick", "--epochs-phenotype", "2", "--epochs-genotype", "1", "--quiet"]


def test_cv_writes_metrics_summary_and_folds(tiny_folder, tmp_path, capsys) -> None:
    out = tmp_path / "cv"
    assert main(["cv", str(tiny_folder), "--out", str(out), "--folds", "3", *EPOCHS]) == 0
    text = capsys.readouterr().out
    assert "Median test R² over traits" in text and "G-P Atlas vs LASSO" in text
    metrics = pd.read_csv(out / "cv_metrics.csv")
    assert list(metrics.columns) == [
        "fold",
        "repeat",
        "seed",
        "model",
        "trait",
        "r2",
        "pearson",
        "mse",
    ]
    assert set(metrics["fold"]) == {0, 1, 2} and {"ridge", "lasso"} <= set(metrics["model"])
    folds = pd.read_csv(out / "folds.csv")
    assert len(folds) == 50 and set(folds["fold"]) == {0, 1, 2}
    summary = pd.read_csv(out / "cv_summary.csv")
    assert {"r2_mean", "r2_se", "diff_ridge", "diff_ridge_se", "diff_lasso"} <= set(summary.columns)


def test_tune_then_train_with_the_best_config(local_ray, tiny_folder, tmp_path, capsys) -> None:
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"latent": [4, 8]}))
    out = tmp_path / "tune"
    argv = ["tune", str(tiny_folder), "--out", str(out), "--grid", str(grid), "--folds", "2"]
    assert main([*argv, *EPOCHS]) == 0
    assert "2 of 2 trials finished" in capsys.readouterr().out
    trials = pd.read_csv(out / "trials.csv")
    assert trials["latent"].tolist() == [4, 8] and (trials["status"] == "ok").all()
    best = json.loads((out / "best_config.json").read_text())
    run = tmp_path / "run"
    cmd = ["train", str(tiny_folder), "--out", str(run), "--config", str(out / "best_config.json")]
    assert main([*cmd, "--quiet"]) == 0
    used = json.loads((run / "config.json").read_text())["config"]
    assert used["model"]["latent"] == best["grid_point"]["latent"]
    assert used["train"]["epochs_phenotype"] == 2  # the file's settings, not the preset's


@pytest.mark.parametrize(
    ("grid", "message"),
    [('{"latnt": [4]}', "unknown setting 'latnt'"), ("not json", "not valid JSON")],
)
def test_bad_grid_is_a_user_error(tiny_folder, tmp_path, capsys, grid, message) -> None:
    path = tmp_path / "grid.json"
    path.write_text(grid)
    argv = ["tune", str(tiny_folder), "--out", str(tmp_path / "t"), "--grid", str(path)]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_config_file_is_a_user_error(tiny_folder, tmp_path, capsys) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model": {"latent": 4, "hidden": 3}, "train": {}}))
    argv = ["train", str(tiny_folder), "--out", str(tmp_path / "r"), "--config", str(path)]
    assert main(argv) == 2
    assert "unknown model setting(s) 'hidden'" in capsys.readouterr().err
    assert main([*argv[:-1], str(tmp_path / "missing.json")]) == 2
    assert "config file not found" in capsys.readouterr().err
