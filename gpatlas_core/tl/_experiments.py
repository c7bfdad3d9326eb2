"""In-silico experiments on a trained run (docs/method.md section 9): allele swaps.

:func:`allele_swaps` sets chosen loci of chosen individuals to an allele (one swap, or a set of
swaps edited together), predicts every trait with G-P Atlas and with the run's ridge baseline,
and summarises the change from each individual's own prediction. Ridge is additive, so its
change depends only on the allele replaced, never on the rest of the genome; where G-P Atlas's
change varies with the background, the network has learned an interaction. Crosses (progeny
prediction) are in ``_crosses``; both share the helpers here.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ..io import MISSING_STATE, DataError, Dataset
from ._baselines import RidgeFit, fit_ridge

if TYPE_CHECKING:
    from ..run import Run

__all__ = [
    "ExperimentCancelled",
    "SwapResult",
    "allele_swaps",
    "check_swaps",
    "ridge_for_run",
    "select_individuals",
    "swaps_for_markers",
]

Individuals = Literal["test", "all"] | Sequence[str]
Progress = Callable[[int, int], None]
_BATCH_CELLS = 2**25


class ExperimentCancelled(Exception):
    """Raised inside an experiment when ``should_stop()`` returned True."""


# ------------------------------------------------------------------ shared helpers
def select_individuals(run: Run, dataset: Dataset, individuals: Individuals) -> np.ndarray:
    """Row indices of ``"test"`` (the run's test individuals), ``"all"`` or a list of ids."""
    if isinstance(individuals, str):
        if individuals == "test":
            rows = run.test_rows(dataset)
        elif individuals == "all":
            rows = np.arange(dataset.n_samples)
        else:
            raise DataError(
                f"individuals must be 'test', 'all' or a list of ids, not {individuals!r}"
            )
    else:
        ids = [str(s).strip() for s in individuals if str(s).strip()]
        index = pd.Index(np.asarray(dataset.samples).astype(str))
        pos = index.get_indexer(ids)
        unknown = [s for s, p in zip(ids, pos, strict=True) if p < 0]
        if unknown:
            more = f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""
            raise DataError(
                f"individual(s) not in the data set {dataset.name!r}: "
                f"{', '.join(unknown[:5])}{more}"
            )
        rows = np.unique(pos)
    if rows.size == 0:
        raise DataError("no individuals chosen (the run has no test individuals in this data?)")
    return rows


def ridge_for_run(run: Run, dataset: Dataset) -> RidgeFit:
    """The run's ridge baseline as coefficients: refitted on the run's training individuals,
    with the penalties its evaluation chose (``run.metrics``) where recorded, so it predicts
    what the run's ridge predicts; otherwise the penalties are searched as in the evaluation."""
    train = run.train_rows(dataset)
    if train.size < 3:
        raise DataError("the ridge baseline needs at least 3 training individuals")
    alpha = run.metrics.get("ridge", {}).get("params", {}).get("alpha") or None
    return fit_ridge(dataset, train, alpha=alpha)


def predict_both(
    run: Run, ridge: RidgeFit | None, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """G-P Atlas (float64 copy of its float32 output) and ridge predictions for one-hot ``x``."""
    gp = run.predict_from_genotypes(x).astype(np.float64)
    return gp, (ridge.predict(x) if ridge is not None else None)


def spread(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Sample standard deviation (ddof 1; NaN below 2 values), exactly 0 for identical values
    (computed on differences from the first value)."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    if n < 2:
        shape = list(values.shape)
        del shape[axis]
        return np.full(shape, np.nan)
    first = np.take(values, [0], axis=axis)
    return np.std(values - first, axis=axis, ddof=1)


def trait_mean(dataset: Dataset) -> np.ndarray:
    """Each trait's mean over its observed phenotypes (NaN when none)."""
    ph = dataset.phenotypes.astype(np.float64)
    n = np.isfinite(ph).sum(axis=0)
    return np.where(n > 0, np.nansum(ph, axis=0) / np.maximum(n, 1), np.nan)


def trait_sd(dataset: Dataset) -> np.ndarray:
    """Each trait's standard deviation over its observed phenotypes (NaN below 2)."""
    ph = dataset.phenotypes.astype(np.float64)
    n = np.isfinite(ph).sum(axis=0)
    out = np.full(ph.shape[1], np.nan)
    ok = n >= 2
    out[ok] = np.nanstd(ph[:, ok], axis=0, ddof=1)
    return out


def _check(should_stop: Callable[[], bool] | None) -> None:
    if should_stop is not None and should_stop():
        raise ExperimentCancelled


# ------------------------------------------------------------------ swap tables
def check_swaps(
    table: pd.DataFrame, allele_columns: pd.DataFrame, *, name: str = "swap table"
) -> pd.DataFrame:
    """Validate a swap table against a run's allele columns.

    Parameters
    ----------
    table
        Columns ``marker, allele`` and optionally ``set`` (rows sharing a set label are edited
        together, one multi-locus genotype; a blank label is a swap on its own); header names
        are matched case-insensitively.
    allele_columns
        The run's (or data set's) ``marker, allele, locus`` table.
    name
        What to call the table in messages (e.g. the file name).

    Returns
    -------
    pandas.DataFrame
        ``set, marker, allele, column, locus``: one row per swap, ``column`` the one-hot column
        switched on. Without a ``set`` column each swap is its own set, ``marker:allele``.
    """
    cols = {str(c).strip().lower(): c for c in table.columns}
    if {"column", "locus"} <= set(cols):  # already checked (this function's output)
        del cols["column"], cols["locus"]
    missing = [c for c in ("marker", "allele") if c not in cols]
    extra = [str(cols[c]) for c in cols if c not in ("marker", "allele", "set")]
    if missing or extra:
        raise DataError(
            f"{name}: expected the columns marker, allele and optionally set; "
            f"got {', '.join(map(str, table.columns)) or 'none'}"
        )
    if len(table) == 0:
        raise DataError(f"{name}: no swaps (the table has no rows)")
    markers = table[cols["marker"]].fillna("").astype(str).str.strip().to_numpy()
    alleles = table[cols["allele"]].fillna("").astype(str).str.strip().to_numpy()
    own = np.array([f"{m}:{a}" for m, a in zip(markers, alleles, strict=True)], dtype=object)
    sets = own
    if "set" in cols:  # a blank set cell: the swap on its own
        given = table[cols["set"]].fillna("").astype(str).str.strip().to_numpy(dtype=object)
        sets = np.where(given != "", given, own)
    ac = allele_columns.reset_index(drop=True)
    pairs = zip(ac["marker"].astype(str), ac["allele"].astype(str), strict=True)
    lookup = {pair: i for i, pair in enumerate(pairs)}
    states: dict[str, list[str]] = {}
    for m, a in zip(ac["marker"].astype(str), ac["allele"].astype(str), strict=True):
        states.setdefault(m, []).append(a)
    out_col, seen = [], set()
    for i, (s, m, a) in enumerate(zip(sets, markers, alleles, strict=True)):
        where = f"{name}, row {i + 2}"
        if not m or not a:
            raise DataError(f"{where}: empty marker or allele")
        if m not in states:
            near = difflib.get_close_matches(m, list(states), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise DataError(f"{where}: marker {m!r} is not one of the run's markers{hint}")
        if a == MISSING_STATE:
            raise DataError(f"{where}: {a!r} is the missing-call state, not an allele")
        if (m, a) not in lookup:
            shown = ", ".join(x for x in states[m] if x != MISSING_STATE)
            raise DataError(f"{where}: marker {m!r} has the alleles {shown}, not {a!r}")
        if (s, m) in seen:
            raise DataError(f"{where}: marker {m!r} appears twice in set {s!r}")
        seen.add((s, m))
        out_col.append(lookup[(m, a)])
    out_col = np.asarray(out_col, dtype=np.int64)
    return pd.DataFrame(
        {
            "set": pd.Series(sets, dtype=object),
            "marker": pd.Series(markers, dtype=object),
            "allele": pd.Series(alleles, dtype=object),
            "column": out_col,
            "locus": ac["locus"].to_numpy(dtype=np.int64)[out_col],
        }
    )


def swaps_for_markers(
    dataset: Dataset,
    markers: Sequence[str],
    *,
    alleles: Literal["each", "rarer"] = "each",
    one_set: bool = False,
) -> pd.DataFrame:
    """A swap table (``set, marker, allele``) for the given markers.

    ``alleles="each"``: one swap per allele state of each marker (the missing-call state left
    out); ``"rarer"``: the marker's least frequent state in the data set. ``one_set`` puts all
    swaps into one multi-locus edit (``"rarer"`` only, so that each marker appears once).
    """
    if one_set and alleles != "rarer":
        raise DataError("a multi-locus edit takes one allele per marker: choose the rarer allele")
    ac = dataset.allele_columns
    names = ac["marker"].astype(str).to_numpy()
    labels = ac["allele"].astype(str).to_numpy()
    counts = dataset.allele_counts() if alleles == "rarer" else None
    rows = []
    for m in dict.fromkeys(str(x) for x in markers):
        idx = np.flatnonzero((names == m) & (labels != MISSING_STATE))
        if idx.size == 0:
            raise DataError(f"marker {m!r} is not in the data set {dataset.name!r}")
        if counts is not None:
            idx = idx[[int(np.argmin(counts[idx]))]]
        rows += [(m, labels[c]) for c in idx]
    table = pd.DataFrame(rows, columns=["marker", "allele"], dtype=object)
    if one_set:
        table.insert(0, "set", "+".join(f"{m}:{a}" for m, a in rows))
    else:
        table.insert(0, "set", [f"{m}:{a}" for m, a in rows])
    return table


# ------------------------------------------------------------------ allele swaps
@dataclass
class SwapResult:
    """What each swap did to every trait.

    Attributes
    ----------
    summary
        One row per set and trait: ``set, marker, allele, trait, n_individuals, mean_change,
        sd_change, ridge_mean_change, ridge_sd_change, n_carriers, phenotype_sd``. Changes are
        predicted edited minus predicted own genotype, on the trait's original scale, over the
        ``n_individuals`` whose genotype the edit changes; the ``n_carriers`` who already
        carried it are left out. A set of several swaps lists its markers and alleles joined
        by ``;``. ``phenotype_sd`` is the trait's observed standard deviation (a scale).
    changes, ridge_changes
        (n_sets, n_individuals, n_traits) float32 per-individual changes (NaN for carriers).
    backgrounds
        (n_sets, n_individuals) the individual's own allele(s) at the edited markers.
    carriers
        (n_sets, n_individuals) bool, True where the individual already carried the edit.
    sets, samples, traits, params
        Row and column labels of the arrays; how the result was made.
    """

    summary: pd.DataFrame
    changes: np.ndarray
    ridge_changes: np.ndarray | None
    backgrounds: np.ndarray
    carriers: np.ndarray
    sets: list[str]
    samples: np.ndarray
    traits: list[str]
    params: dict = field(default_factory=dict)

    def per_individual(self, set_label: str | None = None) -> pd.DataFrame:
        """Long table ``set, sample, background, trait, change, ridge_change`` of the changed
        individuals (one set, or all)."""
        which = range(len(self.sets)) if set_label is None else [self.sets.index(set_label)]
        parts = []
        m = len(self.traits)
        for s in which:
            ok = np.flatnonzero(~self.carriers[s])
            n = ok.size
            ridge = (
                self.ridge_changes[s][ok].reshape(-1)
                if self.ridge_changes is not None
                else np.full(n * m, np.nan)
            )
            parts.append(
                pd.DataFrame(
                    {
                        "set": self.sets[s],
                        "sample": np.repeat(self.samples[ok], m),
                        "background": np.repeat(self.backgrounds[s][ok], m),
                        "trait": np.tile(np.asarray(self.traits, dtype=object), n),
                        "change": self.changes[s][ok].reshape(-1),
                        "ridge_change": ridge,
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)


def allele_swaps(
    run: Run,
    dataset: Dataset,
    swaps: pd.DataFrame,
    *,
    individuals: Individuals = "test",
    ridge: RidgeFit | None = None,
    with_ridge: bool = True,
    on_progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SwapResult:
    """Edit the genotypes of chosen individuals and predict every trait (the perturbation).

    Parameters
    ----------
    run, dataset
        The trained run and its data set.
    swaps
        A swap table (``marker, allele[, set]``, see :func:`check_swaps`).
    individuals
        ``"test"`` (the run's test individuals, default), ``"all"``, or a list of sample ids.
    ridge
        The run's ridge fit (:func:`ridge_for_run`); refitted when None and ``with_ridge``.
    with_ridge
        Also predict with the ridge baseline.
    on_progress, should_stop
        ``on_progress(done, total)`` after each set; ``should_stop()`` is checked before each
        set and raises :class:`ExperimentCancelled`.

    Returns
    -------
    SwapResult
    """
    t0 = time.perf_counter()
    run.check_dataset(dataset)
    table = check_swaps(swaps, run.allele_columns)
    rows = select_individuals(run, dataset, individuals)
    if with_ridge and ridge is None:
        _check(should_stop)
        ridge = ridge_for_run(run, dataset)
    if not with_ridge:
        ridge = None
    x = dataset.onehot(rows)
    own = dataset.allele_column_indices(rows)
    base_gp, _ = predict_both(run, None, x)
    labels = run.allele_columns["allele"].astype(str).to_numpy(dtype=object)
    groups = {label: part for label, part in table.groupby("set", sort=False)}
    sets = list(groups)
    n, m = rows.size, len(run.traits)
    changes = np.full((len(sets), n, m), np.nan, dtype=np.float32)
    ridge_changes = None if ridge is None else np.full_like(changes, np.nan)
    backgrounds = np.empty((len(sets), n), dtype=object)
    carriers = np.zeros((len(sets), n), dtype=bool)
    # edited genotypes of several sets go through the network together (a few hundred MB)
    budget = max(1, _BATCH_CELLS // max(x.shape[1], 1))
    pending: list[tuple[int, np.ndarray, np.ndarray]] = []

    def flush() -> None:
        gp, _ = predict_both(run, None, np.concatenate([xe for _, _, xe in pending]))
        at = 0
        for s, edit, _ in pending:
            changes[s, edit] = gp[at : at + edit.size] - base_gp[edit]
            at += edit.size
        pending.clear()
        if on_progress is not None:
            on_progress(s + 1, len(sets))

    for s, label in enumerate(sets):
        _check(should_stop)
        part = groups[label]
        loci, new = part["locus"].to_numpy(), part["column"].to_numpy()
        old = own[:, loci]  # (n, k) columns carried now
        backgrounds[s] = labels[old[:, 0]] if loci.size == 1 else [";".join(labels[c]) for c in old]
        carriers[s] = (old == new[None, :]).all(axis=1)
        edit = np.flatnonzero(~carriers[s])
        if edit.size:
            xe = x[edit].copy()
            xe[np.arange(edit.size)[:, None], old[edit]] = 0.0
            xe[:, new] = 1.0
            pending.append((s, edit, xe))
            if ridge is not None:
                # additive: the change is the coefficient of the new allele minus the old one's
                delta = ridge.coef[new].sum(axis=0)[None, :] - ridge.coef[old[edit]].sum(axis=1)
                ridge_changes[s, edit] = delta
        if sum(e.size for _, e, _ in pending) >= budget:
            flush()
        elif not pending and on_progress is not None:
            on_progress(s + 1, len(sets))
    if pending:
        flush()
    n_sets = len(sets)
    stats = {k: np.full((n_sets, m), np.nan) for k in ("mean", "sd", "r_mean", "r_sd")}
    for s in range(n_sets):
        edit = np.flatnonzero(~carriers[s])
        if edit.size == 0:
            continue
        c = changes[s, edit].astype(np.float64)
        stats["mean"][s], stats["sd"][s] = c.mean(axis=0), spread(c)
        if ridge is not None:
            r = ridge_changes[s, edit].astype(np.float64)
            stats["r_mean"][s], stats["r_sd"][s] = r.mean(axis=0), spread(r)
    summary = pd.DataFrame(
        {
            "set": np.repeat(np.asarray(sets, dtype=object), m),
            "marker": np.repeat([";".join(groups[k]["marker"]) for k in sets], m),
            "allele": np.repeat([";".join(groups[k]["allele"]) for k in sets], m),
            "trait": np.tile(np.asarray(run.traits, dtype=object), n_sets),
            "n_individuals": np.repeat((~carriers).sum(axis=1), m),
            "mean_change": stats["mean"].ravel(),
            "sd_change": stats["sd"].ravel(),
            "ridge_mean_change": stats["r_mean"].ravel(),
            "ridge_sd_change": stats["r_sd"].ravel(),
            "n_carriers": np.repeat(carriers.sum(axis=1), m),
            "phenotype_sd": np.tile(trait_sd(dataset), n_sets),
        }
    )
    return SwapResult(
        summary=summary,
        changes=changes,
        ridge_changes=ridge_changes,
        backgrounds=backgrounds,
        carriers=carriers,
        sets=sets,
        samples=np.asarray(dataset.samples).astype(str)[rows],
        traits=list(run.traits),
        params={
            "individuals": individuals if isinstance(individuals, str) else "list",
            "n_individuals": int(n),
            "n_sets": len(sets),
            "n_swaps": len(table),
            "ridge": ridge is not None,
            "seconds": time.perf_counter() - t0,
        },
    )
