"""k-fold cross-validation of G-P Atlas and its linear baselines (docs/method.md section 3).

The individuals are dealt into ``k`` seeded folds of (nearly) equal size, stratified by
nothing. For each fold and each repeat (seed), :func:`~gpatlas_core.train.train` trains the
model with that fold as the test set (:func:`~gpatlas_core.train.fold_split`) and
:meth:`~gpatlas_core.run.Run.evaluate` scores it and the baselines (ridge, LASSO) fitted on the
same training individuals, missing phenotypes masked as in training. A fold's numbers are
exactly those of a direct ``train(dataset, config, split=fold_split(...))``.

Summaries use the folds as the replicates: repeats within a fold are averaged first, then the
mean over folds and its standard error (SD / sqrt(k)); the difference to a baseline is paired
by fold. The score a grid search ranks by is the mean over folds of the fold's median test
R^2 over traits (:attr:`CVResult.score`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import GPAtlasConfig
from ..io import DataError, Dataset
from ._metrics import BASELINES

MODEL = "genotype_to_phenotype"
MEDIAN = "(median)"
"""The ``trait`` of the summary rows that hold the median over traits."""
METRIC_COLUMNS = ("r2", "pearson", "mse")


def assign_folds(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Fold label 0..k-1 of each of ``n`` individuals: a random permutation dealt in turn, so
    fold sizes differ by at most one."""
    if not 2 <= k <= n:
        raise DataError(f"cross-validation needs 2 <= folds <= individuals ({n}); got {k}")
    folds = np.empty(n, dtype=np.int64)
    folds[rng.permutation(n)] = np.arange(n) % k
    return folds


@dataclass(frozen=True)
class FoldTask:
    """One training of a cross-validation: fold ``fold`` held out, training seed ``seed``."""

    fold: int
    repeat: int
    seed: int


def fold_tasks(config: GPAtlasConfig, k: int, seeds: int) -> list[FoldTask]:
    """Every (fold, repeat) training; repeat ``r`` trains with ``config.train.seed + r``."""
    if seeds < 1:
        raise DataError("seeds must be at least 1")
    base = config.train.seed
    return [FoldTask(f, r, base + r) for f in range(k) for r in range(seeds)]


def run_fold(
    dataset: Dataset,
    config: GPAtlasConfig,
    folds: np.ndarray,
    task: FoldTask,
    *,
    baselines: bool = True,
    should_stop: Callable[[], bool] | None = None,
) -> pd.DataFrame:
    """Train and evaluate one fold: rows ``fold, repeat, seed, model, trait, r2, pearson, mse``
    for every model in the run's metrics (G-P Atlas both ways, ridge, LASSO, ...)."""
    from ..train import fold_split, train

    cfg = dataclasses.replace(config, train=dataclasses.replace(config.train, seed=task.seed))
    split = fold_split(
        dataset.samples,
        folds,
        task.fold,
        validation_fraction=cfg.train.validation_fraction,
        seed=task.seed,
    )
    t0 = time.perf_counter()
    run = train(dataset, cfg, split=split, baselines=baselines, should_stop=should_stop)
    if run.status != "finished":
        raise CVStopped
    seconds = time.perf_counter() - t0
    return fold_rows(run.metrics, list(dataset.traits), task, seconds=seconds)


class CVStopped(Exception):
    """A fold's training was stopped (``should_stop``); the cross-validation ends there."""


def fold_rows(metrics: dict, traits: list[str], task: FoldTask, *, seconds: float) -> pd.DataFrame:
    """A run's per-trait test metrics as cross-validation rows."""
    rows = []
    for model, entry in metrics.items():
        per = entry.get("per_trait") if isinstance(entry, dict) else None
        if not per or "r2" not in per:
            continue
        for t in traits:
            rows.append(
                {
                    "fold": task.fold,
                    "repeat": task.repeat,
                    "seed": task.seed,
                    "model": model,
                    "trait": t,
                    **{m: per.get(m, {}).get(t) for m in METRIC_COLUMNS},
                    "seconds": seconds,
                }
            )
    return pd.DataFrame(rows)


def _mean_se(values: np.ndarray) -> tuple[float, float, int]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return float("nan"), float("nan"), 0
    se = float(np.std(v, ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")
    return float(np.mean(v)), se, int(v.size)


def summarize(metrics: pd.DataFrame, *, model: str = MODEL) -> pd.DataFrame:
    """Per model and trait (and per model over the median of traits, ``trait == MEDIAN``): the
    mean over folds of R^2, Pearson r and MSE, the standard error of the R^2 mean, and for
    ``model`` against each baseline the mean paired difference of R^2 and its standard error."""
    if metrics.empty:
        return pd.DataFrame()
    m = metrics.astype({c: float for c in METRIC_COLUMNS})
    by_fold = m.groupby(["model", "trait", "fold"], sort=False)[list(METRIC_COLUMNS)].mean()
    medians = by_fold.groupby(["model", "fold"], sort=False).median()  # NaN-skipping
    medians["trait"] = MEDIAN
    medians = medians.reset_index().set_index(["model", "trait", "fold"])
    per = pd.concat([by_fold, medians]).sort_index()
    r2 = per["r2"].unstack("fold")  # (model, trait) x fold
    rows = []
    baselines = [b for b in BASELINES if b in r2.index.get_level_values(0) and b != model]
    for (mod, trait), values in r2.iterrows():
        mean, se, n = _mean_se(values.to_numpy(dtype=float))
        sub = per.loc[(mod, trait)]
        row = {
            "model": mod,
            "trait": trait,
            "r2_mean": mean,
            "r2_se": se,
            "pearson_mean": float(np.nanmean(sub["pearson"]))
            if sub["pearson"].notna().any()
            else np.nan,
            "mse_mean": float(np.nanmean(sub["mse"])) if sub["mse"].notna().any() else np.nan,
            "n_folds": n,
        }
        if mod == model:
            for b in baselines:
                if (b, trait) in r2.index:
                    diff = values.to_numpy(dtype=float) - r2.loc[(b, trait)].to_numpy(dtype=float)
                    row[f"diff_{b}"], row[f"diff_{b}_se"], _ = _mean_se(diff)
        rows.append(row)
    out = pd.DataFrame(rows)
    # traits in dataset order, the median row first
    order = {t: i for i, t in enumerate(dict.fromkeys([MEDIAN, *metrics["trait"]]))}
    models = {mo: i for i, mo in enumerate(dict.fromkeys(metrics["model"]))}
    return out.sort_values(
        ["model", "trait"],
        key=lambda c: c.map(models) if c.name == "model" else c.map(order),
        kind="stable",
    ).reset_index(drop=True)


def win_loss(summary: pd.DataFrame, baseline: str, *, model: str = MODEL) -> dict:
    """Over traits (not the median row): how often ``model``'s mean R^2 beats ``baseline``'s,
    and how often by more than two standard errors of the paired difference, either way."""
    col = f"diff_{baseline}"
    rows = summary[(summary["model"] == model) & (summary["trait"] != MEDIAN)]
    if col not in rows:
        return {"wins": 0, "losses": 0, "clear_wins": 0, "clear_losses": 0, "traits": 0}
    d = rows[col].to_numpy(dtype=float)
    se = rows[f"{col}_se"].to_numpy(dtype=float)
    ok = np.isfinite(d)
    clear = ok & np.isfinite(se) & (np.abs(d) > 2 * se)
    return {
        "wins": int((d[ok] > 0).sum()),
        "losses": int((d[ok] < 0).sum()),
        "clear_wins": int((clear & (d > 0)).sum()),
        "clear_losses": int((clear & (d < 0)).sum()),
        "traits": int(ok.sum()),
    }


@dataclass
class CVResult:
    """A finished cross-validation: the per-fold rows, each individual's fold, the summary."""

    metrics: pd.DataFrame
    """One row per fold, repeat, model and trait: ``fold, repeat, seed, model, trait, r2,
    pearson, mse, seconds`` (seconds: that fold's training and evaluation)."""
    folds: pd.DataFrame
    """``sample, fold``."""
    config: GPAtlasConfig
    seconds: float = 0.0
    summary: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.summary = summarize(self.metrics)

    def _median_row(self, model: str = MODEL) -> pd.Series | None:
        s = self.summary
        if s.empty:
            return None
        row = s[(s["model"] == model) & (s["trait"] == MEDIAN)]
        return None if row.empty else row.iloc[0]

    @property
    def score(self) -> float:
        """Mean over folds of G-P Atlas's median test R^2 over traits."""
        row = self._median_row()
        return float("nan") if row is None else float(row["r2_mean"])

    @property
    def score_se(self) -> float:
        row = self._median_row()
        return float("nan") if row is None else float(row["r2_se"])

    def win_loss(self, baseline: str) -> dict:
        return win_loss(self.summary, baseline)

    @property
    def n_folds(self) -> int:
        return int(self.folds["fold"].nunique())

    def headline(self) -> list[str]:
        """The result in a few lines (the CLI prints them, the app shows them): each model's
        median test R^2 over traits as mean +- SE over folds, and G-P Atlas's wins and losses
        against each baseline."""
        from ._metrics import MODEL_LABELS

        s = self.summary
        med = s[s["trait"] == MEDIAN]
        lines = [f"Median test R² over traits, mean ± SE over {self.n_folds} folds:"]
        for row in med.itertuples(index=False):
            label = MODEL_LABELS.get(row.model, row.model)
            lines.append(f"{label}: {row.r2_mean:.3f} ± {row.r2_se:.3f}")
        for b in BASELINES:
            wl = self.win_loss(b)
            if wl["traits"]:
                lines.append(
                    f"G-P Atlas vs {'LASSO' if b == 'lasso' else b}: better on {wl['wins']} of "
                    f"{wl['traits']} traits, worse on {wl['losses']} (by more than 2 SE: "
                    f"{wl['clear_wins']} better, {wl['clear_losses']} worse)"
                )
        return lines

    def comparison(self) -> pd.DataFrame:
        """One row per trait (the median of traits first): each model's mean R^2 and its SE
        over folds, and G-P Atlas minus each baseline with the SE of the paired difference."""
        from ._metrics import COMPARISON_COLUMNS

        s = self.summary.set_index(["model", "trait"])
        traits = list(dict.fromkeys(self.summary["trait"]))
        out = pd.DataFrame({"trait": traits})
        for model in (MODEL, *BASELINES):
            if model not in s.index.get_level_values(0):
                continue
            part = s.loc[model].reindex(traits)
            name = COMPARISON_COLUMNS[model]
            out[name] = part["r2_mean"].to_numpy()
            out[f"{name} SE"] = part["r2_se"].to_numpy()
        ours = s.loc[MODEL].reindex(traits) if MODEL in s.index.get_level_values(0) else None
        for b in BASELINES:
            if ours is not None and f"diff_{b}" in ours:
                name = COMPARISON_COLUMNS[f"diff_{b}"]
                out[name] = ours[f"diff_{b}"].to_numpy()
                out[f"{name} SE"] = ours[f"diff_{b}_se"].to_numpy()
        return out

    def write(self, out: str | Path) -> list[Path]:
        """``cv_metrics.csv``, ``cv_summary.csv``, ``folds.csv`` and ``cv_config.json`` in
        ``out``; returns the paths."""
        import json

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / n for n in ("cv_metrics.csv", "cv_summary.csv", "folds.csv")]
        self.metrics.drop(columns="seconds").to_csv(paths[0], index=False)
        self.summary.to_csv(paths[1], index=False)
        self.folds.to_csv(paths[2], index=False)
        meta = {
            "config": self.config.to_dict(),
            "folds": int(self.folds["fold"].nunique()),
            "score": self.score,
            "score_se": self.score_se,
            "seconds": self.seconds,
        }
        paths.append(out / "cv_config.json")
        paths[-1].write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        return paths


Executor = Callable[[Callable[[FoldTask], pd.DataFrame], list[FoldTask]], Iterable[pd.DataFrame]]
"""Runs a fold function over tasks and yields each result as it finishes (any order)."""


def loop_executor(fn: Callable[[FoldTask], pd.DataFrame], tasks: list[FoldTask]) -> Iterator:
    """The plain loop: one task after the other in this process."""
    for task in tasks:
        yield fn(task)


def cross_validate(
    dataset: Dataset,
    config: GPAtlasConfig,
    *,
    folds: int = 5,
    seeds: int = 1,
    rng: np.random.Generator,
    baselines: bool = True,
    executor: Executor | None = None,
    on_fold: Callable[[pd.DataFrame, int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> CVResult:
    """k-fold cross-validation of ``config`` on ``dataset`` (see the module docstring).

    Parameters
    ----------
    folds
        Number of folds ``k`` (2 <= k <= individuals).
    seeds
        Trainings per fold, with training seeds ``config.train.seed + r``.
    rng
        Deals the individuals into folds (the same generator state gives the same folds, so
        configurations compared with it are paired by fold).
    baselines
        Also fit ridge and LASSO (and the known-QTL model) on each fold.
    executor
        How the fold trainings run (:func:`loop_executor` by default; a Ray executor from
        :func:`gpatlas_core.tl.ray_executor` spreads them over workers).
    on_fold
        Called with each finished fold's rows, the number done and the total.
    should_stop
        Polled during training; when it returns True the cross-validation stops with a
        :class:`CVStopped` (nothing partial is returned).
    """
    fold_of = assign_folds(dataset.n_samples, folds, rng)
    tasks = fold_tasks(config, folds, seeds)
    run = executor or loop_executor
    t0 = time.perf_counter()

    def fn(task: FoldTask) -> pd.DataFrame:
        return run_fold(
            dataset, config, fold_of, task, baselines=baselines, should_stop=should_stop
        )

    parts = []
    for part in run(fn, tasks):
        parts.append(part)
        if on_fold is not None:
            on_fold(part, len(parts), len(tasks))
        if should_stop is not None and should_stop():
            raise CVStopped
    metrics = pd.concat(parts, ignore_index=True).sort_values(
        ["fold", "repeat"], kind="stable", ignore_index=True
    )
    folds_table = pd.DataFrame({"sample": np.asarray(dataset.samples).astype(str), "fold": fold_of})
    return CVResult(
        metrics=metrics, folds=folds_table, config=config, seconds=time.perf_counter() - t0
    )
