"""Per-session state: the dataset, the run, cached results and background jobs.

Everything lives in ``st.session_state`` so each browser session has its own; results are keyed
by the dataset fingerprint, the run and the settings, so switching pages never recomputes.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any

import streamlit as st

from . import housekeeping, jobs
from .hosting import limits


def _ss() -> Any:
    return st.session_state


# ------------------------------------------------------------------ dataset and run
def dataset():
    """The session's dataset, or None."""
    return _ss().get("dataset")


def set_dataset(ds) -> None:
    """Make ``ds`` the session's dataset; forget a run that was trained on other data."""
    ss = _ss()
    ss["dataset"] = ds
    run = ss.get("run")
    if run is not None and getattr(run, "dataset_fingerprint", None) != ds.fingerprint:
        ss["run"], ss["run_id"] = None, None


def run():
    """The session's trained (or loaded) run, or None."""
    return _ss().get("run")


def run_id() -> str | None:
    return _ss().get("run_id")


HISTORY = 5
"""Earlier runs of the session whose loss curves the Train page can overlay."""


def set_run(r) -> None:
    """Make ``r`` the session's run; the one it replaces joins :func:`run_history`."""
    ss = _ss()
    old = ss.get("run")
    if old is not None and old is not r and len(old.losses):
        n = ss.get("run_count", 0) + 1
        ss["run_count"] = n
        label = f"run {n} ({old.config.preset}, seed {old.config.train.seed})"
        history = ss.setdefault("run_history", [])
        history.append((label, old.dataset_fingerprint, old.losses.copy()))
        del history[:-HISTORY]
    ss["run"], ss["run_id"] = r, uuid.uuid4().hex[:12]


def run_history() -> list[tuple[str, object]]:
    """``(label, losses)`` of the session's earlier runs on the current data, oldest first."""
    ds = dataset()
    fp = getattr(ds, "fingerprint", None)
    return [(label, losses) for label, f, losses in _ss().get("run_history", []) if f == fp]


def run_matches_dataset() -> bool:
    ds, r = dataset(), run()
    return ds is not None and r is not None and r.dataset_fingerprint == ds.fingerprint


# ------------------------------------------------------------------ cached results
def cache_key(stage: str, **settings: Any) -> str:
    """A key that names the stage, the data, the run and the settings of a result."""
    ds = dataset()
    payload = {
        "stage": stage,
        "data": None if ds is None else ds.fingerprint,
        "run": run_id(),
        **settings,
    }
    return json.dumps(payload, sort_keys=True, default=str)


def results() -> dict[str, Any]:
    return _ss().setdefault("results", {})


def cached(stage: str, **settings: Any) -> Any:
    return results().get(cache_key(stage, **settings))


def latest(stage: str) -> Any:
    """The most recent result of ``stage`` for the current data and run (any settings)."""
    return _ss().setdefault("latest", {}).get(cache_key(stage))


def importance_stage(method: str) -> str:
    """The cache stage of an importance method: ``importance`` (exact ablation) or
    ``importance-<method>`` (a gradient attribution)."""
    return "importance" if method == "ablation" else f"importance-{method}"


def set_importance_method(method: str) -> None:
    """The importance method picked on the Importance page (other pages follow it)."""
    _ss()["importance_method"] = method


def chosen_importance() -> Any:
    """The latest importance of the method picked on the Importance page, else the latest
    ablation (None when neither was computed for the current data and run)."""
    res = latest(importance_stage(_ss().get("importance_method", "ablation")))
    return res if res is not None else latest("importance")


def store(stage: str, value: Any, **settings: Any) -> None:
    results()[cache_key(stage, **settings)] = value
    _ss().setdefault("latest", {})[cache_key(stage)] = value


# ------------------------------------------------------------------ process-wide
@st.cache_resource
def server_housekeeping() -> housekeeping.Janitor:
    """Once per process: freeze start-up objects out of the GC and start the memory janitor."""
    import gpatlas_core.pl
    import gpatlas_core.tl  # noqa: F401  (what the pages import: frozen with the rest)

    return housekeeping.start()


# ------------------------------------------------------------------ jobs
@st.cache_resource
def training_queue() -> jobs.SlotQueue:
    """Process-wide: at most ``max_training_jobs`` trainings run at once, across all users."""
    return jobs.SlotQueue(limits().max_training_jobs)


def synchronous_jobs() -> bool:
    """Tests run jobs in the script thread: session flag ``sync_jobs`` or env GPATLAS_SYNC_JOBS=1."""
    return bool(_ss().get("sync_jobs")) or os.environ.get("GPATLAS_SYNC_JOBS") == "1"


def job(kind: str) -> jobs.Job | None:
    return _ss().setdefault("jobs", {}).get(kind)


def start_job(
    stage: str,
    fn: Callable[[jobs.Job], Any],
    *,
    settings: dict | None = None,
    label: str = "",
    queue: jobs.SlotQueue | None = None,
) -> jobs.Job:
    """Start ``fn`` in the background for this session (one job per stage at a time).

    The result is filed under ``stage`` and ``settings`` (see :func:`adopt_finished_jobs`), keyed
    by the data and run at start time, so a result never lands on data it was not made from.
    """
    current = job(stage)
    if current is not None and current.active:
        return current
    settings = settings or {}
    new = jobs.Job(kind=stage, key=cache_key(stage, **settings), label=label)
    new.meta = {"latest": cache_key(stage), "data": getattr(dataset(), "fingerprint", None)}
    _ss()["jobs"][stage] = new
    jobs.run_job(new, fn, queue=queue, synchronous=synchronous_jobs())
    adopt_finished_jobs()
    return new


def adopt_finished_jobs() -> None:
    """File the results of jobs that finished since the last script run (called on every run)."""
    for stage, j in list(_ss().setdefault("jobs", {}).items()):
        if j.active or j.meta.get("adopted") or j.result is None:
            continue
        j.meta["adopted"] = True
        if stage == "train":
            ds = dataset()
            if ds is not None and j.result.dataset_fingerprint == ds.fingerprint:
                set_run(j.result)
            continue
        results()[j.key] = j.result
        _ss().setdefault("latest", {})[j.meta["latest"]] = j.result


def stage_flags() -> dict[str, bool]:
    """Where the user is in the workflow (for Home and the sidebar)."""
    return {
        "dataset": dataset() is not None,
        "model": run_matches_dataset(),
        "importance": run_matches_dataset() and latest("importance") is not None,
        "vida": run_matches_dataset() and latest("vida") is not None,
    }
