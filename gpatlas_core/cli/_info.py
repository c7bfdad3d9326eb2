"""``info DATA``: what a data set contains (sizes, missingness, sample matching)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..io import DataError, Dataset, load_yeast_sample, read_dataset_folder, read_uploaded


def load_data(spec: list[str], *, missing_policy: str = "own_state") -> Dataset:
    """Load ``yeast`` (the shipped sample), a dataset folder, or a set of files.

    A set of files is recognised from the names like an upload: a BY x RM pair
    (``*GenoData*`` + ``*PhenoData*``), a VCF + phenotype table, a PLINK trio + phenotype
    table, or ``genotypes.csv`` + ``phenotypes.csv``.
    """
    if len(spec) == 1 and spec[0].lower() == "yeast" and not Path(spec[0]).exists():
        return load_yeast_sample(missing_policy=missing_policy)
    if len(spec) == 1 and Path(spec[0]).is_dir():
        return read_dataset_folder(spec[0], missing_policy=missing_policy)
    for s in spec:
        if not Path(s).is_file():
            raise DataError(f"{s}: no such file or folder (expected 'yeast', a folder or files)")
    return read_uploaded([Path(s) for s in spec], missing_policy=missing_policy)


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def describe(ds: Dataset) -> list[str]:
    """Human-readable summary lines of a data set."""
    s = ds.summary()
    r = ds.report
    lines = [
        f"dataset:            {s['name']}",
        f"source:             {ds.source}",
        f"samples:            {s['samples']:,}",
        f"markers:            {s['markers']:,} on {s['chromosomes']} chromosome(s)",
        f"allele columns:     {s['allele_columns']:,} (missing calls: {ds.missing_policy})",
        f"traits:             {s['traits']:,}",
        f"missing phenotypes: {_pct(s['missing_phenotype_fraction'])}",
        f"missing calls:      {_pct(s['missing_call_fraction'])}",
    ]
    if "matched_samples" in r:
        lines.append(
            f"matched ids:        {r['matched_samples']:,} (genotype file {r['genotype_samples']:,},"
            f" phenotype file {r['phenotype_samples']:,})"
        )
        for side in ("genotype", "phenotype"):
            n = r.get(f"n_unmatched_{side}_ids", 0)
            if n:
                shown = ", ".join(map(str, r[f"unmatched_{side}_ids"][:5]))
                lines.append(f"  only in {side} file: {n:,} (e.g. {shown})")
    lines.append(f"known QTL:          {s['known_qtl']:,}")
    if ds.truth is not None:
        lines.append(
            f"truth:              {ds.truth.causal[['marker', 'trait']].drop_duplicates().shape[0]:,}"
            f" causal locus-trait pairs, {len(ds.truth.interactions):,} interacting pairs"
        )
    for key, label in (
        ("single_state_markers", "markers with a single allele state"),
        ("all_missing_markers", "markers with no call"),
    ):
        if key in r:
            lines.append(f"note: {r[key]['count']:,} {label} (e.g. {r[key]['examples'][0]})")
    if r.get("known_qtl_dropped_traits"):
        lines.append(
            f"note: known QTL dropped for traits not in the data: {r['known_qtl_dropped_traits']}"
        )
    return lines


def run(args: argparse.Namespace) -> int:
    ds = load_data(args.data, missing_policy=args.missing_policy)
    if args.json:
        out = ds.summary() | {"source": ds.source, "report": ds.report}
        print(json.dumps(out, indent=2, default=str))
    else:
        print("\n".join(describe(ds)))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "info",
        help="show what a data set contains",
        description="Show sizes, missingness and sample matching of a data set. DATA is "
        "'yeast' (the shipped BY x RM sample), a dataset folder, or files (a BY x RM "
        "GenoData + PhenoData pair, a VCF + phenotype table, a PLINK .bed/.bim/.fam + "
        "phenotype table).",
    )
    p.add_argument("data", nargs="+", metavar="DATA", help="'yeast', a folder, or files")
    p.add_argument(
        "--missing-policy",
        choices=("own_state", "most_frequent"),
        default="own_state",
        help="how missing calls enter the one-hot matrix (default: own_state)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary instead")
    p.set_defaults(func=run)
