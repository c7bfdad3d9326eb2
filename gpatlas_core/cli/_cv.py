"""``cv DATA --out DIR --folds K``: k-fold cross-validation of G-P Atlas, ridge and LASSO."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ._train import add_config_options, config_from_args


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..tl import cross_validate, ray_executor
    from ._info import load_data

    config = config_from_args(args)
    ds = load_data(args.data, missing_policy=args.missing_policy)
    executor = None
    if args.ray or args.address:
        executor = ray_executor(
            address=args.address,
            cpus_per_task=args.cpus_per_trial,
            gpus_per_task=args.gpus_per_trial,
        )
    n = args.folds * args.seeds
    bar = tqdm(total=n, unit="fold", disable=args.quiet, file=sys.stderr)

    def on_fold(part, done, total) -> None:
        bar.update(1)

    fold_seed = config.train.seed if args.fold_seed is None else args.fold_seed
    try:
        result = cross_validate(
            ds,
            config,
            folds=args.folds,
            seeds=args.seeds,
            rng=np.random.default_rng(fold_seed),
            baselines=not args.no_baselines,
            executor=executor,
            on_fold=on_fold,
        )
    finally:
        bar.close()
    paths = result.write(Path(args.out))
    print(f"{args.folds}-fold cross-validation ({args.seeds} seed(s)) in {result.seconds:.1f} s")
    print("\n".join(result.headline()))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def add_cv_options(p: argparse.ArgumentParser) -> None:
    """Folds, seeds and where the trainings run (shared with ``tune``)."""
    p.add_argument("--folds", type=int, default=5, metavar="K", help="folds (default 5)")
    p.add_argument("--seeds", type=int, default=1, metavar="N", help="trainings per fold")
    p.add_argument(
        "--fold-seed", type=int, metavar="N", help="seeds the folds (default: the config's seed)"
    )
    p.add_argument(
        "--address", metavar="ADDR", help="join a Ray cluster ('auto', 'ray://host:port')"
    )
    p.add_argument("--cpus-per-trial", type=float, default=1, metavar="N", help="CPUs per Ray task")
    p.add_argument("--gpus-per-trial", type=float, default=0, metavar="F", help="GPUs per Ray task")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "cv",
        help="k-fold cross-validation of G-P Atlas and the linear baselines",
        description="Train G-P Atlas on each of K folds (that fold held out as the test set) "
        "and fit ridge and LASSO on the same training individuals; write cv_metrics.csv "
        "(fold, model, trait), cv_summary.csv (mean, SE, paired differences) and folds.csv.",
    )
    p.add_argument("data", nargs="+", metavar="DATA", help="'yeast', a dataset folder, or files")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    add_config_options(p)
    add_cv_options(p)
    p.add_argument("--ray", action="store_true", help="run the folds as tasks on a local Ray")
    p.add_argument("--no-baselines", action="store_true", help="skip ridge / LASSO / QTL")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
