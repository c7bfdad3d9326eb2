"""``cross RUN``: progeny of two individuals in silico, or parent pairs ranked by usefulness.

``--parents A,B`` draws offspring by meiosis along the marker map and writes, per trait, the
parents' predictions and the progeny mean, SD and usefulness (G-P Atlas and ridge) to
``--out``; ``--genotypes-out`` / ``--progeny-out`` write the offspring themselves.
``--rank-parents K`` with ``--trait T`` or ``--index FILE`` (``trait,weight``) crosses every
pair among the K best-predicted individuals and writes the ranking to ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..io import DataError
from ..tl import DEFAULT_CM_PER_MB
from ._perturb import Progress, add_common, individuals_arg, load, read_table, write_params


def _parents(spec: str) -> tuple[str, str]:
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) != 2 or not all(parts):
        raise DataError(f"--parents takes two sample ids separated by a comma, got {spec!r}")
    return parts[0], parts[1]


def _check_args(args: argparse.Namespace) -> None:
    ranking = args.rank_parents is not None
    if ranking and (args.trait is None) == (args.index is None):
        raise DataError("--rank-parents needs --trait T or --index FILE (one of them)")
    if not ranking and (args.trait is not None or args.index is not None):
        raise DataError("--trait and --index choose the criterion of --rank-parents")
    if ranking and (args.genotypes_out or args.progeny_out):
        raise DataError("--genotypes-out and --progeny-out go with --parents (one cross)")
    if not 0 < args.top_percent <= 100:
        raise DataError(f"--top-percent must be in (0, 100], got {args.top_percent}")


def run(args: argparse.Namespace) -> int:
    from .. import tl

    _check_args(args)
    parents = _parents(args.parents) if args.parents else None
    weights = read_table(args.index, "index") if args.index else None
    ploidy = args.ploidy if args.ploidy == "auto" else int(args.ploidy)
    config = tl.CrossConfig(
        n_offspring=args.offspring,
        cm_per_mb=args.cm_per_mb,
        ploidy=ploidy,
        generation=args.generation,
        top_fraction=args.top_percent / 100,
    )
    config.validate()
    trained, ds = load(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    common = {
        "config": config,
        "rng": args.seed,
        "with_ridge": not args.no_ridge,
    }
    if parents is None:
        rank = tl.rank_parents(
            trained,
            ds,
            k=args.rank_parents,
            trait=args.trait,
            weights=weights,
            individuals=individuals_arg(args.individuals),
            on_progress=Progress("crosses", args.quiet),
            **common,
        )
        rank.table.to_csv(out, index=False)
        write_params(out, {**rank.params, "run": str(args.run)})
        p = rank.params
        print(
            f"{p['n_pairs']} crosses among the {p['k']} best-predicted individuals "
            f"({p['criterion']}), {p['n_offspring']} offspring each, {p['design']}, "
            f"{p['cm_per_mb']:g} cM/Mb: {p['seconds']:.1f} s; wrote {out}"
        )
        for r in rank.table.head(5).itertuples(index=False):
            print(
                f"  {r.rank}. {r.sample_a} x {r.sample_b}: usefulness {r.usefulness:.4g} "
                f"(progeny mean {r.progeny_mean:.4g}, SD {r.progeny_sd:.3g})"
            )
        return 0
    res = tl.cross(trained, ds, parents, on_progress=Progress("cross", args.quiet), **common)
    res.summary.to_csv(out, index=False)
    if args.genotypes_out:
        res.genotypes(ds).to_csv(args.genotypes_out, index=False)
    if args.progeny_out:
        res.progeny_frame().to_csv(args.progeny_out, index=False)
    write_params(out, {**res.params, "run": str(args.run)})
    p = res.params
    print(
        f"{p['n_offspring']} offspring of {parents[0]} x {parents[1]}, {p['design']}; map "
        f"{p['map_length_cm']:,.0f} cM at {p['cm_per_mb']:g} cM/Mb, "
        f"{p['crossovers_per_gamete']:.1f} crossovers per meiosis; {p['seconds']:.1f} s; "
        f"wrote {out}"
    )
    if p["unlinked_markers"]:
        print(f"  {p['unlinked_markers']:,} markers without a position segregate independently")
    if p["unseen_genotypes"]:
        print(
            f"  warning: {p['unseen_genotypes']:,} offspring genotype cells are states the "
            "training data never had; the models see no allele there"
        )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "cross",
        help="progeny of two individuals in silico, or parent pairs ranked by usefulness",
        description="Offspring genotypes are drawn by meiosis along the marker map "
        "(crossovers a Poisson process per chromosome at --cm-per-mb, the Haldane map; "
        "markers without a position are unlinked): one meiotic product of A x B for haploid "
        "data, an F2 (or with --generation F1 the direct progeny) for diploid data. Every "
        "offspring's traits are predicted by G-P Atlas and the run's ridge baseline.",
    )
    p.add_argument("run", metavar="RUN", help="run folder written by `train`")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--parents", metavar="A,B", help="the two parents' sample ids")
    which.add_argument(
        "--rank-parents",
        type=int,
        metavar="K",
        help="cross every pair among the K individuals predicted best (needs --trait/--index)",
    )
    p.add_argument("--trait", metavar="T", help="ranking criterion: one trait (higher = better)")
    p.add_argument(
        "--index",
        metavar="FILE",
        help="ranking criterion: CSV trait,weight (weighted sum of standardised traits)",
    )
    p.add_argument("--offspring", type=int, default=200, metavar="N", help="per cross (200)")
    p.add_argument(
        "--cm-per-mb",
        type=float,
        default=DEFAULT_CM_PER_MB,
        metavar="F",
        help=f"recombination rate, cM per Mb (default {DEFAULT_CM_PER_MB:g}: budding yeast; "
        "human ~1.2, maize ~0.5, Arabidopsis ~4)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="N", help="meiosis seed (default 0)")
    p.add_argument("--ploidy", choices=("auto", "1", "2"), default="auto")
    p.add_argument("--generation", choices=("F2", "F1"), default="F2", help="diploid data only")
    p.add_argument(
        "--top-percent",
        type=float,
        default=10.0,
        metavar="F",
        help="usefulness = mean of the best F%% of the progeny (default 10)",
    )
    p.add_argument(
        "--individuals",
        default="all",
        metavar="all|test|FILE",
        help="where --rank-parents takes its candidates from (default all)",
    )
    p.add_argument("--out", required=True, metavar="OUT.csv", help="table to write")
    p.add_argument("--genotypes-out", metavar="FILE", help="offspring genotypes (CSV)")
    p.add_argument("--progeny-out", metavar="FILE", help="every offspring's predictions (CSV)")
    add_common(p)
    p.set_defaults(func=run)
