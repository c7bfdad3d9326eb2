"""Cross-validation and grid search on the yeast sample (issue: validation and search).

Part ``cv``: 5-fold CV of the default preset (``studio``) with ridge and LASSO on the same
folds (fold seed 0): per-model mean +- SE over folds of the median test R^2 over traits, the
win/loss count of G-P Atlas against each baseline, and the wall time of the plain loop over
folds (one process, 2 torch threads) against 2 local Ray workers (1 CPU and 1 torch thread
each) on the same folds.

Part ``grid``: a 2 x 2 x 2 grid on Ray Tune (latent, sd_noise, genotype_lr around the default),
each trial scored by 3-fold CV with the same folds (fold seed 0), 1 CPU per trial (2 at once);
the best trial's score against the default's (the default is one of the grid points).

    .venv/bin/python -u bench/bench_cv.py [--part cv grid] [--out bench/cv_results.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpatlas_core.config import preset
from gpatlas_core.io import load_yeast_sample
from gpatlas_core.tl import MEDIAN, cross_validate, ray_executor, start_ray, tune_grid

GRID = {"latent": [32, 64], "sd_noise": [0.1, 0.3], "genotype_lr": [3e-5, 1e-4]}


def medians(res) -> dict:
    s = res.summary
    med = s[s["trait"] == MEDIAN].set_index("model")
    return {m: [float(r["r2_mean"]), float(r["r2_se"])] for m, r in med.iterrows()}


def part_cv(ds) -> dict:
    cfg = preset("studio")
    out = {}
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    loop = cross_validate(ds, cfg, folds=5, rng=np.random.default_rng(0))
    out["loop_seconds"] = time.perf_counter() - t0
    out["medians"] = medians(loop)
    out["win_loss"] = {b: loop.win_loss(b) for b in ("ridge", "lasso")}
    print(json.dumps(out, indent=1), flush=True)
    start_ray(num_cpus=2)
    t0 = time.perf_counter()
    spread = cross_validate(
        ds, cfg, folds=5, rng=np.random.default_rng(0), executor=ray_executor(cpus_per_task=1)
    )
    out["ray_seconds"] = time.perf_counter() - t0
    out["ray_medians"] = medians(spread)
    diff = spread.metrics["r2"].to_numpy(float) - loop.metrics["r2"].to_numpy(float)
    out["ray_vs_loop_max_abs_r2_diff"] = float(np.nanmax(np.abs(diff)))
    print(json.dumps(out, indent=1), flush=True)
    return out


def part_grid(ds) -> dict:
    start_ray(num_cpus=2)
    seen = []

    def on_trial(row, done, total):
        seen.append(row)
        print(f"trial {done}/{total}: {row}", flush=True)

    t0 = time.perf_counter()
    res = tune_grid(ds, preset("studio"), GRID, folds=3, fold_seed=0, cpus_per_trial=1,
                    on_trial=on_trial)  # fmt: skip
    seconds = time.perf_counter() - t0
    t = res.trials
    default = t[(t["latent"] == 64) & (t["sd_noise"] == 0.1) & (t["genotype_lr"] == 3e-5)]
    best = res.best
    return {
        "seconds": seconds,
        "trials": t.to_dict(orient="records"),
        "best": {k: (v.item() if hasattr(v, "item") else v) for k, v in best.items()},
        "default": default.iloc[0].to_dict() if len(default) else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", nargs="+", default=["cv", "grid"], choices=["cv", "grid"])
    ap.add_argument("--out", default="bench/cv_results.json")
    args = ap.parse_args()
    ds = load_yeast_sample()
    results = {"machine": f"{torch.get_num_threads()} torch threads, CPU"}
    path = Path(args.out)
    if path.exists():
        results.update(json.loads(path.read_text()))
    for part in args.part:
        results[part] = part_cv(ds) if part == "cv" else part_grid(ds)
        path.write_text(json.dumps(results, indent=1, default=str))
    print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
