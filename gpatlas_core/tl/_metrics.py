"""Prediction accuracy (method.md section 3): MSE, MAPE, R^2 and Pearson r, per trait and per
individual, on observed cells only, with medians.

The layout returned by :func:`prediction_metrics` is the one stored in a run's ``metrics.json``::

    {"per_trait": {"r2": {trait: v}, "mse": {...}, "mape": {...}, "pearson": {...}},
     "per_individual": {"r2": {sample: v}, ...},
     "median": {"r2": v, "mse": v, "mape": v, "pearson": v},          # across traits
     "median_per_individual": {"r2": v, ...},                          # across individuals
     "n_individuals": int, "n_cells": int}

Undefined values (a constant trait, fewer than two observations) are ``None`` in the dicts and
are left out of the medians.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

METRICS: tuple[str, ...] = ("r2", "mse", "mape", "pearson")
MAPE_ZERO_GUARD = 1e-8
"""Cells whose observed value is smaller than this in absolute value are left out of MAPE."""


def _masked_stats(y: np.ndarray, yhat: np.ndarray, mask: np.ndarray, axis: int) -> dict:
    """The four metrics along ``axis`` (0: per column, 1: per row) over cells where ``mask``."""
    y = np.where(mask, y, 0.0).astype(np.float64)
    yhat = np.where(mask, yhat, 0.0).astype(np.float64)
    m = mask.astype(np.float64)
    n = m.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = (yhat - y) * m
        mse = (err**2).sum(axis=axis) / n
        ybar = y.sum(axis=axis) / n
        pbar = yhat.sum(axis=axis) / n
        yc = (y - np.expand_dims(ybar, axis)) * m
        pc = (yhat - np.expand_dims(pbar, axis)) * m
        ss_tot = (yc**2).sum(axis=axis)
        ss_res = (err**2).sum(axis=axis)
        r2 = 1.0 - ss_res / ss_tot
        pearson = (yc * pc).sum(axis=axis) / np.sqrt(ss_tot * (pc**2).sum(axis=axis))
        nz = mask & (np.abs(y) > MAPE_ZERO_GUARD)
        ape = np.where(nz, np.abs(err) / np.where(nz, np.abs(y), 1.0), 0.0)
        mape = 100.0 * ape.sum(axis=axis) / nz.sum(axis=axis)
    small = n < 2
    r2[small | (ss_tot <= 0)] = np.nan
    pearson[small | ~np.isfinite(pearson)] = np.nan
    mse[n < 1] = np.nan
    return {"r2": r2, "mse": mse, "mape": mape, "pearson": pearson}


def _clean(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _median(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return _clean(np.median(finite)) if finite.size else None


def prediction_metrics(
    observed: np.ndarray,
    predicted: np.ndarray,
    *,
    traits: Sequence[str],
    samples: Sequence[str],
) -> dict:
    """Per-trait and per-individual accuracy of ``predicted`` against ``observed``.

    Parameters
    ----------
    observed
        (n, m) observed phenotypes on the original scale; NaN = missing (left out).
    predicted
        (n, m) predictions on the same scale. NaN predictions are left out as well.
    traits, samples
        Column and row labels (the keys of the per-trait / per-individual dicts).

    Returns
    -------
    dict
        See the module docstring. MAPE is in percent; cells with ``|observed| < 1e-8`` are left
        out of it (zero guard).
    """
    observed = np.asarray(observed, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if observed.shape != predicted.shape:
        raise ValueError(f"shapes differ: observed {observed.shape}, predicted {predicted.shape}")
    mask = np.isfinite(observed) & np.isfinite(predicted)
    per_trait = _masked_stats(observed, predicted, mask, axis=0)
    per_ind = _masked_stats(observed, predicted, mask, axis=1)
    traits = [str(t) for t in traits]
    samples = [str(s) for s in samples]
    return {
        "per_trait": {
            k: {t: _clean(v) for t, v in zip(traits, per_trait[k], strict=True)} for k in METRICS
        },
        "per_individual": {
            k: {s: _clean(v) for s, v in zip(samples, per_ind[k], strict=True)} for k in METRICS
        },
        "median": {k: _median(per_trait[k]) for k in METRICS},
        "median_per_individual": {k: _median(per_ind[k]) for k in METRICS},
        "n_individuals": len(samples),
        "n_cells": int(mask.sum()),
    }


def metrics_table(metrics: dict) -> list[dict]:
    """One row per model in a run's ``metrics`` dict: the medians across traits and individuals.

    Rows have ``model`` plus ``r2, pearson, mse, mape`` (medians across traits) and
    ``r2_individual, pearson_individual`` (medians across individuals); models missing from
    ``metrics`` are skipped.
    """
    rows = []
    for model in ("genotype_to_phenotype", "phenotype_to_phenotype", "ridge", "qtl_linear"):
        entry = metrics.get(model)
        if not entry:
            continue
        med, ind = entry.get("median", {}), entry.get("median_per_individual", {})
        rows.append(
            {
                "model": model,
                **{k: med.get(k) for k in ("r2", "pearson", "mse", "mape")},
                "r2_individual": ind.get("r2"),
                "pearson_individual": ind.get("pearson"),
            }
        )
    return rows
