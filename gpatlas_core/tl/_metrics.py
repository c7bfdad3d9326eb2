"""Prediction accuracy (docs/method.md section 3): MSE, MAPE, R^2 and Pearson r, per trait and per
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
import pandas as pd

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


MODEL_LABELS: dict[str, str] = {
    "genotype_to_phenotype": "G-P Atlas (genotype → traits)",
    "phenotype_to_phenotype": "Autoencoder (traits → traits)",
    "ridge": "Ridge on genotypes",
    "lasso": "LASSO on genotypes",
    "qtl_linear": "Linear model on known-QTL markers",
}
"""Readable names of the models in a run's ``metrics`` (tables, legends, the CLI)."""


def metrics_table(metrics: dict) -> list[dict]:
    """One row per model in a run's ``metrics`` dict: the medians across traits and individuals.

    Rows have ``model`` plus ``r2, pearson, mse, mape`` (medians across traits) and
    ``r2_individual, pearson_individual`` (medians across individuals); models missing from
    ``metrics`` are skipped.
    """
    rows = []
    for model in (
        "genotype_to_phenotype",
        "phenotype_to_phenotype",
        "ridge",
        "lasso",
        "qtl_linear",
    ):
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


BASELINES: tuple[str, ...] = ("ridge", "lasso")
"""The genotype baselines G-P Atlas is compared with (same split, same training individuals)."""


def comparison_table(
    metrics: dict, traits: Sequence[str], *, model: str = "genotype_to_phenotype"
) -> list[dict]:
    """Per trait: test R^2 of ``model`` and of each baseline in ``metrics``, and the difference
    ``model - baseline`` (positive: G-P Atlas is better). Keys ``trait``, ``<name>`` per model,
    ``diff_<baseline>``; None where a value is undefined."""
    names = [model, *(b for b in BASELINES if metrics.get(b))]
    r2 = {n: metrics.get(n, {}).get("per_trait", {}).get("r2", {}) for n in names}
    rows = []
    for t in traits:
        row: dict = {"trait": t, **{n: r2[n].get(t) for n in names}}
        for b in names[1:]:
            a, c = row[model], row[b]
            row[f"diff_{b}"] = None if a is None or c is None else a - c
        rows.append(row)
    return rows


COMPARISON_COLUMNS: dict[str, str] = {
    "genotype_to_phenotype": "G-P Atlas R²",
    "ridge": "Ridge R²",
    "lasso": "LASSO R²",
    "diff_ridge": "G-P Atlas − ridge",
    "diff_lasso": "G-P Atlas − LASSO",
    "qtl_linear": "QTL linear R²",
}
"""Column headers of :func:`comparison_frame`."""


def comparison_frame(metrics: dict, traits: Sequence[str]) -> pd.DataFrame:
    """:func:`comparison_table` as a labelled table (headers :data:`COMPARISON_COLUMNS`), with
    the known-QTL linear model's R^2 as a last column when the run has it: what the Train page
    shows and downloads as ``per_trait_metrics.csv``."""
    table = pd.DataFrame(comparison_table(metrics, traits))
    qtl = metrics.get("qtl_linear", {}).get("per_trait", {}).get("r2")
    if qtl:
        table["qtl_linear"] = [qtl.get(t) for t in traits]
    return table.rename(columns=COMPARISON_COLUMNS)


def warm_start_note(info: dict) -> str | None:
    """One line on how tier 2 started (a run's ``info``), or None without a warm start."""
    ws = info.get("warm_start")
    if not ws:
        return None
    kind = "per-trait LASSO"
    if "multitrait_gamma" in ws:
        kind = "multi-trait-penalised LASSO"
        if ws.get("multitrait_weight", 1.0) < 1.0:
            kind = "the mean of per-trait LASSO and its multi-trait-penalised refit"
    text = (
        f"Tier 2 started from {kind} ({ws.get('lasso_selected_markers', 0):,} markers "
        "selected by some trait)"
    )
    if "interaction_pairs" in ws:
        text += f" with {ws['interaction_pairs']:,} pairwise interaction terms"
    return text + ", then fine-tuned through the frozen decoder."


def verdict(metrics: dict, traits: Sequence[str], *, model: str = "genotype_to_phenotype") -> str:
    """One line: which model predicts the test individuals best (median R^2 over traits), by
    how much, and on how many traits G-P Atlas beats the best baseline."""
    ours = metrics.get(model, {}).get("median", {}).get("r2")
    base = {b: metrics[b]["median"]["r2"] for b in BASELINES if metrics.get(b)}
    base = {b: v for b, v in base.items() if v is not None}
    if ours is None:
        return "No genotype -> phenotype R^2 on the test individuals (too few observations)."
    if not base:
        return f"G-P Atlas: median test R^2 {ours:.3f} (no baseline was fitted)."
    best = max(base, key=base.get)
    label = {"ridge": "ridge", "lasso": "LASSO"}[best]
    rows = comparison_table(metrics, traits, model=model)
    diffs = [r[f"diff_{best}"] for r in rows if r.get(f"diff_{best}") is not None]
    wins = sum(d > 0 for d in diffs)
    gap = ours - base[best]
    if abs(gap) < 0.005:
        head = f"G-P Atlas and {label} are level"
    elif gap > 0:
        head = f"G-P Atlas predicts best, {gap:.3f} above {label}"
    else:
        head = f"{label} predicts best, {-gap:.3f} above G-P Atlas"
    return (
        f"{head} (median test R^2 {ours:.3f} vs {base[best]:.3f}); G-P Atlas is better on "
        f"{wins} of {len(diffs)} traits. One split: differences under ~0.03 need "
        "cross-validation or more seeds to be called real."
    )
