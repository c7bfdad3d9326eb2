"""Captum gradient attributions next to exact ablation (issue 16): time, agreement, truth.

- yeast: the shipped BY x RM sample, one ``quick`` training (seed 47); on its test split
  (202 individuals x 23,246 allele columns): seconds per method and the Spearman correlation
  of each method's allele importance with exact ablation's.
- sim: a small simulation with known truth (seed 0; 1,000 individuals x 600 loci x 3 alleles,
  10 traits, 6 causal loci per trait, the paper's pleiotropy and interaction probabilities),
  one ``quick`` training (seed 47): the same, plus the causal-allele ROC AUC per method.

Attribution seeds (bootstrap off, GradientSHAP draws): 0. One torch thread.

    PYTHONPATH=. .venv/bin/python -u bench/bench_attributions.py [--data yeast sim]
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
from gpatlas_core.tl import METHODS, attribution_agreement, compute_attributions
from gpatlas_core.train import train

SIM = SimulationConfig(n_individuals=1000, n_loci=600, n_traits=10, causal_per_trait=6)
SIM_SEED = 0
TRAIN_SEED = 47


def bench(name: str) -> None:
    ds = load_yeast_sample() if name == "yeast" else simulate(SIM, rng=np.random.default_rng(0))
    t0 = time.perf_counter()
    run = train(ds, preset("quick", device="cpu", seed=TRAIN_SEED))
    print(f"{name}: trained quick (seed {TRAIN_SEED}) in {time.perf_counter() - t0:.0f} s")
    results = {}
    for method in METHODS:
        results[method] = compute_attributions(
            run, ds, method=method, n_bootstrap=0, rng=0, device="cpu"
        )
    table = attribution_agreement(results, reference=results["ablation"], truth=ds.truth)
    n, p = results["ablation"].matrix.shape
    print(f"{name}: {n} test individuals x {p:,} allele columns")
    cols = list(table.columns)
    print("| " + " | ".join(cols) + " |\n|" + " --- |" * len(cols))
    for row in table.itertuples(index=False):
        cells = [row[0]] + [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row[1:]]
        print("| " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", nargs="+", default=["yeast", "sim"], choices=["yeast", "sim"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    for name in args.data:
        bench(name)


if __name__ == "__main__":
    main()
