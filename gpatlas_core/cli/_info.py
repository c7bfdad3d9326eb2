"""``info DATA``: what a data set contains (sizes, missingness, sample matching)."""

from __future__ import annotations

import argparse
import json

from ..io import Dataset, describe_spec, resolve_dataset

DATA_HELP = (
    "'yeast' (the shipped BY x RM sample), a folder (a dataset folder, or a folder holding "
    "BY x RM, VCF/BCF, PLINK or PLINK 2 files with a phenotype table), or files"
)


def load_data(spec: list[str], *, missing_policy: str = "own_state") -> Dataset:
    """Load ``yeast`` (the shipped sample), a folder in any supported layout, or a set of
    files (recognised from their names like an upload): :func:`gpatlas_core.io.resolve_dataset`.
    """
    return resolve_dataset(spec, missing_policy=missing_policy)


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def describe(ds: Dataset) -> list[str]:
    """Human-readable summary lines of a data set."""
    s = ds.summary()
    r = ds.report
    lines = [
        f"dataset:            {s['name']}",
        f"source:             {describe_spec(ds.source)}",
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
    unmatched = r.get("known_qtl_unmatched")
    if unmatched:
        lines.append(
            f"known QTL:          {s['known_qtl']:,} of {unmatched['of_rows']:,} "
            "(the others name no phenotype column)"
        )
    else:
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
    if unmatched:
        names = ", ".join(unmatched["traits"])
        lines.append(
            f"note: {unmatched['rows']:,} known QTL ({len(unmatched['traits'])} trait "
            f"name(s)) match no phenotype column and are left out: {names}"
        )
    elif r.get("known_qtl_dropped_traits"):
        lines.append(
            f"note: known QTL dropped for traits not in the data: {r['known_qtl_dropped_traits']}"
        )
    renamed = r.get("known_qtl_renamed_traits")
    if renamed:
        shown = ", ".join(f"{a} -> {b}" for a, b in list(renamed.items())[:8])
        lines.append(
            f"note: known-QTL trait names matched leniently: {shown}"
            + (" ..." if len(renamed) > 8 else "")
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
        "'yeast' (the shipped BY x RM sample), a folder, or files (a BY x RM "
        "GenoData + PhenoData pair, a VCF/BCF + phenotype table, a PLINK .bed/.bim/.fam or "
        "PLINK 2 .pgen/.pvar/.psam + phenotype table, genotypes.csv + phenotypes.csv).",
    )
    p.add_argument("data", nargs="+", metavar="DATA", help=DATA_HELP)
    p.add_argument(
        "--missing-policy",
        choices=("own_state", "most_frequent"),
        default="own_state",
        help="how missing calls enter the one-hot matrix (default: own_state)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary instead")
    p.set_defaults(func=run)
