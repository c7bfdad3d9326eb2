"""Test-set accuracy of the default model (preset ``studio``) against ridge and LASSO, on the
same split, for several seeds, and what it means downstream.

- yeast: the shipped BY x RM sample (1,008 segregants; 20% test; the rest 90% train, 10%
  validation for the warm start's epoch choice; the baselines are fitted on the same training
  individuals as the model);
- sim: a paper-size simulation from our simulator (3,600 individuals = 3,000 + 600 as the issue
  asks, 3,000 loci x 3 alleles, 30 traits, 10 causal loci per trait, the paper's pleiotropy and
  interaction probabilities), the same data for every seed; the seed changes the split and the
  networks.

For every (data, seed): median per-trait test R^2 of G->P, P->P, ridge and LASSO, the
G->P - LASSO difference, traits where G->P beats LASSO, and the wall time of ``train`` (both
tiers, the LASSO warm start and the baselines; 2 torch threads). With ``--consequences``, on
the first seed: causal-allele importance ROC AUC and VIDA ROC AUC (simulation), and the share
of known QTL at or above their own trait's 90th importance percentile (yeast, peak marker).

    .venv/bin/python bench/bench_accuracy.py [--data yeast sim] [--seeds 47 48 49]
        [--preset studio] [--consequences] [--set NAME=VALUE ...]
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

from gpatlas_core.config import preset, with_overrides
from gpatlas_core.io import load_yeast_sample
from gpatlas_core.sim import SimulationConfig, simulate
from gpatlas_core.tl import comparison_table, compute_importance
from gpatlas_core.train import train

SIM = SimulationConfig(n_individuals=3600)
SIM_SEED = 0


def load(name: str):
    if name == "yeast":
        return load_yeast_sample()
    return simulate(SIM, rng=np.random.default_rng(SIM_SEED))


def _med(run, model: str) -> float | None:
    return run.metrics.get(model, {}).get("median", {}).get("r2")


def consequences(name: str, ds, run) -> dict:
    from gpatlas_core.tl import (
        candidates_from_truth,
        causal_allele_roc,
        evaluate_vida,
        qtl_recovery,
        vida,
    )

    out: dict = {}
    t0 = time.perf_counter()
    imp = compute_importance(run, ds, per_trait=name == "yeast", n_bootstrap=0, rng=0)
    out["importance_s"] = time.perf_counter() - t0
    if name == "sim":
        out["causal_auc"] = causal_allele_roc(imp.alleles, ds.truth).auc
        scores = vida(imp.matrix, ds.allele_columns, candidates=candidates_from_truth(ds))
        ev = evaluate_vida(scores, ds.truth, rng=np.random.default_rng(0))
        out["vida_auc"] = ev.auc
        out["vida_scored"] = [ev.n_interacting, ev.n_non_interacting]
    else:
        hit = total = 0
        for trait in imp.traits:
            rec = qtl_recovery(imp.loci, ds.known_qtl, trait=trait, percentiles=[90], by="peak")
            if len(rec) and rec["n_qtl"].iat[0]:
                hit += int(rec["n_recovered"].iat[0])
                total += int(rec["n_qtl"].iat[0])
        out["qtl_above_own_p90"] = [hit, total]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", nargs="+", default=["yeast", "sim"], choices=["yeast", "sim"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[47, 48, 49])
    ap.add_argument("--preset", default="studio")
    ap.add_argument("--consequences", action="store_true")
    ap.add_argument("--json", help="also write the rows as JSON to this file")
    ap.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="override settings of the preset (JSON values), e.g. interaction_loci=0",
    )
    args = ap.parse_args()
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    torch.set_num_threads(2)
    rows = []
    print(
        "| data | seed | G->P R^2 | P->P R^2 | ridge | LASSO | G->P - LASSO | traits G->P > LASSO "
        "| best tier-2 epoch | s |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    for name in args.data:
        ds = load(name)
        for i, seed in enumerate(args.seeds):
            t0 = time.perf_counter()
            cfg = with_overrides(preset(args.preset, device="cpu", seed=seed), overrides)
            run = train(ds, cfg)
            secs = time.perf_counter() - t0
            diffs = [
                r["diff_lasso"]
                for r in comparison_table(run.metrics, run.traits)
                if r.get("diff_lasso") is not None
            ]
            row = {
                "data": name,
                "seed": seed,
                "gp": _med(run, "genotype_to_phenotype"),
                "pp": _med(run, "phenotype_to_phenotype"),
                "ridge": _med(run, "ridge"),
                "lasso": _med(run, "lasso"),
                "wins": sum(d > 0 for d in diffs),
                "n_traits": len(diffs),
                "best_epoch": run.info.get("best_epoch", {}).get("genotype"),
                "seconds": secs,
            }
            if args.consequences and i == 0:
                row.update(consequences(name, ds, run))
            rows.append(row)
            print(
                f"| {name} | {seed} | {row['gp']:.3f} | {row['pp']:.3f} | {row['ridge']:.3f} | "
                f"{row['lasso']:.3f} | {row['gp'] - row['lasso']:+.3f} | {row['wins']} of "
                f"{row['n_traits']} | {row['best_epoch']} | {secs:.0f} |",
                flush=True,
            )
        part = [r for r in rows if r["data"] == name]
        for key in ("gp", "pp", "ridge", "lasso"):
            v = np.array([r[key] for r in part])
            print(f"{name} {key}: mean {v.mean():.3f}, sd {v.std(ddof=1) if len(v) > 1 else 0:.3f}")
        d = np.array([r["gp"] - r["lasso"] for r in part])
        print(
            f"{name} G->P - LASSO: mean {d.mean():+.3f}, sd {d.std(ddof=1) if len(d) > 1 else 0:.3f}"
        )
        for r in part:
            extra = {k: r[k] for k in r if k not in ("data", "seed", "gp", "pp", "ridge", "lasso")}
            if "importance_s" in extra:
                print(f"{name} seed {r['seed']} consequences: {extra}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
