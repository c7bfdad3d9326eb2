"""``train DATA --out RUN``: train both tiers, evaluate on the test split, write the run folder."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from ..config import (
    PRESETS,
    GPAtlasConfig,
    config_from_json,
    preset,
    with_groups,
    with_overrides,
)
from ..io import DataError


def _table(metrics: dict, traits: list[str] | None = None) -> str:
    from ..tl import metrics_table, verdict

    def fmt(v) -> str:
        return "-" if v is None else f"{v:.4g}"

    lines = [
        f"{'model':<24} {'R2':>8} {'Pearson':>8} {'MSE':>10} {'MAPE%':>8}  (medians over traits)"
    ]
    for row in metrics_table(metrics):
        lines.append(
            f"{row['model']:<24} {fmt(row['r2']):>8} {fmt(row['pearson']):>8} "
            f"{fmt(row['mse']):>10} {fmt(row['mape']):>8}"
        )
    if traits:
        lines.append(verdict(metrics, traits))
    g2p = metrics.get("genotype_to_phenotype", {})
    if g2p.get("interval_coverage"):
        lines.append(
            f"{g2p.get('interval_level', 0.9):.0%} prediction intervals: "
            f"{fmt(g2p['interval_coverage']['median'])} of the observed test values inside "
            f"(median over traits), median width {fmt(g2p['interval_width']['median'])}"
        )
    return "\n".join(lines)


def add_config_options(p: argparse.ArgumentParser) -> None:
    """The options that make a config (shared by ``train``, ``cv`` and ``tune``)."""
    p.add_argument(
        "--preset", choices=PRESETS, default=PRESETS[0], help=f"settings (default {PRESETS[0]})"
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="settings from a JSON file (a run's config.json or tune's best_config.json); "
        "options given here override it",
    )
    p.add_argument("--epochs-phenotype", type=int, metavar="N", help="tier-1 epochs")
    p.add_argument("--epochs-genotype", type=int, metavar="N", help="tier-2 epochs")
    p.add_argument("--seed", type=int, metavar="N", help="random seed (default 47)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default auto")
    p.add_argument("--test-fraction", type=float, metavar="F", help="default 0.2")
    p.add_argument("--standardize", action="store_true", help="standardise each trait")
    p.add_argument(
        "--no-mask", action="store_true", help="zero-fill missing phenotypes (the reference)"
    )
    p.add_argument(
        "--validation-fraction", type=float, metavar="F", help="share of training for validation"
    )
    p.add_argument("--patience", type=int, metavar="N", help="early-stopping patience (epochs)")
    p.add_argument(
        "--variational",
        action="store_true",
        help="variational phenotype tier: latent distributions and 90%% prediction intervals",
    )
    p.add_argument("--beta", type=float, metavar="F", help="variational KL weight (default 0.03)")
    p.add_argument("--missing-policy", choices=("own_state", "most_frequent"), default="own_state")
    p.add_argument(
        "--groups",
        metavar="SPEC",
        help="grouped (BINN-style) genotype encoder: a marker,group CSV (genes, pathways, "
        "blocks; unlisted markers get a group each) or windows:SIZE of the marker map "
        "(e.g. windows:50kb); turns the LASSO warm start off",
    )
    p.add_argument(
        "--group-units", type=int, metavar="K", help="units per group (default 4, with --groups)"
    )


def config_from_args(args: argparse.Namespace) -> GPAtlasConfig:
    """The config of :func:`add_config_options`: ``--config FILE`` or ``--preset``, then the
    explicit options on top."""
    overrides = {
        k: v
        for k, v in {
            "epochs_phenotype": args.epochs_phenotype,
            "epochs_genotype": args.epochs_genotype,
            "seed": args.seed,
            "device": args.device,
            "test_fraction": args.test_fraction,
            "validation_fraction": args.validation_fraction,
            "early_stopping_patience": args.patience,
            "beta": args.beta,
        }.items()
        if v is not None
    }
    if args.standardize:
        overrides["standardize"] = True
    if args.no_mask:
        overrides["mask_missing"] = False
    if args.variational:
        overrides["variational"] = True
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise DataError(f"{path}: config file not found")
        base = config_from_json(path.read_text(encoding="utf-8"), name=str(path))
        config = with_overrides(base, overrides)
    else:
        config = preset(args.preset, **overrides)
    if args.beta is not None and not config.train.variational:
        raise DataError("--beta is the KL weight of the variational tier: add --variational")
    spec = getattr(args, "groups", None)
    if spec:
        config, note = with_groups(config, spec, units=getattr(args, "group_units", None))
        if note:
            print(note, file=sys.stderr)
    elif getattr(args, "group_units", None) is not None:
        raise DataError("--group-units needs --groups")
    return config


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..train import EpochInfo, train
    from ._info import load_data

    out = Path(args.out)
    resume = None
    if args.resume:
        if not (out / "checkpoint.json").is_file():
            raise DataError(f"{out}: no stopped run to resume (no checkpoint.json)")
        resume = out
    config = config_from_args(args)
    ds = load_data(args.data, missing_policy=args.missing_policy)
    if resume is not None:
        from ..run import Run

        prev = Run.load(resume)
        config = prev.config  # resume keeps the stopped run's settings, epochs may be extended
        if args.epochs_phenotype is not None:
            config.train.epochs_phenotype = args.epochs_phenotype
        if args.epochs_genotype is not None:
            config.train.epochs_genotype = args.epochs_genotype
        resume = prev
    total = config.train.epochs_phenotype + config.train.epochs_genotype
    bar = tqdm(total=total, unit="epoch", disable=args.quiet, file=sys.stderr)
    if resume is not None:
        bar.update(min(len(resume.losses), total))

    def on_epoch(e: EpochInfo) -> None:
        bar.set_description(f"tier {'1' if e.tier == 'phenotype' else '2'} ({e.tier})")
        bar.set_postfix(
            train=f"{e.train_loss:.4g}", test=f"{e.test_loss:.4g}", s=f"{e.seconds:.2f}"
        )
        bar.update(1)

    stop = {"flag": False}

    def on_sigint(signum, frame) -> None:  # first Ctrl-C: stop cleanly and save
        stop["flag"] = True
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        result = train(
            ds,
            config,
            on_epoch=on_epoch,
            should_stop=lambda: stop["flag"],
            checkpoint_dir=out,
            resume=resume,
            baselines=not args.no_baselines,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    print(
        f"run written to {out} ({result.status}, {result.info.get('train_seconds', 0):.1f} s "
        f"of training on {result.info.get('device')})"
    )
    if result.status == "stopped":
        print(
            f"stopped: continue with `python -m gpatlas_core train {' '.join(args.data)} "
            f"--out {out} --resume`"
        )
    from ..tl import warm_start_note

    note = warm_start_note(result.info)
    if note:
        print(note)
    print(_table(result.metrics, result.traits))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train G-P Atlas (both tiers) and evaluate it",
        description="Train the phenotype autoencoder (tier 1), then the genotype encoder "
        "(tier 2), evaluate both and the linear baselines on the test split, and write the "
        "run folder. Ctrl-C stops cleanly; --resume continues a stopped run.",
    )
    p.add_argument("data", nargs="+", metavar="DATA", help="'yeast', a dataset folder, or files")
    p.add_argument("--out", required=True, metavar="RUN", help="run folder to write")
    add_config_options(p)
    p.add_argument(
        "--no-baselines", action="store_true", help="skip the ridge / LASSO / QTL baselines"
    )
    p.add_argument("--resume", action="store_true", help="continue the stopped run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
