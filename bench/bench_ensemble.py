"""Exploration: would an ensemble of genotype encoders close the gap to ridge on yeast?

Trains one run with a preset (both tiers, baselines), then trains tier 2 again ``K - 1`` times
with other initialisations and noise seeds against the same frozen decoder and the same split,
and reports the median test R^2 (genotype -> phenotype) of each member and of the ensemble,
averaged in phenotype space and in latent space (the latter is one network: the members side
by side, block-diagonal, with a fixed averaging layer in front of the decoder).

This is not a feature of the app yet; it measures whether one is worth building. It drives the
trainer's internals (``gpatlas_core.train.run_tier``) to re-train tier 2 alone.

    .venv/bin/python bench/bench_ensemble.py --preset quick --members 6
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gpatlas_core.config import preset
from gpatlas_core.io import load_yeast_sample
from gpatlas_core.tl._metrics import prediction_metrics
from gpatlas_core.train import TierState, Trainer, init_networks, run_tier, train


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default all)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    ds = load_yeast_sample()
    t0 = time.perf_counter()
    run = train(ds, preset(args.preset), baselines=True)
    first_s = time.perf_counter() - t0
    test = run.test_rows(ds)
    x, _, _ = run.model_inputs(ds, test)
    obs = ds.phenotypes[test]
    samples = [str(s) for s in ds.samples[test]]

    def median_r2(pred: np.ndarray) -> float:
        return prediction_metrics(obs, pred, traits=run.traits, samples=samples)["median"]["r2"]

    base = {k: v["median"]["r2"] for k, v in run.metrics.items()}
    print(
        f"preset {args.preset}, {torch.get_num_threads()} threads; first run {first_s:.0f} s "
        f"(both tiers + baselines)"
    )
    print(
        f"ridge {base['ridge']:.3f}, QTL-peak linear {base.get('qtl_linear', float('nan')):.3f}, "
        f"P->P {base['phenotype_to_phenotype']:.3f}"
    )
    print("| members | this member | ensemble, phenotype average | ensemble, latent average | s |")
    print("| --- | --- | --- | --- | --- |")
    preds = [run.predict_from_genotypes(x)]
    lats = [run.latent_from_genotypes(x)]
    r2 = median_r2(preds[0])
    print(f"| 1 | {r2:.3f} | {r2:.3f} | {r2:.3f} | {first_s:.0f} |", flush=True)
    for k in range(1, args.members):
        t1 = time.perf_counter()
        member = copy.deepcopy(run)
        init_networks((member.gq,), 1000 + k)
        trainer = Trainer(ds, member, torch.device("cpu"))
        trainer.gen.manual_seed(2000 + k)
        run_tier(trainer, "genotype", TierState())
        for net in (member.q, member.p, member.gq):
            net.to("cpu").eval()
        preds.append(member.predict_from_genotypes(x))
        lats.append(member.latent_from_genotypes(x))
        by_pheno = np.mean(preds, axis=0)
        by_latent = run.unscale(run._apply(run.p, np.mean(lats, axis=0)))
        print(
            f"| {k + 1} | {median_r2(preds[-1]):.3f} | {median_r2(by_pheno):.3f} | "
            f"{median_r2(by_latent):.3f} | {time.perf_counter() - t1:.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
