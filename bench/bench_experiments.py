"""In-silico experiments against a simulation's truth, and their cost on the yeast sample.

    .venv/bin/python bench/bench_experiments.py                 # simulation + yeast (minutes)
    .venv/bin/python bench/bench_experiments.py --skip-yeast    # simulation only

Simulation (``gpatlas_core.sim``, seed ``--seed``): train the ``quick`` preset, then

1. swap every allele of every locus in the test individuals (``tl.allele_swaps``) and score
   mean |change| per (allele, trait) against the truth's causal (locus, trait) pairs (ROC AUC),
   and per allele (largest mean |change| in trait SDs over traits) against "causal for some
   trait"; G-P Atlas and the run's ridge baseline alike;
2. for every interacting pair (trait, a, b, state k) of the truth: the change of swapping a to
   k among individuals whose b carries k minus among those whose b does not, within each
   allele of a that the swap replaces (and b given a), predicted and true
   (``sim.simulated_signal`` on the same edited genotypes); the share of pairs where the
   predicted dependence has the true sign (ridge is additive: exactly 0, never the sign);
3. cross random parent pairs (``tl.cross``) and compare the predicted progeny mean, SD and
   usefulness per trait with the true (noise-free simulated) phenotypes of the same offspring.

Yeast: train ``quick``, refit its ridge with the recorded penalties, and time a cross with
1,000 offspring, a parent ranking and a batch of allele swaps.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gpatlas_core import tl  # noqa: E402
from gpatlas_core.config import preset  # noqa: E402
from gpatlas_core.sim import SimulationConfig, simulate, simulated_signal  # noqa: E402
from gpatlas_core.tl._meiosis import genotype_columns  # noqa: E402
from gpatlas_core.train import train  # noqa: E402


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    ok = np.isfinite(scores)
    return float(roc_auc_score(labels[ok], scores[ok]))


def sim_codes(ds, cols: np.ndarray) -> np.ndarray:
    """Simulation genotype codes (labels '0', '1', ...) from per-locus one-hot columns."""
    labels = ds.allele_columns["allele"].to_numpy().astype(int)
    return labels[cols]


def bench_swaps(ds, run, ridge) -> tuple[dict, tl.SwapResult]:
    swaps = tl.swaps_for_markers(ds, list(ds.markers["marker"]))
    t0 = time.perf_counter()
    res = tl.allele_swaps(run, ds, swaps, ridge=ridge)
    seconds = time.perf_counter() - t0
    causal = ds.truth.causal[["marker", "trait"]].drop_duplicates()
    causal_pairs = set(zip(causal["marker"], causal["trait"], strict=True))
    causal_markers = set(causal["marker"])
    marker_of = dict(zip(swaps["set"], swaps["marker"], strict=True))
    sd = res.summary.drop_duplicates("trait").set_index("trait")["phenotype_sd"]
    sd = sd.reindex(res.traits).to_numpy()
    out = {"n_swaps": len(res.sets), "n_individuals": res.params["n_individuals"]}
    out["seconds"] = seconds
    for name, arr in (("gpatlas", res.changes), ("ridge", res.ridge_changes)):
        mean_abs = np.nanmean(np.abs(arr.astype(np.float64)), axis=1)  # (sets, traits)
        pair_labels = np.array(
            [[(marker_of[s], t) in causal_pairs for t in res.traits] for s in res.sets]
        )
        per_allele = np.nanmax(mean_abs / sd[None, :], axis=1)
        allele_labels = np.array([marker_of[s] in causal_markers for s in res.sets])
        out[f"{name}_auc_allele_trait"] = auc(mean_abs.ravel(), pair_labels.ravel())
        out[f"{name}_auc_allele"] = auc(per_allele, allele_labels)
    out["n_causal_pairs"] = int(pair_labels.sum())
    return out, res


def bench_interactions(ds, run, res: tl.SwapResult) -> dict:
    rows = run.test_rows(ds)
    cols = genotype_columns(ds.onehot(rows), ds.n_loci)
    codes = sim_codes(ds, cols)
    markers = list(ds.markers["marker"])
    locus = {m: j for j, m in enumerate(markers)}
    base = simulated_signal(codes, ds.truth, markers, ds.traits)
    agree_gp, agree_ridge, pred_d, true_d, ridge_d = [], [], [], [], []
    for r in ds.truth.interactions.itertuples(index=False):
        k, t = int(r.allele), ds.traits.index(r.trait)
        for edited, partner in ((r.marker_a, r.marker_b), (r.marker_b, r.marker_a)):
            s = res.sets.index(f"{edited}:{k}")
            edit = codes.copy()
            edit[:, locus[edited]] = k
            truth = simulated_signal(edit, ds.truth, markers, ds.traits)[:, t] - base[:, t]
            gp = res.changes[s, :, t].astype(np.float64)
            rd = res.ridge_changes[s, :, t].astype(np.float64)
            # partner carries k vs not, within each allele g != k the edit replaces (so that
            # the allele replaced, which alone sets an additive change, is held fixed)
            d = {"true": [], "gp": [], "ridge": []}
            for g in set(np.unique(codes[:, locus[edited]])) - {k}:
                from_g = codes[:, locus[edited]] == g
                with_k = from_g & (codes[:, locus[partner]] == k)
                without = from_g & (codes[:, locus[partner]] != k)
                if with_k.any() and without.any():
                    for name, v in (("true", truth), ("gp", gp), ("ridge", rd)):
                        d[name].append(v[with_k].mean() - v[without].mean())
            if not d["true"]:
                continue
            d_true, d_gp, d_ridge = (float(np.mean(d[n])) for n in ("true", "gp", "ridge"))
            agree_gp.append(np.sign(d_gp) == np.sign(d_true))
            agree_ridge.append(np.sign(d_ridge) == np.sign(d_true) and abs(d_ridge) > 1e-9)
            ridge_d.append(d_ridge)
            pred_d.append(d_gp)
            true_d.append(d_true)
    pred_d, true_d = np.array(pred_d), np.array(true_d)
    return {
        "n_pair_directions": len(agree_gp),
        "n_interactions": len(ds.truth.interactions),
        "gpatlas_sign_share": float(np.mean(agree_gp)),
        "ridge_sign_share": float(np.mean(agree_ridge)),
        "true_positive_share": float(np.mean(true_d > 0)),
        "pearson_dependence": float(np.corrcoef(pred_d, true_d)[0, 1]),
        "median_abs_true": float(np.median(np.abs(true_d))),
        "median_abs_gpatlas": float(np.median(np.abs(pred_d))),
        "max_abs_ridge": float(np.max(np.abs(ridge_d))),
    }


def bench_crosses(ds, run, ridge, *, n_pairs: int, n_offspring: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    markers = list(ds.markers["marker"])
    config = tl.CrossConfig(n_offspring=n_offspring)
    rows = []
    t0 = time.perf_counter()
    for p in range(n_pairs):
        a, b = rng.choice(ds.n_samples, size=2, replace=False)
        res = tl.cross(
            run, ds, (ds.samples[a], ds.samples[b]), config=config, rng=seed + p, ridge=ridge
        )
        true = simulated_signal(sim_codes(ds, res.offspring), ds.truth, markers, ds.traits)
        for t, trait in enumerate(ds.traits):
            rows.append(
                {
                    "pair": p,
                    "trait": trait,
                    "true_mean": true[:, t].mean(),
                    "true_sd": true[:, t].std(ddof=1),
                    "true_use": tl.usefulness(true[:, [t]], 0.1)[0],
                    **{
                        f"{m}_{s}": res.summary[f"{pre}{col}"].iat[t]
                        for m, pre in (("gp", ""), ("ridge", "ridge_"))
                        for s, col in (
                            ("mean", "progeny_mean"),
                            ("sd", "progeny_sd"),
                            ("use", "usefulness_10pct"),
                        )
                    },
                }
            )
    seconds = time.perf_counter() - t0
    df = pd.DataFrame(rows)
    out = {"n_pairs": n_pairs, "n_offspring": n_offspring, "seconds": seconds}
    for m in ("gp", "ridge"):
        for s in ("mean", "sd", "use"):
            r = df.groupby("trait").apply(
                lambda g, m=m, s=s: np.corrcoef(g[f"{m}_{s}"], g[f"true_{s}"])[0, 1],
                include_groups=False,
            )
            out[f"{m}_{s}_r_median_over_traits"] = float(r.median())
        out[f"{m}_sd_ratio_median"] = float((df[f"{m}_sd"] / df["true_sd"]).median())
        err = (df[f"{m}_mean"] - df["true_mean"]).abs() / df["true_sd"]
        out[f"{m}_mean_abs_error_in_true_sd"] = float(err.median())
    return out


def bench_yeast(seed: int) -> dict:
    from gpatlas_core.io import load_yeast_sample

    ds = load_yeast_sample()
    t0 = time.perf_counter()
    run = train(ds, preset("quick", device="cpu", seed=seed))
    out = {"train_quick_s": time.perf_counter() - t0}
    t0 = time.perf_counter()
    ridge = tl.ridge_for_run(run, ds)
    out["ridge_refit_recorded_alpha_s"] = time.perf_counter() - t0
    a, b = ds.samples[0], ds.samples[1]
    for n in (1000,):
        t0 = time.perf_counter()
        res = tl.cross(run, ds, (a, b), config=tl.CrossConfig(n_offspring=n), rng=seed, ridge=ridge)
        out[f"cross_{n}_s"] = time.perf_counter() - t0
        out[f"cross_{n}_crossovers_per_meiosis"] = res.params["crossovers_per_gamete"]
        out[f"cross_{n}_map_cm"] = res.params["map_length_cm"]
    t0 = time.perf_counter()
    res = tl.cross(
        run, ds, (a, b), config=tl.CrossConfig(n_offspring=1000), rng=seed, with_ridge=False
    )
    out["cross_1000_gpatlas_only_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tl.rank_parents(
        run,
        ds,
        k=6,
        trait=ds.traits[0],
        config=tl.CrossConfig(n_offspring=200),
        rng=seed,
        ridge=ridge,
    )
    out["rank_k6_200_s"] = time.perf_counter() - t0
    markers = list(ds.markers["marker"].iloc[:: ds.n_loci // 10][:10])
    swaps = tl.swaps_for_markers(ds, markers)  # 10 loci x 2 alleles
    t0 = time.perf_counter()
    tl.allele_swaps(run, ds, swaps, individuals="all", ridge=ridge)
    out["swaps_20_x_1008_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tl.allele_swaps(run, ds, swaps, individuals="test", ridge=ridge)
    out["swaps_20_x_test_s"] = time.perf_counter() - t0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--individuals", type=int, default=600)
    ap.add_argument("--loci", type=int, default=1000)
    ap.add_argument("--traits", type=int, default=10)
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--offspring", type=int, default=500)
    ap.add_argument("--skip-yeast", action="store_true")
    ap.add_argument("--out", type=Path, help="write the numbers as JSON")
    args = ap.parse_args()
    info = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "seed": args.seed,
    }
    cfg = SimulationConfig(n_individuals=args.individuals, n_loci=args.loci, n_traits=args.traits)
    ds = simulate(cfg, rng=np.random.default_rng(args.seed))
    t0 = time.perf_counter()
    run = train(ds, preset("quick", device="cpu"))
    info["simulation"] = {**vars(cfg), "train_quick_s": time.perf_counter() - t0}
    info["simulation"]["median_test_r2"] = {
        m: run.metrics.get(m, {}).get("median", {}).get("r2")
        for m in ("genotype_to_phenotype", "ridge", "lasso")
    }
    ridge = tl.ridge_for_run(run, ds)
    swaps, res = bench_swaps(ds, run, ridge)
    info["swaps"] = swaps
    print(json.dumps({"swaps": swaps}, indent=1), flush=True)
    info["interactions"] = bench_interactions(ds, run, res)
    print(json.dumps({"interactions": info["interactions"]}, indent=1), flush=True)
    info["crosses"] = bench_crosses(
        ds, run, ridge, n_pairs=args.pairs, n_offspring=args.offspring, seed=args.seed
    )
    print(json.dumps({"crosses": info["crosses"]}, indent=1), flush=True)
    if not args.skip_yeast:
        info["yeast"] = bench_yeast(args.seed)
        print(json.dumps({"yeast": info["yeast"]}, indent=1), flush=True)
    if args.out:
        args.out.write_text(json.dumps(info, indent=1, default=str))
    print(json.dumps(info, indent=1, default=str))


if __name__ == "__main__":
    main()
