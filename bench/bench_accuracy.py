"""Test-set accuracy of G-P Atlas against the linear baselines, on the same split.

- yeast (the shipped BY x RM sample): median per-trait R^2 of genotype -> phenotype next to
  ridge and the QTL-peak linear model, for a few settings (what masking, standardisation,
  epochs and early stopping buy);
- a paper-size simulation (600 x 3,000 loci x 30 traits): median MAPE of both tiers next to
  the paper's (3.78 phenotype -> phenotype, 9.11 genotype -> phenotype) and R^2 against ridge.

    .venv/bin/python bench/bench_accuracy.py [--only yeast|sim] [--yeast-epochs N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpatlas_core.config import preset
from gpatlas_core.io import load_yeast_sample
from gpatlas_core.sim import SimulationConfig, simulate
from gpatlas_core.train import train


def _row(name: str, run, seconds: float) -> str:
    m = run.metrics

    def med(model: str, key: str) -> str:
        v = m.get(model, {}).get("median", {}).get(key)
        return "-" if v is None else f"{v:.3f}"

    ep = run.info.get("epochs_run", {})
    best = run.info.get("best_epoch", {})
    epochs = f"{ep.get('phenotype', 0)}/{ep.get('genotype', 0)}"
    if best:
        epochs += f" (best {best.get('phenotype', '-')}/{best.get('genotype', '-')})"
    return (
        f"| {name} | {epochs} | {med('genotype_to_phenotype', 'r2')} | "
        f"{med('genotype_to_phenotype', 'pearson')} | {med('phenotype_to_phenotype', 'r2')} | "
        f"{med('ridge', 'r2')} | {med('qtl_linear', 'r2')} | "
        f"{med('genotype_to_phenotype', 'mape')} | {med('phenotype_to_phenotype', 'mape')} | "
        f"{seconds:.0f} |"
    )


HEADER = (
    "| setting | epochs run (tier 1/2) | G->P R^2 | G->P r | P->P R^2 | ridge R^2 | QTL-linear R^2 "
    "| G->P MAPE | P->P MAPE | s |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def run_yeast(epochs: int) -> None:
    ds = load_yeast_sample()
    p1 = 30
    settings = [
        ("reference: zero-fill, raw scale", {"mask_missing": False}),
        ("masked", {}),
        ("masked + standardised", {"standardize": True}),
        (
            "masked + standardised + early stopping (val 0.1, patience 3)",
            {
                "standardize": True,
                "validation_fraction": 0.1,
                "early_stopping_patience": 3,
                "epochs_genotype": 3 * epochs,
            },
        ),
    ]
    print(f"\n### yeast ({ds.n_samples} x {ds.n_allele_columns} inputs x {ds.n_traits} traits)\n")
    print(HEADER)
    for name, kw in settings:
        kw = {"epochs_phenotype": p1, "epochs_genotype": epochs, "device": "auto", **kw}
        t0 = time.perf_counter()
        run = train(ds, preset("paper-yeast", **kw))
        print(_row(name, run, time.perf_counter() - t0), flush=True)


def run_sim() -> None:
    ds = simulate(SimulationConfig(), rng=np.random.default_rng(0))
    print(
        f"\n### simulation ({ds.n_samples} x {ds.n_loci} loci x {ds.n_traits} traits), "
        "paper MAPE: P->P 3.78, G->P 9.11\n"
    )
    print(HEADER)
    for name, kw in (
        ("paper-simulated (reference: raw scale)", {}),
        ("paper-simulated + standardised", {"standardize": True}),
    ):
        t0 = time.perf_counter()
        run = train(ds, preset("paper-simulated", device="auto", **kw))
        print(_row(name, run, time.perf_counter() - t0), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=("yeast", "sim"))
    ap.add_argument("--yeast-epochs", type=int, default=10, help="tier-2 epochs on yeast")
    args = ap.parse_args()
    if args.only in (None, "sim"):
        run_sim()
    if args.only in (None, "yeast"):
        run_yeast(args.yeast_epochs)


if __name__ == "__main__":
    main()
