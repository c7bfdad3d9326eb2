"""``tune DATA --out DIR --grid GRID.json``: grid search on Ray Tune, scored by k-fold CV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..io import DataError
from ._cv import add_cv_options
from ._train import add_config_options, config_from_args


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..tl import read_grid, tune_grid
    from ._info import load_data

    path = Path(args.grid)
    if not path.is_file():
        raise DataError(f"{path}: grid file not found")
    grid = read_grid(path.read_text(encoding="utf-8"), name=str(path))
    config = config_from_args(args)
    ds = load_data(args.data, missing_policy=args.missing_policy)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=None, unit="trial", disable=args.quiet, file=sys.stderr)

    def on_trial(row: dict, done: int, total: int) -> None:
        bar.total = total
        point = ", ".join(f"{k}={row[k]}" for k in grid)
        status = f"{row['score']:.3f}" if row["status"] == "ok" else "failed"
        bar.write(f"trial {row['trial']} ({point}): {status}")
        bar.update(1)

    fold_seed = config.train.seed if args.fold_seed is None else args.fold_seed
    try:
        result = tune_grid(
            ds,
            config,
            grid,
            folds=args.folds,
            seeds=args.seeds,
            fold_seed=fold_seed,
            address=args.address,
            cpus_per_trial=args.cpus_per_trial,
            gpus_per_trial=args.gpus_per_trial,
            storage=out / "ray_results",
            on_trial=on_trial,
        )
    finally:
        bar.close()
    paths = result.write(out)
    t = result.trials
    failed = t[t["status"] != "ok"]
    for row in failed.itertuples(index=False):
        print(f"trial {row.trial} failed: {row.error}", file=sys.stderr)
    best = result.best
    if best is None:
        raise DataError(f"all {len(t)} trials failed; see {paths[0]}")
    point = ", ".join(f"{k}={best[k]}" for k in grid)
    print(
        f"{len(t) - len(failed)} of {len(t)} trials finished; best: {point}, CV median R^2 "
        f"{best['score']:.3f} +- {best['score_se']:.3f} ({args.folds} folds)"
    )
    print("wrote " + ", ".join(str(p) for p in paths))
    print(f"train with it: python -m gpatlas_core train DATA --out RUN --config {paths[-1]}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "tune",
        help="grid search on Ray Tune, each grid point scored by cross-validation",
        description="GRID.json maps config fields (e.g. latent, ge_hidden, sd_noise) to lists "
        "of values; every combination is one Ray Tune trial scored by the mean over folds of "
        "the median test R^2 over traits. Without --address a local Ray starts on this machine. "
        "Writes trials.csv and best_config.json (for train --config).",
    )
    p.add_argument("data", nargs="+", metavar="DATA", help="'yeast', a dataset folder, or files")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--grid", required=True, metavar="GRID.json", help="fields -> lists of values")
    add_config_options(p)
    add_cv_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
