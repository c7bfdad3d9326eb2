"""In-silico crosses (docs/method.md section 9): progeny genotypes by meiosis, every trait
predicted, and parent pairs ranked by the usefulness of their progeny.

:func:`cross` draws the offspring of two individuals of the data set along the marker map
(``_meiosis``): for haploid data (the yeast segregants) each offspring is one meiotic product
of the A x B diploid; for diploid data the default is an F2 (each offspring an F1 of A x B
selfed: two recombinant gametes of that F1), ``generation="F1"`` gives the direct progeny (one
gamete of each parent). G-P Atlas and the run's ridge baseline predict every offspring;
per trait the result gives the progeny mean, standard deviation and usefulness (the mean of
the best ``top_fraction`` of the progeny, the breeders' usefulness criterion) next to the
parents' own predictions. :func:`rank_parents` does this for every pair among the K
individuals predicted best for one trait or a selection index.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ..io import DataError, Dataset
from ._baselines import RidgeFit
from ._experiments import (
    Individuals,
    Progress,
    _check,
    predict_both,
    ridge_for_run,
    select_individuals,
    spread,
    trait_mean,
    trait_sd,
)
from ._meiosis import (
    DEFAULT_CM_PER_MB,
    GeneticMap,
    Genotypes,
    Ploidy,
    PloidySetting,
    crossover_origins,
    genetic_map,
    onehot_from_columns,
    ploidy_of,
)

if TYPE_CHECKING:
    from ..run import Run

__all__ = [
    "CrossConfig",
    "CrossResult",
    "ParentRanking",
    "check_index_weights",
    "cross",
    "rank_parents",
]

_CHUNK = 512


@dataclass
class CrossConfig:
    """How offspring are made.

    Attributes
    ----------
    n_offspring
        Offspring drawn per cross.
    cm_per_mb
        Recombination rate along every chromosome (cM per Mb; see ``DEFAULT_CM_PER_MB``).
    ploidy
        ``"auto"`` (from the data), 1 or 2 (see :func:`~gpatlas_core.tl.ploidy_of`).
    generation
        Diploid data only: ``"F2"`` (F1 selfed, the default) or ``"F1"`` (direct progeny).
    top_fraction
        Share of the best progeny averaged into the usefulness (0.1: the best 10%).
    """

    n_offspring: int = 200
    cm_per_mb: float = DEFAULT_CM_PER_MB
    ploidy: PloidySetting = "auto"
    generation: Literal["F2", "F1"] = "F2"
    top_fraction: float = 0.1

    def validate(self) -> None:
        """Raise :class:`DataError` for settings that cannot make a cross."""
        if int(self.n_offspring) != self.n_offspring or self.n_offspring < 1:
            raise DataError(f"offspring must be a positive number, got {self.n_offspring!r}")
        if not np.isfinite(self.cm_per_mb) or self.cm_per_mb < 0:
            raise DataError(f"cM per Mb must be 0 or more, got {self.cm_per_mb!r}")
        if self.generation not in ("F2", "F1"):
            raise DataError(f"generation must be F2 or F1, got {self.generation!r}")
        if not 0 < self.top_fraction <= 1:
            raise DataError(f"the top fraction must be in (0, 1], got {self.top_fraction!r}")


def _rng(rng: np.random.Generator | int) -> tuple[np.random.Generator, int | None]:
    if isinstance(rng, np.random.Generator):
        return rng, None
    return np.random.default_rng(int(rng)), int(rng)


def _row_of(dataset: Dataset, sample: str) -> int:
    index = pd.Index(np.asarray(dataset.samples).astype(str))
    pos = int(index.get_indexer([str(sample).strip()])[0])
    if pos < 0:
        raise DataError(f"individual {sample!r} is not in the data set {dataset.name!r}")
    return pos


def usefulness(values: np.ndarray, top_fraction: float) -> np.ndarray:
    """Mean of the best ``ceil(top_fraction * n)`` values per column (the largest)."""
    n = values.shape[0]
    k = max(1, int(np.ceil(top_fraction * n - 1e-9)))
    top = -np.partition(-values, k - 1, axis=0)[:k]
    return top.mean(axis=0)


class _Breeder:
    """Everything fixed for one data set and config: the map, the genotype coding, the models."""

    def __init__(self, run: Run, dataset: Dataset, config: CrossConfig, ridge: RidgeFit | None):
        config.validate()
        run.check_dataset(dataset)
        self.run, self.dataset, self.config, self.ridge = run, dataset, config, ridge
        self.ploidy: Ploidy = ploidy_of(dataset, config.ploidy)
        self.map: GeneticMap = genetic_map(dataset.markers, cm_per_mb=config.cm_per_mb)
        self.genotypes = Genotypes(dataset.allele_columns, self.ploidy)
        self.n_loci, self.n_columns = dataset.n_loci, dataset.n_allele_columns

    def columns(self, rows: np.ndarray) -> np.ndarray:
        return self.dataset.allele_column_indices(rows)

    def _gametes(self, h1: np.ndarray, h2: np.ndarray, n: int, rng) -> tuple[np.ndarray, int]:
        origins, crossovers = crossover_origins(self.map, self.n_loci, n, rng=rng)
        return np.where(origins, h1, h2), int(crossovers.sum())

    def offspring(self, ca: np.ndarray, cb: np.ndarray, n: int, rng) -> tuple[np.ndarray, dict]:
        """Offspring columns (n, n_loci) of parents with columns ``ca``, ``cb`` and what the
        meioses did (crossovers per gamete, genotypes the training data never had)."""
        if self.ploidy.ploidy == 1:
            cols, xo = self._gametes(ca, cb, n, rng)
            return cols, {"crossovers_per_gamete": xo / n, "unseen_genotypes": 0}
        g = self.genotypes
        a1, a2 = g.haplotypes(ca, rng)
        b1, b2 = g.haplotypes(cb, rng)
        from_a, xa = self._gametes(a1, a2, n, rng)
        from_b, xb = self._gametes(b1, b2, n, rng)
        meioses, xo = 2 * n, xa + xb
        if self.config.generation == "F2":  # each offspring: two gametes of its own F1
            first, x1 = self._gametes(from_a, from_b, n, rng)
            second, x2 = self._gametes(from_a, from_b, n, rng)
            from_a, from_b = first, second
            meioses, xo = meioses + 2 * n, xo + x1 + x2
        cols = g.columns_of(from_a, from_b)
        unseen = int((cols < 0).sum())
        return cols, {"crossovers_per_gamete": xo / meioses, "unseen_genotypes": unseen}

    def predict(self, cols: np.ndarray, should_stop=None) -> tuple[np.ndarray, np.ndarray | None]:
        """Both models on offspring columns; each distinct genotype is predicted once."""
        flat = np.ascontiguousarray(cols).view(np.dtype((np.void, cols.shape[1] * 4))).ravel()
        _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
        uniq = cols[first]
        self.n_distinct = int(uniq.shape[0])
        gp, rd = [], []
        for i in range(0, uniq.shape[0], _CHUNK):
            _check(should_stop)
            x = onehot_from_columns(uniq[i : i + _CHUNK], self.n_columns)
            g, r = predict_both(self.run, self.ridge, x)
            gp.append(g)
            rd.append(r)
        gp_all = np.concatenate(gp)[inverse]
        rd_all = np.concatenate(rd)[inverse] if self.ridge is not None else None
        return gp_all, rd_all

    def params(self) -> dict:
        c = self.config
        return {
            "n_offspring": int(c.n_offspring),
            "cm_per_mb": float(c.cm_per_mb),
            "map_length_cm": self.map.length_cm,
            "unlinked_markers": int(self.map.unlinked.size),
            "ploidy": self.ploidy.ploidy,
            "coding": self.ploidy.coding,
            "design": "haploid meiosis of A x B"
            if self.ploidy.ploidy == 1
            else ("F2 (A x B F1, selfed)" if c.generation == "F2" else "F1 (A x B)"),
            "top_fraction": float(c.top_fraction),
            "ridge": self.ridge is not None,
        }


@dataclass
class CrossResult:
    """The predicted progeny of one cross.

    Attributes
    ----------
    parents
        The two sample ids (A, B).
    summary
        One row per trait: ``sample_a, sample_b, trait, parent_a, parent_b, progeny_mean,
        progeny_sd, usefulness_10pct`` (G-P Atlas; the parents' columns are their own
        predictions), the same with ``ridge_`` in front, ``observed_a, observed_b`` (the
        parents' measured phenotypes, NaN where missing) and ``phenotype_mean, phenotype_sd``
        (the trait in the data set, a scale to read the rest against).
    progeny, ridge_progeny
        (n_offspring, n_traits) predictions.
    parent_predictions, ridge_parent_predictions
        (2, n_traits) the parents' own predictions.
    offspring
        (n_offspring, n_loci) one-hot column carried at each locus (-1: a genotype the
        training data never had, left empty in the model's input; see
        ``params["unseen_genotypes"]``).
    params
        Seed, rate, map length, ploidy, design, crossovers per gamete drawn, timing, ...
    """

    parents: tuple[str, str]
    summary: pd.DataFrame
    progeny: np.ndarray
    ridge_progeny: np.ndarray | None
    parent_predictions: np.ndarray
    ridge_parent_predictions: np.ndarray | None
    offspring: np.ndarray
    traits: list[str]
    params: dict = field(default_factory=dict)

    @property
    def offspring_ids(self) -> list[str]:
        n = self.offspring.shape[0]
        width = max(4, len(str(n)))
        a, b = self.parents
        return [f"{a}x{b}_{i + 1:0{width}d}" for i in range(n)]

    def genotypes(self, dataset: Dataset) -> pd.DataFrame:
        """The offspring as a genotype table: ``sample`` then one column per marker, cells the
        allele states (the layout of a dataset folder's ``genotypes.csv``; empty where the
        genotype has no state in the data)."""
        labels = dataset.allele_columns["allele"].astype(str).to_numpy(dtype=object)
        cells = np.where(self.offspring >= 0, labels[np.maximum(self.offspring, 0)], "")
        table = pd.DataFrame(cells, columns=dataset.markers["marker"].astype(str).to_list())
        table.insert(0, "sample", self.offspring_ids)
        return table

    def progeny_frame(self) -> pd.DataFrame:
        """Long table ``offspring, trait, prediction, ridge_prediction``."""
        n, m = self.progeny.shape
        ridge = (
            self.ridge_progeny.reshape(-1)
            if self.ridge_progeny is not None
            else np.full(n * m, np.nan)
        )
        return pd.DataFrame(
            {
                "offspring": np.repeat(self.offspring_ids, m),
                "trait": np.tile(np.asarray(self.traits, dtype=object), n),
                "prediction": self.progeny.reshape(-1),
                "ridge_prediction": ridge,
            }
        )


def _summary_columns(values: np.ndarray, parents: np.ndarray, top: float, prefix: str) -> dict:
    return {
        f"{prefix}parent_a": parents[0],
        f"{prefix}parent_b": parents[1],
        f"{prefix}progeny_mean": values.mean(axis=0),
        f"{prefix}progeny_sd": spread(values),
        f"{prefix}usefulness_{100 * top:g}pct": usefulness(values, top),
    }


def cross(
    run: Run,
    dataset: Dataset,
    parents: tuple[str, str],
    *,
    config: CrossConfig | None = None,
    rng: np.random.Generator | int,
    ridge: RidgeFit | None = None,
    with_ridge: bool = True,
    on_progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> CrossResult:
    """Cross two individuals in silico and predict every trait of every offspring.

    Parameters
    ----------
    run, dataset
        The trained run and its data set.
    parents
        Sample ids of parents A and B (the same id twice: a self; haploid or homozygous
        parents then give identical offspring, no spread).
    config
        Offspring number, map rate, ploidy and design (:class:`CrossConfig`).
    rng
        Seed or generator for the meioses (and the phase of heterozygous diploid parents).
    ridge, with_ridge
        The run's ridge fit (:func:`~gpatlas_core.tl.ridge_for_run`; refitted when None), or
        no ridge predictions.
    on_progress, should_stop
        Progress over the steps; ``should_stop()`` raises :class:`ExperimentCancelled`.

    Returns
    -------
    CrossResult
    """
    t0 = time.perf_counter()
    config = config or CrossConfig()
    gen, seed = _rng(rng)
    rows = np.array([_row_of(dataset, parents[0]), _row_of(dataset, parents[1])])
    if with_ridge and ridge is None:
        _check(should_stop)
        ridge = ridge_for_run(run, dataset)
    breeder = _Breeder(run, dataset, config, ridge if with_ridge else None)
    if on_progress is not None:
        on_progress(1, 3)
    cols = breeder.columns(rows)
    _check(should_stop)
    offspring, meiosis = breeder.offspring(cols[0], cols[1], int(config.n_offspring), gen)
    if on_progress is not None:
        on_progress(2, 3)
    progeny, ridge_progeny = breeder.predict(offspring, should_stop)
    n_distinct = breeder.n_distinct
    own, ridge_own = breeder.predict(cols)
    ids = (str(dataset.samples[rows[0]]), str(dataset.samples[rows[1]]))
    top = config.top_fraction
    table = {
        "sample_a": ids[0],
        "sample_b": ids[1],
        "trait": list(run.traits),
        **_summary_columns(progeny, own, top, ""),
    }
    if ridge_progeny is not None:
        table.update(_summary_columns(ridge_progeny, ridge_own, top, "ridge_"))
    observed = dataset.phenotypes[rows].astype(np.float64)
    table.update({"observed_a": observed[0], "observed_b": observed[1]})
    table["phenotype_mean"] = trait_mean(dataset)
    table["phenotype_sd"] = trait_sd(dataset)
    if on_progress is not None:
        on_progress(3, 3)
    return CrossResult(
        parents=ids,
        summary=pd.DataFrame(table),
        progeny=progeny.astype(np.float32),
        ridge_progeny=None if ridge_progeny is None else ridge_progeny.astype(np.float32),
        parent_predictions=own.astype(np.float32),
        ridge_parent_predictions=None if ridge_own is None else ridge_own.astype(np.float32),
        offspring=offspring,
        traits=list(run.traits),
        params={
            **breeder.params(),
            **meiosis,
            "parents": list(ids),
            "seed": seed,
            "n_distinct_offspring": n_distinct,
            "seconds": time.perf_counter() - t0,
        },
    )


# ------------------------------------------------------------------ ranking parent pairs
def check_index_weights(weights: Mapping[str, float] | pd.DataFrame, traits: list[str]) -> dict:
    """Selection-index weights per trait, checked: a ``{trait: weight}`` mapping or a table
    with columns ``trait, weight``. Traits left out weigh 0; at least one weight must not."""
    if isinstance(weights, pd.DataFrame):
        cols = {str(c).strip().lower(): c for c in weights.columns}
        if set(cols) != {"trait", "weight"}:
            raise DataError(
                "index weights: expected the columns trait, weight; got "
                f"{', '.join(map(str, weights.columns)) or 'none'}"
            )
        pairs = zip(weights[cols["trait"]], weights[cols["weight"]], strict=True)
    else:
        pairs = weights.items()
    out: dict[str, float] = {}
    for i, (t, w) in enumerate(pairs):
        t = str(t).strip()
        if t not in traits:
            raise DataError(f"index weights, row {i + 2}: {t!r} is not one of the run's traits")
        try:
            w = float(w)
        except (TypeError, ValueError):
            raise DataError(f"index weights, row {i + 2}: weight {w!r} is not a number") from None
        if not np.isfinite(w):
            raise DataError(f"index weights, row {i + 2}: weight {w!r} is not finite")
        if t in out:
            raise DataError(f"index weights, row {i + 2}: trait {t!r} appears twice")
        out[t] = w
    if not any(out.values()):
        raise DataError("index weights: every weight is 0; give at least one trait a weight")
    return out


@dataclass
class ParentRanking:
    """Parent pairs ranked by the usefulness of their predicted progeny.

    ``table``: one row per pair, best first: ``rank, sample_a, sample_b, parent_a, parent_b,
    progeny_mean, progeny_sd, usefulness`` (G-P Atlas), the same with ``ridge_`` in front and
    ``ridge_rank``, all for the criterion (``params["criterion"]``: a trait on its scale, or
    the index on standardised traits). ``params``: criterion, K, the candidates, seed, ...
    """

    table: pd.DataFrame
    params: dict = field(default_factory=dict)


def rank_parents(
    run: Run,
    dataset: Dataset,
    *,
    k: int,
    trait: str | None = None,
    weights: Mapping[str, float] | pd.DataFrame | None = None,
    individuals: Individuals = "all",
    config: CrossConfig | None = None,
    rng: np.random.Generator | int,
    ridge: RidgeFit | None = None,
    with_ridge: bool = True,
    on_progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ParentRanking:
    """Cross every pair among the ``k`` individuals with the best predicted criterion.

    Parameters
    ----------
    run, dataset
        The trained run and its data set.
    k
        How many candidates (the best by their own G-P Atlas prediction); k(k-1)/2 crosses.
    trait, weights
        The criterion: one trait (higher is better), or a selection index, the weighted sum
        of standardised traits (each trait's observed mean and SD; a negative weight favours
        low values). Give exactly one.
    individuals
        Where candidates come from: ``"all"`` (default), ``"test"`` or a list of ids.
    config, rng, ridge, with_ridge, on_progress, should_stop
        As for :func:`cross` (``config.n_offspring`` per pair).

    Returns
    -------
    ParentRanking
    """
    t0 = time.perf_counter()
    config = config or CrossConfig()
    gen, seed = _rng(rng)
    traits = list(run.traits)
    if (trait is None) == (weights is None):
        raise DataError("rank parents by one trait or by index weights (exactly one of them)")
    if trait is not None:
        if trait not in traits:
            raise DataError(f"{trait!r} is not one of the run's traits")
        w = np.zeros(len(traits))
        w[traits.index(trait)] = 1.0
        centre, scale, criterion = np.zeros(len(traits)), np.ones(len(traits)), trait
    else:
        checked = check_index_weights(weights, traits)
        w = np.array([checked.get(t, 0.0) for t in traits])
        centre, scale = trait_mean(dataset), trait_sd(dataset)
        bad = [t for t, s in zip(traits, scale, strict=True) if checked.get(t) and not s > 0]
        if bad:
            raise DataError(f"index weights: trait {bad[0]!r} has no spread to standardise by")
        scale = np.where(scale > 0, scale, 1.0)
        criterion = "index"
    used = w != 0

    def score(pred: np.ndarray) -> np.ndarray:
        return ((pred[:, used] - centre[used]) / scale[used]) @ w[used]

    pool = select_individuals(run, dataset, individuals)
    if not 2 <= int(k) <= pool.size:
        raise DataError(f"K must be between 2 and {pool.size} (the candidates), got {k}")
    if with_ridge and ridge is None:
        _check(should_stop)
        ridge = ridge_for_run(run, dataset)
    breeder = _Breeder(run, dataset, config, ridge if with_ridge else None)
    cols_pool = breeder.columns(pool)
    own, ridge_own = breeder.predict(cols_pool)
    own_score = score(own)
    best = np.argsort(-own_score, kind="stable")[: int(k)]
    pairs = list(itertools.combinations(best, 2))
    samples = np.asarray(dataset.samples).astype(str)
    rows = []
    for done, (i, j) in enumerate(pairs):
        _check(should_stop)
        offspring, _ = breeder.offspring(cols_pool[i], cols_pool[j], int(config.n_offspring), gen)
        progeny, ridge_progeny = breeder.predict(offspring, should_stop)
        s = score(progeny)
        row = {
            "sample_a": samples[pool[i]],
            "sample_b": samples[pool[j]],
            "parent_a": own_score[i],
            "parent_b": own_score[j],
            "progeny_mean": s.mean(),
            "progeny_sd": float(spread(s)),
            "usefulness": float(usefulness(s[:, None], config.top_fraction)[0]),
        }
        if ridge_progeny is not None:
            r, r_own = score(ridge_progeny), score(ridge_own[[i, j]])
            row.update(
                {
                    "ridge_parent_a": r_own[0],
                    "ridge_parent_b": r_own[1],
                    "ridge_progeny_mean": r.mean(),
                    "ridge_progeny_sd": float(spread(r)),
                    "ridge_usefulness": float(usefulness(r[:, None], config.top_fraction)[0]),
                }
            )
        rows.append(row)
        if on_progress is not None:
            on_progress(done + 1, len(pairs))
    table = pd.DataFrame(rows).sort_values("usefulness", ascending=False, kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    if "ridge_usefulness" in table:
        table["ridge_rank"] = (
            table["ridge_usefulness"].rank(ascending=False, method="min").astype(int)
        )
    return ParentRanking(
        table=table.reset_index(drop=True),
        params={
            **breeder.params(),
            "criterion": criterion,
            "weights": {t: float(x) for t, x in zip(traits, w, strict=True) if x},
            "k": int(k),
            "candidates": [samples[pool[i]] for i in best],
            "n_pairs": len(pairs),
            "seed": seed,
            "seconds": time.perf_counter() - t0,
        },
    )
