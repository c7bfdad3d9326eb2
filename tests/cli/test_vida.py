"""CLI ``vida RUN``: writes vida.csv and vida_eval.json; user errors are DataErrors."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from gpatlas_core.io import DataError
from gpatlas_core.tl import VIDA_EVAL_SEED, vida_against_truth


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


def test_cli_writes_scores_and_evaluation(vida_setup, tiny_folder, tmp_path) -> None:
    ds, mat, _ = vida_setup
    run = _run_folder(tmp_path, ds, mat, tiny_folder)
    args = _parse([str(run), "--z-threshold", "1.5", "--grid"])
    assert args.func(args) == 0
    scores = pd.read_csv(run / "vida.csv")
    assert list(scores.columns)[:2] == ["marker", "allele"]
    report = json.loads((run / "vida_eval.json").read_text())
    assert {"params", "evaluation", "grid_best"} <= set(report)
    same = vida_against_truth(  # the app's VIDA page makes the same call (default seed 0)
        mat, ds.allele_columns, scores, ds.truth, rng=np.random.default_rng(VIDA_EVAL_SEED)
    ).to_dict()
    assert report["evaluation"] == json.loads(json.dumps(same["evaluation"]))
    assert report.get("kurtosis_test") == json.loads(json.dumps(same.get("kurtosis_test")))
    assert (run / "vida_grid.csv").is_file()
    cand = tmp_path / "cand.csv"
    marker = ds.allele_columns["marker"].iloc[0]
    cand.write_text(f"marker,allele\n{marker},\n")
    args = _parse([str(run), "--candidates", str(cand)])
    assert args.func(args) == 0
    assert len(pd.read_csv(run / "vida.csv")) == 3


def test_cli_errors(vida_setup, tiny_folder, tmp_path) -> None:
    ds, mat, _ = vida_setup
    run = tmp_path / "empty"
    run.mkdir()
    args = _parse([str(run)])
    with pytest.raises(DataError, match="run `importance"):
        args.func(args)
    run = _run_folder(tmp_path, ds, mat[:, :-1], tiny_folder)
    with pytest.raises(DataError, match="allele columns"):
        args = _parse([str(run)])
        args.func(args)


def test_cli_main_entry(vida_setup, tiny_folder, tmp_path, capsys) -> None:
    from gpatlas_core.cli import main

    ds, mat, _ = vida_setup
    run = _run_folder(tmp_path, ds, mat, tiny_folder)
    assert main(["vida", str(run), "--top-percent", "50", "--method", "gini"]) == 0
    assert "scored" in capsys.readouterr().out
    assert main(["vida", str(tmp_path / "missing")]) == 2
    assert "run folder not found" in capsys.readouterr().err


def test_cli_names_vidas_recommended_input(vida_setup, tiny_folder, tmp_path, capsys) -> None:
    """The reference input gets a note naming VIDA's recommended one; that input with another
    clumpiness method gets a note on the method; with both, no note."""
    from gpatlas_core.cli import main

    ds, mat, _ = vida_setup
    run = _run_folder(tmp_path, ds, mat, tiny_folder)
    params = run / "importance_params.json"
    params.write_text(json.dumps({"individuals": "test", "target": "observed"}))
    assert main(["vida", str(run), "--top-percent", "50"]) == 0
    out = capsys.readouterr().out
    assert "--individuals all --target prediction" in out and "--method adaptive" in out
    params.write_text(json.dumps({"individuals": "all", "target": "prediction"}))
    assert main(["vida", str(run), "--top-percent", "50"]) == 0
    assert "on this input --method adaptive scored best" in capsys.readouterr().out
    assert main(["vida", str(run), "--top-percent", "50", "--method", "adaptive"]) == 0
    assert "note:" not in capsys.readouterr().out
