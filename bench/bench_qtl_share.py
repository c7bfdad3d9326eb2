"""Share of yeast known QTL at or above their own trait's 90th importance percentile: the
default model's ablation importance against a single-marker scan on the same training
individuals, under both definitions of "the QTL's marker".

- ``peak``: the marker nearest the QTL's reported peak (the headline definition of issue 11);
- ``interval``: the highest marker inside its 1.5-LOD interval (what the reference script's
  Figure 7B computed; the paper's 93%).

Scan: per trait, |Pearson r| of the trait with each marker's dummy-coded genotype on the run's
training individuals (observed values only). Scores that tie at the 90th percentile count as
above it only when they are > 0 (a sparse score's zeros recover nothing).

    .venv/bin/python bench/bench_qtl_share.py [--seeds 47 48 49] [--preset studio]
        [--set NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpatlas_core.config import preset, with_overrides
from gpatlas_core.io import load_yeast_sample
from gpatlas_core.tl import compute_importance
from gpatlas_core.tl._ablation import PER_TRAIT_PREFIX
from gpatlas_core.tl._baselines import dummy_columns
from gpatlas_core.tl._recovery import _qtl, _qtl_values
from gpatlas_core.train import train

MODELS = ("genotype_to_phenotype", "phenotype_to_phenotype", "ridge", "lasso")
VE_BINS = [(0.0, 0.01), (0.01, 0.02), (0.02, 0.05), (0.05, 1.01)]


def hits(loci: pd.DataFrame, known_qtl: pd.DataFrame, traits: list[str], by: str):
    """Per known QTL (all traits): recovered (score >= its trait's 90th percentile and > 0)
    and its variance explained."""
    hit, ve = [], []
    for t in traits:
        col = PER_TRAIT_PREFIX + t
        q = _qtl(known_qtl, t)
        if not len(q):
            continue
        values, _ = _qtl_values(loci, q, col, by)
        ok = np.isfinite(values)
        thr = np.percentile(loci[col].to_numpy(np.float64), 90)
        hit += list((values[ok] >= thr) & (values[ok] > 0))
        ve += list(q["variance_explained"].to_numpy(np.float64)[ok])
    return np.array(hit, dtype=bool), np.array(ve)


def share(loci: pd.DataFrame, known_qtl: pd.DataFrame, traits: list[str], by: str):
    """(hits, total) over all traits."""
    h, _ = hits(loci, known_qtl, traits, by)
    return int(h.sum()), len(h)


def scan_loci(ds, rows: np.ndarray, base: pd.DataFrame) -> pd.DataFrame:
    """|r| of each trait with each marker's dummy column on ``rows`` (one column per locus)."""
    cols = dummy_columns(ds)
    x = ds.onehot(rows)[:, cols].astype(np.float64)
    locus = ds.allele_columns["locus"].to_numpy()[cols]
    out = base.copy()
    for k, t in enumerate(ds.traits):
        y = ds.phenotypes[rows, k]
        ok = np.isfinite(y)
        xc = x[ok] - x[ok].mean(0)
        yc = y[ok] - y[ok].mean()
        r = np.abs(xc.T @ yc) / (np.sqrt((xc**2).sum(0) * (yc**2).sum()) + 1e-12)
        # a locus with several dummy columns scores by its best column
        score = pd.Series(r).groupby(locus).max()
        out[PER_TRAIT_PREFIX + t] = score.reindex(np.arange(len(base))).to_numpy()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", nargs="+", type=int, default=[47, 48, 49])
    ap.add_argument("--preset", default="studio")
    ap.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="config override (JSON)"
    )
    args = ap.parse_args()
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    torch.set_num_threads(2)
    ds = load_yeast_sample()
    print(
        "| seed | score | by peak | by interval | by peak, variance explained <1% / 1-2% / 2-5% / "
        ">=5% | s |\n| --- | --- | --- | --- | --- | --- |"
    )
    fit = []
    for seed in args.seeds:
        t0 = time.perf_counter()
        run = train(ds, with_overrides(preset(args.preset, device="cpu", seed=seed), overrides))
        imp = compute_importance(run, ds, per_trait=True, n_bootstrap=0, rng=0)
        secs = time.perf_counter() - t0
        med = {m: run.metrics.get(m, {}).get("median", {}).get("r2") for m in MODELS}
        fit.append((seed, med, secs))
        base = imp.loci[["marker", "chromosome", "position"]]
        scan = scan_loci(ds, run.train_rows(ds), base)
        scores = [
            (f"{args.preset} ablation (test rows)", imp.loci),
            ("scan |r| (train rows)", scan),
            ("scan |r| (all 1,008 individuals)", scan_loci(ds, np.arange(ds.n_samples), base)),
        ]
        rand = base.copy()
        rng = np.random.default_rng(seed)
        for t in ds.traits:
            rand[PER_TRAIT_PREFIX + t] = rng.random(len(base))
        scores.append(("random scores (iid uniform)", rand))
        for name, loci in scores:
            cells = []
            for by in ("peak", "interval"):
                h, n = share(loci, ds.known_qtl, ds.traits, by)
                cells.append(f"{h / n:.1%} ({h} of {n})")
            hit, ve = hits(loci, ds.known_qtl, ds.traits, "peak")
            bins = " / ".join(f"{hit[(ve >= lo) & (ve < hi)].mean():.0%}" for lo, hi in VE_BINS)
            print(
                f"| {seed} | {name} | {cells[0]} | {cells[1]} | {bins} | {secs:.0f} |", flush=True
            )
    # the same runs' test accuracy (median R^2 over traits), so the share and the fit go together
    print("\n| seed | " + " | ".join(MODELS) + " | s (train + importance) |")
    print("| --- " * (len(MODELS) + 2) + "|")
    for seed, med, secs in fit:
        cells = " | ".join("-" if med[m] is None else f"{med[m]:.3f}" for m in MODELS)
        print(f"| {seed} | {cells} | {secs:.0f} |", flush=True)


if __name__ == "__main__":
    main()
