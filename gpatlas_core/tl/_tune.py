"""Grid search over config fields on Ray Tune, each grid point scored by cross-validation.

A grid maps config field names (:func:`gpatlas_core.config.config_fields`: any ModelConfig or
TrainConfig field) to lists of values; every combination is one Ray Tune trial, which runs
:func:`~gpatlas_core.tl.cross_validate` with the same folds for every trial (so trials are
compared fold by fold) and reports the mean over folds of the median test R^2 over traits.

Ray is used on this machine (a local Ray started here, nothing to install or start by hand)
or on a cluster (``address="auto"`` or ``"ray://host:port"``); each trial gets the CPUs and
GPUs asked for. A trial that fails is reported with its error; the other trials go on.
Ray is imported only when a search or a Ray executor runs.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import GPAtlasConfig, config_fields, with_overrides
from ..io import DataError, Dataset
from ._cv import FoldTask, cross_validate

MAX_TRIALS = 1000


def read_grid(text: str, *, name: str = "grid.json") -> dict[str, list]:
    """A grid from JSON text: ``{"field": [values, ...], ...}``, checked field by field."""
    try:
        grid = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{name}: not valid JSON ({err})") from None
    return check_grid(grid, name=name)


def check_grid(grid, *, name: str = "grid") -> dict[str, list]:
    """``grid`` if it maps known field names to non-empty lists of valid values."""
    if not isinstance(grid, dict) or not grid:
        raise DataError(f"{name}: expected an object mapping setting names to lists of values")
    fields = config_fields()
    for key, values in grid.items():
        if key not in fields:
            raise DataError(
                f"{name}: unknown setting {key!r}; settings are: {', '.join(sorted(fields))}"
            )
        if not isinstance(values, list) or not values:
            raise DataError(f"{name}: {key!r} needs a non-empty list of values")
        for v in values:  # each value must be valid for its field
            try:
                with_overrides(GPAtlasConfig(), {key: v})
            except DataError as err:
                raise DataError(f"{name}: {err}") from None
    n = math.prod(len(v) for v in grid.values())
    if n > MAX_TRIALS:
        raise DataError(f"{name}: {n:,} grid points; at most {MAX_TRIALS:,} trials")
    return {k: list(v) for k, v in grid.items()}


def grid_points(grid: dict[str, list]) -> list[dict]:
    """Every combination of the grid's values, the first field varying slowest."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


# ------------------------------------------------------------------------------ ray
def start_ray(address: str | None = None, *, num_cpus: int | None = None) -> None:
    """Connect to Ray: a local instance on this machine (``address=None``), or a cluster."""
    import ray

    if ray.is_initialized():
        return
    kwargs: dict = {"include_dashboard": False, "logging_level": "ERROR", "log_to_driver": False}
    if address is None:
        kwargs["num_cpus"] = num_cpus
    else:
        kwargs["address"] = address
    try:
        ray.init(**kwargs)
    except (ConnectionError, ValueError, RuntimeError) as err:
        where = "a local Ray" if address is None else f"the Ray cluster at {address!r}"
        raise DataError(f"could not start {where}: {err}") from None


def _set_threads(n: float) -> None:
    import torch

    torch.set_num_threads(max(1, int(n)))


def ray_executor(
    *, address: str | None = None, cpus_per_task: float = 1, gpus_per_task: float = 0
) -> Callable:
    """A cross-validation executor that runs each fold training as a Ray task (results are
    yielded as tasks finish). Starts or joins Ray as :func:`start_ray`."""

    def execute(fn: Callable[[FoldTask], pd.DataFrame], tasks: list[FoldTask]) -> Iterator:
        import ray

        start_ray(address)

        def one(work: Callable[[FoldTask], pd.DataFrame], task: FoldTask) -> pd.DataFrame:
            _set_threads(cpus_per_task)
            return work(task)

        remote = ray.remote(num_cpus=cpus_per_task, num_gpus=gpus_per_task)(one)
        work = ray.put(fn)  # the dataset travels once, through the object store
        pending = [remote.remote(work, t) for t in tasks]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])

    return execute


# ----------------------------------------------------------------------------- tune
@dataclass
class TuneResult:
    """A finished grid search."""

    trials: pd.DataFrame
    """One row per trial: ``trial``, the grid fields, ``score``, ``score_se``, ``seconds``,
    ``status`` (ok / failed) and ``error``."""
    grid: dict[str, list]
    base: GPAtlasConfig
    folds: int

    @property
    def best(self) -> pd.Series | None:
        ok = self.trials[self.trials["status"] == "ok"]
        if ok.empty or ok["score"].isna().all():
            return None
        return ok.loc[ok["score"].idxmax()]

    def best_point(self) -> dict | None:
        row = self.best
        return None if row is None else {k: _plain(row[k]) for k in self.grid}

    def best_config(self) -> GPAtlasConfig | None:
        point = self.best_point()
        return None if point is None else with_overrides(self.base, point)

    def write(self, out: str | Path) -> list[Path]:
        """``trials.csv`` and, when a trial succeeded, ``best_config.json`` (which
        ``train --config`` and the Train page read)."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "trials.csv"]
        self.trials.to_csv(paths[0], index=False)
        best = self.best_config()
        if best is not None:
            row = self.best
            meta = {
                "config": best.to_dict(),
                "grid_point": self.best_point(),
                "score": float(row["score"]),
                "score_se": float(row["score_se"]),
                "folds": self.folds,
                "score_is": "mean over folds of the median test R^2 over traits",
            }
            paths.append(out / "best_config.json")
            paths[-1].write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return paths


def _plain(v):
    """numpy scalars (from a DataFrame row) as JSON-ready Python values."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


@contextmanager
def _quiet_ray_logs() -> Iterator[None]:
    loggers = [logging.getLogger(n) for n in ("ray.tune", "ray.train", "ray.air")]
    before = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, before, strict=True):
            lg.setLevel(level)


def _trial_row(trial_id: int, point: dict, result: dict | None, error: str | None) -> dict:
    row = {"trial": trial_id, **point}
    if error is None and result is not None:
        row.update(
            score=result["score"],
            score_se=result["score_se"],
            seconds=result["seconds"],
            status="ok",
            error="",
        )
    else:
        row.update(score=np.nan, score_se=np.nan, seconds=np.nan, status="failed", error=error)
    return row


def _short_error(err) -> str:
    """The user-facing line of a trial's error (Ray wraps the original exception)."""
    cause = getattr(err, "cause", None) or err
    text = f"{type(cause).__name__}: {cause}"
    return text.strip().splitlines()[-1][:500] if text.strip() else type(err).__name__


def tune_grid(
    dataset: Dataset,
    config: GPAtlasConfig,
    grid: dict[str, list],
    *,
    folds: int = 5,
    seeds: int = 1,
    fold_seed: int = 0,
    address: str | None = None,
    cpus_per_trial: float = 1,
    gpus_per_trial: float = 0,
    storage: str | Path | None = None,
    on_trial: Callable[[dict, int, int], None] | None = None,
) -> TuneResult:
    """Grid search on Ray Tune: one trial per grid point, each scored by ``folds``-fold CV.

    Parameters
    ----------
    config
        The base configuration; each trial overrides the grid's fields.
    fold_seed
        Seeds the folds, the same for every trial (paired comparison).
    address
        None: a local Ray on this machine; ``"auto"`` or ``"ray://host:port"``: a cluster.
    cpus_per_trial, gpus_per_trial
        Resources of each trial (torch uses that many threads; with GPUs the trial trains on
        CUDA).
    storage
        Where Ray Tune keeps its trial records (default: a temporary folder).
    on_trial
        Called in this process with each finished trial's row (see :attr:`TuneResult.trials`),
        the number finished and the total.
    """
    import tempfile

    from ray import tune

    grid = check_grid(grid)
    points = grid_points(grid)
    for p in points:  # every point must be a config before anything starts
        with_overrides(config, p)
    # no CSV / JSON / TensorBoard loggers per trial: the trials table is the record
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    start_ray(address)
    device = "cuda" if gpus_per_trial > 0 else config.train.device
    keys = list(grid)

    def trial(params: dict, dataset: Dataset) -> None:
        _set_threads(cpus_per_trial)
        point = {k: params[k] for k in keys}
        cfg = with_overrides(config, {**point, "device": device})
        t0 = time.perf_counter()
        res = cross_validate(
            dataset, cfg, folds=folds, seeds=seeds, rng=np.random.default_rng(fold_seed)
        )
        tune.report(
            {"score": res.score, "score_se": res.score_se, "seconds": time.perf_counter() - t0}
        )

    index = {json.dumps(p, sort_keys=True, default=str): i for i, p in enumerate(points)}
    rows: dict[int, dict] = {}

    def finished(trial_obj, result) -> None:
        point = {k: trial_obj.config[k] for k in keys}
        i = index[json.dumps(point, sort_keys=True, default=str)]
        rows[i] = _trial_row(i, point, result, None if result is not None else "failed")
        if on_trial is not None:
            on_trial(rows[i], len(rows), len(points))

    class Progress(tune.Callback):
        """Reports each finished trial in this process. Ray Tune pickles its callbacks with the
        experiment state: the handler (which may hold locks, e.g. an app job) is left out."""

        def __init__(self, handler) -> None:
            self.handler = handler

        def __getstate__(self) -> dict:
            return {}

        def __setstate__(self, state: dict) -> None:
            self.handler = None

        def on_trial_complete(self, iteration, trials, trial, **info):
            if self.handler is not None:
                self.handler(trial, trial.last_result)

        def on_trial_error(self, iteration, trials, trial, **info):
            if self.handler is not None:
                self.handler(trial, None)

    trainable = tune.with_resources(
        tune.with_parameters(trial, dataset=dataset),
        {"cpu": cpus_per_trial, "gpu": gpus_per_trial},
    )
    space = {k: tune.grid_search(v) for k, v in grid.items()}
    with tempfile.TemporaryDirectory(prefix="gpatlas-tune-") as tmp:
        where = Path(storage).resolve() if storage is not None else Path(tmp)
        tuner = tune.Tuner(
            trainable,
            param_space=space,
            run_config=tune.RunConfig(
                name="gpatlas_tune",
                storage_path=str(where),
                verbose=0,
                callbacks=[Progress(finished)],
                failure_config=tune.FailureConfig(max_failures=0),
            ),
        )
        with _quiet_ray_logs():  # failures are reported in the trials table instead
            results = tuner.fit()
        for res in results:  # errors with their messages (the callback only knows "failed")
            point = {k: res.config[k] for k in keys}
            i = index[json.dumps(point, sort_keys=True, default=str)]
            error = None if res.error is None else _short_error(res.error)
            metrics = res.metrics if res.error is None else None
            rows[i] = _trial_row(i, point, metrics, error)
    trials = pd.DataFrame([rows[i] for i in sorted(rows)])
    return TuneResult(trials=trials, grid=grid, base=config, folds=folds)
