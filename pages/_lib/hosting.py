"""Hosted mode: limits read from environment variables (documented in README, section Hosting)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return max(1, int(raw))
    except ValueError:
        return default


@dataclass(frozen=True)
class Limits:
    """What one user may ask for. ``None`` = no limit (local use)."""

    hosted: bool
    max_individuals: int | None
    max_markers: int | None
    max_epochs: int | None
    max_training_jobs: int
    max_upload_mb: int
    max_uncompressed_mb: int = 4096
    threads_per_job: int | None = None
    max_cv_trainings: int | None = None
    """Folds x seeds one cross-validation may train (None = no limit)."""
    grid_search: bool = True
    """Whether the Train page offers the Ray Tune grid search."""
    max_experiment_genotypes: int | None = None
    """Genotypes one in-silico experiment may predict: swaps x individuals, or crosses x
    offspring (None = no limit)."""


@cache
def limits() -> Limits:
    """Limits for this process, from the environment (read once).

    ``GPATLAS_HOSTED=1`` turns hosted mode on. Then ``GPATLAS_MAX_INDIVIDUALS`` (default 5000),
    ``GPATLAS_MAX_MARKERS`` (50000), ``GPATLAS_MAX_EPOCHS`` (500 per tier) and
    ``GPATLAS_MAX_TRAINING_JOBS`` (1 training at a time across all users) apply. Locally only
    ``GPATLAS_MAX_TRAINING_JOBS`` (default 2) and ``GPATLAS_MAX_UPLOAD_MB`` (200) are used.
    ``GPATLAS_MAX_UNCOMPRESSED_MB`` caps what a gzipped upload may decompress to (1024 hosted,
    4096 locally); decompression stops there (gzip bombs). ``GPATLAS_THREADS_PER_JOB`` caps the
    CPU threads of each background job (default: torch's own choice, all cores); on a server
    shared by several concurrent jobs, cores / concurrent jobs avoids oversubscription.
    Hosted, one cross-validation trains at most ``GPATLAS_MAX_CV_TRAININGS`` models (folds x
    seeds, default 5; it waits in the training queue like a training), and the grid search
    (many trainings on Ray workers) is off unless ``GPATLAS_GRID_SEARCH=1``. One in-silico
    experiment (Experiments page) predicts at most ``GPATLAS_MAX_EXPERIMENT_GENOTYPES``
    genotypes (default 50000; swaps x individuals or crosses x offspring).
    """
    hosted = os.environ.get("GPATLAS_HOSTED", "").strip().lower() in {"1", "true", "yes", "on"}
    if hosted:
        return Limits(
            hosted=True,
            max_individuals=_int("GPATLAS_MAX_INDIVIDUALS", 5000),
            max_markers=_int("GPATLAS_MAX_MARKERS", 50000),
            max_epochs=_int("GPATLAS_MAX_EPOCHS", 500),
            max_training_jobs=_int("GPATLAS_MAX_TRAINING_JOBS", 1),
            max_upload_mb=_int("GPATLAS_MAX_UPLOAD_MB", 200),
            max_uncompressed_mb=_int("GPATLAS_MAX_UNCOMPRESSED_MB", 1024),
            threads_per_job=_int("GPATLAS_THREADS_PER_JOB", 0) or None,
            max_cv_trainings=_int("GPATLAS_MAX_CV_TRAININGS", 5),
            grid_search=os.environ.get("GPATLAS_GRID_SEARCH", "").strip() == "1",
            max_experiment_genotypes=_int("GPATLAS_MAX_EXPERIMENT_GENOTYPES", 50000),
        )
    return Limits(
        hosted=False,
        max_individuals=None,
        max_markers=None,
        max_epochs=None,
        max_training_jobs=_int("GPATLAS_MAX_TRAINING_JOBS", 2),
        max_upload_mb=_int("GPATLAS_MAX_UPLOAD_MB", 200),
        max_uncompressed_mb=_int("GPATLAS_MAX_UNCOMPRESSED_MB", 4096),
        threads_per_job=_int("GPATLAS_THREADS_PER_JOB", 0) or None,
    )
