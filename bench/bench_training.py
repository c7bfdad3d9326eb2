"""Tier-2 epoch time on the yeast sample with paper-yeast settings (ge_hidden 2048, 23,246 inputs,
batch 16): our loop against a faithful re-implementation of the reference loop, in the same run.

The reference loop: a DataLoader over CPU tensors, numpy Bernoulli pos/neg masks per batch,
the L1/L2 penalty through autograd on ``W.sum(0)``, PyTorch's default (single-tensor) Adam.
Also timed: the reference loop with fused Adam only, to show what each change buys.

    .venv/bin/python bench/bench_training.py [--epochs N] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpatlas_core.config import preset
from gpatlas_core.io import load_yeast_sample
from gpatlas_core.run import empty_networks
from gpatlas_core.train import init_networks, train


def reference_epoch(gq, p, x, t, opt, rng, gen, *, gen_noise=0.8, l1=0.8, l2=0.01) -> float:
    """One tier-2 epoch as the reference script runs it; returns seconds."""
    loader = DataLoader(TensorDataset(x, t), batch_size=16, shuffle=True, generator=gen)
    q = (1.0 - gen_noise) / 2.0
    gq.train()
    p.eval()
    mse = nn.MSELoss()
    t0 = time.perf_counter()
    for xb, tb in loader:
        pos = torch.from_numpy(rng.binomial(1, q, xb.shape).astype(np.float32))
        neg = torch.from_numpy(rng.binomial(1, q, xb.shape).astype(np.float32))
        noisy = ((xb + pos - neg) > 0).float()
        out = p(gq(noisy))
        s = gq[0].weight.sum(0)
        loss = mse(out, tb) + l1 * torch.norm(s, 1) + l2 * torch.norm(s, 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs per variant")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--no-fused-reference", action="store_true", help="skip the middle variant")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ds = load_yeast_sample()
    cfg = preset("paper-yeast", device=args.device)
    print(
        f"yeast: {ds.n_samples} x {ds.n_allele_columns} inputs, {ds.n_traits} traits; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}"
    )

    # Interleaved: one epoch of ours (public API; tier-1 skipped, only the tier-2 batches timed),
    # then one of each reference variant, so all see the same machine load.
    rows = None
    res: dict[str, list[float]] = {"ours (gpatlas_core.train)": []}
    variants = [("reference (default Adam)", {})]
    if not args.no_fused_reference:
        variants.append(("reference + fused Adam", {"fused": True}))
    refs = {}
    rng = np.random.default_rng(0)
    gen = torch.Generator().manual_seed(0)
    for rep in range(args.epochs):
        run = train(
            ds,
            preset(
                "paper-yeast", epochs_phenotype=0, epochs_genotype=1, device=args.device, seed=rep
            ),
            baselines=False,
        )
        res["ours (gpatlas_core.train)"].append(float(run.losses["seconds"].iloc[-1]))
        if rows is None:
            rows = run.train_rows(ds)
            x = torch.from_numpy(ds.onehot(rows))
            t = torch.from_numpy(np.nan_to_num(ds.phenotypes[rows]))
            p = run.p
            for name, kw in variants:
                _, _, gq = empty_networks(ds.n_traits, ds.n_allele_columns, cfg)
                init_networks((gq,), 1)
                opt = torch.optim.Adam(gq.parameters(), lr=1e-3, betas=(0.5, 0.999), **kw)
                refs[name] = (gq, opt)
        for name, (gq, opt) in refs.items():
            res.setdefault(name, []).append(reference_epoch(gq, p, x, t, opt, rng, gen))
        print(f"rep {rep}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in res.items()), flush=True)
    ref = float(np.median(res["reference (default Adam)"]))
    print("\n| loop | s / tier-2 epoch (median) | speed-up vs reference |")
    print("| --- | --- | --- |")
    for name in [
        "reference (default Adam)",
        *[n for n in res if n.startswith("reference +")],
        "ours (gpatlas_core.train)",
    ]:
        med = float(np.median(res[name]))
        print(f"| {name} | {med:.2f} | {ref / med:.1f}x |")


if __name__ == "__main__":
    main()
