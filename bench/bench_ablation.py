"""Fast ablation vs Captum FeatureAblation: exactness and speed.

    .venv/bin/python bench/bench_ablation.py                 # everything (~5-10 min on 2 cores)
    .venv/bin/python bench/bench_ablation.py --quick         # small sizes, a smoke run
    .venv/bin/python bench/bench_ablation.py --run RUN       # a trained run's networks and split

1. Exactness on small random networks (both tiers, with and without a genotype hidden
   layer, with a missing-phenotype mask): normwise max |fast - Captum| / max |Captum|,
   against Captum run in float64 (the exact numbers) and in float32 (what the reference ran).
2. Exactness on a yeast-size network (23,246 inputs, ge_hidden 2048, latent 32, 64/64,
   46 traits), Captum on a subset of columns of a few individuals.
3. Speed on the whole yeast test split (~202 individuals x 23,246 columns) against Captum's
   default (one individual, one column per forward pass), timed on a subset of columns in
   the same run and extrapolated to the full job.

Without --run the networks have random weights (PyTorch's default initialisation) and batch
norm statistics calibrated on the data, which is fine for timing and exactness.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpatlas_core.config import ModelConfig
from gpatlas_core.module import build_networks
from gpatlas_core.tl._ablation import ablate

try:
    from captum.attr import FeatureAblation
except ImportError:  # pragma: no cover
    sys.exit("captum is needed for this benchmark: pip install -r requirements-dev.txt")


def networks(n_traits: int, n_cols: int, cfg: ModelConfig, gen: torch.Generator):
    """(Q, P, GQ) with uniform(+-1/sqrt(fan_in)) weights drawn from ``gen``."""
    with torch.device("meta"):
        nets = build_networks(n_traits, n_cols, cfg)
    out = []
    for net in nets:
        net = net.to_empty(device="cpu")
        with torch.no_grad():
            for mod in net.modules():
                if isinstance(mod, nn.Linear):
                    b = 1 / np.sqrt(mod.in_features)
                    mod.weight.copy_((torch.rand(mod.weight.shape, generator=gen) * 2 - 1) * b)
                    mod.bias.copy_((torch.rand(mod.bias.shape, generator=gen) * 2 - 1) * b)
                elif isinstance(mod, nn.BatchNorm1d):
                    mod.reset_parameters()
                    mod.weight.copy_(torch.rand(mod.num_features, generator=gen) + 0.5)
                    mod.bias.copy_(torch.randn(mod.num_features, generator=gen) * 0.2)
        out.append(net.eval())
    return out


@torch.no_grad()
def calibrate(nets: list[nn.Sequential], x: torch.Tensor) -> None:
    """Set each batch norm's running statistics to its input's statistics on ``x``."""
    h = x
    for net in nets:
        for mod in net:
            if isinstance(mod, nn.BatchNorm1d):
                mod.running_mean.copy_(h.mean(0))
                mod.running_var.copy_(h.var(0) + 1e-3)
            h = mod(h)


def captum_rows(enc, dec, x, t, *, dtype, mask=None, feature_mask=None) -> np.ndarray:
    """The reference: FeatureAblation(forward)(inputs=(x, t)), one individual at a time."""
    enc = copy.deepcopy(enc).to(dtype).eval()
    dec = copy.deepcopy(dec).to(dtype).eval()
    state = {}

    def forward(inp, tt):
        out = dec(enc(inp))
        if state.get("mask") is None:
            return F.mse_loss(out, tt)
        m = state["mask"]
        return ((out - tt) ** 2 * m).sum() / m.sum()

    fa = FeatureAblation(forward)
    rows = []
    for k in range(x.shape[0]):
        state["mask"] = None if mask is None else mask[k : k + 1].to(dtype)
        if feature_mask is None:
            attr = fa.attribute(inputs=(x[k : k + 1].to(dtype), t[k : k + 1].to(dtype)))[0]
        else:  # columns of interest one by one, the rest as one group; targets untouched
            attr = fa.attribute(
                inputs=x[k : k + 1].to(dtype),
                additional_forward_args=(t[k : k + 1].to(dtype),),
                feature_mask=feature_mask,
            )
        rows.append(attr.squeeze(0).detach().numpy())
    return np.asarray(rows)


def normwise(a: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(a - ref).max() / max(np.abs(ref).max(), 1e-300))


def onehot(n: int, n_loci: int, n_alleles: int, gen: torch.Generator) -> torch.Tensor:
    codes = torch.randint(0, n_alleles, (n, n_loci), generator=gen)
    x = torch.zeros(n, n_loci * n_alleles)
    x[torch.arange(n)[:, None], torch.arange(n_loci) * n_alleles + codes] = 1.0
    return x


def small_exactness(seeds: int) -> list[tuple]:
    rows = []
    gen = torch.Generator().manual_seed(0)
    cases = [
        ("genotype, ge_hidden 32", 32, "genotype", False),
        ("genotype, no hidden layer", None, "genotype", False),
        ("genotype, masked MSE", 32, "genotype", True),
        ("phenotype", 32, "phenotype", False),
    ]
    for name, ge, tier, masked in cases:
        worst = [0.0, 0.0, 0.0]
        for _ in range(seeds):
            cfg = ModelConfig(latent=8, e_hidden=16, d_hidden=16, ge_hidden=ge)
            q, p, gq = networks(6, 90, cfg, gen)
            x = onehot(5, 30, 3, gen)
            t = torch.randn(5, 6, generator=gen)
            mask = (torch.rand(5, 6, generator=gen) > 0.25) if masked else None
            enc, inp = (gq, x) if tier == "genotype" else (q, t)
            calibrate([enc, p], inp)
            fast = ablate(enc, p, inp, t, mask=mask, device="cpu").matrix
            c64 = captum_rows(enc, p, inp, t, dtype=torch.float64, mask=mask)
            c32 = captum_rows(enc, p, inp, t, dtype=torch.float32, mask=mask)
            worst = [
                max(worst[0], normwise(fast, c64)),
                max(worst[1], normwise(fast, c32)),
                max(worst[2], normwise(c32, c64)),
            ]
        rows.append((name, seeds, *worst))
    return rows


def yeast_inputs(n: int, gen: torch.Generator, run_dir: str | None):
    """(x, t, mask, Q, P, GQ, source) for ``n`` individuals of the yeast data (or random)."""
    cfg = ModelConfig(latent=32, e_hidden=64, d_hidden=64, ge_hidden=2048)
    if run_dir:
        from gpatlas_core.io import load_yeast_sample
        from gpatlas_core.run import Run

        run = Run.load(run_dir)
        ds = load_yeast_sample()
        rows = run.test_rows(ds)[:n]
        x, t, mask = run.model_inputs(ds, rows)
        use_mask = mask if run.config.train.mask_missing else None
        return x, t, use_mask, run.q, run.p, run.gq, f"trained run {run_dir}"
    try:
        from gpatlas_core.io import load_yeast_sample

        ds = load_yeast_sample()
        rng = np.random.default_rng(47)
        rows = np.sort(rng.choice(ds.n_samples, size=min(n, ds.n_samples), replace=False))
        x = torch.from_numpy(ds.onehot(rows))
        ph = ds.phenotypes[rows]
        t = torch.from_numpy(np.nan_to_num(ph))
        mask = torch.from_numpy(~np.isnan(ph))
        source = f"yeast sample genotypes/phenotypes of {len(rows)} random segregants"
    except Exception as err:  # the sample is optional for this benchmark
        x = onehot(n, 11623, 2, gen)
        t = torch.randn(n, 46, generator=gen)
        mask = None
        source = f"random haploid genotypes (yeast sample not loaded: {err})"
    q, p, gq = networks(t.shape[1], x.shape[1], cfg, gen)
    calibrate([gq, p], x)
    calibrate([q], t)
    return x, t, mask, q, p, gq, source + ", random weights (batch norm calibrated on them)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--individuals", type=int, default=202, help="test individuals (202)")
    ap.add_argument("--captum-columns", type=int, default=150, help="columns timed in Captum")
    ap.add_argument("--captum-individuals", type=int, default=2, help="individuals in Captum")
    ap.add_argument("--seeds", type=int, default=3, help="random networks per small case")
    ap.add_argument("--run", help="a trained yeast run folder (default: random weights)")
    ap.add_argument("--repeat", type=int, default=2, help="fast runs timed (best of)")
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = ap.parse_args()
    if args.quick:
        args.individuals, args.captum_columns, args.seeds = 8, 20, 1

    print(f"# fast ablation vs Captum FeatureAblation {time.strftime('%Y-%m-%d %H:%M')}")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads; "
        f"load average at start {os.getloadavg()[0]:.1f}"
    )

    print("\n## 1. Exactness, small random networks (normwise: max|diff| / max|reference|)")
    print(
        "| case | networks | fast vs Captum float64 | fast vs Captum float32 | Captum f32 vs f64 |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, seeds, a, b, c in small_exactness(args.seeds):
        print(f"| {name} | {seeds} | {a:.1e} | {b:.1e} | {c:.1e} |")

    gen = torch.Generator().manual_seed(2024)
    x, t, mask, q, p, gq, source = yeast_inputs(args.individuals, gen, args.run)
    n, n_cols = x.shape
    print(f"\nyeast-size network: {n_cols:,} inputs -> 2048 -> 32 -> 64 -> {t.shape[1]}; {source}")

    # 2. exactness on the yeast-size network, a subset of columns
    k_ind = min(args.captum_individuals, n)
    rng = np.random.default_rng(0)
    nz = np.flatnonzero(x[0].numpy())
    zero = np.flatnonzero(x[0].numpy() == 0)
    cols = np.sort(
        np.r_[rng.choice(nz, args.captum_columns - 10, replace=False), rng.choice(zero, 10)]
    )
    fmask = torch.zeros(1, n_cols, dtype=torch.long)
    fmask[0, torch.from_numpy(cols)] = torch.arange(1, len(cols) + 1)
    sub_x, sub_t = x[:k_ind], t[:k_ind]
    sub_m = None if mask is None else mask[:k_ind]
    t0 = time.perf_counter()
    c32 = captum_rows(gq, p, sub_x, sub_t, dtype=torch.float32, mask=sub_m, feature_mask=fmask)
    captum_s = time.perf_counter() - t0
    c64 = captum_rows(gq, p, sub_x, sub_t, dtype=torch.float64, mask=sub_m, feature_mask=fmask)
    fast_sub = ablate(gq, p, sub_x, sub_t, mask=sub_m, device="cpu").matrix
    c32, c64, fast_sub = c32[:, cols], c64[:, cols], fast_sub[:, cols]
    same_zero = bool((fast_sub[c64 == 0] == 0).all()) if (c64 == 0).any() else True
    print(
        f"\n## 2. Exactness, yeast-size network ({k_ind} individuals x {len(cols)} columns,"
        f" 10 of them zero)"
    )
    print("| comparison | normwise max relative difference |")
    print("| --- | --- |")
    print(f"| fast vs Captum float64 | {normwise(fast_sub, c64):.1e} |")
    print(f"| fast vs Captum float32 (the reference) | {normwise(fast_sub, c32):.1e} |")
    print(f"| Captum float32 vs float64 | {normwise(c32, c64):.1e} |")
    big = np.abs(c64) >= 1e-2 * np.abs(c64).max()
    if big.any():
        el = np.abs(fast_sub - c64)[big] / np.abs(c64)[big]
        print(f"| fast vs float64, elementwise, entries >= 1% of the largest | {el.max():.1e} |")
    print(f"zero columns give exactly 0: {same_zero}")

    # 3. speed
    forwards = k_ind * (len(cols) + 2)  # initial eval + the rest-group + each column
    per_forward = captum_s / forwards
    per_ind = per_forward * (n_cols + 1)
    captum_full = per_ind * n

    def best_of(k: int, **kw) -> float:  # shared machines: the fastest of k runs
        times = []
        for _ in range(k):
            t0 = time.perf_counter()
            ablate(gq, p, x, t, mask=mask, device="cpu", **kw)
            times.append(time.perf_counter() - t0)
        return min(times)

    fast_s = best_of(args.repeat)
    fast_pt = best_of(args.repeat, per_trait=True)
    print(
        f"\n## 3. Speed, {n} individuals x {n_cols:,} columns (CPU, float32; fast: best of "
        f"{args.repeat})"
    )
    print("| method | seconds | vs Captum |")
    print("| --- | --- | --- |")
    print(
        f"| Captum FeatureAblation, default (extrapolated from {forwards} forward passes: "
        f"{per_forward * 1e3:.1f} ms each, {per_ind:.0f} s per individual) "
        f"| {captum_full:,.0f} | 1x |"
    )
    print(f"| fast ablation, matrix | {fast_s:.1f} | {captum_full / fast_s:,.0f}x faster |")
    print(
        f"| fast ablation, matrix + per-trait shift | {fast_pt:.1f} "
        f"| {captum_full / fast_pt:,.0f}x faster |"
    )
    t0 = time.perf_counter()
    ablate(q, p, t, t, mask=mask, device="cpu")
    print(f"| phenotype tier (Q then P), fast | {time.perf_counter() - t0:.2f} | |")
    print(
        f"(the reference also ablated the {t.shape[1]} phenotype inputs: +{t.shape[1]} passes "
        "per individual, not counted)"
    )
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
