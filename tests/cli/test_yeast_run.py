"""A run trained on the shipped yeast sample, named as its folder: ``info``, ``train``,
``importance``, ``vida`` and ``evaluate`` all find the data through the one resolver (``vida``
used to exit 2 here: the folder is the BY x RM layout, not a dataset folder)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from gpatlas_core.cli import main
from gpatlas_core.io import YEAST_SAMPLE_DIR


@pytest.fixture(scope="module")
def yeast_run(tmp_path_factory):
    """One epoch per tier of the small paper-simulated network on the sample's folder (a 5%
    test split keeps the ablation short)."""
    out = tmp_path_factory.mktemp("yeast") / "run"
    argv = ["train", str(YEAST_SAMPLE_DIR), "--out", str(out), "--preset", "paper-simulated"]
    argv += ["--epochs-phenotype", "1", "--epochs-genotype", "1", "--test-fraction", "0.05"]
    argv += ["--no-baselines", "--quiet"]
    assert main(argv) == 0
    return out


def test_info_on_the_sample_folder(capsys):
    assert main(["info", str(YEAST_SAMPLE_DIR)]) == 0
    out = capsys.readouterr().out
    assert "samples:            1,008" in out and "known QTL:          591" in out


def test_the_run_records_the_sample(yeast_run):
    meta = json.loads((yeast_run / "config.json").read_text())
    assert meta["dataset"]["source"] == str(YEAST_SAMPLE_DIR)
    assert meta["dataset"]["fingerprint"] == "c7b7f3178c9154b0"


def test_importance_vida_and_evaluate_find_the_data(yeast_run, capsys):
    argv = ["importance", str(yeast_run), "--bootstrap", "0", "--quiet", "--device", "cpu"]
    assert main(argv) == 0
    assert (yeast_run / "importance_matrix.npy").is_file()
    sig = pd.read_csv(yeast_run / "importance_significance.csv")
    assert len(sig) == 11_623 and sig["p_genome"].between(0, 1).all()
    assert main(["vida", str(yeast_run), "--top-percent", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "VIDA on" in out and "(top 0.5% by importance)" in out
    assert main(["vida", str(yeast_run)]) == 0  # default candidates: the known-QTL peaks
    assert "known-QTL peak markers" in capsys.readouterr().out
    assert len(pd.read_csv(yeast_run / "vida.csv")) > 0
    assert main(["vida", str(yeast_run), "--dataset", "yeast", "--top-percent", "0.5"]) == 0
    assert main(["evaluate", str(yeast_run), "--recompute", "--no-baselines", "--json"]) == 0
    assert "genotype_to_phenotype" in capsys.readouterr().out
