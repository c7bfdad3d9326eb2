"""Test-set accuracy of G-P Atlas against the linear baselines, on the same split.

- yeast (the shipped BY x RM sample): median per-trait R^2 of genotype -> phenotype next to
  ridge and the QTL-peak linear model, adding one change at a time to the reference settings
  (masking, standardisation, BatchNorm recalibration, early stopping) and then the presets;
- a paper-size simulation (600 x 3,000 loci x 30 traits): median MAPE of both tiers next to
  the paper's (3.78 phenotype -> phenotype, 9.11 genotype -> phenotype) and R^2 against ridge.

Every row trains one model with one thread (``torch.set_num_threads(1)``); ``s`` is the
training time on this machine (it includes fitting the baselines).

    .venv/bin/python bench/bench_accuracy.py [--only yeast|sim] [--yeast-epochs N] [--rows a,b]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpatlas_core.config import preset
from gpatlas_core.io import load_yeast_sample
from gpatlas_core.sim import SimulationConfig, simulate
from gpatlas_core.train import train

HEADER = (
    "| setting | epochs run (tier 1/2) | G->P R^2 | G->P r | P->P R^2 | ridge R^2 | QTL-linear R^2 "
    "| G->P MAPE | P->P MAPE | s |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


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


def _run_rows(ds, rows, keep) -> None:
    print(HEADER)
    for key, name, preset_name, kw in rows:
        if keep and key not in keep:
            continue
        t0 = time.perf_counter()
        run = train(ds, preset(preset_name, device="cpu", **kw))
        print(_row(f"{key}: {name}", run, time.perf_counter() - t0), flush=True)


def yeast_rows(epochs: int) -> list[tuple[str, str, str, dict]]:
    """(key, description, preset, TrainConfig overrides): one change at a time."""
    base = {"epochs_phenotype": 30, "epochs_genotype": epochs}
    std = {**base, "standardize": True}
    return [
        ("ref", "paper-yeast, reference: zero-fill, raw scale", "paper-yeast",
         {**base, "mask_missing": False}),
        ("mask", "+ masked missing cells", "paper-yeast", base),
        ("std", "+ standardised", "paper-yeast", std),
        ("recal", "+ BN recalibration", "paper-yeast", {**std, "recalibrate_bn": True}),
        ("early", "+ early stopping (validation 0.1, patience 3, up to 30/3N)", "paper-yeast",
         {**std, "recalibrate_bn": True, "validation_fraction": 0.1,
          "early_stopping_patience": 3, "epochs_genotype": 3 * epochs}),
        ("quick", "preset quick", "quick", {}),
        ("studio", "preset studio", "studio", {}),
    ]  # fmt: skip


def sim_rows() -> list[tuple[str, str, str, dict]]:
    return [
        ("ref", "paper-simulated, reference: raw scale", "paper-simulated", {}),
        ("recal", "+ BN recalibration", "paper-simulated", {"recalibrate_bn": True}),
        ("std", "+ standardised (with recalibration)", "paper-simulated",
         {"recalibrate_bn": True, "standardize": True}),
        ("quick", "preset quick", "quick", {}),
        ("studio", "preset studio", "studio", {}),
    ]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=("yeast", "sim"))
    ap.add_argument("--yeast-epochs", type=int, default=8, help="tier-2 epochs, paper-yeast rows")
    ap.add_argument("--rows", default="", help="comma-separated row keys to run (default all)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    keep = {k for k in args.rows.split(",") if k}
    if args.only in (None, "sim"):
        ds = simulate(SimulationConfig(), rng=np.random.default_rng(0))
        print(
            f"\n### simulation ({ds.n_samples} x {ds.n_loci} loci x {ds.n_traits} traits, seed 0),"
            " paper median MAPE: P->P 3.78, G->P 9.11\n"
        )
        _run_rows(ds, sim_rows(), keep)
    if args.only in (None, "yeast"):
        ds = load_yeast_sample()
        print(
            f"\n### yeast ({ds.n_samples} x {ds.n_allele_columns} inputs x {ds.n_traits} traits)\n"
        )
        _run_rows(ds, yeast_rows(args.yeast_epochs), keep)


if __name__ == "__main__":
    main()
