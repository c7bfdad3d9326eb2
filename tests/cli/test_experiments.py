"""CLI ``perturb`` and ``cross`` on a tiny trained run: the tables they write, the seed, and
user errors (exit code 2 with the message)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gpatlas_core import tl
from gpatlas_core.cli import main
from gpatlas_core.io import read_dataset_folder, write_dataset_folder
from gpatlas_core.run import Run
from gpatlas_core.sim import SimulationConfig, simulate

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(run folder, dataset folder): a 60 x 30-locus simulation, 2 + 1 epochs with baselines."""
    root = tmp_path_factory.mktemp("experiments")
    cfg = SimulationConfig(n_individuals=60, n_loci=30, n_traits=3, causal_per_trait=4)
    data = write_dataset_folder(simulate(cfg, rng=np.random.default_rng(5)), root / "data")
    run = root / "run"
    args = [
        "train",
        str(data),
        "--out",
        str(run),
        "--preset",
        "paper-simulated",
        "--epochs-phenotype",
        "2",
        "--epochs-genotype",
        "1",
        "--device",
        "cpu",
        "--quiet",
    ]
    assert main(args) == 0
    return run, data


def test_perturb_writes_the_summary(trained, tmp_path, capsys) -> None:
    run, data = trained
    alleles = tmp_path / "swaps.csv"
    alleles.write_text("marker,allele,set\nlocus_0001,1,\nlocus_0001,2,both\nlocus_0004,0,both\n")
    out = tmp_path / "perturb.csv"
    per = tmp_path / "each.csv"
    args = ["perturb", str(run), "--alleles", str(alleles), "--out", str(out)]
    assert main([*args, "--per-individual", str(per), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "3 swap(s) in 2 set(s)" in printed and "G-P Atlas" in printed
    table = pd.read_csv(out)
    assert list(table.columns[:6]) == [
        "set",
        "marker",
        "allele",
        "trait",
        "n_individuals",
        "mean_change",
    ]
    assert {"sd_change", "ridge_mean_change", "ridge_sd_change"} <= set(table.columns)
    assert set(table["set"]) == {"locus_0001:1", "both"} and len(table) == 6
    assert table.loc[table["set"] == "both", "marker"].iat[0] == "locus_0001;locus_0004"
    # the same numbers as the core on the same run (test individuals by default)
    ds, r = read_dataset_folder(data), Run.load(run)
    core = tl.allele_swaps(r, ds, pd.read_csv(alleles, dtype=str, keep_default_na=False))
    np.testing.assert_allclose(table["mean_change"], core.summary["mean_change"], atol=1e-6)
    np.testing.assert_allclose(
        table["ridge_mean_change"], core.summary["ridge_mean_change"], atol=1e-6
    )
    assert json.loads(out.with_suffix(".json").read_text())["n_individuals"] == 12
    assert len(pd.read_csv(per)) == table["n_individuals"].sum()
    ids = tmp_path / "ids.csv"
    ids.write_text("sample\nind_0001\nind_0002\n")
    assert main([*args, "--individuals", str(ids), "--no-ridge", "--quiet"]) == 0
    table = pd.read_csv(out)
    assert table["n_individuals"].max() <= 2 and table["ridge_mean_change"].isna().all()


def test_cross_and_rank_parents(trained, tmp_path, capsys) -> None:
    run, _ = trained
    out, geno = tmp_path / "cross.csv", tmp_path / "offspring.csv"
    args = ["cross", str(run), "--parents", "ind_0001,ind_0002", "--offspring", "50"]
    args += ["--seed", "3", "--out", str(out), "--quiet"]
    assert (
        main([*args, "--genotypes-out", str(geno), "--progeny-out", str(tmp_path / "p.csv")]) == 0
    )
    printed = capsys.readouterr().out
    assert "50 offspring of ind_0001 x ind_0002, haploid meiosis" in printed
    table = pd.read_csv(out)
    for col in (
        "trait",
        "parent_a",
        "parent_b",
        "progeny_mean",
        "progeny_sd",
        "usefulness_10pct",
        "ridge_progeny_mean",
        "ridge_usefulness_10pct",
    ):
        assert col in table.columns
    offspring = pd.read_csv(geno, dtype=str)
    assert len(offspring) == 50 and offspring.columns[0] == "sample"
    params = json.loads(out.with_suffix(".json").read_text())
    assert params["seed"] == 3 and params["cm_per_mb"] == tl.DEFAULT_CM_PER_MB
    assert len(pd.read_csv(tmp_path / "p.csv")) == 50 * 3
    first = table.copy()
    assert main(args) == 0  # same seed, same progeny
    pd.testing.assert_frame_equal(pd.read_csv(out), first)
    assert (
        main(["cross", str(run), "--parents", "ind_0003,ind_0003", "--out", str(out), "--quiet"])
        == 0
    )
    assert (pd.read_csv(out)["progeny_sd"] == 0).all()  # a self has no spread
    rank = tmp_path / "rank.csv"
    base = ["cross", str(run), "--rank-parents", "4", "--offspring", "20", "--out", str(rank)]
    assert main([*base, "--trait", "trait_02", "--quiet"]) == 0
    ranked = pd.read_csv(rank)
    assert len(ranked) == 6 and list(ranked["rank"]) == [1, 2, 3, 4, 5, 6]
    assert "best-predicted" in capsys.readouterr().out
    index = tmp_path / "index.csv"
    index.write_text("trait,weight\ntrait_01,1\ntrait_03,-0.5\n")
    assert main([*base, "--index", str(index), "--quiet"]) == 0
    assert json.loads(rank.with_suffix(".json").read_text())["criterion"] == "index"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["perturb", "{run}", "--alleles", "{tmp}/none.csv", "--out", "{tmp}/o.csv"],
            "swap file not found",
        ),
        (
            ["perturb", "{run}", "--alleles", "{swaps}", "--out", "{tmp}/o.csv"],
            "marker 'locus_9999' is not one of the run's markers",
        ),
        (
            ["perturb", "{run}", "--alleles", "{bad_cols}", "--out", "{tmp}/o.csv"],
            "expected the columns marker, allele",
        ),
        (
            ["perturb", "{tmp}/missing_run", "--alleles", "{swaps}", "--out", "{tmp}/o.csv"],
            "run folder not found",
        ),
        (["cross", "{run}", "--parents", "ind_0001", "--out", "{tmp}/o.csv"], "two sample ids"),
        (
            ["cross", "{run}", "--parents", "ind_0001,nobody", "--out", "{tmp}/o.csv"],
            "'nobody' is not in the data set",
        ),
        (
            ["cross", "{run}", "--rank-parents", "3", "--out", "{tmp}/o.csv"],
            "needs --trait T or --index FILE",
        ),
        (
            ["cross", "{run}", "--rank-parents", "3", "--trait", "height", "--out", "{tmp}/o.csv"],
            "'height' is not one of the run's traits",
        ),
        (
            [
                "cross",
                "{run}",
                "--parents",
                "ind_0001,ind_0002",
                "--trait",
                "trait_01",
                "--out",
                "{tmp}/o.csv",
            ],
            "choose the criterion of --rank-parents",
        ),
        (
            [
                "cross",
                "{run}",
                "--parents",
                "ind_0001,ind_0002",
                "--cm-per-mb",
                "-1",
                "--out",
                "{tmp}/o.csv",
            ],
            "cM per Mb must be 0 or more",
        ),
        (
            [
                "cross",
                "{run}",
                "--parents",
                "ind_0001,ind_0002",
                "--ploidy",
                "2",
                "--out",
                "{tmp}/o.csv",
            ],
            None,
        ),  # 0/1/2 states read as allele counts: fine
    ],
)
def test_user_errors_exit_2(trained, tmp_path, capsys, argv, message) -> None:
    run, _ = trained
    swaps = tmp_path / "swaps.csv"
    swaps.write_text("marker,allele\nlocus_9999,1\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("locus,allele\nlocus_0001,1\n")
    argv = [a.format(run=run, tmp=tmp_path, swaps=swaps, bad_cols=bad) for a in argv]
    code = main([*argv, "--quiet"])
    if message is None:
        assert code == 0
        return
    assert code == 2
    assert message in capsys.readouterr().err
