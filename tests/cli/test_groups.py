"""CLI: ``train --groups`` end to end, then ``importance`` writing the group-level files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from gpatlas_core.cli import main
from gpatlas_core.run import Run

pytestmark = pytest.mark.usefixtures("one_thread")

_FAST = ["--epochs-phenotype", "2", "--epochs-genotype", "2", "--device", "cpu", "--quiet"]


def test_train_with_window_groups_then_importance(tiny_folder: Path, tmp_path: Path, capsys):
    out = tmp_path / "run"
    args = ["train", str(tiny_folder), "--out", str(out), "--groups", "windows:25kb"]
    assert main([*args, "--group-units", "2", "--no-baselines", *_FAST]) == 0
    captured = capsys.readouterr()
    assert "LASSO warm start" in captured.err  # the studio default's warm start is switched off
    meta = json.loads((out / "config.json").read_text())
    assert meta["config"]["model"]["groups"] == "windows:25kb"
    assert meta["config"]["model"]["group_units"] == 2
    assert meta["config"]["train"]["genotype_init"] == "random"
    run = Run.load(out)
    assert run.grouped and run.gq[0].units == 2
    assert main(["importance", str(out), "--bootstrap", "0", "--quiet"]) == 0
    assert "importance_groups.csv" in capsys.readouterr().out
    groups = pd.read_csv(out / "importance_groups.csv")
    assert groups["group"].tolist() == run.group_names
    assert (groups["importance"] >= 0).all() and groups["importance"].max() > 0
    sens = pd.read_csv(out / "latent_sensitivity.csv", index_col=0)
    assert list(sens.index) == run.traits and list(sens.columns) == run.group_names


def test_train_with_a_group_file_and_importance_of_a_dense_run(
    tiny_folder: Path, tmp_path: Path, capsys
) -> None:
    markers = pd.read_csv(tiny_folder / "markers.csv")["marker"].astype(str).tolist()
    table = tmp_path / "genes.csv"
    table.write_text(
        "marker,group\n" + "".join(f"{m},gene{i // 7}\n" for i, m in enumerate(markers[:30]))
    )
    out = tmp_path / "run"
    cmd = ["train", str(tiny_folder), "--out", str(out), "--groups", str(table)]
    assert main([*cmd, "--preset", "paper-simulated", "--no-baselines", *_FAST]) == 0
    run = Run.load(out)
    # 30 listed markers in 5 genes; the other 10 markers have a group each
    assert run.gq[0].n_groups == 5 + len(markers) - 30
    dense = tmp_path / "dense"
    cmd = ["train", str(tiny_folder), "--out", str(dense), "--preset", "paper-simulated"]
    assert main([*cmd, "--no-baselines", *_FAST]) == 0
    assert main(["importance", str(dense), "--bootstrap", "0", "--quiet"]) == 0
    assert not (dense / "importance_groups.csv").exists()  # dense run, no groups asked for
    args = ["importance", str(dense), "--bootstrap", "0", "--quiet", "--groups", str(table)]
    assert main(args) == 0
    assert len(pd.read_csv(dense / "importance_groups.csv")) == 5 + len(markers) - 30
    assert not (dense / "latent_sensitivity.csv").exists()


def test_bad_group_file_is_a_clear_error(tiny_folder: Path, tmp_path: Path, capsys) -> None:
    table = tmp_path / "genes.csv"
    table.write_text("marker,group\nnot_a_marker,geneA\n")
    cmd = ["train", str(tiny_folder), "--out", str(tmp_path / "r"), "--groups", str(table)]
    assert main([*cmd, *_FAST]) == 2
    err = capsys.readouterr().err
    assert "not_a_marker" in err and "not in the dataset" in err and "Traceback" not in err
    assert (
        main(["train", str(tiny_folder), "--out", str(tmp_path / "r"), "--group-units", "3"]) == 2
    )
    assert "--group-units needs --groups" in capsys.readouterr().err
