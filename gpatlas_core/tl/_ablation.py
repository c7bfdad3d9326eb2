"""Variable importance by feature ablation (docs/method.md section 4): public API and results.

- :func:`ablation_matrix`: the per-individual signed matrix, Captum ``FeatureAblation``'s
  numbers (baseline 0, one column at a time, forward = the individual's reconstruction MSE,
  attribution = original minus ablated), computed by the batched kernel in
  ``_ablation_kernel.py``.
- :func:`prediction_shift`: the paper's per-trait formula.
- :func:`compute_importance`: both tiers of a trained :class:`~gpatlas_core.run.Run` on its
  test individuals, with allele and locus tables and bootstrap intervals, as an
  :class:`ImportanceResult` that saves to and loads from a run folder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import torch
from torch import nn

from .._device import resolve_device
from ..config import Tier
from ..io import DataError, Dataset
from ._ablation_kernel import AblationCancelled, AblationOutput, ablate

Individuals = Literal["test", "all"]
INDIVIDUALS: tuple[str, ...] = ("test", "all")
Target = Literal["observed", "prediction"]
TARGETS: tuple[str, ...] = ("observed", "prediction")
DEFAULT_INPUT: dict[str, str] = {"individuals": "test", "target": "observed"}
"""What an importance result was computed on when its parameters do not say (older results)."""

if TYPE_CHECKING:
    from ..run import Run

__all__ = [
    "PER_TRAIT_PREFIX",
    "AblationCancelled",
    "AblationOutput",
    "ImportanceInputs",
    "ImportanceResult",
    "ablate",
    "ablation_matrix",
    "allele_importance",
    "bootstrap_locus_importance",
    "compute_importance",
    "importance_inputs",
    "importance_result",
    "locus_max",
    "prediction_shift",
]

PER_TRAIT_PREFIX = "trait:"
"""Per-trait columns of the allele and locus tables are named ``trait:<trait name>``."""

ALLELES_FILE = "importance_alleles.csv"
LOCI_FILE = "importance_loci.csv"
MATRIX_FILE = "importance_matrix.npy"
PARAMS_FILE = "importance_params.json"


def ablation_matrix(
    encoder: nn.Module,
    decoder: nn.Module,
    x: torch.Tensor | np.ndarray,
    t: torch.Tensor | np.ndarray,
    *,
    mask: torch.Tensor | np.ndarray | None = None,
    device: str | torch.device = "auto",
    chunk_size: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Per-individual signed importance, Captum ``FeatureAblation``'s numbers, fast.

    ``attr[k, c] = MSE(P(E(x_k)), t_k) - MSE(P(E(x_k with column c = 0)), t_k)``; columns
    that are already 0 get exactly 0. See :func:`ablate` for the parameters.

    Returns
    -------
    numpy.ndarray
        (n, p) float32.
    """
    return ablate(
        encoder,
        decoder,
        x,
        t,
        mask=mask,
        device=device,
        chunk_size=chunk_size,
        on_progress=on_progress,
        should_stop=should_stop,
    ).matrix


def prediction_shift(
    encoder: nn.Module,
    decoder: nn.Module,
    x: torch.Tensor | np.ndarray,
    *,
    device: str | torch.device = "auto",
    chunk_size: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """The paper's per-trait importance: ``V[c, i] = mean_k (y_k,i - y_k,i(c ablated))^2``.

    The mean runs over all n individuals (an individual whose column c is 0 contributes 0).

    Returns
    -------
    numpy.ndarray
        (p, m) float64, columns x traits.
    """
    return ablate(
        encoder,
        decoder,
        x,
        matrix=False,
        per_trait=True,
        device=device,
        chunk_size=chunk_size,
        on_progress=on_progress,
        should_stop=should_stop,
    ).shift


def allele_importance(matrix: np.ndarray) -> np.ndarray:
    """Mean over individuals of the squared signed importance, per column (float64)."""
    m = np.asarray(matrix, dtype=np.float64)
    return (m * m).mean(axis=0) if m.shape[0] else np.zeros(m.shape[1])


def locus_max(values: np.ndarray, locus: np.ndarray) -> np.ndarray:
    """Maximum over each locus's columns, along the last axis.

    ``locus`` gives each column's locus index (0..l-1, non-decreasing, as in
    ``Dataset.allele_columns``).
    """
    locus = np.asarray(locus)
    starts = np.flatnonzero(np.r_[True, locus[1:] != locus[:-1]])
    return np.maximum.reduceat(np.asarray(values), starts, axis=-1)


def bootstrap_locus_importance(
    matrix: np.ndarray,
    locus: np.ndarray,
    *,
    n_bootstrap: int = 200,
    rng: np.random.Generator,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of each locus's importance, resampling individuals.

    Each replicate draws n individuals with replacement, recomputes the allele importance
    (mean of squares) and takes each locus's maximum; the interval is the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles over replicates.

    Returns
    -------
    (low, high)
        Two float64 arrays, one value per locus.
    """
    sq = np.square(np.asarray(matrix, dtype=np.float64))
    n = sq.shape[0]
    n_loci = len(np.unique(locus)) if len(locus) else 0
    if n_bootstrap <= 0 or n == 0:
        nan = np.full(n_loci, np.nan)
        return nan, nan.copy()
    # Chunks of replicates keep (replicates x columns) near 64 MB.
    step = max(1, (64 << 20) // max(1, 8 * sq.shape[1]))
    reps = []
    for start in range(0, n_bootstrap, step):
        b = min(step, n_bootstrap - start)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(np.float64)
        reps.append(locus_max(counts @ sq / n, locus))
    loc = np.concatenate(reps, axis=0)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    low, high = np.percentile(loc, q, axis=0)
    return low, high


@dataclass
class ImportanceResult:
    """Importance of one tier of a run, on its test individuals: exact ablation, or a gradient
    attribution on the same per-individual loss (``_attributions.py``).

    Attributes
    ----------
    matrix
        (n_test, p) float32, signed per-individual importance (rows: ``params["samples"]``;
        columns: the allele columns, or the traits for the phenotype tier). VIDA's input.
    alleles
        One row per input column: ``marker, allele, importance`` (mean over individuals of
        the squared signed importance), plus ``trait:<name>`` per-trait prediction-shift
        columns when computed per trait. For the phenotype tier ``marker`` is the input
        trait and ``allele`` is empty.
    loci
        One row per locus: ``marker, chromosome, position, importance`` (max over the
        locus's alleles), ``ci_low, ci_high`` (bootstrap interval over individuals), plus
        per-trait columns (max over alleles).
    params
        How it was made: tier, seed, sample ids, bootstrap, mask, dataset, timing, ...
    """

    matrix: np.ndarray
    alleles: pd.DataFrame
    loci: pd.DataFrame
    params: dict = field(default_factory=dict)

    @property
    def tier(self) -> str:
        return str(self.params.get("tier", "genotype"))

    @property
    def individuals(self) -> str:
        """Whose importance: ``test`` (the run's test individuals) or ``all``."""
        return str(self.params.get("individuals", DEFAULT_INPUT["individuals"]))

    @property
    def target(self) -> str:
        """What the loss compared with: ``observed`` phenotypes or the model's ``prediction``."""
        return str(self.params.get("target", DEFAULT_INPUT["target"]))

    @property
    def method(self) -> str:
        """The importance method that made it: ``ablation`` or a gradient attribution
        (``integrated-gradients``, ``deeplift``, ``gradient-shap``)."""
        return str(self.params.get("attribution", "ablation"))

    @property
    def traits(self) -> list[str]:
        """Traits with per-trait columns (empty unless computed with ``per_trait=True``)."""
        return [
            c[len(PER_TRAIT_PREFIX) :] for c in self.loci.columns if c.startswith(PER_TRAIT_PREFIX)
        ]

    def per_trait(self, level: Literal["alleles", "loci"] = "loci") -> pd.DataFrame:
        """Per-trait importance as a (rows x traits) table indexed by marker (and allele)."""
        df = self.loci if level == "loci" else self.alleles
        cols = [c for c in df.columns if c.startswith(PER_TRAIT_PREFIX)]
        if not cols:
            raise ValueError("no per-trait importance: compute it with per_trait=True")
        keys = ["marker"] if level == "loci" else ["marker", "allele"]
        out = df.set_index(keys)[cols]
        out.columns = [c[len(PER_TRAIT_PREFIX) :] for c in cols]
        return out

    def save(self, path: str | Path) -> Path:
        """Write ``importance_alleles.csv``, ``importance_loci.csv``, ``importance_matrix.npy``
        and ``importance_params.json`` into ``path`` (created if needed)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.alleles.to_csv(path / ALLELES_FILE, index=False)
        self.loci.to_csv(path / LOCI_FILE, index=False)
        np.save(path / MATRIX_FILE, np.ascontiguousarray(self.matrix, dtype=np.float32))
        (path / PARAMS_FILE).write_text(json.dumps(self.params, indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> ImportanceResult:
        """Read what :meth:`save` wrote (CSV, JSON and ``np.load(allow_pickle=False)``)."""
        path = Path(path)
        text = {"marker": str, "allele": str, "chromosome": str}
        try:
            alleles = pd.read_csv(path / ALLELES_FILE, dtype=text, keep_default_na=False)
            loci = pd.read_csv(path / LOCI_FILE, dtype=text, keep_default_na=False)
            matrix = np.load(path / MATRIX_FILE, allow_pickle=False)
            params = {}
            if (path / PARAMS_FILE).exists():
                params = json.loads((path / PARAMS_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise DataError(
                f"{path}: no importance results (missing {Path(err.filename).name})"
            ) from err
        except ValueError as err:
            raise DataError(f"{path}: unreadable importance results ({err})") from err
        # keep_default_na=False keeps allele "NA" as text; numbers need converting back
        for df in (alleles, loci):
            for col in df.columns:
                if col not in text:
                    df[col] = pd.to_numeric(df[col].replace("", np.nan), errors="coerce")
        loci["position"] = loci["position"].fillna(-1).astype(np.int64)
        if matrix.shape != (matrix.shape[0], len(alleles)):
            raise DataError(
                f"{path / MATRIX_FILE}: {matrix.shape[1]} columns, but "
                f"{ALLELES_FILE} has {len(alleles)} rows"
            )
        return cls(
            matrix=matrix.astype(np.float32, copy=False), alleles=alleles, loci=loci, params=params
        )


def _resolve_seed(rng: np.random.Generator | int | None) -> int:
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**32))
    if rng is None:
        return int(np.random.SeedSequence().entropy % 2**32)
    return int(rng)


def compute_importance(
    run: Run,
    dataset: Dataset,
    *,
    tier: Tier = "genotype",
    per_trait: bool = False,
    individuals: Individuals = "test",
    target: Target = "observed",
    n_bootstrap: int = 200,
    level: float = 0.95,
    rng: np.random.Generator | int | None = None,
    device: str | torch.device = "auto",
    chunk_size: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ImportanceResult:
    """Ablation importance of a trained run on its test individuals (or all of them).

    Parameters
    ----------
    run
        A trained (or stopped) :class:`~gpatlas_core.run.Run`.
    dataset
        The data it was trained on (same traits and allele columns).
    tier
        ``"genotype"``: ablate one-hot genotype columns through GQ then P;
        ``"phenotype"``: ablate phenotype inputs through Q then P.
    per_trait
        Also compute the paper's per-trait prediction shift (``trait:<name>`` columns).
    individuals
        ``"test"`` (default, the reference): the run's held-out test individuals; ``"all"``:
        every individual of the run's split. VIDA's statistics are per individual, so more
        individuals give it more power (bench/RESULTS.md, "VIDA with the default model").
    target
        What the per-individual loss compares the prediction with: ``"observed"`` (default,
        the reference) the individual's phenotypes; ``"prediction"`` the model's own
        prediction for it, so each entry is minus the mean squared shift of its predicted
        traits when the column is removed (the noise of the observed phenotypes drops out).
    n_bootstrap, level
        Bootstrap replicates over test individuals for the locus intervals (0 = none).
    rng
        ``numpy.random.Generator`` or int seed for the bootstrap; the seed used is recorded
        in ``params["seed"]`` (None draws a fresh one).
    device, chunk_size, on_progress, should_stop
        As in :func:`ablate`; ``on_progress(done, total)`` counts individuals.

    Returns
    -------
    ImportanceResult

    Notes
    -----
    The loss is taken on the model's scale. When the run masks missing phenotypes, each
    individual's MSE runs over its observed traits; otherwise it is the plain MSE over the
    filled-in targets, as the reference computed it.
    """
    seed = _resolve_seed(rng)
    inp = importance_inputs(run, dataset, tier=tier, individuals=individuals, target=target)
    dev = resolve_device(device)
    t0 = time.perf_counter()
    out = ablate(
        inp.encoder,
        run.p,
        inp.x,
        inp.t,
        mask=inp.mask,
        per_trait=per_trait,
        device=dev,
        chunk_size=chunk_size,
        on_progress=on_progress,
        should_stop=should_stop,
    )
    seconds = time.perf_counter() - t0
    return importance_result(
        out.matrix,
        run,
        dataset,
        inp,
        shift=out.shift,
        n_bootstrap=n_bootstrap,
        level=level,
        seed=seed,
        params={
            "attribution": "ablation",
            "method": "feature ablation, baseline 0, one column at a time (Captum FeatureAblation)",
            "device": str(dev),
            "seconds": round(seconds, 3),
        },
    )


@dataclass
class ImportanceInputs:
    """What an importance method of one tier sees: the run's test individuals (or, with
    ``individuals="all"``, every individual of its split).

    ``rows``: their dataset rows; ``x``: inputs (one-hot genotypes, or the phenotypes for the
    phenotype tier); ``t``: targets on the model's scale; ``mask``: observed phenotypes, or None
    when the run does not mask missing ones (plain MSE, the reference); ``encoder``: GQ or Q.
    """

    tier: str
    rows: np.ndarray
    x: torch.Tensor
    t: torch.Tensor
    mask: torch.Tensor | None
    encoder: nn.Module
    individuals: str = "test"
    target: str = "observed"


def importance_rows(run: Run, dataset: Dataset, individuals: Individuals = "test") -> np.ndarray:
    """The dataset rows an importance method scores: the run's test individuals (held out,
    the reference's choice) or ``"all"`` the individuals of its split (training, validation
    and test: five times more rows for VIDA's per-individual statistics)."""
    if individuals not in INDIVIDUALS:
        raise ValueError(f"individuals must be one of {INDIVIDUALS}, not {individuals!r}")
    rows = run.test_rows(dataset) if individuals == "test" else run.split_rows(dataset)
    if len(rows) == 0:
        raise DataError(
            f"dataset {dataset.name!r} has none of this run's "
            f"{'test ' if individuals == 'test' else ''}individuals; "
            "use the data the run was trained on"
        )
    return rows


def importance_inputs(
    run: Run,
    dataset: Dataset,
    *,
    tier: Tier = "genotype",
    individuals: Individuals = "test",
    target: Target = "observed",
) -> ImportanceInputs:
    """The inputs, targets and mask of ``run``'s test (or all) individuals for ``tier`` (any
    method); see :func:`importance_rows`. ``target="prediction"`` replaces the observed
    phenotypes by the tier's own prediction P(encoder(x)) (then every trait counts: no mask)."""
    if tier not in ("genotype", "phenotype"):
        raise ValueError(f"tier must be 'genotype' or 'phenotype', not {tier!r}")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
    rows = importance_rows(run, dataset, individuals)
    if tier == "genotype":
        inputs, t, mask = run.model_inputs(dataset, rows)
    else:  # the phenotype tier needs no one-hot genotypes
        t, mask = run.phenotype_inputs(dataset, rows)
        inputs = t
    masked = bool(run.config.train.mask_missing)
    encoder = run.gq if tier == "genotype" else run.q
    if target == "prediction":
        own = run.predict_from_genotypes if tier == "genotype" else run.predict_from_phenotypes
        t = torch.from_numpy(run.scale(own(inputs)))
        masked = False
    return ImportanceInputs(
        tier,
        rows,
        inputs,
        t,
        mask if masked else None,
        encoder,
        individuals=individuals,
        target=target,
    )


def importance_result(
    matrix: np.ndarray,
    run: Run,
    dataset: Dataset,
    inputs: ImportanceInputs,
    *,
    shift: np.ndarray | None = None,
    n_bootstrap: int = 200,
    level: float = 0.95,
    seed: int = 0,
    params: dict | None = None,
) -> ImportanceResult:
    """An :class:`ImportanceResult` from a per-individual matrix, whatever method made it.

    The one place that turns (test individuals x columns) scores into the allele table (mean
    of squares), the locus table (max over alleles, bootstrap interval seeded with ``seed``),
    the optional per-trait ``shift`` (columns x traits) columns and the shared parameters;
    ``params`` (method, timing, ...) are added to them.
    """
    tier = inputs.tier
    if tier == "genotype":
        cols = dataset.allele_columns
        locus = cols["locus"].to_numpy()
        markers = dataset.markers
        alleles = pd.DataFrame(
            {"marker": cols["marker"].astype(str), "allele": cols["allele"].astype(str)}
        )
        loci = pd.DataFrame(
            {
                "marker": markers["marker"].astype(str).to_numpy(),
                "chromosome": markers["chromosome"].astype(str).to_numpy(),
                "position": markers["position"].to_numpy(dtype=np.int64),
            }
        )
    else:
        names = [str(s) for s in run.traits]
        locus = np.arange(len(names))
        alleles = pd.DataFrame({"marker": names, "allele": [""] * len(names)})
        loci = pd.DataFrame({"marker": names, "chromosome": [""] * len(names), "position": -1})
    imp = allele_importance(matrix)
    alleles["importance"] = imp
    loci["importance"] = locus_max(imp, locus)
    gen = np.random.default_rng(seed)
    low, high = bootstrap_locus_importance(
        matrix, locus, n_bootstrap=n_bootstrap, rng=gen, level=level
    )
    loci["ci_low"] = low
    loci["ci_high"] = high
    if shift is not None:  # (p, m)
        by_locus = locus_max(shift.T, locus).T  # (l, m)
        names = [f"{PER_TRAIT_PREFIX}{tr}" for tr in run.traits]
        alleles = pd.concat([alleles, pd.DataFrame(shift, columns=names)], axis=1)
        loci = pd.concat([loci, pd.DataFrame(by_locus, columns=names)], axis=1)

    masked = inputs.mask is not None
    samples = np.asarray(dataset.samples).astype(str)[inputs.rows]
    extra = dict(params or {})
    head = {k: extra.pop(k) for k in ("attribution", "method") if k in extra}
    out_params = {
        **head,
        "tier": tier,
        "per_trait": shift is not None,
        "loss": (
            "MSE against the model's own prediction"
            if inputs.target == "prediction"
            else "MSE over observed traits"
            if masked
            else "MSE over all traits"
        ),
        "scale": "model" if run.scaler is None else "model (standardised traits)",
        "n_individuals": len(inputs.rows),
        "individuals": inputs.individuals,
        "target": inputs.target,
        "n_columns": int(matrix.shape[1]),
        "n_bootstrap": int(n_bootstrap),
        "ci_level": float(level),
        "seed": int(seed),
        **extra,
        "dataset": {"name": dataset.name, "fingerprint": dataset.fingerprint},
        "run": {
            "status": run.status,
            "preset": run.config.preset,
            "dataset_fingerprint": run.dataset_fingerprint,
        },
        "traits": [str(s) for s in run.traits],
        "samples": samples.tolist(),
    }
    return ImportanceResult(matrix=matrix, alleles=alleles, loci=loci, params=out_params)
