"""Is ``paper-simulated`` faithful? The published reference script (``../shared/reference/``,
unchanged, run as a subprocess) and our preset, trained on exactly the same individuals.

One simulation from our simulator (seed 0), one split (``make_split`` with seed 47, 20% test),
written as a dataset folder and converted with the reference's own ``to_reference_format.py``.
The reference is run ``--ref-runs`` times with the paper's simulated-data settings (it seeds
torch with 47 *after* building its networks and draws genotype noise from numpy's unseeded global
generator, so repeated runs differ: that is its run-to-run spread). Ours is trained with
``preset("paper-simulated")`` for each of ``--seeds`` on the same split. For every run: median
per-trait test R^2 of G->P and P->P (scikit-learn's ``r2_score`` per trait on the reference's
pickled predictions; our ``metrics.json`` for ours, the same formula) and wall seconds.

Diagnostic variants of ours (``--variants``), each on the first seed only, change one thing:
``recalibrated`` re-estimates BatchNorm statistics over the training set after each tier (the
reference's momentum 0.8 leaves them at roughly the last batch's).

With ``--data yeast`` the shipped yeast sample replaces the simulation and ``paper-yeast`` is
compared (the reference with the paper's yeast sizes: e/d hidden 64, ge_hidden 2048, 2 allele
states). The reference cannot take missing phenotypes (NaN enters its loss); as its authors did
for their yeast data, missing cells are set to 0 in its input files, and those cells are left
out of its R^2 (observed values are never exactly 0 there; the bench checks), as our metrics
leave them out.

    .venv/bin/python bench/bench_reference.py [--data sim|yeast] [--individuals 1200 --loci 1000]
        [--epochs 250 250] [--ref-runs 3] [--seeds 47 48 49] [--variants recalibrated]
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import r2_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gpatlas_core.config import preset  # noqa: E402
from gpatlas_core.io import load_yeast_sample, write_dataset_folder  # noqa: E402
from gpatlas_core.sim import SimulationConfig, simulate  # noqa: E402
from gpatlas_core.train import train  # noqa: E402
from gpatlas_core.train._new_run import make_split  # noqa: E402

REFERENCE = ROOT.parent / "shared" / "reference"


def _median_r2(real: np.ndarray, pred: np.ndarray, *, zero_is_missing: bool = False) -> float:
    """Median over traits of r2_score; ``real``/``pred`` are (traits, individuals). With
    ``zero_is_missing`` the cells whose real value is exactly 0 (missing, filled with 0 in the
    reference's input) are left out."""
    out = []
    for i in range(real.shape[0]):
        keep = real[i] != 0 if zero_is_missing else np.ones(real.shape[1], bool)
        out.append(r2_score(real[i][keep], pred[i][keep]))
    return float(np.median(out))


def run_reference(
    ref_dir: Path, n_loci: int, n_alleles: int, n_traits: int, epochs, *, extra=(), zero_missing
) -> dict:
    cmd = [
        sys.executable,
        str(REFERENCE / "g_p_atlas.py"),
        "--dataset_path",
        f"{ref_dir}/",
        "--n_epochs",
        str(epochs[0]),
        "--n_epochs_gen",
        str(epochs[1]),
        "--sd_noise",
        "0.8",
        "--gen_noise",
        "0.8",
        "--n_alleles",
        str(n_alleles),
        "--n_loci_measured",
        str(n_loci),
        "--n_phens_to_analyze",
        str(n_traits),
        "--n_phens_to_predict",
        str(n_traits),
        "--n_cpu",
        "0",
        *extra,
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ref_dir)
    secs = time.perf_counter() - t0
    out = {"seconds": secs}
    for key, name in (("gp", ""), ("pp", "_p")):
        # the reference's own output files of this run (a trusted local script, not an upload)
        with open(ref_dir / f"phens_phen_encodings_dng_attr{name}.pk", "rb") as f:
            real, pred = pickle.load(f)[:2]
        out[key] = _median_r2(np.asarray(real), np.asarray(pred), zero_is_missing=zero_missing)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", choices=["sim", "yeast"], default="sim")
    ap.add_argument("--individuals", type=int, default=1200)
    ap.add_argument("--loci", type=int, default=1000)
    ap.add_argument("--epochs", nargs=2, type=int, default=[250, 250])
    ap.add_argument("--ref-runs", type=int, default=3)
    ap.add_argument("--seeds", nargs="+", type=int, default=[47, 48, 49])
    ap.add_argument("--variants", nargs="*", default=["recalibrated"])
    ap.add_argument("--work", help="folder for the data and the reference's outputs (default tmp)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_reference_"))
    if args.data == "yeast":
        ds = load_yeast_sample()
        n_alleles = max(len(a) for a in ds.alleles)
        ours, extra = "paper-yeast", ["--e_hidden_dim", "64", "--d_hidden_dim", "64"]
        extra += ["--ge_hidden_dim", "2048"]
    else:
        sim = SimulationConfig(n_individuals=args.individuals, n_loci=args.loci)
        ds = simulate(sim, rng=np.random.default_rng(0))
        n_alleles, ours, extra = sim.n_alleles, "paper-simulated", []
    data_dir = write_dataset_folder(ds, work / "data")
    split = make_split(ds.samples, test_fraction=0.2, validation_fraction=0.0, seed=47)
    split_csv = work / "split.csv"
    split.to_csv(split_csv, index=False)
    print(
        f"{args.data}: {ds.n_samples} individuals x {ds.n_loci} loci "
        f"({ds.n_allele_columns} allele columns; {ds.n_loci * n_alleles} in the reference's "
        f"one-hot) x {ds.n_traits} traits; split {int((split['set'] == 'train').sum())} train / "
        f"{int((split['set'] == 'test').sum())} test; epochs {args.epochs}"
    )
    conv = work / "ref_data"
    conv.mkdir(exist_ok=True)
    subprocess.run(
        [sys.executable, str(REFERENCE / "to_reference_format.py"), str(data_dir), str(split_csv),
         str(conv)],
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    zero_missing = bool(np.isnan(ds.phenotypes).any())
    if zero_missing:
        observed = ds.phenotypes[np.isfinite(ds.phenotypes)]
        if (observed == 0).any():
            raise SystemExit("observed phenotypes equal to 0: missing cells cannot be told apart")
        for part in ("train.pk", "test.pk"):
            # our own converter's output, written a moment ago (never an upload)
            with open(conv / part, "rb") as f:
                d = pickle.load(f)
            missing = np.isnan(d["phenotypes"])
            d["phenotypes"] = np.where(missing, 0.0, d["phenotypes"]).astype(np.float32)
            with open(conv / part, "wb") as f:
                pickle.dump(d, f)
            print(
                f"{part}: {int(missing.sum())} missing phenotype cells set to 0 for the reference"
            )
    rows = []
    print("| model | run | G->P R^2 | P->P R^2 | s |\n| --- | --- | --- | --- | --- |")
    for i in range(args.ref_runs):
        ref_dir = work / f"ref_{i}"
        ref_dir.mkdir(exist_ok=True)
        for part in ("train.pk", "test.pk"):
            (ref_dir / part).write_bytes((conv / part).read_bytes())
        r = run_reference(
            ref_dir, ds.n_loci, n_alleles, ds.n_traits, args.epochs, extra=extra,
            zero_missing=zero_missing,
        )  # fmt: skip
        rows.append({"model": "reference", "run": i, **r})
        print(
            f"| reference | {i} | {r['gp']:.3f} | {r['pp']:.3f} | {r['seconds']:.0f} |", flush=True
        )
    e1, e2 = args.epochs
    jobs = [(ours, s, {}) for s in args.seeds]
    if "recalibrated" in args.variants:
        jobs.append((f"{ours}, recalibrated BN", args.seeds[0], {"recalibrate_bn": True}))
    for name, seed, over in jobs:
        cfg = preset(ours, device="cpu", seed=seed, epochs_phenotype=e1, epochs_genotype=e2)
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **over))
        t0 = time.perf_counter()
        run = train(ds, cfg, split=split, baselines=False)
        secs = time.perf_counter() - t0
        gp = run.metrics["genotype_to_phenotype"]["median"]["r2"]
        pp = run.metrics["phenotype_to_phenotype"]["median"]["r2"]
        rows.append({"model": name, "run": seed, "gp": gp, "pp": pp, "seconds": secs})
        print(f"| {name} | seed {seed} | {gp:.3f} | {pp:.3f} | {secs:.0f} |", flush=True)
    for name in ("reference", ours):
        part = [r for r in rows if r["model"] == name]
        if not part:  # e.g. --ref-runs 0
            continue
        for key in ("gp", "pp"):
            v = np.array([r[key] for r in part])
            sd = v.std(ddof=1) if len(v) > 1 else 0.0
            print(
                f"{name} {key}: mean {v.mean():.3f}, sd {sd:.3f}, range {v.min():.3f}-{v.max():.3f}"
            )


if __name__ == "__main__":
    main()
