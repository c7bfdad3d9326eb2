"""Grouped (BINN-style) genotype encoder against the dense one (issue 16).

For yeast (the shipped BY x RM sample, windows of 50 kb) and a small simulation with known
causal alleles (windows of 50 kb = 5 loci at the simulator's 10 kb spacing), at 100%, 50% and
25% of the training individuals (the same test and validation individuals every time): test
median per-trait R^2 of G->P, the causal-allele ROC AUC of allele ablation importance
(simulation) and the median tier-2 epoch time, dense vs grouped.

Both encoders train from a random start with the same settings: the ``quick`` preset's tier 1
(40 epochs) and network sizes, then tier 2 with ``genotype_init="random"``, learning rate 1e-3,
up to ``--epochs`` epochs, early stopping on the validation tenth (patience 3). The LASSO warm
start of the default preset builds a dense first layer and is not used here.

    .venv/bin/python bench/bench_groups.py [--data yeast sim] [--seeds 47] [--epochs 15]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpatlas_core.config import preset, with_groups
from gpatlas_core.io import Dataset, load_yeast_sample
from gpatlas_core.sim import SimulationConfig, simulate
from gpatlas_core.tl import causal_allele_roc, compute_importance
from gpatlas_core.train import make_split, train

SIM = SimulationConfig(n_individuals=1000, n_loci=600, n_traits=10, causal_per_trait=10)
SIM_SEED = 0
WINDOW = "windows:50kb"


def load(name: str) -> Dataset:
    if name == "yeast":
        return load_yeast_sample()
    return simulate(SIM, rng=np.random.default_rng(SIM_SEED))


def subset(ds: Dataset, split: pd.DataFrame, fraction: float, seed: int):
    """``ds`` with only ``fraction`` of its training individuals (seeded), and the split."""
    sets = split["set"].to_numpy()
    train_rows = np.flatnonzero(sets == "train")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 16]))
    keep_train = rng.permutation(train_rows)[: round(fraction * train_rows.size)]
    keep = np.sort(np.concatenate([np.flatnonzero(sets != "train"), keep_train]))
    sub = dataclasses.replace(
        ds,
        samples=ds.samples[keep],
        genotype_codes=ds.genotype_codes[keep],
        phenotypes=ds.phenotypes[keep],
        truth=ds.truth,
        report={},
    )
    return sub, split.iloc[keep].reset_index(drop=True)


def first_layer_ms(ds: Dataset, groups, *, hidden: int, units: int, reps: int = 200) -> tuple:
    """Forward + backward of the first layer alone on a batch of 16 one-hot rows, in ms:
    the dense layer as tier 2 trains it (``FirstLayer``, transposed weight, gradient buffer)
    and the grouped one (CSR sparse products)."""
    from gpatlas_core.module import GroupedLinear
    from gpatlas_core.train._kernels import FirstLayer

    x = torch.from_numpy(ds.onehot(np.arange(16)))
    gen = torch.Generator().manual_seed(0)
    wt = torch.randn(x.shape[1], hidden, generator=gen) * 0.01
    wt.grad = torch.zeros_like(wt)
    b, r = torch.zeros(hidden, requires_grad=True), torch.zeros(x.shape[1])
    layer = GroupedLinear(x.shape[1], groups.n_groups, units)
    with torch.no_grad():
        layer.col_group.copy_(torch.from_numpy(groups.column_groups(ds)))
        layer.weight_blocks.normal_(generator=gen)
    up_d = torch.randn(16, hidden, generator=gen)
    up_g = torch.randn(16, layer.out_features, generator=gen)

    def dense() -> None:
        (FirstLayer.apply(x, wt, b, r, wt.grad, None) * up_d).sum().backward()

    def grouped() -> None:
        (layer(x) * up_g).sum().backward()

    out = []
    for fn in (dense, grouped):
        for _ in range(10):
            fn()
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        out.append((time.perf_counter() - t0) / reps * 1e3)
    return out[0], out[1], x.shape[1] * hidden, x.shape[1] * units


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", nargs="+", default=["sim", "yeast"], choices=["yeast", "sim"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[47])
    ap.add_argument("--fractions", nargs="+", type=float, default=[1.0, 0.5, 0.25])
    ap.add_argument("--epochs", type=int, default=15, help="most tier-2 epochs")
    ap.add_argument("--units", type=int, default=4, help="units per group")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(
        "| data | seed | train share (n) | encoder | groups | G->P median R^2 | causal AUC | "
        "tier-2 epoch s (median) | tier-2 epochs |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        flush=True,
    )
    timings = []
    for name in args.data:
        ds = load(name)
        for seed in args.seeds:
            base = preset(
                "quick",
                device="cpu",
                seed=seed,
                genotype_init="random",
                interaction_loci=0,
                genotype_lr=None,
                epochs_genotype=args.epochs,
            )
            split = make_split(ds.samples, test_fraction=0.2, validation_fraction=0.1, seed=seed)
            from gpatlas_core.io import resolve_groups

            dense_ms, grouped_ms, nnz_d, nnz_g = first_layer_ms(
                ds, resolve_groups(ds, WINDOW), hidden=base.model.ge_hidden, units=args.units
            )
            timings.append(
                f"| {name} | {ds.n_allele_columns:,} | {nnz_d:,} | {dense_ms:.2f} | "
                f"{nnz_g:,} | {grouped_ms:.2f} |"
            )
            for frac in args.fractions:
                sub, sub_split = subset(ds, split, frac, seed)
                n_train = int((sub_split["set"] == "train").sum())
                grouped, _ = with_groups(base, WINDOW, units=args.units)
                for label, cfg in (("dense", base), ("grouped", grouped)):
                    run = train(sub, cfg, split=sub_split, baselines=False)
                    g2p = run.metrics["genotype_to_phenotype"]["median"]["r2"]
                    tier2 = run.losses[run.losses["tier"] == "genotype"]
                    epoch_s = float(np.median(tier2["seconds"])) if len(tier2) else float("nan")
                    auc = "-"
                    if sub.truth is not None:
                        imp = compute_importance(run, sub, n_bootstrap=0, rng=0, device="cpu")
                        auc = f"{causal_allele_roc(imp.alleles, sub.truth).auc:.3f}"
                    n_groups = run.gq[0].n_groups if run.grouped else "-"
                    print(
                        f"| {name} | {seed} | {frac:.0%} ({n_train}) | {label} | {n_groups} | "
                        f"{g2p:.3f} | {auc} | {epoch_s:.3f} | {len(tier2)} |",
                        flush=True,
                    )
    print(
        "\nFirst layer alone, forward + backward, batch of 16 (ms):\n\n"
        "| data | allele columns | dense weights | dense ms | grouped non-zeros | grouped ms |\n"
        "| --- | --- | --- | --- | --- | --- |\n" + "\n".join(timings),
        flush=True,
    )


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"\ntotal {time.perf_counter() - t0:.0f} s", flush=True)
