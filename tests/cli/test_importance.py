"""CLI ``importance RUN --method``: gradient attributions next to ablation, read back by VIDA."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from importance_toys import make_run

from gpatlas_core.cli import main
from gpatlas_core.cli._importance import importance_dir
from gpatlas_core.io import read_dataset_folder
from gpatlas_core.tl import ImportanceResult, compute_attributions, spearman_agreement


@pytest.fixture
def run_dir(tiny_folder, tmp_path):
    ds = read_dataset_folder(tiny_folder)
    run = make_run(ds)
    run.dataset_source = str(tiny_folder)
    return run.save(tmp_path / "run"), run, ds


def test_method_writes_its_own_folder_with_agreement(run_dir, capsys) -> None:
    path, run, ds = run_dir
    argv = ["importance", str(path), "--bootstrap", "0", "--device", "cpu"]
    assert main([*argv, "--method", "integrated-gradients", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "Spearman correlation of allele importance with exact ablation (computed now" in out
    assert not (path / "importance_matrix.npy").exists()  # ablation's place is left alone
    where = importance_dir(path, method="integrated-gradients")
    assert where == path / "importance_integrated_gradients"
    res = ImportanceResult.load(where)
    assert res.method == "integrated-gradients" and res.params["seed"] == 3
    assert res.params["seconds"] >= 0 and "computed now" in res.params["ablation_reference"]
    same = compute_attributions(run, ds, method="integrated-gradients", n_bootstrap=0, rng=3,
                                device="cpu")  # fmt: skip
    np.testing.assert_array_equal(res.matrix, same.matrix)
    # with ablation saved in the run, that one is the reference
    assert main(argv) == 0
    abl = ImportanceResult.load(path)
    assert abl.method == "ablation" and (path / "importance_significance.csv").is_file()
    capsys.readouterr()
    assert main([*argv, "--method", "gradient-shap"]) == 0
    assert f"exact ablation (saved in {path}" in capsys.readouterr().out
    shap = ImportanceResult.load(importance_dir(path, method="gradient-shap"))
    assert shap.params["spearman_vs_ablation"] == pytest.approx(spearman_agreement(shap, abl))
    assert main([*argv, "--method", "deeplift", "--no-compare", "--quiet"]) == 0
    dl = json.loads((path / "importance_deeplift" / "importance_params.json").read_text())
    assert dl["attribution"] == "deeplift" and "spearman_vs_ablation" not in dl


def test_vida_reads_the_methods_matrix(run_dir, capsys) -> None:
    path, _, ds = run_dir
    assert main(["importance", str(path), "--method", "deeplift", "--no-compare", "--quiet",
                 "--bootstrap", "0", "--device", "cpu"]) == 0  # fmt: skip
    assert main(["vida", str(path), "--importance", "deeplift", "--z-threshold", "1.0"]) == 0
    where = path / "importance_deeplift"
    scores = pd.read_csv(where / "vida.csv", keep_default_na=False)
    assert len(scores) == len(ds.truth.causal[["marker"]].drop_duplicates()) * 3
    assert (where / "vida_eval.json").is_file() and not (path / "vida.csv").exists()
    assert main(["vida", str(path)]) == 2  # no ablation matrix yet
    assert "run `importance" in capsys.readouterr().err


def test_bad_method_and_options(run_dir, capsys) -> None:
    path, _, _ = run_dir
    with pytest.raises(SystemExit) as err:
        main(["importance", str(path), "--method", "shapley"])
    assert err.value.code == 2
    assert "invalid choice: 'shapley'" in capsys.readouterr().err
    assert main(["importance", str(path), "--method", "deeplift", "--per-trait"]) == 2
    assert "--per-trait is the ablation's" in capsys.readouterr().err
