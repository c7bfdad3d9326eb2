"""Data at scale (issue 13): load time and peak memory of the readers on large synthetic inputs,
an inflating table refused with a message, and tier-2 training at 10,000 x 50,000.

The inputs are made by this script (seeded) under ``--workdir``:

- ``plink/``: PLINK 1, 10,000 individuals x 50,000 diploid SNPs (1% missing calls), written
  with bed-reader's ``to_bed``, and a phenotype table of 5 traits (20 causal SNPs each);
- ``vcf/``: ``calls.vcf.gz``, 2,000 x 20,000 diploid calls (gzip; 1% ``./.``, some phased);
- ``bomb/``: ``genotypes.csv.gz`` of 40,000 rows x 50,000 one-letter calls, inflating to about
  4 GB (0.6 GB compressed), read under an 8 GiB address-space limit (``ulimit -v``).

Every load runs in its own process (the ``info`` command, as the issue measured it, and the
loader ``info`` calls on its own, timed inside the process); wall time and peak RSS come from
``os.wait4``. ``--code DIR`` runs the loads with another checkout's ``gpatlas_core`` (the
readers before this rewrite, for the comparison in ``bench/RESULTS.md``).

Training (``train`` on the PLINK set with the default preset, ``studio``: LASSO warm start,
then tier 2; no baselines; tier 1 shortened to ``--tier1-epochs``, since it trains on the
phenotypes only and costs the same at any marker count) runs in a process of its own too and
reports the seconds of each tier-2 epoch, of the warm start and of tier 1, and its peak RSS.

    .venv/bin/python -u bench/bench_data_scale.py [--steps make load train] [--train-loci N]
    .venv/bin/python -u bench/bench_data_scale.py --steps load --code /path/to/older/checkout
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 13
PLINK_N, PLINK_L = 10_000, 50_000
VCF_N, VCF_L = 2_000, 20_000
BOMB_ROWS, BOMB_L = 40_000, 50_000
N_TRAITS, CAUSAL = 5, 20
AS_CAP = 8 * 1024**3


# ------------------------------------------------------------------ inputs
def _phenotypes(path: Path, ids: list[str], dosage_cols, rng: np.random.Generator) -> None:
    """``N_TRAITS`` traits, each the sum of ``CAUSAL`` SNP effects plus noise (h^2 ~ 0.5)."""
    y = np.zeros((len(ids), N_TRAITS))
    for k in range(N_TRAITS):
        cols = rng.choice(dosage_cols.shape[1], CAUSAL, replace=False)
        g = np.nan_to_num(dosage_cols[:, cols].astype(np.float64))
        g = g @ rng.normal(size=CAUSAL)
        y[:, k] = g / (g.std() or 1.0) + rng.normal(size=len(ids))
    y[rng.random(y.shape) < 0.02] = np.nan
    lines = ["sample," + ",".join(f"trait{k}" for k in range(N_TRAITS))]
    for i, s in enumerate(ids):
        lines.append(s + "," + ",".join("NA" if np.isnan(v) else f"{v:.4f}" for v in y[i]))
    path.write_text("\n".join(lines) + "\n")


def make_plink(d: Path) -> None:
    from bed_reader import to_bed

    if (d / "data.bed").exists():
        return
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    t0 = time.perf_counter()
    freq = rng.uniform(0.05, 0.5, PLINK_L).astype(np.float32)
    val = np.empty((PLINK_N, PLINK_L), dtype=np.int8)
    for i in range(0, PLINK_N, 1000):  # allele counts ~ Binomial(2, freq), in row blocks
        u = rng.random((min(1000, PLINK_N - i), PLINK_L), dtype=np.float32)
        w = rng.random(u.shape, dtype=np.float32)
        val[i : i + 1000] = (u < freq).astype(np.int8) + (w < freq).astype(np.int8)
    ids = [f"ind{i}" for i in range(PLINK_N)]
    _phenotypes(d / "pheno.csv", ids, val[:, : PLINK_L // 2], rng)
    for i in range(0, PLINK_N, 1000):  # 1% missing calls (bed-reader's missing value)
        block = val[i : i + 1000]
        block[rng.random(block.shape, dtype=np.float32) < 0.01] = -127
    to_bed(
        d / "data.bed",
        val,
        properties={
            "iid": ids,
            "sid": [f"snp{j}" for j in range(PLINK_L)],
            "chromosome": [str(1 + j * 22 // PLINK_L) for j in range(PLINK_L)],
            "bp_position": [1000 + 100 * j for j in range(PLINK_L)],
        },
        count_A1=True,
    )
    print(f"  made plink/ ({PLINK_N:,} x {PLINK_L:,}) in {time.perf_counter() - t0:.0f} s")


def make_vcf(d: Path) -> None:
    if (d / "calls.vcf.gz").exists():
        return
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED + 1)
    t0 = time.perf_counter()
    ids = [f"S{i}" for i in range(VCF_N)]
    tokens = np.array([b"0/0", b"0/1", b"1/1", b"./.", b"0|1", b"1|0"], dtype=object)
    dosage = np.empty((VCF_N, VCF_L // 2), dtype=np.float32)
    with gzip.open(d / "calls.vcf.gz", "wb", compresslevel=4) as out:
        out.write(b"##fileformat=VCFv4.2\n##source=bench_data_scale\n")
        out.write(b'##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        out.write(b"##contig=<ID=1>\n##contig=<ID=2>\n")
        out.write(b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t")
        out.write("\t".join(ids).encode() + b"\n")
        for r in range(VCF_L):
            p = rng.uniform(0.05, 0.5)
            g = (rng.random(VCF_N) < p).astype(np.int8) + (rng.random(VCF_N) < p)
            code = g.astype(np.int64)
            het = code == 1
            phased = het & (rng.random(VCF_N) < 0.2)
            code[phased] = 4 + rng.integers(0, 2, int(phased.sum()))
            code[rng.random(VCF_N) < 0.01] = 3
            if r < VCF_L // 2:
                dosage[:, r] = g
            fixed = f"{1 + 2 * r // VCF_L}\t{100 + 10 * r}\trs{r}\tA\tG\t.\tPASS\t.\tGT\t"
            out.write(fixed.encode() + b"\t".join(tokens[code]) + b"\n")
    _phenotypes(d / "pheno.csv", ids, dosage, rng)
    print(f"  made vcf/ ({VCF_N:,} x {VCF_L:,}) in {time.perf_counter() - t0:.0f} s")


def make_bomb(d: Path) -> None:
    if (d / "genotypes.csv.gz").exists():
        return
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED + 2)
    t0 = time.perf_counter()
    # a 2,000-cell pattern repeated along each row: gzip level 1 keeps it to ~0.6 GB on disk
    cells = np.where(rng.random(2000) < 0.5, b"A", b"B").astype(object)
    rest = b"," + b",".join(cells.tolist() * (BOMB_L // 2000)) + b"\n"
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)
    total = 0
    with open(d / "genotypes.csv.gz", "wb") as out:
        head = b"sample," + b",".join(f"m{j}".encode() for j in range(BOMB_L)) + b"\n"
        out.write(comp.compress(head))
        total += len(head)
        for i0 in range(0, BOMB_ROWS, 100):
            block = b"".join(f"s{i}".encode() + rest for i in range(i0, i0 + 100))
            total += len(block)
            out.write(comp.compress(block))
        out.write(comp.flush())
    (d / "phenotypes.csv").write_text("sample,t\n" + "".join(f"s{i},1\n" for i in range(10)))
    size = (d / "genotypes.csv.gz").stat().st_size
    print(
        f"  made bomb/ ({total / 1e9:.2f} GB inflated, {size / 1e6:.1f} MB on disk) in "
        f"{time.perf_counter() - t0:.0f} s"
    )


# -------------------------------------------------------------- measuring
def run_child(
    argv: list[str], *, as_cap: int | None = None, timeout: float = 600, cwd: Path = ROOT
) -> dict:
    """Run ``argv`` in a child (``as_cap``: its address-space limit) and reap it with
    ``wait4``: wall seconds, its own peak RSS (GB), exit code, stdout and stderr."""

    def limit() -> None:
        if as_cap is not None:
            resource.setrlimit(resource.RLIMIT_AS, (as_cap, resource.RLIM_INFINITY))

    out_path = Path(f"/tmp/bench_data_scale_{os.getpid()}.out")
    err_path = Path(f"/tmp/bench_data_scale_{os.getpid()}.err")
    t0 = time.perf_counter()
    with open(out_path, "w") as fo, open(err_path, "w") as fe:
        env = {**os.environ, "PYTHONPATH": str(cwd)}
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=fo, stderr=fe, preexec_fn=limit)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    res = {
        "wall_s": wall,
        "peak_rss_gb": usage.ru_maxrss * 1024 / 1e9,
        "rc": proc.returncode,
        "stdout": out_path.read_text(),
        "stderr": err_path.read_text(),
    }
    out_path.unlink()
    err_path.unlink()
    return res


LOAD_ONLY = textwrap.dedent(
    """
    import json, resource, sys, time
    from gpatlas_core.cli._info import load_data  # the loader `info` uses, in any version
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    ds = load_data(sys.argv[1:])
    secs = time.perf_counter() - t0
    print(json.dumps({"load_s": secs, "rss_after_import_gb": base / 1e9,
                      "n": ds.n_samples, "markers": ds.n_loci,
                      "allele_columns": ds.n_allele_columns,
                      "codes_gb": ds.genotype_codes.nbytes / 1e9}))
    """
)


def bench_loads(work: Path, code: Path) -> list[dict]:
    """The loads, with the ``gpatlas_core`` of the checkout ``code`` (files named one by one,
    which readers before the resolver also took)."""
    py = sys.executable
    rows = []
    plink = [work / "plink" / f for f in ("data.bed", "data.bim", "data.fam", "pheno.csv")]
    vcf = [work / "vcf" / f for f in ("calls.vcf.gz", "pheno.csv")]
    for label, files, target in (
        (f"PLINK {PLINK_N:,} x {PLINK_L:,}", plink, (30, 2.0)),
        (f"VCF.gz {VCF_N:,} x {VCF_L:,}", vcf, (8, 0.6)),
    ):
        spec = [str(f) for f in files]
        info = run_child([py, "-m", "gpatlas_core", "info", *spec], cwd=code)
        load = run_child([py, "-c", LOAD_ONLY, *spec], cwd=code)
        if info["rc"] != 0 or load["rc"] != 0:
            raise SystemExit(f"{label}: {info['stderr'][-2000:]} {load['stderr'][-2000:]}")
        detail = json.loads(load["stdout"].strip().splitlines()[-1])
        row = {
            "input": label,
            "info_s": info["wall_s"],
            "info_peak_gb": info["peak_rss_gb"],
            "load_s": detail["load_s"],
            "load_peak_gb": load["peak_rss_gb"],
            "after_import_gb": detail["rss_after_import_gb"],
            "codes_gb": detail["codes_gb"],
            "target_s": target[0],
            "target_gb": target[1],
        }
        rows.append(row)
        print(
            f"  {label}: info {row['info_s']:.1f} s, peak {row['info_peak_gb']:.2f} GB; "
            f"load alone {row['load_s']:.1f} s, peak {row['load_peak_gb']:.2f} GB "
            f"(after imports {row['after_import_gb']:.2f} GB; codes {row['codes_gb']:.3f} GB); "
            f"target <= {target[0]} s, <= {target[1]} GB"
        )
    bomb = run_child(
        [py, "-m", "gpatlas_core", "info", str(work / "bomb")], as_cap=AS_CAP, timeout=600, cwd=code
    )
    lines = bomb["stderr"].strip().splitlines()
    msg = lines[-1] if lines else ""
    rows.append(
        {
            "input": "genotypes.csv.gz inflating to ~4 GB, ulimit -v 8 GiB",
            "info_s": bomb["wall_s"],
            "info_peak_gb": bomb["peak_rss_gb"],
            "rc": bomb["rc"],
            "message": msg,
            "traceback": "Traceback" in bomb["stderr"],
        }
    )
    print(
        f"  bomb: exit {bomb['rc']} after {bomb['wall_s']:.1f} s, peak {bomb['peak_rss_gb']:.2f} "
        f"GB, traceback: {'Traceback' in bomb['stderr']}\n    {msg}"
    )
    return rows


TRAIN = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    from gpatlas_core.config import preset
    from gpatlas_core.io import resolve_dataset
    from gpatlas_core.train import train
    import torch

    folder, n_loci, epochs, epochs1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    t0 = time.perf_counter()
    ds = resolve_dataset(folder)
    if n_loci < ds.n_loci:  # a smaller size: the first loci (the causal ones lie in the first half)
        import dataclasses
        ds = dataclasses.replace(ds, genotype_codes=np.ascontiguousarray(ds.genotype_codes[:, :n_loci]),
                                 alleles=ds.alleles[:n_loci],
                                 markers=ds.markers.iloc[:n_loci].reset_index(drop=True))
    load_s = time.perf_counter() - t0
    events = []
    def on_epoch(info):
        events.append((time.perf_counter(), info.tier, info.epoch, info.seconds))
    cfg = preset("studio", epochs_genotype=epochs, epochs_phenotype=epochs1, device="cpu")
    t1 = time.perf_counter()
    run = train(ds, cfg, on_epoch=on_epoch, baselines=False)
    total = time.perf_counter() - t1
    ph = [e for e in events if e[1] == "phenotype"]
    ge = [e for e in events if e[1] == "genotype"]
    tier1_end = ph[-1][0] if ph else t1
    first_ge = ge[0][0] - ge[0][3] if ge else None
    print(json.dumps({
        "n": ds.n_samples, "markers": ds.n_loci, "allele_columns": ds.n_allele_columns,
        "load_s": load_s, "train_s": total,
        "tier1_s": tier1_end - t1, "tier1_epochs": len(ph),
        "warm_start_and_setup_s": None if first_ge is None else first_ge - tier1_end,
        "tier2_epochs": [[e[2], e[3]] for e in ge],
        "selected": run.info.get("warm_start", {}).get("lasso_selected_markers"),
        "threads": torch.get_num_threads(),
    }))
    """
)


def bench_train(work: Path, n_loci: int, epochs: int, epochs1: int) -> dict:
    res = run_child(
        [sys.executable, "-c", TRAIN, str(work / "plink"), str(n_loci), str(epochs), str(epochs1)],
        timeout=1800,
    )
    if res["rc"] != 0:
        print(res["stderr"][-3000:])
        raise SystemExit(f"training failed (exit {res['rc']})")
    out = json.loads(res["stdout"].strip().splitlines()[-1])
    out["peak_rss_gb"] = res["peak_rss_gb"]
    out["wall_s"] = res["wall_s"]
    ep = [s for _e, s in out["tier2_epochs"] if _e > 0] or [s for _e, s in out["tier2_epochs"]]
    print(
        f"  train {out['n']:,} x {out['markers']:,} ({out['allele_columns']:,} inputs): tier 1 "
        f"{out['tier1_s']:.0f} s ({out['tier1_epochs']} epochs), warm start + set-up "
        f"{out['warm_start_and_setup_s']:.0f} s ({out['selected']} markers selected), tier-2 "
        f"epochs {[round(s, 1) for s in ep]} s, peak RSS {out['peak_rss_gb']:.2f} GB, "
        f"{out['threads']} threads"
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/gpatlas_bench_data_scale"))
    ap.add_argument("--steps", nargs="+", default=["make", "load", "train"])
    ap.add_argument("--train-loci", type=int, default=PLINK_L, help="markers used for training")
    ap.add_argument("--epochs", type=int, default=2, help="tier-2 epochs")
    ap.add_argument(
        "--tier1-epochs",
        type=int,
        default=5,
        help="tier-1 epochs (the preset's 100 cost the same at any marker count: phenotypes only)",
    )
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="the checkout whose gpatlas_core the loads use (e.g. an older one, to compare)",
    )
    args = ap.parse_args()
    work = args.workdir
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; python {platform.python_version()}"
    )
    results: dict = {}
    if "make" in args.steps:
        make_plink(work / "plink")
        make_vcf(work / "vcf")
        make_bomb(work / "bomb")
    if "load" in args.steps:
        results["loads"] = bench_loads(work, args.code.resolve())
    if "train" in args.steps:
        results["train"] = bench_train(work, args.train_loci, args.epochs, args.tier1_epochs)
    results["load_average_after"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
