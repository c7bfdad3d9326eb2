"""``simulate --out DIR``: write a simulated data set with known truth (docs/method.md section 7)."""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from ..io import write_dataset_folder
from ..sim import SimulationConfig, simulate


def run(args: argparse.Namespace) -> int:
    cfg = SimulationConfig(
        n_individuals=args.individuals,
        n_loci=args.loci,
        n_alleles=args.alleles,
        n_traits=args.traits,
        causal_per_trait=args.causal_per_trait,
        p_pleiotropy=args.p_pleiotropy,
        p_interaction=args.p_interaction,
        noise=args.noise,
    )
    ds = simulate(cfg, rng=np.random.default_rng(args.seed))
    ds.name = f"simulation (seed {args.seed})"
    ds.source = "simulate " + " ".join(f"{k}={v}" for k, v in dataclasses.asdict(cfg).items())
    out = write_dataset_folder(ds, args.out)
    print(
        f"wrote {out}: {ds.n_samples:,} individuals x {ds.n_loci:,} loci "
        f"({ds.n_allele_columns:,} allele columns) x {ds.n_traits} traits; "
        f"{len(ds.truth.interactions)} interacting pairs"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    d = SimulationConfig()
    p = subparsers.add_parser(
        "simulate",
        help="write a simulated data set with known causal alleles",
        description="Simulate genotypes and phenotypes with additive, pleiotropic and "
        "multiplicatively interacting loci (Avasthi, Mets, York 2024) and write a dataset "
        "folder (genotypes, phenotypes, marker map, truth).",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--individuals", type=int, default=d.n_individuals, metavar="N")
    p.add_argument("--loci", type=int, default=d.n_loci, metavar="N")
    p.add_argument("--alleles", type=int, default=d.n_alleles, metavar="N")
    p.add_argument("--traits", type=int, default=d.n_traits, metavar="N")
    p.add_argument("--causal-per-trait", type=int, default=d.causal_per_trait, metavar="N")
    p.add_argument("--p-pleiotropy", type=float, default=d.p_pleiotropy, metavar="F")
    p.add_argument("--p-interaction", type=float, default=d.p_interaction, metavar="F")
    p.add_argument("--noise", type=float, default=d.noise, metavar="F")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    p.set_defaults(func=run)
