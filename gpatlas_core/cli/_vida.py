"""``vida RUN``: score candidate alleles for gene-gene interactions from a run's importance matrix.

Reads ``RUN/importance_matrix.npy`` (written by ``importance``), writes ``RUN/vida.csv`` and,
when the dataset has simulation truth, ``RUN/vida_eval.json`` (and ``RUN/vida_grid.csv`` with
``--grid``). With ``--importance METHOD`` (a gradient attribution written by ``importance
--method METHOD``) it reads and writes in ``RUN/importance_<method>/`` instead.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import DataError, Dataset, spec_exists
from ..tl._attributions import METHODS as IMPORTANCE_METHODS
from ..tl._vida import vida
from ..tl._vida_candidates import (
    candidates_above_percentile,
    candidates_from_known_qtl,
    candidates_from_table,
    candidates_from_truth,
)
from ..tl._vida_clumpiness import METHODS
from ..tl._vida_eval import VIDA_EVAL_SEED, best_of_grid, vida_against_truth, vida_grid

MATRIX_FILE = "importance_matrix.npy"


def _load_matrix(run_dir: Path, method: str = "ablation") -> np.ndarray:
    from ._importance import importance_dir

    path = importance_dir(run_dir, method=method) / MATRIX_FILE
    if not path.is_file():
        how = "" if method == "ablation" else f" --method {method}"
        raise DataError(f"{path}: no importance matrix; run `importance {run_dir}{how}` first")
    try:
        m = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise DataError(f"{path}: not a readable numpy array ({err})") from None
    if m.ndim != 2 or not np.issubdtype(m.dtype, np.number):
        raise DataError(f"{path}: expected a 2-D numeric matrix, got {m.dtype} {m.shape}")
    return m


def _allele_columns(run_dir: Path) -> pd.DataFrame:
    path = run_dir / "allele_columns.csv"
    if not path.is_file():
        raise DataError(f"{run_dir}: not a run folder (missing allele_columns.csv)")
    return pd.read_csv(path, dtype={"marker": str, "allele": str}, keep_default_na=False)


def _load_dataset(
    run_dir: Path, explicit: list[str] | None, columns: pd.DataFrame
) -> Dataset | None:
    """The run's dataset: ``--dataset``, else the one recorded in the run (through the one
    resolver, with the run's missing-call policy); None when the run records none that is
    here (VIDA then runs on the matrix alone). Its allele columns must be the run's."""
    from ._importance import dataset_for_run

    try:
        meta = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    source = str(meta.get("dataset", {}).get("source", "") or "")
    policy = (meta.get("info") or {}).get("missing_policy")
    if not explicit and not (source and spec_exists(source)):
        return None
    ds = dataset_for_run(
        explicit or source, allele_columns=columns, missing_policy=policy, explicit=bool(explicit)
    )
    same = (
        len(ds.allele_columns) == len(columns)
        and (
            ds.allele_columns["marker"].astype(str).to_numpy()
            == columns["marker"].astype(str).to_numpy()
        ).all()
    )
    if not same:
        raise DataError(
            f"dataset {ds.name!r} has {len(ds.allele_columns):,} allele columns; this run "
            f"expects {len(columns):,} with the same markers in the same order"
        )
    return ds


def _candidates(args, ds: Dataset | None, matrix: np.ndarray, columns: pd.DataFrame):
    if args.candidates:
        path = Path(args.candidates)
        if not path.is_file():
            raise DataError(f"{path}: candidate file not found")
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (ValueError, UnicodeDecodeError) as err:
            raise DataError(f"{path}: not a CSV table ({err})") from None
        return candidates_from_table(columns, table), f"from {path.name}"
    if args.top_percent is not None:
        if not 0 < args.top_percent <= 100:
            raise DataError(f"--top-percent must be in (0, 100], got {args.top_percent}")
        idx = candidates_above_percentile(matrix, percentile=100 - args.top_percent)
        return idx, f"top {args.top_percent:g}% by importance"
    if ds is not None and ds.truth is not None:
        return candidates_from_truth(ds), "alleles of the causal loci (simulation truth)"
    if ds is not None and ds.known_qtl is not None and len(ds.known_qtl):
        return candidates_from_known_qtl(ds), "alleles of the known-QTL peak markers"
    return candidates_above_percentile(matrix, percentile=90.0), "top 10% by importance"


def _input_hint(out_dir: Path, method: str) -> str | None:
    """A line recommending VIDA's input (``tl.VIDA_INPUT``) when this importance is another."""
    from ..tl._vida import VIDA_INPUT, VIDA_INPUT_METHOD, is_vida_input

    try:
        params = json.loads((out_dir / "importance_params.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if is_vida_input(params):
        if method != VIDA_INPUT_METHOD:
            return (
                f"note: on this input --method {VIDA_INPUT_METHOD} scored best (bench/RESULTS.md)"
            )
        return None
    flags = " ".join(f"--{k} {v}" for k, v in VIDA_INPUT.items())
    return (
        f"note: VIDA separated interacting alleles best on `importance RUN {flags}` with "
        f"--method {VIDA_INPUT_METHOD} (ROC AUC 0.68-0.73 vs 0.50-0.61 on three paper-size "
        "simulations, bench/RESULTS.md)"
    )


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run)
    if not run_dir.is_dir():
        raise DataError(f"{run_dir}: run folder not found")
    from ._importance import importance_dir

    matrix = _load_matrix(run_dir, args.importance)
    out_dir = importance_dir(run_dir, method=args.importance)
    columns = _allele_columns(run_dir)
    if matrix.shape[1] != len(columns):
        raise DataError(
            f"{out_dir / MATRIX_FILE}: {matrix.shape[1]} columns, but the run has "
            f"{len(columns)} allele columns"
        )
    ds = _load_dataset(run_dir, args.dataset, columns)
    cand, how = _candidates(args, ds, matrix, columns)
    print(f"VIDA on {cand.size:,} candidate columns ({how}) x {matrix.shape[0]:,} individuals")
    hint = _input_hint(out_dir, args.method)
    if hint:
        print(hint)
    scores = vida(
        matrix,
        columns,
        candidates=cand,
        z_threshold=args.z_threshold,
        clumpiness_percentile=args.clumpiness_percentile,
        method=args.method,
    )
    scores.to_csv(out_dir / "vida.csv", index=False)
    n_ok = int((scores["status"] == "ok").sum())
    print(f"wrote {out_dir / 'vida.csv'}: {n_ok:,} of {len(scores):,} columns scored")
    if ds is None or ds.truth is None:
        if args.grid:
            raise DataError("--grid needs a dataset with simulation truth (to compute AUC)")
        return 0
    truth_report = vida_against_truth(
        matrix, columns, scores, ds.truth, rng=np.random.default_rng(args.seed)
    )
    ev = truth_report.evaluation
    report = {
        "params": {
            "z_threshold": args.z_threshold,
            "clumpiness_percentile": args.clumpiness_percentile,
            "method": args.method,
            "candidates": how,
            "n_candidates": int(cand.size),
            "seed": args.seed,
        },
        **truth_report.to_dict(),
    }
    if args.grid:
        grid = vida_grid(matrix, columns, candidates=cand, truth=ds.truth)
        grid.to_csv(out_dir / "vida_grid.csv", index=False)
        report["grid_best"] = best_of_grid(grid)
    (out_dir / "vida_eval.json").write_text(
        json.dumps(report, indent=1, allow_nan=False), encoding="utf-8"
    )
    top10, top20 = ev.enrichment_at(10), ev.enrichment_at(20)
    print(
        f"AUC {ev.auc:.3f} ({ev.n_interacting} interacting, {ev.n_non_interacting} not); "
        f"enrichment top 10% {top10.get('enrichment', float('nan')):.2f}x, "
        f"top 20% {top20.get('enrichment', float('nan')):.2f}x; wrote {out_dir / 'vida_eval.json'}"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "vida",
        help="screen candidate alleles for gene-gene interactions (VIDA)",
        description="Variable importance distribution analysis on RUN/importance_matrix.npy. "
        "Candidates: --candidates FILE (CSV with 'marker' and optional 'allele'), "
        "--top-percent F, or by default the causal loci (simulation truth), else the "
        "known-QTL peak markers, else the top 10% by importance.",
    )
    p.add_argument("run", metavar="RUN", help="run folder (with importance_matrix.npy)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--candidates", metavar="FILE", help="CSV: marker[, allele]")
    group.add_argument(
        "--top-percent", type=float, metavar="F", help="columns in the top F%% by importance"
    )
    p.add_argument("--z-threshold", type=float, default=2.0, metavar="F", help="default 2.0")
    p.add_argument(
        "--clumpiness-percentile", type=float, default=5.0, metavar="F", help="default 5"
    )
    p.add_argument("--method", choices=METHODS, default="concentration")
    p.add_argument(
        "--importance",
        choices=IMPORTANCE_METHODS,
        default="ablation",
        metavar="METHOD",
        help="whose per-individual matrix: ablation (default, RUN/importance_matrix.npy) or a "
        "gradient method written by `importance --method` (RUN/importance_<method>/, where the "
        "VIDA results then go too)",
    )
    p.add_argument("--grid", action="store_true", help="grid search (needs simulation truth)")
    p.add_argument(
        "--dataset",
        "--data",
        nargs="+",
        metavar="DATA",
        help="the run's data: 'yeast', a folder, or files; default: the one recorded in the run",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=VIDA_EVAL_SEED,
        metavar="N",
        help=f"bootstrap seed (default {VIDA_EVAL_SEED}, as on the app's VIDA page)",
    )
    p.set_defaults(func=run)
