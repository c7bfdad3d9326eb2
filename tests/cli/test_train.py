"""CLI round trip: train a dataset folder, evaluate the run folder, resume a stopped run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpatlas_core.cli import main
from gpatlas_core.run import Run

pytestmark = pytest.mark.usefixtures("one_thread")


def test_train_then_evaluate(tiny_folder: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    args = [
        "train", str(tiny_folder), "--out", str(out), "--preset", "paper-simulated",
        "--epochs-phenotype", "2", "--epochs-genotype", "2", "--seed", "5", "--device", "cpu",
        "--standardize", "--validation-fraction", "0.2", "--patience", "3", "--quiet",
    ]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "genotype_to_phenotype" in printed and "ridge" in printed and "lasso" in printed
    assert "predicts best" in printed or "are level" in printed  # the verdict line
    meta = json.loads((out / "config.json").read_text())
    assert meta["seed"] == 5 and meta["config"]["train"]["standardize"] is True
    assert meta["config"]["train"]["early_stopping_patience"] == 3
    assert meta["status"] == "finished" and "torch" in meta["versions"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"genotype_to_phenotype", "phenotype_to_phenotype", "ridge", "lasso"} <= set(metrics)
    assert set(metrics["lasso"]["params"]) == {"alpha", "n_selected"}
    assert main(["evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "phenotype_to_phenotype" in printed and "G-P Atlas is better on" in printed
    (out / "metrics.json").unlink()
    assert main(["evaluate", str(out), "--data", str(tiny_folder), "--no-baselines"]) == 0
    assert not {"ridge", "lasso"} & set(json.loads((out / "metrics.json").read_text()))
    assert Run.load(out).status == "finished"


def test_cli_errors(tiny_folder: Path, tmp_path: Path, capsys) -> None:
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    args = ["train", str(tiny_folder), "--out", str(tmp_path / "r"), "--patience", "2", "--quiet"]
    args += ["--validation-fraction", "0"]
    assert main(args) == 2
    assert "validation" in capsys.readouterr().err
    assert main(["train", str(tiny_folder), "--out", str(tmp_path / "r"), "--resume"]) == 2
