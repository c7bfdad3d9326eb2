"""``train --variational``: a tiny run through the CLI, its intervals in metrics.json, and the
run folder and bundle reloaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gpatlas_core.bundle import read_bundle, run_to_zip
from gpatlas_core.cli import main
from gpatlas_core.run import Run

pytestmark = pytest.mark.usefixtures("one_thread")


def test_train_variational_writes_intervals_and_reloads(
    tiny_folder: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "run"
    args = [
        "train", str(tiny_folder), "--out", str(out), "--preset", "quick",
        "--epochs-phenotype", "3", "--epochs-genotype", "2", "--seed", "4", "--device", "cpu",
        "--variational", "--beta", "0.2", "--quiet",
    ]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "90% prediction intervals" in printed
    meta = json.loads((out / "config.json").read_text())
    assert meta["config"]["train"]["variational"] is True
    assert meta["config"]["train"]["beta"] == 0.2
    g2p = json.loads((out / "metrics.json").read_text())["genotype_to_phenotype"]
    traits = meta["traits"]
    assert set(g2p["interval_coverage"]["per_trait"]) == set(traits)
    assert 0 <= g2p["interval_coverage"]["median"] <= 1
    assert g2p["interval_width"]["median"] > 0
    pred = pd.read_csv(out / "predictions.csv")
    test = pred[pred["set"] == "test"]
    inside = (test["observed"] >= test["lower_90"]) & (test["observed"] <= test["upper_90"])
    per_trait = inside.groupby(test["trait"]).mean()
    for t in traits:  # the metric is the share of test cells inside, recomputed from the CSV
        assert g2p["interval_coverage"]["per_trait"][t] == pytest.approx(per_trait[t])
    run = Run.load(out)
    assert run.variational and run.residual_sd is not None
    back = read_bundle(run_to_zip(run))
    assert back.variational
    np.testing.assert_array_equal(
        back.gq_logvar.weight.detach().numpy(), run.gq_logvar.weight.detach().numpy()
    )
    assert main(["evaluate", str(out), "--data", str(tiny_folder), "--no-baselines"]) == 0
    again = json.loads((out / "metrics.json").read_text())["genotype_to_phenotype"]
    assert again["interval_coverage"] == g2p["interval_coverage"]


def test_beta_needs_variational(tiny_folder: Path, tmp_path: Path, capsys) -> None:
    args = ["train", str(tiny_folder), "--out", str(tmp_path / "r"), "--beta", "0.5", "--quiet"]
    assert main(args) == 2
    assert "--variational" in capsys.readouterr().err
