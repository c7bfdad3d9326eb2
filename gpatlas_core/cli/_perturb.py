"""``perturb RUN``: allele swaps in silico, every trait predicted by G-P Atlas and ridge.

Reads the swaps (``marker, allele[, set]``) from ``--alleles``, edits the chosen individuals'
genotypes, and writes the per-set, per-trait change from their own predictions to ``--out``
(with the parameters in a ``.json`` next to it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import DataError


def read_table(path: str | Path, what: str) -> pd.DataFrame:
    """A small user CSV as text cells, or a DataError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a CSV table ({err})") from None


def individuals_arg(spec: str) -> str | list[str]:
    """``test``, ``all`` or a file of sample ids (a ``sample`` column, or a single column)."""
    if spec in ("test", "all"):
        return spec
    table = read_table(spec, "individuals")
    cols = {str(c).strip().lower(): c for c in table.columns}
    if "sample" in cols:
        col = cols["sample"]
    elif len(table.columns) == 1:
        col = table.columns[0]
        table = pd.concat([pd.DataFrame({col: [col]}), table], ignore_index=True)  # no header
    else:
        raise DataError(f"{spec}: expected a 'sample' column (or one column of sample ids)")
    ids = [s.strip() for s in table[col].astype(str) if s.strip()]
    if not ids:
        raise DataError(f"{spec}: no sample ids")
    return ids


def load(args: argparse.Namespace):
    """The run and its data set (the ``importance`` subcommand's rules)."""
    from ._importance import _load_run, load_run_dataset

    run_dir = Path(args.run)
    if not run_dir.is_dir():
        raise DataError(f"{run_dir}: run folder not found")
    run = _load_run(run_dir)
    return run, load_run_dataset(run, args.data)


class Progress:
    """``label: done/total, seconds`` on stderr, at most twice a second."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label, self.quiet = label, quiet
        self.t0 = time.perf_counter()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if self.quiet or (done != total and now - self.last < 0.5):
            return
        self.last = now
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r{self.label}: {done}/{total}, {now - self.t0:.1f} s{end}")
        sys.stderr.flush()


def write_params(out: Path, params: dict) -> Path:
    path = out.with_suffix(".json")
    path.write_text(json.dumps(params, indent=1, default=str), encoding="utf-8")
    return path


def run(args: argparse.Namespace) -> int:
    from .. import tl

    swaps = read_table(args.alleles, "swap")
    individuals = individuals_arg(args.individuals)
    trained, ds = load(args)
    res = tl.allele_swaps(
        trained,
        ds,
        tl.check_swaps(swaps, trained.allele_columns, name=str(args.alleles)),
        individuals=individuals,
        with_ridge=not args.no_ridge,
        on_progress=Progress("swaps", args.quiet),
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    res.summary.to_csv(out, index=False)
    if args.per_individual:
        res.per_individual().to_csv(args.per_individual, index=False)
    params = {**res.params, "alleles": str(args.alleles), "run": str(args.run)}
    write_params(out, params)
    p = res.params
    print(
        f"{p['n_swaps']} swap(s) in {p['n_sets']} set(s) x {p['n_individuals']} individuals "
        f"({p['individuals']}): {p['seconds']:.1f} s; wrote {out}"
    )
    s = res.summary
    z = (s["mean_change"] / s["phenotype_sd"]).abs()
    for label, part in s.assign(_z=z).groupby("set", sort=False):
        top = part.sort_values("_z", ascending=False).iloc[0]
        ridge = (
            f", ridge {top['ridge_mean_change']:+.4g}"
            if np.isfinite(top["ridge_mean_change"])
            else ""
        )
        print(
            f"  {label}: {int(top['n_individuals'])} changed; largest on {top['trait']}: "
            f"G-P Atlas {top['mean_change']:+.4g} (SD {top['sd_change']:.3g}){ridge}"
        )
    return 0


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        nargs="+",
        metavar="DATA",
        help="the run's data: 'yeast', a dataset folder, or files (default: the run's record)",
    )
    p.add_argument("--no-ridge", action="store_true", help="G-P Atlas only (no ridge refit)")
    p.add_argument("--quiet", action="store_true", help="no progress")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "perturb",
        help="allele swaps in silico: what an allele does to every trait, in every background",
        description="For each swap (a row 'marker,allele' of --alleles; rows sharing a 'set' "
        "value are edited together) and each chosen individual, set the locus to that allele, "
        "predict every trait with G-P Atlas and with the run's ridge baseline, and write per "
        "set and trait the mean and SD of the change from the individual's own prediction "
        "(original trait scale) over the individuals the edit changes.",
    )
    p.add_argument("run", metavar="RUN", help="run folder written by `train`")
    p.add_argument("--alleles", required=True, metavar="FILE", help="CSV: marker, allele[, set]")
    p.add_argument(
        "--individuals",
        default="test",
        metavar="test|all|FILE",
        help="the run's test individuals (default), all, or a CSV of sample ids",
    )
    p.add_argument("--out", required=True, metavar="OUT.csv", help="summary table to write")
    p.add_argument(
        "--per-individual", metavar="FILE", help="also write every individual's change (CSV)"
    )
    add_common(p)
    p.set_defaults(func=run)
