"""``evaluate RUN``: the test-set metric table of a run folder or run bundle (.zip), recomputed
when missing or asked."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..io import DataError


def run(args: argparse.Namespace) -> int:
    from ..bundle import is_bundle, read_bundle
    from ..run import Run
    from ._train import _table

    path = Path(args.run)
    zipped = is_bundle(path)
    if zipped:
        result = read_bundle(path)
    elif not (path / "config.json").is_file():
        raise DataError(
            f"{path}: not a run folder (no config.json) or run bundle (.zip); train one with `train`"
        )
    else:
        result = Run.load(path)
    if args.recompute or not result.metrics:
        from ._importance import load_run_dataset

        ds = load_run_dataset(result, args.data)
        if ds.fingerprint != result.dataset_fingerprint:
            raise DataError(
                f"the data set ({ds.name}) differs from the one the run was trained on "
                f"(fingerprint {ds.fingerprint} vs {result.dataset_fingerprint})"
            )
        result.evaluate(ds, baselines=not args.no_baselines)
        if not zipped:  # a bundle is left as it is
            result.save(path, weights=False)
    if args.json:
        print(json.dumps({k: {"median": v["median"]} for k, v in result.metrics.items()}, indent=2))
    else:
        print(
            f"{path}: {result.status}, preset {result.config.preset}, seed {result.config.train.seed}"
        )
        print(_table(result.metrics, result.traits))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="print a run's test-set metrics",
        description="Print the median test-set metrics of a run (G-P Atlas both tiers, ridge, "
        "LASSO, QTL-linear) and which model wins. They are recomputed when the run has none or with --recompute.",
    )
    p.add_argument("run", metavar="RUN", help="run folder or run bundle (.zip)")
    p.add_argument("--data", nargs="+", metavar="DATA", help="data set if not the recorded one")
    p.add_argument("--recompute", action="store_true", help="recompute the metrics")
    p.add_argument(
        "--no-baselines", action="store_true", help="skip the ridge / LASSO / QTL baselines"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)
