"""Training pictures: loss curves of both tiers, predicted vs real, error densities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..tl._metrics import MODEL_LABELS

_TIERS = (("phenotype", "Tier 1: phenotype autoencoder"), ("genotype", "Tier 2: genotype encoder"))


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average with weight ``weight`` in [0, 1)
    (0 = none), debiased so the first points are not pulled toward zero; NaNs are skipped."""
    v = np.asarray(values, dtype=float)
    if weight <= 0 or v.size == 0:
        return v
    out = np.full_like(v, np.nan)
    last, n = 0.0, 0
    for i, x in enumerate(v):
        if not np.isfinite(x):
            continue
        last, n = last * weight + (1 - weight) * x, n + 1
        out[i] = last / (1 - weight**n)
    return out


def log_ticks(lo: float, hi: float) -> list[float]:
    """Readable tick values for a log axis from ``lo`` to ``hi``: 1, 2 and 5 times powers of
    ten (1 and 3 when that gives too many, the powers alone for wide ranges)."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0 or hi <= 0:
        return []
    lo, hi = min(lo, hi), max(lo, hi)
    k0, k1 = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    for mantissas in ((1, 2, 5), (1, 3), (1,)):
        ticks = [m * 10.0**k for k in range(k0, k1 + 1) for m in mantissas]
        ticks = [t for t in ticks if lo / 1.05 <= t <= hi * 1.05]
        if len(ticks) <= 8:
            break
    if len(ticks) < 2:  # a narrow range: evenly spaced in log, rounded to 2 significant digits
        ticks = sorted({float(f"{t:.2g}") for t in np.geomspace(lo, hi, 4)})
    return ticks


_LOSS_SERIES = (
    ("train", "train_loss", "#4c78a8"),
    ("test", "test_loss", "#f58518"),
    ("validation", "validation_loss", "#54a24b"),
)


def loss_curves(
    losses: pd.DataFrame,
    *,
    n_epochs: dict[str, int] | None = None,
    log_y: bool = True,
    smoothing: float = 0.0,
    earlier: dict[str, pd.DataFrame] | None = None,
) -> go.Figure:
    """Train and test loss per epoch, one panel per tier.

    Parameters
    ----------
    losses
        Columns ``tier`` ("phenotype" / "genotype"), ``epoch``, ``train_loss``, ``test_loss``
        and optionally ``validation_loss``.
    n_epochs
        Planned epochs per tier; fixes the x range while training is still running.
    log_y
        Log-scale loss axes (ticks at 1, 2, 5 x 10^k), else linear.
    smoothing
        TensorBoard-style smoothing weight in [0, 1) (:func:`smooth`); the raw values stay
        as faint lines.
    earlier
        Earlier runs to overlay (name -> their losses): their test loss, dashed.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=[t for _, t in _TIERS])
    values: dict[int, list[np.ndarray]] = {1: [], 2: []}
    for col, (tier, _) in enumerate(_TIERS, start=1):
        part = losses[losses["tier"] == tier] if len(losses) else losses
        for name, column, colour in _LOSS_SERIES:
            if column not in part or part[column].isna().all():
                continue
            raw = part[column].to_numpy(dtype=float)
            values[col].append(raw)
            mode = "lines+markers" if len(part) < 40 else "lines"
            if smoothing > 0:
                fig.add_trace(
                    go.Scatter(x=part["epoch"], y=raw, mode="lines", line={"color": colour,
                               "width": 1}, opacity=0.3, showlegend=False, legendgroup=name,
                               hoverinfo="skip"),
                    row=1, col=col,
                )  # fmt: skip
            fig.add_trace(
                go.Scatter(
                    x=part["epoch"],
                    y=smooth(raw, smoothing),
                    mode=mode,
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    line={"color": colour},
                    hovertemplate=f"{name} loss, epoch %{{x}}: %{{y:.4g}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
        for k, (label, other) in enumerate((earlier or {}).items()):
            old = other[other["tier"] == tier] if len(other) else other
            if "test_loss" not in old or old["test_loss"].isna().all():
                continue
            raw = old["test_loss"].to_numpy(dtype=float)
            values[col].append(raw)
            fig.add_trace(
                go.Scatter(
                    x=old["epoch"],
                    y=smooth(raw, smoothing),
                    mode="lines",
                    name=f"test, {label}",
                    legendgroup=f"earlier-{k}",
                    showlegend=col == 1,
                    line={"color": "#9d9d9d", "dash": ["dash", "dot", "dashdot"][k % 3]},
                    hovertemplate=f"test loss ({label}), epoch %{{x}}: %{{y:.4g}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
        if n_epochs and n_epochs.get(tier):
            fig.update_xaxes(range=[0.5, n_epochs[tier] + 0.5], row=1, col=col)
        if log_y:
            v = np.concatenate(values[col]) if values[col] else np.array([])
            v = v[np.isfinite(v) & (v > 0)]
            ticks = log_ticks(float(v.min()), float(v.max())) if v.size else []
            fig.update_yaxes(type="log", row=1, col=col)
            if ticks:
                fig.update_yaxes(
                    tickvals=ticks, ticktext=[f"{t:.3g}" for t in ticks], row=1, col=col
                )
    fig.update_xaxes(title_text="Epoch")
    scale = "log scale" if log_y else "linear scale"
    fig.update_yaxes(title_text=f"Loss (mean squared error, {scale})", row=1, col=1)
    fig.update_layout(height=360, legend={"orientation": "h", "y": -0.25}, margin={"t": 40})
    return fig


def predicted_vs_real(
    observed: np.ndarray,
    predicted: np.ndarray,
    *,
    trait: str,
    samples: Sequence[str] | None = None,
    baseline: np.ndarray | None = None,
    baseline_name: str = "Ridge",
    interval: tuple[np.ndarray, np.ndarray] | None = None,
    interval_level: float = 0.9,
) -> go.Figure:
    """Scatter of predicted against observed values of one trait, with the y = x line.

    Missing observations are left out. ``baseline`` adds a second model's predictions.
    ``interval``: lower and upper ends of G-P Atlas's prediction intervals (a variational
    run's), drawn as vertical error bars; the legend gives the share of points inside.
    """
    observed = np.asarray(observed, dtype=float)
    ok = np.isfinite(observed)
    text = None if samples is None else np.asarray(samples).astype(str)[ok]
    fig = go.Figure()
    series = [("G-P Atlas", np.asarray(predicted, dtype=float), "#4c78a8")]
    if baseline is not None:
        series.append((baseline_name, np.asarray(baseline, dtype=float), "#e45756"))
    for k, (name, pred, colour) in enumerate(series):
        r = np.corrcoef(observed[ok], pred[ok])[0, 1] if ok.sum() > 2 else np.nan
        label, error_y = f"{name} (r = {r:.2f})", None
        if k == 0 and interval is not None:
            lo = np.asarray(interval[0], dtype=float)[ok]
            hi = np.asarray(interval[1], dtype=float)[ok]
            inside = float(np.mean((observed[ok] >= lo) & (observed[ok] <= hi))) if ok.any() else 0
            label += f", {interval_level:.0%} intervals hold {inside:.0%}"
            error_y = {
                "type": "data",
                "symmetric": False,
                "array": hi - pred[ok],
                "arrayminus": pred[ok] - lo,
                "color": "rgba(76,120,168,0.35)",
                "thickness": 1,
                "width": 0,
            }
        fig.add_trace(
            go.Scattergl(
                x=observed[ok],
                y=pred[ok],
                mode="markers",
                name=label,
                error_y=error_y,
                marker={"color": colour, "size": 6, "opacity": 0.7},
                text=text,
                hovertemplate="%{text}<br>real %{x:.3g}<br>predicted %{y:.3g}<extra></extra>"
                if text is not None
                else "real %{x:.3g}<br>predicted %{y:.3g}<extra></extra>",
            )
        )
    if ok.any():
        lo, hi = float(np.nanmin(observed[ok])), float(np.nanmax(observed[ok]))
        fig.add_trace(
            go.Scatter(
                x=[lo, hi],
                y=[lo, hi],
                mode="lines",
                name="y = x",
                line={"dash": "dot", "color": "grey"},
            )
        )
    fig.update_layout(
        title=f"{trait}: predicted vs real (test individuals)",
        xaxis_title="Real value",
        yaxis_title="Predicted value",
        height=420,
    )
    return fig


def error_densities(metrics: dict, *, metric: str = "mse") -> go.Figure:
    """Distribution of an error metric across traits and across individuals, per model.

    Parameters
    ----------
    metrics
        A run's metrics dict: ``{model: {"per_trait": {metric: {trait: v}},
        "per_individual": {metric: {sample: v}}, ...}}``.
    metric
        ``mse``, ``mape``, ``r2`` or ``pearson``.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Across traits", "Across individuals"))
    colours = ("#4c78a8", "#72b7b2", "#e45756", "#b279a2")
    for k, (model, label) in enumerate(MODEL_LABELS.items()):
        entry = metrics.get(model)
        if not entry:
            continue
        for col, part in ((1, "per_trait"), (2, "per_individual")):
            values = np.array(
                [v for v in entry.get(part, {}).get(metric, {}).values() if v is not None],
                dtype=float,
            )
            if values.size == 0:
                continue
            fig.add_trace(
                go.Histogram(
                    x=values,
                    histnorm="probability density",
                    name=label,
                    legendgroup=model,
                    showlegend=col == 1,
                    opacity=0.55,
                    marker_color=colours[k % len(colours)],
                    nbinsx=40,
                ),
                row=1,
                col=col,
            )
    fig.update_layout(
        barmode="overlay",
        height=380,
        legend={"orientation": "h", "y": -0.25},
        title=f"Test-set {metric.upper()} distribution",
    )
    fig.update_xaxes(title_text=metric.upper())
    fig.update_yaxes(title_text="Density", row=1, col=1)
    return fig
