"""``importance RUN``: importance of a trained run on its test individuals (``--individuals
all``: every individual of its split).

Writes ``importance_alleles.csv``, ``importance_loci.csv``, ``importance_matrix.npy`` and
``importance_params.json`` into RUN (the phenotype tier into ``RUN/phenotype_importance/``),
then prints the top loci and, where the data allow, the known-QTL or simulation-truth checks.
``--method`` picks exact ablation (the default) or a Captum gradient attribution of the same
loss; those go into ``RUN/importance_<method>/`` (see :func:`importance_dir`), with the
seconds taken and their Spearman agreement with ablation in ``importance_params.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ..io import MISSING_STATE, DataError, Dataset, resolve_dataset
from ..tl._attributions import METHODS

PHENOTYPE_DIR = "phenotype_importance"


def importance_dir(
    run_dir: str | Path, *, tier: str = "genotype", method: str = "ablation"
) -> Path:
    """Where ``importance`` writes (and ``vida`` reads) a result: ablation in RUN (phenotype
    tier: RUN/phenotype_importance/), a gradient method in ``importance_<method>/`` below."""
    base = Path(run_dir) if tier == "genotype" else Path(run_dir) / PHENOTYPE_DIR
    return base if method == "ablation" else base / f"importance_{method.replace('-', '_')}"


def _load_run(path: Path):
    from ..run import Run

    if not (path / "config.json").is_file():
        raise DataError(f"{path}: not a run folder (no config.json); train one with `train`")
    return Run.load(path)


def dataset_for_run(
    source: str | list[str],
    *,
    allele_columns,
    missing_policy: str | None = None,
    explicit: bool = False,
) -> Dataset:
    """The data set ``source`` names, read with the run's missing-call policy (older runs,
    which do not record it: the one whose allele columns match ``allele_columns``), through
    the one resolver (:func:`gpatlas_core.io.resolve_dataset`)."""
    if not source:
        raise DataError(
            "the run does not record its data set; pass it with --data ('yeast', a folder, or "
            "files)"
        )
    policy = missing_policy
    if policy not in ("own_state", "most_frequent"):
        has_na = (allele_columns["allele"].astype(str) == MISSING_STATE).any()
        policy = "own_state" if has_na else "most_frequent"
    try:
        ds = resolve_dataset(source, missing_policy=policy)
    except DataError as err:
        if explicit:
            raise
        raise DataError(
            f"cannot load the run's data set (recorded source: {source}): {err}; pass it with "
            "--data ('yeast', a folder, or files)"
        ) from None
    if len(ds.allele_columns) != len(allele_columns) and missing_policy is None:
        other = "most_frequent" if policy == "own_state" else "own_state"
        ds = resolve_dataset(source, missing_policy=other)
    return ds


def load_run_dataset(run, data: list[str] | None) -> Dataset:
    """``--data`` if given, else the data set recorded in the run (``dataset_source``: the
    shipped sample, a folder in any layout, or files), checked against the run."""
    ds = dataset_for_run(
        data or str(run.dataset_source or ""),
        allele_columns=run.allele_columns,
        missing_policy=run.info.get("missing_policy"),
        explicit=bool(data),
    )
    run.check_dataset(ds)
    return ds


class _Progress:
    def __init__(self, what: str = "ablation") -> None:
        self.what = what
        self.t0 = time.perf_counter()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total or now - self.last > 0.5:
            self.last = now
            end = "\n" if done == total else ""
            sys.stderr.write(
                f"\r{self.what}: {done}/{total} individuals, {now - self.t0:.1f} s{end}"
            )
            sys.stderr.flush()


def _report(res, ds: Dataset) -> list[str]:
    from ..tl._causal import causal_allele_roc
    from ..tl._recovery import (
        interval_roc,
        qtl_recovery,
        variance_explained_correlation,
    )

    loci = res.loci
    lines = [
        f"{res.method} of {res.params['n_individuals']} "
        f"{'test ' if res.individuals == 'test' else ''}individuals x "
        f"{res.params['n_columns']:,} columns: {res.params['seconds']:.1f} s "
        f"({res.params['device']})"
    ]
    top = loci.sort_values("importance", ascending=False).head(10)
    lines.append("top loci (importance, bootstrap interval):")
    for r in top.itertuples(index=False):
        where = f"chr {r.chromosome}:{r.position:,}" if r.chromosome else ""
        ci = f" [{r.ci_low:.3g}, {r.ci_high:.3g}]" if np.isfinite(r.ci_low) else ""
        lines.append(f"  {r.marker:<28} {where:<22} {r.importance:.4g}{ci}")
    if res.tier != "genotype":
        return lines
    if ds.known_qtl is not None and len(ds.known_qtl):
        qtl = ds.known_qtl
        for by, what in (("peak", "peak marker"), ("interval", "best marker in 1.5-LOD interval")):
            rec = qtl_recovery(loci, qtl, percentiles=[90], by=by)
            lines.append(
                f"known QTL above the 90th percentile ({what}): {rec['fraction'].iat[0]:.1%} "
                f"({rec['n_recovered'].iat[0]}/{rec['n_qtl'].iat[0]})"
            )
        try:
            auc = interval_roc(loci, qtl).auc
            lines.append(f"merged known-QTL intervals vs gaps: ROC AUC {auc:.3f}")
        except DataError as err:
            lines.append(f"merged known-QTL intervals vs gaps: {err}")
        if "variance_explained" in qtl.columns:
            for by in ("peak", "interval"):
                ve = variance_explained_correlation(loci, qtl, by=by)
                lines.append(
                    f"variance explained vs importance ({by}): Pearson r {ve['r']:.3f} "
                    f"(n {ve['n']})"
                )
    if ds.truth is not None:
        roc = causal_allele_roc(res.alleles, ds.truth)
        lines.append(
            f"causal vs non-causal alleles: ROC AUC {roc.auc:.3f}; at {roc.fpr_level:.0%} FPR "
            f"{roc.n_detected_alleles}/{roc.n_causal_alleles} causal alleles, "
            f"{roc.n_detected_loci}/{roc.n_causal_loci} causal loci"
        )
    return lines


def _reference(run_dir: Path, trained, ds: Dataset, args, res) -> tuple:
    """Exact ablation of the same run and tier to compare ``res`` with: the one saved in the
    run folder when it scored the same individuals and columns, else computed now (not saved)."""
    from ..tl._ablation import ImportanceResult, compute_importance

    where = importance_dir(run_dir, tier=args.tier)
    try:
        saved = ImportanceResult.load(where)
    except DataError:
        saved = None
    if (
        saved is not None
        and saved.method == "ablation"
        and saved.params.get("samples") == res.params["samples"]
        and saved.target == res.target
        and saved.matrix.shape == res.matrix.shape
    ):
        return saved, f"saved in {where}"
    ref = compute_importance(
        trained, ds, tier=args.tier, individuals=args.individuals, target=args.target,
        n_bootstrap=0, rng=args.seed, device=args.device,
        on_progress=None if args.quiet else _Progress(),
    )  # fmt: skip
    return ref, f"computed now ({ref.params['seconds']:.1f} s)"


def run(args: argparse.Namespace) -> int:
    from ..tl._ablation import compute_importance
    from ..tl._attributions import check_method, compute_attributions, spearman_agreement

    method = check_method(args.method)
    run_dir = Path(args.run)
    trained = _load_run(run_dir)
    ds = load_run_dataset(trained, args.data)
    if args.bootstrap < 0:
        raise DataError(f"--bootstrap must be 0 or more, got {args.bootstrap}")
    if method != "ablation" and args.per_trait:
        raise DataError(
            "--per-trait is the ablation's prediction shift; use it with --method ablation"
        )
    progress = None if args.quiet else _Progress(method)
    if method == "ablation":
        res = compute_importance(
            trained, ds, tier=args.tier, per_trait=args.per_trait,
            individuals=args.individuals, target=args.target, n_bootstrap=args.bootstrap,
            rng=args.seed, device=args.device, on_progress=progress,
        )  # fmt: skip
    else:
        res = compute_attributions(
            trained, ds, method=method, tier=args.tier, individuals=args.individuals,
            target=args.target, n_bootstrap=args.bootstrap, rng=args.seed, device=args.device,
            on_progress=progress,
        )  # fmt: skip
    agreement = None
    if method != "ablation" and not args.no_compare:
        ref, source = _reference(run_dir, trained, ds, args, res)
        rho = spearman_agreement(res, ref)
        res.params["spearman_vs_ablation"] = rho
        res.params["ablation_reference"] = source
        agreement = (
            f"{method}: {res.params['seconds']:.1f} s; Spearman correlation of allele importance "
            f"with exact ablation ({source}, {ref.params['seconds']:.1f} s): {rho:.3f}"
        )
    out = importance_dir(run_dir, tier=args.tier, method=method)
    res.save(out)
    if not args.quiet:
        print("\n".join(_report(res, ds)))
    if agreement is not None:
        print(agreement)
    if method == "ablation" and args.tier == "genotype" and res.matrix.shape[0] >= 3:
        from ..tl._significance import locus_significance

        sig = locus_significance(res, n_bootstrap=1000, rng=args.seed)
        sig.loci.to_csv(out / "importance_significance.csv", index=False)
        print(sig.describe() + f" Wrote importance_significance.csv to {out}")
    print(f"wrote importance_alleles.csv, importance_loci.csv, importance_matrix.npy to {out}")
    if args.tier == "genotype" and (trained.grouped or args.groups):
        _write_groups(trained, ds, out, args.groups)
    return 0


def _write_groups(trained, ds: Dataset, out: Path, spec: str | None) -> None:
    """Group ablation importance (``importance_groups.csv``) and, for a grouped encoder, the
    trait x group latent sensitivity (``latent_sensitivity.csv``)."""
    from ..io import resolve_groups
    from ..tl._groups import GROUPS_FILE, SENSITIVITY_FILE, group_importance, latent_sensitivity

    groups = resolve_groups(ds, spec) if spec else None
    table = group_importance(trained, ds, groups)
    table.to_csv(out / GROUPS_FILE, index=False)
    top = table.sort_values("importance", ascending=False).head(5)
    shown = [f"{g} ({v:.3g})" for g, v in zip(top["group"], top["importance"], strict=True)]
    print(f"top groups: {', '.join(shown)}")
    wrote = [GROUPS_FILE]
    if trained.grouped:
        latent_sensitivity(trained, ds).to_csv(out / SENSITIVITY_FILE)
        wrote.append(SENSITIVITY_FILE)
    print(f"wrote {', '.join(wrote)} to {out}")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "importance",
        help="importance of a trained run (alleles, loci, per-individual matrix)",
        description="Set each input column of each test individual to 0 and measure how the "
        "reconstruction error changes (Captum FeatureAblation's numbers, computed in batches). "
        "Writes importance_alleles.csv, importance_loci.csv (with bootstrap intervals) and "
        f"importance_matrix.npy into RUN (phenotype tier: RUN/{PHENOTYPE_DIR}/). --method picks a "
        "Captum gradient attribution of the same loss instead (integrated gradients, DeepLIFT, "
        "GradientSHAP), written to RUN/importance_<method>/ with its agreement with ablation.",
    )
    p.add_argument("run", metavar="RUN", help="run folder written by `train`")
    p.add_argument(
        "--method",
        choices=METHODS,
        default="ablation",
        help="exact feature ablation (default) or a Captum gradient attribution of the same "
        "per-individual loss, written to RUN/importance_<method>/",
    )
    p.add_argument(
        "--no-compare",
        action="store_true",
        help="gradient methods: skip the Spearman agreement with exact ablation (which is "
        "computed when the run folder has none)",
    )
    p.add_argument(
        "--tier",
        choices=("genotype", "phenotype"),
        default="genotype",
        help="genotype -> phenotype (GQ then P; default) or phenotype -> phenotype (Q then P)",
    )
    p.add_argument(
        "--per-trait",
        action="store_true",
        help="also compute per-trait importance (the paper's prediction-shift formula)",
    )
    p.add_argument(
        "--individuals",
        choices=("test", "all"),
        default="test",
        help="whose importance: the run's held-out test individuals (default, the reference) "
        "or all individuals of its split (training, validation and test): more power for "
        "`vida`, five times the work",
    )
    p.add_argument(
        "--target",
        choices=("observed", "prediction"),
        default="observed",
        help="what each individual's loss compares with: its observed phenotypes (default, the "
        "reference) or the model's own prediction (minus the squared prediction shift; with "
        "--individuals all and `vida --method adaptive`, VIDA's best recipe in bench/RESULTS.md)",
    )
    p.add_argument(
        "--bootstrap",
        type=int,
        default=200,
        metavar="N",
        help="bootstrap replicates over the scored individuals for locus intervals (default 200)",
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument(
        "--data",
        nargs="+",
        metavar="DATA",
        help="the run's data: 'yeast', a folder, or files (default: the run's record)",
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument(
        "--groups",
        metavar="SPEC",
        help="also importance_groups.csv for these marker groups (a marker,group CSV or "
        "windows:SIZE; grouped runs write it for their own groups without this)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress or summary")
    p.set_defaults(func=run)
