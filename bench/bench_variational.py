"""Issue 16: the variational tier against the default, on the yeast sample and a simulation.

For each data set and seed, trains the ``quick`` preset as it is and with ``variational=True``
(same seed, hence the same split and LASSO warm start) and reports the genotype -> phenotype
median test R^2, the phenotype -> phenotype median R^2, and for the variational run the
coverage of the 90% prediction intervals on the observed test cells (median over traits) and
their median width (in trait units, and relative to the trait's test standard deviation).

    PYTHONPATH=. .venv/bin/python -u bench/bench_variational.py --seeds 47
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

SIM = SimulationConfig(n_individuals=600, n_loci=500, n_traits=10, causal_per_trait=10)
SIM_SEED = 16


def one(ds, name: str, seed: int, variational: bool, beta: float, epochs: dict) -> dict:
    cfg = preset(name, seed=seed, device="cpu", variational=variational, beta=beta, **epochs)
    t0 = time.perf_counter()
    run = train(ds, cfg, baselines=False)
    seconds = time.perf_counter() - t0
    g2p = run.metrics["genotype_to_phenotype"]
    row = {
        "r2": g2p["median"]["r2"],
        "p2p": run.metrics["phenotype_to_phenotype"]["median"]["r2"],
        "seconds": seconds,
    }
    if variational:
        test = run.test_rows(ds)
        with np.errstate(all="ignore"):
            sd = np.nanstd(ds.phenotypes[test], axis=0)
        widths = np.array([g2p["interval_width"]["per_trait"][t] for t in run.traits], float)
        row.update(
            coverage=g2p["interval_coverage"]["median"],
            coverage_min=min(v for v in g2p["interval_coverage"]["per_trait"].values() if v),
            coverage_max=max(v for v in g2p["interval_coverage"]["per_trait"].values() if v),
            width=g2p["interval_width"]["median"],
            width_sd=float(np.nanmedian(widths / sd)),
        )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[47])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--betas", type=float, nargs="+", default=[0.03], help="KL weights")
    parser.add_argument(
        "--skip-default", action="store_true", help="variational runs only (default columns -)"
    )
    parser.add_argument("--data", nargs="+", default=["yeast", "simulation"])
    parser.add_argument("--epochs-phenotype", type=int, default=None)
    parser.add_argument("--epochs-genotype", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    epochs = {
        k: v
        for k, v in {
            "epochs_phenotype": args.epochs_phenotype,
            "epochs_genotype": args.epochs_genotype,
        }.items()
        if v is not None
    }
    data = {}
    if "yeast" in args.data:
        data["yeast"] = load_yeast_sample()
    if "simulation" in args.data:
        data["simulation"] = simulate(SIM, rng=np.random.default_rng(SIM_SEED))
    print(f"preset {args.preset} {epochs or ''}, 1 torch thread")
    print(
        "| data | seed | beta | default G->P R2 | variational G->P R2 | default P->P "
        "| variational P->P | coverage (median, min-max) | median width (units; trait sd) "
        "| seconds (default / var.) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    none = {"r2": float("nan"), "p2p": float("nan"), "seconds": float("nan")}
    for label, ds in data.items():
        for seed in args.seeds:
            base = none if args.skip_default else one(ds, args.preset, seed, False, 0.0, epochs)
            for beta in args.betas:
                var = one(ds, args.preset, seed, True, beta, epochs)
                print(
                    f"| {label} | {seed} | {beta:g} | {base['r2']:.3f} | {var['r2']:.3f} | "
                    f"{base['p2p']:.3f} | {var['p2p']:.3f} | {var['coverage']:.3f} "
                    f"({var['coverage_min']:.2f}-{var['coverage_max']:.2f}) | "
                    f"{var['width']:.3g}; {var['width_sd']:.2f} | "
                    f"{base['seconds']:.0f} / {var['seconds']:.0f} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
