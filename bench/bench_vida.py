"""VIDA speed against the plain-loop oracle, and VIDA quality on a paper-size simulation.

    .venv/bin/python bench/bench_vida.py              # speed (about a minute)
    .venv/bin/python bench/bench_vida.py --quality    # + train, ablate, VIDA (many minutes)

Speed: ``vida`` on 2,000 candidate columns x 200 individuals, timed by stage. The oracle
(tests/vida_oracle.py) is run on a random subset of columns against the full candidate set,
timed by stage, and extrapolated honestly: the pair stage per pair x c(c-1)/2 pairs (an oracle
that scores each unordered pair once), the per-column stage per column x c; its results on the
subset are checked against the fast ones.

Quality: simulate 600 x 3,000 loci x 30 traits (the paper's design), train the paper-simulated
preset (fewer epochs with --epochs), ablation importance on the test set, VIDA on the alleles
of the causal loci; AUC, Youden point, top-10%/20% enrichment, Mann-Whitney, kurtosis test and
the grid search, next to the paper's numbers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from gpatlas_core.tl._vida import (  # noqa: E402
    _column_scores,
    _compute_partners,
    _prepare,
    vida,
)

PAPER = {"auc": 0.64, "sensitivity": 0.528, "specificity": 0.718, "top10": 1.4, "top20": 1.35}


def importance_like(rng: np.random.Generator, n: int, p: int, n_alleles: int = 3) -> np.ndarray:
    """Zeros where the allele is absent (1 - 1/a of entries), heavy tails, correlated groups."""
    carried = np.zeros((n, p), dtype=bool)
    for j0 in range(0, p, n_alleles):
        state = rng.integers(0, n_alleles, size=n)
        for a in range(min(n_alleles, p - j0)):
            carried[:, j0 + a] = state == a
    m = rng.standard_t(3, size=(n, p)) * rng.lognormal(0, 1, size=p)
    groups = rng.integers(0, 40, size=p)
    shared = rng.standard_t(2, size=(n, 40))
    m += 2 * shared[:, groups]
    return np.where(carried, m, 0.0)


def bench_speed(c: int, n: int, subset: int, seed: int) -> dict:
    import vida_oracle

    rng = np.random.default_rng(seed)
    m = importance_like(rng, n, c)
    cols = pd.DataFrame(
        {
            "marker": [f"m{j // 3}" for j in range(c)],
            "allele": [str(j % 3) for j in range(c)],
            "locus": np.arange(c) // 3,
        }
    )
    t0 = time.perf_counter()
    prep = _prepare(m, np.arange(c))
    t1 = time.perf_counter()
    partners = _compute_partners(prep.z, [2.0], None)[2.0]
    t2 = time.perf_counter()
    _column_scores(prep.z, partners, 2.0, [("concentration", 5.0)])
    t3 = time.perf_counter()
    fast = vida(m, cols, candidates=None)
    t4 = time.perf_counter()

    rows = np.sort(rng.choice(c, size=subset, replace=False))
    timings: dict = {}
    ref = pd.DataFrame(vida_oracle.vida(m, rows=list(rows), timings=timings))
    sub = fast.iloc[rows].reset_index(drop=True)
    n_ok_subset = int((ref["status"] == "ok").sum())
    same_status = bool((sub["status"].to_numpy() == ref["status"].to_numpy()).all())
    max_err = float(
        np.nanmax(np.abs(sub["vida_score"].to_numpy() - ref["vida_score"].to_numpy()), initial=0)
    )
    per_pair = timings["pairs"] / timings["n_pairs"]
    per_col = timings["metrics"] / subset
    oracle_total = timings["zscores"] + per_pair * c * (c - 1) / 2 + per_col * c
    return {
        "c": c,
        "n": n,
        "fast_z": t1 - t0,
        "fast_pairs": t2 - t1,
        "fast_metrics": t3 - t2,
        "fast_total": t4 - t3,
        "oracle_z": timings["zscores"],
        "oracle_pairs": per_pair * c * (c - 1) / 2,
        "oracle_metrics": per_col * c,
        "oracle_total": oracle_total,
        "oracle_subset": subset,
        "same_status": same_status,
        "max_abs_diff": max_err,
        "n_ok": int((fast["status"] == "ok").sum()),
        "n_ok_subset": n_ok_subset,
    }


def _evaluate(mat, ds, cand, seed: int, grid: bool) -> dict:
    from gpatlas_core.tl import (
        best_of_grid,
        evaluate_vida,
        importance_by_class,
        kurtosis_test,
        vida_grid,
    )

    out: dict = {}
    cols = ds.allele_columns
    t = time.perf_counter()
    scores = vida(mat, cols, candidates=cand)
    out["vida_s"] = time.perf_counter() - t
    out["n_candidates"] = int(cand.size)
    out["n_rows"] = int(mat.shape[0])
    out["status"] = scores["status"].value_counts().to_dict()
    rng = np.random.default_rng(seed)
    ev = evaluate_vida(scores, ds.truth, rng=rng)
    out["auc"] = ev.auc
    out["youden"] = ev.youden
    out["mann_whitney"] = ev.mann_whitney
    out["n_interacting"], out["n_non_interacting"] = ev.n_interacting, ev.n_non_interacting
    out["n_unscored"] = ev.n_unscored
    out["top10"] = ev.enrichment_at(10)
    out["top20"] = ev.enrichment_at(20)
    a, b = importance_by_class(mat, cols, ds.truth)
    kt = kurtosis_test(a, b, rng=rng)
    out["kurtosis"] = {k: v for k, v in kt.items() if not k.startswith("boot_")}
    if grid:
        t = time.perf_counter()
        g = vida_grid(mat, cols, candidates=cand, truth=ds.truth)
        out["grid_s"] = time.perf_counter() - t
        out["grid_best"] = best_of_grid(g)
        out["grid"] = g
    return out


def bench_quality(epochs: int, seed: int, grid: bool, run_dir: str | None) -> dict:
    import torch

    from gpatlas_core.config import preset
    from gpatlas_core.run import Run
    from gpatlas_core.sim import SimulationConfig, simulate
    from gpatlas_core.tl import ablation_matrix, candidates_from_truth, compute_importance
    from gpatlas_core.train import train

    torch.set_num_threads(2)
    head: dict = {"epochs": epochs}
    ds = simulate(SimulationConfig(), rng=np.random.default_rng(seed))
    t = time.perf_counter()
    if run_dir and (Path(run_dir) / "weights.safetensors").is_file():
        run = Run.load(run_dir)
        head["train_s"] = float("nan")
    else:
        cfg = preset(
            "paper-simulated", epochs_phenotype=epochs, epochs_genotype=epochs, device="cpu"
        )
        run = train(ds, cfg, baselines=False)
        head["train_s"] = time.perf_counter() - t
        if run_dir:
            run.save(run_dir)
    gp = run.metrics.get("genotype_to_phenotype", {})
    head["metrics"] = {k: v for k, v in gp.items() if isinstance(v, (int, float))}
    t = time.perf_counter()
    imp = compute_importance(run, ds, n_bootstrap=0, rng=seed, device="cpu")
    head["importance_s"] = time.perf_counter() - t
    cand = candidates_from_truth(ds)
    results = {"test individuals": _evaluate(imp.matrix, ds, cand, seed, grid)}
    # The published predictions cover 600 test individuals (docs/method.md section 8); with 120
    # here, also report VIDA on the importance of all 600 (train + test) individuals.
    x, tt, mask = run.model_inputs(ds)
    full = ablation_matrix(run.gq, run.p, x, tt, mask=mask, device="cpu")
    results["all individuals"] = _evaluate(full, ds, cand, seed, grid)
    head["results"] = results
    return head


def _print_quality(q: dict) -> None:
    print(
        f"\nVIDA quality: paper-size simulation (600 x 3,000 x 30), {q['epochs']} + "
        f"{q['epochs']} epochs; train {q['train_s']:.0f} s, importance {q['importance_s']:.0f} s"
    )
    print(f"genotype -> phenotype test metrics: {q['metrics']}")
    for name, r in q["results"].items():
        print(
            f"\n### importance over {name} ({r['n_rows']}); {r['n_candidates']} candidates "
            f"(alleles of causal loci); VIDA {r['vida_s']:.2f} s; statuses {r['status']}"
        )
        print(
            f"{r['n_interacting']} interacting, {r['n_non_interacting']} non-interacting scored, "
            f"{r['n_unscored']} unscored"
        )
        y, t10, t20 = r["youden"], r["top10"], r["top20"]
        print("| statistic | ours | paper |")
        print("| --- | --- | --- |")
        print(f"| ROC AUC | {r['auc']:.3f} | {PAPER['auc']} |")
        print(
            f"| Youden sensitivity / specificity | {y['sensitivity']:.3f} / "
            f"{y['specificity']:.3f} | {PAPER['sensitivity']} / {PAPER['specificity']} |"
        )
        print(
            f"| enrichment top 10% | {t10['enrichment']:.2f}x ({t10['ci_low']:.2f}-"
            f"{t10['ci_high']:.2f}, p={t10['p_value']:.2g}) | 1.4x (0.93-1.70) |"
        )
        print(
            f"| enrichment top 20% | {t20['enrichment']:.2f}x ({t20['ci_low']:.2f}-"
            f"{t20['ci_high']:.2f}, p={t20['p_value']:.2g}) | 1.35x (1.13-1.54) |"
        )
        mw = r["mann_whitney"]
        print(
            f"| median VIDA interacting / not | {mw['median_interacting']:.3g} / "
            f"{mw['median_non_interacting']:.3g} (MWU p={mw['p_value']:.2g}) | "
            "0.00205 / -0.000503 (p<0.001) |"
        )
        k = r["kurtosis"]
        print(
            f"| excess kurtosis interacting / direct | {k['kurtosis_interacting']:.2f} / "
            f"{k['kurtosis_direct']:.2f} (bootstrap p={k['p_value']:.3g}) | p<0.001 |"
        )
        if r.get("grid_best"):
            b = r["grid_best"]
            g = r["grid"]
            g = g[
                g["uses_percentile"]
                | (g["clumpiness_percentile"] == g["clumpiness_percentile"].min())
            ]
            print(
                f"grid ({r['grid_s']:.1f} s): best {b['method']}, z {b['z_threshold']}, "
                f"percentile {b['clumpiness_percentile']}, AUC {b['auc']:.3f}"
            )
            print(g.drop(columns=["uses_percentile"]).to_string(index=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--columns", type=int, default=2000)
    ap.add_argument("--individuals", type=int, default=200)
    ap.add_argument("--oracle-subset", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quality", action="store_true", help="also the simulation benchmark")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--epochs", type=int, default=100, help="per tier (paper: 250)")
    ap.add_argument("--no-grid", action="store_true")
    ap.add_argument("--run-dir", help="save the trained run here, or reuse it if present")
    args = ap.parse_args()

    if not args.no_speed:
        r = bench_speed(args.columns, args.individuals, args.oracle_subset, args.seed)
        print(
            f"\nVIDA speed: {r['c']:,} candidate columns x {r['n']} individuals "
            f"({r['n_ok']:,} scored)"
        )
        print("| stage | vectorised (s) | loop oracle (s, extrapolated) | ratio |")
        print("| --- | --- | --- | --- |")
        for stage, f, o in (
            ("z-scores", r["fast_z"], r["oracle_z"]),
            ("pairs + partners", r["fast_pairs"], r["oracle_pairs"]),
            ("per-individual metrics", r["fast_metrics"], r["oracle_metrics"]),
            ("total (vida())", r["fast_total"], r["oracle_total"]),
        ):
            print(f"| {stage} | {f:.2f} | {o:.1f} | {o / f:,.0f}x |")
        print(
            f"oracle run on {r['oracle_subset']} columns ({r['n_ok_subset']} scored) against all candidates: same statuses "
            f"{r['same_status']}, max |score difference| {r['max_abs_diff']:.2e}"
        )

    if args.quality:
        _print_quality(bench_quality(args.epochs, args.seed, not args.no_grid, args.run_dir))


if __name__ == "__main__":
    main()
