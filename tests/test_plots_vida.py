"""VIDA figures build from evaluation results; the CLI writes vida.csv and vida_eval.json."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from gpatlas_core import pl
from gpatlas_core.io import DataError
from gpatlas_core.tl import (
    candidates_from_truth,
    evaluate_vida,
    importance_by_class,
    kurtosis_test,
    qq_data,
    vida,
    vida_grid,
)


@pytest.fixture
def setup(tiny_dataset):
    ds = tiny_dataset
    rng = np.random.default_rng(4)
    x = ds.onehot()
    mat = (x * rng.standard_t(3, size=x.shape)).astype(np.float32)
    return ds, mat, rng


def test_vida_figures_build(setup) -> None:
    ds, mat, rng = setup
    cand = candidates_from_truth(ds)
    scores = vida(mat, ds.allele_columns, candidates=cand, z_threshold=1.5)
    ev = evaluate_vida(scores, ds.truth, rng=rng, n_bootstrap=20)
    figs = [
        pl.vida_roc(ev.roc, auc=ev.auc, youden=ev.youden),
        pl.vida_enrichment(ev.enrichment),
        pl.vida_score_distributions(ev.labelled),
    ]
    a, b = importance_by_class(mat, ds.allele_columns, ds.truth)
    kt = kurtosis_test(a, b, rng=rng, n_bootstrap=50)
    figs.append(pl.vida_qq(qq_data(a, b, rng=rng, n_bootstrap=20), kurtosis=kt))
    figs.append(pl.vida_kurtosis_bootstrap(kt))
    grid = vida_grid(
        mat, ds.allele_columns, candidates=cand, truth=ds.truth, z_thresholds=(1.5, 2.0)
    )
    figs.append(pl.vida_grid_heatmap(grid))
    for fig in figs:
        assert isinstance(fig, go.Figure)
        fig.to_json()
    assert len(figs[-1].data) == 4  # one heatmap per method


def test_roc_figure_without_classes() -> None:
    empty = pd.DataFrame(columns=["fpr", "tpr", "threshold"])
    fig = pl.vida_roc(empty, auc=float("nan"), youden={"sensitivity": float("nan")})
    assert isinstance(fig, go.Figure)


def _parse(argv):
    from gpatlas_core.cli import _vida

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    _vida.register(sub)
    return parser.parse_args(["vida", *argv])


def _run_folder(tmp_path, ds, mat, folder):
    run = tmp_path / "run"
    run.mkdir()
    ds.allele_columns.to_csv(run / "allele_columns.csv", index=False)
    (run / "config.json").write_text(json.dumps({"dataset": {"source": str(folder)}}))
    np.save(run / "importance_matrix.npy", mat)
    return run


def test_cli_writes_scores_and_evaluation(setup, tiny_folder, tmp_path) -> None:
    ds, mat, _ = setup
    run = _run_folder(tmp_path, ds, mat, tiny_folder)
    args = _parse([str(run), "--z-threshold", "1.5", "--grid"])
    assert args.func(args) == 0
    scores = pd.read_csv(run / "vida.csv")
    assert list(scores.columns)[:2] == ["marker", "allele"]
    report = json.loads((run / "vida_eval.json").read_text())
    assert {"params", "evaluation", "grid_best"} <= set(report)
    assert (run / "vida_grid.csv").is_file()
    cand = tmp_path / "cand.csv"
    marker = ds.allele_columns["marker"].iloc[0]
    cand.write_text(f"marker,allele\n{marker},\n")
    args = _parse([str(run), "--candidates", str(cand)])
    assert args.func(args) == 0
    assert len(pd.read_csv(run / "vida.csv")) == 3


def test_cli_errors(setup, tiny_folder, tmp_path) -> None:
    ds, mat, _ = setup
    run = tmp_path / "empty"
    run.mkdir()
    args = _parse([str(run)])
    with pytest.raises(DataError, match="run `importance"):
        args.func(args)
    run = _run_folder(tmp_path, ds, mat[:, :-1], tiny_folder)
    with pytest.raises(DataError, match="allele columns"):
        args = _parse([str(run)])
        args.func(args)


def test_cli_main_entry(setup, tiny_folder, tmp_path, capsys) -> None:
    from gpatlas_core.cli import main

    ds, mat, _ = setup
    run = _run_folder(tmp_path, ds, mat, tiny_folder)
    assert main(["vida", str(run), "--top-percent", "50", "--method", "gini"]) == 0
    assert "scored" in capsys.readouterr().out
    assert main(["vida", str(tmp_path / "missing")]) == 2
    assert "run folder not found" in capsys.readouterr().err
