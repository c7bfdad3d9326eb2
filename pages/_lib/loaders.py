"""Dataset loaders for the Data and Home pages (thin wrappers over gpatlas_core.io / sim).

Every loader turns an out-of-memory error into a :class:`DataError` with a plain message, so
the page shows it and keeps the dataset it had (nothing half-loaded is kept).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import streamlit as st

from gpatlas_core.io import DataError, out_of_memory_message

from .hosting import limits

T = TypeVar("T")


def memory_safe(what: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator: ``MemoryError`` inside the loader becomes ``DataError(message)``."""

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def inner(*args, **kwargs) -> T:
            try:
                return fn(*args, **kwargs)
            except MemoryError:
                raise DataError(out_of_memory_message(what)) from None

        return inner

    return wrap


@st.cache_resource(show_spinner="Loading the yeast sample…", max_entries=2)
@memory_safe("loading the yeast sample")
def yeast_sample(missing_policy: str = "own_state"):
    """The shipped BY x RM sample (read once per process and policy; treat as read-only)."""
    from gpatlas_core.io import load_yeast_sample

    return load_yeast_sample(missing_policy=missing_policy)


@memory_safe("the simulation")
def simulate(settings: dict, seed: int):
    """A simulated population with truth (``settings`` are SimulationConfig fields)."""
    from gpatlas_core.sim import SimulationConfig
    from gpatlas_core.sim import simulate as _simulate

    ds = _simulate(SimulationConfig(**settings), rng=np.random.default_rng(seed))
    ds.name = f"simulation (seed {seed})"
    return ds


def read_limits():
    """ReadLimits for uploads in hosted mode (None locally: the readers' own defaults)."""
    lim = limits()
    from gpatlas_core.io import ReadLimits

    kwargs = {
        "max_upload_bytes": lim.max_upload_mb * 1024 * 1024,
        "max_uncompressed_bytes": lim.max_uncompressed_mb * 1024 * 1024,
    }
    if lim.hosted:
        kwargs.update(max_samples=lim.max_individuals, max_markers=lim.max_markers)
        if lim.max_individuals is not None and lim.max_markers is not None:
            # the genotype matrix the hosted limits allow, one byte per cell (README, "Memory")
            kwargs["max_genotype_bytes"] = lim.max_individuals * lim.max_markers
    return ReadLimits(**kwargs)


@memory_safe("reading the uploaded files")
def read_uploaded(files, missing_policy: str):
    """Read Streamlit uploads with the core's layout detection."""
    from gpatlas_core.io import read_uploaded as _read

    if not files:
        raise DataError("choose at least one file to upload")
    cap = limits().max_upload_mb
    sizes = [s for s in (getattr(f, "size", None) for f in files) if isinstance(s, int)]
    total = sum(sizes)
    # Checked before anything is read; a single file over the cap is named by the reader.
    if total > cap * 1024 * 1024 and max(sizes) <= cap * 1024 * 1024:
        raise DataError(
            f"the {len(files)} files add up to {total / 1024**2:,.1f} MB, more than this "
            f"server's limit of {cap:,} MB in total; refused"
        )
    return _read([(f.name, f) for f in files], missing_policy=missing_policy, limits=read_limits())


def check_size(ds) -> None:
    """Hosted mode: refuse datasets above the limits, with the limit in the message."""
    lim = limits()
    if lim.max_individuals is not None and ds.n_samples > lim.max_individuals:
        raise DataError(
            f"this server accepts at most {lim.max_individuals:,} individuals; "
            f"the dataset has {ds.n_samples:,}"
        )
    if lim.max_markers is not None and ds.n_loci > lim.max_markers:
        raise DataError(
            f"this server accepts at most {lim.max_markers:,} markers; the dataset has {ds.n_loci:,}"
        )
