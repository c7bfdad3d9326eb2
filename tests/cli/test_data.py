"""CLI: ``simulate`` then ``info`` (round trip), ``info yeast``, user errors."""

from __future__ import annotations

import argparse

import pytest

from gpatlas_core.cli import build_parser, main
from gpatlas_core.io import DataError


def _parser() -> argparse.ArgumentParser:
    return build_parser()


def _run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return int(args.func(args) or 0)


def test_simulate_then_info(tmp_path, capsys):
    out = tmp_path / "sim"
    argv = ["simulate", "--out", str(out), "--individuals", "40", "--loci", "30"]
    argv += ["--traits", "3", "--causal-per-trait", "4", "--seed", "7"]
    assert _run(argv) == 0
    assert "40 individuals x 30 loci" in capsys.readouterr().out
    assert (out / "genotypes.csv.gz").is_file() and (out / "truth" / "interactions.csv").is_file()
    assert _run(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "samples:            40" in text and "markers:            30" in text
    assert "allele columns:     90" in text and "traits:             3" in text
    assert "matched ids:        40" in text and "truth:" in text
    assert _run(["info", str(out), "--json"]) == 0
    assert '"samples": 40' in capsys.readouterr().out


def test_info_yeast(capsys):
    assert _run(["info", "yeast"]) == 0
    text = capsys.readouterr().out
    for expected in ("1,008", "11,623", "23,246", "46", "5.22%", "known QTL:          591"):
        assert expected in text


def test_info_files_and_errors(tmp_path, capsys):
    (tmp_path / "genotypes.csv").write_text("sample,m1\na,A\nb,B\n")
    (tmp_path / "phenotypes.csv").write_text("sample,t\na,1\nc,2\n")
    assert _run(["info", str(tmp_path / "genotypes.csv"), str(tmp_path / "phenotypes.csv")]) == 0
    assert "only in genotype file: 1 (e.g. b)" in capsys.readouterr().out
    with pytest.raises(DataError, match="no such file"):
        _run(["info", str(tmp_path / "nothing.csv")])
    with pytest.raises(DataError, match="causal_per_trait"):
        _run(["simulate", "--out", str(tmp_path / "x"), "--loci", "3"])


def test_main_turns_data_errors_into_exit_2(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.csv")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_info_starts_without_torch_and_every_subcommand_parses():
    """``info`` imports its own module only (a fast start on large files); the full parser
    still knows every subcommand."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; from gpatlas_core.cli import main; rc = main(['info', 'yeast']); "
        "print(rc, 'torch' in sys.modules, 'sklearn' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "0 False False"
    names = set(build_parser()._subparsers._group_actions[0].choices)
    assert {"info", "train", "evaluate", "importance", "vida", "cv", "tune", "perturb"} <= names
    assert {"cross", "simulate"} <= names
